/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cms.h"
#include "error.h"
#include "macro.h"
#include "manifest.h"
#include "read-at.h"

/* Bundle format v1 (docs/bundle-format.md):
 *   header (32 bytes, little endian)
 *     0  magic "UPD1BNDL"
 *     8  u32 format version (1)
 *    12  u32 header size (32)
 *    16  u64 signature size S (1 .. BUNDLE_MAX_SIGNATURE_SIZE)
 *    24  u64 flags (0)
 *   signature: S bytes of CMS SignedData (DER) with the manifest JSON attached
 *   payload: the stored chunks of every image, in manifest order, back to back
 *   end of file (trailing bytes are an error). */
#define BUNDLE_MAGIC "UPD1BNDL"
#define BUNDLE_MAGIC_SIZE 8
#define BUNDLE_FORMAT_VERSION 1
/* Format 2: the same header with version 2; between the signature and the payload, every
 * image's binary chunk table (docs/bundle-format.md "Format 2"). */
#define BUNDLE_FORMAT_CDC 2
#define BUNDLE_HEADER_SIZE 32
/* Format 2 header flag: the bundle carries patch tables (after the chunk tables) and patch data
 * (after the payload), listed in the manifest's "patch-sets".  A reader that does not know it
 * refuses the bundle by name ("unknown flags") instead of taking the patch tables for payload;
 * a bundle without patches keeps flags 0. */
#define BUNDLE_FLAG_PATCHES UINT64_C(1)
/* The signature holds the manifest, whose chunk tables take ~76 bytes per chunk: 2.4 MiB for
 * 8 GiB of images (the default max-bundle-size) at the default 256 KiB chunks; 3.4 GiB of
 * images fit at the smallest chunk size, 210 GiB at the largest.  It is read and held before it
 * is authenticated, so it is capped (docs/bundle-format.md, "Why the signature is capped"). */
#define BUNDLE_MAX_SIGNATURE_SIZE (UINT64_C(4) << 20)
/* Unverified signature bytes all readers of a process may hold at once (bundle_reader_verify()
 * fails with ERROR_BUSY beyond): one maximal signature, however many streams run. */
#define BUNDLE_UNVERIFIED_BUDGET BUNDLE_MAX_SIGNATURE_SIZE

typedef struct BundleReader BundleReader;

/* Reads from 'fd' (borrowed; a file, pipe or socket, read strictly front to back, never
 * seeked), or from a stream set with bundle_reader_set_stream() (then fd may be -EBADF).  A
 * RAUC bundle (it starts with a squashfs) is handed to lib/rauc-bundle.c instead, which reads a
 * regular file at offsets and refuses anything else.  max_size bounds the whole bundle.  If
 * cancel_fd >= 0 (an eventfd), a readable cancel_fd aborts any blocking read with
 * ERROR_CANCELLED. */
int bundle_reader_new(int fd, uint64_t max_size, int cancel_fd, BundleReader **ret);
/* A source that is not an fd (daemon/source-http.c): read() puts up to 'size' bytes into buf
 * and sets *ret to how many, 0 only at the end of the stream; a negative errno on failure, and
 * -ECANCELED (without waiting any longer) once cancel_fd (the reader's, may be -1) is readable.
 * It may return fewer bytes than asked but need not: the reader asks only for what it is about
 * to use, so a source can fill buf whole and wake the reader once.  Called by one thread at a
 * time, the one that reads the bundle; the reader announces every read first
 * (bundle_reader_set_need()).  Copied; used by every read from then on instead of read(2). */
typedef struct BundleReaderStream {
        int (*read)(void *userdata, void *buf, size_t size, int cancel_fd, size_t *ret);
        void *userdata;
} BundleReaderStream;
void bundle_reader_set_stream(BundleReader *r, const BundleReaderStream *stream);
/* Where a RAUC bundle is read at offsets when fd is not a file (an http(s) source with Range
 * requests); copied, used only by bundle_reader_verify() and after.  Without it a RAUC bundle
 * from a pipe is refused. */
void bundle_reader_set_random_access(BundleReader *r, const ReadAt *random);
/* 'need' is told how far the reader is about to read (an end offset, exclusive), before it reads
 * there: the header, then header + signature, then the format-2 chunk tables, then, on the first
 * chunk asked for, the payload's end (not the file's: a delta install that never asks for a
 * chunk never announces the payload).  Any read beyond what was announced announces its own end
 * first, so a source that delivers only what was announced (daemon/source-http.c) never leaves
 * the reader waiting.  The ends only grow.  Not called for a RAUC bundle past its header. */
void bundle_reader_set_need(BundleReader *r, void (*need)(void *userdata, uint64_t end), void *userdata);
/* A RAUC plain bundle is hashed whole before its first byte is used: a cap on its size (checked
 * before that pass; name says which setting it is, e.g. "[system] max-bundle-download-size="),
 * and a callback for the progress of that pass.  Both ignored for other bundles. */
void bundle_reader_set_rauc_plain_limit(BundleReader *r, uint64_t max_size, const char *name);
void bundle_reader_set_rauc_progress(BundleReader *r, void (*progress)(void *userdata, uint64_t done, uint64_t total),
                                     void *userdata);
BundleReader *bundle_reader_free(BundleReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(BundleReader *, bundle_reader_free);

/* Reads header and signature, verifies the signature with the keyring, then (only then) parses
 * the manifest.  Errors: ERROR_INVALID_BUNDLE (header, sizes, manifest), ERROR_SIGNATURE_INVALID,
 * ERROR_IO, ERROR_CANCELLED, ERROR_BUSY (BUNDLE_UNVERIFIED_BUDGET is taken by other readers). */
int bundle_reader_verify(BundleReader *r, const Keyring *k, UError *err);
const Manifest *bundle_reader_manifest(const BundleReader *r);
const char *bundle_reader_signer(const BundleReader *r);   /* subject of the signer cert */
uint64_t bundle_reader_trusted_time(const BundleReader *r); /* see cms_verify() */
uint64_t bundle_reader_bytes_read(const BundleReader *r);  /* for progress */
/* SHA-256 (32 bytes) of the manifest exactly as it was signed, once verified (else NULL): RAUC's
 * "manifest hash" (the manifest.raucm bytes, in the CMS of a verity bundle, in the squashfs of a
 * plain one); of an Update1 bundle, the manifest JSON attached to its CMS. */
const uint8_t *bundle_reader_manifest_sha256(const BundleReader *r);
/* ERROR_INVALID_BUNDLE naming both hashes unless that SHA-256 is 'want' (32 bytes). */
int bundle_reader_check_manifest_sha256(const BundleReader *r, const uint8_t *want, UError *err);
/* "update1", or a RAUC bundle's "plain" / "verity" (lib/rauc-bundle.h). */
const char *bundle_reader_format(const BundleReader *r);
uint64_t bundle_reader_total_size(const BundleReader *r);  /* header + signature + payload */

typedef struct BundleChunk {
        size_t image;      /* index into manifest->images */
        uint64_t index;    /* chunk number within the image */
        uint64_t offset;   /* offset in the uncompressed image */
        const void *data;  /* decompressed, authenticated; valid until the next call */
        size_t size;
        bool last;         /* last chunk of this image */
} BundleChunk;

/* Returns 1 and fills *ret with the next chunk (images in manifest order, chunks in order),
 * or 0 after the last chunk once end of file was confirmed.  Each chunk's stored bytes are
 * hashed and compared with the signed table before they are decompressed; the decompressed
 * size must be exactly chunk_size (or the remainder for the last chunk), and a zstd frame's
 * content checksum, where it has one, must match.  The whole-image sha256 of the manifest is
 * not recomputed: the image is the decoding of authenticated bytes (docs/bundle-format.md). */
int bundle_reader_next_chunk(BundleReader *r, BundleChunk *ret, UError *err);
/* The same, with the decompressed bytes put into dst (dst_size >= bundle_reader_next_chunk_size()),
 * so that they need no copy on their way to the slot; ret->data points into dst. */
int bundle_reader_next_chunk_into(BundleReader *r, void *dst, size_t dst_size, BundleChunk *ret, UError *err);
/* Uncompressed size of the chunk the next call returns, 0 when there is none. */
uint32_t bundle_reader_next_chunk_size(const BundleReader *r);

/* bundle_reader_next_chunk_into() in two steps, for a caller that runs them on two threads (one
 * call of each at a time; reading touches only the reader's stream state, decoding only its
 * decoder): bundle_reader_next_stored() reads the next chunk's stored bytes into buf
 * (buf_size >= bundle_reader_stored_max()) and authenticates them against the signed table;
 * 1 and *ret describe it, 0 after the last chunk once end of file was confirmed.
 * bundle_reader_decode() decompresses them into dst (dst_size >= ret->raw_size), checks the
 * size and, in format 2, the raw sha256, and fills *ret as bundle_reader_next_chunk_into()
 * does.  Update1 bundles only (bundle_reader_format() is "update1"). */
typedef struct BundleStoredChunk {
        size_t image;
        uint64_t index;
        uint64_t offset;          /* in the uncompressed image */
        uint32_t raw_size;
        uint32_t stored_size;
        bool last;                /* last chunk of its image */
        bool compressed;
        bool has_raw_sha256;      /* format 2 */
        bool authenticated;       /* the stored bytes matched stored_sha256: only then decoded */
        uint8_t stored_sha256[32];
        uint8_t raw_sha256[32];
} BundleStoredChunk;

size_t bundle_reader_stored_max(const BundleReader *r);
int bundle_reader_next_stored(BundleReader *r, void *buf, size_t buf_size, BundleStoredChunk *ret, UError *err);
/* bundle_reader_next_stored() split once more, for a caller that authenticates on several
 * threads: bundle_reader_read_stored() reads the stored bytes (ret->authenticated false);
 * bundle_reader_check_stored() hashes them against the signed table and sets it.  The check
 * reads only the verified manifest, which does not change any more: any thread may run it
 * while another reads the next chunk.  bundle_reader_decode() refuses a chunk not checked. */
int bundle_reader_read_stored(BundleReader *r, void *buf, size_t buf_size, BundleStoredChunk *ret, UError *err);
int bundle_reader_check_stored(const BundleReader *r, BundleStoredChunk *c, const void *buf, UError *err);
int bundle_reader_decode(BundleReader *r, const BundleStoredChunk *c, const void *stored, void *dst, size_t dst_size,
                         BundleChunk *ret, UError *err);

/* Parses only the 32-byte header (no allocation; for tests, fuzzing and 'bundle info'). */
int bundle_header_parse(const uint8_t *buf, size_t size, uint64_t *ret_signature_size, UError *err);

typedef struct BundleImageSpec {
        const char *slotclass;
        const char *path;      /* a regular file or block device */
} BundleImageSpec;

typedef struct BundlePatchSpec {
        const char *slotclass; /* an image of the bundle */
        const char *path;      /* the image of that class in an older release */
} BundlePatchSpec;

typedef struct BundleCreateOptions {
        const char *cert_path;
        const char *key_path;
        const char *intermediate_path; /* may be NULL */
        const char *compatible;
        const char *version;
        const char *build;             /* NULL: current UTC time as YYYYMMDDhhmmss */
        const char *description;       /* may be NULL */
        uint64_t security_version;
        uint64_t expires;              /* 0: never */
        unsigned format;               /* 0 or BUNDLE_FORMAT_VERSION: 1; BUNDLE_FORMAT_CDC: 2 */
        uint32_t chunk_size;           /* format 1: 0 = CHUNK_SIZE_DEFAULT; format 2: the average
                                        * (min avg/4, max avg*4), 0 = CDC_AVG_DEFAULT */
        Compression compression;
        int zstd_level;                /* 0: 3 */
        const BundleImageSpec *images;
        size_t n_images;
        const BundlePatchSpec *patches; /* format 2 only: --patch-from */
        size_t n_patches;
        uint32_t patch_window;         /* 0: PATCH_WINDOW_DEFAULT */
        const char *output_path;       /* written via a temp file and rename */
} BundleCreateOptions;

int bundle_create(const BundleCreateOptions *o, UError *err);
