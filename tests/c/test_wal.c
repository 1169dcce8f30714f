/*
 * Reading WAL: pitr_wal_reader_* and pitr_wal_stats on a real archived
 * segment (PITR_TEST_WAL_SEGMENT, holding a commit of PITR_TEST_XID and the
 * restore point "pitr_fixture" ending at PITR_TEST_RESTORE_POINT), record by
 * record against pg_waldump's output for it (PITR_TEST_WALDUMP).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct waldump_line {
    char rmgr[32];
    unsigned rec_len, tot_len, xid, lsn_hi, lsn_lo, prev_hi, prev_lo;
    char desc[4096];
};

/* One line of pg_waldump's output; 0 when it does not have the shape. */
static int parse_waldump(const char *line, struct waldump_line *w) {
    w->desc[0] = '\0';
    int n = sscanf(line, "rmgr: %31s len (rec/tot): %u/ %u, tx: %u, lsn: %X/%X, prev %X/%X, desc: %4095[^\n]",
                   w->rmgr, &w->rec_len, &w->tot_len, &w->xid, &w->lsn_hi, &w->lsn_lo, &w->prev_hi, &w->prev_lo,
                   w->desc);
    return n >= 8;
}

static void test_wal_reader_against_pg_waldump(void) {
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *dump_path = need_env("PITR_TEST_WALDUMP");
    const char *xid_text = need_env("PITR_TEST_XID");
    const char *rp_text = need_env("PITR_TEST_RESTORE_POINT");
    if (!segment || !dump_path || !xid_text || !rp_text) return;
    char *dump = read_file(dump_path);
    CHECK(dump != NULL);
    if (!dump) return;
    uint32_t xid = (uint32_t)strtoul(xid_text, NULL, 10);
    pitr_lsn rp_end = 0;
    CHECK_OK(pitr_lsn_parse(rp_text, &rp_end));

    pitr_wal_reader *r = NULL;
    CHECK_OK(pitr_wal_reader_open(segment, 0, 0, &r));
    CHECK(pitr_wal_reader_major(r) == 15);
    CHECK(pitr_wal_reader_segment_size(r) == 1024 * 1024);
    CHECK(pitr_wal_reader_system_identifier(r) != 0);
    CHECK(pitr_wal_reader_record_lsn(r) == 0); /* no current record yet */
    char *end_json = NULL;
    CHECK_STATUS(pitr_wal_reader_end_to_json(r, &end_json), PITR_STATUS_NO_VALUE);

    int records = 0, matched = 0, described = 0, commits = 0, restore_points = 0;
    char *save = NULL;
    for (char *line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct waldump_line w;
        if (!parse_waldump(line, &w)) continue;
        bool has = false;
        CHECK_OK(pitr_wal_reader_next(r, &has));
        if (!has) {
            CHECK(!"pitr ended before pg_waldump");
            break;
        }
        records++;
        pitr_lsn lsn = ((pitr_lsn)w.lsn_hi << 32) | w.lsn_lo, prev = ((pitr_lsn)w.prev_hi << 32) | w.prev_lo;
        /* pg_waldump pads the description with a space when it has none. */
        size_t dl = strlen(w.desc);
        while (dl > 0 && w.desc[dl - 1] == ' ') w.desc[--dl] = '\0';
        char ours[4096];
        snprintf(ours, sizeof ours, "%s", pitr_wal_reader_record_description(r));
        size_t ol = strlen(ours);
        while (ol > 0 && ours[ol - 1] == ' ') ours[--ol] = '\0';
        const char *type = pitr_wal_reader_record_type_name(r);
        /* pitr describes what planning needs (transactions, XLOG, storage,
         * standby...); for other records, as heap inserts, the description
         * is the type name and the block references. */
        int exact = strcmp(ours, w.desc) == 0;
        char reduced[4096];
        const char *blk = strstr(w.desc, ", blkref");
        snprintf(reduced, sizeof reduced, "%s%s", type ? type : "", blk ? blk : "");
        char ours_reduced[4096];
        const char *our_blk = strstr(ours, ", blkref");
        snprintf(ours_reduced, sizeof ours_reduced, "%s%s", type ? type : "", our_blk ? our_blk : "");
        int same = pitr_wal_reader_record_lsn(r) == lsn && pitr_wal_reader_record_prev(r) == prev &&
                   pitr_wal_reader_record_xid(r) == w.xid && pitr_wal_reader_record_length(r) == w.rec_len &&
                   pitr_wal_reader_record_total_length(r) == w.tot_len &&
                   strcmp(pitr_wal_reader_record_rmgr_name(r), w.rmgr) == 0 &&
                   (exact || strcmp(ours_reduced, reduced) == 0);
        if (exact) described++;
        if (!same) {
            harness_failures_in_test++;
            fprintf(stderr, "  record %d differs from pg_waldump:\n    pg_waldump: %s\n    pitr: lsn %" PRIX64
                            " prev %" PRIX64 " xid %u len %u/%u %s desc: %s\n",
                    records, line, pitr_wal_reader_record_lsn(r), pitr_wal_reader_record_prev(r),
                    pitr_wal_reader_record_xid(r), pitr_wal_reader_record_length(r),
                    pitr_wal_reader_record_total_length(r), pitr_wal_reader_record_rmgr_name(r), ours);
        } else {
            matched++;
        }
        CHECK(pitr_wal_reader_record_end_lsn(r) > lsn);
        CHECK(pitr_wal_reader_record_timeline(r) == 1);
        CHECK(pitr_wal_reader_record_fpi_length(r) <= pitr_wal_reader_record_total_length(r));
        CHECK_STR(pitr_wal_reader_record_file(r), segment);
        CHECK(type != NULL && strncmp(w.desc, type, strlen(type)) == 0);

        const char *kind = NULL;
        int64_t us = 0;
        pitr_status xs = pitr_wal_reader_record_xact(r, &kind, &us);
        if (strcmp(type ? type : "", "COMMIT") == 0) {
            CHECK_OK(xs);
            CHECK_STR(kind, "commit");
            CHECK(strcmp(ours, w.desc) == 0); /* "COMMIT <time> UTC" */
            int64_t now = (int64_t)time(NULL);
            CHECK(us / 1000000 <= now && us / 1000000 > now - 3600);
            if (pitr_wal_reader_record_xid(r) == xid) commits++;
        } else {
            CHECK(xs == PITR_STATUS_NO_VALUE);
        }
        const char *rp = pitr_wal_reader_record_restore_point(r);
        if (rp) {
            CHECK_STR(rp, "pitr_fixture");
            CHECK(strcmp(ours, w.desc) == 0); /* "RESTORE_POINT pitr_fixture" */
            CHECK_STR(type, "RESTORE_POINT");
            /* pg_create_restore_point returned the end of its record. */
            CHECK(pitr_wal_reader_record_end_lsn(r) == rp_end);
            restore_points++;
        }
    }
    CHECK(records >= 200 && matched == records);
    CHECK(commits == 1 && restore_points == 1 && described >= 3);
    CHECK(pitr_wal_reader_records_read(r) == (uint64_t)records);
    /* pg_waldump's last record is pitr's last. */
    bool has = true;
    CHECK_OK(pitr_wal_reader_next(r, &has));
    CHECK(!has);
    CHECK(pitr_wal_reader_record_lsn(r) == 0);
    CHECK(pitr_wal_reader_record_rmgr_name(r) == NULL);
    CHECK(pitr_wal_reader_record_description(r) == NULL);
    CHECK(pitr_wal_reader_record_type_name(r) == NULL);
    CHECK(pitr_wal_reader_record_file(r) == NULL);
    CHECK(pitr_wal_reader_record_restore_point(r) == NULL);
    CHECK_STATUS(pitr_wal_reader_record_xact(r, NULL, NULL), PITR_STATUS_NO_VALUE);
    CHECK_OK(pitr_wal_reader_end_to_json(r, &end_json));
    CHECK_CONTAINS(end_json, "\"reason\":\"");
    pitr_string_free(end_json);
    pitr_wal_reader_free(r);
    free(dump);
}

static void test_wal_reader_range_and_errors(void) {
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    const char *rp_text = need_env("PITR_TEST_RESTORE_POINT");
    if (!segment || !archive || !rp_text) return;
    pitr_lsn rp_end = 0;
    CHECK_OK(pitr_lsn_parse(rp_text, &rp_end));

    /* The whole archive, from the restore point's end: the next record is
     * the WAL switch (pg_switch_wal() right after it). */
    pitr_wal_reader *r = NULL;
    CHECK_OK(pitr_wal_reader_open(archive, rp_end, 0, &r));
    bool has = false;
    CHECK_OK(pitr_wal_reader_next(r, &has));
    CHECK(has && pitr_wal_reader_record_lsn(r) == rp_end);
    CHECK_STR(pitr_wal_reader_record_type_name(r), "SWITCH");
    pitr_wal_reader_free(r);

    /* Stop before the restore point's end: the restore point is the last record. */
    r = NULL;
    CHECK_OK(pitr_wal_reader_open(segment, 0, rp_end, &r));
    pitr_lsn last = 0;
    while (pitr_wal_reader_next(r, &has) == PITR_STATUS_OK && has) last = pitr_wal_reader_record_end_lsn(r);
    CHECK(last == rp_end);
    char *json = NULL;
    CHECK_OK(pitr_wal_reader_end_to_json(r, &json));
    CHECK_CONTAINS(json, "\"end_lsn\":\"");
    pitr_string_free(json);
    pitr_wal_reader_free(r);

    /* Statistics, like pg_waldump --stats. */
    const char *stats_path = need_env("PITR_TEST_WALDUMP_STATS");
    char *stats = stats_path ? read_file(stats_path) : NULL;
    const char *total = stats ? strstr(stats, "\nTotal") : NULL;
    CHECK(total != NULL);
    unsigned long count = total ? strtoul(total + strlen("\nTotal"), NULL, 10) : 0;
    json = NULL;
    CHECK_OK(pitr_wal_stats(segment, 0, 0, false, &json));
    char expected[64];
    snprintf(expected, sizeof expected, "\"count\":%lu,", count);
    CHECK(count > 0);
    CHECK_CONTAINS(json, expected);
    CHECK_CONTAINS(json, "\"name\":\"Transaction\"");
    pitr_string_free(json);
    json = NULL;
    CHECK_OK(pitr_wal_stats(segment, 0, 0, true, &json));
    CHECK_CONTAINS(json, "\"name\":\"Transaction/COMMIT\"");
    pitr_string_free(json);
    free(stats);

    /* Errors: not WAL, missing, NULLs. */
    const char *tmp = need_env("PITR_TEST_TMP");
    if (tmp) {
        char path[600];
        snprintf(path, sizeof path, "%s/%ld-000000010000000000000001", tmp, (long)getpid());
        CHECK(write_file(path, "this is not WAL"));
        r = NULL;
        CHECK_STATUS(pitr_wal_reader_open(path, 0, 0, &r), PITR_STATUS_CORRUPT_WAL);
        CHECK_STR(pitr_last_error_file(), path);
        CHECK(r == NULL);
        CHECK_STATUS(pitr_wal_stats(path, 0, 0, false, &json), PITR_STATUS_CORRUPT_WAL);
    }
    CHECK_STATUS(pitr_wal_reader_open("/nonexistent/000000010000000000000001", 0, 0, &r), PITR_STATUS_IO);
    CHECK_STATUS(pitr_wal_reader_open(NULL, 0, 0, &r), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_reader_open(segment, 0, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_reader_next(NULL, &has), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_reader_end_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_reader_record_xact(NULL, NULL, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_stats(NULL, 0, 0, false, &json), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_stats(segment, 0, 0, false, NULL), PITR_STATUS_NULL_ARGUMENT);
    r = NULL;
    CHECK_OK(pitr_wal_reader_open(segment, 0, 0, &r));
    CHECK_STATUS(pitr_wal_reader_next(r, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_wal_reader_end_to_json(r, NULL), PITR_STATUS_NULL_ARGUMENT);
    pitr_wal_reader_free(r);
    CHECK(pitr_wal_reader_records_read(NULL) == 0);
    CHECK(pitr_wal_reader_major(NULL) == 0);
    CHECK(pitr_wal_reader_system_identifier(NULL) == 0);
    CHECK(pitr_wal_reader_segment_size(NULL) == 0);
    CHECK(pitr_wal_reader_record_lsn(NULL) == 0);
    CHECK(pitr_wal_reader_record_end_lsn(NULL) == 0);
    CHECK(pitr_wal_reader_record_prev(NULL) == 0);
    CHECK(pitr_wal_reader_record_xid(NULL) == 0);
    CHECK(pitr_wal_reader_record_rmid(NULL) == 0);
    CHECK(pitr_wal_reader_record_info(NULL) == 0);
    CHECK(pitr_wal_reader_record_total_length(NULL) == 0);
    CHECK(pitr_wal_reader_record_length(NULL) == 0);
    CHECK(pitr_wal_reader_record_fpi_length(NULL) == 0);
    CHECK(pitr_wal_reader_record_timeline(NULL) == 0);
    CHECK(pitr_wal_reader_record_rmgr_name(NULL) == NULL);
    CHECK(pitr_wal_reader_record_type_name(NULL) == NULL);
    CHECK(pitr_wal_reader_record_description(NULL) == NULL);
    CHECK(pitr_wal_reader_record_file(NULL) == NULL);
    CHECK(pitr_wal_reader_record_restore_point(NULL) == NULL);
    pitr_wal_reader_free(NULL);
}

/* A flipped byte inside a record: the reader stops there with
 * PITR_STATUS_CORRUPT_WAL, the file and the record's LSN in the last error. */
static void test_wal_reader_damage(void) {
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!segment || !tmp) return;
    /* A heap record that does not cross a page boundary. */
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
    CHECK(victim != 0);
    static unsigned char buf[1024 * 1024];
    FILE *f = fopen(segment, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof buf);
    buf[(victim % (1024 * 1024)) + len - 1] ^= 0xFF;
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%ld-damaged", tmp, (long)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    const char *base = strrchr(segment, '/');
    snprintf(path, sizeof path, "%s/%s", dir, base ? base + 1 : segment);
    f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(buf, 1, n, f) == n);
    if (f) fclose(f);

    r = NULL;
    CHECK_OK(pitr_wal_reader_open(dir, 0, 0, &r));
    pitr_status s = PITR_STATUS_OK;
    pitr_lsn last = 0;
    while ((s = pitr_wal_reader_next(r, &has)) == PITR_STATUS_OK && has) last = pitr_wal_reader_record_lsn(r);
    CHECK(s == PITR_STATUS_CORRUPT_WAL);
    CHECK_ERROR_MENTIONS("checksum");
    pitr_lsn at = 0;
    CHECK(pitr_last_error_lsn(&at) && at == victim);
    CHECK_STR(pitr_last_error_file(), path);
    CHECK(last < victim);
    CHECK(pitr_wal_reader_record_lsn(r) == 0); /* no current record after an error */
    pitr_wal_reader_free(r);
    char *json = NULL;
    CHECK_STATUS(pitr_wal_stats(dir, 0, 0, false, &json), PITR_STATUS_CORRUPT_WAL);
    CHECK(json == NULL);
}

/* The resource manager id and info bits of a COMMIT (RM_XACT_ID 1, XLOG_XACT_COMMIT 0x00). */
static void test_wal_reader_record_ids(void) {
    const char *segment = need_env("PITR_TEST_WAL_SEGMENT");
    if (!segment) return;
    pitr_wal_reader *r = NULL;
    CHECK_OK(pitr_wal_reader_open(segment, 0, 0, &r));
    bool has = false;
    int seen = 0;
    while (pitr_wal_reader_next(r, &has) == PITR_STATUS_OK && has) {
        const char *type = pitr_wal_reader_record_type_name(r);
        if (type && strcmp(type, "COMMIT") == 0) {
            CHECK(pitr_wal_reader_record_rmid(r) == 1);
            CHECK((pitr_wal_reader_record_info(r) & 0x70) == 0x00);
            seen++;
        } else if (type && strcmp(type, "SWITCH") == 0) {
            CHECK(pitr_wal_reader_record_rmid(r) == 0);
            CHECK((pitr_wal_reader_record_info(r) & 0xF0) == 0x40);
            seen++;
        }
    }
    CHECK(seen >= 2);
    pitr_wal_reader_free(r);
}

void run_wal_tests(void) {
    RUN(test_wal_reader_against_pg_waldump);
    RUN(test_wal_reader_range_and_errors);
    RUN(test_wal_reader_record_ids);
    RUN(test_wal_reader_damage);
}
