/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The drop-in directories of update-health, merged like systemd merges its unit directories:
 * <usr>/<subdir> (vendor) and <etc>/<subdir> (admin); a file in etc replaces the one of the
 * same name in usr, and a symlink to /dev/null (in either) masks the name. */

/* More entries in one directory than this is a configuration error, not a list to run. */
#define HEALTH_DIR_MAX_ENTRIES 1024U

typedef enum HealthEntryState {
        HEALTH_ENTRY_RUN,               /* an executable regular file */
        HEALTH_ENTRY_MASKED,            /* /dev/null: not run */
        HEALTH_ENTRY_NOT_EXECUTABLE,    /* a file we may not execute, or a dangling symlink */
} HealthEntryState;

typedef struct HealthEntry {
        char *name;
        char *path;     /* the file that wins (etc over usr) */
        HealthEntryState state;
        char *problem;  /* why it cannot run (NOT_EXECUTABLE), else NULL */
} HealthEntry;

typedef struct HealthEntries {
        HealthEntry *entries;
        size_t n;
} HealthEntries;

/* Lists <usr_dir>/<subdir> and <etc_dir>/<subdir> (either may be missing), merged and sorted by
 * name (strcmp, like systemd).  Hidden files, backups ("~", .dpkg-*, .rpmnew, ...) and
 * directories are left out (directories with a warning). */
int health_dirs_list(const char *usr_dir, const char *etc_dir, const char *subdir, HealthEntries *ret);

void health_entries_done(HealthEntries *e);
