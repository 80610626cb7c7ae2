/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-uboot.c: the RAUC scheme (BOOT_ORDER, BOOT_<x>_LEFT) on a real redundant
 * env file (mkenvimage -r, libubootenv), driven through install / trial boot / fallback /
 * mark with tests/fakes/boot-sim.sh as the "reboot"; and the libubootenv storage itself, shared
 * with the bootcount scheme: both copies' CRC and flags (incl. the 255 → 0 wrap), one or both
 * copies corrupt, a store torn at 512 B / 4 KiB, and I/O errors injected with strace. */
#include "test-bootloader.h"

#define ENV_SIZE 0x4000

static char env_cfg[300], env_img[300];
static char self_exe[PATH_MAX];

/* One redundant copy (flags byte = 1) made by mkenvimage -r from 'text'. */
static void make_copy(const char *text, const char *out) {
        char txt[300];

        snprintf(txt, sizeof(txt), "%s/env.txt", tmpdir);
        write_file(txt, text);
        if (run("mkenvimage -r -s 0x%x -o '%s' '%s'", ENV_SIZE, out, txt) != 0) {
                printf("mkenvimage failed\n");
                exit(2);
        }
}

static void write_cfg(void) {
        run("printf '%%s 0x0000 0x%x 0x%x 1\\n%%s 0x%x 0x%x 0x%x 1\\n' '%s' '%s' > '%s'", ENV_SIZE, ENV_SIZE, ENV_SIZE,
            ENV_SIZE, ENV_SIZE, env_img, env_img, env_cfg);
}

/* Two copies: copy 0 from text0, copy 1 from text1 (NULL: the same). */
static void make_env_texts(const char *text0, const char *text1) {
        char c0[300], c1[300];

        snprintf(c0, sizeof(c0), "%s/copy0.bin", tmpdir);
        snprintf(c1, sizeof(c1), "%s/copy1.bin", tmpdir);
        make_copy(text0, c0);
        make_copy(text1 ?: text0, c1);
        run("cat '%s' '%s' > '%s'", c0, c1, env_img);
        write_cfg();
}

#define BOARD_ENV "bootcmd=run update1_script\nupdate1_bootargs=console=ttyS0\n"

static void make_env(void) {
        make_env_texts("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV, NULL);
}

/* The flags byte of a copy, read and written by hand (it is not covered by the CRC). */
static unsigned get_flags(int copy) {
        unsigned char b = 0;
        int fd = open(env_img, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || pread(fd, &b, 1, (off_t) copy * ENV_SIZE + 4) != 1)
                b = 0xee;
        if (fd >= 0)
                close(fd);
        return b;
}

static void set_flags(int copy, unsigned value) {
        run("printf '\\%03o' | dd of='%s' bs=1 seek=%d conv=notrunc status=none", value, env_img, copy * ENV_SIZE + 4);
}

static void corrupt(unsigned offset) {
        run("printf '\\377\\377' | dd of='%s' bs=1 seek=%u conv=notrunc status=none", env_img, offset);
}

/* A variable as fw_printenv (a separate libubootenv reader) sees it. */
static char *env_get(const char *name) {
        return output_of("fw_printenv -c '%s' -n '%s' 2>/dev/null", env_cfg, name);
}

#define CHECK_ENV(name, want)                                   \
        do {                                                    \
                _cleanup_free_ char *_v = env_get(name);        \
                CHECK_STREQ(_v, want);                          \
        } while (0)

static char *boot(void) {
        return output_of("'%s/tests/fakes/boot-sim.sh' '%s'", top, env_cfg);
}

#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

static Bootloader *open_uboot(void) {
        char part[1024];

        snprintf(part, sizeof(part),
                 "bootloader=uboot\n[uboot]\nfw-env-config=%s\nboot-attempts=3\ntrial-attempts=1\nlock-file=%s/fw_printenv.lock",
                 env_cfg, tmpdir);
        return open_backend(part);
}

/* --- the RAUC scheme -------------------------------------------------------------------- */

TEST(uboot_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "uboot");
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK(b->ops->get_current == NULL);
        CHECK_BOOT("A");
}

/* GetSlotStatus's read (daemon/snapshot.c): between read_begin and read_end every get_* answers
 * from the one env read at read_begin, under the env lock: a change on disk in between (written
 * behind the lock's back here) is not seen, and is after read_end. */
TEST(uboot_read_session) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK(bootloader_read_begin(b, &err) >= 0);
        CHECK(run("flock -n '%s/fw_printenv.lock' true 2>/dev/null", tmpdir) != 0);
        make_env_texts("BOOT_ORDER=B A\nBOOT_A_LEFT=0\nBOOT_B_LEFT=3\n" BOARD_ENV, NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        bootloader_read_end(b);
        CHECK(run("flock -n '%s/fw_printenv.lock' true 2>/dev/null", tmpdir) == 0);
        CHECK_PRIMARY(b, "B");
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        /* A second session reads afresh; ending twice is harmless. */
        CHECK(bootloader_read_begin(b, &err) >= 0);
        CHECK_PRIMARY(b, "B");
        bootloader_read_end(b);
        bootloader_read_end(b);
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(uboot_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;

        /* before the first byte: the target is not bootable */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "A");
        CHECK_ENV("BOOT_B_LEFT", "0");
        CHECK_BOOT("A"); /* an interrupted install keeps booting A */

        /* after the last byte: B primary for one trial boot, A stays behind it, re-armed
         * (it was booted once and not marked good yet) */
        CHECK_ENV("BOOT_A_LEFT", "2");
        SET_PRIMARY(b, "B", true);
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_ENV("BOOT_A_LEFT", "3");
        CHECK_ENV("BOOT_B_LEFT", "1");
        CHECK_ENV("UPDATE1_TRIAL", "B");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        /* reboot: U-Boot tries B once */
        CHECK_BOOT("B");
        CHECK_ENV("BOOT_B_LEFT", "0");
        /* B did not mark itself good: the next boot is A already */
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);

        /* reboot again: fallback to A; the trial note shows what happened */
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
        CHECK_BOOT("A");

        /* the daemon reports the fallback and marks B bad: the note goes */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        /* RAUC's scheme counts every boot: A has used the 3 attempts it was re-armed with at
         * the trial; without MarkGood on one of those boots the script re-arms all and resets */
        CHECK_BOOT("A");
        CHECK_BOOT("none");
        CHECK_BOOT("A");
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_A_LEFT", "3");

        /* the board's own variables are untouched */
        CHECK_ENV("bootcmd", "run update1_script");
        CHECK_ENV("update1_bootargs", "console=ttyS0");
}

TEST(uboot_trial_attempts) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char part[1024];

        make_env();
        snprintf(part, sizeof(part), "bootloader=uboot\n[uboot]\nfw-env-config=%s\ntrial-attempts=2\nlock-file=%s/fw_printenv.lock",
                 env_cfg, tmpdir);
        b = open_backend(part);
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
}

TEST(uboot_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");

        /* booted B marks itself good: committed, counter re-armed, B stays first */
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_ENV("UPDATE1_TRIAL", "");
        CHECK_ENV("BOOT_B_LEFT", "3");
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        /* marking good again (every boot) re-arms the counter */
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_B_LEFT", "3");
        /* good on a slot that was taken out of the order puts it back, last */
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "B");
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_ENV("BOOT_A_LEFT", "3");
}

TEST(uboot_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "B");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");

        /* the last slot in the order is never removed: the board would reset forever */
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "last slot");
        CHECK_ENV("BOOT_ORDER", "B");

        /* mark-active: permanent primary, re-armed, no trial */
        SET_PRIMARY(b, "A", false);
        CHECK_ENV("BOOT_ORDER", "A B");
        CHECK_ENV("BOOT_A_LEFT", "3");
        CHECK_ENV("UPDATE1_TRIAL", "");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_BOOT("A");

        /* a slot with no attempts left is bad unless it is the trial */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT 0", env_cfg), 0);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);

        /* a trial slot that is made permanent loses its trial note */
        SET_PRIMARY(b, "B", true);
        CHECK_TRIAL(b, "B");
        SET_PRIMARY(b, "B", false);
        CHECK_TRIAL(b, "(none)");
        CHECK_ENV("BOOT_B_LEFT", "3");

        /* TRIAL is not a state one can set */
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");
}

TEST(uboot_all_exhausted) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_A_LEFT 0 && fw_setenv -c '%s' BOOT_B_LEFT 0", env_cfg, env_cfg), 0);
        /* nothing has attempts left: the first in order is what comes after the re-arm */
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("none");
        CHECK_ENV("BOOT_A_LEFT", "3");
        CHECK_ENV("BOOT_B_LEFT", "3");
        CHECK_BOOT("A");
}

TEST(uboot_parsing) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        BootStatus s;
        char *p = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        /* BOOT_ORDER with odd white space, as hush would split it */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_ORDER '  B   A '", env_cfg), 0);
        CHECK_PRIMARY(b, "B");
        SET_PRIMARY(b, "A", true);
        CHECK_ENV("BOOT_ORDER", "A B");

        /* counters are parsed strictly */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT 3x", env_cfg), 0);
        CHECK_FAILS(b->ops->get_state(b->data, "B", &s, &_e), "BOOT_B_LEFT='3x'");
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT -- -1", env_cfg), 0);
        CHECK_FAILS(b->ops->get_state(b->data, "B", &s, &_e), "is not a decimal number");
        /* an unset counter is 0, as the script's test sees it */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT", env_cfg), 0);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);

        /* names that cannot be U-Boot variable parts */
        CHECK_FAILS(b->ops->set_primary(b->data, "A B", true, &_e), "cannot be used in U-Boot variable names");
        CHECK_FAILS(b->ops->get_state(b->data, "a-b", &s, &_e), "Bootname 'a-b'");
        CHECK_FAILS(b->ops->set_state(b->data, "", BOOT_STATUS_GOOD, &_e), "Bootname ''");

        /* an empty order is reported, not guessed */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_ORDER", env_cfg), 0);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "BOOT_ORDER is empty");
        CHECK(p == NULL);
}

TEST(uboot_open_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        c = make_config("bootloader=uboot\n[uboot]\nfw-env-config=/nonexistent/fw_env.config");
        CHECK(bootloader_open(c, &b, &err) < 0);
        CHECK(b == NULL);
        CHECK_EQ(err.kind, ERROR_IO);
        CHECK(strstr(err.message, "/nonexistent/fw_env.config") != NULL);
}

/* --- libubootenv storage ---------------------------------------------------------------- */

/* Every store goes to the inactive copy with flags + 1; the reader takes the newer one. */
TEST(env_copies_alternate) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_EQ(get_flags(0), 1);
        CHECK_EQ(get_flags(1), 1);
        SET_STATE(b, "B", BOOT_STATUS_BAD); /* equal flags: copy 0 is current, copy 1 written */
        CHECK_EQ(get_flags(0), 1);
        CHECK_EQ(get_flags(1), 2);
        SET_PRIMARY(b, "B", true);
        CHECK_EQ(get_flags(0), 3);
        CHECK_EQ(get_flags(1), 2);
        CHECK_ENV("BOOT_ORDER", "B A");
        /* copy 0 holds the newest state: damaging copy 1 changes nothing */
        corrupt(ENV_SIZE + 40);
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
}

/* Flags 255 then 0: the counter wrapped, 0 is the newer copy. */
TEST(env_flags_wrap_255_0) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env_texts("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV,
                       "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV);
        set_flags(0, 255);
        set_flags(1, 0);
        b = open_uboot();
        if (!b)
                return;
        CHECK_PRIMARY(b, "B");
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_BOOT("B");              /* the simulator's store goes to copy 0 with flags 1 */
        CHECK_EQ(get_flags(0), 1);
        CHECK_EQ(get_flags(1), 0);
        CHECK_ENV("BOOT_B_LEFT", "2");
        SET_STATE(b, "A", BOOT_STATUS_BAD); /* and ours to copy 1 with flags 2 */
        CHECK_EQ(get_flags(1), 2);
        CHECK_ENV("BOOT_ORDER", "B");
        CHECK_ENV("BOOT_B_LEFT", "2");
}

/* Flags 254 and 255: the next store wraps to 0 and must win over 255. */
TEST(env_flags_wrap_store) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env_texts("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV,
                       "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV);
        set_flags(0, 254);
        set_flags(1, 255);
        b = open_uboot();
        if (!b)
                return;
        CHECK_PRIMARY(b, "B");
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_EQ(get_flags(0), 0);
        CHECK_EQ(get_flags(1), 255);
        CHECK_ENV("BOOT_ORDER", "B");
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_EQ(get_flags(1), 1);
        CHECK_ENV("BOOT_ORDER", "B A");
}

/* Equal flags: copy 0 wins; a newer copy with a bad CRC loses to an older good one. */
TEST(env_flags_equal_and_crc) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env_texts("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV,
                       "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV);
        set_flags(0, 7);
        set_flags(1, 7);
        b = open_uboot();
        if (!b)
                return;
        CHECK_PRIMARY(b, "A");
        set_flags(1, 8);
        CHECK_PRIMARY(b, "B");
        corrupt(ENV_SIZE + 100);
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
}

TEST(env_both_copies_corrupt) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char before[2 * ENV_SIZE], after[2 * ENV_SIZE];
        BootStatus s;
        char *p = NULL;
        size_t n;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        /* Write once so the two copies differ in their flags, then damage both. */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        corrupt(ENV_SIZE + 40);
        corrupt(40);
        /* Every op fails with the clear error and writes nothing (writing would replace the
         * board's variables with ours alone); no slot is ever reported bad because of it. */
        n = file_bytes(env_img, before, sizeof(before));
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "U-Boot environment unreadable (both copies invalid)");
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), env_cfg);
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->get_trial(b->data, &p, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->set_primary(b->data, "A", false, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->set_primary(b->data, "A", true, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &_e), "both copies invalid");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "both copies invalid");
        CHECK(p == NULL);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);
        CHECK(memcmp(before, after, n) == 0);
        /* the simulator refuses too, like U-Boot falling back to its default env */
        CHECK(run("'%s/tests/fakes/boot-sim.sh' '%s' >/dev/null 2>&1", top, env_cfg) != 0);
}

TEST(env_one_copy_corrupt) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        /* the write went to copy 1 (the inactive one); damage it: copy 0 (older) serves */
        corrupt(ENV_SIZE + 40);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_ORDER", "A B");
        /* and the next write goes over the damaged copy, leaving two valid ones */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "A");
        corrupt(40);
        CHECK_ENV("BOOT_ORDER", "A");
}

/* A big board env (about 6 KiB after our variables), so that a tear at 512 B or 4 KiB falls
 * inside the variables rather than in padding. */
static void make_big_env(void) {
        char text[8192];
        size_t n;

        n = (size_t) snprintf(text, sizeof(text), "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" BOARD_ENV "zz_filler=");
        memset(text + n, 'x', 6000);
        strcpy(text + n + 6000, "\n");
        make_env_texts(text, NULL);
}

/* Power cut in the middle of a store: only the first 'bytes' of the new copy reached the
 * medium.  The half-written copy has the newer flags but a bad CRC, so the previous state is
 * used, by us, fw_printenv and the boot script; the next store repairs it. */
static void torn_store(size_t bytes) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char before[2 * ENV_SIZE], after[2 * ENV_SIZE], torn[2 * ENV_SIZE];
        size_t n;
        int copy = -1;

        make_big_env();
        b = open_uboot();
        if (!b)
                return;
        SET_STATE(b, "A", BOOT_STATUS_GOOD); /* copies now differ: copy 1 is current */
        n = file_bytes(env_img, before, sizeof(before));
        CHECK_EQ(n, 2 * ENV_SIZE);
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);
        for (int i = 0; i < 2; i++)
                if (memcmp(before + i * ENV_SIZE, after + i * ENV_SIZE, ENV_SIZE) != 0) {
                        CHECK(copy < 0); /* exactly one copy is written */
                        copy = i;
                }
        CHECK_EQ(copy, 0);
        if (copy < 0)
                return;
        memcpy(torn, before, n);
        memcpy(torn + copy * ENV_SIZE, after + copy * ENV_SIZE, bytes);
        /* the tear lost data (else this test proves nothing) */
        CHECK(memcmp(torn, after, n) != 0);
        write_bytes(env_img, torn, n);

        CHECK_EQ(get_flags(copy), get_flags(1 - copy) + 1);
        CHECK_ENV("BOOT_ORDER", "A B");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
        {
                _cleanup_free_ char *filler = env_get("zz_filler");
                CHECK_EQ(strlen(filler), 6000);
        }
        /* the interrupted mark is simply repeated */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "A");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
}

TEST(env_torn_write_512) {
        torn_store(512);
}

TEST(env_torn_write_4k) {
        torn_store(4096);
}

/* Runs one op in a child under strace with a fault injected; returns its "OK" or
 * "ERROR: <message>" line. */
static char *op_under_strace(const char *syscall, const char *fault, const char *op, const char *bootname) {
        /* (LeakSanitizer cannot run under ptrace: off for SANITIZE=1 builds, a no-op otherwise) */
        return output_of("ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=%s -e inject=%s:%s '%s' "
                         "--child '%s' '%s' %s %s 2>&1",
                         syscall, syscall, fault, self_exe, tmpdir, env_cfg, op, bootname);
}

/* An I/O error on the write of the new copy: the op fails, the old copy is in use. */
TEST(env_write_eio) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *out = NULL;
        static char before[2 * ENV_SIZE], after[2 * ENV_SIZE];
        size_t n;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        n = file_bytes(env_img, before, sizeof(before));
        out = op_under_strace("write", "error=EIO:when=1", "bad", "B");
        CHECK(strstr(out, "ERROR: Cannot write the U-Boot environment") != NULL);
        CHECK(strstr(out, "Input/output error") != NULL);
        CHECK(strstr(out, "the previous copy is still in use") != NULL);
        if (!strstr(out, "ERROR: "))
                printf("  child said: %s\n", out);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);
        CHECK(memcmp(before, after, n) == 0);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_ORDER", "A B");
        CHECK_BOOT("A");
        /* without the fault the same op goes through */
        free(out);
        out = output_of("'%s' --child '%s' '%s' bad B 2>&1", self_exe, tmpdir, env_cfg);
        CHECK_STREQ(out, "OK");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
}

/* An I/O error when flushing: libubootenv ignores fsync()'s result, we must not.  Whether
 * the new copy reached the medium is then unknown; each outcome of a power cut (nothing, a
 * torn copy, all of it) leaves a valid environment, and without the complete copy the
 * previous one is used. */
TEST(env_fsync_eio) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *out = NULL;
        static char before[2 * ENV_SIZE], after[2 * ENV_SIZE], torn[2 * ENV_SIZE];
        size_t n;

        make_big_env();
        b = open_uboot();
        if (!b)
                return;
        n = file_bytes(env_img, before, sizeof(before));
        out = op_under_strace("fsync", "error=EIO", "trial", "B");
        CHECK(strstr(out, "ERROR: Cannot flush the U-Boot environment") != NULL);
        CHECK(strstr(out, "Input/output error") != NULL);
        if (!strstr(out, "ERROR: "))
                printf("  child said: %s\n", out);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);

        /* nothing persisted */
        write_bytes(env_img, before, n);
        CHECK_TRIAL(b, "(none)");
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
        /* torn */
        memcpy(torn, before, n);
        memcpy(torn + ENV_SIZE, after + ENV_SIZE, 4096);
        write_bytes(env_img, torn, n);
        CHECK_TRIAL(b, "(none)");
        CHECK_BOOT("A");
        /* all of it: the trial is there, complete */
        write_bytes(env_img, after, n);
        CHECK_TRIAL(b, "B");
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_BOOT("B");
}

/* --child TMPDIR ENVCFG OP BOOTNAME: one backend op in this process (for strace), with the
 * system.conf the parent wrote (writing anything else would move the injected fault). */
static int child_main(char **argv) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        UError err = UERROR_NULL;
        const char *op = argv[4], *name = argv[5];
        char path[PATH_MAX];
        int r;

        snprintf(path, sizeof(path), "%s/system.conf", argv[2]);
        if (config_load(path, &c) < 0 || !streq(c->fw_env_config, argv[3]))
                return 2;
        if (bootloader_open(c, &b, &err) < 0) {
                printf("ERROR: %s\n", err.message);
                return 1;
        }
        if (streq(op, "bad"))
                r = b->ops->set_state(b->data, name, BOOT_STATUS_BAD, &err);
        else if (streq(op, "good"))
                r = b->ops->set_state(b->data, name, BOOT_STATUS_GOOD, &err);
        else if (streq(op, "trial"))
                r = b->ops->set_primary(b->data, name, true, &err);
        else
                r = b->ops->set_primary(b->data, name, false, &err);
        if (r < 0)
                printf("ERROR: %s\n", err.message);
        else
                printf("OK\n");
        return r < 0;
}

UNIT_MAIN_BEGIN("test-bootloader-uboot")
        bool strace_ok;
        ssize_t len;

        if (argc == 6 && streq(argv[1], "--child"))
                return child_main(argv);
        test_setup("test-bootloader-uboot");
        len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
        self_exe[len > 0 ? len : 0] = '\0';
        snprintf(env_cfg, sizeof(env_cfg), "%s/fw_env.config", tmpdir);
        snprintf(env_img, sizeof(env_img), "%s/uboot.env", tmpdir);
        /* strace must be installed and allowed to trace (not in every container) */
        strace_ok = run("strace -f -qq -o /dev/null true >/dev/null 2>&1") == 0;

        RUN(uboot_fresh);
        RUN(uboot_read_session);
        RUN(uboot_install_trial_fallback);
        RUN(uboot_trial_attempts);
        RUN(uboot_mark_good_commits);
        RUN(uboot_mark_bad_and_active);
        RUN(uboot_all_exhausted);
        RUN(uboot_parsing);
        RUN(uboot_open_errors);
        RUN(env_copies_alternate);
        RUN(env_flags_wrap_255_0);
        RUN(env_flags_wrap_store);
        RUN(env_flags_equal_and_crc);
        RUN(env_both_copies_corrupt);
        RUN(env_one_copy_corrupt);
        RUN(env_torn_write_512);
        RUN(env_torn_write_4k);
        RUN_OR_SKIP(env_write_eio, strace_ok, "strace missing or ptrace not permitted");
        RUN_OR_SKIP(env_fsync_eio, strace_ok, "strace missing or ptrace not permitted");
UNIT_MAIN_END
