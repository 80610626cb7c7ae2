/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus-client.h"
#include "log.h"
#include "macro.h"
#include "update-agent-daemon.h"
#include "util.h"

#define STATUS_CALL_TIMEOUT_USEC (UINT64_C(30) * 1000000)
#define REBOOT_CALL_TIMEOUT_USEC (UINT64_C(120) * 1000000)

static void slot_info_done(SlotInfo *s) {
        free(s->name);
        free(s->bootname);
        free(s->state);
        free(s->boot_status);
        free(s->status);
        free(s->version);
        free(s->transaction_id);
}

void system_status_done(SystemStatus *s) {
        for (unsigned i = 0; i < s->n_slots; i++)
                slot_info_done(&s->slots[i]);
        free(s->slots);
        free(s->compatible);
        free(s->booted);
        free(s->primary);
        free(s->operation);
        free(s->last_expected);
        free(s->last_booted);
        *s = (SystemStatus) {};
}

const SlotInfo *system_status_slot(const SystemStatus *s, const char *name) {
        for (unsigned i = 0; name && i < s->n_slots; i++)
                if (s->slots[i].name && streq(s->slots[i].name, name))
                        return &s->slots[i];
        return NULL;
}

const char *system_status_booted_version(const SystemStatus *s) {
        const SlotInfo *b = system_status_slot(s, s->booted);

        return b ? b->version : NULL;
}

static char *dup_str(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return strdup(json_object_get_string(v));
}

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" → seconds. */
static uint64_t parse_rfc3339(const char *s) {
        struct tm tm = {};
        const char *end;
        time_t t;

        if (!s)
                return 0;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return 0;
        t = timegm(&tm);
        return t > 0 ? (uint64_t) t : 0;
}

static int parse_status(const char *json, SystemStatus *ret) {
        json_object *root = json_tokener_parse(json), *slots, *lb;
        SystemStatus s = {};

        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return -EBADMSG;
        }
        s.compatible = dup_str(root, "compatible");
        s.booted = dup_str(root, "booted");
        s.primary = dup_str(root, "primary");
        s.operation = dup_str(root, "operation");
        if (json_object_object_get_ex(root, "slots", &slots) && json_object_is_type(slots, json_type_array)) {
                size_t n = json_object_array_length(slots);

                s.slots = calloc(n ?: 1, sizeof(SlotInfo));
                if (!s.slots) {
                        json_object_put(root);
                        system_status_done(&s);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_array_get_idx(slots, i), *bundle = NULL;
                        SlotInfo *si = &s.slots[s.n_slots++];

                        si->name = dup_str(o, "name");
                        si->bootname = dup_str(o, "bootname");
                        si->state = dup_str(o, "state");
                        si->boot_status = dup_str(o, "boot_status");
                        si->status = dup_str(o, "status");
                        si->transaction_id = dup_str(o, "transaction_id");
                        if (json_object_object_get_ex(o, "bundle", &bundle))
                                si->version = dup_str(bundle, "version");
                }
        }
        if (json_object_object_get_ex(root, "last_boot", &lb) && json_object_is_type(lb, json_type_object)) {
                json_object *fb;

                s.has_last_boot = true;
                s.last_expected = dup_str(lb, "expected");
                s.last_booted = dup_str(lb, "booted");
                if (json_object_object_get_ex(lb, "fell_back", &fb) || json_object_object_get_ex(lb, "fell-back", &fb))
                        s.last_fell_back = json_object_get_boolean(fb);
                _cleanup_free_ char *ts = dup_str(lb, "timestamp");
                s.last_timestamp = parse_rfc3339(ts);
        }
        json_object_put(root);
        *ret = s;
        return 0;
}

static int call_error(const sd_bus_error *e, int r, const char *what, char *error, size_t error_size) {
        if (e && sd_bus_error_is_set(e))
                snprintf(error, error_size, "%s: %s: %s", what, e->name, e->message ?: "");
        else
                snprintf(error, error_size, "%s: %s", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

int daemon_get_status(sd_bus *bus, SystemStatus *ret, char *error, size_t error_size) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *json;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                           "GetSlotStatus");
        if (r >= 0)
                r = sd_bus_call(bus, m, STATUS_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                return call_error(&e, r, "GetSlotStatus", error, error_size);
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return call_error(NULL, r, "GetSlotStatus reply", error, error_size);
        r = parse_status(json, ret);
        if (r < 0)
                return call_error(NULL, r, "GetSlotStatus JSON", error, error_size);
        return 0;
}

int daemon_reboot(sd_bus *bus, AgentReboot how, char *error, size_t error_size) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        if (how == AGENT_REBOOT_NONE)
                return -EOPNOTSUPP;
        if (how == AGENT_REBOOT_LOGIND) {
                r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.login1", "/org/freedesktop/login1",
                                                   "org.freedesktop.login1.Manager", "Reboot");
                if (r >= 0)
                        r = sd_bus_message_append(m, "b", false);
        } else
                r = sd_bus_message_new_method_call(bus, &m, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                                   "Reboot");
        if (r >= 0)
                r = sd_bus_call(bus, m, REBOOT_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                return call_error(&e, r, how == AGENT_REBOOT_LOGIND ? "logind Reboot" : "Reboot", error, error_size);
        return 0;
}

int daemon_mark(sd_bus *bus, const char *state, const char *slot, char *error, size_t error_size) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE, "Mark");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", state, slot);
        if (r >= 0)
                r = sd_bus_call(bus, m, STATUS_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                return call_error(&e, r, "Mark", error, error_size);
        return 0;
}

/* ---- InstallFd ---- */

static void op_finish(InstallOp *op, int result, const char *message) {
        if (op->done)
                return;
        op->done = true;
        op->result = result;
        free(op->message);
        op->message = strdup(message ?: "");
}

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        InstallOp *op = userdata;
        const char *msg;
        uint32_t pct;

        if (!op->replied || sd_bus_message_read(m, "us", &pct, &msg) < 0)
                return 0;
        op->percent = MIN(pct, 100u);
        if (!op->phase || !streq(op->phase, msg)) {
                free(op->phase);
                op->phase = strdup(msg);
        }
        return 0;
}

static int on_completed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        InstallOp *op = userdata;
        const char *msg;
        int32_t result;

        /* Before our reply it can only be the end of someone else's operation. */
        if (!op->replied || sd_bus_message_read(m, "is", &result, &msg) < 0)
                return 0;
        op_finish(op, result, msg);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        InstallOp *op = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e) {
                _cleanup_free_ char *s = strdup_printf("%s: %s", e->name, e->message ?: "");
                free(op->error_name);
                op->error_name = strdup(e->name);
                op_finish(op, -(sd_bus_message_get_errno(m) ?: EIO), s ?: e->name);
                return 0;
        }
        op->replied = true;
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        InstallOp *op = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, UPDATE1_BUS_NAME) && isempty(new_owner))
                op_finish(op, -ECONNRESET, UPDATE1_BUS_NAME " left the bus during the installation");
        return 0;
}

int install_op_start(sd_bus *bus, int fd, const char *transaction_id, bool force, bool ranged, InstallOp **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        InstallOp *op;
        int r;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->bus = sd_bus_ref(bus);
        r = sd_bus_match_signal(bus, &op->s_progress, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                "Progress", on_progress, op);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &op->s_completed, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH,
                                        UPDATE1_BUS_INTERFACE, "Completed", on_completed, op);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &op->s_owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, op);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, UPDATE1_BUS_INTERFACE,
                                                   "InstallFd");
        if (r >= 0)
                r = sd_bus_message_append(m, "h", fd);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "transaction-id", "s", transaction_id);
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", "force", "b", 1);
        if (r >= 0 && ranged)
                r = sd_bus_message_append(m, "{sv}", "ranged", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call_async(bus, &op->s_call, m, on_reply, op, BUS_CLIENT_CALL_TIMEOUT_USEC);
        if (r < 0) {
                install_op_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

int install_op_process(InstallOp *op) {
        int r;

        do
                r = sd_bus_process(op->bus, NULL);
        while (r > 0);
        if (r < 0 && !op->done)
                op_finish(op, r, "lost the connection to the system bus during the installation");
        return r < 0 ? r : 0;
}

static int on_cancel_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                log_info("Cancel: %s: %s", e->name, e->message ?: "");
        return 0;
}

int install_op_cancel(InstallOp *op) {
        if (op->cancel_sent || op->done)
                return 0;
        op->cancel_sent = true;
        return sd_bus_call_method_async(op->bus, &op->s_cancel, UPDATE1_BUS_NAME, UPDATE1_BUS_PATH,
                                        UPDATE1_BUS_INTERFACE, "Cancel", on_cancel_reply, op, NULL);
}

InstallOp *install_op_free(InstallOp *op) {
        if (!op)
                return NULL;
        sd_bus_slot_unref(op->s_progress);
        sd_bus_slot_unref(op->s_completed);
        sd_bus_slot_unref(op->s_owner);
        sd_bus_slot_unref(op->s_call);
        sd_bus_slot_unref(op->s_cancel);
        sd_bus_unref(op->bus);
        free(op->message);
        free(op->error_name);
        free(op->phase);
        free(op);
        return NULL;
}

int bus_poll_params(sd_bus *bus, int *ret_fd, short *ret_events, uint64_t *ret_timeout_usec) {
        uint64_t t = UINT64_MAX;
        int fd, ev;

        fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return fd;
        ev = sd_bus_get_events(bus);
        if (ev < 0)
                return ev;
        if (sd_bus_get_timeout(bus, &t) < 0)
                t = UINT64_MAX;
        *ret_fd = fd;
        *ret_events = (short) ev;
        *ret_timeout_usec = t;    /* absolute CLOCK_MONOTONIC, UINT64_MAX = none */
        return 0;
}
