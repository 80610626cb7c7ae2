/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content-defined chunking (bundle format 2, docs/bundle-format.md "Format 2"): a gear rolling
 * hash with FastCDC's normalized chunking.  A cut depends only on the bytes of the current
 * chunk, so after an insertion or deletion the cut points fall back onto the old ones within a
 * chunk or two, and a device can cut its own slot data the same way to find what it already
 * has.  Pure and deterministic (a fixed gear table in cdc.c: every build, every architecture
 * cuts the same), streaming (feed any buffers, get cut points), constant memory (the state is
 * this struct).
 *
 * Cut points are part of the bundle format: changing the table, the masks or the default sizes
 * changes every bundle's chunks, and a device's seeding would then match nothing.  Do not. */

/* Defaults: 16 KiB / 64 KiB / 256 KiB, casync's sizes, which the measurements of issue #13
 * found the best trade of reuse (small chunks survive more edits) against table size and per-
 * frame compression loss (docs/bundle-format.md, "Choosing the chunk sizes"). */
#define CDC_MIN_DEFAULT (UINT32_C(16) << 10)
#define CDC_AVG_DEFAULT (UINT32_C(64) << 10)
#define CDC_MAX_DEFAULT (UINT32_C(256) << 10)
/* Bounds on what cdc_init() accepts: the average a power of two, min <= avg/2 ... */
#define CDC_MIN_LOWEST  (UINT32_C(1) << 10)   /* below this, the 64-byte window dominates */
#define CDC_MAX_HIGHEST (UINT32_C(4) << 20)   /* the zstd decoder window of format 1 (chunk.c) */

typedef struct Cdc {
        uint64_t hash;
        uint64_t mask_small;    /* before avg bytes: harder to cut (more bits) */
        uint64_t mask_large;    /* after avg bytes: easier to cut (fewer bits) */
        uint32_t min, avg, max;
        uint32_t pos;           /* bytes of the current chunk seen so far */
} Cdc;

/* min <= avg / 2, avg a power of two, avg * 2 <= max <= CDC_MAX_HIGHEST, min >= CDC_MIN_LOWEST;
 * otherwise -EINVAL (and *c untouched). */
int cdc_init(Cdc *c, uint32_t min, uint32_t avg, uint32_t max);
static inline int cdc_init_default(Cdc *c) {
        return cdc_init(c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT);
}
/* Forgets the current chunk (as after a cut); the sizes stay. */
void cdc_reset(Cdc *c);

/* Scans data[0..size).  Returns 1 if the current chunk ends inside it, after *ret_consumed
 * bytes (1 .. size): the chunk is everything fed since the last cut up to there, and the state
 * is ready for the next chunk (feed the rest of the buffer again).  Returns 0 if no chunk ends
 * in it (*ret_consumed = size).  At the end of the input, the bytes fed since the last cut
 * (cdc_pending(), maybe fewer than min) are the last chunk. */
int cdc_feed(Cdc *c, const void *data, size_t size, size_t *ret_consumed);
static inline uint32_t cdc_pending(const Cdc *c) {
        return c->pos;
}
