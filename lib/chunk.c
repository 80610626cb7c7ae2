/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "chunk.h"
#include "manifest.h"

/* A decoder never needs a window larger than the largest chunk: every chunk is its own frame. */
#define CHUNK_ZSTD_WINDOW_LOG_MAX 22
_Static_assert((UINT32_C(1) << CHUNK_ZSTD_WINDOW_LOG_MAX) >= CHUNK_SIZE_MAX, "window too small");

struct ChunkCodec {
        ZSTD_CCtx *cctx;
        ZSTD_DCtx *dctx;
        int level;
};

uint64_t chunk_zstd_bound(uint32_t raw_size) {
        return ZSTD_COMPRESSBOUND((uint64_t) raw_size);
}

int sha256_buffer(const void *data, size_t size, uint8_t ret[SHA256_SIZE]) {
        unsigned len = 0;

        if (EVP_Digest(data, size, ret, &len, EVP_sha256(), NULL) != 1 || len != SHA256_SIZE)
                return -EIO;
        return 0;
}

int chunk_codec_new(int zstd_level, ChunkCodec **ret) {
        ChunkCodec *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->level = zstd_level;
        *ret = c;
        return 0;
}

ChunkCodec *chunk_codec_free(ChunkCodec *c) {
        if (!c)
                return NULL;
        ZSTD_freeCCtx(c->cctx);
        ZSTD_freeDCtx(c->dctx);
        return mfree(c);
}

int chunk_compress(ChunkCodec *c, const void *src, size_t src_size, void *dst, size_t dst_size,
                   size_t *ret_size) {
        size_t n;

        if (!c->cctx) {
                c->cctx = ZSTD_createCCtx();
                if (!c->cctx)
                        return -ENOMEM;
                /* The frame carries the XXH64 of its content, which the decoder checks: the
                 * installer's end-to-end check of the decoded image, at memory speed (the stored
                 * bytes are authenticated by their sha256 anyway; this catches a decoder fault). */
                if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, c->level)) ||
                    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1)))
                        return -EIO;
        }
        n = ZSTD_compress2(c->cctx, dst, dst_size, src, src_size);
        if (ZSTD_isError(n))
                return -EIO;
        *ret_size = n;
        return 0;
}

int chunk_decompress(ChunkCodec *c, const void *src, size_t src_size, void *dst, size_t expected) {
        size_t n;

        if (!c->dctx) {
                c->dctx = ZSTD_createDCtx();
                if (!c->dctx)
                        return -ENOMEM;
                if (ZSTD_isError(ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax,
                                                        CHUNK_ZSTD_WINDOW_LOG_MAX)))
                        return -EIO;
        }
        n = ZSTD_decompressDCtx(c->dctx, dst, expected, src, src_size);
        if (ZSTD_isError(n)) {
                if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
                        return -EMSGSIZE;
                return -EBADMSG;
        }
        if (n != expected)
                return -EMSGSIZE;
        return 0;
}
