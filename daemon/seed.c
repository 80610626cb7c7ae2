/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc.h"
#include "seed.h"

struct SeedIndex {
        SeedEntry *entries;
        size_t n, allocated, max;
        Cdc cdc;                 /* the bundle's chunk sizes; reset for every slot */
        bool truncated;
        bool sorted;
        uint64_t bytes[_SEED_SOURCE_MAX];
};

int seed_index_new(uint32_t min, uint32_t avg, uint32_t max, size_t max_entries, SeedIndex **ret) {
        SeedIndex *idx;
        Cdc c;
        int r;

        r = cdc_init(&c, min, avg, max);
        if (r < 0)
                return r;
        idx = calloc(1, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        idx->cdc = c;
        idx->max = max_entries > 0 ? MIN(max_entries, SEED_INDEX_MAX_ENTRIES) : SEED_INDEX_MAX_ENTRIES;
        *ret = idx;
        return 0;
}

SeedIndex *seed_index_free(SeedIndex *idx) {
        if (!idx)
                return NULL;
        free(idx->entries);
        free(idx);
        return NULL;
}

static void md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}

/* Grows by doubling up to the cap, so a small slot costs a small index. */
static int seed_index_push(SeedIndex *idx, const uint8_t digest[32], uint64_t offset, uint32_t size, SeedSource source) {
        SeedEntry *e;

        if (idx->n >= idx->max) {
                idx->truncated = true;
                return 0;
        }
        if (idx->n == idx->allocated) {
                size_t n = MIN(MAX(idx->allocated * 2, (size_t) 1024), idx->max);

                e = reallocarray(idx->entries, n, sizeof(*e));
                if (!e)
                        return -ENOMEM;
                idx->entries = e;
                idx->allocated = n;
        }
        e = &idx->entries[idx->n++];
        memcpy(&e->key, digest, sizeof(e->key));
        e->offset = offset;
        e->size = size;
        e->source = (uint8_t) source;
        idx->sorted = false;
        return 1;
}

static int chunk_done(SeedIndex *idx, EVP_MD_CTX *md, uint64_t start, uint32_t size, SeedSource source) {
        uint8_t digest[32];

        if (EVP_DigestFinal_ex(md, digest, NULL) != 1 || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                return -EIO;
        return seed_index_push(idx, digest, start, size, source);
}

/* Up to *size bytes at offset; fewer only at the end of the file (*size then says how many). */
static int read_block(int fd, uint64_t offset, uint8_t *buf, size_t *size) {
        size_t got = 0;

        while (got < *size) {
                ssize_t n = pread(fd, buf + got, *size - got, (off_t) (offset + got));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        *size = got;
        return 0;
}

int seed_index_add(SeedIndex *idx, int fd, uint64_t size, SeedSource source, const atomic_bool *cancel) {
        _cleanup_(md_ctx_freep) EVP_MD_CTX *md = NULL;
        _cleanup_free_ uint8_t *block = NULL;
        uint64_t pos = 0, chunk_start = 0;
        int r;

        if (source < 0 || source >= _SEED_SOURCE_MAX)
                return -EINVAL;
        if (idx->truncated)
                return 0;
        block = malloc(SEED_BLOCK_SIZE);
        md = EVP_MD_CTX_new();
        if (!block || !md)
                return -ENOMEM;
        if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                return -EIO;
        cdc_reset(&idx->cdc);

        while (pos < size) {
                size_t n = (size_t) MIN(size - pos, (uint64_t) SEED_BLOCK_SIZE), off = 0;

                if (cancel && atomic_load(cancel))
                        return -ECANCELED;
                r = read_block(fd, pos, block, &n);
                if (r < 0)
                        return r;
                if (n == 0)
                        break; /* shorter than asked: what there is was indexed */
                while (off < n) {
                        size_t used;

                        r = cdc_feed(&idx->cdc, block + off, n - off, &used);
                        if (EVP_DigestUpdate(md, block + off, used) != 1)
                                return -EIO;
                        off += used;
                        if (r == 0)
                                break;
                        r = chunk_done(idx, md, chunk_start, (uint32_t) (pos + off - chunk_start), source);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                goto full;
                        chunk_start = pos + off;
                }
                pos += n;
                if (n < SEED_BLOCK_SIZE && pos < size)
                        break; /* the end of a slot shorter than size */
        }
        if (pos > chunk_start) {
                r = chunk_done(idx, md, chunk_start, (uint32_t) (pos - chunk_start), source);
                if (r < 0)
                        return r;
                if (r == 0)
                        goto full;
        }
        idx->bytes[source] += pos;
        return 0;
full:
        idx->bytes[source] += chunk_start;
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        const SeedEntry *x = a, *y = b;

        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        if (x->source != y->source)
                return x->source < y->source ? -1 : 1;
        if (x->offset != y->offset)
                return x->offset < y->offset ? -1 : 1;
        return 0;
}

void seed_index_sort(SeedIndex *idx) {
        if (idx->n > 0)
                qsort(idx->entries, idx->n, sizeof(SeedEntry), entry_cmp);
        idx->sorted = true;
}

const SeedEntry *seed_index_find(const SeedIndex *idx, const uint8_t raw_sha256[32], uint32_t size,
                                 uint64_t min_target_offset) {
        size_t lo = 0, hi;
        uint64_t key;

        if (!idx->sorted)
                return NULL;
        memcpy(&key, raw_sha256, sizeof(key));
        hi = idx->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (idx->entries[mid].key < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        /* Sorted by key, source (booted first), offset: the first fit is the one we prefer. */
        for (; lo < idx->n && idx->entries[lo].key == key; lo++) {
                const SeedEntry *e = &idx->entries[lo];

                if (e->size != size)
                        continue;
                if (e->source == SEED_TARGET && e->offset < min_target_offset)
                        continue;
                return e;
        }
        return NULL;
}

size_t seed_index_entries(const SeedIndex *idx) {
        return idx->n;
}

bool seed_index_truncated(const SeedIndex *idx) {
        return idx->truncated;
}

uint64_t seed_index_bytes(const SeedIndex *idx, SeedSource source) {
        return source < _SEED_SOURCE_MAX ? idx->bytes[source] : 0;
}
