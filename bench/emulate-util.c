/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulate-util.h"

uint64_t digest_low64(const Digest *d) {
        uint64_t k;

        memcpy(&k, d->b, sizeof(k));
        return k;
}

static int set_grow(Set *s) {
        Set bigger = { .cap = s->cap ? s->cap * 2 : 4096 };

        bigger.slots = calloc(bigger.cap, sizeof(Digest));
        bigger.used = calloc(bigger.cap, sizeof(bool));
        if (!bigger.slots || !bigger.used) {
                free(bigger.slots);
                free(bigger.used);
                return -ENOMEM;
        }
        for (size_t i = 0; i < s->cap; i++)
                if (s->used[i])
                        (void) set_add(&bigger, &s->slots[i]);
        free(s->slots);
        free(s->used);
        *s = bigger;
        return 0;
}

int set_add(Set *s, const Digest *d) {
        size_t i;
        int r;

        if ((s->n + 1) * 2 > s->cap) {
                r = set_grow(s);
                if (r < 0)
                        return r;
        }
        for (i = digest_low64(d) & (s->cap - 1); s->used[i]; i = (i + 1) & (s->cap - 1))
                if (!memcmp(s->slots[i].b, d->b, sizeof(d->b)))
                        return 0;
        s->used[i] = true;
        s->slots[i] = *d;
        s->n++;
        return 1;
}

bool set_has(const Set *s, const Digest *d) {
        if (s->cap == 0)
                return false;
        for (size_t i = digest_low64(d) & (s->cap - 1); s->used[i]; i = (i + 1) & (s->cap - 1))
                if (!memcmp(s->slots[i].b, d->b, sizeof(d->b)))
                        return true;
        return false;
}

void set_done(Set *s) {
        free(s->slots);
        free(s->used);
        *s = (Set) {};
}

int image_map(const char *path, Image *ret) {
        struct stat st;
        void *p;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (st.st_size == 0) {
                close(fd);
                return -EINVAL;
        }
        p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
                return -errno;
        (void) madvise(p, (size_t) st.st_size, MADV_SEQUENTIAL);
        *ret = (Image) { .p = p, .size = (size_t) st.st_size };
        return 0;
}

int parse_size(const char *s, uint64_t min, uint64_t max, size_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        if (*end == 'K' || *end == 'k')
                v <<= 10, end++;
        else if (*end == 'M' || *end == 'm')
                v <<= 20, end++;
        if (*end || v < min || v > max)
                return -EINVAL;
        *ret = (size_t) v;
        return 0;
}
