/* update_log.c: what an update changed, and the change event's
 * updateDescription MongoDB builds from it (5.0 and later: the "$v: 2"
 * oplog diff, read back by the change stream). Per document level the
 * changed fields come first (updated, then created, in the order
 * applied), then the removed ones, then the levels below; an array
 * level lists its changed indexes in order ("a.3") and, when it shrank
 * in a pipeline update, a truncatedArrays entry. Values are read from
 * the document after the update. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

static bool is_prefix(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na > nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

void change_log_add(struct change_log *l, char *const *parts, size_t n,
                    enum change_kind kind, int64_t size)
{
    for (size_t i = 0; i < l->n; i++) /* inside a value logged whole */
        if ((l->v[i].kind == CHANGE_UPDATE || l->v[i].kind == CHANGE_INSERT) &&
            is_prefix(l->v[i].parts, l->v[i].n, parts, n))
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    struct change *c = &l->v[l->n++];
    c->parts = malloc((n ? n : 1) * sizeof *c->parts);
    for (size_t i = 0; i < n; i++)
        c->parts[i] = strdup(parts[i]);
    c->n = n;
    c->kind = kind;
    c->size = size;
}

void change_log_free(struct change_log *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t k = 0; k < l->v[i].n; k++)
            free(l->v[i].parts[k]);
        free(l->v[i].parts);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- the description ---- */

struct out {
    const struct change_log *l;
    struct mnode *root;
    bson_t updated, removed, truncated;
    int nremoved, ntruncated;
};

static void put_value(struct out *o, const struct change *c)
{
    struct mnode *at;
    char *key = path_join(c->parts, c->n);
    if (mdoc_find(o->root, c->parts, c->n, &at) == c->n) {
        bson_value_t v;
        mnode_get(at, &v);
        bson_append_value(&o->updated, key, -1, &v);
        bson_value_destroy(&v);
    }
    free(key);
}

static void put_removed(struct out *o, const struct change *c)
{
    char key[16], *path = path_join(c->parts, c->n);
    snprintf(key, sizeof key, "%d", o->nremoved++);
    bson_append_utf8(&o->removed, key, -1, path, -1);
    free(path);
}

static void put_truncated(struct out *o, const struct change *c)
{
    char key[16], *path = path_join(c->parts, c->n);
    bson_t t;
    snprintf(key, sizeof key, "%d", o->ntruncated++);
    bson_append_document_begin(&o->truncated, key, -1, &t);
    BSON_APPEND_UTF8(&t, "field", path);
    BSON_APPEND_INT32(&t, "newSize", (int32_t)c->size);
    bson_append_document_end(&o->truncated, &t);
    free(path);
}

static bool ends_here(const struct change *c, size_t depth)
{
    return c->n == depth + 1 && c->kind != CHANGE_TRUNCATE;
}

static int compare_index(const void *x, const void *y)
{
    long a = atol(*(char *const *)x), b = atol(*(char *const *)y);
    return a < b ? -1 : a > b;
}

static void level(struct out *o, const size_t *sel, size_t nsel, size_t depth,
                  struct mnode *node);

/* The entries of `sel` under `part` at `depth`, described one level
 * down. */
static void group(struct out *o, const size_t *sel, size_t nsel, size_t depth,
                  const char *part, struct mnode *node)
{
    size_t *sub = malloc((nsel ? nsel : 1) * sizeof *sub), nsub = 0;
    for (size_t i = 0; i < nsel; i++)
        if (!strcmp(o->l->v[sel[i]].parts[depth], part))
            sub[nsub++] = sel[i];
    struct mnode *kid = node ? mnode_child(node, part, NULL) : NULL;
    level(o, sub, nsub, depth + 1, kid);
    free(sub);
}

static void level(struct out *o, const size_t *sel, size_t nsel, size_t depth,
                  struct mnode *node)
{
    const struct change_log *l = o->l;
    bool array = node && mnode_type(node) == BSON_TYPE_ARRAY;
    if (array) {
        char **parts = malloc((nsel ? nsel : 1) * sizeof *parts);
        size_t nparts = 0;
        for (size_t i = 0; i < nsel; i++) {
            const struct change *c = &l->v[sel[i]];
            if (c->n == depth && c->kind == CHANGE_TRUNCATE) {
                put_truncated(o, c);
                continue;
            }
            if (c->n <= depth)
                continue;
            bool seen = false;
            for (size_t k = 0; k < nparts && !seen; k++)
                seen = !strcmp(parts[k], c->parts[depth]);
            if (!seen)
                parts[nparts++] = c->parts[depth];
        }
        qsort(parts, nparts, sizeof *parts, compare_index);
        for (size_t k = 0; k < nparts; k++) {
            bool value = false;
            for (size_t i = 0; i < nsel && !value; i++) {
                const struct change *c = &l->v[sel[i]];
                if (ends_here(c, depth) &&
                    !strcmp(c->parts[depth], parts[k])) {
                    put_value(o, c);
                    value = true;
                }
            }
            if (!value)
                group(o, sel, nsel, depth, parts[k], node);
        }
        free(parts);
        return;
    }
    static const enum change_kind order[] = {CHANGE_UPDATE, CHANGE_INSERT,
                                             CHANGE_DELETE};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < nsel; i++) {
            const struct change *c = &l->v[sel[i]];
            if (!ends_here(c, depth) || c->kind != order[k])
                continue;
            if (c->kind == CHANGE_DELETE)
                put_removed(o, c);
            else
                put_value(o, c);
        }
    /* the levels below, in the order first changed */
    for (size_t i = 0; i < nsel; i++) {
        const struct change *c = &l->v[sel[i]];
        if (ends_here(c, depth) || c->n <= depth)
            continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++) {
            const struct change *d = &l->v[sel[j]];
            first = ends_here(d, depth) || d->n <= depth ||
                    strcmp(d->parts[depth], c->parts[depth]) != 0;
        }
        if (first)
            group(o, sel, nsel, depth, c->parts[depth], node);
    }
}

void change_log_describe(const struct change_log *l, struct mnode *root,
                         bson_t *description)
{
    struct out o = {.l = l, .root = root};
    bson_init(&o.updated);
    bson_init(&o.removed);
    bson_init(&o.truncated);
    size_t *all = malloc((l->n ? l->n : 1) * sizeof *all);
    for (size_t i = 0; i < l->n; i++)
        all[i] = i;
    level(&o, all, l->n, 0, root);
    free(all);
    BSON_APPEND_DOCUMENT(description, "updatedFields", &o.updated);
    BSON_APPEND_ARRAY(description, "removedFields", &o.removed);
    BSON_APPEND_ARRAY(description, "truncatedArrays", &o.truncated);
    bson_destroy(&o.updated);
    bson_destroy(&o.removed);
    bson_destroy(&o.truncated);
}

/* ---- the diff of two documents (pipeline updates) ----
 * MongoDB's algorithm (document_diff_calculator): fields compared in
 * order; a document or array that differs is diffed inside, unless that
 * diff would be larger than its new value, which is then logged whole;
 * the root's diff is given up the same way (a replacement). The sizes
 * are those of MongoDB's diff format ({u: {...}, i: {...}, d: {...},
 * s<field>: {...}}, arrays {a: true, l: size, u<i>: v, s<i>: {...}}). */

static void change_log_truncate(struct change_log *l, size_t n)
{
    while (l->n > n) {
        struct change *c = &l->v[--l->n];
        for (size_t k = 0; k < c->n; k++)
            free(c->parts[k]);
        free(c->parts);
    }
}

static size_t value_size(const bson_value_t *v)
{
    bson_t wrap = BSON_INITIALIZER;
    bson_append_value(&wrap, "", 0, v);
    size_t size = wrap.len - 7; /* the document, the type and the name */
    bson_destroy(&wrap);
    return size;
}

static size_t entry_size(const char *name, size_t value)
{
    return 2 + strlen(name) + value;
}

struct stack {
    char **parts;
    size_t n;
};

static void push(struct stack *s, const char *part)
{
    s->parts = realloc(s->parts, (s->n + 1) * sizeof *s->parts);
    s->parts[s->n++] = strdup(part);
}

static void pop(struct stack *s)
{
    free(s->parts[--s->n]);
}

static void log_at(struct change_log *l, struct stack *s, const char *part,
                   enum change_kind kind, int64_t size)
{
    push(s, part);
    change_log_add(l, s->parts, s->n, kind, size);
    pop(s);
}

static size_t diff_container(struct change_log *l, struct stack *s,
                             const bson_value_t *before,
                             const bson_value_t *after, size_t padding);

/* A field or element that differs: a diff inside, or the whole value;
 * returns what it adds to the diff's size. */
static size_t diff_member(struct change_log *l, struct stack *s,
                          const char *part, const bson_value_t *before,
                          const bson_value_t *after, bool array, bool *whole)
{
    *whole = false;
    char name[32];
    snprintf(name, sizeof name, "%s%s", array ? "u" : "", part);
    if (before->value_type == after->value_type &&
        (after->value_type == BSON_TYPE_DOCUMENT ||
         after->value_type == BSON_TYPE_ARRAY)) {
        push(s, part);
        size_t sub = diff_container(l, s, before, after, 0);
        pop(s);
        if (sub)
            return 1 + entry_size(name, sub); /* s<field> */
    }
    *whole = true;
    log_at(l, s, part, CHANGE_UPDATE, 0);
    return entry_size(name, value_size(after));
}

static size_t diff_doc(struct change_log *l, struct stack *s,
                       const bson_value_t *before, const bson_value_t *after,
                       size_t padding)
{
    size_t start = l->n, size = 5 + padding,
           post = after->value.v_doc.data_len;
    bool sections[3] = {false}; /* u, i, d */
    bson_iter_t x, y;
    bson_iter_init_from_data(&x, before->value.v_doc.data,
                             before->value.v_doc.data_len);
    bson_iter_init_from_data(&y, after->value.v_doc.data, post);
    bool more_x = bson_iter_next(&x), more_y = bson_iter_next(&y);
    char **deletes = NULL;
    size_t ndeletes = 0;
    while (more_x && more_y && size <= post) {
        const char *kx = bson_iter_key(&x), *ky = bson_iter_key(&y);
        if (!strcmp(kx, ky)) {
            if (!value_identical(bson_iter_value(&x), bson_iter_value(&y))) {
                bool whole;
                size_t add = diff_member(l, s, ky, bson_iter_value(&x),
                                         bson_iter_value(&y), false, &whole);
                if (whole && !sections[0])
                    size += 8;
                sections[0] = sections[0] || whole;
                size += add;
            }
            more_x = bson_iter_next(&x);
            more_y = bson_iter_next(&y);
        } else {
            deletes = realloc(deletes, (ndeletes + 1) * sizeof *deletes);
            deletes[ndeletes++] = strdup(kx);
            more_x = bson_iter_next(&x);
        }
    }
    for (; more_x && size <= post; more_x = bson_iter_next(&x)) {
        deletes = realloc(deletes, (ndeletes + 1) * sizeof *deletes);
        deletes[ndeletes++] = strdup(bson_iter_key(&x));
    }
    for (; more_y && size <= post; more_y = bson_iter_next(&y)) {
        const char *ky = bson_iter_key(&y);
        for (size_t k = 0; k < ndeletes; k++)
            if (deletes[k] && !strcmp(deletes[k], ky)) {
                free(deletes[k]);
                deletes[k] = NULL;
            }
        size += (sections[1] ? 0 : 8) +
                entry_size(ky, value_size(bson_iter_value(&y)));
        sections[1] = true;
        log_at(l, s, ky, CHANGE_INSERT, 0);
    }
    for (size_t k = 0; k < ndeletes; k++) {
        if (deletes[k]) {
            size += (sections[2] ? 0 : 8) + entry_size(deletes[k], 1);
            sections[2] = true;
            log_at(l, s, deletes[k], CHANGE_DELETE, 0);
        }
        free(deletes[k]);
    }
    free(deletes);
    if (size < post)
        return size;
    change_log_truncate(l, start);
    return 0;
}

static size_t diff_array(struct change_log *l, struct stack *s,
                         const bson_value_t *before, const bson_value_t *after)
{
    size_t start = l->n, size = 5 + 4, post = after->value.v_doc.data_len;
    bson_iter_t x, y;
    char index[24];
    bson_iter_init_from_data(&x, before->value.v_doc.data,
                             before->value.v_doc.data_len);
    bson_iter_init_from_data(&y, after->value.v_doc.data, post);
    int64_t k = 0;
    bool more_x = bson_iter_next(&x), more_y = bson_iter_next(&y);
    for (; more_x && more_y && size <= post; k++) {
        snprintf(index, sizeof index, "%lld", (long long)k);
        bool whole;
        if (!value_identical(bson_iter_value(&x), bson_iter_value(&y)))
            size += diff_member(l, s, index, bson_iter_value(&x),
                                bson_iter_value(&y), true, &whole);
        more_x = bson_iter_next(&x);
        more_y = bson_iter_next(&y);
    }
    for (; more_y && size <= post; more_y = bson_iter_next(&y), k++) {
        snprintf(index, sizeof index, "%lld", (long long)k);
        char name[32];
        snprintf(name, sizeof name, "u%s", index);
        size += entry_size(name, value_size(bson_iter_value(&y)));
        log_at(l, s, index, CHANGE_UPDATE, 0);
    }
    if (more_x) {
        size += 7;
        change_log_add(l, s->parts, s->n, CHANGE_TRUNCATE, k);
    }
    if (size < post)
        return size;
    change_log_truncate(l, start);
    return 0;
}

static size_t diff_container(struct change_log *l, struct stack *s,
                             const bson_value_t *before,
                             const bson_value_t *after, size_t padding)
{
    return after->value_type == BSON_TYPE_ARRAY
               ? diff_array(l, s, before, after)
               : diff_doc(l, s, before, after, padding);
}

bool change_log_diff(struct change_log *l, const bson_value_t *before,
                     const bson_value_t *after)
{
    struct stack s = {0};
    /* the oplog entry's own fields count too ($v: 2, diff) */
    bool fits = diff_doc(l, &s, before, after, 15) > 0;
    free(s.parts);
    return fits;
}
