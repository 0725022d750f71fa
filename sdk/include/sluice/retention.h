/* sluice/retention.h: retention plugins, which decide what the hub's daily
 * maintenance job deletes.
 *
 * `plan` is given a topic, its publication events and the job time, and
 * answers with cutoffs and the publication events to delete, each with the
 * rule that chose it (host->plan_cutoff, host->plan_delete). It must have
 * no side effects and give the same plan for the same input: the core may
 * call it for a dry run, and carries out the plan itself.
 *
 * ABI 1.2, paging: a plugin that declares SLUICE_RETENTION_PAGED is given
 * a topic in pages of publication events (oldest first, at most some
 * thousands each), one `plan` call per page on the same instance, and
 * carries out each page's plan before the next page is read: its memory
 * and the core's stay bounded however long the topic. A page's plan may
 * delete only that page's events; the cutoffs are the topic's, the same on
 * every page. Facts of the whole topic a rule needs beside the page are in
 * the input (topic_publication_count, topic_records, newest_final). A
 * plugin without the capability (and every plugin of ABI 1.0 and 1.1) is
 * given the whole topic in one call, in memory at once. */
#ifndef SLUICE_RETENTION_H
#define SLUICE_RETENTION_H

#include "plugin.h"

/* capabilities */
#define SLUICE_RETENTION_PAGED                                                \
    0x1u /* ABI 1.2: plan is called once per page of a topic (see above) */

typedef enum sluice_consumption {
    SLUICE_CONSUMPTION_PROCESSING = 1,
    SLUICE_CONSUMPTION_FINAL = 2, /* owed to a subscription, and every one
                                     it is owed to completed or discarded */
    SLUICE_CONSUMPTION_DELAYED = 3,
    SLUICE_CONSUMPTION_ERROR = 4
} sluice_consumption;

typedef struct sluice_publication {
    int64_t id;
    int64_t published_at_ms; /* UTC, ms since 1970 */
    uint64_t records;
    sluice_consumption consumption;
    /* ABI 1.2: when the consumption became final (UTC, ms since 1970):
     * the latest finish of the subscription events it was owed; 0 when it
     * is not final. Read it only when input->publication_size covers it. */
    int64_t final_at_ms;
} sluice_publication;

typedef struct sluice_retention_input {
    uint32_t size; /* sizeof(sluice_retention_input) as the core built it */
    const char *topic;
    int64_t consumed_retention_days;
    int64_t unconsumed_retention_days;
    int64_t job_time_ms; /* UTC, ms since 1970 */
    /* oldest first; element i is at (const char *)publications + i *
     * publication_size */
    const sluice_publication *publications;
    size_t publication_count;
    size_t publication_size;

    /* ABI 1.2: read only when `size` covers them. */
    /* The page: 0 for the first; last_page is nonzero on the topic's last
     * page. Without SLUICE_RETENTION_PAGED the one page is the whole topic
     * (page 0, last_page 1). Every topic gets at least one call, an empty
     * topic one empty page. */
    uint64_t page;
    int last_page;
    /* The whole topic as of job_time_ms, whatever the page: its
     * publication events and their records. */
    uint64_t topic_publication_count;
    uint64_t topic_records;
    /* The topic's newest publication event (greatest published_at_ms,
     * then id) that was published before D and final before D, D being
     * 00:00 UTC of job_time_ms's date (final_at_ms < D); NULL when there is
     * none. It may be on another page. Its size is publication_size. */
    const sluice_publication *newest_final;
} sluice_retention_input;

typedef struct sluice_retention_info {
    SLUICE_PLUGIN_HEAD;

    /* Required. */
    sluice_status (*plan)(void *instance, const sluice_retention_input *input,
                          sluice_retention_plan *plan, sluice_error *err);

    /* ABI 1.2: the entries of `options`, its terminator included
     * (SLUICE_OPTION_TABLE sets it); 0: not said, the core reads up to
     * the terminator. */
    size_t option_count;
} sluice_retention_info;

#endif
