/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For the bundle tests of both formats (test-bundle, test-bundle-format2): an image over 4 GiB,
 * end to end, so that every offset and size on the way is 64-bit.  The image is sparse, 5 GiB of
 * zeros with a 'U' on each side of the 4 GiB boundary and at its last byte; the zeros compress
 * and hash quickly, so this takes seconds to tens of seconds, not minutes.  UPDATE1_TEST_BIG=0
 * skips it for quick local runs; the 64-bit offset arithmetic is also covered by
 * test-manifest/offsets_64bit. */

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bundle.h"
#include "chunk.h"
#include "unit.h"
#include "util.h"
#include "test-pki.h"

#define BIG_IMAGE_SIZE ((UINT64_C(5) << 30) + 12345)

/* The case "big_image": a bundle of 'format' (0 or BUNDLE_FORMAT_VERSION: chunks of exactly
 * 'chunk_size'; BUNDLE_FORMAT_CDC: of that average size) made in 'dir' and read back whole,
 * verified against 'keyring'.  Every byte is delivered once, in order, the marks where they were
 * written; with fixed-size chunks, also their number and where the last one starts. */
static void big_image_case(const char *dir, unsigned format, uint32_t chunk_size, Keyring *keyring) {
        const uint64_t size = BIG_IMAGE_SIZE;
        const uint64_t marks[] = { (UINT64_C(4) << 30) - 1, UINT64_C(4) << 30, size - 1 };
        const char *big = getenv("UPDATE1_TEST_BIG");
        char image_path[PATH_MAX + 32], bundle_path[PATH_MAX + 32];
        BundleImageSpec spec = { "rootfs", image_path };
        UError err = UERROR_NULL;
        BundleReader *r = NULL;
        BundleChunk c;
        uint64_t n = 0, seen = 0, next = 0, last_offset = 0;
        int fd, k;

        if (big && streq(big, "0")) {
                unit_skip("big_image", "UPDATE1_TEST_BIG=0: 5 GiB sparse image");
                return;
        }
        unit_case_failures = 0;
        snprintf(image_path, sizeof(image_path), "%s/big.img", dir);
        snprintf(bundle_path, sizeof(bundle_path), "%s/big.bundle", dir);
        fd = open(image_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0 && ftruncate(fd, (off_t) size) == 0);
        for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                CHECK(pwrite(fd, "U", 1, (off_t) marks[i]) == 1);
        close(fd);
        CHECK_EQ(bundle_create(&(BundleCreateOptions) {
                                       .cert_path = pki("direct.pem"), .key_path = pki("direct.key"),
                                       .compatible = "c", .version = "1", .format = format,
                                       .chunk_size = chunk_size, .compression = COMPRESSION_ZSTD,
                                       .images = &spec, .n_images = 1, .output_path = bundle_path },
                               &err), 0);
        unlink(image_path);
        fd = open(bundle_path, O_RDONLY | O_CLOEXEC);
        CHECK_EQ(bundle_reader_new(fd, UINT64_MAX, -1, &r), 0);
        CHECK_EQ(bundle_reader_verify(r, keyring, &err), 0);
        while ((k = bundle_reader_next_chunk(r, &c, &err)) > 0) {
                if (c.offset != next)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                        if (marks[i] >= c.offset && marks[i] < c.offset + c.size)
                                seen += ((const uint8_t *) c.data)[marks[i] - c.offset] == 'U';
                last_offset = c.offset;
                next += c.size;
                n++;
        }
        CHECK_EQ(k, 0);
        CHECK_EQ(next, size);
        CHECK_EQ(seen, ELEMENTSOF(marks));
        if (format != BUNDLE_FORMAT_CDC) {
                CHECK_EQ(n, chunk_count(size, chunk_size));
                CHECK_EQ(last_offset, (size / chunk_size) * chunk_size);
        }
        bundle_reader_free(r);
        close(fd);
        unlink(bundle_path);
        unit_case_end("big_image");
}
