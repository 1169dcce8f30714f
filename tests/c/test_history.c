/*
 * Timeline history files: pitr_history_* and pitr_history_set_*, on text,
 * on files, and on the history file of a real promotion (PITR_TEST_HISTORY)
 * and a real WAL archive (PITR_TEST_ARCHIVE).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* As PostgreSQL writes them (recovery-semantics.md 3.1). */
static const char TL3[] = "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n";

static pitr_history *parse(uint32_t timeline, const char *text) {
    pitr_history *h = NULL;
    CHECK_OK(pitr_history_parse(timeline, text, &h));
    CHECK(h != NULL);
    return h;
}

static void test_history_parse_and_entries(void) {
    pitr_history *h = parse(3, TL3);
    CHECK(pitr_history_timeline(h) == 3);
    CHECK(pitr_history_entry_count(h) == 2);

    pitr_history_entry e;
    CHECK_OK(pitr_history_entry_at(h, 0, &e));
    CHECK(e.parent == 1 && e.switch_lsn == 0x5000220 && e.line == 1);
    CHECK_STR(e.reason, "after transaction 728");
    CHECK_OK(pitr_history_entry_at(h, 1, &e));
    CHECK(e.parent == 2 && e.switch_lsn == 0x6000000 && e.line == 3);
    CHECK_STR(e.reason, "no recovery target specified");
    /* Out of range: an error, *out untouched. */
    e.parent = 77;
    CHECK_STATUS(pitr_history_entry_at(h, 2, &e), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("2 entries");
    CHECK(e.parent == 77);
    CHECK_STATUS(pitr_history_entry_at(h, SIZE_MAX, &e), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pitr_history_entry_at(h, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_entry_at(NULL, 0, &e), PITR_STATUS_NULL_ARGUMENT);

    uint32_t parent = 0;
    CHECK_OK(pitr_history_parent(h, &parent));
    CHECK(parent == 2);
    CHECK_STATUS(pitr_history_parent(h, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_parent(NULL, &parent), PITR_STATUS_NULL_ARGUMENT);
    CHECK_OK(pitr_history_validate(h));
    pitr_history_free(h);

    /* A root history (no entries): no parent, ancestry is itself. */
    pitr_history *root = parse(1, "");
    CHECK(pitr_history_entry_count(root) == 0);
    parent = 99;
    CHECK_STATUS(pitr_history_parent(root, &parent), PITR_STATUS_NO_VALUE);
    CHECK(parent == 99);
    uint32_t one[1] = {0};
    size_t n = 0;
    CHECK_OK(pitr_history_ancestry(root, one, 1, &n));
    CHECK(n == 1 && one[0] == 1);
    pitr_history_free(root);

    /* Comment lines and white space, as readTimeLineHistory skips them. */
    pitr_history *c = parse(2, "# comment\n   \n 1 \t 0/16B3748\tafter LSN 0/16B3748\n\n");
    CHECK(pitr_history_entry_count(c) == 1);
    CHECK_OK(pitr_history_entry_at(c, 0, &e));
    CHECK(e.parent == 1 && e.switch_lsn == 0x16B3748 && e.line == 3);
    pitr_history_free(c);

    /* NULL handles: neutral values. */
    CHECK(pitr_history_timeline(NULL) == 0);
    CHECK(pitr_history_entry_count(NULL) == 0);
    CHECK(!pitr_history_contains(NULL, 1));
    pitr_history_free(NULL);
}

static void test_history_queries(void) {
    pitr_history *h = parse(3, TL3);
    uint32_t tli = 0;
    /* tliOfPointInHistory: [begin, end) per timeline. */
    CHECK_OK(pitr_history_timeline_of(h, 0, &tli));
    CHECK(tli == 1);
    CHECK_OK(pitr_history_timeline_of(h, 0x500021F, &tli));
    CHECK(tli == 1);
    CHECK_OK(pitr_history_timeline_of(h, 0x5000220, &tli));
    CHECK(tli == 2);
    CHECK_OK(pitr_history_timeline_of(h, 0x5FFFFFF, &tli));
    CHECK(tli == 2);
    CHECK_OK(pitr_history_timeline_of(h, 0x6000000, &tli));
    CHECK(tli == 3);
    CHECK_OK(pitr_history_timeline_of(h, UINT64_MAX, &tli));
    CHECK(tli == 3);
    CHECK_STATUS(pitr_history_timeline_of(h, 0, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_timeline_of(NULL, 0, &tli), PITR_STATUS_NULL_ARGUMENT);

    /* tliSwitchPoint. */
    pitr_lsn lsn = 0;
    uint32_t next = 0;
    CHECK_OK(pitr_history_switch_point(h, 1, &lsn, &next));
    CHECK(lsn == 0x5000220 && next == 2);
    CHECK_OK(pitr_history_switch_point(h, 2, &lsn, NULL));
    CHECK(lsn == 0x6000000);
    lsn = 5;
    CHECK_STATUS(pitr_history_switch_point(h, 3, &lsn, &next), PITR_STATUS_NO_VALUE);
    CHECK(lsn == 5);
    CHECK_STATUS(pitr_history_switch_point(h, 4, &lsn, &next), PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("requested timeline 4 is not in this server's history");
    CHECK_STATUS(pitr_history_switch_point(h, 1, NULL, &next), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_switch_point(NULL, 1, &lsn, &next), PITR_STATUS_NULL_ARGUMENT);

    CHECK(pitr_history_contains(h, 1));
    CHECK(pitr_history_contains(h, 2));
    CHECK(pitr_history_contains(h, 3));
    CHECK(!pitr_history_contains(h, 4));
    CHECK(!pitr_history_contains(h, 0));

    /* Ancestry into a caller array. */
    uint32_t anc[4] = {0, 0, 0, 0};
    size_t n = 0;
    /* Asking for the size: NULL array of length 0. */
    CHECK_STATUS(pitr_history_ancestry(h, NULL, 0, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 3);
    n = 0;
    CHECK_STATUS(pitr_history_ancestry(h, anc, 2, &n), PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 3 && anc[0] == 0);
    CHECK_OK(pitr_history_ancestry(h, anc, 4, &n));
    CHECK(n == 3 && anc[0] == 1 && anc[1] == 2 && anc[2] == 3 && anc[3] == 0);
    CHECK_OK(pitr_history_ancestry(h, anc, 3, NULL));
    CHECK_STATUS(pitr_history_ancestry(h, NULL, 3, &n), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_ancestry(NULL, anc, 4, &n), PITR_STATUS_NULL_ARGUMENT);

    /* Text round trip, JSON. */
    char *text = NULL;
    CHECK_OK(pitr_history_to_text(h, &text));
    CHECK_STR(text, TL3);
    pitr_string_free(text);
    CHECK_STATUS(pitr_history_to_text(h, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_to_text(NULL, &text), PITR_STATUS_NULL_ARGUMENT);
    char *json = NULL;
    CHECK_OK(pitr_history_to_json(h, &json));
    CHECK_STR(json,
              "{\"timeline\":3,\"entries\":[{\"parent\":1,\"switch_lsn\":\"0/5000220\",\"reason\":\"after "
              "transaction 728\",\"line\":1},{\"parent\":2,\"switch_lsn\":\"0/6000000\",\"reason\":\"no "
              "recovery target specified\",\"line\":3}]}");
    pitr_string_free(json);
    CHECK_STATUS(pitr_history_to_json(h, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    pitr_history_free(h);
}

static void test_history_errors(void) {
    pitr_history *h = (pitr_history *)&h; /* must stay untouched on failure */
    pitr_history *const sentinel = h;
    /* The server's syntax error, with the line. */
    CHECK_STATUS(pitr_history_parse(3, "1\t0/5000220\tx\n\nfoo\n", &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("syntax error in history file");
    uint64_t line = 0;
    CHECK(pitr_last_error_line(&line) && line == 3);
    CHECK(h == sentinel);
    CHECK_STATUS(pitr_history_parse(3, "1\tnot-an-lsn\n", &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("switchpoint");
    CHECK_STATUS(pitr_history_parse(3, "2\t0/1\tx\n1\t0/2\ty\n", &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("increasing sequence");
    CHECK_STATUS(pitr_history_parse(2, "2\t0/1\tx\n", &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("less than child timeline's ID");
    CHECK_STATUS(pitr_history_parse(3, "1\t1FFFFFFFF/0\tx\n", &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("out of range");
    CHECK_STATUS(pitr_history_parse(3, "1\t0/1\t\xff\n", &h), PITR_STATUS_INVALID_UTF8);
    CHECK_STATUS(pitr_history_parse(3, NULL, &h), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_parse(3, TL3, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(h == sentinel);

    /* What the server accepts but pitr_history_validate refuses. */
    pitr_history *back = parse(3, "1\t0/6000000\ta\n2\t0/5000000\tb\n");
    CHECK_STATUS(pitr_history_validate(back), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("must not decrease");
    CHECK(pitr_last_error_line(&line) && line == 2);
    pitr_history_free(back);
    CHECK_STATUS(pitr_history_validate(NULL), PITR_STATUS_NULL_ARGUMENT);
}

/* A fresh directory under PITR_TEST_TMP (NULL when the variable is missing). */
static int scratch_dir(char *buf, size_t len, const char *name) {
    const char *tmp = need_env("PITR_TEST_TMP");
    if (!tmp) return 0;
    snprintf(buf, len, "%s/%ld-%s", tmp, (long)getpid(), name);
    CHECK(mkdir(buf, 0700) == 0);
    return 1;
}

static void test_history_files(void) {
    char dir[512], path[700];
    if (!scratch_dir(dir, sizeof dir, "history-files")) return;

    /* The timeline comes from the file name. */
    snprintf(path, sizeof path, "%s/00000003.history", dir);
    CHECK(write_file(path, TL3));
    pitr_history *h = NULL;
    CHECK_OK(pitr_history_read(path, &h));
    CHECK(pitr_history_timeline(h) == 3);
    CHECK(pitr_history_entry_count(h) == 2);
    pitr_history_free(h);
    h = NULL;

    /* Any name with read_for. */
    snprintf(path, sizeof path, "%s/tl3.txt", dir);
    CHECK(write_file(path, TL3));
    CHECK_STATUS(pitr_history_read(path, &h), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("TTTTTTTT.history");
    CHECK_STR(pitr_last_error_file(), path);
    CHECK(h == NULL);
    CHECK_OK(pitr_history_read_for(path, 3, &h));
    CHECK(pitr_history_timeline(h) == 3);
    pitr_history_free(h);
    h = NULL;

    /* A bad file: file and line in the last error. */
    snprintf(path, sizeof path, "%s/00000004.history", dir);
    CHECK(write_file(path, "1\t0/1\tok\nbroken\n"));
    CHECK_STATUS(pitr_history_read(path, &h), PITR_STATUS_PARSE);
    CHECK_STR(pitr_last_error_file(), path);
    uint64_t line = 0;
    CHECK(pitr_last_error_line(&line) && line == 2);
    CHECK_STATUS(pitr_history_read_for(path, 4, &h), PITR_STATUS_PARSE);

    /* Missing files. */
    snprintf(path, sizeof path, "%s/00000009.history", dir);
    CHECK_STATUS(pitr_history_read(path, &h), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), path);
    CHECK_STATUS(pitr_history_read_for(path, 9, &h), PITR_STATUS_IO);
    CHECK(h == NULL);
    CHECK_STATUS(pitr_history_read(NULL, &h), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_read(path, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_read_for(NULL, 1, &h), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_read_for(path, 1, NULL), PITR_STATUS_NULL_ARGUMENT);

    /* A set with a broken file: loads, but is not valid. */
    pitr_history_set *s = NULL;
    CHECK_OK(pitr_history_set_load_dir(dir, &s));
    CHECK(!pitr_history_set_is_valid(s));
    CHECK(pitr_history_set_newest_from(s, 1) == 1); /* 00000002.history is not there */
    CHECK(pitr_history_set_newest_from(s, 2) == 4); /* 3 and 4 exist (4 is broken, it counts) */
    char *json = NULL;
    CHECK_OK(pitr_history_set_to_json(s, &json));
    CHECK_CONTAINS(json, "\"errors\":[\"");
    CHECK_CONTAINS(json, "00000004.history:2");
    pitr_string_free(json);
    h = NULL;
    CHECK_STATUS(pitr_history_set_history(s, 4, &h), PITR_STATUS_NO_VALUE);
    CHECK(h == NULL);
    CHECK_OK(pitr_history_set_history(s, 3, &h));
    CHECK(pitr_history_entry_count(h) == 2);
    pitr_history_free(h);
    pitr_history_set_free(s);
}

/* The history file a real promotion wrote, and the archive it went to. */
static void test_history_real_promotion(void) {
    const char *path = need_env("PITR_TEST_HISTORY");
    const char *stop_text = need_env("PITR_TEST_BACKUP_STOP");
    if (!path || !stop_text) return;
    pitr_history *h = NULL;
    CHECK_OK(pitr_history_read(path, &h));
    CHECK(pitr_history_timeline(h) == 2);
    CHECK(pitr_history_entry_count(h) == 1);
    pitr_history_entry e;
    CHECK_OK(pitr_history_entry_at(h, 0, &e));
    CHECK(e.parent == 1 && e.line == 1);
    /* Promoted at the end of the backup (recovery_target = 'immediate'). */
    CHECK_STR(e.reason, "reached consistency");
    pitr_lsn stop = 0;
    CHECK_OK(pitr_lsn_parse(stop_text, &stop));
    CHECK(e.switch_lsn >= stop);
    uint32_t tli = 0;
    CHECK_OK(pitr_history_timeline_of(h, e.switch_lsn - 1, &tli));
    CHECK(tli == 1);
    CHECK_OK(pitr_history_timeline_of(h, e.switch_lsn, &tli));
    CHECK(tli == 2);
    CHECK_OK(pitr_history_validate(h));
    /* pitr writes the file byte for byte as the server did. */
    char *text = NULL, *file = read_file(path);
    CHECK(file != NULL);
    CHECK_OK(pitr_history_to_text(h, &text));
    CHECK_STR(text, file ? file : "");
    pitr_string_free(text);
    free(file);
    pitr_history_free(h);
}

static void test_history_set_real_archive(void) {
    const char *archive = need_env("PITR_TEST_ARCHIVE");
    if (!archive) return;
    pitr_history_set *s = NULL;
    CHECK_OK(pitr_history_set_load_dir(archive, &s));
    CHECK(pitr_history_set_is_valid(s));
    CHECK(pitr_history_set_newest_from(s, 1) == 2);
    CHECK(pitr_history_set_newest_from(s, 2) == 2);
    pitr_history *h = NULL;
    CHECK_OK(pitr_history_set_history(s, 2, &h));
    CHECK(pitr_history_timeline(h) == 2 && pitr_history_entry_count(h) == 1);
    pitr_history_free(h);
    h = NULL;
    CHECK_OK(pitr_history_set_history(s, 1, &h)); /* timeline 1: an empty history */
    CHECK(pitr_history_timeline(h) == 1 && pitr_history_entry_count(h) == 0);
    pitr_history_free(h);
    h = NULL;
    CHECK_STATUS(pitr_history_set_history(s, 3, &h), PITR_STATUS_NO_VALUE);
    CHECK_STATUS(pitr_history_set_history(s, 2, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_set_history(NULL, 2, &h), PITR_STATUS_NULL_ARGUMENT);
    char *json = NULL;
    CHECK_OK(pitr_history_set_to_json(s, &json));
    CHECK_CONTAINS(json, "00000002.history");
    CHECK_CONTAINS(json, "\"errors\":[]");
    pitr_string_free(json);
    CHECK_STATUS(pitr_history_set_to_json(s, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_set_to_json(NULL, &json), PITR_STATUS_NULL_ARGUMENT);
    pitr_history_set_free(s);

    s = NULL;
    CHECK_STATUS(pitr_history_set_load_dir("/nonexistent/pitr", &s), PITR_STATUS_IO);
    CHECK_STR(pitr_last_error_file(), "/nonexistent/pitr");
    CHECK(s == NULL);
    CHECK_STATUS(pitr_history_set_load_dir(NULL, &s), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_history_set_load_dir(archive, NULL), PITR_STATUS_NULL_ARGUMENT);
    CHECK(!pitr_history_set_is_valid(NULL));
    CHECK(pitr_history_set_newest_from(NULL, 1) == 0);
    pitr_history_set_free(NULL);
}

void run_history_tests(void) {
    RUN(test_history_parse_and_entries);
    RUN(test_history_queries);
    RUN(test_history_errors);
    RUN(test_history_files);
    RUN(test_history_real_promotion);
    RUN(test_history_set_real_archive);
}
