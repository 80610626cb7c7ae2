/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The install's write stage (daemon/slot-writer.c): buffers reach the file in the order they
 * were queued, whole; the unaligned tail of an image; O_DIRECT where the filesystem takes it
 * (/var/tmp) and the buffered fallback where it does not (tmpfs in /dev/shm on kernels before
 * 6.6); a cancel, a write error and an abort by the producer in the middle of a stream. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "fileio.h"
#include "slot-writer.h"
#include "unit.h"

#define BUF (64 * 1024)
#define N_BUFS 3

static char dirs[2][64] = { "/var/tmp/test-slot-writer.XXXXXX", "/dev/shm/test-slot-writer.XXXXXX" };

typedef struct Seen {
        pthread_mutex_t lock;
        size_t tags[256];
        uint64_t sizes[256];
        uint64_t bytes;
        size_t n, starts;
        uint64_t budget;          /* what the callback returns; 0 = UINT64_MAX */
        atomic_bool *cancel_after_first;
} Seen;

static uint64_t on_written(void *userdata, size_t tag, uint64_t bytes) {
        Seen *s = userdata;

        pthread_mutex_lock(&s->lock);
        if (bytes == 0)
                s->starts++;
        else {
                if (s->n < ELEMENTSOF(s->tags)) {
                        s->tags[s->n] = tag;
                        s->sizes[s->n] = bytes;
                }
                s->n++;
                s->bytes += bytes;
                if (s->cancel_after_first)
                        atomic_store(s->cancel_after_first, true);
        }
        pthread_mutex_unlock(&s->lock);
        return s->budget ?: UINT64_MAX;
}

static void pattern(uint8_t *p, size_t size, uint64_t offset) {
        for (size_t i = 0; i < size; i++)
                p[i] = (uint8_t) ((offset + i) * 131 + ((offset + i) >> 12));
}

static bool file_has_pattern(const char *path, uint64_t size) {
        _cleanup_free_ uint8_t *got = malloc(size), *want = malloc(size);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (!got || !want || fd < 0 || pread_exact(fd, got, size, 0) < 0)
                return false;
        pattern(want, size, 0);
        return memcmp(got, want, size) == 0;
}

static int make_file(const char *dir, const char *name, uint64_t size, char *path, size_t path_size) {
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, path_size, "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) size) < 0)
                return -errno;
        return 0;
}

/* 10 buffers through a ring of 3, the last one with an unaligned tail: the file holds the
 * stream, progress came in order, and the tail left the fd buffered.  With a progress budget,
 * writes are cut at the budget rounded up to a page, never mid-page. */
static void stream_into(const char *dir, uint64_t budget) {
        const uint64_t size = 9 * BUF + 3 * 4096 + 123;
        _cleanup_(slot_writer_freep) SlotWriter *w = NULL;
        _cleanup_close_ int fd = -EBADF;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .budget = budget };
        char path[128];
        bool direct;
        size_t i = 0;

        CHECK_EQ(make_file(dir, "slot", size + 4096, path, sizeof(path)), 0);
        fd = slot_writer_open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        direct = fcntl(fd, F_GETFL) & O_DIRECT;
        unit_diag("%s: %s", dir, direct ? "O_DIRECT" : "buffered (O_DIRECT refused)");

        CHECK_EQ(slot_writer_new(N_BUFS, BUF, NULL, on_written, &seen, &w), 0);
        CHECK_EQ(slot_writer_buffer_size(w), (size_t) BUF);
        for (uint64_t off = 0; off < size; off += BUF, i++) {
                size_t n = (size_t) MIN((uint64_t) BUF, size - off);
                void *buf;

                CHECK_EQ(slot_writer_get(w, &buf), 0);
                CHECK_EQ((uintptr_t) buf % SLOT_WRITER_ALIGN, 0u);
                pattern(buf, n, off);
                CHECK_EQ(slot_writer_put(w, buf, fd, off, n, i, off + n == size), 0);
        }
        CHECK_EQ(slot_writer_finish(w), 0);
        CHECK_EQ(seen.starts, 1u);
        CHECK_EQ(seen.bytes, size);
        CHECK(seen.n <= ELEMENTSOF(seen.tags));
        for (size_t k = 1; k < seen.n && k < ELEMENTSOF(seen.tags); k++)
                CHECK(seen.tags[k] >= seen.tags[k - 1]);
        for (size_t k = 0; k + 1 < seen.n && k < ELEMENTSOF(seen.tags); k++) {
                /* Every write but the tail is whole pages, and no larger than the budget allows. */
                CHECK_EQ(seen.sizes[k] % SLOT_WRITER_ALIGN, 0u);
                if (budget)
                        CHECK(seen.sizes[k] <= ((budget + 4095) & ~(uint64_t) 4095));
        }
        if (budget && seen.n > 0)
                unit_diag("%zu writes, first %llu bytes", seen.n, (unsigned long long) seen.sizes[0]);
        if (budget)
                CHECK(seen.n >= size / ((budget + 4095) & ~(uint64_t) 4095));
        CHECK(file_has_pattern(path, size));
        /* The tail went buffered: O_DIRECT is off after it. */
        CHECK_EQ(fcntl(fd, F_GETFL) & O_DIRECT, 0);
}

TEST(order_and_tail_direct) {
        stream_into(dirs[0], 0);
}

TEST(order_and_tail_tmpfs) {
        stream_into(dirs[1], 0);
}

TEST(progress_budget_cuts_at_pages) {
        stream_into(dirs[0], 10000);
}

TEST(bad_arguments) {
        SlotWriter *w = NULL;
        void *buf;

        CHECK_EQ(slot_writer_new(1, BUF, NULL, NULL, NULL, &w), -EINVAL);
        CHECK_EQ(slot_writer_new(2, BUF + 1, NULL, NULL, NULL, &w), -EINVAL);
        CHECK_EQ(slot_writer_new(2, BUF, NULL, NULL, NULL, &w), 0);
        CHECK_EQ(slot_writer_get(w, &buf), 0);
        CHECK_EQ(slot_writer_put(w, buf, 1, 100, 10, 0, false), -EINVAL); /* unaligned offset */
        CHECK_EQ(slot_writer_put(w, buf, 1, 0, BUF + 1, 0, false), -EINVAL);
        slot_writer_free(w);
}

/* A cancel after the first buffer: nothing after it is written, and the producer hears it. */
TEST(cancel_mid_stream) {
        _cleanup_(slot_writer_freep) SlotWriter *w = NULL;
        _cleanup_close_ int fd = -EBADF;
        atomic_bool cancel = false;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER, .cancel_after_first = &cancel };
        _cleanup_free_ uint8_t *got = malloc(4 * BUF);
        char path[128];
        int r = 0;

        CHECK_EQ(make_file(dirs[0], "cancel", 4 * BUF, path, sizeof(path)), 0);
        fd = slot_writer_open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0 && got);
        CHECK_EQ(slot_writer_new(2, BUF, &cancel, on_written, &seen, &w), 0);
        for (uint64_t off = 0; off < 4 * BUF && r == 0; off += BUF) {
                void *buf;

                r = slot_writer_get(w, &buf);
                if (r < 0)
                        break;
                pattern(buf, BUF, off);
                r = slot_writer_put(w, buf, fd, off, BUF, off / BUF, off + BUF == 4 * BUF);
        }
        CHECK_EQ(slot_writer_finish(w), -ECANCELED);
        CHECK_EQ(slot_writer_failure(w)->error, -ECANCELED);
        CHECK_EQ(seen.n, 1u);
        /* Buffer 0 is there, the rest never reached the file. */
        {
                _cleanup_close_ int rfd = open(path, O_RDONLY | O_CLOEXEC);
                CHECK_EQ(pread_exact(rfd, got, 4 * BUF, 0), 0);
        }
        CHECK(file_has_pattern(path, BUF));
        for (size_t k = BUF; k < 4 * BUF; k++)
                if (got[k] != 0) {
                        CHECK_EQ(k, (size_t) 0);
                        break;
                }
}

/* A write error (ENOSPC from /dev/full) reaches the producer with where it happened; what was
 * queued behind it is dropped and later calls fail with the same error. */
TEST(writer_error_propagates) {
        _cleanup_(slot_writer_freep) SlotWriter *w = NULL;
        _cleanup_close_ int fd = slot_writer_open("/dev/full", O_WRONLY | O_CLOEXEC);
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
        const SlotWriterFailure *f;
        void *buf;
        int r = 0;

        CHECK(fd >= 0);
        CHECK_EQ(slot_writer_new(2, BUF, NULL, on_written, &seen, &w), 0);
        for (unsigned k = 0; k < 8 && r == 0; k++) {
                r = slot_writer_get(w, &buf);
                if (r == 0)
                        r = slot_writer_put(w, buf, fd, (uint64_t) k * BUF, BUF, 7 + k, false);
        }
        CHECK_EQ(r, -ENOSPC);
        CHECK_EQ(slot_writer_finish(w), -ENOSPC);
        f = slot_writer_failure(w);
        CHECK_EQ(f->error, -ENOSPC);
        CHECK_EQ(f->tag, 7u);
        CHECK_EQ(f->offset, 0u);
        CHECK(!f->flush);
        CHECK_EQ(seen.n, 0u);
        CHECK_EQ(slot_writer_get(w, &buf), -ENOSPC);
}

/* The producer fails (a bad chunk, a truncated stream) with buffers still queued: freeing the
 * writer stops it without writing them all and without hanging. */
TEST(reader_error_aborts) {
        _cleanup_close_ int fd = -EBADF;
        Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
        SlotWriter *w = NULL;
        char path[128];

        CHECK_EQ(make_file(dirs[1], "abort", 64 * BUF, path, sizeof(path)), 0);
        fd = slot_writer_open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK_EQ(slot_writer_new(4, BUF, NULL, on_written, &seen, &w), 0);
        for (uint64_t k = 0; k < 4; k++) {
                void *buf;

                CHECK_EQ(slot_writer_get(w, &buf), 0);
                pattern(buf, BUF, k * BUF);
                CHECK_EQ(slot_writer_put(w, buf, fd, k * BUF, BUF, k, false), 0);
        }
        slot_writer_free(w);
        pthread_mutex_lock(&seen.lock);
        CHECK(seen.n <= 4);
        pthread_mutex_unlock(&seen.lock);
        /* Whatever was written was written whole and in order. */
        CHECK(file_has_pattern(path, seen.n * BUF));
}

UNIT_MAIN_BEGIN("test-slot-writer")
        if (!mkdtemp(dirs[0]) || !mkdtemp(dirs[1]))
                return 2;
        RUN(order_and_tail_direct);
        RUN(order_and_tail_tmpfs);
        RUN(progress_budget_cuts_at_pages);
        RUN(bad_arguments);
        RUN(cancel_mid_stream);
        RUN(writer_error_propagates);
        RUN(reader_error_aborts);
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char cmd[128];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", dirs[i]);
                (void) !system(cmd);
        }
UNIT_MAIN_END
