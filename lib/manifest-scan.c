/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-scan.h"

int manifest_invalid(UError *err, const char *fmt, ...) {
        char buf[sizeof(err->message)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Manifest invalid: %s", buf);
}

void manifest_scan_done(ManifestScan *s) {
        free(s->skeleton);
        for (size_t i = 0; i < MANIFEST_MAX_IMAGES; i++)
                free(s->tables[i]);
        *s = (ManifestScan) {};
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *json, size_t size, size_t p) {
        while (p < size && is_space(json[p]))
                p++;
        return p;
}

static int append(ManifestScan *s, size_t *cap, const char *data, size_t n) {
        if (s->skeleton_size + n + 1 > *cap) {
                size_t c = MAX(*cap * 2, s->skeleton_size + n + 1);
                char *p = realloc(s->skeleton, c);

                if (!p)
                        return -ENOMEM;
                s->skeleton = p;
                *cap = c;
        }
        memcpy(s->skeleton + s->skeleton_size, data, n);
        s->skeleton_size += n;
        s->skeleton[s->skeleton_size] = 0;
        return 0;
}

/* Parses [[size,"sha256"],...] starting at json[*pos] == '[' and leaves *pos on the closing
 * bracket.  Only the exact shape our writer produces (plain integers, 64 lower-case hex digits
 * without escapes, any JSON whitespace) is accepted. */
static int parse_table(const char *json, size_t size, size_t *pos, size_t image, ScanChunk **ret,
                       uint64_t *ret_n, UError *err) {
        _cleanup_free_ ScanChunk *t = NULL;
        size_t n = 0, cap = 0, p = *pos + 1;

        p = skip_space(json, size, p);
        if (p < size && json[p] == ']')
                goto done;

        for (;;) {
                ScanChunk *c;
                uint64_t v = 0;
                size_t digits = 0;

                if (n == cap) {
                        ScanChunk *x;

                        cap = cap ? cap * 2 : 64;
                        x = reallocarray(t, cap, sizeof(ScanChunk));
                        if (!x)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        t = x;
                }
                c = &t[n];

                p = skip_space(json, size, p);
                if (p >= size || json[p] != '[')
                        goto shape;
                p = skip_space(json, size, p + 1);
                if (p < size && json[p] == '-')
                        return manifest_invalid(err, "images[%zu]: \"chunks\"[%zu] stored size must "
                                                "not be negative", image, n);
                for (; p < size && json[p] >= '0' && json[p] <= '9'; p++, digits++) {
                        if (digits == 1 && v == 0)
                                goto shape; /* no leading zeros in JSON */
                        if (__builtin_mul_overflow(v, 10, &v) ||
                            __builtin_add_overflow(v, (uint64_t) (json[p] - '0'), &v))
                                return manifest_invalid(err, "images[%zu]: \"chunks\"[%zu] stored "
                                                        "size out of range", image, n);
                }
                if (digits == 0)
                        goto shape;
                c->size = v;

                p = skip_space(json, size, p);
                if (p >= size || json[p] != ',')
                        goto shape;
                p = skip_space(json, size, p + 1);
                if (p >= size || json[p] != '"')
                        goto shape;
                p++;
                for (size_t i = 0; i < 2 * sizeof(c->sha256); i++, p++) {
                        char h = p < size ? json[p] : 0;
                        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;

                        if (d < 0)
                                goto hash;
                        if (i % 2 == 0)
                                c->sha256[i / 2] = (uint8_t) (d << 4);
                        else
                                c->sha256[i / 2] |= (uint8_t) d;
                }
                if (p >= size || json[p] != '"')
                        goto hash;
                p = skip_space(json, size, p + 1);
                if (p >= size || json[p] != ']')
                        goto shape;
                n++;

                p = skip_space(json, size, p + 1);
                if (p < size && json[p] == ']')
                        break;
                if (p >= size || json[p] != ',')
                        goto shape;
                p++;
        }
done:
        *pos = p;
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
shape:
        return manifest_invalid(err, "images[%zu]: \"chunks\"[%zu] must be [stored-size, \"sha256\"]",
                                image, n);
hash:
        return manifest_invalid(err, "images[%zu]: \"chunks\"[%zu] sha256 must be 64 lower-case hex "
                                "digits", image, n);
}

int manifest_scan(const char *json, size_t size, ManifestScan *s, UError *err) {
        struct {
                bool object;
                bool expect_key;  /* object: the next string is a key */
                bool key_images;  /* object: the last key was "images" (top level only) */
                bool key_chunks;  /* object: the last key was "chunks" */
                bool images;      /* array: the top-level "images" */
                size_t ordinal;   /* object: index into key_counts */
                size_t elements;  /* array: commas so far, i.e. index of the current element */
        } stack[MANIFEST_JSON_DEPTH + 1];
        size_t depth = 0, copied = 0, cap = 0;
        int r;

        *s = (ManifestScan) {};
        for (size_t i = 0; i < size; i++) {
                char c = json[i];

                switch (c) {
                case '"': {
                        size_t start = i;

                        for (i++; i < size && json[i] != '"'; i++)
                                if (json[i] == '\\')
                                        i++;
                        if (i >= size)
                                return manifest_invalid(err, "JSON document is incomplete");
                        if (depth > 0 && stack[depth - 1].object && stack[depth - 1].expect_key) {
                                size_t len = i - start + 1;

                                s->key_counts[stack[depth - 1].ordinal]++;
                                stack[depth - 1].expect_key = false;
                                stack[depth - 1].key_images = depth == 1 && len == 8 &&
                                                              memcmp(json + start, "\"images\"", 8) == 0;
                                stack[depth - 1].key_chunks = len == 8 &&
                                                              memcmp(json + start, "\"chunks\"", 8) == 0;
                        }
                        break;
                }
                case '[':
                        /* The value of "chunks" in an element of the top-level "images". */
                        if (depth == 3 && stack[0].object && stack[1].images && stack[2].object &&
                            stack[2].key_chunks && !stack[2].expect_key) {
                                size_t image = stack[1].elements, start = i;

                                if (image >= MANIFEST_MAX_IMAGES)
                                        return manifest_invalid(err, "\"images\" must have 1..%d entries",
                                                                MANIFEST_MAX_IMAGES);
                                if (s->has_table[image])
                                        return manifest_invalid(err, "duplicate key in an object");
                                r = parse_table(json, size, &i, image, &s->tables[image],
                                                &s->n_chunks[image], err);
                                if (r < 0)
                                        return r;
                                s->has_table[image] = true;
                                stack[2].key_chunks = false;
                                if (append(s, &cap, json + copied, start - copied) < 0 ||
                                    append(s, &cap, "null", 4) < 0)
                                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                                copied = i + 1;
                                break;
                        }
                        __attribute__((fallthrough));
                case '{':
                        if (depth >= ELEMENTSOF(stack) - 1)
                                return manifest_invalid(err, "JSON nesting too deep");
                        stack[depth] = (typeof(stack[0])) {
                                .object = c == '{',
                                .expect_key = c == '{',
                                .images = c == '[' && depth == 1 && stack[0].object &&
                                          stack[0].key_images && !stack[0].expect_key,
                        };
                        if (c == '{') {
                                if (s->n_objects >= MANIFEST_MAX_OBJECTS)
                                        return manifest_invalid(err, "more than %d objects",
                                                                MANIFEST_MAX_OBJECTS);
                                stack[depth].ordinal = s->n_objects++;
                        }
                        depth++;
                        break;
                case '}':
                case ']':
                        if (depth == 0)
                                return manifest_invalid(err, "not valid JSON (unbalanced '%c')", c);
                        depth--;
                        break;
                case ',':
                        if (depth > 0 && stack[depth - 1].object)
                                stack[depth - 1].expect_key = true;
                        else if (depth > 0)
                                stack[depth - 1].elements++;
                        break;
                default:
                        /* Besides strings, JSON has only these characters: no NaN, Infinity,
                         * comments or single quotes. */
                        if (!strchr(" \t\r\n:0123456789-+.eEtruefalsn", c) || c == 0)
                                return manifest_invalid(err, "not valid JSON (unexpected '%c')", c);
                }
        }
        if (append(s, &cap, json + copied, size - copied) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        return 0;
}
