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

/* An OP_MSG into one command: the body, with each document sequence
 * appended as an array under its identifier. */
static bool parse_msg(const uint8_t *body, size_t len, bson_t *cmd,
                      bool *more_to_come)
{
    if (len < 5)
        return false;
    uint32_t flags = (uint32_t)le32(body);
    *more_to_come = flags & 2;
    size_t end = len - ((flags & 1) ? 4 : 0);
    size_t at = 4;
    bool have_body = false;
    bson_t seqs = BSON_INITIALIZER;
    while (at < end) {
        uint8_t kind = body[at++];
        if (kind == 0) {
            if (at + 4 > end)
                break;
            int32_t n = le32(body + at);
            bson_t b;
            if (n < 5 || at + (size_t)n > end ||
                !bson_init_static(&b, body + at, (size_t)n))
                break;
            bson_copy_to(&b, cmd);
            have_body = true;
            at += (size_t)n;
        } else if (kind == 1) {
            if (at + 4 > end)
                break;
            int32_t size = le32(body + at);
            size_t stop = at + (size_t)size;
            if (size < 5 || stop > end)
                break;
            const char *id = (const char *)body + at + 4;
            size_t idlen = strnlen(id, stop - at - 4);
            size_t p = at + 4 + idlen + 1;
            bson_t arr;
            char key[16];
            int k = 0;
            bson_append_array_begin(&seqs, id, (int)idlen, &arr);
            while (p + 4 <= stop) {
                int32_t n = le32(body + p);
                bson_t d;
                if (n < 5 || p + (size_t)n > stop ||
                    !bson_init_static(&d, body + p, (size_t)n))
                    break;
                snprintf(key, sizeof key, "%d", k++);
                bson_append_document(&arr, key, -1, &d);
                p += (size_t)n;
            }
            bson_append_array_end(&seqs, &arr);
            at = stop;
        } else {
            break;
        }
    }
    if (have_body)
        bson_concat(cmd, &seqs);
    bson_destroy(&seqs);
    return have_body && at >= end;
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
    int32_t n = le32(body + at);
    bson_t q, inner;
    if (n < 5 || at + (size_t)n > len ||
        !bson_init_static(&q, body + at, (size_t)n))
        return false;
    bson_iter_t it;
    uint32_t qlen;
    const uint8_t *qdata;
    if (bson_iter_init_find(&it, &q, "$query") &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &qlen, &qdata);
        bson_init_static(&inner, qdata, qlen);
        bson_copy_to(&inner, cmd);
    } else {
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
