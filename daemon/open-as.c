/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "macro.h"
#include "open-as.h"

/* The child's answer: errno of its open() (0 on success), the fd as SCM_RIGHTS. */
typedef struct OpenAnswer {
        int error;
} OpenAnswer;

/* In the child of a multi-threaded daemon: async-signal-safe calls only, then _exit(). */
__attribute__((noreturn)) static void child(int sock, const char *path, int flags, uid_t uid, gid_t gid, const gid_t *groups,
                             int n_groups) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        OpenAnswer a = {};
        struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fd = -1;

        /* Not dumpable: the caller's uid must not ptrace a process that still holds the daemon's
         * descriptors (the kernel does this on the uid change too; this does not rely on it). */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setgroups((size_t) n_groups, groups) < 0 ||
            setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                a.error = errno ?: EPERM;
        else {
                fd = open(path, flags | O_CLOEXEC);
                a.error = fd < 0 ? errno : 0;
        }
        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof(control.buf);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        _exit(sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? 1 : 0);
}

/* The child's answer, within OPEN_AS_TIMEOUT_MSEC: 0 with *ret_fd, or -errno of its open(). */
static int receive(int sock, int *ret_fd) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        OpenAnswer a = {};
        struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct pollfd p = { .fd = sock, .events = POLLIN };
        struct cmsghdr *c;
        ssize_t n;
        int fd = -EBADF, r;

        r = poll(&p, 1, OPEN_AS_TIMEOUT_MSEC);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (n != (ssize_t) sizeof(a) || (mh.msg_flags & MSG_CTRUNC)) {
                if (fd >= 0)
                        close(fd);
                return -EPROTO;
        }
        if (a.error != 0) {
                if (fd >= 0)
                        close(fd);
                return -a.error;
        }
        if (fd < 0)
                return -EPROTO;
        *ret_fd = fd;
        return 0;
}

int open_as_user(const char *path, int flags, uid_t uid, int *ret_fd, UError *err) {
        _cleanup_free_ gid_t *groups = NULL;
        int sv[2], fd = -EBADF, n = 0, r;
        gid_t gid;
        pid_t pid;

        /* Not async-signal-safe (NSS): before the fork. */
        r = auth_user_groups(uid, &gid, &groups, &n);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot open %s as uid %u: the user database does not know it (%s)",
                                  path, (unsigned) uid, strerror(-r));
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot open %s as uid %u: socketpair: %s", path,
                                  (unsigned) uid, strerror(errno));
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(sv[0]);
                close(sv[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot open %s as uid %u: fork: %s", path, (unsigned) uid,
                                  strerror(-r));
        }
        if (pid == 0) {
                close(sv[0]);
                child(sv[1], path, flags, uid, gid, groups, n);
        }
        close(sv[1]);
        r = receive(sv[0], &fd);
        close(sv[0]);
        if (r == -ETIMEDOUT)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;

        if (r == -EACCES || r == -EPERM)
                return uerror_set(err, ERROR_ACCESS_DENIED, r, "Cannot open %s as uid %u: %s", path,
                                  (unsigned) uid, strerror(-r));
        if (r == -ETIMEDOUT || r == -EPROTO)
                return uerror_set(err, ERROR_FAILED, r, "Cannot open %s as uid %u: %s", path, (unsigned) uid,
                                  r == -ETIMEDOUT ? "it took longer than 5 s" : "no answer from the opening process");
        if (r < 0)
                return uerror_set(err, ERROR_INVALID_ARGS, r, "Cannot open %s: %s", path, strerror(-r));
        *ret_fd = fd;
        return 0;
}
