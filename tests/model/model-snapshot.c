/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots of the device's files (the state directory): the exploration restores them after
 * every step that ran in a child, so the parent's device is what it was before the step. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "model.h"
#include "util.h"

void model_snapshot_free(Snapshot *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->files[i].data);
        free(s->files);
        *s = (Snapshot) {};
}

static int walk(const char *dir, Snapshot *s, bool remove_files) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int r = 0;

        if (!d)
                return -errno;
        while (r >= 0 && (e = readdir(d))) {
                char p[PATH_MAX];
                struct stat st;

                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = walk(p, s, remove_files);
                        continue;
                }
                if (remove_files) {
                        (void) unlink(p);
                        continue;
                }
                s->files = realloc(s->files, (s->n + 1) * sizeof(FileCopy));
                if (!s->files)
                        abort();
                snprintf(s->files[s->n].path, PATH_MAX, "%s", p);
                r = read_full_file(p, 64 << 20, &s->files[s->n].data, &s->files[s->n].size);
                if (r >= 0)
                        s->n++;
        }
        closedir(d);
        return r;
}

int model_snapshot_take(const char *dir, Snapshot *s) {
        *s = (Snapshot) {};
        return walk(dir, s, false);
}

int model_snapshot_restore(const char *dir, const Snapshot *s) {
        int r = walk(dir, NULL, true);

        for (size_t i = 0; r >= 0 && i < s->n; i++) {
                int fd = open(s->files[i].path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                if (fd < 0)
                        return -errno;
                r = write_exact(fd, s->files[i].data, s->files[i].size);
                close(fd);
        }
        return r;
}
