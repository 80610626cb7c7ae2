/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/dir.h>
#include <sqfs/inode.h>
#include <sqfs/meta_reader.h>
#include <sqfs/super.h>

#include "error.h"

/* libsquashfs, loaded with dlopen() by the first RAUC bundle (lib/rauc-bundle.c is its only
 * user): a daemon that only ever installs Update1 bundles does not map it.  The calls go
 * through this table; sqfs_destroy() is an inline in libsquashfs's headers and needs none. */
typedef struct SquashfsLib {
        int (*super_read)(sqfs_super_t *super, sqfs_file_t *file);
        int (*compressor_config_init)(sqfs_compressor_config_t *cfg, SQFS_COMPRESSOR id, size_t block_size,
                                      sqfs_u16 flags);
        int (*compressor_create)(const sqfs_compressor_config_t *cfg, sqfs_compressor_t **out);
        /* Not sqfs_dir_reader_*: it reads every inode on a path with sqfs_meta_reader_read_inode(),
         * which allocates from the inode's own counts before reading them; lib/rauc-bundle.c looks
         * names up with these and checks each inode's counts first. */
        sqfs_meta_reader_t *(*meta_reader_create)(sqfs_file_t *file, sqfs_compressor_t *cmp, sqfs_u64 start,
                                                  sqfs_u64 limit);
        int (*meta_reader_seek)(sqfs_meta_reader_t *m, sqfs_u64 block_start, size_t offset);
        int (*meta_reader_read)(sqfs_meta_reader_t *m, void *data, size_t size);
        int (*meta_reader_read_inode)(sqfs_meta_reader_t *ir, const sqfs_super_t *super, sqfs_u64 block_start,
                                      size_t offset, sqfs_inode_generic_t **out);
        int (*readdir_state_init)(sqfs_readdir_state_t *s, const sqfs_super_t *super,
                                  const sqfs_inode_generic_t *inode);
        int (*meta_reader_readdir)(sqfs_meta_reader_t *m, sqfs_readdir_state_t *it, sqfs_dir_entry_t **ent,
                                   sqfs_u32 *inum, sqfs_u64 *iref);
        sqfs_data_reader_t *(*data_reader_create)(sqfs_file_t *file, size_t block_size, sqfs_compressor_t *cmp,
                                                  sqfs_u32 flags);
        int (*data_reader_load_fragment_table)(sqfs_data_reader_t *data, const sqfs_super_t *super);
        sqfs_s32 (*data_reader_read)(sqfs_data_reader_t *data, const sqfs_inode_generic_t *inode, sqfs_u64 offset,
                                     void *buffer, sqfs_u32 size);
        int (*inode_get_file_size)(const sqfs_inode_generic_t *inode, sqfs_u64 *size);
        void (*free)(void *ptr);
} SquashfsLib;

#define SQUASHFS_LIB_SONAME "libsquashfs.so.1"

/* Loads libsquashfs once (thread-safe; never unloaded) and sets *ret to its table.  Without it
 * only RAUC bundles fail: ERROR_FAILED naming the library and the package to install. */
int squashfs_lib_load(const SquashfsLib **ret, UError *err);
