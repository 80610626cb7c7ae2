/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* I6 of issue #10, in lib/bundle-reader.c: the signature is not authenticated while it is read,
 * so over the cap it is refused from the header alone, and all readers of a process together
 * hold at most one cap's worth of it (tests/security/test-bounds.sh: the same through the
 * daemon, with its peak RSS). */
#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fileio.h"
#include "unit.h"
#include "test-pki.h"

static Keyring *keyring;

typedef struct Read {
        int fd;
        int r;
        UError err;
        uint64_t bytes_read;
} Read;

static void *read_fd(void *userdata) {
        Read *x = userdata;
        BundleReader *r = NULL;

        x->err = UERROR_NULL;
        x->r = bundle_reader_new(x->fd, UINT64_MAX, -1, &r);
        if (x->r >= 0)
                x->r = bundle_reader_verify(r, keyring, &x->err);
        x->bytes_read = bundle_reader_bytes_read(r);
        bundle_reader_free(r);
        return NULL;
}

static Read read_path(const char *path) {
        Read x = { .fd = open(path, O_RDONLY | O_CLOEXEC) };

        if (x.fd < 0) {
                x.r = -errno;
                return x;
        }
        read_fd(&x);
        close(x.fd);
        return x;
}

static bool fails(const Read *x, ErrorKind kind, const char *why) {
        if (x->r >= 0 || x->err.kind != kind || !strstr(x->err.message, why)) {
                fprintf(stdout, "  expected kind %d '%s', got r=%d kind=%d '%s'\n", kind, why, x->r, x->err.kind,
                        x->err.message);
                return false;
        }
        return true;
}

static void header(uint8_t h[BUNDLE_HEADER_SIZE], uint64_t signature_size) {
        uint32_t u;
        uint64_t v;

        memset(h, 0, BUNDLE_HEADER_SIZE);
        memcpy(h, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE);
        u = htole32(BUNDLE_FORMAT_VERSION);
        memcpy(h + 8, &u, 4);
        u = htole32(BUNDLE_HEADER_SIZE);
        memcpy(h + 12, &u, 4);
        v = htole64(signature_size);
        memcpy(h + 16, &v, 8);
}

TEST(over_cap) {
        uint8_t h[BUNDLE_HEADER_SIZE];
        Read x;

        header(h, BUNDLE_MAX_SIGNATURE_SIZE + 1);
        CHECK_EQ(write_file_atomic(pki("over.bundle"), h, sizeof(h), 0644), 0);
        x = read_path(pki("over.bundle"));
        CHECK(fails(&x, ERROR_INVALID_BUNDLE, "signature size 4194305 exceeds limit 4194304"));
        CHECK_EQ(x.bytes_read, BUNDLE_HEADER_SIZE);
}

TEST(budget) {
        uint8_t h[BUNDLE_HEADER_SIZE], *zeros = calloc(1, 256 << 10);
        Read stalled = { .fd = -EBADF }, x;
        pthread_t t;
        int p[2];

        /* A stream stalled in its signature holds nearly the whole budget... */
        CHECK(zeros && pipe2(p, O_CLOEXEC) == 0);
        if (!zeros)
                return;
        header(h, BUNDLE_UNVERIFIED_BUDGET - 16);
        stalled.fd = p[0];
        CHECK(pthread_create(&t, NULL, read_fd, &stalled) == 0);
        /* More than a pipe holds: once written, the reader has taken its share and is reading. */
        CHECK_EQ(write_exact(p[1], h, sizeof(h)), 0);
        CHECK_EQ(write_exact(p[1], zeros, 256 << 10), 0);

        /* ...so a second one is told to come back, before it reads its signature... */
        x = read_path(pki("good.bundle"));
        CHECK(fails(&x, ERROR_BUSY, "Too many bundles being verified at once"));
        CHECK(fails(&x, ERROR_BUSY, "would exceed 4194304 bytes"));
        CHECK_EQ(x.bytes_read, BUNDLE_HEADER_SIZE);

        close(p[1]);
        (void) pthread_join(t, NULL);
        close(p[0]);
        CHECK(fails(&stalled, ERROR_INVALID_BUNDLE, "Bundle truncated: stream ended in the signature"));

        /* ...and passes once the first one gave its share back. */
        x = read_path(pki("good.bundle"));
        CHECK_EQ(x.r, 0);
        free(zeros);
}

static int setup(void) {
        static const char image[] = "a small image";
        UError err = UERROR_NULL;

        if (pki_setup() < 0 || write_file_atomic(pki("image.img"), image, sizeof(image), 0644) < 0)
                return -1;
        if (bundle_create(&(BundleCreateOptions) {
                                  .cert_path = pki("direct.pem"),
                                  .key_path = pki("direct.key"),
                                  .compatible = "test-board",
                                  .version = "1",
                                  .images = &(BundleImageSpec) { "rootfs", pki("image.img") },
                                  .n_images = 1,
                                  .output_path = pki("good.bundle"),
                          },
                          &err) < 0 ||
            keyring_load(pki("root.pem"), NULL, false, &keyring, &err) < 0) {
                printf("  %s\n", err.message);
                return -1;
        }
        return 0;
}

UNIT_MAIN_BEGIN("test-bundle-bounds")
        signal(SIGPIPE, SIG_IGN);
        if (setup() < 0) {
                unit_fail_case("setup");
                pki_cleanup();
                return 1;
        }
        RUN(over_cap);
        RUN(budget);
        keyring_free(keyring);
        pki_cleanup();
UNIT_MAIN_END
