/* kit.h: the conformance kit (`sluice plugin test`): the plugin checks, and
 * what they share: the kit file (--kit), the kit's own settings per plugin,
 * plugin instances, and calling plugin callbacks as the core does.
 *
 * The kit drives plugins only through the core's own loader, host table,
 * batches, value lists and option engine; it never keeps a plugin
 * instance open past its check, and it never writes anywhere but through
 * the plugin under test and the commands the file gives it. */
#ifndef SLUICE_CONFORMANCE_KIT_H
#define SLUICE_CONFORMANCE_KIT_H

#include <sluice/sluice.h>
#include <stdbool.h>
#include <stdint.h>

#include "../options/ini_doc.h"
#include "../plugin/calls.h"
#include "../plugin/plugin.h"
#include "../util/buf.h"
#include "../util/error.h"
#include "report.h"

/* The kit's settings for one plugin: section [conformance NAME]. */
struct kit_settings {
    sluice_string_list tables; /* sources: the tables to read */
    int64_t batch_records;     /* records per batch the kit asks for */
    int64_t max_resumes;       /* resumes per partition / change stream */
    int64_t cdc_time_ms;       /* how long to poll for changes */
    int64_t poll_timeout_ms;   /* the timeout of each cdc_poll */
    const char *changes;       /* a command that makes changes */
    int64_t expect_changes;    /* fewer changes than this fail */
    const char *table;         /* sinks: the destination to write */
    const char *verify;        /* sinks: prints the visible rows */
    int64_t consumed_days;     /* retention: the topic's properties */
    int64_t unconsumed_days;
};

/* The kit file (--kit). */
struct kit_file {
    const char *path;
    struct ini_doc doc;
};

/* Reads the file and checks that every section is [source NAME],
 * [sink NAME], [retention NAME] or [conformance NAME]. Problems go to
 * `diags`; -1 when it cannot be read. Free with kit_file_free. */
int kit_file_load(const char *path, struct kit_file *f, struct diags *diags,
                  struct error *err);
void kit_file_free(struct kit_file *f);
/* Reports sections that name no plugin of `reg`. */
void kit_file_check_names(const struct kit_file *f, const struct registry *reg,
                          struct diags *diags);

/* What the live checks of one plugin need: the plugin, its filled config
 * struct and the kit's settings. `ready` is false when the checks must
 * be skipped; `why` then says why. */
struct live {
    const struct plugin *plugin;
    char subject[96]; /* "source memory_source" */
    struct report *report;
    bool ready;
    char why[256];
    void *config; /* plugin->config_size bytes, owned */
    struct kit_settings settings;
};

/* Fills `l` for plugin `p` from the file (NULL: no --kit). Option
 * errors go to `diags`. Free with live_free. */
void live_prepare(struct live *l, const struct plugin *p,
                  const struct kit_file *f, struct report *r,
                  struct diags *diags);
void live_free(struct live *l);

/* One plugin instance, opened with the live config; every callback is
 * called through the wrappers of plugin/calls.h, as the core calls them. */
int kit_instance_open(const struct live *l, struct plugin_instance *in,
                      struct error *err);

/* The kit's retry policy, the core's in small: a callback that answers
 * RETRY is called again after a pause, a few times. True (after the
 * pause) when attempt number `attempt` answered `st` and there is
 * another:
 *     for (int try = 0;; try++)
 *         if (!kit_again(st = source_cdc_poll(...), try))
 *             break; */
#define KIT_RETRIES 5
bool kit_again(sluice_status st, int attempt);

/* Runs `work(arg)` in a child process (isolate.c), whose report lines are
 * the checks of `checks` (NULL-terminated, at most 64, in order). When the
 * process ends before the work does (a plugin crashed, aborted or called
 * exit()), the check it was in fails, naming the callback and the signal
 * or exit status, and the checks without a line are skipped. True when
 * the work came to its end and returned true. */
bool kit_isolated(struct report *r, const char *subject,
                  const char *const *checks, bool (*work)(void *), void *arg);
/* The plugin callback about to be called (NULL: none), in a child: the
 * wrappers' observer (plugin_calls_observe). */
void kit_calling(const char *callback);

/* snapshot_begin, which the source's parts call: exactly one position,
 * into `out` (instance.c). */
int source_begin(struct plugin_instance *in, struct buf *out,
                 struct error *err);

/* "returned FATAL: message" for a failed call, with the plugin's own
 * words; "returned DONE, which it may not return (...)" for a status the
 * callback may not return. */
const char *status_text(sluice_status st, const struct call_error *e,
                        char *out, size_t size);

/* Runs a shell command; its standard output goes to `out` when not NULL
 * (else to the kit's standard error). -1 with `err` when it cannot run or
 * exits other than 0. */
int kit_run_command(const char *command, struct buf *out, struct error *err);

/* The checks, by kind. Each reports every one of its checks: PASS, FAIL,
 * or SKIP (when !l->ready, with l->why). */
void static_checks_module(struct report *r, const struct module *m,
                          size_t plugin_count);
void static_checks_refused(struct report *r, const char *path,
                           const char *reason);
void static_checks_plugin(struct report *r, const struct plugin *p,
                          const char *subject);
void source_checks(struct live *l);
/* The source's parts (source.c calls them with the tables to read). */
void snapshot_checks(struct live *l, const char *const *tables, size_t n);
void cdc_checks(struct live *l, const char *const *tables, size_t n);
void sink_checks(struct live *l);
void retention_checks(struct live *l);

#endif
