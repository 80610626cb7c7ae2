/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "bundle.h"
#include "cdc.h"
#include "chunk.h"
#include "fileio.h"
#include "patch.h"
#include "util.h"

#define BUNDLE_DEFAULT_ZSTD_LEVEL 3

static void EVP_MD_CTX_freep(EVP_MD_CTX **c) {
        if (*c)
                EVP_MD_CTX_free(*c);
}

static void unlink_and_freep(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

static bool text_is_valid(const char *s, bool multiline) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (multiline && (c == '\n' || c == '\t'))
                        continue;
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

static int check_options(const BundleCreateOptions *o, UError *err) {
        const struct { const char *name, *value; } required[] = {
                { "certificate", o->cert_path },
                { "private key", o->key_path },
                { "compatible", o->compatible },
                { "version", o->version },
                { "output", o->output_path },
        };
        uint32_t chunk_size = o->chunk_size ?: CHUNK_SIZE_DEFAULT;
        Cdc probe; /* only to validate format 2's sizes as the chunker does */

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (isempty(required[i].value))
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "No %s given",
                                          required[i].name);
        if (!text_is_valid(o->compatible, false) || !text_is_valid(o->version, false) ||
            (o->build && !text_is_valid(o->build, false)) ||
            (o->description && !text_is_valid(o->description, true)))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Compatible, version, build and description must not contain "
                                  "control characters");
        if (o->n_images < 1 || o->n_images > MANIFEST_MAX_IMAGES)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A bundle needs 1..%d images, not %zu", MANIFEST_MAX_IMAGES,
                                  o->n_images);
        for (size_t i = 0; i < o->n_images; i++) {
                if (!manifest_slotclass_is_valid(o->images[i].slotclass))
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "Invalid slot class '%s': must match [a-z0-9][a-z0-9_-]{0,31}",
                                          o->images[i].slotclass ?: "");
                if (isempty(o->images[i].path))
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "No image file given for slot class %s",
                                          o->images[i].slotclass);
                for (size_t j = 0; j < i; j++)
                        if (streq(o->images[i].slotclass, o->images[j].slotclass))
                                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                                  "Slot class %s given twice", o->images[i].slotclass);
        }
        if (o->format != 0 && o->format != BUNDLE_FORMAT_VERSION && o->format != BUNDLE_FORMAT_CDC)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Bundle format %u is not one of 1, 2",
                                  o->format);
        if (o->format == BUNDLE_FORMAT_CDC) {
                uint32_t avg = o->chunk_size ?: CDC_AVG_DEFAULT;

                if (cdc_init(&probe, avg / 4, avg, avg * 4) < 0)
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "Average chunk size %u of format 2 must be a power of two in "
                                          "%u..%u", avg, CDC_MIN_LOWEST * 4, CDC_MAX_HIGHEST / 4);
        } else if (chunk_size < CHUNK_SIZE_MIN || chunk_size > CHUNK_SIZE_MAX || chunk_size % 4096 != 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Chunk size %u must be a multiple of 4096 in %u..%u", chunk_size,
                                  CHUNK_SIZE_MIN, CHUNK_SIZE_MAX);
        for (size_t i = 0; i < o->n_patches; i++) {
                bool known = false;

                for (size_t j = 0; j < o->n_images; j++)
                        known = known || streq(o->patches[i].slotclass ?: "", o->images[j].slotclass);
                if (o->format != BUNDLE_FORMAT_CDC)
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Patches need --format 2");
                if (!known || isempty(o->patches[i].path))
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "--patch-from %s=%s names no image of the bundle or no file",
                                          o->patches[i].slotclass ?: "", o->patches[i].path ?: "");
        }
        if (o->patch_window != 0 && (o->patch_window > PATCH_WINDOW_MAX ||
                                     o->patch_window < (o->chunk_size ?: CDC_AVG_DEFAULT) * 4))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Patch window %u must hold the largest chunk (%u) and be at most %u", o->patch_window,
                                  (o->chunk_size ?: CDC_AVG_DEFAULT) * 4, PATCH_WINDOW_MAX);
        if (o->compression < 0 || o->compression >= _COMPRESSION_MAX)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Invalid compression");
        if (o->zstd_level != 0 && (o->zstd_level < ZSTD_minCLevel() || o->zstd_level > ZSTD_maxCLevel()))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "zstd level %d out of range %d..%d",
                                  o->zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
        return 0;
}

static int image_size(int fd, const char *path, uint64_t *ret, UError *err) {
        struct stat st;
        uint64_t size;

        if (fstat(fd, &st) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to stat %s: %s", path, strerror(errno));
        if (S_ISREG(st.st_mode))
                size = (uint64_t) st.st_size;
        else if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return uerror_set(err, ERROR_IO, -errno, "Failed to get the size of %s: %s",
                                          path, strerror(errno));
        } else
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Image %s is neither a regular file nor a block device", path);
        if (size == 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Image %s is empty", path);
        if (size > INT64_MAX)
                return uerror_set(err, ERROR_INVALID_ARGS, -EFBIG, "Image %s is too large", path);
        *ret = size;
        return 0;
}

/* What a run of all-zero chunks of one length compresses to: computed once, so that the holes
 * of a sparse image cost a memcmp per chunk, not a compression and two hashes. */
typedef struct ZeroChunk {
        uint32_t raw_size;       /* 0: nothing cached */
        uint8_t raw_sha256[SHA256_SIZE], stored_sha256[SHA256_SIZE];
        uint8_t *stored;
        size_t stored_size;
} ZeroChunk;

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* One format-2 chunk: compressed, hashed raw and stored, appended to the payload and to the
 * image's table (img->table, grown by doubling, within MANIFEST_MAX_CHUNK_TABLES_SIZE over all
 * images, *tables_size). */
static int add_cdc_chunk(ManifestImage *img, ChunkCodec *codec, const uint8_t *raw, uint32_t raw_size,
                         uint8_t *stored_buf, size_t stored_buf_size, ZeroChunk *zero, int payload_fd,
                         uint64_t *payload_offset, uint64_t *tables_size, uint64_t *alloc, UError *err) {
        uint8_t raw_sha256[SHA256_SIZE], stored_sha256[SHA256_SIZE], *e;
        const uint8_t *stored = raw;
        size_t stored_size = raw_size;
        uint32_t le;
        int r;

        if (*tables_size + CHUNK_TABLE_ENTRY_SIZE > MANIFEST_MAX_CHUNK_TABLES_SIZE)
                return uerror_set(err, ERROR_INVALID_ARGS, -EFBIG,
                                  "The chunk tables exceed the limit of %llu bytes (%llu chunks); use a "
                                  "larger --chunk-size", (unsigned long long) MANIFEST_MAX_CHUNK_TABLES_SIZE,
                                  (unsigned long long) (MANIFEST_MAX_CHUNK_TABLES_SIZE / CHUNK_TABLE_ENTRY_SIZE));
        if ((img->n_chunks + 1) * CHUNK_TABLE_ENTRY_SIZE > *alloc) {
                uint64_t n = MAX(*alloc * 2, (uint64_t) 1024 * CHUNK_TABLE_ENTRY_SIZE);
                uint8_t *t = realloc(img->table, (size_t) n);

                if (!t)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                img->table = t;
                *alloc = n;
        }

        if (zero->raw_size == raw_size && all_zero(raw, raw_size)) {
                memcpy(raw_sha256, zero->raw_sha256, SHA256_SIZE);
                memcpy(stored_sha256, zero->stored_sha256, SHA256_SIZE);
                stored = zero->stored;
                stored_size = zero->stored_size;
        } else {
                if (img->compression == COMPRESSION_ZSTD) {
                        r = chunk_compress(codec, raw, raw_size, stored_buf, stored_buf_size, &stored_size);
                        if (r < 0)
                                return uerror_set(err, ERROR_FAILED, r, "zstd compression failed");
                        stored = stored_buf;
                }
                if (sha256_buffer(raw, raw_size, raw_sha256) < 0 ||
                    sha256_buffer(stored, stored_size, stored_sha256) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                if (zero->raw_size == 0 && all_zero(raw, raw_size)) {
                        zero->stored = malloc(stored_size);
                        if (!zero->stored)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        memcpy(zero->stored, stored, stored_size);
                        zero->raw_size = raw_size;
                        zero->stored_size = stored_size;
                        memcpy(zero->raw_sha256, raw_sha256, SHA256_SIZE);
                        memcpy(zero->stored_sha256, stored_sha256, SHA256_SIZE);
                }
        }

        e = img->table + img->n_chunks * CHUNK_TABLE_ENTRY_SIZE;
        le = htole32(raw_size);
        memcpy(e, &le, sizeof(le));
        le = htole32((uint32_t) stored_size);
        memcpy(e + 4, &le, sizeof(le));
        memcpy(e + 8, raw_sha256, SHA256_SIZE);
        memcpy(e + 8 + SHA256_SIZE, stored_sha256, SHA256_SIZE);
        img->n_chunks++;
        *tables_size += CHUNK_TABLE_ENTRY_SIZE;
        img->stored_size += stored_size;

        r = write_exact(payload_fd, stored, stored_size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to write the payload: %s", strerror(-r));
        if (__builtin_add_overflow(*payload_offset, stored_size, payload_offset))
                return uerror_set(err, ERROR_FAILED, -EOVERFLOW, "Payload too large");
        return 0;
}

/* Format 2: cuts one image with the content-defined chunker (lib/cdc.c) into chunks of
 * avg/4 .. avg*4 bytes.  raw_buf holds max bytes: the chunker cuts within max, so a full buffer
 * always holds the next cut; what follows it is moved to the front for the next round. */
static int add_image_cdc(const BundleCreateOptions *o, int fd, const char *path, ChunkCodec *codec,
                         uint8_t *raw_buf, uint8_t *stored_buf, size_t stored_buf_size, int payload_fd,
                         uint64_t *payload_offset, uint64_t *tables_size, ManifestImage *img, UError *err) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *hash = NULL;
        ZeroChunk zero = {};
        uint32_t avg = o->chunk_size ?: CDC_AVG_DEFAULT;
        uint64_t alloc = 0, seen = 0;
        size_t fill = 0;
        bool eof = false;
        unsigned len = 0;
        Cdc cdc;
        int r = 0;

        if (cdc_init(&cdc, avg / 4, avg, avg * 4) < 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Invalid chunk size %u", avg);
        img->cdc_min = cdc.min;
        img->cdc_avg = cdc.avg;
        img->chunk_size = cdc.max;
        hash = EVP_MD_CTX_new();
        if (!hash)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (EVP_DigestInit_ex(hash, EVP_sha256(), NULL) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to initialise SHA-256");

        for (;;) {
                uint32_t pending, cut;
                size_t consumed;

                while (!eof && fill < cdc.max) {
                        ssize_t n = read(fd, raw_buf + fill, cdc.max - fill);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                r = uerror_set(err, ERROR_IO, -errno, "Failed to read image %s at offset "
                                               "%llu: %s", path, (unsigned long long) (seen + fill),
                                               strerror(errno));
                                goto finish;
                        }
                        eof = n == 0;
                        fill += (size_t) n;
                }
                if (fill == 0)
                        break;
                pending = cdc_pending(&cdc);
                if (cdc_feed(&cdc, raw_buf + pending, fill - pending, &consumed) == 1)
                        cut = pending + (uint32_t) consumed;
                else if (eof) {
                        cut = (uint32_t) fill;
                        cdc_reset(&cdc);
                } else {
                        r = uerror_set(err, ERROR_FAILED, -EIO, "Internal error: no cut in %zu bytes", fill);
                        goto finish;
                }
                if (EVP_DigestUpdate(hash, raw_buf, cut) != 1) {
                        r = uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                        goto finish;
                }
                r = add_cdc_chunk(img, codec, raw_buf, cut, stored_buf, stored_buf_size, &zero, payload_fd,
                                  payload_offset, tables_size, &alloc, err);
                if (r < 0)
                        goto finish;
                seen += cut;
                memmove(raw_buf, raw_buf + cut, fill - cut);
                fill -= cut;
        }
        if (seen != img->size) {
                r = uerror_set(err, ERROR_IO, -EPIPE, "Image %s changed size while it was read (%llu "
                               "bytes, expected %llu)", path, (unsigned long long) seen,
                               (unsigned long long) img->size);
                goto finish;
        }
        if (EVP_DigestFinal_ex(hash, img->sha256, &len) != 1 || len != SHA256_SIZE ||
            sha256_buffer(img->table, (size_t) (img->n_chunks * CHUNK_TABLE_ENTRY_SIZE), img->table_sha256) < 0)
                r = uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
finish:
        free(zero.stored);
        return r;
}

/* Cuts one image into chunks, compresses each into its own frame, appends the stored bytes to
 * payload_fd and fills img (chunk table with offsets from *payload_offset, whole-image hash). */
static int add_image(const BundleCreateOptions *o, const BundleImageSpec *spec, ChunkCodec *codec,
                     uint8_t *raw_buf, uint8_t *stored_buf, size_t stored_buf_size, int payload_fd,
                     uint64_t *payload_offset, uint64_t *tables_size, ManifestImage *img, UError *err) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *hash = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *base;
        unsigned len = 0;
        int r;

        fd = open(spec->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to open image %s: %s", spec->path,
                                  strerror(errno));
        r = image_size(fd, spec->path, &img->size, err);
        if (r < 0)
                return r;

        base = strrchr(spec->path, '/');
        base = base ? base + 1 : spec->path;
        if (strlen(base) > 255 || !string_is_safe_name(base))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Image file name '%s' is not a safe base name (printable, no "
                                  "leading '.')", base);

        img->slotclass = strdup(spec->slotclass);
        img->filename = strdup(base);
        img->compression = o->compression;
        if (!img->slotclass || !img->filename)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (o->format == BUNDLE_FORMAT_CDC)
                return add_image_cdc(o, fd, spec->path, codec, raw_buf, stored_buf, stored_buf_size,
                                     payload_fd, payload_offset, tables_size, img, err);
        img->chunk_size = o->chunk_size ?: CHUNK_SIZE_DEFAULT;
        img->compression = o->compression;
        img->n_chunks = chunk_count(img->size, img->chunk_size);
        img->chunks = calloc(img->n_chunks, sizeof(ManifestChunk));
        hash = EVP_MD_CTX_new();
        if (!img->slotclass || !img->filename || !img->chunks || !hash)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (EVP_DigestInit_ex(hash, EVP_sha256(), NULL) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to initialise SHA-256");

        for (uint64_t i = 0; i < img->n_chunks; i++) {
                uint32_t raw = chunk_raw_size(img->size, img->chunk_size, i);
                ManifestChunk *c = &img->chunks[i];
                const uint8_t *stored = raw_buf;
                size_t stored_size = raw;

                r = read_exact(fd, raw_buf, raw);
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Failed to read image %s at offset %llu: %s",
                                          spec->path, (unsigned long long) (i * img->chunk_size),
                                          r == -EPIPE ? "file shrank while reading" : strerror(-r));
                if (EVP_DigestUpdate(hash, raw_buf, raw) != 1)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");

                if (img->compression == COMPRESSION_ZSTD) {
                        r = chunk_compress(codec, raw_buf, raw, stored_buf, stored_buf_size,
                                           &stored_size);
                        if (r < 0)
                                return uerror_set(err, ERROR_FAILED, r, "zstd compression failed");
                        stored = stored_buf;
                }

                c->offset = *payload_offset;
                c->size = (uint32_t) stored_size;
                if (sha256_buffer(stored, stored_size, c->sha256) < 0)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                r = write_exact(payload_fd, stored, stored_size);
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Failed to write the payload: %s",
                                          strerror(-r));
                if (__builtin_add_overflow(*payload_offset, stored_size, payload_offset))
                        return uerror_set(err, ERROR_FAILED, -EOVERFLOW, "Payload too large");
        }

        if (EVP_DigestFinal_ex(hash, img->sha256, &len) != 1 || len != SHA256_SIZE)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        return 0;
}

static int open_payload_file(const char *output_path, UError *err);

/* The --patch-from sets of image i (lib/patch.c), in the order given; their patches go to a
 * second temporary file (opened on first use), written after the payload. */
static int add_patches(const BundleCreateOptions *o, size_t i, ManifestImage *img, int *patch_fd, Manifest *m,
                       UError *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        for (size_t k = 0; k < o->n_patches; k++) {
                bool added;

                if (!streq(o->patches[k].slotclass, o->images[i].slotclass))
                        continue;
                if (img->n_patch_sets >= MANIFEST_MAX_PATCH_SETS)
                        return uerror_set(err, ERROR_INVALID_ARGS, -E2BIG, "More than %d --patch-from for image %s",
                                          MANIFEST_MAX_PATCH_SETS, img->slotclass);
                if (fd < 0) {
                        fd = open(o->images[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0)
                                return uerror_set(err, ERROR_IO, -errno, "Failed to open image %s: %s",
                                                  o->images[i].path, strerror(errno));
                }
                if (*patch_fd < 0) {
                        *patch_fd = open_payload_file(o->output_path, err);
                        if (*patch_fd < 0)
                                return *patch_fd;
                }
                /* The default, but never less than the least window allowed above: large
                 * chunks (an average over 256 KiB) keep the window they had. */
                r = patch_set_create(img, fd, o->patches[k].path,
                                     o->patch_window ?: MIN(PATCH_WINDOW_MAX, MAX(PATCH_WINDOW_DEFAULT,
                                                                                  (o->chunk_size ?: CDC_AVG_DEFAULT) * 4)),
                                     MAX(o->zstd_level, 19), *patch_fd, &m->patch_data_size, &m->patch_tables_size,
                                     &added, err);
                if (r < 0)
                        return r;
                if (!added)
                        fprintf(stderr, "Image %s: no patch from %s is smaller than the chunks it would replace; "
                                "the bundle has no patch set for it\n", img->slotclass, o->patches[k].path);
        }
        return 0;
}

/* An unnamed file next to the output (same file system, so large payloads do not fill /tmp). */
static int open_payload_file(const char *output_path, UError *err) {
        _cleanup_free_ char *dir = NULL, *tmpl = NULL;
        const char *slash = strrchr(output_path, '/');
        int fd;

        dir = slash ? strndup(output_path, MAX((size_t) (slash - output_path), (size_t) 1)) : strdup(".");
        if (!dir)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;

        /* File systems without O_TMPFILE: a named file, unlinked at once. */
        if (asprintf(&tmpl, "%s.payload.XXXXXX", output_path) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to create a temporary file next to %s: %s",
                                  output_path, strerror(errno));
        (void) unlink(tmpl);
        return fd;
}

static void header_encode(uint8_t buf[BUNDLE_HEADER_SIZE], uint32_t format, uint64_t signature_size,
                          uint64_t flags) {
        uint32_t version = htole32(format), header_size = htole32(BUNDLE_HEADER_SIZE);
        uint64_t size = htole64(signature_size);

        flags = htole64(flags);

        memcpy(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE);
        memcpy(buf + 8, &version, sizeof(version));
        memcpy(buf + 12, &header_size, sizeof(header_size));
        memcpy(buf + 16, &size, sizeof(size));
        memcpy(buf + 24, &flags, sizeof(flags));
}

static int copy_payload(int from, int to, uint64_t size, UError *err) {
        _cleanup_free_ uint8_t *buf = NULL;
        bool fallback = false;

        if (lseek(from, 0, SEEK_SET) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to rewind the payload: %s",
                                  strerror(errno));
        while (size > 0) {
                ssize_t n = -1;

                if (!fallback) {
                        n = copy_file_range(from, NULL, to, NULL, (size_t) MIN(size, (uint64_t) 1 << 30), 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                      errno == EOPNOTSUPP)) {
                                fallback = true;
                                buf = malloc(1 << 20);
                                if (!buf)
                                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                                continue;
                        }
                } else {
                        n = read(from, buf, (size_t) MIN(size, (uint64_t) 1 << 20));
                        if (n > 0) {
                                int r = write_exact(to, buf, (size_t) n);
                                if (r < 0)
                                        return uerror_set(err, ERROR_IO, r, "Failed to write the bundle: %s",
                                                          strerror(-r));
                        }
                }
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return uerror_set(err, ERROR_IO, -errno, "Failed to write the bundle: %s",
                                          strerror(errno));
                }
                if (n == 0)
                        return uerror_set(err, ERROR_IO, -EPIPE, "Payload file ended early");
                size -= (uint64_t) n;
        }
        return 0;
}

static int write_bundle(const char *output_path, const Manifest *m, const uint8_t *der, size_t der_size,
                        int payload_fd, int patch_fd, UError *err) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint8_t header[BUNDLE_HEADER_SIZE];
        int r;

        if (asprintf(&tmp, "%s.tmp", output_path) < 0) {
                tmp = NULL;
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to create %s: %s", tmp, strerror(errno));

        header_encode(header, m->format == MANIFEST_FORMAT_CDC ? BUNDLE_FORMAT_CDC : BUNDLE_FORMAT_VERSION,
                      der_size, m->patch_tables_size > 0 ? BUNDLE_FLAG_PATCHES : 0);
        r = write_exact(fd, header, sizeof(header));
        if (r >= 0)
                r = write_exact(fd, der, der_size);
        /* Format 2: the chunk tables, in image order, between the signature and the payload. */
        for (size_t i = 0; r >= 0 && m->format == MANIFEST_FORMAT_CDC && i < m->n_images; i++)
                r = write_exact(fd, m->images[i].table, (size_t) (m->images[i].n_chunks * CHUNK_TABLE_ENTRY_SIZE));
        /* Then the patch tables, image by image, set by set; the patch data after the payload. */
        for (size_t i = 0; r >= 0 && i < m->n_images; i++)
                for (size_t k = 0; r >= 0 && k < m->images[i].n_patch_sets; k++)
                        r = write_exact(fd, m->images[i].patch_sets[k].table,
                                        (size_t) (m->images[i].patch_sets[k].n_entries * PATCH_TABLE_ENTRY_SIZE));
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to write %s: %s", tmp, strerror(-r));
        r = copy_payload(payload_fd, fd, m->payload_size, err);
        if (r < 0)
                return r;
        if (m->patch_data_size > 0) {
                r = copy_payload(patch_fd, fd, m->patch_data_size, err);
                if (r < 0)
                        return r;
        }
        if (fsync(fd) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to sync %s: %s", tmp, strerror(errno));
        if (close(TAKE_FD(fd)) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to write %s: %s", tmp, strerror(errno));
        if (rename(tmp, output_path) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Failed to rename %s to %s: %s", tmp,
                                  output_path, strerror(errno));
        tmp = mfree(tmp); /* renamed: nothing to unlink */
        r = fsync_directory_of(output_path);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to sync the directory of %s: %s",
                                  output_path, strerror(-r));
        return 0;
}

int bundle_create(const BundleCreateOptions *o, UError *err) {
        _cleanup_(manifest_freep) Manifest *m = NULL, *check = NULL;
        _cleanup_(chunk_codec_freep) ChunkCodec *codec = NULL;
        _cleanup_free_ uint8_t *raw_buf = NULL, *stored_buf = NULL, *der = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_close_ int payload_fd = -EBADF, patch_fd = -EBADF;
        uint32_t chunk_size = o->chunk_size ?: CHUNK_SIZE_DEFAULT;
        size_t stored_buf_size, der_size = 0;
        uint64_t tables_size = 0;
        char build[32];
        int r;

        r = check_options(o, err);
        if (r < 0)
                return r;

        if (!o->build) {
                time_t t = time(NULL);
                struct tm tm;

                if (!gmtime_r(&t, &tm) || strftime(build, sizeof(build), "%Y%m%d%H%M%S", &tm) == 0)
                        return uerror_set(err, ERROR_FAILED, -EINVAL, "Failed to format the build time");
        }

        m = calloc(1, sizeof(Manifest));
        if (!m)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        m->format = o->format == BUNDLE_FORMAT_CDC ? MANIFEST_FORMAT_CDC : MANIFEST_FORMAT_VERSION;
        m->compatible = strdup(o->compatible);
        m->version = strdup(o->version);
        m->build = strdup(o->build ?: build);
        m->description = strdup(o->description ?: "");
        m->security_version = o->security_version;
        m->expires = o->expires;
        m->images = calloc(o->n_images, sizeof(ManifestImage));
        if (!m->compatible || !m->version || !m->build || !m->description || !m->images)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        if (o->format == BUNDLE_FORMAT_CDC)
                chunk_size = (o->chunk_size ?: CDC_AVG_DEFAULT) * 4; /* the chunker's max */
        stored_buf_size = (size_t) chunk_zstd_bound(chunk_size);
        raw_buf = malloc(chunk_size);
        stored_buf = malloc(stored_buf_size);
        if (!raw_buf || !stored_buf)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = chunk_codec_new(o->zstd_level ?: BUNDLE_DEFAULT_ZSTD_LEVEL, &codec);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Out of memory");

        payload_fd = open_payload_file(o->output_path, err);
        if (payload_fd < 0)
                return payload_fd;

        for (size_t i = 0; i < o->n_images; i++) {
                m->n_images = i + 1;
                r = add_image(o, &o->images[i], codec, raw_buf, stored_buf, stored_buf_size,
                              payload_fd, &m->payload_size, &tables_size, &m->images[i], err);
                if (r < 0)
                        return r;
                r = add_patches(o, i, &m->images[i], &patch_fd, m, err);
                if (r < 0)
                        return r;
        }
        raw_buf = mfree(raw_buf);
        stored_buf = mfree(stored_buf);
        codec = chunk_codec_free(codec);

        r = manifest_to_json(m, &json);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Failed to serialise the manifest");
        /* Never sign something our own reader would refuse. */
        r = manifest_parse(json, strlen(json), &check, err);
        if (r < 0)
                return r;

        r = cms_sign(json, strlen(json), o->cert_path, o->key_path, o->intermediate_path, &der,
                     &der_size, err);
        if (r < 0)
                return r;
        /* The reader's limits, so that a bundle made here is never refused there. */
        if (der_size > BUNDLE_MAX_SIGNATURE_SIZE)
                return uerror_set(err, ERROR_FAILED, -EFBIG,
                                  "Signature of %zu bytes exceeds the limit of %llu bytes: the manifest lists "
                                  "too many chunks; use a larger --chunk-size", der_size,
                                  (unsigned long long) BUNDLE_MAX_SIGNATURE_SIZE);
        if (der_size - strlen(json) > CMS_MAX_ENVELOPE_SIZE)
                return uerror_set(err, ERROR_FAILED, -EFBIG,
                                  "Certificates and signer information take %zu bytes of the signature, more "
                                  "than the limit of %d; include fewer intermediate certificates",
                                  der_size - strlen(json), CMS_MAX_ENVELOPE_SIZE);

        return write_bundle(o->output_path, m, der, der_size, payload_fd, patch_fd, err);
}
