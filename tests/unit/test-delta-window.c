/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The delta install's one read-ahead window (daemon/delta-window.c), over a fake bundle that
 * records every read: what a get returns, how far it reads ahead (the window's size, the
 * caller's limit, at least the bytes wanted), that bytes it holds are never read again while
 * the caller moves forward, that moving elsewhere drops them, and the errors. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "delta-window.h"
#include "macro.h"
#include "unit.h"

#define BUNDLE_SIZE 4096u
static uint8_t bundle[BUNDLE_SIZE];
static unsigned reads;
static uint64_t last_offset;
static size_t last_size, bytes_read;
static int fail_with;

static int fake_read_at(void *userdata, uint64_t offset, void *buf, size_t size) {
        (void) userdata;
        reads++;
        last_offset = offset;
        last_size = size;
        if (fail_with)
                return fail_with;
        if (offset + size > BUNDLE_SIZE)
                return -EPIPE;
        memcpy(buf, bundle + offset, size);
        bytes_read += size;
        return 0;
}

static const ReadAt fake = { fake_read_at, NULL, NULL };

static void reset(void) {
        reads = 0;
        bytes_read = 0;
        fail_with = 0;
}

TEST(reads_ahead_to_limit_and_size) {
        DeltaWindow w;
        const uint8_t *p = NULL;
        size_t got = 0;

        reset();
        CHECK_EQ(delta_window_init(&w, &fake, 256), 0);
        /* Limit within the window: exactly to it. */
        CHECK_EQ(delta_window_get(&w, 100, 10, 150, &p, &got), 0);
        CHECK_EQ(got, 50);
        CHECK_EQ(last_offset, 100);
        CHECK(p && memcmp(p, bundle + 100, 10) == 0);
        /* Within what it holds: no read. */
        CHECK_EQ(delta_window_get(&w, 110, 40, 150, &p, &got), 0);
        CHECK_EQ(got, 0);
        CHECK_EQ(reads, 1);
        CHECK(memcmp(p, bundle + 110, 40) == 0);
        /* Partly held: the held part is kept, only the rest is read, up to the window's size. */
        CHECK_EQ(delta_window_get(&w, 140, 20, 4000, &p, &got), 0);
        CHECK_EQ(last_offset, 150);
        CHECK_EQ(got, 256 - 10);
        CHECK(memcmp(p, bundle + 140, 20) == 0);
        /* A limit short of the bytes wanted still reads them. */
        CHECK_EQ(delta_window_get(&w, 1000, 30, 1010, &p, &got), 0);
        CHECK_EQ(got, 30);
        CHECK(memcmp(p, bundle + 1000, 30) == 0);
        /* Going back drops what it held: read again. */
        CHECK_EQ(delta_window_get(&w, 140, 20, 160, &p, &got), 0);
        CHECK_EQ(got, 20);
        CHECK(memcmp(p, bundle + 140, 20) == 0);
        CHECK_EQ(bytes_read, 50 + 246 + 30 + 20);
        delta_window_done(&w);
}

TEST(forward_reads_each_byte_once) {
        DeltaWindow w;
        const uint8_t *p = NULL;
        size_t got = 0, total = 0;
        uint64_t off = 0;
        uint32_t n = 1;

        reset();
        CHECK_EQ(delta_window_init(&w, &fake, 300), 0);
        /* Pieces of growing sizes, front to back, the limit at the end: nothing twice. */
        while (off + n <= BUNDLE_SIZE) {
                CHECK_EQ(delta_window_get(&w, off, n, BUNDLE_SIZE, &p, &got), 0);
                CHECK(memcmp(p, bundle + off, n) == 0);
                total += got;
                off += n;
                n = n * 7 % 251 + 1;
        }
        CHECK_EQ(total, bytes_read);
        CHECK(total <= BUNDLE_SIZE);
        CHECK(total >= off);
        CHECK(reads <= BUNDLE_SIZE / (300 - 251) + 1);
        delta_window_done(&w);
}

TEST(errors_and_reserve) {
        DeltaWindow w;
        const uint8_t *p = NULL;
        size_t got = 0;

        reset();
        CHECK_EQ(delta_window_init(&w, &fake, 64), 0);
        CHECK_EQ(delta_window_get(&w, 0, 65, 100, &p, &got), -ENOBUFS);
        CHECK_EQ(reads, 0);
        CHECK_EQ(delta_window_get(&w, 0, 16, 64, &p, &got), 0);
        /* A failed read leaves nothing held: the next get reads again. */
        fail_with = -EIO;
        CHECK_EQ(delta_window_get(&w, 32, 64, 200, &p, &got), -EIO);
        fail_with = 0;
        CHECK_EQ(delta_window_get(&w, 40, 8, 48, &p, &got), 0);
        CHECK_EQ(got, 8);
        CHECK(memcmp(p, bundle + 40, 8) == 0);
        /* Reserving no more than it has keeps what it holds; more drops it. */
        CHECK_EQ(delta_window_reserve(&w, 32), 0);
        CHECK_EQ(delta_window_get(&w, 40, 8, 48, &p, &got), 0);
        CHECK_EQ(got, 0);
        CHECK_EQ(delta_window_reserve(&w, 128), 0);
        CHECK_EQ(w.size, 128);
        CHECK_EQ(delta_window_get(&w, 40, 100, 140, &p, &got), 0);
        CHECK_EQ(got, 100);
        CHECK(memcmp(p, bundle + 40, 100) == 0);
        delta_window_done(&w);
        CHECK(w.buf == NULL);
}

UNIT_MAIN_BEGIN("test-delta-window")
        for (size_t i = 0; i < BUNDLE_SIZE; i++)
                bundle[i] = (uint8_t) (i * 31 + i / 256);
        RUN(reads_ahead_to_limit_and_size);
        RUN(forward_reads_each_byte_once);
        RUN(errors_and_reserve);
UNIT_MAIN_END
