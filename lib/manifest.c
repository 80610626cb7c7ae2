/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cdc.h"
#include "chunk.h"
#include "json-util.h"
#include "manifest.h"
#include "manifest-json.h"
#include "manifest-scan.h"
#include "util.h"

#define MANIFEST_STRING_MAX 255
#define MANIFEST_DESCRIPTION_MAX 4096

static const char *const compression_table[_COMPRESSION_MAX] = {
        [COMPRESSION_NONE] = "none",
        [COMPRESSION_ZSTD] = "zstd",
};

const char *compression_to_string(Compression c) {
        if (c < 0 || c >= _COMPRESSION_MAX)
                return NULL;
        return compression_table[c];
}

Compression compression_from_string(const char *s) {
        if (!s)
                return _COMPRESSION_INVALID;
        for (int i = 0; i < _COMPRESSION_MAX; i++)
                if (streq(compression_table[i], s))
                        return (Compression) i;
        return _COMPRESSION_INVALID;
}

bool manifest_slotclass_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n < 1 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || (c != '_' && c != '-')))
                        return false;
        }
        return true;
}

static void image_done(ManifestImage *i) {
        free(i->slotclass);
        free(i->filename);
        free(i->chunks);
        free(i->table);
        for (size_t k = 0; k < i->n_patch_sets; k++)
                free(i->patch_sets[k].table);
        free(i->patch_sets);
}

void manifest_chunk_entry(const ManifestImage *img, uint64_t i, ChunkEntry *ret) {
        const uint8_t *e = img->table + i * CHUNK_TABLE_ENTRY_SIZE;
        uint32_t raw, stored;

        memcpy(&raw, e, sizeof(raw));
        memcpy(&stored, e + 4, sizeof(stored));
        *ret = (ChunkEntry) {
                .raw_size = le32toh(raw),
                .stored_size = le32toh(stored),
                .raw_sha256 = e + 8,
                .stored_sha256 = e + 8 + SHA256_SIZE,
        };
}

Manifest *manifest_free(Manifest *m) {
        if (!m)
                return NULL;
        free(m->compatible);
        free(m->version);
        free(m->build);
        free(m->description);
        for (size_t i = 0; i < m->n_images; i++)
                image_done(&m->images[i]);
        free(m->images);
        return mfree(m);
}

const ManifestImage *manifest_find_image(const Manifest *m, const char *slotclass) {
        if (!m || !slotclass)
                return NULL;
        for (size_t i = 0; i < m->n_images; i++)
                if (streq(m->images[i].slotclass, slotclass))
                        return &m->images[i];
        return NULL;
}

static int table_invalid(const ManifestImage *img, uint64_t i, const char *why, UError *err) {
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Chunk table of image %s invalid: entry %llu %s",
                          img->slotclass, (unsigned long long) i, why);
}

int manifest_check_chunk_table(const ManifestImage *img, UError *err) {
        uint64_t raw_sum = 0, stored_sum = 0;

        for (uint64_t c = 0; c < img->n_chunks; c++) {
                ChunkEntry e;

                manifest_chunk_entry(img, c, &e);
                if (e.raw_size == 0 || e.raw_size > img->chunk_size)
                        return table_invalid(img, c, "has a raw size out of range", err);
                if (e.stored_size == 0 ||
                    (img->compression == COMPRESSION_ZSTD && e.stored_size > chunk_zstd_bound(e.raw_size)) ||
                    (img->compression == COMPRESSION_NONE && e.stored_size != e.raw_size))
                        return table_invalid(img, c, "has a stored size out of range", err);
                /* n_chunks <= size < 2^63 and each term < 2^32: neither sum can overflow. */
                raw_sum += e.raw_size;
                stored_sum += e.stored_size;
        }
        if (raw_sum != img->size || stored_sum != img->stored_size)
                return table_invalid(img, img->n_chunks, "(the end): the sizes do not add up to the signed ones",
                                     err);
        return 0;
}

/* Every rejection: ERROR_INVALID_BUNDLE, "Manifest invalid: ...". */
#define bad(err, ...) manifest_invalid(err, __VA_ARGS__)

static void json_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}

static void json_tokener_freep(struct json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* json-c keeps the last of duplicate keys silently.  Two readers that disagree on which value
 * counts are a classic signature-bypass pattern, so compare the key count of every object in the
 * text (manifest_scan(), document order) with what json-c kept.  The walk is pre-order, like the
 * text, and json-c keeps object members in insertion order. */
static int check_key_counts(struct json_object *o, const unsigned *counts, size_t n_counts,
                            size_t *next, UError *err) {
        int r;

        switch (json_object_get_type(o)) {
        case json_type_object:
                if (*next >= n_counts || counts[*next] != (unsigned) json_object_object_length(o))
                        return bad(err, "duplicate key in an object");
                (*next)++;
                json_object_object_foreach(o, key, value) {
                        (void) key;
                        r = check_key_counts(value, counts, n_counts, next, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        r = check_key_counts(json_object_array_get_idx(o, i), counts, n_counts, next,
                                             err);
                        if (r < 0)
                                return r;
                }
                return 0;
        default:
                return 0;
        }
}

typedef enum StringRule {
        STRING_TEXT,      /* printable, no control characters: compatible, version, build */
        STRING_MULTILINE, /* also newlines and tabs: description */
} StringRule;

static int check_string(struct json_object *v, const char *where, const char *key, size_t max_len,
                        StringRule rule, UError *err) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t) json_object_get_string_len(v);

        if (strlen(s) != n)
                return bad(err, "%s\"%s\" contains a NUL character", where, key);
        if (n > max_len)
                return bad(err, "%s\"%s\" is longer than %zu bytes", where, key, max_len);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (rule == STRING_MULTILINE && (c == '\n' || c == '\t'))
                        continue;
                if (c < 0x20 || c == 0x7f)
                        return bad(err, "%s\"%s\" contains a control character", where, key);
        }
        return 0;
}

static int get_string(struct json_object *o, const char *where, const char *key, bool required,
                      size_t max_len, StringRule rule, char **ret, UError *err) {
        struct json_object *v;
        char *s;
        int r;

        r = manifest_get_member(o, where, key, json_type_string, required, &v, err);
        if (r < 0)
                return r;
        if (!v) {
                s = strdup("");
        } else {
                r = check_string(v, where, key, max_len, rule, err);
                if (r < 0)
                        return r;
                if (required && json_object_get_string_len(v) == 0)
                        return bad(err, "%s\"%s\" is empty", where, key);
                s = strdup(json_object_get_string(v));
        }
        if (!s)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret = s;
        return 0;
}

/* The chunk table as written in a json-c array (only if the text spelled it in a way
 * manifest_scan() does not cut out, e.g. with escapes in the key): same checks, same result. */
static int chunks_from_json(struct json_object *array, const char *where, ScanChunk **ret,
                            uint64_t *ret_n, UError *err) {
        _cleanup_free_ ScanChunk *t = NULL;
        size_t n = json_object_array_length(array);

        t = calloc(MAX(n, (size_t) 1), sizeof(ScanChunk));
        if (!t)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                struct json_object *entry = json_object_array_get_idx(array, i), *size_o, *hash_o;
                char what[128];

                if (!json_object_is_type(entry, json_type_array) ||
                    json_object_array_length(entry) != 2)
                        return bad(err, "%s\"chunks\"[%zu] must be [stored-size, \"sha256\"]", where, i);
                size_o = json_object_array_get_idx(entry, 0);
                hash_o = json_object_array_get_idx(entry, 1);
                if (!json_object_is_type(size_o, json_type_int) ||
                    !json_object_is_type(hash_o, json_type_string))
                        return bad(err, "%s\"chunks\"[%zu] must be [stored-size, \"sha256\"]", where, i);
                if (json_object_get_int64(size_o) < 0)
                        return bad(err, "%s\"chunks\"[%zu] stored size must not be negative", where, i);
                t[i].size = json_object_get_uint64(size_o);
                snprintf(what, sizeof(what), "%s\"chunks\"[%zu] sha256", where, i);
                if (manifest_parse_sha256(hash_o, what, t[i].sha256, err) < 0)
                        return -EBADMSG;
        }
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}

static int build_chunks(ManifestImage *img, const char *where, const ScanChunk *t, uint64_t n,
                        uint64_t *payload_offset, UError *err) {
        _cleanup_free_ ManifestChunk *chunks = NULL;

        if (n != img->n_chunks)
                return bad(err, "%s\"chunks\" has %llu entries, but size %llu / chunk-size %u "
                           "needs %llu", where, (unsigned long long) n, (unsigned long long) img->size,
                           img->chunk_size, (unsigned long long) img->n_chunks);

        chunks = calloc(n, sizeof(ManifestChunk));
        if (!chunks)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        for (uint64_t i = 0; i < n; i++) {
                uint32_t raw = chunk_raw_size(img->size, img->chunk_size, i);
                uint64_t min, max;

                /* Stored bytes are hashed before decompression, so their size is bounded too:
                 * raw chunks are stored as they are, zstd frames at most by the zstd bound. */
                min = img->compression == COMPRESSION_NONE ? raw : 1;
                max = img->compression == COMPRESSION_NONE ? raw : chunk_zstd_bound(raw);
                if (t[i].size < min || t[i].size > max)
                        return bad(err, "%s\"chunks\"[%llu] stored size %llu out of range %llu..%llu",
                                   where, (unsigned long long) i, (unsigned long long) t[i].size,
                                   (unsigned long long) min, (unsigned long long) max);

                chunks[i].offset = *payload_offset;
                chunks[i].size = (uint32_t) t[i].size;
                memcpy(chunks[i].sha256, t[i].sha256, SHA256_SIZE);
                if (__builtin_add_overflow(*payload_offset, t[i].size, payload_offset))
                        return bad(err, "%s\"chunks\"[%llu]: payload offset overflows", where,
                                   (unsigned long long) i);
        }

        img->chunks = TAKE_PTR(chunks);
        return 0;
}

/* Format 2: the chunker's sizes and the binary table's count, stored total and sha256.  The
 * table itself comes after the signature; the bundle reader checks it against these. */
static int parse_image_cdc(struct json_object *o, const char *where, ManifestImage *img,
                           uint64_t *payload_offset, uint64_t *tables_size, uint64_t *patch_tables,
                           uint64_t *patch_data, UError *err) {
        uint64_t min = 0, avg = 0, max = 0, n = 0;
        Cdc probe; /* only to validate the sizes as the chunker does */
        int r;

        r = manifest_get_u64(o, where, "chunk-min", CDC_MIN_LOWEST, CDC_MAX_HIGHEST, true, &min, err);
        if (r >= 0)
                r = manifest_get_u64(o, where, "chunk-avg", CDC_MIN_LOWEST, CDC_MAX_HIGHEST, true, &avg, err);
        if (r >= 0)
                r = manifest_get_u64(o, where, "chunk-max", CDC_MIN_LOWEST, CDC_MAX_HIGHEST, true, &max, err);
        if (r < 0)
                return r;
        if (cdc_init(&probe, (uint32_t) min, (uint32_t) avg, (uint32_t) max) < 0)
                return bad(err, "%schunk sizes %llu/%llu/%llu are not valid (min <= avg/2, avg a power of "
                           "two, 2 avg <= max <= %u)", where, (unsigned long long) min,
                           (unsigned long long) avg, (unsigned long long) max, CDC_MAX_HIGHEST);
        img->cdc_min = (uint32_t) min;
        img->cdc_avg = (uint32_t) avg;
        img->chunk_size = (uint32_t) max;

        /* Every chunk holds 1 .. max bytes of the image. */
        r = manifest_get_u64(o, where, "chunk-count", 1, INT64_MAX, true, &n, err);
        if (r < 0)
                return r;
        if (n > img->size || n < chunk_count(img->size, img->chunk_size))
                return bad(err, "%s\"chunk-count\" %llu does not fit size %llu with chunks of at most "
                           "%u bytes", where, (unsigned long long) n, (unsigned long long) img->size,
                           img->chunk_size);
        if (n > (MANIFEST_MAX_CHUNK_TABLES_SIZE - *tables_size) / CHUNK_TABLE_ENTRY_SIZE)
                return bad(err, "%schunk tables of more than %llu bytes; build the bundle with a larger "
                           "average chunk size", where, (unsigned long long) MANIFEST_MAX_CHUNK_TABLES_SIZE);
        img->n_chunks = n;
        *tables_size += n * CHUNK_TABLE_ENTRY_SIZE;

        r = manifest_get_u64(o, where, "stored-size", 1, INT64_MAX, true, &img->stored_size, err);
        if (r < 0)
                return r;
        if (img->compression == COMPRESSION_NONE && img->stored_size != img->size)
                return bad(err, "%s\"stored-size\" must equal \"size\" without compression", where);
        if (__builtin_add_overflow(*payload_offset, img->stored_size, payload_offset))
                return bad(err, "%spayload size overflows", where);

        r = manifest_get_sha256(o, where, "chunk-table-sha256", img->table_sha256, err);
        if (r < 0)
                return r;
        return manifest_parse_patch_sets(o, where, img, patch_tables, patch_data, err);
}

static int parse_image(struct json_object *o, size_t index, const ManifestScan *scan, unsigned format,
                       ManifestImage *img, uint64_t *payload_offset, uint64_t *tables_size, uint64_t *patch_tables,
                       uint64_t *patch_data, UError *err) {
        _cleanup_free_ ScanChunk *own_table = NULL;
        struct json_object *v;
        const ScanChunk *table;
        char where[64];
        uint64_t u, n = 0;
        int r;

        snprintf(where, sizeof(where), "images[%zu]: ", index);
        if (!json_object_is_type(o, json_type_object))
                return bad(err, "%smust be an object", where);

        r = get_string(o, where, "slotclass", true, 32, STRING_TEXT, &img->slotclass, err);
        if (r < 0)
                return r;
        if (!manifest_slotclass_is_valid(img->slotclass))
                return bad(err, "%s\"slotclass\" '%s' must match [a-z0-9][a-z0-9_-]{0,31}", where,
                           img->slotclass);
        snprintf(where, sizeof(where), "image %s: ", img->slotclass);

        r = get_string(o, where, "filename", true, MANIFEST_STRING_MAX, STRING_TEXT, &img->filename,
                       err);
        if (r < 0)
                return r;
        if (!string_is_safe_name(img->filename))
                return bad(err, "%s\"filename\" '%s' is not a safe base name", where, img->filename);

        /* Empty images make no sense to install (and would have no chunk to end them), so they
         * are refused. */
        r = manifest_get_u64(o, where, "size", 1, INT64_MAX, true, &img->size, err);
        if (r < 0)
                return r;

        r = manifest_get_sha256(o, where, "sha256", img->sha256, err);
        if (r < 0)
                return r;

        r = manifest_get_member(o, where, "compression", json_type_string, true, &v, err);
        if (r < 0)
                return r;
        img->compression = compression_from_string(json_object_get_string(v));
        if (img->compression < 0 || strlen(json_object_get_string(v)) !=
                                            (size_t) json_object_get_string_len(v))
                return bad(err, "%s\"compression\" '%s' is not supported (none, zstd)", where,
                           json_object_get_string(v));

        if (format == MANIFEST_FORMAT_CDC) {
                if (scan->has_table[index] || json_object_object_get_ex(o, "chunks", NULL) ||
                    json_object_object_get_ex(o, "chunk-size", NULL))
                        return bad(err, "%s\"chunks\" and \"chunk-size\" are format 1 keys, not allowed "
                                   "in format 2", where);
                return parse_image_cdc(o, where, img, payload_offset, tables_size, patch_tables, patch_data,
                                       err);
        }

        r = manifest_get_u64(o, where, "chunk-size", CHUNK_SIZE_MIN, CHUNK_SIZE_MAX, true, &u, err);
        if (r < 0)
                return r;
        if (u % 4096 != 0)
                return bad(err, "%s\"chunk-size\" %llu is not a multiple of 4096", where,
                           (unsigned long long) u);
        img->chunk_size = (uint32_t) u;
        img->n_chunks = chunk_count(img->size, img->chunk_size);

        if (scan->has_table[index]) {
                /* Cut out by manifest_scan(), which left a null in its place. */
                r = manifest_get_member(o, where, "chunks", json_type_null, true, &v, err);
                if (r < 0)
                        return r;
                table = scan->tables[index];
                n = scan->n_chunks[index];
        } else {
                r = manifest_get_member(o, where, "chunks", json_type_array, true, &v, err);
                if (r < 0)
                        return r;
                r = chunks_from_json(v, where, &own_table, &n, err);
                if (r < 0)
                        return r;
                table = own_table;
        }
        return build_chunks(img, where, table, n, payload_offset, err);
}

static void manifest_scan_freep(ManifestScan **s) {
        if (*s) {
                manifest_scan_done(*s);
                free(*s);
        }
}

int manifest_parse(const char *json, size_t size, Manifest **ret, UError *err) {
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(manifest_scan_freep) ManifestScan *scan = NULL;
        _cleanup_(json_putp) struct json_object *root = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        struct json_object *images;
        size_t next = 0, n, end;
        uint64_t u, payload = 0, tables = 0;
        int r;

        if (size == 0)
                return bad(err, "empty");
        if (size > MANIFEST_MAX_SIZE)
                return bad(err, "%zu bytes exceed the limit of %llu", size,
                           (unsigned long long) MANIFEST_MAX_SIZE);
        if (memchr(json, 0, size))
                return bad(err, "contains a NUL byte");

        scan = calloc(1, sizeof(ManifestScan));
        if (!scan)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = manifest_scan(json, size, scan, err);
        if (r < 0)
                return r;

        /* json-c parses the text without its chunk tables: small, whatever the image size. */
        tok = json_tokener_new_ex(MANIFEST_JSON_DEPTH);
        if (!tok)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, scan->skeleton, (int) scan->skeleton_size);
        if (!root) {
                enum json_tokener_error e = json_tokener_get_error(tok);

                if (e == json_tokener_continue)
                        return bad(err, "JSON document is incomplete");
                return bad(err, "JSON syntax error: %s", json_tokener_error_desc(e));
        }
        /* Strict mode already refuses trailing non-space; this also catches a second document. */
        end = json_tokener_get_parse_end(tok);
        if (end > scan->skeleton_size ||
            strspn(scan->skeleton + end, " \t\r\n") != scan->skeleton_size - end)
                return bad(err, "trailing data after the JSON document");
        if (!json_object_is_type(root, json_type_object))
                return bad(err, "top level must be an object");
        r = check_key_counts(root, scan->key_counts, scan->n_objects, &next, err);
        if (r < 0)
                return r;

        m = calloc(1, sizeof(Manifest));
        if (!m)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = manifest_get_u64(root, "", "format", 0, INT64_MAX, true, &u, err);
        if (r < 0)
                return r;
        if (u != MANIFEST_FORMAT_VERSION && u != MANIFEST_FORMAT_CDC)
                return bad(err, "\"format\" %llu is not supported (this reader knows %d and %d)",
                           (unsigned long long) u, MANIFEST_FORMAT_VERSION, MANIFEST_FORMAT_CDC);
        m->format = (unsigned) u;

        r = get_string(root, "", "compatible", true, MANIFEST_STRING_MAX, STRING_TEXT,
                       &m->compatible, err);
        if (r < 0)
                return r;
        r = get_string(root, "", "version", true, MANIFEST_STRING_MAX, STRING_TEXT, &m->version,
                       err);
        if (r < 0)
                return r;
        r = get_string(root, "", "build", true, MANIFEST_STRING_MAX, STRING_TEXT, &m->build, err);
        if (r < 0)
                return r;
        r = get_string(root, "", "description", false, MANIFEST_DESCRIPTION_MAX, STRING_MULTILINE,
                       &m->description, err);
        if (r < 0)
                return r;
        r = manifest_get_u64(root, "", "security-version", 0, INT64_MAX, false, &m->security_version, err);
        if (r < 0)
                return r;
        r = manifest_get_u64(root, "", "expires", 1, INT64_MAX, false, &m->expires, err);
        if (r < 0)
                return r;

        r = manifest_get_member(root, "", "images", json_type_array, true, &images, err);
        if (r < 0)
                return r;
        n = json_object_array_length(images);
        if (n < 1 || n > MANIFEST_MAX_IMAGES)
                return bad(err, "\"images\" must have 1..%d entries, not %zu", MANIFEST_MAX_IMAGES,
                           n);
        m->images = calloc(n, sizeof(ManifestImage));
        if (!m->images)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        for (size_t i = 0; i < n; i++) {
                m->n_images = i + 1; /* so manifest_free() releases what was filled */
                r = parse_image(json_object_array_get_idx(images, i), i, scan, m->format,
                                &m->images[i], &payload, &tables, &m->patch_tables_size, &m->patch_data_size,
                                err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(m->images[j].slotclass, m->images[i].slotclass))
                                return bad(err, "slot class '%s' appears twice",
                                           m->images[i].slotclass);
        }
        m->payload_size = payload;

        *ret = TAKE_PTR(m);
        return 0;
}

static int image_to_json_object(const ManifestImage *img, unsigned format, bool with_chunks,
                                struct json_object **ret) {
        _cleanup_(json_putp) struct json_object *o = NULL, *chunks = NULL;
        uint64_t stored = 0;
        int r = 0;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r |= json_add(o, "slotclass", json_object_new_string(img->slotclass));
        r |= json_add(o, "filename", json_object_new_string(img->filename));
        r |= json_add(o, "size", json_object_new_uint64(img->size));
        r |= json_add(o, "sha256", manifest_json_sha256(img->sha256));
        if (format != MANIFEST_FORMAT_CDC)
                r |= json_add(o, "chunk-size", json_object_new_uint64(img->chunk_size));
        r |= json_add(o, "compression", json_object_new_string(compression_to_string(img->compression)));
        if (r < 0)
                return -ENOMEM;
        if (format == MANIFEST_FORMAT_CDC) {
                r |= json_add(o, "chunk-min", json_object_new_uint64(img->cdc_min));
                r |= json_add(o, "chunk-avg", json_object_new_uint64(img->cdc_avg));
                r |= json_add(o, "chunk-max", json_object_new_uint64(img->chunk_size));
                r |= json_add(o, "chunk-count", json_object_new_uint64(img->n_chunks));
                r |= json_add(o, "stored-size", json_object_new_uint64(img->stored_size));
                r |= json_add(o, "chunk-table-sha256", manifest_json_sha256(img->table_sha256));
                if (r < 0)
                        return -ENOMEM;
                r = manifest_patch_sets_to_json(img, o);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(o);
                return 0;
        }

        /* A RAUC image has no chunk table (lib/rauc-bundle.c cuts it into chunks as it reads). */
        if (!with_chunks || !img->chunks) {
                for (uint64_t i = 0; img->chunks && i < img->n_chunks; i++)
                        stored += img->chunks[i].size;
                if (!img->chunks)
                        stored = img->size;
                r |= json_add(o, "chunk-count", json_object_new_uint64(img->n_chunks));
                r |= json_add(o, "stored-size", json_object_new_uint64(stored));
                if (r < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(o);
                return 0;
        }

        chunks = json_object_new_array_ext((int) MIN(img->n_chunks, (uint64_t) INT32_MAX));
        if (!chunks)
                return -ENOMEM;
        for (uint64_t i = 0; i < img->n_chunks; i++) {
                _cleanup_(json_putp) struct json_object *pair = json_object_new_array_ext(2);

                if (!pair)
                        return -ENOMEM;
                r |= json_append(pair, json_object_new_uint64(img->chunks[i].size));
                r |= json_append(pair, manifest_json_sha256(img->chunks[i].sha256));
                if (r < 0)
                        return -ENOMEM;
                r = json_append(chunks, TAKE_PTR(pair));
                if (r < 0)
                        return r;
        }
        r = json_add(o, "chunks", TAKE_PTR(chunks));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int manifest_to_json_object(const Manifest *m, bool with_chunks, struct json_object **ret) {
        _cleanup_(json_putp) struct json_object *o = NULL, *images = NULL;
        int r = 0;

        o = json_object_new_object();
        images = json_object_new_array();
        if (!o || !images)
                return -ENOMEM;
        r |= json_add(o, "format", json_object_new_int(m->format == MANIFEST_FORMAT_CDC ?
                                                       MANIFEST_FORMAT_CDC : MANIFEST_FORMAT_VERSION));
        r |= json_add(o, "compatible", json_object_new_string(m->compatible ?: ""));
        r |= json_add(o, "version", json_object_new_string(m->version ?: ""));
        r |= json_add(o, "build", json_object_new_string(m->build ?: ""));
        r |= json_add(o, "description", json_object_new_string(m->description ?: ""));
        r |= json_add(o, "security-version", json_object_new_uint64(m->security_version));
        if (m->expires > 0)
                r |= json_add(o, "expires", json_object_new_uint64(m->expires));
        if (r < 0)
                return -ENOMEM;

        for (size_t i = 0; i < m->n_images; i++) {
                struct json_object *img;

                r = image_to_json_object(&m->images[i], m->format, with_chunks, &img);
                if (r < 0)
                        return r;
                r = json_append(images, img);
                if (r < 0)
                        return r;
        }
        r = json_add(o, "images", TAKE_PTR(images));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

int manifest_to_json(const Manifest *m, char **ret) {
        _cleanup_(json_putp) struct json_object *o = NULL;
        const char *s;
        char *copy;
        int r;

        r = manifest_to_json_object(m, true, &o);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}
