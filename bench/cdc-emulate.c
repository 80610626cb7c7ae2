/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cdc-emulate: what a chunked delta install of NEW would fetch on a device that holds OLD.
 * Used by bench/bench-delta.sh for two columns:
 *   --fixed SIZE       fixed-size chunks, as bundle format 1 cuts them (a device matches a
 *                      chunk by its hash wherever it sits in OLD: the best format 1 allows);
 *   --cdc MIN AVG MAX  format 2's content-defined chunker, lib/cdc.c itself (linked, not
 *                      copied, so that the emulated column cuts where a format 2 bundle
 *                      does); its rules for the sizes apply (lib/cdc.h, cdc_init()).
 * Every distinct chunk of NEW is stored once, in order of first appearance, compressed on its
 * own at --level; the chunks OLD also has are reused, the others are fetched, and a run of
 * fetched chunks that are neighbours in that order is one HTTP range.  Prints one line of
 * key=value pairs.  Not shipped, not a test: a measuring tool (bench/README.md).
 *
 * Build: cc -O2 -Wall -Wextra -Ilib -o cdc-emulate bench/cdc-emulate.c bench/emulate-util.c lib/cdc.c -lzstd -lcrypto
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zstd.h>

#include "cdc.h"
#include "emulate-util.h"

/* Sizes on the command line: chunk sizes up to 64 MiB, none zero. */
#define SIZE_ARG_MAX (UINT64_C(64) << 20)

typedef struct Chunker {
        bool fixed;
        size_t size;    /* --fixed */
        Cdc cdc;        /* --cdc: as cdc_init() left it, copied fresh for every chunk */
} Chunker;

static int chunker_init(Chunker *c, bool fixed, size_t min, size_t avg, size_t max) {
        *c = (Chunker) { .fixed = fixed, .size = avg };
        if (fixed)
                return avg == 0 ? -EINVAL : 0;
        return cdc_init(&c->cdc, (uint32_t) min, (uint32_t) avg, (uint32_t) max);
}

/* Length of the chunk that starts at p (n bytes left). */
static size_t chunker_next(const Chunker *c, const unsigned char *p, size_t n) {
        Cdc cdc = c->cdc;
        size_t len;

        if (c->fixed)
                return n < c->size ? n : c->size;
        /* No cut in what is left: it is the image's last chunk, as cdc_pending() says. */
        return cdc_feed(&cdc, p, n, &len) > 0 ? len : n;
}

static int index_old(const Chunker *c, const Image *img, Set *set) {
        for (size_t off = 0; off < img->size;) {
                size_t len = chunker_next(c, img->p + off, img->size - off);
                Digest d;
                int r;

                SHA256(img->p + off, len, d.b);
                r = set_add(set, &d);
                if (r < 0)
                        return r;
                off += len;
        }
        return 0;
}

typedef struct Result {
        uint64_t chunks, distinct, missing, missing_raw, missing_stored, ranges, reused_raw;
        size_t min_len, max_len;
} Result;

static int delta_new(const Chunker *c, const Image *img, const Set *old, int level, Result *ret) {
        Result res = { .min_len = SIZE_MAX };
        Set seen = {};
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        size_t bound = ZSTD_compressBound(c->fixed ? c->size : c->cdc.max);
        void *buf = malloc(bound);
        bool in_run = false;
        int r = 0;

        if (!cctx || !buf) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t off = 0; off < img->size;) {
                size_t len = chunker_next(c, img->p + off, img->size - off);
                Digest d;

                SHA256(img->p + off, len, d.b);
                res.chunks++;
                res.min_len = len < res.min_len ? len : res.min_len;
                res.max_len = len > res.max_len ? len : res.max_len;
                r = set_add(&seen, &d);
                if (r < 0)
                        goto out;
                if (r == 0) { /* stored once, at its first place; written again from there */
                        res.reused_raw += len;
                } else if (set_has(old, &d)) {
                        res.distinct++;
                        res.reused_raw += len;
                        in_run = false;
                } else {
                        size_t z = ZSTD_compressCCtx(cctx, buf, bound, img->p + off, len, level);

                        if (ZSTD_isError(z)) {
                                fprintf(stderr, "cdc-emulate: zstd: %s\n", ZSTD_getErrorName(z));
                                r = -EIO;
                                goto out;
                        }
                        res.distinct++;
                        res.missing++;
                        res.missing_raw += len;
                        res.missing_stored += z;
                        if (!in_run)
                                res.ranges++;
                        in_run = true;
                }
                off += len;
        }
        *ret = res;
        r = 0;
out:
        set_done(&seen);
        ZSTD_freeCCtx(cctx);
        free(buf);
        return r;
}

static int usage(void) {
        fprintf(stderr, "usage: cdc-emulate --fixed SIZE | --cdc MIN AVG MAX  [--level N] OLD NEW\n"
                        "  sizes in bytes or with K/M, e.g. --cdc 16K 64K 256K --level 19\n");
        return 2;
}

int main(int argc, char **argv) {
        size_t min = 0, avg = 0, max = 0;
        bool fixed = false;
        int level = 3, i = 1, r;
        Chunker c;
        Image old, new;
        Set old_set = {};
        Result res = {};

        if (argc > 2 && !strcmp(argv[i], "--fixed")) {
                fixed = true;
                if (parse_size(argv[2], 1, SIZE_ARG_MAX, &avg) < 0)
                        return usage();
                min = max = avg;
                i = 3;
        } else if (argc > 4 && !strcmp(argv[i], "--cdc")) {
                if (parse_size(argv[2], 1, SIZE_ARG_MAX, &min) < 0 || parse_size(argv[3], 1, SIZE_ARG_MAX, &avg) < 0 ||
                    parse_size(argv[4], 1, SIZE_ARG_MAX, &max) < 0)
                        return usage();
                i = 5;
        } else
                return usage();
        if (i + 1 < argc && !strcmp(argv[i], "--level")) {
                level = atoi(argv[i + 1]);
                i += 2;
        }
        if (argc - i != 2 || level < 1 || level > ZSTD_maxCLevel())
                return usage();
        if (chunker_init(&c, fixed, min, avg, max) < 0) {
                fprintf(stderr, "cdc-emulate: --cdc sizes as lib/cdc.h allows: AVG a power of two, "
                                "1K <= MIN <= AVG/2, AVG*2 <= MAX <= 4M\n");
                return 2;
        }
        r = image_map(argv[i], &old);
        if (r < 0) {
                fprintf(stderr, "cdc-emulate: cannot map %s (must be a non-empty file): %s\n", argv[i], strerror(-r));
                return 1;
        }
        r = image_map(argv[i + 1], &new);
        if (r < 0) {
                fprintf(stderr, "cdc-emulate: cannot map %s (must be a non-empty file): %s\n", argv[i + 1], strerror(-r));
                return 1;
        }
        r = index_old(&c, &old, &old_set);
        if (r >= 0)
                r = delta_new(&c, &new, &old_set, level, &res);
        set_done(&old_set);
        if (r < 0) {
                fprintf(stderr, "cdc-emulate: %s\n", strerror(-r));
                return 1;
        }
        printf("chunks=%" PRIu64 " distinct=%" PRIu64 " min_len=%zu max_len=%zu missing=%" PRIu64
               " missing_raw=%" PRIu64 " missing_stored=%" PRIu64 " ranges=%" PRIu64 " reused_raw=%" PRIu64 "\n",
               res.chunks, res.distinct, res.min_len, res.max_len, res.missing, res.missing_raw,
               res.missing_stored, res.ranges, res.reused_raw);
        return 0;
}
