/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the superblock of a filesystem image says about how it was built: the fields that come
 * from the clock or a random generator unless the build fixes them (docs/reproducible-images.md).
 * `updatectl bundle create --previous` compares them between two builds of an image, so that a
 * user learns why two builds of the same tree differ before a fleet downloads the difference. */

/* Bytes from the start of an image that hold every field read here: the ext4 superblock is the
 * second KiB, the squashfs one the first 96 bytes. */
#define FSINFO_HEAD_SIZE 2048

typedef enum FsKind {
        FS_UNKNOWN,
        FS_EXT4,        /* ext2/3/4: one superblock layout */
        FS_SQUASHFS,
        _FS_KIND_MAX,
} FsKind;

typedef struct FsInfo {
        FsKind kind;
        uint8_t uuid[16];       /* ext4 s_uuid */
        uint8_t hash_seed[16];  /* ext4 s_hash_seed */
        uint64_t mkfs_time;     /* ext4 s_mkfs_time (+ _hi), squashfs mkfs_time */
        uint64_t wtime;         /* ext4 s_wtime: last write (mkfs, debugfs -w, a mount) */
        uint64_t mtime;         /* ext4 s_mtime: last mount */
        uint64_t lastcheck;     /* ext4 s_lastcheck: last fsck, mkfs's clock */
} FsInfo;

const char *fs_kind_to_string(FsKind k);

/* Reads head[0..size) (the image's first bytes, at least FSINFO_HEAD_SIZE for ext4).  Always
 * returns 0: kind FS_UNKNOWN when it is neither an ext4 nor a squashfs image (or too short to
 * tell); the superblock is not trusted beyond its magic, every field is only compared. */
int fsinfo_parse(const uint8_t *head, size_t size, FsInfo *ret);

/* One build-dependent field: its name in a warning, why it changes from build to build, and the
 * build option that fixes it. */
typedef struct FsInfoField {
        FsKind kind;
        const char *name;
        const char *why;
        const char *fix;
        bool is_time;           /* a uint64_t of seconds at 'offset'; else 16 bytes, a UUID */
        size_t offset;          /* in FsInfo */
} FsInfoField;

extern const FsInfoField fsinfo_fields[];
extern const size_t fsinfo_n_fields;

bool fsinfo_field_differs(const FsInfoField *f, const FsInfo *a, const FsInfo *b);
/* The field's value of 'i' as text (a UUID, or a UTC time and @seconds); buf of >= 64 bytes. */
void fsinfo_field_format(const FsInfoField *f, const FsInfo *i, char *buf, size_t size);
/* The mkfs time field of that kind of filesystem (what SOURCE_DATE_EPOCH should be), or NULL. */
const FsInfoField *fsinfo_mkfs_time_field(FsKind k);
