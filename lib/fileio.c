/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_exact(int fd, void *buf, size_t size) {
        uint8_t *p = buf;

        while (size > 0) {
                ssize_t n = read(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_exact(int fd, const void *buf, size_t size) {
        const uint8_t *p = buf;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int pread_exact(int fd, void *buf, size_t size, uint64_t offset) {
        uint8_t *p = buf;

        if (offset > (uint64_t) INT64_MAX || size > (uint64_t) INT64_MAX - offset)
                return -EOVERFLOW;
        while (size > 0) {
                ssize_t n = pread(fd, p, size, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

int pwrite_exact(int fd, const void *buf, size_t size, uint64_t offset) {
        const uint8_t *p = buf;

        if (offset > (uint64_t) INT64_MAX || size > (uint64_t) INT64_MAX - offset)
                return -EOVERFLOW;
        while (size > 0) {
                ssize_t n = pwrite(fd, p, size, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

int fsync_directory_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -EBADF;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return RET_NERRNO(fsync(fd));
}

void (*fileio_durable_hook)(const char *what) = NULL;

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* One fixed temp name, truncated on every write: a power cut before the rename leaves at
         * most this one file, and the next write reuses it.  (Random names would pile up on a
         * small data partition until it is full.)  O_NOFOLLOW: never write through a planted
         * symlink. */
        if (asprintf(&tmp, "%s.tmp", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
        if (fd < 0)
                return -errno;

        r = write_exact(fd, data, size);
        if (r >= 0)
                r = RET_NERRNO(fchmod(fd, mode));
        if (r >= 0)
                r = RET_NERRNO(fsync(fd));
        if (r >= 0) {
                r = RET_NERRNO(close(fd));
                fd = -EBADF;
        }
        if (r >= 0)
                r = RET_NERRNO(rename(tmp, path));
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        /* The rename is only durable once the directory entry is on disk. */
        r = fsync_directory_of(path);
        if (r >= 0)
                fileio_durable_point(path);
        return r;
}

int read_full_file(const char *path, size_t max_size, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t n;

                if (size == alloc) {
                        size_t nalloc = alloc ? alloc * 2 : 4096;
                        char *p;

                        if (alloc > max_size)
                                return -EFBIG;
                        p = realloc(buf, nalloc + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        alloc = nalloc;
                }
                n = read(fd, buf + size, alloc - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max_size)
                        return -EFBIG;
        }
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[size] = 0;
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int mkdir_parents(const char *dir, mode_t mode) {
        _cleanup_free_ char *copy = strdup(dir);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int unlink_matching(const char *dir, const char *prefix, const char *suffix) {
        _cleanup_(closedirp) DIR *d = NULL;
        size_t lp = strlen(prefix), ls = strlen(suffix);
        struct dirent *de;
        int n = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (len >= lp + ls && strneq(de->d_name, prefix, lp) && streq(de->d_name + len - ls, suffix) &&
                    unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        n++;
        }
        return n;
}
