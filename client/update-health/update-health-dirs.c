/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "update-health-dirs.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static bool name_is_ignored(const char *name) {
        /* Hidden files, editor backups and package manager leftovers, as systemd skips them
         * (hidden_or_backup_file()): a name that is only a suffix ("~") is a backup too. */
        static const char *const suffixes[] = {
                "~", ".swp", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-bak", ".dpkg-tmp",
                ".dpkg-remove", ".ucf-old", ".ucf-new", ".ucf-dist", ".rpmnew", ".rpmsave", ".rpmorig",
        };
        size_t len = strlen(name);

        if (name[0] == '.' || streq(name, "lost+found"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (len >= l && streq(name + len - l, suffixes[i]))
                        return true;
        }
        return false;
}

static bool is_dev_null(const struct stat *st) {
        static dev_t null_rdev = 0;
        struct stat n;

        if (!S_ISCHR(st->st_mode))
                return false;
        if (null_rdev == 0)
                null_rdev = stat("/dev/null", &n) == 0 && S_ISCHR(n.st_mode) ? n.st_rdev : makedev(1, 3);
        return st->st_rdev == null_rdev;
}

static void entry_done(HealthEntry *e) {
        free(e->name);
        free(e->path);
        free(e->problem);
}

void health_entries_done(HealthEntries *e) {
        for (size_t i = 0; i < e->n; i++)
                entry_done(&e->entries[i]);
        e->entries = mfree(e->entries);
        e->n = 0;
}

static bool entries_have(const HealthEntries *e, const char *name) {
        for (size_t i = 0; i < e->n; i++)
                if (streq(e->entries[i].name, name))
                        return true;
        return false;
}

/* Classifies dir/name; returns 0 and fills *ret, 1 if the entry is to be left out. */
static int classify(const char *dir, const char *name, HealthEntry *ret) {
        _cleanup_free_ char *path = NULL, *problem = NULL, *copy = NULL;
        HealthEntryState state = HEALTH_ENTRY_RUN;
        struct stat st;

        path = strdup_printf("%s/%s", dir, name);
        if (!path)
                return -ENOMEM;

        if (stat(path, &st) < 0) {
                /* A dangling symlink: somebody meant a check to be here. */
                state = HEALTH_ENTRY_NOT_EXECUTABLE;
                problem = strdup_printf("cannot be run: %s", strerror(errno));
        } else if (is_dev_null(&st))
                state = HEALTH_ENTRY_MASKED;
        else if (S_ISDIR(st.st_mode)) {
                log_warning("Ignoring directory %s", path);
                return 1;
        } else if (!S_ISREG(st.st_mode)) {
                state = HEALTH_ENTRY_NOT_EXECUTABLE;
                problem = strdup("cannot be run: not a regular file");
        } else if (access(path, X_OK) < 0) {
                state = HEALTH_ENTRY_NOT_EXECUTABLE;
                problem = strdup_printf("cannot be run: %s (mode %04o)", strerror(errno),
                                        (unsigned) (st.st_mode & 07777));
        }
        if (state == HEALTH_ENTRY_NOT_EXECUTABLE && !problem)
                return -ENOMEM;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        *ret = (HealthEntry) {
                .name = TAKE_PTR(copy),
                .path = TAKE_PTR(path),
                .state = state,
                .problem = TAKE_PTR(problem),
        };
        return 0;
}

/* Adds the entries of dir/subdir whose names are not in *list yet. */
static int list_one(const char *dir, const char *subdir, HealthEntries *list) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *path = NULL;
        size_t added = 0;
        struct dirent *de;

        path = strdup_printf("%s/%s", dir, subdir);
        if (!path)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot list %s: %m", path);

        for (;;) {
                HealthEntry e, *n;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return log_error_errno(errno, "Cannot list %s: %m", path);
                        break;
                }
                if (name_is_ignored(de->d_name) || entries_have(list, de->d_name))
                        continue;
                if (++added > HEALTH_DIR_MAX_ENTRIES)
                        return log_error_errno(E2BIG, "%s: more than %u entries", path, HEALTH_DIR_MAX_ENTRIES);

                r = classify(path, de->d_name, &e);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                n = reallocarray(list->entries, list->n + 1, sizeof(HealthEntry));
                if (!n) {
                        entry_done(&e);
                        return -ENOMEM;
                }
                list->entries = n;
                list->entries[list->n++] = e;
        }
        return 0;
}

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const HealthEntry *) a)->name, ((const HealthEntry *) b)->name);
}

int health_dirs_list(const char *usr_dir, const char *etc_dir, const char *subdir, HealthEntries *ret) {
        HealthEntries list = {};
        int r;

        /* etc first: a name found there shadows the usr file. */
        r = list_one(etc_dir, subdir, &list);
        if (r >= 0)
                r = list_one(usr_dir, subdir, &list);
        if (r < 0) {
                health_entries_done(&list);
                return r;
        }
        if (list.n > 0)
                qsort(list.entries, list.n, sizeof(HealthEntry), entry_compare);
        *ret = list;
        return 0;
}
