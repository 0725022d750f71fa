/* view.h: what /metrics and /health show, read from the store for each
 * request by the HTTP service: the pipes of this process, each with its
 * figures and the publication events that wait for its sink; or why the
 * store could not be read. The pages (prometheus.c, health.c) only format
 * a view: they read nothing themselves. */
#ifndef SLUICE_RUNTIME_VIEW_H
#define SLUICE_RUNTIME_VIEW_H

#include "../lifecycle/pipes.h"

struct pipe_view {
    struct pipe_row row;
    int64_t backlog_events, backlog_records;
};

struct view {
    int64_t now_ms;           /* UTC, when it was read */
    const char *const *names; /* the pipes of this process, borrowed */
    size_t name_count;
    bool store_ok;           /* false: pipes is empty, see store_error */
    char store_error[1024];  /* masked */
    struct pipe_view *pipes; /* those of names that the store has */
    size_t count;
};

/* Reads the view of the pipes `names` from `s`. A failure of the store is
 * not an error of the view: it says so in store_ok and store_error. */
void view_load(struct store *s, const char *const *names, size_t name_count,
               int64_t now_ms, struct view *out);
/* The view when the store could not even be opened. */
void view_unavailable(const char *const *names, size_t name_count,
                      int64_t now_ms, const char *error, struct view *out);
void view_free(struct view *v);

#endif
