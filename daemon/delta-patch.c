/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chunk.h"
#include "delta-patch.h"
#include "log.h"
#include "util.h"

/* Patch bytes are read in windows of at least this much (one Range request each over http),
 * like the chunk ranges of install-delta.c. */
#define PATCH_PIECE_SIZE (UINT32_C(1) << 20)

void delta_patch_done(DeltaPatch *p) {
        free(p->usable);
        free(p->offset);
        free(p->ranges);
        free(p->region);
        free(p->out);
        free(p->piece);
        patch_decoder_free(p->decoder);
        *p = (DeltaPatch) { .old_fd = -EBADF };
}

/* 1 if the booted slot holds entry e's old region (it is then in p->region), 0 if not. */
static int region_matches(DeltaPatch *p, const PatchEntry *e) {
        uint8_t digest[SHA256_SIZE];

        if (e->old_size > 0 &&
            read_at_fd_read((void *) (intptr_t) p->old_fd, e->old_offset, p->region, e->old_size) < 0)
                return 0;
        if (sha256_buffer(p->region, e->old_size, digest) < 0)
                return 0;
        return CRYPTO_memcmp(digest, e->old_sha256, SHA256_SIZE) == 0;
}

int delta_patch_plan(DeltaPatch *p, const ManifestImage *img, const uint8_t *source_sha256, int old_fd,
                     const char *old_name, const ReadAt *bundle, uint64_t patch_data, uint8_t *missing,
                     const atomic_bool *cancel, UError *err) {
        _cleanup_free_ uint32_t *sizes = NULL;
        uint64_t n_usable = 0, skipped = 0, off = 0;
        uint32_t max_patch = 0;
        int r;

        delta_patch_done(p);
        p->img = img;
        if (!source_sha256 || old_fd < 0)
                return 0;
        for (size_t k = 0; k < img->n_patch_sets; k++)
                if (CRYPTO_memcmp(img->patch_sets[k].source_sha256, source_sha256, SHA256_SIZE) == 0) {
                        p->set = &img->patch_sets[k];
                        p->set_index = k;
                }
        if (!p->set)
                return 0; /* the booted slot runs a release the bundle has no patches for */

        p->bundle = *bundle;
        p->data_offset = patch_data + p->set->data_offset;
        p->old_fd = old_fd;
        p->old_name = old_name;
        p->usable = calloc(p->set->n_entries, 1);
        p->offset = calloc(p->set->n_entries, sizeof(uint64_t));
        sizes = calloc(p->set->n_entries, sizeof(uint32_t));
        /* The manifest capped the window at PATCH_WINDOW_MAX: at most that much each. */
        p->region = malloc(p->set->window);
        if (!p->usable || !p->offset || !sizes || !p->region)
                goto oom;
        for (uint64_t i = 0; i < p->set->n_entries; i++) {
                PatchEntry e;
                bool all = true;

                manifest_patch_entry(p->set, i, &e);
                p->offset[i] = off;
                sizes[i] = e.patch_size;
                off += e.patch_size;
                for (uint64_t c = e.first_chunk; all && c < e.first_chunk + e.n_chunks; c++)
                        all = missing[c];
                if (!all)
                        continue; /* the seeds give some of its chunks: fetch the others plainly */
                /* Up to 4 MiB read and hashed a region: a cancel is not kept waiting for all. */
                if (cancel && atomic_load(cancel))
                        return uerror_set(err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
                if (!region_matches(p, &e)) {
                        skipped++;
                        continue;
                }
                p->usable[i] = 1;
                n_usable++;
                max_patch = MAX(max_patch, e.patch_size);
                for (uint64_t c = e.first_chunk; c < e.first_chunk + e.n_chunks; c++)
                        missing[c] = 0;
        }
        if (skipped > 0)
                log_info("Image %s: %" PRIu64 " patches of set %zu are not used: slot %s does not hold their old regions any more",
                         img->slotclass, skipped, p->set_index, old_name);
        if (n_usable == 0) {
                delta_patch_done(p);
                p->img = img;
                return 0;
        }
        r = delta_plan_ranges(p->usable, sizes, p->set->n_entries, DELTA_PATCH_MAX_RANGES, &p->ranges, &p->n_ranges);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot plan the patches: %s", strerror(-r));
        p->stats.ranges = p->n_ranges;
        p->piece_size = MAX((size_t) PATCH_PIECE_SIZE, (size_t) max_patch);
        p->piece = malloc(p->piece_size);
        p->out = malloc(p->set->window);
        if (!p->piece || !p->out || patch_decoder_new(&p->decoder) < 0)
                goto oom;
        return 0;
oom:
        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
}

/* The bytes of entry k's patch in p->piece, reading ahead to the end of its range. */
static int fetch_patch(DeltaPatch *p, uint64_t k, uint32_t size, const uint8_t **ret, UError *err) {
        uint64_t pos = p->offset[k], have_end = p->piece_start + p->piece_len;
        size_t keep, want;
        int r;

        while (p->next_range < p->n_ranges && k >= p->ranges[p->next_range].first) {
                const DeltaRange *g = &p->ranges[p->next_range++];
                PatchEntry last;

                manifest_patch_entry(p->set, g->first + g->count - 1, &last);
                p->range_end_entry = g->first + g->count;
                p->range_end_data = p->offset[g->first + g->count - 1] + last.patch_size;
        }
        if (pos < p->piece_start || pos > have_end) {
                p->piece_start = pos;
                p->piece_len = 0;
                have_end = pos;
        }
        if (pos + size > have_end) {
                keep = (size_t) (have_end - pos);
                memmove(p->piece, p->piece + (pos - p->piece_start), keep);
                p->piece_start = pos;
                p->piece_len = keep;
                want = (size_t) MIN((uint64_t) (p->piece_size - keep),
                                    MAX(p->range_end_data, pos + size) - (pos + keep));
                r = p->bundle.read_at(p->bundle.userdata, p->data_offset + pos + keep, p->piece + keep, want);
                if (r == -ECANCELED)
                        return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Cannot read %zu bytes of the bundle's patches at offset %" PRIu64 ": %s",
                                          want, p->data_offset + pos + keep, strerror(-r));
                p->piece_len += want;
                p->stats.patch_bytes += want;
        }
        *ret = p->piece + (pos - p->piece_start);
        return 0;
}

/* Entry k into p->out: 1 when every chunk of it checked out, 0 (logged) when not. */
static int apply(DeltaPatch *p, uint64_t k, const PatchEntry *e, UError *err) {
        const uint8_t *patch = NULL;
        uint8_t digest[SHA256_SIZE];
        const char *why = NULL;
        uint64_t pos = 0;
        int r;

        r = fetch_patch(p, k, e->patch_size, &patch, err);
        if (r < 0)
                return r;
        if (sha256_buffer(patch, e->patch_size, digest) < 0 || CRYPTO_memcmp(digest, e->patch_sha256, SHA256_SIZE) != 0)
                why = "its bytes do not match the signed sha256";
        else if (!region_matches(p, e))
                why = "the slot's old region changed since it was checked";
        else if (patch_decode(p->decoder, patch, e->patch_size, p->region, e->old_size, p->out, e->raw_size) < 0)
                why = "it does not decode to its size";
        for (uint64_t c = e->first_chunk; !why && c < e->first_chunk + e->n_chunks; c++) {
                ChunkEntry ce;

                manifest_chunk_entry(p->img, c, &ce);
                if (sha256_buffer(p->out + pos, ce.raw_size, digest) < 0 ||
                    CRYPTO_memcmp(digest, ce.raw_sha256, SHA256_SIZE) != 0)
                        why = "a chunk it decodes to does not match its signed raw sha256";
                pos += ce.raw_size;
        }
        if (why) {
                log_warning("Patch %" PRIu64 " of image %s (chunks %" PRIu64 "..%" PRIu64 ", slot %s at offset %" PRIu64 "): %s; fetching its chunks",
                            k, p->img->slotclass, e->first_chunk, e->first_chunk + e->n_chunks - 1, p->old_name,
                            e->old_offset, why);
                p->stats.failed++;
                return 0;
        }
        p->stats.patches++;
        return 1;
}

int delta_patch_chunk(DeltaPatch *p, uint64_t chunk, const ChunkEntry *e, void *dst, UError *err) {
        PatchEntry pe;
        int r;

        if (!p->set || !p->out)
                return 0;
        if (chunk >= p->out_end) {
                /* Entries are in chunk order: skip those behind, look at the next one. */
                for (;; p->next_entry++) {
                        if (p->next_entry >= p->set->n_entries)
                                return 0;
                        manifest_patch_entry(p->set, p->next_entry, &pe);
                        if (pe.first_chunk + pe.n_chunks > chunk)
                                break;
                }
                if (pe.first_chunk != chunk || !p->usable[p->next_entry])
                        return 0;
                r = apply(p, p->next_entry, &pe, err);
                p->next_entry++;
                if (r <= 0)
                        return r;
                p->out_first = chunk;
                p->out_end = chunk + pe.n_chunks;
                p->out_pos = 0;
        }
        /* The sizes were checked against the table when the patch was applied. */
        memcpy(dst, p->out + p->out_pos, e->raw_size);
        p->out_pos += e->raw_size;
        p->stats.patched_chunks++;
        return 1;
}
