/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-error.h"
#include "macro.h"

int bus_error_set_uerror(sd_bus_error *error, const UError *e) {
        ErrorKind kind = uerror_is_set(e) ? e->kind : ERROR_FAILED;
        const char *msg = uerror_is_set(e) ? e->message : "Operation failed";

        (void) sd_bus_error_set(error, error_kind_to_dbus_name(kind), msg);
        return uerror_is_set(e) && e->error < 0 ? e->error : -EIO;
}

int bus_reply_uerror(sd_bus_message *call, const UError *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        (void) bus_error_set_uerror(&error, e);
        return sd_bus_reply_method_error(call, &error);
}
