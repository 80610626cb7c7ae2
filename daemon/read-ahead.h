/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "error.h"
#include "macro.h"

/* The first stage of a streaming install of an Update1 bundle: a thread that reads each chunk's
 * stored bytes and authenticates them against the signed table (bundle_reader_next_stored())
 * a few chunks ahead, while the install thread decompresses the previous ones into the slot
 * writer's ring.  Reading plus SHA-256 and decompressing cost about the same, so on two cores
 * this halves the install thread's part of the data path (issue #14).  Where the slot takes
 * writes fast (a loop device with direct I/O: 0.171 -> 0.146 s for the bench's warm 256 MiB
 * install, dd conv=fsync 0.147 s) that is the install's critical path; where the write is
 * slower it changes nothing measurable.  Nothing is decoded or
 * handed out before its stored bytes matched the signed hash; chunks come out in order, and an
 * error comes out where it happened, after every chunk before it. */

/* The stored chunks it may hold at once (at least 2): bounded by bytes, not by the image.
 * 512 KiB measured as fast as 1 MiB (a warm 256 MiB install into a loop device with direct I/O:
 * 0.146 s against 0.141 s) for 0.25 MiB less peak RSS. */
#define READ_AHEAD_BYTES (UINT32_C(1) << 19)

typedef struct ReadAhead ReadAhead;

/* Starts the thread on a verified Update1 bundle.  It stops at the next chunk once *cancel is
 * true; cancel_fd (the reader's) is made readable by read_ahead_free() to end a blocking read
 * when the install stops early. */
int read_ahead_start(BundleReader *r, const atomic_bool *cancel, int cancel_fd, ReadAhead **ret);
/* Stops and joins the thread. */
ReadAhead *read_ahead_free(ReadAhead *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReadAhead *, read_ahead_free);

/* Uncompressed size of the next chunk; 0 at the end or when the next item is an error.  Waits
 * until the thread has read it. */
uint32_t read_ahead_next_chunk_size(ReadAhead *a);
/* As bundle_reader_next_chunk_into(): 1 and the next chunk decoded into dst, 0 at the end. */
int read_ahead_next_chunk_into(ReadAhead *a, void *dst, size_t dst_size, BundleChunk *ret, UError *err);
