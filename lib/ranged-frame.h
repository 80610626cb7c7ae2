/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The frames of the ranged InstallFd protocol (docs/dbus-api.md "Ranged InstallFd"), and the
 * loops that move them over a non-blocking AF_UNIX stream socket.  Both ends use this one
 * module: the daemon asks (daemon/source-ranged.c), update-agent answers
 * (client/update-agent/update-agent-ranged.c); the agent links lib/ but no daemon code.
 *
 * All integers little-endian:
 *   request (daemon → caller), 16 bytes:  u32 magic "U1RQ", u32 length, u64 offset
 *   reply   (caller → daemon), 32 bytes:  u32 magic "U1RP", u32 length, u64 offset,
 *                                         u64 total size, u32 status (0 or an errno), u32 0
 *           followed, when status is 0, by exactly 'length' bytes.
 * The first request is {offset 0, length 0}: its reply gives the total size.  A reply must
 * echo the request's offset and length and keep the total size; length is at most
 * RANGED_MAX_PIECE.  Decoding checks nothing: each end judges what it got, because what is
 * wrong and what to do about it differ (the daemon refuses the bundle, the agent ends the
 * download). */

#define RANGED_MAX_PIECE (UINT32_C(2) << 20)
#define RANGED_REQUEST_MAGIC UINT32_C(0x51523155) /* "U1RQ" */
#define RANGED_REPLY_MAGIC UINT32_C(0x50523155)   /* "U1RP" */
#define RANGED_REQUEST_SIZE 16
#define RANGED_REPLY_SIZE 32

typedef struct RangedRequest {
        uint32_t magic;
        uint32_t length;
        uint64_t offset;
} RangedRequest;

typedef struct RangedReply {
        uint32_t magic;
        uint32_t length;
        uint64_t offset;
        uint64_t total;
        uint32_t status;
        uint32_t reserved;
} RangedReply;

void ranged_request_encode(const RangedRequest *q, uint8_t out[RANGED_REQUEST_SIZE]);
void ranged_request_decode(const uint8_t in[RANGED_REQUEST_SIZE], RangedRequest *ret);
void ranged_reply_encode(const RangedReply *p, uint8_t out[RANGED_REPLY_SIZE]);
void ranged_reply_decode(const uint8_t in[RANGED_REPLY_SIZE], RangedReply *ret);

/* How an end waits until the socket is ready for 'events' (POLLIN or POLLOUT): 0 to try again,
 * or a negative errno that the loop returns as is (a cancel: -ECANCELED).  'idle' is true while
 * a receive has not got the first byte of its frame, i.e. between frames, where the agent
 * takes a cancel as the end of the service rather than a broken exchange. */
typedef int (*RangedWaitFn)(void *userdata, short events, bool idle);

/* Exactly n bytes, with send(MSG_DONTWAIT | MSG_NOSIGNAL) and 'wait' whenever the socket is
 * full.  0, or a negative errno (-EPIPE: the peer closed its end). */
int ranged_send(int fd, const void *buf, size_t n, RangedWaitFn wait, void *userdata);
/* Exactly n bytes, with recv(MSG_DONTWAIT) and 'wait' whenever nothing is there.  0; -ENODATA
 * when the peer closed the socket before the first byte (between frames); -ECONNRESET when it
 * closed in the middle; or a negative errno of recv() or of 'wait'. */
int ranged_recv(int fd, void *buf, size_t n, RangedWaitFn wait, void *userdata);

/* A whole frame each: a request; a reply (its magic and reserved field set here) and, when its
 * status is 0, its 'length' bytes of 'data'.  The receivers take the frame only, and set *ret
 * only when all of it came: what follows a reply is the caller's to read once it has judged
 * the reply. */
int ranged_send_request(int fd, uint64_t offset, uint32_t length, RangedWaitFn wait, void *userdata);
int ranged_recv_request(int fd, RangedRequest *ret, RangedWaitFn wait, void *userdata);
int ranged_send_reply(int fd, const RangedReply *p, const void *data, RangedWaitFn wait, void *userdata);
int ranged_recv_reply(int fd, RangedReply *ret, RangedWaitFn wait, void *userdata);
