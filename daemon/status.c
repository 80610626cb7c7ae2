/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <data-directory>/status.json: what the last install into each slot did.  Losing it must
 * never stop the device from booting or installing, so loading never fails on content: bad
 * parts are described in a warning and replaced by defaults. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "json-util.h"
#include "status.h"
#include "util.h"

#define STATUS_FORMAT 1
#define STATUS_MAX_SIZE (4 * 1024 * 1024)
#define STATUS_MAX_STRING 4096

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef struct Warnings {
        char *text;
        bool oom;
} Warnings;

static void warn(Warnings *w, const char *fmt, ...) _printf_(2, 3);
static void warn(Warnings *w, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *joined;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg) {
                w->oom = true;
                return;
        }
        joined = w->text ? strdup_printf("%s; %s", w->text, msg) : strdup(msg);
        if (!joined) {
                w->oom = true;
                return;
        }
        free(w->text);
        w->text = joined;
}

static void slot_record_done(SlotRecord *r) {
        free(r->name);
        free(r->bundle_compatible);
        free(r->bundle_version);
        free(r->bundle_build);
        free(r->bundle_description);
        free(r->transaction_id);
}

void slot_record_reset(SlotRecord *r) {
        if (!r)
                return;
        r->bundle_compatible = mfree(r->bundle_compatible);
        r->bundle_version = mfree(r->bundle_version);
        r->bundle_build = mfree(r->bundle_build);
        r->bundle_description = mfree(r->bundle_description);
        r->transaction_id = mfree(r->transaction_id);
        r->security_version = 0;
        r->sha256[0] = '\0';
        r->bundle_hash[0] = '\0';
        r->size = 0;
        r->committed = false;
}

/* Keeps name and counters: installed/activated counts are the slot's history. */
static void slot_record_clear(SlotRecord *r) {
        slot_record_reset(r);
        r->status = SLOT_STATUS_UNKNOWN;
        r->installed_timestamp = r->installed_count = 0;
        r->activated_timestamp = r->activated_count = 0;
}

static void last_boot_clear(LastBoot *b) {
        b->expected = mfree(b->expected);
        b->booted = mfree(b->booted);
        b->fell_back = false;
        b->timestamp = 0;
}

static void trial_clear(TrialRecord *t) {
        t->slot = mfree(t->slot);
        t->boot_id[0] = '\0';
        t->timestamp = 0;
        t->rejected = false;
        t->committing = false;
}

StatusFile *status_free(StatusFile *s) {
        if (!s)
                return NULL;
        for (unsigned i = 0; i < s->n_records; i++)
                slot_record_done(&s->records[i]);
        free(s->records);
        last_boot_clear(&s->last_boot);
        trial_clear(&s->trial);
        return mfree(s);
}

int status_set_last_boot(StatusFile *s, const char *expected, const char *booted, bool fell_back, uint64_t timestamp) {
        char *e = NULL, *b = NULL;

        if (!s)
                return -EINVAL;
        if (!expected) {
                last_boot_clear(&s->last_boot);
                return 0;
        }
        e = strdup(expected);
        b = booted ? strdup(booted) : NULL;
        if (!e || (booted && !b)) {
                free(e);
                free(b);
                return -ENOMEM;
        }
        last_boot_clear(&s->last_boot);
        s->last_boot = (LastBoot) { .expected = e, .booted = b, .fell_back = fell_back, .timestamp = timestamp };
        return 0;
}

static bool boot_id_valid(const char *id) {
        if (!id || strlen(id) != 32)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int status_set_trial(StatusFile *s, const char *slot, const char *boot_id, uint64_t timestamp) {
        char *copy;

        if (!s)
                return -EINVAL;
        if (!slot) {
                trial_clear(&s->trial);
                return 0;
        }
        if (boot_id && *boot_id && !boot_id_valid(boot_id))
                return -EINVAL;
        copy = strdup(slot);
        if (!copy)
                return -ENOMEM;
        trial_clear(&s->trial);
        s->trial.slot = copy;
        if (boot_id)
                snprintf(s->trial.boot_id, sizeof(s->trial.boot_id), "%s", boot_id);
        s->trial.timestamp = timestamp;
        return 0;
}

SlotRecord *status_find(StatusFile *s, const char *slot_name) {
        if (!s || !slot_name)
                return NULL;
        for (unsigned i = 0; i < s->n_records; i++)
                if (streq(s->records[i].name, slot_name))
                        return &s->records[i];
        return NULL;
}

static char *status_path(const Config *c) {
        return strdup_printf("%s/%s", c->data_directory, STATUS_FILE_NAME);
}

/* --- reading --------------------------------------------------------------------------- */

/* Each getter: -ENOENT if absent (allowed), -EINVAL with *ret_why set if present but wrong. */
static int get_uint(json_object *o, const char *key, uint64_t *ret) {
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return -ENOENT;
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        /* json-c keeps values above INT64_MAX as unsigned; anything negative is wrong here. */
        i = json_object_get_int64(v);
        if (i < 0)
                return -EINVAL;
        if (i == INT64_MAX)
                *ret = json_object_get_uint64(v);
        else
                *ret = (uint64_t) i;
        return 0;
}

static int get_string(json_object *o, const char *key, char **ret) {
        json_object *v;
        const char *s;
        char *copy;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return -ENOENT;
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s) || strlen(s) > STATUS_MAX_STRING)
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

static int get_object(json_object *o, const char *key, json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return -ENOENT;
        if (!json_object_is_type(v, json_type_object))
                return -EINVAL;
        *ret = v;
        return 0;
}

#define TRY(expr, field)                                \
        do {                                            \
                int _r = (expr);                        \
                if (_r == -ENOMEM)                      \
                        return _r;                      \
                if (_r < 0 && _r != -ENOENT) {          \
                        *ret_field = (field);           \
                        return -EINVAL;                 \
                }                                       \
        } while (0)

/* Fills r from o; on -EINVAL *ret_field names the offending field (r is then half-filled and
 * the caller clears it). */
static int get_bool(json_object *o, const char *key, bool *ret);

static int parse_record(json_object *o, SlotRecord *r, const char **ret_field) {
        _cleanup_free_ char *status = NULL, *sha = NULL, *hash = NULL;
        json_object *sub;
        int k;

        if (!json_object_is_type(o, json_type_object)) {
                *ret_field = "(record)";
                return -EINVAL;
        }

        k = get_string(o, "status", &status);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || (int) slot_status_from_string(status) < 0) {
                *ret_field = "status";
                return -EINVAL;
        }
        r->status = slot_status_from_string(status);

        k = get_object(o, "bundle", &sub);
        if (k == -EINVAL) {
                *ret_field = "bundle";
                return -EINVAL;
        }
        if (k >= 0) {
                TRY(get_string(sub, "compatible", &r->bundle_compatible), "bundle.compatible");
                TRY(get_string(sub, "version", &r->bundle_version), "bundle.version");
                TRY(get_string(sub, "build", &r->bundle_build), "bundle.build");
                TRY(get_string(sub, "description", &r->bundle_description), "bundle.description");
                TRY(get_string(sub, "hash", &hash), "bundle.hash");
                if (hash) {
                        uint8_t digest[32];

                        if (hex_decode(hash, digest, sizeof(digest)) < 0) {
                                *ret_field = "bundle.hash";
                                return -EINVAL;
                        }
                        hex_encode(digest, sizeof(digest), r->bundle_hash);
                }
        }

        TRY(get_uint(o, "security-version", &r->security_version), "security-version");
        TRY(get_bool(o, "committed", &r->committed), "committed");

        k = get_object(o, "checksum", &sub);
        if (k == -EINVAL) {
                *ret_field = "checksum";
                return -EINVAL;
        }
        if (k >= 0) {
                uint8_t digest[32];

                TRY(get_string(sub, "sha256", &sha), "checksum.sha256");
                if (sha) {
                        if (hex_decode(sha, digest, sizeof(digest)) < 0) {
                                *ret_field = "checksum.sha256";
                                return -EINVAL;
                        }
                        hex_encode(digest, sizeof(digest), r->sha256);
                }
                TRY(get_uint(sub, "size", &r->size), "checksum.size");
        }

        k = get_object(o, "installed", &sub);
        if (k == -EINVAL) {
                *ret_field = "installed";
                return -EINVAL;
        }
        if (k >= 0) {
                TRY(get_uint(sub, "timestamp", &r->installed_timestamp), "installed.timestamp");
                TRY(get_uint(sub, "count", &r->installed_count), "installed.count");
        }

        k = get_object(o, "activated", &sub);
        if (k == -EINVAL) {
                *ret_field = "activated";
                return -EINVAL;
        }
        if (k >= 0) {
                TRY(get_uint(sub, "timestamp", &r->activated_timestamp), "activated.timestamp");
                TRY(get_uint(sub, "count", &r->activated_count), "activated.count");
        }

        TRY(get_string(o, "transaction-id", &r->transaction_id), "transaction-id");
        return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return -ENOENT;
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

/* A slot name field that must name a configured slot. */
static int get_slot_name(const Config *c, json_object *o, const char *key, char **ret) {
        int r = get_string(o, key, ret);

        if (r < 0)
                return r;
        if (config_find_slot(c, *ret) < 0) {
                *ret = mfree(*ret);
                return -EINVAL;
        }
        return 0;
}

/* "last-boot" and "trial": optional; anything wrong in them drops just that record. */
static int parse_last_boot(const Config *c, json_object *root, LastBoot *b, const char **ret_field) {
        json_object *o;
        int k;

        k = get_object(root, "last-boot", &o);
        if (k == -ENOENT)
                return 0;
        *ret_field = "last-boot";
        if (k < 0)
                return k;
        k = get_slot_name(c, o, "expected", &b->expected);
        if (k < 0)
                return k == -ENOENT ? -EINVAL : k;
        *ret_field = "last-boot.booted";
        k = get_slot_name(c, o, "booted", &b->booted);
        if (k < 0)
                return k == -ENOENT ? -EINVAL : k;
        *ret_field = "last-boot.fell-back";
        k = get_bool(o, "fell-back", &b->fell_back);
        if (k < 0)
                return -EINVAL;
        /* fell-back says whether booted differs from expected; both are stored for readers. */
        if (b->fell_back == streq(b->expected, b->booted))
                return -EINVAL;
        *ret_field = "last-boot.timestamp";
        k = get_uint(o, "timestamp", &b->timestamp);
        if (k < 0)
                return -EINVAL;
        return 0;
}

static int parse_trial(const Config *c, json_object *root, TrialRecord *t, const char **ret_field) {
        _cleanup_free_ char *id = NULL;
        json_object *o;
        int k;

        k = get_object(root, "trial", &o);
        if (k == -ENOENT)
                return 0;
        *ret_field = "trial";
        if (k < 0)
                return k;
        k = get_slot_name(c, o, "slot", &t->slot);
        if (k < 0)
                return k == -ENOENT ? -EINVAL : k;
        *ret_field = "trial.boot-id";
        k = get_string(o, "boot-id", &id);
        if (k == -ENOMEM)
                return k;
        if (k == -EINVAL || (k >= 0 && *id && !boot_id_valid(id)))
                return -EINVAL;
        if (id)
                snprintf(t->boot_id, sizeof(t->boot_id), "%s", id);
        *ret_field = "trial.timestamp";
        k = get_uint(o, "timestamp", &t->timestamp);
        if (k < 0 && k != -ENOENT)
                return -EINVAL;
        *ret_field = "trial.rejected";
        k = get_bool(o, "rejected", &t->rejected);
        if (k < 0 && k != -ENOENT)
                return -EINVAL;
        *ret_field = "trial.committing";
        k = get_bool(o, "committing", &t->committing);
        if (k < 0 && k != -ENOENT)
                return -EINVAL;
        return 0;
}

static StatusFile *status_new_defaults(const Config *c) {
        _cleanup_(status_freep) StatusFile *s = calloc(1, sizeof(StatusFile));

        if (!s)
                return NULL;
        s->records = calloc(c->n_slots ?: 1, sizeof(SlotRecord));
        if (!s->records)
                return NULL;
        for (unsigned i = 0; i < c->n_slots; i++) {
                s->records[i] = (SlotRecord) { .status = SLOT_STATUS_UNKNOWN };
                s->records[i].name = strdup(c->slots[i].name);
                s->n_records = i + 1;
                if (!s->records[i].name)
                        return NULL;
        }
        return TAKE_PTR(s);
}

static void parse_document(const Config *c, StatusFile *s, const char *path, const char *data, size_t size,
                           Warnings *w) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_tokener *tok;
        enum json_tokener_error jerr;
        json_object *slots, *format;
        uint64_t fmt;

        if (size == 0 || strspn(data, " \t\r\n") == size) {
                warn(w, "status file %s is empty", path);
                return;
        }
        if (strlen(data) != size) {
                warn(w, "status file %s contains a NUL byte (corrupt)", path);
                return;
        }

        tok = json_tokener_new();
        if (!tok) {
                w->oom = true;
                return;
        }
        root = json_tokener_parse_ex(tok, data, (int) size);
        jerr = json_tokener_get_error(tok);
        /* A torn write ends in the middle of the document: json-c then asks for more input. */
        if (!root && jerr == json_tokener_continue)
                warn(w, "status file %s is truncated (incomplete JSON)", path);
        else if (!root || jerr != json_tokener_success)
                warn(w, "status file %s is not valid JSON: %s", path, json_tokener_error_desc(jerr));
        else if (json_tokener_get_parse_end(tok) + strspn(data + json_tokener_get_parse_end(tok), " \t\r\n") != size)
                warn(w, "status file %s has trailing data after the JSON document", path);
        json_tokener_free(tok);
        if (w->text)
                return;

        if (!json_object_is_type(root, json_type_object)) {
                warn(w, "status file %s: top level is not a JSON object", path);
                return;
        }
        if (!json_object_object_get_ex(root, "format", &format) || !format) {
                warn(w, "status file %s: \"format\" is missing", path);
                return;
        }
        if (get_uint(root, "format", &fmt) < 0 || fmt != STATUS_FORMAT) {
                warn(w, "status file %s: unsupported \"format\" %s (expected %d)", path,
                     json_object_to_json_string(format), STATUS_FORMAT);
                return;
        }
        if (!json_object_object_get_ex(root, "slots", &slots) || !slots) {
                warn(w, "status file %s: \"slots\" is missing", path);
                return;
        }
        if (!json_object_is_type(slots, json_type_object)) {
                warn(w, "status file %s: \"slots\" is not an object", path);
                return;
        }

        {
                const char *field = NULL;
                int k;

                k = parse_last_boot(c, root, &s->last_boot, &field);
                if (k == -ENOMEM) {
                        w->oom = true;
                        return;
                }
                if (k < 0) {
                        warn(w, "\"%s\" is invalid or names an unknown slot, dropped", field);
                        last_boot_clear(&s->last_boot);
                }
                k = parse_trial(c, root, &s->trial, &field);
                if (k == -ENOMEM) {
                        w->oom = true;
                        return;
                }
                if (k < 0) {
                        warn(w, "\"%s\" is invalid or names an unknown slot, dropped", field);
                        trial_clear(&s->trial);
                }
        }

        json_object_object_foreach(slots, name, value) {
                SlotRecord *r = status_find(s, name);
                const char *field = NULL;
                int k;

                if (!r) {
                        warn(w, "dropped record of slot '%s', which is not configured", name);
                        continue;
                }
                k = parse_record(value, r, &field);
                if (k == -ENOMEM) {
                        w->oom = true;
                        slot_record_clear(r);
                        return;
                }
                if (k < 0) {
                        warn(w, "record of slot %s: field \"%s\" is missing or has the wrong type, reset to unknown",
                             name, field);
                        slot_record_clear(r);
                }
        }
}

int status_remove_stale_temp(const Config *c) {
        return unlink_matching(c->data_directory, STATUS_FILE_NAME ".tmp", "");
}

int status_load(const Config *c, StatusFile **ret, char **ret_warning) {
        _cleanup_(status_freep) StatusFile *s = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        Warnings w = {};
        size_t size = 0;
        int r;

        if (!c || !ret)
                return -EINVAL;

        s = status_new_defaults(c);
        path = status_path(c);
        if (!s || !path)
                return -ENOMEM;

        r = read_full_file(path, STATUS_MAX_SIZE, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                warn(&w, "status file %s is larger than %d bytes, ignored", path, STATUS_MAX_SIZE);
        else if (r < 0 && r != -ENOENT)
                warn(&w, "cannot read status file %s: %s", path, strerror(-r));
        else if (r >= 0)
                parse_document(c, s, path, data, size, &w);

        if (w.oom) {
                free(w.text);
                return -ENOMEM;
        }
        if (ret_warning)
                *ret_warning = w.text;
        else
                free(w.text);
        *ret = TAKE_PTR(s);
        return 0;
}

/* --- writing --------------------------------------------------------------------------- */

static int add_string(json_object *o, const char *key, const char *value) {
        return value ? json_add(o, key, json_object_new_string(value)) : 0;
}

static int add_pair(json_object *o, const char *key, const char *k1, uint64_t v1, const char *k2, uint64_t v2) {
        json_object *sub = json_object_new_object();
        int r;

        if (!sub)
                return -ENOMEM;
        r = json_add(sub, k1, json_object_new_uint64(v1));
        if (r >= 0)
                r = json_add(sub, k2, json_object_new_uint64(v2));
        if (r < 0) {
                json_object_put(sub);
                return r;
        }
        return json_add(o, key, sub);
}

static int record_to_json(const SlotRecord *r, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const char *status = slot_status_to_string(r->status);
        int k;

        if (!o)
                return -ENOMEM;
        k = add_string(o, "status", status ?: "unknown");
        if (k >= 0 && (r->bundle_compatible || r->bundle_version || r->bundle_build || r->bundle_description ||
                       r->bundle_hash[0])) {
                json_object *b = json_object_new_object();

                k = b ? 0 : -ENOMEM;
                if (k >= 0)
                        k = add_string(b, "compatible", r->bundle_compatible);
                if (k >= 0)
                        k = add_string(b, "version", r->bundle_version);
                if (k >= 0)
                        k = add_string(b, "build", r->bundle_build);
                if (k >= 0)
                        k = add_string(b, "description", r->bundle_description);
                if (k >= 0)
                        k = add_string(b, "hash", r->bundle_hash[0] ? r->bundle_hash : NULL);
                if (k >= 0)
                        k = json_add(o, "bundle", b);
                else
                        json_object_put(b);
        }
        if (k >= 0)
                k = json_add(o, "security-version", json_object_new_uint64(r->security_version));
        if (k >= 0 && r->committed)
                k = json_add(o, "committed", json_object_new_boolean(true));
        if (k >= 0 && r->sha256[0]) {
                json_object *cs = json_object_new_object();

                k = cs ? add_string(cs, "sha256", r->sha256) : -ENOMEM;
                if (k >= 0)
                        k = json_add(cs, "size", json_object_new_uint64(r->size));
                if (k >= 0)
                        k = json_add(o, "checksum", cs);
                else
                        json_object_put(cs);
        }
        if (k >= 0)
                k = add_pair(o, "installed", "timestamp", r->installed_timestamp, "count", r->installed_count);
        if (k >= 0)
                k = add_pair(o, "activated", "timestamp", r->activated_timestamp, "count", r->activated_count);
        if (k >= 0)
                k = add_string(o, "transaction-id", r->transaction_id);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(o);
        return 0;
}

static int last_boot_to_json(const LastBoot *b, json_object *root) {
        json_object *o;
        int k;

        if (!b->expected)
                return 0;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        k = add_string(o, "expected", b->expected);
        if (k >= 0)
                k = add_string(o, "booted", b->booted);
        if (k >= 0)
                k = json_add(o, "fell-back", json_object_new_boolean(b->fell_back));
        if (k >= 0)
                k = json_add(o, "timestamp", json_object_new_uint64(b->timestamp));
        if (k < 0) {
                json_object_put(o);
                return k;
        }
        return json_add(root, "last-boot", o);
}

static int trial_to_json(const TrialRecord *t, json_object *root) {
        json_object *o;
        int k;

        if (!t->slot)
                return 0;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        k = add_string(o, "slot", t->slot);
        if (k >= 0)
                k = add_string(o, "boot-id", t->boot_id);
        if (k >= 0)
                k = json_add(o, "timestamp", json_object_new_uint64(t->timestamp));
        if (k >= 0 && t->rejected)
                k = json_add(o, "rejected", json_object_new_boolean(true));
        if (k >= 0 && t->committing)
                k = json_add(o, "committing", json_object_new_boolean(true));
        if (k < 0) {
                json_object_put(o);
                return k;
        }
        return json_add(root, "trial", o);
}

int status_save(const Config *c, const StatusFile *s) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *path = NULL;
        json_object *slots;
        const char *text;
        size_t len;
        int r;

        if (!c || !s)
                return -EINVAL;

        root = json_object_new_object();
        slots = json_object_new_object();
        if (!root || !slots) {
                json_object_put(slots);
                return -ENOMEM;
        }
        r = json_add(root, "format", json_object_new_int(STATUS_FORMAT));
        if (r >= 0)
                r = json_add(root, "slots", slots);
        else
                json_object_put(slots);
        if (r < 0)
                return r;

        r = last_boot_to_json(&s->last_boot, root);
        if (r >= 0)
                r = trial_to_json(&s->trial, root);
        if (r < 0)
                return r;

        for (unsigned i = 0; i < s->n_records; i++) {
                json_object *o;

                r = record_to_json(&s->records[i], &o);
                if (r < 0)
                        return r;
                r = json_add(slots, s->records[i].name, o);
                if (r < 0)
                        return r;
        }

        text = json_object_to_json_string_length(
                        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                return -ENOMEM;

        r = mkdir_parents(c->data_directory, 0755);
        if (r < 0)
                return r;
        path = status_path(c);
        if (!path)
                return -ENOMEM;

        /* Keep the trailing newline out of the length json-c reports, then add one. */
        {
                _cleanup_free_ char *buf = strdup_printf("%s\n", text);
                if (!buf)
                        return -ENOMEM;
                /* 0600: the slot status is for root and group "update", over D-Bus (auth.h). */
                return write_file_atomic(path, buf, len + 1, 0600);
        }
}
