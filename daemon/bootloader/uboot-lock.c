/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The U-Boot environment lock (uboot-lock.h says why it looks like this). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "uboot-lock.h"
#include "util.h"

#define POLL_MAX_MS 50

/* The session lock this thread holds, for the flock() below.  Thread-local: the install thread,
 * a status refresh and the main loop each run their own sessions. */
static __thread struct {
        bool active;
        dev_t dev;
        ino_t ino;
        unsigned timeout_ms;
        bool other_timed_out;
} session;

static int sys_flock(int fd, int operation) {
        return (int) syscall(SYS_flock, fd, operation);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int flock_bounded(int fd, int operation, unsigned timeout_ms) {
        uint64_t deadline = now_ms() + timeout_ms;
        unsigned delay = 1;

        for (;;) {
                uint64_t now;

                if (sys_flock(fd, operation | LOCK_NB) == 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return -errno;
                now = now_ms();
                if (now >= deadline)
                        return -EWOULDBLOCK;
                uint64_t ms = MIN((uint64_t) delay, deadline - now);
                (void) nanosleep(&(struct timespec) { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000 },
                                 NULL);
                delay = MIN(delay * 2, POLL_MAX_MS);
        }
}

/* Interposes libc's flock() for the whole process (libubootenv calls it through its PLT, which
 * binds to the executable's definition first).  Outside a session it is the plain system call,
 * which is all glibc's flock() is. */
int flock(int fd, int operation) {
        struct stat st;
        int r;

        if (!session.active)
                return sys_flock(fd, operation);
        /* libubootenv's own open of our lock file: we hold it already, through our fd.  Its
         * LOCK_UN must not touch ours either (it could not: another open file description). */
        if (fstat(fd, &st) >= 0 && st.st_dev == session.dev && st.st_ino == session.ino)
                return 0;
        if ((operation & LOCK_NB) || (operation & ~LOCK_NB) == LOCK_UN)
                return sys_flock(fd, operation);
        r = flock_bounded(fd, operation, session.timeout_ms);
        if (r == -EWOULDBLOCK)
                session.other_timed_out = true;
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

bool uboot_lock_interposed(void) {
        return dlsym(RTLD_DEFAULT, "flock") == (void *) flock;
}

int uboot_lock_check_other(UError *err) {
        if (!session.other_timed_out)
                return 0;
        return uerror_set(err, ERROR_BUSY, -EWOULDBLOCK,
                          "U-Boot environment lock " UBOOT_LOCK_DEFAULT_PATH
                          " (libubootenv's own) held by another process for %u s; retry when it is released",
                          session.timeout_ms / 1000);
}

/* Opens the lock file without following a symlink, creating it (O_EXCL, 0600) if missing.
 * O_NONBLOCK: a FIFO planted there must not block the open. */
static int lock_open(const char *path, int *ret_fd, UError *err) {
        for (unsigned attempt = 0; attempt < 3; attempt++) {
                int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

                if (fd >= 0) {
                        *ret_fd = fd;
                        return 0;
                }
                if (errno == ELOOP)
                        return uerror_set(err, ERROR_IO, -ELOOP,
                                          "U-Boot environment lock %s is a symbolic link; refusing to follow it (someone may want the daemon to overwrite its target): remove it, systemd-tmpfiles creates the lock file at boot",
                                          path);
                if (errno != ENOENT)
                        return uerror_set(err, ERROR_IO, -errno, "Cannot open the U-Boot environment lock %s: %s", path,
                                          strerror(errno));

                fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd >= 0) {
                        *ret_fd = fd;
                        return 0;
                }
                /* EEXIST: created meanwhile (or a dangling symlink): look again. */
                if (errno != EEXIST)
                        return uerror_set(err, ERROR_IO, -errno, "Cannot create the U-Boot environment lock %s: %s", path,
                                          strerror(errno));
        }
        return uerror_set(err, ERROR_IO, -EEXIST,
                          "The U-Boot environment lock %s keeps appearing and disappearing; is someone replacing it?", path);
}

/* Only a file nobody else can open is a lock nobody else can hold for ever. */
static int lock_check(const char *path, int fd, struct stat *st, UError *err) {
        uid_t uid = geteuid();

        if (fstat(fd, st) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot stat the U-Boot environment lock %s: %s", path,
                                  strerror(errno));
        if (!S_ISREG(st->st_mode))
                return uerror_set(err, ERROR_IO, -EBADF,
                                  "U-Boot environment lock %s is not a regular file (mode %06o); remove it", path,
                                  (unsigned) st->st_mode);
        if (st->st_uid != uid)
                return uerror_set(err, ERROR_IO, -EPERM,
                                  "U-Boot environment lock %s is owned by uid %u, not by uid %u: another user created it, so it could hold the lock for ever; remove it (systemd-tmpfiles creates it 0600 root:root at boot)",
                                  path, (unsigned) st->st_uid, (unsigned) uid);
        /* A hard link to another file of ours: its mode is not ours to change, and libubootenv
         * would truncate it. */
        if (st->st_nlink != 1)
                return uerror_set(err, ERROR_IO, -EMLINK,
                                  "U-Boot environment lock %s has %ju hard links, so it is also another file; remove it",
                                  path, (uintmax_t) st->st_nlink);
        if ((st->st_mode & 07777) != 0600) {
                /* Who can open it can flock it: whoever opened it before this keeps that fd, so a
                 * held lock stays held, but nobody new gets in. */
                if (fchmod(fd, 0600) < 0)
                        return uerror_set(err, ERROR_IO, -errno, "Cannot make the U-Boot environment lock %s mode 0600: %s",
                                          path, strerror(errno));
                log_notice("U-Boot environment lock %s had mode %04o; changed it to 0600", path,
                           (unsigned) (st->st_mode & 07777));
        }
        return 0;
}

int uboot_lock_acquire(const char *path, unsigned timeout_ms, UbootLock *ret, UError *err) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (session.active)
                return uerror_set(err, ERROR_FAILED, -EDEADLK,
                                  "Internal error: a U-Boot environment session is already open in this thread");
        r = lock_open(path, &fd, err);
        if (r < 0)
                return r;
        r = lock_check(path, fd, &st, err);
        if (r < 0)
                return r;
        r = flock_bounded(fd, LOCK_EX, timeout_ms);
        if (r == -EWOULDBLOCK)
                return uerror_set(err, ERROR_BUSY, r,
                                  "U-Boot environment lock %s held by another process for %u s; nothing was read or changed: retry when it is released (fuser %s names the holder)",
                                  path, timeout_ms / 1000, path);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot lock the U-Boot environment lock %s: %s", path, strerror(-r));

        session.active = true;
        session.dev = st.st_dev;
        session.ino = st.st_ino;
        session.timeout_ms = timeout_ms;
        session.other_timed_out = false;
        *ret = (UbootLock) { .held = true, .fd = TAKE_FD(fd), .dev = st.st_dev, .ino = st.st_ino };
        return 0;
}

void uboot_lock_release(UbootLock *l) {
        if (!l->held)
                return;
        if (session.active && session.dev == l->dev && session.ino == l->ino)
                session.active = false;
        /* Closing the last fd of our open file description releases the lock. */
        close(l->fd);
        *l = (UbootLock) {};
}
