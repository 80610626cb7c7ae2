/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "read-at.h"

/* The one read-ahead buffer of a delta install (issue #13: device memory <= 16 MiB): a window
 * of the bundle's bytes that the chunk ranges (install-delta.c) and the patch ranges
 * (delta-patch.c) both read through.  Each read asks for the bytes wanted and reads ahead to a
 * limit the caller knows is useful (the end of its range), so one request serves many chunks or
 * patches.  The two kinds take turns: moving to the other kind's bytes drops what the window
 * held, so callers bound their read-ahead where the other kind is due next. */
typedef struct DeltaWindow {
        ReadAt bundle;
        uint8_t *buf;
        size_t size, len;   /* buf holds len of size bytes */
        uint64_t start;     /* the bundle offset of buf[0] */
} DeltaWindow;

/* A window of at least 'size' bytes over bundle: -ENOMEM. */
int delta_window_init(DeltaWindow *w, const ReadAt *bundle, size_t size);
void delta_window_done(DeltaWindow *w);
/* Room for at least 'size' bytes (a larger patch than any chunk): what it held is dropped. */
int delta_window_reserve(DeltaWindow *w, size_t size);
/* The bundle's bytes [offset, offset + size) in the window (*ret points into it, valid until the
 * next call), reading ahead up to 'limit' (>= offset + size) in one read of at most the
 * window's size.  *ret_read: bytes read from the bundle by this call.  -ENOBUFS when size is
 * larger than the window, else read_at's error. */
int delta_window_get(DeltaWindow *w, uint64_t offset, size_t size, uint64_t limit, const uint8_t **ret,
                     size_t *ret_read);
