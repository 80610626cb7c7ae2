/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* de.pengutronix.rauc: RAUC's D-Bus API on the same connection as org.example.Update1.  What a
 * RAUC client relies on (RAUC 1.8, src/service.c and src/rauc-installer.xml):
 *   - InstallBundle/Install return as soon as the install started; the result comes as
 *     Completed(0|1) with LastError set, also when the bundle is refused for its content.
 *     `rauc install` waits for a result >= 0, Install(s) callers for Completed at all.
 *   - an unknown InstallBundle key is GIO's G_IO_ERROR_FAILED_HANDLED "Unsupported key: X";
 *   - GetSlotStatus is a(sa{sv}) with RAUC's keys and types (size t, counts u, ISO 8601);
 *   - Progress (isi) is a property followed through PropertiesChanged.
 * Everything else (arguments, authorization, the one-operation rule, marks) is bus-common.c,
 * shared with bus.c; this file only translates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "auth.h"
#include "bus-common.h"
#include "bus-error.h"
#include "bus-rauc.h"
#include "inspect.h"
#include "install.h"
#include "log.h"
#include "snapshot.h"
#include "source-http.h"
#include "util.h"

#if ENABLE_RAUC_DBUS

/* What GDBus sends for RAUC's g_dbus_method_invocation_return_error(G_IO_ERROR,
 * G_IO_ERROR_FAILED_HANDLED, ...): clients that match RAUC's errors match this name. */
#define RAUC_ERROR_FAILED_HANDLED "org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code30"
/* RAUC's sentence for a call while an install runs; clients look for it. */
#define RAUC_BUSY_MESSAGE "already processing a different method"

/* ---- errors ---- */

/* Busy keeps our error name and leads with RAUC's sentence. */
static int uerror_reply(sd_bus_error *error, const UError *e) {
        if (e->kind == ERROR_BUSY)
                return sd_bus_error_setf(error, error_kind_to_dbus_name(ERROR_BUSY), "%s: %s", RAUC_BUSY_MESSAGE,
                                         e->message);
        return bus_error_set_uerror(error, e);
}

static int refuse_option(sd_bus_error *error, const char *key, const char *why) {
        return bus_invalid_args(error, -EOPNOTSUPP, "Option '%s' is refused: %s", key, why);
}

/* ---- InstallBundle / InspectBundle arguments ---- */

typedef struct RaucArgs {
        const char *transaction_id;  /* borrowed from the message, like the paths in http */
        uint8_t manifest_sha256[32];
        bool require_manifest_hash;
        BusHttpArgs http;            /* http.headers owned */
} RaucArgs;

static void rauc_args_done(RaucArgs *a) {
        strv_free(a->http.headers);
        a->http.headers = NULL;
}

static int read_variant_bool(sd_bus_message *msg, const char *key, const char *contents, int *ret, sd_bus_error *error) {
        if (!streq(contents, "b"))
                return bus_invalid_args(error, -EINVAL, "Option '%s' must be a boolean (b), not '%s'", key, contents);
        return sd_bus_message_read(msg, "v", "b", ret);
}

static int read_variant_string(sd_bus_message *msg, const char *key, const char *contents, const char **ret,
                               sd_bus_error *error) {
        if (!streq(contents, "s"))
                return bus_invalid_args(error, -EINVAL, "Option '%s' must be a string (s), not '%s'", key, contents);
        return sd_bus_message_read(msg, "v", "s", ret);
}

/* One key of the a{sv}.  'install': InstallBundle (all keys), else InspectBundle (tls-*,
 * http-headers).  A key we cannot honour is refused by name, never ignored. */
static int read_arg(sd_bus_message *msg, const char *key, const char *contents, bool install, RaucArgs *a,
                    sd_bus_error *error) {
        const char *s;
        int b, r;

        if (install && streq(key, "ignore-compatible")) {
                r = read_variant_bool(msg, key, contents, &b, error);
                if (r < 0 || !b)
                        return r;
                return refuse_option(error, key, "updated never installs a bundle built for another compatible; "
                                     "build the bundle with this system's compatible (property Compatible)");
        }
        if (install && streq(key, "transaction-id")) {
                r = read_variant_string(msg, key, contents, &s, error);
                if (r < 0)
                        return r;
                r = bus_check_transaction_id(s, error);
                if (r < 0)
                        return r;
                a->transaction_id = s;
                return 0;
        }
        if (install && streq(key, "require-manifest-hash")) {
                r = read_variant_string(msg, key, contents, &s, error);
                if (r < 0)
                        return r;
                /* RAUC compares GLib's lower-case hex; either case is the same hash. */
                if (hex_decode(s, a->manifest_sha256, sizeof(a->manifest_sha256)) < 0)
                        return bus_invalid_args(error, -EINVAL, "Option '%s': '%.80s' is not a SHA-256 in hex (64 "
                                                "digits): pass the manifest-hash InspectBundle reported", key, s);
                a->require_manifest_hash = true;
                return 0;
        }
        if (streq(key, "tls-cert") || streq(key, "tls-key") || streq(key, "tls-ca")) {
                r = read_variant_string(msg, key, contents, &s, error);
                if (r < 0)
                        return r;
                r = bus_check_tls_path(key, s, error);
                if (r < 0)
                        return r;
                *(streq(key, "tls-cert") ? &a->http.tls_cert : streq(key, "tls-key") ? &a->http.tls_key : &a->http.tls_ca) = s;
                return 0;
        }
        if (streq(key, "tls-no-verify")) {
                r = read_variant_bool(msg, key, contents, &b, error);
                if (r < 0 || !b)
                        return r;
                return refuse_option(error, key, "updated always verifies the server's certificate");
        }
        if (streq(key, "http-headers")) {
                _cleanup_strv_free_ char **l = NULL;

                if (!streq(contents, "as"))
                        return bus_invalid_args(error, -EINVAL, "Option '%s' must be a string array (as), not '%s'",
                                                key, contents);
                r = sd_bus_message_enter_container(msg, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(msg, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r < 0 || !l || !l[0])
                        return r;
                r = bus_check_http_headers(l, error);
                if (r < 0)
                        return r;
                a->http.headers = TAKE_PTR(l);
                return 0;
        }
        /* RAUC's own answer, word for word. */
        (void) sd_bus_error_setf(error, RAUC_ERROR_FAILED_HANDLED, "Unsupported key: %s", key);
        return -EINVAL;
}

static const char *const known_keys[] = {
        "ignore-compatible", "transaction-id", "require-manifest-hash", "tls-cert", "tls-key", "tls-ca",
        "tls-no-verify", "http-headers",
};

static int read_args(sd_bus_message *msg, bool install, RaucArgs *ret, sd_bus_error *error) {
        _cleanup_(rauc_args_done) RaucArgs a = {};
        unsigned seen = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (unsigned i = 0; i < ELEMENTSOF(known_keys); i++) {
                        if (!streq(key, known_keys[i]))
                                continue;
                        if (seen & (1u << i))
                                return bus_invalid_args(error, -EINVAL, "Option '%s' given twice", key);
                        seen |= 1u << i;
                }
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                r = read_arg(msg, key, contents, install, &a, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = a;
        a.http.headers = NULL;
        return 0;
}

/* ---- Install, InstallBundle ---- */

/* RAUC answers the call when the install started; the verified manifest changes nothing here. */
static void on_install_prepared(void *userdata, const UError *error, const char *result) {
        (void) userdata;
        (void) error;
        (void) result;
}

/* A source that cannot be read is, for RAUC, a failed install: the call returns, then
 * LastError and Completed(1).  Install(s) callers wait for Completed whatever happens. */
static int fail_after_reply(Manager *m, sd_bus_message *msg, const UError *err) {
        _cleanup_free_ char *text = strdup_printf("%s: %s", error_kind_to_dbus_name(err->kind), err->message);
        int r;

        r = sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                return r;
        log_error("Install (de.pengutronix.rauc) failed: %s", text ?: err->message);
        manager_set_last_error(m, text ?: err->message);
        bus_rauc_completed(m, err->error < 0 ? err->error : -EINVAL);
        return 1;
}

static int install(Manager *m, sd_bus_message *msg, const char *source, const RaucArgs *a, sd_bus_error *error) {
        _cleanup_(source_http_freep) SourceHttp *http = NULL;
        _cleanup_close_ int fd = -EBADF;
        InstallRequest req = { .fd = -EBADF };
        UError err = UERROR_NULL;
        int r;

        r = bus_source_preamble(m, msg, source, &a->http, true, &req, &err, error);
        /* A source that cannot be opened (a key the caller cannot read among them) fails the
         * install the RAUC way; Busy is the call's own answer. */
        if (r < 0 && uerror_is_set(&err))
                return err.kind == ERROR_BUSY ? uerror_reply(error, &err) : fail_after_reply(m, msg, &err);
        if (r < 0)
                return r;
        fd = req.fd;
        http = req.http;
        req.transaction_id = a->transaction_id;
        req.require_manifest_sha256 = a->require_manifest_hash ? a->manifest_sha256 : NULL;
        req.reply = (JobReply) { .fn = on_install_prepared };

        r = install_start(m, &req, &err);
        /* Whatever install_start() did not take is cleaned up here. */
        fd = req.fd;
        http = req.http;
        if (r < 0)
                return uerror_reply(error, &err);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_install_bundle(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(rauc_args_done) RaucArgs a = {};
        const char *source;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        r = read_args(msg, true, &a, error);
        if (r < 0)
                return r;
        return install(userdata, msg, source, &a, error);
}

static int method_install(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *source;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        return install(userdata, msg, source, &(RaucArgs) {}, error);
}

/* ---- Info, InspectBundle ---- */

static const char *json_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static struct json_object *json_member(struct json_object *o, const char *key) {
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void reply_error(sd_bus_message *call, int r) {
        UError err = UERROR_NULL;

        (void) uerror_set(&err, ERROR_FAILED, r, "Cannot build the answer: %s", strerror(-r));
        (void) bus_reply_uerror(call, &err);
}

static void on_info(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        struct json_object *doc;
        int r;

        if (error) {
                (void) bus_reply_uerror(call, error);
                return;
        }
        doc = json_tokener_parse(result ?: "");
        r = sd_bus_reply_method_return(call, "ss", json_string(doc, "compatible") ?: "", json_string(doc, "version") ?: "");
        json_object_put(doc);
        if (r < 0)
                log_debug_errno(r, "Cannot reply to Info: %m");
}

/* Our manifest in RAUC's InspectBundle shape: "update" {compatible, version, description, build},
 * "images" [{slot-class, filename, size, sha256}], plus what RAUC has no word for. */
static int append_inspect(sd_bus_message *r, struct json_object *doc) {
        static const char *const update_keys[] = { "compatible", "version", "description", "build" };
        struct json_object *images = json_member(doc, "images"), *v;
        int k;

        k = sd_bus_message_open_container(r, 'a', "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}", "signer", "s", json_string(doc, "signer") ?: "",
                                          "manifest-hash", "s", json_string(doc, "manifest-hash") ?: "");
        if (k >= 0 && (v = json_member(doc, "security-version")))
                k = sd_bus_message_append(r, "{sv}", "security-version", "t", (uint64_t) json_object_get_uint64(v));
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'e', "sv");
        if (k >= 0)
                k = sd_bus_message_append(r, "s", "update");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'v', "a{sv}");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "{sv}");
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(update_keys); i++)
                k = sd_bus_message_append(r, "{sv}", update_keys[i], "s", json_string(doc, update_keys[i]) ?: "");
        for (int n = 0; n < 3 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'e', "sv");
        if (k >= 0)
                k = sd_bus_message_append(r, "s", "images");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'v', "aa{sv}");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "a{sv}");
        for (size_t i = 0; k >= 0 && images && i < json_object_array_length(images); i++) {
                struct json_object *img = json_object_array_get_idx(images, i);

                k = sd_bus_message_open_container(r, 'a', "{sv}");
                if (k >= 0)
                        k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}",
                                                  "slot-class", "s", json_string(img, "slotclass") ?: "",
                                                  "filename", "s", json_string(img, "filename") ?: "",
                                                  "size", "t", (uint64_t) json_object_get_uint64(json_member(img, "size")),
                                                  "sha256", "s", json_string(img, "sha256") ?: "");
                if (k >= 0)
                        k = sd_bus_message_close_container(r);
        }
        for (int n = 0; n < 4 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        return k;
}

static void on_inspect(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata, *reply = NULL;
        struct json_object *doc;
        int r;

        if (error) {
                (void) bus_reply_uerror(call, error);
                return;
        }
        doc = json_tokener_parse(result ?: "");
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = append_inspect(reply, doc);
        json_object_put(doc);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                reply_error(call, r);
}

/* A local bundle is opened with the caller's rights, like an install from a path
 * (org.example.Update1's InspectBundle takes an fd instead); a URL is read as an install reads
 * it (a RAUC bundle with Range requests, its images never), with the same tls-* and
 * http-headers. */
static int inspect(Manager *m, sd_bus_message *msg, const char *source, const RaucArgs *a,
                   void (*fn)(void *, const UError *, const char *), sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(source_http_freep) SourceHttp *http = NULL;
        _cleanup_close_ int fd = -EBADF;
        InstallRequest req = { .fd = -EBADF };
        UError err = UERROR_NULL;
        int r;

        r = bus_source_preamble(m, msg, source, &a->http, false, &req, &err, error);
        if (r < 0)
                return uerror_is_set(&err) ? uerror_reply(error, &err) : r;
        fd = req.fd;
        http = req.http;

        call = sd_bus_message_ref(msg);
        r = inspect_start(m, fd, http, (JobReply) { .fn = fn, .userdata = call }, &err);
        if (r < 0)
                return uerror_reply(error, &err);
        TAKE_FD(fd);
        TAKE_PTR(http);
        TAKE_PTR(call);
        return 1;
}

static int method_info(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *source;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        return inspect(userdata, msg, source, &(RaucArgs) {}, on_info, error);
}

static int method_inspect_bundle(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(rauc_args_done) RaucArgs a = {};
        const char *source;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        r = read_args(msg, false, &a, error);
        if (r < 0)
                return r;
        return inspect(userdata, msg, source, &a, on_inspect, error);
}

/* ---- GetSlotStatus, GetPrimary (from the same snapshot as org.example.Update1's) ---- */

static int append_string(sd_bus_message *r, const char *key, const char *value) {
        return value ? sd_bus_message_append(r, "{sv}", key, "s", value) : 0;
}

/* RAUC's keys: the config ones always, the status file's only once the slot was written. */
static int append_slot(sd_bus_message *r, struct json_object *slot) {
        struct json_object *bundle = json_member(slot, "bundle"), *checksum = json_member(slot, "checksum");
        static const char *const counted[] = { "installed", "activated" };
        const char *status = json_string(slot, "status");
        int k;

        k = sd_bus_message_open_container(r, 'r', "sa{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "s", json_string(slot, "name") ?: "");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "{sv}");
        if (k >= 0)
                k = append_string(r, "class", json_string(slot, "class"));
        if (k >= 0)
                k = append_string(r, "device", json_string(slot, "device"));
        if (k >= 0)
                k = append_string(r, "type", json_string(slot, "type"));
        if (k >= 0)
                k = append_string(r, "bootname", json_string(slot, "bootname"));
        if (k >= 0)
                k = append_string(r, "state", json_string(slot, "state"));
        if (k >= 0)
                k = append_string(r, "parent", json_string(slot, "parent"));
        if (k >= 0)
                k = append_string(r, "mountpoint", json_string(slot, "mountpoint"));
        if (k >= 0) {
                /* RAUC knows good and bad only: a slot on its trial boot is one the bootloader
                 * will try, which RAUC calls good (attempts left).  Our "trial" stays in
                 * org.example.Update1's status. */
                const char *bs = json_string(slot, "boot_status");
                k = append_string(r, "boot-status", bs && streq(bs, "trial") ? "good" : bs);
        }
        if (k >= 0 && status && !streq(status, "unknown"))
                k = append_string(r, "status", status);
        if (k >= 0)
                k = append_string(r, "bundle.compatible", json_string(bundle, "compatible"));
        if (k >= 0)
                k = append_string(r, "bundle.version", json_string(bundle, "version"));
        if (k >= 0)
                k = append_string(r, "bundle.description", json_string(bundle, "description"));
        if (k >= 0)
                k = append_string(r, "bundle.build", json_string(bundle, "build"));
        if (k >= 0)
                k = append_string(r, "bundle.hash", json_string(bundle, "hash"));
        if (k >= 0 && json_string(checksum, "sha256"))
                k = sd_bus_message_append(r, "{sv}{sv}", "sha256", "s", json_string(checksum, "sha256"),
                                          "size", "t", (uint64_t) json_object_get_uint64(json_member(checksum, "size")));
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(counted); i++) {
                struct json_object *o = json_member(slot, counted[i]);
                char key[32];

                if (!json_string(o, "timestamp"))
                        continue;
                snprintf(key, sizeof(key), "%s.timestamp", counted[i]);
                k = append_string(r, key, json_string(o, "timestamp"));
                snprintf(key, sizeof(key), "%s.count", counted[i]);
                if (k >= 0)
                        k = sd_bus_message_append(r, "{sv}", key, "u", (uint32_t) json_object_get_uint64(json_member(o, "count")));
        }
        if (k >= 0)
                k = append_string(r, "installed.transaction", json_string(slot, "transaction_id"));
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        return k;
}

static void on_slot_status(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata, *reply = NULL;
        struct json_object *doc, *slots;
        int r;

        if (error) {
                (void) bus_reply_uerror(call, error);
                return;
        }
        doc = json_tokener_parse(result ?: "");
        slots = json_member(doc, "slots");
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sa{sv})");
        for (size_t i = 0; r >= 0 && slots && i < json_object_array_length(slots); i++)
                r = append_slot(reply, json_object_array_get_idx(slots, i));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        json_object_put(doc);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                reply_error(call, r);
}

/* RAUC asks the bootloader; so does the snapshot refresh behind this answer. */
static void on_primary(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        struct json_object *doc;
        UError err = UERROR_NULL;
        const char *primary;

        if (error) {
                (void) bus_reply_uerror(call, error);
                return;
        }
        doc = json_tokener_parse(result ?: "");
        primary = json_string(doc, "primary");
        if (primary)
                (void) sd_bus_reply_method_return(call, "s", primary);
        else {
                (void) uerror_set(&err, ERROR_IO, -EIO, "Unable to determine the primary boot slot: %s",
                                  json_string(doc, "bootloader_error") ?: "the bootloader names no slot");
                (void) bus_reply_uerror(call, &err);
        }
        json_object_put(doc);
}

static int slot_status(Manager *m, sd_bus_message *msg, void (*fn)(void *, const UError *, const char *),
                       sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = authorize(msg, AUTH_ACTION_READ, NULL, error);
        if (r < 0)
                return r;
        call = sd_bus_message_ref(msg);
        r = manager_get_slot_status(m, (JobReply) { .fn = fn, .userdata = call });
        if (r < 0)
                return log_error_errno(r, "Cannot answer %s: %m", sd_bus_message_get_member(msg));
        TAKE_PTR(call);
        return 1;
}

static int method_get_slot_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return slot_status(userdata, msg, on_slot_status, error);
}

static int method_get_primary(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return slot_status(userdata, msg, on_primary, error);
}

/* ---- Mark ---- */

static int method_mark(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *name = NULL, *message = NULL;
        const char *state, *slot;
        MarkState s;
        int r;

        r = sd_bus_message_read(msg, "ss", &state, &slot);
        if (r < 0)
                return r;
        s = mark_state_from_string(state);
        if (s < 0)
                return bus_invalid_args(error, -EINVAL, "Invalid state '%.64s': expected good, bad or active", state);
        r = bus_mark(userdata, msg, s, slot, &name, &message, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "ss", name, message);
}

/* ---- properties ---- */

/* RAUC knows idle and installing only; a mark is over before anyone could see it. */
BUS_PROPERTY_GETTER(property_get_operation, "s", m->operation == OPERATION_INSTALLING ? "installing" : "idle")
BUS_PROPERTY_GETTER(property_get_last_error, "s", m->last_error ?: "")
BUS_PROPERTY_GETTER(property_get_compatible, "s", m->config->compatible)
/* [system] variant-name=/variant-file=/variant-dtb= (lib/config-rauc.c); "" when none is
 * configured, as RAUC reports. */
BUS_PROPERTY_GETTER(property_get_variant, "s", m->config->variant ?: "")
BUS_PROPERTY_GETTER(property_get_boot_slot, "s", m->boot_slot ?: "")

/* Nesting depth 1: one step at a time, RAUC's top level. */
BUS_PROPERTY_GETTER(property_get_progress, "(isi)", (int32_t) m->progress_percent, m->progress_message ?: "",
                    (int32_t) 1)

/* Keep in sync with interfaces/de.pengutronix.rauc.Installer.xml and
 * policy/de.pengutronix.rauc.conf (tests/integration/test-api.sh compares them). */
static const sd_bus_vtable rauc_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_METHOD_WITH_ARGS("Install",
                                SD_BUS_ARGS("s", source),
                                SD_BUS_NO_RESULT,
                                method_install,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallBundle",
                                SD_BUS_ARGS("s", source, "a{sv}", args),
                                SD_BUS_NO_RESULT,
                                method_install_bundle,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Info",
                                SD_BUS_ARGS("s", bundle),
                                SD_BUS_RESULT("s", compatible, "s", version),
                                method_info,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InspectBundle",
                                SD_BUS_ARGS("s", source, "a{sv}", args),
                                SD_BUS_RESULT("a{sv}", info),
                                method_inspect_bundle,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Mark",
                                SD_BUS_ARGS("s", state, "s", slot_identifier),
                                SD_BUS_RESULT("s", slot_name, "s", message),
                                method_mark,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSlotStatus",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sa{sv})", slot_status_array),
                                method_get_slot_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPrimary",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", primary),
                                method_get_primary,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("Completed", SD_BUS_ARGS("i", result), 0),

        SD_BUS_PROPERTY("Operation", "s", property_get_operation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "(isi)", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Compatible", "s", property_get_compatible, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Variant", "s", property_get_variant, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BootSlot", "s", property_get_boot_slot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_VTABLE_END
};

/* ---- setup and the manager's notifications ---- */

int bus_rauc_setup(Manager *m) {
        sd_bus_slot *slot = NULL;
        int r;

        if (!m->config->rauc_dbus) {
                log_debug("RAUC's D-Bus API is off (rauc-dbus=false)");
                return 0;
        }
        r = sd_bus_add_object_vtable(m->bus, &slot, RAUC_BUS_PATH, RAUC_BUS_INTERFACE, rauc_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot publish %s at %s: %m", RAUC_BUS_INTERFACE, RAUC_BUS_PATH);
        r = sd_bus_request_name(m->bus, RAUC_BUS_NAME, 0);
        if (r < 0) {
                sd_bus_slot_unref(slot);
                log_warning_errno(r, "Cannot own the bus name %s (RAUC's own service running, or "
                                  "de.pengutronix.rauc.conf not installed?): RAUC's D-Bus API is off; "
                                  "set rauc-dbus=false in [system] if that is intended: %m", RAUC_BUS_NAME);
                return 0;
        }
        /* The bus now holds the slot (set_floating takes a reference for it); ours goes, or it
         * leaks at exit (LSan under SANITIZE=1). */
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        m->rauc_bus = true;
        return 0;
}

void bus_rauc_property_changed(Manager *m, const char *property) {
        static const char *const ours[] = { "Operation", "LastError", "Progress", "BootSlot" };
        int r;

        if (!m->bus || !m->rauc_bus)
                return;
        for (size_t i = 0; i < ELEMENTSOF(ours); i++) {
                if (!streq(property, ours[i]))
                        continue;
                r = sd_bus_emit_properties_changed(m->bus, RAUC_BUS_PATH, RAUC_BUS_INTERFACE, property, NULL);
                if (r < 0)
                        log_debug_errno(r, "Cannot emit PropertiesChanged(%s) on %s: %m", property, RAUC_BUS_NAME);
        }
}

void bus_rauc_completed(Manager *m, int result) {
        int r;

        if (!m->bus || !m->rauc_bus)
                return;
        /* RAUC: 0 success, 1 failure (never negative: `rauc install` waits for a result >= 0). */
        r = sd_bus_emit_signal(m->bus, RAUC_BUS_PATH, RAUC_BUS_INTERFACE, "Completed", "i", (int32_t) (result < 0 ? 1 : 0));
        if (r < 0)
                log_debug_errno(r, "Cannot emit Completed on %s: %m", RAUC_BUS_NAME);
}

int bus_rauc_introspect(FILE *f) {
        static const BusObject rauc = {
                .path = RAUC_BUS_PATH, .interface = RAUC_BUS_INTERFACE, .vtable = rauc_vtable,
        };

        return bus_introspect_vtable(&rauc, f);
}

#endif /* ENABLE_RAUC_DBUS */
