/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The installs the model drives (model.h): from the bundle file or through InstallFd's "ranged"
 * socket served by a peer thread, with the daemon's log captured for what only it tells. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "install.h"
#include "log.h"
#include "model.h"
#include "ranged-frame.h"
#include "source-ranged.h"
#include "util.h"

typedef struct Peer {
        int sock, fd;
        uint64_t size;
        uint64_t die_at; /* UINT64_MAX: never */
        uint8_t *buf;
        unsigned requests; /* answered */
        bool died;
} Peer;

/* Serves requests until the daemon closes its end (the install is over) or the peer dies.
 * Replies exactly as the protocol says: a wrong reply is test-install-ranged's business, the
 * model explores what the daemon leaves behind when a good peer goes away. */
static void *peer_thread(void *userdata) {
        Peer *p = userdata;

        for (;;) {
                uint8_t req[RANGED_REQUEST_SIZE], rep[RANGED_REPLY_SIZE];
                RangedRequest q;
                uint32_t length;
                uint64_t offset;

                if (read_exact(p->sock, req, sizeof(req)) < 0)
                        break; /* EOF: the daemon is done with us */
                ranged_request_decode(req, &q);
                length = q.length, offset = q.offset;
                if (q.magic != RANGED_REQUEST_MAGIC || length > RANGED_MAX_PIECE || offset > p->size ||
                    p->size - offset < length)
                        break; /* the daemon broke the protocol: its install fails on the EOF */
                /* The stream's first piece starts at 0; the ranged reads of the images come after it. */
                if (offset > 0 && offset + length > p->die_at) {
                        p->died = true;
                        break;
                }
                if (length > 0 && pread_exact(p->fd, p->buf, length, offset) < 0)
                        break;
                ranged_reply_encode(&(RangedReply) { .magic = RANGED_REPLY_MAGIC,
                                                     .length = length,
                                                     .offset = offset,
                                                     .total = p->size },
                                    rep);
                if (send(p->sock, rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t) sizeof(rep) ||
                    (length > 0 && send(p->sock, p->buf, length, MSG_NOSIGNAL) != (ssize_t) length))
                        break;
                p->requests++;
        }
        (void) close(p->sock);
        return NULL;
}

/* The install's own result in f->result; < 0 only when the harness cannot go on. */
static int install_ranged(Model *md, const ModelBundle *b, bool dies, ModelInstallFacts *f, UError *err) {
        Peer p = { .sock = -EBADF, .die_at = UINT64_MAX };
        pthread_t thread;
        struct stat st;
        int sv[2], r;

        p.fd = open(b->path, O_RDONLY | O_CLOEXEC);
        if (p.fd < 0)
                return -errno;
        if (fstat(p.fd, &st) < 0) {
                r = -errno;
                close(p.fd);
                return r;
        }
        p.size = (uint64_t) st.st_size;
        /* The last image's stored chunks are the bundle's last bytes (format 2 without patches)
         * and at least its raw size (the model's images do not compress). */
        if (dies)
                p.die_at = p.size - MODEL_IMAGE_SIZE;
        p.buf = malloc(RANGED_MAX_PIECE);
        if (!p.buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                r = -errno;
                free(p.buf);
                close(p.fd);
                return r;
        }
        p.sock = sv[1];
        r = -pthread_create(&thread, NULL, peer_thread, &p);
        if (r < 0) {
                close(sv[0]), close(sv[1]), close(p.fd);
                free(p.buf);
                return r;
        }
        /* Takes sv[0]: closed when the install is over, which ends the peer. */
        f->result = install_sync_ranged(md->m, sv[0], true, err);
        (void) pthread_join(thread, NULL);
        close(p.fd);
        free(p.buf);
        f->requests = p.requests;
        f->died = p.died;
        return 0;
}

typedef struct ModelLog {
        int memfd, saved_stderr, saved_level;
} ModelLog;

/* stderr into a memfd, at info level. */
static int log_begin(ModelLog *l) {
        *l = (ModelLog) { .memfd = memfd_create("model-log", MFD_CLOEXEC), .saved_stderr = -EBADF };
        if (l->memfd < 0)
                return -errno;
        fflush(stderr);
        l->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (l->saved_stderr < 0 || dup2(l->memfd, STDERR_FILENO) < 0) {
                int r = -errno;

                if (l->saved_stderr >= 0)
                        close(l->saved_stderr);
                close(l->memfd);
                return r;
        }
        l->saved_level = log_get_max_level();
        log_set_max_level(LOG_LEVEL_INFO);
        return 0;
}

/* Ends the capture; the sum of every "patches=N" (a delta install's summary per image).  With
 * MODEL_VERBOSE the captured text goes on to stderr. */
static int log_end(ModelLog *l, uint64_t *ret_patches) {
        _cleanup_free_ char *text = NULL;
        uint64_t patches = 0;
        off_t size;
        int r = 0;

        fflush(stderr);
        log_set_max_level(l->saved_level);
        (void) dup2(l->saved_stderr, STDERR_FILENO);
        close(l->saved_stderr);
        size = lseek(l->memfd, 0, SEEK_END);
        if (size < 0 || !(text = calloc(1, (size_t) size + 1)) ||
            (size > 0 && pread_exact(l->memfd, text, (size_t) size, 0) < 0))
                r = -EIO;
        close(l->memfd);
        if (r < 0)
                return r;
        if (getenv("MODEL_VERBOSE"))
                fputs(text, stderr);
        for (const char *s = strstr(text, " patches="); s; s = strstr(s + 1, " patches="))
                patches += strtoull(s + strlen(" patches="), NULL, 10);
        *ret_patches = patches;
        return 0;
}

int model_install(Model *md, const ModelBundle *b, ModelSource source, bool count_patches, ModelInstallFacts *ret,
                  UError *err) {
        ModelInstallFacts f = {};
        ModelLog l = { .memfd = -EBADF, .saved_stderr = -EBADF };
        int fd, r;

        if (count_patches && log_begin(&l) < 0)
                return -EIO;
        if (source == MODEL_SOURCE_FILE) {
                fd = open(b->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
                else {
                        /* force: downgrades and reinstalls are explored too; the floor is never forced */
                        f.result = install_sync(md->m, fd, true, err);
                        close(fd);
                        r = 0;
                }
        } else
                r = install_ranged(md, b, source == MODEL_SOURCE_RANGED_DIES, &f, err);
        if (count_patches && log_end(&l, &f.patches) < 0)
                return -EIO;
        if (r < 0)
                return r;
        *ret = f;
        return 0;
}
