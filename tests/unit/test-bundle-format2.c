/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bundle format 2 (docs/bundle-format.md "Format 2"): content-defined chunks, a binary chunk
 * table per image after the signature.  Round trips from a file and a pipe; the table, a stored
 * chunk and a raw hash each tampered with (the last two re-signed, so that only the check in
 * question can catch them), each refused by its named error before the bad chunk is handed
 * out; a header/manifest format mismatch; an image over 4 GiB, sparse, in seconds. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "cdc.h"
#include "chunk.h"
#include "fileio.h"
#include "unit.h"
#include "util.h"
#include "test-bundle-big.h"
#include "test-bundle-pipe.h"
#include "test-bundle-setup.h"

static char image_path[PATH_MAX + 64];
static uint8_t *image;
static const size_t image_size = (3u << 20) + 777;

/* Random blocks between runs of text and zeros: chunks of every kind. */
static void fill(uint8_t *p, size_t n, uint64_t seed) {
        uint64_t s = seed | 1;

        for (size_t i = 0; i < n; i++) {
                uint8_t r = xorshift_byte(&s);

                switch ((i / 100000) % 3) {
                case 0:
                        p[i] = r;
                        break;
                case 1:
                        p[i] = (uint8_t) "a line of text\n"[i % 15];
                        break;
                default:
                        p[i] = 0;
                }
        }
}

static int create(const char *out, const char *in, Compression compression, uint32_t avg) {
        return create_format2(out, in, compression, avg, NULL, 0);
}

typedef struct Result {
        int r;
        UError err;
        uint64_t chunks;
        uint64_t delivered;   /* bytes handed out */
        bool data_ok;         /* every byte handed out equals the image */
        uint32_t min, max;
} Result;

static Result run_reader(int fd) {
        Result res = { .err = UERROR_NULL, .data_ok = true, .min = UINT32_MAX };
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        BundleChunk c;
        int k;

        res.r = bundle_reader_new(fd, UINT64_MAX, -1, &r);
        if (res.r < 0)
                return res;
        res.r = bundle_reader_verify(r, keyring, &res.err);
        if (res.r < 0)
                return res;
        while ((k = bundle_reader_next_chunk(r, &c, &res.err)) > 0) {
                if (c.offset != res.delivered || c.offset + c.size > image_size ||
                    memcmp(c.data, image + c.offset, c.size) != 0)
                        res.data_ok = false;
                if (!c.last) {
                        res.min = MIN(res.min, (uint32_t) c.size);
                        res.max = MAX(res.max, (uint32_t) c.size);
                }
                res.delivered += c.size;
                res.chunks++;
        }
        res.r = k;
        return res;
}

static Result read_path(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Result res = { .r = -errno };

        if (fd >= 0)
                res = run_reader(fd);
        return res;
}

static Result read_via_pipe(const char *path) {
        pid_t pid;
        int fd = pipe_from_file(path, &pid);
        Result res = run_reader(fd);

        pipe_done(fd, pid);
        return res;
}

static bool fails(const Result *res, const char *why) {
        if (res->r >= 0 || res->err.kind != ERROR_INVALID_BUNDLE || !strstr(res->err.message, why)) {
                unit_diag("expected InvalidBundle '%s', got r=%d kind=%d '%s'", why, res->r,
                          res->err.kind, res->err.message);
                return false;
        }
        return true;
}

TEST(round_trip) {
        Result res;

        CHECK_EQ(create(wpath("b2"), image_path, COMPRESSION_ZSTD, 0), 0);
        res = read_path(wpath("b2"));
        CHECK_EQ(res.r, 0);
        CHECK(res.data_ok);
        CHECK_EQ(res.delivered, image_size);
        CHECK(res.min >= CDC_MIN_DEFAULT && res.max <= CDC_MAX_DEFAULT);
        unit_diag("%llu chunks, %u .. %u bytes", (unsigned long long) res.chunks, res.min, res.max);
        res = read_via_pipe(wpath("b2"));
        CHECK_EQ(res.r, 0);
        CHECK(res.data_ok);
        CHECK_EQ(res.delivered, image_size);

        /* Small chunks, no compression. */
        CHECK_EQ(create(wpath("b2-none"), image_path, COMPRESSION_NONE, 4096), 0);
        res = read_via_pipe(wpath("b2-none"));
        CHECK_EQ(res.r, 0);
        CHECK(res.data_ok);
        CHECK(res.min >= 1024 && res.max <= 16384);
}

/* The same input twice gives the same bundle payload and table (the chunker is
 * deterministic); the signature differs (ECDSA), so only the manifest's table hash is compared. */
TEST(deterministic) {
        _cleanup_(bundle_reader_freep) BundleReader *a = NULL, *b = NULL;
        _cleanup_close_ int fa = -EBADF, fb = -EBADF;
        UError err = UERROR_NULL;

        CHECK_EQ(create(wpath("d1"), image_path, COMPRESSION_ZSTD, 0), 0);
        CHECK_EQ(create(wpath("d2"), image_path, COMPRESSION_ZSTD, 0), 0);
        fa = open(wpath("d1"), O_RDONLY | O_CLOEXEC);
        fb = open(wpath("d2"), O_RDONLY | O_CLOEXEC);
        CHECK_EQ(bundle_reader_new(fa, UINT64_MAX, -1, &a), 0);
        CHECK_EQ(bundle_reader_new(fb, UINT64_MAX, -1, &b), 0);
        CHECK_EQ(bundle_reader_verify(a, keyring, &err), 0);
        CHECK_EQ(bundle_reader_verify(b, keyring, &err), 0);
        if (!bundle_reader_manifest(a) || !bundle_reader_manifest(b))
                return;
        CHECK(memcmp(bundle_reader_manifest(a)->images[0].table_sha256,
                     bundle_reader_manifest(b)->images[0].table_sha256, SHA256_SIZE) == 0);
        CHECK_EQ(bundle_reader_manifest(a)->format, MANIFEST_FORMAT_CDC);
}

/* A bundle taken apart: header, signature, the one table, the payload. */
typedef struct Parts {
        uint8_t *file;
        size_t size;
        uint64_t sig_size;
        size_t table_off, table_size, payload_off;
        Manifest *m;          /* a copy of the verified manifest, table included */
} Parts;

static void parts_done(Parts *p) {
        free(p->file);
        manifest_free(p->m);
}

static int parts_load(const char *path, Parts *ret) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        _cleanup_close_ int fd = -EBADF;
        UError err = UERROR_NULL;
        Parts p = {};
        char *json = NULL;
        int k;

        if (read_full_file(path, 64 << 20, (char **) &p.file, &p.size) < 0)
                return -EIO;
        if (bundle_header_parse(p.file, p.size, &p.sig_size, &err) < 0)
                goto fail;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || bundle_reader_new(fd, UINT64_MAX, -1, &r) < 0 ||
            bundle_reader_verify(r, keyring, &err) < 0)
                goto fail;
        /* A copy through JSON, then the table by hand: what a re-signing attacker would do. */
        k = manifest_to_json(bundle_reader_manifest(r), &json);
        if (k < 0 || manifest_parse(json, strlen(json), &p.m, &err) < 0)
                goto fail;
        free(TAKE_PTR(json));
        p.table_off = BUNDLE_HEADER_SIZE + p.sig_size;
        p.table_size = p.m->images[0].n_chunks * CHUNK_TABLE_ENTRY_SIZE;
        p.payload_off = p.table_off + p.table_size;
        *ret = p;
        return 0;
fail:
        free(json);
        parts_done(&p);
        return -EBADMSG;
}

/* Writes the parts back, the manifest re-signed with the genuine signer (table hash taken from
 * the table as it now is) and the header version given. */
static int parts_write_signed(Parts *p, const char *path, uint32_t version) {
        _cleanup_free_ uint8_t *der = NULL, *out = NULL;
        _cleanup_free_ char *json = NULL;
        UError err = UERROR_NULL;
        size_t der_size, n;
        uint32_t v = htole32(version);
        uint64_t s;

        if (sha256_buffer(p->file + p->table_off, p->table_size, p->m->images[0].table_sha256) < 0 ||
            manifest_to_json(p->m, &json) < 0 ||
            cms_sign(json, strlen(json), pki("direct.pem"), pki("direct.key"), NULL, &der, &der_size,
                     &err) < 0)
                return -EIO;
        n = BUNDLE_HEADER_SIZE + der_size + (p->size - p->table_off);
        out = malloc(n);
        if (!out)
                return -ENOMEM;
        memcpy(out, p->file, BUNDLE_HEADER_SIZE);
        memcpy(out + 8, &v, sizeof(v));
        s = htole64(der_size);
        memcpy(out + 16, &s, sizeof(s));
        memcpy(out + BUNDLE_HEADER_SIZE, der, der_size);
        memcpy(out + BUNDLE_HEADER_SIZE + der_size, p->file + p->table_off, p->size - p->table_off);
        return write_file_atomic(path, out, n, 0644);
}

static int write_raw(const char *path, const Parts *p) {
        return write_file_atomic(path, p->file, p->size, 0644);
}

TEST(tampered) {
        Parts p = {};
        Result res;
        uint8_t *e;

        CHECK_EQ(create(wpath("t"), image_path, COMPRESSION_ZSTD, 0), 0);
        if (parts_load(wpath("t"), &p) < 0) {
                CHECK(false);
                return;
        }
        CHECK(p.m->images[0].n_chunks > 10);

        /* 1. One bit of the table, not re-signed: the table hash of the signed manifest. */
        p.file[p.table_off + 5 * CHUNK_TABLE_ENTRY_SIZE + 20] ^= 1;
        CHECK_EQ(write_raw(wpath("t1"), &p), 0);
        res = read_via_pipe(wpath("t1"));
        CHECK(fails(&res, "Chunk table of image rootfs failed verification: sha256 mismatch"));
        CHECK_EQ(res.chunks, 0);
        p.file[p.table_off + 5 * CHUNK_TABLE_ENTRY_SIZE + 20] ^= 1;

        /* 2. One bit of the payload of chunk 3 (its stored bytes). */
        {
                size_t off = p.payload_off;
                ChunkEntry ce;

                p.m->images[0].table = malloc(p.table_size);
                CHECK(p.m->images[0].table);
                if (!p.m->images[0].table)
                        goto out;
                memcpy(p.m->images[0].table, p.file + p.table_off, p.table_size);
                for (uint64_t i = 0; i < 3; i++) {
                        manifest_chunk_entry(&p.m->images[0], i, &ce);
                        off += ce.stored_size;
                }
                p.file[off + 10] ^= 0x40;
                CHECK_EQ(write_raw(wpath("t2"), &p), 0);
                res = read_via_pipe(wpath("t2"));
                CHECK(fails(&res, "Chunk 3 of image rootfs failed verification: sha256 mismatch"));
                CHECK_EQ(res.chunks, 3);
                CHECK(res.data_ok);
                p.file[off + 10] ^= 0x40;
        }

        /* 3. A raw hash wrong in a table that is signed: the stored bytes check out, the
         * decoded ones do not. */
        e = p.file + p.table_off + 4 * CHUNK_TABLE_ENTRY_SIZE;
        e[8] ^= 1;
        CHECK_EQ(parts_write_signed(&p, wpath("t3"), BUNDLE_FORMAT_CDC), 0);
        res = read_via_pipe(wpath("t3"));
        CHECK(fails(&res, "Chunk 4 of image rootfs failed verification: raw sha256 mismatch"));
        CHECK_EQ(res.chunks, 4);
        CHECK(res.data_ok);

        /* 4. The same, re-signed with nothing wrong: proves 3 failed for the raw hash alone. */
        e[8] ^= 1;
        CHECK_EQ(parts_write_signed(&p, wpath("t4"), BUNDLE_FORMAT_CDC), 0);
        res = read_via_pipe(wpath("t4"));
        CHECK_EQ(res.r, 0);
        CHECK(res.data_ok);

        /* 5. A format-2 manifest behind a version-1 header. */
        CHECK_EQ(parts_write_signed(&p, wpath("t5"), BUNDLE_FORMAT_VERSION), 0);
        res = read_via_pipe(wpath("t5"));
        CHECK(fails(&res, "Bundle header format version 1 does not match manifest format 2"));

        /* 6. A signed table whose sizes do not add up to the image. */
        {
                uint32_t raw;

                memcpy(&raw, e, sizeof(raw));
                raw = htole32(le32toh(raw) - 1);
                memcpy(e, &raw, sizeof(raw));
                CHECK_EQ(parts_write_signed(&p, wpath("t6"), BUNDLE_FORMAT_CDC), 0);
                res = read_via_pipe(wpath("t6"));
                CHECK(fails(&res, "Chunk table of image rootfs invalid"));
                CHECK_EQ(res.chunks, 0);
        }
out:
        parts_done(&p);
}

TEST(truncated_in_table) {
        Parts p = {};
        Result res;

        CHECK_EQ(create(wpath("tt"), image_path, COMPRESSION_ZSTD, 0), 0);
        if (parts_load(wpath("tt"), &p) < 0) {
                CHECK(false);
                return;
        }
        p.size = p.table_off + p.table_size / 2;
        CHECK_EQ(write_raw(wpath("tt1"), &p), 0);
        res = read_via_pipe(wpath("tt1"));
        CHECK(fails(&res, "Bundle truncated: stream ended in the chunk table of image rootfs"));
        parts_done(&p);
}

/* The tables are read before the payload and held: their total is capped by the signed
 * manifest, before a byte of them is read. */
TEST(table_cap) {
        static const char fmt[] =
                "{\"format\":2,\"compatible\":\"c\",\"version\":\"1\",\"build\":\"1\",\"images\":["
                "{\"slotclass\":\"rootfs\",\"filename\":\"r\",\"size\":1099511627776,"
                "\"sha256\":\"%064d\",\"compression\":\"zstd\",\"chunk-min\":16384,\"chunk-avg\":65536,"
                "\"chunk-max\":262144,\"chunk-count\":%llu,\"stored-size\":1000,"
                "\"chunk-table-sha256\":\"%064d\"}]}";
        const uint64_t max = MANIFEST_MAX_CHUNK_TABLES_SIZE / CHUNK_TABLE_ENTRY_SIZE;
        _cleanup_free_ char *json = NULL;
        UError err = UERROR_NULL;
        Manifest *m = NULL;

        /* 1 TiB needs 4194304 chunks of at most 256 KiB: over the cap. */
        CHECK(asprintf(&json, fmt, 0, (unsigned long long) (UINT64_C(1) << 22), 0) > 0);
        CHECK(manifest_parse(json, strlen(json), &m, &err) < 0);
        CHECK(strstr(err.message, "chunk tables of more than 8388608 bytes"));
        free(TAKE_PTR(json));
        /* Fewer chunks than the size needs at chunk-max. */
        CHECK(asprintf(&json, fmt, 0, (unsigned long long) max, 0) > 0);
        err = UERROR_NULL;
        CHECK(manifest_parse(json, strlen(json), &m, &err) < 0);
        CHECK(strstr(err.message, "does not fit size"));
        unit_diag("%s", err.message);
        manifest_free(m);
}

/* ---- bundle_reader_set_need(): the reader announces before it reads ---- */

/* A source like daemon/source-http.c's stream: a thread that puts into a pipe only what the
 * reader announced.  A reader that read beyond what it announced would wait forever: the feeder
 * then cancels the reader (after 10 s without a new announcement), which fails the test. */
typedef struct Feeder {
        const uint8_t *data;
        size_t size, pos;
        uint64_t want;
        uint64_t ends[16];       /* what was announced, in order */
        size_t n_ends;
        bool done, starved;
        int fd, cancel_fd;
        pthread_mutex_t lock;
        pthread_cond_t cond;
} Feeder;

static void feeder_need(void *userdata, uint64_t end) {
        Feeder *f = userdata;

        pthread_mutex_lock(&f->lock);
        if (f->n_ends < ELEMENTSOF(f->ends))
                f->ends[f->n_ends++] = end;
        f->want = MAX(f->want, end);
        pthread_cond_signal(&f->cond);
        pthread_mutex_unlock(&f->lock);
}

static void *feeder_thread(void *userdata) {
        Feeder *f = userdata;

        for (;;) {
                struct timespec t;
                size_t end;
                int r = 0;

                clock_gettime(CLOCK_REALTIME, &t);
                t.tv_sec += 10;
                pthread_mutex_lock(&f->lock);
                while (!f->done && f->want <= f->pos && r != ETIMEDOUT)
                        r = pthread_cond_timedwait(&f->cond, &f->lock, &t);
                end = (size_t) MIN(f->want, (uint64_t) f->size);
                if (r == ETIMEDOUT && f->want <= f->pos)
                        f->starved = true;
                pthread_mutex_unlock(&f->lock);
                if (f->done || f->starved)
                        break;
                if (write_exact(f->fd, f->data + f->pos, end - f->pos) < 0)
                        break;
                f->pos = end;
                if (f->pos == f->size)
                        break;
        }
        if (f->starved)
                (void) eventfd_write(f->cancel_fd, 1);
        close(f->fd);
        f->fd = -EBADF;
        return NULL;
}

/* Reads 'b' through a Feeder: verify, then (chunks) every chunk.  Returns the reader's result. */
static int read_fed(const Parts *b, bool chunks, Feeder *f) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        _cleanup_close_ int cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        UError err = UERROR_NULL;
        pthread_t thread;
        BundleChunk c;
        int fds[2], k;

        *f = (Feeder) { .data = b->file, .size = b->size, .cancel_fd = cancel };
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cond, NULL);
        if (cancel < 0 || pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        f->fd = fds[1];
        k = bundle_reader_new(fds[0], UINT64_MAX, cancel, &r);
        if (k >= 0) {
                bundle_reader_set_need(r, feeder_need, f);
                pthread_create(&thread, NULL, feeder_thread, f);
                k = bundle_reader_verify(r, keyring, &err);
                while (k >= 0 && chunks && (k = bundle_reader_next_chunk(r, &c, &err)) > 0)
                        ;
                pthread_mutex_lock(&f->lock);
                f->done = true;
                pthread_cond_signal(&f->cond);
                pthread_mutex_unlock(&f->lock);
                r = bundle_reader_free(r);
                close(fds[0]); /* a feeder blocked in write() gets EPIPE */
                pthread_join(thread, NULL);
        } else
                close(fds[0]);
        if (k < 0)
                unit_diag("reader: %s", err.message);
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        return k;
}

TEST(need_announced) {
        Parts p = {};
        Feeder f;

        /* 4 KiB chunks: the tables (~55 KB here) are their own announcement. */
        CHECK_EQ(create(wpath("need"), image_path, COMPRESSION_ZSTD, 4096), 0);
        if (parts_load(wpath("need"), &p) < 0) {
                CHECK(false);
                return;
        }
        /* Verify only (what a delta install reads before it decides): header, header +
         * signature, the tables' end; never the payload. */
        CHECK_EQ(read_fed(&p, false, &f), 0);
        CHECK(!f.starved);
        CHECK_EQ(f.n_ends, 3u);
        CHECK_EQ(f.ends[0], (uint64_t) BUNDLE_HEADER_SIZE);
        CHECK_EQ(f.ends[1], BUNDLE_HEADER_SIZE + p.sig_size);
        CHECK_EQ(f.ends[2], (uint64_t) p.payload_off);
        /* A streaming read: then the payload's end at the first chunk, one byte more for the
         * check that the file ends there. */
        CHECK_EQ(read_fed(&p, true, &f), 0);
        CHECK(!f.starved);
        CHECK_EQ(f.n_ends, 5u);
        CHECK_EQ(f.ends[3], (uint64_t) p.size);
        CHECK_EQ(f.ends[4], (uint64_t) p.size + 1);
        CHECK_EQ(f.pos, p.size);
        unit_diag("announced %llu, %llu, %llu (payload at %zu), %llu of %zu", (unsigned long long) f.ends[0],
                  (unsigned long long) f.ends[1], (unsigned long long) f.ends[2], p.payload_off,
                  (unsigned long long) f.ends[3], p.size);
        parts_done(&p);
}

static int setup(void) {
        if (bundle_test_setup() < 0)
                return -1;
        image = malloc(image_size);
        if (!image)
                return -1;
        fill(image, image_size, 42);
        snprintf(image_path, sizeof(image_path), "%s/rootfs.img", work);
        return write_file_atomic(image_path, image, image_size, 0644) < 0 ? -1 : 0;
}

UNIT_MAIN_BEGIN("test-bundle-format2")
        signal(SIGPIPE, SIG_IGN);
        if (setup() < 0) {
                unit_fail_case("setup");
                return 1;
        }
        RUN(round_trip);
        RUN(deterministic);
        RUN(tampered);
        RUN(truncated_in_table);
        RUN(table_cap);
        RUN(need_announced);
        big_image_case(work, BUNDLE_FORMAT_CDC, 1u << 20, keyring);
        free(image);
        bundle_test_cleanup();
UNIT_MAIN_END
