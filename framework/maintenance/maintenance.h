/* maintenance.h: the hub's daily maintenance job (spec/hub.md).
 *
 * For each topic, the topic's retention plugin plans what to delete (no
 * side effects); the job checks the plan and carries it out in one
 * transaction per topic, and records the run as a system event with a
 * report: per topic and rule, the cutoff and how many publication events
 * and records it deleted. A dry run plans and reports, and changes
 * nothing. A plugin that declares SLUICE_RETENTION_PAGED is given a topic
 * in pages of MAINTENANCE_PAGE events, each planned, checked and carried
 * out (in the topic's transaction) before the next is read; another is
 * given the topic whole.
 *
 * Scheduling: the job is due once a day at [hub] maintenance_at (UTC). A
 * slot missed while nothing ran is run at the next chance, as of the slot
 * it missed. A slot is done when a recorded run covers it: one that
 * completed (a failed run is retried at the next tick), as of the slot or
 * later but before the next slot, and not run ahead of its time (as_of
 * at or before the time it ran: a run --as-of a future time did not see
 * what happens until then). Only the process holding the hub's lease runs
 * it, so a store gets one run a day however many workers share it. */
#ifndef SLUICE_MAINTENANCE_MAINTENANCE_H
#define SLUICE_MAINTENANCE_MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../plugin/plugin.h"
#include "../store/store.h"

#define MAINTENANCE_LEASE "hub"

struct rule_report {
    char *rule;
    int64_t cutoff; /* -1: the plugin gave none */
    int64_t events, records;
};

struct topic_report {
    char *topic;
    char *message; /* why the topic failed; "" when it did not */
    struct rule_report *rules;
    size_t rule_count;
};

struct maintenance_report {
    int64_t event; /* the system event; 0 for a dry run */
    int64_t at, as_of;
    bool dry_run;
    char *status; /* completed | failed */
    struct topic_report *topics;
    size_t topic_count;
    int64_t segments, segment_bytes; /* the hub's segment files freed */
};

/* Runs the job as of `as_of`. Plugin options come from [topic
 * NAME.retention] of `cfg` (may be NULL: defaults). */
int maintenance_run(struct store *s, const struct registry *reg,
                    const struct config *cfg, int64_t as_of, bool dry_run,
                    struct maintenance_report *out, struct error *err);

/* Publication events per page for a paged retention plugin
 * (SLUICE_RETENTION_PAGED); another plugin gets a topic whole. */
#define MAINTENANCE_PAGE 10000

/* Sets the page size (0: MAINTENANCE_PAGE), for tests and benchmarks. */
void maintenance_set_page_size(size_t events);

/* A recorded run; *found false when EVENT is not a maintenance run. */
int maintenance_report_load(struct store *s, int64_t event,
                            struct maintenance_report *out, bool *found,
                            struct error *err);
void maintenance_report_free(struct maintenance_report *r);

/* The headline of a topic's report: the rule with the latest cutoff. */
const struct rule_report *topic_report_headline(const struct topic_report *t);

/* The latest daily slot at or before `now` (`at_seconds` after 00:00 UTC)
 * and whether no run covers it yet (see above). */
int maintenance_due(struct store *s, int64_t at_seconds, int64_t now_ms,
                    int64_t *slot_ms, bool *due, struct error *err);

/* What a long-running process calls every so often: takes or renews the
 * hub's lease for `worker`; when it holds it and a slot is due, runs the
 * job as of that slot. *ran says whether it did; a run recorded as failed
 * is also an error, naming the first topic that failed and why. */
int maintenance_tick(struct store *s, const struct registry *reg,
                     const struct config *cfg, const char *worker,
                     int64_t lease_ms, int64_t now_ms, bool *ran,
                     struct error *err);

#endif
