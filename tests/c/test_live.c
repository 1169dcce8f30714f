/*
 * Live servers: pitr_check, pitr_mark, pitr_marks_read, pitr_mark_target,
 * pitr_replay_status and pitr_replay_resume against the real PostgreSQL 15
 * servers of tests/c/pg-fixtures.sh: a primary archiving into a directory
 * (PITR_TEST_DSN, PITR_TEST_ARCHIVE), the same primary as a role without
 * privileges (PITR_TEST_PLAIN_DSN) and a restore paused at its recovery
 * target (PITR_TEST_PAUSED_DSN).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

/* Nothing listens there: connecting fails fast. */
#define UNREACHABLE_DSN "host=/nonexistent/pitr-socket-dir port=1 connect_timeout=2"

static void test_check(void) {
    const char *dsn = need_env("PITR_TEST_DSN");
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    if (!dsn || !archive) return;
    bool healthy = false;
    char *json = NULL;
    CHECK_OK(pitr_check(dsn, archive, &healthy, &json));
    CHECK(healthy);
    CHECK_CONTAINS(json, "{\"healthy\":true,\"server\":{");
    CHECK_CONTAINS(json, "\"major\":15");
    CHECK_CONTAINS(json, "\"wal_level\":\"replica\"");
    CHECK_CONTAINS(json, "\"archive_mode\":\"on\"");
    CHECK_CONTAINS(json, "\"wal_segment_size\":1048576");
    CHECK_CONTAINS(json, "\"archive\":{\"dir\":\"");
    CHECK_CONTAINS(json, "\"last_archived_present\":true");
    CHECK_CONTAINS(json, "\"failing\":false");
    pitr_string_free(json);

    /* Without an archive to cross-check; the healthy flag is optional. */
    json = NULL;
    CHECK_OK(pitr_check(dsn, NULL, NULL, &json));
    CHECK_CONTAINS(json, "\"archive\":null");
    pitr_string_free(json);

    /* An archive directory that does not exist is a problem, not a failure. */
    json = NULL;
    CHECK_OK(pitr_check(dsn, "/nonexistent/archive", &healthy, &json));
    CHECK(!healthy);
    CHECK_CONTAINS(json, "\"code\":\"archive_unreadable\"");
    pitr_string_free(json);

    /* A paused restore (a server in recovery) is checked as a standby. */
    const char *paused = need_env("PITR_TEST_PAUSED_DSN");
    if (paused) {
        json = NULL;
        CHECK_OK(pitr_check(paused, NULL, &healthy, &json));
        CHECK_CONTAINS(json, "\"in_recovery\":true");
        pitr_string_free(json);
    }

    json = NULL;
    healthy = true;
    CHECK_STATUS(pitr_check(UNREACHABLE_DSN, NULL, &healthy, &json), PITR_STATUS_CONNECT);
    CHECK_ERROR_MENTIONS("cannot connect to");
    CHECK(healthy && json == NULL);
    CHECK_STATUS(pitr_check("port=notaport", NULL, &healthy, &json), PITR_STATUS_CONNECT);
    CHECK_ERROR_MENTIONS("invalid connection string");
    CHECK_STATUS(pitr_check(NULL, NULL, &healthy, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_check(dsn, NULL, &healthy, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_check(dsn, "\xff", &healthy, &json), PITR_STATUS_INVALID_UTF8);
    CHECK(json == NULL);
}

static void test_mark(void) {
    const char *dsn = need_env("PITR_TEST_DSN");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!dsn || !tmp) return;
    char log[600];
    snprintf(log, sizeof log, "%s/%ld-marks.jsonl", tmp, (long)getpid());
    unlink(log);

    /* A named mark: a restore point, a WAL switch, appended to the log. */
    char *json = NULL;
    CHECK_OK(pitr_mark(dsn, "before_change", true, log, &json));
    CHECK_CONTAINS(json, "{\"format\":1,\"name\":\"before_change\",\"time\":\"");
    CHECK_CONTAINS(json, "\"timeline\":1");
    CHECK_CONTAINS(json, "\"wal_segment_size\":1048576");
    CHECK_CONTAINS(json, "\"restore_point_lsn\":\"");
    CHECK_CONTAINS(json, "\"switch_lsn\":\"");
    /* The log line is the returned JSON. */
    char *file = read_file(log);
    CHECK(file != NULL && json != NULL && strncmp(file, json, strlen(json)) == 0);
    CHECK(file != NULL && json != NULL && strcmp(file + strlen(json), "\n") == 0);
    free(file);
    pitr_string_free(json);

    /* An anonymous mark, not logged, no switch. */
    json = NULL;
    CHECK_OK(pitr_mark(dsn, NULL, false, NULL, &json));
    CHECK_CONTAINS(json, "\"name\":null");
    CHECK_CONTAINS(json, "\"restore_point_lsn\":null");
    CHECK_CONTAINS(json, "\"switch_lsn\":null");
    pitr_string_free(json);

    /* Reading the log back, and the mark as a recovery target. */
    json = NULL;
    CHECK_OK(pitr_marks_read(log, &json));
    CHECK(json != NULL && json[0] == '[');
    CHECK_CONTAINS(json, "\"name\":\"before_change\"");
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_mark_target(log, "before_change", &json));
    CHECK_CONTAINS(json, "{\"type\":\"restore_point\",\"name\":\"before_change\",\"end_lsn\":\"");
    CHECK_CONTAINS(json, "\"timeline\":1");
    pitr_string_free(json);
    json = NULL;
    CHECK_STATUS(pitr_mark_target(log, "other", &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("named marks: before_change");
    CHECK_STATUS(pitr_mark_target(NULL, "x", &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_mark_target(log, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_mark_target(log, "x", NULL), PITR_STATUS_NULL_ARGUMENT);

    /* A damaged log: file and line in the last error. */
    char bad[620];
    snprintf(bad, sizeof bad, "%s.bad", log);
    CHECK(write_file(bad, "# marks\n{\"format\":1}\n"));
    CHECK_STATUS(pitr_marks_read(bad, &json), PITR_STATUS_PARSE);
    CHECK_STR(pitr_last_error_file(), bad);
    uint64_t line = 0;
    CHECK(pitr_last_error_line(&line) && line == 2);
    CHECK_STATUS(pitr_mark_target(bad, "x", &json), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_marks_read("/nonexistent/marks.jsonl", &json), PITR_STATUS_IO);
    CHECK_STATUS(pitr_marks_read(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_marks_read(log, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(json == NULL);
    unlink(bad);

    /* Refused requests. */
    char long_name[80];
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    CHECK_STATUS(pitr_mark(dsn, long_name, false, NULL, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("at most 63");
    CHECK_STATUS(pitr_mark(dsn, "", false, NULL, &json), PITR_STATUS_INVALID);
    const char *paused = need_env("PITR_TEST_PAUSED_DSN");
    if (paused) {
        CHECK_STATUS(pitr_mark(paused, "x", false, NULL, &json), PITR_STATUS_INVALID);
        CHECK_ERROR_MENTIONS("in recovery");
    }
    /* A role that may not create restore points: the server's error. */
    const char *plain = need_env("PITR_TEST_PLAIN_DSN");
    if (plain) {
        CHECK_STATUS(pitr_mark(plain, "x", false, NULL, &json), PITR_STATUS_SERVER);
        CHECK_ERROR_MENTIONS("pg_create_restore_point");
    }
    /* The log cannot be written: the mark was taken, the status says I/O. */
    CHECK_STATUS(pitr_mark(dsn, NULL, false, "/nonexistent/dir/marks.jsonl", &json), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/dir/marks.jsonl");
    CHECK_STATUS(pitr_mark(UNREACHABLE_DSN, NULL, false, NULL, &json), PITR_STATUS_CONNECT);
    CHECK_STATUS(pitr_mark(NULL, NULL, false, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_mark(dsn, NULL, false, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_mark(dsn, "\xff", false, NULL, &json), PITR_STATUS_INVALID_UTF8);
    CHECK(json == NULL);
    /* Only the first mark went to the log. */
    json = NULL;
    CHECK_OK(pitr_marks_read(log, &json));
    CHECK(json != NULL && strstr(json, "},{") == NULL);
    pitr_string_free(json);
    unlink(log);
}

static void test_replay(void) {
    const char *dsn = need_env("PITR_TEST_DSN");
    const char *paused = need_env("PITR_TEST_PAUSED_DSN");
    if (!dsn || !paused) return;
    char *json = NULL;
    CHECK_OK(pitr_replay_status(dsn, &json));
    CHECK_CONTAINS(json, "\"in_recovery\":false");
    CHECK_CONTAINS(json, "\"pause_state\":null");
    pitr_string_free(json);

    json = NULL;
    CHECK_OK(pitr_replay_status(paused, &json));
    CHECK_CONTAINS(json, "\"in_recovery\":true");
    CHECK_CONTAINS(json, "\"pause_state\":\"paused\"");
    CHECK_CONTAINS(json, "\"replay_lsn\":\"");
    pitr_string_free(json);

    /* A primary has nothing to resume. */
    json = NULL;
    CHECK_STATUS(pitr_replay_resume(dsn, 0, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("not in recovery");
    CHECK(json == NULL);

    /* Paused at its recovery target: resuming promotes it. */
    CHECK_OK(pitr_replay_resume(paused, 60000, &json));
    CHECK_CONTAINS(json, "\"outcome\":\"promoted\"");
    CHECK_CONTAINS(json, "\"before\":{\"in_recovery\":true,\"pause_state\":\"paused\"");
    CHECK_CONTAINS(json, "\"after\":{\"in_recovery\":false");
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_replay_status(paused, &json));
    CHECK_CONTAINS(json, "\"in_recovery\":false");
    pitr_string_free(json);

    json = NULL;
    CHECK_STATUS(pitr_replay_status(UNREACHABLE_DSN, &json), PITR_STATUS_CONNECT);
    CHECK_STATUS(pitr_replay_resume(UNREACHABLE_DSN, 0, &json), PITR_STATUS_CONNECT);
    CHECK_STATUS(pitr_replay_status(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_replay_status(dsn, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_replay_resume(NULL, 0, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_replay_resume(dsn, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(json == NULL);
}

void run_live_tests(void) {
    RUN(test_check);
    RUN(test_mark);
    RUN(test_replay);
}
