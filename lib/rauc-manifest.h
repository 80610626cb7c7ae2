/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "manifest.h"
#include "verity.h"

/* RAUC's manifest.raucm (docs/rauc-compat.md, "Bundles"): the keys Update1 honours, and a named
 * refusal for what it cannot do the way RAUC would (hooks, full custom handlers, encrypted
 * bundles, variant and artifact images, archive images).  Unknown keys and sections are
 * ignored, as RAUC's GKeyFile reader does. */

#define RAUC_MANIFEST_MAX_SIZE (64 * 1024)

typedef enum RaucFormat {
        RAUC_FORMAT_PLAIN,
        RAUC_FORMAT_VERITY,
        RAUC_FORMAT_CRYPT,
        _RAUC_FORMAT_MAX,
        _RAUC_FORMAT_INVALID = -22,
} RaucFormat;

const char *rauc_format_to_string(RaucFormat f);

typedef struct RaucImage {
        char *slotclass;
        char *filename;
        uint64_t size;
        uint8_t sha256[32];
        bool have_size, have_sha256;
} RaucImage;

typedef struct RaucManifest {
        char *compatible, *version, *description, *build;
        RaucFormat format;          /* PLAIN when the key is absent, as in RAUC */
        bool have_verity_hash, have_verity_salt, have_verity_size;
        uint8_t verity_hash[32];
        uint8_t verity_salt[VERITY_SALT_MAX];
        size_t verity_salt_size;
        uint64_t verity_size;
        RaucImage images[MANIFEST_MAX_IMAGES];
        size_t n_images;
} RaucManifest;

/* Parses 'size' bytes (need not be NUL-terminated).  Refusals are ERROR_INVALID_BUNDLE and
 * name the section and key. */
int rauc_manifest_parse(const char *data, size_t size, RaucManifest **ret, UError *err);
RaucManifest *rauc_manifest_free(RaucManifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(RaucManifest *, rauc_manifest_free);

/* Our Manifest for the install state machine: compatible, version, build, description, one
 * image per [image.<class>] with its size and sha256, chunk_size 'chunk_size' and no chunk
 * table (the RAUC reader cuts the image into chunks), no security version, no expiry. */
int rauc_manifest_to_manifest(const RaucManifest *rm, uint32_t chunk_size, Manifest **ret, UError *err);
