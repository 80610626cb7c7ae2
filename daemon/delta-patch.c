/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chunk.h"
#include "delta-patch.h"
#include "log.h"
#include "util.h"

/* Planning hashes each candidate's old region in pieces of this much: the region buffer is
 * allocated only once the plan knows the largest region a planned patch needs. */
#define REGION_HASH_PIECE (UINT32_C(64) << 10)

void delta_patch_done(DeltaPatch *p) {
        free(p->usable);
        free(p->offset);
        free(p->ranges);
        free(p->region);
        free(p->out);
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

/* The same check while planning, read in pieces into buf (REGION_HASH_PIECE bytes): 1 or 0. */
static int region_hash_matches(const DeltaPatch *p, const PatchEntry *e, uint8_t *buf, EVP_MD_CTX *md) {
        uint8_t digest[SHA256_SIZE];
        uint32_t done = 0, n;

        if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                return 0;
        for (; done < e->old_size; done += n) {
                n = MIN(e->old_size - done, (uint32_t) REGION_HASH_PIECE);
                if (read_at_fd_read((void *) (intptr_t) p->old_fd, e->old_offset + done, buf, n) < 0 ||
                    EVP_DigestUpdate(md, buf, n) != 1)
                        return 0;
        }
        if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
                return 0;
        return CRYPTO_memcmp(digest, e->old_sha256, SHA256_SIZE) == 0;
}

/* 1 if the seeds give none of entry e's chunks. */
static bool entry_all_missing(const PatchEntry *e, const uint8_t *missing) {
        for (uint64_t c = e->first_chunk; c < e->first_chunk + e->n_chunks; c++)
                if (!missing[c])
                        return false;
        return true;
}

static void EVP_MD_CTX_freep(EVP_MD_CTX **md) {
        EVP_MD_CTX_free(*md);
}

/* What checking one set's entries against the booted slot found. */
typedef struct SetPlan {
        uint64_t patches; /* entries planned */
        uint64_t chunks;  /* their chunks */
        uint64_t skipped; /* candidates (all chunks missing) whose region the slot does not hold */
        uint64_t regions; /* regions read and hashed */
        uint64_t bytes;   /* their bytes */
        bool gave_up;     /* stopped: it could no longer plan 'beat' chunks */
} SetPlan;

/* Sets usable[i] (n_entries, zeroed by the caller) for each entry of set whose chunks are all
 * missing[] and whose old region the booted slot holds; missing[] is not changed.  beat > 0:
 * stops reading once the chunks planned and those of the candidates left cannot reach beat
 * (another set already plans more), so a set that cannot win costs no more reads.  Only a
 * cancel (checked between regions: a region is up to 4 MiB read and hashed) is an error. */
static int plan_set(const DeltaPatch *p, const PatchSet *set, const uint8_t *missing, uint64_t beat, uint8_t *usable,
                    uint8_t *buf, EVP_MD_CTX *md, const atomic_bool *cancel, SetPlan *ret, UError *err) {
        SetPlan s = {};
        uint64_t left = 0;

        /* The candidates first, from the table alone: what the set could plan at best. */
        for (uint64_t i = 0; i < set->n_entries; i++) {
                PatchEntry e;

                manifest_patch_entry(set, i, &e);
                if (entry_all_missing(&e, missing))
                        left += e.n_chunks;
        }
        for (uint64_t i = 0; i < set->n_entries; i++) {
                PatchEntry e;

                manifest_patch_entry(set, i, &e);
                if (!entry_all_missing(&e, missing))
                        continue; /* the seeds give some of its chunks: fetch the others plainly */
                if (s.chunks + left < beat) {
                        s.gave_up = true;
                        break;
                }
                left -= e.n_chunks;
                if (cancel && atomic_load(cancel))
                        return uerror_set(err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
                s.regions++;
                s.bytes += e.old_size;
                if (!region_hash_matches(p, &e, buf, md)) {
                        s.skipped++;
                        continue;
                }
                usable[i] = 1;
                s.patches++;
                s.chunks += e.n_chunks;
        }
        *ret = s;
        return 0;
}

/* Takes set k with its planned entries (usable, n_entries bytes, now p's): their chunks leave
 * missing[], the patch ranges are planned and the buffers sized by the largest planned entry. */
static int adopt_set(DeltaPatch *p, size_t k, uint8_t *usable, uint64_t n_usable, DeltaWindow *window,
                     uint64_t patch_data, uint8_t *missing, UError *err) {
        const ManifestImage *img = p->img;
        _cleanup_free_ uint32_t *sizes = NULL;
        uint32_t max_patch = 0, max_old = 0, max_raw = 0;
        uint64_t off = 0;
        int r;

        p->set = &img->patch_sets[k];
        p->set_index = k;
        p->usable = usable;
        p->window = window;
        p->data_offset = patch_data + p->set->data_offset;
        p->offset = calloc(p->set->n_entries, sizeof(uint64_t));
        sizes = calloc(p->set->n_entries, sizeof(uint32_t));
        if (!p->offset || !sizes)
                goto oom;
        for (uint64_t i = 0; i < p->set->n_entries; i++) {
                PatchEntry e;

                manifest_patch_entry(p->set, i, &e);
                p->offset[i] = off;
                sizes[i] = e.patch_size;
                off += e.patch_size;
                if (!usable[i])
                        continue;
                max_patch = MAX(max_patch, e.patch_size);
                max_old = MAX(max_old, e.old_size);
                max_raw = MAX(max_raw, e.raw_size);
                for (uint64_t c = e.first_chunk; c < e.first_chunk + e.n_chunks; c++)
                        missing[c] = 0;
        }
        r = delta_plan_ranges(p->usable, sizes, p->set->n_entries, DELTA_PATCH_MAX_RANGES, &p->ranges, &p->n_ranges);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot plan the patches: %s", strerror(-r));
        p->stats.ranges = p->n_ranges;
        /* The table capped each at the set's window (PATCH_WINDOW_MAX at most), and a patch at
         * what its entry replaces: the largest entries planned, not the window, size these. */
        p->region = malloc(MAX(max_old, (uint32_t) 1));
        p->out = malloc(MAX(max_raw, (uint32_t) 1));
        if (!p->region || !p->out || delta_window_reserve(window, max_patch) < 0 || patch_decoder_new(&p->decoder) < 0)
                goto oom;
        log_info("Image %s: %" PRIu64 " patches of set %zu planned; largest old region %" PRIu32 ", output %" PRIu32 ", patch %" PRIu32 " bytes",
                 img->slotclass, n_usable, k, max_old, max_raw, max_patch);
        return 0;
oom:
        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
}

/* No set is for the release the booted slot runs (why: no record, or one no set names): each
 * set is checked by its old regions and the one that plans the most chunks is used (ties: the
 * first).  The cost is bounded by the tables: all sets of a bundle together hold at most 21845
 * entries (MANIFEST_MAX_PATCH_TABLES_SIZE), as many as one set may hold, and only entries whose
 * chunks are all missing are read, each at most the set's window (4 MiB); a set stops reading
 * once it cannot beat the best before it.  The regions are mostly in the page cache: seeding
 * just read the slot.  Memory: two flags arrays of the largest set's entries. */
static int plan_by_regions(DeltaPatch *p, const char *why, DeltaWindow *window, uint64_t patch_data, uint8_t *missing,
                           uint8_t *buf, EVP_MD_CTX *md, const atomic_bool *cancel, UError *err) {
        const ManifestImage *img = p->img;
        _cleanup_free_ uint8_t *best = NULL, *trial = NULL;
        uint64_t start = now_monotonic_usec(), regions = 0, bytes = 0, max_entries = 0;
        SetPlan best_plan = {};
        size_t best_k = SIZE_MAX;
        int r;

        for (size_t k = 0; k < img->n_patch_sets; k++)
                max_entries = MAX(max_entries, img->patch_sets[k].n_entries);
        best = calloc(MAX(max_entries, (uint64_t) 1), 1);
        trial = calloc(MAX(max_entries, (uint64_t) 1), 1);
        if (!best || !trial)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        log_info("Image %s: slot %s %s: checking the old regions of the bundle's %zu patch sets against it",
                 img->slotclass, p->old_name, why, img->n_patch_sets);
        for (size_t k = 0; k < img->n_patch_sets; k++) {
                const PatchSet *set = &img->patch_sets[k];
                uint8_t *tmp;
                char source[17];
                SetPlan s;

                memset(trial, 0, MAX(max_entries, (uint64_t) 1)); /* no flag of an earlier set left */
                /* A later set wins only with more chunks than the best before it. */
                r = plan_set(p, set, missing, best_k == SIZE_MAX ? 0 : best_plan.chunks + 1, trial, buf, md, cancel, &s,
                             err);
                if (r < 0)
                        return r;
                regions += s.regions;
                bytes += s.bytes;
                hex_encode(set->source_sha256, 8, source);
                log_info("Image %s: patch set %zu (source %s...): %" PRIu64 " of %" PRIu64 " regions read match slot %s, %" PRIu64 " chunks%s",
                         img->slotclass, k, source, s.patches, s.regions, p->old_name, s.chunks,
                         s.gave_up ? "; stopped, it cannot plan more than the best set" : "");
                if (s.gave_up || s.patches == 0 || (best_k != SIZE_MAX && s.chunks <= best_plan.chunks))
                        continue;
                tmp = best;
                best = trial;
                trial = tmp;
                best_plan = s;
                best_k = k;
        }
        if (best_k == SIZE_MAX) {
                log_info("Image %s: no old region of the %zu patch sets matches slot %s (%" PRIu64 " regions, %" PRIu64 " bytes read in %" PRIu64 " ms); using chunks only",
                         img->slotclass, img->n_patch_sets, p->old_name, regions, bytes,
                         (now_monotonic_usec() - start) / 1000);
                return 0;
        }
        log_info("Image %s: using patch set %zu for slot %s, which %s: it plans the most chunks, %" PRIu64 " in %" PRIu64 " patches (%" PRIu64 " regions, %" PRIu64 " bytes read in %" PRIu64 " ms)",
                 img->slotclass, best_k, p->old_name, why, best_plan.chunks, best_plan.patches, regions, bytes,
                 (now_monotonic_usec() - start) / 1000);
        /* best's flags are as many as the largest set's entries; the set's own part is used. */
        return adopt_set(p, best_k, TAKE_PTR(best), best_plan.patches, window, patch_data, missing, err);
}

/* The set for the release the slot runs: its candidates are all read, as before. */
static int plan_recorded(DeltaPatch *p, size_t k, DeltaWindow *window, uint64_t patch_data, uint8_t *missing,
                         uint8_t *buf, EVP_MD_CTX *md, const atomic_bool *cancel, UError *err) {
        _cleanup_free_ uint8_t *usable = NULL;
        SetPlan s;
        int r;

        usable = calloc(MAX(p->img->patch_sets[k].n_entries, (uint64_t) 1), 1);
        if (!usable)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = plan_set(p, &p->img->patch_sets[k], missing, 0, usable, buf, md, cancel, &s, err);
        if (r < 0)
                return r;
        if (s.skipped > 0)
                log_info("Image %s: %" PRIu64 " patches of set %zu are not used: slot %s does not hold their old regions any more",
                         p->img->slotclass, s.skipped, k, p->old_name);
        if (s.patches == 0)
                return 0;
        return adopt_set(p, k, TAKE_PTR(usable), s.patches, window, patch_data, missing, err);
}

int delta_patch_plan(DeltaPatch *p, const ManifestImage *img, const uint8_t *source_sha256, int old_fd,
                     const char *old_name, DeltaWindow *window, uint64_t patch_data, uint8_t *missing,
                     const atomic_bool *cancel, UError *err) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        _cleanup_free_ uint8_t *hash_buf = NULL;
        size_t k = SIZE_MAX;
        int r;

        delta_patch_done(p);
        p->img = img;
        if (old_fd < 0 || img->n_patch_sets == 0)
                return 0;
        p->old_fd = old_fd;
        p->old_name = old_name;
        for (size_t i = 0; source_sha256 && i < img->n_patch_sets; i++)
                if (CRYPTO_memcmp(img->patch_sets[i].source_sha256, source_sha256, SHA256_SIZE) == 0)
                        k = i;
        hash_buf = malloc(REGION_HASH_PIECE);
        md = EVP_MD_CTX_new();
        if (!hash_buf || !md)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (k != SIZE_MAX)
                r = plan_recorded(p, k, window, patch_data, missing, hash_buf, md, cancel, err);
        else
                r = plan_by_regions(p, source_sha256 ? "runs a release the bundle has no patch set for" : "has no recorded image hash",
                                    window, patch_data, missing, hash_buf, md, cancel, err);
        if (r >= 0 && !p->set) {
                /* Nothing planned: nothing of the patches is used. */
                delta_patch_done(p);
                p->img = img;
        }
        return r;
}

/* The bytes of entry k's patch in the window, reading ahead to the end of its range, or to the
 * last patch before stop_chunk (the window's next use for chunks). */
static int fetch_patch(DeltaPatch *p, uint64_t k, uint32_t size, uint64_t stop_chunk, const uint8_t **ret,
                       UError *err) {
        uint64_t pos = p->offset[k], limit;
        size_t got = 0;
        int r;

        while (p->next_range < p->n_ranges && k >= p->ranges[p->next_range].first) {
                const DeltaRange *g = &p->ranges[p->next_range++];
                PatchEntry last;

                manifest_patch_entry(p->set, g->first + g->count - 1, &last);
                p->range_end_entry = g->first + g->count;
                p->range_end_data = p->offset[g->first + g->count - 1] + last.patch_size;
        }
        limit = MAX(p->range_end_data, pos + size);
        for (uint64_t j = k + 1; j < p->range_end_entry; j++) {
                PatchEntry e;

                manifest_patch_entry(p->set, j, &e);
                if (e.first_chunk >= stop_chunk) {
                        limit = MAX(p->offset[j], pos + size);
                        break;
                }
        }
        r = delta_window_get(p->window, p->data_offset + pos, size, p->data_offset + limit, ret, &got);
        p->stats.patch_bytes += got;
        if (r == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, r, "Installation cancelled");
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read %" PRIu32 " bytes of the bundle's patches at offset %" PRIu64 ": %s",
                                  size, p->data_offset + pos, strerror(-r));
        return 0;
}

/* Entry k into p->out: 1 when every chunk of it checked out, 0 (logged) when not. */
static int apply(DeltaPatch *p, uint64_t k, const PatchEntry *e, uint64_t stop_chunk, UError *err) {
        const uint8_t *patch = NULL;
        uint8_t digest[SHA256_SIZE];
        const char *why = NULL;
        uint64_t pos = 0;
        int r;

        r = fetch_patch(p, k, e->patch_size, stop_chunk, &patch, err);
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
                p->fallback_end = e->first_chunk + e->n_chunks;
                return 0;
        }
        p->stats.patches++;
        return 1;
}

int delta_patch_chunk(DeltaPatch *p, uint64_t chunk, const ChunkEntry *e, uint64_t stop_chunk, void *dst,
                      UError *err) {
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
                r = apply(p, p->next_entry, &pe, stop_chunk, err);
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
