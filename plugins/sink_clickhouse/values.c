/* values.c: values as insert bodies encode them: RowBinary's varints,
 * little-endian numbers and length-prefixed strings, and JSON strings
 * (JSONEachRow, _malformed). Below rowbinary.c and project.c, which both
 * write rows. */
#include "clickhouse.h"

bool ch_put_varint(struct ch_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    return ch_buf_append(b, tmp, n);
}

bool ch_put_le(struct ch_buf *b, uint64_t v, size_t bytes)
{
    unsigned char tmp[8];
    for (size_t i = 0; i < bytes; i++)
        tmp[i] = (unsigned char)(v >> (8 * i));
    return ch_buf_append(b, tmp, bytes);
}

bool ch_put_string(struct ch_buf *b, const char *p, size_t len)
{
    return ch_put_varint(b, len) && ch_buf_append(b, p, len);
}

bool ch_put_json_string(struct ch_buf *b, const char *p, size_t len)
{
    if (!ch_buf_reserve(b, len + 2))
        return false;
    bool ok = CH_LIT(b, "\"");
    size_t from = 0; /* the bytes that need no escape go at once */
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        ok = ch_buf_append(b, p + from, i - from) &&
             (c < 0x20
                  ? ch_buf_printf(b, "\\u%04x", c)
                  : ch_buf_append(b, "\\", 1) && ch_buf_append(b, &p[i], 1));
        from = i + 1;
    }
    return ok && ch_buf_append(b, p + from, len - from) && CH_LIT(b, "\"");
}
