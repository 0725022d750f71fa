/* data.c: collections kept sorted by _id in BSON order, filters on _id,
 * and the bounded oplog with cluster times. Callers hold srv.lock. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* MongoDB's order of types for comparison. */
static int type_rank(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_MINKEY: return 0;
    case BSON_TYPE_UNDEFINED: return 1; /* an empty array's sort key */
    case BSON_TYPE_NULL: return 2;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 3;
    case BSON_TYPE_SYMBOL:
    case BSON_TYPE_UTF8: return 4;
    case BSON_TYPE_DOCUMENT: return 5;
    case BSON_TYPE_ARRAY: return 6;
    case BSON_TYPE_BINARY: return 7;
    case BSON_TYPE_OID: return 8;
    case BSON_TYPE_BOOL: return 9;
    case BSON_TYPE_DATE_TIME: return 10;
    case BSON_TYPE_TIMESTAMP: return 11;
    case BSON_TYPE_REGEX: return 12;
    case BSON_TYPE_DBPOINTER: return 13;
    case BSON_TYPE_CODE: return 14;
    case BSON_TYPE_CODEWSCOPE: return 15;
    case BSON_TYPE_MAXKEY: return 17;
    default: return 16;
    }
}

bool value_is_number(const bson_value_t *v)
{
    return type_rank(v->value_type) == 3;
}

/* Exact for every int64 and double (a 64-bit mantissa); decimals near
 * enough. */
static long double as_long_double(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32: return v->value.v_int32;
    case BSON_TYPE_INT64: return (long double)v->value.v_int64;
    case BSON_TYPE_DOUBLE: return v->value.v_double;
    case BSON_TYPE_DECIMAL128: {
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, text);
        return strtold(text, NULL);
    }
    default: return 0;
    }
}

double value_as_double(const bson_value_t *v)
{
    return (double)as_long_double(v);
}

static int cmp_bytes(const void *a, size_t la, const void *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c < 0 ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

static int sign(long c)
{
    return c < 0 ? -1 : c > 0;
}

static int compare_numbers(const bson_value_t *a, const bson_value_t *b)
{
    long double x = as_long_double(a), y = as_long_double(b);
    if (isnan(x) || isnan(y)) /* NaN sorts before every number */
        return isnan(x) && isnan(y) ? 0 : isnan(x) ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Documents and arrays: element by element, each by type, then name,
 * then value; the shorter one first. */
static int compare_containers(const bson_value_t *a, const bson_value_t *b)
{
    bson_iter_t x, y;
    if (!bson_iter_init_from_data(&x, a->value.v_doc.data,
                                  a->value.v_doc.data_len) ||
        !bson_iter_init_from_data(&y, b->value.v_doc.data,
                                  b->value.v_doc.data_len))
        return cmp_bytes(a->value.v_doc.data, a->value.v_doc.data_len,
                         b->value.v_doc.data, b->value.v_doc.data_len);
    for (;;) {
        bool more_x = bson_iter_next(&x), more_y = bson_iter_next(&y);
        if (!more_x || !more_y)
            return more_x == more_y ? 0 : more_x ? 1 : -1;
        const bson_value_t *vx = bson_iter_value(&x),
                           *vy = bson_iter_value(&y);
        int rx = type_rank(vx->value_type), ry = type_rank(vy->value_type);
        if (rx != ry)
            return rx < ry ? -1 : 1;
        int c = sign(strcmp(bson_iter_key(&x), bson_iter_key(&y)));
        if (!c)
            c = value_compare(vx, vy);
        if (c)
            return c;
    }
}

int value_compare(const bson_value_t *a, const bson_value_t *b)
{
    int ra = type_rank(a->value_type), rb = type_rank(b->value_type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return compare_numbers(a, b);
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        /* a symbol's fields lie where a string's do */
        return cmp_bytes(a->value.v_utf8.str, a->value.v_utf8.len,
                         b->value.v_utf8.str, b->value.v_utf8.len);
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: return compare_containers(a, b);
    case BSON_TYPE_BINARY:
        if (a->value.v_binary.data_len != b->value.v_binary.data_len)
            return a->value.v_binary.data_len < b->value.v_binary.data_len ? -1
                                                                           : 1;
        if (a->value.v_binary.subtype != b->value.v_binary.subtype)
            return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1
                                                                         : 1;
        return cmp_bytes(a->value.v_binary.data, a->value.v_binary.data_len,
                         b->value.v_binary.data, b->value.v_binary.data_len);
    case BSON_TYPE_OID:
        return cmp_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return a->value.v_bool == b->value.v_bool ? 0
               : a->value.v_bool                  ? 1
                                                  : -1;
    case BSON_TYPE_DATE_TIME:
        return sign((a->value.v_datetime > b->value.v_datetime) -
                    (a->value.v_datetime < b->value.v_datetime));
    case BSON_TYPE_TIMESTAMP:
        if (a->value.v_timestamp.timestamp != b->value.v_timestamp.timestamp)
            return a->value.v_timestamp.timestamp <
                           b->value.v_timestamp.timestamp
                       ? -1
                       : 1;
        return sign((long)a->value.v_timestamp.increment -
                    (long)b->value.v_timestamp.increment);
    case BSON_TYPE_REGEX: {
        int c = sign(strcmp(a->value.v_regex.regex, b->value.v_regex.regex));
        return c ? c
                 : sign(strcmp(a->value.v_regex.options
                                   ? a->value.v_regex.options
                                   : "",
                               b->value.v_regex.options
                                   ? b->value.v_regex.options
                                   : ""));
    }
    case BSON_TYPE_DBPOINTER: {
        int c = cmp_bytes(a->value.v_dbpointer.collection,
                          a->value.v_dbpointer.collection_len,
                          b->value.v_dbpointer.collection,
                          b->value.v_dbpointer.collection_len);
        return c ? c
                 : cmp_bytes(a->value.v_dbpointer.oid.bytes, 12,
                             b->value.v_dbpointer.oid.bytes, 12);
    }
    case BSON_TYPE_CODE:
        return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len,
                         b->value.v_code.code, b->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE: {
        int c = cmp_bytes(a->value.v_codewscope.code,
                          a->value.v_codewscope.code_len,
                          b->value.v_codewscope.code,
                          b->value.v_codewscope.code_len);
        return c ? c
                 : cmp_bytes(a->value.v_codewscope.scope_data,
                             a->value.v_codewscope.scope_len,
                             b->value.v_codewscope.scope_data,
                             b->value.v_codewscope.scope_len);
    }
    default: return 0;
    }
}

/* ---- values as MongoDB's messages show them ---- */

struct out {
    char *buf;
    size_t size, used;
};

static void put(struct out *o, const char *fmt, ...) BSON_GNUC_PRINTF(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->used >= o->size)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->used, o->size - o->used, fmt, ap);
    va_end(ap);
    o->used += n > 0 ? (size_t)n : 0;
}

static void render(struct out *o, const bson_value_t *v);

static void render_container(struct out *o, const bson_value_t *v)
{
    bson_iter_t it;
    bool array = v->value_type == BSON_TYPE_ARRAY, first = true;
    put(o, "%s", array ? "[" : "{");
    if (bson_iter_init_from_data(&it, v->value.v_doc.data,
                                 v->value.v_doc.data_len))
        while (bson_iter_next(&it)) {
            put(o, "%s", first ? " " : ", ");
            first = false;
            if (!array)
                put(o, "%s: ", bson_iter_key(&it));
            render(o, bson_iter_value(&it));
        }
    if (first) /* {} and [] */
        put(o, "%s", array ? "]" : "}");
    else
        put(o, "%s", array ? " ]" : " }");
}

static void render(struct out *o, const bson_value_t *v)
{
    char hex[25];
    switch (v->value_type) {
    case BSON_TYPE_INT32: put(o, "%d", v->value.v_int32); break;
    case BSON_TYPE_INT64: put(o, "%lld", (long long)v->value.v_int64); break;
    case BSON_TYPE_DOUBLE: {
        double d = v->value.v_double;
        put(o,
            d == (double)(long long)d && d > -1e15 && d < 1e15 ? "%.1f"
                                                               : "%.17g",
            d);
        break;
    }
    case BSON_TYPE_DECIMAL128: {
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, text);
        put(o, "%s", text);
        break;
    }
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: put(o, "\"%s\"", v->value.v_utf8.str); break;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: render_container(o, v); break;
    case BSON_TYPE_OID:
        bson_oid_to_string(&v->value.v_oid, hex);
        put(o, "ObjectId('%s')", hex);
        break;
    case BSON_TYPE_BOOL:
        put(o, "%s", v->value.v_bool ? "true" : "false");
        break;
    case BSON_TYPE_NULL: put(o, "null"); break;
    case BSON_TYPE_UNDEFINED: put(o, "undefined"); break;
    case BSON_TYPE_DATE_TIME:
        put(o, "new Date(%lld)", (long long)v->value.v_datetime);
        break;
    case BSON_TYPE_TIMESTAMP:
        put(o, "Timestamp(%u, %u)", v->value.v_timestamp.timestamp,
            v->value.v_timestamp.increment);
        break;
    case BSON_TYPE_REGEX:
        put(o, "/%s/%s", v->value.v_regex.regex,
            v->value.v_regex.options ? v->value.v_regex.options : "");
        break;
    case BSON_TYPE_MINKEY: put(o, "MinKey"); break;
    case BSON_TYPE_MAXKEY: put(o, "MaxKey"); break;
    case BSON_TYPE_BINARY:
        put(o, "BinData(%d, %u bytes)", (int)v->value.v_binary.subtype,
            v->value.v_binary.data_len);
        break;
    default: put(o, "(a value of BSON type %d)", (int)v->value_type); break;
    }
}

const char *value_render(const bson_value_t *v, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    buf[0] = '\0';
    render(&o, v);
    return buf;
}

const char *element_render(const char *key, const bson_value_t *v, char *buf,
                           size_t size)
{
    struct out o = {buf, size, 0};
    buf[0] = '\0';
    put(&o, "%s: ", key);
    render(&o, v);
    return buf;
}

struct collection *coll_find(const char *db, const char *name)
{
    for (size_t i = 0; i < srv.ncolls; i++)
        if (strcmp(srv.colls[i]->db, db) == 0 &&
            strcmp(srv.colls[i]->name, name) == 0)
            return srv.colls[i];
    return NULL;
}

struct collection *coll_get(const char *db, const char *name)
{
    struct collection *c = coll_find(db, name);
    if (c)
        return c;
    if (srv.ncolls == srv.colls_cap) {
        srv.colls_cap = srv.colls_cap ? srv.colls_cap * 2 : 16;
        srv.colls = realloc(srv.colls, srv.colls_cap * sizeof *srv.colls);
    }
    c = calloc(1, sizeof *c);
    c->db = strdup(db);
    c->name = strdup(name);
    srv.colls[srv.ncolls++] = c;
    return c;
}

void coll_drop(const char *db, const char *name)
{
    for (size_t i = 0; i < srv.ncolls; i++) {
        struct collection *c = srv.colls[i];
        if (strcmp(c->db, db) != 0 || strcmp(c->name, name) != 0)
            continue;
        for (size_t j = 0; j < c->count; j++) {
            bson_destroy(c->docs[j].bson);
            bson_value_destroy(&c->docs[j].id);
        }
        index_free_all(c);
        free(c->docs);
        free(c->db);
        free(c->name);
        free(c);
        srv.colls[i] = srv.colls[--srv.ncolls];
        return;
    }
}

size_t coll_lower_bound(const struct collection *c, const bson_value_t *id,
                        bool after)
{
    size_t lo = 0, hi = c->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = value_compare(&c->docs[mid].id, id);
        if (cmp < 0 || (after && cmp == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct doc *coll_lookup(struct collection *c, const bson_value_t *id,
                        size_t *at)
{
    size_t i = coll_lower_bound(c, id, false);
    if (i < c->count && value_compare(&c->docs[i].id, id) == 0) {
        if (at)
            *at = i;
        return &c->docs[i];
    }
    return NULL;
}

bool coll_insert(struct collection *c, bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return false;
    bson_value_t id;
    bson_value_copy(bson_iter_value(&it), &id);
    size_t at = coll_lower_bound(c, &id, false);
    if (at < c->count && value_compare(&c->docs[at].id, &id) == 0) {
        bson_value_destroy(&id);
        return false;
    }
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->docs = realloc(c->docs, c->cap * sizeof *c->docs);
    }
    memmove(&c->docs[at + 1], &c->docs[at], (c->count - at) * sizeof *c->docs);
    c->docs[at].bson = doc;
    c->docs[at].id = id;
    c->count++;
    return true;
}

void coll_remove_at(struct collection *c, size_t at)
{
    bson_destroy(c->docs[at].bson);
    bson_value_destroy(&c->docs[at].id);
    memmove(&c->docs[at], &c->docs[at + 1],
            (c->count - at - 1) * sizeof *c->docs);
    c->count--;
}

void cluster_time(uint32_t *t, uint32_t *i)
{
    uint32_t now = (uint32_t)time(NULL);
    if (now > srv.last_t) {
        *t = now;
        *i = 0;
    } else {
        *t = srv.last_t;
        *i = srv.last_i;
    }
}

static void next_time(uint32_t *t, uint32_t *i)
{
    uint32_t now = (uint32_t)time(NULL);
    if (now > srv.last_t) {
        srv.last_t = now;
        srv.last_i = 1;
    } else {
        srv.last_i++;
    }
    *t = srv.last_t;
    *i = srv.last_i;
}

static void drop_oldest(size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct oplog_entry *e = &srv.log[k];
        srv.lost_t = e->t;
        srv.lost_i = e->i;
        free(e->db);
        free(e->coll);
        free(e->op);
        bson_destroy(e->event);
    }
    memmove(srv.log, srv.log + n, (srv.log_count - n) * sizeof *srv.log);
    srv.log_count -= n;
    srv.lost_before = srv.log_count ? srv.log[0].seq : srv.next_seq;
}

void oplog_append(const char *db, const char *coll, const char *op,
                  bson_t *event)
{
    if (srv.log_count == srv.log_max)
        drop_oldest(srv.log_max / 4 + 1);
    if (srv.log_count == srv.log_cap) {
        srv.log_cap = srv.log_cap ? srv.log_cap * 2 : 1024;
        srv.log = realloc(srv.log, srv.log_cap * sizeof *srv.log);
    }
    struct oplog_entry *e = &srv.log[srv.log_count++];
    e->seq = srv.next_seq++;
    next_time(&e->t, &e->i);
    e->db = strdup(db);
    e->coll = strdup(coll);
    e->op = strdup(op);
    BSON_APPEND_TIMESTAMP(event, "clusterTime", e->t, e->i);
    e->event = event;
    pthread_cond_broadcast(&srv.grew);
}

/* Everything but the newest entry goes, as a real oplog never loses its
 * newest: resuming from before it fails, from it does not. An empty oplog
 * loses everything up to now. */
void oplog_truncate(void)
{
    if (srv.log_count) {
        drop_oldest(srv.log_count - 1);
        srv.lost_before = srv.log[0].seq; /* even when nothing was dropped */
        /* lost: every cluster time before the kept entry's */
        srv.lost_t = srv.log[0].i ? srv.log[0].t : srv.log[0].t - 1;
        srv.lost_i = srv.log[0].i ? srv.log[0].i - 1 : UINT32_MAX;
        return;
    }
    srv.lost_before = srv.next_seq;
    cluster_time(&srv.lost_t, &srv.lost_i);
}
