/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"

/* One pass over the manifest text before json-c sees it (internal to manifest.c):
 *  - chunk tables ("images"[i]."chunks") are parsed here, strictly, into a compact array and cut
 *    out of the text, so a 4096-chunk table never exists as ~12000 json-c objects (that would
 *    cost ~1.5 MiB for a 1 GiB image);
 *  - keys are counted per object, so duplicate keys, which json-c would silently collapse, can be
 *    detected by comparing with what json-c kept;
 *  - tokens json-c tolerates but JSON does not (NaN, Infinity, single quotes) are refused.
 * Everything else (syntax, types, ranges) is checked by json-c and manifest.c. */

#define MANIFEST_JSON_DEPTH 16
#define MANIFEST_MAX_OBJECTS 1024

typedef struct ScanChunk {
        uint64_t size;      /* as written, range-checked by the caller */
        uint8_t sha256[32];
} ScanChunk;

typedef struct ManifestScan {
        char *skeleton;       /* the text with each recognised chunk table replaced by null */
        size_t skeleton_size;
        bool has_table[MANIFEST_MAX_IMAGES];
        ScanChunk *tables[MANIFEST_MAX_IMAGES];
        uint64_t n_chunks[MANIFEST_MAX_IMAGES];
        unsigned key_counts[MANIFEST_MAX_OBJECTS]; /* per object, in document order */
        size_t n_objects;
} ManifestScan;

int manifest_scan(const char *json, size_t size, ManifestScan *s, UError *err);
/* ERROR_INVALID_BUNDLE, "Manifest invalid: <what>". */
int manifest_invalid(UError *err, const char *fmt, ...) _printf_(2, 3);
void manifest_scan_done(ManifestScan *s);

/* lib/manifest-patch.c, for manifest.c: the optional "patch-sets" of a format-2 image
 * (docs/bundle-format.md "Patches"), which add their tables' and data's sizes to *patch_tables
 * and *patch_data (the patch data offsets follow); and their serialisation. */
struct json_object;
int manifest_parse_patch_sets(struct json_object *o, const char *where, ManifestImage *img, uint64_t *patch_tables,
                              uint64_t *patch_data, UError *err);
int manifest_patch_sets_to_json(const ManifestImage *img, struct json_object *o);
