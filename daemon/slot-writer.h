/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The write stage of an install: one thread writes filled buffers into the slots, in the order
 * they were queued, while the install thread reads, verifies and decompresses into the next
 * buffer of a small ring.  Buffers are page aligned and slots are opened with O_DIRECT where the
 * kernel takes it, so a write goes from the ring to the device without a page-cache copy.  The
 * writer knows nothing of bundles, D-Bus or the manager. */

#define SLOT_WRITER_ALIGN 4096
#define SLOT_WRITER_BUFFER_MIN (UINT32_C(1) << 20)
/* Two buffers at 1 MiB chunks: one filled while the other is written.  A deeper ring measured
 * no faster (the write of a buffer takes about as long as decoding one) and each buffer is a
 * MiB of the daemon's peak RSS (issue #14: <= 8 MiB). */
#define SLOT_WRITER_RING_BYTES (UINT32_C(2) << 20)

typedef struct SlotWriter SlotWriter;

/* Called in the writer thread with bytes = 0 when it starts on a file, then after every write
 * with the bytes it wrote.  Returns how many bytes may be written before the next call is due
 * (UINT64_MAX: no limit): the writer then cuts its next write there, rounded up to
 * SLOT_WRITER_ALIGN, so a progress step of at least that size is reported without a write ever
 * being cut mid-page. */
typedef uint64_t (*SlotWriterProgress)(void *userdata, size_t tag, uint64_t bytes);

typedef struct SlotWriterFailure {
        int error;        /* negative errno; -ECANCELED when *cancel was set */
        size_t tag;       /* of the buffer that failed */
        uint64_t offset;  /* where its failed write started */
        bool flush;       /* the fdatasync() after it failed, not a write */
} SlotWriterFailure;

/* n_buffers >= 2 buffers of buffer_size bytes (a multiple of SLOT_WRITER_ALIGN).  The writer
 * stops at the next buffer once *cancel (may be NULL) is true. */
int slot_writer_new(size_t n_buffers, size_t buffer_size, const atomic_bool *cancel, SlotWriterProgress progress,
                    void *userdata, SlotWriter **ret);
/* Stops the thread: queued buffers not written yet are dropped.  Closes no file. */
SlotWriter *slot_writer_free(SlotWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(SlotWriter *, slot_writer_free);

/* A free buffer of slot_writer_buffer_size() bytes; waits while all are queued.  After the
 * writer failed, returns its error (slot_writer_failure() says where). */
int slot_writer_get(SlotWriter *w, void **ret_buf);
/* Queues a buffer from slot_writer_get(): size bytes of it go to fd at offset (a multiple of
 * SLOT_WRITER_ALIGN); with flush, fdatasync(fd) follows.  Only the last buffer of a file may
 * have a size that is not a multiple of SLOT_WRITER_ALIGN.  The fd must stay open until
 * slot_writer_finish() or slot_writer_free() returned. */
int slot_writer_put(SlotWriter *w, void *buf, int fd, uint64_t offset, size_t size, size_t tag, bool flush);
/* Waits until every queued buffer was written; the first error, if any. */
/* Queues the first *fill bytes of *buf (at the aligned slot offset *offset) but for their
 * unaligned tail (*fill % SLOT_WRITER_ALIGN bytes: format-2 chunks have any length), which is
 * copied to the start of a fresh buffer that becomes *buf (NULL without a tail); *offset and
 * *fill then describe that buffer.  O_DIRECT writes need every buffer to start aligned. */
int slot_writer_put_aligned(SlotWriter *w, uint8_t **buf, int fd, uint64_t *offset, size_t *fill, size_t tag);
int slot_writer_finish(SlotWriter *w);
const SlotWriterFailure *slot_writer_failure(const SlotWriter *w);
size_t slot_writer_buffer_size(const SlotWriter *w);

/* open(path, flags | O_DIRECT), or open(path, flags) where the filesystem refuses O_DIRECT
 * (EINVAL: tmpfs before Linux 6.6, some FUSE and network filesystems).  Returns the fd or a
 * negative errno. */
int slot_writer_open(const char *path, int flags);
