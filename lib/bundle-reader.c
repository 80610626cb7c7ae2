/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "bundle-reader-private.h"
#include "bundle.h"
#include "chunk.h"
#include "rauc-bundle.h"
#include "util.h"


static int header_parse(const uint8_t *buf, size_t size, uint64_t *ret_signature_size,
                        uint32_t *ret_version, uint64_t *ret_flags, UError *err) {
        uint32_t version, header_size;
        uint64_t signature_size, flags;

        if (size < BUNDLE_HEADER_SIZE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header invalid: %zu bytes, expected %d", size,
                                  BUNDLE_HEADER_SIZE);
        if (memcmp(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE) != 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header invalid: bad magic (not an Update1 bundle)");

        memcpy(&version, buf + 8, sizeof(version));
        memcpy(&header_size, buf + 12, sizeof(header_size));
        memcpy(&signature_size, buf + 16, sizeof(signature_size));
        memcpy(&flags, buf + 24, sizeof(flags));
        version = le32toh(version);
        header_size = le32toh(header_size);
        signature_size = le64toh(signature_size);
        flags = le64toh(flags);

        if (version != BUNDLE_FORMAT_VERSION && version != BUNDLE_FORMAT_CDC)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EPROTONOSUPPORT,
                                  "Bundle header invalid: format version %u is not supported "
                                  "(expected %d or %d)", version, BUNDLE_FORMAT_VERSION,
                                  BUNDLE_FORMAT_CDC);
        if (header_size != BUNDLE_HEADER_SIZE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header invalid: header size %u, expected %d", header_size,
                                  BUNDLE_HEADER_SIZE);
        if (signature_size == 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header invalid: signature size 0");
        /* Refused before a byte of it is read or allocated: it is not authenticated yet. */
        if (signature_size > BUNDLE_MAX_SIGNATURE_SIZE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "Bundle header invalid: signature size %llu exceeds limit %llu; a "
                                  "genuine bundle this large needs a larger --chunk-size",
                                  (unsigned long long) signature_size,
                                  (unsigned long long) BUNDLE_MAX_SIGNATURE_SIZE);
        if ((flags & ~(version == BUNDLE_FORMAT_CDC ? BUNDLE_FLAG_PATCHES : 0)) != 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header invalid: unknown flags 0x%llx",
                                  (unsigned long long) flags);

        *ret_signature_size = signature_size;
        *ret_version = version;
        *ret_flags = flags;
        return 0;
}

int bundle_header_parse(const uint8_t *buf, size_t size, uint64_t *ret_signature_size, UError *err) {
        uint32_t version;
        uint64_t flags;

        return header_parse(buf, size, ret_signature_size, &version, &flags, err);
}

/* Every reader of the process takes the signature it is about to read, unauthenticated until
 * it is verified, out of one budget: the daemon verifies an install and several InspectBundle
 * streams at once, and together they must not hold more unverified bytes than one signature of
 * the largest allowed size does (5 streams of 62 MiB each once took 1.2 GB of the root daemon). */
static uint64_t unverified_bytes;

static bool budget_take(uint64_t n, uint64_t *ret_others) {
        uint64_t cur = __atomic_load_n(&unverified_bytes, __ATOMIC_RELAXED);

        do {
                if (n > BUNDLE_UNVERIFIED_BUDGET - cur) {
                        *ret_others = cur;
                        return false;
                }
        } while (!__atomic_compare_exchange_n(&unverified_bytes, &cur, cur + n, true, __ATOMIC_RELAXED,
                                              __ATOMIC_RELAXED));
        return true;
}

static void budget_returnp(uint64_t *n) {
        if (*n > 0)
                __atomic_sub_fetch(&unverified_bytes, *n, __ATOMIC_RELAXED);
}

int bundle_reader_new(int fd, uint64_t max_size, int cancel_fd, BundleReader **ret) {
        BundleReader *r;

        if (!ret)
                return -EINVAL;
        r = calloc(1, sizeof(BundleReader));
        if (!r)
                return -ENOMEM;
        *r = (BundleReader) {
                .fd = fd,
                .cancel_fd = cancel_fd,
                .max_size = max_size,
        };
        *ret = r;
        return 0;
}

void bundle_reader_set_random_access(BundleReader *r, const ReadAt *random) {
        r->random = *random;
}

void bundle_reader_set_stream(BundleReader *r, const BundleReaderStream *stream) {
        r->stream = *stream;
}

void bundle_reader_set_need(BundleReader *r, void (*need)(void *userdata, uint64_t end), void *userdata) {
        r->need = need;
        r->need_userdata = userdata;
}

/* Tells the source that the reader will read up to 'end'. */
void bundle_reader_announce(BundleReader *r, uint64_t end) {
        if (!r->need || end <= r->announced)
                return;
        r->announced = end;
        r->need(r->need_userdata, end);
}

void bundle_reader_set_rauc_plain_limit(BundleReader *r, uint64_t max_size, const char *name) {
        r->rauc_opt.max_plain_size = max_size;
        r->rauc_opt.max_plain_size_name = name;
}

void bundle_reader_set_rauc_progress(BundleReader *r, void (*progress)(void *userdata, uint64_t done, uint64_t total),
                                     void *userdata) {
        r->rauc_opt.progress = progress;
        r->rauc_opt.userdata = userdata;
}

BundleReader *bundle_reader_free(BundleReader *r) {
        if (!r)
                return NULL;
        manifest_free(r->manifest);
        free(r->signer);
        free(r->stored);
        free(r->raw);
        chunk_codec_free(r->codec);
        rauc_bundle_free(r->rauc);
        return mfree(r);
}

const Manifest *bundle_reader_manifest(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_manifest(r->rauc);
        return r && r->verified ? r->manifest : NULL;
}

uint64_t bundle_reader_trusted_time(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_trusted_time(r->rauc);
        return r && r->verified ? r->trusted_time : 0;
}

const char *bundle_reader_signer(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_signer(r->rauc);
        return r && r->verified ? r->signer : NULL;
}

const uint8_t *bundle_reader_manifest_sha256(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_manifest_sha256(r->rauc);
        return r && r->verified ? r->manifest_sha256 : NULL;
}

int bundle_reader_check_manifest_sha256(const BundleReader *r, const uint8_t *want, UError *err) {
        const uint8_t *h = bundle_reader_manifest_sha256(r);
        char w[2 * SHA256_DIGEST_LENGTH + 1], got[2 * SHA256_DIGEST_LENGTH + 1] = "none";

        if (h && memcmp(h, want, SHA256_DIGEST_LENGTH) == 0)
                return 0;
        hex_encode(want, SHA256_DIGEST_LENGTH, w);
        if (h)
                hex_encode(h, SHA256_DIGEST_LENGTH, got);
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                          "Refusing to install bundle with unexpected manifest hash (expected %s, got %s): it is not "
                          "the bundle that was reviewed; inspect it again and pass its manifest-hash", w, got);
}

const char *bundle_reader_format(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_format(r->rauc);
        return "update1";
}

uint64_t bundle_reader_bytes_read(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_bytes_read(r->rauc);
        return r ? r->offset : 0;
}

uint64_t bundle_reader_total_size(const BundleReader *r) {
        if (r && r->rauc)
                return rauc_bundle_total_size(r->rauc);
        return r ? r->total_size : 0;
}

/* Waits until fd is readable, or fails with -ECANCELED once cancel_fd is readable. */
static int reader_wait(BundleReader *r) {
        struct pollfd p[2] = {
                { .fd = r->fd, .events = POLLIN },
                { .fd = r->cancel_fd, .events = POLLIN },
        };
        nfds_t n = r->cancel_fd >= 0 ? 2 : 1;

        for (;;) {
                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 2 && p[1].revents != 0)
                        return -ECANCELED;
                if (p[0].revents & POLLNVAL)
                        return -EBADF;
                if (p[0].revents != 0)
                        return 0;
        }
}

/* Reads up to 'size' bytes; returns how many, 0 only at end of file. */
static int reader_read_some(BundleReader *r, void *buf, size_t size, size_t *ret) {
        bool wait = r->cancel_fd >= 0;
        ssize_t n;
        int k;

        /* Every read is announced: whatever the reader reads, the source was asked for it. */
        bundle_reader_announce(r, r->offset + size);
        if (r->stream.read) {
                size_t got = 0;

                k = r->stream.read(r->stream.userdata, buf, size, r->cancel_fd, &got);
                if (k < 0)
                        return k;
                if (got > size)
                        return -EIO; /* a source that claims more than it was given room for */
                r->offset += got;
                *ret = got;
                return 0;
        }
        if (r->fd < 0)
                return -EBADF;
        for (;;) {
                if (wait) {
                        k = reader_wait(r);
                        if (k < 0)
                                return k;
                }
                n = read(r->fd, buf, size);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                wait = true; /* a non-blocking fd: poll before reading again */
        }
        r->offset += (uint64_t) n;
        *ret = (size_t) n;
        return 0;
}

static int reader_fail(BundleReader *r, int k, const char *what, UError *err) {
        r->failed = true;
        if (k == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, k, "Installation cancelled");
        return uerror_set(err, ERROR_IO, k, "Failed to read %s at offset %llu of the bundle: %s", what,
                          (unsigned long long) r->offset, strerror(-k));
}

int bundle_reader_read_exact(BundleReader *r, void *buf, size_t size, const char *what, UError *err) {
        uint8_t *p = buf;

        while (size > 0) {
                size_t n;
                int k;

                k = reader_read_some(r, p, MIN(size, (size_t) SSIZE_MAX), &n);
                if (k < 0)
                        return reader_fail(r, k, what, err);
                if (n == 0) {
                        r->failed = true;
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EPIPE,
                                          "Bundle truncated: stream ended in %s at offset %llu", what,
                                          (unsigned long long) r->offset);
                }
                p += n;
                size -= n;
        }
        return 0;
}

static int reader_setup_buffers(BundleReader *r, UError *err) {
        const Manifest *m = r->manifest;
        int k;

        for (size_t i = 0; i < m->n_images; i++) {
                const ManifestImage *img = &m->images[i];

                for (uint64_t c = 0; c < img->n_chunks; c++) {
                        ChunkEntry e;

                        if (img->table)
                                manifest_chunk_entry(img, c, &e);
                        r->stored_max = MAX(r->stored_max, (size_t) (img->table ? e.stored_size :
                                                                                   img->chunks[c].size));
                }
                if (img->compression == COMPRESSION_ZSTD)
                        r->raw_max = MAX(r->raw_max, (size_t) img->chunk_size);
        }

        if (r->raw_max > 0) {
                k = chunk_codec_new(0, &r->codec);
                if (k < 0)
                        return uerror_set(err, ERROR_FAILED, k, "Out of memory");
        }
        return 0;
}

/* Format 2 with patches: their tables follow the chunk tables, image by image, set by set, and
 * are read, hashed and checked like them (their sizes are signed and capped together by
 * MANIFEST_MAX_PATCH_TABLES_SIZE).  A streaming install never uses them, but a table that is
 * not the signed one means the bundle is not, and the delta install takes them from here.  The
 * patch data after the payload counts against max-bundle-size too. */
static int reader_read_patch_tables(BundleReader *r, uint64_t *total, UError *err) {
        Manifest *m = r->manifest;
        int q;

        if (((r->flags & BUNDLE_FLAG_PATCHES) != 0) != (m->patch_tables_size > 0)) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header flags 0x%llx do not match the manifest, which %s",
                                  (unsigned long long) r->flags,
                                  m->patch_tables_size > 0 ? "lists patches" : "lists no patches");
        }
        if (__builtin_add_overflow(*total, m->patch_tables_size, total) ||
            __builtin_add_overflow(*total, m->patch_data_size, total) || *total > r->max_size) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG, "Bundle size exceeds the limit %llu",
                                  (unsigned long long) r->max_size);
        }
        for (size_t i = 0; i < m->n_images; i++) {
                ManifestImage *img = &m->images[i];

                for (size_t k = 0; k < img->n_patch_sets; k++) {
                        PatchSet *p = &img->patch_sets[k];
                        size_t size = (size_t) (p->n_entries * PATCH_TABLE_ENTRY_SIZE); /* capped */
                        uint8_t digest[SHA256_SIZE];
                        char what[96];

                        p->table = malloc(size);
                        if (!p->table)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        snprintf(what, sizeof(what), "patch table %zu of image %s", k, img->slotclass);
                        q = bundle_reader_read_exact(r, p->table, size, what, err);
                        if (q < 0)
                                return q;
                        if (sha256_buffer(p->table, size, digest) < 0)
                                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                        if (CRYPTO_memcmp(digest, p->table_sha256, SHA256_SIZE) != 0) {
                                r->failed = true;
                                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                                  "Patch table %zu of image %s failed verification: sha256 mismatch",
                                                  k, img->slotclass);
                        }
                        q = manifest_check_patch_table(img, k, err);
                        if (q < 0) {
                                r->failed = true;
                                return q;
                        }
                }
        }
        return 0;
}

/* Format 2: the binary chunk tables right after the signature, image by image.  Each is read
 * whole (their sizes come from the signed manifest and are capped together by
 * MANIFEST_MAX_CHUNK_TABLES_SIZE), compared with its signed sha256, and only then looked at
 * (manifest_check_chunk_table()). */
static int reader_read_tables(BundleReader *r, uint64_t *total, UError *err) {
        Manifest *m = r->manifest;
        uint64_t tables;
        int q;

        if ((r->version == BUNDLE_FORMAT_CDC) != (m->format == MANIFEST_FORMAT_CDC)) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle header format version %u does not match manifest format %u",
                                  r->version, m->format);
        }
        if (m->format != MANIFEST_FORMAT_CDC)
                return 0;

        /* All tables in one announcement (one request over http), once their sizes are known
         * to fit: the loop below refuses the others.  They follow the signature (r->offset);
         * *total counts the payload already. */
        tables = 0;
        for (size_t i = 0; i < m->n_images; i++)
                tables += m->images[i].n_chunks * CHUNK_TABLE_ENTRY_SIZE; /* each capped */
        if (tables <= r->max_size && *total <= r->max_size - tables)
                bundle_reader_announce(r, r->offset + tables);

        for (size_t i = 0; i < m->n_images; i++) {
                ManifestImage *img = &m->images[i];
                size_t size = (size_t) (img->n_chunks * CHUNK_TABLE_ENTRY_SIZE); /* capped */
                uint8_t digest[SHA256_SIZE];
                char what[96];

                if (__builtin_add_overflow(*total, size, total) || *total > r->max_size) {
                        r->failed = true;
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                          "Bundle size exceeds the limit %llu",
                                          (unsigned long long) r->max_size);
                }
                img->table = malloc(size);
                if (!img->table)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                snprintf(what, sizeof(what), "the chunk table of image %s", img->slotclass);
                q = bundle_reader_read_exact(r, img->table, size, what, err);
                if (q < 0)
                        return q;
                if (sha256_buffer(img->table, size, digest) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                if (CRYPTO_memcmp(digest, img->table_sha256, SHA256_SIZE) != 0) {
                        r->failed = true;
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                          "Chunk table of image %s failed verification: sha256 mismatch",
                                          img->slotclass);
                }
                q = manifest_check_chunk_table(img, err);
                if (q < 0) {
                        r->failed = true;
                        return q;
                }
        }
        return reader_read_patch_tables(r, total, err);
}

int bundle_reader_verify(BundleReader *r, const Keyring *k, UError *err) {
        _cleanup_(budget_returnp) uint64_t reserved = 0; /* returned after the buffer is freed */
        _cleanup_free_ uint8_t *signature = NULL;
        _cleanup_free_ char *signer = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        uint8_t header[BUNDLE_HEADER_SIZE];
        uint64_t signature_size, total, others;
        size_t content_offset, content_size;
        int q;

        if (r->verified || r->failed || r->offset != 0)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Bundle reader used twice");

        q = bundle_reader_read_exact(r, header, sizeof(header), "the header", err);
        if (q < 0)
                return q;
        /* A RAUC bundle starts with its squashfs; its signature is at the end and it is read at
         * offsets, so its reader takes over the fd (a pipe is refused there). */
        if (!r->random.read_at)
                r->random = READ_AT_FD(r->fd);
        if (memcmp(header, RAUC_SQUASHFS_MAGIC, strlen(RAUC_SQUASHFS_MAGIC)) == 0 ||
            (memcmp(header, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE) != 0 && rauc_bundle_probe(&r->random))) {
                r->rauc_opt.max_size = r->max_size;
                r->rauc_opt.cancel_fd = r->cancel_fd;
                q = rauc_bundle_open(&r->random, &r->rauc_opt, k, &r->rauc, err);
                if (q < 0) {
                        r->failed = true;
                        return q;
                }
                r->verified = true;
                return 0;
        }
        q = header_parse(header, sizeof(header), &signature_size, &r->version, &r->flags, err);
        if (q < 0) {
                r->failed = true;
                return q;
        }
        /* signature_size <= 64 MiB: the sum cannot overflow. */
        r->total_size = BUNDLE_HEADER_SIZE + signature_size;
        if (r->total_size > r->max_size) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "Bundle header invalid: signature size %llu exceeds the bundle "
                                  "size limit %llu", (unsigned long long) signature_size,
                                  (unsigned long long) r->max_size);
        }
        bundle_reader_announce(r, r->total_size);

        if (!budget_take(signature_size, &others)) {
                r->failed = true;
                return uerror_set(err, ERROR_BUSY, -EBUSY,
                                  "Too many bundles being verified at once: this signature of %llu bytes and "
                                  "the %llu bytes of the others would exceed %llu bytes; try again when they "
                                  "are done", (unsigned long long) signature_size,
                                  (unsigned long long) others, (unsigned long long) BUNDLE_UNVERIFIED_BUDGET);
        }
        reserved = signature_size;
        signature = malloc((size_t) signature_size);
        if (!signature)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        q = bundle_reader_read_exact(r, signature, (size_t) signature_size, "the signature", err);
        if (q < 0)
                return q;

        /* Nothing of the manifest is looked at before the signature checked out.  The manifest
         * is parsed where it lies in the signature: this buffer is its only copy. */
        q = cms_verify_in_place(k, signature, (size_t) signature_size, &content_offset, &content_size,
                                &signer, &r->trusted_time, err);
        if (q < 0) {
                r->failed = true;
                return q;
        }

        q = manifest_parse((const char *) signature + content_offset, content_size, &m, err);
        if (q < 0) {
                r->failed = true;
                return q;
        }
        (void) SHA256(signature + content_offset, content_size, r->manifest_sha256);
        signature = mfree(signature);

        if (__builtin_add_overflow(r->total_size, m->payload_size, &total) || total > r->max_size) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "Bundle size %llu exceeds the limit %llu",
                                  (unsigned long long) (total < r->total_size ? UINT64_MAX : total),
                                  (unsigned long long) r->max_size);
        }

        r->manifest = TAKE_PTR(m);
        r->signer = TAKE_PTR(signer);
        q = reader_read_tables(r, &total, err);
        if (q < 0)
                return q;
        r->payload_end = r->offset + r->manifest->payload_size; /* <= total: no overflow */
        q = reader_setup_buffers(r, err);
        if (q < 0) {
                r->failed = true;
                return q;
        }
        r->total_size = total;
        r->verified = true;
        return 0;
}

/* After the last chunk the stream must end exactly: appended bytes are not covered by the
 * signature and may be an attempt to smuggle data or confuse another parser. */
int bundle_reader_confirm_eof(BundleReader *r, UError *err) {
        uint64_t skip = r->manifest->patch_data_size;
        uint8_t b;
        size_t n;
        int k;

        /* The patch data after the payload is for delta installs: a file skips it, a stream
         * reads and drops it (its size is signed and within max-bundle-size).  A source that
         * fetches only what the reader announces (http) is never asked for it: the stream ends
         * with the payload, and what follows it is not read, so not checked either; nothing of
         * it is used. */
        if (skip > 0 && r->need)
                return 0;
        if (skip > 0) {
                struct stat st;

                if (fstat(r->fd, &st) >= 0 && S_ISREG(st.st_mode) && skip <= INT64_MAX &&
                    lseek(r->fd, (off_t) skip, SEEK_CUR) >= 0) {
                        r->offset += skip;
                        skip = 0;
                }
                while (skip > 0) {
                        uint8_t buf[16384];

                        k = bundle_reader_read_exact(r, buf, (size_t) MIN(skip, (uint64_t) sizeof(buf)), "the patch data", err);
                        if (k < 0)
                                return k;
                        skip -= MIN(skip, (uint64_t) sizeof(buf));
                }
        }

        k = reader_read_some(r, &b, 1, &n);
        if (k < 0)
                return reader_fail(r, k, "the end of the bundle", err);
        if (n != 0) {
                r->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle has trailing data after the payload (at offset %llu)",
                                  (unsigned long long) r->total_size);
        }
        return 0;
}
