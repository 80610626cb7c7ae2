/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "auth.h"
#include "bus-common.h"
#include "bus-error.h"
#include "bus-rauc.h"
#include "bus.h"
#include "inspect.h"
#include "install.h"
#include "log.h"
#include "mark.h"
#include "slot-policy.h"
#include "reboot.h"
#include "snapshot.h"
#include "source-http.h"

/* The org.example.Update1 face of the daemon: it reads and validates arguments, authorizes,
 * hands the work to install.c / mark.c / inspect.c / reboot.c and turns UErrors into D-Bus
 * errors.  No install logic.  With bus-rauc.c (RAUC's face) and bus-common.c (what both share)
 * it is all that talks sd-bus for them: jobs answer their calls through a JobReply made here
 * (job.h), and the manager's state changes come out through the notify hooks set in
 * bus_setup(), which forward them to the RAUC face too. */

static int uerror_reply(sd_bus_error *error, const UError *e) {
        return bus_error_set_uerror(error, e);
}

/* ---- signals and PropertiesChanged (ManagerNotify) ---- */

static void bus_emit_properties_changed(Manager *m, const char *property) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_properties_changed(m->bus, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, property, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot emit PropertiesChanged(%s): %m", property);
        bus_rauc_property_changed(m, property);
}

static void bus_emit_progress(Manager *m) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_signal(m->bus, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, "Progress", "us",
                               m->progress_percent, m->progress_message ?: "");
        if (r < 0)
                log_debug_errno(r, "Cannot emit Progress: %m");
}

static void bus_emit_completed(Manager *m, int result, const char *message) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_signal(m->bus, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, "Completed", "is",
                               (int32_t) result, message ?: "");
        if (r < 0)
                log_debug_errno(r, "Cannot emit Completed: %m");
        bus_rauc_completed(m, result);
}

static const ManagerNotify bus_notify = {
        .property_changed = bus_emit_properties_changed,
        .progress = bus_emit_progress,
        .completed = bus_emit_completed,
};

/* ---- argument checks ---- */

typedef struct InstallOptions {
        int force;                   /* -1: not given */
        int ranged;                  /* -1: not given; InstallFd only */
        const char *transaction_id;  /* borrowed from the message */
} InstallOptions;

/* a{sv}: every key known, every value of its documented type, no key twice. */
static int read_install_options(sd_bus_message *msg, InstallOptions *ret, sd_bus_error *error) {
        InstallOptions o = { .force = -1, .ranged = -1 };
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;

                if (streq(key, "force") || streq(key, "ranged")) {
                        int *v = streq(key, "force") ? &o.force : &o.ranged, b;

                        if (!streq(contents, "b"))
                                return bus_invalid_args(error, -EINVAL, "Option '%s' must be a boolean (b), not '%s'", key,
                                                        contents);
                        if (*v >= 0)
                                return bus_invalid_args(error, -EINVAL, "Option '%s' given twice", key);
                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (r < 0)
                                return r;
                        *v = !!b;
                } else if (streq(key, "transaction-id")) {
                        const char *s;

                        if (!streq(contents, "s"))
                                return bus_invalid_args(error, -EINVAL, "Option 'transaction-id' must be a string (s), not '%s'",
                                                    contents);
                        if (o.transaction_id)
                                return bus_invalid_args(error, -EINVAL, "Option 'transaction-id' given twice");
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return r;
                        r = bus_check_transaction_id(s, error);
                        if (r < 0)
                                return r;
                        o.transaction_id = s;
                } else
                        return bus_invalid_args(error, -EINVAL, "Unknown option '%s' (known: force, transaction-id, ranged)", key);

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        *ret = o;
        return 0;
}

/* ---- methods ---- */

static int start_install(Manager *m, sd_bus_message *msg, InstallRequest *req, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = sd_bus_message_ref(msg);
        UError err = UERROR_NULL;
        int r;

        req->reply = bus_reply_to(call);
        r = install_start(m, req, &err);
        if (r < 0)
                return uerror_reply(error, &err);
        TAKE_PTR(call);
        return 1; /* the reply follows when the manifest is verified */
}

static int method_install(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(source_http_freep) SourceHttp *http = NULL;
        _cleanup_close_ int fd = -EBADF;
        InstallRequest req;
        InstallOptions o;
        UError err = UERROR_NULL;
        const char *source;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        r = read_install_options(msg, &o, error);
        if (r < 0)
                return r;
        if (o.ranged >= 0)
                return bus_invalid_args(error, -EINVAL, "Option 'ranged' applies to InstallFd only");

        r = bus_source_preamble(m, msg, source, NULL, true, &req, &err, error);
        if (r < 0)
                return uerror_is_set(&err) ? uerror_reply(error, &err) : r;
        req.force = o.force > 0;
        req.transaction_id = o.transaction_id;
        r = start_install(m, msg, &req, error);
        /* Whatever install_start() did not take is cleaned up here. */
        fd = req.fd;
        http = req.http;
        return r;
}

static int method_install_fd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(source_ranged_freep) SourceRanged *ranged = NULL;
        _cleanup_close_ int fd = -EBADF;
        InstallRequest req;
        InstallOptions o;
        UError err = UERROR_NULL;
        uid_t uid;
        int in_fd, r;

        r = sd_bus_message_read(msg, "h", &in_fd);
        if (r < 0)
                return r;
        r = read_install_options(msg, &o, error);
        if (r < 0)
                return r;
        /* "ranged": a socket whose peer serves the pieces the install asks for (source-ranged.h);
         * without it a socket stays InvalidArgs. */
        r = o.ranged > 0 ? source_ranged_check_fd(in_fd, &err) : bus_check_bundle_fd(m, in_fd, "The bundle file descriptor", error);
        if (r < 0)
                return uerror_is_set(&err) ? uerror_reply(error, &err) : r;

        r = authorize(msg, AUTH_ACTION_INSTALL, &uid, error);
        if (r < 0)
                return r;

        r = bus_check_install_idle(m, &err);
        if (r < 0)
                return uerror_reply(error, &err);

        /* The message owns in_fd; the install outlives the message. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot duplicate the bundle fd: %m");

        req = (InstallRequest) {
                .source = o.ranged > 0 ? "ranged fd" : "fd",
                .fd = fd,
                .force = o.force > 0,
                .transaction_id = o.transaction_id,
                .uid = uid,
        };
        if (o.ranged > 0) {
                r = source_ranged_new(TAKE_FD(fd), m->config->max_bundle_size, &req.ranged, &err);
                if (r < 0)
                        return uerror_reply(error, &err);
                req.fd = -EBADF;
        }
        r = start_install(m, msg, &req, error);
        fd = req.fd; /* -EBADF if taken */
        ranged = req.ranged;
        return r;
}

static int method_cancel(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        UError err = UERROR_NULL;
        uid_t uid;
        int r;

        r = authorize(msg, AUTH_ACTION_CANCEL, &uid, error);
        if (r < 0)
                return r;

        r = install_cancel(m);
        if (r == -ESRCH) {
                (void) uerror_set(&err, ERROR_FAILED, r, "No operation in progress");
                return uerror_reply(error, &err);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot cancel: %m");
        log_info("Cancel requested by uid %u", (unsigned) uid);
        return sd_bus_reply_method_return(msg, NULL);
}

static int do_mark(Manager *m, sd_bus_message *msg, MarkState state, const char *slot, sd_bus_error *error) {
        _cleanup_free_ char *name = NULL, *message = NULL;
        int r;

        r = bus_mark(m, msg, state, slot, &name, &message, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "ss", name, message);
}

static int method_mark_good(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return do_mark(userdata, msg, MARK_GOOD, "booted", error);
}

static int method_mark(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *state, *slot;
        MarkState s;
        int r;

        r = sd_bus_message_read(msg, "ss", &state, &slot);
        if (r < 0)
                return r;
        s = mark_state_from_string(state);
        if (s < 0)
                return bus_invalid_args(error, -EINVAL, "Invalid state '%.64s': expected good, bad or active", state);
        return do_mark(userdata, msg, s, slot, error);
}

static int method_reboot(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Manager *m = userdata;
        UError err = UERROR_NULL;
        uid_t uid;
        int r;

        /* No arguments: sd-bus already checked the (empty) signature. */
        r = authorize(msg, AUTH_ACTION_REBOOT, &uid, error);
        if (r < 0)
                return r;

        /* Rebooting mid-install would only waste the install (it is power-loss safe, not
         * finished); let the caller cancel it or wait for Completed. */
        if (m->install) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY,
                                  "An installation is in progress; reboot after it completed or cancel it");
                return uerror_reply(error, &err);
        }

        call = sd_bus_message_ref(msg);
        r = reboot_start(m, uid, bus_reply_to(call), &err);
        if (r < 0) {
                log_warning("Reboot by uid %u refused: %s", (unsigned) uid, err.message);
                return uerror_reply(error, &err);
        }
        TAKE_PTR(call);
        return 1; /* the reply follows when the command ends */
}

static int method_get_slot_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Manager *m = userdata;
        int r;

        r = authorize(msg, AUTH_ACTION_READ, NULL, error);
        if (r < 0)
                return r;
        /* No bootloader I/O here: the answer comes from a snapshot, now or after a refresh in a
         * worker thread (daemon/snapshot.c). */
        call = sd_bus_message_ref(msg);
        r = manager_get_slot_status(m, bus_reply_to(call));
        if (r < 0)
                return log_error_errno(r, "Cannot answer GetSlotStatus: %m");
        TAKE_PTR(call);
        return 1;
}

static int method_inspect_bundle(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Manager *m = userdata;
        _cleanup_close_ int fd = -EBADF;
        UError err = UERROR_NULL;
        int in_fd, r;

        r = sd_bus_message_read(msg, "h", &in_fd);
        if (r < 0)
                return r;
        r = bus_check_bundle_fd(m, in_fd, "The bundle file descriptor", error);
        if (r < 0)
                return r;
        r = authorize(msg, AUTH_ACTION_INSPECT, NULL, error);
        if (r < 0)
                return r;

        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot duplicate the bundle fd: %m");
        call = sd_bus_message_ref(msg);
        r = inspect_start(m, fd, NULL, bus_reply_to(call), &err);
        if (r < 0)
                return uerror_reply(error, &err);
        TAKE_FD(fd);
        TAKE_PTR(call);
        return 1;
}

/* ---- properties ---- */

/* Reading is for root and group "update" (AUTH_ACTION_READ), like GetSlotStatus; the bus policy
 * is the first gate (bus_authorize_property_read()). */
BUS_PROPERTY_GETTER(property_get_operation, "s", operation_to_string(m->operation) ?: "idle")
BUS_PROPERTY_GETTER(property_get_progress, "(us)", m->progress_percent, m->progress_message ?: "")
BUS_PROPERTY_GETTER(property_get_last_error, "s", m->last_error ?: "")
BUS_PROPERTY_GETTER(property_get_compatible, "s", m->config->compatible)
BUS_PROPERTY_GETTER(property_get_boot_slot, "s", m->boot_slot ?: "")
BUS_PROPERTY_GETTER(property_get_primary_slot, "s", m->primary_slot ?: "")

/* Keep in sync with interfaces/org.example.Update1.xml and policy/org.example.Update1.conf
 * (tests compare them). */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Operation", "s", property_get_operation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "(us)", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Compatible", "s", property_get_compatible, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BootSlot", "s", property_get_boot_slot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PrimarySlot", "s", property_get_primary_slot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Install",
                                SD_BUS_ARGS("s", source, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_install,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallFd",
                                SD_BUS_ARGS("h", fd, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_install_fd,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MarkGood",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", slot, "s", message),
                                method_mark_good,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Mark",
                                SD_BUS_ARGS("s", state, "s", slot),
                                SD_BUS_RESULT("s", slot, "s", message),
                                method_mark,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reboot",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reboot,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSlotStatus",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_get_slot_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InspectBundle",
                                SD_BUS_ARGS("h", fd),
                                SD_BUS_RESULT("s", json),
                                method_inspect_bundle,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("Progress",
                                SD_BUS_ARGS("u", percent, "s", message),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Completed",
                                SD_BUS_ARGS("i", result, "s", message),
                                0),

        SD_BUS_VTABLE_END
};

int bus_setup(Manager *m) {
        int r;

        m->notify = &bus_notify;
        r = sd_bus_add_object_vtable(m->bus, NULL, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot publish %s: %m", UPDATE1_BUS_PATH);
        r = sd_bus_request_name(m->bus, UPDATE1_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot own the bus name %s (another instance running, or not allowed by the bus policy?): %m",
                                       UPDATE1_BUS_NAME);
        return bus_rauc_setup(m);
}

int bus_introspect(const char *interface, FILE *f) {
        static const BusObject update1 = {
                .path = UPDATE1_BUS_PATH, .interface = UPDATE1_BUS_INTERFACE, .vtable = manager_vtable,
        };

        if (!interface || streq(interface, UPDATE1_BUS_INTERFACE))
                return bus_introspect_vtable(&update1, f);
        if (streq(interface, RAUC_BUS_INTERFACE))
                return bus_rauc_introspect(f);
        return log_error_errno(-EINVAL, "Unknown interface '%s' (known: %s, %s)", interface, UPDATE1_BUS_INTERFACE,
                               RAUC_BUS_INTERFACE);
}
