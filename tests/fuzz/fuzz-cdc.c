/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cdc_feed() (lib/cdc.c), the chunker of bundle format 2, on any input: the first byte picks
 * the sizes, the second how the rest is split into buffers.  Every chunk but the last is
 * within min .. max, the chunks add up to the input, and the cut points are the same whether
 * the input comes in one buffer or in pieces (the streaming promise the reader and the seeding
 * of a device rely on). */
#include <stdlib.h>
#include <string.h>

#include "cdc.h"
#include "fuzz.h"

#define MAX_CUTS 8192

static const struct { uint32_t min, avg, max; } sizes[] = {
        { CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT },
        { 1024, 2048, 4096 },   /* small, so that a fuzz input spans many chunks */
        { 1024, 4096, 16384 },
        { 2048, 8192, 65536 },
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

/* Cut offsets of data fed in pieces: 0 = one buffer, else piece sizes from the input itself. */
static size_t cut(Cdc *c, const uint8_t *data, size_t size, uint8_t split, uint64_t *offs) {
        size_t n = 0, off = 0, k = 0;

        cdc_reset(c);
        while (off < size) {
                size_t want = split == 0 ? size - off : 1 + (size_t) data[k++ % size] * split;
                size_t consumed = 0;
                int r;

                if (want > size - off)
                        want = size - off;
                r = cdc_feed(c, data + off, want, &consumed);
                FUZZ_ASSERT(r == 0 || r == 1);
                FUZZ_ASSERT(r == 0 ? consumed == want : consumed >= 1 && consumed <= want);
                off += consumed;
                if (r == 1) {
                        FUZZ_ASSERT(n < MAX_CUTS);
                        offs[n++] = off;
                }
        }
        FUZZ_ASSERT(cdc_pending(c) == size - (n ? offs[n - 1] : 0));
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint64_t a[MAX_CUTS], b[MAX_CUTS];
        uint64_t prev = 0;
        size_t na, nb;
        uint8_t split;
        Cdc c;

        if (size < 2)
                return 0;
        FUZZ_ASSERT(cdc_init(&c, sizes[data[0] % 4].min, sizes[data[0] % 4].avg,
                             sizes[data[0] % 4].max) == 0);
        split = data[1];
        data += 2;
        size -= 2;
        na = cut(&c, data, size, 0, a);
        nb = cut(&c, data, size, split ? split : 1, b);
        FUZZ_ASSERT(na == nb);
        FUZZ_ASSERT(memcmp(a, b, na * sizeof(uint64_t)) == 0);
        for (size_t i = 0; i < na; i++) {
                FUZZ_ASSERT(a[i] - prev >= c.min && a[i] - prev <= c.max);
                prev = a[i];
        }
        FUZZ_ASSERT(size - prev <= c.max);
        return 0;
}
