/* report.c: the kit's report lines (see report.h). */
#include "report.h"

#include "../util/buf.h"
#include "../util/redact.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct report *report_new(FILE *out)
{
    struct report *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) {
        fprintf(stderr, "sluice: out of memory (mapping %zu bytes)\n",
                sizeof *r);
        exit(1);
    }
    memset(r, 0, sizeof *r);
    r->out = out;
    return r;
}

void report_free(struct report *r)
{
    munmap(r, sizeof *r);
}

void report_running(struct report *r, const char *check)
{
    snprintf(r->running, sizeof r->running, "%s", check);
}

static void mark_reported(struct report *r, const char *check)
{
    for (size_t i = 0; r->group && r->group[i] && i < 64; i++)
        if (!strcmp(r->group[i], check))
            r->reported |= (uint64_t)1 << i;
}

static const char *const status_names[] = {
    [CHECK_PASS] = "PASS", [CHECK_FAIL] = "FAIL", [CHECK_SKIP] = "SKIP"};

void report_line(struct report *r, enum check_status status,
                 const char *subject, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct buf text = {0}, shown = {0};
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    /* a plugin's messages are in the line: its secrets masked, and no
     * control character, as on every other surface */
    redact_line(text.data ? text.data : "", &shown);
    fprintf(r->out, "%s %s: %s: %s\n", status_names[status], subject, check,
            shown.data ? shown.data : "");
    fflush(r->out); /* in step with the plugins' log lines on stderr */
    buf_free(&text);
    buf_free(&shown);
    mark_reported(r, check);
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
