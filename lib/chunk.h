/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Chunk arithmetic and the two primitives every chunk goes through (sha256, zstd), shared by the
 * manifest parser, the bundle reader and the bundle writer so that all three agree. */

#define SHA256_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_SIZE + 1)

/* ceil(size / chunk_size); chunk_size must be > 0. */
static inline uint64_t chunk_count(uint64_t size, uint32_t chunk_size) {
        return size / chunk_size + (size % chunk_size != 0);
}

/* Uncompressed length of chunk 'index' of an image of 'size' bytes (the last one may be short). */
static inline uint32_t chunk_raw_size(uint64_t size, uint32_t chunk_size, uint64_t index) {
        uint64_t offset = index * (uint64_t) chunk_size; /* index < chunk_count(): no overflow */

        return (uint32_t) (size - offset < chunk_size ? size - offset : chunk_size);
}

/* Largest stored (compressed) size a zstd chunk of 'raw_size' bytes may have: the zstd bound. */
uint64_t chunk_zstd_bound(uint32_t raw_size);

/* One-shot SHA-256. */
int sha256_buffer(const void *data, size_t size, uint8_t ret[SHA256_SIZE]);

typedef struct ChunkCodec ChunkCodec;

/* Holds one zstd compression or decompression context, reused for every chunk. */
int chunk_codec_new(int zstd_level, ChunkCodec **ret);
ChunkCodec *chunk_codec_free(ChunkCodec *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChunkCodec *, chunk_codec_free);

/* Compresses src into dst (dst_size >= chunk_zstd_bound(src_size)); returns the stored size. */
int chunk_compress(ChunkCodec *c, const void *src, size_t src_size, void *dst, size_t dst_size,
                   size_t *ret_size);
/* Decompresses one stored chunk; it must decode to exactly 'expected' bytes (dst holds that).
 * Returns -EBADMSG for a corrupt frame, -EMSGSIZE if it decodes to more or fewer bytes. */
int chunk_decompress(ChunkCodec *c, const void *src, size_t src_size, void *dst, size_t expected);
