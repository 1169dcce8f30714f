/*
 * Tests of the pitr C ABI (include/pitr.h): every function, its results and
 * its error paths (NULL pointers, bad input, buffer handling), and the
 * per-thread last error. Built with -Wall -Wextra -Werror and run under
 * valgrind by scripts/test-c.sh; prints "N passed, N failed". The suites of
 * the other files in tests/c (history, labels, configuration, recovery
 * targets, live servers) run from main() too; those that need real server
 * data read it from the PITR_TEST_* variables scripts/test-c.sh sets
 * (tests/c/pg-fixtures.sh).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#ifndef PITR_EXPECTED_VERSION
#error "compile with -DPITR_EXPECTED_VERSION=\"x.y.z\""
#endif

#define MB (1024u * 1024u)

int harness_failures_in_test;
int harness_passed;
int harness_failed;

/* ------------------------------------------------- progress callbacks */

unsigned long progress_foreign_user_data;

void progress_log_start(progress_log *log) {
    memset(log, 0, sizeof *log);
    log->magic = PROGRESS_LOG_MAGIC;
    log->thread = pthread_self();
}

int progress_record(uint64_t done, uint64_t total, void *user_data) {
    progress_log *log = user_data;
    if (log == NULL || log->magic != PROGRESS_LOG_MAGIC) {
        progress_foreign_user_data++;
        return 0;
    }
    if (log->calls == 0) log->first_total = total;
    if (done != log->calls + 1 || total != log->first_total || done > total) log->out_of_step++;
    if (!log->in_call) log->outside_call++;
    if (!pthread_equal(pthread_self(), log->thread)) log->other_thread++;
    log->calls++;
    log->last_done = done;
    return log->cancel_at != 0 && done == log->cancel_at;
}

/* ---------------------------------------------------------------- version */

static void test_version(void) {
    CHECK_STR(pitr_version(), PITR_EXPECTED_VERSION);
    CHECK(pitr_abi_version() == PITR_ABI_VERSION);
}

static void test_status_names(void) {
    CHECK_STR(pitr_status_name(PITR_STATUS_OK), "PITR_STATUS_OK");
    CHECK_STR(pitr_status_name(PITR_STATUS_NULL_ARGUMENT), "PITR_STATUS_NULL_ARGUMENT");
    CHECK_STR(pitr_status_name(PITR_STATUS_INVALID_UTF8), "PITR_STATUS_INVALID_UTF8");
    CHECK_STR(pitr_status_name(PITR_STATUS_INVALID_ARGUMENT), "PITR_STATUS_INVALID_ARGUMENT");
    CHECK_STR(pitr_status_name(PITR_STATUS_BUFFER_TOO_SMALL), "PITR_STATUS_BUFFER_TOO_SMALL");
    CHECK_STR(pitr_status_name(PITR_STATUS_NO_VALUE), "PITR_STATUS_NO_VALUE");
    CHECK_STR(pitr_status_name(PITR_STATUS_OUT_OF_RANGE), "PITR_STATUS_OUT_OF_RANGE");
    CHECK_STR(pitr_status_name(PITR_STATUS_PARSE), "PITR_STATUS_PARSE");
    CHECK_STR(pitr_status_name(PITR_STATUS_IO), "PITR_STATUS_IO");
    CHECK_STR(pitr_status_name(PITR_STATUS_CORRUPT_WAL), "PITR_STATUS_CORRUPT_WAL");
    CHECK_STR(pitr_status_name(PITR_STATUS_UNREACHABLE_TARGET), "PITR_STATUS_UNREACHABLE_TARGET");
    CHECK_STR(pitr_status_name(PITR_STATUS_UNSUPPORTED), "PITR_STATUS_UNSUPPORTED");
    CHECK_STR(pitr_status_name(PITR_STATUS_INVALID), "PITR_STATUS_INVALID");
    CHECK_STR(pitr_status_name(PITR_STATUS_CONNECT), "PITR_STATUS_CONNECT");
    CHECK_STR(pitr_status_name(PITR_STATUS_SERVER), "PITR_STATUS_SERVER");
    CHECK_STR(pitr_status_name(PITR_STATUS_CANCELLED), "PITR_STATUS_CANCELLED");
    CHECK_STR(pitr_status_name(PITR_STATUS_OTHER), "PITR_STATUS_OTHER");
    CHECK_STR(pitr_status_name(PITR_STATUS_PANIC), "PITR_STATUS_PANIC");
    CHECK(pitr_status_name(7) == NULL);
    CHECK(pitr_status_name(UINT32_MAX) == NULL);
}

/* ------------------------------------------------------------ last error */

static void test_last_error_lifecycle(void) {
    pitr_lsn lsn = 0;
    /* A success clears the last error. */
    CHECK_OK(pitr_lsn_parse("0/1", &lsn));
    CHECK_STR(pitr_last_error(), "");
    CHECK(pitr_last_error_status() == PITR_STATUS_OK);
    CHECK(pitr_last_error_file() == NULL);

    CHECK_STATUS(pitr_lsn_parse("0/12345678G", &lsn), PITR_STATUS_PARSE);
    CHECK(pitr_last_error_status() == PITR_STATUS_PARSE);
    const char *msg = pitr_last_error();
    CHECK(strstr(msg, "invalid LSN") != NULL);
    CHECK(strstr(msg, "0/12345678G") != NULL);
    uint64_t pos = 0;
    CHECK(pitr_last_error_position(&pos));
    CHECK(pos == 10);
    CHECK(!pitr_last_error_position(NULL));
    uint64_t line = 99;
    CHECK(!pitr_last_error_line(&line));
    CHECK(line == 99);
    CHECK(!pitr_last_error_line(NULL));
    pitr_lsn at = 7;
    CHECK(!pitr_last_error_lsn(&at));
    CHECK(at == 7);
    CHECK(!pitr_last_error_lsn(NULL));
    CHECK(pitr_last_error_file() == NULL);

    /* Functions that do not return pitr_status leave it alone: msg stays valid. */
    (void)pitr_version();
    (void)pitr_lsn_maxalign(3);
    (void)pitr_wal_file_kind_name(1);
    CHECK(pitr_last_error() == msg);
    CHECK(strstr(msg, "invalid LSN") != NULL);

    /* Copy-out variant. */
    char big[256];
    size_t n = 0;
    CHECK_OK(pitr_last_error_copy(big, sizeof big, &n));
    CHECK_STR(big, msg);
    CHECK(n == strlen(msg));
    char small[8];
    memset(small, 'x', sizeof small);
    n = 0;
    CHECK_STATUS(pitr_last_error_copy(small, sizeof small, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == strlen(msg));
    CHECK(small[0] == '\0');
    CHECK_STATUS(pitr_last_error_copy(NULL, 10, &n), PITR_STATUS_NULL_ARGUMENT);
    CHECK_OK(pitr_last_error_copy(big, sizeof big, NULL));
    /* ...and none of that changed the last error. */
    CHECK(pitr_last_error_status() == PITR_STATUS_PARSE);
    CHECK(pitr_last_error() == msg);

    /* The next success clears it; copying then gives an empty string. */
    CHECK_OK(pitr_lsn_parse("0/2", &lsn));
    CHECK_OK(pitr_last_error_copy(big, sizeof big, &n));
    CHECK_STR(big, "");
    CHECK(n == 0);
    CHECK(!pitr_last_error_position(&pos));
}

struct thread_case {
    const char *input;
    pitr_status expected;
    const char *mention;
    int ok;
};

static void *thread_body(void *arg) {
    struct thread_case *c = arg;
    c->ok = 1;
    for (int i = 0; i < 200; i++) {
        pitr_lsn lsn = 0;
        if (pitr_lsn_parse(c->input, &lsn) != c->expected) c->ok = 0;
        if (pitr_last_error_status() != c->expected) c->ok = 0;
        if (c->mention && strstr(pitr_last_error(), c->mention) == NULL) c->ok = 0;
        if (!c->mention && pitr_last_error()[0] != '\0') c->ok = 0;
    }
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    struct thread_case cases[3] = {
        {"nonsense", PITR_STATUS_PARSE, "nonsense", 0},
        {"1/2", PITR_STATUS_OK, NULL, 0},
        {"\xff/1", PITR_STATUS_INVALID_UTF8, "UTF-8", 0},
    };
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&threads[i], NULL, thread_body, &cases[i]) == 0);
    for (int i = 0; i < 3; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    for (int i = 0; i < 3; i++) CHECK(cases[i].ok);
}

static void test_string_free_null(void) {
    pitr_string_free(NULL); /* a no-op, like free(NULL) */
    CHECK(1);
}

/* ------------------------------------------------------------------- LSN */

static void test_lsn_parse(void) {
    pitr_lsn lsn = 0;
    CHECK_OK(pitr_lsn_parse("0/16B3748", &lsn));
    CHECK(lsn == 0x16B3748);
    CHECK_OK(pitr_lsn_parse("0/016b3748", &lsn));
    CHECK(lsn == 0x16B3748);
    CHECK_OK(pitr_lsn_parse("1A/0", &lsn));
    CHECK(lsn == 0x1A00000000ull);
    CHECK_OK(pitr_lsn_parse("FFFFFFFF/FFFFFFFF", &lsn));
    CHECK(lsn == UINT64_MAX);
    CHECK_OK(pitr_lsn_parse("0/0", &lsn));
    CHECK(lsn == PITR_LSN_INVALID);

    const char *bad[] = {"", "0", "0/", "/0", "G/0", "0/123456789", " 0/1", "0/1 ", "0x0/1", "0/-1", "0//1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lsn = 42;
        CHECK_STATUS(pitr_lsn_parse(bad[i], &lsn), PITR_STATUS_PARSE);
        CHECK(lsn == 42); /* out-parameters are written only on success */
        CHECK_ERROR_MENTIONS("LSN");
    }
    CHECK_STATUS(pitr_lsn_parse(NULL, &lsn), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("text");
    CHECK_STATUS(pitr_lsn_parse("0/1", NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("out");
    CHECK_STATUS(pitr_lsn_parse("0/\xc3\x28", &lsn), PITR_STATUS_INVALID_UTF8);
}

typedef pitr_status (*lsn_formatter)(pitr_lsn, char *, size_t, size_t *);

static void check_formatter(lsn_formatter fmt, pitr_lsn lsn, const char *expected) {
    char buf[PITR_LSN_BUFSIZE];
    size_t n = 0;
    CHECK_OK(fmt(lsn, buf, sizeof buf, &n));
    CHECK_STR(buf, expected);
    CHECK(n == strlen(expected));
    /* Exactly large enough. */
    char *exact = malloc(strlen(expected) + 1);
    CHECK(exact != NULL);
    if (exact) {
        CHECK_OK(fmt(lsn, exact, strlen(expected) + 1, NULL));
        CHECK_STR(exact, expected);
        /* One byte short: nothing but an empty string, and the length needed. */
        n = 0;
        CHECK_STATUS(fmt(lsn, exact, strlen(expected), &n), PITR_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == strlen(expected));
        CHECK(exact[0] == '\0');
        free(exact);
    }
    CHECK_STATUS(fmt(lsn, buf, 0, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(fmt(lsn, NULL, 0, &n), PITR_STATUS_NULL_ARGUMENT);
}

static void test_lsn_format(void) {
    check_formatter(pitr_lsn_format, 0x16B3748, "0/16B3748");
    check_formatter(pitr_lsn_format, 0, "0/0");
    check_formatter(pitr_lsn_format, UINT64_MAX, "FFFFFFFF/FFFFFFFF");
    check_formatter(pitr_lsn_format_padded, 0x16B3748, "0/016B3748");
    check_formatter(pitr_lsn_format_padded, 0x1A00000000ull, "1A/00000000");
    check_formatter(pitr_lsn_format_padded, UINT64_MAX, "FFFFFFFF/FFFFFFFF");
}

static void test_lsn_round_trip(void) {
    /* A spread of values through parse(format(x)) == x in both forms. */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = (i % 3 == 0) ? (x & 0xFFFFFFFFull) : x;
        char buf[PITR_LSN_BUFSIZE];
        pitr_lsn back = 0;
        CHECK_OK(pitr_lsn_format(v, buf, sizeof buf, NULL));
        CHECK_OK(pitr_lsn_parse(buf, &back));
        CHECK(back == v);
        CHECK_OK(pitr_lsn_format_padded(v, buf, sizeof buf, NULL));
        CHECK_OK(pitr_lsn_parse(buf, &back));
        CHECK(back == v);
    }
}

static void test_lsn_arithmetic(void) {
    pitr_lsn r = 0;
    CHECK_OK(pitr_lsn_add(0x16B3748, 8, &r));
    CHECK(r == 0x16B3750);
    CHECK_OK(pitr_lsn_add(0xFFFFFFFF, 1, &r));
    CHECK(r == 0x100000000ull);
    r = 5;
    CHECK_STATUS(pitr_lsn_add(UINT64_MAX, 1, &r), PITR_STATUS_OUT_OF_RANGE);
    CHECK(r == 5);
    CHECK_STATUS(pitr_lsn_add(1, 1, NULL), PITR_STATUS_NULL_ARGUMENT);

    CHECK_OK(pitr_lsn_sub(0x100000000ull, 1, &r));
    CHECK(r == 0xFFFFFFFF);
    CHECK_STATUS(pitr_lsn_sub(0, 1, &r), PITR_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pitr_lsn_sub(1, 1, NULL), PITR_STATUS_NULL_ARGUMENT);

    int64_t d = 0;
    CHECK_OK(pitr_lsn_diff(0x3000060, 0x3000028, &d));
    CHECK(d == 0x38);
    CHECK_OK(pitr_lsn_diff(0x3000028, 0x3000060, &d));
    CHECK(d == -0x38);
    CHECK_OK(pitr_lsn_diff((uint64_t)INT64_MAX, 0, &d));
    CHECK(d == INT64_MAX);
    CHECK_STATUS(pitr_lsn_diff(UINT64_MAX, 0, &d), PITR_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pitr_lsn_diff(0, UINT64_MAX, &d), PITR_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pitr_lsn_diff(0, 0, NULL), PITR_STATUS_NULL_ARGUMENT);

    CHECK(pitr_lsn_maxalign(0) == 0);
    CHECK(pitr_lsn_maxalign(1) == 8);
    CHECK(pitr_lsn_maxalign(8) == 8);
    CHECK(pitr_lsn_maxalign(0x16B3749) == 0x16B3750);
    CHECK(pitr_lsn_maxalign(UINT64_MAX) == (UINT64_MAX & ~(uint64_t)7));
}

static void test_lsn_segments(void) {
    uint64_t v = 0;
    CHECK_OK(pitr_lsn_segment(0x2026F98, 16 * MB, &v));
    CHECK(v == 2);
    CHECK_OK(pitr_lsn_segment_offset(0x2026F98, 16 * MB, &v));
    CHECK(v == 0x26F98);
    CHECK_OK(pitr_lsn_segment(0x2026F98, 1 * MB, &v));
    CHECK(v == 0x20);
    CHECK_OK(pitr_lsn_segment_offset(0x2026F98, 1 * MB, &v));
    CHECK(v == 0x26F98);
    /* A record ending exactly at a boundary lives in the previous segment. */
    CHECK_OK(pitr_lsn_prev_segment(0x3000000, 16 * MB, &v));
    CHECK(v == 2);
    CHECK_OK(pitr_lsn_prev_segment(0x3000001, 16 * MB, &v));
    CHECK(v == 3);
    CHECK_OK(pitr_lsn_prev_segment(0, 16 * MB, &v));
    CHECK(v == 0);

    const uint32_t bad_sizes[] = {0, 1, 3 * MB, 512 * 1024, 2048u * MB, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        v = 77;
        CHECK_STATUS(pitr_lsn_segment(1, bad_sizes[i], &v), PITR_STATUS_INVALID_ARGUMENT);
        CHECK_ERROR_MENTIONS("segment size");
        CHECK_STATUS(pitr_lsn_segment_offset(1, bad_sizes[i], &v), PITR_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(pitr_lsn_prev_segment(1, bad_sizes[i], &v), PITR_STATUS_INVALID_ARGUMENT);
        CHECK(v == 77);
    }
    CHECK_STATUS(pitr_lsn_segment(1, 16 * MB, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_lsn_segment_offset(1, 16 * MB, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_lsn_prev_segment(1, 16 * MB, NULL), PITR_STATUS_NULL_ARGUMENT);
}

/* ------------------------------------------------------- WAL segment size */

static void test_wal_seg_size(void) {
    uint32_t s = 0;
    CHECK_OK(pitr_wal_seg_size_parse("16MB", &s));
    CHECK(s == 16 * MB);
    CHECK_OK(pitr_wal_seg_size_parse("1 gb", &s));
    CHECK(s == 1024 * MB);
    CHECK_OK(pitr_wal_seg_size_parse("1024kB", &s));
    CHECK(s == 1 * MB);
    CHECK_OK(pitr_wal_seg_size_parse("64", &s));
    CHECK(s == 64 * MB);
    CHECK_OK(pitr_wal_seg_size_parse("16777216", &s));
    CHECK(s == 16 * MB);
    const char *bad[] = {"", "MB", "3MB", "2GB", "16 parsecs", "512kB", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = 5;
        CHECK_STATUS(pitr_wal_seg_size_parse(bad[i], &s), PITR_STATUS_PARSE);
        CHECK(s == 5);
        CHECK_ERROR_MENTIONS("segment size");
    }
    CHECK_STATUS(pitr_wal_seg_size_parse(NULL, &s), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_parse("16MB", NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_parse("16\xffMB", &s), PITR_STATUS_INVALID_UTF8);

    CHECK_OK(pitr_wal_seg_size_validate(PITR_WAL_SEG_SIZE_MIN));
    CHECK_OK(pitr_wal_seg_size_validate(PITR_WAL_SEG_SIZE_MAX));
    CHECK_OK(pitr_wal_seg_size_validate(PITR_WAL_SEG_SIZE_DEFAULT));
    CHECK_STATUS(pitr_wal_seg_size_validate(0), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_validate(PITR_WAL_SEG_SIZE_MIN / 2), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_validate(3 * MB), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_validate((uint64_t)PITR_WAL_SEG_SIZE_MAX * 2), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_validate(1ull << 40), PITR_STATUS_INVALID_ARGUMENT);

    char buf[PITR_LSN_BUFSIZE];
    size_t n = 0;
    CHECK_OK(pitr_wal_seg_size_format(16 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "16MB");
    CHECK(n == 4);
    CHECK_OK(pitr_wal_seg_size_format(1024 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "1GB");
    CHECK_STATUS(pitr_wal_seg_size_format(16 * MB, buf, 4, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 4);
    CHECK_STATUS(pitr_wal_seg_size_format(16 * MB, NULL, 4, &n), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_format(3 * MB, buf, sizeof buf, &n), PITR_STATUS_INVALID_ARGUMENT);

    uint64_t v = 0;
    CHECK_OK(pitr_wal_seg_size_segments_per_xlogid(16 * MB, &v));
    CHECK(v == 256);
    CHECK_OK(pitr_wal_seg_size_segments_per_xlogid(1 * MB, &v));
    CHECK(v == 4096);
    CHECK_STATUS(pitr_wal_seg_size_segments_per_xlogid(3 * MB, &v), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_segments_per_xlogid(16 * MB, NULL), PITR_STATUS_NULL_ARGUMENT);

    pitr_lsn l = 0;
    CHECK_OK(pitr_wal_seg_size_segment_start(16 * MB, 0x1A3, &l));
    CHECK(l == 0x1A3000000ull);
    CHECK_OK(pitr_wal_seg_size_segment_end(16 * MB, 0x1A3, &l));
    CHECK(l == 0x1A4000000ull);
    CHECK_OK(pitr_wal_seg_size_segment_end(16 * MB, 0, &l));
    CHECK(l == 16 * MB);
    l = 3;
    CHECK_STATUS(pitr_wal_seg_size_segment_start(16 * MB, UINT64_MAX, &l), PITR_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pitr_wal_seg_size_segment_end(16 * MB, UINT64_MAX, &l), PITR_STATUS_OUT_OF_RANGE);
    /* The last segment ends exactly at 2^64, which is not an LSN. */
    CHECK_STATUS(pitr_wal_seg_size_segment_end(16 * MB, (UINT64_MAX / (16 * MB)), &l), PITR_STATUS_OUT_OF_RANGE);
    CHECK(l == 3);
    CHECK_STATUS(pitr_wal_seg_size_segment_start(3 * MB, 1, &l), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_segment_end(3 * MB, 1, &l), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_segment_start(16 * MB, 1, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_seg_size_segment_end(16 * MB, 1, NULL), PITR_STATUS_NULL_ARGUMENT);
}

/* --------------------------------------------------------- segment names */

static void test_segment_names(void) {
    char buf[PITR_WAL_NAME_BUFSIZE];
    size_t n = 0;
    CHECK_OK(pitr_segment_name_format(1, 2, 16 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "000000010000000000000002");
    CHECK(n == 24);
    CHECK_OK(pitr_segment_name_format(1, 0x1A3, 16 * MB, buf, sizeof buf, NULL));
    CHECK_STR(buf, "0000000100000001000000A3");
    CHECK_OK(pitr_segment_name_format(0x1A, 0xFFF, 1 * MB, buf, sizeof buf, NULL));
    CHECK_STR(buf, "0000001A0000000000000FFF");
    CHECK_OK(pitr_segment_name_of_lsn(1, 0x1A3000000ull + 5, 16 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "0000000100000001000000A3");
    CHECK_OK(pitr_segment_name_of_lsn(1, 0x140000000ull, 1024 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "000000010000000100000001");
    CHECK_OK(pitr_segment_name_of_lsn(2, UINT64_MAX, 16 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "00000002FFFFFFFF000000FF");

    /* Errors: segment size, range, buffers. */
    CHECK_STATUS(pitr_segment_name_format(1, 2, 3 * MB, buf, sizeof buf, &n), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_format(1, UINT64_MAX, 16 * MB, buf, sizeof buf, &n), PITR_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pitr_segment_name_format(1, 2, 16 * MB, buf, 24, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 24);
    CHECK(buf[0] == '\0');
    CHECK_STATUS(pitr_segment_name_format(1, 2, 16 * MB, NULL, 0, &n), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_of_lsn(1, 0, 3 * MB, buf, sizeof buf, &n), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_of_lsn(1, 0, 16 * MB, buf, 10, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(pitr_segment_name_of_lsn(1, 0, 16 * MB, NULL, 10, &n), PITR_STATUS_NULL_ARGUMENT);

    uint32_t tli = 0;
    uint64_t segno = 0;
    CHECK_OK(pitr_segment_name_parse("0000000100000001000000A3", 16 * MB, &tli, &segno));
    CHECK(tli == 1);
    CHECK(segno == 0x1A3);
    CHECK_OK(pitr_segment_name_parse("0000001A0000000000000FFF", 1 * MB, &tli, &segno));
    CHECK(tli == 0x1A);
    CHECK(segno == 0xFFF);
    tli = 9;
    segno = 9;
    /* A1 cannot exist with 1 GB segments (4 per xlogid). */
    CHECK_STATUS(pitr_segment_name_parse("0000000100000001000000A3", 1024 * MB, &tli, &segno), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("1GB");
    const char *bad[] = {"", "00000001000000010000000", "0000000100000001000000a3", "0000000100000001000000A3.gz",
                         "X00000010000000100000A3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_STATUS(pitr_segment_name_parse(bad[i], 16 * MB, &tli, &segno), PITR_STATUS_PARSE);
    }
    CHECK(tli == 9 && segno == 9);
    CHECK_STATUS(pitr_segment_name_parse("0000000100000001000000A3", 3 * MB, &tli, &segno),
                 PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_parse(NULL, 16 * MB, &tli, &segno), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_parse("0000000100000001000000A3", 16 * MB, NULL, &segno),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_parse("0000000100000001000000A3", 16 * MB, &tli, NULL),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_segment_name_parse("\xff", 16 * MB, &tli, &segno), PITR_STATUS_INVALID_UTF8);

    /* Round trip over segment sizes and numbers. */
    for (uint32_t shift = 20; shift <= 30; shift++) {
        for (uint64_t s = 0; s < 5000; s += 37) {
            uint64_t sn = s * 1000003u;
            CHECK_OK(pitr_segment_name_format(3, sn, 1u << shift, buf, sizeof buf, NULL));
            CHECK_OK(pitr_segment_name_parse(buf, 1u << shift, &tli, &segno));
            CHECK(tli == 3 && segno == sn);
        }
    }
}

static void test_history_names(void) {
    char buf[PITR_WAL_NAME_BUFSIZE];
    size_t n = 0;
    CHECK_OK(pitr_history_file_name(0x1A, buf, sizeof buf, &n));
    CHECK_STR(buf, "0000001A.history");
    CHECK(n == 16);
    CHECK_STATUS(pitr_history_file_name(2, buf, 16, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(pitr_history_file_name(2, NULL, 16, &n), PITR_STATUS_NULL_ARGUMENT);

    CHECK_OK(pitr_backup_history_file_name(1, 0x6000028, 16 * MB, buf, sizeof buf, &n));
    CHECK_STR(buf, "000000010000000000000006.00000028.backup");
    CHECK(n == 40);
    CHECK_STATUS(pitr_backup_history_file_name(1, 0x6000028, 3 * MB, buf, sizeof buf, &n),
                 PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_backup_history_file_name(1, 0x6000028, 16 * MB, buf, 40, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 40);
    CHECK_STATUS(pitr_backup_history_file_name(1, 0x6000028, 16 * MB, NULL, 40, &n), PITR_STATUS_NULL_ARGUMENT);
}

/* ----------------------------------------------------------- file names */

static pitr_wal_file_name *classify(const char *name) {
    pitr_wal_file_name *f = NULL;
    CHECK_OK(pitr_wal_file_name_classify(name, &f));
    CHECK(f != NULL);
    return f;
}

/* Calls a char ** accessor and compares (NULL expected = PITR_STATUS_NO_VALUE). */
typedef pitr_status (*string_getter)(const pitr_wal_file_name *, char **);

static void check_string(string_getter get, const pitr_wal_file_name *f, const char *expected) {
    char *s = NULL;
    if (expected) {
        CHECK_OK(get(f, &s));
        CHECK_STR(s, expected);
        pitr_string_free(s);
    } else {
        CHECK_STATUS(get(f, &s), PITR_STATUS_NO_VALUE);
        CHECK(s == NULL);
    }
    CHECK_STATUS(get(f, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(get(NULL, &s), PITR_STATUS_NULL_ARGUMENT);
}

static void test_wal_file_name_segment(void) {
    pitr_wal_file_name *f = classify("0000000200000001000000A3.zst");
    CHECK_STR(pitr_wal_file_name_name(f), "0000000200000001000000A3.zst");
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_SEGMENT);
    CHECK(pitr_wal_file_name_compression(f) == PITR_COMPRESSION_ZSTD);
    uint32_t tli = 0;
    CHECK_OK(pitr_wal_file_name_timeline(f, &tli));
    CHECK(tli == 2);
    uint64_t segno = 0;
    CHECK_OK(pitr_wal_file_name_segno(f, 16 * MB, &segno));
    CHECK(segno == 0x1A3);
    segno = 5;
    CHECK_STATUS(pitr_wal_file_name_segno(f, 1024 * MB, &segno), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_wal_file_name_segno(f, 3 * MB, &segno), PITR_STATUS_INVALID_ARGUMENT);
    CHECK(segno == 5);
    uint32_t off = 0;
    CHECK_STATUS(pitr_wal_file_name_backup_offset(f, &off), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("0000000200000001000000A3.zst");
    pitr_archive_status st = 0;
    char *of = NULL;
    CHECK_STATUS(pitr_wal_file_name_archive_status(f, &st, &of), PITR_STATUS_NO_VALUE);
    CHECK(of == NULL);
    check_string(pitr_wal_file_name_sha1, f, NULL);
    check_string(pitr_wal_file_name_wal_name, f, "0000000200000001000000A3");
    check_string(pitr_wal_file_name_plain_name, f, "0000000200000001000000A3");
    check_string(pitr_wal_file_name_to_string, f, "0000000200000001000000A3.zst");
    check_string(pitr_wal_file_name_to_json, f,
                 "{\"kind\":\"segment\",\"segment\":\"0000000200000001000000A3\",\"compression\":\"zstd\"}");
    pitr_wal_file_name_free(f);
}

static void test_wal_file_name_kinds(void) {
    const char *sha = "0123456789abcdef0123456789abcdef01234567";
    char name[128];

    /* partial */
    pitr_wal_file_name *f = classify("000000010000000000000002.partial");
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_PARTIAL);
    CHECK(pitr_wal_file_name_compression(f) == PITR_COMPRESSION_NONE);
    uint32_t tli = 0;
    uint64_t segno = 0;
    CHECK_OK(pitr_wal_file_name_timeline(f, &tli));
    CHECK(tli == 1);
    CHECK_OK(pitr_wal_file_name_segno(f, 16 * MB, &segno));
    CHECK(segno == 2);
    check_string(pitr_wal_file_name_wal_name, f, NULL); /* recovery never asks for .partial */
    check_string(pitr_wal_file_name_plain_name, f, "000000010000000000000002.partial");
    pitr_wal_file_name_free(f);

    /* history */
    f = classify("0000001A.history.gz");
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_HISTORY);
    CHECK(pitr_wal_file_name_compression(f) == PITR_COMPRESSION_GZIP);
    CHECK_OK(pitr_wal_file_name_timeline(f, &tli));
    CHECK(tli == 0x1A);
    CHECK_STATUS(pitr_wal_file_name_segno(f, 16 * MB, &segno), PITR_STATUS_NO_VALUE);
    check_string(pitr_wal_file_name_wal_name, f, "0000001A.history");
    check_string(pitr_wal_file_name_to_json, f, "{\"kind\":\"history\",\"timeline\":26,\"compression\":\"gzip\"}");
    pitr_wal_file_name_free(f);

    /* backup history */
    f = classify("000000010000000000000006.00000028.backup");
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_BACKUP_HISTORY);
    uint32_t off = 0;
    CHECK_OK(pitr_wal_file_name_backup_offset(f, &off));
    CHECK(off == 0x28);
    CHECK_STATUS(pitr_wal_file_name_backup_offset(f, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_backup_offset(NULL, &off), PITR_STATUS_NULL_ARGUMENT);
    CHECK_OK(pitr_wal_file_name_segno(f, 16 * MB, &segno));
    CHECK(segno == 6);
    check_string(pitr_wal_file_name_plain_name, f, "000000010000000000000006.00000028.backup");
    pitr_wal_file_name_free(f);

    /* pgBackRest name with hash, each compression */
    struct { const char *ext; pitr_compression c; } comps[] = {
        {"gz", PITR_COMPRESSION_GZIP}, {"zst", PITR_COMPRESSION_ZSTD}, {"lz4", PITR_COMPRESSION_LZ4},
        {"xz", PITR_COMPRESSION_XZ},   {"bz2", PITR_COMPRESSION_BZIP2}, {"br", PITR_COMPRESSION_BROTLI},
    };
    for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++) {
        snprintf(name, sizeof name, "000000010000000000000002-%s.%s", sha, comps[i].ext);
        f = classify(name);
        CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_SEGMENT);
        CHECK(pitr_wal_file_name_compression(f) == comps[i].c);
        CHECK_STR(pitr_compression_extension(comps[i].c), comps[i].ext);
        check_string(pitr_wal_file_name_sha1, f, sha);
        check_string(pitr_wal_file_name_to_string, f, name);
        check_string(pitr_wal_file_name_wal_name, f, "000000010000000000000002");
        pitr_wal_file_name_free(f);
    }
    CHECK(pitr_compression_extension(PITR_COMPRESSION_NONE) == NULL);
    CHECK(pitr_compression_extension(99) == NULL);

    /* archive_status */
    f = classify("000000010000000000000002.ready");
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_ARCHIVE_STATUS);
    pitr_archive_status st = 0;
    char *of = NULL;
    CHECK_OK(pitr_wal_file_name_archive_status(f, &st, &of));
    CHECK(st == PITR_ARCHIVE_STATUS_READY);
    CHECK_STR(of, "000000010000000000000002");
    pitr_string_free(of);
    CHECK_STATUS(pitr_wal_file_name_timeline(f, &tli), PITR_STATUS_NO_VALUE);
    check_string(pitr_wal_file_name_plain_name, f, NULL);
    check_string(pitr_wal_file_name_to_string, f, "000000010000000000000002.ready");
    pitr_wal_file_name_free(f);
    f = classify("00000002.history.done");
    st = 0;
    CHECK_OK(pitr_wal_file_name_archive_status(f, &st, NULL)); /* out_of is optional */
    CHECK(st == PITR_ARCHIVE_STATUS_DONE);
    CHECK_STATUS(pitr_wal_file_name_archive_status(f, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_archive_status(NULL, &st, NULL), PITR_STATUS_NULL_ARGUMENT);
    check_string(pitr_wal_file_name_to_json, f,
                 "{\"kind\":\"archive_status\",\"of\":\"00000002.history\",\"status\":\"done\"}");
    pitr_wal_file_name_free(f);
}

static void test_wal_file_name_unknown_and_errors(void) {
    const char *unknown[] = {"", "backup_label", "00000001000000000000000a", "000000010000000000000002.tmp",
                             "x.ready", "RECOVERYXLOG", "\xc3\xa9\xc3\xa9"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        pitr_wal_file_name *f = classify(unknown[i]);
        CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_UNKNOWN);
        CHECK(pitr_wal_file_name_compression(f) == PITR_COMPRESSION_NONE);
        CHECK_STR(pitr_wal_file_name_name(f), unknown[i]);
        uint32_t tli = 0;
        CHECK_STATUS(pitr_wal_file_name_timeline(f, &tli), PITR_STATUS_NO_VALUE);
        check_string(pitr_wal_file_name_to_string, f, NULL);
        check_string(pitr_wal_file_name_wal_name, f, NULL);
        check_string(pitr_wal_file_name_to_json, f, "{\"kind\":\"unknown\"}");
        pitr_wal_file_name_free(f);

        static char sentinel;
        pitr_wal_file_name *p = (pitr_wal_file_name *)&sentinel; /* must stay untouched */
        CHECK_STATUS(pitr_wal_file_name_parse(unknown[i], &p), PITR_STATUS_PARSE);
        CHECK(p == (pitr_wal_file_name *)&sentinel);
        CHECK_ERROR_MENTIONS("not a WAL file name");
    }
    pitr_wal_file_name *f = NULL;
    CHECK_OK(pitr_wal_file_name_parse("00000003.history", &f));
    CHECK(pitr_wal_file_name_kind(f) == PITR_WAL_FILE_KIND_HISTORY);
    pitr_wal_file_name_free(f);

    CHECK_STATUS(pitr_wal_file_name_classify(NULL, &f), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_classify("x", NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_classify("\xff", &f), PITR_STATUS_INVALID_UTF8);
    CHECK_STATUS(pitr_wal_file_name_parse(NULL, &f), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_parse("00000003.history", NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_parse("\xff", &f), PITR_STATUS_INVALID_UTF8);

    /* NULL handles: getters return their neutral value, fallible ones fail. */
    CHECK(pitr_wal_file_name_name(NULL) == NULL);
    CHECK(pitr_wal_file_name_kind(NULL) == PITR_WAL_FILE_KIND_UNKNOWN);
    CHECK(pitr_wal_file_name_compression(NULL) == PITR_COMPRESSION_NONE);
    uint32_t tli = 0;
    uint64_t segno = 0;
    CHECK_STATUS(pitr_wal_file_name_timeline(NULL, &tli), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_segno(NULL, 16 * MB, &segno), PITR_STATUS_NULL_ARGUMENT);
    f = classify("000000010000000000000002");
    CHECK_STATUS(pitr_wal_file_name_timeline(f, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_file_name_segno(f, 16 * MB, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_wal_file_name_free(f);
    pitr_wal_file_name_free(NULL); /* a no-op */
}

static void test_kind_names(void) {
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_UNKNOWN), "unknown");
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_SEGMENT), "segment");
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_PARTIAL), "partial");
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_HISTORY), "history");
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_BACKUP_HISTORY), "backup_history");
    CHECK_STR(pitr_wal_file_kind_name(PITR_WAL_FILE_KIND_ARCHIVE_STATUS), "archive_status");
    CHECK(pitr_wal_file_kind_name(6) == NULL);
}

/* ------------------------------------------------------ PostgreSQL majors */

static void test_pg_major(void) {
    CHECK(PITR_PG_MAJOR_MIN == 13 && PITR_PG_MAJOR_MAX == 18);
    for (uint32_t m = PITR_PG_MAJOR_MIN; m <= PITR_PG_MAJOR_MAX; m++) {
        CHECK(pitr_pg_major_is_supported(m));
        uint16_t magic = 0;
        uint32_t cat = 0, ctl = 0, back = 0;
        CHECK_OK(pitr_pg_major_wal_magic(m, &magic));
        CHECK_OK(pitr_pg_major_from_wal_magic(magic, &back));
        CHECK(back == m);
        CHECK_OK(pitr_pg_major_catalog_version(m, &cat));
        CHECK_OK(pitr_pg_major_from_catalog_version(cat, &back));
        CHECK(back == m);
        CHECK_OK(pitr_pg_major_control_version(m, &ctl));
        CHECK(ctl == (m >= 17 ? m * 100 : 1300));
    }
    uint16_t magic = 0;
    CHECK_OK(pitr_pg_major_wal_magic(15, &magic));
    CHECK(magic == 0xD110);
    uint32_t v = 0;
    CHECK_OK(pitr_pg_major_catalog_version(16, &v));
    CHECK(v == 202307071);

    CHECK(!pitr_pg_major_is_supported(12));
    CHECK(!pitr_pg_major_is_supported(19));
    CHECK_STATUS(pitr_pg_major_wal_magic(12, &magic), PITR_STATUS_UNSUPPORTED);
    CHECK_ERROR_MENTIONS("PostgreSQL 12");
    CHECK_STATUS(pitr_pg_major_catalog_version(19, &v), PITR_STATUS_UNSUPPORTED);
    CHECK_STATUS(pitr_pg_major_control_version(0, &v), PITR_STATUS_UNSUPPORTED);
    CHECK_STATUS(pitr_pg_major_from_wal_magic(0xD101, &v), PITR_STATUS_UNSUPPORTED);
    CHECK_ERROR_MENTIONS("PostgreSQL 12");
    CHECK_STATUS(pitr_pg_major_from_wal_magic(0x1234, &v), PITR_STATUS_UNSUPPORTED);
    CHECK_STATUS(pitr_pg_major_from_catalog_version(1, &v), PITR_STATUS_UNSUPPORTED);
    CHECK_STATUS(pitr_pg_major_wal_magic(15, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_pg_major_catalog_version(15, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_pg_major_control_version(15, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_pg_major_from_wal_magic(0xD110, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_pg_major_from_catalog_version(202209061, NULL), PITR_STATUS_NULL_ARGUMENT);
}

int main(void) {
    RUN(test_version);
    RUN(test_status_names);
    RUN(test_last_error_lifecycle);
    RUN(test_last_error_is_per_thread);
    RUN(test_string_free_null);
    RUN(test_lsn_parse);
    RUN(test_lsn_format);
    RUN(test_lsn_round_trip);
    RUN(test_lsn_arithmetic);
    RUN(test_lsn_segments);
    RUN(test_wal_seg_size);
    RUN(test_segment_names);
    RUN(test_history_names);
    RUN(test_wal_file_name_segment);
    RUN(test_wal_file_name_kinds);
    RUN(test_wal_file_name_unknown_and_errors);
    RUN(test_kind_names);
    RUN(test_pg_major);
    run_history_tests();
    run_label_tests();
    run_conf_tests();
    run_target_tests();
    run_live_tests();
    run_control_tests();
    run_wal_tests();
    run_archive_tests();
    run_backup_tests();
    run_plan_tests();
    run_find_tests();
    return harness_finish();
}
