/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bundle.h"
#include "error.h"
#include "macro.h"

/* `updatectl bundle create --previous OLD`: what a device that runs OLD would make of the new
 * bundle.  Per image with an image of the same slot class in OLD: how much of it a delta
 * install could reuse (its format-2 chunks whose raw SHA-256 is in OLD's table), and a warning
 * for each superblock field that differs between the two builds for a reason other than the
 * change (docs/reproducible-images.md). */

typedef struct PreviousBundle PreviousBundle;

/* Opens OLD, verifies its signature against the roots in keyring_path, and decodes the first
 * bytes of every image of OLD whose slot class o->images also has (the bundle is read front to
 * back up to the last of them, every chunk checked against the signed table).  Any failure is an
 * error in err (ERROR_INVALID_ARGS, ERROR_IO, ERROR_INVALID_BUNDLE, ERROR_SIGNATURE_INVALID), so
 * that the caller stops before it writes anything. */
int previous_bundle_load(const char *path, const char *keyring_path, const BundleCreateOptions *o,
                         PreviousBundle **ret, UError *err);
PreviousBundle *previous_bundle_free(PreviousBundle *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PreviousBundle *, previous_bundle_free);

/* For the images of o (the bundle just written from them): the reuse estimate on stdout, a
 * "warning: " line on stderr for each build difference, and one when SOURCE_DATE_EPOCH is set
 * and an image's mkfs time is not it.  Nothing here is an error: an image that cannot be read
 * again is a warning too.  Returns the number of warnings. */
int previous_bundle_report(const PreviousBundle *p, const BundleCreateOptions *o);
