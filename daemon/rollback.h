/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* The anti-rollback floors, kept by the daemon in two copies in its data directory
 * (rollback-floor.0 and rollback-floor.1), each replaced atomically, one after the other, so a
 * power cut or a corrupted copy never loses the floor:
 *   security_version  the lowest bundle security-version that may be installed or activated;
 *                     raised only when a slot is marked good in its own boot
 *   time              the newest trusted time seen (seconds since the epoch): certificate
 *                     expiry is checked against max(clock, build time, this) */
#define ROLLBACK_FILE_PREFIX "rollback-floor"

typedef struct RollbackFloor {
        uint64_t security_version;
        uint64_t time;
} RollbackFloor;

/* Reads both copies; each one that is intact counts, the result is the larger value of each
 * field.  Never fails on a missing or damaged copy: *ret_copies says how many were intact
 * (0, 1 or 2), so the caller can tell a fresh device (no file at all: *ret_missing true) from
 * damage, and rewrite.  Errors only for out of memory. */
int rollback_load(const Config *c, RollbackFloor *ret, unsigned *ret_copies, bool *ret_missing);
/* Writes copy 0, then copy 1 (each: temp file, fsync, rename, fsync of the directory). */
int rollback_save(const Config *c, const RollbackFloor *f);
/* Removes temp files a power cut left (no writer runs at start-up); returns how many. */
int rollback_remove_stale_temp(const Config *c);

/* For tests and fuzzing: parse one copy's text. */
int rollback_parse(const char *data, size_t size, RollbackFloor *ret);
