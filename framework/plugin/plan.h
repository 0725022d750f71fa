/* plan.h: a retention plan (sluice_retention_plan of the SDK), as a
 * retention plugin builds it through the host API: the cutoffs it used and
 * the publication events to delete, each with the rule that chose it. The
 * maintenance job carries plans out; building one has no side effects.
 * Owned by whoever initialized it. */
#ifndef SLUICE_PLUGIN_PLAN_H
#define SLUICE_PLUGIN_PLAN_H

#include <sluice/sluice.h>
#include <stddef.h>
#include <stdint.h>

struct plan_cutoff {
    char *rule;
    int64_t cutoff_ms;
};

struct plan_delete {
    int64_t publication_id;
    char *rule;
};

struct sluice_retention_plan {
    struct plan_cutoff *cutoffs;
    size_t cutoff_count, cutoff_cap;
    struct plan_delete *deletes;
    size_t delete_count, delete_cap;
};

void plan_free(struct sluice_retention_plan *plan);

/* The host API functions. */
sluice_status plan_cutoff(sluice_retention_plan *plan, const char *rule,
                          int64_t cutoff_ms, sluice_error *err);
sluice_status plan_delete(sluice_retention_plan *plan, int64_t publication_id,
                          const char *rule, sluice_error *err);

#endif
