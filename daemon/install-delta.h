/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "error.h"
#include "macro.h"

/* The delta install of a format-2 bundle (issue #13): chunks the device already holds come from
 * its slots (re-hashed against the signed table), the rest from coalesced byte ranges of the
 * bundle.  It hands out the same authenticated chunks in the same order as the bundle reader
 * does, so the write stage (install-write.c) is the same for both. */

typedef struct InstallJob InstallJob;
typedef struct InstallDelta InstallDelta;

/* 0 and *ret = NULL when the install is not a delta install and streams as before: a format-1
 * or RAUC bundle, a pipe, a server that ignores Range.  Else 0 and the delta source, or an
 * error (ERROR_INVALID_BUNDLE: the file's size is not the bundle's). */
int install_delta_new(InstallJob *j, InstallDelta **ret, UError *err);
InstallDelta *install_delta_free(InstallDelta *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(InstallDelta *, install_delta_free);

/* As bundle_reader_next_chunk_size() and bundle_reader_next_chunk_into(). */
uint32_t install_delta_next_chunk_size(const InstallDelta *d);
int install_delta_next_chunk_into(InstallDelta *d, void *dst, size_t dst_size, BundleChunk *ret, UError *err);
