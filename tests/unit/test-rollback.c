/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/rollback.c: the anti-rollback floor copies.  Round trip, strict parsing, and loading
 * with one or both copies damaged or missing. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "rollback.h"
#include "unit.h"

static char tmpdir[PATH_MAX];
static char data_dir[PATH_MAX + 32];
static Config config;

static void copy_path(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "%s/" ROLLBACK_FILE_PREFIX ".%u", data_dir, i);
}

static void write_text(const char *path, const char *text) {
        if (write_file_atomic(path, text, strlen(text), 0644) < 0) {
                perror(path);
                exit(2);
        }
}

static void clear(void) {
        char p[PATH_MAX + 64];

        for (unsigned i = 0; i < 2; i++) {
                copy_path(i, p, sizeof(p));
                unlink(p);
        }
}

TEST(missing_is_fresh) {
        RollbackFloor f = { 1, 1 };
        unsigned copies = 9;
        bool missing = false;

        clear();
        CHECK_EQ(rollback_load(&config, &f, &copies, &missing), 0);
        CHECK_EQ(f.security_version, 0);
        CHECK_EQ(f.time, 0);
        CHECK_EQ(copies, 0);
        CHECK(missing);
}

TEST(round_trip) {
        RollbackFloor in = { 7, 1795300000 }, out = {};
        unsigned copies = 0;
        bool missing = true;

        clear();
        CHECK_EQ(rollback_save(&config, &in), 0);
        CHECK_EQ(rollback_load(&config, &out, &copies, &missing), 0);
        CHECK_EQ(out.security_version, 7);
        CHECK_EQ(out.time, 1795300000);
        CHECK_EQ(copies, 2);
        CHECK(!missing);
}

TEST(one_copy_damaged) {
        RollbackFloor in = { 7, 100 }, out = {};
        char p[PATH_MAX + 64];
        unsigned copies = 0;
        bool missing = true;

        clear();
        CHECK_EQ(rollback_save(&config, &in), 0);
        copy_path(0, p, sizeof(p));
        write_text(p, "update1-rollback-floor 1\nsecurity-version 1\ntime 1\nsha256 00\n");
        CHECK_EQ(rollback_load(&config, &out, &copies, &missing), 0);
        CHECK_EQ(out.security_version, 7);
        CHECK_EQ(copies, 1);
        CHECK(!missing);

        /* one copy missing (a power cut before the first rename of a fresh device) */
        unlink(p);
        CHECK_EQ(rollback_load(&config, &out, &copies, &missing), 0);
        CHECK_EQ(out.security_version, 7);
        CHECK_EQ(copies, 1);
        CHECK(!missing);
}

TEST(larger_intact_copy_counts) {
        RollbackFloor a = { 3, 500 }, b = { 5, 400 }, out = {};
        char p0[PATH_MAX + 64], p1[PATH_MAX + 64], tmp[PATH_MAX + 80];
        unsigned copies = 0;

        /* copy 0 = a, copy 1 = b: as after a power cut between the two renames */
        clear();
        copy_path(0, p0, sizeof(p0));
        copy_path(1, p1, sizeof(p1));
        snprintf(tmp, sizeof(tmp), "%s.keep", p0);
        CHECK_EQ(rollback_save(&config, &a), 0);
        CHECK_EQ(rename(p0, tmp), 0);
        CHECK_EQ(rollback_save(&config, &b), 0);
        CHECK_EQ(rename(tmp, p0), 0);
        CHECK_EQ(rollback_load(&config, &out, &copies, NULL), 0);
        CHECK_EQ(copies, 2);
        CHECK_EQ(out.security_version, 5);
        CHECK_EQ(out.time, 500);
}

static int parse(const char *s) {
        RollbackFloor f;

        return rollback_parse(s, strlen(s), &f);
}

TEST(parse_strict) {
        RollbackFloor in = { 42, 1 }, out = {};
        char p[PATH_MAX + 64], *good;
        FILE *f;
        long n;

        clear();
        CHECK_EQ(rollback_save(&config, &in), 0);
        copy_path(0, p, sizeof(p));
        f = fopen(p, "re");
        CHECK(f);
        if (!f)
                return;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        good = calloc(1, (size_t) n + 16);
        CHECK(fread(good, 1, (size_t) n, f) == (size_t) n);
        fclose(f);
        CHECK_EQ(rollback_parse(good, (size_t) n, &out), 0);
        CHECK_EQ(out.security_version, 42);

        /* trailing byte, missing newline, truncated */
        good[n] = '\n';
        CHECK(rollback_parse(good, (size_t) n + 1, &out) < 0);
        CHECK(rollback_parse(good, (size_t) n - 1, &out) < 0);
        CHECK(rollback_parse(good, 10, &out) < 0);
        /* a changed digit no longer matches the sha256 */
        good[strlen("update1-rollback-floor 1\nsecurity-version ")] = '9';
        CHECK(rollback_parse(good, (size_t) n, &out) < 0);
        free(good);

        CHECK(parse("") < 0);
        CHECK(parse("update1-rollback-floor 2\n") < 0);
        CHECK(parse("update1-rollback-floor 1\nsecurity-version 01\ntime 0\nsha256 x\n") < 0);
        CHECK(parse("update1-rollback-floor 1\nsecurity-version -1\ntime 0\nsha256 x\n") < 0);
        CHECK_EQ(parse("update1-rollback-floor 1\nsecurity-version 9223372036854775808\ntime 0\n"), -ERANGE);
        CHECK(parse("update1-rollback-floor 1\nsecurity-version 1\ntime 0\n") < 0);
}

TEST(stale_temp_removed) {
        char p[PATH_MAX + 64];
        struct stat st;

        snprintf(p, sizeof(p), "%s/" ROLLBACK_FILE_PREFIX ".1.tmp", data_dir);
        write_text(p, "partial");
        CHECK_EQ(rollback_remove_stale_temp(&config), 1);
        CHECK(stat(p, &st) < 0 && errno == ENOENT);
}

UNIT_MAIN_BEGIN("test-rollback")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-rollback.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        /* the data directory does not exist yet: rollback_save() creates it */
        snprintf(data_dir, sizeof(data_dir), "%s/var/lib/update1", tmpdir);
        config.data_directory = data_dir;
        RUN(missing_is_fresh);
        RUN(round_trip);
        RUN(one_copy_damaged);
        RUN(larger_intact_copy_counts);
        RUN(parse_strict);
        RUN(stale_temp_removed);
        {
                char cmd[PATH_MAX + 16];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
                if (system(cmd) != 0)
                        fprintf(stderr, "cannot remove %s\n", tmpdir);
        }
UNIT_MAIN_END
