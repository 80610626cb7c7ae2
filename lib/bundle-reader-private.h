/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bundle reader's state, shared by its two halves and by nothing else: bundle-reader.c
 * reads and verifies the header, signature and tables; bundle-chunks.c reads the payload's
 * chunks. */

#include <stdbool.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "bundle.h"
#include "chunk.h"
#include "rauc-bundle.h"

/* The reader consumes the stream strictly front to back and keeps at most one stored chunk and
 * one decompressed chunk in memory, so it works on pipes and sockets and its memory use does not
 * depend on the image size. */
struct BundleReader {
        int fd;                   /* < 0 with a stream */
        BundleReaderStream stream; /* bundle_reader_set_stream(); read NULL: read(2) from fd */
        int cancel_fd;
        uint64_t max_size;
        uint64_t offset;          /* bytes consumed from fd so far */
        uint64_t total_size;      /* header + signature (+ payload once verified) */
        uint64_t payload_end;     /* once verified: where the payload ends (what a stream reads to) */
        void (*need)(void *userdata, uint64_t end); /* bundle_reader_set_need() */
        void *need_userdata;
        uint64_t announced;       /* the largest end told to need() */

        Manifest *manifest;
        uint8_t manifest_sha256[SHA256_DIGEST_LENGTH]; /* of the signed manifest bytes */
        char *signer;
        uint64_t trusted_time;
        bool verified;
        bool failed;              /* the stream position is unknown after an error: stop */
        bool done;                /* last chunk returned, end of file confirmed */

        size_t image;             /* next chunk to return */
        uint64_t chunk;
        uint64_t raw_offset;      /* of that chunk in its image (format 2) */
        uint32_t version;         /* the header's format version */
        uint64_t flags;           /* the header's flags */
        /* Format 2: the stored and raw sha256 of the last chunk whose raw bytes were hashed and
         * found right.  The same authenticated stored bytes decode to the same raw bytes, so a
         * run of identical chunks (the zeros of a sparse image) is hashed raw once, not once
         * per chunk. */
        uint8_t checked_stored[SHA256_SIZE], checked_raw[SHA256_SIZE];
        bool have_checked;

        uint8_t *stored;          /* the largest stored chunk of the bundle, allocated on use */
        uint8_t *raw;             /* the largest chunk_size of a compressed image, on use */
        size_t stored_max, raw_max;
        ChunkCodec *codec;

        /* A RAUC bundle: every call below goes to lib/rauc-bundle.c once it is verified.  It
         * reads at offsets: from fd if that is a file, else through 'random' if set. */
        RaucBundle *rauc;
        ReadAt random;
        RaucOpenOptions rauc_opt; /* max_plain_size, progress: set by the caller */
};

/* Tells the source that the reader will read up to 'end'. */
void bundle_reader_announce(BundleReader *r, uint64_t end);
/* Reads exactly size bytes (what names them in errors); marks the reader failed on error. */
int bundle_reader_read_exact(BundleReader *r, void *buf, size_t size, const char *what, UError *err);
/* After the last chunk: skips the patch data where it must, then the stream must end. */
int bundle_reader_confirm_eof(BundleReader *r, UError *err);
