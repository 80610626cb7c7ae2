/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdio.h>

#include "manager.h"

/* RAUC's D-Bus API (de.pengutronix.rauc at "/", interface de.pengutronix.rauc.Installer, the
 * shape of RAUC 1.8 and later) served by updated, so that RAUC's own clients work unchanged.
 * A thin face: every call goes through the same install state machine, slot-transition
 * authority and authorization as org.example.Update1 (bus-common.c); see docs/rauc-compat.md. */

#define RAUC_BUS_NAME "de.pengutronix.rauc"
#define RAUC_BUS_PATH "/"
#define RAUC_BUS_INTERFACE "de.pengutronix.rauc.Installer"

#ifndef ENABLE_RAUC_DBUS
#define ENABLE_RAUC_DBUS 1
#endif

#if ENABLE_RAUC_DBUS
/* Publishes the object and requests the name when [system] rauc-dbus= is on.  A name that
 * cannot be owned (RAUC's own service running, policy missing) is logged and the face stays
 * off: org.example.Update1 is the daemon's API and keeps working. */
int bus_rauc_setup(Manager *m);
/* The manager's notify hooks, forwarded by bus.c: PropertiesChanged of the RAUC properties
 * that follow 'property', and Completed(0 or 1). */
void bus_rauc_property_changed(Manager *m, const char *property);
void bus_rauc_completed(Manager *m, int result);
int bus_rauc_introspect(FILE *f);
#else
static inline int bus_rauc_setup(Manager *m) {
        (void) m;
        return 0;
}
static inline void bus_rauc_property_changed(Manager *m, const char *property) {
        (void) m;
        (void) property;
}
static inline void bus_rauc_completed(Manager *m, int result) {
        (void) m;
        (void) result;
}
static inline int bus_rauc_introspect(FILE *f) {
        (void) f;
        fprintf(stderr, "updated was built without the RAUC D-Bus face (RAUC_DBUS=0)\n");
        return -EOPNOTSUPP;
}
#endif
