/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client/update-health/update-health-dirs.c: the merge of <usr>/<kind>.d and <etc>/<kind>.d
 * (docs/health.md "Checks"): name order, etc replacing usr by name, masking with a symlink to
 * /dev/null, entries that cannot run, names that are ignored, the per-directory bound and
 * directories that cannot be listed.  health_dirs_list() takes the two roots as arguments, so
 * every case works on its own pair of directories under a temporary one. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "unit.h"
#include "update-health-dirs.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static char usr[PATH_MAX + 64], etc[PATH_MAX + 64];
static unsigned case_no;

static void die(const char *what) {
        unit_diag("%s: %s", what, strerror(errno));
        exit(2);
}

/* A fresh pair of roots for the case, with <root>/required.d in both. */
static void fresh_roots(void) {
        char path[PATH_MAX + 128];

        case_no++;
        snprintf(usr, sizeof(usr), "%s/%u/usr", tmpdir, case_no);
        snprintf(etc, sizeof(etc), "%s/%u/etc", tmpdir, case_no);
        snprintf(path, sizeof(path), "%s/%u", tmpdir, case_no);
        if (mkdir(path, 0755) < 0 || mkdir(usr, 0755) < 0 || mkdir(etc, 0755) < 0)
                die(path);
        snprintf(path, sizeof(path), "%s/required.d", usr);
        if (mkdir(path, 0755) < 0)
                die(path);
        snprintf(path, sizeof(path), "%s/required.d", etc);
        if (mkdir(path, 0755) < 0)
                die(path);
}

/* <root>/required.d/<name> as a file with 'mode'. */
static void add_file(const char *root, const char *name, mode_t mode) {
        char path[PATH_MAX + 256];
        int fd;

        snprintf(path, sizeof(path), "%s/required.d/%s", root, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, "#!/bin/sh\nexit 0\n", 17) != 17 || fchmod(fd, mode) < 0)
                die(path);
        close(fd);
}

static void add_symlink(const char *root, const char *name, const char *target) {
        char path[PATH_MAX + 256];

        snprintf(path, sizeof(path), "%s/required.d/%s", root, name);
        if (symlink(target, path) < 0)
                die(path);
}

static void add_dir(const char *root, const char *name) {
        char path[PATH_MAX + 256];

        snprintf(path, sizeof(path), "%s/required.d/%s", root, name);
        if (mkdir(path, 0755) < 0)
                die(path);
}

static char *path_in(const char *root, const char *name) {
        return strdup_printf("%s/required.d/%s", root, name);
}

static const HealthEntry *find(const HealthEntries *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->entries[i].name, name))
                        return &l->entries[i];
        return NULL;
}

/* The entry 'name' is listed, from 'root', in 'state'. */
#define CHECK_ENTRY(l, name, root, want_state)                                          \
        do {                                                                            \
                const HealthEntry *_e = find(&(l), name);                               \
                _cleanup_free_ char *_p = path_in(root, name);                          \
                CHECK(_e != NULL);                                                      \
                if (_e) {                                                               \
                        CHECK_STREQ(_e->path, _p);                                      \
                        CHECK_EQ(_e->state, want_state);                                \
                        CHECK_EQ(_e->problem != NULL, (want_state) == HEALTH_ENTRY_NOT_EXECUTABLE); \
                }                                                                       \
        } while (0)

static int list(HealthEntries *ret) {
        return health_dirs_list(usr, etc, "required.d", ret);
}

TEST(merge_order) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        const char *want[] = { "10-usr", "20-etc", "30-usr", "9-late", "B-upper", "a-lower" };

        fresh_roots();
        add_file(usr, "30-usr", 0755);
        add_file(usr, "9-late", 0755);
        add_file(usr, "a-lower", 0755);
        add_file(usr, "10-usr", 0755);
        add_file(etc, "20-etc", 0755);
        add_file(etc, "B-upper", 0755);
        CHECK_EQ(list(&l), 0);
        /* the union, in strcmp order as systemd sorts: "9" after "30", upper case first */
        CHECK_EQ(l.n, ELEMENTSOF(want));
        for (size_t i = 0; i < MIN(l.n, ELEMENTSOF(want)); i++)
                CHECK_STREQ(l.entries[i].name, want[i]);
        CHECK_ENTRY(l, "10-usr", usr, HEALTH_ENTRY_RUN);
        CHECK_ENTRY(l, "20-etc", etc, HEALTH_ENTRY_RUN);
        CHECK_ENTRY(l, "B-upper", etc, HEALTH_ENTRY_RUN);
}

TEST(missing_directories) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        _cleanup_free_ char *nowhere = strdup_printf("%s/nowhere", tmpdir);

        fresh_roots();
        add_file(usr, "10-a", 0755);
        /* <etc>/wanted.d and <usr>/wanted.d do not exist: an empty list */
        CHECK_EQ(health_dirs_list(usr, etc, "wanted.d", &l), 0);
        CHECK_EQ(l.n, 0);
        CHECK(l.entries == NULL);
        /* a missing admin root is no error either */
        CHECK_EQ(health_dirs_list(usr, nowhere, "required.d", &l), 0);
        CHECK_EQ(l.n, 1);
        CHECK_ENTRY(l, "10-a", usr, HEALTH_ENTRY_RUN);
        health_entries_done(&l);
        CHECK_EQ(health_dirs_list(nowhere, nowhere, "required.d", &l), 0);
        CHECK_EQ(l.n, 0);
}

/* etc replaces usr by name, whatever the etc file is: it is never "merged back" to usr's. */
TEST(override_by_name) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        _cleanup_free_ char *usr_file = NULL;

        fresh_roots();
        add_file(usr, "10-same", 0755);
        add_file(etc, "10-same", 0755);
        add_file(usr, "20-broken-in-etc", 0755);
        add_file(etc, "20-broken-in-etc", 0644);
        add_file(usr, "30-masked-in-usr", 0755);
        add_symlink(usr, "40-masked-in-usr-only", "/dev/null");
        add_file(etc, "40-masked-in-usr-only", 0755);
        /* an etc symlink to the usr file: the symlink's path is what runs */
        usr_file = path_in(usr, "30-masked-in-usr");
        add_symlink(etc, "30-masked-in-usr", usr_file);
        CHECK_EQ(list(&l), 0);
        CHECK_EQ(l.n, 4);
        CHECK_ENTRY(l, "10-same", etc, HEALTH_ENTRY_RUN);
        CHECK_ENTRY(l, "20-broken-in-etc", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        CHECK_ENTRY(l, "30-masked-in-usr", etc, HEALTH_ENTRY_RUN);
        /* a file in etc unmasks a name usr masked */
        CHECK_ENTRY(l, "40-masked-in-usr-only", etc, HEALTH_ENTRY_RUN);
}

/* Masking is a symlink to /dev/null (or anything that resolves to it), in either directory;
 * an empty file is no mask: it is a check like any other. */
TEST(masking) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        _cleanup_free_ char *hop = NULL;

        fresh_roots();
        add_file(usr, "10-vendor", 0755);
        add_symlink(etc, "10-vendor", "/dev/null");
        add_symlink(usr, "20-vendor-masked", "/dev/null");
        add_symlink(etc, "25-hop", "/dev/null");
        hop = path_in(etc, "25-hop");
        add_symlink(etc, "30-via-hop", hop);
        add_symlink(etc, "40-zero", "/dev/zero");
        add_file(etc, "50-empty", 0644);
        add_file(etc, "60-empty-exec", 0755);
        CHECK_EQ(list(&l), 0);
        CHECK_EQ(l.n, 7);
        CHECK_ENTRY(l, "10-vendor", etc, HEALTH_ENTRY_MASKED);
        CHECK_ENTRY(l, "20-vendor-masked", usr, HEALTH_ENTRY_MASKED);
        CHECK_ENTRY(l, "25-hop", etc, HEALTH_ENTRY_MASKED);
        CHECK_ENTRY(l, "30-via-hop", etc, HEALTH_ENTRY_MASKED);
        /* another character device is no mask, and cannot run */
        CHECK_ENTRY(l, "40-zero", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        CHECK_ENTRY(l, "50-empty", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        CHECK_ENTRY(l, "60-empty-exec", etc, HEALTH_ENTRY_RUN);
}

/* Entries that cannot run are listed (a required one turns the boot red), with the reason. */
TEST(not_executable) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        _cleanup_free_ char *fifo = NULL;
        const HealthEntry *e;

        fresh_roots();
        add_file(etc, "10-mode-0644", 0644);
        add_file(etc, "20-mode-0000", 0000);
        add_symlink(etc, "30-dangling", "/nonexistent/check");
        fifo = path_in(etc, "40-fifo");
        CHECK_EQ(mkfifo(fifo, 0755), 0);
        add_file(etc, "50-owner-exec", 0700);
        CHECK_EQ(list(&l), 0);
        CHECK_EQ(l.n, 5);
        CHECK_ENTRY(l, "10-mode-0644", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        e = find(&l, "10-mode-0644");
        CHECK(e && e->problem && strstr(e->problem, "cannot be run: Permission denied (mode 0644)"));
        /* no execute bit at all: not runnable even for root */
        CHECK_ENTRY(l, "20-mode-0000", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        e = find(&l, "20-mode-0000");
        CHECK(e && e->problem && strstr(e->problem, "(mode 0000)"));
        CHECK_ENTRY(l, "30-dangling", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        e = find(&l, "30-dangling");
        CHECK(e && e->problem && streq(e->problem, "cannot be run: No such file or directory"));
        CHECK_ENTRY(l, "40-fifo", etc, HEALTH_ENTRY_NOT_EXECUTABLE);
        e = find(&l, "40-fifo");
        CHECK(e && e->problem && streq(e->problem, "cannot be run: not a regular file"));
        CHECK_ENTRY(l, "50-owner-exec", etc, HEALTH_ENTRY_RUN);
}

/* Hidden files, backups and package manager leftovers are left out, as are directories (also
 * through a symlink); other odd names are listed as they are. */
TEST(ignored_names) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        const char *ignored[] = {
                ".hidden", "..dots", "10-check~", "10-check.swp", "10-check.dpkg-old", "10-check.dpkg-new",
                "10-check.dpkg-dist", "10-check.dpkg-bak", "10-check.dpkg-tmp", "10-check.dpkg-remove",
                "10-check.ucf-old", "10-check.ucf-new", "10-check.ucf-dist", "10-check.rpmnew",
                "10-check.rpmsave", "10-check.rpmorig", "~", "lost+found",
        };
        const char *listed[] = { "10-check", "20 with space", "30-check.dpkg", "40-rpmnew-not-suffix.sh", "50-ünïcode" };

        fresh_roots();
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                add_file(etc, ignored[i], 0755);
                add_file(usr, ignored[i], 0755);
        }
        for (size_t i = 0; i < ELEMENTSOF(listed); i++)
                add_file(usr, listed[i], 0755);
        add_dir(etc, "60-directory");
        add_symlink(etc, "70-dir-link", "/");
        /* a hidden etc file does not shadow the usr file of the visible name */
        add_file(etc, ".10-check", 0644);
        CHECK_EQ(list(&l), 0);
        CHECK_EQ(l.n, ELEMENTSOF(listed));
        for (size_t i = 0; i < MIN(l.n, ELEMENTSOF(listed)); i++) {
                CHECK_STREQ(l.entries[i].name, listed[i]);
                CHECK_EQ(l.entries[i].state, HEALTH_ENTRY_RUN);
        }
        CHECK_ENTRY(l, "10-check", usr, HEALTH_ENTRY_RUN);
        CHECK(find(&l, "60-directory") == NULL);
        CHECK(find(&l, "70-dir-link") == NULL);
}

/* HEALTH_DIR_MAX_ENTRIES per directory; ignored names and names etc already has do not count. */
TEST(bounds) {
        _cleanup_(health_entries_done) HealthEntries l = {};
        HealthEntries untouched = { .entries = (HealthEntry *) &untouched, .n = 4711 };
        char name[32];

        fresh_roots();
        for (unsigned i = 0; i < HEALTH_DIR_MAX_ENTRIES; i++) {
                snprintf(name, sizeof(name), "%04u-etc", i);
                add_file(etc, name, 0755);
                add_file(usr, name, 0644); /* shadowed by etc: not counted for usr */
        }
        add_file(etc, ".hidden", 0755);
        add_file(etc, "x~", 0755);
        add_file(usr, "9999-usr", 0755);
        CHECK_EQ(list(&l), 0);
        CHECK_EQ(l.n, HEALTH_DIR_MAX_ENTRIES + 1);
        if (l.n == HEALTH_DIR_MAX_ENTRIES + 1) {
                CHECK_STREQ(l.entries[0].name, "0000-etc");
                CHECK_ENTRY(l, "1023-etc", etc, HEALTH_ENTRY_RUN);
                CHECK_ENTRY(l, "9999-usr", usr, HEALTH_ENTRY_RUN);
        }
        health_entries_done(&l);

        /* one more in etc: a configuration error, and nothing is returned */
        add_file(etc, "zzzz-one-too-many", 0755);
        CHECK_EQ(list(&untouched), -E2BIG);
        CHECK(untouched.entries == (HealthEntry *) &untouched && untouched.n == 4711);

        /* the same in usr alone */
        fresh_roots();
        for (unsigned i = 0; i <= HEALTH_DIR_MAX_ENTRIES; i++) {
                snprintf(name, sizeof(name), "%04u-usr", i);
                add_file(usr, name, 0755);
        }
        CHECK_EQ(list(&untouched), -E2BIG);
        CHECK(untouched.entries == (HealthEntry *) &untouched && untouched.n == 4711);
}

/* A directory that exists but cannot be listed fails the whole list (update-health records the
 * error and fails closed), and returns nothing. */
TEST(unlistable_directory) {
        HealthEntries l = { .n = 4711 };
        char path[PATH_MAX + 128];

        fresh_roots();
        add_file(usr, "10-a", 0755);
        /* <etc>/required.d is a file */
        snprintf(path, sizeof(path), "%s/required.d", etc);
        CHECK_EQ(rmdir(path), 0);
        CHECK_EQ(mknod(path, S_IFREG | 0644, 0), 0);
        CHECK_EQ(list(&l), -ENOTDIR);
        CHECK(l.entries == NULL && l.n == 4711);
        /* and in usr */
        fresh_roots();
        snprintf(path, sizeof(path), "%s/required.d", usr);
        CHECK_EQ(rmdir(path), 0);
        CHECK_EQ(symlink("/dev/null", path), 0);
        CHECK_EQ(list(&l), -ENOTDIR);
        CHECK(l.entries == NULL && l.n == 4711);
}

/* A directory update-health's user may not read: root may read anything, so the listing runs
 * in a child as nobody (65534). */
TEST(unreadable_directory) {
        char path[PATH_MAX + 128];
        int status = 0;
        pid_t pid;

        fresh_roots();
        add_file(usr, "10-a", 0755);
        snprintf(path, sizeof(path), "%s/required.d", etc);
        CHECK_EQ(chmod(path, 0300), 0);
        pid = fork();
        if (pid == 0) {
                HealthEntries l = { .n = 4711 };
                int r;

                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(100);
                r = list(&l);
                _exit(l.entries == NULL && l.n == 4711 ? -r : 101);
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), EACCES);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-health-dropins")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-health-dropins.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        /* nobody must reach the roots (unreadable_directory) */
        if (chmod(tmpdir, 0755) < 0)
                die(tmpdir);
        umask(022);
        /* the warnings and errors the cases provoke are the expected ones; what matters is
         * checked on the results */
        log_set_max_level(LOG_LEVEL_ERR - 1);

        RUN(merge_order);
        RUN(missing_directories);
        RUN(override_by_name);
        RUN(masking);
        RUN(not_executable);
        RUN(ignored_names);
        RUN(bounds);
        RUN(unlistable_directory);
        RUN(unreadable_directory);
UNIT_MAIN_END
