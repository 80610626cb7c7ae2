/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* A rejection carries a kind (which becomes the D-Bus error name and the CLI's exit text) and
 * one human sentence naming what was wrong, e.g.
 * "Bundle signature invalid: certificate expired". */
typedef enum ErrorKind {
        ERROR_NONE,
        ERROR_FAILED,            /* org.example.Update1.Error.Failed: anything else */
        ERROR_INVALID_ARGS,      /* org.freedesktop.DBus.Error.InvalidArgs */
        ERROR_INVALID_BUNDLE,
        ERROR_SIGNATURE_INVALID,
        ERROR_INCOMPATIBLE,
        ERROR_NO_TARGET_SLOT,
        ERROR_BUSY,
        ERROR_ACCESS_DENIED,
        ERROR_CANCELLED,
        ERROR_IO,
        ERROR_DOWNGRADE,
        ERROR_ALREADY_INSTALLED,
        /* Slot-transition refusals (daemon/slot-policy.c, invariants I1-I3): */
        ERROR_TRIAL_PENDING,     /* the booted slot is on an uncommitted trial: commit or reject it first */
        ERROR_NOT_BOOTABLE,      /* the group holds a failed, pending, unknown or inconsistent slot */
        ERROR_INCOMPLETE,        /* a bundle does not cover every slot of its boot group */
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
