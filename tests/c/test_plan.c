/*
 * Recovery plans: pitr_plan and the pitr_recovery_plan accessors on the test
 * servers' pg_basebackup and archive, compared with what a real PostgreSQL 15
 * did when it recovered the same backup to the same target
 * (tests/c/pg-fixtures.sh: a restore paused after PITR_TEST_XID, the line it
 * logged, its replay LSN, the files its restore_command fetched; a restore
 * paused at `immediate`); pitr_restore, pitr_write_recovery_settings and
 * pitr_recovery_plan_write_settings on scratch directories; the progress
 * of the plan's WAL scan (pitr_plan_with_progress, pitr_restore_with_progress)
 * against the plans themselves and the plain calls.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static pitr_lsn env_lsn(const char *name) {
    const char *text = need_env(name);
    pitr_lsn l = 0;
    if (text) CHECK_OK(pitr_lsn_parse(text, &l));
    return l;
}

/* Options for the fixtures' backup and archive (NULL when not set). */
static int base_options(pitr_plan_options *o) {
    const char *backup = need_env("PITR_TEST_BACKUP");
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    CHECK_OK(pitr_plan_options_init(o));
    o->backup = backup;
    o->archive = archive;
    return backup && archive;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The plan of the fixtures' restore paused after the commit of PITR_TEST_XID. */
static void test_plan_xid_matches_the_server(void) {
    const char *xid_text = need_env("PITR_TEST_XID");
    const char *stop_log = need_env("PITR_TEST_XID_STOP_LOG");
    const char *fetched_path = need_env("PITR_TEST_XID_FETCHED");
    pitr_lsn replay = env_lsn("PITR_TEST_XID_REPLAY_LSN");
    pitr_lsn start = env_lsn("PITR_TEST_BACKUP_START");
    pitr_lsn backup_stop = env_lsn("PITR_TEST_BACKUP_STOP");
    const char *label_path = need_env("PITR_TEST_BACKUP_LABEL");
    pitr_plan_options o;
    if (!base_options(&o) || !xid_text || !stop_log || !fetched_path || !label_path) return;
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    o.restore_command = "cp /archive/%f %p";
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    if (!p) return;
    uint32_t xid = (uint32_t)strtoul(xid_text, NULL, 10);

    CHECK(pitr_recovery_plan_reachable(p));
    char want[128];
    snprintf(want, sizeof want, "XID %s", xid_text);
    CHECK_STR(pitr_recovery_plan_target(p), want);
    CHECK(pitr_recovery_plan_timeline(p) == 1);
    CHECK(pitr_recovery_plan_redo_lsn(p) == start);
    pitr_backup_label *l = NULL;
    CHECK_OK(pitr_backup_label_read(label_path, &l));
    CHECK(pitr_recovery_plan_checkpoint_lsn(p) == pitr_backup_label_checkpoint(l));
    pitr_backup_label_free(l);
    /* Timeline 2 exists in the archive: promoting creates 3. */
    CHECK(pitr_recovery_plan_new_timeline(p) == 3);
    CHECK(pitr_recovery_plan_pg_version(p) == 15);
    CHECK_STR(pitr_recovery_plan_signal(p), "recovery.signal");
    /* Consistent at the end of the backup's BACKUP_END record: what
     * pg_basebackup reported as the end point. */
    pitr_lsn consistent = 0;
    CHECK_OK(pitr_recovery_plan_consistent_lsn(p, &consistent));
    CHECK(consistent == backup_stop);

    /* Where the server stopped and what it logged. */
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_AFTER);
    CHECK(pitr_recovery_plan_stop_timeline(p) == 1);
    CHECK_STR(pitr_recovery_plan_stop_record(p), "COMMIT");
    CHECK_STR(pitr_recovery_plan_stop_log_message(p), stop_log);
    pitr_lsn stop_replay = 0, rec = 0, rec_end = 0;
    CHECK_OK(pitr_recovery_plan_stop_replay_lsn(p, &stop_replay));
    CHECK(stop_replay == replay);
    CHECK_OK(pitr_recovery_plan_stop_record_lsn(p, &rec));
    CHECK_OK(pitr_recovery_plan_stop_record_end_lsn(p, &rec_end));
    CHECK(rec < rec_end && rec_end == replay);
    uint32_t stop_xid = 0;
    CHECK_OK(pitr_recovery_plan_stop_xid(p, &stop_xid));
    CHECK(stop_xid == xid);
    /* The commit time, as text and as microseconds, agree with each other
     * and with the time in the server's log line. */
    const char *stop_time = pitr_recovery_plan_stop_time(p);
    CHECK(stop_time != NULL);
    int64_t micros = 0;
    CHECK_OK(pitr_recovery_plan_stop_timestamp(p, &micros));
    time_t secs = (time_t)(micros / 1000000);
    struct tm tm;
    char iso[64] = "", logged[64] = "";
    if (gmtime_r(&secs, &tm)) {
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(logged, sizeof logged, "time %Y-%m-%d %H:%M:%S", &tm);
    }
    CHECK(stop_time != NULL && strncmp(stop_time, iso, strlen(iso)) == 0);
    CHECK_CONTAINS(stop_log, logged);
    CHECK_STR(pitr_recovery_plan_last_transaction_time(p), stop_time ? stop_time : "");

    /* One timeline, from the redo point on. */
    CHECK(pitr_recovery_plan_timeline_step_count(p) == 1);
    pitr_timeline_step step;
    CHECK_OK(pitr_recovery_plan_timeline_step_at(p, 0, &step));
    CHECK(step.timeline == 1 && step.from == start && !step.has_to && step.to == 0);
    CHECK_STATUS(pitr_recovery_plan_timeline_step_at(p, 1, &step), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("timeline step 1 does not exist");

    /* Every planned segment was fetched by the server, in the planned order. */
    char *fetched = read_file(fetched_path);
    CHECK(fetched != NULL);
    size_t n = pitr_recovery_plan_wal_file_count(p);
    CHECK(n >= 1);
    const char *last_pos = fetched;
    size_t segments = 0;
    for (size_t i = 0; i < n && fetched; i++) {
        pitr_planned_file f;
        CHECK_OK(pitr_recovery_plan_wal_file_at(p, i, &f));
        CHECK(f.name && f.kind && f.path);
        if (!f.name || !f.kind || !f.path) continue;
        CHECK(exists(f.path));
        const char *base = strrchr(f.path, '/');
        CHECK_STR(base ? base + 1 : f.path, f.name);
        char line[64];
        snprintf(line, sizeof line, "%s\n", f.name);
        const char *at = strstr(fetched, line);
        if (at == NULL) fprintf(stderr, "  planned %s was not fetched:\n%s", f.name, fetched);
        CHECK(at != NULL);
        if (strcmp(f.kind, "segment") == 0) {
            segments++;
            CHECK(f.timeline == 1);
            CHECK(at == NULL || at >= last_pos);
            if (at) last_pos = at;
        } else {
            CHECK_STR(f.kind, "history");
        }
    }
    CHECK(segments >= 1);
    free(fetched);
    pitr_planned_file f;
    CHECK_STATUS(pitr_recovery_plan_wal_file_at(p, n, &f), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_wal_file_at(p, 0, NULL), PITR_STATUS_NULL_ARGUMENT);

    /* The settings a restore writes, sorted by name, unquoted. */
    const char *want_settings[][2] = {
        {"recovery_target_action", "pause"},
        {"recovery_target_inclusive", NULL}, /* only when not the default */
        {"recovery_target_timeline", "current"},
        {"recovery_target_xid", xid_text},
        {"restore_command", "cp /archive/%f %p"},
    };
    size_t ns = pitr_recovery_plan_setting_count(p);
    CHECK(ns == 4);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *name = NULL, *value = NULL;
        CHECK_OK(pitr_recovery_plan_setting_at(p, i, &name, &value));
        while (k < 5 && want_settings[k][1] == NULL) k++;
        if (k < 5) {
            CHECK_STR(name, want_settings[k][0]);
            CHECK_STR(value, want_settings[k][1]);
        }
        k++;
    }
    const char *name = NULL, *value = NULL;
    CHECK_STATUS(pitr_recovery_plan_setting_at(p, ns, &name, &value), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_setting_at(p, 0, NULL, &value), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_setting_at(p, 0, &name, NULL), PITR_STATUS_NULL_ARGUMENT);

    /* A reachable plan has warnings at most. */
    size_t np = pitr_recovery_plan_problem_count(p);
    for (size_t i = 0; i < np; i++) {
        pitr_plan_problem pr;
        CHECK_OK(pitr_recovery_plan_problem_at(p, i, &pr));
        CHECK(pr.severity == PITR_SEVERITY_WARNING);
        CHECK(pr.code != NULL && pr.message != NULL);
    }
    pitr_plan_problem pr;
    CHECK_STATUS(pitr_recovery_plan_problem_at(p, np, &pr), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_problem_at(p, 0, NULL), PITR_STATUS_NULL_ARGUMENT);

    char *json = NULL;
    CHECK_OK(pitr_recovery_plan_to_json(p, &json));
    CHECK_CONTAINS(json, "\"reachable\":true");
    char buf[160];
    snprintf(buf, sizeof buf, "\"xid\":%s", xid_text);
    CHECK_CONTAINS(json, buf);
    CHECK_CONTAINS(json, "\"kind\":\"after\"");
    CHECK_CONTAINS(json, "\"wal_files\":[");
    pitr_string_free(json);
    json = NULL;
    CHECK_STATUS(pitr_recovery_plan_to_json(p, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK(json == NULL);

    /* The fallible getters' NULL checks. */
    pitr_lsn lsn = 0;
    uint32_t u = 0;
    int64_t i64 = 0;
    CHECK_STATUS(pitr_recovery_plan_consistent_lsn(NULL, &lsn), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_consistent_lsn(p, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_stop_record_lsn(NULL, &lsn), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_stop_record_end_lsn(p, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_stop_replay_lsn(NULL, &lsn), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_stop_xid(p, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_stop_timestamp(NULL, &i64), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_timeline_step_at(NULL, 0, &step), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_timeline_step_at(p, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_wal_file_at(NULL, 0, &f), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_setting_at(NULL, 0, &name, &value), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_problem_at(NULL, 0, &pr), PITR_STATUS_NULL_ARGUMENT);
    (void)u;
    pitr_recovery_plan_free(p);
}

/* The infallible getters on NULL, and pitr_plan's argument checks. */
static void test_plan_arguments(void) {
    CHECK(!pitr_recovery_plan_reachable(NULL));
    CHECK(pitr_recovery_plan_target(NULL) == NULL);
    CHECK(pitr_recovery_plan_timeline(NULL) == 0);
    CHECK(pitr_recovery_plan_redo_lsn(NULL) == 0);
    CHECK(pitr_recovery_plan_checkpoint_lsn(NULL) == 0);
    CHECK(pitr_recovery_plan_new_timeline(NULL) == 0);
    CHECK(pitr_recovery_plan_pg_version(NULL) == 0);
    CHECK(pitr_recovery_plan_signal(NULL) == NULL);
    CHECK(pitr_recovery_plan_last_transaction_time(NULL) == NULL);
    CHECK(pitr_recovery_plan_stop_kind(NULL) == PITR_STOP_KIND_NONE);
    CHECK(pitr_recovery_plan_stop_timeline(NULL) == 0);
    CHECK(pitr_recovery_plan_stop_record(NULL) == NULL);
    CHECK(pitr_recovery_plan_stop_log_message(NULL) == NULL);
    CHECK(pitr_recovery_plan_stop_time(NULL) == NULL);
    CHECK(pitr_recovery_plan_timeline_step_count(NULL) == 0);
    CHECK(pitr_recovery_plan_wal_file_count(NULL) == 0);
    CHECK(pitr_recovery_plan_setting_count(NULL) == 0);
    CHECK(pitr_recovery_plan_problem_count(NULL) == 0);
    pitr_recovery_plan_free(NULL);

    CHECK_STATUS(pitr_plan_options_init(NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_plan_options o;
    CHECK_OK(pitr_plan_options_init(&o));
    CHECK(o.backup == NULL && o.archive == NULL && o.target == NULL);
    CHECK(o.target_kind == PITR_TARGET_KIND_END_OF_WAL && o.inclusive);
    CHECK(o.timeline_kind == PITR_TIMELINE_TARGET_LATEST && o.timeline == 0);
    CHECK(o.action == PITR_TARGET_ACTION_PAUSE);
    CHECK(o.timezone == NULL && o.restore_command == NULL);

    pitr_recovery_plan *p = NULL;
    CHECK_STATUS(pitr_plan(&o, &p), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("options->backup");
    if (!base_options(&o)) return;
    CHECK_STATUS(pitr_plan(NULL, &p), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_plan(&o, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_plan_options bad = o;
    bad.archive = NULL;
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_NULL_ARGUMENT);
    bad = o;
    bad.archive = "\xff\xfe";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_UTF8);
    bad = o;
    bad.target_kind = 42;
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("target_kind 42");
    bad = o;
    bad.target_kind = PITR_TARGET_KIND_XID; /* without its text */
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_NULL_ARGUMENT);
    bad = o;
    bad.target = "735"; /* text for END_OF_WAL */
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.timeline_kind = PITR_TIMELINE_TARGET_NUMBERED; /* timeline 0 */
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.timeline = 2; /* with LATEST */
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.action = 7;
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    bad = o;
    bad.timezone = "Mars/Olympus_Mons";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_INVALID_ARGUMENT);
    /* Targets PostgreSQL would refuse at startup. */
    bad = o;
    bad.target_kind = PITR_TARGET_KIND_TIME;
    bad.target = "now";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("now");
    bad.target_kind = PITR_TARGET_KIND_XID;
    bad.target = "abc";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_PARSE);
    bad.target_kind = PITR_TARGET_KIND_LSN;
    bad.target = "0/XYZ";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_PARSE);
    /* Inputs that are not there, or not a backup. */
    bad = o;
    bad.backup = "/nonexistent/backup";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/backup");
    bad = o;
    bad.archive = "/nonexistent/archive";
    CHECK_STATUS(pitr_plan(&bad, &p), PITR_STATUS_IO);
    bad = o;
    bad.backup = o.archive; /* a directory without backup_label */
    pitr_status s = pitr_plan(&bad, &p);
    CHECK(s == PITR_STATUS_INVALID || s == PITR_STATUS_PARSE);
    CHECK(p == NULL);
}

/* A transaction that never committed: the server would end recovery
 * without reaching the target (and refuse to start). */
static void test_plan_unreachable(void) {
    pitr_plan_options o;
    if (!base_options(&o)) return;
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = "4000000";
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    if (!p) return;
    CHECK(!pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_timeline(p) == 1);
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_NONE);
    CHECK(pitr_recovery_plan_stop_timeline(p) == 0);
    CHECK(pitr_recovery_plan_stop_record(p) == NULL);
    CHECK(pitr_recovery_plan_stop_log_message(p) == NULL);
    CHECK(pitr_recovery_plan_stop_time(p) == NULL);
    pitr_lsn lsn = 0;
    uint32_t xid = 0;
    int64_t micros = 0;
    CHECK_STATUS(pitr_recovery_plan_stop_replay_lsn(p, &lsn), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("unreachable");
    CHECK_STATUS(pitr_recovery_plan_stop_record_lsn(p, &lsn), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_recovery_plan_stop_record_end_lsn(p, &lsn), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_recovery_plan_stop_xid(p, &xid), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_recovery_plan_stop_timestamp(p, &micros), PITR_STATUS_NO_VALUE);
    int found = 0;
    for (size_t i = 0; i < pitr_recovery_plan_problem_count(p); i++) {
        pitr_plan_problem pr;
        CHECK_OK(pitr_recovery_plan_problem_at(p, i, &pr));
        if (pr.severity == PITR_SEVERITY_ERROR && strcmp(pr.code, "target_not_reached") == 0) {
            found = 1;
            CHECK(pr.message != NULL && *pr.message != '\0');
            CHECK_CONTAINS(pr.postgres_message, "recovery ended before configured recovery target was reached");
        }
    }
    CHECK(found);
    char *json = NULL;
    CHECK_OK(pitr_recovery_plan_to_json(p, &json));
    CHECK_CONTAINS(json, "\"reachable\":false");
    CHECK_CONTAINS(json, "\"target_not_reached\"");
    pitr_string_free(json);
    pitr_recovery_plan_free(p);
}

/* No target, timeline `latest`: to the end of the archive across the switch
 * to timeline 2, whose segments are not archived (the restore promoted to it
 * was stopped at once). PostgreSQL would silently read timeline 1's copies
 * and replay timeline 1's branch: the plan says so, with errors. */
static void test_plan_end_of_wal(void) {
    const char *history = need_env("PITR_TEST_HISTORY");
    pitr_plan_options o;
    if (!base_options(&o) || !history) return;
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    if (!p) return;
    CHECK(!pitr_recovery_plan_reachable(p));
    CHECK_STR(pitr_recovery_plan_target(p), "end of WAL");
    size_t missing = 0;
    for (size_t i = 0; i < pitr_recovery_plan_problem_count(p); i++) {
        pitr_plan_problem pr;
        CHECK_OK(pitr_recovery_plan_problem_at(p, i, &pr));
        if (strcmp(pr.code, "switch_segment_missing") != 0) continue;
        missing++;
        CHECK(pr.severity == PITR_SEVERITY_ERROR);
        CHECK(pr.file != NULL && strncmp(pr.file, "00000002", 8) == 0);
        CHECK_CONTAINS(pr.postgres_message, "follows timeline 1 past the switch point");
        CHECK_CONTAINS(pr.hint, "put 00000002");
    }
    CHECK(missing >= 1);
    CHECK(pitr_recovery_plan_timeline(p) == 2);
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_END_OF_WAL);
    CHECK(pitr_recovery_plan_stop_log_message(p) == NULL);
    pitr_lsn lsn = 0;
    CHECK_STATUS(pitr_recovery_plan_stop_record_lsn(p, &lsn), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("the stop has no deciding record");
    CHECK_OK(pitr_recovery_plan_stop_replay_lsn(p, &lsn));
    CHECK(lsn > pitr_recovery_plan_redo_lsn(p));
    /* Timeline 1 up to the switch point of the history file, then 2. */
    pitr_history *h = NULL;
    CHECK_OK(pitr_history_read(history, &h));
    pitr_lsn sw = 0;
    CHECK_OK(pitr_history_switch_point(h, 1, &sw, NULL));
    pitr_history_free(h);
    CHECK(pitr_recovery_plan_timeline_step_count(p) == 2);
    pitr_timeline_step s0, s1;
    CHECK_OK(pitr_recovery_plan_timeline_step_at(p, 0, &s0));
    CHECK_OK(pitr_recovery_plan_timeline_step_at(p, 1, &s1));
    CHECK(s0.timeline == 1 && s0.has_to && s0.to == sw);
    CHECK(s1.timeline == 2 && s1.from == sw && !s1.has_to);
    /* The history file is fetched first. */
    pitr_planned_file f;
    CHECK_OK(pitr_recovery_plan_wal_file_at(p, 0, &f));
    CHECK_STR(f.name, "00000002.history");
    CHECK_STR(f.kind, "history");
    CHECK(f.timeline == 2);
    /* Without a target, only the timeline and the restore command. */
    const char *name = NULL, *value = NULL;
    CHECK(pitr_recovery_plan_setting_count(p) == 2);
    CHECK_OK(pitr_recovery_plan_setting_at(p, 0, &name, &value));
    CHECK_STR(name, "recovery_target_timeline");
    CHECK_STR(value, "latest");
    CHECK_OK(pitr_recovery_plan_setting_at(p, 1, &name, &value));
    CHECK_STR(name, "restore_command");
    CHECK_CONTAINS(value, "archive get");
    pitr_recovery_plan_free(p);
}

/* `immediate` stops where the fixtures' paused restore paused. */
static void test_plan_immediate(void) {
    pitr_lsn paused = env_lsn("PITR_TEST_PAUSED_REPLAY_LSN");
    pitr_plan_options o;
    if (!base_options(&o)) return;
    o.target_kind = PITR_TARGET_KIND_IMMEDIATE;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    o.action = PITR_TARGET_ACTION_PROMOTE;
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    if (!p) return;
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_CONSISTENT);
    pitr_lsn replay = 0, consistent = 0;
    CHECK_OK(pitr_recovery_plan_stop_replay_lsn(p, &replay));
    CHECK_OK(pitr_recovery_plan_consistent_lsn(p, &consistent));
    CHECK(replay == paused);
    CHECK(consistent == paused);
    char *json = NULL;
    CHECK_OK(pitr_recovery_plan_to_json(p, &json));
    CHECK_CONTAINS(json, "\"recovery_target\":\"immediate\"");
    CHECK_CONTAINS(json, "\"recovery_target_action\":\"promote\"");
    pitr_string_free(json);
    pitr_recovery_plan_free(p);
}

/* A restore point name, a time and an LSN, each on timeline 1. */
static void test_plan_other_targets(void) {
    const char *xid_text = need_env("PITR_TEST_XID");
    const char *stop_log = need_env("PITR_TEST_XID_STOP_LOG");
    pitr_lsn rp = env_lsn("PITR_TEST_RESTORE_POINT");
    pitr_plan_options o;
    if (!base_options(&o) || !xid_text || !stop_log) return;
    o.timeline_kind = PITR_TIMELINE_TARGET_NUMBERED;
    o.timeline = 1;
    o.target_kind = PITR_TARGET_KIND_NAME;
    o.target = "pitr_fixture";
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_AFTER);
    CHECK_STR(pitr_recovery_plan_stop_record(p), "RESTORE_POINT");
    CHECK_CONTAINS(pitr_recovery_plan_stop_log_message(p), "recovery stopping at restore point \"pitr_fixture\"");
    pitr_lsn end = 0;
    CHECK_OK(pitr_recovery_plan_stop_record_end_lsn(p, &end));
    CHECK(end == rp); /* pg_create_restore_point() returns the record's end */
    uint32_t xid = 0;
    CHECK_STATUS(pitr_recovery_plan_stop_xid(p, &xid), PITR_STATUS_NO_VALUE);
    CHECK_ERROR_MENTIONS("the stop has no transaction");
    pitr_recovery_plan_free(p);

    /* The commit of the xid, by time (exclusive: stops before it), the time
     * as the server logged it ... */
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    pitr_lsn commit_lsn = 0;
    CHECK_OK(pitr_recovery_plan_stop_record_lsn(p, &commit_lsn));
    pitr_recovery_plan_free(p);
    const char *t = strstr(stop_log, ", time ");
    char commit_time[64] = "";
    if (t) snprintf(commit_time, sizeof commit_time, "%s", t + strlen(", time "));
    o.target_kind = PITR_TARGET_KIND_TIME;
    o.target = commit_time;
    o.inclusive = false;
    p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_BEFORE);
    CHECK_STR(pitr_recovery_plan_stop_record(p), "COMMIT");
    CHECK(pitr_recovery_plan_stop_xid(p, &xid) == PITR_STATUS_OK && xid == strtoul(xid_text, NULL, 10));
    CHECK_CONTAINS(pitr_recovery_plan_stop_log_message(p), "recovery stopping before commit of transaction");
    pitr_recovery_plan_free(p);

    /* ... and by LSN. */
    char lsn_text[32];
    CHECK_OK(pitr_lsn_format(commit_lsn, lsn_text, sizeof lsn_text, NULL));
    o.target_kind = PITR_TARGET_KIND_LSN;
    o.target = lsn_text;
    o.timezone = "Europe/Berlin";
    p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_BEFORE);
    pitr_lsn rec = 0;
    CHECK_OK(pitr_recovery_plan_stop_record_lsn(p, &rec));
    CHECK(rec == commit_lsn);
    pitr_recovery_plan_free(p);
}

static void make_dir(char *out, size_t len, const char *tmp, const char *what) {
    snprintf(out, len, "%s/%ld-%s", tmp, (long)getpid(), what);
}

/* Settings written into a stopped data directory, atomically, replacing the
 * recovery settings already there and keeping the rest. */
static void test_write_recovery_settings(void) {
    const char *tmp = need_env("PITR_TEST_TMP");
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_plan_options o;
    if (!base_options(&o) || !tmp || !xid_text) return;
    char dir[600], path[700];
    make_dir(dir, sizeof dir, tmp, "settings");
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
    CHECK(write_file(path, "work_mem = '8MB'\nrecovery_target_name = 'old'\n"));

    const char *names[] = {"recovery_target_lsn", "restore_command", "recovery_target_lsn"};
    const char *values[] = {"0/1", "cp '/a b/%f' %p", "0/3000000"};
    CHECK_OK(pitr_write_recovery_settings(dir, names, values, 3, "standby.signal"));
    char *text = read_file(path);
    CHECK_CONTAINS(text, "work_mem = '8MB'");
    CHECK_CONTAINS(text, "recovery_target_lsn = '0/3000000'");
    CHECK_CONTAINS(text, "restore_command = 'cp ''/a b/%f'' %p'");
    CHECK(text && strstr(text, "recovery_target_name") == NULL);
    CHECK(text && strstr(text, "'0/1'") == NULL);
    free(text);
    snprintf(path, sizeof path, "%s/standby.signal", dir);
    CHECK(exists(path));

    /* A plan's settings. */
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    pitr_recovery_plan *p = NULL;
    CHECK_OK(pitr_plan(&o, &p));
    CHECK_OK(pitr_recovery_plan_write_settings(p, dir));
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
    text = read_file(path);
    char want[100];
    snprintf(want, sizeof want, "recovery_target_xid = '%s'", xid_text);
    CHECK_CONTAINS(text, want);
    CHECK_CONTAINS(text, "recovery_target_timeline = 'current'");
    CHECK(text && strstr(text, "recovery_target_lsn") == NULL);
    free(text);
    snprintf(path, sizeof path, "%s/recovery.signal", dir);
    CHECK(exists(path));
    CHECK_STATUS(pitr_recovery_plan_write_settings(NULL, dir), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_recovery_plan_write_settings(p, NULL), PITR_STATUS_NULL_ARGUMENT);

    /* Errors. */
    CHECK_STATUS(pitr_write_recovery_settings(dir, names, values, 1, "other.signal"), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("other.signal");
    const char *bad_names[] = {"recovery target"};
    CHECK_STATUS(pitr_write_recovery_settings(dir, bad_names, values, 1, "recovery.signal"), PITR_STATUS_PARSE);
    const char *null_names[] = {"restore_command", NULL};
    CHECK_STATUS(pitr_write_recovery_settings(dir, null_names, values, 2, "recovery.signal"),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("names[1]");
    CHECK_STATUS(pitr_write_recovery_settings(dir, NULL, values, 1, "recovery.signal"),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_write_recovery_settings(dir, NULL, NULL, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_write_recovery_settings(NULL, NULL, NULL, 0, "recovery.signal"),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_write_recovery_settings("/nonexistent/pgdata", NULL, NULL, 0, "recovery.signal"),
                 PITR_STATUS_IO);
    /* A running server (postmaster.pid) is refused; nothing is changed. */
    snprintf(path, sizeof path, "%s/postmaster.pid", dir);
    CHECK(write_file(path, "12345\n"));
    CHECK_STATUS(pitr_write_recovery_settings(dir, NULL, NULL, 0, "recovery.signal"), PITR_STATUS_INVALID);
    CHECK_STATUS(pitr_recovery_plan_write_settings(p, dir), PITR_STATUS_INVALID);
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
    text = read_file(path);
    CHECK_CONTAINS(text, want);
    free(text);
    pitr_recovery_plan_free(p);
}

/* A restore: the backup copied, the settings and recovery.signal written,
 * standby.signal absent; an unreachable plan restores nothing unless forced. */
static void test_restore(void) {
    const char *tmp = need_env("PITR_TEST_TMP");
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_plan_options o;
    if (!base_options(&o) || !tmp || !xid_text) return;
    char dir[600], path[700];
    make_dir(dir, sizeof dir, tmp, "restored");
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;

    /* Timeline latest: unreachable (timeline 2's segments are missing),
     * nothing written. */
    char *json = NULL;
    CHECK_STATUS(pitr_restore(&o, dir, false, NULL, NULL, 0, &json), PITR_STATUS_UNREACHABLE_TARGET);
    CHECK_ERROR_MENTIONS("cannot be reached");
    CHECK(json == NULL);
    CHECK(!exists(dir));

    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    o.restore_command = "cp /archive/%f %p";
    CHECK_OK(pitr_restore(&o, dir, false, NULL, NULL, 0, &json));
    CHECK_CONTAINS(json, "\"restored\":true");
    CHECK_CONTAINS(json, "\"next_steps\":[");
    CHECK_CONTAINS(json, "\"reachable\":true");
    pitr_string_free(json);
    snprintf(path, sizeof path, "%s/PG_VERSION", dir);
    CHECK(exists(path));
    snprintf(path, sizeof path, "%s/recovery.signal", dir);
    CHECK(exists(path));
    snprintf(path, sizeof path, "%s/standby.signal", dir);
    CHECK(!exists(path));
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", dir);
    char *text = read_file(path);
    char want[100];
    snprintf(want, sizeof want, "recovery_target_xid = '%s'", xid_text);
    CHECK_CONTAINS(text, want);
    CHECK_CONTAINS(text, "restore_command = 'cp /archive/%f %p'");
    CHECK_CONTAINS(text, "application_name = 'it''s pitr'"); /* the backup's own ALTER SYSTEM */
    free(text);

    /* Not into a directory that is not empty. */
    json = NULL;
    CHECK_STATUS(pitr_restore(&o, dir, false, NULL, NULL, 0, &json), PITR_STATUS_INVALID);
    CHECK_ERROR_MENTIONS("not empty");
    CHECK(json == NULL);

    /* Forced: an unreachable plan is restored, its report says so. */
    char forced[600];
    make_dir(forced, sizeof forced, tmp, "forced");
    o.timeline_kind = PITR_TIMELINE_TARGET_LATEST;
    CHECK_OK(pitr_restore(&o, forced, true, NULL, NULL, 0, &json));
    CHECK_CONTAINS(json, "\"reachable\":false");
    CHECK_CONTAINS(json, "\"restored\":true");
    pitr_string_free(json);

    /* Arguments. */
    json = NULL;
    const uint32_t oids[] = {16384, 16384};
    const char *dirs[] = {"/t1", "/t2"};
    char other[600];
    make_dir(other, sizeof other, tmp, "not-restored");
    CHECK_STATUS(pitr_restore(&o, other, true, oids, dirs, 2, &json), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("tablespace 16384 is given twice");
    CHECK_STATUS(pitr_restore(&o, other, true, oids, NULL, 1, &json), PITR_STATUS_NULL_ARGUMENT);
    const char *null_dirs[] = {NULL};
    CHECK_STATUS(pitr_restore(&o, other, true, oids, null_dirs, 1, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_ERROR_MENTIONS("tablespace_dirs[0]");
    CHECK_STATUS(pitr_restore(NULL, other, true, NULL, NULL, 0, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_restore(&o, NULL, true, NULL, NULL, 0, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_restore(&o, other, true, NULL, NULL, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    o.backup = "/nonexistent/backup";
    CHECK_STATUS(pitr_restore(&o, other, true, NULL, NULL, 0, &json), PITR_STATUS_IO);
    CHECK(json == NULL);
    CHECK(!exists(other));
}

/* ------------------------------------------------------------ progress */

/* The JSON of a plan (NULL without one). */
static char *plan_json(const pitr_recovery_plan *p) {
    char *json = NULL;
    if (p) CHECK_OK(pitr_recovery_plan_to_json(p, &json));
    return json;
}

/* Two library-allocated JSON documents are the same text. */
static void check_same_json(char *want, char *got) {
    CHECK(want != NULL && got != NULL);
    if (want && got && strcmp(want, got) != 0) {
        harness_failures_in_test++;
        fprintf(stderr, "  JSON differs:\n    %s\n    %s\n", want, got);
    }
    pitr_string_free(want);
    pitr_string_free(got);
}

/* The planned files that are segments (not history files). */
static size_t planned_segments(const pitr_recovery_plan *p) {
    size_t n = 0;
    for (size_t i = 0; i < pitr_recovery_plan_wal_file_count(p); i++) {
        pitr_planned_file f;
        CHECK_OK(pitr_recovery_plan_wal_file_at(p, i, &f));
        if (f.kind && strcmp(f.kind, "segment") == 0) n++;
    }
    return n;
}

/* pitr_plan_with_progress into a fresh log; the plan in *out. */
static pitr_status plan_logged(const pitr_plan_options *o, pitr_recovery_plan **out, progress_log *log) {
    progress_log_start(log);
    log->in_call = 1;
    pitr_status s = pitr_plan_with_progress(o, out, progress_record, log);
    log->in_call = 0;
    return s;
}

/* Options for the backup and the still copy of the archive: results
 * compared across calls need WAL that does not grow meanwhile. */
static int still_options(pitr_plan_options *o) {
    const char *still = need_env("PITR_TEST_ARCHIVE_STILL");
    int ok = base_options(o);
    o->archive = still;
    return ok && still;
}

/* A callback that makes a failing pitr call of its own, then records. */
static int progress_calling_pitr(uint64_t done, uint64_t total, void *user_data) {
    pitr_lsn lsn = 0;
    (void)pitr_lsn_parse("not an LSN", &lsn);
    return progress_record(done, total, user_data);
}

/* The progress of a plan's WAL scan, against the plan itself and pitr_plan:
 * to the end of timeline 1 every segment file from the redo point is
 * entered, one call each, and the plan lists exactly those; a reachable
 * target stops the count at the last file the plan lists; the plan is
 * pitr_plan's, with a callback, without one, and whatever user_data. */
static void test_plan_with_progress(void) {
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_plan_options o;
    if (!still_options(&o) || !xid_text) return;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    unsigned long foreign = progress_foreign_user_data;

    /* No target: the whole path of timeline 1. */
    pitr_recovery_plan *plain = NULL, *p = NULL;
    CHECK_OK(pitr_plan(&o, &plain));
    progress_log all;
    CHECK_OK(plan_logged(&o, &p, &all));
    CHECK_PROGRESS_IN_STEP(all);
    CHECK(all.last_done == all.first_total);
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_END_OF_WAL);
    CHECK(pitr_recovery_plan_wal_file_count(p) == all.last_done);
    CHECK(planned_segments(p) == all.last_done);
    check_same_json(plan_json(plain), plan_json(p));
    pitr_recovery_plan_free(plain);
    pitr_recovery_plan_free(p);

    /* The commit of PITR_TEST_XID: the same path, counted up to the file
     * holding the commit, the last file the plan lists. */
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    plain = p = NULL;
    CHECK_OK(pitr_plan(&o, &plain));
    progress_log xid;
    CHECK_OK(plan_logged(&o, &p, &xid));
    CHECK_PROGRESS_IN_STEP(xid);
    CHECK(xid.first_total == all.first_total);
    CHECK(xid.last_done <= all.last_done);
    CHECK(pitr_recovery_plan_reachable(p));
    CHECK(pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_AFTER);
    CHECK(pitr_recovery_plan_wal_file_count(p) == xid.last_done);
    CHECK(planned_segments(p) == xid.last_done);
    char *want = plan_json(plain);
    check_same_json(plan_json(plain), plan_json(p));
    pitr_recovery_plan_free(p);

    /* No callback (user_data is then never used): no calls, the same plan. */
    progress_log none;
    progress_log_start(&none);
    p = NULL;
    none.in_call = 1;
    CHECK_OK(pitr_plan_with_progress(&o, &p, NULL, &none));
    none.in_call = 0;
    CHECK(none.calls == 0);
    check_same_json(plan_json(plain), plan_json(p));
    pitr_recovery_plan_free(p);
    CHECK(progress_foreign_user_data == foreign);

    /* user_data is passed as given, NULL too. */
    p = NULL;
    CHECK_OK(pitr_plan_with_progress(&o, &p, progress_record, NULL));
    CHECK(progress_foreign_user_data - foreign == xid.calls);
    check_same_json(plan_json(plain), plan_json(p));
    pitr_recovery_plan_free(p);

    /* A callback may call other pitr functions: the plan's success is the
     * thread's last error when it returns. */
    progress_log nested;
    progress_log_start(&nested);
    p = NULL;
    nested.in_call = 1;
    CHECK_OK(pitr_plan_with_progress(&o, &p, progress_calling_pitr, &nested));
    nested.in_call = 0;
    CHECK_STR(pitr_last_error(), "");
    CHECK(pitr_last_error_status() == PITR_STATUS_OK);
    CHECK_PROGRESS_IN_STEP(nested);
    CHECK(nested.calls == xid.calls && nested.first_total == xid.first_total);
    check_same_json(want, plan_json(p));
    pitr_recovery_plan_free(p);
    pitr_recovery_plan_free(plain);

    /* A transaction that never ended: the scan reads every file, and the
     * plan is unreachable, as pitr_plan says. */
    o.target = "4000000";
    plain = p = NULL;
    CHECK_OK(pitr_plan(&o, &plain));
    progress_log never;
    CHECK_OK(plan_logged(&o, &p, &never));
    CHECK_PROGRESS_IN_STEP(never);
    CHECK(never.first_total == all.first_total && never.last_done == all.last_done);
    CHECK(!pitr_recovery_plan_reachable(p));
    check_same_json(plan_json(plain), plan_json(p));
    pitr_recovery_plan_free(plain);
    pitr_recovery_plan_free(p);
}

/* pitr_plan and pitr_plan_with_progress fail alike on the same arguments:
 * the same status, last error and file, no plan, and no progress call. */
static void check_plan_fails_alike(const char *what, const pitr_plan_options *o, int with_out) {
    int failures = harness_failures_in_test;
    pitr_recovery_plan *p = NULL, *q = NULL;
    pitr_status want = pitr_plan(o, with_out ? &p : NULL);
    char *msg = strdup(pitr_last_error());
    const char *f = pitr_last_error_file();
    char *file = f ? strdup(f) : NULL;
    progress_log log;
    pitr_status got = plan_logged(o, with_out ? &q : NULL, &log);
    CHECK(want != PITR_STATUS_OK);
    CHECK_STATUS(got, want);
    CHECK(pitr_last_error_status() == want);
    CHECK_STR(pitr_last_error(), msg ? msg : "");
    f = pitr_last_error_file();
    CHECK((f == NULL && file == NULL) || (f && file && strcmp(f, file) == 0));
    CHECK(log.calls == 0);
    CHECK(p == NULL && q == NULL);
    free(msg);
    free(file);
    if (harness_failures_in_test != failures) fprintf(stderr, "    (case: %s)\n", what);
}

static void test_plan_with_progress_arguments(void) {
    pitr_plan_options o;
    CHECK_OK(pitr_plan_options_init(&o));
    check_plan_fails_alike("no backup", &o, 1);
    CHECK_ERROR_MENTIONS("options->backup");
    if (!base_options(&o)) return;
    check_plan_fails_alike("NULL options", NULL, 1);
    check_plan_fails_alike("NULL out", &o, 0);
    pitr_plan_options bad = o;
    bad.archive = NULL;
    check_plan_fails_alike("no archive", &bad, 1);
    bad = o;
    bad.archive = "\xff\xfe";
    check_plan_fails_alike("archive not UTF-8", &bad, 1);
    CHECK(pitr_last_error_status() == PITR_STATUS_INVALID_UTF8);
    bad = o;
    bad.target_kind = 42;
    check_plan_fails_alike("target_kind 42", &bad, 1);
    CHECK_ERROR_MENTIONS("target_kind 42");
    bad = o;
    bad.target_kind = PITR_TARGET_KIND_XID;
    check_plan_fails_alike("xid without text", &bad, 1);
    bad = o;
    bad.action = 7;
    check_plan_fails_alike("action 7", &bad, 1);
    bad = o;
    bad.timezone = "Mars/Olympus_Mons";
    check_plan_fails_alike("unknown time zone", &bad, 1);
    bad = o;
    bad.target_kind = PITR_TARGET_KIND_TIME;
    bad.target = "now";
    check_plan_fails_alike("time now", &bad, 1);
    CHECK(pitr_last_error_status() == PITR_STATUS_PARSE);
    bad = o;
    bad.backup = "/nonexistent/backup";
    check_plan_fails_alike("no backup there", &bad, 1);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/backup");
    bad = o;
    bad.archive = "/nonexistent/archive";
    check_plan_fails_alike("no archive there", &bad, 1);
    CHECK(pitr_last_error_status() == PITR_STATUS_IO);
    bad = o;
    bad.backup = o.archive;
    check_plan_fails_alike("not a backup", &bad, 1);
}

/* `text` with every `from` replaced by `to` (malloc'd), or NULL. */
static char *replace_all(const char *text, const char *from, const char *to) {
    if (!text || !*from) return NULL;
    size_t nf = strlen(from), nt = strlen(to), n = 0;
    for (const char *at = strstr(text, from); at; at = strstr(at + nf, from)) n++;
    char *out = malloc(strlen(text) + n * nt + 1);
    if (!out) return NULL;
    char *w = out;
    const char *r = text;
    for (const char *at = strstr(r, from); at; at = strstr(r, from)) {
        memcpy(w, r, (size_t)(at - r));
        w += at - r;
        memcpy(w, to, nt);
        w += nt;
        r = at + nf;
    }
    strcpy(w, r);
    return out;
}

/* pitr_restore_with_progress's report with `dir` read as `plain_dir` is
 * pitr_restore's report `want`, and both wrote the same settings. */
static void check_same_restore(const char *want, const char *plain_dir, char *got, const char *dir) {
    char *as_plain = replace_all(got, dir, plain_dir);
    CHECK(want != NULL && as_plain != NULL);
    if (want && as_plain && strcmp(want, as_plain) != 0) {
        harness_failures_in_test++;
        fprintf(stderr, "  restore reports differ:\n    %s\n    %s\n", want, as_plain);
    }
    free(as_plain);
    pitr_string_free(got);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/postgresql.auto.conf", plain_dir);
    snprintf(b, sizeof b, "%s/postgresql.auto.conf", dir);
    char *ta = read_file(a), *tb = read_file(b);
    CHECK(ta != NULL && tb != NULL && strcmp(ta, tb) == 0);
    free(ta);
    free(tb);
    snprintf(b, sizeof b, "%s/recovery.signal", dir);
    CHECK(exists(b));
}

/* pitr_restore and pitr_restore_with_progress fail alike on the same
 * arguments (status, last error, nothing written); the progress calls are
 * `calls` (those of the plan when the failure comes after it). */
static void check_restore_fails_alike(const char *what, const pitr_plan_options *o, const char *pgdata,
                                      const uint32_t *oids, const char *const *dirs, size_t n, int with_out,
                                      uint64_t calls) {
    int failures = harness_failures_in_test;
    char *json = NULL;
    pitr_status want = pitr_restore(o, pgdata, false, oids, dirs, n, with_out ? &json : NULL);
    char *msg = strdup(pitr_last_error());
    progress_log log;
    progress_log_start(&log);
    log.in_call = 1;
    pitr_status got =
        pitr_restore_with_progress(o, pgdata, false, oids, dirs, n, with_out ? &json : NULL, progress_record, &log);
    log.in_call = 0;
    CHECK(want != PITR_STATUS_OK);
    CHECK_STATUS(got, want);
    CHECK_STR(pitr_last_error(), msg ? msg : "");
    CHECK(json == NULL);
    CHECK(log.calls == calls);
    if (calls > 0) CHECK_PROGRESS_IN_STEP(log);
    free(msg);
    if (harness_failures_in_test != failures) fprintf(stderr, "    (case: %s)\n", what);
}

/* A restore reports its plan's scan, call for call, before it copies; its
 * report and the files it writes are pitr_restore's; without a callback,
 * no calls; its failures are pitr_restore's. */
static void test_restore_with_progress(void) {
    const char *tmp = need_env("PITR_TEST_TMP");
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_plan_options o;
    if (!still_options(&o) || !tmp || !xid_text) return;
    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    o.restore_command = "cp /archive/%f %p";

    /* What the plan's scan reports for these options. */
    pitr_recovery_plan *p = NULL;
    progress_log planned;
    CHECK_OK(plan_logged(&o, &p, &planned));
    CHECK_PROGRESS_IN_STEP(planned);
    char *plan = plan_json(p);
    pitr_recovery_plan_free(p);

    char plain_dir[600], dir[600], quiet_dir[600];
    make_dir(plain_dir, sizeof plain_dir, tmp, "restored-plain");
    make_dir(dir, sizeof dir, tmp, "restored-progress");
    make_dir(quiet_dir, sizeof quiet_dir, tmp, "restored-no-callback");
    char *want = NULL;
    CHECK_OK(pitr_restore(&o, plain_dir, false, NULL, NULL, 0, &want));
    progress_log log;
    progress_log_start(&log);
    char *got = NULL;
    log.in_call = 1;
    CHECK_OK(pitr_restore_with_progress(&o, dir, false, NULL, NULL, 0, &got, progress_record, &log));
    log.in_call = 0;
    CHECK_PROGRESS_IN_STEP(log);
    CHECK(log.calls == planned.calls && log.first_total == planned.first_total);
    /* The report carries the plan pitr_plan_with_progress made. */
    if (plan && got) {
        size_t len = strlen(plan) + 16;
        char *part = malloc(len);
        if (part) snprintf(part, len, "\"plan\":%s", plan);
        CHECK_CONTAINS(got, part ? part : "(no memory)");
        free(part);
    }
    CHECK_CONTAINS(got, "\"restored\":true");
    check_same_restore(want, plain_dir, got, dir);

    progress_log none;
    progress_log_start(&none);
    got = NULL;
    none.in_call = 1;
    CHECK_OK(pitr_restore_with_progress(&o, quiet_dir, false, NULL, NULL, 0, &got, NULL, &none));
    none.in_call = 0;
    CHECK(none.calls == 0);
    check_same_restore(want, plain_dir, got, quiet_dir);

    /* Failures after the plan: its scan was reported. */
    check_restore_fails_alike("not empty", &o, plain_dir, NULL, NULL, 0, 1, planned.calls);
    CHECK_ERROR_MENTIONS("not empty");
    char other[600];
    make_dir(other, sizeof other, tmp, "not-restored-progress");
    pitr_plan_options latest = o;
    latest.timeline_kind = PITR_TIMELINE_TARGET_LATEST;
    progress_log unreachable;
    p = NULL;
    CHECK_OK(plan_logged(&latest, &p, &unreachable));
    CHECK(!pitr_recovery_plan_reachable(p));
    pitr_recovery_plan_free(p);
    check_restore_fails_alike("unreachable", &latest, other, NULL, NULL, 0, 1, unreachable.calls);
    CHECK(pitr_last_error_status() == PITR_STATUS_UNREACHABLE_TARGET);
    CHECK(!exists(other));

    /* Failures before it: no calls. */
    const uint32_t oids[] = {16384, 16384};
    const char *dirs[] = {"/t1", "/t2"};
    const char *null_dirs[] = {NULL};
    check_restore_fails_alike("tablespace twice", &o, other, oids, dirs, 2, 1, 0);
    CHECK_ERROR_MENTIONS("tablespace 16384 is given twice");
    check_restore_fails_alike("NULL tablespace_dirs", &o, other, oids, NULL, 1, 1, 0);
    check_restore_fails_alike("NULL tablespace_dirs[0]", &o, other, oids, null_dirs, 1, 1, 0);
    CHECK_ERROR_MENTIONS("tablespace_dirs[0]");
    check_restore_fails_alike("NULL options", NULL, other, NULL, NULL, 0, 1, 0);
    check_restore_fails_alike("NULL pgdata", &o, NULL, NULL, NULL, 0, 1, 0);
    check_restore_fails_alike("NULL out_json", &o, other, NULL, NULL, 0, 0, 0);
    pitr_plan_options bad = o;
    bad.backup = "/nonexistent/backup";
    check_restore_fails_alike("no backup there", &bad, other, NULL, NULL, 0, 1, 0);
    CHECK(pitr_last_error_status() == PITR_STATUS_IO);
    CHECK(!exists(other));
    pitr_string_free(want);
    pitr_string_free(plan);
}

/* A callback that returns non-zero cancels: the scan stops at that file, the
 * call fails with PITR_STATUS_CANCELLED saying where, there is no plan, and a
 * restore writes nothing (a new directory is not created, an empty one stays
 * empty). */
static void test_progress_cancels(void) {
    const char *tmp = need_env("PITR_TEST_TMP");
    const char *xid_text = need_env("PITR_TEST_XID");
    pitr_plan_options o;
    if (!still_options(&o) || !tmp || !xid_text) return;
    o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
    progress_log all;
    pitr_recovery_plan *p = NULL;
    CHECK_OK(plan_logged(&o, &p, &all));
    pitr_recovery_plan_free(p);
    CHECK(all.first_total >= 2);
    for (uint64_t at = 1; at <= 2; at++) {
        progress_log log;
        progress_log_start(&log);
        log.cancel_at = at;
        p = NULL;
        log.in_call = 1;
        CHECK_STATUS(pitr_plan_with_progress(&o, &p, progress_record, &log), PITR_STATUS_CANCELLED);
        log.in_call = 0;
        CHECK(p == NULL);
        CHECK_PROGRESS_IN_STEP(log);
        CHECK(log.calls == at);
        CHECK(pitr_last_error_status() == PITR_STATUS_CANCELLED);
        char want[128];
        snprintf(want, sizeof want, "cancelled by the caller at WAL file %" PRIu64 " of %" PRIu64, at,
                 all.first_total);
        CHECK_STR(pitr_last_error(), want);
    }

    o.target_kind = PITR_TARGET_KIND_XID;
    o.target = xid_text;
    char fresh[600], empty[600];
    make_dir(fresh, sizeof fresh, tmp, "cancelled-restore-new");
    make_dir(empty, sizeof empty, tmp, "cancelled-restore-empty");
    CHECK(mkdir(empty, 0700) == 0);
    const char *dirs[] = {fresh, empty};
    for (size_t i = 0; i < 2; i++) {
        progress_log log;
        progress_log_start(&log);
        log.cancel_at = 1;
        char *json = NULL;
        log.in_call = 1;
        CHECK_STATUS(pitr_restore_with_progress(&o, dirs[i], false, NULL, NULL, 0, &json, progress_record, &log),
                     PITR_STATUS_CANCELLED);
        log.in_call = 0;
        CHECK(json == NULL && log.calls == 1);
        CHECK_ERROR_MENTIONS("cancelled by the caller at WAL file 1 of");
    }
    CHECK(!exists(fresh));
    DIR *d = opendir(empty);
    CHECK(d != NULL);
    if (d) {
        struct dirent *e;
        int entries = 0;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) entries++;
        closedir(d);
        CHECK(entries == 0);
    }
}

void run_plan_tests(void) {
    RUN(test_plan_xid_matches_the_server);
    RUN(test_plan_arguments);
    RUN(test_plan_unreachable);
    RUN(test_plan_end_of_wal);
    RUN(test_plan_immediate);
    RUN(test_plan_other_targets);
    RUN(test_write_recovery_settings);
    RUN(test_restore);
    RUN(test_plan_with_progress);
    RUN(test_plan_with_progress_arguments);
    RUN(test_restore_with_progress);
    RUN(test_progress_cancels);
}
