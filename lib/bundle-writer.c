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
#include "chunk.h"
#include "fileio.h"
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
        if (chunk_size < CHUNK_SIZE_MIN || chunk_size > CHUNK_SIZE_MAX || chunk_size % 4096 != 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Chunk size %u must be a multiple of 4096 in %u..%u", chunk_size,
                                  CHUNK_SIZE_MIN, CHUNK_SIZE_MAX);
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

/* Cuts one image into chunks, compresses each into its own frame, appends the stored bytes to
 * payload_fd and fills img (chunk table with offsets from *payload_offset, whole-image hash). */
static int add_image(const BundleCreateOptions *o, const BundleImageSpec *spec, ChunkCodec *codec,
                     uint8_t *raw_buf, uint8_t *stored_buf, size_t stored_buf_size, int payload_fd,
                     uint64_t *payload_offset, ManifestImage *img, UError *err) {
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

static void header_encode(uint8_t buf[BUNDLE_HEADER_SIZE], uint64_t signature_size) {
        uint32_t version = htole32(BUNDLE_FORMAT_VERSION), header_size = htole32(BUNDLE_HEADER_SIZE);
        uint64_t size = htole64(signature_size), flags = 0;

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

static int write_bundle(const char *output_path, const uint8_t *der, size_t der_size, int payload_fd,
                        uint64_t payload_size, UError *err) {
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

        header_encode(header, der_size);
        r = write_exact(fd, header, sizeof(header));
        if (r >= 0)
                r = write_exact(fd, der, der_size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Failed to write %s: %s", tmp, strerror(-r));
        r = copy_payload(payload_fd, fd, payload_size, err);
        if (r < 0)
                return r;
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
        _cleanup_close_ int payload_fd = -EBADF;
        uint32_t chunk_size = o->chunk_size ?: CHUNK_SIZE_DEFAULT;
        size_t stored_buf_size, der_size = 0;
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
        m->format = MANIFEST_FORMAT_VERSION;
        m->compatible = strdup(o->compatible);
        m->version = strdup(o->version);
        m->build = strdup(o->build ?: build);
        m->description = strdup(o->description ?: "");
        m->security_version = o->security_version;
        m->expires = o->expires;
        m->images = calloc(o->n_images, sizeof(ManifestImage));
        if (!m->compatible || !m->version || !m->build || !m->description || !m->images)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

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
                              payload_fd, &m->payload_size, &m->images[i], err);
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

        return write_bundle(o->output_path, der, der_size, payload_fd, m->payload_size, err);
}
