/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bundle reader (lib/bundle-reader.c): bundle_header_parse() on the input, then a whole
 * bundle_reader_verify() + bundle_reader_next_chunk() pass over a pipe (or a memfd when the
 * input does not fit into a pipe) holding the bundle, with the fuzz keyring (fuzz-pki.h).
 * Two input forms:
 *   anything not starting with '{'   the bundle file itself (the seeds are real bundles signed
 *                                    under the committed fuzz PKI: mutations of the payload keep
 *                                    the signature valid and exercise chunk verification)
 *   MANIFEST-JSON '\0' PAYLOAD       a manifest the harness signs at run time (throw-away key),
 *                                    after setting each chunk's sha256 (and the image's, when
 *                                    every chunk decodes) from PAYLOAD: so hostile-but-signed
 *                                    manifests and zstd frames reach decompression and the
 *                                    size checks.
 * Checks: a chunk stream ends exactly at the end of the input with every image's size
 * delivered in order; every error carries a kind; after an error the reader refuses. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "chunk.h"
#include "fuzz-pki.h"

#define MAX_BUNDLE_SIZE (UINT64_C(64) << 20)
#define PIPE_CAPACITY 65536

static FuzzPki pki;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        fuzz_pki_load(&pki, true);
        return 0;
}

/* An fd from which exactly 'data' can be read: a pipe when the kernel buffers it whole. */
static int input_fd(const uint8_t *data, size_t size) {
        int fds[2], fd;
        size_t done = 0;

        if (size <= PIPE_CAPACITY) {
                FUZZ_ASSERT(pipe2(fds, O_CLOEXEC) == 0);
                while (done < size) {
                        ssize_t n = write(fds[1], data + done, size - done);
                        FUZZ_ASSERT(n > 0);
                        done += (size_t) n;
                }
                close(fds[1]);
                return fds[0];
        }
        fd = memfd_create("bundle", MFD_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        while (done < size) {
                ssize_t n = write(fd, data + done, size - done);
                FUZZ_ASSERT(n > 0);
                done += (size_t) n;
        }
        FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
        return fd;
}

static void read_bundle(const uint8_t *data, size_t size) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        _cleanup_close_ int fd = input_fd(data, size);
        UError err = UERROR_NULL;
        const Manifest *m;
        BundleChunk c;
        size_t image = 0;
        uint64_t index = 0, delivered = 0;
        int k;

        FUZZ_ASSERT(bundle_reader_new(fd, MAX_BUNDLE_SIZE, -1, &r) >= 0);
        if (bundle_reader_verify(r, pki.strict, &err) < 0) {
                fuzz_note("bundle: %s", err.message);
                FUZZ_ASSERT(uerror_is_set(&err) && err.message[0]);
                FUZZ_ASSERT(!bundle_reader_manifest(r) && !bundle_reader_signer(r));
                err = UERROR_NULL;
                FUZZ_ASSERT(bundle_reader_next_chunk(r, &c, &err) < 0 && uerror_is_set(&err));
                return;
        }
        m = bundle_reader_manifest(r);
        FUZZ_ASSERT(m && bundle_reader_signer(r));
        FUZZ_ASSERT(bundle_reader_total_size(r) <= MAX_BUNDLE_SIZE);

        while ((k = bundle_reader_next_chunk(r, &c, &err)) > 0) {
                const ManifestImage *img;

                FUZZ_ASSERT(c.image == image && c.index == index && image < m->n_images);
                img = &m->images[image];
                FUZZ_ASSERT(c.offset == delivered && c.data && c.size > 0 && c.size <= img->chunk_size);
                FUZZ_ASSERT(c.size == chunk_raw_size(img->size, img->chunk_size, c.index));
                delivered += c.size;
                index++;
                if (c.last) {
                        FUZZ_ASSERT(delivered == img->size && index == img->n_chunks);
                        image++;
                        index = 0;
                        delivered = 0;
                }
        }
        if (k < 0) {
                fuzz_note("bundle: verified, then: %s", err.message);
                FUZZ_ASSERT(uerror_is_set(&err) && err.message[0]);
                err = UERROR_NULL;
                FUZZ_ASSERT(bundle_reader_next_chunk(r, &c, &err) < 0);
                return;
        }
        fuzz_note("bundle: verified, %zu image(s) delivered", image);
        /* Done: every image delivered and not one byte more or less than the input. */
        FUZZ_ASSERT(image == m->n_images);
        FUZZ_ASSERT(bundle_reader_bytes_read(r) == size && bundle_reader_total_size(r) == size);
        FUZZ_ASSERT(bundle_reader_next_chunk(r, &c, &err) == 0);
}

/* Sets the chunk hashes of 'm' from the payload, and each image's hash when all its chunks are
 * in the payload and decode to the right sizes. */
static void fix_hashes(Manifest *m, const uint8_t *payload, size_t payload_size) {
        _cleanup_(chunk_codec_freep) ChunkCodec *codec = NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();

        FUZZ_ASSERT(md && chunk_codec_new(0, &codec) >= 0);
        for (size_t i = 0; i < m->n_images; i++) {
                ManifestImage *img = &m->images[i];
                _cleanup_free_ uint8_t *raw = malloc(img->chunk_size);
                bool whole = true;

                FUZZ_ASSERT(raw && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
                for (uint64_t c = 0; c < img->n_chunks; c++) {
                        ManifestChunk *ch = &img->chunks[c];
                        uint32_t raw_size = chunk_raw_size(img->size, img->chunk_size, c);
                        const uint8_t *stored = payload + ch->offset;

                        if (ch->offset > payload_size || ch->size > payload_size - ch->offset) {
                                whole = false;
                                break;
                        }
                        FUZZ_ASSERT(sha256_buffer(stored, ch->size, ch->sha256) >= 0);
                        if (img->compression == COMPRESSION_ZSTD) {
                                if (chunk_decompress(codec, stored, ch->size, raw, raw_size) < 0) {
                                        whole = false;
                                        continue;
                                }
                                FUZZ_ASSERT(EVP_DigestUpdate(md, raw, raw_size) == 1);
                        } else
                                FUZZ_ASSERT(EVP_DigestUpdate(md, stored, raw_size) == 1);
                }
                if (whole) {
                        unsigned len = 0;

                        FUZZ_ASSERT(EVP_DigestFinal_ex(md, img->sha256, &len) == 1 && len == SHA256_SIZE);
                }
        }
        EVP_MD_CTX_free(md);
}

static void signed_bundle(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_free_ uint8_t *der = NULL, *bundle = NULL;
        const uint8_t *nul = memchr(data, 0, size);
        size_t text_size = nul ? (size_t) (nul - data) : size, der_size = 0, payload_size, total;
        const uint8_t *payload = nul ? nul + 1 : data + size;
        UError err = UERROR_NULL;
        uint32_t u32;
        uint64_t u64;

        payload_size = size - text_size - (nul ? 1 : 0);
        /* What does not parse is never signed by a real signer either (fuzz-manifest covers it). */
        if (manifest_parse((const char *) data, text_size, &m, &err) < 0) {
                fuzz_note("runtime-signed: %s", err.message);
                return;
        }
        fix_hashes(m, payload, payload_size);
        FUZZ_ASSERT(manifest_to_json(m, &json) >= 0);
        if (cms_sign(json, strlen(json), pki.signer_cert, pki.signer_key, NULL, &der, &der_size, &err) < 0) {
                fprintf(stderr, "fuzz harness: cms_sign: %s\n", err.message);
                abort();
        }

        total = BUNDLE_HEADER_SIZE + der_size + payload_size;
        bundle = malloc(total);
        FUZZ_ASSERT(bundle);
        memcpy(bundle, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE);
        u32 = htole32(BUNDLE_FORMAT_VERSION);
        memcpy(bundle + 8, &u32, 4);
        u32 = htole32(BUNDLE_HEADER_SIZE);
        memcpy(bundle + 12, &u32, 4);
        u64 = htole64(der_size);
        memcpy(bundle + 16, &u64, 8);
        u64 = 0;
        memcpy(bundle + 24, &u64, 8);
        memcpy(bundle + BUNDLE_HEADER_SIZE, der, der_size);
        if (payload_size > 0)
                memcpy(bundle + BUNDLE_HEADER_SIZE + der_size, payload, payload_size);
        read_bundle(bundle, total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UError err = UERROR_NULL;
        uint64_t signature_size = 0;

        if (bundle_header_parse(data, size, &signature_size, &err) >= 0)
                FUZZ_ASSERT(signature_size > 0 && signature_size <= BUNDLE_MAX_SIGNATURE_SIZE);
        else
                FUZZ_ASSERT(err.kind == ERROR_INVALID_BUNDLE);

        if (size > 0 && data[0] == '{')
                signed_bundle(data, size);
        else
                read_bundle(data, size);
        return 0;
}
