/* roff.c: text for a man page (see roff.h). */
#include "roff.h"

#include <stdbool.h>
#include <string.h>

#include "utf8.h"

/* The code point of the valid UTF-8 sequence of `n` bytes at `s`. */
static unsigned long code_point(const unsigned char *s, size_t n)
{
    static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    unsigned long c = s[0] & lead_mask[n];
    for (size_t i = 1; i < n; i++)
        c = c << 6 | (s[i] & 0x3f);
    return c;
}

void roff_text(const char *text, struct buf *out)
{
    size_t len = strlen(text);
    bool line_start = true;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        size_t n = c < 0x80 ? 1 : utf8_sequence(text + i, len - i);
        if (n == 0) { /* not UTF-8: a replacement character */
            buf_puts(out, "\\[uFFFD]");
            i++;
            line_start = false;
            continue;
        }
        if (n > 1)
            buf_printf(out, "\\[u%04lX]",
                       code_point((const unsigned char *)text + i, n));
        else if (c == '\\')
            buf_puts(out, "\\e");
        else if (c == '-')
            buf_puts(out, "\\-");
        else if ((c == '.' || c == '\'') && line_start)
            buf_printf(out, "\\&%c", c);
        else if (c == '\t')
            buf_puts(out, " ");
        else if (c == '\n' || c >= 0x20)
            buf_append(out, text + i, 1);
        line_start = c == '\n';
        i += n;
    }
}
