/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "boot-assess.h"
#include "bus.h"
#include "fileio.h"
#include "inspect.h"
#include "install.h"
#include "log.h"
#include "antirollback.h"
#include "manager.h"
#include "reboot.h"
#include "snapshot.h"
#include "slot-policy.h"
#include "uboot-lock.h"
#include "util.h"

/* The Manager's life cycle: load, start, drain, free.  It owns and starts everything else (bus.c,
 * the jobs, the snapshot); what those call on the Manager is in manager-state.c, so nothing in
 * the daemon calls back into this file. */

static int on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        manager_dispatch_queue(userdata);
        return 0;
}

/* ---- life cycle ---- */

static int manager_read_boot_id(const char *override, char ret[static 33]) {
        sd_id128_t id;
        int r;

        if (override) {
                r = sd_id128_from_string(override, &id);
                if (r < 0)
                        return log_error_errno(r, "Invalid boot id '%s': expected 32 hex digits or a UUID", override);
        } else {
                r = sd_id128_get_boot(&id);
                if (r < 0) {
                        /* Only fallback detection after GRUB-style boots needs it: go on. */
                        log_warning_errno(r, "Cannot read the boot id: %m");
                        ret[0] = '\0';
                        return 0;
                }
        }
        sd_id128_to_string(id, ret);
        return 0;
}

/* One daemon per data directory.  With exit on idle an instance may still finish a job that a
 * call routed to it just before it released the name started, while the bus, if nothing like
 * systemd queues the start, already starts the next one: that one must not clean up temp
 * files, read the status file or assess the boot before the first is gone.
 * The lock is a file of our own, MANAGER_DATA_LOCK_NAME, mode 0600: not the directory itself,
 * which every user may open and flock(), and so keep every start of the daemon waiting and then
 * refused.  Nobody else can open the file (the directory is root's, 0755), so nobody else can
 * hold its lock.  A lock we cannot take is not a reason to refuse service: the errors come
 * later, where the directory is used. */
static int manager_lock_data_directory(Manager *m) {
        const char *dir = m->config->data_directory;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        (void) mkdir_parents(dir, 0755);
        path = strdup_printf("%s/%s", dir, MANAGER_DATA_LOCK_NAME);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                log_warning_errno(-errno, "Cannot open %s, starting without the instance lock: %m", path);
                return 0;
        }
        /* Ours and private, or someone else could hold it (a file planted while the directory
         * was writable to others): then do without it, as for an open that fails. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
                log_warning("%s is not a private regular file of ours, starting without the instance lock", path);
                return 0;
        }
        r = flock_bounded(fd, LOCK_EX, 0);
        if (r == -EWOULDBLOCK) {
                log_notice("Another updated still uses %s: waiting for it to exit", dir);
                r = flock_bounded(fd, LOCK_EX, MANAGER_DATA_LOCK_TIMEOUT_MS);
        }
        if (r == -EWOULDBLOCK)
                return log_error_errno(-EBUSY, "Another updated has used %s for %u s: refusing to start (stop it first)",
                                       dir, MANAGER_DATA_LOCK_TIMEOUT_MS / 1000);
        if (r < 0) {
                log_warning_errno(r, "Cannot lock %s, starting without the instance lock: %m", path);
                return 0;
        }
        m->data_lock_fd = TAKE_FD(fd);
        return 0;
}

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *warning = NULL;
        UError err = UERROR_NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_error_errno(-ENOMEM, "Out of memory");
        m->queue_fd = -EBADF;
        m->data_lock_fd = -EBADF;
        pthread_mutex_init(&m->lock, NULL);
        pthread_mutex_init(&m->queue_lock, NULL);

        r = config_load(o->config_path, &m->config);
        if (r < 0)
                return log_error_errno(r, "Refusing to start: configuration %s is invalid", o->config_path);

        r = keyring_load(m->config->keyring_path, m->config->keyring_directory,
                         m->config->allow_bundle_intermediates, &m->keyring, &err);
        if (r < 0)
                return log_error_errno(r, "Refusing to start: keyring: %s", err.message);
        keyring_set_rauc_intermediates(m->keyring, config_rauc_bundle_intermediates(m->config));
        if (keyring_set_purpose(m->keyring, CMS_ORIGIN_UPDATE1, m->config->check_purpose, &err) < 0 ||
            keyring_set_purpose(m->keyring, CMS_ORIGIN_RAUC, m->config->check_purpose, &err) < 0)
                return log_error_errno(-EINVAL, "Refusing to start: keyring: %s", err.message);
        if (m->config->check_crl) {
                r = keyring_load_crls(m->keyring, m->config->keyring_path, m->config->keyring_directory, &err);
                if (r < 0)
                        return log_error_errno(r, "Refusing to start: keyring: %s", err.message);
        }

        if (o->instance_lock) {
                r = manager_lock_data_directory(m);
                if (r < 0)
                        return r;
        }

        r = status_remove_stale_temp(m->config);
        if (r > 0)
                log_notice("Removed %d temporary file(s) a power cut left in %s", r, m->config->data_directory);
        else if (r < 0)
                log_warning_errno(r, "Cannot clean up %s: %m", m->config->data_directory);

        r = status_load(m->config, &m->status, &warning);
        if (r < 0)
                return log_error_errno(r, "Cannot load the status file: %m");
        /* No install runs before we do: a slot left "pending" was being written when the
         * daemon or the device died.  The bootloader already has it marked bad; say so. */
        for (unsigned i = 0; i < m->status->n_records; i++) {
                SlotRecord *rec = &m->status->records[i];

                if (rec->status != SLOT_STATUS_PENDING)
                        continue;
                log_warning("Slot %s: an installation into it was interrupted; marking it failed", rec->name);
                rec->status = SLOT_STATUS_FAILED;
                if (!warning)
                        warning = strdup("an interrupted installation left a slot pending");
        }
        if (warning) {
                log_warning("Status file: %s; rewriting it", warning);
                r = status_save(m->config, m->status);
                if (r < 0)
                        log_warning_errno(r, "Cannot rewrite the status file: %m");
        }

        r = manager_read_boot_id(o->boot_id, m->boot_id);
        if (r < 0)
                return r;

        r = slot_table_new(m->config, o->cmdline_path, o->boot_override, &m->slots);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the slots: %m");
        for (unsigned i = 0; i < m->slots->n_slots; i++)
                if (!m->slots->slots[i].device_path)
                        log_warning("Slot %s: device %s not found", m->config->slots[i].name,
                                    m->config->slots[i].device);

        r = bootloader_open(m->config, &m->bootloader, &err);
        if (r < 0)
                return log_error_errno(r, "Refusing to start: bootloader %s: %s", m->config->bootloader, err.message);

        /* The bootloader's own idea of the booted slot (EFI BootCurrent, ...) comes last. */
        r = slot_table_detect_from_bootloader(m->slots, m->bootloader);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (m->slots->booted >= 0) {
                const ConfigSlot *b = &m->config->slots[m->slots->booted];

                m->boot_slot = strdup(b->bootname ?: b->name);
                if (!m->boot_slot)
                        return log_error_errno(-ENOMEM, "Out of memory");
                log_info("Booted slot %s, bootname %s (%s)", b->name, m->boot_slot, m->slots->boot_source ?: "?");
        } else
                /* The daemon still serves status and marks; Install fails with NoTargetSlot. */
                log_error("Booted slot unknown: %s", m->slots->boot_source ?: "no boot source matched");

        (void) boot_assess(m);
        r = antirollback_init(m);
        if (r < 0)
                return r;
        /* After both: an interrupted commit is finished (or forgotten after a fallback), and
         * the floor rises only from the daemon's own commit record. */
        policy_startup(m);

        manager_refresh_primary(m);
        m->operation = OPERATION_IDLE;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Shutdown with work in flight: stop the workers and run their completions (which reply, emit
 * Completed and update the status file) before the bus goes away. */
static void manager_drain(Manager *m) {
        if (m->install)
                (void) install_cancel(m);
        inspect_cancel_all(m);
        reboot_abandon(m);
        snapshot_answer_all(m);

        while (m->install || m->inspects || m->refresh) {
                struct pollfd p = { .fd = m->queue_fd, .events = POLLIN };

                if (m->queue_fd < 0)
                        break; /* never started: no worker can exist */
                (void) poll(&p, 1, -1);
                manager_dispatch_queue(m);
        }
}

/* Runs on sd_event_exit(), before sd-bus's own exit handler closes the connection. */
static int manager_on_exit(sd_event_source *s, void *userdata) {
        manager_drain(userdata);
        return 0;
}

int manager_start(Manager *m) {
        sd_event_source *exit_source;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        /* SIGTERM/SIGINT are blocked by main() before any thread exists. */
        r = sd_event_set_signal_exit(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Cannot handle SIGTERM/SIGINT: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the watchdog: %m");

        m->queue_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m->queue_fd < 0)
                return log_error_errno(-errno, "Cannot create an eventfd: %m");
        r = sd_event_add_io(m->event, &m->queue_source, m->queue_fd, EPOLLIN, on_queue, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the worker queue: %m");

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        r = bus_setup(m);
        if (r < 0)
                return r;
        r = sd_event_add_exit(m->event, &exit_source, manager_on_exit, m);
        if (r >= 0)
                r = sd_event_source_set_priority(exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_floating(exit_source, true);
        sd_event_source_unref(exit_source);
        if (r < 0)
                return log_error_errno(r, "Cannot add the exit handler: %m");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        (void) sd_bus_set_exit_on_disconnect(m->bus, true);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        manager_drain(m);

        if (m->bus)
                sd_bus_flush_close_unref(m->bus);
        sd_event_source_disable_unref(m->queue_source);
        sd_event_unref(m->event);
        if (m->queue_fd >= 0)
                close(m->queue_fd);

        snapshot_free(m->snapshot);
        bootloader_free(m->bootloader);
        slot_table_free(m->slots);
        status_free(m->status);
        keyring_free(m->keyring);
        config_free(m->config);
        /* Last: the next instance may start as soon as this one lets go. */
        if (m->data_lock_fd >= 0)
                close(m->data_lock_fd);

        free(m->progress_message);
        free(m->last_error);
        free(m->boot_slot);
        free(m->primary_slot);
        pthread_mutex_destroy(&m->lock);
        pthread_mutex_destroy(&m->queue_lock);
        free(m);
        return NULL;
}
