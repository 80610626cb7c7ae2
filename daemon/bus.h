/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include <systemd/sd-bus.h>

#include "error.h"
#include "manager.h"

/* Publishes the org.example.Update1 object on m->bus and requests the name. */
int bus_setup(Manager *m);

/* Prints the object's introspection XML (from the vtable, over an in-process socket pair,
 * without any bus daemon). */
int bus_introspect(FILE *f);

/* Best effort: failures are logged at debug level. */
void bus_emit_properties_changed(Manager *m, const char *property);
void bus_emit_progress(Manager *m);
void bus_emit_completed(Manager *m, int result, const char *message);

/* "org.example.Update1.Error.<Kind>" with the UError's sentence; returns a negative errno. */
int bus_error_set_uerror(sd_bus_error *error, const UError *e);
/* Sends an error reply for a pending call. */
int bus_reply_uerror(sd_bus_message *call, const UError *e);
