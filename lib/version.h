/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The longest version string version_is_valid() accepts: the limit manifest_parse() already puts
 * on a bundle's "version" (MANIFEST_STRING_MAX in lib/manifest.c), so that every version this
 * accepts also fits a manifest. */
#define VERSION_MAX 255

/* Orders two version strings the way the UAPI Version Format Specification 1.0 and systemd's
 * strverscmp_improved() (`systemd-analyze compare-versions`) do: <0 if a is older than b, 0 if
 * they are equivalent, >0 if a is newer.  '~' starts a pre-release (1.0~rc1 < 1.0), '^' a patch
 * release (1.0 < 1.0^post1 < 1.0.1), '-' separates version and release (1.0-2 < 1.0.1); numbers
 * compare by value however long they are (leading zeros ignored), letters like strcmp()
 * (A < Z < a); other characters only separate.  Equivalent is not identical ("1.01" and "1.1",
 * "1+" and "1", "" and "_" compare 0), so anti-rollback must treat 0 as "same version".
 * Defined for any NUL-terminated bytes, NULL is taken as ""; never allocates, never fails. */
int version_compare(const char *a, const char *b);

/* What may be stored and compared as a version: 1..VERSION_MAX bytes of printable ASCII other
 * than space (0x21..0x7e).  Stricter than manifest_parse(), which lets spaces and UTF-8 through:
 * the comparison skips those, so "1.0 β" and "1.0 α" would compare equal. */
bool version_is_valid(const char *s);
