/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fileio.h"
#include "read-at.h"

int read_at_fd_read(void *userdata, uint64_t offset, void *buf, size_t size) {
        return pread_exact((int) (intptr_t) userdata, buf, size, offset);
}

/* Only a regular file has a size to seek in: a pipe is -ESPIPE. */
int read_at_fd_size(void *userdata, uint64_t *ret) {
        struct stat st;

        if (fstat((int) (intptr_t) userdata, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ESPIPE;
        *ret = (uint64_t) st.st_size;
        return 0;
}
