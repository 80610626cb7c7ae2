/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chunk.h"
#include "json-util.h"
#include "manifest.h"
#include "manifest-json.h"
#include "manifest-scan.h"
#include "util.h"

/* The optional patches of a format-2 image (docs/bundle-format.md "Patches"): their manifest
 * keys, and the checks of their binary tables.  A device uses a patch only after its table was
 * hashed against the signed "table-sha256" and passed manifest_check_patch_table(). */

#define bad(err, ...) manifest_invalid(err, __VA_ARGS__)

/* The raw size of chunk c of a format-2 image (its table entry's first field). */
static uint32_t chunk_raw(const ManifestImage *img, uint64_t c) {
        uint32_t raw;

        memcpy(&raw, img->table + c * CHUNK_TABLE_ENTRY_SIZE, sizeof(raw));
        return le32toh(raw);
}

int manifest_parse_patch_sets(struct json_object *o, const char *where, ManifestImage *img, uint64_t *patch_tables,
                              uint64_t *patch_data, UError *err) {
        struct json_object *sets;
        size_t n;
        int r;

        if (!json_object_object_get_ex(o, "patch-sets", &sets))
                return 0; /* optional: a bundle without patches */
        if (!json_object_is_type(sets, json_type_array))
                return bad(err, "%s\"patch-sets\" must be an array", where);
        n = json_object_array_length(sets);
        if (n < 1 || n > MANIFEST_MAX_PATCH_SETS)
                return bad(err, "%s\"patch-sets\" must have 1..%d entries, not %zu", where, MANIFEST_MAX_PATCH_SETS,
                           n);
        img->patch_sets = calloc(n, sizeof(PatchSet));
        if (!img->patch_sets)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        img->n_patch_sets = n;

        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_array_get_idx(sets, i);
                PatchSet *p = &img->patch_sets[i];
                uint64_t u;
                char w[96];

                snprintf(w, sizeof(w), "%s\"patch-sets\"[%zu]: ", where, i);
                if (!json_object_is_type(s, json_type_object))
                        return bad(err, "%smust be an object", w);
                r = manifest_get_sha256(s, w, "source-sha256", p->source_sha256, err);
                if (r >= 0)
                        r = manifest_get_u64(s, w, "source-size", 1, INT64_MAX, true, &p->source_size, err);
                /* A window holds at least one chunk; a device holds two windows at once. */
                if (r >= 0)
                        r = manifest_get_u64(s, w, "window", img->chunk_size, PATCH_WINDOW_MAX, true, &u, err);
                if (r < 0)
                        return r;
                p->window = (uint32_t) u;
                r = manifest_get_u64(s, w, "entry-count", 1, img->n_chunks, true, &p->n_entries, err);
                if (r < 0)
                        return r;
                if (p->n_entries > (MANIFEST_MAX_PATCH_TABLES_SIZE - *patch_tables) / PATCH_TABLE_ENTRY_SIZE)
                        return bad(err, "%spatch tables of more than %llu bytes", w,
                                   (unsigned long long) MANIFEST_MAX_PATCH_TABLES_SIZE);
                *patch_tables += p->n_entries * PATCH_TABLE_ENTRY_SIZE;
                r = manifest_get_sha256(s, w, "table-sha256", p->table_sha256, err);
                if (r >= 0)
                        r = manifest_get_u64(s, w, "data-size", 1, INT64_MAX, true, &p->data_size, err);
                if (r < 0)
                        return r;
                p->data_offset = *patch_data;
                if (__builtin_add_overflow(*patch_data, p->data_size, patch_data) || *patch_data > INT64_MAX)
                        return bad(err, "%spatch data size overflows", w);
                /* One set per old release: two for the same source would leave the device to pick. */
                for (size_t j = 0; j < i; j++)
                        if (memcmp(img->patch_sets[j].source_sha256, p->source_sha256, SHA256_SIZE) == 0)
                                return bad(err, "%sthe same \"source-sha256\" as \"patch-sets\"[%zu]", w, j);
        }
        return 0;
}

int manifest_patch_sets_to_json(const ManifestImage *img, struct json_object *o) {
        struct json_object *sets;
        int r = 0;

        if (img->n_patch_sets == 0)
                return 0;
        sets = json_object_new_array();
        if (!sets)
                return -ENOMEM;
        for (size_t i = 0; i < img->n_patch_sets; i++) {
                const PatchSet *p = &img->patch_sets[i];
                struct json_object *s = json_object_new_object();

                if (!s || json_object_array_add(sets, s) < 0) {
                        json_object_put(s);
                        json_object_put(sets);
                        return -ENOMEM;
                }
                r |= json_add(s, "source-sha256", manifest_json_sha256(p->source_sha256));
                r |= json_add(s, "source-size", json_object_new_uint64(p->source_size));
                r |= json_add(s, "window", json_object_new_uint64(p->window));
                r |= json_add(s, "entry-count", json_object_new_uint64(p->n_entries));
                r |= json_add(s, "table-sha256", manifest_json_sha256(p->table_sha256));
                r |= json_add(s, "data-size", json_object_new_uint64(p->data_size));
        }
        if (r < 0) {
                json_object_put(sets);
                return -ENOMEM;
        }
        return json_add(o, "patch-sets", sets);
}

void manifest_patch_entry(const PatchSet *p, uint64_t i, PatchEntry *ret) {
        const uint8_t *e = p->table + i * PATCH_TABLE_ENTRY_SIZE;
        uint64_t first, old_offset;
        uint32_t count, raw, old_size, patch_size;

        memcpy(&first, e, 8);
        memcpy(&count, e + 8, 4);
        memcpy(&raw, e + 12, 4);
        memcpy(&old_offset, e + 16, 8);
        memcpy(&old_size, e + 24, 4);
        memcpy(&patch_size, e + 28, 4);
        *ret = (PatchEntry) {
                .first_chunk = le64toh(first),
                .n_chunks = le32toh(count),
                .raw_size = le32toh(raw),
                .old_offset = le64toh(old_offset),
                .old_size = le32toh(old_size),
                .patch_size = le32toh(patch_size),
                .old_sha256 = e + 32,
                .patch_sha256 = e + 64,
        };
}

static int patch_invalid(const ManifestImage *img, size_t set, uint64_t i, const char *why, UError *err) {
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Patch table %zu of image %s invalid: entry %llu %s", set,
                          img->slotclass, (unsigned long long) i, why);
}

int manifest_check_patch_table(const ManifestImage *img, size_t set, UError *err) {
        const PatchSet *p = &img->patch_sets[set];
        uint64_t next = 0, data = 0;

        for (uint64_t i = 0; i < p->n_entries; i++) {
                uint64_t raw = 0, end;
                PatchEntry e;

                manifest_patch_entry(p, i, &e);
                if (e.n_chunks == 0 || e.first_chunk < next || e.first_chunk >= img->n_chunks ||
                    e.n_chunks > img->n_chunks - e.first_chunk)
                        return patch_invalid(img, set, i, "has a chunk range out of bounds, out of order or overlapping",
                                             err);
                next = e.first_chunk + e.n_chunks;
                /* The chunks of a valid entry are at most window bytes, at least one each: the
                 * loop stops after window + 1 chunks at most. */
                for (uint64_t c = e.first_chunk; c < next && raw <= p->window; c++)
                        raw += chunk_raw(img, c);
                if (raw != e.raw_size || e.raw_size > p->window)
                        return patch_invalid(img, set, i, "has a raw size that is not its chunks' or exceeds the window",
                                             err);
                if (e.old_size > p->window || e.old_offset > p->source_size ||
                    e.old_size > p->source_size - e.old_offset)
                        return patch_invalid(img, set, i, "has an old region outside the old image or the window", err);
                if (e.patch_size == 0 || e.patch_size > chunk_zstd_bound(e.raw_size))
                        return patch_invalid(img, set, i, "has a patch size out of range", err);
                if (__builtin_add_overflow(data, e.patch_size, &end))
                        return patch_invalid(img, set, i, "overflows the patch data", err);
                data = end;
        }
        if (data != p->data_size)
                return patch_invalid(img, set, p->n_entries, "(the end): the patch sizes do not add up to the signed one",
                                     err);
        return 0;
}
