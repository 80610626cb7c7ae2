/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The seed index of a delta install (issue #13, docs/bundle-format.md "Format 2"): what the
 * device already holds, cut with the bundle's own chunker (lib/cdc.c) so that a chunk of the
 * bundle's table can be looked up by its raw SHA-256.  Nothing found here is trusted: a chunk is
 * re-read and re-hashed against the signed table when it is used (daemon/install-delta.c). */

typedef enum SeedSource {
        SEED_BOOTED,    /* the booted slot of the image's class: never written by the install */
        SEED_TARGET,    /* the slot being written: usable only ahead of the write position */
        _SEED_SOURCE_MAX,
} SeedSource;

typedef struct SeedEntry {
        uint64_t key;       /* the first 8 bytes of the chunk's raw SHA-256 */
        uint64_t offset;    /* in the slot */
        uint32_t size;
        uint8_t source;     /* SeedSource */
} SeedEntry;                /* 24 bytes */

/* Entries of one index at most: 4 MiB (174762 chunks, 10.6 GiB of slots at the default 64 KiB
 * average).  The bound for the whole daemon is 16 MiB whatever the image size; beyond
 * this a slot is indexed only up to where the index is full (seed_index_truncated()). */
#define SEED_INDEX_MAX_BYTES (UINT64_C(4) << 20)
#define SEED_INDEX_MAX_ENTRIES ((size_t) (SEED_INDEX_MAX_BYTES / sizeof(SeedEntry)))
/* Slots are read in blocks of this size: the only buffer of the indexing. */
#define SEED_BLOCK_SIZE (UINT32_C(1) << 20)

typedef struct SeedIndex SeedIndex;

/* An empty index of at most max_entries (0: SEED_INDEX_MAX_ENTRIES) entries for chunks cut with
 * min/avg/max (cdc_init()'s rules; -EINVAL otherwise). */
int seed_index_new(uint32_t min, uint32_t avg, uint32_t max, size_t max_entries, SeedIndex **ret);
SeedIndex *seed_index_free(SeedIndex *idx);
DEFINE_TRIVIAL_CLEANUP_FUNC(SeedIndex *, seed_index_free);

/* Cuts the first 'size' bytes of fd (pread, SEED_BLOCK_SIZE at a time) and adds every chunk.
 * Stops early, returning 0, when the index is full (seed_index_truncated() says so); a slot
 * shorter than size is indexed to its end.  -ECANCELED as soon as *cancel (may be NULL) is set
 * between blocks; a read error is returned as its negative errno. */
int seed_index_add(SeedIndex *idx, int fd, uint64_t size, SeedSource source, const atomic_bool *cancel);
/* Sorts the index; seed_index_find() needs it after the last seed_index_add(). */
void seed_index_sort(SeedIndex *idx);

/* A chunk with this raw SHA-256 prefix and size: from the booted slot if it has one, else from
 * the target at an offset >= min_target_offset (the lowest such).  NULL if none.  The key is a
 * prefix only: the caller re-hashes what it reads. */
const SeedEntry *seed_index_find(const SeedIndex *idx, const uint8_t raw_sha256[32], uint32_t size,
                                 uint64_t min_target_offset);

size_t seed_index_entries(const SeedIndex *idx);
/* true once a seed_index_add() stopped because the index was full. */
bool seed_index_truncated(const SeedIndex *idx);
/* Bytes of the slot that seed_index_add() indexed for this source. */
uint64_t seed_index_bytes(const SeedIndex *idx, SeedSource source);
