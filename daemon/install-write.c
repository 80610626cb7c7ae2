/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install-delta.h"
#include "install-job.h"
#include "log.h"
#include "read-ahead.h"
#include "slot-writer.h"
#include "util.h"

/* Phase 2's write stage of an install (install.c runs the rest): authenticated chunks go
 * through the slot writer's ring into the target slots, or, with install-same=false, nothing
 * is written when the slots already hold the images. */

static int open_target(InstallJob *j, size_t image, int *ret_fd, UError *err) {
        const Slot *s = &j->manager->slots->slots[j->targets[image]];
        int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY, fd;
        struct stat st;

        /* O_EXCL on a block device: fail instead of writing under a mounted filesystem.  Files
         * are written in place at chunk offsets (no O_TRUNC, no O_CREAT: the slot must exist). */
        if (stat(s->device_path, &st) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot open slot %s (%s): %s", s->cfg->name,
                                  s->device_path, strerror(errno));
        if (S_ISBLK(st.st_mode))
                flags |= O_EXCL;
        else if (!S_ISREG(st.st_mode))
                return uerror_set(err, ERROR_IO, -ENOTBLK, "Slot %s (%s) is neither a block device nor a file",
                                  s->cfg->name, s->device_path);

        fd = slot_writer_open(s->device_path, flags);
        if (fd < 0)
                return uerror_set(err, ERROR_IO, fd, "Cannot open slot %s (%s) for writing: %s",
                                  s->cfg->name, s->device_path, strerror(-fd));
        *ret_fd = fd;
        return 0;
}

/* Bytes written at which install_write_percent() reaches the next whole percent (smallest w with
 * w * 98 / total >= p), or UINT64_MAX at 99. */
static uint64_t next_percent_boundary(const InstallJob *j) {
        uint32_t p = install_write_percent(j);

        if (p >= 99 || j->total_bytes == 0)
                return UINT64_MAX;
        return (uint64_t) (((unsigned __int128) p * j->total_bytes + 97) / 98);
}

/* Writer thread: a write of image 'tag' reached the slot (0 bytes: it starts on the image).
 * During the write phase only the writer posts progress.  Returns the bytes to the next
 * percent: the writer cuts its writes there (rounded up to a page), so Progress steps by 1 %
 * on images over 400 KiB and every step is real. */
static uint64_t on_written(void *userdata, size_t tag, uint64_t bytes) {
        InstallJob *j = userdata;
        uint64_t boundary;
        char phase[128];

        j->written_bytes += bytes;
        snprintf(phase, sizeof(phase), "Writing %s", install_target_name(j, tag));
        install_post_progress(j, install_write_percent(j), phase);
        boundary = next_percent_boundary(j);
        return boundary > j->written_bytes ? boundary - j->written_bytes : UINT64_MAX;
}

static int writer_error(InstallJob *j, const SlotWriter *w, int r, UError *err) {
        const SlotWriterFailure *f = slot_writer_failure(w);

        if (r == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
        if (f->flush)
                return uerror_set(err, ERROR_IO, r, "Cannot sync slot %s: %s", install_target_name(j, f->tag), strerror(-r));
        return uerror_set(err, ERROR_IO, r, "Writing slot %s at offset %" PRIu64 " failed: %s", install_target_name(j, f->tag),
                          f->offset, strerror(-r));
}

typedef struct TargetFds {
        int fd[MANIFEST_MAX_IMAGES];
} TargetFds;

static void target_fds_close(TargetFds *t) {
        for (size_t i = 0; i < ELEMENTSOF(t->fd); i++)
                if (t->fd[i] >= 0)
                        (void) close(t->fd[i]);
}

/* Three stages for a streamed Update1 bundle: the read-ahead thread reads and authenticates
 * stored chunks (read-ahead.c), this thread decompresses them straight into the page-aligned
 * buffers of a small ring, and the slot writer's thread writes each full buffer and
 * fdatasync()s a slot after its image's last buffer.  A delta install (install-delta.c) and a
 * RAUC bundle read and decode on this thread.  Memory is the ring (2 MiB at chunks up to 1 MiB)
 * plus READ_AHEAD_BYTES of stored chunks (at least two), whatever the image size. */
int install_write_images(InstallJob *j, UError *err) {
        const Manifest *mf = bundle_reader_manifest(j->reader);
        _cleanup_(target_fds_close) TargetFds fds;
        _cleanup_(slot_writer_freep) SlotWriter *w = NULL; /* freed (joined) before the fds close */
        _cleanup_(install_delta_freep) InstallDelta *delta = NULL; /* its seed fds too */
        _cleanup_(read_ahead_freep) ReadAhead *ahead = NULL; /* stopped before the writer */
        size_t buffer_size = SLOT_WRITER_BUFFER_MIN, current = SIZE_MAX, fill = 0;
        uint64_t buffer_offset = 0;
        uint8_t *buf = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(fds.fd); i++)
                fds.fd[i] = -EBADF;
        /* Format 2's chunks have any length, so a buffer may hold an unaligned tail that moves to
         * the next one (below): room for a largest chunk after up to SLOT_WRITER_ALIGN - 1 bytes. */
        for (size_t i = 0; i < mf->n_images; i++)
                buffer_size = MAX(buffer_size, (size_t) mf->images[i].chunk_size +
                                                       (mf->format == MANIFEST_FORMAT_CDC ? SLOT_WRITER_ALIGN : 0));
        buffer_size = (buffer_size + SLOT_WRITER_ALIGN - 1) & ~((size_t) SLOT_WRITER_ALIGN - 1);
        /* A format-2 bundle read at offsets takes its chunks from the slots where it can and
         * fetches only the others (install-delta.c); anything else streams. */
        r = install_delta_new(j, &delta, err);
        if (r < 0)
                return r;
        r = slot_writer_new(MAX((size_t) 2, SLOT_WRITER_RING_BYTES / buffer_size), buffer_size, &j->cancel,
                            on_written, j, &w);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot start the slot writer: %s", strerror(-r));
        if (!delta && streq(bundle_reader_format(j->reader), "update1")) {
                r = read_ahead_start(j->reader, &j->cancel, j->cancel_fd, &ahead);
                if (r < 0)
                        return uerror_set(err, ERROR_FAILED, r, "Cannot start reading ahead: %s", strerror(-r));
        }

        for (;;) {
                uint32_t next = delta   ? install_delta_next_chunk_size(delta) :
                                ahead   ? read_ahead_next_chunk_size(ahead) :
                                          bundle_reader_next_chunk_size(j->reader);
                BundleChunk c;

                r = install_check_cancel(j, err);
                if (r < 0)
                        return r;
                if (buf && fill + next > buffer_size) {
                        r = slot_writer_put_aligned(w, &buf, fds.fd[current], &buffer_offset, &fill, current);
                        if (r < 0)
                                return writer_error(j, w, r, err);
                }
                if (!buf && next > 0) {
                        r = slot_writer_get(w, (void **) &buf);
                        if (r < 0)
                                return writer_error(j, w, r, err);
                        fill = 0;
                }
                if (delta)
                        r = install_delta_next_chunk_into(delta, buf ? buf + fill : NULL, buffer_size - fill, &c, err);
                else if (ahead)
                        r = read_ahead_next_chunk_into(ahead, buf ? buf + fill : NULL, buffer_size - fill, &c, err);
                else
                        r = bundle_reader_next_chunk_into(j->reader, buf ? buf + fill : NULL, buffer_size - fill, &c, err);
                if (r < 0) {
                        /* What was authenticated before the bad chunk still goes to the slot, as
                         * when every chunk was written before the next was read: where a failed
                         * install stopped does not depend on the writer's pace (a cancel stops
                         * the writer at its next buffer anyway). */
                        if (buf && fill > 0)
                                (void) slot_writer_put(w, TAKE_PTR(buf), fds.fd[current], buffer_offset, fill, current, false);
                        (void) slot_writer_finish(w);
                        return r;
                }
                if (r == 0)
                        break;
                if (c.image >= j->n_targets)
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "Chunk for unknown image %zu", c.image);

                if (c.image != current) {
                        if (current != SIZE_MAX && fill > 0)
                                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                                  "Image %s ended without its last chunk",
                                                  mf->images[current].slotclass);
                        r = open_target(j, c.image, &fds.fd[c.image], err);
                        if (r < 0)
                                return r;
                        current = c.image;
                        /* An empty item announces the image: the writer posts "Writing <slot>",
                         * in order with its writes, as soon as the image's first chunk is
                         * authenticated, not once a whole buffer is full (on a slow link that
                         * is minutes; the toctou tests wait for it before changing the rest
                         * of a piped bundle). */
                        void *mark = NULL;
                        r = slot_writer_get(w, &mark);
                        if (r >= 0)
                                r = slot_writer_put(w, mark, fds.fd[current], 0, 0, current, false);
                        if (r < 0)
                                return writer_error(j, w, r, err);
                }
                if (fill == 0)
                        buffer_offset = c.offset;
                fill += c.size;

                if (c.last) {
                        r = slot_writer_put(w, TAKE_PTR(buf), fds.fd[current], buffer_offset, fill, current, true);
                        if (r < 0)
                                return writer_error(j, w, r, err);
                        fill = 0;
                }
        }
        if (buf)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "Image %s ended without its last chunk",
                                  mf->images[current].slotclass);

        r = slot_writer_finish(w);
        if (r < 0)
                return writer_error(j, w, r, err);
        /* A cancel after the last write still wins: nothing was activated yet. */
        r = install_check_cancel(j, err);
        if (r < 0)
                return r;

        w = slot_writer_free(w);
        for (size_t i = 0; i < j->n_targets; i++) {
                int fd = TAKE_FD(fds.fd[i]);

                if (fd >= 0 && close(fd) < 0)
                        return uerror_set(err, ERROR_IO, -errno, "Cannot close slot %s: %s", install_target_name(j, i),
                                          strerror(errno));
        }
        return 0;
}

/* RAUC's install-same=false (install.c: skip a slot whose status is ok and whose recorded
 * checksum is the image's): here only when every target is such a slot, and only once its bytes
 * hash to the image (a record is no proof of what the slot holds now).  Such a bundle goes
 * through the same steps as any install — taken out, pending, recorded, activated — without the
 * writes. */
bool install_targets_hold_images(InstallJob *j) {
        Manager *m = j->manager;
        const Manifest *mf = bundle_reader_manifest(j->reader);

        for (size_t i = 0; i < j->n_targets; i++) {
                const Slot *s = &m->slots->slots[j->targets[i]];
                const ManifestImage *img = &mf->images[i];
                char hex[65], phase[128];
                uint8_t digest[32];
                SlotRecord *rec;
                bool same;

                if (s->cfg->install_same)
                        return false;
                hex_encode(img->sha256, sizeof(img->sha256), hex);
                pthread_mutex_lock(&m->lock);
                rec = status_find(m->status, install_target_name(j, i));
                same = rec && rec->status == SLOT_STATUS_OK && streq(rec->sha256, hex);
                pthread_mutex_unlock(&m->lock);
                if (!same)
                        return false;
                snprintf(phase, sizeof(phase), "Checking %s", install_target_name(j, i));
                install_post_progress(j, 1, phase);
                if (slot_sha256(s, img->size, &j->cancel, digest) < 0 || memcmp(digest, img->sha256, sizeof(digest)) != 0)
                        return false;
        }
        return true;
}

/* The images are not written; an Update1 bundle is still read to its end (every chunk
 * authenticated, nothing after it), as a stream's writer expects. */
int install_skip_images(InstallJob *j, UError *err) {
        BundleChunk c;
        int r;

        log_info("install-same=false: %s%s already holds the bundle's image, not written again", install_target_name(j, 0),
                 j->n_targets > 1 ? " and the other targets" : "");
        if (!streq(bundle_reader_format(j->reader), "update1"))
                return 0;
        while ((r = bundle_reader_next_chunk(j->reader, &c, err)) > 0) {
                r = install_check_cancel(j, err);
                if (r < 0)
                        return r;
        }
        return r;
}

