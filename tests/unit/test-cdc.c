/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/cdc.c: the content-defined chunker of bundle format 2.  Its cut points are part of the
 * format (a device cuts its own slots to find chunks it already has), so besides the properties
 * (determinism however the input is fed, min/max bounds, resynchronisation after an insertion)
 * the cut points of a fixed input are pinned: a change of the gear table or the masks fails
 * here, not on a fleet whose seeding silently stops matching. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc.h"
#include "chunk.h"
#include "macro.h"
#include "unit.h"

#define MAX_CUTS 4096
#define CDC_GOLDEN "8418b44d4c5ed0e3dc96ee168cb350fe2efd4f65972e3fad30685f9c13a69512"

/* A fixed pseudo-random stream (xorshift64*), the same on every machine. */
static void fill_random(uint8_t *buf, size_t size, uint64_t seed) {
        uint64_t s = seed | 1;

        for (size_t i = 0; i < size; i++) {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                buf[i] = (uint8_t) ((s * UINT64_C(0x2545f4914f6cdd1d)) >> 56);
        }
}

/* Chunk lengths of data fed in pieces of 'piece' bytes (0: varying sizes 1 .. 70000).  Returns
 * the number of chunks, the last one being what is pending at the end. */
static size_t cut_all(Cdc *c, const uint8_t *data, size_t size, size_t piece, uint64_t *lens) {
        size_t n = 0, off = 0, step_seed = 7;
        uint64_t cur = 0;

        cdc_reset(c);
        while (off < size) {
                size_t want = piece, consumed;
                int r;

                if (want == 0) {
                        step_seed = step_seed * 1103515245 + 12345;
                        want = 1 + (step_seed >> 8) % 70000;
                }
                if (want > size - off)
                        want = size - off;
                r = cdc_feed(c, data + off, want, &consumed);
                if (r < 0 || consumed == 0 || consumed > want)
                        return 0;
                cur += consumed;
                off += consumed;
                if (r == 1) {
                        if (n < MAX_CUTS)
                                lens[n] = cur;
                        n++;
                        cur = 0;
                }
        }
        if (cur != cdc_pending(c))
                return 0;
        if (cur > 0) {
                if (n < MAX_CUTS)
                        lens[n] = cur;
                n++;
        }
        return n;
}

TEST(init_bounds) {
        Cdc c;

        CHECK_EQ(cdc_init_default(&c), 0);
        CHECK_EQ(c.min, CDC_MIN_DEFAULT);
        CHECK_EQ(cdc_init(&c, 16384, 65536 + 4096, 262144), -EINVAL); /* avg not a power of 2 */
        CHECK_EQ(cdc_init(&c, 40000, 65536, 262144), -EINVAL);        /* min > avg / 2 */
        CHECK_EQ(cdc_init(&c, 512, 2048, 8192), -EINVAL);              /* min too small */
        CHECK_EQ(cdc_init(&c, 16384, 65536, 100000), -EINVAL);         /* max < 2 avg */
        CHECK_EQ(cdc_init(&c, 16384, 65536, 8u << 20), -EINVAL);       /* max too large */
        CHECK_EQ(cdc_init(&c, 0, 0, 0), -EINVAL);
        CHECK_EQ(cdc_init(&c, 1024, 4096, 16384), 0);
}

/* However the input is split into buffers, the cut points are the same. */
TEST(deterministic) {
        size_t size = 8u << 20, n1, n2, n3;
        _cleanup_free_ uint8_t *data = malloc(size);
        _cleanup_free_ uint64_t *a = calloc(MAX_CUTS, sizeof(uint64_t));
        _cleanup_free_ uint64_t *b = calloc(MAX_CUTS, sizeof(uint64_t));
        _cleanup_free_ uint64_t *d = calloc(MAX_CUTS, sizeof(uint64_t));
        Cdc c;

        CHECK(data && a && b && d);
        if (!data || !a || !b || !d)
                return;
        fill_random(data, size, 1);
        CHECK_EQ(cdc_init_default(&c), 0);
        n1 = cut_all(&c, data, size, size, a);
        n2 = cut_all(&c, data, size, 0, b);
        n3 = cut_all(&c, data, size, 1, d); /* byte by byte */
        CHECK(n1 > 1 && n1 <= MAX_CUTS);
        CHECK_EQ(n1, n2);
        CHECK_EQ(n1, n3);
        CHECK(memcmp(a, b, n1 * sizeof(uint64_t)) == 0);
        CHECK(memcmp(a, d, n1 * sizeof(uint64_t)) == 0);
}

static void check_bounds(const uint8_t *data, size_t size, bool expect_average) {
        _cleanup_free_ uint64_t *lens = calloc(MAX_CUTS, sizeof(uint64_t));
        uint64_t total = 0;
        size_t n;
        Cdc c;

        CHECK(lens);
        if (!lens)
                return;
        CHECK_EQ(cdc_init_default(&c), 0);
        n = cut_all(&c, data, size, 0, lens);
        CHECK(n > 0 && n <= MAX_CUTS);
        for (size_t i = 0; i < n && i < MAX_CUTS; i++) {
                total += lens[i];
                CHECK(lens[i] <= CDC_MAX_DEFAULT);
                if (i + 1 < n)
                        CHECK(lens[i] >= CDC_MIN_DEFAULT);
        }
        CHECK_EQ(total, size);
        /* Normalized chunking keeps the mean near avg on random data (measured: ~70 KiB). */
        if (expect_average && n > 1) {
                uint64_t mean = size / n;

                unit_diag("%zu chunks, mean %" PRIu64 " bytes", n, mean);
                CHECK(mean > CDC_AVG_DEFAULT / 2 && mean < CDC_AVG_DEFAULT * 2);
        }
}

TEST(bounds_random) {
        size_t size = 32u << 20;
        _cleanup_free_ uint8_t *data = malloc(size);

        CHECK(data);
        if (!data)
                return;
        fill_random(data, size, 2);
        check_bounds(data, size, true);
}

/* All zeros: the hash runs into a fixed point, so either every position cuts or none does;
 * every chunk must still be within bounds, and all but the last the same length. */
TEST(bounds_zero) {
        size_t size = 8u << 20, n;
        _cleanup_free_ uint8_t *data = calloc(1, size);
        _cleanup_free_ uint64_t *lens = calloc(MAX_CUTS, sizeof(uint64_t));
        Cdc c;

        CHECK(data && lens);
        if (!data || !lens)
                return;
        check_bounds(data, size, false);
        CHECK_EQ(cdc_init_default(&c), 0);
        n = cut_all(&c, data, size, 0, lens);
        CHECK(n >= size / CDC_MAX_DEFAULT);
        for (size_t i = 1; i + 1 < n && i < MAX_CUTS; i++)
                CHECK_EQ(lens[i], lens[0]);
}

/* Short input, shorter than min: one chunk, the whole input. */
TEST(short_input) {
        uint8_t buf[1000];
        size_t consumed = 0;
        Cdc c;

        fill_random(buf, sizeof(buf), 3);
        CHECK_EQ(cdc_init_default(&c), 0);
        CHECK_EQ(cdc_feed(&c, buf, sizeof(buf), &consumed), 0);
        CHECK_EQ(consumed, sizeof(buf));
        CHECK_EQ(cdc_pending(&c), sizeof(buf));
        CHECK_EQ(cdc_feed(&c, buf, 0, &consumed), 0);
        CHECK_EQ(consumed, 0);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

/* Cut offsets (ends of chunks) of the input; sorted by construction. */
static size_t cut_offsets(const uint8_t *data, size_t size, uint64_t *offs) {
        size_t n;
        Cdc c;

        if (cdc_init_default(&c) < 0)
                return 0;
        n = cut_all(&c, data, size, 0, offs);
        for (size_t i = 1; i < n && i < MAX_CUTS; i++)
                offs[i] += offs[i - 1];
        return n < MAX_CUTS ? n : MAX_CUTS;
}

/* 4 KiB inserted at the front (as mkfs.ext4 -d shifts files), and 100 bytes deleted in the
 * middle: after a chunk or two the cut points are the old ones, shifted. */
static void check_resync(size_t shift_at, ssize_t delta) {
        size_t size = 16u << 20, na, nb, same = 0;
        _cleanup_free_ uint8_t *a = malloc(size);
        _cleanup_free_ uint8_t *b = malloc(size + 4096);
        _cleanup_free_ uint64_t *oa = calloc(MAX_CUTS, sizeof(uint64_t));
        _cleanup_free_ uint64_t *ob = calloc(MAX_CUTS, sizeof(uint64_t));
        size_t size_b;

        CHECK(a && b && oa && ob);
        if (!a || !b || !oa || !ob)
                return;
        fill_random(a, size, 4);
        memcpy(b, a, shift_at);
        if (delta > 0) {
                fill_random(b + shift_at, (size_t) delta, 5);
                memcpy(b + shift_at + delta, a + shift_at, size - shift_at);
        } else
                memcpy(b + shift_at, a + shift_at - delta, size - shift_at + delta);
        size_b = size + delta;
        na = cut_offsets(a, size, oa);
        nb = cut_offsets(b, size_b, ob);
        CHECK(na > 100 && nb > 100);
        for (size_t i = 0; i < na; i++) {
                uint64_t want = oa[i] >= shift_at ? oa[i] + delta : oa[i];

                if (bsearch(&want, ob, nb, sizeof(uint64_t), cmp_u64))
                        same++;
        }
        unit_diag("shift %zd at %zu: %zu of %zu cut points kept", delta, shift_at, same, na);
        CHECK(same + 3 >= na);
}

TEST(resync_insert_front) {
        check_resync(0, 4096);
}

TEST(resync_delete_middle) {
        check_resync(5u << 20, -100);
}

/* The cut points of a fixed input, pinned: they are part of the bundle format. */
TEST(golden) {
        size_t size = 4u << 20, n;
        _cleanup_free_ uint8_t *data = malloc(size);
        _cleanup_free_ uint64_t *lens = calloc(MAX_CUTS, sizeof(uint64_t));
        uint8_t digest[SHA256_SIZE];
        char hex[SHA256_HEX_SIZE];
        Cdc c;

        CHECK(data && lens);
        if (!data || !lens)
                return;
        fill_random(data, size, 6);
        CHECK_EQ(cdc_init_default(&c), 0);
        n = cut_all(&c, data, size, 0, lens);
        CHECK(n > 0 && n < MAX_CUTS);
        for (size_t i = 0; i < n; i++)
                lens[i] = htole64(lens[i]);
        CHECK_EQ(sha256_buffer(lens, n * sizeof(uint64_t), digest), 0);
        for (size_t i = 0; i < SHA256_SIZE; i++)
                sprintf(hex + 2 * i, "%02x", digest[i]);
        unit_diag("%zu chunks, lengths sha256 %s", n, hex);
        CHECK_STREQ(hex, CDC_GOLDEN);
}

UNIT_MAIN_BEGIN("test-cdc")
        RUN(init_bounds);
        RUN(deterministic);
        RUN(bounds_random);
        RUN(bounds_zero);
        RUN(short_input);
        RUN(resync_insert_front);
        RUN(resync_delete_middle);
        RUN(golden);
UNIT_MAIN_END
