/* report.h: the conformance kit's report: one line per check, PASS, FAIL
 * or SKIP with the reason, and the counts that decide the exit status.
 *
 * A line reads "STATUS SUBJECT: CHECK: message", where SUBJECT is "module
 * NAME" or the plugin's kind and name ("source memory_source"), so that a
 * failure always names the plugin and the check. */
#ifndef SLUICE_CONFORMANCE_REPORT_H
#define SLUICE_CONFORMANCE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sluice/status.h> /* SLUICE_PRINTF */

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP };

/* Lives in memory shared with the kit's child processes (isolate.c), so
 * that their counts and marks reach the parent. */
struct report {
    FILE *out;
    size_t passed, failed, skipped;
    /* what a child leaves for its parent */
    const char *const *group; /* the checks it runs, NULL-terminated */
    uint64_t reported;        /* bit i: group[i] has its line */
    char running[64];         /* the check in progress, when marked */
    char callback[64];        /* the plugin callback being called, or "" */
    bool finished;            /* it came to its end */
    bool ok;                  /* what its work returned */
};

/* A report on `out`, in shared memory; free with report_free. */
struct report *report_new(FILE *out);
void report_free(struct report *r);

void report_line(struct report *r, enum check_status status,
                 const char *subject, const char *check, const char *fmt, ...)
    SLUICE_PRINTF(5, 6);

/* Marks `check` as the one in progress: a child that ends in it fails
 * that check (by default, the first of its group without a line). */
void report_running(struct report *r, const char *check);

/* SKIP for each of `checks` (NULL-terminated), all for one reason. */
void report_skip_all(struct report *r, const char *subject,
                     const char *const *checks, const char *reason);

/* "N passed, N failed, N skipped". */
void report_summary(struct report *r);

#endif
