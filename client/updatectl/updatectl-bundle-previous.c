/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdc.h"
#include "chunk.h"
#include "keyring.h"
#include "updatectl-bundle-previous.h"
#include "updatectl-fsinfo.h"
#include "util.h"

#define DOC "docs/reproducible-images.md"

struct PreviousBundle {
        char *path;
        int fd;                 /* borrowed by reader */
        BundleReader *reader;
        const Manifest *m;      /* owned by reader */
        /* The first bytes of each image of OLD that the new bundle has too. */
        uint8_t head[MANIFEST_MAX_IMAGES][FSINFO_HEAD_SIZE];
        size_t head_len[MANIFEST_MAX_IMAGES];
};

PreviousBundle *previous_bundle_free(PreviousBundle *p) {
        if (!p)
                return NULL;
        bundle_reader_free(p->reader);
        if (p->fd >= 0)
                close(p->fd);
        free(p->path);
        free(p);
        return NULL;
}

/* "warning: ..." on stderr, after what stdout holds so far, so that both read in order. */
_printf_(1, 2) static int warn(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("warning: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return 1;
}

static bool has_slotclass(const BundleCreateOptions *o, const char *slotclass) {
        for (size_t i = 0; i < o->n_images; i++)
                if (streq(o->images[i].slotclass, slotclass))
                        return true;
        return false;
}

/* A directory is a keyring directory, as [keyring] directory= is; anything else a PEM file. */
static int load_keyring(const char *path, Keyring **ret, UError *err) {
        struct stat st;
        bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        int r;

        r = keyring_load(dir ? NULL : path, dir ? path : NULL, false, ret, err);
        if (r < 0)
                uerror_prefix(err, "--previous-keyring %s", path);
        return r;
}

/* Decodes OLD front to back until every wanted image's head is in p->head: the chunks are
 * authenticated on the way, and the reader cannot seek (it also reads pipes). */
static int read_heads(PreviousBundle *p, const BundleCreateOptions *o, UError *err) {
        bool wanted[MANIFEST_MAX_IMAGES] = {};
        size_t n_wanted = 0;
        BundleChunk c;
        int r = 0;

        for (size_t i = 0; i < p->m->n_images && i < MANIFEST_MAX_IMAGES; i++)
                if (has_slotclass(o, p->m->images[i].slotclass)) {
                        wanted[i] = true;
                        n_wanted++;
                }
        while (n_wanted > 0 && (r = bundle_reader_next_chunk(p->reader, &c, err)) > 0) {
                size_t n;

                if (c.image >= MANIFEST_MAX_IMAGES || !wanted[c.image])
                        continue;
                n = MIN(c.size, FSINFO_HEAD_SIZE - p->head_len[c.image]);
                memcpy(p->head[c.image] + p->head_len[c.image], c.data, n);
                p->head_len[c.image] += n;
                if (p->head_len[c.image] == FSINFO_HEAD_SIZE || c.last) {
                        wanted[c.image] = false;
                        n_wanted--;
                }
        }
        return n_wanted == 0 ? 0 : r;
}

int previous_bundle_load(const char *path, const char *keyring_path, const BundleCreateOptions *o,
                         PreviousBundle **ret, UError *err) {
        _cleanup_(previous_bundle_freep) PreviousBundle *p = NULL;
        _cleanup_(keyring_freep) Keyring *keyring = NULL;
        int r;

        if (isempty(path) || isempty(keyring_path))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "--previous needs a bundle and --previous-keyring the roots it is verified against");
        r = load_keyring(keyring_path, &keyring, err);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        p->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot open the previous bundle %s: %s", path,
                                  strerror(errno));
        p->path = strdup(path);
        if (!p->path)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = bundle_reader_new(p->fd, UINT64_MAX, -1, &p->reader);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot set up the bundle reader: %s", strerror(-r));
        r = bundle_reader_verify(p->reader, keyring, err);
        if (r >= 0 && !streq(bundle_reader_format(p->reader), "update1"))
                r = uerror_set(err, ERROR_INVALID_ARGS, -EMEDIUMTYPE,
                               "It is a RAUC bundle (%s); --previous compares with an Update1 bundle",
                               bundle_reader_format(p->reader));
        if (r >= 0) {
                p->m = bundle_reader_manifest(p->reader);
                r = read_heads(p, o, err);
        }
        if (r < 0) {
                uerror_prefix(err, "Previous bundle %s", path);
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* "8.0 MiB": sizes in a sentence (updatectl-bundle.c's format_size() prints the exact bytes too). */
static void format_bytes(uint64_t n, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        double v = (double) n / 1024;
        size_t u = 0;

        if (n < 1024) {
                snprintf(buf, size, "%llu bytes", (unsigned long long) n);
                return;
        }
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

static int hash_cmp(const void *a, const void *b) {
        return memcmp(a, b, SHA256_SIZE);
}

/* The raw SHA-256 of every chunk of OLD's image, sorted for bsearch(). */
static int old_hashes(const ManifestImage *old, uint8_t **ret_hashes) {
        uint8_t *h;

        h = malloc(MAX(old->n_chunks, (uint64_t) 1) * SHA256_SIZE);
        if (!h)
                return -ENOMEM;
        for (uint64_t i = 0; i < old->n_chunks; i++) {
                ChunkEntry e;

                manifest_chunk_entry(old, i, &e);
                memcpy(h + i * SHA256_SIZE, e.raw_sha256, SHA256_SIZE);
        }
        qsort(h, (size_t) old->n_chunks, SHA256_SIZE, hash_cmp);
        *ret_hashes = h;
        return 0;
}

typedef struct Reuse {
        uint64_t chunks, bytes;                 /* of the new image */
        uint64_t reused_chunks, reused_bytes;   /* whose raw hash OLD's table has */
} Reuse;

/* Cuts the image as bundle-writer.c's add_image_cdc() does (raw_buf of max bytes always holds
 * the next cut) and looks each chunk's raw hash up in OLD's sorted hashes. */
static int count_reuse(const char *path, Cdc *cdc, const uint8_t *hashes, uint64_t n_hashes, Reuse *ret_reuse) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        Reuse reuse = {};
        size_t fill = 0;
        bool eof = false;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(cdc->max);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                uint8_t sha[SHA256_SIZE];
                uint32_t pending, cut;
                size_t consumed;

                while (!eof && fill < cdc->max) {
                        ssize_t n = read(fd, buf + fill, cdc->max - fill);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        eof = n == 0;
                        fill += (size_t) n;
                }
                if (fill == 0)
                        break;
                pending = cdc_pending(cdc);
                if (cdc_feed(cdc, buf + pending, fill - pending, &consumed) == 1)
                        cut = pending + (uint32_t) consumed;
                else if (eof) {
                        cut = (uint32_t) fill;
                        cdc_reset(cdc);
                } else
                        return -EIO; /* the chunker cuts within max: cannot happen */
                if (sha256_buffer(buf, cut, sha) < 0)
                        return -EIO;
                reuse.chunks++;
                reuse.bytes += cut;
                if (bsearch(sha, hashes, (size_t) n_hashes, SHA256_SIZE, hash_cmp)) {
                        reuse.reused_chunks++;
                        reuse.reused_bytes += cut;
                }
                memmove(buf, buf + cut, fill - cut);
                fill -= cut;
        }
        *ret_reuse = reuse;
        return 0;
}

/* Step 1: the share of the new image a device on OLD would not download.  Only OLD's table
 * tells which chunks a device has, and only if both were cut alike. */
static int report_reuse(const PreviousBundle *p, const ManifestImage *old, const BundleCreateOptions *o,
                        const BundleImageSpec *spec) {
        _cleanup_free_ uint8_t *hashes = NULL;
        uint32_t avg = o->chunk_size ?: CDC_AVG_DEFAULT; /* bundle-writer.c's rule for format 2 */
        char a[32], b[32];
        Reuse reuse = {};
        Cdc cdc;
        int r;

        if (o->format != BUNDLE_FORMAT_CDC) {
                printf("%s: no reuse estimate: the new bundle is format 1, whose fixed chunks a device "
                       "does not match against its slot; --format 2 makes delta updates possible\n",
                       spec->slotclass);
                return 0;
        }
        if (!old->table) {
                printf("%s: no reuse estimate: OLD %s is format 1, its table has no hashes of the "
                       "uncompressed chunks\n", spec->slotclass, p->m->version);
                return 0;
        }
        if (cdc_init(&cdc, avg / 4, avg, avg * 4) < 0)
                return 0; /* bundle_create() refused it before */
        if (old->cdc_min != cdc.min || old->cdc_avg != cdc.avg || old->chunk_size != cdc.max) {
                format_bytes(old->cdc_avg, a, sizeof(a));
                format_bytes(cdc.avg, b, sizeof(b));
                printf("%s: no reuse estimate: OLD %s was cut into chunks of %s on average, the new "
                       "bundle into %s, so their hashes cannot be compared; build both with the same "
                       "--chunk-size\n", spec->slotclass, p->m->version, a, b);
                return 0;
        }
        r = old_hashes(old, &hashes);
        if (r >= 0)
                r = count_reuse(spec->path, &cdc, hashes, old->n_chunks, &reuse);
        if (r < 0)
                return warn("%s: no reuse estimate: cannot read %s again: %s", spec->slotclass, spec->path,
                            strerror(-r));
        format_bytes(reuse.bytes, a, sizeof(a));
        format_bytes(reuse.bytes - reuse.reused_bytes, b, sizeof(b));
        /* Rounded down: "100.0 %" only when nothing is left to fetch. */
        r = (int) (reuse.bytes ? reuse.reused_bytes * 1000 / reuse.bytes : 1000);
        printf("%s (%s): %s, %d.%d %% reusable from OLD %s (%llu of %llu chunks; %s in %llu chunk%s to "
               "fetch)\n", spec->slotclass, spec->path, a, r / 10, r % 10, p->m->version,
               (unsigned long long) reuse.reused_chunks, (unsigned long long) reuse.chunks, b,
               (unsigned long long) (reuse.chunks - reuse.reused_chunks),
               reuse.chunks - reuse.reused_chunks == 1 ? "" : "s");
        return 0;
}

static int read_head(const char *path, uint8_t *buf, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (len < FSINFO_HEAD_SIZE) {
                ssize_t n = pread(fd, buf + len, FSINFO_HEAD_SIZE - len, (off_t) len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        *ret_len = len;
        return 0;
}

/* Step 2: every superblock field that differs between the two builds is a warning that names
 * it, why it changes and the fix. */
static int report_fields(const PreviousBundle *p, const char *slotclass, const FsInfo *old, const FsInfo *new) {
        char va[64], vb[64];
        int warnings = 0;

        if (old->kind != new->kind) {
                printf("%s: OLD %s holds %s, the new image %s: superblocks not compared\n", slotclass,
                       p->m->version, fs_kind_to_string(old->kind), fs_kind_to_string(new->kind));
                return 0;
        }
        if (new->kind == FS_UNKNOWN) {
                printf("%s: neither ext4 nor squashfs: superblocks not compared\n", slotclass);
                return 0;
        }
        for (size_t i = 0; i < fsinfo_n_fields; i++) {
                const FsInfoField *f = &fsinfo_fields[i];

                if (!fsinfo_field_differs(f, old, new))
                        continue;
                fsinfo_field_format(f, old, va, sizeof(va));
                fsinfo_field_format(f, new, vb, sizeof(vb));
                warnings += warn("%s: %s %s differs between the two builds (%s; OLD %s: %s, new: %s): %s, "
                                 "see " DOC, slotclass, fs_kind_to_string(new->kind), f->name, f->why,
                                 p->m->version, va, vb, f->fix);
        }
        if (warnings == 0)
                printf("%s: %s superblocks of OLD %s and the new image agree on every build-dependent field\n",
                       slotclass, fs_kind_to_string(new->kind), p->m->version);
        return warnings;
}

/* SOURCE_DATE_EPOCH says when the build was; an image made in that build with another mkfs time
 * took it from the clock. */
static int report_source_date_epoch(const char *slotclass, const FsInfo *new) {
        const char *s = getenv("SOURCE_DATE_EPOCH");
        const FsInfoField *f = fsinfo_mkfs_time_field(new->kind);
        char v[64];
        uint64_t sde;

        if (!s || !f)
                return 0;
        if (parse_u64(s, &sde) < 0)
                return warn("SOURCE_DATE_EPOCH=%s is not a number of seconds since 1970, see " DOC, s);
        if (new->mkfs_time == sde)
                return 0;
        fsinfo_field_format(f, new, v, sizeof(v));
        return warn("%s: %s mkfs time %s is not SOURCE_DATE_EPOCH (@%llu): %s, see " DOC, slotclass,
                    fs_kind_to_string(new->kind), v, (unsigned long long) sde, f->fix);
}

int previous_bundle_report(const PreviousBundle *p, const BundleCreateOptions *o) {
        int warnings = 0;

        for (size_t i = 0; i < o->n_images; i++) {
                const BundleImageSpec *spec = &o->images[i];
                const ManifestImage *old = manifest_find_image(p->m, spec->slotclass);
                uint8_t head[FSINFO_HEAD_SIZE];
                FsInfo old_fs, new_fs;
                size_t len = 0, j;
                int r;

                r = read_head(spec->path, head, &len);
                if (r < 0) {
                        warnings += warn("%s: cannot read %s again: %s", spec->slotclass, spec->path, strerror(-r));
                        continue;
                }
                (void) fsinfo_parse(head, len, &new_fs);
                if (!old)
                        printf("%s: OLD %s has no image of this slot class: nothing to compare\n",
                               spec->slotclass, p->m->version);
                else {
                        j = (size_t) (old - p->m->images);
                        warnings += report_reuse(p, old, o, spec);
                        (void) fsinfo_parse(p->head[j], p->head_len[j], &old_fs);
                        warnings += report_fields(p, spec->slotclass, &old_fs, &new_fs);
                }
                warnings += report_source_date_epoch(spec->slotclass, &new_fs);
        }
        return warnings;
}
