/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "read-ahead.h"
#include "util.h"

typedef struct Slot {
        uint8_t *buf;
        BundleStoredChunk chunk;
} Slot;

struct ReadAhead {
        BundleReader *reader;
        const atomic_bool *cancel;
        int cancel_fd;

        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* a slot was filled or freed, the thread ended, or stop */

        Slot *slots;
        size_t n_slots, stored_max;
        size_t head, filled;      /* the next slot to decode; how many are filled from there */
        bool finished;            /* the thread ended: after the filled slots comes 'result' */
        int result;               /* 0: end of the bundle; < 0: 'error' */
        UError error;
        bool stop;
};

/* Only this thread reads from the bundle reader's stream while it runs; the install thread
 * only decodes (bundle_reader_decode() touches the decoder's state alone). */
static void *read_ahead_thread(void *userdata) {
        ReadAhead *a = userdata;
        UError err = UERROR_NULL;
        int r;

        for (;;) {
                Slot *s;

                pthread_mutex_lock(&a->lock);
                while (!a->stop && a->filled == a->n_slots)
                        pthread_cond_wait(&a->cond, &a->lock);
                if (a->stop) {
                        pthread_mutex_unlock(&a->lock);
                        r = uerror_set(&err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
                        break;
                }
                s = &a->slots[(a->head + a->filled) % a->n_slots];
                pthread_mutex_unlock(&a->lock);

                if (a->cancel && atomic_load(a->cancel)) {
                        r = uerror_set(&err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
                        break;
                }
                /* The slot is this thread's until it is counted as filled. */
                r = bundle_reader_next_stored(a->reader, s->buf, a->stored_max, &s->chunk, &err);
                if (r <= 0)
                        break;
                pthread_mutex_lock(&a->lock);
                a->filled++;
                pthread_cond_broadcast(&a->cond);
                pthread_mutex_unlock(&a->lock);
        }

        pthread_mutex_lock(&a->lock);
        a->result = r < 0 ? r : 0;
        a->error = err;
        a->finished = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

int read_ahead_start(BundleReader *r, const atomic_bool *cancel, int cancel_fd, ReadAhead **ret) {
        _cleanup_(read_ahead_freep) ReadAhead *a = NULL;
        size_t stored_max = bundle_reader_stored_max(r);
        int k;

        if (stored_max == 0)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->reader = r;
        a->cancel = cancel;
        a->cancel_fd = cancel_fd;
        a->stored_max = stored_max;
        a->n_slots = MAX((size_t) 2, READ_AHEAD_BYTES / stored_max);
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        a->slots = calloc(a->n_slots, sizeof(Slot));
        if (!a->slots)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_slots; i++) {
                a->slots[i].buf = malloc(stored_max);
                if (!a->slots[i].buf)
                        return -ENOMEM;
        }
        k = -pthread_create(&a->thread, NULL, read_ahead_thread, a);
        if (k < 0)
                return k;
        a->started = true;
        *ret = TAKE_PTR(a);
        return 0;
}

ReadAhead *read_ahead_free(ReadAhead *a) {
        if (!a)
                return NULL;
        if (a->started) {
                pthread_mutex_lock(&a->lock);
                a->stop = true;
                /* It may wait for a stream that sends nothing more: make its read return. */
                if (!a->finished && a->cancel_fd >= 0)
                        (void) eventfd_write(a->cancel_fd, 1);
                pthread_cond_broadcast(&a->cond);
                pthread_mutex_unlock(&a->lock);
                pthread_join(a->thread, NULL);
        }
        for (size_t i = 0; a->slots && i < a->n_slots; i++)
                free(a->slots[i].buf);
        free(a->slots);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        return mfree(a);
}

/* Waits for the next item: true if it is a chunk (in a->slots[a->head]). */
static bool wait_head(ReadAhead *a) {
        bool have;

        pthread_mutex_lock(&a->lock);
        while (a->filled == 0 && !a->finished)
                pthread_cond_wait(&a->cond, &a->lock);
        have = a->filled > 0;
        pthread_mutex_unlock(&a->lock);
        return have;
}

uint32_t read_ahead_next_chunk_size(ReadAhead *a) {
        return wait_head(a) ? a->slots[a->head].chunk.raw_size : 0;
}

int read_ahead_next_chunk_into(ReadAhead *a, void *dst, size_t dst_size, BundleChunk *ret, UError *err) {
        Slot *s;
        int r;

        if (!wait_head(a)) {
                if (a->result < 0)
                        *err = a->error;
                return a->result;
        }
        s = &a->slots[a->head];
        r = bundle_reader_decode(a->reader, &s->chunk, s->buf, dst, dst_size, ret, err);
        if (r < 0)
                return r;
        /* The chunk is in dst now: its slot may take the next one. */
        pthread_mutex_lock(&a->lock);
        a->head = (a->head + 1) % a->n_slots;
        a->filled--;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        return r;
}
