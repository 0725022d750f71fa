/* index.c: a collection's indexes as MongoDB reports them (createIndexes,
 * listIndexes, dropIndexes; _id_ always there) and the one thing they
 * change in this server: unique indexes refuse a second document with
 * the same key, with DuplicateKey (11000) worded as MongoDB words it.
 * Keys are read as MongoDB's index keys (sort.c's path_keys: an array
 * gives each element, a missing field null); sparse and partial indexes
 * leave out the documents MongoDB leaves out. Nothing is looked up
 * through an index: reads scan the collection in _id order, so an index
 * here costs a write a scan of the collection, and only when unique.
 * A change to a collection's indexes is reported to scope.c, for
 * --dbpath. Callers hold srv.lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct index {
    char *name;
    bson_t *spec; /* as listIndexes shows it: v, key, name, options */
    bson_t *key;
    struct path *fields;
    size_t nfields;
    bool unique, sparse;
    struct match *partial; /* partialFilterExpression, or NULL */
};

struct index_list {
    struct index *v;
    size_t n;
};

/* Options an index specification may carry besides key and name. */
static const char *const options[] = {"v",
                                      "unique",
                                      "sparse",
                                      "partialFilterExpression",
                                      "hidden",
                                      "background",
                                      "expireAfterSeconds",
                                      "collation",
                                      "storageEngine",
                                      "ns"};

static bool listed_option(const char *name)
{
    for (size_t i = 0; i < sizeof options / sizeof *options; i++)
        if (!strcmp(name, options[i]))
            return true;
    return false;
}

static void index_clear(struct index *ix)
{
    free(ix->name);
    bson_destroy(ix->spec);
    bson_destroy(ix->key);
    for (size_t i = 0; i < ix->nfields; i++)
        path_free(&ix->fields[i]);
    free(ix->fields);
    match_free(ix->partial);
    memset(ix, 0, sizeof *ix);
}

void index_free_all(struct collection *c)
{
    if (!c->indexes)
        return;
    for (size_t i = 0; i < c->indexes->n; i++)
        index_clear(&c->indexes->v[i]);
    free(c->indexes->v);
    free(c->indexes);
    c->indexes = NULL;
}

static size_t index_count(const struct collection *c)
{
    return 1 + (c->indexes ? c->indexes->n : 0);
}

static void index_add(struct collection *c, const struct index *ix)
{
    if (!c->indexes)
        c->indexes = calloc(1, sizeof *c->indexes);
    c->indexes->v =
        realloc(c->indexes->v, (c->indexes->n + 1) * sizeof *c->indexes->v);
    c->indexes->v[c->indexes->n++] = *ix;
}

void index_each_spec(const struct collection *c,
                     void (*fn)(const bson_t *spec, void *arg), void *arg)
{
    for (size_t i = 0; c->indexes && i < c->indexes->n; i++)
        fn(c->indexes->v[i].spec, arg);
}

/* ---- keys ---- */

struct key_list {
    bson_value_t *v;
    size_t n;
};

static bool add_key(const bson_value_t *key, void *ctx)
{
    struct key_list *l = ctx;
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = *key;
    return false;
}

static bool present(const bson_value_t *v, int index, void *ctx)
{
    (void)index;
    (void)ctx;
    return v != NULL;
}

/* Whether the index holds entries for `doc` at all. */
static bool indexed(const struct index *ix, const bson_t *doc)
{
    bson_value_t root;
    value_of_doc(doc, &root);
    if (ix->partial && !match_bson(ix->partial, doc, NULL))
        return false;
    if (!ix->sparse)
        return true;
    for (size_t i = 0; i < ix->nfields; i++)
        if (path_visit(&root, &ix->fields[i], PATH_LEAF_TRAVERSE, present,
                       NULL))
            return true;
    return false;
}

/* The entries of `doc`: tuples of nfields keys, one after the other in
 * *out (borrowing the document's bytes); their number. */
static size_t entries_of(const struct index *ix, const bson_t *doc,
                         bson_value_t **out)
{
    bson_value_t root;
    value_of_doc(doc, &root);
    size_t total = 1;
    struct key_list *keys = calloc(ix->nfields, sizeof *keys);
    for (size_t i = 0; i < ix->nfields; i++) {
        path_keys(&root, &ix->fields[i], add_key, &keys[i]);
        total *= keys[i].n;
    }
    *out = malloc((total ? total : 1) * ix->nfields * sizeof **out);
    for (size_t t = 0; t < total; t++) {
        size_t rest = t;
        for (size_t i = ix->nfields; i-- > 0;) {
            (*out)[t * ix->nfields + i] = keys[i].v[rest % keys[i].n];
            rest /= keys[i].n;
        }
    }
    for (size_t i = 0; i < ix->nfields; i++)
        free(keys[i].v);
    free(keys);
    return total;
}

static bool same_tuple(const bson_value_t *a, const bson_value_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (value_compare(&a[i], &b[i]) != 0)
            return false;
    return true;
}

static void duplicate(const struct collection *c, const char *index,
                      const char *keys, bool building, struct mongo_error *e)
{
    mongo_error_set(e, 11000, "DuplicateKey",
                    "%sE11000 duplicate key error collection: %s.%s index: "
                    "%s dup key: { %s }",
                    building ? "Index build failed: caused by :: " : "", c->db,
                    c->name, index, keys);
}

static void duplicate_tuple(const struct collection *c, const struct index *ix,
                            const bson_value_t *tuple, bool building,
                            struct mongo_error *e)
{
    char keys[512] = "", one[256];
    size_t used = 0;
    for (size_t i = 0; i < ix->nfields; i++)
        used += (size_t)snprintf(keys + used,
                                 used < sizeof keys ? sizeof keys - used : 0,
                                 "%s%s", i ? ", " : "",
                                 element_render(ix->fields[i].text, &tuple[i],
                                                one, sizeof one));
    duplicate(c, ix->name, keys, building, e);
}

void index_duplicate_id(const struct collection *c, const bson_value_t *id,
                        struct mongo_error *e)
{
    char keys[256];
    duplicate(c, "_id_", element_render("_id", id, keys, sizeof keys), false,
              e);
}

/* Whether `doc` collides in `ix` with a document of `c` other than the
 * one whose _id is `self`. */
static bool collides(const struct collection *c, const struct index *ix,
                     const bson_t *doc, const bson_value_t *self,
                     struct mongo_error *e)
{
    if (!indexed(ix, doc))
        return false;
    bson_value_t *mine, *theirs;
    size_t n = entries_of(ix, doc, &mine);
    bool hit = false;
    for (size_t d = 0; !hit && d < c->count; d++) {
        if (self && value_compare(&c->docs[d].id, self) == 0)
            continue;
        if (!indexed(ix, c->docs[d].bson))
            continue;
        size_t m = entries_of(ix, c->docs[d].bson, &theirs);
        for (size_t i = 0; !hit && i < n; i++)
            for (size_t j = 0; !hit && j < m; j++)
                if (same_tuple(&mine[i * ix->nfields],
                               &theirs[j * ix->nfields], ix->nfields)) {
                    duplicate_tuple(c, ix, &mine[i * ix->nfields], false, e);
                    hit = true;
                }
        free(theirs);
    }
    free(mine);
    return hit;
}

bool index_check(const struct collection *c, const bson_t *doc,
                 const bson_value_t *self, struct mongo_error *e)
{
    for (size_t i = 0; c->indexes && i < c->indexes->n; i++)
        if (c->indexes->v[i].unique &&
            collides(c, &c->indexes->v[i], doc, self, e))
            return false;
    return true;
}

/* An index entry of one document, for finding duplicates by sorting. */
struct entry {
    const bson_value_t *tuple;
    size_t doc;
};

static size_t sorting_fields; /* qsort has no context; under srv.lock */

static int compare_entries(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    for (size_t i = 0; i < sorting_fields; i++) {
        int c = value_compare(&a->tuple[i], &b->tuple[i]);
        if (c)
            return c;
    }
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

/* A unique index built over the documents already there: false with the
 * first duplicate. */
static bool build_unique(const struct collection *c, const struct index *ix,
                         struct mongo_error *e)
{
    struct entry *all = NULL;
    bson_value_t **tuples = calloc(c->count + 1, sizeof *tuples);
    size_t n = 0;
    for (size_t d = 0; d < c->count; d++) {
        if (!indexed(ix, c->docs[d].bson))
            continue;
        size_t k = entries_of(ix, c->docs[d].bson, &tuples[d]);
        all = realloc(all, (n + k + 1) * sizeof *all);
        for (size_t i = 0; i < k; i++)
            all[n++] = (struct entry){&tuples[d][i * ix->nfields], d};
    }
    sorting_fields = ix->nfields;
    if (n)
        qsort(all, n, sizeof *all, compare_entries);
    bool okay = true;
    for (size_t i = 1; okay && i < n; i++)
        if (all[i].doc != all[i - 1].doc &&
            same_tuple(all[i].tuple, all[i - 1].tuple, ix->nfields)) {
            duplicate_tuple(c, ix, all[i].tuple, true, e);
            okay = false;
        }
    for (size_t d = 0; d < c->count; d++)
        free(tuples[d]);
    free(tuples);
    free(all);
    return okay;
}

/* ---- specifications ---- */

static bool spec_error(struct mongo_error *e, int code, const char *name,
                       const bson_t *spec, const char *why)
{
    char shown[512];
    bson_value_t v;
    value_of_doc(spec, &v);
    mongo_error_set(e, code, name,
                    "Error in specification %s :: caused by :: %s",
                    value_render(&v, shown, sizeof shown), why);
    return false;
}

/* Reads one specification into `ix`; false with the error. */
static bool index_parse(const bson_t *spec, struct index *ix,
                        struct mongo_error *e)
{
    bson_iter_t it, k;
    memset(ix, 0, sizeof *ix);
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "key") && strcmp(f, "name") && !listed_option(f)) {
            char shown[512], msg[700];
            bson_value_t v;
            value_of_doc(spec, &v);
            snprintf(msg, sizeof msg,
                     "The field '%s' is not valid for an index "
                     "specification. Specification: %s",
                     f, value_render(&v, shown, sizeof shown));
            mongo_error_set(e, 197, "InvalidIndexSpecificationOption", "%s",
                            msg);
            return false;
        }
    }
    if (!bson_iter_init_find(&it, spec, "key") ||
        !BSON_ITER_HOLDS_DOCUMENT(&it))
        return spec_error(e, 9, "FailedToParse", spec,
                          "The 'key' field is a required property of an "
                          "index specification");
    if (!bson_iter_init_find(&k, spec, "name") || !BSON_ITER_HOLDS_UTF8(&k))
        return spec_error(e, 9, "FailedToParse", spec,
                          "The 'name' field is a required property of an "
                          "index specification");
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&it, &len, &data);
    ix->key = bson_new_from_data(data, len);
    ix->name = strdup(bson_iter_utf8(&k, NULL));
    bson_iter_init(&it, ix->key);
    while (bson_iter_next(&it)) {
        const bson_value_t *d = bson_iter_value(&it);
        if (d->value_type == BSON_TYPE_UTF8 ||
            !strcmp(bson_iter_key(&it), "$**") ||
            strstr(bson_iter_key(&it), ".$**")) {
            mongo_error_set(e, 238, "NotImplemented",
                            "the sluice test server keeps ascending and "
                            "descending indexes only, not %s",
                            d->value_type == BSON_TYPE_UTF8
                                ? d->value.v_utf8.str
                                : "wildcard ones");
            return false;
        }
        if (!value_is_number(d) || value_as_double(d) == 0)
            return spec_error(e, 67, "CannotCreateIndex", spec,
                              "Values in the index key pattern can only be "
                              "non-zero numbers or the names of special "
                              "index types");
        ix->fields =
            realloc(ix->fields, (ix->nfields + 1) * sizeof *ix->fields);
        path_split(bson_iter_key(&it), &ix->fields[ix->nfields++]);
    }
    if (!ix->nfields)
        return spec_error(e, 67, "CannotCreateIndex", spec,
                          "Index keys cannot be empty.");
    ix->unique =
        bson_iter_init_find(&it, spec, "unique") && bson_iter_as_bool(&it);
    ix->sparse =
        bson_iter_init_find(&it, spec, "sparse") && bson_iter_as_bool(&it);
    if (bson_iter_init_find(&it, spec, "partialFilterExpression")) {
        bson_t filter;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return spec_error(e, 14, "TypeMismatch", spec,
                              "partialFilterExpression must be an object");
        bson_iter_document(&it, &len, &data);
        bson_init_static(&filter, data, len);
        if (!(ix->partial = match_parse(&filter, e)))
            return false;
    }
    if (!query_collation_ok(spec, e))
        return false;
    /* as listIndexes shows it: v, key, name, then the options */
    ix->spec = bson_new();
    BSON_APPEND_INT32(ix->spec, "v", 2);
    BSON_APPEND_DOCUMENT(ix->spec, "key", ix->key);
    BSON_APPEND_UTF8(ix->spec, "name", ix->name);
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "v") &&
            strcmp(bson_iter_key(&it), "key") &&
            strcmp(bson_iter_key(&it), "name") &&
            strcmp(bson_iter_key(&it), "ns"))
            bson_append_iter(ix->spec, NULL, 0, &it);
    return true;
}

/* The _id index, as a specification to compare others with. */
static void id_index(struct index *ix)
{
    memset(ix, 0, sizeof *ix);
    ix->name = strdup("_id_");
    ix->key = BCON_NEW("_id", BCON_INT32(1));
    ix->spec = BCON_NEW("v", BCON_INT32(2), "key", "{", "_id", BCON_INT32(1),
                        "}", "name", BCON_UTF8("_id_"));
    ix->unique = true;
}

static bool same_key(const struct index *a, const struct index *b)
{
    bson_value_t x, y;
    value_of_doc(a->key, &x);
    value_of_doc(b->key, &y);
    return value_compare(&x, &y) == 0;
}

/* The options that make two indexes on one key different ones. */
static bool same_options(const struct index *a, const struct index *b)
{
    static const char *const compared[] = {"unique", "sparse",
                                           "partialFilterExpression",
                                           "expireAfterSeconds", "hidden"};
    for (size_t i = 0; i < sizeof compared / sizeof *compared; i++) {
        bson_iter_t x, y;
        bool in_a = bson_iter_init_find(&x, a->spec, compared[i]),
             in_b = bson_iter_init_find(&y, b->spec, compared[i]);
        if (i < 2) { /* flags: absent is false */
            if ((in_a && bson_iter_as_bool(&x)) !=
                (in_b && bson_iter_as_bool(&y)))
                return false;
        } else if (in_a != in_b ||
                   (in_a && value_compare(bson_iter_value(&x),
                                          bson_iter_value(&y)) != 0)) {
            return false;
        }
    }
    return true;
}

enum outcome { NEW_INDEX, EXISTS, CONFLICT };

/* How a requested index stands against one already there. */
static enum outcome against(const struct index *want, const struct index *have,
                            struct mongo_error *e)
{
    char a[400], b[400];
    bson_value_t va, vb;
    value_of_doc(want->spec, &va);
    value_of_doc(have->spec, &vb);
    value_render(&va, a, sizeof a);
    value_render(&vb, b, sizeof b);
    bool key = same_key(want, have), opts = same_options(want, have);
    if (!strcmp(want->name, have->name)) {
        if (!key) {
            mongo_error_set(e, 86, "IndexKeySpecsConflict",
                            "An existing index has the same name as the "
                            "requested index. When index names are not "
                            "specified, they are auto generated and can cause "
                            "conflicts. Please refer to our documentation. "
                            "Requested index: %s, existing index: %s",
                            a, b);
            return CONFLICT;
        }
        if (!opts) {
            mongo_error_set(e, 85, "IndexOptionsConflict",
                            "An equivalent index already exists with the same "
                            "name but different options. Requested index: %s, "
                            "existing index: %s",
                            a, b);
            return CONFLICT;
        }
        return EXISTS;
    }
    if (!key)
        return NEW_INDEX;
    if (!opts)
        mongo_error_set(e, 85, "IndexOptionsConflict",
                        "An equivalent index already exists with a different "
                        "name and options. Requested index: %s, existing "
                        "index: %s",
                        a, b);
    else
        mongo_error_set(e, 85, "IndexOptionsConflict",
                        "Index already exists with a different name: %s",
                        have->name);
    return CONFLICT;
}

/* Against _id_ and every index of `c`. */
static enum outcome place(const struct collection *c, const struct index *want,
                          struct mongo_error *e)
{
    struct index id;
    id_index(&id);
    enum outcome o = against(want, &id, e);
    index_clear(&id);
    for (size_t i = 0; o == NEW_INDEX && c->indexes && i < c->indexes->n; i++)
        o = against(want, &c->indexes->v[i], e);
    return o;
}

/* Reads the specifications of createIndexes; their number, or -1. */
static long read_specs(const bson_t *cmd, struct index **out,
                       struct mongo_error *e)
{
    bson_iter_t it, list;
    long n = 0;
    *out = NULL;
    if (!bson_iter_init_find(&it, cmd, "indexes")) {
        mongo_error_set(e, 40414, "Location40414",
                        "BSON field 'createIndexes.indexes' is missing but a "
                        "required field");
        return -1;
    }
    if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &list)) {
        mongo_error_set(e, 14, "TypeMismatch",
                        "BSON field 'createIndexes.indexes' is the wrong "
                        "type, expected type 'array'");
        return -1;
    }
    while (bson_iter_next(&list)) {
        uint32_t len;
        const uint8_t *data;
        bson_t spec;
        if (!BSON_ITER_HOLDS_DOCUMENT(&list)) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "The elements of the 'indexes' array must be "
                            "objects");
            break;
        }
        bson_iter_document(&list, &len, &data);
        bson_init_static(&spec, data, len);
        *out = realloc(*out, (size_t)(n + 1) * sizeof **out);
        if (!index_parse(&spec, &(*out)[n], e)) {
            index_clear(&(*out)[n]);
            break;
        }
        n++;
    }
    if (!e->code && n == 0)
        mongo_error_set(e, 2, "BadValue",
                        "Must specify at least one index to create");
    if (e->code) {
        for (long i = 0; i < n; i++)
            index_clear(&(*out)[i]);
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

void cmd_create_indexes(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = field_text(cmd, "createIndexes");
    struct mongo_error e = {0};
    struct index *want;
    if (!name) {
        reply_error(reply, 73, "InvalidNamespace",
                    "createIndexes needs a collection name");
        return;
    }
    long n = read_specs(cmd, &want, &e);
    if (n < 0) {
        reply_mongo_error(reply, &e);
        return;
    }
    bool created = coll_find(db, name) == NULL;
    struct collection *c = coll_get(db, name);
    size_t before = index_count(c);
    bool okay = true;
    for (long i = 0; i < n; i++) {
        enum outcome o = place(c, &want[i], &e);
        if (o == CONFLICT || (o == NEW_INDEX && want[i].unique &&
                              !build_unique(c, &want[i], &e))) {
            okay = false;
            for (long j = i; j < n; j++)
                index_clear(&want[j]);
            break;
        }
        if (o == EXISTS) {
            index_clear(&want[i]);
            continue;
        }
        index_add(c, &want[i]);
    }
    free(want);
    if (index_count(c) != before)
        scope_note_coll(SCOPE_INDEXES, db, name, NULL, NULL);
    if (!okay) {
        reply_mongo_error(reply, &e);
        return;
    }
    BSON_APPEND_INT32(reply, "numIndexesBefore", (int32_t)before);
    BSON_APPEND_INT32(reply, "numIndexesAfter", (int32_t)index_count(c));
    if (before == index_count(c))
        BSON_APPEND_UTF8(reply, "note", "all indexes already exist");
    BSON_APPEND_BOOL(reply, "createdCollectionAutomatically", created);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}

void cmd_list_indexes(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = field_text(cmd, "listIndexes");
    struct collection *c = name ? coll_find(db, name) : NULL;
    if (!c) {
        reply_error(reply, 26, "NamespaceNotFound", "ns does not exist: %s.%s",
                    db, name ? name : "");
        return;
    }
    size_t n = index_count(c);
    bson_t **docs = calloc(n, sizeof *docs);
    struct index id;
    id_index(&id);
    docs[0] = bson_copy(id.spec);
    index_clear(&id);
    for (size_t i = 1; i < n; i++)
        docs[i] = bson_copy(c->indexes->v[i - 1].spec);
    char ns[512];
    snprintf(ns, sizeof ns, "$cmd.listIndexes.%s", name);
    reply_list_cursor(cmd, db, ns, docs, n, reply);
}

/* The position of the index `which` names (a name or a key pattern) in
 * c->indexes; -1 for _id_; -2 when none. */
static long find_index(const struct collection *c, const bson_value_t *which)
{
    struct index probe = {0};
    long found = -2;
    if (which->value_type == BSON_TYPE_UTF8) {
        if (!strcmp(which->value.v_utf8.str, "_id_"))
            return -1;
        for (size_t i = 0; c->indexes && i < c->indexes->n; i++)
            if (!strcmp(c->indexes->v[i].name, which->value.v_utf8.str))
                return (long)i;
        return -2;
    }
    if (which->value_type != BSON_TYPE_DOCUMENT)
        return -2;
    probe.key = bson_new_from_data(which->value.v_doc.data,
                                   which->value.v_doc.data_len);
    struct index id;
    id_index(&id);
    if (same_key(&probe, &id))
        found = -1;
    index_clear(&id);
    for (size_t i = 0; found == -2 && c->indexes && i < c->indexes->n; i++)
        if (same_key(&probe, &c->indexes->v[i]))
            found = (long)i;
    bson_destroy(probe.key);
    return found;
}

bool index_hint_ok(const struct collection *c, const bson_value_t *hint)
{
    bson_iter_t it;
    if (hint->value_type == BSON_TYPE_DOCUMENT &&
        bson_iter_init_from_data(&it, hint->value.v_doc.data,
                                 hint->value.v_doc.data_len) &&
        bson_iter_next(&it) && !strcmp(bson_iter_key(&it), "$natural"))
        return true;
    return find_index(c, hint) != -2;
}

static void drop_at(struct collection *c, size_t at)
{
    index_clear(&c->indexes->v[at]);
    memmove(&c->indexes->v[at], &c->indexes->v[at + 1],
            (c->indexes->n - at - 1) * sizeof *c->indexes->v);
    c->indexes->n--;
}

/* One index named by `which`; false with the error. */
static bool drop_one(struct collection *c, const bson_value_t *which,
                     struct mongo_error *e)
{
    char shown[256];
    long at = find_index(c, which);
    if (at == -1) {
        mongo_error_set(e, 72, "InvalidOptions", "cannot drop _id index");
        return false;
    }
    if (at == -2) {
        if (which->value_type == BSON_TYPE_UTF8)
            mongo_error_set(e, 27, "IndexNotFound",
                            "index not found with name [%s]",
                            which->value.v_utf8.str);
        else
            mongo_error_set(e, 27, "IndexNotFound",
                            "can't find index with key: %s",
                            value_render(which, shown, sizeof shown));
        return false;
    }
    drop_at(c, (size_t)at);
    return true;
}

void cmd_drop_indexes(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = field_text(cmd, "dropIndexes");
    struct collection *c = name ? coll_find(db, name) : NULL;
    struct mongo_error e = {0};
    bson_iter_t it, list;
    if (!c) {
        reply_error(reply, 26, "NamespaceNotFound", "ns not found %s.%s", db,
                    name ? name : "");
        return;
    }
    if (!bson_iter_init_find(&it, cmd, "index")) {
        reply_error(reply, 40414, "Location40414",
                    "BSON field 'dropIndexes.index' is missing but a "
                    "required field");
        return;
    }
    size_t was = index_count(c);
    bool okay = true, all = BSON_ITER_HOLDS_UTF8(&it) &&
                            !strcmp(bson_iter_utf8(&it, NULL), "*");
    if (all) {
        while (c->indexes && c->indexes->n)
            drop_at(c, c->indexes->n - 1);
    } else if (BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &list)) {
        while (okay && bson_iter_next(&list))
            okay = drop_one(c, bson_iter_value(&list), &e);
    } else {
        okay = drop_one(c, bson_iter_value(&it), &e);
    }
    if (index_count(c) != was)
        scope_note_coll(SCOPE_INDEXES, db, name, NULL, NULL);
    if (!okay) {
        reply_mongo_error(reply, &e);
        return;
    }
    BSON_APPEND_INT32(reply, "nIndexesWas", (int32_t)was);
    if (all)
        BSON_APPEND_UTF8(reply, "msg",
                         "non-_id indexes dropped for collection");
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}

bool index_restore(struct collection *c, const bson_t *spec,
                   struct mongo_error *e)
{
    struct index ix;
    if (!index_parse(spec, &ix, e)) {
        index_clear(&ix);
        return false;
    }
    index_add(c, &ix);
    return true;
}
