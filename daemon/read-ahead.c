/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "read-ahead.h"
#include "util.h"

/* A slot's life: the thread reads stored bytes into a FREE slot (READ), then whichever thread
 * is free first claims a READ slot (HASHING) and checks it against the signed table (READY or
 * BAD).  Only the install thread decodes, only READY slots, in order.  Why two hashers: where
 * the image is incompressible, the stored bytes are as large as the raw ones and SHA-256 of
 * them costs five times the decoding, so one hashing thread left the other core idle; the
 * install thread hashes the next READ slot whenever the head is not ready yet. */
typedef enum SlotState {
        SLOT_FREE,
        SLOT_READ,
        SLOT_HASHING,
        SLOT_READY,
        SLOT_BAD,
} SlotState;

typedef struct Slot {
        uint8_t *buf;
        BundleStoredChunk chunk;
        SlotState state;
        UError error;             /* SLOT_BAD */
} Slot;

struct ReadAhead {
        BundleReader *reader;
        const atomic_bool *cancel;
        int cancel_fd;

        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* a slot changed state or was freed, reading ended, or stop */

        Slot *slots;
        size_t n_slots, stored_max;
        size_t head, filled;      /* the next slot to decode; how many are READ or later from there */
        bool read_done;           /* no more reads: after the filled slots comes 'result' */
        int result;               /* 0: end of the bundle; < 0: 'error' */
        UError error;
        bool stop;
};

/* The oldest READ slot, claimed (HASHING); NULL if none.  Under the lock. */
static Slot *claim_unchecked(ReadAhead *a) {
        for (size_t i = 0; i < a->filled; i++) {
                Slot *s = &a->slots[(a->head + i) % a->n_slots];

                if (s->state == SLOT_READ) {
                        s->state = SLOT_HASHING;
                        return s;
                }
        }
        return NULL;
}

/* Checks a claimed slot outside the lock; takes the lock again to publish the result. */
static void check_slot(ReadAhead *a, Slot *s) {
        UError err = UERROR_NULL;
        int r;

        pthread_mutex_unlock(&a->lock);
        r = bundle_reader_check_stored(a->reader, &s->chunk, s->buf, &err);
        pthread_mutex_lock(&a->lock);
        s->state = r < 0 ? SLOT_BAD : SLOT_READY;
        s->error = err;
        pthread_cond_broadcast(&a->cond);
}

/* Only this thread reads from the bundle reader's stream while it runs; the install thread
 * only checks and decodes (bundle_reader_check_stored() reads the verified manifest,
 * bundle_reader_decode() touches the decoder's state alone).  Reading comes first, while a
 * slot is free: it is a copy, and it gives the other hasher something to take. */
static void *read_ahead_thread(void *userdata) {
        ReadAhead *a = userdata;
        UError err = UERROR_NULL;
        int r = 0;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                Slot *s;

                if (a->stop)
                        break;
                if (!a->read_done && a->filled < a->n_slots) {
                        s = &a->slots[(a->head + a->filled) % a->n_slots];
                        pthread_mutex_unlock(&a->lock);

                        /* The slot is this thread's until it is counted as filled. */
                        if (a->cancel && atomic_load(a->cancel))
                                r = uerror_set(&err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
                        else
                                r = bundle_reader_read_stored(a->reader, s->buf, a->stored_max, &s->chunk, &err);
                        pthread_mutex_lock(&a->lock);
                        if (r <= 0) {
                                a->result = r < 0 ? r : 0;
                                a->error = err;
                                a->read_done = true;
                        } else {
                                s->state = SLOT_READ;
                                a->filled++;
                        }
                        pthread_cond_broadcast(&a->cond);
                        continue;
                }
                s = claim_unchecked(a);
                if (s) {
                        check_slot(a, s);
                        continue;
                }
                if (a->read_done)
                        break; /* nothing to read, nothing to check: the install thread has the rest */
                pthread_cond_wait(&a->cond, &a->lock);
        }
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
        a->n_slots = MAX((size_t) READ_AHEAD_MIN_CHUNKS, READ_AHEAD_BYTES / stored_max);
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
                if (!a->read_done && a->cancel_fd >= 0)
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

/* Waits until the head slot is checked, checking READ slots itself meanwhile (the head first:
 * it is needed next).  1: the head is READY; 0: the end; < 0: the head failed its check or
 * reading failed (*err says why), after every chunk before it. */
static int wait_head(ReadAhead *a, UError *err) {
        int r;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                Slot *s;

                if (a->filled > 0 && a->slots[a->head].state == SLOT_READY) {
                        r = 1;
                        break;
                }
                if (a->filled > 0 && a->slots[a->head].state == SLOT_BAD) {
                        if (err)
                                *err = a->slots[a->head].error;
                        r = a->slots[a->head].error.error < 0 ? a->slots[a->head].error.error : -EBADMSG;
                        break;
                }
                if (a->filled == 0 && a->read_done) {
                        if (err && a->result < 0)
                                *err = a->error;
                        r = a->result;
                        break;
                }
                s = claim_unchecked(a);
                if (s)
                        check_slot(a, s);
                else
                        pthread_cond_wait(&a->cond, &a->lock);
        }
        pthread_mutex_unlock(&a->lock);
        return r;
}

uint32_t read_ahead_next_chunk_size(ReadAhead *a) {
        return wait_head(a, NULL) > 0 ? a->slots[a->head].chunk.raw_size : 0;
}

int read_ahead_next_chunk_into(ReadAhead *a, void *dst, size_t dst_size, BundleChunk *ret, UError *err) {
        Slot *s;
        int r;

        r = wait_head(a, err);
        if (r <= 0)
                return r;
        s = &a->slots[a->head];
        r = bundle_reader_decode(a->reader, &s->chunk, s->buf, dst, dst_size, ret, err);
        if (r < 0)
                return r;
        /* The chunk is in dst now: its slot may take the next one. */
        pthread_mutex_lock(&a->lock);
        s->state = SLOT_FREE;
        a->head = (a->head + 1) % a->n_slots;
        a->filled--;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        return r;
}
