/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "update-agent-config.h"

/* What update-agent asks updated (org.example.Update1) over the system bus. */

typedef struct SlotInfo {
        char *name;
        char *bootname;
        char *state;           /* booted | active | inactive */
        char *boot_status;     /* good | bad | trial | NULL */
        char *status;          /* ok | failed | pending | unknown */
        char *version;         /* bundle.version or NULL */
        char *transaction_id;
} SlotInfo;

typedef struct SystemStatus {
        char *compatible;
        char *booted;          /* slot name or NULL */
        char *primary;
        char *operation;
        SlotInfo *slots;
        unsigned n_slots;
        bool has_last_boot;    /* "last_boot" present and not null */
        char *last_expected;
        char *last_booted;
        bool last_fell_back;
        uint64_t last_timestamp; /* seconds, 0 if unknown */
} SystemStatus;

void system_status_done(SystemStatus *s);
const SlotInfo *system_status_slot(const SystemStatus *s, const char *name);
/* The booted slot's bundle version, or NULL. */
const char *system_status_booted_version(const SystemStatus *s);

/* GetSlotStatus, parsed.  error: a sentence (D-Bus error name and message). */
int daemon_get_status(sd_bus *bus, SystemStatus *ret, char *error, size_t error_size);

/* Reboot through updated's Reboot() or logind.  -EOPNOTSUPP for AGENT_REBOOT_NONE. */
int daemon_reboot(sd_bus *bus, AgentReboot how, char *error, size_t error_size);

/* Mark(state, slot). */
int daemon_mark(sd_bus *bus, const char *state, const char *slot, char *error, size_t error_size);

/* One InstallFd call and the Progress/Completed signals that belong to it. */
typedef struct InstallOp {
        sd_bus *bus;
        sd_bus_slot *s_progress, *s_completed, *s_owner, *s_call, *s_cancel;
        bool replied;          /* InstallFd returned successfully: the next Completed is ours */
        bool done;             /* Completed seen, or the call failed, or updated left the bus */
        int result;            /* Completed's result (0 ok), or a negative errno */
        char *message;         /* Completed's message or the call's error "<name>: <message>" */
        char *error_name;      /* D-Bus error name if the call itself failed */
        uint32_t percent;
        char *phase;
        bool cancel_sent;
} InstallOp;

/* Subscribes to the signals first, then sends InstallFd(fd, {transaction-id, force, ranged})
 * without waiting.  fd is borrowed (sd-bus duplicates it); with 'ranged' it is our end's peer
 * of a socket pair that update-agent-ranged.c serves. */
int install_op_start(sd_bus *bus, int fd, const char *transaction_id, bool force, bool ranged, InstallOp **ret);
/* Dispatches pending bus messages (call after poll() says the bus fd is ready, or on timeout). */
int install_op_process(InstallOp *op);
/* Asks updated to cancel (asynchronously); Completed follows. */
int install_op_cancel(InstallOp *op);
InstallOp *install_op_free(InstallOp *op);

/* poll() parameters of the bus connection. */
int bus_poll_params(sd_bus *bus, int *ret_fd, short *ret_events, uint64_t *ret_timeout_usec);
