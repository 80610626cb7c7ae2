/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delta-window.h"
#include "macro.h"

int delta_window_init(DeltaWindow *w, const ReadAt *bundle, size_t size) {
        *w = (DeltaWindow) { .bundle = *bundle };
        return delta_window_reserve(w, size);
}

void delta_window_done(DeltaWindow *w) {
        free(w->buf);
        *w = (DeltaWindow) {};
}

int delta_window_reserve(DeltaWindow *w, size_t size) {
        uint8_t *buf;

        if (w->buf && size <= w->size)
                return 0;
        /* Not realloc(): the old bytes would be copied only to be dropped. */
        free(w->buf);
        w->buf = NULL;
        w->size = w->len = 0;
        w->start = 0;
        buf = malloc(MAX(size, (size_t) 1));
        if (!buf)
                return -ENOMEM;
        w->buf = buf;
        w->size = size;
        return 0;
}

int delta_window_get(DeltaWindow *w, uint64_t offset, size_t size, uint64_t limit, const uint8_t **ret,
                     size_t *ret_read) {
        uint64_t have_end = w->start + w->len;
        size_t keep, want;
        int r;

        if (size > w->size)
                return -ENOBUFS;
        *ret_read = 0;
        if (offset < w->start || offset > have_end) {
                w->start = offset;
                w->len = 0;
                have_end = offset;
        }
        if (offset + size > have_end) {
                /* What the window holds of the wanted bytes stays, moved to its front. */
                keep = (size_t) (have_end - offset);
                memmove(w->buf, w->buf + (offset - w->start), keep);
                w->start = offset;
                w->len = keep;
                want = (size_t) MIN((uint64_t) (w->size - keep), MAX(limit, offset + size) - (offset + keep));
                r = w->bundle.read_at(w->bundle.userdata, offset + keep, w->buf + keep, want);
                if (r < 0) {
                        w->len = 0; /* a short read may have left anything there */
                        return r;
                }
                w->len += want;
                *ret_read = want;
        }
        *ret = w->buf + (offset - w->start);
        return 0;
}
