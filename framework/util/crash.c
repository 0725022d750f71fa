/* crash.c: SLUICE_TEST_CRASH (see crash.h). */
#include "crash.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void crash_point(const char *name)
{
    const char *want = getenv("SLUICE_TEST_CRASH");
    if (!want)
        return;
    size_t len = strlen(name);
    if (strncmp(want, name, len) != 0 || (want[len] && want[len] != ':'))
        return;
    static atomic_long passes;
    long nth = want[len] == ':' ? atol(want + len + 1) : 1;
    if (atomic_fetch_add(&passes, 1) + 1 >= nth)
        kill(getpid(), SIGKILL);
}
