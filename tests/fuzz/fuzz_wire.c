/* fuzz_wire.c: the MongoDB test server's reader of requests (wire_parse):
 * the first byte picks the opcode (OP_MSG, OP_QUERY or another), the
 * rest is the message's body. A command read must be a BSON document
 * whose every element can be walked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int32_t opcodes[] = {OP_MSG, OP_QUERY, 2005, 1};
    int32_t opcode = opcodes[data[0] % 4];
    /* the body in a buffer of its own size, so that reading past it is
     * seen */
    size_t n = size - 1;
    uint8_t *body = malloc(n ? n : 1);
    memcpy(body, data + 1, n);
    bson_t cmd;
    bson_init(&cmd);
    bool more = false;
    if (wire_parse(opcode, body, n, &cmd, &more)) {
        bson_iter_t it;
        if (!bson_iter_init(&it, &cmd))
            abort();
        while (bson_iter_next(&it))
            bson_iter_key(&it);
        if (it.err_off)
            abort();
    }
    bson_destroy(&cmd);
    free(body);
    return 0;
}
