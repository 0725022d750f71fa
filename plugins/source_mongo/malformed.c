/* malformed.c: documents whose text is not valid UTF-8, which json.c
 * (and libbson, for keys) will not write as JSON. Never dropped, never
 * emptied, no byte lost:
 *
 * - in the document, each ill-formed sequence of a string, code, symbol,
 *   regular expression, DBPointer or field name becomes U+FFFD (one per
 *   maximal subpart, as the Unicode standard says and as Python's
 *   "replace" decodes), and a top-level `_sluice_malformed` document maps
 *   the dotted path of each replaced value to its original bytes (BSON
 *   binary); where a field name, or text inside a regular expression,
 *   DBPointer or code with scope, was replaced, the path of the document
 *   holding it maps to that document's original BSON instead;
 * - the key of an _id with such text is the canonical JSON of
 *   { "$malformedId" : BinData(BSON of { "_id" : <the _id> }) }: the same
 *   in snapshot and CDC, one per _id, and never the key of a valid _id
 *   (MongoDB refuses $-prefixed field names inside an _id document);
 * - each such record is counted (documents_malformed_total), and the first of
 *   each collection in the process is logged with its _id.
 *
 * Only documents refused as they are come here: valid ones never pay for
 * it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

#define FFFD "\xef\xbf\xbd"

/* The length of the well-formed character at s[i], or 0 and in *bad the
 * length of the maximal subpart of an ill-formed sequence there
 * (Unicode 15, section 3.9, table 3-7). */
static size_t char_at(const unsigned char *s, size_t n, size_t i, size_t *bad)
{
    unsigned char c = s[i], lo = 0x80, hi = 0xBF;
    size_t len = 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    size_t k = 1;
    if (len && i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi)
        for (k = 2; k < len && i + k < n && (s[i + k] & 0xC0) == 0x80;)
            k++;
    if (len && k == len)
        return len;
    *bad = k;
    return 0;
}

char *mg_utf8_replaced(const char *text, size_t n, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)text;
    char *out = NULL;
    size_t len = 0, i = 0;
    while (i < n) {
        size_t bad = 0, ok = char_at(s, n, i, &bad);
        if (ok) {
            if (out)
                memcpy(out + len, s + i, ok);
            len += ok;
            i += ok;
            continue;
        }
        if (!out) { /* the first: at most three bytes for each from here */
            out = bson_malloc(len + 3 * (n - i) + 1);
            memcpy(out, s, len);
        }
        memcpy(out + len, FFFD, 3);
        len += 3;
        i += bad;
    }
    if (out) {
        out[len] = '\0';
        *out_len = len;
    }
    return out;
}

/* The document being repaired: where its originals go (NULL below a
 * document recorded whole), the dotted path of the current level. */
struct repair {
    bson_t *originals;
    char *path;
    size_t path_len, path_cap;
    size_t replaced;
};

static size_t path_push(struct repair *r, const char *name)
{
    size_t at = r->path_len, n = strlen(name);
    if (at + n + 2 > r->path_cap) {
        r->path_cap = (at + n + 2) * 2;
        r->path = bson_realloc(r->path, r->path_cap);
    }
    if (at)
        r->path[r->path_len++] = '.';
    memcpy(r->path + r->path_len, name, n + 1);
    r->path_len += n;
    return at;
}

static void keep_original(struct repair *r, const void *bytes, size_t n)
{
    if (r->originals)
        bson_append_binary(r->originals, r->path ? r->path : "", -1,
                           BSON_SUBTYPE_BINARY, bytes, (uint32_t)n);
}

static bool valid(const char *s, size_t n)
{
    size_t len;
    char *fixed = mg_utf8_replaced(s, n, &len);
    bson_free(fixed);
    return !fixed;
}

static bool document_valid(const uint8_t *data, uint32_t len);

/* Whether the element's name and the text of types other than string,
 * code and symbol (which are replaced one by one) are valid. */
static bool element_valid(const bson_iter_t *it)
{
    const char *name = bson_iter_key(it);
    if (!valid(name, strlen(name)))
        return false;
    uint32_t len, scope_len;
    const char *text, *options;
    const uint8_t *scope;
    const bson_oid_t *oid;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_REGEX:
        text = bson_iter_regex(it, &options);
        return valid(text, strlen(text)) && valid(options, strlen(options));
    case BSON_TYPE_DBPOINTER:
        bson_iter_dbpointer(it, &len, &text, &oid);
        return valid(text, len);
    case BSON_TYPE_CODEWSCOPE:
        text = bson_iter_codewscope(it, &len, &scope_len, &scope);
        return valid(text, len) && document_valid(scope, scope_len);
    default: return true;
    }
}

static bool document_valid(const uint8_t *data, uint32_t len)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it)) {
        const bson_value_t *v = bson_iter_value(&it);
        bool ok = element_valid(&it);
        switch (v->value_type) {
        case BSON_TYPE_UTF8:
        case BSON_TYPE_CODE:
        case BSON_TYPE_SYMBOL: /* the same layout: text and length */
            ok = ok && valid(v->value.v_utf8.str, v->value.v_utf8.len);
            break;
        case BSON_TYPE_DOCUMENT:
        case BSON_TYPE_ARRAY:
            ok = ok &&
                 document_valid(v->value.v_doc.data, v->value.v_doc.data_len);
            break;
        default: break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool repair_level(struct repair *r, const uint8_t *data, uint32_t len,
                         bson_t *out);

/* Text of a value: replaced where it is ill-formed (then *fixed is the
 * caller's to free), else as it was. */
static const char *text_of(struct repair *r, const char *s, size_t n,
                           size_t *len, char **fixed)
{
    *fixed = mg_utf8_replaced(s, n, len);
    if (!*fixed) {
        *len = n;
        return s;
    }
    r->replaced++;
    return *fixed;
}

/* One element, its name already replaced where needed. */
static bool repair_element(struct repair *r, const bson_iter_t *it,
                           const char *name, bson_t *out)
{
    bson_value_t v = *bson_iter_value((bson_iter_t *)it);
    char *a = NULL, *b = NULL;
    size_t n, m;
    bool ok = true;
    switch (v.value_type) {
    case BSON_TYPE_UTF8:
    case BSON_TYPE_CODE:
    case BSON_TYPE_SYMBOL: /* the same layout: text and length */
    {
        const char *was = v.value.v_utf8.str;
        uint32_t was_len = v.value.v_utf8.len;
        v.value.v_utf8.str = (char *)text_of(r, was, was_len, &n, &a);
        v.value.v_utf8.len = (uint32_t)n;
        if (a)
            keep_original(r, was, was_len);
        break;
    }
    case BSON_TYPE_REGEX:
        v.value.v_regex.regex =
            (char *)text_of(r, v.value.v_regex.regex,
                            strlen(v.value.v_regex.regex), &n, &a);
        v.value.v_regex.options =
            (char *)text_of(r, v.value.v_regex.options,
                            strlen(v.value.v_regex.options), &m, &b);
        break;
    case BSON_TYPE_DBPOINTER:
        v.value.v_dbpointer.collection =
            (char *)text_of(r, v.value.v_dbpointer.collection,
                            v.value.v_dbpointer.collection_len, &n, &a);
        v.value.v_dbpointer.collection_len = (uint32_t)n;
        break;
    case BSON_TYPE_CODEWSCOPE: {
        v.value.v_codewscope.code =
            (char *)text_of(r, v.value.v_codewscope.code,
                            v.value.v_codewscope.code_len, &n, &a);
        v.value.v_codewscope.code_len = (uint32_t)n;
        struct repair inner = {0};
        bson_t scope = BSON_INITIALIZER;
        ok = repair_level(&inner, v.value.v_codewscope.scope_data,
                          v.value.v_codewscope.scope_len, &scope);
        r->replaced += inner.replaced;
        v.value.v_codewscope.scope_data = (uint8_t *)bson_get_data(&scope);
        v.value.v_codewscope.scope_len = scope.len;
        ok = ok && bson_append_value(out, name, -1, &v);
        bson_destroy(&scope);
        bson_free(inner.path);
        bson_free(a);
        return ok;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        bson_t child;
        bool array = v.value_type == BSON_TYPE_ARRAY;
        ok = array ? bson_append_array_begin(out, name, -1, &child)
                   : bson_append_document_begin(out, name, -1, &child);
        ok = ok && repair_level(r, v.value.v_doc.data, v.value.v_doc.data_len,
                                &child);
        return ok && (array ? bson_append_array_end(out, &child)
                            : bson_append_document_end(out, &child));
    }
    default: break;
    }
    ok = bson_append_value(out, name, -1, &v);
    bson_free(a);
    bson_free(b);
    return ok;
}

/* One document or array into `out`: when a field name (or text inside a
 * type that is not replaced one by one) is ill-formed, the whole level's
 * original BSON is kept at its path, and nothing below it is recorded
 * again. */
static bool repair_level(struct repair *r, const uint8_t *data, uint32_t len,
                         bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return false;
    bool whole = false;
    while (!whole && bson_iter_next(&it))
        whole = !element_valid(&it);
    bson_t *originals = r->originals;
    if (whole) {
        keep_original(r, data, len);
        r->originals = NULL;
    }
    bool ok = bson_iter_init_from_data(&it, data, len);
    while (ok && bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        size_t n;
        char *name = mg_utf8_replaced(key, strlen(key), &n);
        r->replaced += name != NULL;
        size_t at = path_push(r, name ? name : key);
        ok = repair_element(r, &it, name ? name : key, out);
        r->path_len = at;
        if (r->path)
            r->path[at] = '\0';
        bson_free(name);
    }
    r->originals = originals;
    return ok && !it.err_off; /* not BSON: it stopped short */
}

/* `doc` with its ill-formed text replaced and, when `keep`, the
 * originals in _sluice_malformed; NULL when libbson cannot read it.
 * *replaced: how many texts were. */
static bson_t *repaired(const bson_t *doc, bool keep, size_t *replaced)
{
    bson_t *out = bson_new(), originals = BSON_INITIALIZER;
    struct repair r = {.originals = keep ? &originals : NULL};
    bool ok = repair_level(&r, bson_get_data(doc), doc->len, out);
    if (ok && !bson_empty(&originals))
        ok = bson_append_document(out, "_sluice_malformed", -1, &originals);
    bson_destroy(&originals);
    bson_free(r.path);
    *replaced = r.replaced;
    if (!ok) {
        bson_destroy(out);
        return NULL;
    }
    return out;
}

bson_t *mg_repaired(const bson_t *doc, size_t *replaced)
{
    return repaired(doc, true, replaced);
}

char *mg_malformed_key(const bson_value_t *id, size_t *len)
{
    bson_t wrap = BSON_INITIALIZER, tag = BSON_INITIALIZER;
    bson_append_value(&wrap, "_id", 3, id);
    bson_append_binary(&tag, "$malformedId", -1, BSON_SUBTYPE_BINARY,
                       bson_get_data(&wrap), wrap.len);
    bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
    v.value.v_doc.data = (uint8_t *)bson_get_data(&tag);
    v.value.v_doc.data_len = tag.len;
    char *key = mg_key_canonical(&v, len);
    bson_destroy(&wrap);
    bson_destroy(&tag);
    return key;
}

/* { "_id" : ... } with U+FFFD where its text is ill-formed, for the log;
 * *replaced: whether any was. */
static char *printable_id(const bson_value_t *id, size_t *replaced)
{
    bson_t wrap = BSON_INITIALIZER;
    bson_append_value(&wrap, "_id", 3, id);
    bson_t *fixed = repaired(&wrap, false, replaced);
    bson_destroy(&wrap);
    char *text = fixed ? mg_doc_json(fixed, MG_DOC_RELAXED, NULL) : NULL;
    if (fixed)
        bson_destroy(fixed);
    return text ? text : bson_strdup("(an _id libbson cannot read)");
}

/* The collections of this process whose first malformed document was
 * logged: "uri NUL database NUL collection", shared by every instance
 * (the snapshot's and the change stream's of a pipe are apart). */
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;
static char **logged;
static size_t logged_count;

/* True once for each collection: the caller logs. */
static bool first_of_table(const struct mg_source *s, const char *table)
{
    size_t u = strlen(s->cfg->uri) + 1, d = strlen(s->cfg->database) + 1,
           t = strlen(table) + 1;
    bool first = true;
    pthread_mutex_lock(&logged_lock);
    for (size_t i = 0; first && i < logged_count; i++)
        first = memcmp(logged[i], s->cfg->uri, u) ||
                memcmp(logged[i] + u, s->cfg->database, d) ||
                memcmp(logged[i] + u + d, table, t);
    char **grown =
        first ? realloc(logged, (logged_count + 1) * sizeof *grown) : NULL;
    char *name = grown ? malloc(u + d + t) : NULL;
    if (grown)
        logged = grown;
    if (name) { /* else logged again next time: better than never */
        memcpy(name, s->cfg->uri, u);
        memcpy(name + u, s->cfg->database, d);
        memcpy(name + u + d, table, t);
        logged[logged_count++] = name;
    }
    pthread_mutex_unlock(&logged_lock);
    return first;
}

void mg_malformed_cleanup(void)
{
    for (size_t i = 0; i < logged_count; i++)
        free(logged[i]);
    free(logged);
    logged = NULL;
    logged_count = 0;
}

sluice_status mg_malformed(struct mg_source *s, const char *table,
                           const bson_value_t *id, const bson_t *doc,
                           char **key, size_t *klen, char **json, size_t *dlen,
                           sluice_error *err)
{
    size_t id_replaced = 0, replaced = 0;
    char *who = printable_id(id, &id_replaced);
    bool id_broken = !*key;
    if (id_broken && id_replaced)
        *key = mg_malformed_key(id, klen);
    if (doc && !*json) {
        bson_t *fixed = repaired(doc, true, &replaced);
        *json = fixed && replaced
                    ? mg_doc_json(fixed, s->cfg->doc_format, dlen)
                    : NULL;
        if (fixed)
            bson_destroy(fixed);
    }
    sluice_status st = SLUICE_OK;
    if (!*key || (doc && !*json))
        st = sluice_fail(err, SLUICE_FATAL,
                         "source_mongo: collection %s.%s: document %s cannot "
                         "be written as JSON%s: libbson refuses it",
                         s->cfg->database, table, who,
                         id_replaced || replaced
                             ? ", even with its text that is not valid UTF-8 "
                               "replaced"
                             : "");
    else if (first_of_table(s, table))
        sluice_log(mg_host, s->ctx, SLUICE_LOG_WARN,
                   "collection %s.%s: document %s has text that is not valid "
                   "UTF-8: written with U+FFFD in its place and the original "
                   "bytes in _sluice_malformed%s%.*s; the table's further "
                   "ones are only counted (metric documents_malformed_total)",
                   s->cfg->database, table, who,
                   id_broken ? ", its _id keyed as " : "",
                   id_broken ? (int)*klen : 0, id_broken ? *key : "");
    if (st == SLUICE_OK)
        mg_host->counter_add(s->ctx, "documents_malformed_total", 1);
    bson_free(who);
    return st;
}
