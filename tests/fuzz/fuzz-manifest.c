/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manifest_parse() on the input as the signed manifest text; a manifest that parses must
 * serialise, parse again to the same thing and satisfy the invariants the bundle reader relies
 * on (chunk counts, contiguous offsets, payload size without overflow). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chunk.h"
#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

static void check_invariants(const Manifest *m) {
        uint64_t offset = 0;

        FUZZ_ASSERT(m->n_images >= 1 && m->n_images <= MANIFEST_MAX_IMAGES);
        for (size_t i = 0; i < m->n_images; i++) {
                const ManifestImage *img = &m->images[i];

                FUZZ_ASSERT(manifest_slotclass_is_valid(img->slotclass));
                FUZZ_ASSERT(manifest_find_image(m, img->slotclass) == img);
                FUZZ_ASSERT(img->chunk_size >= CHUNK_SIZE_MIN && img->chunk_size <= CHUNK_SIZE_MAX);
                FUZZ_ASSERT(img->n_chunks == chunk_count(img->size, img->chunk_size));
                for (uint64_t c = 0; c < img->n_chunks; c++) {
                        FUZZ_ASSERT(img->chunks[c].offset == offset);
                        FUZZ_ASSERT(!__builtin_add_overflow(offset, img->chunks[c].size, &offset));
                        if (img->compression == COMPRESSION_NONE)
                                FUZZ_ASSERT(img->chunks[c].size == chunk_raw_size(img->size, img->chunk_size, c));
                }
        }
        FUZZ_ASSERT(m->payload_size == offset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) Manifest *m = NULL, *again = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        struct json_object *o = NULL;
        UError err = UERROR_NULL;
        int r;

        r = manifest_parse((const char *) data, size, &m, &err);
        if (r < 0) {
                fuzz_note("manifest: %s", err.message);
                /* Every rejection names its reason with the right kind. */
                FUZZ_ASSERT(err.kind != ERROR_NONE && err.message[0] != '\0');
                return 0;
        }
        fuzz_note("manifest: ok, %zu image(s)", m->n_images);
        check_invariants(m);

        FUZZ_ASSERT(manifest_to_json_object(m, false, &o) >= 0);
        json_object_put(o);

        /* Round trip: what bundle create writes must parse back unchanged. */
        FUZZ_ASSERT(manifest_to_json(m, &json) >= 0);
        err = UERROR_NULL;
        r = manifest_parse(json, strlen(json), &again, &err);
        if (r < 0) {
                fprintf(stderr, "round trip failed: %s\n%s\n", err.message, json);
                abort();
        }
        FUZZ_ASSERT(manifest_to_json(again, &json2) >= 0);
        FUZZ_ASSERT(strcmp(json, json2) == 0);
        return 0;
}
