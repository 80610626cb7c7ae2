/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"

/* zstd --patch-from patches of format-2 bundles (issue #13 item 4, docs/bundle-format.md
 * "Patches"): made by bundle create against an older release's image, applied by a device whose
 * booted slot holds that release.  This module owns the patch codec (both directions) and the
 * choice of the old region a patch refers to; the table format is lib/manifest-patch.c's. */

/* The old region of a run of new chunks that the old image lacks, new raw bytes
 * [run_start, run_end) of an image of new_size bytes: between the old positions of its matched
 * neighbours (the end of the chunk before, the start of the chunk after) when both are known
 * and in order, else the same relative place of the old image (old_size bytes). */
void patch_run_region(bool have_left, uint64_t left_end, bool have_right, uint64_t right_start, uint64_t run_start,
                      uint64_t run_end, uint64_t new_size, uint64_t old_size, uint64_t *ret_lo, uint64_t *ret_hi);
/* The slice of that region a piece [piece_start, piece_end) of the run is patched against: at
 * most window bytes around the piece's proportional place in the region, widened to the piece's
 * length where the region is shorter (an insertion still finds its surroundings), always within
 * [0, old_size). */
void patch_piece_region(uint64_t run_start, uint64_t run_end, uint64_t lo, uint64_t hi, uint64_t old_size,
                        uint64_t piece_start, uint64_t piece_end, uint32_t window, uint64_t *ret_offset,
                        uint32_t *ret_size);

/* Compresses new[0..new_size) against the prefix old[0..old_size) (ZSTD_CCtx_refPrefix) at
 * 'level', with a window covering both, the content size and a checksum in the frame.  dst holds
 * chunk_zstd_bound(new_size) bytes; *ret_size is the patch's size. */
int patch_compress(const void *old, size_t old_size, const void *new, size_t new_size, int level, void *dst,
                   size_t dst_size, size_t *ret_size);

typedef struct PatchDecoder PatchDecoder;
int patch_decoder_new(PatchDecoder **ret);
PatchDecoder *patch_decoder_free(PatchDecoder *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(PatchDecoder *, patch_decoder_free);
/* Decodes one patch (already authenticated) against old[0..old_size) into dst, exactly
 * raw_size bytes.  The frame must be exactly one zstd frame that declares raw_size as its
 * content size and a window no larger: nothing is allocated for a window, the output buffer is
 * the window.  -EBADMSG on anything else or a corrupt frame. */
int patch_decode(PatchDecoder *d, const void *patch, size_t patch_size, const void *old, size_t old_size, void *dst,
                 size_t raw_size);

/* bundle create: adds to img (format 2, its chunk table made, new_fd its image) one patch set
 * against the old image at old_path: the patches that are smaller than the chunks they replace,
 * appended to data_fd.  *data_size and *tables_size are the bundle's running totals (patch
 * data, patch tables: MANIFEST_MAX_PATCH_TABLES_SIZE).  A set with no patch is not added
 * (*ret_added false). */
int patch_set_create(ManifestImage *img, int new_fd, const char *old_path, uint32_t window, int level, int data_fd,
                     uint64_t *data_size, uint64_t *tables_size, bool *ret_added, UError *err);
