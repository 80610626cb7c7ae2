/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "cms.h"
#include "error.h"
#include "macro.h"
#include "manifest.h"
#include "read-at.h"

/* RAUC bundles (.raucb) behind the BundleReader interface (lib/bundle.h dispatches here when a
 * bundle starts with the squashfs magic).  Layout: squashfs | [dm-verity hash tree] | CMS (DER)
 * | u64 big-endian CMS size.  The CMS is at the end, so the bundle must be a seekable file.
 *   plain:  detached CMS over the whole squashfs.  One pass hashes it for the signature and
 *           records a SHA-256 per block (64 KiB or more, see below); every later read is
 *           checked against that table.
 *   verity: attached CMS holding the manifest (with the root hash); every 4 KiB block read is
 *           checked against the dm-verity hash tree, whose blocks are read as needed and
 *           checked against the level above up to the root hash (lib/verity.c).
 *   crypt:  refused.
 * The squashfs is read with libsquashfs through that checking layer, so no unauthenticated
 * byte reaches the caller; each image's signed sha256 is checked once more at its end. */

#define RAUC_SQUASHFS_MAGIC "hsqs"
#define RAUC_MAX_SIGNATURE_SIZE (64 * 1024)   /* RAUC's default max-bundle-signature-size */
#define RAUC_CHUNK_SIZE (UINT32_C(1) << 20)   /* how the images are cut into BundleChunks */

typedef struct RaucBundle RaucBundle;

/* Whether src is a regular file (or URL) that ends in a RAUC signature (a CMS structure and its size):
 * how a crypt bundle is told apart, whose squashfs is encrypted and has no magic. */
bool rauc_bundle_probe(const ReadAt *src);

/* A plain bundle's signature pass keeps a SHA-256 per block of its payload, allocated before the
 * signature is checked: the blocks grow with the payload (64 KiB .. 1 MiB) so that the table
 * stays within RAUC_PLAIN_TABLE_MAX_BLOCKS * 32 bytes (512 KiB), and a larger payload is refused
 * before anything is allocated or hashed. */
#define RAUC_PLAIN_TABLE_MAX_BLOCKS 16384
#define RAUC_PLAIN_MAX_PAYLOAD ((uint64_t) RAUC_PLAIN_TABLE_MAX_BLOCKS * (1024 * 1024))  /* 16 GiB */

typedef struct RaucOpenOptions {
        uint64_t max_size;              /* of any bundle */
        /* Of a plain bundle (0: no cap beyond max_size and RAUC_PLAIN_MAX_PAYLOAD), checked before
         * its signature pass; max_plain_size_name names it in the refusal. */
        uint64_t max_plain_size;
        const char *max_plain_size_name;
        int cancel_fd;                  /* as for bundle_reader_new(), or -1 */
        /* Called during a plain bundle's signature pass (every 1 MiB hashed): done of total. */
        void (*progress)(void *userdata, uint64_t done, uint64_t total);
        void *userdata;
} RaucOpenOptions;

/* src is copied; what it reads from must stay open. */
int rauc_bundle_open(const ReadAt *src, const RaucOpenOptions *o, const Keyring *k, RaucBundle **ret, UError *err);
RaucBundle *rauc_bundle_free(RaucBundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(RaucBundle *, rauc_bundle_free);

const Manifest *rauc_bundle_manifest(const RaucBundle *b);
const char *rauc_bundle_signer(const RaucBundle *b);
/* SHA-256 of manifest.raucm as signed (RAUC's manifest hash). */
const uint8_t *rauc_bundle_manifest_sha256(const RaucBundle *b);
const char *rauc_bundle_format(const RaucBundle *b);
uint64_t rauc_bundle_trusted_time(const RaucBundle *b);
uint64_t rauc_bundle_bytes_read(const RaucBundle *b);
uint64_t rauc_bundle_total_size(const RaucBundle *b);
uint32_t rauc_bundle_next_chunk_size(const RaucBundle *b);
int rauc_bundle_next_chunk_into(RaucBundle *b, void *dst, size_t dst_size, BundleChunk *ret, UError *err);
