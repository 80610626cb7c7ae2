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

/* Format 2, optional (docs/bundle-format.md "Patches"): zstd --patch-from patches of runs of an
 * image's chunks against a region of one older release's image.  A patch table entry: u64 first
 * chunk, u32 chunk count, u32 raw size (the chunks' raw sizes added), u64 offset and u32 length
 * of the old region in the old image, u32 patch size (little endian), sha256 of the old region,
 * sha256 of the patch bytes. */
#define PATCH_TABLE_ENTRY_SIZE 96
/* All patch tables of a bundle together, read and held before the payload like the chunk
 * tables: 2 MiB, 21845 patches. */
#define MANIFEST_MAX_PATCH_TABLES_SIZE (UINT64_C(2) << 20)
#define MANIFEST_MAX_PATCH_SETS 8          /* per image: the releases a bundle patches from */
/* The largest window (raw bytes of a patch, bytes of its old region) a device accepts: it holds
 * one region and one decoded patch of this size at once. */
#define PATCH_WINDOW_MAX (UINT32_C(4) << 20)
#define PATCH_WINDOW_DEFAULT (UINT32_C(1) << 20)

typedef struct PatchSet {
        uint8_t source_sha256[32]; /* of the whole old image: what status.json records for a slot */
        uint64_t source_size;      /* of the old image: every region lies within it */
        uint32_t window;           /* bound on each entry's raw size and region length */
        uint64_t n_entries;
        uint8_t table_sha256[32];
        uint64_t data_size;        /* sum of the entries' patch sizes */
        uint64_t data_offset;      /* of its first patch, from the start of the patch data */
        uint8_t *table;            /* PATCH_TABLE_ENTRY_SIZE * n_entries, once read and checked */
} PatchSet;

typedef struct PatchEntry {
        uint64_t first_chunk;
        uint32_t n_chunks;
        uint32_t raw_size;
        uint64_t old_offset;
        uint32_t old_size;
        uint32_t patch_size;
        const uint8_t *old_sha256;
        const uint8_t *patch_sha256;
} PatchEntry;

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
        PatchSet *patch_sets;       /* format 2 with patches: "patch-sets", in manifest order */
        size_t n_patch_sets;
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
/* Entry i (< n_entries) of a patch set's authenticated table. */
void manifest_patch_entry(const PatchSet *p, uint64_t i, PatchEntry *ret);
/* Checks patch set 'set' of img (its table read and hashed; img's chunk table already checked):
 * chunk ranges in bounds, in order and not overlapping, raw size the chunks' sum and within the
 * window, region within the old image and the window, patch size 1 .. zstd bound of the raw
 * size, patch sizes adding up to data_size.  ERROR_INVALID_BUNDLE "Patch table N of image X
 * invalid: entry M ...". */
int manifest_check_patch_table(const ManifestImage *img, size_t set, UError *err);

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
        uint64_t patch_tables_size; /* format 2: all patch tables, after the chunk tables */
        uint64_t patch_data_size;   /* format 2: all patches, after the payload */
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
