/*
 * recovery_facts: what pitr's C library can tell before a point-in-time
 * recovery, from a base backup's backup_label and a WAL archive.
 *
 *   recovery_facts BACKUP_LABEL ARCHIVE_DIR [TARGET_TIME [TIMEZONE]]
 *
 * It reads the backup_label, loads the archive's timeline history files,
 * finds the newest timeline recovery would follow from the backup's timeline
 * (recovery_target_timeline = 'latest'), checks that the backup lies on that
 * timeline's history, normalises the target time as the server would read it
 * in TIMEZONE (default UTC), and prints the recovery settings to write.
 *
 * Exit status: 0 usable, 1 the backup cannot reach that timeline, 2 bad
 * input (the message of pitr's last error on stderr).
 *
 * Build: cc -o recovery_facts recovery_facts.c $(pkg-config --cflags --libs pitr)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <pitr.h>

static int fail(const char *what) {
    fprintf(stderr, "recovery_facts: %s: %s\n", what, pitr_last_error());
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s BACKUP_LABEL ARCHIVE_DIR [TARGET_TIME [TIMEZONE]]\n", argv[0]);
        return 2;
    }
    if (pitr_abi_version() != PITR_ABI_VERSION) {
        fprintf(stderr, "recovery_facts: built for libpitr ABI %d, loaded %u\n", PITR_ABI_VERSION,
                pitr_abi_version());
        return 2;
    }

    pitr_backup_label *label = NULL;
    if (pitr_backup_label_read(argv[1], &label) != PITR_STATUS_OK) return fail("backup_label");
    pitr_lsn start = pitr_backup_label_start_lsn(label);
    uint32_t tli = pitr_backup_label_timeline(label);
    char start_text[PITR_LSN_BUFSIZE], ckpt_text[PITR_LSN_BUFSIZE], file[PITR_WAL_NAME_BUFSIZE];
    pitr_lsn_format(start, start_text, sizeof start_text, NULL);
    pitr_lsn_format(pitr_backup_label_checkpoint(label), ckpt_text, sizeof ckpt_text, NULL);
    pitr_backup_label_start_file(label, file, sizeof file, NULL);
    printf("backup     %s on timeline %" PRIu32 " (file %s), checkpoint %s\n", start_text, tli, file, ckpt_text);
    pitr_backup_label_free(label);

    pitr_history_set *set = NULL;
    if (pitr_history_set_load_dir(argv[2], &set) != PITR_STATUS_OK) return fail("archive");
    if (!pitr_history_set_is_valid(set)) {
        char *json = NULL;
        pitr_history_set_to_json(set, &json);
        fprintf(stderr, "recovery_facts: the archive's history files have problems: %s\n", json ? json : "");
        pitr_string_free(json);
    }
    /* recovery_target_timeline = 'latest': findNewestTimeLine from the backup's. */
    uint32_t newest = pitr_history_set_newest_from(set, tli);
    pitr_history *h = NULL;
    pitr_status s = pitr_history_set_history(set, newest, &h);
    pitr_history_set_free(set);
    if (s != PITR_STATUS_OK) return fail("timeline history");

    uint32_t ancestry[64];
    size_t n = 0;
    printf("timeline   newest reachable from %" PRIu32 ": %" PRIu32 " (", tli, newest);
    if (pitr_history_ancestry(h, ancestry, 64, &n) == PITR_STATUS_OK) {
        for (size_t i = 0; i < n; i++) printf("%s%" PRIu32, i ? " -> " : "", ancestry[i]);
    } else {
        printf("%zu timelines", n);
    }
    printf(")\n");

    int usable = 1;
    pitr_lsn end = 0;
    uint32_t next = 0;
    s = pitr_history_switch_point(h, tli, &end, &next);
    if (s == PITR_STATUS_OK) {
        char end_text[PITR_LSN_BUFSIZE];
        pitr_lsn_format(end, end_text, sizeof end_text, NULL);
        printf("           timeline %" PRIu32 " ends at %s (then %" PRIu32 ")\n", tli, end_text, next);
    } else if (s == PITR_STATUS_NO_VALUE) {
        printf("           timeline %" PRIu32 " has not ended\n", tli);
    } else {
        printf("           timeline %" PRIu32 " is not in the history of timeline %" PRIu32 "\n", tli, newest);
        usable = 0;
    }
    uint32_t on = 0;
    if (usable && pitr_history_timeline_of(h, start, &on) == PITR_STATUS_OK && on != tli) {
        printf("           the backup starts on timeline %" PRIu32 " after it ended there\n", tli);
        usable = 0;
    }
    pitr_history_free(h);
    printf("           %s\n", usable ? "the backup lies on that history: usable"
                                     : "recovery from this backup cannot follow that timeline");

    /* The settings to write, as ALTER SYSTEM writes them. */
    const char *names[2];
    const char *values[2];
    size_t count = 0;
    char target[PITR_TARGET_TIME_BUFSIZE], timeline[16];
    if (argc >= 4) {
        const char *tz = argc == 5 ? argv[4] : NULL;
        if (pitr_target_time_parse(argv[3], tz, NULL, NULL, NULL, target, sizeof target, NULL) != PITR_STATUS_OK) {
            return fail("target time");
        }
        printf("target     %s\n", target);
        names[count] = "recovery_target_time";
        values[count++] = target;
    }
    snprintf(timeline, sizeof timeline, "%" PRIu32, newest);
    names[count] = "recovery_target_timeline";
    values[count++] = timeline;
    char *conf = NULL;
    if (pitr_auto_conf_render(names, values, count, &conf) != PITR_STATUS_OK) return fail("settings");
    printf("postgresql.auto.conf:\n%s", conf);
    pitr_string_free(conf);
    return usable ? 0 : 1;
}
