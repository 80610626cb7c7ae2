/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client/updatectl/updatectl-fsinfo.c: the superblock fields `bundle create --previous`
 * compares.  The offsets are checked against images made by Debian's real mkfs.ext4 and
 * mksquashfs with known UUIDs, seeds and times (not against our own idea of the layout); the
 * rest (bounds, which field differs, formatting) on hand-made superblocks. */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "unit.h"
#include "updatectl-fsinfo.h"

static bool have(const char *tool) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
        return system(cmd) == 0;
}

static void put_le32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

/* An ext4 superblock with every field we read set to something recognisable. */
static void make_ext4(uint8_t head[FSINFO_HEAD_SIZE]) {
        uint8_t *sb = head + 1024;

        memset(head, 0, FSINFO_HEAD_SIZE);
        sb[0x38] = 0x53;
        sb[0x39] = 0xEF;
        put_le32(sb + 0x2C, 11);        /* s_mtime */
        put_le32(sb + 0x30, 22);        /* s_wtime */
        put_le32(sb + 0x40, 33);        /* s_lastcheck */
        put_le32(sb + 0x108, 44);       /* s_mkfs_time */
        sb[0x276] = 1;                  /* s_mkfs_time_hi: after 2106 */
        for (int i = 0; i < 16; i++) {
                sb[0x68 + i] = (uint8_t) (0xA0 + i);
                sb[0xEC + i] = (uint8_t) (0x10 + i);
        }
}

TEST(parse_ext4) {
        uint8_t head[FSINFO_HEAD_SIZE];
        FsInfo i;

        make_ext4(head);
        CHECK_EQ(fsinfo_parse(head, sizeof(head), &i), 0);
        CHECK_EQ(i.kind, FS_EXT4);
        CHECK_EQ(i.mtime, 11);
        CHECK_EQ(i.wtime, 22);
        CHECK_EQ(i.lastcheck, 33);
        CHECK_EQ(i.mkfs_time, (UINT64_C(1) << 32) + 44);
        CHECK_EQ(i.uuid[0], 0xA0);
        CHECK_EQ(i.uuid[15], 0xAF);
        CHECK_EQ(i.hash_seed[0], 0x10);
        CHECK_EQ(i.hash_seed[15], 0x1F);
        CHECK_STREQ(fs_kind_to_string(i.kind), "ext4");

        /* One byte short of the superblock: not recognised, nothing read past the end. */
        CHECK_EQ(fsinfo_parse(head, sizeof(head) - 1, &i), 0);
        CHECK_EQ(i.kind, FS_UNKNOWN);
        head[1024 + 0x38] = 0;
        CHECK_EQ(fsinfo_parse(head, sizeof(head), &i), 0);
        CHECK_EQ(i.kind, FS_UNKNOWN);
}

TEST(parse_squashfs) {
        uint8_t head[96] = { 'h', 's', 'q', 's' };
        FsInfo i;

        put_le32(head + 8, 1700000000);
        CHECK_EQ(fsinfo_parse(head, sizeof(head), &i), 0);
        CHECK_EQ(i.kind, FS_SQUASHFS);
        CHECK_EQ(i.mkfs_time, 1700000000);
        CHECK_EQ(fsinfo_parse(head, sizeof(head) - 1, &i), 0);
        CHECK_EQ(i.kind, FS_UNKNOWN);
}

/* Exactly the fields that differ are named, and only for the filesystem they belong to. */
TEST(differs) {
        uint8_t head[FSINFO_HEAD_SIZE];
        FsInfo a, b, sq = { .kind = FS_SQUASHFS };
        size_t n = 0;

        make_ext4(head);
        fsinfo_parse(head, sizeof(head), &a);
        b = a;
        for (size_t i = 0; i < fsinfo_n_fields; i++)
                CHECK(!fsinfo_field_differs(&fsinfo_fields[i], &a, &b));
        b.uuid[7] ^= 1;
        b.wtime++;
        for (size_t i = 0; i < fsinfo_n_fields; i++)
                if (fsinfo_field_differs(&fsinfo_fields[i], &a, &b)) {
                        unit_diag("differs: %s", fsinfo_fields[i].name);
                        CHECK(streq(fsinfo_fields[i].name, "UUID") ||
                              streq(fsinfo_fields[i].name, "write time (s_wtime)"));
                        n++;
                }
        CHECK_EQ(n, 2);
        /* ext4 against squashfs: no field compares (the caller says so instead). */
        for (size_t i = 0; i < fsinfo_n_fields; i++)
                CHECK(!fsinfo_field_differs(&fsinfo_fields[i], &a, &sq));
        CHECK(fsinfo_mkfs_time_field(FS_EXT4) && fsinfo_mkfs_time_field(FS_SQUASHFS));
        CHECK(!fsinfo_mkfs_time_field(FS_UNKNOWN));
}

TEST(format) {
        FsInfo i = { .kind = FS_EXT4, .mkfs_time = 1700000000 };
        char buf[64];

        for (int k = 0; k < 16; k++)
                i.uuid[k] = (uint8_t) k;
        fsinfo_field_format(&fsinfo_fields[0], &i, buf, sizeof(buf));
        CHECK_STREQ(buf, "00010203-0405-0607-0809-0a0b0c0d0e0f");
        fsinfo_field_format(fsinfo_mkfs_time_field(FS_EXT4), &i, buf, sizeof(buf));
        CHECK_STREQ(buf, "2023-11-14T22:13:20Z (@1700000000)");
}

/* Runs 'build' (a shell command that makes the image "img") in a fresh directory and parses
 * the image's head. */
static int build_and_parse(const char *build, FsInfo *ret) {
        char dir[] = "/tmp/update1-fsinfo.XXXXXX", cmd[1024];
        uint8_t head[FSINFO_HEAD_SIZE];
        ssize_t n = -1;
        int fd;

        if (!mkdtemp(dir))
                return -1;
        snprintf(cmd, sizeof(cmd), "cd '%s' && { %s; } >/dev/null 2>&1", dir, build);
        if (system(cmd) == 0) {
                snprintf(cmd, sizeof(cmd), "%s/img", dir);
                fd = open(cmd, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        n = pread(fd, head, sizeof(head), 0);
                        close(fd);
                }
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0 || n < 0)
                return -1;
        return fsinfo_parse(head, (size_t) n, ret);
}

/* The real tools, with the options of docs/reproducible-images.md: our offsets are theirs. */
TEST(real_ext4) {
        char uuid[64];
        FsInfo i = {};

        CHECK_EQ(build_and_parse("E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -I 128 "
                                 "-U 6f1d2c3b-0000-4000-8000-000000000013 "
                                 "-E hash_seed=00112233-4455-6677-8899-aabbccddeeff img 4M", &i), 0);
        CHECK_EQ(i.kind, FS_EXT4);
        CHECK_EQ(i.mkfs_time, 1700000000);
        CHECK_EQ(i.wtime, 1700000000);
        CHECK_EQ(i.lastcheck, 1700000000);
        CHECK_EQ(i.mtime, 0);
        fsinfo_field_format(&fsinfo_fields[0], &i, uuid, sizeof(uuid));
        CHECK_STREQ(uuid, "6f1d2c3b-0000-4000-8000-000000000013");
        fsinfo_field_format(&fsinfo_fields[1], &i, uuid, sizeof(uuid));
        CHECK_STREQ(uuid, "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(real_squashfs) {
        FsInfo i = {};

        CHECK_EQ(build_and_parse("mkdir tree && echo x >tree/x && env -u SOURCE_DATE_EPOCH mksquashfs tree img "
                                 "-noappend -quiet -no-progress -mkfs-time 1234567890", &i), 0);
        CHECK_EQ(i.kind, FS_SQUASHFS);
        CHECK_EQ(i.mkfs_time, 1234567890);
}

UNIT_MAIN_BEGIN("test-updatectl-fsinfo")
        RUN(parse_ext4);
        RUN(parse_squashfs);
        RUN(differs);
        RUN(format);
        if (have("mkfs.ext4"))
                RUN(real_ext4);
        else
                unit_skip("real_ext4", "mkfs.ext4 not installed (e2fsprogs)");
        if (have("mksquashfs"))
                RUN(real_squashfs);
        else
                unit_skip("real_squashfs", "mksquashfs not installed (squashfs-tools)");
UNIT_MAIN_END
