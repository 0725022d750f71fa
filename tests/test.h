/* test.h: the few assertion macros the C tests use. A failed check prints
 * file, line and what differed, and the test goes on; main returns 1 when
 * any check failed. */
#ifndef SLUICE_TEST_H
#define SLUICE_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)

#define CHECK_STR(actual, expected)                                           \
    do {                                                                      \
        const char *a_ = (actual), *e_ = (expected);                          \
        if (!a_ || strcmp(a_, e_) != 0) {                                     \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, \
                    __LINE__, e_, a_ ? a_ : "(null)");                        \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)

#define CHECK_CONTAINS(actual, needle)                                        \
    do {                                                                      \
        const char *a_ = (actual), *n_ = (needle);                            \
        if (!a_ || !strstr(a_, n_)) {                                         \
            fprintf(stderr,                                                   \
                    "%s:%d: expected to contain \"%s\", got \"%s\"\n",        \
                    __FILE__, __LINE__, n_, a_ ? a_ : "(null)");              \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)

#define CHECK_NOT_CONTAINS(actual, needle)                                    \
    do {                                                                      \
        const char *a_ = (actual), *n_ = (needle);                            \
        if (a_ && strstr(a_, n_)) {                                           \
            fprintf(stderr,                                                   \
                    "%s:%d: expected not to contain \"%s\": \"%s\"\n",        \
                    __FILE__, __LINE__, n_, a_);                              \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)

#define RUN(fn)                                                               \
    do {                                                                      \
        int before_ = test_failures;                                          \
        fn();                                                                 \
        printf("%s %s\n", before_ == test_failures ? "ok  " : "FAIL", #fn);   \
    } while (0)

#define TEST_RESULT() (test_failures ? 1 : 0)

#endif
