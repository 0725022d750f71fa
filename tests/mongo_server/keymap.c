/* keymap.c: a hash map from a document's key (database, collection, _id)
 * to a pointer, for txn.c: the writes of a transaction, the documents
 * committed while transactions are open, the sessions (by lsid, under the
 * database and collection ""). Two _ids are one key when value_compare
 * says they are equal (1 and 1.0 are), so the hash is coarse where the
 * comparison is lenient. The map owns its keys; the values are the
 * caller's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static double number_of(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32: return v->value.v_int32;
    case BSON_TYPE_INT64: return (double)v->value.v_int64;
    case BSON_TYPE_DOUBLE: return v->value.v_double;
    default: { /* decimal128: as value_compare reads it */
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, text);
        return strtod(text, NULL);
    }
    }
}

/* Equal values (by value_compare) hash alike: numbers by their value as a
 * double, strings, binaries and ObjectIds by their bytes, the rest by
 * their type's class alone. */
static uint64_t value_hash(const bson_value_t *v)
{
    uint64_t h = 14695981039346656037ull;
    bson_type_t t = v->value_type;
    switch (t) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: {
        double d = number_of(v);
        if (d == 0 || isnan(d))
            d = 0;
        return fnv(fnv(h, "n", 1), &d, sizeof d);
    }
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        return fnv(fnv(h, "s", 1), v->value.v_utf8.str, v->value.v_utf8.len);
    case BSON_TYPE_BINARY:
        return fnv(fnv(h, "b", 1), v->value.v_binary.data,
                   v->value.v_binary.data_len);
    case BSON_TYPE_OID: return fnv(fnv(h, "o", 1), v->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL: return fnv(h, &v->value.v_bool, 1);
    case BSON_TYPE_DATE_TIME:
        return fnv(fnv(h, "d", 1), &v->value.v_datetime, 8);
    case BSON_TYPE_UNDEFINED: t = BSON_TYPE_NULL; break;
    default: break;
    }
    return fnv(h, &t, sizeof t);
}

static uint64_t key_hash(const char *db, const char *coll,
                         const bson_value_t *id)
{
    uint64_t h = fnv(14695981039346656037ull, db, strlen(db) + 1);
    h = fnv(h, coll, strlen(coll) + 1);
    return h ^ (value_hash(id) * 0x9E3779B97F4A7C15ull);
}

static bool key_equal(const struct keymap_entry *e, uint64_t hash,
                      const char *db, const char *coll, const bson_value_t *id)
{
    return e->hash == hash && !strcmp(e->db, db) && !strcmp(e->coll, coll) &&
           value_compare(&e->id, id) == 0;
}

/* The slot of the key, or the empty slot where it would go. */
static size_t probe(const struct keymap *m, uint64_t hash, const char *db,
                    const char *coll, const bson_value_t *id)
{
    size_t i = (size_t)hash & (m->cap - 1);
    while (m->v[i].used && !key_equal(&m->v[i], hash, db, coll, id))
        i = (i + 1) & (m->cap - 1);
    return i;
}

void **keymap_find(struct keymap *m, const char *db, const char *coll,
                   const bson_value_t *id)
{
    if (!m->count)
        return NULL;
    size_t i = probe(m, key_hash(db, coll, id), db, coll, id);
    return m->v[i].used ? &m->v[i].value : NULL;
}

static void grow(struct keymap *m)
{
    struct keymap_entry *old = m->v;
    size_t old_cap = m->cap;
    m->cap = m->cap ? m->cap * 2 : 16;
    m->v = calloc(m->cap, sizeof *m->v);
    for (size_t k = 0; k < old_cap; k++)
        if (old[k].used)
            m->v[probe(m, old[k].hash, old[k].db, old[k].coll, &old[k].id)] =
                old[k];
    free(old);
}

void **keymap_add(struct keymap *m, const char *db, const char *coll,
                  const bson_value_t *id)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t hash = key_hash(db, coll, id);
    struct keymap_entry *e = &m->v[probe(m, hash, db, coll, id)];
    if (!e->used) {
        e->used = true;
        e->hash = hash;
        e->db = strdup(db);
        e->coll = strdup(coll);
        bson_value_copy(id, &e->id);
        e->value = NULL;
        m->count++;
    }
    return &e->value;
}

static void entry_free(struct keymap_entry *e)
{
    free(e->db);
    free(e->coll);
    bson_value_destroy(&e->id);
    memset(e, 0, sizeof *e);
}

/* Linear probing's deletion: the entries after the hole that would have
 * gone into it move back, so that no probe stops early. */
bool keymap_remove(struct keymap *m, const char *db, const char *coll,
                   const bson_value_t *id)
{
    if (!m->count)
        return false;
    size_t hole = probe(m, key_hash(db, coll, id), db, coll, id);
    if (!m->v[hole].used)
        return false;
    entry_free(&m->v[hole]);
    m->count--;
    for (size_t i = (hole + 1) & (m->cap - 1); m->v[i].used;
         i = (i + 1) & (m->cap - 1)) {
        size_t home = (size_t)m->v[i].hash & (m->cap - 1);
        /* moves back when its home is not within (hole, i] */
        bool stays =
            hole <= i ? hole < home && home <= i : hole < home || home <= i;
        if (!stays) {
            m->v[hole] = m->v[i];
            memset(&m->v[i], 0, sizeof m->v[i]);
            hole = i;
        }
    }
    return true;
}

void keymap_clear(struct keymap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].used)
            entry_free(&m->v[i]);
    free(m->v);
    memset(m, 0, sizeof *m);
}
