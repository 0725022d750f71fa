/* crash.h: named points where tests kill the process, to prove that what
 * a crash there leaves behind is whole. For tests only: with
 * SLUICE_TEST_CRASH=POINT (or POINT:N, the Nth pass), the process sends
 * itself SIGKILL when it passes POINT; unset, a point costs one getenv.
 * The points are named where they are passed (hub/segments.c, say). */
#ifndef SLUICE_UTIL_CRASH_H
#define SLUICE_UTIL_CRASH_H

void crash_point(const char *name);

#endif
