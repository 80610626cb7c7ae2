/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stddef.h>

/* Random read access to a bundle: pread() of a local file, or Range requests to an http(s)
 * server (daemon/source-http.c).  RAUC bundles need it: their signature is at the end. */
typedef struct ReadAt {
        /* Exactly 'size' bytes at 'offset': 0, or a negative errno (-EPIPE: past the end). */
        int (*read_at)(void *userdata, uint64_t offset, void *buf, size_t size);
        /* The whole size in bytes: 0, or a negative errno. */
        int (*get_size)(void *userdata, uint64_t *ret);
        void *userdata;
} ReadAt;

/* A ReadAt over a file descriptor (userdata: the fd, cast with (void *) (intptr_t) fd). */
int read_at_fd_read(void *userdata, uint64_t offset, void *buf, size_t size);
int read_at_fd_size(void *userdata, uint64_t *ret);
#define READ_AT_FD(fd) ((ReadAt) { read_at_fd_read, read_at_fd_size, (void *) (intptr_t) (fd) })
