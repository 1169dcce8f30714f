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

/* Files as restore_command fetches them: a segment and a history file from
 * the real archive, "not there" told apart from "broken". */
static void test_archive_get(void) {
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!archive || !segment || !tmp) return;
    const char *name = strrchr(segment, '/');
    name = name ? name + 1 : segment;
    char dir[600], dest[700], src[700];
    snprintf(dir, sizeof dir, "%s/%ld-get", tmp, (long)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(dest, sizeof dest, "%s/RECOVERYXLOG", dir);

    char *source = NULL;
    uint64_t bytes = 0;
    CHECK_OK(pitr_archive_get(archive, name, dest, &source, &bytes));
    CHECK_STR(source, segment);
    CHECK(bytes == 1 * MB);
    pitr_string_free(source);
    /* The same bytes as the archived file. */
    char *a = read_file(segment), *b = read_file(dest);
    CHECK(a && b && memcmp(a, b, 1 * MB) == 0);
    free(a);
    free(b);
    CHECK_OK(pitr_archive_get(archive, "00000002.history", dest, NULL, NULL));
    char *h = read_file(dest);
    CHECK(h && strncmp(h, "1\t", 2) == 0);
    free(h);

    /* Not there (the history files PostgreSQL probes), and only a broken
     * copy there: an error that is not "not found". */
    CHECK_STATUS(pitr_archive_get(archive, "00000009.history", dest, NULL, NULL), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("00000009.history is not in");
    CHECK_STATUS(pitr_archive_get(archive, "0000000100000000000000FF", dest, NULL, NULL),
                 PITR_STATUS_NO_VALUE);
    char broken[600];
    snprintf(broken, sizeof broken, "%s/%ld-broken-archive", tmp, (long)getpid());
    CHECK(mkdir(broken, 0700) == 0);
    snprintf(src, sizeof src, "%s/%s", broken, name);
    CHECK(write_file(src, "not a WAL segment"));
    source = NULL;
    CHECK_STATUS(pitr_archive_get(broken, name, dest, &source, &bytes), PITR_STATUS_CORRUPT_WAL);
    CHECK_ERROR_MENTIONS(src);
    CHECK(source == NULL);
    CHECK_STATUS(pitr_archive_get(archive, "backup_label", dest, NULL, NULL), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_archive_get(archive, "000000010000000000000001.gz", dest, NULL, NULL),
                 PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_archive_get("/nonexistent/archive", name, dest, NULL, NULL), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/archive");
    CHECK_STATUS(pitr_archive_get(NULL, name, dest, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_get(archive, NULL, dest, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_get(archive, name, NULL, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_get(archive, "\xff", dest, NULL, NULL), PITR_STATUS_INVALID_UTF8);
}

/* Copies every regular file of `from` into the new directory `to`. */
static int copy_dir(const char *from, const char *to) {
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", from, to);
    return system(cmd) == 0;
}

/* Cleanup of a copy of the real archive, keeping a backup that starts at the
 * restore point's segment: every segment before it goes, and the backup
 * history file of the real backup (not kept); a dry run first. */
static void test_archive_cleanup(void) {
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *rp = need_env("PITR_TEST_RESTORE_POINT");
    const char *backup = need_env("PITR_TEST_BACKUP");
    const char *start_text = need_env("PITR_TEST_BACKUP_START");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!archive || !segment || !rp || !backup || !start_text || !tmp) return;
    const char *name = strrchr(segment, '/');
    name = name ? name + 1 : segment;
    char copy[600], late[600], label[700], path[800];
    snprintf(copy, sizeof copy, "%s/%ld-cleanup", tmp, (long)getpid());
    CHECK(copy_dir(archive, copy));
    snprintf(late, sizeof late, "%s/%ld-late-backup", tmp, (long)getpid());
    CHECK(mkdir(late, 0700) == 0);
    snprintf(label, sizeof label, "%s/backup_label", late);
    char text[1024];
    snprintf(text, sizeof text,
             "START WAL LOCATION: %s (file %s)\nCHECKPOINT LOCATION: %s\nBACKUP METHOD: streamed\n"
             "BACKUP FROM: primary\nSTART TIME: 2026-11-24 00:57:28 UTC\nLABEL: late\nSTART TIMELINE: 1\n",
             rp, name, rp);
    CHECK(write_file(label, text));

    pitr_archive *a = NULL;
    CHECK_OK(pitr_archive_scan(copy, 0, &a));
    const char *keep[] = {label};
    size_t count = 0;
    char *json = NULL;
    CHECK_OK(pitr_archive_cleanup(a, keep, 1, false, &count, &json));
    CHECK(count >= 2);
    CHECK_CONTAINS(json, "\"deleted\":false");
    CHECK_CONTAINS(json, "\"before_every_backup\"");
    CHECK_CONTAINS(json, "\"backup_not_kept\"");
    CHECK_CONTAINS(json, "\"removed\":[]");
    pitr_string_free(json);
    /* The dry run removed nothing: the real backup's start segment is there. */
    pitr_lsn start = 0;
    CHECK_OK(pitr_lsn_parse(start_text, &start));
    char start_name[32];
    CHECK_OK(pitr_segment_name_of_lsn(1, start, 1 * MB, start_name, sizeof start_name, NULL));
    snprintf(path, sizeof path, "%s/%s", copy, start_name);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    /* Keeping the real backup too keeps its WAL. */
    const char *both[] = {label, backup};
    size_t fewer = 0;
    json = NULL;
    CHECK_OK(pitr_archive_cleanup(a, both, 2, false, &fewer, &json));
    CHECK(fewer < count);
    pitr_string_free(json);

    json = NULL;
    size_t removed = 0;
    CHECK_OK(pitr_archive_cleanup(a, keep, 1, true, &removed, &json));
    CHECK(removed == count);
    CHECK_CONTAINS(json, "\"deleted\":true");
    CHECK_CONTAINS(json, start_name);
    pitr_string_free(json);
    pitr_archive_free(a);
    CHECK(stat(path, &st) != 0);
    snprintf(path, sizeof path, "%s/%s", copy, name);
    CHECK(stat(path, &st) == 0); /* the kept backup's start segment */
    snprintf(path, sizeof path, "%s/00000002.history", copy);
    CHECK(stat(path, &st) == 0); /* history files always stay */
    /* Nothing left to remove. */
    a = NULL;
    CHECK_OK(pitr_archive_scan(copy, 0, &a));
    json = NULL;
    CHECK_OK(pitr_archive_cleanup(a, keep, 1, false, &count, &json));
    CHECK(count == 0);
    pitr_string_free(json);

    /* Refusals: nothing to keep, not a backup, NULL arguments. */
    json = NULL;
    CHECK_STATUS(pitr_archive_cleanup(a, NULL, 0, true, NULL, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("without a kept backup");
    const char *missing[] = {"/nonexistent/backup"};
    CHECK_STATUS(pitr_archive_cleanup(a, missing, 1, true, NULL, &json), PITR_STATUS_IO);
    const char *not_backup[] = {tmp};
    pitr_status s = pitr_archive_cleanup(a, not_backup, 1, true, NULL, &json);
    CHECK(s == PITR_STATUS_INVALID || s == PITR_STATUS_PARSE);
    const char *null_keep[] = {label, NULL};
    CHECK_STATUS(pitr_archive_cleanup(a, null_keep, 2, false, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("keep_backups[1]");
    CHECK_STATUS(pitr_archive_cleanup(a, NULL, 1, false, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_cleanup(a, keep, 1, false, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_archive_cleanup(NULL, keep, 1, false, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK(json == NULL);
    pitr_archive_free(a);
}

void run_archive_tests(void) {
    RUN(test_archive_real);
    RUN(test_archive_damage);
    RUN(test_archive_get);
    RUN(test_archive_cleanup);
}
