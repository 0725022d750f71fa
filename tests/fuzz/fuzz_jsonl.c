/* fuzz_jsonl.c: the JSON lines of `sluice topic publish` (jsonl_parse).
 * The bytes are one line. A line taken becomes a record, which
 * `topic consume` writes back (jsonl_format): that line must be taken
 * again, as the same record, and written the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/jsonl.h"
#include "plugin/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const struct buf *a, const struct buf *b)
{
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sluice_batch batch, again;
    batch_init(&batch, 0, 0);
    batch_init(&again, 0, 0);
    struct error err = {0};
    struct buf line = {0}, line2 = {0};
    if (jsonl_parse((const char *)data, size, &batch, &err) < 0) {
        if (!err.message[0])
            abort(); /* refused without a word */
    } else {
        if (batch_count(&batch) != 1)
            abort();
        sluice_record r = {.size = sizeof r};
        if (batch_get(&batch, 0, &r) != 0)
            abort();
        jsonl_format(&r, &line);
        if (jsonl_parse(line.data, line.len, &again, &err) < 0)
            abort(); /* what consume wrote, publish refuses */
        sluice_record r2 = {.size = sizeof r2};
        if (batch_get(&again, 0, &r2) != 0 || r2.op != r.op ||
            r2.version != r.version || r2.table_len != r.table_len ||
            memcmp(r2.table, r.table, r.table_len) != 0)
            abort();
        jsonl_format(&r2, &line2);
        same_or_abort(&line, &line2);
    }
    buf_free(&line);
    buf_free(&line2);
    batch_free(&batch);
    batch_free(&again);
    return 0;
}
