/*
 * Base backups: pitr_backup_* on the test servers' pg_basebackup
 * (PITR_TEST_BACKUP) and on a copy with a file changed after the backup
 * (PITR_TEST_BACKUP_TAMPERED).
 */
#include <stdint.h>
#include <stdlib.h>

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

void run_backup_tests(void) {
    RUN(test_backup_open);
    RUN(test_backup_verify);
}
