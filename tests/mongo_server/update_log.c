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

size_t change_log_size(const struct change_log *l, struct mnode *root)
{
    size_t size = 20; /* the diff document and the oplog entry's fields */
    for (size_t i = 0; i < l->n; i++) {
        const struct change *c = &l->v[i];
        struct mnode *at;
        size += 3 + c->n;
        for (size_t k = 0; k < c->n; k++)
            size += strlen(c->parts[k]);
        if (c->kind == CHANGE_DELETE || c->kind == CHANGE_TRUNCATE) {
            size += 4;
        } else if (mdoc_find(root, c->parts, c->n, &at) == c->n) {
            bson_t wrap = BSON_INITIALIZER;
            bson_value_t v;
            mnode_get(at, &v);
            bson_append_value(&wrap, "", 0, &v);
            size += wrap.len - 7;
            bson_value_destroy(&v);
            bson_destroy(&wrap);
        }
    }
    return size;
}

/* ---- the diff of two documents (pipeline updates) ---- */

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

static void diff_value(struct change_log *l, struct stack *s,
                       const bson_value_t *b, const bson_value_t *a);

static void diff_doc(struct change_log *l, struct stack *s,
                     const bson_value_t *before, const bson_value_t *after)
{
    bson_iter_t it, old;
    bson_iter_init_from_data(&it, after->value.v_doc.data,
                             after->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        push(s, bson_iter_key(&it));
        bson_iter_init_from_data(&old, before->value.v_doc.data,
                                 before->value.v_doc.data_len);
        if (!bson_iter_find(&old, bson_iter_key(&it)))
            change_log_add(l, s->parts, s->n, CHANGE_INSERT, 0);
        else
            diff_value(l, s, bson_iter_value(&old), bson_iter_value(&it));
        pop(s);
    }
    bson_iter_init_from_data(&old, before->value.v_doc.data,
                             before->value.v_doc.data_len);
    while (bson_iter_next(&old)) {
        bson_iter_init_from_data(&it, after->value.v_doc.data,
                                 after->value.v_doc.data_len);
        if (bson_iter_find(&it, bson_iter_key(&old)))
            continue;
        push(s, bson_iter_key(&old));
        change_log_add(l, s->parts, s->n, CHANGE_DELETE, 0);
        pop(s);
    }
}

static void diff_array(struct change_log *l, struct stack *s,
                       const bson_value_t *before, const bson_value_t *after)
{
    bson_iter_t x, y;
    char index[24];
    bson_iter_init_from_data(&x, before->value.v_doc.data,
                             before->value.v_doc.data_len);
    bson_iter_init_from_data(&y, after->value.v_doc.data,
                             after->value.v_doc.data_len);
    int64_t k = 0, nb = 0;
    bool more_x = bson_iter_next(&x), more_y = bson_iter_next(&y);
    for (; more_x && more_y; k++) {
        snprintf(index, sizeof index, "%lld", (long long)k);
        push(s, index);
        diff_value(l, s, bson_iter_value(&x), bson_iter_value(&y));
        pop(s);
        more_x = bson_iter_next(&x);
        more_y = bson_iter_next(&y);
    }
    nb = k;
    for (; more_x; more_x = bson_iter_next(&x))
        nb++;
    if (nb > k)
        change_log_add(l, s->parts, s->n, CHANGE_TRUNCATE, k);
    for (; more_y; more_y = bson_iter_next(&y), k++) {
        snprintf(index, sizeof index, "%lld", (long long)k);
        push(s, index);
        change_log_add(l, s->parts, s->n, CHANGE_UPDATE, 0);
        pop(s);
    }
}

static void diff_value(struct change_log *l, struct stack *s,
                       const bson_value_t *b, const bson_value_t *a)
{
    if (value_identical(b, a))
        return;
    if (b->value_type == BSON_TYPE_DOCUMENT &&
        a->value_type == BSON_TYPE_DOCUMENT)
        diff_doc(l, s, b, a);
    else if (b->value_type == BSON_TYPE_ARRAY &&
             a->value_type == BSON_TYPE_ARRAY)
        diff_array(l, s, b, a);
    else
        change_log_add(l, s->parts, s->n, CHANGE_UPDATE, 0);
}

void change_log_diff(struct change_log *l, const bson_value_t *before,
                     const bson_value_t *after)
{
    struct stack s = {0};
    diff_doc(l, &s, before, after);
    free(s.parts);
}
