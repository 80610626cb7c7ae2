/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two pure parts of a delta install (issue #13): the seed index (daemon/seed.c: a real file
 * cut with the real chunker, every chunk found where a whole-buffer cut puts it, the target
 * slot's write-position rule, the entry cap, cancel, a file shorter than asked) and the fetch
 * planner (daemon/delta-plan.c: adjacent chunks coalesced, the range bound met by merging the
 * smallest gaps, every missing chunk still covered). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc.h"
#include "chunk.h"
#include "delta-plan.h"
#include "macro.h"
#include "seed.h"
#include "unit.h"

#define KIB 1024u
static char path[] = "/tmp/test-delta-seed.XXXXXX";
static uint8_t *data;
static const size_t data_size = (3u << 20) + 4321; /* not a multiple of SEED_BLOCK_SIZE */
static int fd = -1;

/* The reference: the whole buffer cut in one go, each chunk hashed on its own. */
typedef struct Ref {
        uint64_t offset;
        uint32_t size;
        uint8_t sha[SHA256_SIZE];
} Ref;

static size_t reference_cut(Ref *refs, size_t max) {
        size_t n = 0, off = 0, start = 0;
        Cdc c;

        if (cdc_init(&c, 16 * KIB, 64 * KIB, 256 * KIB) < 0)
                return 0;
        while (off < data_size && n < max) {
                size_t used;

                if (cdc_feed(&c, data + off, data_size - off, &used) == 0) {
                        off = data_size;
                        break;
                }
                off += used;
                refs[n].offset = start;
                refs[n].size = (uint32_t) (off - start);
                (void) sha256_buffer(data + start, off - start, refs[n].sha);
                n++;
                start = off;
        }
        if (start < data_size && n < max) {
                refs[n].offset = start;
                refs[n].size = (uint32_t) (data_size - start);
                (void) sha256_buffer(data + start, data_size - start, refs[n].sha);
                n++;
        }
        return n;
}

TEST(seed_finds_every_chunk) {
        _cleanup_(seed_index_freep) SeedIndex *idx = NULL;
        static Ref refs[512];
        size_t n = reference_cut(refs, ELEMENTSOF(refs));
        uint64_t sum = 0, repeats = 0;

        CHECK(n > 10);
        CHECK_EQ(seed_index_new(16 * KIB, 64 * KIB, 256 * KIB, 0, &idx), 0);
        CHECK_EQ(seed_index_add(idx, fd, data_size, SEED_BOOTED, NULL), 0);
        seed_index_sort(idx);
        CHECK_EQ(seed_index_entries(idx), n);
        CHECK(!seed_index_truncated(idx));
        CHECK_EQ(seed_index_bytes(idx, SEED_BOOTED), data_size);
        for (size_t i = 0; i < n; i++) {
                const SeedEntry *e = seed_index_find(idx, refs[i].sha, refs[i].size, 0);

                CHECK(e);
                if (!e)
                        continue;
                CHECK_EQ(e->size, refs[i].size);
                /* A repeated chunk is found at its first place: the same bytes. */
                if (e->offset != refs[i].offset) {
                        CHECK(e->offset < refs[i].offset);
                        CHECK(memcmp(data + e->offset, data + refs[i].offset, refs[i].size) == 0);
                        repeats++;
                }
                CHECK_EQ(e->source, SEED_BOOTED);
                sum += e->size;
                /* The size is part of the match: a prefix hit of another size is no hit. */
                CHECK(!seed_index_find(idx, refs[i].sha, refs[i].size + 1, 0));
        }
        CHECK_EQ(sum, data_size);
        CHECK(repeats > 0); /* the copied MiB resynchronised into equal chunks */
}

TEST(seed_target_ahead_only) {
        _cleanup_(seed_index_freep) SeedIndex *idx = NULL;
        static Ref refs[512];
        const Ref *r = &refs[1]; /* in the first MiB, which is not repeated */
        const SeedEntry *e;

        CHECK(reference_cut(refs, ELEMENTSOF(refs)) > 2);
        CHECK_EQ(seed_index_new(16 * KIB, 64 * KIB, 256 * KIB, 0, &idx), 0);
        CHECK_EQ(seed_index_add(idx, fd, data_size, SEED_TARGET, NULL), 0);
        seed_index_sort(idx);
        /* At or ahead of the write position: offered; behind it (already overwritten): not. */
        e = seed_index_find(idx, r->sha, r->size, r->offset);
        CHECK(e && e->source == SEED_TARGET && e->offset == r->offset);
        CHECK(!seed_index_find(idx, r->sha, r->size, r->offset + 1));
        /* The booted slot, when it has the chunk, is preferred whatever the write position. */
        CHECK_EQ(seed_index_add(idx, fd, data_size, SEED_BOOTED, NULL), 0);
        seed_index_sort(idx);
        e = seed_index_find(idx, r->sha, r->size, 0);
        CHECK(e && e->source == SEED_BOOTED);
        e = seed_index_find(idx, r->sha, r->size, UINT64_MAX);
        CHECK(e && e->source == SEED_BOOTED);
}

TEST(seed_cap_cancel_short) {
        _cleanup_(seed_index_freep) SeedIndex *idx = NULL, *idx2 = NULL, *idx3 = NULL;
        atomic_bool cancel = true;

        CHECK_EQ(seed_index_new(16 * KIB, 64 * KIB, 256 * KIB, 5, &idx), 0);
        CHECK_EQ(seed_index_add(idx, fd, data_size, SEED_BOOTED, NULL), 0);
        CHECK_EQ(seed_index_entries(idx), 5);
        CHECK(seed_index_truncated(idx));
        CHECK(seed_index_bytes(idx, SEED_BOOTED) < data_size);
        CHECK(seed_index_bytes(idx, SEED_BOOTED) >= 5 * 16 * KIB);

        CHECK_EQ(seed_index_new(16 * KIB, 64 * KIB, 256 * KIB, 0, &idx2), 0);
        CHECK_EQ(seed_index_add(idx2, fd, data_size, SEED_BOOTED, &cancel), -ECANCELED);

        /* Asked for more than the file holds: indexed to its end, the last chunk included. */
        CHECK_EQ(seed_index_new(16 * KIB, 64 * KIB, 256 * KIB, 0, &idx3), 0);
        CHECK_EQ(seed_index_add(idx3, fd, data_size + (8u << 20), SEED_BOOTED, NULL), 0);
        CHECK_EQ(seed_index_bytes(idx3, SEED_BOOTED), data_size);
        CHECK_EQ(seed_index_new(1, 64 * KIB, 256 * KIB, 0, &idx3), -EINVAL);
}

static void plan(const char *pattern, const uint32_t *sizes, size_t max, DeltaRange **r, size_t *n) {
        size_t len = strlen(pattern);
        uint8_t missing[256];
        uint32_t ones[256];

        for (size_t i = 0; i < len; i++) {
                missing[i] = pattern[i] == 'x';
                ones[i] = 1;
        }
        CHECK_EQ(delta_plan_ranges(missing, sizes ?: ones, len, max, r, n), 0);
}

TEST(plan_coalesces_adjacent) {
        _cleanup_free_ DeltaRange *r = NULL;
        size_t n = 99;

        plan("....", NULL, 10, &r, &n);
        CHECK_EQ(n, 0);
        CHECK(!r);
        plan(".xx.x..xxx", NULL, 10, &r, &n);
        CHECK_EQ(n, 3);
        CHECK(r && r[0].first == 1 && r[0].count == 2);
        CHECK(r && r[1].first == 4 && r[1].count == 1);
        CHECK(r && r[2].first == 7 && r[2].count == 3);
        free(r);
        r = NULL;
        plan("xxxx", NULL, 1, &r, &n);
        CHECK(n == 1 && r[0].first == 0 && r[0].count == 4);
        CHECK_EQ(delta_plan_ranges((uint8_t[]) { 1 }, (uint32_t[]) { 1 }, 1, 0, &r, &n), -EINVAL);
}

TEST(plan_merges_smallest_gap) {
        _cleanup_free_ DeltaRange *r = NULL;
        /*                          x  .    .    x  .   x  .   x */
        const uint32_t sizes[] = { 1, 100, 100, 1, 30, 1, 20, 1 };
        size_t n;

        /* Gaps: 200 (0-3), 30 (3-5), 20 (5-7).  Two ranges: the 20 goes, then the 30. */
        plan("x..x.x.x", sizes, 3, &r, &n);
        CHECK_EQ(n, 3);
        CHECK(r[0].first == 0 && r[0].count == 1);
        CHECK(r[1].first == 3 && r[1].count == 1);
        CHECK(r[2].first == 5 && r[2].count == 3);
        free(r);
        r = NULL;
        plan("x..x.x.x", sizes, 2, &r, &n);
        CHECK_EQ(n, 2);
        CHECK(r[0].first == 0 && r[0].count == 1);
        CHECK(r[1].first == 3 && r[1].count == 5);
        free(r);
        r = NULL;
        /* Equal gaps: the earlier one is merged first. */
        plan("x.x.x", NULL, 2, &r, &n);
        CHECK(n == 2 && r[0].first == 0 && r[0].count == 3 && r[1].first == 4);
}

/* Many runs: exactly DELTA_MAX_RANGES ranges, in order, disjoint, covering every missing chunk,
 * and the chunks fetched beyond the missing ones are the smallest gaps. */
TEST(plan_bound_large) {
        enum { N = 20000 };
        _cleanup_free_ uint8_t *missing = calloc(N, 1);
        _cleanup_free_ uint32_t *sizes = calloc(N, sizeof(uint32_t));
        _cleanup_free_ DeltaRange *r = NULL;
        uint64_t covered = 0, extra = 0, want_extra = 0;
        size_t n, runs = 0;

        CHECK(missing && sizes);
        if (!missing || !sizes)
                return;
        for (size_t i = 0; i < N; i++) {
                missing[i] = i % 4 == 0;         /* 5000 runs of one chunk, gaps of 3 */
                sizes[i] = 1000 + (uint32_t) (i * 7919 % 5000);
                runs += missing[i];
        }
        CHECK_EQ(delta_plan_ranges(missing, sizes, N, DELTA_MAX_RANGES, &r, &n), 0);
        CHECK_EQ(n, DELTA_MAX_RANGES);
        for (size_t i = 0; i < n; i++) {
                CHECK(r[i].count >= 1);
                if (i > 0)
                        CHECK(r[i].first > r[i - 1].first + r[i - 1].count);
                for (uint64_t c = r[i].first; c < r[i].first + r[i].count; c++) {
                        covered += missing[c];
                        extra += missing[c] ? 0 : sizes[c];
                }
                CHECK(missing[r[i].first] && missing[r[i].first + r[i].count - 1]);
        }
        CHECK_EQ(covered, runs);
        /* The best possible: the (runs - bound) cheapest of the gaps, summed. */
        {
                _cleanup_free_ uint64_t *gaps = calloc(runs, sizeof(uint64_t));
                size_t g = 0;

                for (size_t i = 0; i + 4 < N; i += 4)
                        gaps[g++] = (uint64_t) sizes[i + 1] + sizes[i + 2] + sizes[i + 3];
                for (size_t k = 0; k < runs - DELTA_MAX_RANGES; k++) {
                        size_t best = 0;

                        for (size_t i = 1; i < g; i++)
                                if (gaps[i] < gaps[best])
                                        best = i;
                        want_extra += gaps[best];
                        gaps[best] = UINT64_MAX;
                }
        }
        CHECK_EQ(extra, want_extra);
}

UNIT_MAIN_BEGIN("test-delta-seed")
        fd = mkstemp(path);
        data = malloc(data_size);
        if (fd < 0 || !data) {
                unit_fail_case("setup");
                return 1;
        }
        (void) unlink(path);
        /* Fixed pseudo-random bytes (SHA-256 of a counter), so that every run cuts the same. */
        for (uint64_t i = 0; i * SHA256_SIZE < data_size; i++) {
                uint8_t h[SHA256_SIZE];

                (void) sha256_buffer(&i, sizeof(i), h);
                memcpy(data + i * SHA256_SIZE, h, MIN((size_t) SHA256_SIZE, data_size - i * SHA256_SIZE));
        }
        /* Some repeats: the same content at two offsets is two entries of one key. */
        memcpy(data + (2u << 20), data + (1u << 20), 1u << 20);
        if (write(fd, data, data_size) != (ssize_t) data_size) {
                unit_fail_case("setup");
                return 1;
        }
        RUN(seed_finds_every_chunk);
        RUN(seed_target_ahead_only);
        RUN(seed_cap_cancel_short);
        RUN(plan_coalesces_adjacent);
        RUN(plan_merges_smallest_gap);
        RUN(plan_bound_large);
        free(data);
        close(fd);
UNIT_MAIN_END
