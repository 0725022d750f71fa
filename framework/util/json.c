/* json.c: JSON strings and the JSON writer (see json.h). */
#include "json.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
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
            if (c < 0x20 || c == 0x7f) {
                buf_printf(b, "\\u%04x", c);
            } else if (c < 0x80) {
                buf_append(b, &s[i], 1);
            } else {
                /* bytes that are not UTF-8 become U+FFFD: the output
                 * stays JSON; the C1 controls (U+0080 to U+009F), which
                 * some terminals obey, are escaped like the C0 ones */
                size_t n = utf8_sequence(s + i, len - i);
                unsigned char next = n == 2 ? (unsigned char)s[i + 1] : 0;
                if (n == 2 && c == 0xc2 && next < 0xa0)
                    buf_printf(b, "\\u%04x", next);
                else if (n)
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

/* What comes before a value: the comma after the one before it, and its
 * key. */
static void member(struct json *j, const char *key)
{
    if (j->after_value)
        buf_puts(j->out, ",");
    if (key) {
        json_string(j->out, key);
        buf_puts(j->out, ":");
    }
    j->after_value = true;
}

static void open_container(struct json *j, const char *key,
                           const char *bracket)
{
    member(j, key);
    buf_puts(j->out, bracket);
    j->after_value = false;
}

static void close_container(struct json *j, const char *bracket)
{
    buf_puts(j->out, bracket);
    j->after_value = true;
}

void json_open_object(struct json *j, const char *key)
{
    open_container(j, key, "{");
}

void json_close_object(struct json *j)
{
    close_container(j, "}");
}

void json_open_array(struct json *j, const char *key)
{
    open_container(j, key, "[");
}

void json_close_array(struct json *j)
{
    close_container(j, "]");
}

void json_add_string(struct json *j, const char *key, const char *s)
{
    member(j, key);
    json_string(j->out, s);
}

void json_add_data(struct json *j, const char *key, const char *s, size_t len)
{
    member(j, key);
    json_string_n(j->out, s, len);
}

void json_add_raw(struct json *j, const char *key, const char *text,
                  size_t len)
{
    member(j, key);
    if (text)
        buf_append(j->out, text, len);
    else
        buf_puts(j->out, "null");
}

void json_add_int(struct json *j, const char *key, int64_t v)
{
    member(j, key);
    buf_printf(j->out, "%" PRId64, v);
}

void json_add_uint(struct json *j, const char *key, uint64_t v)
{
    member(j, key);
    buf_printf(j->out, "%" PRIu64, v);
}

void json_add_count(struct json *j, const char *key, int64_t v)
{
    if (v < 0)
        json_add_null(j, key);
    else
        json_add_int(j, key, v);
}

void json_add_tenths(struct json *j, const char *key, int64_t tenths)
{
    if (tenths < 0) {
        json_add_null(j, key);
        return;
    }
    member(j, key);
    buf_printf(j->out, "%lld.%lld", (long long)(tenths / 10),
               (long long)(tenths % 10));
}

void json_add_bool(struct json *j, const char *key, bool v)
{
    member(j, key);
    buf_puts(j->out, v ? "true" : "false");
}

void json_add_null(struct json *j, const char *key)
{
    member(j, key);
    buf_puts(j->out, "null");
}

void json_add_time(struct json *j, const char *key, int64_t ms)
{
    char text[40];
    if (ms < 0) {
        json_add_null(j, key);
        return;
    }
    format_utc(ms, text, sizeof text);
    json_add_string(j, key, text);
}
