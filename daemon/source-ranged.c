/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "ranged-frame.h"
#include "source-ranged.h"

/* How long one wait for the caller lasts before the flags are looked at again: a stop of the
 * source (not the cancel eventfd, which wakes the poll at once) takes at most this long. */
#define WAIT_SLICE_MSEC 1000

struct SourceRanged {
        int sock;
        int pipe_r, pipe_w;
        int stop_efd;             /* readable: the feeder stops writing into the pipe */
        int cancel_fd;            /* borrowed: the install's cancel eventfd */
        uint64_t max_size;
        uint64_t size;
        bool have_size;
        uint64_t feed_pos;        /* the feeder's next offset */
        /* How far the reader announced it will read (source_ranged_want()); the feeder fetches
         * no further, apart from its first piece of SOURCE_RANGED_FIRST_PIECE. */
        _Atomic uint64_t want;
        int want_efd;             /* readable: want grew */
        uint8_t *feed_buf;

        pthread_t feeder;
        bool started, joined;
        atomic_bool stopping;     /* the feeder stops after its current exchange */
        atomic_bool aborting;     /* ... or in the middle of it: nobody reads the socket again */

        /* The first failure; after it the socket is out of step and every read fails alike.
         * Written by the feeder only while it runs, by the install thread after the join. */
        int failed;
        UError error;

        uint64_t fetched;         /* bundle bytes received */
        unsigned requests;
};

static int close_fd(int fd) {
        if (fd >= 0)
                (void) close(fd);
        return -EBADF;
}

_printf_(4, 5) static int fail(SourceRanged *s, ErrorKind kind, int r, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        if (s->failed < 0)
                return s->failed;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        s->failed = r;
        (void) uerror_set(&s->error, kind, r, "%s", buf);
        if (r != -ECANCELED)
                log_error("%s", buf);
        return r;
}

int source_ranged_check_fd(int fd, UError *err) {
        int domain = 0, type = 0;
        socklen_t l1 = sizeof(domain), l2 = sizeof(type);
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        struct stat st;

        if (fstat(fd, &st) < 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -errno, "Cannot stat the bundle file descriptor: %s",
                                  strerror(errno));
        if (!S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2) < 0 || domain != AF_UNIX || type != SOCK_STREAM)
                return uerror_set(err, ERROR_INVALID_ARGS, -EBADF,
                                  "Option 'ranged' needs a connected AF_UNIX SOCK_STREAM socket as the bundle file descriptor");
        if (getpeername(fd, (struct sockaddr *) &sa, &sl) < 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -ENOTCONN,
                                  "Option 'ranged': the bundle socket is not connected");
        return 0;
}

int source_ranged_new(int sock, uint64_t max_size, SourceRanged **ret, UError *err) {
        _cleanup_(source_ranged_freep) SourceRanged *s = NULL;
        int p[2];

        s = calloc(1, sizeof(*s));
        if (!s) {
                (void) close(sock);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        s->sock = sock;
        s->pipe_r = s->pipe_w = s->cancel_fd = -EBADF;
        s->max_size = max_size;
        s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        s->want_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        s->feed_buf = malloc(SOURCE_RANGED_FEED_PIECE);
        if (s->stop_efd < 0 || s->want_efd < 0 || !s->feed_buf)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Cannot set up the ranged source");
        if (pipe2(p, O_CLOEXEC) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot create a pipe: %s", strerror(errno));
        s->pipe_r = p[0];
        s->pipe_w = p[1];
        /* The feeder never blocks in write(): it polls, so a stop wakes it. */
        if (fcntl(s->pipe_w, F_SETFL, O_NONBLOCK) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot set up the pipe: %s", strerror(errno));
        *ret = TAKE_PTR(s);
        return 0;
}

int source_ranged_fd(const SourceRanged *s) {
        return s->pipe_r;
}

/* RangedWaitFn: waits for 'events' on the socket; -ECANCELED on a cancel or an abort. */
static int wait_sock(void *userdata, short events, bool idle) {
        SourceRanged *s = userdata;

        for (;;) {
                struct pollfd p[2] = { { .fd = s->sock, .events = events }, { .fd = s->cancel_fd, .events = POLLIN } };
                int n = poll(p, s->cancel_fd >= 0 ? 2 : 1, WAIT_SLICE_MSEC);

                if (n < 0 && errno != EINTR)
                        return -errno;
                if ((s->cancel_fd >= 0 && (p[1].revents & POLLIN)) || atomic_load(&s->aborting))
                        return -ECANCELED;
                if (n > 0 && p[0].revents)
                        return 0;
        }
}

static int io_error(SourceRanged *s, int r, uint64_t offset, uint32_t length) {
        if (r == -ECANCELED)
                return fail(s, ERROR_CANCELLED, r, "Installation cancelled");
        if (r == -ENODATA || r == -ECONNRESET || r == -EPIPE)
                return fail(s, ERROR_IO, r,
                            "The client serving the ranged bundle closed its socket while bytes %" PRIu64 "+%" PRIu32
                            " were asked for: the download ended (its log says why); install again",
                            offset, length);
        return fail(s, ERROR_IO, r, "Cannot talk to the client serving the ranged bundle: %s", strerror(-r));
}

/* One request and its reply, checked against the request.  length 0: learns the size. */
static int exchange(SourceRanged *s, uint64_t offset, uint32_t length, uint8_t *buf) {
        RangedReply rep;
        int r;

        if (s->failed < 0)
                return s->failed;
        if (length > RANGED_MAX_PIECE)
                return -EINVAL;

        s->requests++;
        r = ranged_send_request(s->sock, offset, length, wait_sock, s);
        if (r >= 0)
                r = ranged_recv_reply(s->sock, &rep, wait_sock, s);
        if (r < 0)
                return io_error(s, r, offset, length);

        if (rep.magic != RANGED_REPLY_MAGIC || rep.reserved != 0)
                return fail(s, ERROR_INVALID_BUNDLE, -EBADMSG,
                            "The client serving the ranged bundle sent a malformed reply (magic 0x%08" PRIx32
                            ") to a request for bytes %" PRIu64 "+%" PRIu32 ": it does not speak the protocol of docs/agent.md",
                            rep.magic, offset, length);
        if (rep.status != 0)
                return fail(s, ERROR_IO, -EIO,
                            "The client serving the ranged bundle could not fetch bytes %" PRIu64 "+%" PRIu32
                            " (%s): its log says why; install again",
                            offset, length, rep.status < 4096 ? strerror((int) rep.status) : "unknown status");
        if (rep.offset != offset || rep.length != length)
                return fail(s, ERROR_INVALID_BUNDLE, -EBADMSG,
                            "The client serving the ranged bundle answered a request for bytes %" PRIu64 "+%" PRIu32
                            " with bytes %" PRIu64 "+%" PRIu32 ": a reply must match its request; install again",
                            offset, length, rep.offset, rep.length);
        if (rep.total == 0 || rep.total > s->max_size)
                return fail(s, ERROR_INVALID_BUNDLE, -EFBIG,
                            "The client serving the ranged bundle gives its size as %" PRIu64
                            " bytes: not 1..max-bundle-size (%" PRIu64 ")",
                            rep.total, s->max_size);
        if (s->have_size && rep.total != s->size)
                return fail(s, ERROR_INVALID_BUNDLE, -EBADMSG,
                            "The client serving the ranged bundle changed its size from %" PRIu64 " to %" PRIu64
                            " bytes: the bundle changed; install again",
                            s->size, rep.total);
        if (offset > rep.total || rep.total - offset < length)
                return fail(s, ERROR_INVALID_BUNDLE, -EBADMSG,
                            "The client serving the ranged bundle answered bytes %" PRIu64 "+%" PRIu32
                            " of a bundle of %" PRIu64 " bytes",
                            offset, length, rep.total);
        s->size = rep.total;
        s->have_size = true;

        r = ranged_recv(s->sock, buf, length, wait_sock, s);
        if (r < 0)
                return io_error(s, r, offset, length);
        s->fetched += length;
        return 0;
}

static int learn_size(SourceRanged *s) {
        return s->have_size ? 0 : exchange(s, 0, 0, NULL);
}

/* Waits until the pipe has room: 0, 1 when stopped or the reader is gone, or -ECANCELED. */
static int wait_pipe(SourceRanged *s) {
        struct pollfd p[3] = {
                { .fd = s->pipe_w, .events = POLLOUT },
                { .fd = s->stop_efd, .events = POLLIN },
                { .fd = s->cancel_fd, .events = POLLIN },
        };

        if (poll(p, s->cancel_fd >= 0 ? 3 : 2, -1) < 0 && errno != EINTR)
                return -errno;
        if (s->cancel_fd >= 0 && (p[2].revents & POLLIN))
                return -ECANCELED;
        if ((p[1].revents & POLLIN) || atomic_load(&s->stopping) || (p[0].revents & (POLLERR | POLLHUP)))
                return 1;
        return 0;
}

void source_ranged_want(void *userdata, uint64_t end) {
        SourceRanged *s = userdata;
        uint64_t old = atomic_load(&s->want);

        while (end > old)
                if (atomic_compare_exchange_weak(&s->want, &old, end)) {
                        (void) eventfd_write(s->want_efd, 1);
                        break;
                }
}

/* Waits until the reader wants more than feed_pos: 0, 1 when stopped, or -ECANCELED. */
static int wait_want(SourceRanged *s) {
        while (atomic_load(&s->want) <= s->feed_pos) {
                struct pollfd p[3] = {
                        { .fd = s->want_efd, .events = POLLIN },
                        { .fd = s->stop_efd, .events = POLLIN },
                        { .fd = s->cancel_fd, .events = POLLIN },
                };
                eventfd_t v;

                if (poll(p, s->cancel_fd >= 0 ? 3 : 2, -1) < 0 && errno != EINTR)
                        return -errno;
                if (s->cancel_fd >= 0 && (p[2].revents & POLLIN))
                        return -ECANCELED;
                if ((p[1].revents & POLLIN) || atomic_load(&s->stopping))
                        return 1;
                if (p[0].revents & POLLIN)
                        (void) eventfd_read(s->want_efd, &v);
        }
        return 0;
}

/* Front to back into the pipe, a piece only once the pipe has room for more: what is fetched
 * beyond what the reader took is at most a piece and the pipe's contents when the install
 * switches to ranged reads. */
static void *feeder_thread(void *userdata) {
        SourceRanged *s = userdata;
        sigset_t all;
        int r;

        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        r = learn_size(s);
        while (r >= 0 && s->feed_pos < s->size && !atomic_load(&s->stopping)) {
                uint64_t limit = MIN(s->size, MAX(atomic_load(&s->want), (uint64_t) SOURCE_RANGED_FIRST_PIECE));
                uint32_t n;
                const uint8_t *p = s->feed_buf;
                uint32_t left;

                if (s->feed_pos >= limit) {
                        r = wait_want(s);
                        if (r != 0)
                                break;
                        continue;
                }
                n = (uint32_t) MIN((uint64_t) SOURCE_RANGED_FEED_PIECE, limit - s->feed_pos);
                left = n;
                r = wait_pipe(s);
                if (r != 0)
                        break;
                r = exchange(s, s->feed_pos, n, s->feed_buf);
                if (r < 0)
                        break;
                while (left > 0) {
                        ssize_t k = write(s->pipe_w, p, left);

                        if (k > 0) {
                                p += k;
                                left -= (uint32_t) k;
                                continue;
                        }
                        if (k < 0 && errno != EAGAIN && errno != EINTR) {
                                r = 1; /* the reader closed its end: nobody wants more */
                                break;
                        }
                        r = wait_pipe(s);
                        if (r != 0)
                                break;
                }
                if (r != 0)
                        break;
                s->feed_pos += n;
        }
        if (r == -ECANCELED)
                (void) fail(s, ERROR_CANCELLED, r, "Installation cancelled");
        /* EOF for the reader: at the end of the bundle, or a short stream after a failure. */
        s->pipe_w = close_fd(s->pipe_w);
        return NULL;
}

int source_ranged_start(SourceRanged *s, int cancel_fd, UError *err) {
        int r;

        s->cancel_fd = cancel_fd;
        r = -pthread_create(&s->feeder, NULL, feeder_thread, s);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot start the feeder thread: %s", strerror(-r));
        s->started = true;
        return 0;
}

static void stop_feeder(SourceRanged *s, bool abort) {
        if (!s->started || s->joined)
                return;
        atomic_store(&s->stopping, true);
        if (abort)
                atomic_store(&s->aborting, true);
        (void) eventfd_write(s->stop_efd, 1);
        (void) pthread_join(s->feeder, NULL);
        s->joined = true;
}

void source_ranged_stop(SourceRanged *s) {
        stop_feeder(s, true);
}

int source_ranged_get_size(void *userdata, uint64_t *ret) {
        SourceRanged *s = userdata;
        int r;

        stop_feeder(s, false);
        r = learn_size(s);
        if (r < 0)
                return r;
        *ret = s->size;
        return 0;
}

int source_ranged_read_at(void *userdata, uint64_t offset, void *buf, size_t size) {
        SourceRanged *s = userdata;
        uint8_t *p = buf;
        int r;

        stop_feeder(s, false);
        r = learn_size(s);
        if (r < 0)
                return r;
        if (offset > s->size || s->size - offset < size)
                return -EPIPE;
        while (size > 0) {
                uint32_t n = (uint32_t) MIN(size, (size_t) RANGED_MAX_PIECE);

                r = exchange(s, offset, n, p);
                if (r < 0)
                        return r;
                offset += n;
                p += n;
                size -= n;
        }
        return 0;
}

void source_ranged_explain(SourceRanged *s, UError *err) {
        source_ranged_stop(s);
        if (s->failed >= 0 || err->kind == ERROR_CANCELLED || s->error.kind == ERROR_CANCELLED)
                return;
        if (err->kind == ERROR_IO || err->kind == ERROR_INVALID_BUNDLE)
                *err = s->error;
}

SourceRanged *source_ranged_free(SourceRanged *s) {
        if (!s)
                return NULL;
        source_ranged_stop(s);
        if (s->requests > 0)
                log_info("Read the ranged bundle with %u requests: %" PRIu64 " of %" PRIu64 " bytes", s->requests,
                         s->fetched, s->size);
        close_fd(s->sock);
        close_fd(s->pipe_r);
        close_fd(s->pipe_w);
        close_fd(s->stop_efd);
        close_fd(s->want_efd);
        free(s->feed_buf);
        free(s);
        return NULL;
}
