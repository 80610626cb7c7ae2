/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "macro.h"
#include "util.h"

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (*p - '0'), &v))
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                unsigned shift;
        } table[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
        char buf[32];
        size_t n;
        uint64_t v;
        unsigned shift = 0;
        int r;

        if (isempty(s))
                return -EINVAL;
        n = strlen(s);
        if (n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n + 1);
        /* Accept "16M", "16MiB" and "16m". */
        if (n > 3 && streq(buf + n - 2, "iB"))
                buf[n -= 2] = 0;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (n > 1 && toupper((unsigned char) buf[n - 1]) == table[i].suffix) {
                        shift = table[i].shift;
                        buf[--n] = 0;
                        break;
                }
        r = parse_u64(buf, &v);
        if (r < 0)
                return r;
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

int parse_boolean(const char *s) {
        if (!s)
                return -EINVAL;
        if (streq(s, "1") || strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "on") == 0)
                return 1;
        if (streq(s, "0") || strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 || strcasecmp(s, "off") == 0)
                return 0;
        return -EINVAL;
}

void hex_encode(const uint8_t *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = 0;
}

static int unhex_char(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int hex_decode(const char *in, uint8_t *out, size_t n) {
        if (!in || strlen(in) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = unhex_char(in[2 * i]), lo = unhex_char(in[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

void strv_free(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

bool string_is_safe_name(const char *s) {
        if (isempty(s) || s[0] == '.' || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f || *p == '/' || *p == '\\')
                        return false;
        return true;
}

uint64_t now_realtime_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec < 0 ? 0 : (uint64_t) ts.tv_sec;
}

uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t random_below(uint64_t n) {
        uint64_t x = 0;

        if (n == 0)
                return 0;
        if (getrandom(&x, sizeof(x), 0) != sizeof(x))
                x = (uint64_t) rand();
        return x % n;
}

void format_timestamp(uint64_t sec, char *buf, size_t size) {
        time_t t = (time_t) sec;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "%llu", (unsigned long long) sec);
}

int parse_timestamp(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end;
        time_t t;

        if (!s || !*s)
                return -EINVAL;
        if (s[0] == '@')
                return parse_u64(s + 1, ret);
        end = strptime(s, "%Y-%m-%d", &tm);
        if (end && *end == 'T')
                end = strptime(end + 1, "%H:%M:%SZ", &tm);
        if (!end || *end)
                return -EINVAL;
        t = timegm(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (uint64_t) t;
        return 0;
}
