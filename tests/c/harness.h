/*
 * A minimal test harness for the C ABI tests: TEST functions made of CHECKs,
 * a runner printing one line per test and a closing "N passed, N failed".
 */
#ifndef PITR_TEST_HARNESS_H
#define PITR_TEST_HARNESS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pitr.h"

/* Defined in test_pitr.c; the suites in the other tests/c files share them. */
extern int harness_failures_in_test;
extern int harness_passed;
extern int harness_failed;

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

static inline const char *status_name(pitr_status s) {
    const char *n = pitr_status_name(s);
    return n ? n : "(not a status)";
}

typedef void (*test_fn)(void);

static inline void run_test(const char *name, test_fn fn) {
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

static inline int harness_finish(void) {
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

/* A string JSON (or any text) contains. */
#define CHECK_CONTAINS(haystack, needle)                                                           \
    do {                                                                                           \
        const char *check_cont_h_ = (haystack);                                                    \
        if (check_cont_h_ == NULL || strstr(check_cont_h_, (needle)) == NULL) {                    \
            harness_failures_in_test++;                                                            \
            fprintf(stderr, "  %s:%d: %s does not contain \"%s\": %s\n", __FILE__, __LINE__,      \
                    #haystack, (needle), check_cont_h_ ? check_cont_h_ : "(null)");                \
        }                                                                                          \
    } while (0)

/* The value of an environment variable scripts/test-c.sh sets (real server
 * data); a missing one fails the test instead of skipping it. */
static inline const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        harness_failures_in_test++;
        fprintf(stderr, "  %s is not set: run the C tests with scripts/test-c.sh\n", name);
        return NULL;
    }
    return v;
}

/* The whole content of a file (malloc'd, NUL-terminated), or NULL. */
static inline char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len <= 1) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* Writes `text` to `path`; true on success. */
static inline int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* What a pitr_progress_fn was called with. The tests pass a progress_log as
 * user_data to progress_record (test_pitr.c), which checks each call as it
 * comes: done = 1, 2, 3..., one total, done <= total, on the thread and
 * during the pitr call it was given to; it asks to cancel when done reaches
 * cancel_at (0: never). */
#define PROGRESS_LOG_MAGIC 0x70726f67u
typedef struct {
    unsigned magic;            /* PROGRESS_LOG_MAGIC (progress_log_start) */
    int in_call;               /* set by the test around the pitr call */
    pthread_t thread;          /* the thread that called progress_log_start */
    uint64_t calls;            /* how many calls */
    uint64_t first_total;      /* total of the first call */
    uint64_t last_done;        /* done of the last call */
    uint64_t out_of_step;      /* calls whose done was not calls + 1, whose total changed, or done > total */
    uint64_t outside_call;     /* calls while in_call was 0 */
    uint64_t other_thread;     /* calls on another thread */
    uint64_t cancel_at;        /* return non-zero (cancel) at this done; 0: never */
} progress_log;

/* Calls of progress_record whose user_data was not a started progress_log. */
extern unsigned long progress_foreign_user_data;
void progress_log_start(progress_log *log);
int progress_record(uint64_t done, uint64_t total, void *user_data);

/* A progress_log of a scan that counted 1..N in step, with one total >= N, on
 * the calling thread and during the call only. */
#define CHECK_PROGRESS_IN_STEP(log)                                                                \
    do {                                                                                           \
        CHECK((log).calls >= 1);                                                                   \
        CHECK((log).out_of_step == 0);                                                             \
        CHECK((log).last_done == (log).calls);                                                     \
        CHECK((log).first_total >= (log).last_done);                                               \
        CHECK((log).outside_call == 0);                                                            \
        CHECK((log).other_thread == 0);                                                            \
    } while (0)

/* The suites of the other files (each a list of RUN()s). */
void run_history_tests(void);
void run_label_tests(void);
void run_conf_tests(void);
void run_target_tests(void);
void run_live_tests(void);
void run_control_tests(void);
void run_wal_tests(void);
void run_archive_tests(void);
void run_backup_tests(void);
void run_plan_tests(void);
void run_find_tests(void);

#endif /* PITR_TEST_HARNESS_H */
