/* json.c: JSON strings (see json.h). */
#include "json.h"

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
            if (c < 0x20)
                buf_printf(b, "\\u%04x", c);
            else
                buf_append(b, &s[i], 1);
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
