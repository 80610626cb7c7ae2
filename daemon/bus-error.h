/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "error.h"

/* UError → D-Bus.  A leaf: only lib/ and sd-bus, so that every D-Bus front-end file can use it
 * without depending on the vtable in bus.c. */

/* "org.example.Update1.Error.<Kind>" with the UError's sentence; returns a negative errno. */
int bus_error_set_uerror(sd_bus_error *error, const UError *e);
/* Sends an error reply for a pending call. */
int bus_reply_uerror(sd_bus_message *call, const UError *e);
