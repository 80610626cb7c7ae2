/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "macro.h"
#include "slot-mount.h"
#include "unit.h"

/* A mount table written here (the kernel's format) against a real block device of this machine:
 * the device number is what is matched, never the source name. */
static const char *block_device(struct stat *st) {
        static const char *const candidates[] = { "/dev/loop0", "/dev/loop1", "/dev/sda", "/dev/vda", "/dev/nvme0n1" };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (stat(candidates[i], st) == 0 && S_ISBLK(st->st_mode))
                        return candidates[i];
        return NULL;
}

static char *write_table(const char *text) {
        char *path = strdup("/tmp/test-slot-mount.XXXXXX");
        int fd = path ? mkstemp(path) : -1;

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
                free(path);
                return NULL;
        }
        close(fd);
        return path;
}

TEST(matches_by_device_number) {
        _cleanup_free_ char *table = NULL, *text = NULL, *where = NULL;
        struct stat st;
        const char *dev = block_device(&st);
        unsigned maj, min;

        if (!dev) {
                unit_skip("matches_by_device_number", "no block device to match");
                return;
        }
        maj = major(st.st_rdev);
        min = minor(st.st_rdev);
        /* A bind mount of a directory in it does not count; the source name does not matter
         * ("/dev/root"); the first whole mount wins; \040 is a space. */
        CHECK(asprintf(&text,
                       "20 1 %u:%u /var/lib /srv/bind rw - ext4 %s rw\n"
                       "21 1 %u:%u / /mnt/with\\040space rw shared:1 - ext4 /dev/root rw\n"
                       "22 1 %u:%u / /second rw - ext4 %s rw\n"
                       "23 1 0:%u / / rw - tmpfs tmpfs rw\n",
                       maj, min, dev, maj, min, maj, min, dev, min + 1) > 0);
        table = write_table(text);
        CHECK(table != NULL);
        if (!table)
                return;
        CHECK_EQ(slot_mountpoint(dev, table, &where), 0);
        CHECK_STREQ(where, "/mnt/with space");
        unlink(table);
}

TEST(not_mounted) {
        _cleanup_free_ char *table = write_table("23 1 0:99 / / rw - tmpfs tmpfs rw\n"), *where = NULL;
        struct stat st;
        const char *dev = block_device(&st);

        CHECK(table != NULL);
        if (!table)
                return;
        if (dev) {
                CHECK_EQ(slot_mountpoint(dev, table, &where), 0);
                CHECK(where == NULL);
        }
        /* A slot file no loop device is backed by, a missing device, none at all. */
        CHECK_EQ(slot_mountpoint(table, table, &where), 0);
        CHECK(where == NULL);
        CHECK_EQ(slot_mountpoint("/nonexistent/slot", table, &where), 0);
        CHECK(where == NULL);
        CHECK_EQ(slot_mountpoint(NULL, table, &where), 0);
        CHECK(where == NULL);
        unlink(table);
}

TEST(unreadable_table) {
        char *where = (char *) "x";

        CHECK_EQ(slot_mountpoint("/dev/null", "/nonexistent/mountinfo", &where), 0); /* not a slot device */
        CHECK(where == NULL);
        if (access("/proc/self/mountinfo", R_OK) == 0) {
                struct stat st;
                const char *dev = block_device(&st);

                if (dev)
                        CHECK_EQ(slot_mountpoint(dev, "/nonexistent/mountinfo", &where), -ENOENT);
        }
}

UNIT_MAIN_BEGIN("test-slot-mount")
        RUN(matches_by_device_number);
        RUN(not_mounted);
        RUN(unreadable_table);
UNIT_MAIN_END
