/* redact.c: finding secrets in text and masking them (see redact.h).
 *
 * find_secrets() knows the forms; redact() hides what it finds and every
 * remembered value; redact_remember_in() remembers what it finds. The
 * forms are looked for anywhere in the text, not only in a text that is a
 * URL: a message that quotes a URL or a connection string is masked as
 * the URL itself would be. */
#include "redact.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **remembered;
static size_t remembered_count, remembered_cap;

/* ---- the forms ---- */

/* Receives each secret found: bytes [from, to) of the text. */
typedef void (*found_fn)(const char *text, size_t from, size_t to, void *arg);

static bool secret_name(const char *name, size_t len)
{
    static const char *const words[] = {"password", "passwd", "pwd",
                                        "secret",   "token",  "key"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t w = strlen(words[i]);
        for (size_t at = 0; at + w <= len; at++)
            if (strncasecmp(name + at, words[i], w) == 0)
                return true;
    }
    return false;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* `at` is just after "://": the password of the userinfo, if any (the
 * last '@' of the authority ends it). Returns where the authority ends. */
static size_t url_userinfo(const char *t, size_t at, found_fn found, void *arg)
{
    size_t end = at, last_at = SIZE_MAX;
    while (t[end] && !space(t[end]) && !strchr("/?#\"'<>", t[end])) {
        if (t[end] == '@')
            last_at = end;
        end++;
    }
    const char *colon =
        last_at != SIZE_MAX ? memchr(t + at, ':', last_at - at) : NULL;
    if (colon && (size_t)(colon - t) + 1 < last_at)
        found(t, (size_t)(colon - t) + 1, last_at, arg);
    return end;
}

/* KEY:VALUE,KEY:VALUE in [from, to): each VALUE (an item without a colon
 * whole). */
static void property_values(const char *t, size_t from, size_t to,
                            found_fn found, void *arg)
{
    for (size_t item = from; item < to;) {
        size_t end = item;
        while (end < to && t[end] != ',')
            end++;
        const char *colon = memchr(t + item, ':', end - item);
        size_t value = colon ? (size_t)(colon - t) + 1 : item;
        if (value < end)
            found(t, value, end, arg);
        item = end + 1;
    }
}

/* `at` starts a name: NAME=VALUE with a secret name, or MongoDB's
 * authMechanismProperties. In a URL's query (after '?' or '&') a value
 * ends at '&', ';' or '#'; elsewhere (libpq's keyword/value strings) spaces
 * may surround '=', and a value ends at a space unless quoted ('...',
 * with backslash escapes). Returns where scanning goes on. */
static size_t name_value(const char *t, size_t at, found_fn found, void *arg)
{
    static const char props[] = "authMechanismProperties";
    size_t name_end = at;
    while (name_char(t[name_end]))
        name_end++;
    size_t len = name_end - at, v = name_end;
    bool in_query = at > 0 && (t[at - 1] == '?' || t[at - 1] == '&');
    while (!in_query && t[v] == ' ')
        v++;
    if (t[v] != '=')
        return name_end;
    bool properties =
        len == sizeof props - 1 && strncasecmp(t + at, props, len) == 0;
    if (!properties && !secret_name(t + at, len))
        return name_end;
    v++;
    while (!in_query && t[v] == ' ')
        v++;
    if (!in_query && (t[v] == '\'' || t[v] == '"')) {
        size_t end = v + 1;
        while (t[end] && t[end] != t[v])
            end += t[end] == '\\' && t[end + 1] ? 2 : 1;
        if (properties)
            property_values(t, v + 1, end, found, arg);
        else if (end > v + 1)
            found(t, v + 1, end, arg);
        return t[end] ? end + 1 : end;
    }
    size_t end = v;
    while (t[end] && !space(t[end]) && t[end] != '"' &&
           !(in_query && (t[end] == '&' || t[end] == '#' || t[end] == ';')))
        end++;
    if (properties)
        property_values(t, v, end, found, arg);
    else if (end > v)
        found(t, v, end, arg);
    return end;
}

static void find_secrets(const char *t, found_fn found, void *arg)
{
    for (size_t i = 0; t[i];) {
        if (t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/')
            i = url_userinfo(t, i + 3, found, arg);
        else if (name_char(t[i]) && (i == 0 || !name_char(t[i - 1])))
            i = name_value(t, i, found, arg);
        else
            i++;
    }
}

/* ---- masking ---- */

static void hide(const char *text, size_t from, size_t to, void *arg)
{
    (void)text;
    memset((char *)arg + from, 1, to - from);
}

void redact(const char *text, struct buf *out)
{
    if (!text)
        return;
    size_t n = strlen(text);
    char *hidden = xcalloc(n + 1, 1);
    find_secrets(text, hide, hidden);
    pthread_mutex_lock(&lock);
    for (size_t k = 0; k < remembered_count; k++) {
        size_t len = strlen(remembered[k]);
        for (const char *p = text; (p = strstr(p, remembered[k])); p++)
            memset(hidden + (p - text), 1, len);
    }
    pthread_mutex_unlock(&lock);
    buf_reserve(out, n);
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && hidden[run] == hidden[i])
            run++;
        if (hidden[i])
            buf_puts(out, REDACT_MASK);
        else
            buf_append(out, text + i, run - i);
        i = run;
    }
    free(hidden);
}

char *redact_dup(const char *text)
{
    if (!text)
        return NULL;
    struct buf b = {0};
    redact(text, &b);
    buf_puts(&b, ""); /* "" stays a string */
    return buf_take(&b);
}

void redact_in_place(char *message, size_t size)
{
    if (!message || !size)
        return;
    struct buf b = {0};
    redact(message, &b);
    size_t n = b.len < size - 1 ? b.len : size - 1;
    memcpy(message, b.data ? b.data : "", n);
    message[n] = '\0';
    buf_free(&b);
}

void redact_line(const char *text, struct buf *out)
{
    struct buf masked = {0};
    redact(text, &masked);
    for (size_t i = 0; i < masked.len; i++) {
        unsigned char c = (unsigned char)masked.data[i];
        if (c == '\n')
            buf_puts(out, "\\n");
        else if (c == '\r')
            buf_puts(out, "\\r");
        else if (c == '\t')
            buf_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\x%02x", c);
        else if (c == 0xc2 && i + 1 < masked.len &&
                 (unsigned char)masked.data[i + 1] >= 0x80 &&
                 (unsigned char)masked.data[i + 1] < 0xa0)
            buf_printf(out, "\\u%04x", (unsigned char)masked.data[++i]);
        else
            buf_append(out, &masked.data[i], 1);
    }
    buf_free(&masked);
}

/* ---- remembering ---- */

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX decoded (a URL's password as the server receives it). */
static char *percent_decoded(const char *s)
{
    char *out = xstrdup(s), *o = out;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && hex(p[1]) >= 0 && hex(p[2]) >= 0 &&
            (hex(p[1]) || hex(p[2]))) {
            *o++ = (char)(hex(p[1]) * 16 + hex(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static void remember_one(const char *value)
{
    if (strlen(value) < REDACT_MIN_REMEMBERED)
        return;
    pthread_mutex_lock(&lock);
    bool known = false;
    for (size_t k = 0; k < remembered_count && !known; k++)
        known = strcmp(remembered[k], value) == 0;
    if (!known) {
        XGROW(remembered, remembered_cap, remembered_count + 1);
        remembered[remembered_count++] = xstrdup(value);
    }
    pthread_mutex_unlock(&lock);
}

void redact_remember(const char *value)
{
    if (!value)
        return;
    remember_one(value);
    char *decoded = percent_decoded(value);
    remember_one(decoded);
    free(decoded);
}

static void remember_found(const char *text, size_t from, size_t to, void *arg)
{
    (void)arg;
    char *value = xstrndup(text + from, to - from);
    redact_remember(value);
    free(value);
}

void redact_remember_in(const char *text)
{
    if (text)
        find_secrets(text, remember_found, NULL);
}

void redact_forget(void)
{
    pthread_mutex_lock(&lock);
    for (size_t k = 0; k < remembered_count; k++)
        free(remembered[k]);
    free(remembered);
    remembered = NULL;
    remembered_count = remembered_cap = 0;
    pthread_mutex_unlock(&lock);
}
