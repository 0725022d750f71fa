/* url.c: the server's URL, taken apart once with libcurl's URL API: where
 * requests go (the URL's own query parameters kept), the credentials it
 * carries, and the form messages show, which has none.
 *
 * The URL as written never leaves this file: it may hold a password. */
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

static char *part(CURLU *u, CURLUPart which, unsigned flags)
{
    char *p = NULL;
    return curl_url_get(u, which, &p, flags) == CURLUE_OK ? p : NULL;
}

/* libcurl's string as one of ours (freed with free()). */
static bool own(char *curl_string, char **out)
{
    *out = NULL;
    if (!curl_string)
        return true;
    *out = strdup(curl_string);
    curl_free(curl_string);
    return *out != NULL;
}

/* Only http and https, with a host. */
static sluice_status check(CURLU *u, const char *text, sluice_error *err)
{
    if (curl_url_set(u, CURLUPART_URL, text, 0) != CURLUE_OK)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: url: not a valid URL");
    char *scheme = part(u, CURLUPART_SCHEME, 0);
    char *host = part(u, CURLUPART_HOST, 0);
    sluice_status st = SLUICE_OK;
    if (!scheme || !host)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: url: not a valid URL");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: url: scheme '%s' is not http or "
                         "https",
                         scheme);
    curl_free(scheme);
    curl_free(host);
    return st;
}

/* Everything but what it shows: userinfo, query and fragment gone, no
 * trailing '/'. */
static bool shown_form(CURLU *u, char **out)
{
    *out = NULL;
    if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        !own(part(u, CURLUPART_URL, 0), out) || !*out)
        return false;
    size_t n = strlen(*out);
    while (n > 0 && (*out)[n - 1] == '/')
        (*out)[--n] = '\0';
    return true;
}

sluice_status ch_url_parse(const char *text, struct ch_url *out,
                           sluice_error *err)
{
    memset(out, 0, sizeof *out);
    CURLU *u = curl_url();
    if (!u)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    sluice_status st = check(u, text, err);
    char *port = NULL;
    if (st == SLUICE_OK &&
        (!own(part(u, CURLUPART_HOST, 0), &out->host) ||
         !own(part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT), &port) ||
         !own(part(u, CURLUPART_USER, CURLU_URLDECODE), &out->user) ||
         !own(part(u, CURLUPART_PASSWORD, CURLU_URLDECODE), &out->password) ||
         !own(part(u, CURLUPART_QUERY, 0), &out->query) ||
         !shown_form(u, &out->shown)))
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    out->port = port ? atoi(port) : 0;
    free(port);
    curl_url_cleanup(u);
    if (st != SLUICE_OK)
        ch_url_free(out);
    return st;
}

void ch_url_free(struct ch_url *u)
{
    free(u->shown);
    free(u->host);
    free(u->user);
    free(u->password);
    free(u->query);
    memset(u, 0, sizeof *u);
}
