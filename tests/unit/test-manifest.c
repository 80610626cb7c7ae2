/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <stdint.h>

#include <json-c/json.h>

#include "chunk.h"
#include "manifest.h"
#include "unit.h"

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H64B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* One image of one 64 KiB chunk, zstd, stored in 100 bytes. */
static const char base[] =
        "{\"format\":1,\"compatible\":\"demo-board\",\"version\":\"1.0\",\"build\":\"b1\","
        "\"description\":\"d\",\"security-version\":0,\"images\":[{\"slotclass\":\"rootfs\","
        "\"filename\":\"rootfs.ext4\",\"size\":65536,\"sha256\":\"" H64A "\",\"chunk-size\":65536,"
        "\"compression\":\"zstd\",\"chunks\":[[100,\"" H64B "\"]]}]}";

/* base with the first occurrence of 'from' replaced by 'to' (must occur). */
static char *subst(const char *from, const char *to) {
        const char *p = strstr(base, from);
        char *s;

        if (!p) {
                fprintf(stdout, "  test bug: '%s' not in base\n", from);
                abort();
        }
        if (asprintf(&s, "%.*s%s%s", (int) (p - base), base, to, p + strlen(from)) < 0)
                abort();
        return s;
}

static int parse_str(const char *json, Manifest **ret, UError *err) {
        return manifest_parse(json, strlen(json), ret, err);
}

static bool accepts(const char *json) {
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        int r = parse_str(json, &m, &err);

        if (r < 0)
                fprintf(stdout, "  unexpected rejection: %s\n", err.message);
        manifest_free(m);
        return r >= 0;
}

/* Must be refused as an invalid bundle, with a message containing 'why'. */
static bool rejects(const char *json, size_t size, const char *why) {
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        int r = manifest_parse(json, size, &m, &err);

        if (r >= 0) {
                fprintf(stdout, "  accepted although it should not: %.200s\n", json);
                manifest_free(m);
                return false;
        }
        if (m || err.kind != ERROR_INVALID_BUNDLE || !strstr(err.message, why)) {
                fprintf(stdout, "  wrong rejection (want '%s'): kind %d, '%s'\n", why, err.kind,
                        err.message);
                return false;
        }
        return true;
}

TEST(accept_base) {
        Manifest *m = NULL;
        UError err = UERROR_NULL;

        CHECK_EQ(parse_str(base, &m, &err), 0);
        if (!m)
                return;
        CHECK_EQ(m->format, 1);
        CHECK_STREQ(m->compatible, "demo-board");
        CHECK_STREQ(m->version, "1.0");
        CHECK_STREQ(m->build, "b1");
        CHECK_STREQ(m->description, "d");
        CHECK_EQ(m->n_images, 1);
        CHECK_STREQ(m->images[0].slotclass, "rootfs");
        CHECK_STREQ(m->images[0].filename, "rootfs.ext4");
        CHECK_EQ(m->images[0].size, 65536);
        CHECK_EQ(m->images[0].chunk_size, 65536);
        CHECK_EQ(m->images[0].n_chunks, 1);
        CHECK_EQ(m->images[0].compression, COMPRESSION_ZSTD);
        CHECK_EQ(m->images[0].chunks[0].size, 100);
        CHECK_EQ(m->images[0].chunks[0].offset, 0);
        CHECK_EQ(m->images[0].sha256[0], 0xaa);
        CHECK_EQ(m->images[0].chunks[0].sha256[31], 0xbb);
        CHECK_EQ(m->payload_size, 100);
        CHECK(manifest_find_image(m, "rootfs") == &m->images[0]);
        CHECK(manifest_find_image(m, "appfs") == NULL);
        manifest_free(m);
}

TEST(accept_variants) {
        char *s;

        /* Unknown keys are ignored (forward compatible), at the top and in images. */
        CHECK(accepts(s = subst("\"format\":1,", "\"format\":1,\"future\":{\"x\":[1,2,{\"y\":null}]},")));
        free(s);
        CHECK(accepts(s = subst("\"size\":65536,", "\"size\":65536,\"verity\":\"later\",")));
        free(s);
        /* Optional description and security version. */
        CHECK(accepts(s = subst("\"description\":\"d\",", "")));
        free(s);
        CHECK(accepts(s = subst("\"security-version\":0,", "\"security-version\":9223372036854775807,")));
        free(s);
        CHECK(accepts(s = subst("\"security-version\":0,", "\"security-version\":0,\"expires\":1795300000,")));
        free(s);
        CHECK(accepts(s = subst("\"description\":\"d\"", "\"description\":\"line 1\\nline\\t2\"")));
        free(s);
        /* Trailing whitespace is fine; key order does not matter. */
        CHECK(accepts(s = subst("]}]}", "]}]}  \n")));
        free(s);
        /* Key order does not matter. */
        CHECK(accepts("{\"images\":[{\"chunks\":[[65536,\"" H64B "\"]],\"compression\":\"none\","
                      "\"chunk-size\":65536,\"sha256\":\"" H64A "\",\"size\":65536,\"filename\":\"x\","
                      "\"slotclass\":\"a-b_1\"}],\"build\":\"b\",\"version\":\"v\",\"compatible\":\"c\","
                      "\"format\":1}"));
}

/* A chunk table written with an escaped key is not cut out by the pre-scan; json-c parses it and
 * the result must be the same, and a second spelling of the key is still a duplicate. */
TEST(chunks_spellings) {
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        char *s;

        s = subst("\"chunks\":[[100,", "\"chunk\\u0073\" : [ [ 100 ,");
        CHECK_EQ(parse_str(s, &m, &err), 0);
        if (m) {
                CHECK_EQ(m->images[0].chunks[0].size, 100);
                CHECK_EQ(m->images[0].chunks[0].sha256[0], 0xbb);
        }
        manifest_free(m);
        free(s);

        s = subst("\"chunks\":[[100,", "\"chunk\\u0073\":[[-1,");
        CHECK(rejects(s, strlen(s), "stored size must not be negative"));
        free(s);
        s = subst("\"chunks\":[[100,", "\"chunk\\u0073\":[[100,\"x\"]],\"chunks\":[[100,");
        CHECK(rejects(s, strlen(s), "duplicate key"));
        free(s);
        s = subst("\"chunks\":[[100,", "\"chunks\":[[100,\"" H64B "\"]],\"chunks\":[[100,");
        CHECK(rejects(s, strlen(s), "duplicate key"));
        free(s);
        /* Whitespace anywhere JSON allows it. */
        s = subst("\"chunks\":[[100,\"" H64B "\"]]", "\"chunks\" :\n[ [\t100 , \"" H64B "\" ] ]");
        CHECK(accepts(s));
        free(s);
}

TEST(defaults) {
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        char *s = subst("\"description\":\"d\",\"security-version\":0,", "");

        CHECK_EQ(parse_str(s, &m, &err), 0);
        if (m) {
                CHECK_STREQ(m->description, "");
                CHECK_EQ(m->security_version, 0);
        }
        manifest_free(m);
        free(s);
}

TEST(reject_table) {
        static const struct { const char *from, *to, *why; } cases[] = {
                { "\"format\":1", "\"format\":3", "\"format\" 3 is not supported" },
                /* format 2 has no "chunks" or "chunk-size" (its table is binary) */
                { "\"format\":1", "\"format\":2", "are format 1 keys, not allowed in format 2" },
                { "\"format\":1", "\"format\":\"1\"", "\"format\" must be of type int" },
                { "\"format\":1", "\"format\":1.0", "must be of type int" },
                { "\"format\":1", "\"format\":-1", "must not be negative" },
                { "\"format\":1,", "", "\"format\" is missing" },
                { "\"compatible\":\"demo-board\",", "", "\"compatible\" is missing" },
                { "\"compatible\":\"demo-board\"", "\"compatible\":5", "must be of type string" },
                { "\"compatible\":\"demo-board\"", "\"compatible\":\"\"", "\"compatible\" is empty" },
                { "\"compatible\":\"demo-board\"", "\"compatible\":\"demo\\n\"", "control character" },
                { "\"compatible\":\"demo-board\"", "\"compatible\":\"demo\\u0000x\"", "NUL character" },
                { "\"compatible\":\"demo-board\"", "\"compatible\":null", "must be of type string" },
                { "\"version\":\"1.0\",", "", "\"version\" is missing" },
                { "\"build\":\"b1\",", "", "\"build\" is missing" },
                { "\"description\":\"d\"", "\"description\":\"a\\u0001\"", "control character" },
                { "\"security-version\":0", "\"security-version\":-1", "must not be negative" },
                { "\"security-version\":0", "\"security-version\":\"0\"", "must be of type int" },
                { "\"security-version\":0", "\"security-version\":1e3", "must be of type int" },
                { "\"security-version\":0", "\"security-version\":9223372036854775808", "out of range" },
                { "\"security-version\":0", "\"security-version\":18446744073709551616", "out of range" },
                { "\"security-version\":0", "\"security-version\":-99999999999999999999", "must not be negative" },
                { "\"security-version\":0", "\"security-version\":0,\"expires\":0", "out of range" },
                { "\"security-version\":0", "\"security-version\":0,\"expires\":-5", "must not be negative" },
                { "\"security-version\":0", "\"security-version\":0,\"expires\":\"2027-01-01\"", "must be of type int" },
                { "\"size\":65536", "\"size\":99999999999999999999999", "out of range" },
                { "\"images\":[", "\"imagez\":[", "\"images\" is missing" },
                { "\"images\":[{", "\"images\":[],\"x\":[{", "\"images\" must have 1..16 entries" },
                { "\"images\":[{", "\"images\":[1,{", "images[0]: must be an object" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"Rootfs\"", "must match" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"-rootfs\"", "must match" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"root/fs\"", "must match" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"root fs\"", "must match" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"\"", "\"slotclass\" is empty" },
                { "\"slotclass\":\"rootfs\"", "\"slotclass\":\"abcdefghijklmnopqrstuvwxyz0123456\"", "longer than 32" },
                { "\"slotclass\":\"rootfs\",", "", "\"slotclass\" is missing" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"../x\"", "not a safe base name" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"/abs\"", "not a safe base name" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"a/../../x\"", "not a safe base name" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"..\"", "not a safe base name" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\".hidden\"", "not a safe base name" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"\"", "\"filename\" is empty" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"a\\u0000b\"", "NUL character" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"a\\nb\"", "control character" },
                { "\"filename\":\"rootfs.ext4\"", "\"filename\":\"a\\\\b\"", "not a safe base name" },
                { "\"size\":65536", "\"size\":0", "\"size\" 0 out of range" },
                { "\"size\":65536", "\"size\":-65536", "must not be negative" },
                { "\"size\":65536", "\"size\":9223372036854775808", "out of range" },
                { "\"size\":65536", "\"size\":65536.0", "must be of type int" },
                { "\"size\":65536", "\"size\":\"65536\"", "must be of type int" },
                { "\"size\":65536", "\"size\":65537", "\"chunks\" has 1 entries, but size 65537" },
                { "\"sha256\":\"" H64A "\"", "\"sha256\":\"aa\"", "\"sha256\" must be 64 hex digits" },
                { "\"sha256\":\"" H64A "\"", "\"sha256\":\"" H64A "a\"", "must be 64 hex digits" },
                { "\"sha256\":\"a", "\"sha256\":\"A", "lower-case hex" },
                { "\"sha256\":\"a", "\"sha256\":\"g", "lower-case hex" },
                { "\"sha256\":\"" H64A "\"", "\"sha256\":32", "must be of type string" },
                { "\"chunk-size\":65536", "\"chunk-size\":4096", "out of range" },
                { "\"chunk-size\":65536", "\"chunk-size\":0", "out of range" },
                { "\"chunk-size\":65536", "\"chunk-size\":8388608", "out of range" },
                { "\"chunk-size\":65536", "\"chunk-size\":65537", "not a multiple of 4096" },
                { "\"chunk-size\":65536", "\"chunk-size\":-65536", "must not be negative" },
                { "\"compression\":\"zstd\"", "\"compression\":\"gzip\"", "'gzip' is not supported" },
                { "\"compression\":\"zstd\"", "\"compression\":\"ZSTD\"", "is not supported" },
                { "\"compression\":\"zstd\"", "\"compression\":\"zstd\\u0000x\"", "is not supported" },
                { "\"compression\":\"zstd\",", "", "\"compression\" is missing" },
                { "\"compression\":\"zstd\"", "\"compression\":\"none\"", "stored size 100 out of range 65536..65536" },
                { ",\"chunks\":[[100,\"" H64B "\"]]", "", "\"chunks\" is missing" },
                { "\"chunks\":[[100,\"" H64B "\"]]", "\"chunks\":[]", "\"chunks\" has 0 entries" },
                { "\"chunks\":[[100,\"" H64B "\"]]", "\"chunks\":{}", "must be of type array" },
                { "[[100,\"" H64B "\"]]", "[[100,\"" H64B "\"],[100,\"" H64B "\"]]", "has 2 entries" },
                { "[100,\"" H64B "\"]", "[100]", "must be [stored-size, \"sha256\"]" },
                { "[100,\"" H64B "\"]", "[100,\"" H64B "\",1]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[\"100\",\"" H64B "\"]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "{\"size\":100}", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[0,\"" H64B "\"]", "stored size 0 out of range" },
                { "[100,\"" H64B "\"]", "[-1,\"" H64B "\"]", "must not be negative" },
                { "[100,\"" H64B "\"]", "[1000000,\"" H64B "\"]", "stored size 1000000 out of range" },
                { "[100,\"" H64B "\"]", "[100,\"bb\"]", "sha256 must be 64" },
                { "[100,\"" H64B "\"]", "[100,\"" H64A "a\"]", "sha256 must be 64" },
                { "[100,\"" H64B "\"]", "[100,\"\\u0062" H64B "\"]", "sha256 must be 64" },
                { "[100,\"" H64B "\"]", "[100 ,\"" H64B "\" ,]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[0100,\"" H64B "\"]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[1e2,\"" H64B "\"]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[100.0,\"" H64B "\"]", "must be [stored-size" },
                { "[100,\"" H64B "\"]", "[99999999999999999999999,\"" H64B "\"]", "stored size out of range" },
                /* Structure and syntax. */
                { "{\"format\":1,", "{\"format\":1,\"format\":1,", "duplicate key" },
                { "\"size\":65536,", "\"size\":65536,\"size\":65536,", "duplicate key" },
                { "\"format\":1,", "\"format\":1,\"x\":{\"a\":1,\"a\":2},", "duplicate key" },
                { "]}]}", "]}]}x", "unexpected 'x'" },
                { "]}]}", "]}]}{}", "JSON syntax error" },
                { "]}]}", "]}]", "incomplete" },
                { "\"format\":1,", "\"format\":1,\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],", "nesting too deep" },
                { "\"format\":1,", "\"format\":1,\"x\":NaN,", "not valid JSON" },
                { "\"format\":1,", "\"format\":1,\"x\":-Infinity,", "not valid JSON" },
                { "\"format\":1,", "\"format\":1,'x':1,", "not valid JSON" },
                { "\"format\":1,", "\"format\":1,\"x\":\"\\xff\",", "JSON syntax error" },
                { "\"format\":1,", "\"format\":1,\"x\":\"\xff\",", "JSON syntax error" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *s = subst(cases[i].from, cases[i].to);

                bool ok = rejects(s, strlen(s), cases[i].why);

                if (!ok)
                        fprintf(stdout, "  case %zu: '%s' -> '%s'\n", i, cases[i].from, cases[i].to);
                CHECK(ok);
                free(s);
        }
}

TEST(reject_structure) {
        char *s;
        char big[64] = "{}";

        CHECK(rejects("", 0, "empty"));
        CHECK(rejects("[]", 2, "top level must be an object"));
        CHECK(rejects("1 ", 2, "top level must be an object"));
        CHECK(rejects("\"x\"", 3, "top level must be an object"));
        /* A NUL byte in the middle, even where JSON would end. */
        s = strdup(base);
        CHECK(rejects(s, strlen(s) + 1, "contains a NUL byte"));
        s[10] = 0;
        CHECK(rejects(s, strlen(base), "contains a NUL byte"));
        free(s);
        /* The size limit is checked before anything is read. */
        CHECK(rejects(big, (size_t) MANIFEST_MAX_SIZE + 1, "exceed the limit"));
}

/* Builds a manifest with 'n_images' images (classes img0, img1, ...), each of 'size' bytes in
 * 'chunk_size' chunks; stored sizes are the raw sizes (compression none). */
static char *make_manifest(unsigned n_images, uint64_t size, uint32_t chunk_size, const char *compression,
                           uint32_t zstd_stored) {
        size_t cap = 1024 + (size_t) n_images * (256 + chunk_count(size, chunk_size) * 80);
        char *s = malloc(cap);
        size_t n = 0;

        n += (size_t) snprintf(s + n, cap - n, "{\"format\":1,\"compatible\":\"c\",\"version\":\"v\","
                               "\"build\":\"b\",\"images\":[");
        for (unsigned i = 0; i < n_images; i++) {
                uint64_t chunks = chunk_count(size, chunk_size);

                n += (size_t) snprintf(s + n, cap - n, "%s{\"slotclass\":\"img%u\",\"filename\":\"f%u\","
                                       "\"size\":%llu,\"sha256\":\"" H64A "\",\"chunk-size\":%u,"
                                       "\"compression\":\"%s\",\"chunks\":[", i ? "," : "", i, i,
                                       (unsigned long long) size, chunk_size, compression);
                for (uint64_t c = 0; c < chunks; c++)
                        n += (size_t) snprintf(s + n, cap - n, "%s[%u,\"" H64B "\"]", c ? "," : "",
                                               streq(compression, "none") ?
                                                       chunk_raw_size(size, chunk_size, c) : zstd_stored);
                n += (size_t) snprintf(s + n, cap - n, "]}");
        }
        snprintf(s + n, cap - n, "]}");
        return s;
}

TEST(limits) {
        char *s;

        s = make_manifest(16, 65536, 65536, "zstd", 10);
        CHECK(accepts(s));
        free(s);
        s = make_manifest(17, 65536, 65536, "zstd", 10);
        CHECK(rejects(s, strlen(s), "1..16 entries"));
        free(s);
        s = make_manifest(2, 65536, 65536, "zstd", 10);
        {
                char *p = strstr(s, "img1");
                p[3] = '0'; /* both images now claim slot class img0 */
                CHECK(rejects(s, strlen(s), "slot class 'img0' appears twice"));
        }
        free(s);
        /* The last chunk may be short; its stored size is bounded by its own raw size. */
        s = make_manifest(1, 65536 + 4096, 65536, "none", 0);
        CHECK(accepts(s));
        free(s);
        s = make_manifest(1, 65536 + 1, 65536, "zstd", (uint32_t) chunk_zstd_bound(1) + 1);
        CHECK(rejects(s, strlen(s), "out of range 1.."));
        free(s);
}

/* Offsets above 4 GiB: a 5 GiB image stored raw in 4 MiB chunks, then a second image whose
 * chunks start beyond 5 GiB in the payload. */
TEST(offsets_64bit) {
        const uint64_t size = UINT64_C(5) << 30;
        const uint32_t cs = CHUNK_SIZE_MAX;
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        char *s = make_manifest(2, size, cs, "none", 0);

        CHECK_EQ(parse_str(s, &m, &err), 0);
        if (m) {
                const ManifestImage *a = &m->images[0], *b = &m->images[1];

                CHECK_EQ(a->n_chunks, 1280);
                CHECK_EQ(a->chunks[1279].offset, size - cs);
                CHECK_EQ(b->chunks[0].offset, size);
                CHECK_EQ(b->chunks[1279].offset, 2 * size - cs);
                CHECK_EQ(m->payload_size, 2 * size);
                CHECK_EQ(chunk_raw_size(a->size, a->chunk_size, 1279), cs);
        }
        manifest_free(m);
        free(s);

        /* Image sizes up to 2^63-1 are accepted by the range check and counted without overflow. */
        CHECK_EQ(chunk_count(INT64_MAX, CHUNK_SIZE_MIN), ((uint64_t) INT64_MAX >> 16) + 1);
        CHECK_EQ(chunk_raw_size(INT64_MAX, CHUNK_SIZE_MIN, (uint64_t) INT64_MAX >> 16), 65535);
}

static size_t heap_in_use(void) {
        struct mallinfo2 mi = mallinfo2();

        return mi.uordblks + mi.hblkhd;
}

/* 4096 chunks (a 1 GiB image in 256 KiB chunks) must stay small once parsed. */
TEST(memory) {
        char *s = make_manifest(1, UINT64_C(1) << 30, 256 << 10, "zstd", 1000);
        Manifest *m = NULL;
        UError err = UERROR_NULL;
        size_t before, after;

        before = heap_in_use();
        CHECK_EQ(parse_str(s, &m, &err), 0);
        after = heap_in_use();
        CHECK(m && m->images[0].n_chunks == 4096);
        fprintf(stdout, "  4096-chunk manifest: %zu bytes of JSON, %zu bytes kept after parsing\n",
                strlen(s), after - before);
        CHECK(after - before < 256 * 1024);
        manifest_free(m);
        free(s);
}

TEST(round_trip) {
        char *s = make_manifest(3, 300000, 65536, "zstd", 777), *json = NULL, *json2 = NULL;
        Manifest *m = NULL, *m2 = NULL;
        struct json_object *o = NULL, *img, *v;
        UError err = UERROR_NULL;

        CHECK_EQ(parse_str(s, &m, &err), 0);
        if (!m)
                return;
        m->description = (free(m->description), strdup("multi\nline"));
        m->security_version = 42;
        CHECK_EQ(manifest_to_json(m, &json), 0);
        CHECK_EQ(parse_str(json, &m2, &err), 0);
        if (m2) {
                CHECK_EQ(m2->n_images, 3);
                CHECK_EQ(m2->security_version, 42);
                CHECK_STREQ(m2->description, "multi\nline");
                CHECK_EQ(m2->payload_size, m->payload_size);
                CHECK_EQ(m2->images[2].chunks[4].offset, m->images[2].chunks[4].offset);
                CHECK(memcmp(m2->images[1].sha256, m->images[1].sha256, 32) == 0);
                CHECK_EQ(manifest_to_json(m2, &json2), 0);
                CHECK_STREQ(json, json2);
        }

        /* The display form has no chunk tables, but counts and stored size. */
        CHECK_EQ(manifest_to_json_object(m, false, &o), 0);
        CHECK(json_object_object_get_ex(o, "images", &v));
        img = json_object_array_get_idx(v, 0);
        CHECK(!json_object_object_get_ex(img, "chunks", NULL));
        CHECK(json_object_object_get_ex(img, "chunk-count", &v) && json_object_get_int64(v) == 5);
        CHECK(json_object_object_get_ex(img, "stored-size", &v) && json_object_get_int64(v) == 5 * 777);
        json_object_put(o);
        CHECK_EQ(manifest_to_json_object(m, true, &o), 0);
        CHECK(json_object_object_get_ex(o, "images", &v));
        CHECK(json_object_object_get_ex(json_object_array_get_idx(v, 0), "chunks", NULL));
        json_object_put(o);

        manifest_free(m);
        manifest_free(m2);
        free(json);
        free(json2);
        free(s);
}

TEST(string_tables) {
        CHECK_STREQ(compression_to_string(COMPRESSION_NONE), "none");
        CHECK_STREQ(compression_to_string(COMPRESSION_ZSTD), "zstd");
        CHECK(compression_to_string(_COMPRESSION_MAX) == NULL);
        CHECK(compression_to_string(_COMPRESSION_INVALID) == NULL);
        CHECK_EQ(compression_from_string("zstd"), COMPRESSION_ZSTD);
        CHECK_EQ(compression_from_string("none"), COMPRESSION_NONE);
        CHECK_EQ(compression_from_string("xz"), _COMPRESSION_INVALID);
        CHECK_EQ(compression_from_string(NULL), _COMPRESSION_INVALID);

        CHECK(manifest_slotclass_is_valid("rootfs"));
        CHECK(manifest_slotclass_is_valid("0"));
        CHECK(manifest_slotclass_is_valid("app_fs-2"));
        CHECK(manifest_slotclass_is_valid("abcdefghijklmnopqrstuvwxyz012345"));
        CHECK(!manifest_slotclass_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        CHECK(!manifest_slotclass_is_valid(""));
        CHECK(!manifest_slotclass_is_valid("_x"));
        CHECK(!manifest_slotclass_is_valid("a.b"));
        CHECK(!manifest_slotclass_is_valid("A"));
        CHECK(!manifest_slotclass_is_valid(NULL));
}

UNIT_MAIN_BEGIN("test-manifest")
        RUN(accept_base);
        RUN(accept_variants);
        RUN(chunks_spellings);
        RUN(defaults);
        RUN(reject_table);
        RUN(reject_structure);
        RUN(limits);
        RUN(offsets_64bit);
        RUN(memory);
        RUN(round_trip);
        RUN(string_tables);
UNIT_MAIN_END
