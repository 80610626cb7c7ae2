/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

typedef struct ErrorKindInfo {
        const char *name;       /* "SignatureInvalid" */
        const char *dbus;       /* "org.example.Update1.Error.SignatureInvalid" */
        const char *todo;       /* what the caller can do about it */
} ErrorKindInfo;

static const ErrorKindInfo error_kinds[_ERROR_KIND_MAX] = {
/* What each means is for the docs (tests/lint/error-table.py); what to do is also printed by the
 * clients under the error, so the table stays the one place that says it. */
#define ERROR_KIND(id, n, d, means, todo_) [ERROR_##id] = { .name = n, .dbus = d, .todo = todo_ },
#include "error-kinds.h"
#undef ERROR_KIND
};

static const ErrorKindInfo *error_kind_info(ErrorKind k) {
        if ((int) k <= 0 || k >= _ERROR_KIND_MAX)
                k = ERROR_FAILED;
        return &error_kinds[k];
}

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
        return error_kind_info(k)->dbus;
}

ErrorKind error_kind_from_dbus_name(const char *name) {
        for (int i = 1; i < _ERROR_KIND_MAX; i++)
                if (name && streq(error_kinds[i].dbus, name))
                        return (ErrorKind) i;
        return ERROR_FAILED;
}

const char *error_kind_to_hint(ErrorKind k) {
        return error_kind_info(k)->todo;
}

const char *error_hint_for_dbus_name(const char *name) {
        for (int i = 1; i < _ERROR_KIND_MAX; i++)
                if (name && streq(error_kinds[i].dbus, name))
                        return error_kinds[i].todo;
        return NULL;
}

const char *error_kind_to_string(ErrorKind k) {
        return error_kind_info(k)->name;
}
