/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

#define MANIFEST_FORMAT_VERSION 1
/* Format 2 (docs/bundle-format.md "Format 2"): content-defined chunks, each image's chunk table
 * a binary block after the signature, its size and sha256 in the manifest. */
#define MANIFEST_FORMAT_CDC 2
/* One entry of a format-2 chunk table: u32 raw size, u32 stored size (little endian), sha256
 * of the raw bytes, sha256 of the stored bytes. */
#define CHUNK_TABLE_ENTRY_SIZE 72
/* All chunk tables of a bundle together: read and held before the payload, so capped like the
 * signature (8 MiB: 116508 chunks, about 7 GiB of images at the default 64 KiB average). */
#define MANIFEST_MAX_CHUNK_TABLES_SIZE (UINT64_C(8) << 20)
#define MANIFEST_MAX_SIZE (UINT64_C(64) << 20)        /* hard cap on the signed JSON */
#define MANIFEST_MAX_IMAGES 16
#define CHUNK_SIZE_MIN (UINT32_C(64) << 10)
#define CHUNK_SIZE_MAX (UINT32_C(4) << 20)
#define CHUNK_SIZE_DEFAULT (UINT32_C(256) << 10)

typedef enum Compression {
        COMPRESSION_NONE,
        COMPRESSION_ZSTD,
        _COMPRESSION_MAX,
        _COMPRESSION_INVALID = -22,
} Compression;

const char *compression_to_string(Compression c);
Compression compression_from_string(const char *s);

typedef struct ManifestChunk {
        uint64_t offset;    /* of the stored bytes, from the start of the payload */
        uint32_t size;      /* stored (compressed) size */
        uint8_t sha256[32]; /* of the stored bytes: checked before decompressing */
} ManifestChunk;

typedef struct ManifestImage {
        char *slotclass;    /* [a-z0-9_-]+, e.g. "rootfs" */
        char *filename;     /* informational, a safe base name */
        uint64_t size;      /* uncompressed image size */
        uint8_t sha256[32]; /* of the whole uncompressed image */
        uint32_t chunk_size;/* uncompressed size of every chunk but the last */
        Compression compression;
        ManifestChunk *chunks;
        uint64_t n_chunks;  /* == ceil(size / chunk_size) (format 1) */

        /* Format 2: chunk_size is the chunker's max, chunks is NULL, n_chunks the entries of
         * the binary table; table is that table once the bundle reader read and authenticated
         * it (CHUNK_TABLE_ENTRY_SIZE bytes per chunk), NULL before. */
        uint32_t cdc_min, cdc_avg;
        uint64_t stored_size;       /* sum of the stored sizes in the table */
        uint8_t table_sha256[32];
        uint8_t *table;
} ManifestImage;

typedef struct ChunkEntry {
        uint32_t raw_size;
        uint32_t stored_size;
        const uint8_t *raw_sha256;
        const uint8_t *stored_sha256;
} ChunkEntry;

/* Entry i (< n_chunks) of a format-2 image's authenticated table. */
void manifest_chunk_entry(const ManifestImage *img, uint64_t i, ChunkEntry *ret);
/* Checks a format-2 table (img->table, n_chunks entries) against the signed manifest: every raw
 * size 1 .. chunk_size (the chunker's max), every stored size within its bound, the sums equal
 * to size and stored_size.  ERROR_INVALID_BUNDLE "Chunk table of image X invalid: entry N ...". */
int manifest_check_chunk_table(const ManifestImage *img, UError *err);

typedef struct Manifest {
        unsigned format;       /* MANIFEST_FORMAT_VERSION or MANIFEST_FORMAT_CDC */
        char *compatible;
        char *version;
        char *build;
        char *description;
        uint64_t security_version;
        uint64_t expires;      /* seconds since the epoch after which it must not be installed; 0 = never */
        ManifestImage *images;
        size_t n_images;
        uint64_t payload_size; /* sum of all chunk sizes: the bytes after the signature */
} Manifest;

/* Parses the *verified* content of the signature.  Checks everything a hostile signer could get
 * wrong: types, ranges, chunk counts vs size, offsets contiguous, no 64-bit overflow, duplicate
 * slot classes.  On failure err says which field (ERROR_INVALID_BUNDLE). */
int manifest_parse(const char *json, size_t size, Manifest **ret, UError *err);
/* Serialises (for bundle create and 'bundle info --json'). */
int manifest_to_json(const Manifest *m, char **ret);
/* A json-c object without the chunk tables: for status/info output. */
struct json_object;
int manifest_to_json_object(const Manifest *m, bool with_chunks, struct json_object **ret);
Manifest *manifest_free(Manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manifest *, manifest_free);

const ManifestImage *manifest_find_image(const Manifest *m, const char *slotclass);
/* [a-z0-9][a-z0-9_-]{0,31}: the slot class names a manifest may use. */
bool manifest_slotclass_is_valid(const char *s);
