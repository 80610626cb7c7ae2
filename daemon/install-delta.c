/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk.h"
#include "delta-patch.h"
#include "delta-plan.h"
#include "delta-window.h"
#include "install-delta.h"
#include "install-job.h"
#include "log.h"
#include "read-at.h"
#include "seed.h"
#include "util.h"

/* A delta install, image by image, chunk by chunk in table order (docs/bundle-format.md
 * "Format 2"):
 *   1. seed: cut the booted slot of the image's class, then the target slot, with the bundle's
 *      chunker and index every chunk by its raw SHA-256 (seed.c);
 *   2. plan: a chunk with a seed of the same raw hash and size is "have", the others are
 *      "missing"; runs of missing chunks become byte ranges of the bundle, at most
 *      DELTA_MAX_RANGES per image (delta-plan.c);
 *   3. execute: a chunk inside a range comes from the fetched bytes (stored SHA-256 checked
 *      before decompressing, then raw size and raw SHA-256); any other is read from its seed
 *      and re-hashed against the table's raw SHA-256 before it is handed out, and fetched on
 *      its own when that fails: a corrupted slot costs bandwidth, never correctness.
 * What leaves this file is exactly what the streaming reader hands out for the same bundle:
 * chunks whose raw SHA-256 is the signed table's.  The table's hash is in the signed manifest
 * and its raw sizes add up to the image size (manifest_check_chunk_table()), so the image
 * written is the signed one and its whole-image SHA-256 is recorded as for a streamed install
 * (not recomputed, as there). */

/* One ranged read of the bundle asks for at most this much: the window of a range held in
 * memory.  Ranges can be hundreds of MiB; each piece is one Range request over http. */
#define DELTA_PIECE_SIZE (UINT32_C(1) << 20)

typedef struct DeltaStats {
        uint64_t reused_chunks[_SEED_SOURCE_MAX], reused_bytes[_SEED_SOURCE_MAX];
        uint64_t fetched_chunks, fetched_bytes;  /* chunks taken from the bundle; bytes read of it */
        uint64_t refetched;                      /* seeds that failed their re-hash */
        uint64_t seed_usec;
        size_t ranges;
} DeltaStats;

struct InstallDelta {
        InstallJob *job;
        const Manifest *mf;
        ReadAt bundle;
        uint64_t payload_offset;     /* of the payload in the bundle */
        uint64_t patch_data_offset;  /* of the patch data (after the payload) */
        ChunkCodec *codec;
        DeltaWindow window;          /* read-ahead of the bundle, shared with the patches */

        /* The image being handed out. */
        size_t image;
        uint64_t chunk, raw_pos, stored_pos;  /* stored_pos: payload offset of the chunk */
        bool begun, done;
        SeedIndex *seed;
        int seed_fd[_SEED_SOURCE_MAX];
        const char *seed_name[_SEED_SOURCE_MAX];
        DeltaRange *ranges;
        size_t n_ranges, next_range;
        uint64_t range_end_chunk, range_end_stored; /* the current range, exclusive */
        DeltaStats stats;
        DeltaPatch patch;
};

static void image_end(InstallDelta *d) {
        d->seed = seed_index_free(d->seed);
        for (size_t i = 0; i < _SEED_SOURCE_MAX; i++) {
                if (d->seed_fd[i] >= 0)
                        (void) close(d->seed_fd[i]);
                d->seed_fd[i] = -EBADF;
                d->seed_name[i] = NULL;
        }
        d->ranges = mfree(d->ranges);
        delta_patch_done(&d->patch);
        d->n_ranges = d->next_range = 0;
        d->range_end_chunk = d->range_end_stored = 0;
        d->stats = (DeltaStats) {};
        d->begun = false;
}

InstallDelta *install_delta_free(InstallDelta *d) {
        if (!d)
                return NULL;
        image_end(d);
        chunk_codec_free(d->codec);
        delta_window_done(&d->window);
        free(d);
        return NULL;
}

int install_delta_new(InstallJob *j, InstallDelta **ret, UError *err) {
        _cleanup_(install_delta_freep) InstallDelta *d = NULL;
        const Manifest *mf = bundle_reader_manifest(j->reader);
        uint64_t size, total = bundle_reader_total_size(j->reader);
        size_t stored_max = 0;
        ReadAt bundle;
        struct stat st;
        int r;

        if (!mf || mf->format != MANIFEST_FORMAT_CDC || !streq(bundle_reader_format(j->reader), "update1"))
                goto stream;
        if (j->http) {
                if (source_http_probe_ranges(j->http) <= 0) {
                        log_info("Installing %s from the stream: the server does not serve byte ranges", j->source);
                        goto stream;
                }
                bundle = (ReadAt) { source_http_read_at, source_http_get_size, j->http };
        } else if (j->ranged)
                bundle = (ReadAt) { source_ranged_read_at, source_ranged_get_size, j->ranged };
        else if (fstat(j->stream_fd, &st) >= 0 && S_ISREG(st.st_mode))
                bundle = READ_AT_FD(j->stream_fd);
        else
                goto stream; /* a pipe or socket: front to back, as before */

        /* The stream's reader would refuse a bundle with trailing bytes or a short one at its
         * end; read at offsets, the size is checked first. */
        r = bundle.get_size(bundle.userdata, &size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot get the size of %s: %s", j->source, strerror(-r));
        if (size != total)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle %s is %" PRIu64 " bytes, its header and manifest make it %" PRIu64
                                  ": rebuild or download it again", j->source, size, total);

        d = calloc(1, sizeof(*d));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->job = j;
        d->mf = mf;
        d->bundle = bundle;
        d->payload_offset = total - mf->patch_data_size - mf->payload_size;
        d->patch_data_offset = total - mf->patch_data_size;
        d->patch.old_fd = -EBADF;
        for (size_t i = 0; i < _SEED_SOURCE_MAX; i++)
                d->seed_fd[i] = -EBADF;
        for (size_t i = 0; i < mf->n_images; i++)
                for (uint64_t c = 0; c < mf->images[i].n_chunks; c++) {
                        ChunkEntry e;

                        manifest_chunk_entry(&mf->images[i], c, &e);
                        stored_max = MAX(stored_max, (size_t) e.stored_size);
                }
        if (delta_window_init(&d->window, &bundle, MAX((size_t) DELTA_PIECE_SIZE, stored_max)) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = chunk_codec_new(0, &d->codec);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot set up the decompressor: %s", strerror(-r));
        *ret = TAKE_PTR(d);
        return 0;
stream:
        *ret = NULL;
        return 0;
}

/* The booted group's slot of this class: the one that holds the running version. */
static int booted_slot_of_class(Manager *m, const char *class) {
        const SlotTable *t = m->slots;
        int booted;

        pthread_mutex_lock(&m->lock);
        booted = t->booted;
        pthread_mutex_unlock(&m->lock);
        if (booted < 0)
                return -1;
        for (unsigned i = 0; i < t->n_slots; i++)
                if (streq(t->slots[i].cfg->class, class) && slot_table_group_root(t, (int) i) == booted)
                        return (int) i;
        return -1;
}

/* How much of a slot to index: what its image covers, not the whole device (a 4 GiB slot
 * holding a 1 GiB image would cost three GiB of reading for stale data).  The booted slot: the
 * size its status record gives (the whole device when none does: a factory image).  The
 * target: the new image's size, the part ahead of the write position that matters. */
static uint64_t seed_size(InstallDelta *d, const Slot *s, SeedSource source, uint64_t device_size) {
        Manager *m = d->job->manager;
        const SlotRecord *rec;
        uint64_t size = 0;

        if (source == SEED_TARGET)
                return MIN(device_size, d->mf->images[d->image].size);
        pthread_mutex_lock(&m->lock);
        rec = status_find(m->status, s->cfg->name);
        if (rec && rec->status == SLOT_STATUS_OK)
                size = rec->size;
        pthread_mutex_unlock(&m->lock);
        return size > 0 ? MIN(device_size, size) : device_size;
}

/* Opens and indexes one slot.  Only a cancel is an error: a slot that cannot be read leaves
 * nothing to reuse, and the install fetches what it would have given. */
static int seed_slot(InstallDelta *d, const Slot *s, SeedSource source, UError *err) {
        uint64_t size;
        int fd, r;

        if (!s->device_path)
                return 0;
        fd = open(s->device_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                log_warning("Cannot open slot %s (%s) to reuse its data: %s; fetching instead", s->cfg->name,
                            s->device_path, strerror(errno));
                return 0;
        }
        d->seed_fd[source] = fd;
        d->seed_name[source] = s->cfg->name;
        r = slot_device_size(s, &size);
        if (r >= 0)
                r = seed_index_add(d->seed, fd, seed_size(d, s, source, size), source, &d->job->cancel);
        if (r == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
        if (r < 0)
                log_warning("Cannot read slot %s (%s) to reuse its data: %s; fetching instead", s->cfg->name,
                            s->device_path, strerror(-r));
        return 0;
}

static const SeedEntry *seed_find(const InstallDelta *d, const ChunkEntry *e) {
        /* The target slot is written front to back, and a chunk is read from it before anything
         * at or after the current write position (raw_pos) is queued for writing: what lies at
         * offsets >= raw_pos is still what the slot held before this install.  Earlier offsets
         * may already hold new data, so they are not offered.  The re-hash on use catches
         * anything else. */
        return d->seed ? seed_index_find(d->seed, e->raw_sha256, e->raw_size, d->raw_pos) : NULL;
}

/* The patches the booted slot can use (delta-patch.c): those of the set for the release it runs
 * (its status record's image sha256), or, when it has no record (a factory image) or no set is
 * for that release, of the set whose old regions it holds for the most chunks.  Their chunks
 * are cleared from missing[]. */
static int plan_patches(InstallDelta *d, uint8_t *missing, UError *err) {
        const ManifestImage *img = &d->mf->images[d->image];
        Manager *m = d->job->manager;
        const SlotRecord *rec;
        uint8_t sha[SHA256_SIZE];
        bool have = false;

        if (img->n_patch_sets == 0 || d->seed_fd[SEED_BOOTED] < 0)
                return 0;
        pthread_mutex_lock(&m->lock);
        rec = status_find(m->status, d->seed_name[SEED_BOOTED]);
        if (rec && rec->status == SLOT_STATUS_OK && hex_decode(rec->sha256, sha, SHA256_SIZE) >= 0)
                have = true;
        pthread_mutex_unlock(&m->lock);
        return delta_patch_plan(&d->patch, img, have ? sha : NULL, d->seed_fd[SEED_BOOTED], d->seed_name[SEED_BOOTED],
                                &d->window, d->patch_data_offset, missing, &d->job->cancel, err);
}

static int image_begin(InstallDelta *d, UError *err) {
        InstallJob *j = d->job;
        const ManifestImage *img = &d->mf->images[d->image];
        const Slot *target = &j->manager->slots->slots[j->targets[d->image]];
        _cleanup_free_ uint8_t *missing = NULL;
        _cleanup_free_ uint32_t *stored = NULL;
        uint64_t start = now_monotonic_usec(), raw_pos = 0, n_missing = 0, missing_bytes = 0, n_patched;
        int booted, r;

        image_end(d);
        d->begun = true;
        r = seed_index_new(img->cdc_min, img->cdc_avg, img->chunk_size, 0, &d->seed);
        if (r < 0)
                log_warning("Image %s: chunk sizes %" PRIu32 "/%" PRIu32 "/%" PRIu32 " cannot be cut on the device: %s; fetching every chunk",
                            img->slotclass, img->cdc_min, img->cdc_avg, img->chunk_size, strerror(-r));
        else {
                /* Reading the slots takes a while on a large image (seconds a GiB): say so.
                 * Only before the first image, when the writer has nothing queued and so posts
                 * nothing: during the write phase only the writer thread posts progress. */
                if (d->image == 0) {
                        char phase[128];

                        snprintf(phase, sizeof(phase), "Looking for reusable data of %s", img->slotclass);
                        install_post_progress(j, install_write_percent(j), phase);
                }
                booted = booted_slot_of_class(j->manager, target->cfg->class);
                if (booted >= 0 && booted != j->targets[d->image]) {
                        r = seed_slot(d, &j->manager->slots->slots[booted], SEED_BOOTED, err);
                        if (r < 0)
                                return r;
                }
                r = seed_slot(d, target, SEED_TARGET, err);
                if (r < 0)
                        return r;
                if (seed_index_truncated(d->seed))
                        log_warning("Image %s: the seed index is full at %zu chunks (%" PRIu64 " bytes): the rest of the slots is not looked at and what it holds is fetched",
                                    img->slotclass, seed_index_entries(d->seed), SEED_INDEX_MAX_BYTES);
                seed_index_sort(d->seed);
        }

        missing = malloc(MAX(img->n_chunks, (uint64_t) 1));
        stored = calloc(MAX(img->n_chunks, (uint64_t) 1), sizeof(*stored));
        if (!missing || !stored)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        for (uint64_t c = 0; c < img->n_chunks; c++) {
                ChunkEntry e;

                manifest_chunk_entry(img, c, &e);
                stored[c] = e.stored_size;
                d->raw_pos = raw_pos;
                missing[c] = !seed_find(d, &e);
                n_missing += missing[c];
                missing_bytes += missing[c] ? e.stored_size : 0;
                raw_pos += e.raw_size;
        }
        d->raw_pos = 0;
        r = plan_patches(d, missing, err);
        if (r < 0)
                return r;
        n_missing = missing_bytes = 0;
        for (uint64_t c = 0; c < img->n_chunks; c++) {
                n_missing += missing[c];
                missing_bytes += missing[c] ? stored[c] : 0;
        }
        /* The patch ranges and the chunk ranges share the bound. */
        r = delta_plan_ranges(missing, stored, img->n_chunks, DELTA_MAX_RANGES - d->patch.stats.ranges, &d->ranges,
                              &d->n_ranges);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot plan the delta install: %s", strerror(-r));
        d->stats.ranges = d->n_ranges + d->patch.stats.ranges;
        n_patched = 0;
        for (uint64_t i = 0; d->patch.usable && i < d->patch.set->n_entries; i++)
                if (d->patch.usable[i]) {
                        PatchEntry e;

                        manifest_patch_entry(d->patch.set, i, &e);
                        n_patched += e.n_chunks;
                }
        d->stats.seed_usec = now_monotonic_usec() - start;
        log_info("Delta install of image %s into %s: %" PRIu64 " of %" PRIu64 " chunks (%" PRIu64 " stored bytes) to fetch in %zu ranges, %" PRIu64 " chunks from patches; seeded from %s and %s (%" PRIu64 " and %" PRIu64 " bytes read, %zu chunks) in %" PRIu64 " ms",
                 img->slotclass, target->cfg->name, n_missing, img->n_chunks, missing_bytes, d->stats.ranges,
                 n_patched, d->seed_name[SEED_BOOTED] ?: "no booted slot", d->seed_name[SEED_TARGET] ?: "not the target",
                 d->seed ? seed_index_bytes(d->seed, SEED_BOOTED) : 0, d->seed ? seed_index_bytes(d->seed, SEED_TARGET) : 0,
                 d->seed ? seed_index_entries(d->seed) : 0, d->stats.seed_usec / 1000);
        return 0;
}

static void log_summary(const InstallDelta *d) {
        const ManifestImage *img = &d->mf->images[d->image];
        const DeltaStats *s = &d->stats;

        /* One line per image, parsed by bench/bench-delta.sh: keep the key=value names. */
        log_info("Delta install of image %s done: reused_booted_chunks=%" PRIu64 " reused_booted_bytes=%" PRIu64
                 " reused_target_chunks=%" PRIu64 " reused_target_bytes=%" PRIu64 " fetched_chunks=%" PRIu64
                 " fetched_bytes=%" PRIu64 " ranges=%zu refetched=%" PRIu64 " chunks=%" PRIu64 " seed_ms=%" PRIu64
                 " patched_chunks=%" PRIu64 " patch_bytes=%" PRIu64 " patches=%" PRIu64 " patches_failed=%" PRIu64,
                 img->slotclass, s->reused_chunks[SEED_BOOTED], s->reused_bytes[SEED_BOOTED],
                 s->reused_chunks[SEED_TARGET], s->reused_bytes[SEED_TARGET], s->fetched_chunks, s->fetched_bytes,
                 s->ranges, s->refetched, img->n_chunks, s->seed_usec / 1000, d->patch.stats.patched_chunks,
                 d->patch.stats.patch_bytes, d->patch.stats.patches, d->patch.stats.failed);
}

static int chunk_invalid(const InstallDelta *d, const char *why, UError *err) {
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Chunk %" PRIu64 " of image %s failed verification: %s",
                          d->chunk, d->mf->images[d->image].slotclass, why);
}

/* Makes the window hold the stored bytes of the current chunk, reading ahead up to 'limit' (a
 * payload offset: the end of the range) in one request of at most the window's size. */
static int window(InstallDelta *d, uint32_t size, uint64_t limit, const uint8_t **ret, UError *err) {
        uint64_t offset = d->payload_offset + d->stored_pos;
        size_t got = 0;
        int r;

        r = delta_window_get(&d->window, offset, size, d->payload_offset + limit, ret, &got);
        d->stats.fetched_bytes += got;
        if (r == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read %" PRIu32 " bytes of %s at offset %" PRIu64 ": %s", size,
                                  d->job->source, offset, strerror(-r));
        return 0;
}

/* The stored bytes are authenticated before zstd sees them, then the raw size and hash. */
static int fetch_chunk(InstallDelta *d, const ChunkEntry *e, uint64_t limit, void *dst, UError *err) {
        const ManifestImage *img = &d->mf->images[d->image];
        const uint8_t *stored = NULL;
        uint8_t digest[SHA256_SIZE];
        int r;

        r = window(d, e->stored_size, limit, &stored, err);
        if (r < 0)
                return r;
        if (sha256_buffer(stored, e->stored_size, digest) < 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        if (CRYPTO_memcmp(digest, e->stored_sha256, SHA256_SIZE) != 0)
                return chunk_invalid(d, "sha256 mismatch", err);
        if (img->compression == COMPRESSION_ZSTD) {
                r = chunk_decompress(d->codec, stored, e->stored_size, dst, e->raw_size);
                if (r == -EMSGSIZE)
                        return chunk_invalid(d, "does not decompress to its size", err);
                if (r < 0)
                        return chunk_invalid(d, "corrupt zstd frame", err);
        } else
                memcpy(dst, stored, e->raw_size); /* the table guarantees stored size == raw size */
        if (sha256_buffer(dst, e->raw_size, digest) < 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        if (CRYPTO_memcmp(digest, e->raw_sha256, SHA256_SIZE) != 0)
                return chunk_invalid(d, "raw sha256 mismatch", err);
        d->stats.fetched_chunks++;
        return 0;
}

/* 1 if the seed's bytes are the chunk (now in dst), 0 if not (dst garbage). */
static int reuse_chunk(InstallDelta *d, const SeedEntry *s, const ChunkEntry *e, void *dst) {
        uint8_t digest[SHA256_SIZE];
        int r;

        r = read_at_fd_read((void *) (intptr_t) d->seed_fd[s->source], s->offset, dst, e->raw_size);
        if (r >= 0 && sha256_buffer(dst, e->raw_size, digest) >= 0 &&
            CRYPTO_memcmp(digest, e->raw_sha256, SHA256_SIZE) == 0) {
                d->stats.reused_chunks[s->source]++;
                d->stats.reused_bytes[s->source] += e->raw_size;
                return 1;
        }
        log_warning("Chunk %" PRIu64 " of image %s: slot %s at offset %" PRIu64 " %s; fetching it from the bundle",
                    d->chunk, d->mf->images[d->image].slotclass, d->seed_name[s->source], s->offset,
                    r < 0 ? "cannot be read" : "does not match the signed hash any more");
        d->stats.refetched++;
        return 0;
}

/* How far to read ahead for a chunk fetched outside the plan: to the end of its stored bytes,
 * or, in the chunks of a patch that fell back (their seeds were all missing, so the plan has
 * them neither), to the end of that patch's chunks: one request for them all. */
static uint64_t unplanned_end(const InstallDelta *d, const ChunkEntry *e) {
        uint64_t end = d->stored_pos + e->stored_size;

        for (uint64_t c = d->chunk + 1; c < d->patch.fallback_end; c++) {
                ChunkEntry x;

                manifest_chunk_entry(&d->mf->images[d->image], c, &x);
                end += x.stored_size;
        }
        return end;
}

uint32_t install_delta_next_chunk_size(const InstallDelta *d) {
        ChunkEntry e;

        if (!d || d->done)
                return 0;
        manifest_chunk_entry(&d->mf->images[d->image], d->chunk, &e);
        return e.raw_size;
}

int install_delta_next_chunk_into(InstallDelta *d, void *dst, size_t dst_size, BundleChunk *ret, UError *err) {
        const ManifestImage *img;
        const SeedEntry *s;
        ChunkEntry e;
        bool last;
        int r;

        if (d->done)
                return 0;
        if (!d->begun) {
                r = image_begin(d, err);
                if (r < 0)
                        return r;
        }
        img = &d->mf->images[d->image];
        manifest_chunk_entry(img, d->chunk, &e);
        if (!dst || dst_size < e.raw_size)
                return uerror_set(err, ERROR_FAILED, -ENOBUFS, "Internal error: chunk of %" PRIu32 " bytes into a buffer of %zu",
                                  e.raw_size, dst_size);

        if (d->chunk >= d->range_end_chunk && d->next_range < d->n_ranges && d->ranges[d->next_range].first == d->chunk) {
                const DeltaRange *g = &d->ranges[d->next_range++];
                uint64_t end = d->stored_pos;

                for (uint64_t c = g->first; c < g->first + g->count; c++) {
                        ChunkEntry x;

                        manifest_chunk_entry(img, c, &x);
                        end += x.stored_size;
                }
                d->range_end_chunk = g->first + g->count;
                d->range_end_stored = end;
        }
        /* A patch first: its chunks are in no range unless merging the smallest gaps put them
         * there, and then the range's bytes for them are skipped.  The patches share the
         * window with the ranges: they read ahead only up to the chunk the ranges need next
         * (inside a range: the next one). */
        r = delta_patch_chunk(&d->patch, d->chunk, &e,
                              d->chunk < d->range_end_chunk ? d->chunk + 1
                              : d->next_range < d->n_ranges ? d->ranges[d->next_range].first
                                                            : UINT64_MAX,
                              dst, err);
        if (r == 0 && d->chunk < d->range_end_chunk)
                r = fetch_chunk(d, &e, d->range_end_stored, dst, err);
        else if (r == 0) {
                s = seed_find(d, &e);
                r = s ? reuse_chunk(d, s, &e, dst) : 0;
                /* Not in the plan (the seed failed its re-hash, or was never there): alone,
                 * or with the other chunks of a patch that fell back, in one read. */
                if (r == 0)
                        r = fetch_chunk(d, &e, unplanned_end(d, &e), dst, err);
        }
        if (r < 0)
                return r;

        last = d->chunk + 1 == img->n_chunks;
        *ret = (BundleChunk) {
                .image = d->image,
                .index = d->chunk,
                .offset = d->raw_pos,
                .data = dst,
                .size = e.raw_size,
                .last = last,
        };
        d->raw_pos += e.raw_size;
        d->stored_pos += e.stored_size;
        if (last) {
                log_summary(d);
                image_end(d);
                d->image++;
                d->chunk = 0;
                d->raw_pos = 0;
                d->done = d->image == d->mf->n_images;
        } else
                d->chunk++;
        return 1;
}
