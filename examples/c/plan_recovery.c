/*
 * plan_recovery: can PostgreSQL recover this base backup to this target, and
 * exactly what will it do? Plans a point-in-time recovery with pitr's C
 * library, touching nothing.
 *
 *   plan_recovery BACKUP ARCHIVE_DIR [TARGET [TIMELINE]]
 *
 * BACKUP is a base backup (a data directory, pg_basebackup -Ft output, a
 * backup_label or a .backup file). TARGET is an LSN (0/3000028), a time
 * (2026-12-05 08:00:00+01), xid:NNN, name:RESTORE_POINT or immediate; none:
 * the end of the archive. TIMELINE is current, latest (the default) or a
 * number. Prints whether the target is reachable, where PostgreSQL will stop
 * (and the line it will log), the WAL files it will fetch in order, the
 * recovery settings to write, and every problem with what PostgreSQL would
 * say. While it reads the WAL, it shows which file it is at on stderr.
 *
 * Exit status: 0 reachable, 1 not reachable, 2 bad input (the message of
 * pitr's last error on stderr).
 *
 * Build: cc -o plan_recovery plan_recovery.c $(pkg-config --cflags --libs pitr)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pitr.h>

static int fail(const char *what) {
    fprintf(stderr, "plan_recovery: %s: %s\n", what, pitr_last_error());
    return 2;
}

/* The progress of the plan's WAL scan: called on this thread, while
 * pitr_plan_with_progress runs, as the scan enters each WAL file. */
typedef struct {
    uint64_t files; /* the files entered so far */
} scan_progress;

static int show_progress(uint64_t done, uint64_t total, void *user_data) {
    scan_progress *progress = user_data;
    progress->files = done;
    fprintf(stderr, "\rplan_recovery: reading WAL file %" PRIu64 " of at most %" PRIu64, done, total);
    return 0; /* go on; non-zero would cancel (PITR_STATUS_CANCELLED) */
}

static const char *lsn_text(pitr_lsn lsn, char buf[PITR_LSN_BUFSIZE]) {
    pitr_lsn_format(lsn, buf, PITR_LSN_BUFSIZE, NULL);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s BACKUP ARCHIVE_DIR [TARGET [TIMELINE]]\n", argv[0]);
        return 2;
    }
    if (pitr_abi_version() != PITR_ABI_VERSION) {
        fprintf(stderr, "plan_recovery: built for libpitr ABI %d, loaded %u\n", PITR_ABI_VERSION,
                pitr_abi_version());
        return 2;
    }

    pitr_plan_options o;
    pitr_plan_options_init(&o);
    o.backup = argv[1];
    o.archive = argv[2];
    if (argc > 3) {
        const char *t = argv[3];
        pitr_lsn lsn;
        if (strcmp(t, "immediate") == 0) {
            o.target_kind = PITR_TARGET_KIND_IMMEDIATE;
        } else if (strncmp(t, "xid:", 4) == 0) {
            o.target_kind = PITR_TARGET_KIND_XID;
            o.target = t + 4;
        } else if (strncmp(t, "name:", 5) == 0) {
            o.target_kind = PITR_TARGET_KIND_NAME;
            o.target = t + 5;
        } else if (pitr_lsn_parse(t, &lsn) == PITR_STATUS_OK) {
            o.target_kind = PITR_TARGET_KIND_LSN;
            o.target = t;
        } else {
            o.target_kind = PITR_TARGET_KIND_TIME;
            o.target = t;
        }
    }
    if (argc > 4) {
        const char *tl = argv[4];
        if (strcmp(tl, "current") == 0) {
            o.timeline_kind = PITR_TIMELINE_TARGET_CURRENT;
        } else if (strcmp(tl, "latest") != 0) {
            char *end = NULL;
            unsigned long n = strtoul(tl, &end, 10);
            if (*tl == '\0' || *end != '\0' || n == 0 || n > UINT32_MAX) {
                fprintf(stderr, "plan_recovery: timeline: %s is not current, latest or a number\n", tl);
                return 2;
            }
            o.timeline_kind = PITR_TIMELINE_TARGET_NUMBERED;
            o.timeline = (uint32_t)n;
        }
    }

    pitr_recovery_plan *p = NULL;
    scan_progress progress = {0};
    pitr_status status = pitr_plan_with_progress(&o, &p, show_progress, &progress);
    if (progress.files > 0) fputc('\n', stderr);
    if (status != PITR_STATUS_OK) return fail("plan");

    char a[PITR_LSN_BUFSIZE], b[PITR_LSN_BUFSIZE];
    bool reachable = pitr_recovery_plan_reachable(p);
    printf("reachable  %s\n", reachable ? "yes" : "NO: PostgreSQL would not get there");
    printf("target     %s on timeline %" PRIu32 " (PostgreSQL %" PRIu32 ")\n", pitr_recovery_plan_target(p),
           pitr_recovery_plan_timeline(p), pitr_recovery_plan_pg_version(p));
    printf("backup     redo %s, checkpoint %s", lsn_text(pitr_recovery_plan_redo_lsn(p), a),
           lsn_text(pitr_recovery_plan_checkpoint_lsn(p), b));
    pitr_lsn consistent;
    if (pitr_recovery_plan_consistent_lsn(p, &consistent) == PITR_STATUS_OK) {
        printf(", consistent at %s", lsn_text(consistent, a));
    }
    printf("\n");

    pitr_lsn replay, record;
    switch (pitr_recovery_plan_stop_kind(p)) {
    case PITR_STOP_KIND_NONE: printf("stop       none: recovery does not get to a stop\n"); break;
    case PITR_STOP_KIND_END_OF_WAL: printf("stop       at the end of the archived WAL\n"); break;
    case PITR_STOP_KIND_CONSISTENT: printf("stop       as soon as the backup is consistent\n"); break;
    default: {
        const char *rec = pitr_recovery_plan_stop_record(p);
        printf("stop       %s %s", pitr_recovery_plan_stop_kind(p) == PITR_STOP_KIND_BEFORE ? "before" : "after",
               rec ? rec : "the record");
        if (pitr_recovery_plan_stop_record_lsn(p, &record) == PITR_STATUS_OK) {
            printf(" at %s", lsn_text(record, a));
        }
        uint32_t xid;
        if (pitr_recovery_plan_stop_xid(p, &xid) == PITR_STATUS_OK) printf(", transaction %" PRIu32, xid);
        const char *time = pitr_recovery_plan_stop_time(p);
        if (time) printf(", %s", time);
        printf(" on timeline %" PRIu32 "\n", pitr_recovery_plan_stop_timeline(p));
    }
    }
    if (pitr_recovery_plan_stop_replay_lsn(p, &replay) == PITR_STATUS_OK) {
        printf("           pg_last_wal_replay_lsn() = %s\n", lsn_text(replay, a));
    }
    const char *log = pitr_recovery_plan_stop_log_message(p);
    if (log) printf("           LOG:  %s\n", log);
    const char *last = pitr_recovery_plan_last_transaction_time(p);
    if (last) printf("last xact  %s\n", last);

    size_t n = pitr_recovery_plan_wal_file_count(p);
    printf("WAL files  %zu, in the order PostgreSQL fetches them:\n", n);
    for (size_t i = 0; i < n; i++) {
        pitr_planned_file f;
        if (pitr_recovery_plan_wal_file_at(p, i, &f) == PITR_STATUS_OK) printf("           %s\n", f.name);
    }

    printf("settings   %s and postgresql.auto.conf:\n", pitr_recovery_plan_signal(p));
    for (size_t i = 0; i < pitr_recovery_plan_setting_count(p); i++) {
        const char *name, *value;
        char *quoted = NULL;
        if (pitr_recovery_plan_setting_at(p, i, &name, &value) == PITR_STATUS_OK &&
            pitr_conf_quote_value(value, &quoted) == PITR_STATUS_OK) {
            printf("           %s = %s\n", name, quoted);
        }
        pitr_string_free(quoted);
    }
    printf("promotes   to timeline %" PRIu32 "\n", pitr_recovery_plan_new_timeline(p));

    for (size_t i = 0; i < pitr_recovery_plan_problem_count(p); i++) {
        pitr_plan_problem pr;
        if (pitr_recovery_plan_problem_at(p, i, &pr) != PITR_STATUS_OK) continue;
        printf("%-10s [%s] %s\n", pr.severity == PITR_SEVERITY_ERROR ? "ERROR" : "warning", pr.code, pr.message);
        if (pr.postgres_message) printf("           PostgreSQL: %s\n", pr.postgres_message);
        if (pr.hint) printf("           hint: %s\n", pr.hint);
    }
    pitr_recovery_plan_free(p);
    return reachable ? 0 : 1;
}
