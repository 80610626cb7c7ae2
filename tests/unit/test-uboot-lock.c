/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/uboot-lock.c: the U-Boot env lock file is never followed through a symlink, is a
 * regular file of ours with mode 0600 (created or fixed), a holder elsewhere is waited for only
 * up to the timeout, and while a session holds it libubootenv's own flock() on the same file
 * does not deadlock against us (our flock() answers it), on another file it is bounded too. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "test-bootloader.h"
#include "uboot-lock.h"

static char lock_path[300];

static uint64_t ms_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static mode_t mode_of(const char *path) {
        struct stat st;

        return lstat(path, &st) < 0 ? (mode_t) -1 : st.st_mode & 07777;
}

/* Another process that holds 'path' locked until release_holder() or for hold_ms (-1: until
 * released): what `flock PATH sleep 1d` by a local user does. */
typedef struct Holder {
        pid_t pid;
        int release_fd;
} Holder;

static Holder hold_elsewhere(const char *path, int hold_ms) {
        int ready[2], release[2];
        Holder h = { .pid = -1, .release_fd = -1 };
        char c;

        if (pipe(ready) < 0 || pipe(release) < 0)
                return h;
        h.pid = fork();
        if (h.pid == 0) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);

                close(ready[0]);
                close(release[1]);
                if (fd < 0 || syscall(SYS_flock, fd, LOCK_EX) < 0)
                        _exit(1);
                (void) !write(ready[1], "x", 1);
                /* POLLHUP when the parent lets go */
                (void) poll(&(struct pollfd) { .fd = release[0], .events = POLLIN }, 1, hold_ms);
                _exit(0);
        }
        close(ready[1]);
        close(release[0]);
        if (read(ready[0], &c, 1) != 1) {
                printf("  the holder could not lock %s\n", path);
                unit_case_failures++;
        }
        close(ready[0]);
        h.release_fd = release[1];
        return h;
}

static void release_holder(Holder *h) {
        if (h->pid <= 0)
                return;
        close(h->release_fd);
        (void) waitpid(h->pid, NULL, 0);
        h->pid = -1;
}

static void fresh_lock_path(const char *name) {
        snprintf(lock_path, sizeof(lock_path), "%s/%s", tmpdir, name);
        (void) unlink(lock_path);
}

#define CHECK_REFUSED(what)                                                                      \
        do {                                                                                     \
                UbootLock _l = {};                                                               \
                UError _e = UERROR_NULL;                                                         \
                int _r = uboot_lock_acquire(lock_path, 1000, &_l, &_e);                          \
                CHECK(_r < 0);                                                                   \
                CHECK(!_l.held);                                                                 \
                if (!strstr(_e.message, what)) {                                                 \
                        printf("  expected '%s' in '%s'\n", what, _e.message);                   \
                        unit_case_failures++;                                                    \
                }                                                                                \
                uboot_lock_release(&_l);                                                         \
        } while (0)

/* The build binds libubootenv's flock() to ours; without that a session would deadlock (or,
 * with uboot_env_open()'s fallback, wait unbounded). */
TEST(flock_interposed) {
        CHECK(uboot_lock_interposed());
}

TEST(created_0600_if_missing) {
        UbootLock l = {};
        UError err = UERROR_NULL;
        struct stat st;

        fresh_lock_path("missing.lock");
        CHECK_EQ(uboot_lock_acquire(lock_path, 1000, &l, &err), 0);
        CHECK(l.held);
        CHECK_EQ(lstat(lock_path, &st), 0);
        CHECK(S_ISREG(st.st_mode));
        CHECK_EQ(st.st_mode & 07777, 0600);
        CHECK_EQ(st.st_uid, geteuid());
        uboot_lock_release(&l);
        CHECK(!l.held);
}

/* The old world: libubootenv created it 0666 & ~umask.  Fixed, then locked. */
TEST(weak_mode_fixed) {
        UbootLock l = {};
        UError err = UERROR_NULL;

        fresh_lock_path("weak.lock");
        write_file(lock_path, "");
        CHECK_EQ(chmod(lock_path, 0666), 0);
        CHECK_EQ(uboot_lock_acquire(lock_path, 1000, &l, &err), 0);
        CHECK_EQ(mode_of(lock_path), 0600);
        uboot_lock_release(&l);
}

/* A planted symlink is refused and not followed: the target is neither truncated, nor
 * re-moded, nor created. */
TEST(symlink_refused) {
        char target[400], buf[64] = "";

        fresh_lock_path("link.lock");
        snprintf(target, sizeof(target), "%s/precious", tmpdir);
        write_file(target, "precious data\n");
        CHECK_EQ(chmod(target, 0644), 0);
        CHECK_EQ(symlink(target, lock_path), 0);
        CHECK_REFUSED("is a symbolic link; refusing to follow it");
        CHECK_EQ(file_bytes(target, buf, sizeof(buf) - 1), strlen("precious data\n"));
        CHECK_STREQ(buf, "precious data\n");
        CHECK_EQ(mode_of(target), 0644);

        /* dangling: O_CREAT must not create the target through it */
        CHECK_EQ(unlink(lock_path), 0);
        snprintf(target, sizeof(target), "%s/not-there", tmpdir);
        CHECK_EQ(symlink(target, lock_path), 0);
        CHECK_REFUSED("is a symbolic link");
        CHECK(access(target, F_OK) < 0);
        (void) unlink(lock_path);
}

/* A FIFO must not even block the open. */
TEST(fifo_refused) {
        uint64_t t0 = ms_now();

        fresh_lock_path("fifo.lock");
        CHECK_EQ(mkfifo(lock_path, 0666), 0);
        CHECK_REFUSED("is not a regular file");
        CHECK(ms_now() - t0 < 1000);
        (void) unlink(lock_path);
}

/* A hard link to another file: libubootenv would truncate that file. */
TEST(hard_link_refused) {
        char other[400];

        fresh_lock_path("hard.lock");
        snprintf(other, sizeof(other), "%s/other-file", tmpdir);
        write_file(other, "data");
        CHECK_EQ(chmod(other, 0640), 0);
        CHECK_EQ(link(other, lock_path), 0);
        CHECK_REFUSED("hard links");
        CHECK_EQ(mode_of(other), 0640);
        (void) unlink(lock_path);
}

/* Created by someone else (before tmpfiles did, in a world-writable /run/lock). */
TEST(foreign_owner_refused) {
        fresh_lock_path("foreign.lock");
        write_file(lock_path, "");
        CHECK_EQ(chmod(lock_path, 0644), 0);
        CHECK_EQ(chown(lock_path, 65534, 65534), 0);
        CHECK_REFUSED("is owned by uid 65534");
        CHECK_EQ(mode_of(lock_path), 0644);
        (void) unlink(lock_path);
}

/* Held elsewhere: a named error after the timeout, not a hang; free again: taken. */
TEST(held_elsewhere_times_out) {
        UbootLock l = {};
        UError err = UERROR_NULL;
        Holder h;
        uint64_t t0, took;
        int r;

        fresh_lock_path("held.lock");
        write_file(lock_path, "");
        CHECK_EQ(chmod(lock_path, 0600), 0);
        h = hold_elsewhere(lock_path, -1);
        t0 = ms_now();
        r = uboot_lock_acquire(lock_path, 300, &l, &err);
        took = ms_now() - t0;
        CHECK(r < 0);
        CHECK_EQ(err.kind, ERROR_BUSY);
        CHECK(strstr(err.message, "held by another process") != NULL);
        CHECK(strstr(err.message, lock_path) != NULL);
        CHECK(took >= 290 && took < 3000);
        CHECK(!l.held);

        release_holder(&h);
        err = UERROR_NULL;
        CHECK_EQ(uboot_lock_acquire(lock_path, 300, &l, &err), 0);
        uboot_lock_release(&l);
}

/* A holder that lets go while we wait: we get it then, well before the timeout. */
TEST(released_while_waiting) {
        UbootLock l = {};
        UError err = UERROR_NULL;
        Holder h;
        uint64_t t0;

        fresh_lock_path("brief.lock");
        write_file(lock_path, "");
        CHECK_EQ(chmod(lock_path, 0600), 0);
        h = hold_elsewhere(lock_path, 200);
        t0 = ms_now();
        CHECK_EQ(uboot_lock_acquire(lock_path, 5000, &l, &err), 0);
        CHECK(ms_now() - t0 < 4000);
        uboot_lock_release(&l);
        release_holder(&h);
}

/* What libubootenv does inside a session: open the same file again and flock(LOCK_EX)
 * without LOCK_NB.  Answered at once (we hold it); after the session the file is free. */
TEST(session_same_file_no_deadlock) {
        UbootLock l = {};
        UError err = UERROR_NULL;
        uint64_t t0;
        int fd;

        fresh_lock_path("session.lock");
        CHECK_EQ(uboot_lock_acquire(lock_path, 1000, &l, &err), 0);
        fd = open(lock_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        CHECK(fd >= 0);
        t0 = ms_now();
        CHECK_EQ(flock(fd, LOCK_EX), 0);
        CHECK(ms_now() - t0 < 500);
        /* ...and the file is really locked, for everybody else */
        CHECK(syscall(SYS_flock, fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
        CHECK_EQ(flock(fd, LOCK_UN), 0);
        CHECK_EQ(uboot_lock_check_other(&err), 0);
        uboot_lock_release(&l);
        CHECK_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
        close(fd);
}

/* lock-file= names another file than libubootenv's: its blocking flock() on that one is
 * bounded by the same timeout, and the session knows it must not go on. */
TEST(session_other_file_bounded) {
        UbootLock l = {};
        UError err = UERROR_NULL;
        char other[400];
        Holder h;
        uint64_t t0, took;
        int fd, r;

        fresh_lock_path("ours.lock");
        snprintf(other, sizeof(other), "%s/theirs.lock", tmpdir);
        write_file(other, "");
        h = hold_elsewhere(other, -1);
        CHECK_EQ(uboot_lock_acquire(lock_path, 300, &l, &err), 0);
        fd = open(other, O_WRONLY | O_CLOEXEC);
        t0 = ms_now();
        r = flock(fd, LOCK_EX);
        took = ms_now() - t0;
        CHECK(r < 0 && errno == EWOULDBLOCK);
        CHECK(took >= 290 && took < 3000);
        CHECK(uboot_lock_check_other(&err) < 0);
        CHECK_EQ(err.kind, ERROR_BUSY);
        CHECK(strstr(err.message, "held by another process") != NULL);
        close(fd);
        uboot_lock_release(&l);
        release_holder(&h);
        /* outside a session flock() is the plain system call again */
        fd = open(other, O_RDONLY | O_CLOEXEC);
        CHECK_EQ(flock(fd, LOCK_EX), 0);
        close(fd);
}

/* End to end with libubootenv 0.3.2 itself and lock-file= its own path (the default): the
 * session reads the env instead of deadlocking, and fw_setenv is kept out meanwhile.  Root
 * only (the path is the host's; root owns it), like the daemon. */
TEST(libubootenv_default_path) {
        _cleanup_(uboot_env_close) UbootEnv e = {};
        UError err = UERROR_NULL;
        char cfg[400], img[400];
        _cleanup_free_ char *v = NULL;
        int r;

        snprintf(img, sizeof(img), "%s/uboot.env", tmpdir);
        snprintf(cfg, sizeof(cfg), "%s/fw_env.config", tmpdir);
        CHECK_EQ(run("printf 'BOOT_ORDER=A B\\n' >'%s/env.txt' && mkenvimage -r -s 0x4000 -o '%s/c.bin' '%s/env.txt' && "
                     "cat '%s/c.bin' '%s/c.bin' >'%s' && printf '%%s 0x0 0x4000 0x4000 1\\n%%s 0x4000 0x4000 0x4000 1\\n' '%s' '%s' >'%s'",
                     tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, img, img, img, cfg),
                 0);
        alarm(30); /* a deadlock fails the test instead of hanging make check */
        r = uboot_env_open(cfg, UBOOT_LOCK_DEFAULT_PATH, &e, &err);
        if (r < 0) {
                printf("  uboot_env_open: %s\n", err.message);
                unit_case_failures++;
                alarm(0);
                return;
        }
        v = uboot_env_get(&e, "BOOT_ORDER");
        CHECK_STREQ(v, "A B");
        CHECK_EQ(mode_of(UBOOT_LOCK_DEFAULT_PATH), 0600);
        CHECK(run("flock -n " UBOOT_LOCK_DEFAULT_PATH " true") != 0);
        uboot_env_close(&e);
        CHECK_EQ(run("flock -n " UBOOT_LOCK_DEFAULT_PATH " true"), 0);
        alarm(0);
}

UNIT_MAIN_BEGIN("test-uboot-lock")
        bool root = geteuid() == 0;
        struct stat st;
        bool default_ours;

        test_setup("test-uboot-lock");
        /* Only where the daemon itself could use it: absent, or a plain file of root's. */
        default_ours = root && (lstat(UBOOT_LOCK_DEFAULT_PATH, &st) < 0 ? errno == ENOENT
                                                                           : S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_nlink == 1);

        RUN(flock_interposed);
        RUN(created_0600_if_missing);
        RUN(weak_mode_fixed);
        RUN(symlink_refused);
        RUN(fifo_refused);
        RUN(hard_link_refused);
        RUN_OR_SKIP(foreign_owner_refused, root, "chown needs root");
        RUN(held_elsewhere_times_out);
        RUN(released_while_waiting);
        RUN(session_same_file_no_deadlock);
        RUN(session_other_file_bounded);
        RUN_OR_SKIP(libubootenv_default_path, default_ours && have_program("mkenvimage") && have_program("flock"),
                    "needs root, mkenvimage, flock and " UBOOT_LOCK_DEFAULT_PATH " absent or root's own");
UNIT_MAIN_END
