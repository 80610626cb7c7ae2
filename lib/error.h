/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* A rejection carries a kind (which becomes the D-Bus error name and the CLI's exit text) and
 * one human sentence naming what was wrong, e.g.
 * "Bundle signature invalid: certificate expired". */
/* The kinds, their D-Bus names and what each means: lib/error-kinds.h. */
typedef enum ErrorKind {
        ERROR_NONE,
#define ERROR_KIND(id, name, dbus, means, todo) ERROR_##id,
#include "error-kinds.h"
#undef ERROR_KIND
        _ERROR_KIND_MAX,
} ErrorKind;

typedef struct UError {
        ErrorKind kind;
        int error;          /* negative errno */
        char message[1024];
} UError;

#define UERROR_NULL ((UError) { .kind = ERROR_NONE })

/* Fills 'e' (if not NULL and not already set: the first, most specific error wins) and returns
 * r, which must be negative.  Usage:
 *   return uerror_set(err, ERROR_SIGNATURE_INVALID, -EBADMSG, "Bundle signature invalid: %s", why); */
int uerror_set(UError *e, ErrorKind kind, int r, const char *fmt, ...) _printf_(4, 5);
/* Prepend context: "Installing rootfs.1: <old message>". */
void uerror_prefix(UError *e, const char *fmt, ...) _printf_(2, 3);
static inline int uerror_is_set(const UError *e) {
        return e && e->kind != ERROR_NONE;
}

/* "org.example.Update1.Error.SignatureInvalid" etc. */
const char *error_kind_to_dbus_name(ErrorKind k);
ErrorKind error_kind_from_dbus_name(const char *name);
/* "SignatureInvalid" etc: the short form used in logs and JSON. */
const char *error_kind_to_string(ErrorKind k);
/* "Wait for Completed (or updatectl cancel), then try again.": what to do, from error-kinds.h. */
const char *error_kind_to_hint(ErrorKind k);
/* The same for a D-Bus error name; NULL for a name that is not ours (e.g. the bus's own). */
const char *error_hint_for_dbus_name(const char *name);
