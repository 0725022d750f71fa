/* wire.c: the requests of the wire protocol read into commands (see
 * wire.h): OP_MSG with its kind 0 body and kind 1 document sequences,
 * and the legacy OP_QUERY on "db.$cmd". Only bytes in, a command out: the
 * connection and the answers are net.c's. */
#include "wire.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* Whether every element of the document, and of the documents and
 * arrays in it to a depth of MAX_DEPTH, can be read (bson_validate does
 * not look inside them all). */
#define MAX_DEPTH 200
static bool readable(const uint8_t *data, uint32_t len, int depth)
{
    bson_iter_t it;
    if (depth > MAX_DEPTH || !bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it)) {
        uint32_t n;
        const uint8_t *inner;
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &n, &inner);
        else if (BSON_ITER_HOLDS_ARRAY(&it))
            bson_iter_array(&it, &n, &inner);
        else
            continue;
        if (!readable(inner, n, depth + 1))
            return false;
    }
    return !it.err_off;
}

/* The document at body[at..end): false unless its length fits and it is
 * readable. */
static bool document_at(const uint8_t *body, size_t at, size_t end, bson_t *b)
{
    if (end < at || end - at < 5)
        return false;
    int32_t n = le32(body + at);
    return n >= 5 && (size_t)n <= end - at &&
           bson_init_static(b, body + at, (size_t)n) &&
           readable(body + at, (uint32_t)n, 0);
}

/* A kind 1 section at body[at..end): its documents appended to `seqs` as
 * an array under its identifier; *next is where the section ends. False
 * unless the section's documents fill it exactly. */
static bool read_sequence(const uint8_t *body, size_t at, size_t end,
                          bson_t *seqs, size_t *next)
{
    if (end - at < 4)
        return false;
    int32_t size = le32(body + at);
    if (size < 5 || (size_t)size > end - at)
        return false;
    size_t stop = at + (size_t)size;
    const char *id = (const char *)body + at + 4;
    size_t idlen = strnlen(id, stop - at - 4);
    if (idlen == stop - at - 4)
        return false; /* the identifier does not end */
    size_t p = at + 4 + idlen + 1;
    bson_t arr, d;
    char buf[16];
    const char *key;
    uint32_t k = 0;
    bson_append_array_begin(seqs, id, (int)idlen, &arr);
    while (p < stop && document_at(body, p, stop, &d)) {
        size_t klen = bson_uint32_to_string(k++, &key, buf, sizeof buf);
        bson_append_document(&arr, key, (int)klen, &d);
        p += d.len;
    }
    bson_append_array_end(seqs, &arr);
    *next = stop;
    return p == stop;
}

/* `b` becomes a document with room for `size` bytes: an insert's
 * sequence of documents is copied once, not grown by doubling. */
static void presize(bson_t *b, size_t size)
{
    bson_destroy(b);
    bson_steal(b, bson_sized_new(size));
}

/* An OP_MSG into one command: its one body (kind 0), with each document
 * sequence (kind 1) appended as an array under its identifier. */
static bool parse_msg(const uint8_t *body, size_t len, bson_t *cmd,
                      bool *more_to_come)
{
    if (len < 5)
        return false;
    uint32_t flags = (uint32_t)le32(body);
    *more_to_come = flags & 2;
    size_t end = len - ((flags & 1) ? 4 : 0);
    size_t at = 4;
    bool have_body = false, ok = true;
    bson_t seqs = BSON_INITIALIZER, first, b;
    while (ok && at < end) {
        uint8_t kind = body[at++];
        if (kind == 0 && !have_body && document_at(body, at, end, &b)) {
            first = b;
            have_body = true;
            at += b.len;
        } else if (kind == 1) {
            if (seqs.len == 5) /* the array keys: a few bytes a document */
                presize(&seqs, len + len / 8);
            ok = read_sequence(body, at, end, &seqs, &at);
        } else {
            ok = false; /* another kind, a second body or a bad one */
        }
    }
    if (ok && have_body && seqs.len == 5) {
        bson_destroy(cmd); /* a view of the body, not a copy */
        bson_init_static(cmd, bson_get_data(&first), first.len);
    } else if (ok && have_body) {
        presize(cmd, first.len + seqs.len);
        bson_concat(cmd, &first);
        bson_concat(cmd, &seqs);
    }
    bson_destroy(&seqs);
    return ok && have_body && at == end;
}

/* An OP_QUERY on "db.$cmd" into a command with $db. */
static bool parse_query(const uint8_t *body, size_t len, bson_t *cmd)
{
    if (len < 4)
        return false;
    const char *ns = (const char *)body + 4;
    size_t nslen = strnlen(ns, len - 4);
    size_t at = 4 + nslen + 1 + 8;
    if (at + 5 > len)
        return false;
    bson_t q, inner;
    if (!document_at(body, at, len, &q))
        return false;
    bson_iter_t it;
    uint32_t qlen;
    const uint8_t *qdata;
    if (bson_iter_init_find(&it, &q, "$query") &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &qlen, &qdata);
        bson_init_static(&inner, qdata, qlen);
        bson_destroy(cmd);
        bson_copy_to(&inner, cmd);
    } else {
        bson_destroy(cmd);
        bson_copy_to(&q, cmd);
    }
    const char *dot = memchr(ns, '.', nslen);
    char db[128];
    snprintf(db, sizeof db, "%.*s", (int)(dot ? dot - ns : (ptrdiff_t)nslen),
             ns);
    if (!bson_has_field(cmd, "$db"))
        BSON_APPEND_UTF8(cmd, "$db", db);
    return true;
}

bool wire_parse(int32_t opcode, const uint8_t *body, size_t len, bson_t *cmd,
                bool *more_to_come)
{
    *more_to_come = false;
    return opcode == OP_MSG     ? parse_msg(body, len, cmd, more_to_come)
           : opcode == OP_QUERY ? parse_query(body, len, cmd)
                                : false;
}
