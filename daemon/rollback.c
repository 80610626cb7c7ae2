/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The anti-rollback floors (rollback.h).  Text, so a technician can read them; each copy
 * carries the sha256 of its body, so a torn or bit-rotten copy is recognised and the other
 * one counts.  A copy is never trusted to lower a floor: loading takes the larger value of the
 * intact copies. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "fileio.h"
#include "log.h"
#include "rollback.h"
#include "util.h"

#define ROLLBACK_MAGIC "update1-rollback-floor 1\n"
#define ROLLBACK_MAX_SIZE 4096

static char *copy_path(const Config *c, unsigned i) {
        return strdup_printf("%s/" ROLLBACK_FILE_PREFIX ".%u", c->data_directory, i);
}

static void format_body(const RollbackFloor *f, char *buf, size_t size) {
        snprintf(buf, size, ROLLBACK_MAGIC "security-version %" PRIu64 "\ntime %" PRIu64 "\n",
                 f->security_version, f->time);
}

/* "<key> <decimal>\n" at *p; advances *p.  No sign, no leading zeros, at most INT64_MAX. */
static int parse_line(const char **p, const char *end, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);
        const char *s = *p;
        uint64_t v = 0;

        if ((size_t) (end - s) < klen + 1 || memcmp(s, key, klen) != 0 || s[klen] != ' ')
                return -EBADMSG;
        s += klen + 1;
        if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] != '\n'))
                return -EBADMSG;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                if (v > (INT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (s >= end || *s != '\n')
                return -EBADMSG;
        *p = s + 1;
        *ret = v;
        return 0;
}

int rollback_parse(const char *data, size_t size, RollbackFloor *ret) {
        const char *p = data, *end = data + size, *sum;
        uint8_t digest[SHA256_SIZE];
        char hex[SHA256_HEX_SIZE];
        RollbackFloor f = {};
        int r;

        if (size < strlen(ROLLBACK_MAGIC) || memcmp(data, ROLLBACK_MAGIC, strlen(ROLLBACK_MAGIC)) != 0)
                return -EBADMSG;
        p += strlen(ROLLBACK_MAGIC);
        r = parse_line(&p, end, "security-version", &f.security_version);
        if (r < 0)
                return r;
        r = parse_line(&p, end, "time", &f.time);
        if (r < 0)
                return r;

        /* "sha256 <64 hex>\n" over everything before it, and nothing after. */
        sum = p;
        if ((size_t) (end - sum) != 7 + 64 + 1 || memcmp(sum, "sha256 ", 7) != 0 || sum[7 + 64] != '\n')
                return -EBADMSG;
        r = sha256_buffer(data, (size_t) (sum - data), digest);
        if (r < 0)
                return r;
        hex_encode(digest, sizeof(digest), hex);
        if (memcmp(hex, sum + 7, 64) != 0)
                return -EBADMSG;

        *ret = f;
        return 0;
}

int rollback_load(const Config *c, RollbackFloor *ret, unsigned *ret_copies, bool *ret_missing) {
        RollbackFloor result = {};
        unsigned intact = 0, missing = 0;

        for (unsigned i = 0; i < 2; i++) {
                _cleanup_free_ char *path = copy_path(c, i), *data = NULL;
                RollbackFloor f;
                size_t size;
                int r;

                if (!path)
                        return -ENOMEM;
                r = read_full_file(path, ROLLBACK_MAX_SIZE, &data, &size);
                if (r == -ENOENT) {
                        missing++;
                        continue;
                }
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        r = rollback_parse(data, size, &f);
                if (r < 0) {
                        log_warning_errno(r, "Anti-rollback floor copy %s is damaged (%m); the other copy counts", path);
                        continue;
                }
                intact++;
                result.security_version = MAX(result.security_version, f.security_version);
                result.time = MAX(result.time, f.time);
        }

        *ret = result;
        if (ret_copies)
                *ret_copies = intact;
        if (ret_missing)
                *ret_missing = missing == 2;
        return 0;
}

int rollback_save(const Config *c, const RollbackFloor *f) {
        char body[256], text[256 + 7 + 64 + 2], hex[SHA256_HEX_SIZE];
        uint8_t digest[SHA256_SIZE];
        int r;

        format_body(f, body, sizeof(body));
        r = sha256_buffer(body, strlen(body), digest);
        if (r < 0)
                return r;
        hex_encode(digest, sizeof(digest), hex);
        snprintf(text, sizeof(text), "%ssha256 %s\n", body, hex);

        r = mkdir_parents(c->data_directory, 0755);
        if (r < 0)
                return r;
        /* One copy after the other: a power cut leaves at least one intact copy, old or new. */
        for (unsigned i = 0; i < 2; i++) {
                _cleanup_free_ char *path = copy_path(c, i);

                if (!path)
                        return -ENOMEM;
                r = write_file_atomic(path, text, strlen(text), 0644);
                if (r < 0)
                        return r;
        }
        return 0;
}

int rollback_remove_stale_temp(const Config *c) {
        return unlink_matching(c->data_directory, ROLLBACK_FILE_PREFIX ".", ".tmp");
}
