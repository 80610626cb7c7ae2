/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

/* The rules by which the manifest's members are read and written, for lib/manifest.c and
 * lib/manifest-patch.c alike (internal to them), so that a key means the same and is refused
 * with the same words wherever it is.  'where' prefixes every message ("images[0]: "); each
 * refusal is ERROR_INVALID_BUNDLE, "Manifest invalid: ...". */

/* Member 'key' of type 'type': *ret, or *ret = NULL when absent and not 'required'. */
int manifest_get_member(struct json_object *o, const char *where, const char *key, json_type type, bool required,
                        struct json_object **ret, UError *err);
/* An integer in [min, max] (max <= INT64_MAX); absent and not 'required': 0, *ret unchanged. */
int manifest_get_u64(struct json_object *o, const char *where, const char *key, uint64_t min, uint64_t max,
                     bool required, uint64_t *ret, UError *err);
/* Exactly 64 lower-case hex digits: one spelling per hash, so hashes compare as strings too.
 * 'what' names the value in the message. */
int manifest_parse_sha256(struct json_object *v, const char *what, uint8_t ret[32], UError *err);
/* A required member that is such a hash. */
int manifest_get_sha256(struct json_object *o, const char *where, const char *key, uint8_t ret[32], UError *err);

/* A hash as 64 lower-case hex digits; NULL on ENOMEM. */
struct json_object *manifest_json_sha256(const uint8_t h[32]);
