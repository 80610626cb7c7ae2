/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bundle-reader-private.h"
#include "util.h"

/* The payload of an Update1 bundle, chunk by chunk, in two steps: reading a chunk's stored
 * bytes and authenticating them against the signed table (bundle_reader_next_stored()), then
 * decoding them (bundle_reader_decode()).  bundle_reader_next_chunk_into() does both in turn;
 * an install runs them on two threads, so that hashing and decompressing share two cores. */

static int chunk_invalid_at(const ManifestImage *img, uint64_t index, const char *why, UError *err) {
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Chunk %llu of image %s failed verification: %s",
                          (unsigned long long) index, img->slotclass, why);
}

/* The buffers are allocated on first use: a caller that decompresses into its own buffers
 * (bundle_reader_next_chunk_into()) never needs raw, and for compression none never stored. */
static int reader_buffer(uint8_t **buf, size_t size, UError *err) {
        if (!*buf) {
                *buf = malloc(MAX(size, (size_t) 1));
                if (!*buf)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        return 0;
}

uint32_t bundle_reader_next_chunk_size(const BundleReader *r) {
        const ManifestImage *img;

        if (r && r->rauc)
                return rauc_bundle_next_chunk_size(r->rauc);
        if (!r || !r->verified || r->failed || r->done)
                return 0;
        img = &r->manifest->images[r->image];
        if (img->table) {
                ChunkEntry e;

                manifest_chunk_entry(img, r->chunk, &e);
                return e.raw_size;
        }
        return chunk_raw_size(img->size, img->chunk_size, r->chunk);
}

size_t bundle_reader_stored_max(const BundleReader *r) {
        return r && r->verified && !r->rauc ? r->stored_max : 0;
}

int bundle_reader_read_stored(BundleReader *r, void *buf, size_t buf_size, BundleStoredChunk *ret, UError *err) {
        const ManifestImage *img;
        BundleStoredChunk c;
        char what[128];
        int k;

        if (r->failed)
                return uerror_set(err, ERROR_FAILED, -EIO, "Bundle reader failed earlier");
        if (!r->verified || r->rauc)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Bundle not verified yet, or not an Update1 bundle");
        if (r->done)
                return 0;

        img = &r->manifest->images[r->image];
        c = (BundleStoredChunk) {
                .image = r->image,
                .index = r->chunk,
                .last = r->chunk + 1 == img->n_chunks,
                .compressed = img->compression == COMPRESSION_ZSTD,
        };
        if (img->table) {
                ChunkEntry e;

                manifest_chunk_entry(img, r->chunk, &e);
                c.raw_size = e.raw_size;
                c.stored_size = e.stored_size;
                memcpy(c.stored_sha256, e.stored_sha256, SHA256_SIZE);
                memcpy(c.raw_sha256, e.raw_sha256, SHA256_SIZE);
                c.has_raw_sha256 = true;
                c.offset = r->raw_offset;
        } else {
                const ManifestChunk *mc = &img->chunks[r->chunk];

                c.raw_size = chunk_raw_size(img->size, img->chunk_size, r->chunk);
                c.stored_size = mc->size;
                memcpy(c.stored_sha256, mc->sha256, SHA256_SIZE);
                c.offset = r->chunk * (uint64_t) img->chunk_size;
        }
        if (buf_size < c.stored_size)
                return uerror_set(err, ERROR_FAILED, -ENOBUFS, "Internal error: stored chunk of %u bytes into a buffer of %zu",
                                  c.stored_size, buf_size);

        snprintf(what, sizeof(what), "chunk %llu of image %s", (unsigned long long) r->chunk, img->slotclass);
        /* A streaming install reads the payload to its end: one request over http.  Not the
         * file's end: whatever may follow the payload is not for a streaming install. */
        bundle_reader_announce(r, r->payload_end);
        k = bundle_reader_read_exact(r, buf, c.stored_size, what, err);
        if (k < 0)
                return k;

        if (c.last && r->image + 1 == r->manifest->n_images) {
                k = bundle_reader_confirm_eof(r, err);
                if (k < 0)
                        return k;
        }
        r->raw_offset += c.raw_size;
        if (c.last) {
                r->image++;
                r->chunk = 0;
                r->raw_offset = 0;
                r->done = r->image == r->manifest->n_images;
        } else
                r->chunk++;
        *ret = c;
        return 1;
}

int bundle_reader_check_stored(const BundleReader *r, BundleStoredChunk *c, const void *buf, UError *err) {
        uint8_t digest[SHA256_SIZE];

        /* Authenticate the stored bytes before the decompressor sees them. */
        if (sha256_buffer(buf, c->stored_size, digest) < 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        if (CRYPTO_memcmp(digest, c->stored_sha256, SHA256_SIZE) != 0)
                return chunk_invalid_at(&r->manifest->images[c->image], c->index, "sha256 mismatch", err);
        c->authenticated = true;
        return 0;
}

int bundle_reader_next_stored(BundleReader *r, void *buf, size_t buf_size, BundleStoredChunk *ret, UError *err) {
        BundleStoredChunk c;
        int k;

        k = bundle_reader_read_stored(r, buf, buf_size, &c, err);
        if (k <= 0)
                return k;
        k = bundle_reader_check_stored(r, &c, buf, err);
        if (k < 0) {
                r->failed = true;
                return k;
        }
        *ret = c;
        return 1;
}

int bundle_reader_decode(BundleReader *r, const BundleStoredChunk *c, const void *stored, void *dst, size_t dst_size,
                         BundleChunk *ret, UError *err) {
        const ManifestImage *img = &r->manifest->images[c->image];
        uint8_t digest[SHA256_SIZE];
        const void *data;
        int k;

        if (!c->authenticated)
                return uerror_set(err, ERROR_FAILED, -EPERM, "Internal error: chunk %llu of image %s decoded before its hash was checked",
                                  (unsigned long long) c->index, img->slotclass);
        if (dst && dst_size < c->raw_size)
                return uerror_set(err, ERROR_FAILED, -ENOBUFS, "Internal error: chunk of %u bytes into a buffer of %zu",
                                  c->raw_size, dst_size);
        if (c->compressed) {
                if (!dst) {
                        k = reader_buffer(&r->raw, r->raw_max, err);
                        if (k < 0)
                                return k;
                }
                data = dst ?: r->raw;
                /* zstd also checks the frame's content checksum where the writer stored one. */
                k = chunk_decompress(r->codec, stored, c->stored_size, (void *) data, c->raw_size);
                if (k == -EMSGSIZE) {
                        char why[64];

                        snprintf(why, sizeof(why), "does not decompress to %u bytes", c->raw_size);
                        return chunk_invalid_at(img, c->index, why, err);
                }
                if (k < 0)
                        return chunk_invalid_at(img, c->index, "corrupt zstd frame", err);
        } else if (dst && dst != stored) {
                memcpy(dst, stored, c->raw_size); /* the manifest guarantees stored size == raw size */
                data = dst;
        } else
                data = stored;

        /* Format 1: no second hash over the decompressed image: every byte of it is the
         * deterministic decoding of stored bytes that were authenticated above, and its size is
         * checked (docs/bundle-format.md, "Reading a bundle").  Format 2 signs the raw hash of
         * every chunk too (what a device matches its own slot data against), and it is checked
         * here, so that a chunk from the bundle and a chunk reused from a slot pass the same
         * test. */
        if (c->has_raw_sha256 && !(r->have_checked && CRYPTO_memcmp(r->checked_stored, c->stored_sha256, SHA256_SIZE) == 0 &&
                                   CRYPTO_memcmp(r->checked_raw, c->raw_sha256, SHA256_SIZE) == 0)) {
                if (sha256_buffer(data, c->raw_size, digest) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                if (CRYPTO_memcmp(digest, c->raw_sha256, SHA256_SIZE) != 0)
                        return chunk_invalid_at(img, c->index, "raw sha256 mismatch", err);
                memcpy(r->checked_stored, c->stored_sha256, SHA256_SIZE);
                memcpy(r->checked_raw, c->raw_sha256, SHA256_SIZE);
                r->have_checked = true;
        }

        *ret = (BundleChunk) {
                .image = c->image,
                .index = c->index,
                .offset = c->offset,
                .data = data,
                .size = c->raw_size,
                .last = c->last,
        };
        return 1;
}

int bundle_reader_next_chunk_into(BundleReader *r, void *dst, size_t dst_size, BundleChunk *ret, UError *err) {
        const ManifestImage *img;
        BundleStoredChunk c;
        uint8_t *stored;
        size_t stored_size;
        int k;

        if (r->failed)
                return uerror_set(err, ERROR_FAILED, -EIO, "Bundle reader failed earlier");
        if (!r->verified)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Bundle not verified yet");
        if (r->rauc)
                return rauc_bundle_next_chunk_into(r->rauc, dst, dst_size, ret, err);
        if (r->done)
                return 0;

        /* Uncompressed chunks are read straight into dst: nobody sees them before their hash
         * matched, as the chunk is handed out only then. */
        img = &r->manifest->images[r->image];
        if (img->compression == COMPRESSION_ZSTD || !dst) {
                k = reader_buffer(&r->stored, r->stored_max, err);
                if (k < 0)
                        return k;
                stored = r->stored;
                stored_size = r->stored_max;
        } else {
                stored = dst;
                stored_size = dst_size;
        }
        k = bundle_reader_next_stored(r, stored, stored_size, &c, err);
        if (k <= 0)
                return k;
        k = bundle_reader_decode(r, &c, stored, dst, dst_size, ret, err);
        if (k < 0)
                r->failed = true;
        return k;
}

int bundle_reader_next_chunk(BundleReader *r, BundleChunk *ret, UError *err) {
        return bundle_reader_next_chunk_into(r, NULL, 0, ret, err);
}
