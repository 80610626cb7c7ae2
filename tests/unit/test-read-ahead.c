/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/read-ahead.c: the install's read-and-authenticate thread over a format-2 bundle (raw
 * hashes checked when decoding) streamed through a pipe, or through a stream callback
 * (bundle_reader_set_stream()).  test-bundle runs its format-1 cases through it too. */
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bundle.h"
#include "fileio.h"
#include "manifest.h"
#include "read-ahead.h"
#include "unit.h"
#include "util.h"
#include "test-bundle-setup.h"

#define IMAGE_SIZE (1024 * 1024)
#define AVG (16 * 1024) /* chunks of 4..64 KiB: about 64 of them */

static uint8_t image[IMAGE_SIZE];
static char *bundle;
static size_t bundle_size;

/* Writes 'size' bytes of 'data' into a pipe the reader then reads; the write end stays open
 * (the stream stalls there) unless close_after. */
static int pipe_with(const void *data, size_t size, bool close_after, int *ret_write_end) {
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETPIPE_SZ, (int) size + 4096) < 0 ||
            write_exact(p[1], data, size) < 0)
                return -1;
        if (close_after) {
                close(p[1]);
                p[1] = -1;
        }
        *ret_write_end = p[1];
        return p[0];
}

/* A BundleReaderStream over memory (bundle_reader_set_stream(), as daemon/source-http.c gives
 * one): it hands over at most the next of 'pieces' at a time, however much was asked; past
 * half of the data, it fails with 'fail' if set, or claims more than it was given room for. */
typedef struct MemStream {
        const uint8_t *data;
        size_t size, pos, n;
        int fail;
        bool overclaim;
} MemStream;

static int mem_read(void *userdata, void *buf, size_t size, int cancel_fd, size_t *ret) {
        static const size_t pieces[] = { 1, 7, 4093, 65537, 13, 2, 300000 };
        MemStream *m = userdata;
        size_t piece = pieces[m->n++ % ELEMENTSOF(pieces)], k = MIN(MIN(size, piece), m->size - m->pos);

        if (m->pos > m->size / 2 && m->fail < 0)
                return m->fail;
        memcpy(buf, m->data + m->pos, k);
        m->pos += k;
        *ret = m->pos > m->size / 2 && m->overclaim ? size + 1 : k;
        return 0;
}

/* Every chunk through the read-ahead, from a pipe or from 'stream': 0 at the end (the image
 * came out whole), or the error. */
static int read_all_from(const void *data, size_t size, MemStream *stream, uint64_t *ret_chunks, UError *err) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        ReadAhead *ahead = NULL;
        static uint8_t into[4 * AVG];
        uint64_t chunks = 0, at = 0;
        int w, fd = stream ? -EBADF : pipe_with(data, size, true, &w), k;
        BundleChunk c;

        if ((!stream && fd < 0) || bundle_reader_new(fd, UINT64_MAX, -1, &r) < 0)
                return -EIO;
        if (stream)
                bundle_reader_set_stream(r, &(BundleReaderStream) { mem_read, stream });
        k = bundle_reader_verify(r, keyring, err);
        if (k >= 0)
                k = read_ahead_start(r, NULL, -1, &ahead);
        while (k >= 0) {
                uint32_t next = read_ahead_next_chunk_size(ahead);

                k = read_ahead_next_chunk_into(ahead, into, sizeof(into), &c, err);
                if (k <= 0)
                        break;
                if (c.size != next || c.offset != at || c.data != into || memcmp(c.data, image + at, c.size) != 0)
                        k = uerror_set(err, ERROR_FAILED, -EBADMSG, "chunk %" PRIu64 " differs", c.index);
                at += c.size;
                chunks++;
        }
        read_ahead_free(ahead);
        if (fd >= 0)
                close(fd);
        if (k == 0 && at != IMAGE_SIZE)
                k = uerror_set(err, ERROR_FAILED, -EBADMSG, "image ended at %" PRIu64, at);
        *ret_chunks = chunks;
        return k;
}

static int read_all(const void *data, size_t size, uint64_t *ret_chunks, UError *err) {
        return read_all_from(data, size, NULL, ret_chunks, err);
}

/* Where the payload starts (after the header, the signature and the format-2 tables) and the
 * stored size of the first chunks, from a reader over the whole file. */
static int layout(uint64_t *ret_payload, ChunkEntry e[3]) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        UError err = UERROR_NULL;
        const Manifest *m;
        int fd = open(wpath("bundle"), O_RDONLY | O_CLOEXEC), k = -EIO;

        if (fd >= 0 && bundle_reader_new(fd, UINT64_MAX, -1, &r) >= 0 && bundle_reader_verify(r, keyring, &err) >= 0 &&
            (m = bundle_reader_manifest(r)) && m->images[0].n_chunks >= 3) {
                *ret_payload = bundle_reader_total_size(r) - m->payload_size;
                for (size_t i = 0; i < 3; i++)
                        manifest_chunk_entry(&m->images[0], i, &e[i]);
                k = 0;
        }
        if (fd >= 0)
                close(fd);
        return k;
}

TEST(round_trip) {
        UError err = UERROR_NULL;
        uint64_t chunks = 0;

        CHECK_EQ(read_all(bundle, bundle_size, &chunks, &err), 0);
        CHECK(chunks > 16);
}

/* The stream callback instead of read(2): pieces far smaller and larger than the reads, in
 * order; its errors are the reader's (a cancel by name); a source that claims more bytes than
 * the room it was given is refused, never believed. */
TEST(stream_callback) {
        MemStream m = { .data = (const uint8_t *) bundle, .size = bundle_size };
        UError err = UERROR_NULL;
        uint64_t chunks = 0, clean = 0;

        CHECK_EQ(read_all(bundle, bundle_size, &clean, &err), 0);
        CHECK_EQ(read_all_from(NULL, 0, &m, &chunks, &err), 0);
        CHECK_EQ(chunks, clean);
        CHECK_EQ(m.pos, bundle_size);
        CHECK(m.n > 16); /* many reads: the pieces did split them */

        m = (MemStream) { .data = (const uint8_t *) bundle, .size = bundle_size, .fail = -ECANCELED };
        CHECK(read_all_from(NULL, 0, &m, &chunks, &err) < 0);
        CHECK_EQ(err.kind, ERROR_CANCELLED);
        CHECK(chunks < clean);

        err = UERROR_NULL;
        m = (MemStream) { .data = (const uint8_t *) bundle, .size = bundle_size, .overclaim = true };
        CHECK(read_all_from(NULL, 0, &m, &chunks, &err) < 0);
        CHECK_EQ(err.kind, ERROR_IO);
        CHECK(chunks < clean);
}

/* A flipped byte in the stored bytes of a chunk in the middle: every chunk before it comes
 * out, then the error names it; nothing of it or after it does. */
TEST(tampered_chunk) {
        _cleanup_free_ char *copy = malloc(bundle_size);
        UError err = UERROR_NULL;
        uint64_t chunks = 0, clean = 0;

        CHECK(copy != NULL);
        CHECK_EQ(read_all(bundle, bundle_size, &clean, &err), 0);
        if (!copy || clean < 4)
                return;
        memcpy(copy, bundle, bundle_size);
        /* The tables precede the payload: the last byte of the payload is in the last chunk. */
        copy[bundle_size - 1] ^= 0x20;
        CHECK(read_all(copy, bundle_size, &chunks, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_BUNDLE);
        CHECK(strstr(err.message, "failed verification") != NULL);
        CHECK_EQ(chunks, clean - 1);
}

/* A flipped byte in the third chunk, with chunks after it: two threads check chunks (the
 * thread and the consumer, whichever is free), so the fourth may be checked before the third;
 * still exactly the two before it come out, then the third's error. */
TEST(tampered_chunk_in_the_middle) {
        _cleanup_free_ char *copy = malloc(bundle_size);
        UError err = UERROR_NULL;
        uint64_t payload = 0, chunks = 0;
        ChunkEntry e[3];

        CHECK(copy != NULL && layout(&payload, e) == 0);
        if (!copy || payload == 0)
                return;
        memcpy(copy, bundle, bundle_size);
        copy[payload + e[0].stored_size + e[1].stored_size + e[2].stored_size / 2] ^= 0x01;
        CHECK(read_all(copy, bundle_size, &chunks, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_BUNDLE);
        CHECK(strstr(err.message, "Chunk 2 of image") != NULL);
        CHECK_EQ(chunks, 2u);
}

/* The decoder refuses stored bytes nobody checked: the order read, check, decode is enforced
 * by the reader, not only by its callers. */
TEST(decode_refuses_unchecked) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        static uint8_t stored[4 * AVG], into[4 * AVG];
        UError err = UERROR_NULL;
        BundleStoredChunk sc;
        BundleChunk c;
        int w = -1, fd = pipe_with(bundle, bundle_size, true, &w);

        CHECK(fd >= 0);
        if (fd < 0)
                return;
        CHECK(bundle_reader_new(fd, UINT64_MAX, -1, &r) == 0);
        CHECK(bundle_reader_verify(r, keyring, &err) == 0);
        CHECK_EQ(bundle_reader_read_stored(r, stored, sizeof(stored), &sc, &err), 1);
        CHECK(!sc.authenticated);
        CHECK(bundle_reader_decode(r, &sc, stored, into, sizeof(into), &c, &err) < 0);
        CHECK(strstr(err.message, "before its hash was checked") != NULL);
        err = UERROR_NULL;
        CHECK_EQ(bundle_reader_check_stored(r, &sc, stored, &err), 0);
        CHECK(sc.authenticated);
        CHECK_EQ(bundle_reader_decode(r, &sc, stored, into, sizeof(into), &c, &err), 1);
        CHECK(memcmp(c.data, image, c.size) == 0);
        close(fd);
}

/* The thread blocked reading a stream that sends nothing more (its writer stays open) while
 * the install stops early: read_ahead_free() must end the read, not wait for data. */
TEST(stop_ends_a_stalled_read) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        ReadAhead *ahead = NULL;
        UError err = UERROR_NULL;
        static uint8_t into[4 * AVG];
        uint64_t payload = 0;
        int efd = eventfd(0, EFD_CLOEXEC), w = -1, fd = -1;
        ChunkEntry e[3];
        BundleChunk c;

        CHECK(layout(&payload, e) == 0 && efd >= 0);
        if (payload == 0 || efd < 0)
                return;
        /* All but the end of the third chunk's stored bytes; the writer stays open. */
        fd = pipe_with(bundle, (size_t) (payload + e[0].stored_size + e[1].stored_size + e[2].stored_size / 2), false,
                       &w);
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        CHECK(bundle_reader_new(fd, UINT64_MAX, efd, &r) == 0);
        CHECK(bundle_reader_verify(r, keyring, &err) == 0);
        CHECK(read_ahead_start(r, NULL, efd, &ahead) == 0);
        /* Once the second chunk came out, the thread is reading the third, which never ends. */
        CHECK_EQ(read_ahead_next_chunk_into(ahead, into, sizeof(into), &c, &err), 1);
        CHECK_EQ(read_ahead_next_chunk_into(ahead, into, sizeof(into), &c, &err), 1);
        CHECK_EQ(c.index, 1);
        alarm(20); /* a hang here is the failure: SIGALRM ends the program without a plan */
        ahead = read_ahead_free(ahead);
        alarm(0);
        CHECK(ahead == NULL);
        close(fd);
        close(w);
        close(efd);
}

UNIT_MAIN_BEGIN("test-read-ahead")
        signal(SIGPIPE, SIG_IGN);
        if (bundle_test_setup() < 0) {
                unit_fail_case("setup");
                return 1;
        }
        fill_random(image, sizeof(image), 7);
        /* Compressible in parts, so stored and raw sizes differ and zstd really decodes. */
        memset(image + IMAGE_SIZE / 4, 'x', IMAGE_SIZE / 4);
        if (write_file_atomic(wpath("image"), image, sizeof(image), 0644) < 0 ||
            create_format2(wpath("bundle"), wpath("image"), COMPRESSION_ZSTD, AVG, NULL, 0) < 0 ||
            read_full_file(wpath("bundle"), SIZE_MAX, &bundle, &bundle_size) < 0) {
                unit_fail_case("setup");
                return 1;
        }
        RUN(round_trip);
        RUN(stream_callback);
        RUN(tampered_chunk);
        RUN(tampered_chunk_in_the_middle);
        RUN(decode_refuses_unchecked);
        RUN(stop_ends_a_stalled_read);
        free(bundle);
        bundle_test_cleanup();
UNIT_MAIN_END
