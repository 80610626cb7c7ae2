/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The fetch plan of a delta install (issue #13): which runs of an image's chunks to fetch from
 * the bundle with one Range each.  Pure: chunk flags and stored sizes in, ranges out. */

/* Ranges per image at most.  Each is an HTTP request (a round trip and ~500 bytes of headers
 * each way) and a seek; issue #13's goal is at most 200 ranges for a package upgrade.  Beyond
 * it, the two ranges with the smallest gap between them become one, fetching the gap's chunks
 * too: the bytes wasted are the fewest possible for the range count. */
#define DELTA_MAX_RANGES 200

typedef struct DeltaRange {
        uint64_t first;   /* chunk index */
        uint64_t count;   /* chunks, >= 1 */
} DeltaRange;

/* missing[i] != 0: chunk i must be fetched.  stored_size[i]: its stored size (the gap cost).
 * Adjacent missing chunks are one range; then, while there are more than max_ranges (>= 1),
 * the neighbours with the smallest gap in stored bytes are merged (the earlier gap first on a
 * tie).  *ret_ranges (NULL when nothing is missing) in chunk order.  -EINVAL, -ENOMEM. */
int delta_plan_ranges(const uint8_t *missing, const uint32_t *stored_size, uint64_t n, size_t max_ranges,
                      DeltaRange **ret_ranges, size_t *ret_n);
