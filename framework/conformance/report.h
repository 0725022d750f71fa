/* report.h: the conformance kit's report: one line per check, PASS, FAIL
 * or SKIP with the reason, and the counts that decide the exit status.
 *
 * A line reads "STATUS SUBJECT: CHECK: message", where SUBJECT is "module
 * NAME" or the plugin's kind and name ("source memory_source"), so that a
 * failure always names the plugin and the check. */
#ifndef SLUICE_CONFORMANCE_REPORT_H
#define SLUICE_CONFORMANCE_REPORT_H

#include <stddef.h>
#include <stdio.h>

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP };

struct report {
    FILE *out;
    size_t passed, failed, skipped;
};

void report_line(struct report *r, enum check_status status,
                 const char *subject, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* SKIP for each of `checks` (NULL-terminated), all for one reason. */
void report_skip_all(struct report *r, const char *subject,
                     const char *const *checks, const char *reason);

/* "N passed, N failed, N skipped". */
void report_summary(struct report *r);

#endif
