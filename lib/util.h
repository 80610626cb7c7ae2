/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "123", "64K", "16M", "4G", "1T" (binary multiples) → bytes; overflow → -ERANGE. */
int parse_size(const char *s, uint64_t *ret);
/* Strict decimal uint64: no sign, no spaces, no trailing garbage, overflow → -ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
int parse_boolean(const char *s); /* 1, 0 or -EINVAL */

/* Lower-case hex; out must hold 2*n+1 bytes. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2*n hex digits → n bytes; anything else → -EINVAL. */
int hex_decode(const char *in, uint8_t *out, size_t n);
/* Frees a NULL-terminated string array and its strings; NULL is fine. */
void strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if s is printable ASCII without '/', control characters or leading '.': safe as a name. */
bool string_is_safe_name(const char *s);

/* Wall clock as seconds since the epoch; and as an RFC 3339 UTC string into buf (>= 21 bytes). */
uint64_t now_realtime_sec(void);
void format_timestamp(uint64_t sec, char *buf, size_t size);
/* CLOCK_MONOTONIC in microseconds: for timeouts and intervals, which must not jump with the
 * wall clock. */
uint64_t now_monotonic_usec(void);
/* A random number in [0, n) (0 if n is 0), for backoff jitter: getrandom(), not for secrets. */
uint64_t random_below(uint64_t n);
/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" (UTC) or "@SECONDS" → seconds since the epoch. */
int parse_timestamp(const char *s, uint64_t *ret);
