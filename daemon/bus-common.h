/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "install.h"
#include "job.h"
#include "manager.h"
#include "states.h"

/* What both D-Bus faces of the daemon share (bus.c: org.example.Update1, bus-rauc.c:
 * de.pengutronix.rauc): argument checks, opening an install source, the one-operation rule,
 * deferred replies and introspection.  Keeping it in one place keeps the faces thin: neither
 * may check or start anything the other does not. */

#define BUS_URL_MAX 4096
#define BUS_TRANSACTION_ID_MAX 128

/* Sets InvalidArgs with the formatted sentence; returns r if negative, else -EINVAL. */
_printf_(3, 4)
int bus_invalid_args(sd_bus_error *error, int r, const char *fmt, ...);

/* A JobReply (job.h) answering 'call' (whose reference it takes when the job started) with the
 * job's string result or error. */
JobReply bus_reply_to(sd_bus_message *call);

bool bus_string_is_printable(const char *s);
bool bus_source_is_url(const char *s);
/* A transaction id: 1..BUS_TRANSACTION_ID_MAX printable characters without spaces. */
int bus_check_transaction_id(const char *s, sd_bus_error *error);
/* "http(s)://..." of sane length, or an absolute path shorter than PATH_MAX; sets *ret_url. */
int bus_check_source(const char *source, bool *ret_url, sd_bus_error *error);

/* A bundle stream: a regular file (not larger than max-bundle-size) or a pipe, readable. */
int bus_check_bundle_fd(Manager *m, int fd, const char *what, sd_bus_error *error);

/* What a caller may add to the http(s) transfers of one install (RAUC's tls-cert, tls-key,
 * tls-ca, http-headers; docs/rauc-compat.md). */
typedef struct BusHttpArgs {
        const char *tls_cert, *tls_key, *tls_ca;  /* absolute paths, or NULL */
        char **headers;                            /* NULL-terminated, or NULL */
} BusHttpArgs;

/* A tls-* argument: an absolute path of sane length; a PKCS#11 URI is refused by name. */
int bus_check_tls_path(const char *key, const char *path, sd_bus_error *error);
/* http-headers: at most SOURCE_HTTP_MAX_HEADERS, each source_http_check_header(). */
int bus_check_http_headers(char **headers, sd_bus_error *error);
/* The arguments against the source: tls-* need an https:// URL, http-headers an http(s) one,
 * tls-key needs tls-cert. */
int bus_check_http_args(const BusHttpArgs *a, const char *source, sd_bus_error *error);
/* Reads the tls-* files with the rights of 'uid' (as a path source is opened: open-as.h), each
 * a regular file of at most SOURCE_HTTP_TLS_FILE_MAX bytes, and copies the headers.  Errors
 * like a path source's (AccessDenied: the caller cannot read it itself). */
int bus_load_http_options(const BusHttpArgs *a, uid_t uid, SourceHttpOptions *ret, UError *err);

/* Opens a checked source (bus_check_source) for an install: req->fd or req->http; a local path
 * with the rights of 'uid' (the caller's EUID: open-as.h) unless that is root or the daemon's
 * own.  'http' (may be NULL) is taken by an http(s) source.  On failure fills 'err'
 * (InvalidArgs for what the caller named wrongly, AccessDenied for what it may not read). */
int bus_open_install_source(Manager *m, const char *source, bool url, uid_t uid, SourceHttpOptions *http,
                            InstallRequest *req, UError *err);

/* What both faces do before an install or an inspection of a source, in the handler order of
 * docs/HACKING.md: check the source and the http arguments, authorize (a URL as an install of a
 * URL, a path as one of a path), the one-operation rule (if 'idle'), read the tls-* files with
 * the caller's rights and open the source.  Returns 0 with *req set up (source, fd or http,
 * uid; the rest is the caller's), or a negative errno with 'error' set (a malformed argument, a
 * denied caller: the call's own answer) or else 'err' set: ERROR_BUSY, or why the source could
 * not be opened — each face answers those its own way (RAUC's fails the install after the
 * call returned). */
int bus_source_preamble(Manager *m, sd_bus_message *msg, const char *source, const BusHttpArgs *http, bool idle,
                        InstallRequest *req, UError *err, sd_bus_error *error);

/* The one-operation rule both faces keep: ERROR_BUSY while an install or a reboot command runs. */
int bus_check_install_idle(const Manager *m, UError *err);

/* Mark(state, slot) as both faces run it: validate, authorize, refuse while an install runs
 * (except MarkGood of the booted group), mark (mark.c), refresh the primary.  Returns the slot
 * name and the message, or fills 'error'. */
int bus_mark(Manager *m, sd_bus_message *msg, MarkState state, const char *slot, char **ret_slot, char **ret_message,
             sd_bus_error *error);

/* Properties: a Properties.Get/GetAll call needs AUTH_ACTION_READ; the getters run without a
 * call (or with another call) when sd-bus builds our PropertiesChanged: those pass. */
int bus_authorize_property_read(sd_bus *bus, sd_bus_error *error);

/* A property getter of either face: bus_authorize_property_read(), then the value(s) appended
 * as TYPE; the values are expressions of the Manager *m. */
#define BUS_PROPERTY_GETTER(fn, type, ...)                                                                        \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property,                 \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {                               \
                Manager *m = userdata;                                                                            \
                int r = bus_authorize_property_read(bus, error);                                                  \
                                                                                                                  \
                (void) m;                                                                                         \
                return r < 0 ? r : sd_bus_message_append(reply, type, __VA_ARGS__);                               \
        }

/* One object's vtable, for bus_introspect_vtable(). */
typedef struct BusObject {
        const char *path;
        const char *interface;
        const sd_bus_vtable *vtable;
} BusObject;

/* Prints the object's introspection XML (from the vtable, over an in-process socket pair,
 * without any bus daemon). */
int bus_introspect_vtable(const BusObject *o, FILE *f);
