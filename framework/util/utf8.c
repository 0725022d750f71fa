/* utf8.c: UTF-8 sequences (see utf8.h), after RFC 3629's table. */
#include "utf8.h"

size_t utf8_sequence(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        if (p[0] == 0xe0)
            lo = 0xa0; /* no overlong forms */
        if (p[0] == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        if (p[0] == 0xf0)
            lo = 0x90;
        if (p[0] == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

size_t utf8_whole(const char *s, size_t len)
{
    /* a sequence is at most 4 bytes: look back at most 3 for its start */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if (c < 0x80)
            return len;
        if (c >= 0xc0) /* a start byte: whole, or cut off */
            return utf8_sequence(s + len - back, back) ? len : len - back;
    }
    return len;
}
