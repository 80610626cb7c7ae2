/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

#define MANIFEST_FORMAT_VERSION 1
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
        uint64_t n_chunks;  /* == ceil(size / chunk_size) */
} ManifestImage;

typedef struct Manifest {
        unsigned format;
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
