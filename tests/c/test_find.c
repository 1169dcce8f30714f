/*
 * Finding transactions: pitr_find on the test servers' archive and base
 * backup, compared with what a real PostgreSQL 15 did when it recovered the
 * backup to the commit of PITR_TEST_XID (tests/c/pg-fixtures.sh).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

static int archive_options(pitr_find_options *o) {
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    const char *backup = need_env("PITR_TEST_BACKUP");
    CHECK_OK(pitr_find_options_init(o));
    o->archive = archive;
    o->backup = backup;
    o->timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    return archive && backup;
}

/* The commit of PITR_TEST_XID, with the targets that stop just before and
 * just after it: the "after" one is where the server paused. */
static void test_find_a_transaction(void) {
    const char *xid_text = need_env("PITR_TEST_XID");
    const char *replay = need_env("PITR_TEST_XID_REPLAY_LSN");
    pitr_find_options o;
    if (!archive_options(&o) || !xid_text || !replay) return;
    o.has_xid = true;
    o.xid = (uint32_t)strtoul(xid_text, NULL, 10);
    size_t count = 0;
    char *json = NULL;
    CHECK_OK(pitr_find(&o, &count, &json));
    CHECK(count == 1);
    char want[200];
    CHECK_CONTAINS(json, "\"found\":true");
    snprintf(want, sizeof want, "\"kind\":\"commit\",\"xid\":%s,", xid_text);
    CHECK_CONTAINS(json, want);
    snprintf(want, sizeof want, "\"replay_lsn\":\"%s\"", replay);
    CHECK_CONTAINS(json, want);
    snprintf(want, sizeof want, "\"recovery_target_xid\":\"%s\"", xid_text);
    CHECK_CONTAINS(json, want);
    CHECK_CONTAINS(json, "\"recovery_target_inclusive\":\"off\"");
    CHECK_CONTAINS(json, "\"reachable_from_backup\":true");
    pitr_string_free(json);

    /* The same from the one archived segment that holds it, read like pg_waldump. */
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    if (!segment) return;
    pitr_find_options p;
    CHECK_OK(pitr_find_options_init(&p));
    const char *paths[] = {segment};
    p.wal_paths = paths;
    p.n_wal_paths = 1;
    p.has_xid = true;
    p.xid = o.xid;
    json = NULL;
    CHECK_OK(pitr_find(&p, NULL, &json));
    snprintf(want, sizeof want, "\"xid\":%s,", xid_text);
    CHECK_CONTAINS(json, want);
    pitr_string_free(json);

    /* A transaction that never ended: nothing found is not an error. */
    o.xid = 4000000;
    json = NULL;
    count = 99;
    CHECK_OK(pitr_find(&o, &count, &json));
    CHECK(count == 0);
    CHECK_CONTAINS(json, "\"found\":false");
    CHECK_CONTAINS(json, "\"transactions\":[]");
    pitr_string_free(json);
}

/* A window by LSN, commits only, a limit; a table resolved through the
 * backup's catalog. */
static void test_find_window_and_table(void) {
    const char *start = need_env("PITR_TEST_BACKUP_START");
    const char *rp = need_env("PITR_TEST_RESTORE_POINT");
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_find_options o;
    if (!archive_options(&o) || !start || !rp || !xid_text) return;
    o.from = start;
    o.to = rp;
    o.kinds = PITR_FIND_KINDS_COMMITS_ONLY;
    size_t count = 0;
    char *json = NULL;
    CHECK_OK(pitr_find(&o, &count, &json));
    CHECK(count >= 1);
    char want[100];
    snprintf(want, sizeof want, "\"xid\":%s,", xid_text);
    CHECK_CONTAINS(json, want);
    CHECK(json && strstr(json, "\"kind\":\"abort\"") == NULL);
    pitr_string_free(json);
    o.limit = 1;
    o.from = NULL;
    o.to = NULL;
    json = NULL;
    CHECK_OK(pitr_find(&o, &count, &json));
    CHECK(count == 1);
    pitr_string_free(json);

    pitr_find_options t;
    if (!archive_options(&t)) return;
    t.table = "public.t";
    json = NULL;
    CHECK_OK(pitr_find(&t, &count, &json));
    CHECK_CONTAINS(json, "\"table\":{");
    CHECK_CONTAINS(json, "\"source\":\"backup\"");
    pitr_string_free(json);
}

static void test_find_errors(void) {
    CHECK_STATUS(pitr_find_options_init(NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_find_options o;
    char *json = NULL;
    CHECK_OK(pitr_find_options_init(&o));
    CHECK(o.archive == NULL && o.backup == NULL && o.wal_paths == NULL && o.n_wal_paths == 0);
    CHECK(o.timeline_kind == PITR_TIMELINE_TARGET_LATEST && o.kinds == PITR_FIND_KINDS_ALL && o.limit == 1000);
    CHECK(!o.has_xid && !o.has_db && !o.drops_only && !o.modified);
    CHECK_STATUS(pitr_find(&o, NULL, &json), PITR_STATUS_NULL_ARGUMENT); /* no WAL */
    if (!archive_options(&o)) return;
    CHECK_STATUS(pitr_find(NULL, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_find(&o, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_find_options bad = o;
    const char *paths[] = {"/wal"};
    bad.wal_paths = paths;
    bad.n_wal_paths = 1;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT);
    bad.archive = NULL;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT); /* backup without archive */
    const char *null_paths[] = {NULL};
    bad.backup = NULL;
    bad.wal_paths = null_paths;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("options->wal_paths[0]");
    bad = o;
    bad.kinds = 7;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.timeline_kind = PITR_TIMELINE_TARGET_NUMBERED;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.modified = true;
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.timezone = "Mars/Olympus_Mons";
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.from = "not a time";
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("neither an LSN");
    bad = o;
    bad.to = "\xff";
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_INVALID_UTF8);
    bad = o;
    bad.archive = "/nonexistent/archive";
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_IO);
    bad = o;
    bad.backup = "/nonexistent/backup";
    CHECK_STATUS(pitr_find(&bad, NULL, &json), PITR_STATUS_IO);
    CHECK(json == NULL);
}

void run_find_tests(void) {
    RUN(test_find_a_transaction);
    RUN(test_find_window_and_table);
    RUN(test_find_errors);
}
