/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "error.h"
#include "macro.h"

/* A bundle served in pieces by the caller over a connected AF_UNIX stream socket (InstallFd
 * with "ranged", docs/agent.md "Ranged installs"): update-agent downloads each piece the
 * daemon asks for with an HTTP Range request of its own, so the daemon never talks to the
 * server and a format-2 bundle from the agent still installs as a delta.
 *
 * The protocol's frames and socket loops are lib/ranged-frame.h's, shared with the agent.  The
 * first request is {offset 0, length 0}: its reply gives the total size.  Nothing the caller
 * sends is trusted for content: the bundle's signature and its signed hashes authenticate every
 * byte, as for any other source.
 *
 * Like source-http, the source gives the installer a stream fd (a feeder thread pulls the
 * bundle front to back into a pipe, SOURCE_RANGED_FEED_PIECE at a time, only as the reader
 * takes them and only as far as it announced, source_ranged_want(); the first
 * SOURCE_RANGED_FIRST_PIECE bytes unasked, as the http stream does) and a ReadAt
 * (lib/read-at.h) whose first call stops the feeder.  All socket I/O
 * happens in the feeder or the install thread, never in the main loop; the install's cancel
 * eventfd stops a read that waits for the caller. */

#define SOURCE_RANGED_FEED_PIECE (UINT32_C(256) << 10)
#define SOURCE_RANGED_FIRST_PIECE (UINT32_C(64) << 10)

typedef struct SourceRanged SourceRanged;

/* Whether fd is a connected AF_UNIX stream socket: 0, or InvalidArgs in 'err'. */
int source_ranged_check_fd(int fd, UError *err);

/* Takes 'sock' (also on failure).  Nothing is read yet: source_ranged_start() does that. */
int source_ranged_new(int sock, uint64_t max_size, SourceRanged **ret, UError *err);
/* Starts the feeder thread; 'cancel_fd' (borrowed, an eventfd) stops every wait when readable. */
int source_ranged_start(SourceRanged *s, int cancel_fd, UError *err);
/* The read end of the feeder's pipe, owned by the source. */
int source_ranged_fd(const SourceRanged *s);

/* The reader's announcement (bundle_reader_set_need(); userdata: the SourceRanged) that it
 * will read up to 'end': the feeder fetches no further.  A delta install, which switches to
 * ranged reads after the tables, has then been sent no payload it does not use. */
void source_ranged_want(void *userdata, uint64_t end);

/* ReadAt (userdata: the SourceRanged), for the install thread only. */
int source_ranged_get_size(void *userdata, uint64_t *ret);
int source_ranged_read_at(void *userdata, uint64_t offset, void *buf, size_t size);

/* Stops the feeder and waits for it.  Idempotent. */
void source_ranged_stop(SourceRanged *s);
/* After a failed install: a short stream or a failed read hides the reason; this puts the
 * source's own first error (the caller closed the socket, a reply that does not match its
 * request, ...) in 'err' instead, unless the install was cancelled. */
void source_ranged_explain(SourceRanged *s, UError *err);

SourceRanged *source_ranged_free(SourceRanged *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SourceRanged *, source_ranged_free);
