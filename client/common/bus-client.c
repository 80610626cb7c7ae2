/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-client.h"
#include "error.h"
#include "macro.h"

static const char *program = "updatectl";

void bus_client_set_program(const char *name) {
        program = name;
}

int bus_client_log_error(const sd_bus_error *e, int r, const char *what) {
        if (e && sd_bus_error_is_set(e)) {
                const char *hint = error_hint_for_dbus_name(e->name);

                fprintf(stderr, "%s: %s: %s\n", program, e->name, e->message ?: "(no message)");
                if (hint)
                        fprintf(stderr, "%s: what to do: %s\n", program, hint);
        } else
                fprintf(stderr, "%s: %s: %s\n", program, what, strerror(r < 0 ? -r : EIO));
        return r < 0 ? r : -EIO;
}

int bus_client_connect(sd_bus **ret) {
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "%s: Cannot connect to the system bus: %s\n", program, strerror(-r));
                return r;
        }
        return 0;
}

int bus_client_new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(bus, ret, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                           method);
        if (r < 0)
                return bus_client_log_error(NULL, r, "Cannot create a method call");
        return 0;
}

int bus_client_call_message(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, BUS_CLIENT_CALL_TIMEOUT_USEC, &error, ret_reply);
        if (r < 0)
                return bus_client_log_error(&error, r, sd_bus_message_get_member(m) ?: "call");
        return 0;
}

int bus_client_call(sd_bus *bus, const char *method, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = bus_client_new_call(bus, method, &m);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return bus_client_log_error(NULL, r, "Cannot build the method call");
        }
        return bus_client_call_message(bus, m, ret_reply);
}

/* ---- waiting for an operation ---- */

typedef struct OpState {
        sd_bus *bus;
        sd_event *event;
        const BusClientOperation *op;
        bool replied;       /* our call was accepted: the next Completed is ours */
        bool completed;
        bool cancel_sent;
        int error;          /* < 0: the call failed, or we lost the daemon */
        int result;
        char *message;
} OpState;

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpState *s = userdata;
        const char *msg;
        uint32_t percent;

        if (!s->op->progress || sd_bus_message_read(m, "us", &percent, &msg) < 0)
                return 0;
        s->op->progress(percent, msg, s->op->userdata);
        return 0;
}

static int on_completed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpState *s = userdata;
        const char *msg;
        int32_t result;

        /* Before our reply it can only be the end of someone else's operation. */
        if (!s->replied || s->completed)
                return 0;
        if (sd_bus_message_read(m, "is", &result, &msg) < 0)
                return 0;
        s->completed = true;
        s->result = result;
        s->message = strdup(msg);
        (void) sd_event_exit(s->event, 0);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e) {
                s->error = bus_client_log_error(e, -sd_bus_message_get_errno(m), "call");
                (void) sd_event_exit(s->event, 0);
                return 0;
        }
        s->replied = true;
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        OpState *s = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (!streq(name, UPDATE1_BUS_NAME) || !isempty(new_owner))
                return 0;
        fprintf(stderr, "%s: %s left the bus before the operation completed\n", program, UPDATE1_BUS_NAME);
        s->error = -ECONNRESET;
        (void) sd_event_exit(s->event, 0);
        return 0;
}

static int on_cancel_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        /* "No operation in progress": it ended meanwhile; Completed tells how. */
        if (e && !streq(e->name, UPDATE1_BUS_INTERFACE ".Error.Failed"))
                (void) bus_client_log_error(e, -sd_bus_message_get_errno(m), "Cancel");
        return 0;
}

static int on_signal(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        OpState *s = userdata;
        int r;

        if (!s->op->cancel_on_signal || s->cancel_sent) {
                /* Second Ctrl-C: stop waiting; the daemon carries on or cancels on its own. */
                fprintf(stderr, "%s: interrupted\n", program);
                s->error = -EINTR;
                (void) sd_event_exit(s->event, 0);
                return 0;
        }
        s->cancel_sent = true;
        fprintf(stderr, "\n%s: cancelling...\n", program);
        r = sd_bus_call_method_async(s->bus, NULL, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                     "Cancel", on_cancel_reply, s, NULL);
        if (r < 0)
                (void) bus_client_log_error(NULL, r, "Cannot send Cancel");
        return 0;
}

int bus_client_run_operation(sd_bus *bus, sd_bus_message *call, const BusClientOperation *op, int *ret_result,
                             char **ret_message) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *s_progress = NULL, *s_completed = NULL, *s_owner = NULL,
                                                   *s_call = NULL;
        OpState s = { .bus = bus, .op = op };
        sigset_t ss;
        int r;

        r = sd_event_new(&event);
        if (r < 0)
                return bus_client_log_error(NULL, r, "Cannot create an event loop");
        s.event = event;

        sigemptyset(&ss);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGINT, on_signal, &s) < 0 ||
            sd_event_add_signal(event, NULL, SIGTERM, on_signal, &s) < 0)
                return bus_client_log_error(NULL, -errno, "Cannot handle SIGINT");

        /* Synchronous AddMatch calls: subscribed before the call goes out. */
        r = sd_bus_match_signal(bus, &s_progress, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                "Progress", on_progress, &s);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &s_completed, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH,
                                        UPDATE1_BUS_INTERFACE, "Completed", on_completed, &s);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &s_owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, &s);
        if (r < 0)
                return bus_client_log_error(NULL, r, "Cannot subscribe to the daemon's signals");

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return bus_client_log_error(NULL, r, "Cannot attach to the event loop");
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        r = sd_bus_call_async(bus, &s_call, call, on_reply, &s, BUS_CLIENT_CALL_TIMEOUT_USEC);
        if (r < 0) {
                (void) sd_bus_detach_event(bus);
                return bus_client_log_error(NULL, r, "Cannot send the call");
        }

        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        if (s.error < 0) {
                free(s.message);
                return s.error;
        }
        if (r < 0 || !s.completed) {
                free(s.message);
                fprintf(stderr, "%s: Lost the connection to the bus before the operation completed\n", program);
                return r < 0 ? r : -ECONNRESET;
        }

        *ret_result = s.result;
        if (ret_message)
                *ret_message = s.message;
        else
                free(s.message);
        return 0;
}
