/* workers.c: who a worker is (see workers.h): its name, and whether the
 * worker a name stands for is a process of this host that is gone. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/clock.h"

struct worker {
    char host[256], place[96];
    long pid;
    long long started_ms;
};

/* Where a PID means one process: this boot of the machine (the start of
 * its boot id) and this PID namespace; "" when either is unknown. */
static void this_place(char *out, size_t size)
{
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f && !fgets(boot, sizeof boot, f))
        boot[0] = '\0';
    if (f)
        fclose(f);
    boot[strcspn(boot, "-\n")] = '\0';
    struct stat ns;
    if (boot[0] && stat("/proc/self/ns/pid", &ns) == 0)
        snprintf(out, size, "%s.%lu", boot, (unsigned long)ns.st_ino);
    else
        out[0] = '\0';
}

static bool parse_worker(const char *name, struct worker *w)
{
    w->place[0] = '\0';
    return sscanf(name, "%255[^:]:%ld:%lld:%95s", w->host, &w->pid,
                  &w->started_ms, w->place) >= 3;
}

bool worker_gone_from_here(const char *owner)
{
    struct worker me, them;
    if (!parse_worker(worker_name(), &me) || !parse_worker(owner, &them) ||
        !me.place[0] || strcmp(me.host, them.host) != 0 ||
        strcmp(me.place, them.place) != 0)
        return false;
    if (them.pid == me.pid) /* this PID, another start: an earlier life */
        return them.started_ms != me.started_ms;
    return kill((pid_t)them.pid, 0) < 0 && errno == ESRCH;
}

/* The name, built once for the process: the maintenance loop and every
 * pipe's thread ask for it first at the same time. */
static char the_worker_name[512]; /* host, two numbers, place */

static void name_worker(void)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    char place[96];
    this_place(place, sizeof place);
    snprintf(the_worker_name, sizeof the_worker_name, "%s:%ld:%lld:%s", host,
             (long)getpid(), (long long)clock_now_ms(), place);
}

const char *worker_name(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, name_worker);
    return the_worker_name;
}

void worker_shown(const char *name, char *out, size_t size)
{
    struct worker w;
    if (parse_worker(name, &w))
        snprintf(out, size, "%s pid %ld", w.host, w.pid);
    else
        snprintf(out, size, "%s", name);
}
