/*
 * Base backups: pitr_backup_* on the test servers' pg_basebackup
 * (PITR_TEST_BACKUP) and on a copy with a file changed after the backup
 * (PITR_TEST_BACKUP_TAMPERED).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void test_backup_open(void) {
    const char *path = need_env("PITR_TEST_BACKUP");
    const char *start_text = need_env("PITR_TEST_BACKUP_START");
    const char *control = need_env("PITR_TEST_CONTROL");
    if (!path || !start_text || !control) return;
    pitr_lsn start = 0;
    CHECK_OK(pitr_lsn_parse(start_text, &start));
    pitr_backup *b = NULL;
    CHECK_OK(pitr_backup_open(path, &b));
    CHECK(pitr_backup_major(b) == 15);
    CHECK(!pitr_backup_has_errors(b));

    pitr_backup_label *l = NULL;
    CHECK_OK(pitr_backup_get_label(b, &l));
    CHECK(pitr_backup_label_start_lsn(l) == start);
    CHECK_STR(pitr_backup_label_label(l), "pitr C tests");
    pitr_backup_label_free(l);

    pitr_control_file *c = NULL, *promoted = NULL;
    CHECK_OK(pitr_backup_get_control_file(b, &c));
    CHECK_OK(pitr_control_file_read(control, &promoted));
    /* Same cluster as the restore promoted from it; copied while running. */
    CHECK(pitr_control_file_system_identifier(c) == pitr_control_file_system_identifier(promoted));
    CHECK_STR(pitr_control_file_state(c), "in production");
    CHECK(pitr_control_file_timeline(c) == 1);
    pitr_control_file_free(c);
    pitr_control_file_free(promoted);

    char *json = NULL;
    CHECK_OK(pitr_backup_to_json(b, false, &json));
    CHECK_CONTAINS(json, "\"format\":\"plain\"");
    CHECK_CONTAINS(json, "\"manifest\":{");
    CHECK(strstr(json ? json : "", "\"files\":[") == NULL);
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_backup_to_json(b, true, &json));
    CHECK_CONTAINS(json, "PG_VERSION");
    pitr_string_free(json);
    CHECK_STATUS(pitr_backup_to_json(b, false, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_to_json(NULL, false, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_get_label(b, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_get_label(NULL, &l), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_get_control_file(b, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_get_control_file(NULL, &c), PITR_STATUS_NULL_ARGUMENT);
    pitr_backup_free(b);

    /* A bare backup_label is a backup too, without pg_control. */
    const char *label = need_env("PITR_TEST_BACKUP_LABEL");
    if (label) {
        b = NULL;
        CHECK_OK(pitr_backup_open(label, &b));
        c = NULL;
        CHECK_STATUS(pitr_backup_get_control_file(b, &c), PITR_STATUS_NO_VALUE);
        CHECK(c == NULL);
        json = NULL;
        CHECK_OK(pitr_backup_to_json(b, false, &json));
        CHECK_CONTAINS(json, "\"format\":\"label\"");
        pitr_string_free(json);
        pitr_backup_free(b);
    }
    b = NULL;
    CHECK_STATUS(pitr_backup_open("/nonexistent/backup", &b), PITR_STATUS_IO);
    CHECK_STATUS(pitr_backup_open(NULL, &b), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_open(path, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(b == NULL);
    CHECK(pitr_backup_major(NULL) == 0);
    CHECK(!pitr_backup_has_errors(NULL));
    pitr_backup_free(NULL);
}

static void test_backup_verify(void) {
    const char *path = need_env("PITR_TEST_BACKUP");
    const char *tampered = need_env("PITR_TEST_BACKUP_TAMPERED");
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    if (!path || !tampered || !archive) return;
    bool ok = false;
    char *json = NULL;
    CHECK_OK(pitr_backup_verify(path, NULL, false, &ok, &json));
    CHECK(ok);
    CHECK_CONTAINS(json, "\"ok\":true");
    pitr_string_free(json);
    json = NULL;
    ok = false;
    CHECK_OK(pitr_backup_verify(path, archive, true, &ok, &json));
    CHECK(ok);
    pitr_string_free(json);

    json = NULL;
    CHECK_OK(pitr_backup_verify(tampered, NULL, false, &ok, &json));
    CHECK(!ok);
    CHECK_CONTAINS(json, "\"ok\":false");
    CHECK_CONTAINS(json, "postgresql.conf");
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_backup_verify(tampered, NULL, true, NULL, &json)); /* the size changed too */
    CHECK_CONTAINS(json, "\"ok\":false");
    pitr_string_free(json);

    json = NULL;
    CHECK_STATUS(pitr_backup_verify("/nonexistent/backup", NULL, false, &ok, &json), PITR_STATUS_IO);
    CHECK_STATUS(pitr_backup_verify(NULL, NULL, false, &ok, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_verify(path, NULL, false, &ok, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_verify(path, "\xff", false, &ok, &json), PITR_STATUS_INVALID_UTF8);
    CHECK(json == NULL);
}

/* Extraction of the real backup into a new directory: its files, its WAL
 * (or not), never over a directory that is not empty. */
static void test_backup_extract(void) {
    const char *path = need_env("PITR_TEST_BACKUP");
    const char *label = need_env("PITR_TEST_BACKUP_LABEL");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!path || !label || !tmp) return;
    pitr_backup *b = NULL;
    CHECK_OK(pitr_backup_open(path, &b));
    char target[600], file[700];
    snprintf(target, sizeof target, "%s/%ld-extracted", tmp, (long)getpid());
    char *json = NULL;
    CHECK_OK(pitr_backup_extract(b, target, NULL, NULL, 0, true, &json));
    CHECK_CONTAINS(json, "\"files\":");
    CHECK_CONTAINS(json, "\"tablespaces\":[]");
    CHECK(json && strstr(json, "\"wal_files\":0,") == NULL); /* pg_basebackup -X stream */
    pitr_string_free(json);
    struct stat st;
    snprintf(file, sizeof file, "%s/PG_VERSION", target);
    CHECK(stat(file, &st) == 0);
    char *a = read_file(file), *want = NULL;
    snprintf(file, sizeof file, "%s/PG_VERSION", path);
    want = read_file(file);
    CHECK_STR(a, want ? want : "");
    free(a);
    free(want);
    snprintf(file, sizeof file, "%s/backup_label", target);
    CHECK(stat(file, &st) == 0);
    CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0700);

    /* Not over what is there; the directory is left as it was. */
    json = NULL;
    CHECK_STATUS(pitr_backup_extract(b, target, NULL, NULL, 0, true, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("not empty");
    CHECK(json == NULL);
    snprintf(file, sizeof file, "%s/PG_VERSION", target);
    CHECK(stat(file, &st) == 0);

    /* Without the WAL. */
    char nowal[600];
    snprintf(nowal, sizeof nowal, "%s/%ld-extracted-nowal", tmp, (long)getpid());
    CHECK_OK(pitr_backup_extract(b, nowal, NULL, NULL, 0, false, &json));
    CHECK_CONTAINS(json, "\"wal_files\":0,");
    pitr_string_free(json);

    /* Arguments. */
    char other[600];
    snprintf(other, sizeof other, "%s/%ld-not-extracted", tmp, (long)getpid());
    json = NULL;
    const uint32_t oids[] = {16390, 16390};
    const char *dirs[] = {"/t1", "/t2"};
    CHECK_STATUS(pitr_backup_extract(b, other, oids, dirs, 2, true, &json), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_backup_extract(b, other, NULL, dirs, 1, true, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_extract(b, NULL, NULL, NULL, 0, true, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_extract(b, other, NULL, NULL, 0, true, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_extract(NULL, other, NULL, NULL, 0, true, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_backup_extract(b, "\xff", NULL, NULL, 0, true, &json), PITR_STATUS_INVALID_UTF8);
    CHECK(json == NULL);
    CHECK(stat(other, &st) != 0);
    pitr_backup_free(b);

    /* A bare backup_label has nothing to extract. */
    b = NULL;
    CHECK_OK(pitr_backup_open(label, &b));
    CHECK_STATUS(pitr_backup_extract(b, other, NULL, NULL, 0, true, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("cannot be restored");
    CHECK(stat(other, &st) != 0);
    pitr_backup_free(b);
}

void run_backup_tests(void) {
    RUN(test_backup_open);
    RUN(test_backup_verify);
    RUN(test_backup_extract);
}
