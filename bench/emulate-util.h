/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What the two measuring tools of bench/ (cdc-emulate.c, index-emulate.c) share: a set of
 * SHA-256 digests and a read-only mapping of an image.  Not shipped, not a test. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

typedef struct Digest {
        unsigned char b[SHA256_DIGEST_LENGTH];
} Digest;

/* Open addressing over the first 8 bytes of SHA-256 (uniform); full digests compared. */
typedef struct Set {
        Digest *slots;
        bool *used;
        size_t cap, n;
} Set;

typedef struct Image {
        const unsigned char *p;
        size_t size;
} Image;

/* The digest's first 8 bytes, little endian on the machines we bench on. */
uint64_t digest_low64(const Digest *d);
/* Adds d; returns 1 if added, 0 if it was there, negative errno on failure. */
int set_add(Set *s, const Digest *d);
bool set_has(const Set *s, const Digest *d);
void set_done(Set *s);
/* Maps the file read-only (a non-empty regular file). */
int image_map(const char *path, Image *ret);
/* A size in bytes, or with K or M (binary), within [min, max]. */
int parse_size(const char *s, uint64_t min, uint64_t max, size_t *ret);
