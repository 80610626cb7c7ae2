/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bootloader.h"
#include "cms.h"
#include "config.h"
#include "error.h"
#include "macro.h"
#include "rollback.h"
#include "slot.h"
#include "states.h"
#include "status.h"

#define UPDATE1_BUS_NAME "org.example.Update1"
#define UPDATE1_BUS_PATH "/org/example/Update1"
#define UPDATE1_BUS_INTERFACE "org.example.Update1"
/* How long a start waits for the previous instance to let go of the data directory (manager.c):
 * below dbus-daemon's 25 s service_start_timeout, so activation reports the failure itself. */
#define MANAGER_DATA_LOCK_TIMEOUT_MS (20 * 1000)
/* In the data directory, root's 0600: held by the running instance (manager.c). */
#define MANAGER_DATA_LOCK_NAME "instance.lock"

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

typedef struct Manager Manager;
typedef struct ManagerNotify ManagerNotify;
typedef struct InstallJob InstallJob;
typedef struct InspectJob InspectJob;
typedef struct ManagerCall ManagerCall;
typedef struct RebootJob RebootJob;
typedef struct Snapshot Snapshot;
typedef struct SnapshotRefresh SnapshotRefresh;
typedef struct SnapshotWaiter SnapshotWaiter;

/* A function a worker thread asks the main loop to run.  The node is embedded in the caller's
 * own struct (use container_of) so posting never allocates and never fails. */
struct ManagerCall {
        ManagerCall *next;
        void (*fn)(Manager *m, ManagerCall *c);
};

/* How changes of the state clients see reach them: bus.c sets this (bus_setup()), so no other
 * file of the daemon knows about D-Bus.  Unset (the model test), nothing is announced.  Main
 * thread only. */
struct ManagerNotify {
        void (*property_changed)(Manager *m, const char *property);
        void (*progress)(Manager *m);                           /* the Progress signal */
        void (*completed)(Manager *m, int result, const char *message);
};

struct Manager {
        sd_event *event;
        sd_bus *bus;
        const ManagerNotify *notify;
        bool rauc_bus;          /* de.pengutronix.rauc is published too (bus-rauc.c) */

        Config *config;
        Keyring *keyring;
        SlotTable *slots;
        Bootloader *bootloader;

        /* The status file and the bootloader are shared with the install thread: whoever reads
         * or changes them holds this lock.  Everything else is main-thread only. */
        pthread_mutex_t lock;
        StatusFile *status;
        /* The anti-rollback floors (daemon/antirollback.c), under the same lock. */
        RollbackFloor floor;

        Operation operation;
        uint32_t progress_percent;
        char *progress_message;
        char *last_error;       /* "<D-Bus error name>: sentence" of the last failed install, or NULL */
        /* Bootnames (like RAUC's BootSlot): the booted one, and the one the bootloader boots
         * next; NULL if unknown.  GetSlotStatus reports slot names. */
        char *boot_slot;
        char *primary_slot;

        /* This boot's id (32 hex digits, /proc/sys/kernel/random/boot_id or --boot-id): tells
         * a reboot since an install from a mere daemon restart. */
        char boot_id[33];

        /* The data directory, flock()ed: one daemon per data directory (manager.c). */
        int data_lock_fd;

        InstallJob *install;
        RebootJob *reboot;      /* a running reboot-command */
        InspectJob *inspects;   /* running InspectBundle calls */
        unsigned n_inspects;

        /* Worker thread → main loop. */
        pthread_mutex_t queue_lock;
        ManagerCall *queue_head, *queue_tail;
        int queue_fd;           /* eventfd */
        sd_event_source *queue_source;

        /* GetSlotStatus answers from 'snapshot' (daemon/snapshot.c, which has the staleness
         * rule); main thread only, except snapshot_seq, which is under 'lock'. */
        Snapshot *snapshot;
        SnapshotRefresh *refresh;   /* the running refresh thread, or NULL */
        SnapshotWaiter *waiters;    /* calls waiting for a refresh that started after them */
        unsigned n_waiters;
        uint64_t refreshes_started;
        uint64_t snapshot_seq;
};

typedef struct ManagerOptions {
        const char *config_path;
        const char *cmdline_path;   /* NULL: /proc/cmdline */
        const char *boot_override;  /* bootname forced as booted, or NULL */
        const char *boot_id;        /* this boot's id (sandboxes simulate reboots), NULL: the kernel's */
        /* Take the data directory's instance lock (manager.c) before touching any state: the
         * daemon does; the model test, whose forked steps start managers over the directory
         * their parent's manager holds, does not. */
        bool instance_lock;
} ManagerOptions;

/* ---- manager.c: the life cycle.  It owns and starts everything below, bus.c and the jobs
 * included; nothing in the daemon calls back into it. ---- */

/* Loads config, keyring, status file, slot table and bootloader.  Logs what is wrong and fails
 * on config, keyring and bootloader errors (the daemon refuses to start on them). */
int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Creates the event loop (signals, watchdog) and the worker queue, connects to the system bus,
 * publishes the object and requests the name. */
int manager_start(Manager *m);

/* ---- manager-state.c: what jobs call on the manager.  It calls nothing else in the daemon
 * (changes are announced through m->notify), so jobs depending on it form no cycle. ---- */

/* Thread-safe: queue c->fn to run on the main loop. */
void manager_post(Manager *m, ManagerCall *c);
/* Main thread: runs what was posted, in posting order. */
void manager_dispatch_queue(Manager *m);

/* Main-thread helpers that update a property and announce the change (PropertiesChanged). */
void manager_set_operation(Manager *m, Operation o);
/* Also sends the Progress signal. */
void manager_set_progress(Manager *m, uint32_t percent, const char *message);
void manager_set_last_error(Manager *m, const char *error);
/* Bootname or NULL (unknown); 1 if it changed, 0 if not, -ENOMEM (then it stays as it was). */
int manager_set_primary_slot(Manager *m, const char *bootname);
/* The Completed signal: an install ended with 'result' (0 or a negative errno). */
void manager_emit_completed(Manager *m, int result, const char *message);

/* Maps a bootname to the name of its slot; NULL if no slot has it. */
const char *manager_slot_name_by_bootname(const Manager *m, const char *bootname);

/* ---- snapshot.c ---- */

/* Re-reads the slot status snapshot GetSlotStatus reports (bootloader state and status file,
 * under the lock) after a change of the daemon's own; emits PrimarySlot if it changed.
 * Main thread (daemon/snapshot.c). */
void manager_refresh_primary(Manager *m);

/* The GetSlotStatus JSON from the current snapshot (no lock, no I/O; main thread); 'stale':
 * it is not from a refresh that started after the call. */
int manager_slot_status_json(Manager *m, bool stale, char **ret);
