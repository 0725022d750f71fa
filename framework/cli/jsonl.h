/* jsonl.h: records as JSON lines, the format of `sluice topic publish` and
 * `sluice topic consume`:
 *   {"table": "orders", "op": "insert", "key": 1, "doc": {...}, "version": 7}
 * Parsing is libbson's; keys and documents are kept as relaxed extended
 * JSON text, as libbson writes it. */
#ifndef SLUICE_CLI_JSONL_H
#define SLUICE_CLI_JSONL_H

#include <sluice/record.h>

#include "../plugin/batch.h"
#include "../util/buf.h"
#include "../util/error.h"

/* Adds the record of one line to the batch; the message says which field
 * is wrong and why (the caller adds the line number). */
int jsonl_parse(const char *line, size_t len, struct sluice_batch *batch,
                struct error *err);
/* One record as one line, without the newline. */
void jsonl_format(const sluice_record *rec, struct buf *out);

#endif
