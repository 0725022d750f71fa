/* view.c: reading what /metrics and /health show (see view.h). */
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"
#include "../util/mem.h"
#include "../util/redact.h"

void view_unavailable(const char *const *names, size_t name_count,
                      int64_t now_ms, const char *error, struct view *out)
{
    memset(out, 0, sizeof *out);
    out->now_ms = now_ms;
    out->names = names;
    out->name_count = name_count;
    char *shown = redact_dup(error);
    snprintf(out->store_error, sizeof out->store_error, "%s", shown);
    free(shown);
}

/* One pipe's row and backlog; *found false when the store has no such
 * pipe (deleted meanwhile). */
static int load_one(struct store *s, const char *name, struct pipe_view *pv,
                    bool *found, struct error *err)
{
    if (pipe_load(s, name, &pv->row, found, err) < 0)
        return -1;
    if (*found && hub_backlog_records(s, name, &pv->backlog_events,
                                      &pv->backlog_records, err) < 0) {
        pipe_row_free(&pv->row);
        *found = false;
        return -1;
    }
    return 0;
}

void view_load(struct store *s, const char *const *names, size_t name_count,
               int64_t now_ms, struct view *out)
{
    struct pipe_view *pipes = xcalloc(name_count + 1, sizeof *pipes);
    size_t n = 0;
    struct error err;
    for (size_t i = 0; i < name_count; i++) {
        bool found;
        if (load_one(s, names[i], &pipes[n], &found, &err) < 0) {
            for (size_t j = 0; j < n; j++)
                pipe_row_free(&pipes[j].row);
            free(pipes);
            view_unavailable(names, name_count, now_ms, err.message, out);
            return;
        }
        if (found)
            n++;
    }
    memset(out, 0, sizeof *out);
    out->now_ms = now_ms;
    out->names = names;
    out->name_count = name_count;
    out->store_ok = true;
    out->pipes = pipes;
    out->count = n;
}

void view_free(struct view *v)
{
    for (size_t i = 0; i < v->count; i++)
        pipe_row_free(&v->pipes[i].row);
    free(v->pipes);
    memset(v, 0, sizeof *v);
}
