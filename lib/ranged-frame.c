/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "ranged-frame.h"

static void put32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static uint64_t get64(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

void ranged_request_encode(const RangedRequest *q, uint8_t out[RANGED_REQUEST_SIZE]) {
        put32(out, q->magic);
        put32(out + 4, q->length);
        put64(out + 8, q->offset);
}

void ranged_request_decode(const uint8_t in[RANGED_REQUEST_SIZE], RangedRequest *ret) {
        *ret = (RangedRequest) {
                .magic = get32(in),
                .length = get32(in + 4),
                .offset = get64(in + 8),
        };
}

void ranged_reply_encode(const RangedReply *p, uint8_t out[RANGED_REPLY_SIZE]) {
        put32(out, p->magic);
        put32(out + 4, p->length);
        put64(out + 8, p->offset);
        put64(out + 16, p->total);
        put32(out + 24, p->status);
        put32(out + 28, p->reserved);
}

void ranged_reply_decode(const uint8_t in[RANGED_REPLY_SIZE], RangedReply *ret) {
        *ret = (RangedReply) {
                .magic = get32(in),
                .length = get32(in + 4),
                .offset = get64(in + 8),
                .total = get64(in + 16),
                .status = get32(in + 24),
                .reserved = get32(in + 28),
        };
}

int ranged_send(int fd, const void *buf, size_t n, RangedWaitFn wait, void *userdata) {
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (k > 0) {
                        p += k;
                        n -= (size_t) k;
                        continue;
                }
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait(userdata, POLLOUT, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ranged_recv(int fd, void *buf, size_t n, RangedWaitFn wait, void *userdata) {
        uint8_t *p = buf;
        size_t got = 0;

        while (got < n) {
                ssize_t k = recv(fd, p + got, n - got, MSG_DONTWAIT);
                int r;

                if (k > 0) {
                        got += (size_t) k;
                        continue;
                }
                if (k == 0)
                        return got == 0 ? -ENODATA : -ECONNRESET;
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait(userdata, POLLIN, got == 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ranged_send_request(int fd, uint64_t offset, uint32_t length, RangedWaitFn wait, void *userdata) {
        uint8_t b[RANGED_REQUEST_SIZE];

        ranged_request_encode(&(RangedRequest) { .magic = RANGED_REQUEST_MAGIC, .length = length, .offset = offset },
                              b);
        return ranged_send(fd, b, sizeof(b), wait, userdata);
}

int ranged_recv_request(int fd, RangedRequest *ret, RangedWaitFn wait, void *userdata) {
        uint8_t b[RANGED_REQUEST_SIZE];
        int r;

        r = ranged_recv(fd, b, sizeof(b), wait, userdata);
        if (r < 0)
                return r;
        ranged_request_decode(b, ret);
        return 0;
}

int ranged_send_reply(int fd, const RangedReply *p, const void *data, RangedWaitFn wait, void *userdata) {
        RangedReply q = *p;
        uint8_t b[RANGED_REPLY_SIZE];
        int r;

        q.magic = RANGED_REPLY_MAGIC;
        q.reserved = 0;
        ranged_reply_encode(&q, b);
        r = ranged_send(fd, b, sizeof(b), wait, userdata);
        if (r >= 0 && q.status == 0 && q.length > 0)
                r = ranged_send(fd, data, q.length, wait, userdata);
        return r;
}

int ranged_recv_reply(int fd, RangedReply *ret, RangedWaitFn wait, void *userdata) {
        uint8_t b[RANGED_REPLY_SIZE];
        int r;

        r = ranged_recv(fd, b, sizeof(b), wait, userdata);
        if (r < 0)
                return r;
        ranged_reply_decode(b, ret);
        return 0;
}
