/*
 * Finding transactions: pitr_find on the test servers' archive and base
 * backup, compared with what a real PostgreSQL 15 did when it recovered the
 * backup to the commit of PITR_TEST_XID (tests/c/pg-fixtures.sh); the
 * progress of its WAL scan (pitr_find_with_progress) against the files it
 * reads and the plain call.
 */
#define _POSIX_C_SOURCE 200809L
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

/* pitr_find_with_progress into a fresh log. */
static pitr_status find_logged(const pitr_find_options *o, size_t *out_count, char **out_json,
                               progress_log *log) {
    progress_log_start(log);
    log->in_call = 1;
    pitr_status s = pitr_find_with_progress(o, out_count, out_json, progress_record, log);
    log->in_call = 0;
    return s;
}

/* pitr_find and pitr_find_with_progress on the same options: the same
 * document and count; the progress log in *log. */
static void check_find_alike(const pitr_find_options *o, progress_log *log) {
    size_t want_count = 0, got_count = 0;
    char *want = NULL, *got = NULL;
    CHECK_OK(pitr_find(o, &want_count, &want));
    CHECK_OK(find_logged(o, &got_count, &got, log));
    CHECK(want_count == got_count);
    CHECK(want != NULL && got != NULL);
    if (want && got && strcmp(want, got) != 0) {
        harness_failures_in_test++;
        fprintf(stderr, "  find reports differ:\n    %s\n    %s\n", want, got);
    }
    pitr_string_free(want);
    pitr_string_free(got);
}

/* The progress of find's WAL scan: over the archive from the backup, every
 * file of the path is entered, one call each (at least the files a plan of
 * the same backup reads); one segment given as a path is one call of one;
 * a window ending at an LSN reads no more files; the report is pitr_find's,
 * with a callback and without one. */
static void test_find_with_progress(void) {
    const char *xid_text = need_env("PITR_TEST_XID");
    const char *rp = need_env("PITR_TEST_RESTORE_POINT");
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *still = need_env("PITR_TEST_ARCHIVE_STILL");
    pitr_find_options o;
    if (!archive_options(&o) || !xid_text || !rp || !segment || !still) return;
    /* Results compared across calls: WAL that does not grow meanwhile. */
    o.archive = still;
    unsigned long foreign = progress_foreign_user_data;

    progress_log all;
    check_find_alike(&o, &all);
    CHECK_PROGRESS_IN_STEP(all);
    CHECK(all.last_done == all.first_total);
    /* The plan of the same backup and archive to the end of timeline 1. */
    pitr_plan_options po;
    CHECK_OK(pitr_plan_options_init(&po));
    po.backup = o.backup;
    po.archive = o.archive;
    po.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    progress_log planned;
    progress_log_start(&planned);
    pitr_recovery_plan *p = NULL;
    planned.in_call = 1;
    CHECK_OK(pitr_plan_with_progress(&po, &p, progress_record, &planned));
    planned.in_call = 0;
    pitr_recovery_plan_free(p);
    CHECK_PROGRESS_IN_STEP(planned);
    CHECK(all.first_total >= planned.first_total);

    /* One transaction: the same files. */
    pitr_find_options x = o;
    x.has_xid = true;
    x.xid = (uint32_t)strtoul(xid_text, NULL, 10);
    progress_log one_xid;
    check_find_alike(&x, &one_xid);
    CHECK_PROGRESS_IN_STEP(one_xid);
    CHECK(one_xid.calls == all.calls && one_xid.first_total == all.first_total);

    /* Up to the restore point: fewer files or as many, counted in step. */
    pitr_find_options w = o;
    w.to = rp;
    progress_log window;
    check_find_alike(&w, &window);
    CHECK_PROGRESS_IN_STEP(window);
    CHECK(window.first_total <= all.first_total);

    /* One segment file: one call, 1 of 1. */
    pitr_find_options f;
    CHECK_OK(pitr_find_options_init(&f));
    const char *paths[] = {segment};
    f.wal_paths = paths;
    f.n_wal_paths = 1;
    progress_log single;
    check_find_alike(&f, &single);
    CHECK(single.calls == 1 && single.first_total == 1 && single.last_done == 1);
    CHECK_PROGRESS_IN_STEP(single);

    /* No callback: no calls, the same report; out_count is optional. */
    progress_log none;
    progress_log_start(&none);
    char *want = NULL, *got = NULL;
    CHECK_OK(pitr_find(&x, NULL, &want));
    none.in_call = 1;
    CHECK_OK(pitr_find_with_progress(&x, NULL, &got, NULL, &none));
    none.in_call = 0;
    CHECK(none.calls == 0);
    CHECK(want && got && strcmp(want, got) == 0);
    pitr_string_free(got);
    CHECK(progress_foreign_user_data == foreign);

    /* user_data is passed as given, NULL too. */
    got = NULL;
    CHECK_OK(pitr_find_with_progress(&x, NULL, &got, progress_record, NULL));
    CHECK(progress_foreign_user_data - foreign == one_xid.calls);
    CHECK(want && got && strcmp(want, got) == 0);
    pitr_string_free(got);

    /* A non-zero return cancels at that file: no document, no count. */
    if (all.first_total >= 2) {
        progress_log cancel;
        progress_log_start(&cancel);
        cancel.cancel_at = 2;
        got = NULL;
        size_t count = 99;
        cancel.in_call = 1;
        CHECK_STATUS(pitr_find_with_progress(&o, &count, &got, progress_record, &cancel), PITR_STATUS_CANCELLED);
        cancel.in_call = 0;
        CHECK(got == NULL && count == 99 && cancel.calls == 2);
        CHECK_PROGRESS_IN_STEP(cancel);
        CHECK_ERROR_MENTIONS("cancelled by the caller at WAL file 2 of");
    }
    pitr_string_free(want);
}

/* pitr_find and pitr_find_with_progress fail alike on the same arguments:
 * the same status and last error, no document, and no progress call. */
static void check_find_fails_alike(const char *what, const pitr_find_options *o, int with_out) {
    int failures = harness_failures_in_test;
    char *json = NULL;
    size_t count = 99;
    pitr_status want = pitr_find(o, &count, with_out ? &json : NULL);
    char *msg = strdup(pitr_last_error());
    progress_log log;
    pitr_status got = find_logged(o, &count, with_out ? &json : NULL, &log);
    CHECK(want != PITR_STATUS_OK);
    CHECK_STATUS(got, want);
    CHECK(pitr_last_error_status() == want);
    CHECK_STR(pitr_last_error(), msg ? msg : "");
    CHECK(json == NULL && count == 99);
    CHECK(log.calls == 0);
    free(msg);
    if (harness_failures_in_test != failures) fprintf(stderr, "    (case: %s)\n", what);
}

static void test_find_with_progress_errors(void) {
    pitr_find_options o;
    CHECK_OK(pitr_find_options_init(&o));
    check_find_fails_alike("no WAL", &o, 1);
    if (!archive_options(&o)) return;
    check_find_fails_alike("NULL options", NULL, 1);
    check_find_fails_alike("NULL out_json", &o, 0);
    pitr_find_options bad = o;
    const char *paths[] = {"/wal"};
    bad.wal_paths = paths;
    bad.n_wal_paths = 1;
    check_find_fails_alike("archive and wal_paths", &bad, 1);
    bad.archive = NULL;
    check_find_fails_alike("backup without archive", &bad, 1);
    const char *null_paths[] = {NULL};
    bad.backup = NULL;
    bad.wal_paths = null_paths;
    check_find_fails_alike("NULL wal_paths[0]", &bad, 1);
    CHECK_ERROR_MENTIONS("options->wal_paths[0]");
    bad = o;
    bad.kinds = 7;
    check_find_fails_alike("kinds 7", &bad, 1);
    bad = o;
    bad.modified = true;
    check_find_fails_alike("modified alone", &bad, 1);
    bad = o;
    bad.timezone = "Mars/Olympus_Mons";
    check_find_fails_alike("unknown time zone", &bad, 1);
    bad = o;
    bad.from = "not a time";
    check_find_fails_alike("bad window", &bad, 1);
    CHECK_ERROR_MENTIONS("neither an LSN");
    bad = o;
    bad.to = "\xff";
    check_find_fails_alike("window not UTF-8", &bad, 1);
    bad = o;
    bad.archive = "/nonexistent/archive";
    check_find_fails_alike("no archive there", &bad, 1);
    CHECK(pitr_last_error_status() == PITR_STATUS_IO);
    bad = o;
    bad.backup = "/nonexistent/backup";
    check_find_fails_alike("no backup there", &bad, 1);
    CHECK(pitr_last_error_status() == PITR_STATUS_IO);
}

void run_find_tests(void) {
    RUN(test_find_a_transaction);
    RUN(test_find_window_and_table);
    RUN(test_find_errors);
    RUN(test_find_with_progress);
    RUN(test_find_with_progress_errors);
}
