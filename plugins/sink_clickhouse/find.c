/* find.c: the values at the typed columns' paths in a document, found
 * while yajl parses it. The parser hands over each key and value as it
 * goes (no tree of the whole document is made): the path of the value
 * being read is matched against every column's, and a value that some
 * column asks for is kept as a small tree (struct ch_jv) for project.c to
 * convert. Only those values are copied; the rest of the document is
 * read and checked, never kept.
 *
 * Matching: depth D is the number of containers open; the path of a
 * value inside them has D segments (a member's key, or an array
 * element's index in decimal). matched[c] is how many leading segments
 * of column c's path the current path has; a key (or the next element)
 * at level D re-matches the columns matched through D - 1. A value
 * begins at column c's path when matched[c] == D == its depth. Two columns may
 * read one path, and one column the inside of another's value: the value is
 * kept once, as the outer one's subtree. A key given twice keeps the last
 * value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "clickhouse.h"

/* Deeper documents are refused (as no JSON), so that the trees kept and
 * the writer of their text (recursive) stay bounded. MongoDB nests 100
 * levels; extended JSON's wrappers add one or two. */
#define MAX_DEPTH 256

/* An open container. */
struct level {
    bool array;
    uint32_t elements; /* of an array: the ones begun so far */
    int32_t node;      /* its node when kept, else -1 */
    int32_t last;      /* its last member's node so far, -1: none */
};

struct ch_finder {
    yajl_handle parser; /* kept from one document to the next while it
                           reads them without error */
    bool began;         /* the document's value began */
    struct level levels[MAX_DEPTH];
    size_t depth;
    /* the columns looked for, in this document */
    const struct ch_field *const *fields;
    size_t count;
    uint16_t *matched; /* per column */
    int32_t *found;    /* per column: its value's node, -1: none */
    size_t cap;        /* of matched and found */
    /* the kept values */
    struct ch_jv *nodes;
    size_t node_count, node_cap;
    struct ch_buf text;    /* keys, strings and numbers of nodes */
    uint32_t key, key_len; /* the member key just read, when kept */
    bool failed;           /* out of memory in a callback */
};

/* ---- matching ---- */

/* An array index as a path writes it: digits only, fewer than ten. */
static bool index_is(const char *segment, uint32_t index)
{
    size_t len = strlen(segment);
    if (!len || len >= 10 || strspn(segment, "0123456789") != len)
        return false;
    return strtoul(segment, NULL, 10) == index;
}

/* The segment at level f->depth of the current path is now `key` (or the
 * array element `index` when key is NULL). */
static void match_segment(struct ch_finder *f, const char *key, size_t len,
                          uint32_t index)
{
    uint16_t d = (uint16_t)f->depth;
    for (size_t c = 0; c < f->count; c++) {
        if (f->matched[c] + 1 < d)
            continue; /* a level above differs */
        const struct ch_field *field = f->fields[c];
        bool same = false;
        if (field->depth >= d) {
            const char *seg = field->segments[d - 1];
            same = key ? (!len || seg[0] == key[0]) && strlen(seg) == len &&
                             memcmp(seg, key, len) == 0
                       : index_is(seg, index);
        }
        f->matched[c] = same ? d : d - 1;
    }
}

/* ---- the kept values ---- */

static bool keep_text(struct ch_finder *f, const void *text, size_t len,
                      uint32_t *at)
{
    if (len > UINT32_MAX || f->text.len > UINT32_MAX - len)
        return false;
    *at = (uint32_t)f->text.len;
    return ch_buf_append(&f->text, text, len);
}

/* The node of the value beginning now: added when the value is inside a
 * kept one or some column asks for it; -1 when it is not kept, -2 when
 * out of memory, -3 when it is a second value of the document. */
static int32_t begin_value(struct ch_finder *f, enum ch_jv_type type)
{
    struct level *parent = f->depth ? &f->levels[f->depth - 1] : NULL;
    if (!parent && f->began)
        return -3; /* the parser reads several values (see ch_find) */
    f->began = true;
    if (parent && parent->array)
        match_segment(f, NULL, 0, parent->elements++);
    bool kept = parent && parent->node >= 0;
    for (size_t c = 0; !kept && c < f->count; c++)
        kept = f->matched[c] == f->depth && f->fields[c]->depth == f->depth;
    if (!kept)
        return -1;
    if (f->node_count == f->node_cap) {
        size_t cap = f->node_cap ? 2 * f->node_cap : 32;
        struct ch_jv *grown =
            cap <= INT32_MAX ? realloc(f->nodes, cap * sizeof *grown) : NULL;
        if (!grown)
            return -2;
        f->nodes = grown;
        f->node_cap = cap;
    }
    int32_t n = (int32_t)f->node_count++;
    f->nodes[n] = (struct ch_jv){.type = type, .next = -1};
    if (parent && parent->node >= 0) {
        if (!parent->array)
            f->nodes[n].key = f->key, f->nodes[n].key_len = f->key_len;
        if (parent->last >= 0)
            f->nodes[parent->last].next = n;
        parent->last = n;
        f->nodes[parent->node].count++;
    }
    for (size_t c = 0; c < f->count; c++)
        if (f->matched[c] == f->depth && f->fields[c]->depth == f->depth)
            f->found[c] = n;
    return n;
}

/* ---- yajl's callbacks: each returns 0 to stop the parse ---- */

static int on_scalar(struct ch_finder *f, enum ch_jv_type type,
                     const void *text, size_t len)
{
    int32_t n = begin_value(f, type);
    if (n == -3)
        return 0;
    if (n == -2 ||
        (n >= 0 && text && !keep_text(f, text, len, &f->nodes[n].text)))
        return f->failed = true, 0;
    if (n >= 0)
        f->nodes[n].len = (uint32_t)len;
    return 1;
}

static int on_null(void *ctx)
{
    return on_scalar(ctx, CH_JV_NULL, NULL, 0);
}

static int on_boolean(void *ctx, int value)
{
    return on_scalar(ctx, value ? CH_JV_TRUE : CH_JV_FALSE, NULL, 0);
}

static int on_number(void *ctx, const char *text, size_t len)
{
    return on_scalar(ctx, CH_JV_NUMBER, text, len);
}

static int on_string(void *ctx, const unsigned char *text, size_t len)
{
    return on_scalar(ctx, CH_JV_STRING, text, len);
}

static int on_open(struct ch_finder *f, bool array)
{
    if (f->depth == MAX_DEPTH)
        return 0;
    int32_t n = begin_value(f, array ? CH_JV_ARRAY : CH_JV_OBJECT);
    if (n == -3)
        return 0;
    if (n == -2)
        return f->failed = true, 0;
    f->levels[f->depth++] =
        (struct level){.array = array, .node = n, .last = -1};
    return 1;
}

/* The matches below the level left need no undoing: the next value at
 * this level has its own key (or index) before anything deeper is read,
 * and that re-matches every column matched through the level above. */
static int on_close(void *ctx)
{
    struct ch_finder *f = ctx;
    f->depth--;
    return 1;
}

static int on_start_map(void *ctx)
{
    return on_open(ctx, false);
}

static int on_start_array(void *ctx)
{
    return on_open(ctx, true);
}

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
    struct ch_finder *f = ctx;
    match_segment(f, (const char *)key, len, 0);
    if (f->levels[f->depth - 1].node < 0)
        return 1;
    f->key_len = (uint32_t)len;
    if (!keep_text(f, key, len, &f->key))
        return f->failed = true, 0;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_close,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_close,
};

/* ---- the finder ---- */

struct ch_finder *ch_finder_new(void)
{
    return calloc(1, sizeof(struct ch_finder));
}

void ch_finder_free(struct ch_finder *f)
{
    if (!f)
        return;
    if (f->parser)
        yajl_free(f->parser);
    free(f->matched);
    free(f->found);
    free(f->nodes);
    ch_buf_free(&f->text);
    free(f);
}

int ch_find(struct ch_finder *f, const char *doc, size_t len,
            const struct ch_field *const *fields, size_t count,
            struct ch_found *out)
{
    if (count > f->cap) {
        uint16_t *matched = realloc(f->matched, count * sizeof *matched);
        if (matched)
            f->matched = matched;
        int32_t *found = realloc(f->found, count * sizeof *found);
        if (!matched || !found)
            return -1;
        f->found = found;
        f->cap = count;
    }
    f->fields = fields;
    f->count = count;
    memset(f->matched, 0, count * sizeof *f->matched);
    for (size_t c = 0; c < count; c++)
        f->found[c] = -1;
    f->depth = 0;
    f->node_count = 0;
    f->text.len = 0;
    f->failed = false;
    if (!ch_buf_reserve(&f->text, 64)) /* text is never NULL */
        return -1;
    f->began = false;
    /* yajl has no reset, but a handle that reads several values one after
     * the other goes on after each document read without error (a second
     * value inside one document is refused by begin_value) */
    if (!f->parser) {
        if (!(f->parser = yajl_alloc(&callbacks, NULL, f)))
            return -1;
        yajl_config(f->parser, yajl_allow_multiple_values, 1);
        /* strings are bytes, as ClickHouse's String is: not checked for
         * UTF-8 */
        yajl_config(f->parser, yajl_dont_validate_strings, 1);
    }
    yajl_status st = yajl_parse(f->parser, (const unsigned char *)doc, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(f->parser);
    if (st != yajl_status_ok || !f->began) {
        yajl_free(f->parser);
        f->parser = NULL;
    }
    if (f->failed)
        return -1;
    if (!f->began) /* only spaces */
        return 0;
    *out = (struct ch_found){f->nodes, f->text.data, f->found};
    return st == yajl_status_ok;
}
