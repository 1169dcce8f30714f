/*
 * backup_label and backup history files: pitr_backup_label_*, on text and on
 * the files of a real pg_basebackup (PITR_TEST_BACKUP_LABEL,
 * PITR_TEST_BACKUP_HISTORY).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

#define MB (1024u * 1024u)

/* A 15 backup_label, as pg_basebackup writes it. */
static const char LABEL[] = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
                            "CHECKPOINT LOCATION: 0/2000060\n"
                            "BACKUP METHOD: streamed\n"
                            "BACKUP FROM: primary\n"
                            "START TIME: 2026-11-24 00:57:28 UTC\n"
                            "LABEL: nightly\n"
                            "START TIMELINE: 1\n";

static const char HISTORY[] = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
                              "STOP WAL LOCATION: 0/2000138 (file 000000010000000000000002)\n"
                              "CHECKPOINT LOCATION: 0/2000060\n"
                              "BACKUP METHOD: streamed\n"
                              "BACKUP FROM: primary\n"
                              "START TIME: 2026-11-24 00:57:28 +0530\n"
                              "LABEL: nightly\n"
                              "START TIMELINE: 1\n"
                              "STOP TIME: 2026-11-24 00:57:30 CET\n"
                              "STOP TIMELINE: 1\n";

static pitr_backup_label *parse(const char *text) {
    pitr_backup_label *l = NULL;
    CHECK_OK(pitr_backup_label_parse(text, &l));
    CHECK(l != NULL);
    return l;
}

static void test_backup_label_fields(void) {
    pitr_backup_label *l = parse(LABEL);
    CHECK(pitr_backup_label_kind(l) == PITR_LABEL_KIND_BACKUP_LABEL);
    CHECK(pitr_backup_label_start_lsn(l) == 0x2000028);
    CHECK(pitr_backup_label_checkpoint(l) == 0x2000060);
    CHECK(pitr_backup_label_timeline(l) == 1);
    CHECK_STR(pitr_backup_label_method(l), "streamed");
    CHECK_STR(pitr_backup_label_from(l), "primary");
    CHECK_STR(pitr_backup_label_label(l), "nightly");
    CHECK_STR(pitr_backup_label_start_time(l), "2026-11-24 00:57:28 UTC");
    CHECK(pitr_backup_label_stop_time(l) == NULL);

    char buf[PITR_WAL_NAME_BUFSIZE];
    size_t n = 0;
    CHECK_OK(pitr_backup_label_start_file(l, buf, sizeof buf, &n));
    CHECK_STR(buf, "000000010000000000000002");
    CHECK(n == 24);
    CHECK_STATUS(pitr_backup_label_start_file(l, buf, 24, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 24 && buf[0] == '\0');
    CHECK_STATUS(pitr_backup_label_start_file(l, NULL, 24, &n), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_start_file(NULL, buf, sizeof buf, &n), PITR_STATUS_NULL_ARGUMENT);

    uint32_t tli = 0;
    CHECK_OK(pitr_backup_label_start_timeline(l, &tli));
    CHECK(tli == 1);
    tli = 42;
    CHECK_STATUS(pitr_backup_label_stop_timeline(l, &tli), PITR_STATUS_NO_VALUE);
    CHECK(tli == 42);
    pitr_lsn stop = 7;
    CHECK_STATUS(pitr_backup_label_stop_lsn(l, &stop), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("STOP WAL LOCATION");
    CHECK(stop == 7);

    /* START TIME in UTC: an instant (2026-11-24 00:57:28 UTC). */
    int64_t us = 0;
    CHECK_OK(pitr_backup_label_start_timestamp(l, &us));
    CHECK(us == INT64_C(1795481848000000));
    CHECK_STATUS(pitr_backup_label_stop_timestamp(l, &us), PITR_STATUS_NO_VALUE);

    /* Canonical text round trip, JSON. */
    char *text = NULL;
    CHECK_OK(pitr_backup_label_to_text(l, &text));
    CHECK_STR(text, LABEL);
    pitr_string_free(text);
    char *json = NULL;
    CHECK_OK(pitr_backup_label_to_json(l, &json));
    CHECK_CONTAINS(json, "\"kind\":\"backup_label\"");
    CHECK_CONTAINS(json, "\"start\":{\"lsn\":\"0/2000028\",\"file\":\"000000010000000000000002\"}");
    CHECK_CONTAINS(json, "\"checkpoint\":\"0/2000060\"");
    CHECK_CONTAINS(json, "\"stop\":null");
    CHECK_CONTAINS(json, "\"timestamp\":\"2026-11-24T00:57:28Z\"");
    pitr_string_free(json);

    /* Checks that need the segment size. */
    bool valid = false;
    char *issues = NULL;
    CHECK_OK(pitr_backup_label_check(l, 16 * MB, &valid, &issues));
    CHECK(valid);
    CHECK_STR(issues, "[]");
    pitr_string_free(issues);
    issues = NULL;
    /* With 1 MB segments the file name does not name the LSN's segment: a warning. */
    CHECK_OK(pitr_backup_label_check(l, 1 * MB, &valid, &issues));
    CHECK(valid);
    CHECK_CONTAINS(issues, "\"severity\":\"warning\"");
    CHECK_CONTAINS(issues, "does not hold 0/2000028");
    pitr_string_free(issues);
    CHECK_OK(pitr_backup_label_check(l, 16 * MB, &valid, NULL));
    CHECK_STATUS(pitr_backup_label_check(l, 3 * MB, &valid, NULL), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_check(l, 16 * MB, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_check(NULL, 16 * MB, &valid, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_backup_label_free(l);
}

static void test_backup_history_fields(void) {
    pitr_backup_label *l = parse(HISTORY);
    CHECK(pitr_backup_label_kind(l) == PITR_LABEL_KIND_BACKUP_HISTORY);
    pitr_lsn stop = 0;
    CHECK_OK(pitr_backup_label_stop_lsn(l, &stop));
    CHECK(stop == 0x2000138);
    uint32_t tli = 0;
    CHECK_OK(pitr_backup_label_stop_timeline(l, &tli));
    CHECK(tli == 1);
    CHECK_STR(pitr_backup_label_stop_time(l), "2026-11-24 00:57:30 CET");
    /* A numeric offset fixes the instant: 00:57:28 +05:30 is 19:27:28 UTC the day before. */
    int64_t us = 0;
    CHECK_OK(pitr_backup_label_start_timestamp(l, &us));
    CHECK(us == INT64_C(1795481848000000) - INT64_C(19800000000));
    /* CET is an abbreviation pitr does not guess. */
    us = 5;
    CHECK_STATUS(pitr_backup_label_stop_timestamp(l, &us), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("CET");
    CHECK(us == 5);
    CHECK_STATUS(pitr_backup_label_start_timestamp(l, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_stop_timestamp(NULL, &us), PITR_STATUS_NULL_ARGUMENT);
    char *text = NULL;
    CHECK_OK(pitr_backup_label_to_text(l, &text));
    CHECK_STR(text, HISTORY);
    pitr_string_free(text);
    pitr_backup_label_free(l);

    /* A label with few lines: every optional getter says so. */
    l = parse("START WAL LOCATION: 0/9000028 (file 000000020000000000000009)\nCHECKPOINT LOCATION: 0/9000060\n");
    CHECK(pitr_backup_label_timeline(l) == 2);
    CHECK(pitr_backup_label_method(l) == NULL);
    CHECK(pitr_backup_label_from(l) == NULL);
    CHECK(pitr_backup_label_label(l) == NULL);
    CHECK(pitr_backup_label_start_time(l) == NULL);
    CHECK_STATUS(pitr_backup_label_start_timeline(l, &tli), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_backup_label_start_timestamp(l, &us), PITR_STATUS_NO_VALUE);
    bool valid = false;
    char *issues = NULL;
    CHECK_OK(pitr_backup_label_check(l, 16 * MB, &valid, &issues));
    CHECK(valid);
    CHECK_CONTAINS(issues, "no BACKUP METHOD line");
    pitr_string_free(issues);
    pitr_backup_label_free(l);

    /* What the server refuses at startup: START TIMELINE against line 1. */
    l = parse("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: "
              "0/2000060\nBACKUP METHOD: streamed\nSTART TIMELINE: 2\n");
    issues = NULL;
    CHECK_OK(pitr_backup_label_check(l, 16 * MB, &valid, &issues));
    CHECK(!valid);
    CHECK_CONTAINS(issues, "\"severity\":\"error\"");
    CHECK_CONTAINS(issues, "Timeline ID parsed is 2, but expected 1");
    pitr_string_free(issues);
    pitr_backup_label_free(l);
}

static void test_backup_label_errors(void) {
    pitr_backup_label *l = NULL;
    uint64_t line = 0;
    CHECK_STATUS(pitr_backup_label_parse("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\r\n"
                                         "CHECKPOINT LOCATION: 0/2000060\r\n",
                                         &l),
                 PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("CRLF");
    CHECK(pitr_last_error_line(&line) && line == 1);
    CHECK_STATUS(pitr_backup_label_parse("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n", &l),
                 PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("missing line 2");
    CHECK(pitr_last_error_line(&line) && line == 2);
    CHECK_STATUS(pitr_backup_label_parse("LABEL: x\n", &l), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_backup_label_parse("", &l), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_backup_label_parse("\xfe\n", &l), PITR_STATUS_INVALID_UTF8);
    CHECK_STATUS(pitr_backup_label_parse(NULL, &l), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_parse(LABEL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(l == NULL);

    CHECK_STATUS(pitr_backup_label_read("/nonexistent/backup_label", &l), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/backup_label");
    CHECK_STATUS(pitr_backup_label_read(NULL, &l), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_read("/nonexistent/backup_label", NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(l == NULL);

    /* NULL handles. */
    CHECK(pitr_backup_label_kind(NULL) == PITR_LABEL_KIND_UNKNOWN);
    CHECK(pitr_backup_label_start_lsn(NULL) == 0);
    CHECK(pitr_backup_label_checkpoint(NULL) == 0);
    CHECK(pitr_backup_label_timeline(NULL) == 0);
    CHECK(pitr_backup_label_method(NULL) == NULL);
    CHECK(pitr_backup_label_from(NULL) == NULL);
    CHECK(pitr_backup_label_label(NULL) == NULL);
    CHECK(pitr_backup_label_start_time(NULL) == NULL);
    CHECK(pitr_backup_label_stop_time(NULL) == NULL);
    pitr_lsn lsn = 0;
    uint32_t tli = 0;
    char *s = NULL;
    CHECK_STATUS(pitr_backup_label_stop_lsn(NULL, &lsn), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_start_timeline(NULL, &tli), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_stop_timeline(NULL, &tli), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_to_text(NULL, &s), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_to_json(NULL, &s), PITR_STATUS_NULL_ARGUMENT);
    pitr_backup_label *ok = parse(LABEL);
    CHECK_STATUS(pitr_backup_label_stop_lsn(ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_start_timeline(ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_stop_timeline(ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_to_text(ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_label_to_json(ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_backup_label_free(ok);
    pitr_backup_label_free(NULL);
}

/* The backup_label pg_basebackup wrote, against what it reported. */
static void test_backup_label_real(void) {
    const char *path = need_env("PITR_TEST_BACKUP_LABEL");
    const char *start_text = need_env("PITR_TEST_BACKUP_START");
    if (!path || !start_text) return;
    pitr_lsn start = 0;
    CHECK_OK(pitr_lsn_parse(start_text, &start));
    pitr_backup_label *l = NULL;
    CHECK_OK(pitr_backup_label_read(path, &l));
    CHECK(pitr_backup_label_kind(l) == PITR_LABEL_KIND_BACKUP_LABEL);
    CHECK(pitr_backup_label_start_lsn(l) == start);
    CHECK(pitr_backup_label_checkpoint(l) >= start);
    CHECK(pitr_backup_label_timeline(l) == 1);
    CHECK_STR(pitr_backup_label_method(l), "streamed");
    CHECK_STR(pitr_backup_label_from(l), "primary");
    CHECK_STR(pitr_backup_label_label(l), "pitr C tests");
    uint32_t tli = 0;
    CHECK_OK(pitr_backup_label_start_timeline(l, &tli));
    CHECK(tli == 1);
    /* The file named in line 1 is the segment of the start LSN (1 MB segments). */
    char name[PITR_WAL_NAME_BUFSIZE], expected[PITR_WAL_NAME_BUFSIZE];
    CHECK_OK(pitr_backup_label_start_file(l, name, sizeof name, NULL));
    CHECK_OK(pitr_segment_name_of_lsn(1, start, 1 * MB, expected, sizeof expected, NULL));
    CHECK_STR(name, expected);
    /* log_timezone is UTC: START TIME is an instant, taken just now. */
    int64_t us = 0;
    CHECK_OK(pitr_backup_label_start_timestamp(l, &us));
    int64_t now = (int64_t)time(NULL);
    CHECK(us / 1000000 <= now && us / 1000000 > now - 3600);
    bool valid = false;
    char *issues = NULL;
    CHECK_OK(pitr_backup_label_check(l, 1 * MB, &valid, &issues));
    CHECK(valid);
    CHECK_STR(issues, "[]");
    pitr_string_free(issues);
    /* pitr's canonical text is the server's text. */
    char *text = NULL, *file = read_file(path);
    CHECK_OK(pitr_backup_label_to_text(l, &text));
    CHECK_STR(text, file ? file : "");
    pitr_string_free(text);
    free(file);
    pitr_backup_label_free(l);
}

/* The backup history file the server archived for that backup. */
static void test_backup_history_real(void) {
    const char *path = need_env("PITR_TEST_BACKUP_HISTORY");
    const char *start_text = need_env("PITR_TEST_BACKUP_START");
    const char *stop_text = need_env("PITR_TEST_BACKUP_STOP");
    if (!path || !start_text || !stop_text) return;
    pitr_lsn start = 0, stop = 0, got = 0;
    CHECK_OK(pitr_lsn_parse(start_text, &start));
    CHECK_OK(pitr_lsn_parse(stop_text, &stop));
    pitr_backup_label *l = NULL;
    CHECK_OK(pitr_backup_label_read(path, &l));
    CHECK(pitr_backup_label_kind(l) == PITR_LABEL_KIND_BACKUP_HISTORY);
    CHECK(pitr_backup_label_start_lsn(l) == start);
    CHECK_OK(pitr_backup_label_stop_lsn(l, &got));
    CHECK(got == stop);
    uint32_t tli = 0;
    CHECK_OK(pitr_backup_label_stop_timeline(l, &tli));
    CHECK(tli == 1);
    int64_t t0 = 0, t1 = 0;
    CHECK_OK(pitr_backup_label_start_timestamp(l, &t0));
    CHECK_OK(pitr_backup_label_stop_timestamp(l, &t1));
    CHECK(t1 >= t0);
    CHECK(pitr_backup_label_stop_time(l) != NULL);
    /* Its name is the one pitr computes for it. */
    char name[PITR_WAL_NAME_BUFSIZE];
    CHECK_OK(pitr_backup_history_file_name(tli, start, 1 * MB, name, sizeof name, NULL));
    const char *base = strrchr(path, '/');
    CHECK_STR(base ? base + 1 : path, name);
    char *text = NULL, *file = read_file(path);
    CHECK_OK(pitr_backup_label_to_text(l, &text));
    CHECK_STR(text, file ? file : "");
    pitr_string_free(text);
    free(file);
    pitr_backup_label_free(l);
}

void run_label_tests(void) {
    RUN(test_backup_label_fields);
    RUN(test_backup_history_fields);
    RUN(test_backup_label_errors);
    RUN(test_backup_label_real);
    RUN(test_backup_history_real);
}
