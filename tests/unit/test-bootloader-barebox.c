/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-barebox.c against tests/fakes/stand-ins/barebox-state, put first on PATH.
 * The real barebox-state (Debian package dt-utils) needs barebox's state node in the device
 * tree, which this x86 test machine does not have, so the backend talks to a STAND-IN that
 * speaks the same command line and output format and keeps the state in a file.
 * tests/fakes/boot-sim-barebox.sh (bootchooser's choice) is the "reboot". */
#include "test-bootloader.h"

static char state_file[300], log_file[300], cmdline[300], path_env[PATH_MAX + 4096];

#define FRESH_STATE                                                                     \
        "bootstate.A.priority=20\nbootstate.A.remaining_attempts=3\n"                   \
        "bootstate.B.priority=10\nbootstate.B.remaining_attempts=3\n"                   \
        "bootstate.attempts_locked=0\nbootstate.last_chosen=0\n"

static void make_state(const char *text) {
        write_file(state_file, text);
        unlink(log_file);
}

static char *var(const char *name) {
        return output_of("sed -n 's/^%s=//p' '%s'", name, state_file);
}

#define CHECK_VAR(name, want)                                   \
        do {                                                    \
                _cleanup_free_ char *_v = var(name);            \
                CHECK_STREQ(_v, want);                          \
        } while (0)

static char *boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-barebox.sh' '%s'", top, cmdline);
}

#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

/* How many barebox-state calls set something since the log was last cleared. */
static unsigned count_set_calls(void) {
        _cleanup_free_ char *n = output_of("grep -c -- '-s ' '%s' 2>/dev/null", log_file);
        unsigned v = (unsigned) atoi(n);
        unlink(log_file);
        return v;
}

static Bootloader *open_barebox(const char *extra) {
        char part[600];

        snprintf(part, sizeof(part), "bootloader=barebox\n[barebox]\nboot-attempts=3\n%s", extra);
        return open_backend(part);
}

TEST(barebox_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *cl = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("");
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "barebox");
        CHECK(b->ops->get_current == NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_EQ(count_set_calls(), 0); /* reads never write */
        CHECK_BOOT("A");
        CHECK_VAR("bootstate.A.remaining_attempts", "2");
        cl = output_of("cat '%s'", cmdline);
        CHECK_STREQ(cl, "bootchooser.active=A");
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(barebox_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("");
        if (!b)
                return;
        CHECK_BOOT("A");

        unlink(log_file); /* the simulator's own calls */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_EQ(count_set_calls(), 1);
        CHECK_VAR("bootstate.B.priority", "0");
        CHECK_VAR("bootstate.B.remaining_attempts", "0");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");

        unlink(log_file);
        SET_PRIMARY(b, "B", true);
        CHECK_EQ(count_set_calls(), 1); /* one barebox-state call: one state save */
        CHECK_VAR("bootstate.B.priority", "21");
        CHECK_VAR("bootstate.B.remaining_attempts", "1");
        CHECK_VAR("bootstate.A.priority", "20");
        CHECK_VAR("bootstate.A.remaining_attempts", "3"); /* the fallback, re-armed */
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        CHECK_BOOT("B");
        CHECK_VAR("bootstate.B.remaining_attempts", "0");
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B"); /* the mark survives the fallback */
        CHECK_BOOT("A");

        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");
}

TEST(barebox_trial_attempts) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("trial-attempts=2");
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
}

TEST(barebox_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("");
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        unlink(log_file);
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_EQ(count_set_calls(), 1);
        CHECK_VAR("bootstate.B.priority", "20");
        CHECK_VAR("bootstate.A.priority", "10");
        CHECK_VAR("bootstate.B.remaining_attempts", "3");
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_PRIMARY(b, "B");
        for (int i = 0; i < 3; i++) {
                CHECK_BOOT("B");
                SET_STATE(b, "B", BOOT_STATUS_GOOD); /* re-armed on every healthy boot */
        }
        CHECK_VAR("bootstate.B.remaining_attempts", "3");
        /* bootchooser's own retries: three boots without MarkGood, then A */
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("A");
}

TEST(barebox_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("");
        if (!b)
                return;
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "bootchooser would have nothing to boot");
        CHECK_VAR("bootstate.B.priority", "10");

        SET_PRIMARY(b, "A", false);
        CHECK_VAR("bootstate.A.priority", "20");
        CHECK_VAR("bootstate.A.remaining_attempts", "3");
        CHECK_VAR("bootstate.B.priority", "10");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_BOOT("A");

        /* good on a disabled slot enables it behind the primary */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_VAR("bootstate.B.priority", "10");
        CHECK_VAR("bootstate.B.remaining_attempts", "3");
        CHECK_PRIMARY(b, "A");

        /* a trial made permanent loses its mark; a second trial replaces a stale one */
        SET_PRIMARY(b, "B", true);
        SET_PRIMARY(b, "A", true);
        CHECK_VAR("bootstate.B.priority", "10");
        CHECK_TRIAL(b, "A");
        SET_PRIMARY(b, "A", false);
        CHECK_TRIAL(b, "(none)");
        CHECK_VAR("bootstate.A.priority", "20");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");
        CHECK_FAILS(b->ops->set_state(b->data, "C", BOOT_STATUS_GOOD, &_e), "Bootname 'C' is not configured");
}

/* A fake barebox-state printing 'output' (shell printf format), first on PATH. */
static void fake_tool(const char *output) {
        char dir[300], path[400], text[sizeof(path_env) + 512];

        snprintf(dir, sizeof(dir), "%s/fake", tmpdir);
        mkdir(dir, 0755);
        snprintf(path, sizeof(path), "%s/barebox-state", dir);
        snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%s'\n", output);
        write_file(path, text);
        chmod(path, 0755);
        snprintf(text, sizeof(text), "%s:%s", dir, path_env);
        setenv("PATH", text, 1);
}

TEST(barebox_hostile) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        BootStatus s;
        char *p = NULL;

        make_state(FRESH_STATE);
        b = open_barebox("");
        if (!b)
                return;

        /* the tool's own errors, with its message */
        make_state("bootstate.A.priority=20\nbootstate.A.remaining_attempts=3\n");
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "failed with exit status 1: no such variable: bootstate.B.priority");
        make_state(FRESH_STATE);
        setenv("BAREBOX_STATE_FAIL", "save", 1);
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "Failed to save state: Input/output error");
        unsetenv("BAREBOX_STATE_FAIL");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_VAR("bootstate.B.priority", "10");

        /* output that is not one decimal per -g */
        fake_tool("20\\n3\\nten\\n3\\n");
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "printed 'ten' for bootstate.B.priority, expected an unsigned 32-bit decimal");
        fake_tool("20\\n3\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed 2 values, expected 4");
        fake_tool("20\\n3\\n10\\n3\\nbootstate.A.priority=20\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed more than the 4 values");
        fake_tool("20\\n3\\n10\\n3");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed 3 values");
        fake_tool("20\\n-3\\n10\\n3\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed '-3'");
        fake_tool("4294967296\\n3\\n10\\n3\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed '4294967296'");
        fake_tool(" 20\\n3\\n10\\n3\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "printed ' 20'");
        /* no tool at all */
        setenv("PATH", "/nonexistent", 1);
        CHECK_FAILS(b->ops->get_trial(b->data, &p, &_e), "barebox-state not found on PATH");
        setenv("PATH", path_env, 1);
        CHECK(p == NULL);
        CHECK_PRIMARY(b, "A");
}

TEST(barebox_state_name) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL, *b2 = NULL;
        char *p = NULL;

        make_state(FRESH_STATE);
        setenv("BAREBOX_STATE_NAME", "update1_state", 1);
        b = open_barebox("state-name=update1_state");
        b2 = open_barebox("state-name=other");
        if (!b || !b2)
                return;
        CHECK_PRIMARY(b, "A");
        SET_PRIMARY(b, "B", false);
        {
                _cleanup_free_ char *log = output_of("cat '%s'", log_file);
                CHECK(strstr(log, "-n update1_state -s") != NULL);
        }
        CHECK_FAILS(b2->ops->get_primary(b2->data, &p, &_e), "barebox-state -n other -g bootstate.A.priority");
        CHECK_FAILS(b2->ops->get_primary(b2->data, &p, &_e), "no such node: other");
        unsetenv("BAREBOX_STATE_NAME");
}

UNIT_MAIN_BEGIN("test-bootloader-barebox")
        test_setup("test-bootloader-barebox");
        snprintf(state_file, sizeof(state_file), "%s/barebox.state", tmpdir);
        snprintf(log_file, sizeof(log_file), "%s/barebox-state.log", tmpdir);
        snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmpdir);
        /* The stand-in replaces the real tool for the backend (found on PATH) and the simulator. */
        snprintf(path_env, sizeof(path_env), "%s/tests/fakes/stand-ins:%s", top, getenv("PATH") ?: "/usr/bin:/bin");
        setenv("PATH", path_env, 1);
        setenv("BAREBOX_STATE_FILE", state_file, 1);
        setenv("BAREBOX_STATE_LOG", log_file, 1);

        RUN(barebox_fresh);
        RUN(barebox_install_trial_fallback);
        RUN(barebox_trial_attempts);
        RUN(barebox_mark_good_commits);
        RUN(barebox_mark_bad_and_active);
        RUN(barebox_hostile);
        RUN(barebox_state_name);
UNIT_MAIN_END
