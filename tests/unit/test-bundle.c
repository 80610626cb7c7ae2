/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "chunk.h"
#include "fileio.h"
#include "read-ahead.h"
#include "unit.h"
#include "util.h"
#include "test-bundle-big.h"
#include "test-bundle-pipe.h"
#include "test-bundle-setup.h"

#define CS CHUNK_SIZE_MIN /* 64 KiB chunks keep the test data small */

typedef struct Image {
        const char *slotclass;
        char path[PATH_MAX + 128];
        uint8_t *data;
        size_t size;
} Image;

static Image images[2] = {
        { .slotclass = "rootfs", .size = 5 * CS + 1234 },
        { .slotclass = "appfs", .size = 100000 },
};

/* Half pseudo-random, half text: zstd has something to compress but not everything. */
static void fill(uint8_t *p, size_t n, uint32_t seed) {
        uint32_t x = seed;

        for (size_t i = 0; i < n; i++) {
                x = x * 1103515245 + 12345;
                p[i] = (i / 4096) % 2 ? (uint8_t) (x >> 16) : (uint8_t) ("line of text\n"[i % 13]);
        }
}

static int write_file(const char *path, const void *data, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

        if (fd < 0)
                return -errno;
        r = write_exact(fd, data, n);
        close(fd);
        return r;
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        return read_full_file(path, 256 << 20, (char **) ret, ret_size);
}

static int create(const char *out, size_t n_images, Compression compression, const char *signer) {
        BundleImageSpec specs[2];
        char cert[64], key[64];
        UError err = UERROR_NULL;
        int r;

        for (size_t i = 0; i < n_images; i++)
                specs[i] = (BundleImageSpec) { images[i].slotclass, images[i].path };
        snprintf(cert, sizeof(cert), "%s.pem", signer);
        snprintf(key, sizeof(key), "%s.key", signer);
        r = bundle_create(&(BundleCreateOptions) {
                                  .cert_path = pki(cert),
                                  .key_path = pki(key),
                                  .compatible = "test-board",
                                  .version = "2.0",
                                  .description = "unit test",
                                  .security_version = 7,
                                  .chunk_size = CS,
                                  .compression = compression,
                                  .images = specs,
                                  .n_images = n_images,
                                  .output_path = out,
                          },
                          &err);
        if (r < 0)
                fprintf(stdout, "  bundle_create failed: %s\n", err.message);
        return r;
}

typedef struct Result {
        int r;
        UError err;
        uint64_t chunks;      /* returned before the end or the error */
        bool data_ok;
        uint64_t bytes_read, total;
        uint64_t sig_size;
        uint64_t offsets[2][16]; /* payload offsets of the first chunks, for tampering */
        uint32_t sizes[2][16];
        size_t n_images;
} Result;

/* Set: run_reader() takes the chunks through the daemon's read-ahead thread (read-ahead.c, the
 * reader's two halves on two threads), which must give the same chunks and the same errors at
 * the same chunk. */
static bool via_read_ahead;

/* Runs a reader over fd to the end, checking every chunk against the source images.  If
 * cancel_after > 0, cancel_fd is signalled after that many chunks. */
static Result run_reader(int fd, uint64_t max_size, int cancel_fd, uint64_t cancel_after) {
        Result res = { .err = UERROR_NULL, .data_ok = true };
        ReadAhead *ahead = NULL;
        BundleReader *r = NULL;
        const Manifest *m;
        BundleChunk c;
        int k;

        if (bundle_reader_new(fd, max_size, cancel_fd, &r) < 0) {
                res.r = -ENOMEM;
                return res;
        }
        res.r = bundle_reader_verify(r, keyring, &res.err);
        if (res.r < 0)
                goto out;
        m = bundle_reader_manifest(r);
        res.n_images = m->n_images;
        res.sig_size = bundle_reader_total_size(r) - BUNDLE_HEADER_SIZE - m->payload_size;
        for (size_t i = 0; i < m->n_images && i < 2; i++)
                for (uint64_t j = 0; j < m->images[i].n_chunks && j < 16; j++) {
                        res.offsets[i][j] = m->images[i].chunks[j].offset;
                        res.sizes[i][j] = m->images[i].chunks[j].size;
                }

        if (via_read_ahead) {
                res.r = read_ahead_start(r, NULL, cancel_fd, &ahead);
                if (res.r < 0)
                        goto out;
        }
        for (;;) {
                static uint8_t into[2 * CS];
                uint32_t next = ahead ? read_ahead_next_chunk_size(ahead) : bundle_reader_next_chunk_size(r);
                const Image *img;

                /* Every other chunk into the caller's buffer, as the installer reads them. */
                if (ahead)
                        k = read_ahead_next_chunk_into(ahead, into + 1, sizeof(into) - 1, &c, &res.err);
                else if (res.chunks % 2)
                        k = bundle_reader_next_chunk_into(r, into + 1, sizeof(into) - 1, &c, &res.err);
                else
                        k = bundle_reader_next_chunk(r, &c, &res.err);
                if (k <= 0)
                        break;
                img = &images[c.image];
                if (c.size != next || ((ahead || res.chunks % 2) && c.data != into + 1))
                        res.data_ok = false;
                const ManifestImage *mi = &m->images[c.image];

                if (!streq(mi->slotclass, img->slotclass) || c.offset != c.index * (uint64_t) CS ||
                    c.size != MIN((uint64_t) CS, img->size - c.offset) ||
                    memcmp(c.data, img->data + c.offset, c.size) != 0 ||
                    c.last != (c.index + 1 == mi->n_chunks))
                        res.data_ok = false;
                res.chunks++;
                if (cancel_after && res.chunks == cancel_after)
                        (void) !write(cancel_fd, &(uint64_t) { 1 }, sizeof(uint64_t));
        }
        res.r = k;
out:
        ahead = read_ahead_free(ahead);
        res.bytes_read = bundle_reader_bytes_read(r);
        res.total = bundle_reader_total_size(r);
        bundle_reader_free(r);
        return res;
}

static Result read_path(const char *path, uint64_t max_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        Result res;

        if (fd < 0) {
                res = (Result) { .r = -errno };
                return res;
        }
        res = run_reader(fd, max_size, -1, 0);
        close(fd);
        return res;
}

/* Streams 'path' through a pipe from a child process: the reader cannot seek. */
static Result read_via_pipe(const char *path) {
        pid_t pid;
        int fd = pipe_from_file(path, &pid);
        Result res = run_reader(fd, UINT64_MAX, -1, 0);

        pipe_done(fd, pid);
        return res;
}

static uint64_t total_chunks(size_t n_images) {
        uint64_t n = 0;

        for (size_t i = 0; i < n_images; i++)
                n += chunk_count(images[i].size, CS);
        return n;
}

static bool fails(const Result *res, ErrorKind kind, const char *why) {
        if (res->r >= 0 || res->err.kind != kind || !strstr(res->err.message, why)) {
                fprintf(stdout, "  expected kind %d '%s', got r=%d kind=%d '%s'\n", kind, why, res->r,
                        res->err.kind, res->err.message);
                return false;
        }
        return true;
}

TEST(round_trip_pipe) {
        Result res;
        struct stat st;

        CHECK_EQ(create(wpath("multi.bundle"), 2, COMPRESSION_ZSTD, "direct"), 0);
        CHECK(access(wpath("multi.bundle.tmp"), F_OK) < 0);
        CHECK(stat(wpath("multi.bundle"), &st) == 0);

        res = read_via_pipe(wpath("multi.bundle"));
        CHECK_EQ(res.r, 0);
        if (res.r < 0)
                fprintf(stdout, "  %s\n", res.err.message);
        CHECK(res.data_ok);
        CHECK_EQ(res.chunks, total_chunks(2));
        CHECK_EQ(res.total, (uint64_t) st.st_size);
        /* Everything, plus the one-byte read that confirmed the end of the stream. */
        CHECK_EQ(res.bytes_read, (uint64_t) st.st_size);
        /* Compressible data was compressed. */
        CHECK(st.st_size < (off_t) (images[0].size + images[1].size));
}

TEST(manifest_fields) {
        BundleReader *r = NULL;
        UError err = UERROR_NULL;
        const Manifest *m;
        uint8_t h[32];
        int fd = open(wpath("multi.bundle"), O_RDONLY | O_CLOEXEC);

        CHECK(fd >= 0);
        CHECK_EQ(bundle_reader_new(fd, UINT64_MAX, -1, &r), 0);
        CHECK(bundle_reader_manifest(r) == NULL);
        CHECK_EQ(bundle_reader_verify(r, keyring, &err), 0);
        m = bundle_reader_manifest(r);
        CHECK(m);
        if (m) {
                CHECK_STREQ(m->compatible, "test-board");
                CHECK_STREQ(m->version, "2.0");
                CHECK_STREQ(m->description, "unit test");
                CHECK_EQ(m->security_version, 7);
                CHECK_EQ(strlen(m->build), 14); /* YYYYMMDDhhmmss */
                CHECK_EQ(strspn(m->build, "0123456789"), 14);
                CHECK_EQ(m->n_images, 2);
                CHECK_STREQ(m->images[0].filename, "rootfs.img");
                CHECK_EQ(m->images[0].size, images[0].size);
                CHECK_EQ(m->images[1].n_chunks, 2);
                sha256_buffer(images[1].data, images[1].size, h);
                CHECK(memcmp(h, m->images[1].sha256, 32) == 0);
        }
        CHECK_STREQ(bundle_reader_signer(r), "CN=direct");
        /* A reader verifies once. */
        err = UERROR_NULL;
        CHECK(bundle_reader_verify(r, keyring, &err) < 0);
        bundle_reader_free(r);
        close(fd);
}

TEST(compression_none) {
        Result res;
        struct stat st;

        CHECK_EQ(create(wpath("none.bundle"), 2, COMPRESSION_NONE, "direct"), 0);
        res = read_via_pipe(wpath("none.bundle"));
        CHECK_EQ(res.r, 0);
        CHECK(res.data_ok);
        CHECK_EQ(res.chunks, total_chunks(2));
        CHECK(stat(wpath("none.bundle"), &st) == 0);
        CHECK_EQ((uint64_t) st.st_size, BUNDLE_HEADER_SIZE + res.sig_size + images[0].size + images[1].size);
        CHECK_EQ(res.sizes[0][0], CS);
}

/* Writes the first 'len' bytes of 'data' (plus 'extra' if not NULL) to a file and reads it. */
static Result read_bytes(const uint8_t *data, size_t len, const void *extra, size_t extra_len,
                         uint64_t max_size) {
        uint8_t *buf = malloc(len + extra_len + 1);
        Result res;

        memcpy(buf, data, len);
        if (extra)
                memcpy(buf + len, extra, extra_len);
        CHECK(write_file(wpath("variant.bundle"), buf, len + extra_len) == 0);
        free(buf);
        res = read_path(wpath("variant.bundle"), max_size);
        return res;
}

TEST(tampered_chunk) {
        Result good = read_path(wpath("multi.bundle"), UINT64_MAX), res;
        uint8_t *data = NULL;
        size_t size = 0;
        uint64_t payload;

        CHECK_EQ(good.r, 0);
        CHECK(read_file(wpath("multi.bundle"), &data, &size) == 0);
        if (!data || good.r < 0)
                return;
        payload = BUNDLE_HEADER_SIZE + good.sig_size;

        /* A flipped bit in chunk 3 of rootfs: chunks 0..2 come out, chunk 3 never does. */
        data[payload + good.offsets[0][3] + good.sizes[0][3] / 2] ^= 0x10;
        res = read_bytes(data, size, NULL, 0, UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Chunk 3 of image rootfs failed verification: sha256 mismatch"));
        CHECK_EQ(res.chunks, 3);
        CHECK(res.data_ok);
        data[payload + good.offsets[0][3] + good.sizes[0][3] / 2] ^= 0x10;

        /* First and last byte of the whole payload. */
        data[payload] ^= 0x01;
        res = read_bytes(data, size, NULL, 0, UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Chunk 0 of image rootfs failed verification"));
        CHECK_EQ(res.chunks, 0);
        data[payload] ^= 0x01;
        data[size - 1] ^= 0x80;
        res = read_bytes(data, size, NULL, 0, UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Chunk 1 of image appfs failed verification"));
        CHECK_EQ(res.chunks, total_chunks(2) - 1);
        data[size - 1] ^= 0x80;

        /* A flipped bit in the signature area. */
        data[BUNDLE_HEADER_SIZE + good.sig_size / 2] ^= 0x01;
        res = read_bytes(data, size, NULL, 0, UINT64_MAX);
        CHECK(res.r < 0 && res.chunks == 0);
        CHECK(res.err.kind == ERROR_SIGNATURE_INVALID || res.err.kind == ERROR_INVALID_BUNDLE);
        free(data);
}

TEST(truncated) {
        Result good = read_path(wpath("multi.bundle"), UINT64_MAX), res;
        uint8_t *data = NULL;
        size_t size = 0;
        uint64_t payload;
        struct {
                uint64_t len;
                const char *why;
                uint64_t chunks;
        } cases[8];
        size_t n = 0;

        CHECK(read_file(wpath("multi.bundle"), &data, &size) == 0);
        if (!data || good.r < 0)
                return;
        payload = BUNDLE_HEADER_SIZE + good.sig_size;
        cases[n++] = (typeof(cases[0])) { 0, "Bundle truncated: stream ended in the header at offset 0", 0 };
        cases[n++] = (typeof(cases[0])) { 10, "Bundle truncated: stream ended in the header at offset 10", 0 };
        cases[n++] = (typeof(cases[0])) { 32, "Bundle truncated: stream ended in the signature at offset 32", 0 };
        cases[n++] = (typeof(cases[0])) { 32 + good.sig_size / 2, "stream ended in the signature", 0 };
        cases[n++] = (typeof(cases[0])) { payload, "stream ended in chunk 0 of image rootfs", 0 };
        cases[n++] = (typeof(cases[0])) { payload + good.sizes[0][0] / 2, "stream ended in chunk 0 of image rootfs", 0 };
        cases[n++] = (typeof(cases[0])) { payload + good.offsets[1][0], "stream ended in chunk 0 of image appfs",
                                          chunk_count(images[0].size, CS) };
        cases[n++] = (typeof(cases[0])) { size - 1, "stream ended in chunk 1 of image appfs", total_chunks(2) - 1 };

        for (size_t i = 0; i < n; i++) {
                char at[64];

                res = read_bytes(data, cases[i].len, NULL, 0, UINT64_MAX);
                CHECK(fails(&res, ERROR_INVALID_BUNDLE, cases[i].why));
                snprintf(at, sizeof(at), "at offset %llu", (unsigned long long) cases[i].len);
                CHECK(strstr(res.err.message, at));
                CHECK_EQ(res.chunks, cases[i].chunks);
                CHECK(res.data_ok);
        }
        free(data);
}

TEST(trailing_data) {
        uint8_t *data = NULL;
        size_t size = 0;
        Result res;

        CHECK(read_file(wpath("multi.bundle"), &data, &size) == 0);
        if (!data)
                return;
        res = read_bytes(data, size, "x", 1, UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Bundle has trailing data after the payload"));
        /* The last chunk is withheld too: the stream was not what was signed. */
        CHECK_EQ(res.chunks, total_chunks(2) - 1);
        res = read_bytes(data, size, data, size, UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "trailing data"));
        free(data);
}

static void set_u32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, 4);
}

static void set_u64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, 8);
}

TEST(header_attacks) {
        Result good = read_path(wpath("multi.bundle"), UINT64_MAX), res;
        uint8_t *data = NULL, *copy;
        size_t size = 0;

        CHECK(read_file(wpath("multi.bundle"), &data, &size) == 0);
        if (!data || good.r < 0)
                return;
        copy = malloc(size);

#define PATCH(stmt, kind, why)                                                  \
        do {                                                                    \
                memcpy(copy, data, size);                                       \
                stmt;                                                           \
                res = read_bytes(copy, size, NULL, 0, UINT64_MAX);              \
                CHECK(fails(&res, kind, why));                                  \
                CHECK_EQ(res.chunks, 0);                                        \
        } while (0)

        PATCH(copy[0] = 'X', ERROR_INVALID_BUNDLE, "Bundle header invalid: bad magic");
        PATCH(set_u32(copy + 8, 3), ERROR_INVALID_BUNDLE, "Bundle header invalid: format version 3 is not supported");
        /* A format-1 manifest behind a version-2 header (test-bundle-format2 has the converse). */
        PATCH(set_u32(copy + 8, 2), ERROR_INVALID_BUNDLE,
              "Bundle header format version 2 does not match manifest format 1");
        PATCH(set_u32(copy + 8, 0), ERROR_INVALID_BUNDLE, "format version 0");
        PATCH(set_u32(copy + 12, 64), ERROR_INVALID_BUNDLE, "Bundle header invalid: header size 64, expected 32");
        PATCH(set_u64(copy + 16, 0), ERROR_INVALID_BUNDLE, "Bundle header invalid: signature size 0");
        PATCH(set_u64(copy + 16, UINT64_MAX), ERROR_INVALID_BUNDLE,
              "Bundle header invalid: signature size 18446744073709551615 exceeds limit 4194304; a genuine "
              "bundle this large needs a larger --chunk-size");
        PATCH(set_u64(copy + 16, BUNDLE_MAX_SIGNATURE_SIZE + 1), ERROR_INVALID_BUNDLE, "exceeds limit");
        PATCH(set_u64(copy + 16, UINT64_MAX - 31), ERROR_INVALID_BUNDLE, "exceeds limit");
        PATCH(set_u64(copy + 16, size), ERROR_INVALID_BUNDLE, "Bundle truncated: stream ended in the signature");
        PATCH(set_u64(copy + 16, good.sig_size + 1), ERROR_SIGNATURE_INVALID, "trailing bytes after the CMS structure");
        PATCH(set_u64(copy + 16, good.sig_size - 1), ERROR_SIGNATURE_INVALID, "not a DER-encoded CMS structure");
        PATCH(set_u64(copy + 16, 1), ERROR_SIGNATURE_INVALID, "not a DER-encoded CMS structure");
        PATCH(set_u64(copy + 24, 1), ERROR_INVALID_BUNDLE, "Bundle header invalid: unknown flags 0x1");
#undef PATCH

        /* The size limit: the signature alone, then the whole bundle. */
        res = read_bytes(data, size, NULL, 0, BUNDLE_HEADER_SIZE + good.sig_size - 1);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "exceeds the bundle size limit"));
        res = read_bytes(data, size, NULL, 0, size - 1);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Bundle size"));
        CHECK(strstr(res.err.message, "exceeds the limit"));
        CHECK_EQ(res.bytes_read, BUNDLE_HEADER_SIZE + good.sig_size); /* no payload byte read */
        res = read_bytes(data, size, NULL, 0, size);
        CHECK_EQ(res.r, 0);

        free(copy);
        free(data);
}

TEST(header_parse) {
        uint8_t h[BUNDLE_HEADER_SIZE] = {};
        uint64_t s = 0;
        UError err = UERROR_NULL;

        memcpy(h, BUNDLE_MAGIC, 8);
        set_u32(h + 8, 1);
        set_u32(h + 12, 32);
        set_u64(h + 16, 4096);
        CHECK_EQ(bundle_header_parse(h, sizeof(h), &s, &err), 0);
        CHECK_EQ(s, 4096);
        CHECK(bundle_header_parse(h, sizeof(h) - 1, &s, &err) < 0);
        CHECK(strstr(err.message, "31 bytes, expected 32"));
        set_u64(h + 16, BUNDLE_MAX_SIGNATURE_SIZE);
        CHECK_EQ(bundle_header_parse(h, sizeof(h), &s, NULL), 0);
        CHECK_EQ(s, BUNDLE_MAX_SIGNATURE_SIZE);
}

/* Assembles a bundle from any content signed by NAME and any payload: what a hostile but
 * trusted signer (or a buggy writer) could produce. */
static int assemble(const char *path, const char *json, const void *payload, size_t payload_size,
                    const char *signer) {
        uint8_t h[BUNDLE_HEADER_SIZE] = {}, *der = NULL, *buf;
        size_t der_size = 0;
        char cert[64], key[64];
        UError err = UERROR_NULL;
        int r;

        snprintf(cert, sizeof(cert), "%s.pem", signer);
        snprintf(key, sizeof(key), "%s.key", signer);
        r = cms_sign(json, strlen(json), pki(cert), pki(key), NULL, &der, &der_size, &err);
        if (r < 0) {
                fprintf(stdout, "  cms_sign: %s\n", err.message);
                return r;
        }
        memcpy(h, BUNDLE_MAGIC, 8);
        set_u32(h + 8, 1);
        set_u32(h + 12, 32);
        set_u64(h + 16, der_size);
        buf = malloc(sizeof(h) + der_size + payload_size);
        memcpy(buf, h, sizeof(h));
        memcpy(buf + sizeof(h), der, der_size);
        if (payload_size)
                memcpy(buf + sizeof(h) + der_size, payload, payload_size);
        r = write_file(path, buf, sizeof(h) + der_size + payload_size);
        free(buf);
        free(der);
        return r;
}

static char *manifest_json(uint64_t size, const char *compression, const uint8_t image_hash[32],
                           const uint32_t *stored, const uint8_t (*hashes)[32], size_t n) {
        char *s = malloc(4096), hex[65];
        size_t k = 0;

        hex_encode(image_hash, 32, hex);
        k += (size_t) snprintf(s + k, 4096 - k,
                               "{\"format\":1,\"compatible\":\"test-board\",\"version\":\"1\",\"build\":\"b\","
                               "\"images\":[{\"slotclass\":\"rootfs\",\"filename\":\"r.img\",\"size\":%llu,"
                               "\"sha256\":\"%s\",\"chunk-size\":%u,\"compression\":\"%s\",\"chunks\":[",
                               (unsigned long long) size, hex, CS, compression);
        for (size_t i = 0; i < n; i++) {
                hex_encode(hashes[i], 32, hex);
                k += (size_t) snprintf(s + k, 4096 - k, "%s[%u,\"%s\"]", i ? "," : "", stored[i], hex);
        }
        snprintf(s + k, 4096 - k, "]}]}");
        return s;
}

TEST(signed_but_wrong) {
        static uint8_t raw[CS + 100], frame[CS + 1024];
        uint8_t whole[32], hashes[2][32];
        uint32_t stored[2];
        ChunkCodec *codec = NULL;
        size_t frame_size = 0;
        char *json;
        Result res;

        fill(raw, sizeof(raw), 99);
        /* The signature is checked before the manifest is parsed. */
        CHECK(assemble(wpath("x.bundle"), "this is not json", NULL, 0, "other") == 0);
        res = read_path(wpath("x.bundle"), UINT64_MAX);
        CHECK(fails(&res, ERROR_SIGNATURE_INVALID, "unable to get local issuer certificate"));
        CHECK(assemble(wpath("x.bundle"), "this is not json", NULL, 0, "direct") == 0);
        res = read_path(wpath("x.bundle"), UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Manifest invalid: "));

        /* Chunk hashes right, whole-image hash wrong: the image is what the signed chunk table
         * says, so it is read whole; the whole-image hash is not recomputed (it is what the
         * status file records as the slot's checksum, the signer's statement). */
        stored[0] = CS;
        stored[1] = 100;
        sha256_buffer(raw, CS, hashes[0]);
        sha256_buffer(raw + CS, 100, hashes[1]);
        memset(whole, 0x42, sizeof(whole));
        json = manifest_json(sizeof(raw), "none", whole, stored, (const uint8_t (*)[32]) hashes, 2);
        CHECK(assemble(wpath("x.bundle"), json, raw, sizeof(raw), "direct") == 0);
        free(json);
        {
                Image saved = images[0];

                images[0].data = raw; /* compare against this image while reading */
                images[0].size = sizeof(raw);
                res = read_path(wpath("x.bundle"), UINT64_MAX);
                CHECK_EQ(res.r, 0);
                CHECK(res.data_ok);
                CHECK_EQ(res.chunks, 2);
                images[0] = saved;
                images[0].data = raw;
        }

        /* A zstd frame that is authentic but decodes to fewer bytes than the chunk needs. */
        CHECK_EQ(chunk_codec_new(3, &codec), 0);
        CHECK_EQ(chunk_compress(codec, raw, 1000, frame, sizeof(frame), &frame_size), 0);
        stored[0] = (uint32_t) frame_size;
        sha256_buffer(frame, frame_size, hashes[0]);
        sha256_buffer(raw, CS, whole);
        json = manifest_json(CS, "zstd", whole, stored, (const uint8_t (*)[32]) hashes, 1);
        CHECK(assemble(wpath("x.bundle"), json, frame, frame_size, "direct") == 0);
        free(json);
        res = read_path(wpath("x.bundle"), UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Chunk 0 of image rootfs failed verification: does not "
                    "decompress to 65536 bytes"));

        /* ... or to more. */
        CHECK_EQ(chunk_compress(codec, raw, CS + 100, frame, sizeof(frame), &frame_size), 0);
        stored[0] = (uint32_t) frame_size;
        sha256_buffer(frame, frame_size, hashes[0]);
        json = manifest_json(CS, "zstd", whole, stored, (const uint8_t (*)[32]) hashes, 1);
        CHECK(assemble(wpath("x.bundle"), json, frame, frame_size, "direct") == 0);
        free(json);
        res = read_path(wpath("x.bundle"), UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "does not decompress to 65536 bytes"));

        /* Authentic bytes that are not a zstd frame at all. */
        stored[0] = 500;
        sha256_buffer(raw, 500, hashes[0]);
        json = manifest_json(CS, "zstd", whole, stored, (const uint8_t (*)[32]) hashes, 1);
        CHECK(assemble(wpath("x.bundle"), json, raw, 500, "direct") == 0);
        free(json);
        res = read_path(wpath("x.bundle"), UINT64_MAX);
        CHECK(fails(&res, ERROR_INVALID_BUNDLE, "Chunk 0 of image rootfs failed verification: corrupt zstd frame"));

        chunk_codec_free(codec);
        images[0].data = NULL;
}

TEST(cancel) {
        int p[2], efd;
        Result res;

        /* Blocked on an empty pipe whose writer stays open: only the cancel fd can end it. */
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        efd = eventfd(0, EFD_CLOEXEC);
        CHECK(efd >= 0);
        CHECK(write(efd, &(uint64_t) { 1 }, sizeof(uint64_t)) == sizeof(uint64_t));
        res = run_reader(p[0], UINT64_MAX, efd, 0);
        CHECK(fails(&res, ERROR_CANCELLED, "Installation cancelled"));
        close(p[0]);
        close(p[1]);
        close(efd);

        /* In the middle of the payload, after two chunks. */
        efd = eventfd(0, EFD_CLOEXEC);
        {
                int fd = open(wpath("multi.bundle"), O_RDONLY | O_CLOEXEC);
                res = run_reader(fd, UINT64_MAX, efd, 2);
                close(fd);
        }
        CHECK(fails(&res, ERROR_CANCELLED, "Installation cancelled"));
        CHECK_EQ(res.chunks, 2);
        CHECK(res.data_ok);
        close(efd);

        /* An unsignalled cancel fd changes nothing. */
        efd = eventfd(0, EFD_CLOEXEC);
        {
                int fd = open(wpath("multi.bundle"), O_RDONLY | O_CLOEXEC);
                res = run_reader(fd, UINT64_MAX, efd, 0);
                close(fd);
        }
        CHECK_EQ(res.r, 0);
        CHECK_EQ(res.chunks, total_chunks(2));
        close(efd);
}

static bool create_fails(BundleCreateOptions o, const char *why) {
        UError err = UERROR_NULL;
        int r = bundle_create(&o, &err);

        if (r >= 0 || !strstr(err.message, why)) {
                fprintf(stdout, "  expected '%s', got r=%d '%s'\n", why, r, err.message);
                return false;
        }
        return true;
}

TEST(create_errors) {
        BundleImageSpec good[1] = { { "rootfs", images[0].path } };
        char out[PATH_MAX + 128], cert[PATH_MAX + 64], key[PATH_MAX + 64];
        BundleCreateOptions base = {
                .cert_path = cert,
                .key_path = key,
                .compatible = "c",
                .version = "1",
                .compression = COMPRESSION_ZSTD,
                .images = good,
                .n_images = 1,
                .output_path = out,
        };
        BundleCreateOptions o;

        /* pki() and wpath() buffers get reused: keep copies. */
        snprintf(out, sizeof(out), "%s", wpath("err.bundle"));
        snprintf(cert, sizeof(cert), "%s", pki("direct.pem"));
        snprintf(key, sizeof(key), "%s", pki("direct.key"));
        CHECK(write_file(wpath("empty.img"), "", 0) == 0);
        CHECK(write_file(wpath(".hidden.img"), "x", 1) == 0);

        o = base, o.images = (BundleImageSpec[]) { { "Rootfs", images[0].path } };
        CHECK(create_fails(o, "Invalid slot class 'Rootfs'"));
        o = base, o.images = (BundleImageSpec[]) { { "rootfs", images[0].path }, { "rootfs", images[1].path } }, o.n_images = 2;
        CHECK(create_fails(o, "Slot class rootfs given twice"));
        o = base, o.n_images = 0;
        CHECK(create_fails(o, "A bundle needs 1..16 images"));
        o = base, o.images = (BundleImageSpec[]) { { "rootfs", wpath("empty.img") } };
        CHECK(create_fails(o, "is empty"));
        o = base, o.images = (BundleImageSpec[]) { { "rootfs", "/dev/null" } };
        CHECK(create_fails(o, "neither a regular file nor a block device"));
        o = base, o.images = (BundleImageSpec[]) { { "rootfs", wpath("missing.img") } };
        CHECK(create_fails(o, "Failed to open image"));
        o = base, o.images = (BundleImageSpec[]) { { "rootfs", wpath(".hidden.img") } };
        CHECK(create_fails(o, "not a safe base name"));
        o = base, o.chunk_size = 100000;
        CHECK(create_fails(o, "Chunk size 100000 must be a multiple of 4096"));
        o = base, o.chunk_size = 8 << 20;
        CHECK(create_fails(o, "must be a multiple of 4096 in"));
        o = base, o.zstd_level = 99;
        CHECK(create_fails(o, "zstd level 99 out of range"));
        o = base, o.compatible = "";
        CHECK(create_fails(o, "No compatible given"));
        o = base, o.version = "1\n2";
        CHECK(create_fails(o, "control characters"));
        o = base, o.key_path = pki("signer.key");
        CHECK(create_fails(o, "does not belong to certificate"));
        /* Failures leave neither the output nor its temp file behind. */
        CHECK(access(wpath("err.bundle"), F_OK) < 0);
        CHECK(access(wpath("err.bundle.tmp"), F_OK) < 0);

        /* Chunk size 0 means the default. */
        o = base;
        {
                UError err = UERROR_NULL;
                BundleReader *r = NULL;
                int fd;

                CHECK_EQ(bundle_create(&o, &err), 0);
                fd = open(out, O_RDONLY | O_CLOEXEC);
                CHECK_EQ(bundle_reader_new(fd, UINT64_MAX, -1, &r), 0);
                CHECK_EQ(bundle_reader_verify(r, keyring, &err), 0);
                CHECK(bundle_reader_manifest(r) &&
                      bundle_reader_manifest(r)->images[0].chunk_size == CHUNK_SIZE_DEFAULT);
                bundle_reader_free(r);
                close(fd);
        }

        /* An explicit build string and zstd level are used as given. */
        o = base, o.build = "build-42", o.zstd_level = 19, o.chunk_size = CS;
        {
                UError err = UERROR_NULL;
                Result res;

                CHECK_EQ(bundle_create(&o, &err), 0);
                res = read_path(out, UINT64_MAX);
                CHECK_EQ(res.r, 0);
                CHECK(res.data_ok);
                CHECK_EQ(res.chunks, chunk_count(images[0].size, CS));
        }
}

static int setup(void) {
        if (bundle_test_setup() < 0)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(images); i++) {
                images[i].data = malloc(images[i].size);
                if (!images[i].data)
                        return -1;
                fill(images[i].data, images[i].size, (uint32_t) i + 1);
                snprintf(images[i].path, sizeof(images[i].path), "%s/%s.img", work, images[i].slotclass);
                if (write_file(images[i].path, images[i].data, images[i].size) < 0)
                        return -1;
        }
        return 0;
}

UNIT_MAIN_BEGIN("test-bundle")
        uint8_t *saved;

        signal(SIGPIPE, SIG_IGN);
        if (setup() < 0) {
                unit_fail_case("setup");
                return 1;
        }
        RUN(round_trip_pipe);
        RUN(manifest_fields);
        RUN(compression_none);
        RUN(tampered_chunk);
        RUN(truncated);
        RUN(trailing_data);
        RUN(header_attacks);
        RUN(header_parse);
        saved = images[0].data;
        RUN(signed_but_wrong);
        images[0].data = saved;
        RUN(cancel);
        RUN(create_errors);
        /* The same bundles and attacks through the read-ahead thread: same chunks, same errors
         * after the same chunks (cancel is the caller's to check between chunks there). */
        via_read_ahead = true;
        RUN(round_trip_pipe);
        RUN(compression_none);
        RUN(tampered_chunk);
        RUN(truncated);
        RUN(trailing_data);
        saved = images[0].data;
        RUN(signed_but_wrong);
        images[0].data = saved;
        via_read_ahead = false;
        big_image_case(work, BUNDLE_FORMAT_VERSION, CHUNK_SIZE_MAX, keyring);
        for (size_t i = 0; i < ELEMENTSOF(images); i++)
                free(images[i].data);
        bundle_test_cleanup();
UNIT_MAIN_END
