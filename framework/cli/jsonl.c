/* jsonl.c: records to and from JSON lines (see jsonl.h). */
#include "jsonl.h"

#include <bson/bson.h>
#include <ctype.h>
#include <stdlib.h>

#include "../util/json.h"
#include "../util/mem.h"

/* One BSON value as relaxed extended JSON: libbson writes documents, so
 * the value is wrapped as { "v" : VALUE } and unwrapped. */
static char *value_json(const bson_iter_t *it)
{
    bson_t wrap = BSON_INITIALIZER;
    bson_append_value(&wrap, "v", 1, bson_iter_value((bson_iter_t *)it));
    size_t len;
    char *text = bson_as_relaxed_extended_json(&wrap, &len);
    bson_destroy(&wrap);
    const char *prefix = "{ \"v\" : ", *suffix = " }";
    size_t p = strlen(prefix), s = strlen(suffix);
    char *out =
        len >= p + s ? xstrndup(text + p, len - p - s) : xstrdup("null");
    bson_free(text);
    return out;
}

struct fields {
    char *table, *key, *doc;
    int op;
    uint64_t version;
    bool has_version, doc_null;
};

static int read_field(bson_iter_t *it, struct fields *f, struct error *err)
{
    const char *name = bson_iter_key(it);
    bson_type_t type = bson_iter_type(it);
    bool twice = (strcmp(name, "table") == 0 && f->table) ||
                 (strcmp(name, "op") == 0 && f->op >= 0) ||
                 (strcmp(name, "key") == 0 && f->key) ||
                 (strcmp(name, "doc") == 0 && (f->doc || f->doc_null)) ||
                 (strcmp(name, "version") == 0 && f->has_version);
    if (twice)
        return error_set(err, "field \"%s\" appears twice", name);
    if (strcmp(name, "table") == 0) {
        if (type != BSON_TYPE_UTF8 || !bson_iter_utf8(it, NULL)[0])
            return error_set(err, "\"table\" must be a non-empty string");
        f->table = xstrdup(bson_iter_utf8(it, NULL));
    } else if (strcmp(name, "op") == 0) {
        f->op = type == BSON_TYPE_UTF8 ? op_from_name(bson_iter_utf8(it, NULL))
                                       : -1;
        if (f->op < 0)
            return error_set(err, "\"op\" must be one of snapshot, insert, "
                                  "update, replace, delete");
    } else if (strcmp(name, "key") == 0) {
        if (type == BSON_TYPE_NULL)
            return error_set(err, "\"key\" must not be null");
        f->key = value_json(it);
    } else if (strcmp(name, "doc") == 0) {
        if (type == BSON_TYPE_NULL) {
            f->doc_null = true;
        } else if (type == BSON_TYPE_DOCUMENT) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(it, &len, &data);
            f->doc = len <= 5 ? xstrdup("{}") : value_json(it);
        } else {
            return error_set(err, "\"doc\" must be an object, or null for a "
                                  "delete");
        }
    } else if (strcmp(name, "version") == 0) {
        int64_t v = type == BSON_TYPE_INT32   ? bson_iter_int32(it)
                    : type == BSON_TYPE_INT64 ? bson_iter_int64(it)
                                              : -1;
        if (v < 0)
            return error_set(err, "\"version\" must be a non-negative "
                                  "integer");
        f->version = (uint64_t)v;
        f->has_version = true;
    } else {
        return error_set(err,
                         "unknown field \"%s\"; a record has table, op, "
                         "key, doc and version",
                         name);
    }
    return 0;
}

static int check_fields(const struct fields *f, struct error *err)
{
    const char *missing = !f->table         ? "table"
                          : f->op < 0       ? "op"
                          : !f->key         ? "key"
                          : !f->has_version ? "version"
                                            : NULL;
    if (missing)
        return error_set(err, "missing field \"%s\"", missing);
    if (f->op == SLUICE_OP_DELETE && f->doc)
        return error_set(err, "\"doc\" must be null for a delete");
    if (f->op != SLUICE_OP_DELETE && !f->doc)
        return error_set(err, "\"doc\" must be an object for %s",
                         op_name((sluice_op)f->op));
    return 0;
}

int jsonl_parse(const char *line, size_t len, struct sluice_batch *batch,
                struct error *err)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len || line[i] != '{')
        return error_set(err, "expected a JSON object");
    bson_t doc;
    bson_error_t berr;
    if (!bson_init_from_json(&doc, line, (ssize_t)len, &berr))
        return error_set(err, "invalid JSON: %s", berr.message);
    struct fields f = {.op = -1};
    bson_iter_t it;
    int rc = 0;
    if (bson_iter_init(&it, &doc))
        while (rc == 0 && bson_iter_next(&it))
            rc = read_field(&it, &f, err);
    if (rc == 0)
        rc = check_fields(&f, err);
    if (rc == 0) {
        sluice_record r = {.size = sizeof r,
                           .op = (sluice_op)f.op,
                           .table = f.table,
                           .table_len = strlen(f.table),
                           .key = f.key,
                           .key_len = strlen(f.key),
                           .doc = f.doc,
                           .doc_len = f.doc ? strlen(f.doc) : 0,
                           .version = f.version};
        char message[256] = "";
        sluice_error e = {message, sizeof message};
        if (batch_add(batch, &r, &e) != SLUICE_OK)
            rc = error_set(err, "%s", message);
    }
    free(f.table);
    free(f.key);
    free(f.doc);
    bson_destroy(&doc);
    return rc;
}

void jsonl_format(const sluice_record *rec, struct buf *out)
{
    struct json j = JSON_INIT(out);
    json_open_object(&j, NULL);
    json_add_data(&j, "table", rec->table, rec->table_len);
    json_add_string(&j, "op", op_name(rec->op));
    json_add_raw(&j, "key", rec->key, rec->key_len);
    json_add_raw(&j, "doc", rec->doc_len ? rec->doc : NULL, rec->doc_len);
    json_add_uint(&j, "version", rec->version);
    json_close_object(&j);
}
