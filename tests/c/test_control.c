/*
 * pg_control: pitr_control_file_*, on the pg_control of a real server
 * (PITR_TEST_CONTROL) against what pg_controldata says about it
 * (PITR_TEST_CONTROLDATA), and on damaged copies of it.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

/* The value of a "Key:   value" line of pg_controldata's output, copied into
 * buf (empty when missing). */
static const char *controldata(const char *text, const char *key, char *buf, size_t len) {
    buf[0] = '\0';
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ') v++;
            size_t n = strcspn(v, "\n");
            if (n >= len) n = len - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            break;
        }
    }
    if (buf[0] == '\0') {
        harness_failures_in_test++;
        fprintf(stderr, "  pg_controldata has no line \"%s\"\n", key);
    }
    return buf;
}

static pitr_lsn lsn_of(const char *text) {
    pitr_lsn l = 0;
    CHECK_OK(pitr_lsn_parse(text, &l));
    return l;
}

/* The first `len` bytes of a binary file; returns how many were read. */
static size_t read_bytes(const char *path, unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, len, f);
    fclose(f);
    return n;
}

static void test_control_file_real(void) {
    const char *path = need_env("PITR_TEST_CONTROL");
    const char *cd_path = need_env("PITR_TEST_CONTROLDATA");
    if (!path || !cd_path) return;
    char *cd = read_file(cd_path);
    CHECK(cd != NULL);
    if (!cd) return;
    pitr_control_file *c = NULL;
    CHECK_OK(pitr_control_file_read(path, &c));
    char v[128];

    CHECK(pitr_control_file_major(c) == 15);
    CHECK(pitr_control_file_system_identifier(c) ==
          strtoull(controldata(cd, "Database system identifier", v, sizeof v), NULL, 10));
    CHECK_STR(pitr_control_file_state(c), controldata(cd, "Database cluster state", v, sizeof v));
    CHECK(pitr_control_file_checkpoint(c) == lsn_of(controldata(cd, "Latest checkpoint location", v, sizeof v)));
    CHECK(pitr_control_file_redo(c) == lsn_of(controldata(cd, "Latest checkpoint's REDO location", v, sizeof v)));
    CHECK(pitr_control_file_timeline(c) ==
          strtoul(controldata(cd, "Latest checkpoint's TimeLineID", v, sizeof v), NULL, 10));
    CHECK(pitr_control_file_timeline(c) == 2); /* the promoted restore */
    CHECK(pitr_control_file_min_recovery_point(c) ==
          lsn_of(controldata(cd, "Minimum recovery ending location", v, sizeof v)));
    CHECK(pitr_control_file_min_recovery_point_timeline(c) ==
          strtoul(controldata(cd, "Min recovery ending loc's timeline", v, sizeof v), NULL, 10));
    CHECK(pitr_control_file_backup_start_point(c) == lsn_of(controldata(cd, "Backup start location", v, sizeof v)));
    CHECK(pitr_control_file_backup_end_point(c) == lsn_of(controldata(cd, "Backup end location", v, sizeof v)));
    CHECK(pitr_control_file_backup_end_required(c) ==
          (strcmp(controldata(cd, "End-of-backup record required", v, sizeof v), "yes") == 0));
    CHECK(pitr_control_file_wal_segment_size(c) ==
          strtoul(controldata(cd, "Bytes per WAL segment", v, sizeof v), NULL, 10));
    CHECK(pitr_control_file_wal_segment_size(c) == 1024 * 1024);
    CHECK_STR(pitr_control_file_wal_level(c), controldata(cd, "wal_level setting", v, sizeof v));
    CHECK(pitr_control_file_data_checksums(c) ==
          (strcmp(controldata(cd, "Data page checksum version", v, sizeof v), "0") != 0));
    CHECK(pitr_control_file_crc_ok(c));
    /* The checkpoint was written by the test servers, a moment ago. */
    int64_t us = 0;
    CHECK_OK(pitr_control_file_checkpoint_time(c, &us));
    int64_t now = (int64_t)time(NULL);
    CHECK(us % 1000000 == 0 && us / 1000000 <= now && us / 1000000 > now - 3600);
    CHECK_STATUS(pitr_control_file_checkpoint_time(c, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_control_file_checkpoint_time(NULL, &us), PITR_STATUS_NULL_ARGUMENT);

    char *json = NULL;
    CHECK_OK(pitr_control_file_to_json(c, &json));
    char expected[96];
    snprintf(expected, sizeof expected, "\"system_identifier\":\"%" PRIu64 "\"",
             pitr_control_file_system_identifier(c));
    CHECK_CONTAINS(json, expected);
    CHECK_CONTAINS(json, "\"major\":15");
    pitr_string_free(json);
    CHECK_STATUS(pitr_control_file_to_json(c, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_control_file_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    pitr_control_file_free(c);
    free(cd);
}

static void test_control_file_parse_and_damage(void) {
    const char *path = need_env("PITR_TEST_CONTROL");
    if (!path) return;
    static unsigned char buf[8192];
    size_t n = read_bytes(path, buf, sizeof buf);
    CHECK(n == sizeof buf);
    pitr_control_file *from_file = NULL, *c = NULL;
    CHECK_OK(pitr_control_file_read(path, &from_file));
    CHECK_OK(pitr_control_file_parse(buf, n, "copy", true, &c));
    CHECK(pitr_control_file_checkpoint(c) == pitr_control_file_checkpoint(from_file));
    CHECK(pitr_control_file_system_identifier(c) == pitr_control_file_system_identifier(from_file));
    pitr_control_file_free(c);
    c = NULL;
    /* Only the data part (296 bytes on 15) is needed. */
    CHECK_OK(pitr_control_file_parse(buf, 296, NULL, true, &c));
    pitr_control_file_free(c);
    c = NULL;

    /* One flipped byte: the CRC says so, unless asked to accept it. */
    buf[100] ^= 0x40;
    CHECK_STATUS(pitr_control_file_parse(buf, n, "damaged", true, &c), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("CRC mismatch");
    CHECK_STR(pitr_last_error_file(), "damaged");
    CHECK(c == NULL);
    CHECK_OK(pitr_control_file_parse(buf, n, "damaged", false, &c));
    CHECK(!pitr_control_file_crc_ok(c));
    pitr_control_file_free(c);
    c = NULL;
    buf[100] ^= 0x40;

    CHECK_STATUS(pitr_control_file_parse(buf, 100, NULL, true, &c), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("truncated");
    CHECK_STR(pitr_last_error_file(), "pg_control");
    CHECK_STATUS(pitr_control_file_parse(NULL, 0, NULL, true, &c), PITR_STATUS_PARSE);
    /* A pg_control_version pitr does not know (PostgreSQL 12 wrote 1201). */
    unsigned char old[8192];
    memcpy(old, buf, sizeof old);
    old[8] = 0xB1; /* 1201 = 0x04B1, little-endian */
    old[9] = 0x04;
    CHECK_STATUS(pitr_control_file_parse(old, sizeof old, "old", false, &c), PITR_STATUS_UNSUPPORTED);
    CHECK_ERROR_MENTIONS("pitr reads PostgreSQL 13 to 18");
    CHECK_STATUS(pitr_control_file_parse(NULL, 10, NULL, true, &c), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_control_file_parse(buf, n, NULL, true, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_control_file_parse(buf, n, "\xff", true, &c), PITR_STATUS_INVALID_UTF8);
    CHECK(c == NULL);

    CHECK_STATUS(pitr_control_file_read("/nonexistent/global/pg_control", &c), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/global/pg_control");
    CHECK_STATUS(pitr_control_file_read(NULL, &c), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_control_file_read(path, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(c == NULL);
    pitr_control_file_free(from_file);

    /* NULL handles: neutral values. */
    CHECK(pitr_control_file_major(NULL) == 0);
    CHECK(pitr_control_file_system_identifier(NULL) == 0);
    CHECK(pitr_control_file_state(NULL) == NULL);
    CHECK(pitr_control_file_checkpoint(NULL) == 0);
    CHECK(pitr_control_file_redo(NULL) == 0);
    CHECK(pitr_control_file_timeline(NULL) == 0);
    CHECK(pitr_control_file_min_recovery_point(NULL) == 0);
    CHECK(pitr_control_file_min_recovery_point_timeline(NULL) == 0);
    CHECK(pitr_control_file_backup_start_point(NULL) == 0);
    CHECK(pitr_control_file_backup_end_point(NULL) == 0);
    CHECK(!pitr_control_file_backup_end_required(NULL));
    CHECK(pitr_control_file_wal_segment_size(NULL) == 0);
    CHECK(pitr_control_file_wal_level(NULL) == NULL);
    CHECK(!pitr_control_file_data_checksums(NULL));
    CHECK(!pitr_control_file_crc_ok(NULL));
    pitr_control_file_free(NULL);
}

void run_control_tests(void) {
    RUN(test_control_file_real);
    RUN(test_control_file_parse_and_damage);
}
