/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "manager.h"

/* Publishes the org.example.Update1 object on m->bus and requests the name, then the RAUC face
 * (bus-rauc.c) if it is enabled; from then on the manager's state changes are announced on
 * both (m->notify). */
int bus_setup(Manager *m);

/* Prints the introspection XML of one interface's object (NULL: org.example.Update1), from the
 * vtable, over an in-process socket pair, without any bus daemon. */
int bus_introspect(const char *interface, FILE *f);
