/* figures.c: the text forms of a pipe's figures (see figures.h). Names
 * and notes are shown as util/redact.h's lines: one line each. */
#include "figures.h"

#include <stdio.h>

#include "../util/redact.h"
#include "../util/units.h"

void figure_lag(int64_t lag_ms, char *out, size_t size)
{
    if (lag_ms < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.1fs", (double)lag_ms / 1000.0);
}

void figure_eta(int64_t eta_s, char *out, size_t size)
{
    if (eta_s < 0)
        snprintf(out, size, "-");
    else
        format_duration(eta_s * 1000, out, size);
}

void figure_percent(int64_t permille, char *out, size_t size)
{
    if (permille < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%lld.%lld%%", (long long)(permille / 10),
                 (long long)(permille % 10));
}

void figure_bytes(int64_t bytes, bool raw, char *out, size_t size)
{
    if (raw)
        snprintf(out, size, "%lld", (long long)bytes);
    else
        format_bytes(bytes, out, size);
}

#define COLUMNS "%s%-24s %-9s %12s %12s %6s %9s %9s %12s %8s\n"

void figures_header(struct buf *b, const char *indent)
{
    buf_printf(b, COLUMNS, indent, "TABLE", "STATUS", "ROWS", "OF", "DONE",
               "ROWS/S", "ETA", "BYTES", "LAG");
}

void figures_line(struct buf *b, const char *indent, const struct pipe_row *p,
                  const struct pipe_table *t, bool raw_bytes)
{
    struct table_progress pr;
    pipe_table_progress(p, t, &pr);
    char rows[24], of[24], done[48], rate[24], eta[32], bytes[24], lag[32];
    snprintf(rows, sizeof rows, "%lld", (long long)pr.rows);
    if (t->rows_estimated < 0)
        snprintf(of, sizeof of, "-");
    else
        snprintf(of, sizeof of, "%lld", (long long)t->rows_estimated);
    figure_percent(pr.permille, done, sizeof done);
    snprintf(rate, sizeof rate, "%lld", (long long)t->rows_per_s);
    figure_eta(pr.eta_s, eta, sizeof eta);
    figure_bytes(pr.bytes, raw_bytes, bytes, sizeof bytes);
    figure_lag(t->lag_ms, lag, sizeof lag);
    struct buf name = {0}, status = {0}, note = {0};
    redact_line(t->name, &name);
    redact_line(table_status_name(t->status), &status);
    redact_line(t->note, &note);
    buf_printf(b, COLUMNS, indent, name.data ? name.data : "",
               status.data ? status.data : "", rows, of, done, rate, eta,
               bytes, lag);
    if (note.len)
        buf_printf(b, "%s  %s\n", indent, note.data);
    buf_free(&name);
    buf_free(&status);
    buf_free(&note);
}
