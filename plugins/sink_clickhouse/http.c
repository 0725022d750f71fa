/* http.c: requests to the ClickHouse HTTP interface, set up the same way
 * whether run at once or streamed (stream.c), and their outcome
 * classified as the core needs it: retry
 * what may pass (no connection, a timeout, overload, a proxy's 5xx),
 * give up on what will not (the server's refusals), always with the
 * server's own words. A request still waiting when the core says to stop
 * (the host's should_stop, asked from libcurl's progress callback about
 * once a second) is abandoned: retried after the restart. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

#define MESSAGE_MAX 400

const sluice_host_api *ch_host;

bool ch_buf_reserve(struct ch_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool ch_buf_append(struct ch_buf *b, const void *data, size_t len)
{
    if (!ch_buf_reserve(b, len))
        return false;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

bool ch_buf_printf(struct ch_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        return false;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = ch_buf_append(b, tmp, (size_t)n);
    free(tmp);
    return ok;
}

void ch_buf_free(struct ch_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ClickHouse error codes that may pass: overload, timeouts, lost
 * connections, memory and space pressure, replicas away. */
static const int transient_codes[] = {
    3,   /* UNEXPECTED_END_OF_FILE */
    159, /* TIMEOUT_EXCEEDED */
    173, /* CANNOT_ALLOCATE_MEMORY */
    202, /* TOO_MANY_SIMULTANEOUS_QUERIES */
    203, /* NO_FREE_CONNECTION */
    209, /* SOCKET_TIMEOUT */
    210, /* NETWORK_ERROR */
    236, /* ABORTED */
    241, /* MEMORY_LIMIT_EXCEEDED */
    242, /* TABLE_IS_READ_ONLY */
    243, /* NOT_ENOUGH_SPACE */
    252, /* TOO_MANY_PARTS */
    279, /* ALL_CONNECTION_TRIES_FAILED */
    285, /* TOO_FEW_LIVE_REPLICAS */
    319, /* UNKNOWN_STATUS_OF_INSERT */
    394, /* QUERY_WAS_CANCELLED */
    425, /* SYSTEM_ERROR */
    439, /* CANNOT_SCHEDULE_TASK */
    473, /* DEADLOCK_AVOIDED */
    999  /* KEEPER_EXCEPTION */
};

/* Codes about the user, the server or the database, never about one
 * table alone. */
static const int server_codes[] = {
    81,  /* UNKNOWN_DATABASE */
    164, /* READONLY */
    192, /* UNKNOWN_USER */
    193, /* WRONG_PASSWORD */
    194, /* REQUIRED_PASSWORD */
    195, /* IP_ADDRESS_NOT_ALLOWED */
    497, /* ACCESS_DENIED */
    516  /* AUTHENTICATION_FAILED */
};

static bool in(const int *codes, size_t count, int code)
{
    for (size_t i = 0; i < count; i++)
        if (codes[i] == code)
            return true;
    return false;
}

/* POCO_EXCEPTION (1000) is what 18.x answers for errors of its own
 * libraries: a network or I/O error may pass, a path refused ("Bad path
 * syntax" for a name the file system cannot take) will not. */
static bool transient_poco(const char *body)
{
    static const char *const passing[] = {"Net Exception", "Timeout",
                                          "Connection",    "I/O error",
                                          "Network",       "No space"};
    for (size_t i = 0; i < sizeof passing / sizeof *passing; i++)
        if (strstr(body, passing[i]))
            return true;
    return false;
}

static bool transient(int code, const char *body)
{
    if (code == 1000)
        return transient_poco(body);
    return in(transient_codes,
              sizeof transient_codes / sizeof *transient_codes, code);
}

bool ch_server_code(int code)
{
    return in(server_codes, sizeof server_codes / sizeof *server_codes, code);
}

int ch_answer_code(const char *body)
{
    const char *p = body ? strstr(body, "Code: ") : NULL;
    return p ? atoi(p + 6) : -1;
}

/* The first line of the server's answer, cut to fit a message. */
static void server_words(const char *body, char *out, size_t size)
{
    size_t n = body ? strcspn(body, "\r\n") : 0;
    if (n >= size)
        n = size - 1;
    memcpy(out, body ? body : "", n);
    out[n] = '\0';
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        out[--n] = '\0';
}

bool ch_should_stop(const struct ch_sink *s)
{
    return SLUICE_HOST_HAS(ch_host, should_stop) &&
           ch_host->should_stop(s->ctx);
}

/* libcurl's progress callback: nonzero ends the transfer with
 * CURLE_ABORTED_BY_CALLBACK. */
static int on_progress(void *user, curl_off_t dl_total, curl_off_t dl_now,
                       curl_off_t ul_total, curl_off_t ul_now)
{
    (void)dl_total, (void)dl_now, (void)ul_total, (void)ul_now;
    return ch_should_stop(user);
}

static bool transient_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED: return false;
    default: return true;
    }
}

/* The start of `query`'s first line, for a message; into the caller's
 * `what` (the sink threads fail at once). */
static const char *what_of(const char *query, char *what, size_t size)
{
    size_t n = strcspn(query, "\n"), cut = n > 60 ? 60 : n;
    while (cut < n && cut > 0 && ((unsigned char)query[cut] & 0xc0) == 0x80)
        cut--; /* not inside a UTF-8 character */
    snprintf(what, size, "%.*s%s", (int)cut, query, cut < n ? "..." : "");
    return what;
}

sluice_status ch_classify(CURLcode rc, long http, const char *body,
                          const char *query, const char *curl_error,
                          sluice_error *err)
{
    char what[80];
    if (rc == CURLE_ABORTED_BY_CALLBACK) /* only on_progress aborts */
        return sluice_fail(err, SLUICE_RETRY,
                           "sink_clickhouse: %s: abandoned, sluice is "
                           "stopping (no answer from the server yet)",
                           what_of(query, what, sizeof what));
    if (rc != CURLE_OK)
        return sluice_fail(err,
                           transient_curl(rc) ? SLUICE_RETRY : SLUICE_FATAL,
                           "sink_clickhouse: %s: %s",
                           what_of(query, what, sizeof what),
                           curl_error[0] ? curl_error
                                         : curl_easy_strerror(rc));
    if (http == 200)
        return SLUICE_OK;
    char words[MESSAGE_MAX];
    server_words(body, words, sizeof words);
    int code = ch_answer_code(body);
    bool retry = code >= 0 ? transient(code, body)
                           : http >= 500 || http == 429 || http == 408;
    return sluice_fail(err, retry ? SLUICE_RETRY : SLUICE_FATAL,
                       "sink_clickhouse: %s: HTTP %ld: %s",
                       what_of(query, what, sizeof what), http,
                       words[0] ? words : "(no answer)");
}

static size_t on_answer(char *data, size_t size, size_t n, void *user)
{
    struct ch_buf *b = user;
    return ch_buf_append(b, data, size * n) ? size * n : 0;
}

static bool encode_into(CURL *curl, struct ch_buf *url, const char *text)
{
    char *enc = curl_easy_escape(curl, text, 0);
    bool ok = enc && ch_buf_append(url, enc, strlen(enc));
    curl_free(enc);
    return ok;
}

sluice_status ch_call_prepare(struct ch_sink *s, CURL *curl, struct ch_call *c,
                              const char *query, const char *settings,
                              bool streamed, sluice_error *err)
{
    memset(c, 0, sizeof *c);
    const char *own = s->url.query && s->url.query[0] ? s->url.query : NULL;
    bool ok = ch_buf_printf(&c->url, "%s/?%s", s->url.shown, own ? own : "");
    if (streamed)
        ok = ok && ch_buf_printf(&c->url, "%squery=", own ? "&" : "") &&
             encode_into(curl, &c->url, query) &&
             (!settings || ch_buf_printf(&c->url, "&%s", settings));
    if (!ok)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    if (streamed && s->cfg->compression == CH_COMPRESSION_GZIP)
        c->headers = curl_slist_append(c->headers, "Content-Encoding: gzip");
    c->headers = curl_slist_append(c->headers,
                                   "Content-Type: application/octet-stream");
    c->headers = curl_slist_append(c->headers, "Expect:");

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, c->url.data);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->curl_error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)s->cfg->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long)s->cfg->request_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERNAME, s->user);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, s->password);
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER,
                     s->cfg->tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST,
                     s->cfg->tls_verify ? 2L : 0L);
    if (s->cfg->tls_ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, s->cfg->tls_ca_file);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c->answer);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    if (!streamed) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, query);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(query));
    }
    return SLUICE_OK;
}

sluice_status ch_call_result(CURL *curl, const struct ch_call *c, CURLcode rc,
                             const char *query, sluice_error *err)
{
    long http = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
    /* a server that refuses a streamed body answers before its end and
     * hangs up: the send then fails, but the answer is what counts */
    if (rc != CURLE_OK && http >= 400)
        rc = CURLE_OK;
    return ch_classify(rc, http, c->answer.data, query, c->curl_error, err);
}

void ch_call_free(struct ch_call *c)
{
    curl_slist_free_all(c->headers);
    ch_buf_free(&c->url);
    ch_buf_free(&c->answer);
    c->headers = NULL;
}

sluice_status ch_request(struct ch_sink *s, const char *query,
                         struct ch_buf *answer, sluice_error *err)
{
    struct ch_call c;
    sluice_status st =
        ch_call_prepare(s, s->curl, &c, query, NULL, false, err);
    s->refusal = -1;
    if (st == SLUICE_OK) {
        CURLcode rc = curl_easy_perform(s->curl);
        st = ch_call_result(s->curl, &c, rc, query, err);
        long http = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &http);
        int code = ch_answer_code(c.answer.data);
        if (http >= 400)
            s->refusal = code >= 0 ? code : 0;
    }
    if (st == SLUICE_OK && answer) {
        ch_buf_free(answer);
        *answer = c.answer;
        memset(&c.answer, 0, sizeof c.answer);
    }
    ch_call_free(&c);
    return st;
}
