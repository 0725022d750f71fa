/* rowbinary.c: records as rows of an insert body.
 *
 * RowBinary per row: _id and doc as (varint length, bytes), _version
 * UInt64 LE, _is_deleted UInt8, _synced_at as UInt32 LE seconds
 * (DateTime) or Int64 LE milliseconds (DateTime64(3)), then the typed
 * columns and _malformed (read before, by ahead.c): the columns in the
 * order of enum ch_role, which the insert's column list names; doc only
 * when the shape has it. JSONEachRow, for debugging, writes the same columns
 * as JSON, by the names of the table's shape. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "clickhouse.h"

/* `"name":` of the role's column, after a comma but for the first. */
static bool put_json_name(struct ch_buf *b, const struct ch_shape *sh,
                          enum ch_role role)
{
    const char *name = ch_shape_name(sh, role);
    return ch_buf_append(b, role == CH_ID ? "{" : ",", 1) &&
           ch_put_json_string(b, name, strlen(name)) && CH_LIT(b, ":");
}

/* The row as one line of JSON, its columns named as the shape says. */
static bool put_json_row(struct ch_buf *b, const struct ch_row_format *f,
                         const sluice_record *r, const char *doc,
                         size_t doc_len, const char *typed, size_t len)
{
    time_t secs = (time_t)(f->synced_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    const struct ch_shape *sh = f->shape;
    bool ok = put_json_name(b, sh, CH_ID) &&
              ch_put_json_string(b, r->key, r->key_len);
    if (f->doc)
        ok = ok && put_json_name(b, sh, CH_DOC) &&
             ch_put_json_string(b, doc, doc_len);
    ok = ok && put_json_name(b, sh, CH_VERSION) &&
         ch_buf_printf(b, "%" PRIu64, r->version) &&
         put_json_name(b, sh, CH_IS_DELETED) &&
         ch_buf_printf(b, "%d", r->op == SLUICE_OP_DELETE) &&
         put_json_name(b, sh, CH_SYNCED_AT) &&
         ch_put_json_string(b, ts, strlen(ts));
    if (f->typed)
        ok = ok && ch_buf_append(b, typed, len);
    return ok && CH_LIT(b, "}\n");
}

bool ch_encode_row(struct ch_buf *b, const struct ch_row_format *f,
                   const sluice_record *r, const char *typed, size_t len)
{
    bool deleted = r->op == SLUICE_OP_DELETE;
    const char *doc = deleted ? "" : r->doc;
    size_t doc_len = deleted ? 0 : r->doc_len;
    if (f->json_each_row)
        return put_json_row(b, f, r, doc, doc_len, typed, len);
    bool ok = ch_put_string(b, r->key, r->key_len) &&
              (!f->doc || ch_put_string(b, doc, doc_len)) &&
              ch_put_le(b, r->version, 8) && ch_put_le(b, deleted, 1) &&
              (f->ts64 ? ch_put_le(b, (uint64_t)f->synced_ms, 8)
                       : ch_put_le(b, (uint64_t)(f->synced_ms / 1000), 4));
    return ok && (!f->typed || ch_buf_append(b, typed, len));
}
