/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delta-plan.h"
#include "delta-window.h"
#include "error.h"
#include "macro.h"
#include "manifest.h"
#include "patch.h"
#include "read-at.h"

/* The patches of a delta install (issue #13 item 4, docs/bundle-format.md "Patches"): the
 * patch set of an image whose source is the release the booted slot runs (by its status
 * record's sha256) or, when the slot has no record (a factory image) or no set is for its
 * release, the set whose old regions the slot holds for the most chunks; of it, the entries
 * whose chunks the seeds lack and whose old region the booted slot still holds (its SHA-256
 * matches) are applied instead of fetching their chunks.  A patch is fetched as a byte range of
 * the bundle (runs of patches coalesced like chunk ranges), checked against its signed SHA-256
 * before zstd sees it, decoded against the region re-read and re-hashed, and its chunks handed
 * out only after each matched its signed raw size and raw SHA-256.  Anything that fails falls
 * back to the plain chunks, logged, never an error. */

/* Patch ranges per image at most: half of DELTA_MAX_RANGES, the chunk ranges get the rest. */
#define DELTA_PATCH_MAX_RANGES (DELTA_MAX_RANGES / 2)

typedef struct DeltaPatchStats {
        uint64_t patches;        /* applied */
        uint64_t patched_chunks; /* handed out from applied patches */
        uint64_t patch_bytes;    /* read of the bundle's patch data */
        uint64_t failed;         /* planned, then fell back to chunks */
        size_t ranges;
} DeltaPatchStats;

typedef struct DeltaPatch {
        const ManifestImage *img;
        const PatchSet *set;       /* NULL: no patch is used for this image */
        size_t set_index;
        DeltaWindow *window;       /* the install's, borrowed: the patch bytes are read through it */
        uint64_t data_offset;      /* of the set's first patch in the bundle */
        int old_fd;                /* the booted slot, borrowed */
        const char *old_name;
        uint8_t *usable;           /* per entry: planned */
        uint64_t *offset;          /* per entry: of its patch from data_offset */
        DeltaRange *ranges;        /* of entries */
        size_t n_ranges, next_range;
        uint64_t range_end_entry, range_end_data;
        uint64_t next_entry;
        /* The old region and the decoded patch: as large as the largest planned entry needs, at
         * most the set's window each. */
        uint8_t *region, *out;
        PatchDecoder *decoder;
        uint64_t out_first, out_end; /* chunks [out_first, out_end) are in out */
        uint64_t fallback_end;     /* the chunks up to here are of a patch that fell back */
        size_t out_pos;
        DeltaPatchStats stats;
} DeltaPatch;

void delta_patch_done(DeltaPatch *p);

/* Picks img's patch set for the booted slot (source_sha256: its recorded image hash, NULL if
 * unknown; old_fd: the booted slot open for reading, borrowed), checks each entry whose chunks
 * are all missing[] against the slot's region, plans the patch ranges and clears missing[] for
 * the chunks the patches will give.  When no set's source is source_sha256, every set is
 * checked that way (at most 8, all of them together at most 21845 entries, a set stops once it
 * cannot beat an earlier one) and the one planning the most chunks is used, the first of equals.
 * window: the install's read-ahead of the bundle (made large enough for the largest planned
 * patch); patch_data: the bundle offset of the patch data.  Only running out of memory and
 * *cancel (checked between regions) are errors; a region that cannot be read plans no patch. */
int delta_patch_plan(DeltaPatch *p, const ManifestImage *img, const uint8_t *source_sha256, int old_fd,
                     const char *old_name, DeltaWindow *window, uint64_t patch_data, uint8_t *missing,
                     const atomic_bool *cancel, UError *err);

/* Chunk 'chunk' (entry e of the table) from a patch: 1 and dst filled, 0 when no planned patch
 * gives it (or its patch failed and was logged: the caller fetches it), or an error (a cancel,
 * ERROR_IO of the bundle).  stop_chunk: the next chunk the caller reads through the window
 * itself (UINT64_MAX: none); the patches read ahead no further than the last one before it, so
 * the window does not drop bytes read for nothing. */
int delta_patch_chunk(DeltaPatch *p, uint64_t chunk, const ChunkEntry *e, uint64_t stop_chunk, void *dst,
                      UError *err);
