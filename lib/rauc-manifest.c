/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "rauc-manifest.h"
#include "util.h"

#define RAUC_STRING_MAX 1024

static const char *const format_table[_RAUC_FORMAT_MAX] = {
        [RAUC_FORMAT_PLAIN] = "plain",
        [RAUC_FORMAT_VERITY] = "verity",
        [RAUC_FORMAT_CRYPT] = "crypt",
};

const char *rauc_format_to_string(RaucFormat f) {
        return f >= 0 && f < _RAUC_FORMAT_MAX ? format_table[f] : NULL;
}

RaucManifest *rauc_manifest_free(RaucManifest *m) {
        if (!m)
                return NULL;
        free(m->compatible);
        free(m->version);
        free(m->description);
        free(m->build);
        for (size_t i = 0; i < m->n_images; i++) {
                free(m->images[i].slotclass);
                free(m->images[i].filename);
        }
        return mfree(m);
}

typedef struct Parser {
        RaucManifest *m;
        UError *err;
} Parser;

static int bad(Parser *p, unsigned line, const char *section, const char *key, const char *why) {
        return uerror_set(p->err, ERROR_INVALID_BUNDLE, -EINVAL, "RAUC manifest line %u, [%s] %s: %s", line,
                          section, key, why);
}

static int unsupported(Parser *p, unsigned line, const char *what) {
        return uerror_set(p->err, ERROR_INVALID_BUNDLE, -EOPNOTSUPP,
                          "RAUC manifest line %u: %s are not supported by Update1; build the bundle without "
                          "them (docs/rauc-compat.md)", line, what);
}

static bool text_ok(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static int set_text(Parser *p, unsigned line, const char *section, const char *key, const char *value, char **dst) {
        char *n;

        if (strlen(value) > RAUC_STRING_MAX || !text_ok(value))
                return bad(p, line, section, key, "not printable text of at most 1024 bytes");
        n = strdup(value);
        if (!n)
                return uerror_set(p->err, ERROR_FAILED, -ENOMEM, "Out of memory");
        free(*dst);
        *dst = n;
        return 0;
}

static int set_hex(Parser *p, unsigned line, const char *section, const char *key, const char *value, uint8_t *dst,
                   size_t max, size_t *ret_size) {
        size_t n = strlen(value);

        if (n == 0 || n % 2 != 0 || n / 2 > max || (!ret_size && n / 2 != max) || hex_decode(value, dst, n / 2) < 0)
                return bad(p, line, section, key, "not a hex string of the expected length");
        if (ret_size)
                *ret_size = n / 2;
        return 0;
}

static int set_u64(Parser *p, unsigned line, const char *section, const char *key, const char *value, uint64_t *dst) {
        char *end;
        unsigned long long v;

        if (value[0] < '0' || value[0] > '9')
                return bad(p, line, section, key, "not a decimal number");
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || *end != 0 || v > INT64_MAX)
                return bad(p, line, section, key, "not a decimal number below 2^63");
        *dst = v;
        return 0;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

/* Images RAUC extracts or assembles instead of copying: Update1 writes images byte for byte. */
static bool is_archive_name(const char *s) {
        static const char *const suffixes[] = { ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.zst",
                                                ".caibx", ".caidx" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (has_suffix(s, suffixes[i]))
                        return true;
        return false;
}

static int image_get(Parser *p, unsigned line, const char *section, RaucImage **ret) {
        const char *cls = section + strlen("image.");
        RaucManifest *m = p->m;

        if (strchr(cls, '/'))
                return unsupported(p, line, "artifact images ([image.<repository>/<artifact>])");
        if (strchr(cls, '.'))
                return unsupported(p, line, "variant images ([image.<class>.<variant>])");
        if (!manifest_slotclass_is_valid(cls))
                return bad(p, line, section, "", "slot class must match [a-z0-9][a-z0-9_-]{0,31}");
        for (size_t i = 0; i < m->n_images; i++)
                if (streq(m->images[i].slotclass, cls)) {
                        *ret = &m->images[i];
                        return 0;
                }
        if (m->n_images == MANIFEST_MAX_IMAGES)
                return bad(p, line, section, "", "more than 16 images");
        m->images[m->n_images].slotclass = strdup(cls);
        if (!m->images[m->n_images].slotclass)
                return uerror_set(p->err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret = &m->images[m->n_images++];
        return 0;
}

static int parse_image_key(Parser *p, unsigned line, const char *section, const char *key, const char *value) {
        RaucImage *img = NULL;
        int r;

        r = image_get(p, line, section, &img);
        if (r < 0)
                return r;
        if (streq(key, "filename")) {
                /* A name in the bundle's root directory, as RAUC writes it. */
                if (isempty(value) || strchr(value, '/') || streq(value, ".") || streq(value, "..") ||
                    streq(value, "manifest.raucm"))
                        return bad(p, line, section, key, "not a file name in the bundle's root directory");
                if (is_archive_name(value))
                        return unsupported(p, line, "archive images (tar, casync), which RAUC extracts into the slot,");
                return set_text(p, line, section, key, value, &img->filename);
        }
        if (streq(key, "sha256")) {
                img->have_sha256 = true;
                return set_hex(p, line, section, key, value, img->sha256, sizeof(img->sha256), NULL);
        }
        if (streq(key, "size")) {
                img->have_size = true;
                return set_u64(p, line, section, key, value, &img->size);
        }
        if (streq(key, "hooks"))
                return unsupported(p, line, "slot hooks ([image.*] hooks=)");
        if (streq(key, "convert"))
                return unsupported(p, line, "artifact conversions ([image.*] convert=)");
        if (streq(key, "type") && (strncmp(value, "tar", 3) == 0 || strncmp(value, "ca", 2) == 0))
                return unsupported(p, line, "archive images (tar, casync), which RAUC extracts into the slot,");
        /* type= of a filesystem or raw image, adaptive=: the bytes are written as they are. */
        return 0;
}

static int parse_bundle_key(Parser *p, unsigned line, const char *section, const char *key, const char *value) {
        RaucManifest *m = p->m;

        if (streq(key, "format")) {
                if (streq(value, "crypt"))
                        return uerror_set(p->err, ERROR_INVALID_BUNDLE, -EOPNOTSUPP,
                                          "RAUC crypt bundles (encrypted) are not supported by Update1: build a "
                                          "verity bundle");
                for (RaucFormat f = 0; f < _RAUC_FORMAT_MAX; f++)
                        if (streq(value, format_table[f])) {
                                m->format = f;
                                return 0;
                        }
                return bad(p, line, section, key, "unknown bundle format (plain, verity or crypt)");
        }
        if (streq(key, "verity-hash")) {
                m->have_verity_hash = true;
                return set_hex(p, line, section, key, value, m->verity_hash, sizeof(m->verity_hash), NULL);
        }
        if (streq(key, "verity-salt")) {
                m->have_verity_salt = true;
                return set_hex(p, line, section, key, value, m->verity_salt, sizeof(m->verity_salt),
                               &m->verity_salt_size);
        }
        if (streq(key, "verity-size")) {
                m->have_verity_size = true;
                return set_u64(p, line, section, key, value, &m->verity_size);
        }
        return 0; /* crypt-key: only with format=crypt, refused above */
}

static int handler(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        Parser *p = userdata;
        RaucManifest *m = p->m;

        if (streq(section, "update")) {
                if (streq(key, "compatible"))
                        return set_text(p, line, section, key, value, &m->compatible);
                if (streq(key, "version"))
                        return set_text(p, line, section, key, value, &m->version);
                if (streq(key, "description"))
                        return set_text(p, line, section, key, value, &m->description);
                if (streq(key, "build"))
                        return set_text(p, line, section, key, value, &m->build);
                return 0; /* min-rauc-version and later additions */
        }
        if (streq(section, "bundle"))
                return parse_bundle_key(p, line, section, key, value);
        if (streq(section, "hooks"))
                return unsupported(p, line, "bundle hooks ([hooks])");
        if (streq(section, "handler"))
                return unsupported(p, line, "full custom install handlers ([handler])");
        if (strncmp(section, "image.", strlen("image.")) == 0)
                return parse_image_key(p, line, section, key, value);
        return 0; /* [meta.*], [rollout], ... */
}

int rauc_manifest_parse(const char *data, size_t size, RaucManifest **ret, UError *err) {
        _cleanup_(rauc_manifest_freep) RaucManifest *m = NULL;
        _cleanup_free_ char *copy = NULL;
        Parser p = { .err = err };
        unsigned line = 0;
        int r;

        if (size > RAUC_MANIFEST_MAX_SIZE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG, "RAUC manifest is %zu bytes, more than %d", size,
                                  RAUC_MANIFEST_MAX_SIZE);
        if (memchr(data, 0, size))
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "RAUC manifest contains a NUL byte");
        copy = strndup(data, size);
        m = calloc(1, sizeof(*m));
        if (!copy || !m)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        p.m = m;

        r = ini_parse_string(copy, handler, &p, &line);
        if (r < 0) {
                if (r == -ENOMEM)
                        return uerror_set(err, ERROR_FAILED, r, "Out of memory");
                return uerror_set(err, ERROR_INVALID_BUNDLE, r, "RAUC manifest line %u is malformed", line);
        }

        if (isempty(m->compatible))
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "RAUC manifest has no [update] compatible");
        if (m->n_images == 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "RAUC manifest has no [image.<class>] section");
        for (size_t i = 0; i < m->n_images; i++) {
                const RaucImage *img = &m->images[i];

                if (!img->filename || !img->have_sha256 || !img->have_size)
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                          "RAUC manifest [image.%s] lacks filename, sha256 or size (rauc bundle "
                                          "adds sha256 and size)", img->slotclass);
                if (img->size == 0)
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "RAUC manifest [image.%s] is empty",
                                          img->slotclass);
        }
        if (m->format == RAUC_FORMAT_VERITY &&
            (!m->have_verity_hash || !m->have_verity_salt || !m->have_verity_size))
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                  "RAUC manifest of a verity bundle lacks verity-hash, verity-salt or verity-size");
        *ret = TAKE_PTR(m);
        return 0;
}

int rauc_manifest_to_manifest(const RaucManifest *rm, uint32_t chunk_size, Manifest **ret, UError *err) {
        _cleanup_(manifest_freep) Manifest *m = NULL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        m->format = MANIFEST_FORMAT_VERSION;
        m->images = calloc(rm->n_images, sizeof(ManifestImage));
        if (!m->images)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        m->compatible = strdup(rm->compatible);
        m->version = strdup(rm->version ?: "");
        /* Never NULL, as in our own manifests. */
        m->build = strdup(rm->build ?: "");
        m->description = strdup(rm->description ?: "");
        if (!m->compatible || !m->version || !m->build || !m->description)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        for (size_t i = 0; i < rm->n_images; i++) {
                const RaucImage *ri = &rm->images[i];
                ManifestImage *img = &m->images[m->n_images++];

                img->slotclass = strdup(ri->slotclass);
                img->filename = strdup(ri->filename);
                if (!img->slotclass || !img->filename)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                img->size = ri->size;
                memcpy(img->sha256, ri->sha256, sizeof(img->sha256));
                img->chunk_size = chunk_size;
                img->compression = COMPRESSION_NONE;
                img->n_chunks = (ri->size + chunk_size - 1) / chunk_size;
        }
        *ret = TAKE_PTR(m);
        return 0;
}
