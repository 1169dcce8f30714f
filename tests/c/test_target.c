/*
 * Recovery target settings: pitr_target_time_parse, _xid_parse, _name_check,
 * _timeline_parse, _action_parse and _action_name.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

/* Parses with the given TimeZone/DateStyle and compares the normalised text. */
static void check_time(const char *text, const char *tz, const char *datestyle, const char *expected,
                       int64_t expected_us, bool expected_had_zone) {
    char buf[PITR_TARGET_TIME_BUFSIZE];
    size_t n = 0;
    int64_t us = 0;
    bool had_zone = !expected_had_zone;
    CHECK_OK(pitr_target_time_parse(text, tz, datestyle, &us, &had_zone, buf, sizeof buf, &n));
    CHECK_STR(buf, expected);
    CHECK(n == strlen(expected));
    CHECK(had_zone == expected_had_zone);
    if (expected_us != 0) CHECK(us == expected_us);
}

static void test_target_time(void) {
    /* 2026-11-23 23:57:57 UTC */
    const int64_t t = INT64_C(1795478277000000);
    check_time("2026-11-24 00:57:57 Europe/Berlin", NULL, NULL, "2026-11-23 23:57:57+00", t, true);
    check_time("2026-11-24 00:57:57+01", "America/New_York", NULL, "2026-11-23 23:57:57+00", t, true);
    check_time("2026-11-23T23:57:57", NULL, NULL, "2026-11-23 23:57:57+00", t, false);
    check_time("2026-11-23 18:57:57", "America/New_York", "ISO, MDY", "2026-11-23 23:57:57+00", t, false);
    check_time("2026-11-24 00:57:57.5+05:30", "UTC", NULL, "2026-11-23 19:27:57.500000+00",
               INT64_C(1795462077500000), true);
    /* Numeric dates follow DateStyle. */
    check_time("11/23/2026 23:57:57", NULL, NULL, "2026-11-23 23:57:57+00", t, false);
    check_time("23/11/2026 23:57:57", NULL, "ISO, DMY", "2026-11-23 23:57:57+00", t, false);
    check_time("Mon Nov 23 23:57:57 2026 UTC", NULL, NULL, "2026-11-23 23:57:57+00", t, true);

    /* Optional outputs may be NULL. */
    char buf[PITR_TARGET_TIME_BUFSIZE];
    CHECK_OK(pitr_target_time_parse("2026-11-24", NULL, NULL, NULL, NULL, buf, sizeof buf, NULL));
    CHECK_STR(buf, "2026-11-24 00:00:00+00");

    /* What the server rejects. */
    size_t n = 0;
    int64_t us = 42;
    const char *rejected[] = {"now", "today", "epoch", "infinity", "2026-11-24 00:57:57Z",
                              "2026-11-24 00:57:57 PST", "2026-02-30 00:00:00", "garbage", ""};
    for (size_t i = 0; i < sizeof rejected / sizeof *rejected; i++) {
        CHECK_STATUS(pitr_target_time_parse(rejected[i], NULL, NULL, &us, NULL, buf, sizeof buf, &n),
                     PITR_STATUS_PARSE);
        CHECK_ERROR_MENTIONS("recovery_target_time");
    }
    CHECK(us == 42);
    CHECK_STATUS(pitr_target_time_parse("2026-11-24", "Mars/Olympus_Mons", NULL, &us, NULL, buf, sizeof buf, &n),
                 PITR_STATUS_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("Mars/Olympus_Mons");
    /* Buffer handling as everywhere. */
    CHECK_STATUS(pitr_target_time_parse("2026-11-24", NULL, NULL, &us, NULL, buf, 22, &n),
                 PITR_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 22 && buf[0] == '\0');
    CHECK(us == 42);
    CHECK_STATUS(pitr_target_time_parse("2026-11-24", NULL, NULL, NULL, NULL, NULL, 40, &n),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_target_time_parse(NULL, NULL, NULL, NULL, NULL, buf, sizeof buf, &n),
                 PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_target_time_parse("2026-11-24", "\xff", NULL, NULL, NULL, buf, sizeof buf, &n),
                 PITR_STATUS_INVALID_UTF8);
}

static void test_target_xid_and_name(void) {
    uint32_t xid = 0;
    CHECK_OK(pitr_target_xid_parse("728", &xid));
    CHECK(xid == 728);
    CHECK_OK(pitr_target_xid_parse("4294967295", &xid));
    CHECK(xid == UINT32_MAX);
    xid = 9;
    CHECK_STATUS(pitr_target_xid_parse("abc", &xid), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("read it as 0");
    CHECK_STATUS(pitr_target_xid_parse("4294967824", &xid), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("528");
    CHECK_STATUS(pitr_target_xid_parse("0728", &xid), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("octal");
    CHECK_STATUS(pitr_target_xid_parse("2", &xid), PITR_STATUS_PARSE);
    CHECK(xid == 9);
    CHECK_STATUS(pitr_target_xid_parse(NULL, &xid), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_target_xid_parse("728", NULL), PITR_STATUS_NULL_ARGUMENT);

    CHECK_OK(pitr_target_name_check("before_change"));
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    CHECK_STATUS(pitr_target_name_check(long_name), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("maximum 63");
    long_name[63] = '\0';
    CHECK_OK(pitr_target_name_check(long_name));
    CHECK_STATUS(pitr_target_name_check(""), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_target_name_check("a\nb"), PITR_STATUS_PARSE);
    CHECK_STATUS(pitr_target_name_check(NULL), PITR_STATUS_NULL_ARGUMENT);
}

static void test_target_timeline_and_action(void) {
    pitr_timeline_target kind = 0;
    uint32_t tli = 99;
    CHECK_OK(pitr_target_timeline_parse("latest", &kind, &tli));
    CHECK(kind == PITR_TIMELINE_TARGET_LATEST && tli == 0);
    CHECK_OK(pitr_target_timeline_parse("current", &kind, &tli));
    CHECK(kind == PITR_TIMELINE_TARGET_CURRENT && tli == 0);
    CHECK_OK(pitr_target_timeline_parse("3", &kind, &tli));
    CHECK(kind == PITR_TIMELINE_TARGET_NUMBERED && tli == 3);
    CHECK_OK(pitr_target_timeline_parse("4", &kind, NULL));
    CHECK(kind == PITR_TIMELINE_TARGET_NUMBERED);
    const char *bad[] = {"Latest", "0", "0x2", "two", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_STATUS(pitr_target_timeline_parse(bad[i], &kind, &tli), PITR_STATUS_PARSE);
    }
    CHECK_ERROR_MENTIONS("current, latest or a timeline number");
    CHECK(kind == PITR_TIMELINE_TARGET_NUMBERED && tli == 3);
    CHECK_STATUS(pitr_target_timeline_parse(NULL, &kind, &tli), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_target_timeline_parse("latest", NULL, &tli), PITR_STATUS_NULL_ARGUMENT);

    pitr_target_action a = 0;
    CHECK_OK(pitr_target_action_parse("PROMOTE", &a));
    CHECK(a == PITR_TARGET_ACTION_PROMOTE);
    CHECK_OK(pitr_target_action_parse("pause", &a));
    CHECK(a == PITR_TARGET_ACTION_PAUSE);
    CHECK_OK(pitr_target_action_parse("Shutdown", &a));
    CHECK(a == PITR_TARGET_ACTION_SHUTDOWN);
    CHECK_STATUS(pitr_target_action_parse("resume", &a), PITR_STATUS_PARSE);
    CHECK_ERROR_MENTIONS("available values: pause, promote, shutdown");
    CHECK(a == PITR_TARGET_ACTION_SHUTDOWN);
    CHECK_STATUS(pitr_target_action_parse(NULL, &a), PITR_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(pitr_target_action_parse("pause", NULL), PITR_STATUS_NULL_ARGUMENT);

    CHECK_STR(pitr_target_action_name(PITR_TARGET_ACTION_PAUSE), "pause");
    CHECK_STR(pitr_target_action_name(PITR_TARGET_ACTION_PROMOTE), "promote");
    CHECK_STR(pitr_target_action_name(PITR_TARGET_ACTION_SHUTDOWN), "shutdown");
    CHECK(pitr_target_action_name(0) == NULL);
    CHECK(pitr_target_action_name(4) == NULL);
}

void run_target_tests(void) {
    RUN(test_target_time);
    RUN(test_target_xid_and_name);
    RUN(test_target_timeline_and_action);
}
