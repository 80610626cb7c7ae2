/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The lock that serialises U-Boot environment sessions with fw_printenv/fw_setenv.
 *
 * libubootenv 0.3.2 (Debian 12) locks by itself, in libuboot_open(): it opens the hard-coded
 * /var/lock/fw_printenv.lock with O_WRONLY|O_CREAT|O_TRUNC, mode 0666 (no O_NOFOLLOW, no
 * O_CLOEXEC), then flock(LOCK_EX) without LOCK_NB; if either fails it carries on unlocked.
 * libuboot_close() unlocks and closes it.  No API call (libuboot_configure(),
 * libuboot_read_config()) changes the path in 0.3.2.  So in a world-writable /run/lock a
 * planted symlink makes root truncate its target, and anyone who can open the file can hold
 * the lock for ever and hang every caller.
 *
 * uboot_lock_acquire() checks the file (no symlink, a regular file of ours with one link,
 * mode 0600: fixed if it is ours, created O_EXCL if missing) and takes it with LOCK_NB polled
 * up to a deadline.  The lock is then held through our own open file description for the whole
 * session.  flock() locks belong to open file descriptions, so libubootenv's second open +
 * blocking flock() would deadlock against ours in this very thread: this file therefore also
 * defines flock() (the executable's definition is what libubootenv's PLT call binds to) and,
 * while this thread holds a session lock, answers libubootenv's flock() on the same file from
 * it, and bounds a blocking flock() on any other file (libubootenv's default when lock-file=
 * names another one) by the same deadline. */

#define UBOOT_LOCK_DEFAULT_PATH "/var/lock/fw_printenv.lock"
/* fw_setenv holds it for one env write; longer is someone holding it on purpose.  The main
 * loop may wait this long (Mark runs there), well below updated.service's WatchdogSec=. */
#define UBOOT_LOCK_TIMEOUT_MS (5 * 1000)

/* flock(2) with LOCK_NB polled: no blocking flock() that nothing could interrupt (SIGTERM is
 * blocked in the daemon).  0, -EWOULDBLOCK after timeout_ms, or the -errno of flock(). */
int flock_bounded(int fd, int operation, unsigned timeout_ms);

typedef struct UbootLock {
        bool held;      /* zero-initialised: not held, nothing to release */
        int fd;
        dev_t dev;
        ino_t ino;
} UbootLock;

/* ERROR_BUSY when another process holds it longer than timeout_ms; ERROR_IO when the file is a
 * symlink, not a regular file, not ours or has other links (never followed or changed then). */
int uboot_lock_acquire(const char *path, unsigned timeout_ms, UbootLock *ret, UError *err);
void uboot_lock_release(UbootLock *l);

/* Whether libubootenv's flock() calls reach the definition in this file.  If not, holding our
 * lock across libuboot_open() would deadlock; the caller must release it first. */
bool uboot_lock_interposed(void);

/* After libuboot_open(): ERROR_BUSY if libubootenv's own flock() on another file than ours
 * timed out in this thread (it then read the env unlocked; the session must not be used). */
int uboot_lock_check_other(UError *err);
