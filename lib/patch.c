/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
/* For ZSTD_getFrameHeader(): the frame's window size, which the stable API does not expose
 * (libzstd exports the symbol; Debian 12's 1.5.4 and later). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "cdc.h"
#include "chunk.h"
#include "fileio.h"
#include "patch.h"
#include "util.h"

void patch_run_region(bool have_left, uint64_t left_end, bool have_right, uint64_t right_start, uint64_t run_start,
                      uint64_t run_end, uint64_t new_size, uint64_t old_size, uint64_t *ret_lo, uint64_t *ret_hi) {
        if (have_left && have_right && left_end <= right_start && right_start <= old_size) {
                *ret_lo = left_end;
                *ret_hi = right_start;
                return;
        }
        /* Sizes < 2^63: the products fit 128 bits. */
        *ret_lo = (uint64_t) ((unsigned __int128) run_start * old_size / MAX(new_size, (uint64_t) 1));
        *ret_hi = (uint64_t) ((unsigned __int128) run_end * old_size / MAX(new_size, (uint64_t) 1));
        *ret_lo = MIN(*ret_lo, old_size);
        *ret_hi = MIN(MAX(*ret_hi, *ret_lo), old_size);
}

void patch_piece_region(uint64_t run_start, uint64_t run_end, uint64_t lo, uint64_t hi, uint64_t old_size,
                        uint64_t piece_start, uint64_t piece_end, uint32_t window, uint64_t *ret_offset,
                        uint32_t *ret_size) {
        uint64_t len = hi - lo, piece = piece_end - piece_start, run = MAX(run_end - run_start, (uint64_t) 1);
        uint64_t want, mid, at, start, min_start, max_start;

        want = MIN(MIN((uint64_t) window, MAX(len, piece)), old_size);
        mid = piece_start + piece / 2 - run_start;
        at = lo + (uint64_t) ((unsigned __int128) mid * len / run);
        if (len >= want) {
                min_start = lo;
                max_start = hi - want;
        } else {
                min_start = 0;
                max_start = old_size - want;
        }
        start = at >= want / 2 ? at - want / 2 : 0;
        start = MIN(MAX(start, min_start), max_start);
        *ret_offset = start;
        *ret_size = (uint32_t) want;
}

static void ZSTD_CCtx_freep(ZSTD_CCtx **c) {
        if (*c)
                ZSTD_freeCCtx(*c);
}

int patch_compress(const void *old, size_t old_size, const void *new, size_t new_size, int level, void *dst,
                   size_t dst_size, size_t *ret_size) {
        _cleanup_(ZSTD_CCtx_freep) ZSTD_CCtx *c = ZSTD_createCCtx();
        unsigned wlog = ZSTD_WINDOWLOG_MIN;
        size_t n;

        if (!c)
                return -ENOMEM;
        /* The window covers the prefix and the piece, so a match may reach anywhere in both. */
        while (wlog < ZSTD_WINDOWLOG_MAX_64 && ((size_t) 1 << wlog) < old_size + new_size)
                wlog++;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, (int) wlog)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_refPrefix(c, old, old_size)))
                return -EINVAL;
        n = ZSTD_compress2(c, dst, dst_size, new, new_size);
        if (ZSTD_isError(n))
                return -ENOBUFS;
        *ret_size = n;
        return 0;
}

struct PatchDecoder {
        ZSTD_DCtx *dctx;
};

int patch_decoder_new(PatchDecoder **ret) {
        PatchDecoder *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->dctx = ZSTD_createDCtx();
        if (!d->dctx) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

PatchDecoder *patch_decoder_free(PatchDecoder *d) {
        if (!d)
                return NULL;
        ZSTD_freeDCtx(d->dctx);
        free(d);
        return NULL;
}

int patch_decode(PatchDecoder *d, const void *patch, size_t patch_size, const void *old, size_t old_size, void *dst,
                 size_t raw_size) {
        ZSTD_frameHeader h;
        size_t n;

        /* Exactly one frame, which says it decodes to exactly raw_size bytes with a window no
         * larger than that: the one-shot decoder then writes into dst and allocates nothing for
         * a window (what ZSTD_d_stableOutBuffer gives a streaming decoder). */
        if (ZSTD_getFrameHeader(&h, patch, patch_size) != 0 || h.frameType != ZSTD_frame ||
            h.frameContentSize != raw_size || h.windowSize > raw_size)
                return -EBADMSG;
        n = ZSTD_findFrameCompressedSize(patch, patch_size);
        if (ZSTD_isError(n) || n != patch_size)
                return -EBADMSG;
        ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_and_parameters);
        if (ZSTD_isError(ZSTD_DCtx_refPrefix(d->dctx, old, old_size)))
                return -EINVAL;
        n = ZSTD_decompressDCtx(d->dctx, dst, raw_size, patch, patch_size);
        if (ZSTD_isError(n) || n != raw_size)
                return -EBADMSG;
        return 0;
}

/* One chunk of the old image: its raw hash and place. */
typedef struct OldChunk {
        uint8_t sha256[SHA256_SIZE];
        uint64_t offset;
        uint32_t size;
} OldChunk;

static int old_chunk_cmp(const void *a, const void *b) {
        const OldChunk *x = a, *y = b;
        int c = memcmp(x->sha256, y->sha256, SHA256_SIZE);

        if (c != 0)
                return c;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void EVP_MD_CTX_freep(EVP_MD_CTX **c) {
        if (*c)
                EVP_MD_CTX_free(*c);
}

/* Cuts the old image with the new image's chunker, hashing every chunk and the whole image. */
static int cut_old(const ManifestImage *img, int fd, const char *path, uint64_t size, OldChunk **ret, size_t *ret_n,
                   uint8_t ret_sha256[SHA256_SIZE], UError *err) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *whole = EVP_MD_CTX_new(), *chunk = EVP_MD_CTX_new();
        _cleanup_free_ uint8_t *buf = malloc(1 << 20);
        _cleanup_free_ OldChunk *t = NULL;
        size_t n = 0, alloc = 0;
        uint64_t pos = 0, start = 0;
        unsigned len;
        Cdc cdc;

        if (!whole || !chunk || !buf)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (cdc_init(&cdc, img->cdc_min, img->cdc_avg, img->chunk_size) < 0)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Invalid chunk sizes");
        if (EVP_DigestInit_ex(whole, EVP_sha256(), NULL) != 1 || EVP_DigestInit_ex(chunk, EVP_sha256(), NULL) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to initialise SHA-256");
        while (pos < size) {
                size_t got = (size_t) MIN(size - pos, (uint64_t) (1 << 20)), off = 0;
                int r = pread_exact(fd, buf, got, pos);

                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Failed to read %s at offset %llu: %s", path,
                                          (unsigned long long) pos, strerror(-r));
                if (EVP_DigestUpdate(whole, buf, got) != 1)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                while (off < got) {
                        size_t used;
                        bool cut = cdc_feed(&cdc, buf + off, got - off, &used) > 0;
                        bool end = !cut && pos + got == size;

                        if (EVP_DigestUpdate(chunk, buf + off, used) != 1)
                                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                        off += used;
                        if (!cut && !end)
                                continue;
                        if (n == alloc) {
                                OldChunk *x = realloc(t, (alloc = MAX(alloc * 2, (size_t) 1024)) * sizeof(OldChunk));

                                if (!x)
                                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                                t = x;
                        }
                        t[n].offset = start;
                        t[n].size = (uint32_t) (pos + off - start);
                        if (EVP_DigestFinal_ex(chunk, t[n].sha256, &len) != 1 ||
                            EVP_DigestInit_ex(chunk, EVP_sha256(), NULL) != 1)
                                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                        start = pos + off;
                        n++;
                }
                pos += got;
        }
        if (EVP_DigestFinal_ex(whole, ret_sha256, &len) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        qsort(t, n, sizeof(OldChunk), old_chunk_cmp);
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}

/* Where chunk e of the new image lies in the old one: of several, the first at or after
 * 'after' (the end of the previous match), else the first.  UINT64_MAX: nowhere. */
static uint64_t find_old(const OldChunk *t, size_t n, const ChunkEntry *e, uint64_t after) {
        size_t lo = 0, hi = n, best;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (memcmp(t[mid].sha256, e->raw_sha256, SHA256_SIZE) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        best = lo;
        for (size_t i = lo; i < n && memcmp(t[i].sha256, e->raw_sha256, SHA256_SIZE) == 0; i++)
                if (t[i].offset >= after) {
                        best = i;
                        break;
                }
        if (best >= n || memcmp(t[best].sha256, e->raw_sha256, SHA256_SIZE) != 0 || t[best].size != e->raw_size)
                return UINT64_MAX;
        return t[best].offset;
}

typedef struct SetBuilder {
        ManifestImage *img;
        PatchSet set;
        uint64_t alloc;
        int new_fd, old_fd, data_fd, level;
        uint64_t old_size;
        uint8_t *old_buf, *new_buf, *patch_buf;
        size_t patch_buf_size;
        uint64_t *tables_size;
} SetBuilder;

/* One piece: chunks [first, first + count) at new raw offset raw_offset, patched against the old
 * slice; kept only if smaller than their stored bytes. */
static int add_piece(SetBuilder *b, uint64_t first, uint32_t count, uint64_t raw_offset, uint32_t raw_size,
                     uint64_t stored, uint64_t old_offset, uint32_t old_size, UError *err) {
        uint8_t *e;
        size_t patch_size;
        uint64_t u64;
        uint32_t u32;
        int r;

        r = pread_exact(b->old_fd, b->old_buf, old_size, old_offset);
        if (r >= 0)
                r = pread_exact(b->new_fd, b->new_buf, raw_size, raw_offset);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to read the images for a patch: %s", strerror(-r));
        r = patch_compress(b->old_buf, old_size, b->new_buf, raw_size, b->level, b->patch_buf, b->patch_buf_size,
                           &patch_size);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "zstd patch compression failed");
        /* Worth it only if it saves its table entry and a sixteenth of the chunks' bytes: a
         * patch of data the old image does not resemble is about as large as the chunks, and
         * would cost the device a read and a hash of its old region for nothing. */
        if (patch_size + PATCH_TABLE_ENTRY_SIZE >= stored - stored / 16)
                return 0;
        if (*b->tables_size + PATCH_TABLE_ENTRY_SIZE > MANIFEST_MAX_PATCH_TABLES_SIZE)
                return 0; /* full: the rest of the chunks stay plain */
        if ((b->set.n_entries + 1) * PATCH_TABLE_ENTRY_SIZE > b->alloc) {
                uint64_t n = MAX(b->alloc * 2, (uint64_t) 256 * PATCH_TABLE_ENTRY_SIZE);
                uint8_t *t = realloc(b->set.table, (size_t) n);

                if (!t)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                b->set.table = t;
                b->alloc = n;
        }
        e = b->set.table + b->set.n_entries * PATCH_TABLE_ENTRY_SIZE;
        u64 = htole64(first);
        memcpy(e, &u64, 8);
        u32 = htole32(count);
        memcpy(e + 8, &u32, 4);
        u32 = htole32(raw_size);
        memcpy(e + 12, &u32, 4);
        u64 = htole64(old_offset);
        memcpy(e + 16, &u64, 8);
        u32 = htole32(old_size);
        memcpy(e + 24, &u32, 4);
        u32 = htole32((uint32_t) patch_size);
        memcpy(e + 28, &u32, 4);
        if (sha256_buffer(b->old_buf, old_size, e + 32) < 0 || sha256_buffer(b->patch_buf, patch_size, e + 64) < 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        r = write_exact(b->data_fd, b->patch_buf, patch_size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to write the patch data: %s", strerror(-r));
        b->set.n_entries++;
        b->set.data_size += patch_size;
        *b->tables_size += PATCH_TABLE_ENTRY_SIZE;
        return 0;
}

/* A run of missing chunks [a, b): pieces of at most window raw bytes, on chunk boundaries. */
static int add_run(SetBuilder *b, const uint64_t *raw_off, const uint64_t *old_off, uint64_t a, uint64_t end,
                   UError *err) {
        const ManifestImage *img = b->img;
        uint64_t lo, hi, run_start = raw_off[a], run_end = raw_off[end];
        bool have_left = a > 0, have_right = end < img->n_chunks;
        ChunkEntry e;
        int r;

        if (have_left)
                manifest_chunk_entry(img, a - 1, &e);
        patch_run_region(have_left, have_left ? old_off[a - 1] + e.raw_size : 0, have_right,
                         have_right ? old_off[end] : 0, run_start, run_end, img->size, b->old_size, &lo, &hi);
        for (uint64_t first = a; first < end;) {
                uint64_t c = first, stored = 0, old_offset;
                uint32_t old_size;

                while (c < end && raw_off[c + 1] - raw_off[first] <= b->set.window) {
                        manifest_chunk_entry(img, c, &e);
                        stored += e.stored_size;
                        c++;
                }
                patch_piece_region(run_start, run_end, lo, hi, b->old_size, raw_off[first], raw_off[c], b->set.window,
                                   &old_offset, &old_size);
                r = add_piece(b, first, (uint32_t) (c - first), raw_off[first], (uint32_t) (raw_off[c] - raw_off[first]),
                              stored, old_offset, old_size, err);
                if (r < 0)
                        return r;
                first = c;
        }
        return 0;
}

int patch_set_create(ManifestImage *img, int new_fd, const char *old_path, uint32_t window, int level, int data_fd,
                     uint64_t *data_size, uint64_t *tables_size, bool *ret_added, UError *err) {
        _cleanup_free_ OldChunk *old = NULL;
        _cleanup_free_ uint64_t *raw_off = NULL, *old_off = NULL;
        _cleanup_free_ uint8_t *old_buf = NULL, *new_buf = NULL, *patch_buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        SetBuilder b = {};
        struct stat st;
        size_t n_old = 0;
        uint64_t after = 0;
        PatchSet *sets;
        int r;

        fd = open(old_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to open %s: %s", old_path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Old image %s is not a non-empty regular file",
                                  old_path);
        b = (SetBuilder) {
                .img = img, .new_fd = new_fd, .old_fd = fd, .data_fd = data_fd, .level = level,
                .old_size = (uint64_t) st.st_size, .tables_size = tables_size,
                .set = { .window = window, .source_size = (uint64_t) st.st_size, .data_offset = *data_size },
        };
        r = cut_old(img, fd, old_path, b.old_size, &old, &n_old, b.set.source_sha256, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < img->n_patch_sets; i++)
                if (memcmp(img->patch_sets[i].source_sha256, b.set.source_sha256, SHA256_SIZE) == 0)
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "--patch-from %s: the same old image as an earlier one", old_path);

        raw_off = malloc((img->n_chunks + 1) * sizeof(uint64_t));
        old_off = malloc(MAX(img->n_chunks, (uint64_t) 1) * sizeof(uint64_t));
        b.patch_buf_size = (size_t) chunk_zstd_bound(window);
        old_buf = b.old_buf = malloc(window);
        new_buf = b.new_buf = malloc(window);
        patch_buf = b.patch_buf = malloc(b.patch_buf_size);
        if (!raw_off || !old_off || !old_buf || !new_buf || !patch_buf)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        raw_off[0] = 0;
        for (uint64_t c = 0; c < img->n_chunks; c++) {
                ChunkEntry e;

                manifest_chunk_entry(img, c, &e);
                raw_off[c + 1] = raw_off[c] + e.raw_size;
                old_off[c] = find_old(old, n_old, &e, after);
                if (old_off[c] != UINT64_MAX)
                        after = old_off[c] + e.raw_size;
        }
        old = mfree(old);

        for (uint64_t c = 0; c < img->n_chunks;) {
                uint64_t end = c;

                if (old_off[c] != UINT64_MAX) {
                        c++;
                        continue;
                }
                while (end < img->n_chunks && old_off[end] == UINT64_MAX)
                        end++;
                r = add_run(&b, raw_off, old_off, c, end, err);
                if (r < 0) {
                        free(b.set.table);
                        return r;
                }
                c = end;
        }

        *ret_added = b.set.n_entries > 0;
        if (b.set.n_entries == 0)
                return 0;
        if (sha256_buffer(b.set.table, (size_t) (b.set.n_entries * PATCH_TABLE_ENTRY_SIZE), b.set.table_sha256) < 0) {
                free(b.set.table);
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        }
        sets = realloc(img->patch_sets, (img->n_patch_sets + 1) * sizeof(PatchSet));
        if (!sets) {
                free(b.set.table);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        img->patch_sets = sets;
        img->patch_sets[img->n_patch_sets++] = b.set;
        *data_size += b.set.data_size;
        return 0;
}
