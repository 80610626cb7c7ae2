/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* Exit on idle, as systemd's hostnamed and timedated do (bus_event_loop_with_idle()): the
 * daemon's state is on disk (status file, floors, trial record), so after idle-timeout= seconds
 * without an event while nothing is busy it releases its bus name and exits; the next call to
 * org.example.Update1 starts it again through D-Bus activation. */

/* Why the daemon may not exit now: a string for the log, or NULL if it may.  Main thread. */
const char *idle_busy_reason(Manager *m);

/* Runs m->event until it exits (SIGTERM/SIGINT, bus gone, or idle with idle-timeout= > 0).
 * Returns the event loop's exit code or a negative errno. */
int idle_run(Manager *m);
