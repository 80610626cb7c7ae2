/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rauc_manifest_parse() (lib/rauc-manifest.c) on the input as a RAUC manifest.raucm; what
 * parses must satisfy what lib/rauc-bundle.c relies on and translate into our Manifest. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chunk.h"
#include "fuzz.h"
#include "rauc-bundle.h"
#include "rauc-manifest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(rauc_manifest_freep) RaucManifest *rm = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        struct json_object *o = NULL;
        UError err = UERROR_NULL;

        if (rauc_manifest_parse((const char *) data, size, &rm, &err) < 0) {
                fuzz_note("rauc manifest: %s", err.message);
                FUZZ_ASSERT(err.kind == ERROR_INVALID_BUNDLE || err.kind == ERROR_FAILED);
                FUZZ_ASSERT(err.message[0] != '\0');
                return 0;
        }
        fuzz_note("rauc manifest: ok, %s, %zu image(s)", rauc_format_to_string(rm->format), rm->n_images);

        FUZZ_ASSERT(rm->compatible && rm->compatible[0]);
        FUZZ_ASSERT(rm->format == RAUC_FORMAT_PLAIN || rm->format == RAUC_FORMAT_VERITY);
        if (rm->format == RAUC_FORMAT_VERITY)
                FUZZ_ASSERT(rm->have_verity_hash && rm->have_verity_salt && rm->have_verity_size &&
                            rm->verity_salt_size > 0 && rm->verity_salt_size <= VERITY_SALT_MAX);
        FUZZ_ASSERT(rm->n_images >= 1 && rm->n_images <= MANIFEST_MAX_IMAGES);
        for (size_t i = 0; i < rm->n_images; i++) {
                const RaucImage *img = &rm->images[i];

                FUZZ_ASSERT(manifest_slotclass_is_valid(img->slotclass));
                FUZZ_ASSERT(img->filename && img->filename[0] && !strchr(img->filename, '/'));
                FUZZ_ASSERT(img->have_sha256 && img->have_size && img->size > 0 && img->size <= INT64_MAX);
                for (size_t j = 0; j < i; j++)
                        FUZZ_ASSERT(strcmp(rm->images[j].slotclass, img->slotclass) != 0);
        }

        FUZZ_ASSERT(rauc_manifest_to_manifest(rm, RAUC_CHUNK_SIZE, &m, &err) == 0);
        FUZZ_ASSERT(m->n_images == rm->n_images && m->security_version == 0 && m->expires == 0);
        for (size_t i = 0; i < m->n_images; i++) {
                FUZZ_ASSERT(m->images[i].n_chunks == chunk_count(m->images[i].size, RAUC_CHUNK_SIZE));
                FUZZ_ASSERT(memcmp(m->images[i].sha256, rm->images[i].sha256, 32) == 0);
        }
        FUZZ_ASSERT(manifest_to_json_object(m, false, &o) >= 0);
        json_object_put(o);
        return 0;
}
