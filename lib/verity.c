/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "verity.h"

#define HASH_SIZE 32
#define HASHES_PER_BLOCK (VERITY_BLOCK_SIZE / HASH_SIZE)
#define MAX_LEVELS 12
/* Blocks read (and checked) per miss: libsquashfs reads a data block of up to 1 MiB in small
 * pieces, and one pread() of 128 KiB instead of 32 of 4 KiB keeps verification cheap. */
#define WINDOW_BYTES (128 * 1024)
/* Windows kept.  libsquashfs reads the superblock at 0, then the tables at the image's end,
 * then the files from the start; their last data shares the block of the tables.  With one
 * window the first 128 KiB and the tables' block were read twice (over http or the ranged
 * socket: 132 KiB asked again).  Two windows, the one the reader streams on from replaced first,
 * else the least recently used, keep the tables' window while the files stream through the
 * other: nothing is read twice.  Memory: 2 * WINDOW_BYTES = 256 KiB for a verity bundle and a
 * plain one of up to 2 GiB of payload.  A plain bundle's blocks grow above 1 GiB (rauc-bundle.c,
 * to 1 MiB) and a window must hold a whole block: with blocks over WINDOW_BYTES one window is
 * kept, as before, so memory stays at max(256 KiB, block size) <= 1 MiB whatever the bundle.
 * The second buffer is allocated only when a second window is needed. */
#define WINDOWS 2
/* The hash tree is read on demand, never whole (it is 1/128 of the data: 32 MiB for a 4 GiB
 * image).  Each level keeps TREE_RUNS runs of TREE_RUN consecutive hash blocks, each block
 * checked against its entry in the level above before it is kept: at most
 * MAX_LEVELS * TREE_RUNS * TREE_RUN * 4 KiB = 768 KiB, whatever the bundle's size, and one read
 * (one Range request over http) per TREE_RUN blocks of a level, i.e. per 4 MiB of data at
 * level 0.  TREE_RUN divides HASHES_PER_BLOCK, so a run has a single parent block. */
#define TREE_RUN 8
#define TREE_RUNS 2

typedef struct TreeRun {
        uint8_t *blocks;          /* TREE_RUN hash blocks, NULL until first used */
        uint64_t first;           /* index of its first block within its level */
        uint8_t valid;            /* bit i: block first + i is checked */
        uint64_t used;            /* for replacing the least recently used run */
} TreeRun;

typedef struct Window {
        uint8_t *buf;             /* window_max blocks, NULL until first used */
        uint64_t first;
        uint32_t blocks;          /* 0: empty */
        uint64_t used;
} Window;

struct VerityFile {
        const ReadAt *src;        /* borrowed */
        uint64_t data_size;
        uint32_t block_size;
        uint64_t n_blocks;
        uint8_t salt[VERITY_SALT_MAX];
        size_t salt_size;

        /* verity: the tree's layout and its checked runs; the top block is checked against
         * the signed root when the file is opened and kept. */
        unsigned levels;
        uint64_t hash_offset;
        uint64_t level_start[MAX_LEVELS];
        uint64_t level_blocks[MAX_LEVELS];
        uint8_t top[VERITY_BLOCK_SIZE];
        TreeRun runs[MAX_LEVELS][TREE_RUNS];
        uint64_t tree_bytes_read;

        uint8_t *table;           /* table: n_blocks hashes; verity with one data block: the root */
        bool sealed;

        /* table building */
        uint64_t fed;
        size_t partial;

        /* The windows: blocks [first, first + blocks) of the data are in a window's buf, every
         * one checked against its expected hash after it was read into buf and before blocks
         * counted it (window_load()); nothing else writes buf while blocks > 0.  win[0].buf
         * also collects a partial block while a table is built. */
        Window win[WINDOWS];
        unsigned windows;         /* in use: WINDOWS, or 1 for blocks over WINDOW_BYTES */
        uint32_t window_max;      /* blocks */
        uint64_t bytes_read;
        uint64_t clock;           /* for the least recently used tree run and window */

        EVP_MD_CTX *ctx;
};

VerityFile *verity_free(VerityFile *v) {
        if (!v)
                return NULL;
        for (unsigned l = 0; l < MAX_LEVELS; l++)
                for (unsigned i = 0; i < TREE_RUNS; i++)
                        free(v->runs[l][i].blocks);
        free(v->table);
        for (unsigned i = 0; i < WINDOWS; i++)
                free(v->win[i].buf);
        EVP_MD_CTX_free(v->ctx);
        return mfree(v);
}

static int hash_block(VerityFile *v, const void *data, size_t size, uint8_t out[HASH_SIZE]) {
        if (EVP_DigestInit_ex(v->ctx, EVP_sha256(), NULL) != 1 ||
            (v->salt_size > 0 && EVP_DigestUpdate(v->ctx, v->salt, v->salt_size) != 1) ||
            EVP_DigestUpdate(v->ctx, data, size) != 1 || EVP_DigestFinal_ex(v->ctx, out, NULL) != 1)
                return -EIO;
        return 0;
}

static int verity_new(const ReadAt *src, uint64_t data_size, uint32_t block_size, VerityFile **ret) {
        _cleanup_(verity_freep) VerityFile *v = NULL;

        if (!src || data_size == 0 || block_size == 0)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->src = src;
        v->data_size = data_size;
        v->block_size = block_size;
        v->n_blocks = (data_size + block_size - 1) / block_size;
        v->window_max = MAX((uint32_t) 1, (uint32_t) (WINDOW_BYTES / block_size));
        v->windows = block_size <= WINDOW_BYTES ? WINDOWS : 1;
        v->win[0].buf = malloc((size_t) v->window_max * block_size);
        v->ctx = EVP_MD_CTX_new();
        if (!v->win[0].buf || !v->ctx)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

/* Levels as cryptsetup counts them: none for a single data block (the root hash is then the
 * block's own hash), else until one hash block covers the level below. */
static int tree_layout(uint64_t n_blocks, unsigned *ret_levels, uint64_t level_start[MAX_LEVELS],
                       uint64_t level_blocks[MAX_LEVELS], uint64_t *ret_total) {
        unsigned levels = 0;
        uint64_t pos = 0, n = n_blocks;

        while (n > 1) {
                if (levels == MAX_LEVELS)
                        return -EFBIG;
                n = (n + HASHES_PER_BLOCK - 1) / HASHES_PER_BLOCK;
                level_blocks[levels++] = n;
        }
        /* The top level is stored first. */
        for (unsigned i = levels; i-- > 0;) {
                level_start[i] = pos;
                pos += level_blocks[i];
        }
        *ret_levels = levels;
        *ret_total = pos * VERITY_BLOCK_SIZE;
        return 0;
}

int verity_tree_size(uint64_t data_size, uint64_t *ret) {
        uint64_t start[MAX_LEVELS], blocks[MAX_LEVELS];
        unsigned levels;

        if (data_size == 0 || data_size % VERITY_BLOCK_SIZE != 0)
                return -EINVAL;
        return tree_layout(data_size / VERITY_BLOCK_SIZE, &levels, start, blocks, ret);
}

static int tree_invalid(UError *err, const char *what, unsigned level, uint64_t block) {
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                          "Bundle verity hash tree invalid: %s (level %u, block %llu); the bundle was "
                          "modified after it was signed", what, level, (unsigned long long) block);
}

/* A failed read of the source: a short file is the bundle's fault, a cancel (an http source
 * stops a Range request when the install is cancelled) is no error of either. */
static int read_failed(UError *err, int r, const char *what, uint64_t offset) {
        if (r == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
        return uerror_set(err, r == -EPIPE ? ERROR_INVALID_BUNDLE : ERROR_IO, r, "Cannot read %s at offset %llu: %s",
                          what, (unsigned long long) offset, r == -EPIPE ? "file truncated" : strerror(-r));
}

/* n hash blocks of a level, from block 'first' on. */
static int tree_read(VerityFile *v, unsigned level, uint64_t first, uint8_t *buf, uint64_t n, UError *err) {
        uint64_t offset = v->hash_offset + (v->level_start[level] + first) * VERITY_BLOCK_SIZE;
        int r;

        r = v->src->read_at(v->src->userdata, offset, buf, (size_t) (n * VERITY_BLOCK_SIZE));
        if (r < 0)
                return read_failed(err, r, "the bundle's verity hash tree", offset);
        v->tree_bytes_read += n * VERITY_BLOCK_SIZE;
        return 0;
}

/* Hash block 'block' of level 'level', checked against the signed root through every level
 * above it. */
static int tree_block(VerityFile *v, unsigned level, uint64_t block, const uint8_t **ret, UError *err) {
        uint8_t expected[TREE_RUN][HASH_SIZE], digest[HASH_SIZE];
        const uint8_t *parent;
        uint64_t first = block - block % TREE_RUN, n;
        TreeRun *run = NULL;
        unsigned i;
        int r;

        if (level == v->levels - 1) {
                *ret = v->top;
                return 0;
        }
        for (i = 0; i < TREE_RUNS; i++) {
                TreeRun *t = &v->runs[level][i];

                if (t->blocks && t->first == first && (t->valid & (1u << (block - first)))) {
                        t->used = ++v->clock;
                        *ret = t->blocks + (block - first) * VERITY_BLOCK_SIZE;
                        return 0;
                }
                if (!run || !t->blocks || (run->blocks && t->used < run->used))
                        run = t;
        }

        /* The parent's entries are copied first: fetching the parent may reuse a run of the
         * level above, never one of this level. */
        r = tree_block(v, level + 1, first / HASHES_PER_BLOCK, &parent, err);
        if (r < 0)
                return r;
        n = MIN((uint64_t) TREE_RUN, v->level_blocks[level] - first);
        memcpy(expected, parent + (first % HASHES_PER_BLOCK) * HASH_SIZE, n * HASH_SIZE);

        if (!run->blocks && !(run->blocks = malloc(TREE_RUN * VERITY_BLOCK_SIZE)))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        run->valid = 0; /* nothing in it is trusted until it is checked */
        r = tree_read(v, level, first, run->blocks, n, err);
        if (r < 0)
                return r;
        run->first = first;
        run->used = ++v->clock;
        for (i = 0; i < n; i++) {
                if (hash_block(v, run->blocks + i * VERITY_BLOCK_SIZE, VERITY_BLOCK_SIZE, digest) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                /* A bad neighbour fails when it is needed, so the error names what was. */
                if (CRYPTO_memcmp(digest, expected[i], HASH_SIZE) == 0)
                        run->valid |= 1u << i;
        }
        if (!(run->valid & (1u << (block - first))))
                return tree_invalid(err, "hash block mismatch", level, block);
        *ret = run->blocks + (block - first) * VERITY_BLOCK_SIZE;
        return 0;
}

/* The expected hash of data block i, copied out (the run holding it may be replaced). */
static int expected_hash(VerityFile *v, uint64_t i, uint8_t out[HASH_SIZE], UError *err) {
        const uint8_t *b;
        int r;

        if (v->table) {
                memcpy(out, v->table + i * HASH_SIZE, HASH_SIZE);
                return 0;
        }
        r = tree_block(v, 0, i / HASHES_PER_BLOCK, &b, err);
        if (r < 0)
                return r;
        memcpy(out, b + (i % HASHES_PER_BLOCK) * HASH_SIZE, HASH_SIZE);
        return 0;
}

int verity_open(const ReadAt *src, uint64_t data_size, uint64_t hash_offset, uint64_t hash_size, const uint8_t *salt,
                size_t salt_size, const uint8_t root_hash[32], VerityFile **ret, UError *err) {
        _cleanup_(verity_freep) VerityFile *v = NULL;
        uint64_t start[MAX_LEVELS], blocks[MAX_LEVELS], total = 0;
        uint8_t digest[HASH_SIZE];
        unsigned levels;
        int r;

        if (data_size == 0 || data_size % VERITY_BLOCK_SIZE != 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                  "Bundle verity data size %llu is not a positive multiple of %d",
                                  (unsigned long long) data_size, VERITY_BLOCK_SIZE);
        if (salt_size > VERITY_SALT_MAX)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "Bundle verity salt too long (%zu bytes)",
                                  salt_size);
        r = tree_layout(data_size / VERITY_BLOCK_SIZE, &levels, start, blocks, &total);
        if (r < 0 || total != hash_size)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                  "Bundle verity-size %llu does not match the %llu bytes of data (expected %llu)",
                                  (unsigned long long) hash_size, (unsigned long long) data_size,
                                  (unsigned long long) total);

        r = verity_new(src, data_size, VERITY_BLOCK_SIZE, &v);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Out of memory");
        memcpy(v->salt, salt, salt_size);
        v->salt_size = salt_size;

        if (levels == 0) {
                /* One data block: its hash is the root. */
                v->table = malloc(HASH_SIZE);
                if (!v->table)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                memcpy(v->table, root_hash, HASH_SIZE);
        } else {
                /* Only the top block now, against the signed root: a bundle whose tree does
                 * not belong to its signature fails here, before a data byte is read.  The
                 * levels below are checked as the data they cover is read (tree_block()). */
                v->levels = levels;
                v->hash_offset = hash_offset;
                memcpy(v->level_start, start, sizeof(start));
                memcpy(v->level_blocks, blocks, sizeof(blocks));
                r = tree_read(v, levels - 1, 0, v->top, 1, err);
                if (r < 0)
                        return r;
                if (hash_block(v, v->top, VERITY_BLOCK_SIZE, digest) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                if (CRYPTO_memcmp(digest, root_hash, HASH_SIZE) != 0)
                        return tree_invalid(err, "root hash mismatch", levels - 1, 0);
        }
        v->sealed = true;
        *ret = TAKE_PTR(v);
        return 0;
}

int verity_table_new(const ReadAt *src, uint64_t data_size, uint32_t block_size, VerityFile **ret) {
        _cleanup_(verity_freep) VerityFile *v = NULL;
        int r;

        r = verity_new(src, data_size, block_size, &v);
        if (r < 0)
                return r;
        if (v->n_blocks > SIZE_MAX / HASH_SIZE)
                return -EFBIG;
        v->table = malloc((size_t) v->n_blocks * HASH_SIZE);
        if (!v->table)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

/* The first window's buffer collects a partial block while the table is built. */
int verity_table_feed(VerityFile *v, const void *data, size_t size) {
        const uint8_t *p = data;

        if (!v->table || v->sealed || size > v->data_size - v->fed)
                return -EINVAL;
        while (size > 0) {
                uint64_t block = v->fed / v->block_size;
                size_t want = (size_t) MIN((uint64_t) v->block_size, v->data_size - block * v->block_size);
                size_t n = MIN(size, want - v->partial);

                memcpy(v->win[0].buf + v->partial, p, n);
                v->partial += n, v->fed += n, p += n, size -= n;
                if (v->partial == want) {
                        if (hash_block(v, v->win[0].buf, want, v->table + block * HASH_SIZE) < 0)
                                return -EIO;
                        v->partial = 0;
                }
        }
        return 0;
}

int verity_table_seal(VerityFile *v) {
        if (!v->table || v->sealed || v->fed != v->data_size)
                return -EINVAL;
        v->sealed = true;
        v->win[0].blocks = 0; /* its buffer held the bytes fed, not checked blocks */
        return 0;
}

uint64_t verity_data_size(const VerityFile *v) {
        return v ? v->data_size : 0;
}

uint64_t verity_bytes_read(const VerityFile *v) {
        return v ? v->bytes_read + v->tree_bytes_read : 0;
}

uint64_t verity_tree_bytes_read(const VerityFile *v) {
        return v ? v->tree_bytes_read : 0;
}

/* The window to load block 'first' into: the one the reader streams on from (its blocks end
 * at 'first'), else an empty one, else the least recently used. */
static Window *window_pick(VerityFile *v, uint64_t first) {
        Window *pick = NULL;

        for (unsigned i = 0; i < v->windows; i++) {
                Window *w = &v->win[i];

                if (w->blocks > 0 && w->first + w->blocks == first)
                        return w;
                if (!pick || (pick->blocks > 0 && (w->blocks == 0 || w->used < pick->used)))
                        pick = w;
        }
        return pick;
}

/* Reads the blocks from 'first' on into a window and checks them; on success the window holds
 * 'first' and maybe more blocks, all of them checked. */
static int window_load(VerityFile *v, uint64_t first, Window **ret, UError *err) {
        Window *w = window_pick(v, first);
        uint64_t n = MIN((uint64_t) v->window_max, v->n_blocks - first), start, bytes;
        uint8_t digest[HASH_SIZE], expected[HASH_SIZE];
        UError e;
        int r;

        /* Not the blocks another window holds: they are not read twice. */
        for (unsigned i = 0; i < v->windows; i++)
                if (&v->win[i] != w && v->win[i].blocks > 0 && v->win[i].first > first)
                        n = MIN(n, v->win[i].first - first);
        start = first * v->block_size;
        bytes = MIN(n * v->block_size, v->data_size - start);

        w->blocks = 0; /* nothing in it is trusted until it is checked, nor after a failure */
        if (!w->buf && !(w->buf = malloc((size_t) v->window_max * v->block_size)))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = v->src->read_at(v->src->userdata, start, w->buf, (size_t) bytes);
        if (r < 0)
                return read_failed(err, r, "the bundle", start);
        v->bytes_read += bytes;

        for (uint64_t i = 0; i < n; i++) {
                size_t len = (size_t) MIN((uint64_t) v->block_size, bytes - i * v->block_size);

                if (hash_block(v, w->buf + i * v->block_size, len, digest) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                e = UERROR_NULL;
                r = expected_hash(v, first + i, expected, &e);
                if (r < 0) {
                        /* The tree behind a later block: fail when that block is asked for. */
                        if (i > 0) {
                                n = i;
                                break;
                        }
                        if (err && !uerror_is_set(err))
                                *err = e;
                        return r;
                }
                if (CRYPTO_memcmp(digest, expected, HASH_SIZE) == 0)
                        continue;
                /* Only the block asked for must be good now; a bad one behind it fails when it
                 * is asked for, so the error names what the reader really needed.  The window
                 * ends before it: it holds only the blocks checked. */
                if (i > 0) {
                        n = i;
                        break;
                }
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                          "Bundle payload block %llu (offset %llu) failed verification: the "
                                          "bundle was modified after it was signed",
                                          (unsigned long long) (first + i),
                                          (unsigned long long) ((first + i) * v->block_size));
        }
        w->first = first;
        w->blocks = (uint32_t) n;
        *ret = w;
        return 0;
}

/* The window holding block 'block', loaded if none does. */
static int window_get(VerityFile *v, uint64_t block, Window **ret, UError *err) {
        for (unsigned i = 0; i < v->windows; i++) {
                Window *w = &v->win[i];

                if (w->blocks > 0 && block >= w->first && block < w->first + w->blocks) {
                        *ret = w;
                        return 0;
                }
        }
        return window_load(v, block, ret, err);
}

int verity_read(VerityFile *v, uint64_t offset, void *buf, size_t size, UError *err) {
        uint8_t *p = buf;
        int r;

        if (!v->sealed)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: hash table not complete");
        if (offset > v->data_size || size > v->data_size - offset)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -ERANGE,
                                  "Bundle payload read of %zu bytes at offset %llu is beyond its %llu signed bytes",
                                  size, (unsigned long long) offset, (unsigned long long) v->data_size);
        while (size > 0) {
                uint64_t in;
                Window *w;
                size_t n;

                r = window_get(v, offset / v->block_size, &w, err);
                if (r < 0)
                        return r;
                w->used = ++v->clock;
                in = offset - w->first * v->block_size;
                n = (size_t) MIN((uint64_t) size, (uint64_t) w->blocks * v->block_size - in);
                n = (size_t) MIN((uint64_t) n, v->data_size - offset);
                memcpy(p, w->buf + in, n);
                p += n, offset += n, size -= n;
        }
        return 0;
}
