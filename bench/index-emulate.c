/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * index-emulate: two designs for the next bundle format, measured by emulation (issue #13,
 * docs/next-format.md).  Not shipped, not a test.
 *
 *   index-emulate delta --cdc MIN AVG MAX [--groups B,B,...] [--level N] OLD NEW
 *     What a device holding OLD fetches to get NEW, with format 2's chunker (lib/cdc.c, linked)
 *     at the given sizes, and two chunk indexes:
 *       flat:   today's table, 72 bytes per chunk, every entry fetched;
 *       groups: a two-level index.  Chunks are grouped by content: a group ends after a chunk
 *               whose raw SHA-256 has its low B bits zero (first 8 bytes, little endian), or
 *               at 2^B * 4 chunks; never before 2^B / 4 chunks.  Level 1 (always fetched) has
 *               one L1_ENTRY-byte entry per group; level 2 is the group's 72-byte chunk
 *               entries, fetched only for a group the device does not hold whole (its group
 *               identity, a hash over the raw sizes and raw hashes of its chunks, is not one
 *               of OLD's groups).
 *     The payload is what cdc-emulate.c counts: every distinct chunk of NEW stored once, zstd
 *     at --level on its own; missing chunks fetched, neighbours coalesced into one range.  A
 *     chunk of a held group is in OLD, so both indexes fetch the same payload; they differ in
 *     table bytes and ranges only.  Ranges: 1 for the header with the flat table or level 1,
 *     plus runs of neighbouring level-2 blocks, plus runs of neighbouring missing chunks.
 *     --gap G also joins two runs with at most G bytes between them (of reused chunks, as
 *     stored, or of level-2 blocks not needed), fetched and counted in bytes (gap_bytes): one
 *     range instead of two.  Reused chunks are then compressed too, for their stored size.
 *
 *   index-emulate full --cdc MIN AVG MAX --window W [--long] [--level N] [--old OLD]
 *                      [--verify N] IMAGE
 *     The size of a full bundle's payload when every chunk is its own zstd frame compressed
 *     with the W bytes of the image before it as a prefix (ZSTD_CCtx_refPrefix).  W = 0: each
 *     chunk alone, exactly as format 2 does.  W > 0: emulated by one stream with window W
 *     (windowLog = log2 W) flushed at every chunk end, plus a frame header per chunk; the
 *     stream is one pass, where refPrefix per chunk loads W bytes into the level-19 match
 *     finder for every chunk (0.8 s a chunk at W = 4 MiB: hours for a 512 MiB image).  The
 *     stream is a little optimistic (a block may reuse the previous block's entropy tables
 *     and repeat offsets, a frame cannot): --verify N compresses N chunks spread over the
 *     image the real way (refPrefix, each its own frame) and prints both sums, which says how
 *     far the emulation is off and how long the real encoder takes per chunk.  Every chunk is
 *     counted, repeats too (format 2 stores every chunk).  --long adds long-distance matching
 *     (as zstd --long).  --old OLD also prints the stored bytes of NEW's chunks missing from
 *     OLD, each counted once (a delta fetch of frames with a prefix).
 *
 * Build: cc -O2 -Wall -Wextra -Ilib -o index-emulate bench/index-emulate.c bench/emulate-util.c lib/cdc.c -lzstd -lcrypto
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
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zstd.h>

#include "cdc.h"
#include "emulate-util.h"

/* Sizes on the command line (chunks, prefix window, gap): up to 1 GiB; 0 is a valid window or gap. */
#define SIZE_ARG_MAX (UINT64_C(1) << 30)

#define TABLE_ENTRY 72 /* format 2's chunk table entry */
/* Level-1 entry: raw size (8), stored size (8: to find the payload offsets of later groups
 * without their level 2), chunk count (4), pad (4), group identity (32: over raw-derived fields
 * only, so a device computes it from its own slot), SHA-256 of the level-2 block (32: the
 * stored sizes and hashes in it cannot be derived from raw data, so they need their own). */
#define L1_ENTRY 88

typedef struct Chunk {
        uint64_t off;
        uint32_t len;
        Digest raw;
} Chunk;

typedef struct Chunks {
        Chunk *v;
        size_t n;
} Chunks;


/* Every chunk of img as lib/cdc.c cuts it, with its raw SHA-256. */
static int chunk_image(const Cdc *proto, const Image *img, Chunks *ret) {
        Chunks c = {};
        size_t cap = 0;

        for (size_t off = 0; off < img->size;) {
                Cdc cdc = *proto;
                size_t len;

                if (cdc_feed(&cdc, img->p + off, img->size - off, &len) <= 0)
                        len = img->size - off; /* no cut in what is left: the last chunk */
                if (c.n == cap) {
                        Chunk *v = realloc(c.v, (cap = cap ? cap * 2 : 4096) * sizeof(Chunk));
                        if (!v) {
                                free(c.v);
                                return -ENOMEM;
                        }
                        c.v = v;
                }
                c.v[c.n] = (Chunk) { .off = off, .len = (uint32_t) len };
                SHA256(img->p + off, len, c.v[c.n].raw.b);
                c.n++;
                off += len;
        }
        *ret = c;
        return 0;
}

/* Group ends: ends[g] = index after the last chunk of group g.  Content-defined on the chunks'
 * raw hashes, so OLD and NEW group alike where their chunks agree. */
static size_t group_chunks(const Chunks *c, unsigned bits, size_t *ends) {
        uint64_t mask = (UINT64_C(1) << bits) - 1;
        size_t gmin = ((size_t) 1 << bits) / 4, gmax = ((size_t) 1 << bits) * 4, n = 0, start = 0;

        for (size_t i = 0; i < c->n; i++) {
                size_t count = i + 1 - start;

                if ((count >= gmin && (digest_low64(&c->v[i].raw) & mask) == 0) || count == gmax || i + 1 == c->n) {
                        ends[n++] = i + 1;
                        start = i + 1;
                }
        }
        return n;
}

/* The identity of chunks [a, b): SHA-256 over each one's raw size (4 bytes LE) and raw hash. */
static int group_id(const Chunks *c, size_t a, size_t b, Digest *ret) {
        unsigned char *v = malloc((b - a) * 36), *p;

        if (!v)
                return -ENOMEM;
        p = v;
        for (size_t i = a; i < b; i++, p += 36) {
                uint32_t len = c->v[i].len; /* little endian hosts only: a bench */
                memcpy(p, &len, 4);
                memcpy(p + 4, c->v[i].raw.b, 32);
        }
        SHA256(v, (b - a) * 36, ret->b);
        free(v);
        return 0;
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Ranges for fetching the items with want[i] out of n items of size[i] bytes laid out back to
 * back: a run of wanted neighbours is one range, and so are two runs with at most gap bytes of
 * unwanted items between them (fetched too: *ret_extra). */
static uint64_t coalesce(size_t n, const bool *want, const uint32_t *size, uint64_t gap, uint64_t *ret_extra) {
        uint64_t ranges = 0, extra = 0, between = 0;
        bool started = false;

        for (size_t i = 0; i < n; i++) {
                if (!want[i]) {
                        between += size[i];
                        continue;
                }
                if (!started || between > gap)
                        ranges++;
                else
                        extra += between;
                started = true;
                between = 0;
        }
        *ret_extra = extra;
        return ranges;
}

static int cmd_delta(const Cdc *proto, const char *groups, int level, uint64_t gap, const Image *old,
                     const Image *new) {
        Chunks oc = {}, nc = {};
        Set old_set = {}, seen = {};
        bool *fetch = NULL, *want = NULL;
        uint32_t *zsize = NULL, *l2size = NULL;
        size_t *ends = NULL, bound = ZSTD_compressBound(proto->max);
        void *buf = malloc(bound);
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        uint64_t missing = 0, missing_raw = 0, stored = 0, pruns, pextra;
        int r;

        if (!buf || !cctx) {
                r = -ENOMEM;
                goto out;
        }
        r = chunk_image(proto, old, &oc);
        if (r < 0)
                goto out;
        r = chunk_image(proto, new, &nc);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < oc.n; i++)
                if ((r = set_add(&old_set, &oc.v[i].raw)) < 0)
                        goto out;
        fetch = calloc(nc.n, sizeof(bool));
        want = calloc(nc.n, sizeof(bool));
        zsize = calloc(nc.n, sizeof(uint32_t));
        l2size = calloc(nc.n, sizeof(uint32_t));
        ends = calloc(oc.n > nc.n ? oc.n : nc.n, sizeof(size_t));
        if (!fetch || !want || !zsize || !l2size || !ends) {
                r = -ENOMEM;
                goto out;
        }
        /* The payload: the same for both indexes.  A reused chunk's stored size matters only
         * as a gap between fetched ones (--gap): compressed only then. */
        for (size_t i = 0; i < nc.n; i++) {
                const Chunk *ch = &nc.v[i];
                bool reused;
                size_t z;

                if ((r = set_add(&seen, &ch->raw)) < 0)
                        goto out;
                if (r == 0) /* stored once, at its first place: not in the payload again */
                        continue;
                reused = set_has(&old_set, &ch->raw);
                if (reused && !gap) {
                        zsize[i] = 1; /* any gap breaks a run */
                        continue;
                }
                z = ZSTD_compressCCtx(cctx, buf, bound, new->p + ch->off, ch->len, level);
                if (ZSTD_isError(z)) {
                        fprintf(stderr, "index-emulate: zstd: %s\n", ZSTD_getErrorName(z));
                        r = -EIO;
                        goto out;
                }
                zsize[i] = (uint32_t) z;
                if (reused)
                        continue;
                fetch[i] = true;
                missing++;
                missing_raw += ch->len;
                stored += z;
        }
        pruns = coalesce(nc.n, fetch, zsize, gap, &pextra);
        printf("flat chunks=%zu table=%" PRIu64 " missing=%" PRIu64 " missing_raw=%" PRIu64 " payload=%" PRIu64
               " gap=%" PRIu64 " gap_bytes=%" PRIu64 " payload_ranges=%" PRIu64 " bytes=%" PRIu64 " ranges=%" PRIu64
               "\n",
               nc.n, (uint64_t) nc.n * TABLE_ENTRY, missing, missing_raw, stored, gap, pextra, pruns,
               (uint64_t) nc.n * TABLE_ENTRY + stored + pextra, pruns + 1);

        for (const char *g = groups; g && *g;) {
                char *end;
                unsigned long bits = strtoul(g, &end, 10);
                Set held = {};
                size_t ngroups, start = 0, fetched_groups = 0;
                uint64_t l2 = 0, l2runs, l2extra;

                if (end == g || bits < 2 || bits > 12) {
                        r = -EINVAL;
                        goto out;
                }
                g = *end == ',' ? end + 1 : end;
                /* The device's groups: OLD's, grouped the same way. */
                ngroups = group_chunks(&oc, (unsigned) bits, ends);
                for (size_t k = 0; k < ngroups; k++) {
                        Digest id;

                        if ((r = group_id(&oc, start, ends[k], &id)) < 0 || (r = set_add(&held, &id)) < 0) {
                                set_done(&held);
                                goto out;
                        }
                        start = ends[k];
                }
                ngroups = group_chunks(&nc, (unsigned) bits, ends);
                start = 0;
                for (size_t k = 0; k < ngroups; k++) {
                        Digest id;
                        bool need = false;

                        if ((r = group_id(&nc, start, ends[k], &id)) < 0) {
                                set_done(&held);
                                goto out;
                        }
                        l2size[k] = (uint32_t) ((ends[k] - start) * TABLE_ENTRY);
                        if (!set_has(&held, &id)) {
                                fetched_groups++;
                                l2 += l2size[k];
                                need = true;
                        }
                        want[k] = need;
                        /* A held group's chunks are all in OLD: nothing of it is fetched. */
                        for (size_t i = start; i < ends[k]; i++)
                                if (fetch[i] && !need) {
                                        fprintf(stderr, "index-emulate: held group with a missing chunk\n");
                                        r = -EPROTO;
                                        set_done(&held);
                                        goto out;
                                }
                        start = ends[k];
                }
                set_done(&held);
                l2runs = coalesce(ngroups, want, l2size, gap, &l2extra);
                printf("groups bits=%lu groups=%zu chunks_per_group=%.1f level1=%" PRIu64 " fetched_groups=%zu"
                       " level2=%" PRIu64 " level2_ranges=%" PRIu64 " payload=%" PRIu64 " gap=%" PRIu64
                       " gap_bytes=%" PRIu64 " bytes=%" PRIu64 " ranges=%" PRIu64 "\n",
                       bits, ngroups, (double) nc.n / (double) ngroups, (uint64_t) ngroups * L1_ENTRY, fetched_groups,
                       l2, l2runs, stored, gap, pextra + l2extra,
                       (uint64_t) ngroups * L1_ENTRY + l2 + stored + pextra + l2extra, 1 + l2runs + pruns);
        }
        r = 0;
out:
        free(oc.v);
        free(nc.v);
        free(fetch);
        free(want);
        free(zsize);
        free(l2size);
        free(ends);
        free(buf);
        set_done(&old_set);
        set_done(&seen);
        ZSTD_freeCCtx(cctx);
        return r;
}

static int cctx_setup(ZSTD_CCtx *cctx, int level, unsigned wlog, bool ldm) {
        size_t e = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);

        if (!ZSTD_isError(e) && wlog)
                e = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int) wlog);
        if (!ZSTD_isError(e) && ldm)
                e = ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
        if (!ZSTD_isError(e)) /* the format's frames carry their size: as format 2 writes them */
                e = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
        return ZSTD_isError(e) ? -EINVAL : 0;
}

/* One chunk as its own frame with the window bytes before it as the prefix. */
static int frame_with_prefix(ZSTD_CCtx *cctx, const Image *img, const Chunk *ch, size_t window, int level,
                             unsigned wlog, bool ldm, void *buf, size_t bound, size_t *ret) {
        size_t pre = ch->off < window ? ch->off : window, z;

        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
        if (cctx_setup(cctx, level, wlog, ldm) < 0)
                return -EINVAL;
        if (pre && ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, img->p + ch->off - pre, pre)))
                return -EINVAL;
        z = ZSTD_compress2(cctx, buf, bound, img->p + ch->off, ch->len);
        if (ZSTD_isError(z))
                return -EIO;
        *ret = z;
        return 0;
}

static int cmd_full(const Cdc *proto, size_t window, bool ldm, int level, const Image *old, size_t verify,
                    const Image *img) {
        Chunks c = {};
        Set old_set = {};
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        size_t bound = ZSTD_compressBound(proto->max) + 64, cap = ZSTD_compressBound(proto->max) + (1 << 20);
        unsigned char *buf = malloc(cap), *fbuf = malloc(bound);
        uint32_t *sizes = NULL;
        uint64_t total = 0, hdr = 0, missing = 0, missing_raw = 0, missing_stored = 0;
        unsigned wlog = 0;
        double t0, secs;
        int r;

        if (!cctx || !buf || !fbuf) {
                r = -ENOMEM;
                goto out;
        }
        while (window && ((size_t) 1 << wlog) < window)
                wlog++;
        if (window && (((size_t) 1 << wlog) != window || wlog < 10)) {
                r = -EINVAL;
                goto out;
        }
        if ((r = chunk_image(proto, img, &c)) < 0)
                goto out;
        sizes = calloc(c.n, sizeof(uint32_t));
        if (!sizes) {
                r = -ENOMEM;
                goto out;
        }
        if (old) {
                Chunks oc = {};

                if ((r = chunk_image(proto, old, &oc)) < 0)
                        goto out;
                for (size_t i = 0; i < oc.n && r >= 0; i++)
                        r = set_add(&old_set, &oc.v[i].raw);
                free(oc.v);
                if (r < 0)
                        goto out;
        }
        t0 = now_s();
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
        if ((r = cctx_setup(cctx, level, wlog, ldm)) < 0)
                goto out;
        for (size_t i = 0; i < c.n; i++) {
                const Chunk *ch = &c.v[i];
                size_t z;

                if (!window) {
                        z = ZSTD_compress2(cctx, fbuf, bound, img->p + ch->off, ch->len);
                        if (ZSTD_isError(z)) {
                                r = -EIO;
                                goto out;
                        }
                } else {
                        /* The stream's bytes for this chunk (its blocks, flushed at the chunk's
                         * end), plus the header it would have as its own frame: magic (4),
                         * descriptor (1), window (1), content size (1, 2 or 4).  Chunk 0's
                         * bytes hold the stream's own header already. */
                        ZSTD_inBuffer in = { img->p + ch->off, ch->len, 0 };
                        size_t left, pos = 0;

                        do {
                                ZSTD_outBuffer o = { buf + pos, cap - pos, 0 };

                                left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_flush);
                                if (ZSTD_isError(left)) {
                                        r = -EIO;
                                        goto out;
                                }
                                pos += o.pos;
                        } while (left > 0);
                        z = pos;
                        if (i > 0) {
                                size_t h = 4 + 1 + 1 + (ch->len < 256 ? 1 : ch->len < 65792 ? 2 : 4);
                                z += h;
                                hdr += h;
                        }
                }
                sizes[i] = (uint32_t) z;
                total += z;
                /* A chunk NEW repeats is fetched once: the first time it is missing. */
                if (old && (r = set_add(&old_set, &ch->raw)) > 0) {
                        missing++;
                        missing_raw += ch->len;
                        missing_stored += z;
                }
                if (r < 0)
                        goto out;
        }
        secs = now_s() - t0;
        printf("full chunks=%zu window=%zu long=%d level=%d stored=%" PRIu64 " frame_headers=%" PRIu64
               " raw=%zu seconds=%.1f",
               c.n, window, ldm, level, total, hdr, img->size, secs);
        if (old)
                printf(" missing=%" PRIu64 " missing_raw=%" PRIu64 " missing_stored=%" PRIu64, missing, missing_raw,
                       missing_stored);
        printf("\n");
        fflush(stdout);
        if (verify && window) {
                uint64_t real = 0, emu = 0, raw = 0;
                size_t step = c.n / verify ? c.n / verify : 1, n = 0;
                double t1 = now_s();

                for (size_t i = step / 2; i < c.n && n < verify; i += step) {
                        size_t z;

                        if (c.v[i].off == 0)
                                continue; /* chunk 0 has no prefix: the same either way */
                        if ((r = frame_with_prefix(cctx, img, &c.v[i], window, level, wlog, ldm, fbuf, bound, &z)) < 0)
                                goto out;
                        real += z;
                        emu += sizes[i];
                        raw += c.v[i].len;
                        n++;
                }
                printf("verify chunks=%zu raw=%" PRIu64 " real_stored=%" PRIu64 " emulated_stored=%" PRIu64
                       " seconds_per_chunk=%.3f\n",
                       n, raw, real, emu, (now_s() - t1) / (double) (n ? n : 1));
        }
        r = 0;
out:
        free(c.v);
        free(sizes);
        free(buf);
        free(fbuf);
        set_done(&old_set);
        ZSTD_freeCCtx(cctx);
        return r;
}

static int usage(void) {
        fprintf(stderr, "usage: index-emulate delta --cdc MIN AVG MAX [--groups B,B...] [--gap G] [--level N] OLD NEW\n"
                        "       index-emulate full --cdc MIN AVG MAX --window W [--long] [--level N] [--old OLD]\n"
                        "                          [--verify N] IMAGE\n"
                        "  sizes in bytes or with K/M, e.g. --cdc 8K 32K 128K --window 4M\n");
        return 2;
}

int main(int argc, char **argv) {
        size_t min = 0, avg = 0, max = 0, window = 0, verify = 0, gap = 0;
        const char *groups = NULL, *old_path = NULL;
        bool delta, ldm = false, have_cdc = false;
        int level = 19, i, r;
        Image old = {}, img = {}, new = {};
        Cdc cdc;

        if (argc < 2 || (strcmp(argv[1], "delta") && strcmp(argv[1], "full")))
                return usage();
        delta = !strcmp(argv[1], "delta");
        for (i = 2; i < argc && !strncmp(argv[i], "--", 2); i++) {
                if (!strcmp(argv[i], "--cdc") && i + 3 < argc) {
                        if (parse_size(argv[i + 1], 0, SIZE_ARG_MAX, &min) < 0 || parse_size(argv[i + 2], 0, SIZE_ARG_MAX, &avg) < 0 ||
                            parse_size(argv[i + 3], 0, SIZE_ARG_MAX, &max) < 0)
                                return usage();
                        have_cdc = true;
                        i += 3;
                } else if (!strcmp(argv[i], "--groups") && i + 1 < argc)
                        groups = argv[++i];
                else if (!strcmp(argv[i], "--level") && i + 1 < argc)
                        level = atoi(argv[++i]);
                else if (!strcmp(argv[i], "--window") && i + 1 < argc) {
                        if (parse_size(argv[++i], 0, SIZE_ARG_MAX, &window) < 0)
                                return usage();
                } else if (!strcmp(argv[i], "--gap") && i + 1 < argc) {
                        if (parse_size(argv[++i], 0, SIZE_ARG_MAX, &gap) < 0)
                                return usage();
                } else if (!strcmp(argv[i], "--long"))
                        ldm = true;
                else if (!strcmp(argv[i], "--old") && i + 1 < argc)
                        old_path = argv[++i];
                else if (!strcmp(argv[i], "--verify") && i + 1 < argc)
                        verify = strtoul(argv[++i], NULL, 10);
                else
                        return usage();
        }
        if (!have_cdc || level < 1 || level > ZSTD_maxCLevel() || argc - i != (delta ? 2 : 1))
                return usage();
        if (cdc_init(&cdc, (uint32_t) min, (uint32_t) avg, (uint32_t) max) < 0) {
                fprintf(stderr, "index-emulate: --cdc sizes as lib/cdc.h allows: AVG a power of two, "
                                "1K <= MIN <= AVG/2, AVG*2 <= MAX <= 4M\n");
                return 2;
        }
        for (int k = i; k < argc; k++) {
                Image *m = delta ? (k == i ? &old : &new) : &img;

                r = image_map(argv[k], m);
                if (r < 0) {
                        fprintf(stderr, "index-emulate: cannot map %s: %s\n", argv[k], strerror(-r));
                        return 1;
                }
        }
        if (old_path && (r = image_map(old_path, &old)) < 0) {
                fprintf(stderr, "index-emulate: cannot map %s: %s\n", old_path, strerror(-r));
                return 1;
        }
        if (delta)
                r = cmd_delta(&cdc, groups, level, gap, &old, &new);
        else
                r = cmd_full(&cdc, window, ldm, level, old_path ? &old : NULL, verify, &img);
        if (r < 0) {
                fprintf(stderr, "index-emulate: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
