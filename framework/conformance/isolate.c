/* isolate.c: parts of the kit in child processes (see kit.h). A plugin
 * under test may crash, abort or call exit(); in a child, that ends the
 * child only: the parent fails the check it was in, naming the callback
 * and how the process ended, and goes on with the next part. The child
 * leaves its marks in the report, which lives in shared memory; the
 * parent never calls the plugin. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"

/* In a child: the report it marks. */
static struct report *child_report;

void kit_calling(const char *callback)
{
    if (child_report)
        snprintf(child_report->callback, sizeof child_report->callback, "%s",
                 callback ? callback : "");
}

static bool reported(const struct report *r, size_t i)
{
    return i < 64 && (r->reported >> i & 1);
}

/* The check the child ended in: the one marked running, else the first
 * of its group without a line. */
static const char *ended_in(const struct report *r, const char *const *checks)
{
    for (size_t i = 0; r->running[0] && checks[i]; i++)
        if (!strcmp(checks[i], r->running) && !reported(r, i))
            return checks[i];
    for (size_t i = 0; checks[i]; i++)
        if (!reported(r, i))
            return checks[i];
    return NULL;
}

/* "killed by signal 11 (Segmentation fault)" / "exit status 3". */
static void describe_end(int status, char *out, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "exit status %d (exit() called)",
                 WEXITSTATUS(status));
}

static void report_end(struct report *r, const char *subject,
                       const char *const *checks, int status)
{
    char how[128], where[96];
    describe_end(status, how, sizeof how);
    if (r->callback[0])
        snprintf(where, sizeof where, "in callback '%s'", r->callback);
    else
        snprintf(where, sizeof where, "outside any plugin callback");
    const char *check = ended_in(r, checks);
    if (!check) { /* every line was out: the end came after them */
        report_line(r, CHECK_FAIL, subject, checks[0],
                    "the process ended after its checks, %s: %s", where, how);
        return;
    }
    report_line(r, CHECK_FAIL, subject, check, "the process ended %s: %s",
                where, how);
    for (size_t i = 0; checks[i]; i++)
        if (!reported(r, i))
            report_line(r, CHECK_SKIP, subject, checks[i],
                        "no result: the process ended in %s", check);
}

bool kit_isolated(struct report *r, const char *subject,
                  const char *const *checks, bool (*work)(void *), void *arg)
{
    r->group = checks;
    r->reported = 0;
    r->running[0] = r->callback[0] = '\0';
    r->finished = r->ok = false;
    fflush(NULL); /* nothing buffered twice */
    pid_t pid = fork();
    if (pid == 0) {
        child_report = r;
        plugin_calls_observe(kit_calling);
        r->ok = work(arg);
        fflush(NULL);
        r->finished = true;
        _exit(0);
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0) {
        char why[160];
        snprintf(why, sizeof why, "no process for the checks: %s",
                 strerror(errno));
        report_line(r, CHECK_FAIL, subject, checks[0], "%s", why);
        for (size_t i = 1; checks[i]; i++)
            report_line(r, CHECK_SKIP, subject, checks[i], "%s", why);
    } else if (!r->finished) {
        report_end(r, subject, checks, status);
    }
    r->group = NULL;
    return pid > 0 && r->finished && r->ok;
}
