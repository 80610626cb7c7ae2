/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Replace 'path' atomically with 'data': write 'path'.tmp (truncated, never through a
 * symlink), fsync it, rename over 'path', fsync the directory.  A power cut leaves either the
 * old or the new file, and at most one stale 'path'.tmp, which the next write reuses. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Read a whole file (at most max_size bytes, else -EFBIG).  Result is NUL-terminated. */
int read_full_file(const char *path, size_t max_size, char **ret_data, size_t *ret_size);

/* read()/write() the exact number of bytes, retrying on EINTR and short transfers.
 * read_exact returns -EPIPE (or -ENODATA?) on early EOF: -EPIPE means "stream ended early". */
int read_exact(int fd, void *buf, size_t size);
int write_exact(int fd, const void *buf, size_t size);
/* pread() exactly size bytes at offset (-EPIPE at end of file); pwrite() all of buf at offset. */
int pread_exact(int fd, void *buf, size_t size, uint64_t offset);
int pwrite_exact(int fd, const void *buf, size_t size, uint64_t offset);

int fsync_directory_of(const char *path);

/* Test hook: called after every durable write of the daemon's state (atomic file replace,
 * bootloader write, slot data), naming it.  The model test (tests/model/) cuts the power
 * there; NULL otherwise. */
extern void (*fileio_durable_hook)(const char *what);
static inline void fileio_durable_point(const char *what) {
        if (fileio_durable_hook)
                fileio_durable_hook(what);
}

/* mkdir -p: creates every missing component of 'dir' with 'mode'. */
int mkdir_parents(const char *dir, mode_t mode);
/* Removes the entries of 'dir' whose names start with 'prefix' and end with 'suffix' (temp
 * files a power cut left); returns how many.  A missing directory is 0. */
int unlink_matching(const char *dir, const char *prefix, const char *suffix);
