/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader*.c: the uboot backend on a real redundant env file (mkenvimage -r,
 * libubootenv), driven through the install / trial boot / fallback / mark cycle with
 * tests/lib/boot-sim.sh as the "reboot"; and the custom backend with
 * tests/lib/custom-backend.sh. */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader.h"
#include "config.h"
#include "fileio.h"
#include "unit.h"
#include "util.h"

static char tmpdir[256];
static char top[PATH_MAX];
static char env_cfg[300], env_img[300];

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                exit(2);
        }
        fputs(text, f);
        fclose(f);
}

static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

static char *output_of(const char *fmt, ...) _printf_(1, 2);
static char *output_of(const char *fmt, ...) {
        char cmd[4096], buf[4096] = "";
        va_list ap;
        FILE *p;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        p = popen(cmd, "re");
        if (!p)
                return strdup("");
        n = fread(buf, 1, sizeof(buf) - 1, p);
        pclose(p);
        buf[n] = '\0';
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        return strdup(buf);
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

/* One simulated reboot: what U-Boot boots. */
static char *boot(void) {
        return output_of("'%s/tests/lib/boot-sim.sh' '%s'", top, env_cfg);
}

/* Fresh redundant env: two copies made by mkenvimage -r, like a factory image. */
static void make_env(void) {
        char txt[300];

        snprintf(txt, sizeof(txt), "%s/env.txt", tmpdir);
        write_file(txt, "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n"
                        "bootcmd=run update1_script\nupdate1_bootargs=console=ttyS0\n");
        if (run("mkenvimage -r -s 0x4000 -o '%s/copy.bin' '%s' && cat '%s/copy.bin' '%s/copy.bin' > '%s'", tmpdir, txt,
                tmpdir, tmpdir, env_img) != 0) {
                printf("mkenvimage failed\n");
                exit(2);
        }
        write_file(env_cfg, "");
        run("printf '%%s 0x0000 0x4000 0x4000 1\\n%%s 0x4000 0x4000 0x4000 1\\n' '%s' '%s' > '%s'", env_img, env_img,
            env_cfg);
}

static Config *make_config(const char *bootloader_part) {
        char path[300], text[4096];
        Config *c = NULL;

        snprintf(path, sizeof(path), "%s/system.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=test\n%s\n[keyring]\npath=/k.pem\n"
                 "[slot.rootfs.0]\ndevice=/x/a\ntype=raw\nbootname=A\n"
                 "[slot.rootfs.1]\ndevice=/x/b\ntype=raw\nbootname=B\n",
                 bootloader_part);
        write_file(path, text);
        if (config_load(path, &c) < 0) {
                printf("cannot load test config\n");
                exit(2);
        }
        return c;
}

static Bootloader *open_uboot(void) {
        char part[1024];
        _cleanup_(config_freep) Config *c = NULL;
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        snprintf(part, sizeof(part), "bootloader=uboot\n[uboot]\nfw-env-config=%s\nboot-attempts=3\ntrial-attempts=1",
                 env_cfg);
        c = make_config(part);
        if (bootloader_open(c, &b, &err) < 0) {
                printf("  bootloader_open: %s\n", err.message);
                unit_case_failures++;
                return NULL;
        }
        /* The backend must not keep pointers into the config. */
        return b;
}

static BootStatus state_of(Bootloader *b, const char *name) {
        BootStatus s = _BOOT_STATUS_INVALID;
        UError err = UERROR_NULL;

        if (b->ops->get_state(b->data, name, &s, &err) < 0) {
                printf("  get_state(%s): %s\n", name, err.message);
                unit_case_failures++;
        }
        return s;
}

static char *primary_of(Bootloader *b) {
        char *p = NULL;
        UError err = UERROR_NULL;

        if (b->ops->get_primary(b->data, &p, &err) < 0) {
                printf("  get_primary: %s\n", err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p;
}

static char *trial_of(Bootloader *b) {
        char *p = NULL;
        UError err = UERROR_NULL;

        CHECK_EQ(b->ops->get_trial(b->data, &p, &err), 0);
        return p ?: strdup("(none)");
}

#define CHECK_PRIMARY(b, want)                                  \
        do {                                                    \
                _cleanup_free_ char *_p = primary_of(b);        \
                CHECK_STREQ(_p, want);                          \
        } while (0)
#define CHECK_TRIAL(b, want)                                    \
        do {                                                    \
                _cleanup_free_ char *_p = trial_of(b);          \
                CHECK_STREQ(_p, want);                          \
        } while (0)
#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

TEST(uboot_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "uboot");
        CHECK_PRIMARY(b, "A");
        CHECK_EQ(state_of(b, "A"), BOOT_STATUS_GOOD);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK(b->ops->get_current == NULL);
        CHECK_BOOT("A");
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(uboot_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;

        /* before the first byte: the target is not bootable */
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "A");
        CHECK_ENV("BOOT_B_LEFT", "0");
        CHECK_BOOT("A"); /* an interrupted install keeps booting A */

        /* after the last byte: B primary for one trial boot, A stays behind it */
        CHECK_EQ(b->ops->set_primary(b->data, "B", true, &err), 0);
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_ENV("BOOT_B_LEFT", "1");
        CHECK_ENV("UPDATE1_TRIAL", "B");
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        /* reboot: U-Boot tries B once */
        CHECK_BOOT("B");
        CHECK_ENV("BOOT_B_LEFT", "0");
        /* B did not mark itself good: the next boot is A already */
        CHECK_PRIMARY(b, "A");
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_TRIAL);

        /* reboot again: fallback to A; the trial note shows what happened */
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
        CHECK_BOOT("A");

        /* the board's own variables are untouched */
        CHECK_ENV("bootcmd", "run update1_script");
        CHECK_ENV("update1_bootargs", "console=ttyS0");
}

TEST(uboot_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        CHECK_EQ(b->ops->set_primary(b->data, "B", true, &err), 0);
        CHECK_BOOT("B");

        /* booted B marks itself good: committed, counter re-armed, B stays first */
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_GOOD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_ENV("UPDATE1_TRIAL", "");
        CHECK_ENV("BOOT_B_LEFT", "3");
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        /* marking good again (every boot) re-arms the counter */
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_GOOD, &err), 0);
        CHECK_ENV("BOOT_B_LEFT", "3");
        /* good on a slot that was taken out of the order puts it back, last */
        CHECK_EQ(b->ops->set_state(b->data, "A", BOOT_STATUS_BAD, &err), 0);
        CHECK_ENV("BOOT_ORDER", "B");
        CHECK_EQ(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &err), 0);
        CHECK_ENV("BOOT_ORDER", "B A");
        CHECK_ENV("BOOT_A_LEFT", "3");
}

TEST(uboot_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_EQ(b->ops->set_state(b->data, "A", BOOT_STATUS_BAD, &err), 0);
        CHECK_EQ(state_of(b, "A"), BOOT_STATUS_BAD);
        CHECK_ENV("BOOT_ORDER", "B");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");

        /* the last slot in the order is never removed: the board would reset forever */
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err) < 0);
        CHECK_EQ(err.kind, ERROR_FAILED);
        CHECK(strstr(err.message, "last slot") != NULL);
        CHECK_ENV("BOOT_ORDER", "B");

        /* mark-active: permanent primary, re-armed, no trial */
        err = UERROR_NULL;
        CHECK_EQ(b->ops->set_primary(b->data, "A", false, &err), 0);
        CHECK_ENV("BOOT_ORDER", "A B");
        CHECK_ENV("BOOT_A_LEFT", "3");
        CHECK_ENV("UPDATE1_TRIAL", "");
        CHECK_EQ(state_of(b, "A"), BOOT_STATUS_GOOD);
        CHECK_BOOT("A");

        /* a slot with no attempts left is bad unless it is the trial */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT 0", env_cfg), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_BAD);

        /* a trial slot that is made permanent loses its trial note */
        CHECK_EQ(b->ops->set_primary(b->data, "B", true, &err), 0);
        CHECK_TRIAL(b, "B");
        CHECK_EQ(b->ops->set_primary(b->data, "B", false, &err), 0);
        CHECK_TRIAL(b, "(none)");
        CHECK_ENV("BOOT_B_LEFT", "3");

        /* TRIAL is not a state one can set */
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
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
        UError err = UERROR_NULL;
        char *p = NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        /* BOOT_ORDER with odd white space, as hush would split it */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_ORDER '  B   A '", env_cfg), 0);
        CHECK_PRIMARY(b, "B");
        CHECK_EQ(b->ops->set_primary(b->data, "A", true, &err), 0);
        CHECK_ENV("BOOT_ORDER", "A B");

        /* counters are parsed strictly */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT 3x", env_cfg), 0);
        err = UERROR_NULL;
        CHECK(b->ops->get_state(b->data, "B", &s, &err) < 0);
        CHECK(strstr(err.message, "BOOT_B_LEFT='3x'") != NULL);
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT -- -1", env_cfg), 0);
        err = UERROR_NULL;
        CHECK(b->ops->get_state(b->data, "B", &s, &err) < 0);
        /* an unset counter is 0, as the script's test sees it */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_B_LEFT", env_cfg), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_BAD);

        /* names that cannot be U-Boot variable parts */
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "A B", true, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(b->ops->get_state(b->data, "a-b", &s, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "", BOOT_STATUS_GOOD, &err) < 0);

        /* an empty order is reported, not guessed */
        CHECK_EQ(run("fw_setenv -c '%s' BOOT_ORDER", env_cfg), 0);
        err = UERROR_NULL;
        CHECK(b->ops->get_primary(b->data, &p, &err) < 0);
        CHECK(strstr(err.message, "BOOT_ORDER is empty") != NULL);
        free(p);
}

static size_t file_bytes(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, size) : -1;
        if (fd >= 0)
                close(fd);
        return n > 0 ? (size_t) n : 0;
}

static void corrupt(unsigned offset) {
        run("printf '\\377\\377' | dd of='%s' bs=1 seek=%u conv=notrunc status=none", env_img, offset);
}

TEST(uboot_corrupt_copies) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char before[0x8000], after[0x8000];
        BootStatus s;
        UError err = UERROR_NULL;
        char *p = NULL;
        size_t n;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        /* Write once so the two copies differ in their flags, then damage one: the other serves. */
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        corrupt(0x4000 + 40);
        corrupt(40);
        /* Both copies are damaged now: every op fails with the clear error and writes nothing
         * (writing would replace the board's variables with ours alone). */
        n = file_bytes(env_img, before, sizeof(before));
        err = UERROR_NULL;
        CHECK(b->ops->get_primary(b->data, &p, &err) < 0);
        CHECK_EQ(err.kind, ERROR_IO);
        CHECK(strstr(err.message, "U-Boot environment unreadable (both copies invalid)") != NULL);
        CHECK(strstr(err.message, env_cfg) != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->get_state(b->data, "A", &s, &err) < 0);
        CHECK_EQ(err.kind, ERROR_IO);
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "A", false, &err) < 0);
        CHECK_EQ(err.kind, ERROR_IO);
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &err) < 0);
        CHECK_EQ(err.kind, ERROR_IO);
        CHECK_EQ(file_bytes(env_img, after, sizeof(after)), n);
        CHECK(memcmp(before, after, n) == 0);
        /* the simulator refuses too, like U-Boot falling back to its default env */
        CHECK(run("'%s/tests/lib/boot-sim.sh' '%s' >/dev/null 2>&1", top, env_cfg) != 0);
}

TEST(uboot_one_copy_corrupt) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        make_env();
        b = open_uboot();
        if (!b)
                return;
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        /* the write went to copy 1 (the inactive one); damage it: copy 0 (older) serves */
        corrupt(0x4000 + 40);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);
        CHECK_ENV("BOOT_ORDER", "A B");
        /* and the next write goes over the damaged copy, leaving two valid ones */
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        CHECK_ENV("BOOT_ORDER", "A");
        corrupt(40);
        CHECK_ENV("BOOT_ORDER", "A");
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

/* --- custom backend ------------------------------------------------------------------- */

static Bootloader *open_custom(const char *path) {
        char part[1024];
        _cleanup_(config_freep) Config *c = NULL;
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        snprintf(part, sizeof(part), "bootloader=custom\n[custom]\npath=%s", path);
        c = make_config(part);
        if (bootloader_open(c, &b, &err) < 0) {
                printf("  bootloader_open: %s\n", err.message);
                return NULL;
        }
        return b;
}

TEST(custom_contract) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char backend[PATH_MAX + 64], state[300];
        _cleanup_free_ char *cur = NULL;
        UError err = UERROR_NULL;

        snprintf(backend, sizeof(backend), "%s/tests/lib/custom-backend.sh", top);
        snprintf(state, sizeof(state), "%s/custom.state", tmpdir);
        unlink(state);
        setenv("UPDATE1_CUSTOM_STATE", state, 1);
        b = open_custom(backend);
        CHECK(b != NULL);
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "custom");
        CHECK(b->ops->get_trial == NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);

        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_BAD);
        CHECK_EQ(b->ops->set_primary(b->data, "B", true, &err), 0);
        CHECK_PRIMARY(b, "B");
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_GOOD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);
        CHECK_EQ(b->ops->get_current(b->data, &cur, &err), 0);
        CHECK_STREQ(cur, "A");

        /* a failing command: named, with its stderr */
        setenv("UPDATE1_CUSTOM_FAIL", "get-state", 1);
        err = UERROR_NULL;
        {
                BootStatus s;
                CHECK(b->ops->get_state(b->data, "B", &s, &err) < 0);
        }
        unsetenv("UPDATE1_CUSTOM_FAIL");
        CHECK_EQ(err.kind, ERROR_FAILED);
        CHECK(strstr(err.message, "custom-backend.sh get-state B") != NULL);
        CHECK(strstr(err.message, "exit status 3") != NULL);
        CHECK(strstr(err.message, "simulated failure of 'get-state'") != NULL);

        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "-rf", false, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
}

TEST(custom_bad_output) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char script[300];
        char *p = NULL;
        BootStatus s;
        UError err = UERROR_NULL;

        snprintf(script, sizeof(script), "%s/odd-backend", tmpdir);
        write_file(script, "#!/bin/sh\n"
                           "case $1 in\n"
                           "get-state) echo maybe ;;\n"
                           "get-primary) echo 'A B' ;;\n"
                           "get-current) head -c 10000 /dev/zero | tr '\\0' x ;;\n"
                           "set-primary) kill -9 $$ ;;\n"
                           "*) echo 'no such verb' >&2; exit 1 ;;\n"
                           "esac\n");
        chmod(script, 0755);
        b = open_custom(script);
        CHECK(b != NULL);
        if (!b)
                return;
        CHECK(b->ops->get_state(b->data, "A", &s, &err) < 0);
        CHECK(strstr(err.message, "printed 'maybe', expected good or bad") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->get_primary(b->data, &p, &err) < 0);
        CHECK(strstr(err.message, "expected one word") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->get_current(b->data, &p, &err) < 0);
        CHECK(strstr(err.message, "more than 4096 bytes") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "A", true, &err) < 0);
        CHECK(strstr(err.message, "killed by signal 9") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &err) < 0);
        CHECK(strstr(err.message, "odd-backend set-state A good' failed with exit status 1: no such verb") != NULL);
        CHECK(p == NULL);
}

TEST(custom_open_errors) {
        char script[300];
        Bootloader *b;

        b = open_custom("/nonexistent/backend");
        CHECK(b == NULL);
        snprintf(script, sizeof(script), "%s/not-executable", tmpdir);
        write_file(script, "#!/bin/sh\necho A\n");
        chmod(script, 0644);
        b = open_custom(script);
        CHECK(b == NULL);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

/* The source tree: $UPDATE1_TOP, else two levels above build/tests/test-bootloader. */
static void find_top(void) {
        const char *env = getenv("UPDATE1_TOP");
        char exe[PATH_MAX];
        ssize_t n;

        if (env) {
                snprintf(top, sizeof(top), "%s", env);
                return;
        }
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0) {
                snprintf(top, sizeof(top), ".");
                return;
        }
        exe[n] = '\0';
        for (int i = 0; i < 3; i++) {
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = '\0';
        }
        snprintf(top, sizeof(top), "%s", exe);
}

UNIT_MAIN_BEGIN("test-bootloader")
        find_top();
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-bootloader.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(env_cfg, sizeof(env_cfg), "%s/fw_env.config", tmpdir);
        snprintf(env_img, sizeof(env_img), "%s/uboot.env", tmpdir);

        RUN(uboot_fresh);
        RUN(uboot_install_trial_fallback);
        RUN(uboot_mark_good_commits);
        RUN(uboot_mark_bad_and_active);
        RUN(uboot_all_exhausted);
        RUN(uboot_parsing);
        RUN(uboot_corrupt_copies);
        RUN(uboot_one_copy_corrupt);
        RUN(uboot_open_errors);
        RUN(custom_contract);
        RUN(custom_bad_output);
        RUN(custom_open_errors);
UNIT_MAIN_END
