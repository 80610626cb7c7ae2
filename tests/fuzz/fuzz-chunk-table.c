/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chunk tables of both bundle formats.
 * Format 1, manifest_scan() (lib/manifest-scan.c): the hand-written pre-pass that cuts the chunk
 * tables out of the manifest text and counts keys.  Checks that the skeleton it returns is
 * consistent, that the tables it claims exist in full, and that it cleans up after itself on
 * both paths.
 * Format 2, manifest_check_chunk_table() (lib/manifest.c) on a binary table, for an input that
 * starts with 0x02: u64 image size, u64 stored size, u32 chunk max (little endian), a
 * compression byte, then the 72-byte entries.  What it accepts is checked against an
 * independent reading of the entries: sizes in bounds and adding up.
 * Patch tables, manifest_check_patch_table() (lib/manifest-patch.c), for an input that starts
 * with 0x03: u32 window, u64 old image size, u64 patch data size, a byte n (1 .. 255 chunks),
 * n u32 raw chunk sizes, then the 96-byte patch entries; checked the same way. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "chunk.h"
#include "manifest-scan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

#define TABLE_HEADER (1 + 8 + 8 + 4 + 1)

static uint64_t get_le(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static void fuzz_binary_table(const uint8_t *data, size_t size) {
        ManifestImage img = { .slotclass = (char *) "rootfs" };
        UError err = UERROR_NULL;
        uint64_t raw_sum = 0, stored_sum = 0;
        bool ok = true;
        int r;

        if (size < TABLE_HEADER)
                return;
        img.size = get_le(data + 1, 8);
        img.stored_size = get_le(data + 9, 8);
        img.chunk_size = (uint32_t) get_le(data + 17, 4);
        img.compression = data[21] & 1 ? COMPRESSION_ZSTD : COMPRESSION_NONE;
        img.n_chunks = (size - TABLE_HEADER) / CHUNK_TABLE_ENTRY_SIZE;
        /* A copy of exactly the table's size, so that ASan sees any read past its end. */
        img.table = malloc(img.n_chunks * CHUNK_TABLE_ENTRY_SIZE + 1);
        FUZZ_ASSERT(img.table);
        memcpy(img.table, data + TABLE_HEADER, img.n_chunks * CHUNK_TABLE_ENTRY_SIZE);

        r = manifest_check_chunk_table(&img, &err);
        for (uint64_t i = 0; i < img.n_chunks; i++) {
                const uint8_t *e = data + TABLE_HEADER + i * CHUNK_TABLE_ENTRY_SIZE;
                uint32_t raw = (uint32_t) get_le(e, 4), stored = (uint32_t) get_le(e + 4, 4);

                ok = ok && raw >= 1 && raw <= img.chunk_size && stored >= 1 &&
                     (img.compression == COMPRESSION_ZSTD ? stored <= chunk_zstd_bound(raw) : stored == raw);
                raw_sum += raw;
                stored_sum += stored;
        }
        ok = ok && raw_sum == img.size && stored_sum == img.stored_size;
        fuzz_note("table of %llu entries: %s", (unsigned long long) img.n_chunks, r < 0 ? err.message : "ok");
        FUZZ_ASSERT((r == 0) == ok);
        if (r < 0)
                FUZZ_ASSERT(err.kind == ERROR_INVALID_BUNDLE && err.message[0] != '\0');
        free(img.table);
}

#define PATCH_HEADER (1 + 4 + 8 + 8 + 1)

static void fuzz_patch_table(const uint8_t *data, size_t size) {
        ManifestImage img = { .slotclass = (char *) "rootfs", .chunk_size = UINT32_MAX, .compression = COMPRESSION_ZSTD };
        PatchSet set = {};
        UError err = UERROR_NULL;
        uint64_t next = 0, sum = 0;
        uint32_t raw_sizes[255];
        const uint8_t *entries;
        bool ok = true;
        size_t n;
        int r;

        if (size < PATCH_HEADER)
                return;
        set.window = (uint32_t) get_le(data + 1, 4);
        set.source_size = get_le(data + 5, 8);
        set.data_size = get_le(data + 13, 8);
        n = data[21];
        if (n == 0 || size < PATCH_HEADER + 4 * n)
                return;
        img.n_chunks = n;
        img.table = calloc(n, CHUNK_TABLE_ENTRY_SIZE);
        FUZZ_ASSERT(img.table);
        for (size_t c = 0; c < n; c++) {
                raw_sizes[c] = (uint32_t) get_le(data + PATCH_HEADER + 4 * c, 4);
                memcpy(img.table + c * CHUNK_TABLE_ENTRY_SIZE, data + PATCH_HEADER + 4 * c, 4);
        }
        entries = data + PATCH_HEADER + 4 * n;
        set.n_entries = (size - PATCH_HEADER - 4 * n) / PATCH_TABLE_ENTRY_SIZE;
        set.table = malloc(set.n_entries * PATCH_TABLE_ENTRY_SIZE + 1);
        FUZZ_ASSERT(set.table);
        memcpy(set.table, entries, set.n_entries * PATCH_TABLE_ENTRY_SIZE);
        img.patch_sets = &set;
        img.n_patch_sets = 1;

        r = manifest_check_patch_table(&img, 0, &err);
        for (uint64_t i = 0; i < set.n_entries; i++) {
                const uint8_t *e = entries + i * PATCH_TABLE_ENTRY_SIZE;
                uint64_t first = get_le(e, 8), count = get_le(e + 8, 4), raw = get_le(e + 12, 4);
                uint64_t old_off = get_le(e + 16, 8), old_size = get_le(e + 24, 4), psize = get_le(e + 28, 4);
                uint64_t chunks = 0;

                ok = ok && count >= 1 && first >= next && first < n && count <= n - first;
                if (!ok)
                        break;
                for (uint64_t c = first; c < first + count; c++)
                        chunks += raw_sizes[c];
                ok = ok && chunks == raw && raw <= set.window && old_size <= set.window &&
                     old_off <= set.source_size && old_size <= set.source_size - old_off && psize >= 1 &&
                     psize <= chunk_zstd_bound((uint32_t) raw);
                next = first + count;
                sum += psize;
        }
        ok = ok && sum == set.data_size;
        fuzz_note("patch table of %llu entries: %s", (unsigned long long) set.n_entries, r < 0 ? err.message : "ok");
        FUZZ_ASSERT((r == 0) == ok);
        if (r < 0)
                FUZZ_ASSERT(err.kind == ERROR_INVALID_BUNDLE && err.message[0] != '\0');
        free(set.table);
        free(img.table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ManifestScan *s;
        UError err = UERROR_NULL;
        static volatile uint8_t sink;
        int r;

        if (size > 0 && data[0] == 0x02) {
                fuzz_binary_table(data, size);
                return 0;
        }
        if (size > 0 && data[0] == 0x03) {
                fuzz_patch_table(data, size);
                return 0;
        }
        s = calloc(1, sizeof(ManifestScan));
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
