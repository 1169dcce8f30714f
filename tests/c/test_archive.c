/*
 * WAL archives: pitr_archive_* on the test servers' real archive
 * (PITR_TEST_ARCHIVE) and on a copy with a damaged segment.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define MB (1024u * 1024u)

static void test_archive_real(void) {
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *control = need_env("PITR_TEST_CONTROL");
    if (!archive || !segment || !control) return;
    pitr_archive *a = NULL;
    CHECK_OK(pitr_archive_scan(archive, 0, &a));
    CHECK(pitr_archive_segment_size(a) == 1 * MB);
    CHECK(pitr_archive_segment_count(a) >= 2);
    /* The archive's segments carry the cluster's system identifier. */
    pitr_control_file *c = NULL;
    CHECK_OK(pitr_control_file_read(control, &c));
    uint64_t sysid = 0;
    CHECK_OK(pitr_archive_system_identifier(a, &sysid));
    CHECK(sysid == pitr_control_file_system_identifier(c));
    pitr_control_file_free(c);
    /* The preferred copy of the segment the fixtures archived last. */
    pitr_wal_file_name *f = NULL;
    const char *base = strrchr(segment, '/');
    CHECK_OK(pitr_wal_file_name_classify(base ? base + 1 : segment, &f));
    uint64_t segno = 0;
    CHECK_OK(pitr_wal_file_name_segno(f, 1 * MB, &segno));
    pitr_wal_file_name_free(f);
    char *path = NULL;
    CHECK_OK(pitr_archive_segment_path(a, 1, segno, &path));
    CHECK_STR(path, segment);
    pitr_string_free(path);
    path = NULL;
    CHECK_STATUS(pitr_archive_segment_path(a, 1, 100000, &path), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_archive_segment_path(a, 9, segno, &path), PITR_STATUS_NO_VALUE);
    CHECK(path == NULL);

    char *json = NULL;
    CHECK_OK(pitr_archive_to_json(a, &json));
    char expected[64];
    snprintf(expected, sizeof expected, "\"system_id\":\"%" PRIu64 "\"", sysid);
    CHECK_CONTAINS(json, expected);
    CHECK_CONTAINS(json, "\"wal_segment_size\":1048576");
    CHECK_CONTAINS(json, "\"pg_version\":15");
    CHECK_CONTAINS(json, "00000002.history");
    pitr_string_free(json);

    /* Shallow and deep verification. */
    bool clean = false;
    json = NULL;
    CHECK_OK(pitr_archive_verify(a, false, &clean, &json));
    CHECK_CONTAINS(json, "\"files_checked\":");
    CHECK_CONTAINS(json, "\"deep\":");
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_archive_verify(a, true, NULL, &json));
    CHECK(strstr(json ? json : "", "crc_mismatch") == NULL);
    CHECK(strstr(json ? json : "", "invalid_record") == NULL);
    pitr_string_free(json);
    (void)clean;

    CHECK_STATUS(pitr_archive_verify(a, false, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_verify(NULL, false, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_to_json(a, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_segment_path(a, 1, segno, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_segment_path(NULL, 1, segno, &path), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_system_identifier(a, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_system_identifier(NULL, &sysid), PITR_STATUS_NULL_ARGUMENT);
    pitr_archive_free(a);
}

/* One segment with a flipped byte in a record: only the deep check sees it. */
static void test_archive_damage(void) {
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!segment || !tmp) return;
    static unsigned char buf[1024 * 1024];
    FILE *f = fopen(segment, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof buf);
    /* The commit's timestamp, well inside the segment's first records. */
    pitr_wal_reader *r = NULL;
    CHECK_OK(pitr_wal_reader_open(segment, 0, 0, &r));
    bool has = false;
    pitr_lsn victim = 0;
    uint32_t len = 0;
    while (victim == 0 && pitr_wal_reader_next(r, &has) == PITR_STATUS_OK && has) {
        pitr_lsn l = pitr_wal_reader_record_lsn(r);
        uint32_t t = pitr_wal_reader_record_total_length(r);
        if (strcmp(pitr_wal_reader_record_rmgr_name(r), "Heap") == 0 && (l % 8192) + t <= 8192) {
            victim = l;
            len = t;
        }
    }
    pitr_wal_reader_free(r);
    buf[(victim % (1024 * 1024)) + len - 1] ^= 0xFF;
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%ld-archive", tmp, (long)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    const char *base = strrchr(segment, '/');
    snprintf(path, sizeof path, "%s/%s", dir, base ? base + 1 : segment);
    f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(buf, 1, n, f) == n);
    if (f) fclose(f);

    pitr_archive *a = NULL;
    CHECK_OK(pitr_archive_scan(dir, 1 * MB, &a));
    bool clean = false;
    char *json = NULL;
    CHECK_OK(pitr_archive_verify(a, false, &clean, &json));
    CHECK(clean);
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_archive_verify(a, true, &clean, &json));
    CHECK(!clean);
    CHECK_CONTAINS(json, "\"crc_mismatch\"");
    pitr_string_free(json);
    pitr_archive_free(a);

    a = NULL;
    CHECK_STATUS(pitr_archive_scan("/nonexistent/archive", 0, &a), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/archive");
    CHECK_STATUS(pitr_archive_scan(dir, 3 * MB, &a), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_archive_scan(NULL, 0, &a), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_scan(dir, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(a == NULL);
    CHECK(pitr_archive_segment_size(NULL) == 0);
    CHECK(pitr_archive_segment_count(NULL) == 0);
    pitr_archive_free(NULL);
}

void run_archive_tests(void) {
    RUN(test_archive_real);
    RUN(test_archive_damage);
}
