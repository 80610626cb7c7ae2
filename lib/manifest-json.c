/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chunk.h"
#include "manifest-json.h"
#include "manifest-scan.h"
#include "util.h"

/* Every rejection: ERROR_INVALID_BUNDLE, "Manifest invalid: ...". */
#define bad(err, ...) manifest_invalid(err, __VA_ARGS__)

int manifest_get_member(struct json_object *o, const char *where, const char *key, json_type type,
                        bool required, struct json_object **ret, UError *err) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                if (required)
                        return bad(err, "%s\"%s\" is missing", where, key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, type))
                return bad(err, "%s\"%s\" must be of type %s, not %s", where, key,
                           json_type_to_name(type), json_type_to_name(json_object_get_type(v)));
        *ret = v;
        return 0;
}

/* An integer in [min, max], max <= INT64_MAX: json-c stores numbers above INT64_MAX as uint64
 * and clamps anything beyond 64 bits to UINT64_MAX or INT64_MIN, so capping every field at
 * INT64_MAX also refuses overflowing literals instead of reading them as a clamped value. */
int manifest_get_u64(struct json_object *o, const char *where, const char *key, uint64_t min, uint64_t max,
                     bool required, uint64_t *ret, UError *err) {
        struct json_object *v;
        uint64_t u;
        int r;

        r = manifest_get_member(o, where, key, json_type_int, required, &v, err);
        if (r < 0)
                return r;
        if (!v)
                return 0; /* optional and absent: keep the default */
        if (json_object_get_int64(v) < 0)
                return bad(err, "%s\"%s\" must not be negative", where, key);
        u = json_object_get_uint64(v);
        if (u < min || u > max)
                return bad(err, "%s\"%s\" %llu out of range %llu..%llu", where, key,
                           (unsigned long long) u, (unsigned long long) min,
                           (unsigned long long) max);
        *ret = u;
        return 0;
}

/* Exactly 64 lower-case hex digits: one spelling per hash, so hashes compare as strings too. */
int manifest_parse_sha256(struct json_object *v, const char *what, uint8_t ret[SHA256_SIZE], UError *err) {
        const char *s = json_object_get_string(v);

        if (json_object_get_string_len(v) != 2 * SHA256_SIZE || strlen(s) != 2 * SHA256_SIZE)
                return bad(err, "%s must be 64 hex digits", what);
        for (size_t i = 0; i < 2 * SHA256_SIZE; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return bad(err, "%s must be 64 lower-case hex digits", what);
        if (hex_decode(s, ret, SHA256_SIZE) < 0)
                return bad(err, "%s must be 64 hex digits", what);
        return 0;
}

int manifest_get_sha256(struct json_object *o, const char *where, const char *key, uint8_t ret[SHA256_SIZE],
                        UError *err) {
        struct json_object *v;
        char what[160];
        int r;

        r = manifest_get_member(o, where, key, json_type_string, true, &v, err);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "%s\"%s\"", where, key);
        return manifest_parse_sha256(v, what, ret, err);
}

struct json_object *manifest_json_sha256(const uint8_t h[SHA256_SIZE]) {
        char hex[SHA256_HEX_SIZE];

        hex_encode(h, SHA256_SIZE, hex);
        return json_object_new_string(hex);
}
