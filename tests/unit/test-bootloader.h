/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the tests/unit/test-bootloader*.c programs: a temporary directory, the
 * source tree (for the simulators and stand-ins in tests/lib), a config for a backend, and
 * checks on the ops table that print the backend's error message when a call fails. */

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

static inline void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                exit(2);
        }
        fputs(text, f);
        fclose(f);
}

static inline int run(const char *fmt, ...) _printf_(1, 2);
static inline int run(const char *fmt, ...) {
        char cmd[8192];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

/* stdout of a shell command, trailing newlines removed. */
static inline char *output_of(const char *fmt, ...) _printf_(1, 2);
static inline char *output_of(const char *fmt, ...) {
        char cmd[8192], buf[8192] = "";
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

static inline size_t file_bytes(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, size) : -1;
        if (fd >= 0)
                close(fd);
        return n > 0 ? (size_t) n : 0;
}

static inline void write_bytes(const char *path, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size) {
                perror(path);
                exit(2);
        }
        close(fd);
}

/* A system.conf with slots A (rootfs.0) and B (rootfs.1), data-directory in tmpdir, and
 * 'bootloader_part' after "[system]\ncompatible=test\n" (bootloader= and its section). */
static inline Config *make_config(const char *bootloader_part) {
        char path[300], text[PATH_MAX + 4096];
        Config *c = NULL;

        snprintf(path, sizeof(path), "%s/system.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=test\ndata-directory=%s\n%s\n[keyring]\npath=/k.pem\n"
                 "[slot.rootfs.0]\ndevice=/x/a\ntype=raw\nbootname=A\n"
                 "[slot.rootfs.1]\ndevice=/x/b\ntype=raw\nbootname=B\n",
                 tmpdir, bootloader_part);
        write_file(path, text);
        if (config_load(path, &c) < 0) {
                printf("cannot load test config\n");
                exit(2);
        }
        return c;
}

static inline Bootloader *open_backend(const char *bootloader_part) {
        _cleanup_(config_freep) Config *c = NULL;
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        c = make_config(bootloader_part);
        if (bootloader_open(c, &b, &err) < 0) {
                printf("  bootloader_open: %s\n", err.message);
                unit_case_failures++;
                return NULL;
        }
        /* The config is freed here: the backend must not keep pointers into it. */
        return b;
}

static inline BootStatus state_of(Bootloader *b, const char *name) {
        BootStatus s = _BOOT_STATUS_INVALID;
        UError err = UERROR_NULL;

        if (b->ops->get_state(b->data, name, &s, &err) < 0) {
                printf("  get_state(%s): %s\n", name, err.message);
                unit_case_failures++;
        }
        return s;
}

static inline char *primary_of(Bootloader *b) {
        char *p = NULL;
        UError err = UERROR_NULL;

        if (b->ops->get_primary(b->data, &p, &err) < 0) {
                printf("  get_primary: %s\n", err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p;
}

static inline char *trial_of(Bootloader *b) {
        char *p = NULL;
        UError err = UERROR_NULL;

        if (b->ops->get_trial(b->data, &p, &err) < 0) {
                printf("  get_trial: %s\n", err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p ?: strdup("(none)");
}

/* A mutation that must succeed; prints the backend's message otherwise. */
#define CHECK_OK(call)                                                                  \
        do {                                                                            \
                UError _e = UERROR_NULL;                                                \
                if ((call) < 0) {                                                       \
                        printf("  %s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, _e.message); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

#define SET_PRIMARY(b, name, trial) CHECK_OK((b)->ops->set_primary((b)->data, name, trial, &_e))
#define SET_STATE(b, name, state) CHECK_OK((b)->ops->set_state((b)->data, name, state, &_e))

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
#define CHECK_STATE(b, name, want) CHECK_EQ(state_of(b, name), want)

/* An op that must fail with a message containing 'what'. */
#define CHECK_FAILS(call, what)                                                         \
        do {                                                                            \
                UError _e = UERROR_NULL;                                                \
                int _r = (call);                                                        \
                if (_r >= 0 || !strstr(_e.message, what)) {                             \
                        printf("  %s:%d: expected %s to fail with '%s', got %d: '%s'\n", __FILE__, __LINE__, \
                               #call, what, _r, _e.message);                            \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

static inline void test_cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

/* The source tree: $UPDATE1_TOP, else two levels above build/tests/<program>. */
static inline void test_setup(const char *name) {
        const char *env = getenv("UPDATE1_TOP");
        char exe[PATH_MAX];
        ssize_t n;

        if (env)
                snprintf(top, sizeof(top), "%s", env);
        else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
                exe[n] = '\0';
                for (int i = 0; i < 3; i++) {
                        char *slash = strrchr(exe, '/');
                        if (slash)
                                *slash = '\0';
                }
                snprintf(top, sizeof(top), "%s", exe);
        } else
                snprintf(top, sizeof(top), ".");

        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-%s.XXXXXX", name);
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                exit(2);
        }
        atexit(test_cleanup);
}

static inline bool have_program(const char *name) {
        return run("command -v '%s' >/dev/null 2>&1", name) == 0;
}

/* A case that needs a tool from the test dependencies is reported as skipped without it. */
#define RUN_OR_SKIP(name, have, why)                                                    \
        do {                                                                            \
                if (have)                                                               \
                        RUN(name);                                                      \
                else                                                                    \
                        unit_skip(#name, why);                                          \
        } while (0)
