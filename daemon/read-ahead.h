/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "error.h"
#include "macro.h"

/* The first stage of a streaming install of an Update1 bundle: a thread that reads each chunk's
 * stored bytes a few chunks ahead, while the install thread decompresses the previous ones into
 * the slot writer's ring.  Each chunk's stored bytes are checked against the signed table
 * (bundle_reader_check_stored()) by whichever of the two threads is free first: where the image
 * is incompressible, SHA-256 of the stored bytes costs about five times the decoding, and one
 * hashing thread alone was the install's critical path (issue #14).  Nothing is decoded or
 * handed out before its stored bytes matched the signed hash; chunks come out in order, and an
 * error comes out where it happened, after every chunk before it. */

/* The stored chunks it may hold at once: bounded by bytes, not by the image, and at least 4 so
 * that both threads have a chunk to check while a third is read and a fourth decoded.  Warm
 * 256 MiB install into a loop device with direct I/O, medians of 7 interleaved runs: 2 chunks
 * (512 KiB at the bench's 256 KiB chunks) 153 ms, 4 chunks (1 MiB) 140-146 ms, main (one
 * hashing thread, 512 KiB) 153-158 ms, dd conv=fsync 137-140 ms.  The cost is 0.5 MiB of peak
 * RSS over one hashing thread. */
#define READ_AHEAD_BYTES (UINT32_C(1) << 20)
#define READ_AHEAD_MIN_CHUNKS 4

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
