/* report.c: the kit's report lines (see report.h). */
#include "report.h"

#include <stdarg.h>

static const char *const status_names[] = {
    [CHECK_PASS] = "PASS", [CHECK_FAIL] = "FAIL", [CHECK_SKIP] = "SKIP"};

void report_line(struct report *r, enum check_status status,
                 const char *subject, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(r->out, "%s %s: %s: ", status_names[status], subject, check);
    vfprintf(r->out, fmt, ap);
    fputc('\n', r->out);
    fflush(r->out); /* in step with the plugins' log lines on stderr */
    va_end(ap);
    if (status == CHECK_PASS)
        r->passed++;
    else if (status == CHECK_FAIL)
        r->failed++;
    else
        r->skipped++;
}

void report_skip_all(struct report *r, const char *subject,
                     const char *const *checks, const char *reason)
{
    for (size_t i = 0; checks[i]; i++)
        report_line(r, CHECK_SKIP, subject, checks[i], "%s", reason);
}

void report_summary(struct report *r)
{
    fprintf(r->out, "%zu passed, %zu failed, %zu skipped\n", r->passed,
            r->failed, r->skipped);
    fflush(r->out);
}
