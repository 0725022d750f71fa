/* redact.c: masking passwords in URLs (see redact.h). */
#include "redact.h"

#include <string.h>
#include <strings.h>

static bool secret_param(const char *name, size_t len)
{
    static const char *words[] = {"password", "passwd", "secret", "token",
                                  "key"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t w = strlen(words[i]);
        for (size_t at = 0; at + w <= len; at++)
            if (strncasecmp(name + at, words[i], w) == 0)
                return true;
    }
    return false;
}

void redact_url(const char *url, struct buf *out)
{
    const char *scheme = strstr(url, "://");
    const char *p = url;
    if (scheme) {
        const char *auth = scheme + 3;
        size_t auth_len = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *c = auth; c < auth + auth_len; c++)
            if (*c == '@')
                at = c;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            buf_append(out, url, (size_t)(colon + 1 - url));
            buf_puts(out, REDACT_MASK);
            p = at;
        }
    }
    const char *query = strchr(p, '?');
    if (!query) {
        buf_puts(out, p);
        return;
    }
    buf_append(out, p, (size_t)(query + 1 - p));
    for (const char *q = query + 1; *q;) {
        size_t len = strcspn(q, "&#");
        const char *eq = memchr(q, '=', len);
        if (eq && secret_param(q, (size_t)(eq - q))) {
            buf_append(out, q, (size_t)(eq + 1 - q));
            buf_puts(out, REDACT_MASK);
        } else {
            buf_append(out, q, len);
        }
        q += len;
        if (*q == '#') {
            buf_puts(out, q);
            break;
        }
        if (*q == '&')
            buf_append(out, q++, 1);
    }
}
