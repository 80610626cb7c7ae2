/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The patches of format-2 bundles (docs/bundle-format.md "Patches"): the choice of old region
 * (lib/patch.c), the patch codec both ways with the decoder's refusals, the patch table checks
 * (lib/manifest-patch.c) entry by entry, the "patch-sets" manifest keys and their caps, and a
 * real bundle with patches read from a file and a pipe, its patch table and header flag each
 * tampered with and refused by name. */
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "bundle.h"
#include "chunk.h"
#include "fileio.h"
#include "manifest.h"
#include "patch.h"
#include "unit.h"
#include "util.h"
#include "test-bundle-pipe.h"
#include "test-bundle-setup.h"

#define KIB 1024u
TEST(run_region) {
        uint64_t lo, hi;

        /* Both neighbours matched, in order: exactly between them. */
        patch_run_region(true, 1000, true, 5000, 2000, 6000, 10000, 9000, &lo, &hi);
        CHECK_EQ(lo, 1000);
        CHECK_EQ(hi, 5000);
        /* Out of order: the same relative place (run 2000..6000 of 10000 in 20000 bytes). */
        patch_run_region(true, 7000, true, 5000, 2000, 6000, 10000, 20000, &lo, &hi);
        CHECK_EQ(lo, 4000);
        CHECK_EQ(hi, 12000);
        /* No right neighbour (the run ends the image). */
        patch_run_region(true, 1000, false, 0, 8000, 10000, 10000, 5000, &lo, &hi);
        CHECK_EQ(lo, 4000);
        CHECK_EQ(hi, 5000);
        /* A neighbour beyond the old image is not believed. */
        patch_run_region(true, 100, true, 99999, 0, 100, 1000, 1000, &lo, &hi);
        CHECK_EQ(lo, 0);
        CHECK_EQ(hi, 100);
}

TEST(piece_region) {
        uint64_t off;
        uint32_t size;

        /* A region smaller than the window and at least the piece: all of it. */
        patch_piece_region(0, 100 * KIB, 50 * KIB, 250 * KIB, 1u << 20, 0, 100 * KIB, 512 * KIB, &off, &size);
        CHECK_EQ(off, 50 * KIB);
        CHECK_EQ(size, 200 * KIB);
        /* A region larger than the window: a window-sized slice of it, around the piece's
         * proportional place (second half of the run: second half of the region). */
        patch_piece_region(0, 2048 * KIB, 0, 4096 * KIB, 8u << 20, 1024 * KIB, 2048 * KIB, 1024 * KIB, &off, &size);
        CHECK_EQ(size, 1024 * KIB);
        CHECK_EQ(off, 2560 * KIB); /* centre 3 MiB */
        /* Its first piece starts at the region's start, clipped. */
        patch_piece_region(0, 2048 * KIB, 0, 4096 * KIB, 8u << 20, 0, 64 * KIB, 1024 * KIB, &off, &size);
        CHECK_EQ(off, 0);
        CHECK_EQ(size, 1024 * KIB);
        /* An empty region (an insertion): widened to the piece, around the place, in the image. */
        patch_piece_region(0, 64 * KIB, 100 * KIB, 100 * KIB, 1u << 20, 0, 64 * KIB, 512 * KIB, &off, &size);
        CHECK_EQ(size, 64 * KIB);
        CHECK_EQ(off, 100 * KIB - 32 * KIB);
        /* At the end of a small old image: clipped to it. */
        patch_piece_region(0, 64 * KIB, 40 * KIB, 40 * KIB, 40 * KIB, 0, 64 * KIB, 512 * KIB, &off, &size);
        CHECK_EQ(off, 0);
        CHECK_EQ(size, 40 * KIB);
}

TEST(codec) {
        const size_t old_size = 512 * KIB, new_size = 256 * KIB;
        _cleanup_free_ uint8_t *old = malloc(old_size), *new = malloc(new_size), *out = malloc(new_size),
                               *patch = malloc(chunk_zstd_bound(new_size)), *other = malloc(old_size),
                               *two = malloc(2 * chunk_zstd_bound(new_size));
        _cleanup_(patch_decoder_freep) PatchDecoder *d = NULL;
        size_t n = 0, m;

        CHECK(old && new && out && patch && other && two);
        if (!old || !new || !out || !patch || !other || !two)
                return;
        fill_random(old, old_size, 1);
        fill_random(other, old_size, 2);
        memcpy(new, old + 100 * KIB, new_size);
        for (size_t i = 0; i < new_size; i += 101)
                new[i] ^= 0x5a;
        CHECK_EQ(patch_compress(old, old_size, new, new_size, 19, patch, chunk_zstd_bound(new_size), &n), 0);
        CHECK(n > 0 && n < new_size / 8);
        unit_diag("patch of %zu bytes for %zu changed-every-101st bytes against %zu old", n, new_size, old_size);
        CHECK_EQ(patch_decoder_new(&d), 0);
        CHECK_EQ(patch_decode(d, patch, n, old, old_size, out, new_size), 0);
        CHECK(memcmp(out, new, new_size) == 0);
        /* The decoder is reusable, and the prefix is needed: another one fails (checksum). */
        CHECK_EQ(patch_decode(d, patch, n, other, old_size, out, new_size), -EBADMSG);
        CHECK_EQ(patch_decode(d, patch, n, old, old_size, out, new_size), 0);
        /* Wrong sizes, a cut frame, trailing bytes, two frames: refused before decoding. */
        CHECK_EQ(patch_decode(d, patch, n, old, old_size, out, new_size - 1), -EBADMSG);
        CHECK_EQ(patch_decode(d, patch, n - 1, old, old_size, out, new_size), -EBADMSG);
        memcpy(two, patch, n);
        memcpy(two + n, patch, n);
        CHECK_EQ(patch_decode(d, two, 2 * n, old, old_size, out, new_size), -EBADMSG);
        CHECK_EQ(patch_decode(d, two, n + 1, old, old_size, out, new_size), -EBADMSG);
        /* A frame that does not declare its content size, or declares a larger window than its
         * content, would make zstd allocate a window: refused. */
        m = ZSTD_compress(two, chunk_zstd_bound(new_size), new, new_size, 1);
        CHECK(!ZSTD_isError(m));
        two[4] &= (uint8_t) ~0x20; /* Single_Segment off would need a window descriptor: corrupt */
        CHECK_EQ(patch_decode(d, two, m, old, old_size, out, new_size), -EBADMSG);
        {
                ZSTD_CCtx *c = ZSTD_createCCtx();

                CHECK(c);
                if (c) {
                        (void) ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
                        m = ZSTD_compress2(c, two, chunk_zstd_bound(new_size), new, new_size);
                        CHECK(!ZSTD_isError(m));
                        CHECK_EQ(patch_decode(d, two, m, old, old_size, out, new_size), -EBADMSG);
                        ZSTD_freeCCtx(c);
                }
        }
}

/* An image of 10 chunks of 1000 raw, 500 stored bytes (zstd), and one patch set. */
typedef struct Fixture {
        ManifestImage img;
        PatchSet set;
        uint8_t chunks[10 * CHUNK_TABLE_ENTRY_SIZE];
        uint8_t entries[4 * PATCH_TABLE_ENTRY_SIZE];
} Fixture;

static void put_entry(Fixture *f, unsigned i, uint64_t first, uint32_t count, uint32_t raw, uint64_t old_off,
                      uint32_t old_size, uint32_t patch_size) {
        uint8_t *e = f->entries + i * PATCH_TABLE_ENTRY_SIZE;
        uint64_t u64;
        uint32_t u32;

        memset(e, 0xab, PATCH_TABLE_ENTRY_SIZE);
        u64 = htole64(first);
        memcpy(e, &u64, 8);
        u32 = htole32(count);
        memcpy(e + 8, &u32, 4);
        u32 = htole32(raw);
        memcpy(e + 12, &u32, 4);
        u64 = htole64(old_off);
        memcpy(e + 16, &u64, 8);
        u32 = htole32(old_size);
        memcpy(e + 24, &u32, 4);
        u32 = htole32(patch_size);
        memcpy(e + 28, &u32, 4);
}

static void fixture(Fixture *f) {
        memset(f, 0, sizeof(*f));
        for (unsigned c = 0; c < 10; c++) {
                uint32_t raw = htole32(1000), stored = htole32(500);

                memcpy(f->chunks + c * CHUNK_TABLE_ENTRY_SIZE, &raw, 4);
                memcpy(f->chunks + c * CHUNK_TABLE_ENTRY_SIZE + 4, &stored, 4);
        }
        f->img = (ManifestImage) {
                .slotclass = (char *) "rootfs", .size = 10000, .chunk_size = 4096, .compression = COMPRESSION_ZSTD,
                .n_chunks = 10, .stored_size = 5000, .table = f->chunks, .patch_sets = &f->set, .n_patch_sets = 1,
        };
        f->set = (PatchSet) { .source_size = 50000, .window = 3000, .n_entries = 3, .data_size = 600, .table = f->entries };
        put_entry(f, 0, 0, 2, 2000, 0, 2000, 100);
        put_entry(f, 1, 4, 3, 3000, 40000, 2000, 200);
        put_entry(f, 2, 9, 1, 1000, 49000, 1000, 300);
}

static bool table_fails(Fixture *f, const char *why) {
        UError err = UERROR_NULL;
        int r = manifest_check_patch_table(&f->img, 0, &err);

        if (r >= 0 || err.kind != ERROR_INVALID_BUNDLE || !strstr(err.message, why)) {
                unit_diag("expected '%s', got r=%d '%s'", why, r, err.message);
                return false;
        }
        return true;
}

TEST(table_checks) {
        UError err = UERROR_NULL;
        Fixture f;
        PatchEntry e;

        fixture(&f);
        CHECK_EQ(manifest_check_patch_table(&f.img, 0, &err), 0);
        manifest_patch_entry(&f.set, 1, &e);
        CHECK_EQ(e.first_chunk, 4);
        CHECK_EQ(e.n_chunks, 3);
        CHECK_EQ(e.old_offset, 40000);
        CHECK_EQ(e.patch_size, 200);
        CHECK(e.old_sha256 == f.entries + PATCH_TABLE_ENTRY_SIZE + 32);

        fixture(&f);
        put_entry(&f, 1, 1, 1, 1000, 0, 0, 200); /* overlaps entry 0 */
        CHECK(table_fails(&f, "entry 1 has a chunk range out of bounds, out of order or overlapping"));
        fixture(&f);
        put_entry(&f, 2, 3, 1, 1000, 0, 0, 300); /* before entry 1 */
        CHECK(table_fails(&f, "entry 2 has a chunk range"));
        fixture(&f);
        put_entry(&f, 2, 9, 2, 1000, 0, 0, 300); /* past the last chunk */
        CHECK(table_fails(&f, "entry 2 has a chunk range"));
        fixture(&f);
        put_entry(&f, 2, UINT64_MAX, 2, 1000, 0, 0, 300);
        CHECK(table_fails(&f, "entry 2 has a chunk range"));
        fixture(&f);
        put_entry(&f, 1, 4, 0, 0, 0, 0, 200);
        CHECK(table_fails(&f, "entry 1 has a chunk range"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 2999, 40000, 2000, 200); /* not the chunks' sum */
        CHECK(table_fails(&f, "entry 1 has a raw size"));
        fixture(&f);
        f.set.window = 2000; /* entry 1 covers 3000 raw bytes */
        CHECK(table_fails(&f, "entry 1 has a raw size"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 3000, 48001, 2000, 200); /* past the old image's end */
        CHECK(table_fails(&f, "entry 1 has an old region outside"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 3000, UINT64_MAX - 10, 2000, 200);
        CHECK(table_fails(&f, "entry 1 has an old region outside"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 3000, 0, 3001, 200); /* larger than the window */
        CHECK(table_fails(&f, "entry 1 has an old region outside"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 3000, 0, 2000, 0);
        CHECK(table_fails(&f, "entry 1 has a patch size out of range"));
        fixture(&f);
        put_entry(&f, 1, 4, 3, 3000, 0, 2000, (uint32_t) chunk_zstd_bound(3000) + 1);
        CHECK(table_fails(&f, "entry 1 has a patch size out of range"));
        fixture(&f);
        f.set.data_size = 601;
        CHECK(table_fails(&f, "entry 3 (the end): the patch sizes do not add up"));
}

static const char *manifest_with(const char *sets) {
        static char buf[4096];

        snprintf(buf, sizeof(buf),
                 "{\"format\":2,\"compatible\":\"b\",\"version\":\"1\",\"build\":\"1\",\"images\":[{\"slotclass\":\"rootfs\","
                 "\"filename\":\"r.img\",\"size\":1000000,\"sha256\":\"%064d\",\"compression\":\"zstd\","
                 "\"chunk-min\":16384,\"chunk-avg\":65536,\"chunk-max\":262144,\"chunk-count\":20,\"stored-size\":500000,"
                 "\"chunk-table-sha256\":\"%064d\"%s}]}",
                 0, 0, sets);
        return buf;
}

#define SET(src, window, count, size)                                                                  \
        "{\"source-sha256\":\"" src "\",\"source-size\":900000,\"window\":" window ",\"entry-count\":" count \
        ",\"table-sha256\":\"" SHA_B "\",\"data-size\":" size "}"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static bool parse_fails(const char *sets, const char *why) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        UError err = UERROR_NULL;
        const char *json = manifest_with(sets);
        int r = manifest_parse(json, strlen(json), &m, &err);

        if (r >= 0 || err.kind != ERROR_INVALID_BUNDLE || !strstr(err.message, why)) {
                unit_diag("expected '%s', got r=%d '%s'", why, r, err.message);
                return false;
        }
        return true;
}

TEST(manifest_keys) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *out = NULL;
        UError err = UERROR_NULL;
        const char *json = manifest_with(",\"patch-sets\":[" SET(SHA_A, "2097152", "3", "1000") "," SET(SHA_C, "262144", "20", "77") "]");

        CHECK_EQ(manifest_parse(json, strlen(json), &m, &err), 0);
        if (!m) {
                unit_diag("%s", err.message);
                return;
        }
        CHECK_EQ(m->images[0].n_patch_sets, 2);
        CHECK_EQ(m->images[0].patch_sets[0].window, 2u << 20);
        CHECK_EQ(m->images[0].patch_sets[1].data_offset, 1000);
        CHECK_EQ(m->patch_data_size, 1077);
        CHECK_EQ(m->patch_tables_size, 23 * PATCH_TABLE_ENTRY_SIZE);
        /* What bundle create writes is what was read. */
        CHECK_EQ(manifest_to_json(m, &out), 0);
        CHECK(out && strstr(out, "\"patch-sets\":[{\"source-sha256\":\"" SHA_A "\",\"source-size\":900000,"
                                 "\"window\":2097152,\"entry-count\":3,"));
        m = manifest_free(m);
        /* Without the key: no sets, nothing in the output. */
        json = manifest_with("");
        CHECK_EQ(manifest_parse(json, strlen(json), &m, &err), 0);
        out = mfree(out);
        CHECK(m && manifest_to_json(m, &out) == 0 && out && !strstr(out, "patch"));

        CHECK(parse_fails(",\"patch-sets\":{}", "\"patch-sets\" must be an array"));
        CHECK(parse_fails(",\"patch-sets\":[]", "\"patch-sets\" must have 1..8 entries"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "4194305", "3", "1000") "]", "\"window\" 4194305 out of range 262144..4194304"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "131072", "3", "1000") "]", "\"window\" 131072 out of range"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "262144", "21", "1000") "]", "\"entry-count\" 21 out of range 1..20"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "262144", "0", "1000") "]", "\"entry-count\" 0 out of range"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "262144", "2", "0") "]", "\"data-size\" 0 out of range"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "262144", "2", "1") "," SET(SHA_A, "262144", "2", "1") "]",
                          "the same \"source-sha256\" as \"patch-sets\"[0]"));
        CHECK(parse_fails(",\"patch-sets\":[" SET("AA", "262144", "2", "1") "]", "\"source-sha256\" must be 64 hex digits"));
        CHECK(parse_fails(",\"patch-sets\":[" SET(SHA_A, "262144", "2", "9223372036854775807") "," SET(SHA_C, "262144", "2", "1") "]",
                          "patch data size overflows"));
}

/* The cap over all images: 16 images of the largest counts would be 16 * 20 entries here, far
 * below it; checked with one image of many chunks instead. */
TEST(tables_cap) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        UError err = UERROR_NULL;
        char json[2048];
        uint64_t max = MANIFEST_MAX_PATCH_TABLES_SIZE / PATCH_TABLE_ENTRY_SIZE;

        snprintf(json, sizeof(json),
                 "{\"format\":2,\"compatible\":\"b\",\"version\":\"1\",\"build\":\"1\",\"images\":[{\"slotclass\":\"rootfs\","
                 "\"filename\":\"r.img\",\"size\":100000000,\"sha256\":\"%064d\",\"compression\":\"zstd\","
                 "\"chunk-min\":1024,\"chunk-avg\":2048,\"chunk-max\":8192,\"chunk-count\":100000,\"stored-size\":5,"
                 "\"chunk-table-sha256\":\"%064d\",\"patch-sets\":[" SET(SHA_A, "262144", "%llu", "1") "," SET(SHA_C, "262144", "1", "1") "]}]}",
                 0, 0, (unsigned long long) max);
        CHECK(manifest_parse(json, strlen(json), &m, &err) < 0);
        CHECK(strstr(err.message, "patch tables of more than 2097152 bytes"));
}

static uint8_t *image_v2;
static const size_t v2_size = (2u << 20) + 4096;

/* Reads a whole bundle; 0 and the chunks' bytes all equal v2, or the error. */
static int read_all(int fd, UError *err) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        uint64_t at = 0;
        BundleChunk c;
        int k;

        k = bundle_reader_new(fd, UINT64_MAX, -1, &r);
        if (k < 0)
                return k;
        k = bundle_reader_verify(r, keyring, err);
        if (k < 0)
                return k;
        while ((k = bundle_reader_next_chunk(r, &c, err)) > 0) {
                if (c.offset != at || c.offset + c.size > v2_size || memcmp(c.data, image_v2 + c.offset, c.size) != 0)
                        return -EBADMSG;
                at += c.size;
        }
        return k < 0 ? k : at == v2_size ? 0 : -EPIPE;
}

static int read_path(const char *path, UError *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        *err = UERROR_NULL;
        return fd < 0 ? -errno : read_all(fd, err);
}

TEST(bundle_round_trip) {
        _cleanup_free_ uint8_t *v1 = malloc(2u << 20), *bytes = NULL;
        UError err = UERROR_NULL;
        uint64_t sig, flags;
        size_t size = 0, table_at;
        pid_t pid;
        int fd;

        CHECK(v1 && image_v2);
        if (!v1 || !image_v2)
                return;
        fill_random(v1, 2u << 20, 7);
        memcpy(image_v2, v1, 1u << 20);
        memset(image_v2 + (1u << 20), 'x', 4096); /* inserted */
        memcpy(image_v2 + (1u << 20) + 4096, v1 + (1u << 20), 1u << 20);
        for (size_t i = 100 * KIB; i < 164 * KIB; i += 97)
                image_v2[i] ^= 1;
        CHECK_EQ(write_file_atomic(wpath("v1.img"), v1, 2u << 20, 0644), 0);
        CHECK_EQ(write_file_atomic(wpath("v2.img"), image_v2, v2_size, 0644), 0);
        CHECK_EQ(create_format2(wpath("plain.bundle"), wpath("v2.img"), COMPRESSION_ZSTD, 0, NULL, 512 * KIB), 0);
        CHECK_EQ(create_format2(wpath("patched.bundle"), wpath("v2.img"), COMPRESSION_ZSTD, 0, wpath("v1.img"), 512 * KIB), 0);

        /* Without patches: flags 0, as before this feature. */
        CHECK_EQ(read_full_file(wpath("plain.bundle"), 1u << 30, (char **) &bytes, &size), 0);
        memcpy(&flags, bytes + 24, 8);
        CHECK_EQ(le64toh(flags), 0);
        CHECK(!memmem(bytes, size, "patch-sets", 10));
        bytes = mfree(bytes);

        CHECK_EQ(read_full_file(wpath("patched.bundle"), 1u << 30, (char **) &bytes, &size), 0);
        if (!bytes)
                return;
        memcpy(&flags, bytes + 24, 8);
        CHECK_EQ(le64toh(flags), BUNDLE_FLAG_PATCHES);
        CHECK(memmem(bytes, size, "\"patch-sets\":[{", 15));

        CHECK_EQ(read_path(wpath("patched.bundle"), &err), 0);
        fd = pipe_from_file(wpath("patched.bundle"), &pid);
        CHECK_EQ(read_all(fd, &err), 0);
        pipe_done(fd, pid);

        /* The patch table tampered with: its signed hash catches it. */
        memcpy(&sig, bytes + 16, 8);
        table_at = 32 + (size_t) le64toh(sig);
        /* The patch table follows the chunk tables, whose size only the manifest says: flip a
         * byte of each table entry from the end of the signature on until the error names the
         * patch table (every earlier flip fails the chunk table's check). */
        {
                bool found = false;

                for (size_t at = table_at; at < size && !found; at += CHUNK_TABLE_ENTRY_SIZE) {
                        bytes[at] ^= 1;
                        CHECK_EQ(write_file_atomic(wpath("bad.bundle"), bytes, size, 0644), 0);
                        bytes[at] ^= 1;
                        if (read_path(wpath("bad.bundle"), &err) < 0 &&
                            strstr(err.message, "Patch table 0 of image rootfs failed verification: sha256 mismatch"))
                                found = true;
                }
                CHECK(found);
        }
        /* The flag cleared (it is outside the signature): the manifest's sets say otherwise. */
        flags = 0;
        memcpy(bytes + 24, &flags, 8);
        CHECK_EQ(write_file_atomic(wpath("bad.bundle"), bytes, size, 0644), 0);
        CHECK(read_path(wpath("bad.bundle"), &err) < 0);
        CHECK(strstr(err.message, "Bundle header flags 0x0 do not match the manifest, which lists patches"));
        /* An unknown flag: refused by name, as an older reader refuses flag 1. */
        flags = htole64(2 | BUNDLE_FLAG_PATCHES);
        memcpy(bytes + 24, &flags, 8);
        CHECK_EQ(write_file_atomic(wpath("bad.bundle"), bytes, size, 0644), 0);
        CHECK(read_path(wpath("bad.bundle"), &err) < 0);
        CHECK(strstr(err.message, "unknown flags 0x3"));
        /* Trailing data after the patch data is still refused. */
        flags = htole64(BUNDLE_FLAG_PATCHES);
        memcpy(bytes + 24, &flags, 8);
        {
                _cleanup_free_ uint8_t *longer = malloc(size + 1);

                CHECK(longer);
                if (longer) {
                        memcpy(longer, bytes, size);
                        longer[size] = 0;
                        CHECK_EQ(write_file_atomic(wpath("bad.bundle"), longer, size + 1, 0644), 0);
                        CHECK(read_path(wpath("bad.bundle"), &err) < 0);
                        CHECK(strstr(err.message, "trailing data"));
                }
        }
        /* A truncated one (the patch data cut short) from a pipe: refused by name. */
        CHECK_EQ(write_file_atomic(wpath("bad.bundle"), bytes, size - 1, 0644), 0);
        fd = pipe_from_file(wpath("bad.bundle"), &pid);
        err = UERROR_NULL;
        CHECK(read_all(fd, &err) < 0);
        pipe_done(fd, pid);
        CHECK(strstr(err.message, "Bundle truncated: stream ended in the patch data"));
}

static int setup(void) {
        if (bundle_test_setup() < 0)
                return -1;
        image_v2 = malloc(v2_size);
        return image_v2 ? 0 : -1;
}

UNIT_MAIN_BEGIN("test-patch")
        signal(SIGPIPE, SIG_IGN);
        RUN(run_region);
        RUN(piece_region);
        RUN(codec);
        RUN(table_checks);
        RUN(manifest_keys);
        RUN(tables_cap);
        if (setup() < 0) {
                unit_fail_case("setup");
                return 1;
        }
        RUN(bundle_round_trip);
        free(image_v2);
        bundle_test_cleanup();
UNIT_MAIN_END
