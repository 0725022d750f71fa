/* progress.c: the progress of sluice run on a terminal or in the log (see
 * progress.h). */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../lifecycle/figures.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"

#define TERMINAL_EVERY_MS 1000

void progress_init(struct progress *p, const struct config *cfg,
                   const bool *runs, bool raw_bytes)
{
    memset(p, 0, sizeof *p);
    p->raw_bytes = raw_bytes;
    p->mode = cfg->service.progress;
    if (p->mode == PROGRESS_AUTO)
        p->mode = isatty(STDERR_FILENO) ? PROGRESS_TERMINAL : PROGRESS_LOG;
    p->interval_ms = p->mode == PROGRESS_TERMINAL
                         ? TERMINAL_EVERY_MS
                         : cfg->service.progress_interval_ms;
    p->pipes = xcalloc(cfg->pipe_count + 1, sizeof *p->pipes);
    for (size_t i = 0; i < cfg->pipe_count; i++)
        if (runs[i])
            p->pipes[p->count++] = cfg->pipes[i].name;
}

/* Lines no wider than the terminal, so that the block's height is its
 * number of lines. */
static void clip_lines(struct buf *b)
{
    struct winsize ws;
    size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col
                       ? ws.ws_col - 1
                       : 200;
    struct buf out = {0};
    const char *line = b->data;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        buf_append(&out, line, len < width ? len : width);
        buf_puts(&out, "\n");
        line = nl ? nl + 1 : NULL;
    }
    buf_free(b);
    *b = out;
}

static void terminal_block(struct buf *b, const struct pipe_row *row,
                           bool raw_bytes)
{
    char lag[32];
    figure_lag(pipe_lag_ms(row), lag, sizeof lag);
    buf_puts(b, "pipe ");
    redact_line(row->name, b);
    buf_printf(b, ": %s, %lld rows, %lld batches, lag %s, %lld retries%s",
               pipe_state_name(row->state), (long long)pipe_rows(row, true),
               (long long)row->batches, lag, (long long)row->retry_count,
               row->last_error ? ": " : "");
    redact_line(row->last_error, b);
    buf_puts(b, "\n");
    figures_header(b, "  ");
    for (size_t i = 0; i < row->table_count; i++)
        figures_line(b, "  ", row, &row->tables[i], raw_bytes);
}

static void log_lines(const struct pipe_row *row, bool raw_bytes)
{
    for (size_t i = 0; i < row->table_count; i++) {
        const struct pipe_table *t = &row->tables[i];
        struct table_progress pr;
        pipe_table_progress(row, t, &pr);
        char done[48], eta[32], bytes[24], lag[32];
        figure_percent(pr.permille, done, sizeof done);
        figure_eta(pr.eta_s, eta, sizeof eta);
        figure_bytes(pr.bytes, raw_bytes, bytes, sizeof bytes);
        figure_lag(t->lag_ms, lag, sizeof lag);
        struct log_field fields[] = {
            LOG_TEXT("state", pipe_state_name(row->state)),
            LOG_TEXT("status", table_status_name(t->status)),
            LOG_INT("rows", pr.rows),
            LOG_COUNT("rows_estimated", t->rows_estimated),
            LOG_TENTHS("percent", pr.permille),
            LOG_INT("rows_per_s", t->rows_per_s),
            LOG_COUNT("eta_s", pr.eta_s),
            LOG_INT("bytes", pr.bytes),
            LOG_COUNT("lag_ms", t->lag_ms),
            LOG_INT("retries", row->retry_count),
            LOG_END};
        log_pipe(SLUICE_LOG_INFO, row->name, t->name, fields,
                 "progress state=%s table=%s status=%s rows=%lld "
                 "rows_estimated=%lld done=%s rows_per_s=%lld eta=%s "
                 "bytes=%s lag=%s retries=%lld",
                 pipe_state_name(row->state), t->name,
                 table_status_name(t->status), (long long)pr.rows,
                 (long long)t->rows_estimated, done, (long long)t->rows_per_s,
                 eta, bytes, lag, (long long)row->retry_count);
    }
}

void progress_tick(struct progress *p, struct store *s, int64_t now_ms)
{
    if (p->mode == PROGRESS_OFF || now_ms < p->next_ms)
        return;
    p->next_ms = now_ms + p->interval_ms;
    struct buf block = {0};
    for (size_t i = 0; i < p->count; i++) {
        struct pipe_row row;
        bool found;
        struct error err;
        if (pipe_load(s, p->pipes[i], &row, &found, &err) < 0 || !found)
            continue;
        if (p->mode == PROGRESS_TERMINAL)
            terminal_block(&block, &row, p->raw_bytes);
        else
            log_lines(&row, p->raw_bytes);
        pipe_row_free(&row);
    }
    if (p->mode == PROGRESS_TERMINAL) {
        clip_lines(&block);
        log_set_footer(block.data);
    }
    buf_free(&block);
}

void progress_end(struct progress *p)
{
    if (p->mode == PROGRESS_TERMINAL)
        log_set_footer(NULL);
    free(p->pipes);
    memset(p, 0, sizeof *p);
}
