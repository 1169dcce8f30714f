/*
 * A minimal test harness for the C ABI tests: TEST functions made of CHECKs,
 * a runner printing one line per test and a closing "N passed, N failed".
 */
#ifndef PITR_TEST_HARNESS_H
#define PITR_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "pitr.h"

static int harness_failures_in_test;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            harness_failures_in_test++;                                                            \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n    (last error: %s)\n", __FILE__,         \
                    __LINE__, #cond, pitr_last_error());                                           \
        }                                                                                          \
    } while (0)

/* A call returning pitr_status must return `expected`. */
#define CHECK_STATUS(call, expected)                                                               \
    do {                                                                                           \
        pitr_status check_status_got_ = (call);                                                    \
        if (check_status_got_ != (pitr_status)(expected)) {                                        \
            harness_failures_in_test++;                                                            \
            fprintf(stderr, "  %s:%d: %s returned %s, expected %s\n    (last error: %s)\n",       \
                    __FILE__, __LINE__, #call, status_name(check_status_got_),                    \
                    status_name((pitr_status)(expected)), pitr_last_error());                      \
        }                                                                                          \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, PITR_STATUS_OK)

#define CHECK_STR(got, expected)                                                                   \
    do {                                                                                           \
        const char *check_str_got_ = (got);                                                        \
        const char *check_str_exp_ = (expected);                                                   \
        if (check_str_got_ == NULL || strcmp(check_str_got_, check_str_exp_) != 0) {               \
            harness_failures_in_test++;                                                            \
            fprintf(stderr, "  %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got,  \
                    check_str_got_ ? check_str_got_ : "(null)", check_str_exp_);                   \
        }                                                                                          \
    } while (0)

/* The last error message of this thread contains `needle`. */
#define CHECK_ERROR_MENTIONS(needle) CHECK(strstr(pitr_last_error(), (needle)) != NULL)

static const char *status_name(pitr_status s) {
    const char *n = pitr_status_name(s);
    return n ? n : "(not a status)";
}

typedef void (*test_fn)(void);

static int harness_passed;
static int harness_failed;

static void run_test(const char *name, test_fn fn) {
    harness_failures_in_test = 0;
    fn();
    if (harness_failures_in_test == 0) {
        harness_passed++;
        printf("ok   %s\n", name);
    } else {
        harness_failed++;
        printf("FAIL %s (%d failed checks)\n", name, harness_failures_in_test);
    }
}

#define RUN(fn) run_test(#fn, fn)

static int harness_finish(void) {
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

#endif /* PITR_TEST_HARNESS_H */
