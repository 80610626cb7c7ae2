/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "macro.h"
#include "slot-mount.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
        char *w = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *w++ = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else
                        *w++ = *s;
        }
        *w = 0;
}

/* The loop device M:m is backed by the file with st's device and inode. */
static bool loop_backed_by(unsigned maj, unsigned min, const struct stat *st) {
        char path[64], file[4096];
        struct stat b;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", maj, min);
        f = fopen(path, "re");
        if (!f)
                return false;
        n = fread(file, 1, sizeof(file) - 1, f);
        fclose(f);
        file[n] = 0;
        file[strcspn(file, "\n")] = 0;
        return stat(file, &b) == 0 && b.st_dev == st->st_dev && b.st_ino == st->st_ino;
}

int slot_mountpoint(const char *device_path, const char *mountinfo, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        struct stat st;

        *ret = NULL;
        if (!device_path || stat(device_path, &st) < 0 || !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode)))
                return 0;
        f = fopen(mountinfo, "re");
        if (!f)
                return -errno;
        while (getline(&line, &size, f) > 0) {
                char root[4096], where[4096];
                unsigned maj, min;
                bool match;

                /* "36 35 98:0 /root /mount/point options ... - fstype source superoptions" */
                if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &maj, &min, root, where) != 4 || !streq(root, "/"))
                        continue;
                if (S_ISBLK(st.st_mode))
                        match = major(st.st_rdev) == maj && minor(st.st_rdev) == min;
                else
                        match = maj == 7 && loop_backed_by(maj, min, &st);
                if (!match)
                        continue;
                unescape(where);
                *ret = strdup(where);
                return *ret ? 0 : -ENOMEM;
        }
        return 0;
}
