/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/status.c: round trip, and every kind of damage loads (with a warning) instead of failing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "status.h"
#include "unit.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static char data_dir[PATH_MAX + 32];
static char status_path[PATH_MAX + 64];

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                exit(2);
        }
        fputs(text, f);
        fclose(f);
}

static Config *make_config(void) {
        char path[PATH_MAX + 32], text[2 * PATH_MAX];
        Config *c = NULL;

        snprintf(path, sizeof(path), "%s/system.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=test\nbootloader=uboot\ndata-directory=%s\n[keyring]\npath=/k.pem\n"
                 "[slot.rootfs.0]\ndevice=/dev/a\ntype=ext4\nbootname=A\n"
                 "[slot.rootfs.1]\ndevice=/dev/b\ntype=ext4\nbootname=B\n"
                 "[slot.appfs.1]\ndevice=/dev/c\ntype=raw\nparent=rootfs.1\n",
                 data_dir);
        write_file(path, text);
        if (config_load(path, &c) < 0) {
                printf("cannot load test config\n");
                exit(2);
        }
        return c;
}

static void clear_data_dir(void) {
        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
        (void) system(cmd);
}

static bool all_unknown(const StatusFile *s) {
        for (unsigned i = 0; i < s->n_records; i++) {
                const SlotRecord *r = &s->records[i];
                if (r->status != SLOT_STATUS_UNKNOWN || r->bundle_version || r->sha256[0] || r->installed_count ||
                    r->installed_timestamp || r->activated_count)
                        return false;
        }
        return true;
}

/* Loads status_path after writing 'text' to it; returns the warning (caller frees). */
static char *load_with(const Config *c, const char *text, StatusFile **ret) {
        char *warning = NULL;

        char cmd[PATH_MAX + 64];

        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", data_dir);
        (void) system(cmd);
        if (text)
                write_file(status_path, text);
        CHECK_EQ(status_load(c, ret, &warning), 0);
        return warning;
}

static void fill(SlotRecord *r) {
        r->status = SLOT_STATUS_OK;
        r->bundle_compatible = strdup("test");
        r->bundle_version = strdup("2.0");
        r->bundle_build = strdup("20261121");
        r->bundle_description = strdup("a \"quoted\" / description\nwith a newline");
        r->security_version = 7;
        strcpy(r->sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        strcpy(r->bundle_hash, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
        r->size = UINT64_C(5) << 30; /* > 4 GiB */
        r->installed_timestamp = 1795000000;
        r->installed_count = 3;
        r->activated_timestamp = 1795000100;
        r->activated_count = 2;
        r->transaction_id = strdup("tx-42");
}

TEST(missing_file) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL;
        _cleanup_free_ char *w = NULL;

        clear_data_dir();
        CHECK_EQ(status_load(c, &s, &w), 0);
        CHECK(w == NULL); /* a fresh device is not an error */
        if (!s)
                return;
        CHECK_EQ(s->n_records, 3);
        CHECK_STREQ(s->records[0].name, "rootfs.0");
        CHECK_STREQ(s->records[2].name, "appfs.1");
        CHECK(all_unknown(s));
        CHECK(status_find(s, "rootfs.1") == &s->records[1]);
        CHECK(status_find(s, "rootfs.9") == NULL);
}

TEST(round_trip) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL;
        struct stat st;
        SlotRecord *r;
        DIR *d;
        struct dirent *de;
        unsigned files = 0;

        clear_data_dir();
        CHECK_EQ(status_load(c, &s, NULL), 0);
        fill(status_find(s, "rootfs.1"));
        status_find(s, "appfs.1")->status = SLOT_STATUS_FAILED;

        /* The data directory does not exist yet: status_save creates it. */
        CHECK_EQ(status_save(c, s), 0);
        CHECK(stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
        CHECK(stat(status_path, &st) == 0 && (st.st_mode & 07777) == 0600);

        /* Atomic write: nothing but status.json is left behind. */
        d = opendir(data_dir);
        CHECK(d != NULL);
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                files++;
                CHECK_STREQ(de->d_name, "status.json");
        }
        if (d)
                closedir(d);
        CHECK_EQ(files, 1);

        CHECK_EQ(status_load(c, &t, &w), 0);
        CHECK(w == NULL);
        if (!t)
                return;
        r = status_find(t, "rootfs.1");
        CHECK_EQ(r->status, SLOT_STATUS_OK);
        CHECK_STREQ(r->bundle_compatible, "test");
        CHECK_STREQ(r->bundle_version, "2.0");
        CHECK_STREQ(r->bundle_build, "20261121");
        CHECK_STREQ(r->bundle_description, "a \"quoted\" / description\nwith a newline");
        CHECK(r->security_version == 7);
        CHECK_STREQ(r->sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        CHECK_STREQ(r->bundle_hash, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
        CHECK(r->size == UINT64_C(5) << 30);
        CHECK(r->installed_timestamp == 1795000000);
        CHECK(r->installed_count == 3);
        CHECK(r->activated_timestamp == 1795000100);
        CHECK(r->activated_count == 2);
        CHECK_STREQ(r->transaction_id, "tx-42");
        CHECK_EQ(status_find(t, "appfs.1")->status, SLOT_STATUS_FAILED);
        CHECK_EQ(status_find(t, "rootfs.0")->status, SLOT_STATUS_UNKNOWN);

        /* Saving again replaces the file, still without leftovers. */
        status_find(t, "rootfs.0")->status = SLOT_STATUS_PENDING;
        CHECK_EQ(status_save(c, t), 0);
        t = status_free(t);
        CHECK_EQ(status_load(c, &t, NULL), 0);
        if (t)
                CHECK_EQ(status_find(t, "rootfs.0")->status, SLOT_STATUS_PENDING);
}

TEST(record_reset) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL;
        SlotRecord *r;

        CHECK_EQ(status_load(c, &s, NULL), 0);
        r = status_find(s, "rootfs.0");
        fill(r);
        slot_record_reset(r);
        CHECK(r->bundle_version == NULL && r->bundle_compatible == NULL && r->bundle_build == NULL &&
              r->bundle_description == NULL && r->transaction_id == NULL);
        CHECK_STREQ(r->sha256, "");
        CHECK_STREQ(r->bundle_hash, "");
        CHECK(r->size == 0 && r->security_version == 0);
        /* History stays: the counts are about the slot, not the bundle. */
        CHECK(r->installed_count == 3 && r->activated_count == 2);
        CHECK_STREQ(r->name, "rootfs.0");
}

TEST(empty_file) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL, *w2 = NULL;

        w = load_with(c, "", &s);
        CHECK(w && strstr(w, "is empty"));
        CHECK(s && s->n_records == 3 && all_unknown(s));
        w2 = load_with(c, " \n\t\n", &t);
        CHECK(w2 && strstr(w2, "is empty"));
}

TEST(garbage) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL, *w2 = NULL;

        w = load_with(c, "\x7f" "ELF this is not json at all", &s);
        CHECK(w && strstr(w, "not valid JSON"));
        CHECK(s && s->n_records == 3 && all_unknown(s));
        w2 = load_with(c, "{\"format\":1,\"slots\":{}} trailing", &t);
        CHECK(w2 && strstr(w2, "trailing data"));
}

TEST(torn_write) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL, *text = NULL;
        size_t size;

        clear_data_dir();
        CHECK_EQ(status_load(c, &s, NULL), 0);
        fill(status_find(s, "rootfs.1"));
        CHECK_EQ(status_save(c, s), 0);
        CHECK_EQ(read_full_file(status_path, 1 << 20, &text, &size), 0);
        if (!text)
                return;
        /* Cut the document in the middle, as a non-atomic writer would leave it. */
        text[size / 2] = '\0';
        w = load_with(c, text, &t);
        CHECK(w && strstr(w, "truncated"));
        CHECK(t && all_unknown(t));
}

TEST(wrong_types) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL;
        _cleanup_free_ char *w = NULL;
        SlotRecord *r;

        w = load_with(c,
                      "{\"format\":1,\"slots\":{"
                      "\"rootfs.0\":{\"status\":\"ok\",\"installed\":{\"timestamp\":\"yesterday\",\"count\":1}},"
                      "\"rootfs.1\":{\"status\":\"ok\",\"bundle\":{\"version\":\"1.5\"},"
                      "\"checksum\":{\"sha256\":\"" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab"
                      "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab"
                      "\",\"size\":18446744073709551615},"
                      "\"installed\":{\"timestamp\":1700000000,\"count\":4}},"
                      "\"appfs.1\":{\"status\":\"ok\",\"activated\":{\"count\":-1}}}}",
                      &s);
        CHECK(w && strstr(w, "rootfs.0") && strstr(w, "installed.timestamp"));
        CHECK(w && strstr(w, "appfs.1") && strstr(w, "activated.count"));
        CHECK(w && !strstr(w, "slot rootfs.1"));
        if (!s)
                return;
        /* The bad records are reset, the good one is kept. */
        CHECK_EQ(status_find(s, "rootfs.0")->status, SLOT_STATUS_UNKNOWN);
        CHECK(status_find(s, "rootfs.0")->installed_count == 0);
        CHECK_EQ(status_find(s, "appfs.1")->status, SLOT_STATUS_UNKNOWN);
        r = status_find(s, "rootfs.1");
        CHECK_EQ(r->status, SLOT_STATUS_OK);
        CHECK_STREQ(r->bundle_version, "1.5");
        CHECK(r->size == UINT64_MAX);
        CHECK(r->installed_count == 4);
        CHECK(strlen(r->sha256) == 64);
}

TEST(bad_fields) {
        static const struct {
                const char *json, *why;
        } cases[] = {
                { "[1,2,3]", "not a JSON object" },
                { "{\"slots\":{}}", "\"format\" is missing" },
                { "{\"format\":2,\"slots\":{}}", "unsupported \"format\" 2" },
                { "{\"format\":\"1\",\"slots\":{}}", "unsupported \"format\"" },
                { "{\"format\":1}", "\"slots\" is missing" },
                { "{\"format\":1,\"slots\":[]}", "\"slots\" is not an object" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"great\"}}}", "field \"status\"" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{}}}", "field \"status\"" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":[]}}", "rootfs.0" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"ok\",\"bundle\":\"v1\"}}}", "field \"bundle\"" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"ok\",\"checksum\":{\"sha256\":\"xyz\"}}}}",
                  "checksum.sha256" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"ok\",\"bundle\":{\"hash\":\"abc\"}}}}",
                  "bundle.hash" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"ok\",\"security-version\":1.5}}}",
                  "security-version" },
                { "{\"format\":1,\"slots\":{\"rootfs.0\":{\"status\":\"ok\",\"transaction-id\":7}}}", "transaction-id" },
        };
        _cleanup_(config_freep) Config *c = make_config();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(status_freep) StatusFile *s = NULL;
                _cleanup_free_ char *w = load_with(c, cases[i].json, &s);

                if (!w || !strstr(w, cases[i].why)) {
                        printf("  %s: expected a warning with '%s', got '%s'\n", cases[i].json, cases[i].why,
                               w ?: "(none)");
                        unit_case_failures++;
                }
                CHECK(s && s->n_records == 3 && all_unknown(s));
        }
}

TEST(unknown_slot_dropped) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL, *w2 = NULL, *text = NULL;

        w = load_with(c,
                      "{\"format\":1,\"slots\":{\"rootfs.9\":{\"status\":\"ok\"},"
                      "\"rootfs.0\":{\"status\":\"ok\",\"installed\":{\"timestamp\":5,\"count\":1}}}}",
                      &s);
        CHECK(w && strstr(w, "rootfs.9"));
        if (!s)
                return;
        CHECK(status_find(s, "rootfs.9") == NULL);
        CHECK_EQ(status_find(s, "rootfs.0")->status, SLOT_STATUS_OK);
        /* Rewritten without it. */
        CHECK_EQ(status_save(c, s), 0);
        CHECK_EQ(read_full_file(status_path, 1 << 20, &text, NULL), 0);
        CHECK(text && !strstr(text, "rootfs.9"));
        CHECK_EQ(status_load(c, &t, &w2), 0);
        CHECK(w2 == NULL);
}

TEST(unreadable_and_unwritable) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL;
        _cleanup_free_ char *w = NULL;

        /* status.json is a directory: reported, not fatal. */
        clear_data_dir();
        free(load_with(c, NULL, &s));
        s = status_free(s);
        mkdir(status_path, 0755);
        CHECK_EQ(status_load(c, &s, &w), 0);
        CHECK(w && strstr(w, "cannot read status file"));
        CHECK(s && all_unknown(s));

        /* The data directory cannot be created (a file is in the way): save fails. */
        clear_data_dir();
        write_file(data_dir, "not a directory");
        CHECK(status_save(c, s) < 0);
        clear_data_dir();
}

TEST(last_boot_round_trip) {
        _cleanup_(config_freep) Config *c = make_config();
        _cleanup_(status_freep) StatusFile *s = NULL, *t = NULL;
        _cleanup_free_ char *w = NULL, *text = NULL;

        clear_data_dir();
        CHECK_EQ(status_load(c, &s, NULL), 0);
        if (!s)
                return;
        /* Absent until set; not written while absent. */
        CHECK(s->last_boot.expected == NULL);
        CHECK(s->trial.slot == NULL);
        CHECK_EQ(status_save(c, s), 0);
        CHECK_EQ(read_full_file(status_path, 1 << 20, &text, NULL), 0);
        CHECK(text && !strstr(text, "last-boot") && !strstr(text, "\"trial\""));
        text = mfree(text);

        CHECK_EQ(status_set_last_boot(s, "rootfs.1", "rootfs.0", true, 1795000200), 0);
        CHECK_EQ(status_set_trial(s, "rootfs.1", "0123456789abcdef0123456789abcdef", 1795000100), 0);
        /* A boot id must be 32 lowercase hex digits. */
        CHECK_EQ(status_set_trial(s, "rootfs.1", "not-an-id", 1), -EINVAL);
        CHECK_STREQ(s->trial.boot_id, "0123456789abcdef0123456789abcdef");
        CHECK_EQ(status_save(c, s), 0);

        CHECK_EQ(status_load(c, &t, &w), 0);
        CHECK(w == NULL);
        if (!t)
                return;
        CHECK_STREQ(t->last_boot.expected, "rootfs.1");
        CHECK_STREQ(t->last_boot.booted, "rootfs.0");
        CHECK(t->last_boot.fell_back);
        CHECK(t->last_boot.timestamp == 1795000200);
        CHECK_STREQ(t->trial.slot, "rootfs.1");
        CHECK_STREQ(t->trial.boot_id, "0123456789abcdef0123456789abcdef");
        CHECK(t->trial.timestamp == 1795000100);
        CHECK(!t->trial.rejected);

        /* "rejected" survives a round trip */
        t->trial.rejected = true;
        CHECK_EQ(status_save(c, t), 0);
        s = status_free(s);
        CHECK_EQ(status_load(c, &s, NULL), 0);
        CHECK(s && s->trial.rejected);

        /* A trial boot record; clearing the trial record drops it from the file. */
        CHECK_EQ(status_set_last_boot(t, "rootfs.1", "rootfs.1", false, 1795000300), 0);
        CHECK_EQ(status_set_trial(t, NULL, NULL, 0), 0);
        CHECK_EQ(status_save(c, t), 0);
        s = status_free(s);
        CHECK_EQ(status_load(c, &s, NULL), 0);
        if (!s)
                return;
        CHECK_STREQ(s->last_boot.booted, "rootfs.1");
        CHECK(!s->last_boot.fell_back);
        CHECK(s->trial.slot == NULL);
        CHECK_EQ(read_full_file(status_path, 1 << 20, &text, NULL), 0);
        CHECK(text && strstr(text, "\"last-boot\"") && !strstr(text, "\"trial\""));

        /* Clearing last_boot. */
        CHECK_EQ(status_set_last_boot(s, NULL, NULL, false, 0), 0);
        CHECK(s->last_boot.expected == NULL && s->last_boot.booted == NULL);
}

/* Anything wrong in "last-boot" or "trial" drops that record only (with a warning, so the
 * daemon rewrites the file); the slot records survive. */
TEST(last_boot_corrupt) {
        _cleanup_(config_freep) Config *c = make_config();
        static const char *const bad_last_boot[] = {
                "\"last-boot\":[]",
                "\"last-boot\":{}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"rootfs.0\",\"fell-back\":true}",
                "\"last-boot\":{\"expected\":\"rootfs.9\",\"booted\":\"rootfs.0\",\"fell-back\":true,\"timestamp\":1}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"nope\",\"fell-back\":true,\"timestamp\":1}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"rootfs.0\",\"fell-back\":\"yes\",\"timestamp\":1}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"rootfs.0\",\"fell-back\":false,\"timestamp\":1}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"rootfs.1\",\"fell-back\":true,\"timestamp\":1}",
                "\"last-boot\":{\"expected\":1,\"booted\":\"rootfs.0\",\"fell-back\":true,\"timestamp\":1}",
                "\"last-boot\":{\"expected\":\"rootfs.1\",\"booted\":\"rootfs.0\",\"fell-back\":true,\"timestamp\":-4}",
                "\"trial\":\"rootfs.1\"",
                "\"trial\":{\"slot\":\"rootfs.7\",\"boot-id\":\"\"}",
                "\"trial\":{\"slot\":\"rootfs.1\",\"boot-id\":\"XYZ\"}",
                "\"trial\":{\"slot\":\"rootfs.1\",\"boot-id\":\"0123456789ABCDEF0123456789ABCDEF\"}",
                "\"trial\":{\"boot-id\":\"0123456789abcdef0123456789abcdef\"}",
                "\"trial\":{\"slot\":\"rootfs.1\",\"timestamp\":\"now\"}",
                "\"trial\":{\"slot\":\"rootfs.1\",\"rejected\":1}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad_last_boot); i++) {
                _cleanup_(status_freep) StatusFile *s = NULL;
                _cleanup_free_ char *w = NULL, *text = NULL;

                text = strdup_printf("{\"format\":1,%s,\"slots\":{\"rootfs.1\":{\"status\":\"failed\"}}}",
                                     bad_last_boot[i]);
                clear_data_dir();
                w = load_with(c, text, &s);
                if (!w || !(strstr(w, "last-boot") || strstr(w, "trial"))) {
                        printf("  case %zu (%s): warning %s\n", i, bad_last_boot[i], w ?: "(none)");
                        unit_case_failures++;
                }
                CHECK(s && s->last_boot.expected == NULL && s->last_boot.booted == NULL);
                CHECK(s && s->trial.slot == NULL);
                CHECK(s && status_find(s, "rootfs.1")->status == SLOT_STATUS_FAILED);
        }

        /* A trial record without a boot id (older writer) is kept, boot id unknown. */
        {
                _cleanup_(status_freep) StatusFile *s = NULL;
                _cleanup_free_ char *w = NULL;

                clear_data_dir();
                w = load_with(c, "{\"format\":1,\"trial\":{\"slot\":\"rootfs.1\"},\"slots\":{}}", &s);
                CHECK(w == NULL);
                CHECK(s && s->trial.slot && streq(s->trial.slot, "rootfs.1") && s->trial.boot_id[0] == '\0');
        }
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-status")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-status.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        umask(022);
        /* Two levels that do not exist yet: status_save creates both. */
        snprintf(data_dir, sizeof(data_dir), "%s/var/update1", tmpdir);
        snprintf(status_path, sizeof(status_path), "%s/status.json", data_dir);

        RUN(missing_file);
        RUN(round_trip);
        RUN(record_reset);
        RUN(empty_file);
        RUN(garbage);
        RUN(torn_write);
        RUN(wrong_types);
        RUN(bad_fields);
        RUN(unknown_slot_dropped);
        RUN(unreadable_and_unwritable);
        RUN(last_boot_round_trip);
        RUN(last_boot_corrupt);
UNIT_MAIN_END
