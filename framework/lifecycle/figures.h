/* figures.h: the text forms of a pipe's figures, the same in `sluice
 * status` and in the progress of `sluice run`. */
#ifndef SLUICE_LIFECYCLE_FIGURES_H
#define SLUICE_LIFECYCLE_FIGURES_H

#include <stdbool.h>

#include "../util/buf.h"
#include "pipes.h"

/* "1.2s", or "-" when unknown (negative). */
void figure_lag(int64_t lag_ms, char *out, size_t size);
/* "3m20s", or "-" when unknown (negative). */
void figure_eta(int64_t eta_s, char *out, size_t size);
/* "33.3%", or "-" when unknown (negative). */
void figure_percent(int64_t permille, char *out, size_t size);
/* "54.9MiB", or with `raw` (--bytes) "57600000". */
void figure_bytes(int64_t bytes, bool raw, char *out, size_t size);

/* The columns of a table's figures: a header, and one table's line. */
void figures_header(struct buf *b, const char *indent);
void figures_line(struct buf *b, const char *indent, const struct pipe_row *p,
                  const struct pipe_table *t, bool raw_bytes);

#endif
