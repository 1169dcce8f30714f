/*
 * walname: LSNs and WAL file names with the pitr C library.
 *
 *   walname LSN [TIMELINE [SEGMENT_SIZE]]
 *       the WAL segment holding LSN on TIMELINE (default 1) for segments of
 *       SEGMENT_SIZE (default 16MB), and LSN's offset in it
 *   walname FILE_NAME
 *       what a file name from a WAL archive or pg_wal is, as JSON
 *
 * Build against an installed pitr (scripts/install-c.sh):
 *   cc -o walname examples/c/walname.c $(pkg-config --cflags --libs pitr)
 *
 * Exit status: 0 on success, 2 on bad input (the error is printed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pitr.h>

static int fail(const char *what) {
    fprintf(stderr, "walname: error: %s%s%s\n", what, what[0] ? ": " : "", pitr_last_error());
    return 2;
}

static int describe_file(const char *name) {
    pitr_wal_file_name *f = NULL;
    if (pitr_wal_file_name_parse(name, &f) != PITR_STATUS_OK) return fail("");
    char *json = NULL;
    pitr_status st = pitr_wal_file_name_to_json(f, &json);
    if (st == PITR_STATUS_OK) printf("%s\n", json);
    pitr_string_free(json);
    pitr_wal_file_name_free(f);
    return st == PITR_STATUS_OK ? 0 : fail("to_json");
}

static int describe_lsn(const char *text, const char *timeline_text, const char *size_text) {
    pitr_lsn lsn;
    uint32_t seg_size = PITR_WAL_SEG_SIZE_DEFAULT;
    if (pitr_lsn_parse(text, &lsn) != PITR_STATUS_OK) return fail("");
    if (size_text && pitr_wal_seg_size_parse(size_text, &seg_size) != PITR_STATUS_OK) return fail("");

    unsigned long timeline = 1;
    if (timeline_text) {
        char *end = NULL;
        errno = 0;
        timeline = strtoul(timeline_text, &end, 10);
        if (errno || *end || timeline == 0 || timeline > 0xFFFFFFFFul) {
            fprintf(stderr, "walname: error: bad timeline \"%s\"\n", timeline_text);
            return 2;
        }
    }

    char server[PITR_LSN_BUFSIZE], padded[PITR_LSN_BUFSIZE], size[PITR_LSN_BUFSIZE];
    char segment[PITR_WAL_NAME_BUFSIZE];
    uint64_t offset;
    if (pitr_lsn_format(lsn, server, sizeof server, NULL) != PITR_STATUS_OK ||
        pitr_lsn_format_padded(lsn, padded, sizeof padded, NULL) != PITR_STATUS_OK ||
        pitr_wal_seg_size_format(seg_size, size, sizeof size, NULL) != PITR_STATUS_OK ||
        pitr_segment_name_of_lsn((uint32_t)timeline, lsn, seg_size, segment, sizeof segment, NULL) !=
            PITR_STATUS_OK ||
        pitr_lsn_segment_offset(lsn, seg_size, &offset) != PITR_STATUS_OK)
        return fail("");

    printf("lsn      %s (pg_waldump: %s)\n", server, padded);
    printf("segment  %s (timeline %lu, %s segments)\n", segment, timeline, size);
    printf("offset   %llu (0x%llX)\n", (unsigned long long)offset, (unsigned long long)offset);
    return 0;
}

int main(int argc, char **argv) {
    if (pitr_abi_version() != PITR_ABI_VERSION) {
        fprintf(stderr, "walname: libpitr ABI %u does not match pitr.h ABI %u\n", pitr_abi_version(),
                (unsigned)PITR_ABI_VERSION);
        return 2;
    }
    if (argc < 2 || argc > 4 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: walname LSN [TIMELINE [SEGMENT_SIZE]]\n       walname FILE_NAME\n"
                        "(pitr %s)\n", pitr_version());
        return 2;
    }
    if (strchr(argv[1], '/') != NULL) return describe_lsn(argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
    if (argc != 2) {
        fprintf(stderr, "walname: a file name takes no further arguments\n");
        return 2;
    }
    return describe_file(argv[1]);
}
