/* plan.c: retention plans (see plan.h). */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"

void plan_free(struct sluice_retention_plan *plan)
{
    for (size_t i = 0; i < plan->cutoff_count; i++)
        free(plan->cutoffs[i].rule);
    for (size_t i = 0; i < plan->delete_count; i++)
        free(plan->deletes[i].rule);
    free(plan->cutoffs);
    free(plan->deletes);
    memset(plan, 0, sizeof *plan);
}

sluice_status plan_cutoff(sluice_retention_plan *plan, const char *rule,
                          int64_t cutoff_ms, sluice_error *err)
{
    if (!rule || !rule[0])
        return sluice_fail(err, SLUICE_FATAL, "plan_cutoff: rule is empty");
    XGROW(plan->cutoffs, plan->cutoff_cap, plan->cutoff_count + 1);
    plan->cutoffs[plan->cutoff_count++] =
        (struct plan_cutoff){xstrdup(rule), cutoff_ms};
    return SLUICE_OK;
}

sluice_status plan_delete(sluice_retention_plan *plan, int64_t publication_id,
                          const char *rule, sluice_error *err)
{
    if (!rule || !rule[0])
        return sluice_fail(err, SLUICE_FATAL, "plan_delete: rule is empty");
    XGROW(plan->deletes, plan->delete_cap, plan->delete_count + 1);
    plan->deletes[plan->delete_count++] =
        (struct plan_delete){publication_id, xstrdup(rule)};
    return SLUICE_OK;
}
