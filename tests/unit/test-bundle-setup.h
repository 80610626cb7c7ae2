/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the bundle tests (test-bundle, test-bundle-format2, test-patch) each set up alike: a
 * throw-away PKI (test-pki.h) with a work directory in it, the keyring of its root, file names
 * in the work directory, pseudo-random bytes from a seed, and a format-2 bundle signed by the
 * PKI's "direct" signer. */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bundle.h"
#include "unit.h"
#include "test-pki.h"

static char work[PATH_MAX + 16];
static Keyring *keyring;

/* "WORK/NAME" in one of a few rotating buffers, so several can be used in one call. */
static inline const char *wpath(const char *name) {
        static char bufs[4][PATH_MAX + 128];
        static unsigned next;
        char *b = bufs[next++ % 4];

        snprintf(b, sizeof(bufs[0]), "%s/%s", work, name);
        return b;
}

/* xorshift64*: the next pseudo-random byte of the sequence in *s (start it at seed | 1). */
static inline uint8_t xorshift_byte(uint64_t *s) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return (uint8_t) ((*s * UINT64_C(0x2545f4914f6cdd1d)) >> 56);
}

/* n incompressible bytes, the same for the same seed. */
static inline void fill_random(uint8_t *p, size_t n, uint64_t seed) {
        uint64_t s = seed | 1;

        for (size_t i = 0; i < n; i++)
                p[i] = xorshift_byte(&s);
}

/* The PKI, WORK and the keyring of the PKI's root: 0, or -1 (said as a diagnostic). */
static inline int bundle_test_setup(void) {
        UError err = UERROR_NULL;

        if (pki_setup() < 0)
                return -1;
        snprintf(work, sizeof(work), "%s/work", pki_dir);
        if (mkdir(work, 0755) < 0) {
                unit_diag("cannot create %s: %s", work, strerror(errno));
                return -1;
        }
        if (keyring_load(pki("root.pem"), NULL, false, &keyring, &err) < 0) {
                unit_diag("%s", err.message);
                return -1;
        }
        return 0;
}

static inline void bundle_test_cleanup(void) {
        keyring_free(keyring);
        keyring = NULL;
        pki_cleanup();
}

/* A format-2 bundle of 'image' as slot class rootfs, version 2.0 for "test-board": chunks of
 * average 'avg' (0: the default) stored with 'compression'; with patches from the old image
 * 'patch_from' (NULL: none) in windows of 'patch_window' (0: the default). */
static inline int create_format2(const char *out, const char *image, Compression compression, uint32_t avg,
                                 const char *patch_from, uint32_t patch_window) {
        BundleImageSpec spec = { "rootfs", image };
        BundlePatchSpec patch = { "rootfs", patch_from };
        UError err = UERROR_NULL;
        int r;

        r = bundle_create(&(BundleCreateOptions) {
                                  .cert_path = pki("direct.pem"),
                                  .key_path = pki("direct.key"),
                                  .compatible = "test-board",
                                  .version = "2.0",
                                  .format = BUNDLE_FORMAT_CDC,
                                  .chunk_size = avg,
                                  .compression = compression,
                                  .images = &spec,
                                  .n_images = 1,
                                  .patches = patch_from ? &patch : NULL,
                                  .n_patches = patch_from ? 1 : 0,
                                  .patch_window = patch_window,
                                  .output_path = out,
                          },
                          &err);
        if (r < 0)
                unit_diag("bundle_create failed: %s", err.message);
        return r;
}
