/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "manager.h"

/* Publishes the org.example.Update1 object on m->bus and requests the name; from then on the
 * manager's state changes are announced on the bus (m->notify). */
int bus_setup(Manager *m);

/* Prints the object's introspection XML (from the vtable, over an in-process socket pair,
 * without any bus daemon). */
int bus_introspect(FILE *f);
