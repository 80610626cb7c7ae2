/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manifest_scan() (lib/manifest-scan.c): the hand-written pre-pass that cuts the chunk tables out
 * of the manifest text and counts keys.  Checks that the skeleton it returns is consistent, that
 * the tables it claims exist in full, and that it cleans up after itself on both paths. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest-scan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ManifestScan *s = calloc(1, sizeof(ManifestScan));
        UError err = UERROR_NULL;
        static volatile uint8_t sink;
        int r;

        FUZZ_ASSERT(s);
        r = manifest_scan((const char *) data, size, s, &err);
        fuzz_note("scan: %s", r < 0 ? err.message : "ok");
        if (r < 0)
                FUZZ_ASSERT(err.kind != ERROR_NONE && err.message[0] != '\0');
        else {
                FUZZ_ASSERT(s->skeleton);
                /* manifest_parse() refuses NUL bytes before the scan; without them the skeleton
                 * is a C string of exactly skeleton_size bytes. */
                if (!memchr(data, 0, size))
                        FUZZ_ASSERT(strlen(s->skeleton) == s->skeleton_size);
                FUZZ_ASSERT(s->n_objects <= MANIFEST_MAX_OBJECTS);
                for (size_t i = 0; i < MANIFEST_MAX_IMAGES; i++) {
                        if (!s->has_table[i])
                                continue;
                        FUZZ_ASSERT(s->tables[i] || s->n_chunks[i] == 0);
                        /* read every entry so ASan sees an undersized table */
                        for (uint64_t c = 0; c < s->n_chunks[i]; c++)
                                sink ^= s->tables[i][c].sha256[31] ^ (uint8_t) s->tables[i][c].size;
                }
        }
        manifest_scan_done(s);
        free(s);
        return 0;
}
