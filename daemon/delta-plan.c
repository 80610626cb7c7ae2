/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "delta-plan.h"
#include "macro.h"

typedef struct Gap {
        uint64_t bytes;   /* stored bytes of the chunks between range i and i + 1 */
        size_t index;     /* i */
} Gap;

static int gap_cmp(const void *a, const void *b) {
        const Gap *x = a, *y = b;

        if (x->bytes != y->bytes)
                return x->bytes < y->bytes ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Merging two ranges removes the gap between them and changes no other gap, so "merge the
 * smallest gap while there are too many" is the same as merging the k smallest gaps at once:
 * one sort, O(n log n), instead of a search per merge. */
static size_t merge_smallest_gaps(DeltaRange *runs, size_t n_runs, const uint32_t *stored_size, size_t max_ranges,
                                  int *ret_error) {
        _cleanup_free_ Gap *gaps = NULL;
        _cleanup_free_ uint8_t *merge = NULL;
        size_t k = n_runs - max_ranges, out = 0;

        gaps = calloc(n_runs - 1, sizeof(*gaps));
        merge = calloc(n_runs - 1, 1);
        if (!gaps || !merge) {
                *ret_error = -ENOMEM;
                return 0;
        }
        for (size_t i = 0; i + 1 < n_runs; i++) {
                uint64_t bytes = 0;

                for (uint64_t c = runs[i].first + runs[i].count; c < runs[i + 1].first; c++)
                        bytes += stored_size[c];
                gaps[i] = (Gap) { bytes, i };
        }
        qsort(gaps, n_runs - 1, sizeof(*gaps), gap_cmp);
        for (size_t i = 0; i < k; i++)
                merge[gaps[i].index] = 1;

        for (size_t i = 0; i < n_runs; i++) {
                if (i > 0 && merge[i - 1])
                        runs[out - 1].count = runs[i].first + runs[i].count - runs[out - 1].first;
                else
                        runs[out++] = runs[i];
        }
        *ret_error = 0;
        return out;
}

int delta_plan_ranges(const uint8_t *missing, const uint32_t *stored_size, uint64_t n, size_t max_ranges,
                      DeltaRange **ret_ranges, size_t *ret_n) {
        _cleanup_free_ DeltaRange *runs = NULL;
        size_t n_runs = 0, allocated = 0;
        int r;

        if ((n > 0 && (!missing || !stored_size)) || max_ranges == 0 || !ret_ranges || !ret_n)
                return -EINVAL;

        for (uint64_t i = 0; i < n; i++) {
                if (!missing[i])
                        continue;
                if (n_runs > 0 && runs[n_runs - 1].first + runs[n_runs - 1].count == i) {
                        runs[n_runs - 1].count++;
                        continue;
                }
                if (n_runs == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 64);
                        DeltaRange *p = reallocarray(runs, a, sizeof(*runs));

                        if (!p)
                                return -ENOMEM;
                        runs = p;
                        allocated = a;
                }
                runs[n_runs++] = (DeltaRange) { i, 1 };
        }

        if (n_runs > max_ranges) {
                n_runs = merge_smallest_gaps(runs, n_runs, stored_size, max_ranges, &r);
                if (r < 0)
                        return r;
        }
        *ret_ranges = n_runs > 0 ? TAKE_PTR(runs) : NULL;
        *ret_n = n_runs;
        return 0;
}
