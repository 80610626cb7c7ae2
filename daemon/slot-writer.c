/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "fileio.h"
#include "slot-writer.h"

/* Why O_DIRECT: a buffered write copies every byte into the page cache and the final fsync
 * then waits for all of it at once; with O_DIRECT each write is DMA'd from the ring and has
 * reached the device when pwrite() returns, so the device works while the install thread
 * decompresses the next buffer, and nothing is left for the end but the tail and a flush.
 *
 * The final flush is fdatasync().  On a block device the kernel's blkdev_fsync() writes back
 * the tail's dirty page and then sends the device an empty write with REQ_PREFLUSH
 * (blkdev_issue_flush), i.e. a cache flush: SYNCHRONIZE CACHE on SCSI/SATA, FLUSH on NVMe,
 * CMD6 FLUSH_CACHE on an eMMC with its cache on.  fsync() and fdatasync() are the same call on
 * a block device, and neither uses FUA: an eMMC's reliable write is used only for REQ_FUA
 * writes, which file writes and fsync do not issue.  O_DIRECT writes may sit in the device's
 * volatile cache until that flush, so it is what makes the slot durable.  On a file slot,
 * fdatasync() writes back the tail and the metadata needed to read the data (blocks allocated
 * in a hole) and flushes the device, without a journal commit for the mtime. */

typedef struct Item {
        void *buf;
        int fd;
        uint64_t offset;
        size_t size;
        size_t tag;
        bool flush;
} Item;

struct SlotWriter {
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* any change: an item queued or done, a buffer free, stop */
        pthread_t thread;
        bool started;

        void *mem;
        size_t n, buffer_size;
        void **free_bufs;
        size_t n_free;
        Item *queue;              /* circular, n entries */
        size_t head, n_queued;
        bool busy;                /* the thread is writing an item it took off the queue */
        bool stop;
        SlotWriterFailure failure;

        const atomic_bool *cancel;
        SlotWriterProgress progress;
        void *userdata;

        /* Writer thread only. */
        int fd;
        bool direct;
        uint64_t budget;          /* bytes until the next progress report is due */
};

static int set_direct(int fd, bool on) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return -errno;
        if (fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) < 0)
                return -errno;
        return 0;
}

static int item_fail(SlotWriterFailure *f, int error, const Item *it, uint64_t offset, bool flush) {
        *f = (SlotWriterFailure) { .error = error, .tag = it->tag, .offset = offset, .flush = flush };
        return error;
}

static int write_item(SlotWriter *w, const Item *it, SlotWriterFailure *f) {
        const uint8_t *p = it->buf;
        uint64_t offset = it->offset;
        size_t left = it->size;
        int r;

        if (w->cancel && atomic_load(w->cancel))
                return item_fail(f, -ECANCELED, it, offset, false);

        if (it->fd != w->fd) {
                int flags = fcntl(it->fd, F_GETFL);

                if (flags < 0)
                        return item_fail(f, -errno, it, offset, false);
                w->fd = it->fd;
                w->direct = flags & O_DIRECT;
                w->budget = w->progress ? w->progress(w->userdata, it->tag, 0) : UINT64_MAX;
        }

        while (left > 0) {
                size_t n = left;

                if (w->budget < n) {
                        uint64_t cut = (w->budget + SLOT_WRITER_ALIGN - 1) & ~(uint64_t) (SLOT_WRITER_ALIGN - 1);

                        n = (size_t) MIN((uint64_t) left, MAX(cut, (uint64_t) SLOT_WRITER_ALIGN));
                }
                if (w->direct) {
                        n &= ~((size_t) SLOT_WRITER_ALIGN - 1);
                        /* The unaligned tail of an image: O_DIRECT cannot write it, and padding
                         * it would overwrite slot bytes after the image (or grow a file slot),
                         * so the fd goes buffered for it and fdatasync() writes it back. */
                        if (n == 0) {
                                r = set_direct(it->fd, false);
                                if (r < 0)
                                        return item_fail(f, r, it, offset, false);
                                w->direct = false;
                                n = left;
                        }
                }
                r = pwrite_exact(it->fd, p, n, offset);
                if (r == -EINVAL && w->direct) {
                        /* Some filesystems take O_DIRECT at open and refuse it at write time. */
                        r = set_direct(it->fd, false);
                        if (r < 0)
                                return item_fail(f, r, it, offset, false);
                        w->direct = false;
                        continue;
                }
                if (r < 0)
                        return item_fail(f, r, it, offset, false);
                fileio_durable_point("slot data");
                w->budget = w->progress ? w->progress(w->userdata, it->tag, n) : UINT64_MAX;
                p += n;
                offset += n;
                left -= n;
        }

        if (it->flush) {
                w->fd = -EBADF; /* the caller may close it now and reuse the number */
                if (fdatasync(it->fd) < 0)
                        return item_fail(f, -errno, it, it->offset, true);
        }
        return 0;
}

static void *writer_thread(void *userdata) {
        SlotWriter *w = userdata;

        for (;;) {
                SlotWriterFailure f = {};
                bool failed;
                Item it;
                int r = 0;

                pthread_mutex_lock(&w->lock);
                while (!w->stop && w->n_queued == 0)
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->stop) {
                        pthread_mutex_unlock(&w->lock);
                        return NULL;
                }
                it = w->queue[w->head];
                w->head = (w->head + 1) % w->n;
                w->n_queued--;
                w->busy = true;
                failed = w->failure.error != 0;
                pthread_mutex_unlock(&w->lock);

                /* After a failure the rest is dropped: its bytes belong after the failed ones. */
                if (!failed)
                        r = write_item(w, &it, &f);

                pthread_mutex_lock(&w->lock);
                if (r < 0 && w->failure.error == 0)
                        w->failure = f;
                w->free_bufs[w->n_free++] = it.buf;
                w->busy = false;
                pthread_cond_broadcast(&w->cond);
                pthread_mutex_unlock(&w->lock);
        }
}

int slot_writer_new(size_t n_buffers, size_t buffer_size, const atomic_bool *cancel, SlotWriterProgress progress,
                    void *userdata, SlotWriter **ret) {
        SlotWriter *w;
        sigset_t all, old;
        int r;

        if (n_buffers < 2 || buffer_size == 0 || buffer_size % SLOT_WRITER_ALIGN != 0 ||
            n_buffers > SIZE_MAX / buffer_size || !ret)
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (SlotWriter) {
                .n = n_buffers,
                .buffer_size = buffer_size,
                .cancel = cancel,
                .progress = progress,
                .userdata = userdata,
                .fd = -EBADF,
        };
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        w->free_bufs = calloc(n_buffers, sizeof(void *));
        w->queue = calloc(n_buffers, sizeof(Item));
        if (!w->free_bufs || !w->queue || posix_memalign(&w->mem, SLOT_WRITER_ALIGN, n_buffers * buffer_size) != 0) {
                slot_writer_free(w);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_buffers; i++)
                w->free_bufs[w->n_free++] = (uint8_t *) w->mem + (n_buffers - 1 - i) * buffer_size;

        /* The writer takes no signal: they are the main loop's (the install thread blocks them
         * too, but the unit tests start a writer from their main thread). */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&w->thread, NULL, writer_thread, w);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                slot_writer_free(w);
                return r;
        }
        w->started = true;
        *ret = w;
        return 0;
}

SlotWriter *slot_writer_free(SlotWriter *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->stop = true;
                pthread_cond_broadcast(&w->cond);
                pthread_mutex_unlock(&w->lock);
                (void) pthread_join(w->thread, NULL);
        }
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->mem);
        free(w->free_bufs);
        free(w->queue);
        return mfree(w);
}

int slot_writer_get(SlotWriter *w, void **ret_buf) {
        int r = 0;

        pthread_mutex_lock(&w->lock);
        while (w->failure.error == 0 && w->n_free == 0)
                pthread_cond_wait(&w->cond, &w->lock);
        if (w->failure.error != 0)
                r = w->failure.error;
        else
                *ret_buf = w->free_bufs[--w->n_free];
        pthread_mutex_unlock(&w->lock);
        return r;
}

int slot_writer_put(SlotWriter *w, void *buf, int fd, uint64_t offset, size_t size, size_t tag, bool flush) {
        int r = 0;

        if (!buf || size > w->buffer_size || offset % SLOT_WRITER_ALIGN != 0)
                return -EINVAL;
        pthread_mutex_lock(&w->lock);
        if (w->failure.error != 0) {
                w->free_bufs[w->n_free++] = buf;
                r = w->failure.error;
        } else {
                /* Never full: a queued item holds one of the n buffers. */
                w->queue[(w->head + w->n_queued) % w->n] = (Item) {
                        .buf = buf, .fd = fd, .offset = offset, .size = size, .tag = tag, .flush = flush,
                };
                w->n_queued++;
                pthread_cond_broadcast(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int slot_writer_put_aligned(SlotWriter *w, uint8_t **buf, int fd, uint64_t *offset, size_t *fill, size_t tag) {
        size_t keep = *fill % SLOT_WRITER_ALIGN;
        uint8_t *next = NULL;
        int r;

        /* The fresh buffer is taken before the full one is queued: the tail is copied from a
         * buffer the writer has not been given yet. */
        if (keep > 0) {
                r = slot_writer_get(w, (void **) &next);
                if (r < 0)
                        return r;
                memcpy(next, *buf + *fill - keep, keep);
        }
        r = slot_writer_put(w, *buf, fd, *offset, *fill - keep, tag, false);
        *buf = NULL;
        if (r < 0) {
                if (next)
                        (void) slot_writer_put(w, next, fd, 0, 0, tag, false); /* back to the ring */
                return r;
        }
        *buf = next;
        *offset += *fill - keep;
        *fill = keep;
        return 0;
}

int slot_writer_finish(SlotWriter *w) {
        int r;

        pthread_mutex_lock(&w->lock);
        while (w->n_queued > 0 || w->busy)
                pthread_cond_wait(&w->cond, &w->lock);
        r = w->failure.error;
        pthread_mutex_unlock(&w->lock);
        return r;
}

const SlotWriterFailure *slot_writer_failure(const SlotWriter *w) {
        return &w->failure;
}

size_t slot_writer_buffer_size(const SlotWriter *w) {
        return w->buffer_size;
}

int slot_writer_open(const char *path, int flags) {
        int fd;

        fd = open(path, flags | O_DIRECT);
        if (fd < 0 && errno == EINVAL)
                fd = open(path, flags);
        return fd < 0 ? -errno : fd;
}
