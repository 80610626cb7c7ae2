/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-uboot-bootcount.c: the classic U-Boot boot counting scheme ([uboot]
 * scheme=bootcount) on a real redundant env made from the shipped
 * packaging/bootloader/uboot-bootcount.env, with tests/fakes/boot-sim-bootcount.sh (U-Boot's
 * bootcount logic plus that file's bootcmd/altbootcmd) as the "reboot". */
#include "test-bootloader.h"

#define ENV_SIZE 0x4000

static char env_cfg[300], env_img[300], cmdline[300];

/* The shipped env snippet, as a board's initial environment (two copies, mkenvimage -r). */
static void make_env(void) {
        char copy[300];

        snprintf(copy, sizeof(copy), "%s/copy.bin", tmpdir);
        if (run("mkenvimage -r -s 0x%x -o '%s' '%s/packaging/bootloader/uboot-bootcount.env' && cat '%s' '%s' > '%s'",
                ENV_SIZE, copy, top, copy, copy, env_img) != 0) {
                printf("mkenvimage failed\n");
                exit(2);
        }
        run("printf '%%s 0x0000 0x%x 0x%x 1\\n%%s 0x%x 0x%x 0x%x 1\\n' '%s' '%s' > '%s'", ENV_SIZE, ENV_SIZE, ENV_SIZE,
            ENV_SIZE, ENV_SIZE, env_img, env_img, env_cfg);
}

static char *env_get(const char *name) {
        return output_of("fw_printenv -c '%s' -n '%s' 2>/dev/null", env_cfg, name);
}

#define CHECK_ENV(name, want)                                   \
        do {                                                    \
                _cleanup_free_ char *_v = env_get(name);        \
                CHECK_STREQ(_v, want);                          \
        } while (0)

static char *boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-bootcount.sh' '%s' '%s'", top, env_cfg, cmdline);
}

#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

static Bootloader *open_bootcount(unsigned trial_attempts) {
        char part[1024];

        snprintf(part, sizeof(part),
                 "bootloader=uboot\n[uboot]\nscheme=bootcount\nfw-env-config=%s\ntrial-attempts=%u\nlock-file=%s/fw_printenv.lock",
                 env_cfg, trial_attempts, tmpdir);
        return open_backend(part);
}

TEST(bootcount_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *cl = NULL;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "uboot-bootcount");
        CHECK(b->ops->get_current == NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD); /* the fallback */
        CHECK_TRIAL(b, "(none)");
        /* no trial: U-Boot does not count, nothing is written, A boots every time */
        CHECK_BOOT("A");
        CHECK_BOOT("A");
        CHECK_BOOT("A");
        CHECK_ENV("bootcount", "0");
        cl = output_of("cat '%s'", cmdline);
        CHECK_STREQ(cl, "console=ttyS0,115200 rootwait ro update1.slot=A");
}

/* GetSlotStatus's read (daemon/snapshot.c): between read_begin and read_end the get_* ops answer
 * from the scheme read at read_begin, under the env lock: the env rewritten behind the lock's
 * back meanwhile (fw_setenv would wait for the lock) is seen only after read_end. */
TEST(bootcount_read_session) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *trial = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        CHECK(bootloader_read_begin(b, &err) >= 0);
        CHECK(run("flock -n '%s/fw_printenv.lock' true 2>/dev/null", tmpdir) != 0);
        CHECK_EQ(run("sed 's/^update1_slot=A$/update1_slot=B/; s/^update1_altslot=B$/update1_altslot=A/; $a update1_trial=B' "
                     "'%s/packaging/bootloader/uboot-bootcount.env' > '%s/b.env' && "
                     "mkenvimage -r -s 0x%x -o '%s/b.bin' '%s/b.env' && cat '%s/b.bin' '%s/b.bin' > '%s'",
                     top, tmpdir, ENV_SIZE, tmpdir, tmpdir, tmpdir, tmpdir, env_img),
                 0);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        bootloader_read_end(b);
        CHECK(run("flock -n '%s/fw_printenv.lock' true 2>/dev/null", tmpdir) == 0);
        CHECK_PRIMARY(b, "B");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK(bootloader_read_begin(b, &err) >= 0);
        CHECK(bootloader_get_trial(b, &trial, &err) >= 0);
        CHECK_STREQ(trial, "B");
        bootloader_read_end(b);
        bootloader_read_end(b);
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(bootcount_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        /* before the first byte: B is no longer the fallback */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_ENV("update1_altslot", "");
        CHECK_BOOT("A");

        /* after the last byte: B is the slot, on trial, A its fallback */
        SET_PRIMARY(b, "B", true);
        CHECK_ENV("update1_slot", "B");
        CHECK_ENV("update1_altslot", "A");
        CHECK_ENV("upgrade_available", "1");
        CHECK_ENV("bootcount", "0");
        CHECK_ENV("bootlimit", "1");
        CHECK_ENV("update1_trial", "B");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        /* reboot: U-Boot counts 1 (not above the limit) and boots B */
        CHECK_BOOT("B");
        CHECK_ENV("bootcount", "1");
        /* B never marks itself good: the next boot is over the limit */
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);

        /* reboot: 2 > 1, altbootcmd makes A the slot for good */
        CHECK_BOOT("A");
        CHECK_ENV("update1_slot", "A");
        CHECK_ENV("update1_altslot", "");
        CHECK_ENV("upgrade_available", "0");
        CHECK_ENV("bootcount", "0");
        /* the trial note survives, so the daemon sees the fallback */
        CHECK_TRIAL(b, "B");
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
        CHECK_BOOT("A");

        /* the daemon reports it and marks B bad */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_BOOT("A");
        /* the board's own variables are untouched */
        CHECK_ENV("update1_bootargs", "console=ttyS0,115200 rootwait ro");
}

TEST(bootcount_trial_attempts) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_bootcount(3);
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_ENV("bootlimit", "3");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_ENV("bootcount", "3");
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
}

TEST(bootcount_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char before[2 * ENV_SIZE], after[2 * ENV_SIZE];
        size_t n;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");

        /* the booted trial slot marks itself good: U-Boot stops counting */
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_ENV("upgrade_available", "0");
        CHECK_ENV("bootcount", "0");
        CHECK_ENV("update1_trial", "");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");

        /* MarkGood outside a trial changes nothing, and writes nothing */
        n = file_bytes(env_img, before, sizeof(before));
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);
        CHECK(memcmp(before, after, n) == 0);
}

TEST(bootcount_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        /* "mark bad booted" on the trial boot: the fallback becomes the slot, for good */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_ENV("update1_slot", "A");
        CHECK_ENV("update1_altslot", "");
        CHECK_ENV("upgrade_available", "0");
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
        /* the last bootable slot is never given up */
        CHECK_FAILS(b->ops->set_state(b->data, "A", BOOT_STATUS_BAD, &_e), "the board would have nothing to boot");
        CHECK_ENV("update1_slot", "A");

        /* good on a slot outside the pair makes it the fallback */
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_ENV("update1_altslot", "B");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);

        /* mark-active: permanent, no counting, the old slot stays as fallback */
        SET_PRIMARY(b, "B", false);
        CHECK_ENV("update1_slot", "B");
        CHECK_ENV("update1_altslot", "A");
        CHECK_ENV("upgrade_available", "0");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        /* bad on the fallback: only the slot is left */
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_ENV("update1_altslot", "");
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_BOOT("B");
        /* mark-active of a bad slot brings it back as the slot */
        SET_PRIMARY(b, "A", false);
        CHECK_ENV("update1_slot", "A");
        CHECK_ENV("update1_altslot", "B");
        CHECK_BOOT("A");
        /* a trial made permanent loses its note and stops counting */
        SET_PRIMARY(b, "B", true);
        CHECK_TRIAL(b, "B");
        SET_PRIMARY(b, "B", false);
        CHECK_TRIAL(b, "(none)");
        CHECK_ENV("upgrade_available", "0");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");
}

/* Variables someone else wrote are reported, not guessed. */
TEST(bootcount_hostile_env) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        BootStatus s;
        char *p = NULL;

        make_env();
        b = open_bootcount(1);
        if (!b)
                return;
        CHECK_EQ(run("fw_setenv -c '%s' bootcount 1x", env_cfg), 0);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "U-Boot variable bootcount='1x' is not a decimal number");
        CHECK_EQ(run("fw_setenv -c '%s' bootcount 0 && fw_setenv -c '%s' upgrade_available 2", env_cfg, env_cfg), 0);
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "upgrade_available='2'");
        CHECK_EQ(run("fw_setenv -c '%s' upgrade_available 0 && fw_setenv -c '%s' bootlimit -- -1", env_cfg, env_cfg), 0);
        CHECK_FAILS(b->ops->set_primary(b->data, "B", true, &_e), "bootlimit='-1'");
        CHECK_EQ(run("fw_setenv -c '%s' bootlimit 1 && fw_setenv -c '%s' update1_slot 'A;reset'", env_cfg, env_cfg), 0);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "update1_slot='A;reset' is not a bootname");
        CHECK_EQ(run("fw_setenv -c '%s' update1_slot", env_cfg), 0);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "update1_slot is not set");
        CHECK_FAILS(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &_e), "update1_slot is not set");
        CHECK(p == NULL);
        CHECK_BOOT("none");
        CHECK_FAILS(b->ops->set_primary(b->data, "a-b", true, &_e), "Bootname 'a-b'");
        /* a board with update1_slot gone gets it back from mark-active */
        SET_PRIMARY(b, "A", false);
        CHECK_BOOT("A");

        /* update1_altslot naming update1_slot is no fallback (found by fuzz-uboot-env, where a
         * duplicate variable did it): marking that slot bad must be refused, not "succeed" with
         * the bad slot still booted and still read as good. */
        CHECK_EQ(run("fw_setenv -c '%s' update1_altslot A", env_cfg), 0);
        CHECK_FAILS(b->ops->set_state(b->data, "A", BOOT_STATUS_BAD, &_e), "names the same slot");
        CHECK_ENV("update1_slot", "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");
        /* a trial of B then falls back to A, as a real fallback */
        SET_PRIMARY(b, "B", true);
        CHECK_ENV("update1_altslot", "A");
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");

        /* both copies corrupt: the shared libubootenv session refuses, nothing is bad */
        run("printf '\\377\\377' | dd of='%s' bs=1 seek=40 conv=notrunc status=none", env_img);
        run("printf '\\377\\377' | dd of='%s' bs=1 seek=%d conv=notrunc status=none", env_img, ENV_SIZE + 40);
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "both copies invalid");
        CHECK(run("'%s/tests/fakes/boot-sim-bootcount.sh' '%s' >/dev/null 2>&1", top, env_cfg) != 0);
}

/* The shipped env still has the commands boot-sim-bootcount.sh implements (change both
 * together), and U-Boot's defaults in it are what the backend expects. */
TEST(bootcount_shipped_env) {
        make_env();
        CHECK_ENV("altbootcmd",
                  "if test -n \"${update1_altslot}\"; then setenv update1_slot \"${update1_altslot}\"; setenv update1_altslot; fi; "
                  "setenv upgrade_available 0; setenv bootcount 0; saveenv; run bootcmd");
        CHECK_ENV("bootcmd",
                  "setenv bootargs \"${update1_bootargs} update1.slot=${update1_slot}\"; run update1_boot_${update1_slot}; "
                  "echo \"Update1: booting slot ${update1_slot} failed, resetting\"; reset");
        CHECK_ENV("upgrade_available", "0");
        CHECK_ENV("bootcount", "0");
        CHECK_ENV("bootlimit", "1");
        CHECK_ENV("update1_slot", "A");
        CHECK_ENV("update1_altslot", "B");
}

UNIT_MAIN_BEGIN("test-bootloader-bootcount")
        test_setup("test-bootloader-bootcount");
        snprintf(env_cfg, sizeof(env_cfg), "%s/fw_env.config", tmpdir);
        snprintf(env_img, sizeof(env_img), "%s/uboot.env", tmpdir);
        snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmpdir);

        RUN(bootcount_fresh);
        RUN(bootcount_read_session);
        RUN(bootcount_install_trial_fallback);
        RUN(bootcount_trial_attempts);
        RUN(bootcount_mark_good_commits);
        RUN(bootcount_mark_bad_and_active);
        RUN(bootcount_hostile_env);
        RUN(bootcount_shipped_env);
UNIT_MAIN_END
