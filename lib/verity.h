/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "read-at.h"

/* Authenticated random access to the first data_size bytes of a file: every block is read from
 * the file and compared with its expected SHA-256 before a byte of it is handed out, so a reader
 * on top of it (libsquashfs) never sees an unauthenticated byte, however the file changes under
 * it.  The expected hashes come from one of two places:
 *   - a dm-verity hash tree (RAUC verity bundles: format 1, SHA-256, 4096-byte data and hash
 *     blocks, salted, no superblock, the tree right after the data), checked against a signed
 *     root hash when it is opened (verity_open());
 *   - a table built while the file is hashed for a detached signature (RAUC plain bundles:
 *     verity_table_new() / _feed() / _seal()), so that the second pass over the file is bound
 *     to the bytes the first pass hashed. */

#define VERITY_BLOCK_SIZE 4096
#define VERITY_SALT_MAX 256
#define VERITY_TABLE_BLOCK_SIZE (64 * 1024)

typedef struct VerityFile VerityFile;

/* src is borrowed and must outlive the VerityFile.
 * hash_size bytes at hash_offset must be exactly the tree that data_size needs.  Reads the top
 * hash block and checks it against root_hash; every other hash block is read when the data it
 * covers is first read, and checked against the level above before it is used.  Memory: a few
 * runs of checked hash blocks per level, at most 768 KiB (plus two 128 KiB read windows),
 * whatever data_size. */
int verity_open(const ReadAt *src, uint64_t data_size, uint64_t hash_offset, uint64_t hash_size, const uint8_t *salt,
                size_t salt_size, const uint8_t root_hash[32], VerityFile **ret, UError *err);

/* Bytes of the hash tree of data_size bytes (a multiple of VERITY_BLOCK_SIZE), as veritysetup
 * and RAUC lay it out.  -EINVAL if data_size is not a multiple of the block size or 0. */
int verity_tree_size(uint64_t data_size, uint64_t *ret);

/* A table of one SHA-256 per block_size bytes of [0, data_size): feed the bytes once, in order
 * (the same bytes the signature's digest was computed over), then seal.  Memory: 32 bytes per
 * block. */
int verity_table_new(const ReadAt *src, uint64_t data_size, uint32_t block_size, VerityFile **ret);
int verity_table_feed(VerityFile *v, const void *data, size_t size);
int verity_table_seal(VerityFile *v);

/* Reads [offset, offset + size), which must lie within the data, checking every block it
 * touches.  A block that does not match fails with ERROR_INVALID_BUNDLE naming the block. */
int verity_read(VerityFile *v, uint64_t offset, void *buf, size_t size, UError *err);
uint64_t verity_data_size(const VerityFile *v);
uint64_t verity_bytes_read(const VerityFile *v);       /* data and hash tree */
uint64_t verity_tree_bytes_read(const VerityFile *v);  /* hash tree only */

VerityFile *verity_free(VerityFile *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(VerityFile *, verity_free);
