/* stream.c: inserts kept open across writes.
 *
 * The rows written for a destination table go into the body of one
 * INSERT, which stays open until flush (or max_batch_bytes, or half the
 * request timeout). libcurl's multi interface sends the rows as they are
 * encoded, a chunk at a time, and pauses the transfer until more come, so
 * no batch is ever held whole, and ClickHouse makes one part of the rows
 * written between two flushes, not one per batch: fewer parts, fewer
 * merges. The inserts of several tables run side by side, up to
 * OPEN_INSERTS_MAX: a table past them finishes the insert written to
 * longest ago, so that a pipe of a thousand tables holds neither a
 * thousand requests on the server (ClickHouse refuses queries past
 * max_concurrent_queries) nor their buffers in memory. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "clickhouse.h"

#define CHUNK_BYTES (1u << 20) /* encoded rows handed to libcurl at once */
#define POLL_MS 1000
#define OPEN_INSERTS_MAX 16

struct ch_stream {
    char *table; /* the source table, and whether to its shadow */
    bool shadow;
    char *query;
    struct ch_row_format format;
    CURL *curl;
    struct ch_call call;
    struct ch_buf out; /* body bytes not yet handed to libcurl */
    size_t out_off;
    bool gzip;
    z_stream z;
    struct ch_buf raw; /* one row before compression */
    size_t body_bytes; /* row bytes in this request */
    int64_t opened_ms; /* monotonic */
    bool ending, paused, done;
    CURLcode rc;
};

static sluice_status oom(sluice_error *err)
{
    return sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
}

/* libcurl asks for body bytes: what is encoded, else a pause until more
 * rows come, else (ending) the end of the body. */
static size_t on_read(char *out, size_t size, size_t n, void *user)
{
    struct ch_stream *st = user;
    size_t have = st->out.len - st->out_off;
    if (!have) {
        if (st->ending)
            return 0;
        st->paused = true;
        return CURL_READFUNC_PAUSE;
    }
    if (have > size * n)
        have = size * n;
    memcpy(out, st->out.data + st->out_off, have);
    st->out_off += have;
    return have;
}

static void stream_free(struct ch_sink *s, struct ch_stream *st)
{
    if (st->curl) {
        curl_multi_remove_handle(s->multi, st->curl);
        curl_easy_cleanup(st->curl);
    }
    if (st->gzip)
        deflateEnd(&st->z);
    ch_call_free(&st->call);
    ch_buf_free(&st->out);
    ch_buf_free(&st->raw);
    free(st->query);
    free(st->table);
    free(st);
}

static void detach(struct ch_sink *s, struct ch_stream *st)
{
    for (size_t i = 0; i < s->stream_count; i++)
        if (s->streams[i] == st) {
            s->streams[i] = s->streams[--s->stream_count];
            break;
        }
    stream_free(s, st);
}

/* Marks the transfers libcurl has finished. */
static void collect(struct ch_sink *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            for (size_t i = 0; i < s->stream_count; i++)
                if (s->streams[i]->curl == m->easy_handle) {
                    s->streams[i]->done = true;
                    s->streams[i]->rc = m->data.result;
                }
}

/* Runs the transfers until `st` has handed libcurl all its bytes (when
 * ending: until the server has answered), or has ended early; or, once
 * the core says to stop, gives it up (the progress callback does too,
 * but libcurl may not call it while the transfer waits). */
static void pump(struct ch_sink *s, struct ch_stream *st)
{
    for (;;) {
        if (st->paused && (st->out_off < st->out.len || st->ending)) {
            st->paused = false;
            curl_easy_pause(st->curl, CURLPAUSE_CONT);
        }
        int running;
        CURLMcode mc = curl_multi_perform(s->multi, &running);
        collect(s);
        bool handed = !st->ending && st->out_off == st->out.len;
        if (st->done || handed)
            break;
        if (ch_should_stop(s)) {
            st->done = true;
            st->rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (mc == CURLM_OK)
            mc = curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
        if (mc != CURLM_OK) { /* libcurl itself failed: the insert too */
            st->done = true;
            st->rc = CURLE_OUT_OF_MEMORY;
            break;
        }
    }
    if (st->out_off == st->out.len)
        st->out.len = st->out_off = 0;
}

/* Compresses `len` bytes (or, `finish`, ends the gzip stream) into out. */
static bool deflate_into(struct ch_stream *st, const char *data, size_t len,
                         bool finish)
{
    st->z.next_in = (Bytef *)data;
    st->z.avail_in = (uInt)len;
    for (;;) {
        if (!ch_buf_reserve(&st->out, 65536))
            return false;
        size_t room = st->out.cap - st->out.len - 1;
        st->z.next_out = (Bytef *)st->out.data + st->out.len;
        st->z.avail_out = (uInt)room;
        int zr = deflate(&st->z, finish ? Z_FINISH : Z_NO_FLUSH);
        st->out.len += room - st->z.avail_out;
        if (zr == Z_STREAM_END || (!finish && st->z.avail_in == 0))
            return true;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return false;
    }
}

static sluice_status stream_open(struct ch_sink *s, const char *table,
                                 bool shadow, struct ch_stream **out,
                                 sluice_error *err)
{
    const char *extra = shadow ? CH_SHADOW : NULL;
    struct ch_dest *dest;
    sluice_status rc = ch_dest_of(s, table, extra, &dest, err);
    if (rc != SLUICE_OK)
        return rc;
    if (!s->multi && !(s->multi = curl_multi_init()))
        return oom(err);
    struct ch_stream *st = calloc(1, sizeof *st);
    struct ch_stream **grown =
        realloc(s->streams, (s->stream_count + 1) * sizeof *grown);
    if (grown)
        s->streams = grown;
    struct ch_buf query = {0};
    bool json = s->cfg->format == CH_FORMAT_JSONEACHROW;
    const struct ch_shape *shape = ch_shape_of(s, table);
    bool ok = st && grown && (st->table = strdup(table)) &&
              (st->curl = curl_easy_init()) &&
              CH_LIT(&query, "INSERT INTO ") &&
              ch_table_name(s, table, extra, &query) && CH_LIT(&query, " (") &&
              ch_shape_list(shape, &query) &&
              ch_buf_printf(&query, ") FORMAT %s",
                            json ? "JSONEachRow" : "RowBinary");
    if (!ok) {
        ch_buf_free(&query);
        if (st)
            stream_free(s, st);
        return oom(err);
    }
    st->query = query.data;
    st->shadow = shadow;
    st->format = (struct ch_row_format){json,
                                        dest->ts64,
                                        0,
                                        shape,
                                        ch_shape_column(shape, CH_DOC),
                                        ch_shape_column(shape, CH_FIELD)};
    st->opened_ms = ch_host->monotonic_ms();
    rc = ch_call_prepare(s, st->curl, &st->call, st->query,
                         dest->json
                             ? "input_format_binary_read_json_as_string=1"
                             : NULL,
                         true, err);
    if (rc == SLUICE_OK && s->cfg->compression == CH_COMPRESSION_GZIP) {
        st->gzip = deflateInit2(&st->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                                15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        if (!st->gzip)
            rc = sluice_fail(err, SLUICE_FATAL,
                             "sink_clickhouse: zlib failed to start");
    }
    if (rc == SLUICE_OK) {
        curl_easy_setopt(st->curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(st->curl, CURLOPT_READDATA, st);
        curl_easy_setopt(st->curl, CURLOPT_POSTFIELDSIZE, -1L);
        if (curl_multi_add_handle(s->multi, st->curl) != CURLM_OK)
            rc = oom(err);
    }
    if (rc != SLUICE_OK) {
        stream_free(s, st);
        return rc;
    }
    s->streams[s->stream_count++] = st;
    *out = st;
    return SLUICE_OK;
}

/* Ends the body, waits for the answer, and lets the stream go. */
static sluice_status finish(struct ch_sink *s, struct ch_stream *st,
                            sluice_error *err)
{
    sluice_status rc = SLUICE_OK;
    if (!st->done && st->gzip && !deflate_into(st, NULL, 0, true))
        rc = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: gzip failed");
    if (rc == SLUICE_OK) {
        st->ending = true;
        pump(s, st);
        rc = ch_call_result(st->curl, &st->call, st->rc, st->query, err);
    }
    if (rc == SLUICE_OK)
        ch_host->counter_add(s->ctx, "insert_requests_total", 1);
    detach(s, st);
    return rc;
}

/* The open insert for rows of `table`, opened when there is none. */
static sluice_status stream_of(struct ch_sink *s, const char *table,
                               size_t table_len, struct ch_stream **out,
                               sluice_error *err)
{
    char *name = strndup(table, table_len);
    if (!name)
        return oom(err);
    bool shadow = ch_is_resyncing(s, name, NULL);
    sluice_status rc = SLUICE_OK;
    *out = NULL;
    for (size_t i = 0; i < s->stream_count && !*out; i++) {
        struct ch_stream *st = s->streams[i];
        if (st->shadow == shadow && strcmp(st->table, name) == 0)
            *out = st;
    }
    if (!*out && s->stream_count >= OPEN_INSERTS_MAX) {
        struct ch_stream *oldest = s->streams[0];
        for (size_t i = 1; i < s->stream_count; i++)
            if (s->streams[i]->format.synced_ms < oldest->format.synced_ms)
                oldest = s->streams[i];
        rc = finish(s, oldest, err);
    }
    if (!*out && rc == SLUICE_OK)
        rc = stream_open(s, name, shadow, out, err);
    free(name);
    return rc;
}

/* Record `index` of the batch as one row into the body of *stp; the
 * chunk goes to libcurl when full. A request that is done (full, or
 * refused early) is finished, and *stp is then NULL. */
static sluice_status put_row(struct ch_sink *s, struct ch_stream **stp,
                             const sluice_record *r, size_t index,
                             sluice_error *err)
{
    struct ch_stream *st = *stp;
    size_t before = st->out.len, len = 0;
    const char *typed = NULL;
    if (st->format.typed && !ch_ahead_row(s, index, &typed, &len))
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: the typed columns of a row "
                           "were not read");
    bool ok;
    if (st->gzip) {
        st->raw.len = 0;
        ok = ch_encode_row(&st->raw, &st->format, r, typed, len) &&
             deflate_into(st, st->raw.data, st->raw.len, false);
        st->body_bytes += st->raw.len;
    } else {
        ok = ch_encode_row(&st->out, &st->format, r, typed, len);
        st->body_bytes += st->out.len - before;
    }
    if (!ok)
        return oom(err);
    if (st->out.len - st->out_off >= CHUNK_BYTES)
        pump(s, st);
    /* done early: the server refused the rows before their end */
    if (st->done || st->body_bytes >= (size_t)s->cfg->max_batch_bytes) {
        *stp = NULL;
        return finish(s, st, err);
    }
    return SLUICE_OK;
}

sluice_status ch_stream_batch(struct ch_sink *s, const sluice_batch *batch,
                              sluice_error *err)
{
    size_t n = ch_host->batch_count(batch);
    int64_t now = ch_host->now_ms(), mono = ch_host->monotonic_ms();
    struct ch_stream *st = NULL;
    sluice_status rc = SLUICE_OK;
    /* inserts open for half the request timeout end before it strikes,
     * written to now or not */
    for (size_t i = 0; i < s->stream_count && rc == SLUICE_OK;) {
        st = s->streams[i];
        if (st->opened_ms + s->cfg->request_timeout_ms / 2 < mono)
            rc = finish(s, st, err);
        else
            i++;
    }
    st = NULL;
    if (rc == SLUICE_OK)
        rc = ch_read_ahead(s, batch, err);
    for (size_t i = 0; i < n && rc == SLUICE_OK; i++) {
        sluice_record r = {.size = sizeof r};
        ch_host->batch_get(batch, i, &r);
        if (!st || strlen(st->table) != r.table_len ||
            memcmp(st->table, r.table, r.table_len) != 0)
            rc = stream_of(s, r.table, r.table_len, &st, err);
        if (rc == SLUICE_OK) {
            st->format.synced_ms = now;
            rc = put_row(s, &st, &r, i, err);
        }
    }
    /* everything encoded goes to libcurl, so that a refusal shows now */
    for (size_t i = 0; i < s->stream_count && rc == SLUICE_OK;) {
        st = s->streams[i];
        pump(s, st);
        if (st->done)
            rc = finish(s, st, err);
        else
            i++;
    }
    if (rc != SLUICE_OK)
        ch_streams_abort(s);
    return rc;
}

sluice_status ch_streams_finish(struct ch_sink *s, sluice_error *err)
{
    sluice_status rc = SLUICE_OK;
    char later[256]; /* the first failure is the one told */
    sluice_error ignored = {later, sizeof later};
    while (s->stream_count) {
        sluice_status one = finish(s, s->streams[s->stream_count - 1],
                                   rc == SLUICE_OK ? err : &ignored);
        if (rc == SLUICE_OK)
            rc = one;
    }
    return rc;
}

void ch_streams_abort(struct ch_sink *s)
{
    while (s->stream_count)
        detach(s, s->streams[s->stream_count - 1]);
}
