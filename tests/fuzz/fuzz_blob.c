/* fuzz_blob.c: the hub's stored batch blobs, as a store written by an
 * older or a broken version may hold them (batch_load, as the hub reads a
 * publication event). A blob taken is read as `topic consume` and the
 * subscribers read it: each record, each table, the records of all but
 * one table. And it must be one the core writes: adding its records
 * again gives the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/jsonl.h"
#include "plugin/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sluice_batch batch, again, some;
    batch_init(&batch, 0, 0);
    batch_init(&again, 0, 0);
    batch_init(&some, 0, 0);
    struct error err = {0};
    if (batch_load(&batch, data, size, &err) < 0) {
        if (!err.message[0])
            abort(); /* refused without a word */
    } else {
        struct buf line = {0};
        for (size_t i = 0; i < batch_count(&batch); i++) {
            sluice_record r = {.size = sizeof r};
            if (batch_get(&batch, i, &r) != 0)
                abort();
            buf_reset(&line);
            jsonl_format(&r, &line);
            char message[256] = "";
            sluice_error e = {message, sizeof message};
            if (batch_add(&again, &r, &e) != SLUICE_OK)
                abort(); /* a record the core would not have written */
        }
        buf_free(&line);
        if (batch_bytes(&again) != size ||
            (size && memcmp(again.frames.data, data, size) != 0))
            abort();
        char tables[256] = "";
        batch_tables_text(&batch, tables, sizeof tables);
        const char *table;
        size_t at = 0, len;
        if (batch_next_table(&batch, &at, &table, &len)) {
            char *first = strndup(table, len);
            const char *except[] = {first};
            batch_append_except(&some, &batch, except, 1);
            free(first);
        }
    }
    batch_free(&batch);
    batch_free(&again);
    batch_free(&some);
    return 0;
}
