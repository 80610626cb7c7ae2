/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "auth.h"
#include "bus-error.h"
#include "bus.h"
#include "inspect.h"
#include "install.h"
#include "log.h"
#include "mark.h"
#include "slot-policy.h"
#include "reboot.h"
#include "snapshot.h"
#include "source-http.h"

/* The D-Bus face of the daemon: it reads and validates arguments, authorizes, hands the work
 * to install.c / mark.c / inspect.c / reboot.c and turns UErrors into D-Bus errors.  No install
 * logic.  It is the only file that talks sd-bus for them: jobs answer their calls through a
 * JobReply made here (job.h), and the manager's state changes come out through the notify hooks
 * set in bus_setup(). */

#define URL_MAX 4096
#define TRANSACTION_ID_MAX 128

/* ---- errors and deferred replies ---- */

_printf_(3, 4)
static int invalid_args(sd_bus_error *error, int r, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, buf);
        return r < 0 ? r : -EINVAL;
}

static int uerror_reply(sd_bus_error *error, const UError *e) {
        return bus_error_set_uerror(error, e);
}

/* JobReply.fn (job.h) for a call a job answers later: userdata is the call's reference. */
static void reply_deferred(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        int r;

        if (error)
                r = bus_reply_uerror(call, error);
        else if (result)
                r = sd_bus_reply_method_return(call, "s", result);
        else
                r = sd_bus_reply_method_return(call, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot reply to %s: %m", sd_bus_message_get_member(call) ?: "a call");
}

/* Hands 'call' (a reference the caller owns until the job started) to a job. */
static JobReply reply_to(sd_bus_message *call) {
        return (JobReply) { .fn = reply_deferred, .userdata = call };
}

/* ---- signals and PropertiesChanged (ManagerNotify) ---- */

static void bus_emit_properties_changed(Manager *m, const char *property) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_properties_changed(m->bus, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, property, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot emit PropertiesChanged(%s): %m", property);
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
}

static const ManagerNotify bus_notify = {
        .property_changed = bus_emit_properties_changed,
        .progress = bus_emit_progress,
        .completed = bus_emit_completed,
};

/* ---- argument checks ---- */

static bool string_is_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool source_is_url(const char *s) {
        return strneq(s, "http://", 7) || strneq(s, "https://", 8);
}

typedef struct InstallOptions {
        int force;                   /* -1: not given */
        const char *transaction_id;  /* borrowed from the message */
} InstallOptions;

/* a{sv}: every key known, every value of its documented type, no key twice. */
static int read_install_options(sd_bus_message *msg, InstallOptions *ret, sd_bus_error *error) {
        InstallOptions o = { .force = -1 };
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

                if (streq(key, "force")) {
                        int b;

                        if (!streq(contents, "b"))
                                return invalid_args(error, -EINVAL, "Option 'force' must be a boolean (b), not '%s'", contents);
                        if (o.force >= 0)
                                return invalid_args(error, -EINVAL, "Option 'force' given twice");
                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (r < 0)
                                return r;
                        o.force = !!b;
                } else if (streq(key, "transaction-id")) {
                        const char *s;
                        size_t n;

                        if (!streq(contents, "s"))
                                return invalid_args(error, -EINVAL, "Option 'transaction-id' must be a string (s), not '%s'",
                                                    contents);
                        if (o.transaction_id)
                                return invalid_args(error, -EINVAL, "Option 'transaction-id' given twice");
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return r;
                        n = strlen(s);
                        if (n == 0 || n > TRANSACTION_ID_MAX || !string_is_printable(s) || strchr(s, ' '))
                                return invalid_args(error, -EINVAL,
                                                    "Invalid transaction-id '%.*s': 1..%d printable characters without spaces",
                                                    (int) MIN(n, (size_t) 160), s, TRANSACTION_ID_MAX);
                        o.transaction_id = s;
                } else
                        return invalid_args(error, -EINVAL, "Unknown option '%s' (known: force, transaction-id)", key);

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

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFSOCK:
                return "a socket";
        case S_IFBLK:
                return "a block device";
        case S_IFCHR:
                return "a character device";
        case S_IFLNK:
                return "a symbolic link";
        default:
                return "an unsupported file type";
        }
}

/* A bundle stream: a regular file (not larger than max-bundle-size) or a pipe, readable. */
static int check_bundle_fd(Manager *m, int fd, const char *what, sd_bus_error *error) {
        struct stat st;
        int flags;

        if (fstat(fd, &st) < 0)
                return invalid_args(error, -errno, "Cannot stat %s: %s", what, strerror(errno));
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return invalid_args(error, -errno, "Cannot get the flags of %s: %s", what, strerror(errno));
        /* O_PATH descriptors report O_RDONLY but were never checked for read permission. */
        if (flags & O_PATH)
                return invalid_args(error, -EBADF, "%s is an O_PATH descriptor, not open for reading", what);
        if ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR)
                return invalid_args(error, -EBADF, "%s is not open for reading", what);

        if (S_ISREG(st.st_mode)) {
                if ((uint64_t) st.st_size > m->config->max_bundle_size)
                        return invalid_args(error, -EFBIG, "%s is %" PRIu64 " bytes, more than max-bundle-size %" PRIu64,
                                            what, (uint64_t) st.st_size, m->config->max_bundle_size);
        } else if (!S_ISFIFO(st.st_mode))
                return invalid_args(error, -EBADF, "%s is %s, not a regular file or a pipe", what,
                                    file_type_name(st.st_mode));
        return 0;
}

/* ---- methods ---- */

static int start_install(Manager *m, sd_bus_message *msg, InstallRequest *req, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = sd_bus_message_ref(msg);
        UError err = UERROR_NULL;
        int r;

        req->reply = reply_to(call);
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
        bool url;
        uid_t uid;
        int r;

        r = sd_bus_message_read(msg, "s", &source);
        if (r < 0)
                return r;
        r = read_install_options(msg, &o, error);
        if (r < 0)
                return r;

        url = source_is_url(source);
        if (url) {
                if (strlen(source) > URL_MAX || !string_is_printable(source) || strchr(source, ' '))
                        return invalid_args(error, -EINVAL, "Invalid URL '%.200s': control characters, spaces or longer than %d",
                                            source, URL_MAX);
        } else if (source[0] != '/')
                return invalid_args(error, -EINVAL, "Install source '%.200s' is neither an absolute path nor an http(s):// URL",
                                    source);
        else if (strlen(source) >= PATH_MAX)
                return invalid_args(error, -ENAMETOOLONG, "Install path is too long");

        r = authorize(msg, url ? AUTH_ACTION_INSTALL : AUTH_ACTION_INSTALL_PATH, &uid, error);
        if (r < 0)
                return r;

        if (m->install) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "Another installation is in progress");
                return uerror_reply(error, &err);
        }
        if (reboot_running(m)) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "A reboot was requested and its command is running");
                return uerror_reply(error, &err);
        }

        if (url) {
                r = source_http_open(source, m->config->max_bundle_size, &http, &err);
                if (r < 0)
                        return uerror_reply(error, &err);
        } else {
                /* O_NONBLOCK: opening a FIFO must not wait for a writer in the main loop. */
                fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        return invalid_args(error, -errno, "Cannot open bundle %s: %s", source, strerror(errno));
                r = check_bundle_fd(m, fd, source, error);
                if (r < 0)
                        return r;
                if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                        return log_error_errno(-errno, "Cannot make %s blocking: %m", source);
        }

        req = (InstallRequest) {
                .source = source,
                .fd = TAKE_FD(fd),
                .http = TAKE_PTR(http),
                .force = o.force > 0,
                .transaction_id = o.transaction_id,
                .uid = uid,
        };
        r = start_install(m, msg, &req, error);
        /* Whatever install_start() did not take is cleaned up here. */
        fd = req.fd;
        http = req.http;
        return r;
}

static int method_install_fd(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
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
        r = check_bundle_fd(m, in_fd, "The bundle file descriptor", error);
        if (r < 0)
                return r;

        r = authorize(msg, AUTH_ACTION_INSTALL, &uid, error);
        if (r < 0)
                return r;

        if (m->install) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "Another installation is in progress");
                return uerror_reply(error, &err);
        }
        if (reboot_running(m)) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "A reboot was requested and its command is running");
                return uerror_reply(error, &err);
        }

        /* The message owns in_fd; the install outlives the message. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot duplicate the bundle fd: %m");

        req = (InstallRequest) {
                .source = "fd",
                .fd = fd,
                .force = o.force > 0,
                .transaction_id = o.transaction_id,
                .uid = uid,
        };
        r = start_install(m, msg, &req, error);
        fd = req.fd; /* -EBADF if taken */
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
        UError err = UERROR_NULL;
        uid_t uid;
        int idx = -1, r;

        /* Validation first: a bad slot name is InvalidArgs for everyone. */
        r = mark_resolve_slot(m, slot, &idx, &err);
        if (r < 0 && err.kind == ERROR_INVALID_ARGS)
                return uerror_reply(error, &err);
        err = UERROR_NULL;

        r = authorize(msg, AUTH_ACTION_MARK, &uid, error);
        if (r < 0)
                return r;

        /* MarkGood of the booted group may run beside an install (the install never targets
         * it, and refuses to start while it is on trial): update-health must not be told Busy
         * and reboot a healthy system.  Every other mark waits for the install. */
        if (m->install && !(state == MARK_GOOD && idx == policy_booted_root(m))) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "An installation is in progress; mark after it completed");
                return uerror_reply(error, &err);
        }

        r = mark_slot(m, state, slot, &name, &message, &err);
        if (r < 0) {
                log_warning("Mark %s %s by uid %u failed: %s", mark_state_to_string(state), slot, (unsigned) uid,
                            err.message);
                return uerror_reply(error, &err);
        }
        log_info("Mark %s %s by uid %u: %s", mark_state_to_string(state), slot, (unsigned) uid, message);

        manager_refresh_primary(m);
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
                return invalid_args(error, -EINVAL, "Invalid state '%.64s': expected good, bad or active", state);
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
        r = reboot_start(m, uid, reply_to(call), &err);
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
        r = manager_get_slot_status(m, reply_to(call));
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
        r = check_bundle_fd(m, in_fd, "The bundle file descriptor", error);
        if (r < 0)
                return r;
        r = authorize(msg, AUTH_ACTION_INSPECT, NULL, error);
        if (r < 0)
                return r;

        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot duplicate the bundle fd: %m");
        call = sd_bus_message_ref(msg);
        r = inspect_start(m, fd, reply_to(call), &err);
        if (r < 0)
                return uerror_reply(error, &err);
        TAKE_FD(fd);
        TAKE_PTR(call);
        return 1;
}

/* ---- properties ---- */

/* Reading is for root and group "update" (AUTH_ACTION_READ), like GetSlotStatus; the bus policy
 * is the first gate.  sd-bus also runs the getters to build the PropertiesChanged signals we emit
 * ourselves, with no call or another call being dispatched: only a Properties.Get/GetAll call is
 * checked, against its sender. */
static int authorize_property_read(sd_bus *bus, sd_bus_error *error) {
        sd_bus_message *call = sd_bus_get_current_message(bus);

        if (!call || sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", NULL) <= 0)
                return 0;
        return authorize(call, AUTH_ACTION_READ, NULL, error);
}

static int property_get_operation(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "s", operation_to_string(m->operation) ?: "idle");
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "(us)", m->progress_percent, m->progress_message ?: "");
}

static int property_get_last_error(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "s", m->last_error ?: "");
}

static int property_get_compatible(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "s", m->config->compatible);
}

static int property_get_boot_slot(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "s", m->boot_slot ?: "");
}

static int property_get_primary_slot(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = authorize_property_read(bus, error);
        if (r < 0)
                return r;

        return sd_bus_message_append(reply, "s", m->primary_slot ?: "");
}

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
        return 0;
}

/* ---- --bus-introspect: the vtable's XML without a bus daemon ---- */

typedef struct IntrospectState {
        bool done;
        int result;
        char *xml;
} IntrospectState;

static int on_introspect_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        IntrospectState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *xml;
        int r;

        s->done = true;
        if (e) {
                log_error("Introspect failed: %s: %s", e->name, e->message);
                s->result = -EIO;
                return 0;
        }
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0) {
                s->result = r;
                return 0;
        }
        s->xml = strdup(xml);
        s->result = s->xml ? 0 : -ENOMEM;
        return 0;
}

int bus_introspect(FILE *f) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        IntrospectState state = {};
        sd_id128_t id;
        int fds[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return log_error_errno(-errno, "socketpair: %m");

        r = sd_bus_new(&server);
        if (r >= 0)
                r = sd_bus_set_fd(server, fds[0], fds[0]);
        if (r < 0) {
                close(fds[0]);
                close(fds[1]);
                return log_error_errno(r, "Cannot set up the introspection server: %m");
        }
        r = sd_bus_new(&client);
        if (r >= 0)
                r = sd_bus_set_fd(client, fds[1], fds[1]);
        if (r < 0) {
                close(fds[1]);
                return log_error_errno(r, "Cannot set up the introspection client: %m");
        }
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(server, 1, id);
        if (r >= 0)
                r = sd_bus_add_object_vtable(server, NULL, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, manager_vtable, NULL);
        if (r >= 0)
                r = sd_bus_start(server);
        if (r >= 0)
                r = sd_bus_start(client);
        if (r >= 0)
                r = sd_bus_message_new_method_call(client, &call, NULL, UPDATE1_BUS_PATH,
                                                   "org.freedesktop.DBus.Introspectable", "Introspect");
        if (r >= 0)
                r = sd_bus_call_async(client, NULL, call, on_introspect_reply, &state, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot start introspection: %m");

        /* Both ends live in this thread: pump them until the reply arrives. */
        for (unsigned idle = 0; !state.done;) {
                int a, b;

                a = sd_bus_process(server, NULL);
                b = sd_bus_process(client, NULL);
                if (a < 0 || b < 0)
                        return log_error_errno(a < 0 ? a : b, "Introspection failed: %m");
                if (a > 0 || b > 0)
                        continue;
                struct pollfd p[2] = {
                        { .fd = fds[0], .events = (short) sd_bus_get_events(server) },
                        { .fd = fds[1], .events = (short) sd_bus_get_events(client) },
                };
                r = poll(p, 2, 1000);
                if (r < 0 && errno != EINTR)
                        return log_error_errno(-errno, "poll: %m");
                if (r == 0 && ++idle >= 5)
                        return log_error_errno(-ETIMEDOUT, "Introspection timed out");
        }
        if (state.result < 0)
                return state.result;

        fputs(state.xml, f);
        free(state.xml);
        return fflush(f) == 0 ? 0 : -EIO;
}
