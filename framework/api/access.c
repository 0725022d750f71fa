/* access.c: who may use the control API (api.h): the tokens of
 * [service] api_token_file and api_read_token_file, and api_read_open.
 * A token is never logged or shown: errors name the file only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../util/mem.h"
#include "api.h"

bool api_enabled(const struct service_settings *settings)
{
    return settings->api_token_file || settings->api_read_token_file ||
           settings->api_read_open;
}

/* The token on the first line of `path`, without its line end or
 * surrounding blanks. */
static int read_token(const char *option, const char *path, char **out,
                      struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return error_set(err, "[service] %s: cannot read %s: %s", option, path,
                         strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
        fclose(f);
        return error_set(err,
                         "[service] %s: %s can be read by every user of "
                         "the host; make it private (chmod 600 %s)",
                         option, path, path);
    }
    char line[1024];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    char *start = line, *end;
    if (got) {
        start += strspn(start, " \t");
        end = start + strcspn(start, "\r\n");
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
    }
    if (!got || !*start)
        return error_set(err,
                         "[service] %s: %s has no token on its first "
                         "line",
                         option, path);
    if (strlen(start) < 16)
        return error_set(err,
                         "[service] %s: the token in %s is shorter than 16 "
                         "characters; use a long random one (openssl rand "
                         "-hex 32)",
                         option, path);
    *out = xstrdup(start);
    explicit_bzero(line, sizeof line);
    return 0;
}

int api_tokens_load(const struct service_settings *settings,
                    struct api_tokens *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->read_open = settings->api_read_open;
    if (settings->api_token_file &&
        read_token("api_token_file", settings->api_token_file, &out->full,
                   err) < 0)
        return -1;
    if (settings->api_read_token_file &&
        read_token("api_read_token_file", settings->api_read_token_file,
                   &out->read, err) < 0) {
        api_tokens_free(out);
        return -1;
    }
    return 0;
}

void api_tokens_free(struct api_tokens *t)
{
    if (t->full)
        explicit_bzero(t->full, strlen(t->full));
    if (t->read)
        explicit_bzero(t->read, strlen(t->read));
    free(t->full);
    free(t->read);
    t->full = t->read = NULL;
}

/* Whether `given` (len bytes) is `token`, in a time that does not depend
 * on where they differ. */
static bool same_token(const char *token, const char *given, size_t len)
{
    if (!token)
        return false;
    size_t n = strlen(token);
    unsigned char diff = n != len;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(given[i] ^ token[i % (n ? n : 1)]);
    return diff == 0;
}

enum api_access api_access_of(const struct api_tokens *t,
                              const char *authorization)
{
    if (!authorization)
        return t->read_open ? API_ACCESS_READ : API_ACCESS_NONE;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return API_ACCESS_NONE;
    const char *given = authorization + 7;
    given += strspn(given, " ");
    size_t len = strlen(given);
    if (same_token(t->full, given, len))
        return API_ACCESS_FULL;
    if (same_token(t->read, given, len))
        return API_ACCESS_READ;
    return API_ACCESS_NONE; /* a wrong token is refused, open reads or not */
}
