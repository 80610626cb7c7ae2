/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const error_kind_table[_ERROR_KIND_MAX] = {
        [ERROR_NONE] = NULL,
        [ERROR_FAILED] = "Failed",
        [ERROR_INVALID_ARGS] = "InvalidArgs",
        [ERROR_INVALID_BUNDLE] = "InvalidBundle",
        [ERROR_SIGNATURE_INVALID] = "SignatureInvalid",
        [ERROR_INCOMPATIBLE] = "Incompatible",
        [ERROR_NO_TARGET_SLOT] = "NoTargetSlot",
        [ERROR_BUSY] = "Busy",
        [ERROR_ACCESS_DENIED] = "AccessDenied",
        [ERROR_CANCELLED] = "Cancelled",
        [ERROR_IO] = "Io",
        [ERROR_DOWNGRADE] = "Downgrade",
        [ERROR_ALREADY_INSTALLED] = "AlreadyInstalled",
        [ERROR_TRIAL_PENDING] = "TrialPending",
        [ERROR_NOT_BOOTABLE] = "NotBootable",
        [ERROR_INCOMPLETE] = "Incomplete",
};

static const char *const error_dbus_table[_ERROR_KIND_MAX] = {
        [ERROR_NONE] = NULL,
        [ERROR_FAILED] = "org.example.Update1.Error.Failed",
        [ERROR_INVALID_ARGS] = "org.freedesktop.DBus.Error.InvalidArgs",
        [ERROR_INVALID_BUNDLE] = "org.example.Update1.Error.InvalidBundle",
        [ERROR_SIGNATURE_INVALID] = "org.example.Update1.Error.SignatureInvalid",
        [ERROR_INCOMPATIBLE] = "org.example.Update1.Error.Incompatible",
        [ERROR_NO_TARGET_SLOT] = "org.example.Update1.Error.NoTargetSlot",
        [ERROR_BUSY] = "org.example.Update1.Error.Busy",
        [ERROR_ACCESS_DENIED] = "org.example.Update1.Error.AccessDenied",
        [ERROR_CANCELLED] = "org.example.Update1.Error.Cancelled",
        [ERROR_IO] = "org.example.Update1.Error.Io",
        [ERROR_DOWNGRADE] = "org.example.Update1.Error.Downgrade",
        [ERROR_ALREADY_INSTALLED] = "org.example.Update1.Error.AlreadyInstalled",
        [ERROR_TRIAL_PENDING] = "org.example.Update1.Error.TrialPending",
        [ERROR_NOT_BOOTABLE] = "org.example.Update1.Error.NotBootable",
        [ERROR_INCOMPLETE] = "org.example.Update1.Error.Incomplete",
};

int uerror_set(UError *e, ErrorKind kind, int r, const char *fmt, ...) {
        va_list ap;

        if (r >= 0)
                r = -EINVAL;
        if (!e || e->kind != ERROR_NONE)
                return r;

        e->kind = kind;
        e->error = r;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
        return r;
}

void uerror_prefix(UError *e, const char *fmt, ...) {
        char prefix[256], old[sizeof(e->message)];
        va_list ap;

        if (!e || e->kind == ERROR_NONE)
                return;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, e->message, sizeof(old));
        /* Truncation of an over-long message is fine; keep the prefix. */
        size_t n = strlen(prefix);
        if (n + 2 >= sizeof(e->message))
                n = sizeof(e->message) - 3;
        memcpy(e->message, prefix, n);
        memcpy(e->message + n, ": ", 2);
        strncpy(e->message + n + 2, old, sizeof(e->message) - n - 3);
        e->message[sizeof(e->message) - 1] = 0;
}

const char *error_kind_to_dbus_name(ErrorKind k) {
        if ((int) k <= 0 || k >= _ERROR_KIND_MAX)
                return error_dbus_table[ERROR_FAILED];
        return error_dbus_table[k];
}

ErrorKind error_kind_from_dbus_name(const char *name) {
        for (int i = 1; i < _ERROR_KIND_MAX; i++)
                if (name && streq(error_dbus_table[i], name))
                        return (ErrorKind) i;
        return ERROR_FAILED;
}

const char *error_kind_to_string(ErrorKind k) {
        if ((int) k <= 0 || k >= _ERROR_KIND_MAX)
                return "Failed";
        return error_kind_table[k];
}
