/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "squashfs-lib.h"

/* dlopen()ed rather than linked: libsquashfs is needed only for RAUC bundles, and linked it is
 * mapped (with its relocations) into every updated and updatectl; see daemon/source-http.c for
 * libcurl, the same pattern. */
static SquashfsLib lib;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = -EIO;
static char load_error[256];

static void load(void) {
        void *h = dlopen(SQUASHFS_LIB_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (!h) {
                snprintf(load_error, sizeof(load_error), "%s", dlerror() ?: SQUASHFS_LIB_SONAME " not found");
                load_result = -ENOENT;
                return;
        }
        /* The POSIX way to store dlsym() results in function pointers. */
        *(void **) &lib.super_read = dlsym(h, "sqfs_super_read");
        *(void **) &lib.compressor_config_init = dlsym(h, "sqfs_compressor_config_init");
        *(void **) &lib.compressor_create = dlsym(h, "sqfs_compressor_create");
        *(void **) &lib.meta_reader_create = dlsym(h, "sqfs_meta_reader_create");
        *(void **) &lib.meta_reader_seek = dlsym(h, "sqfs_meta_reader_seek");
        *(void **) &lib.meta_reader_read = dlsym(h, "sqfs_meta_reader_read");
        *(void **) &lib.meta_reader_read_inode = dlsym(h, "sqfs_meta_reader_read_inode");
        *(void **) &lib.readdir_state_init = dlsym(h, "sqfs_readdir_state_init");
        *(void **) &lib.meta_reader_readdir = dlsym(h, "sqfs_meta_reader_readdir");
        *(void **) &lib.data_reader_create = dlsym(h, "sqfs_data_reader_create");
        *(void **) &lib.data_reader_load_fragment_table = dlsym(h, "sqfs_data_reader_load_fragment_table");
        *(void **) &lib.data_reader_read = dlsym(h, "sqfs_data_reader_read");
        *(void **) &lib.inode_get_file_size = dlsym(h, "sqfs_inode_get_file_size");
        *(void **) &lib.free = dlsym(h, "sqfs_free");
        if (!lib.super_read || !lib.compressor_config_init || !lib.compressor_create || !lib.meta_reader_create ||
            !lib.meta_reader_seek || !lib.meta_reader_read || !lib.meta_reader_read_inode ||
            !lib.readdir_state_init || !lib.meta_reader_readdir || !lib.data_reader_create ||
            !lib.data_reader_load_fragment_table ||
            !lib.data_reader_read || !lib.inode_get_file_size || !lib.free) {
                snprintf(load_error, sizeof(load_error), "%s lacks a libsquashfs function", SQUASHFS_LIB_SONAME);
                dlclose(h);
                load_result = -ENOSYS;
                return;
        }
        load_result = 0;
}

int squashfs_lib_load(const SquashfsLib **ret, UError *err) {
        (void) pthread_once(&load_once, load);
        if (load_result < 0)
                return uerror_set(err, ERROR_FAILED, load_result,
                                  "Cannot read RAUC bundles: %s (install the libsquashfs1 package)", load_error);
        *ret = &lib;
        return 0;
}

/* The table's types are libsquashfs's own prototypes (its headers are included): a changed
 * signature fails the build instead of a call through a wrong pointer type. */
#define SAME_TYPE(field, fn) _Static_assert(__builtin_types_compatible_p(__typeof__(lib.field), __typeof__(&fn)), #fn)
SAME_TYPE(super_read, sqfs_super_read);
SAME_TYPE(compressor_config_init, sqfs_compressor_config_init);
SAME_TYPE(compressor_create, sqfs_compressor_create);
SAME_TYPE(meta_reader_create, sqfs_meta_reader_create);
SAME_TYPE(meta_reader_seek, sqfs_meta_reader_seek);
SAME_TYPE(meta_reader_read, sqfs_meta_reader_read);
SAME_TYPE(meta_reader_read_inode, sqfs_meta_reader_read_inode);
SAME_TYPE(readdir_state_init, sqfs_readdir_state_init);
SAME_TYPE(meta_reader_readdir, sqfs_meta_reader_readdir);
SAME_TYPE(data_reader_create, sqfs_data_reader_create);
SAME_TYPE(data_reader_load_fragment_table, sqfs_data_reader_load_fragment_table);
SAME_TYPE(data_reader_read, sqfs_data_reader_read);
SAME_TYPE(inode_get_file_size, sqfs_inode_get_file_size);
SAME_TYPE(free, sqfs_free);
