/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* The one D-Bus helper every client shares: connect, call with clear error text, and wait for
 * an operation's Completed signal while showing its Progress. */

#define UPDATE1_BUS_NAME "org.example.Update1"
#define UPDATE1_BUS_PATH "/org/example/Update1"
#define UPDATE1_BUS_INTERFACE "org.example.Update1"

/* Long enough for a large signature from a slow pipe; the install itself runs after the reply. */
#define BUS_CLIENT_CALL_TIMEOUT_USEC (UINT64_C(10) * 60 * 1000000)

/* Program name used in error lines ("updatectl: ..."). */
void bus_client_set_program(const char *name);

/* sd_bus_open_system() (honours DBUS_SYSTEM_BUS_ADDRESS); prints the reason on failure. */
int bus_client_connect(sd_bus **ret);

/* Prints "<program>: <ErrorName>: <message>" to stderr (D-Bus errors keep their full name, e.g.
 * org.example.Update1.Error.Busy, so scripts can match it) and returns a negative errno. */
int bus_client_log_error(const sd_bus_error *e, int r, const char *what);

/* Calls method on the Update1 object; on failure prints the error and returns it. */
int bus_client_call(sd_bus *bus, const char *method, sd_bus_message **ret_reply, const char *types, ...);
/* Same with a prepared message (e.g. one carrying a{sv} options). */
int bus_client_call_message(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply);

/* A new method call on the Update1 object, to append arguments to. */
int bus_client_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);

typedef void (*BusClientProgressFn)(uint32_t percent, const char *message, void *userdata);

typedef struct BusClientOperation {
        BusClientProgressFn progress;   /* may be NULL */
        void *userdata;
        bool cancel_on_signal;          /* SIGINT/SIGTERM call Cancel() and keep waiting */
} BusClientOperation;

/* Subscribes to Progress and Completed first (so nothing is missed), sends 'call', and waits
 * for its reply and then for the Completed signal that follows it.  Returns 0 and the result
 * and message of Completed; a failing reply is printed and returned as a negative errno. */
int bus_client_run_operation(sd_bus *bus, sd_bus_message *call, const BusClientOperation *op, int *ret_result,
                             char **ret_message);
