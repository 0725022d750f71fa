/* json.c: JSON strings (see json.h). */
#include "json.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

#include "redact.h"

void json_string_n(struct buf *b, const char *s, size_t len)
{
    buf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20) {
                buf_printf(b, "\\u%04x", c);
            } else if (c < 0x80) {
                buf_append(b, &s[i], 1);
            } else {
                /* bytes that are not UTF-8 become U+FFFD: the output
                 * stays JSON */
                size_t n = utf8_sequence(s + i, len - i);
                if (n)
                    buf_append(b, &s[i], n);
                else
                    buf_puts(b, "\xef\xbf\xbd");
                i += n ? n - 1 : 0;
            }
        }
    }
    buf_puts(b, "\"");
}

void json_string(struct buf *b, const char *s)
{
    if (!s) {
        buf_puts(b, "null");
        return;
    }
    struct buf shown = {0};
    redact(s, &shown);
    json_string_n(b, shown.data ? shown.data : "", shown.len);
    buf_free(&shown);
}
