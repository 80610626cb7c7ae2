/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"

#ifndef FUZZ_TOP
#define FUZZ_TOP "." /* the Makefile passes the absolute source directory */
#endif

static char tmpdir[256];
static pid_t tmpdir_owner;

void fuzz_fatal(const char *file, int line, const char *what) {
        fprintf(stderr, "fuzz check failed at %s:%d: %s (errno: %s)\n", file, line, what, strerror(errno));
        abort();
}

static void remove_tmpdir(void) {
        char cmd[300];

        /* Forked replay children exit through here too: only the creator cleans up. */
        if (!tmpdir[0] || getpid() != tmpdir_owner)
                return;
        if (getenv("UPDATE1_FUZZ_KEEP")) { /* to look at what the last input left behind */
                fprintf(stderr, "kept %s\n", tmpdir);
                return;
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) !system(cmd);
}

const char *fuzz_tmpdir(void) {
        const char *base;

        if (tmpdir[0])
                return tmpdir;
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ?: "/tmp");
        snprintf(tmpdir, sizeof(tmpdir), "%s/update1-fuzz.XXXXXX", base);
        FUZZ_ASSERT(mkdtemp(tmpdir));
        tmpdir_owner = getpid();
        atexit(remove_tmpdir);
        return tmpdir;
}

const char *fuzz_path(const char *name) {
        /* Kept reachable: LeakSanitizer checks at exit, and these are set-up strings. */
        static char *paths[64];
        static size_t n;
        char *p;

        FUZZ_ASSERT(n < sizeof(paths) / sizeof(paths[0]));
        FUZZ_ASSERT(asprintf(&p, "%s/%s", fuzz_tmpdir(), name) > 0);
        paths[n++] = p;
        return p;
}

void fuzz_write_file(const char *path, const void *data, size_t size) {
        const char *p = data;
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_ASSERT(fd >= 0);
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                FUZZ_ASSERT(n > 0);
                p += n;
                size -= (size_t) n;
        }
        FUZZ_ASSERT(close(fd) == 0);
}

const char *fuzz_write_text(const char *name, const char *text) {
        const char *path = fuzz_path(name);

        fuzz_write_file(path, text, strlen(text));
        return path;
}

void fuzz_shell(const char *fmt, ...) {
        char *cmd, *full;
        va_list ap;
        int r;

        va_start(ap, fmt);
        FUZZ_ASSERT(vasprintf(&cmd, fmt, ap) > 0);
        va_end(ap);
        FUZZ_ASSERT(asprintf(&full, "set -e; cd '%s'; exec >shell.log 2>&1; %s", fuzz_tmpdir(), cmd) > 0);
        r = system(full);
        if (r != 0) {
                char *show;

                fprintf(stderr, "fuzz harness setup command failed (%d): %s\n", r, cmd);
                if (asprintf(&show, "cat '%s/shell.log' >&2", fuzz_tmpdir()) > 0)
                        (void) !system(show);
                abort();
        }
        free(full);
        free(cmd);
}

bool fuzz_verbose(void) {
        static int verbose = -1;

        if (verbose < 0) {
                const char *e = getenv("UPDATE1_FUZZ_VERBOSE");
                verbose = e && strcmp(e, "1") == 0;
        }
        return verbose;
}

void fuzz_note(const char *fmt, ...) {
        va_list ap;

        if (!fuzz_verbose())
                return;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void fuzz_quiet(void) {
        log_set_max_level(fuzz_verbose() ? LOG_LEVEL_DEBUG : 0);
}

const char *fuzz_pki_dir(void) {
        static char dir[4096];
        const char *top = getenv("UPDATE1_TOP");

        if (!dir[0]) {
                if (top)
                        snprintf(dir, sizeof(dir), "%s/tests/fuzz/pki", top);
                else
                        snprintf(dir, sizeof(dir), "%s/tests/fuzz/pki", FUZZ_TOP);
        }
        return dir;
}
