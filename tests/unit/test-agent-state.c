/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The update-agent's action record (client/update-agent/update-agent-state.c), the file that
 * carries an in-flight action across restarts and reboots: save/load round trips, a missing,
 * corrupt, truncated, foreign-version or inconsistent file (moved aside as .corrupt, so the
 * agent starts clean and a human can look), the final details, and the bundle files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "unit.h"
#include "update-agent-state.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(ActionRecord *, action_record_free);

static char dir[PATH_MAX];
static char record_path[PATH_MAX + 32], corrupt_path[PATH_MAX + 32];

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                perror(path);
                exit(2);
        }
}

static bool exists(const char *path) {
        return access(path, F_OK) == 0;
}

static void reset_dir(void) {
        char cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
        (void) !system(cmd);
}

static ActionRecord *full_record(void) {
        ActionRecord *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->action_id = strdup("1234");
        r->phase = PHASE_REBOOTING;
        r->version = strdup("2.0 \"quoted\" \\ / ünïcode");
        r->filename = strdup("rootfs-2.0.bundle");
        r->size = UINT64_C(8589934592);
        r->sha256 = strdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        r->download_only = true;
        r->downloaded_reported = true;
        r->transaction_id = strdup("tx-0123456789abcdef");
        r->expected_slot = strdup("rootfs.1");
        r->installed_at = UINT64_C(1800000000);
        r->install_attempts = 2;
        r->boot_id = strdup("0123456789abcdef0123456789abcdef");
        r->first_seen = UINT64_C(1799999000);
        r->final_success = false;
        if (action_record_set_final(r, false, (const char *const[]) { "first", "second\nline", NULL }) < 0 ||
            action_record_set_reason(r, "version_mismatch", "Expected version '2.0', got '1.0'") < 0 ||
            action_record_set_failure(r, "HashMismatch") < 0)
                return action_record_free(r);
        r->hook_meta = strdup("{\"meta\": \"opaque\"}");
        r->restart_arg = strdup("False");
        return r;
}

static void check_same(const ActionRecord *a, const ActionRecord *b) {
        CHECK_STREQ(a->action_id, b->action_id);
        CHECK_EQ(a->phase, b->phase);
        CHECK(streq_ptr(a->version, b->version));
        CHECK(streq_ptr(a->filename, b->filename));
        CHECK(a->size == b->size);
        CHECK(streq_ptr(a->sha256, b->sha256));
        CHECK_EQ(a->download_only, b->download_only);
        CHECK_EQ(a->downloaded_reported, b->downloaded_reported);
        CHECK(streq_ptr(a->transaction_id, b->transaction_id));
        CHECK(streq_ptr(a->expected_slot, b->expected_slot));
        CHECK(a->installed_at == b->installed_at);
        CHECK_EQ(a->install_attempts, b->install_attempts);
        CHECK(streq_ptr(a->boot_id, b->boot_id));
        CHECK(a->first_seen == b->first_seen);
        CHECK_EQ(a->final_success, b->final_success);
        CHECK(streq_ptr(a->final_reason, b->final_reason));
        CHECK(streq_ptr(a->final_message, b->final_message));
        CHECK(streq_ptr(a->final_failure, b->final_failure));
        CHECK(streq_ptr(a->hook_meta, b->hook_meta));
        CHECK(streq_ptr(a->restart_arg, b->restart_arg));
        for (size_t i = 0;; i++) {
                const char *x = a->final_details ? a->final_details[i] : NULL;
                const char *y = b->final_details ? b->final_details[i] : NULL;

                CHECK(streq_ptr(x, y));
                if (!x || !y)
                        break;
        }
}

TEST(round_trip) {
        _cleanup_(action_record_freep) ActionRecord *r = full_record(), *l = NULL;
        struct stat st;

        reset_dir();
        CHECK(r != NULL);
        if (!r)
                return;
        CHECK_EQ(action_record_save(dir, r), 0);
        CHECK(stat(record_path, &st) == 0 && (st.st_mode & 07777) == 0600);
        CHECK_EQ(action_record_load(dir, &l), 0);
        if (l)
                check_same(r, l);

        /* Every phase, and absent optional fields, survive too. */
        for (ActionPhase p = 0; p < _PHASE_MAX; p++) {
                _cleanup_(action_record_freep) ActionRecord *m = calloc(1, sizeof(ActionRecord)), *n = NULL;

                if (!m)
                        return;
                m->action_id = strdup("a-b_c");
                m->phase = p;
                if (p >= PHASE_INSTALLING && p != PHASE_REPORTING)
                        m->transaction_id = strdup("t");
                if (p >= PHASE_INSTALLED && p != PHASE_REPORTING)
                        m->expected_slot = strdup("");
                m->final_success = p == PHASE_REPORTING;
                CHECK_EQ(action_record_save(dir, m), 0);
                CHECK_EQ(action_record_load(dir, &n), 0);
                if (n) {
                        check_same(m, n);
                        CHECK(n->version == NULL && n->sha256 == NULL && n->boot_id == NULL);
                        /* An empty list, not NULL: what was saved was "final_details": []. */
                        CHECK(n->final_details && !n->final_details[0]);
                }
        }
        /* Replacing leaves no temporary file behind. */
        {
                char cmd[PATH_MAX + 64];

                snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = action.json", dir);
                CHECK(system(cmd) == 0);
        }
}

TEST(missing_and_remove) {
        ActionRecord *l = NULL;

        reset_dir();
        CHECK_EQ(action_record_load(dir, &l), -ENOENT);
        CHECK(l == NULL);
        CHECK_EQ(action_record_remove(dir), 0);  /* nothing to remove is fine */
        write_text(record_path, "{}");
        CHECK_EQ(action_record_remove(dir), 0);
        CHECK(!exists(record_path));
        /* A state directory that does not exist: the save fails, nothing crashes. */
        {
                _cleanup_(action_record_freep) ActionRecord *r = full_record();
                char missing[PATH_MAX + 16];

                snprintf(missing, sizeof(missing), "%s/nope", dir);
                CHECK(r && action_record_save(missing, r) < 0);
                CHECK_EQ(action_record_load(missing, &l), -ENOENT);
        }
}

/* A record the agent cannot use is moved aside (action.json.corrupt) and reported as none. */
static void expect_corrupt(const char *text) {
        ActionRecord *l = NULL;

        reset_dir();
        write_text(record_path, text);
        CHECK_EQ(action_record_load(dir, &l), -ENOENT);
        CHECK(l == NULL);
        if (exists(record_path) || !exists(corrupt_path)) {
                unit_diag("not moved aside: %s", text);
                unit_case_failures++;
        }
        action_record_free(l);
}

#define GOOD_HEAD "{\"format\":1,\"action\":\"7\","
TEST(corrupt) {
        _cleanup_(action_record_freep) ActionRecord *r = full_record();
        _cleanup_free_ char *saved = NULL;
        size_t size = 0;

        expect_corrupt("");
        expect_corrupt("not json");
        expect_corrupt("[]");
        expect_corrupt("null");
        expect_corrupt("\"x\"");
        expect_corrupt("{}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"downloading\"");          /* unterminated */

        /* A saved record cut short anywhere (a disk that lost the tail) is never half-read. */
        reset_dir();
        CHECK(r && action_record_save(dir, r) == 0);
        CHECK(read_full_file(record_path, 1 << 20, &saved, &size) == 0);
        for (size_t cut = 0; saved && cut < size - 1; cut += 7) {
                char *part = strndup(saved, cut);

                if (!part)
                        return;
                expect_corrupt(part);
                free(part);
        }
}

TEST(wrong_version) {
        expect_corrupt("{\"action\":\"7\",\"phase\":\"downloading\"}");                 /* no format */
        expect_corrupt("{\"format\":0,\"action\":\"7\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":2,\"action\":\"7\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":\"1\",\"action\":\"7\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":1.0,\"action\":\"7\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":-1,\"action\":\"7\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":4294967297,\"action\":\"7\",\"phase\":\"downloading\"}");
}

TEST(bad_fields) {
        /* required fields */
        expect_corrupt("{\"format\":1,\"phase\":\"downloading\"}");
        expect_corrupt(GOOD_HEAD "\"x\":1}");
        expect_corrupt("{\"format\":1,\"action\":null,\"phase\":\"downloading\"}");
        /* unknown phase, wrong case, wrong type */
        expect_corrupt(GOOD_HEAD "\"phase\":\"flying\"}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"Downloading\"}");
        expect_corrupt(GOOD_HEAD "\"phase\":0}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"unknown\"}");
        /* The action id names files and URLs: nothing path-like. */
        expect_corrupt("{\"format\":1,\"action\":\"../x\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":1,\"action\":\"a/b\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":1,\"action\":\"\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":1,\"action\":\"a\\nb\",\"phase\":\"downloading\"}");
        expect_corrupt("{\"format\":1,\"action\":7,\"phase\":\"downloading\"}");
        /* optional strings of the wrong type */
        expect_corrupt(GOOD_HEAD "\"phase\":\"downloading\",\"version\":2}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"downloading\",\"sha256\":[]}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"downloading\",\"boot_id\":true}");
        /* A phase without what it implies. */
        expect_corrupt(GOOD_HEAD "\"phase\":\"installing\"}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"installed\",\"transaction_id\":\"t\"}");
        expect_corrupt(GOOD_HEAD "\"phase\":\"rebooting\",\"expected_slot\":\"rootfs.1\"}");
}

TEST(lenient_fields) {
        ActionRecord *l = NULL;

        /* Numbers and flags of the wrong type read as 0/false; the record is still usable. */
        reset_dir();
        write_text(record_path, GOOD_HEAD "\"phase\":\"reporting\",\"size\":\"12\",\"installed_at\":-5,"
                                          "\"download_only\":\"yes\",\"final_success\":1,\"install_attempts\":99999,"
                                          "\"final_details\":[\"a\",7,null,\"b\"],\"unknown\":{}}");
        CHECK_EQ(action_record_load(dir, &l), 0);
        if (l) {
                CHECK_EQ(l->phase, PHASE_REPORTING);
                CHECK(l->size == 0);
                CHECK(l->installed_at == 0);
                CHECK(!l->download_only);
                CHECK(!l->final_success);
                CHECK_EQ(l->install_attempts, 1000); /* bounded */
                CHECK(l->final_details && l->final_details[0] && l->final_details[1] && !l->final_details[2]);
                if (l->final_details && l->final_details[1]) {
                        CHECK_STREQ(l->final_details[0], "a");
                        CHECK_STREQ(l->final_details[1], "b");
                }
        }
        l = action_record_free(l);
        CHECK(exists(record_path) && !exists(corrupt_path));

        /* At most 32 details are read. */
        {
                char text[4096];
                size_t n = (size_t) snprintf(text, sizeof(text), GOOD_HEAD "\"phase\":\"reporting\",\"final_details\":[");
                size_t k = 0;

                for (int i = 0; i < 100; i++)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "%s\"%d\"", i ? "," : "", i);
                snprintf(text + n, sizeof(text) - n, "]}");
                write_text(record_path, text);
                CHECK_EQ(action_record_load(dir, &l), 0);
                while (l && l->final_details && l->final_details[k])
                        k++;
                CHECK_EQ(k, 32);
                action_record_free(l);
        }
}

/* final_failure: the agent's names and updated's are kept; anything else is dropped, not the
 * record (its details still say what happened). */
TEST(failure_name) {
        static const struct {
                const char *name, *kept;
        } cases[] = {
                { "NoRangeSupport", "NoRangeSupport" },
                { "FellBack", "FellBack" },
                { "InvalidBundle", "InvalidBundle" },
                { "NotAName", NULL },
                { "", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char text[512];
                ActionRecord *l = NULL;

                reset_dir();
                snprintf(text, sizeof(text),
                         GOOD_HEAD "\"phase\":\"reporting\",\"final_failure\":\"%s\",\"final_details\":[\"x\"]}",
                         cases[i].name);
                write_text(record_path, text);
                CHECK_EQ(action_record_load(dir, &l), 0);
                if (l) {
                        CHECK(streq_ptr(l->final_failure, cases[i].kept));
                        CHECK(l->final_details && l->final_details[0]);
                }
                action_record_free(l);
        }
}

/* Larger than any record the agent writes: refused, but left in place (not "corrupt"). */
TEST(oversized) {
        size_t n = 300 * 1024;
        char *text = malloc(n + 64);
        ActionRecord *l = NULL;

        CHECK(text != NULL);
        if (!text)
                return;
        reset_dir();
        n = (size_t) sprintf(text, GOOD_HEAD "\"phase\":\"downloading\",\"version\":\"");
        memset(text + n, 'v', 300 * 1024);
        strcpy(text + n + 300 * 1024, "\"}");
        write_text(record_path, text);
        free(text);
        CHECK_EQ(action_record_load(dir, &l), -EFBIG);
        CHECK(l == NULL);
        CHECK(exists(record_path) && !exists(corrupt_path));
}

TEST(set_final) {
        _cleanup_(action_record_freep) ActionRecord *r = calloc(1, sizeof(ActionRecord));
        const char *many[40];
        char bufs[40][8];
        size_t k = 0;

        if (!r)
                return;
        CHECK_EQ(action_record_set_final(r, true, NULL), 0);
        CHECK(r->final_success && r->final_details && !r->final_details[0]);
        CHECK_EQ(action_record_set_final(r, false, (const char *const[]) { "x", "", NULL }), 0);
        CHECK(!r->final_success);
        CHECK(r->final_details && r->final_details[0] && r->final_details[1] && !r->final_details[2]);
        if (r->final_details && r->final_details[1]) {
                CHECK_STREQ(r->final_details[0], "x");
                CHECK_STREQ(r->final_details[1], "");
        }
        for (int i = 0; i < 39; i++) {
                snprintf(bufs[i], sizeof(bufs[i]), "d%d", i);
                many[i] = bufs[i];
        }
        many[39] = NULL;
        CHECK_EQ(action_record_set_final(r, true, many), 0);
        while (r->final_details[k])
                k++;
        CHECK_EQ(k, 32);
        CHECK_STREQ(r->final_details[31], "d31");
}

TEST(bundles) {
        static const char *const files[] = { "bundle-abc", "bundle-abc.part", "bundle-def", "bundle-def.part",
                                             "bundle-abcd", "action.json", "other" };
        char p[PATH_MAX + 64];
        _cleanup_free_ char *b = NULL, *bp = NULL;

        b = action_bundle_path(dir, "abc", false);
        bp = action_bundle_path(dir, "abc", true);
        snprintf(p, sizeof(p), "%s/bundle-abc", dir);
        CHECK_STREQ(b, p);
        snprintf(p, sizeof(p), "%s/bundle-abc.part", dir);
        CHECK_STREQ(bp, p);

        reset_dir();
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
                write_text(p, "x");
        }
        /* Keep "abc" (not "abcd"): the key is the whole name up to the first '.'. */
        action_remove_bundles(dir, "abc");
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                bool kept = i < 2 || i >= 5;

                snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
                if (exists(p) != kept) {
                        unit_diag("%s %s", files[i], kept ? "was removed" : "was kept");
                        unit_case_failures++;
                }
        }
        action_remove_bundles(dir, NULL);
        snprintf(p, sizeof(p), "%s/bundle-abc.part", dir);
        CHECK(!exists(p));
        snprintf(p, sizeof(p), "%s/other", dir);
        CHECK(exists(p));
        snprintf(p, sizeof(p), "%s/nope", dir);
        action_remove_bundles(p, NULL);  /* no directory: nothing to do */
}

TEST(boot_id) {
        _cleanup_free_ char *id = current_boot_id();

        CHECK(id != NULL);
        if (!id)
                return;
        CHECK_EQ(strlen(id), 32);
        for (const char *c = id; *c; c++)
                CHECK((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
        CHECK_STREQ(action_phase_to_string(PHASE_REPORTING), "reporting");
        CHECK_STREQ(action_phase_to_string(_PHASE_MAX), "unknown");
        CHECK_STREQ(action_phase_to_string((ActionPhase) -1), "unknown");
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
}

UNIT_MAIN_BEGIN("test-agent-state")
        log_set_max_level(0);   /* corrupt records are logged as errors */
        snprintf(dir, sizeof(dir), "/tmp/update1-test-agent-state.XXXXXX");
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(record_path, sizeof(record_path), "%s/action.json", dir);
        snprintf(corrupt_path, sizeof(corrupt_path), "%s/action.json.corrupt", dir);

        RUN(round_trip);
        RUN(missing_and_remove);
        RUN(corrupt);
        RUN(wrong_version);
        RUN(bad_fields);
        RUN(lenient_fields);
        RUN(failure_name);
        RUN(oversized);
        RUN(set_final);
        RUN(bundles);
        RUN(boot_id);
UNIT_MAIN_END
