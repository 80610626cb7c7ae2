/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "updatectl-fsinfo.h"
#include "util.h"

/* ext4: the superblock at byte 1024 (struct ext4_super_block in the kernel's fs/ext4/ext4.h);
 * the _hi bytes extend the times beyond 2038 and are 0 on filesystems that lack them. */
#define EXT4_SB_OFFSET          1024
#define EXT4_S_MTIME            0x2C
#define EXT4_S_WTIME            0x30
#define EXT4_S_MAGIC            0x38
#define EXT4_S_LASTCHECK        0x40
#define EXT4_S_UUID             0x68
#define EXT4_S_HASH_SEED        0xEC
#define EXT4_S_MKFS_TIME        0x108
#define EXT4_S_WTIME_HI         0x274
#define EXT4_S_MTIME_HI         0x275
#define EXT4_S_MKFS_TIME_HI     0x276
#define EXT4_S_LASTCHECK_HI     0x277
#define EXT4_SB_SIZE            1024
#define EXT4_MAGIC              0xEF53

/* squashfs 4: the superblock at byte 0 (squashfs-tools' squashfs_fs.h, struct
 * squashfs_super_block): u32 magic, u32 inodes, u32 mkfs_time, ... */
#define SQUASHFS_MAGIC          0x73717368
#define SQUASHFS_MKFS_TIME      8
#define SQUASHFS_SB_SIZE        96

static uint32_t get_le32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static uint64_t ext4_time(const uint8_t *sb, size_t lo, size_t hi) {
        return (uint64_t) get_le32(sb + lo) | (uint64_t) sb[hi] << 32;
}

const char *fs_kind_to_string(FsKind k) {
        static const char *const names[_FS_KIND_MAX] = {
                [FS_UNKNOWN] = "unknown",
                [FS_EXT4] = "ext4",
                [FS_SQUASHFS] = "squashfs",
        };

        return k >= 0 && k < _FS_KIND_MAX ? names[k] : NULL;
}

int fsinfo_parse(const uint8_t *head, size_t size, FsInfo *ret) {
        FsInfo i = { .kind = FS_UNKNOWN };

        if (size >= SQUASHFS_SB_SIZE && get_le32(head) == SQUASHFS_MAGIC) {
                i.kind = FS_SQUASHFS;
                i.mkfs_time = get_le32(head + SQUASHFS_MKFS_TIME);
        } else if (size >= EXT4_SB_OFFSET + EXT4_SB_SIZE) {
                const uint8_t *sb = head + EXT4_SB_OFFSET;

                if ((sb[EXT4_S_MAGIC] | sb[EXT4_S_MAGIC + 1] << 8) == EXT4_MAGIC) {
                        i.kind = FS_EXT4;
                        memcpy(i.uuid, sb + EXT4_S_UUID, sizeof(i.uuid));
                        memcpy(i.hash_seed, sb + EXT4_S_HASH_SEED, sizeof(i.hash_seed));
                        i.mkfs_time = ext4_time(sb, EXT4_S_MKFS_TIME, EXT4_S_MKFS_TIME_HI);
                        i.wtime = ext4_time(sb, EXT4_S_WTIME, EXT4_S_WTIME_HI);
                        i.mtime = ext4_time(sb, EXT4_S_MTIME, EXT4_S_MTIME_HI);
                        i.lastcheck = ext4_time(sb, EXT4_S_LASTCHECK, EXT4_S_LASTCHECK_HI);
                }
        }
        *ret = i;
        return 0;
}

#define EXT4_TIME_FIX "E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH for mkfs.ext4 and debugfs"

/* The fixes are those of docs/reproducible-images.md, which the warnings point to. */
const FsInfoField fsinfo_fields[] = {
        { FS_EXT4, "UUID", "a random UUID every build", "mkfs.ext4 -U <fixed UUID>",
          false, offsetof(FsInfo, uuid) },
        { FS_EXT4, "hash seed (s_hash_seed)", "a random directory hash seed every build",
          "mkfs.ext4 -E hash_seed=<fixed UUID>", false, offsetof(FsInfo, hash_seed) },
        { FS_EXT4, "mkfs time (s_mkfs_time)", "mkfs.ext4 takes it from the clock", EXT4_TIME_FIX,
          true, offsetof(FsInfo, mkfs_time) },
        { FS_EXT4, "write time (s_wtime)", "mkfs.ext4 and debugfs -w take it from the clock",
          EXT4_TIME_FIX, true, offsetof(FsInfo, wtime) },
        { FS_EXT4, "mount time (s_mtime)", "the image was mounted after mkfs",
          "do not mount the image after building it (or mount it read-only)", true,
          offsetof(FsInfo, mtime) },
        { FS_EXT4, "check time (s_lastcheck)", "mkfs.ext4 and e2fsck take it from the clock",
          EXT4_TIME_FIX, true, offsetof(FsInfo, lastcheck) },
        { FS_SQUASHFS, "mkfs time", "mksquashfs takes it from the clock",
          "mksquashfs -mkfs-time $SOURCE_DATE_EPOCH (or SOURCE_DATE_EPOCH in its environment)",
          true, offsetof(FsInfo, mkfs_time) },
};
const size_t fsinfo_n_fields = ELEMENTSOF(fsinfo_fields);

bool fsinfo_field_differs(const FsInfoField *f, const FsInfo *a, const FsInfo *b) {
        const uint8_t *pa = (const uint8_t *) a + f->offset, *pb = (const uint8_t *) b + f->offset;

        if (a->kind != f->kind || b->kind != f->kind)
                return false;
        return memcmp(pa, pb, f->is_time ? sizeof(uint64_t) : 16) != 0;
}

void fsinfo_field_format(const FsInfoField *f, const FsInfo *i, char *buf, size_t size) {
        const uint8_t *p = (const uint8_t *) i + f->offset;

        if (f->is_time) {
                uint64_t t;
                char ts[32];

                memcpy(&t, p, sizeof(t));
                format_timestamp(t, ts, sizeof(ts));
                snprintf(buf, size, "%s (@%llu)", ts, (unsigned long long) t);
        } else
                snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                         p[13], p[14], p[15]);
}

const FsInfoField *fsinfo_mkfs_time_field(FsKind k) {
        for (size_t i = 0; i < fsinfo_n_fields; i++)
                if (fsinfo_fields[i].kind == k && fsinfo_fields[i].offset == offsetof(FsInfo, mkfs_time))
                        return &fsinfo_fields[i];
        return NULL;
}
