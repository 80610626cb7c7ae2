/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GetSlotStatus document: read into a snapshot (any thread, under m->lock), kept by the
 * main loop, refreshed by a worker thread per call (snapshot.h has the staleness rule). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "json-util.h"
#include "log.h"
#include "slot-mount.h"
#include "snapshot.h"
#include "util.h"

/* Calls waiting beyond this are answered from the current snapshot at once: the bus daemon
 * bounds pending replies per connection, not across connections. */
#define MAX_WAITERS 128

struct Snapshot {
        uint64_t seq;             /* order of the reads, assigned under m->lock */
        struct json_object *doc;  /* the GetSlotStatus document; "operation" is set per answer */
        uint64_t read_at;         /* realtime seconds */
        char *primary;            /* bootname the bootloader boots next */
        bool primary_read;        /* false: unknown, the reason is in doc's bootloader_error */
};

struct SnapshotRefresh {
        ManagerCall done_call;
        Manager *manager;
        pthread_t thread;
        uint64_t number;          /* m->refreshes_started when it started */
        Snapshot *result;
        int r;
};

struct SnapshotWaiter {
        SnapshotWaiter *next;
        Manager *manager;
        JobReply reply;
        sd_event_source *timeout;
        uint64_t needs;           /* the refresh whose result answers it: one started after the call */
};

Snapshot *snapshot_free(Snapshot *s) {
        if (!s)
                return NULL;
        json_object_put(s->doc);
        free(s->primary);
        return mfree(s);
}

/* ---- reading ---- */

static struct json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static struct json_object *json_timestamp(uint64_t ts) {
        char buf[64];

        if (ts == 0)
                return NULL;
        format_timestamp(ts, buf, sizeof(buf));
        return json_object_new_string(buf);
}

static int slot_json(Manager *m, unsigned i, const BootStatus *boot_status, struct json_object **ret) {
        const ConfigSlot *cs = &m->config->slots[i];
        const Slot *s = &m->slots->slots[i];
        const SlotRecord *rec = status_find(m->status, cs->name);
        struct json_object *o = json_object_new_object(), *bundle, *checksum, *installed, *activated;
        int root = slot_table_group_root(m->slots, (int) i), r = 0;
        _cleanup_free_ char *mountpoint = NULL;

        if (!o)
                return -ENOMEM;
        /* Best effort: a mount table that cannot be read only leaves the key out. */
        if (slot_mountpoint(s->device_path, "/proc/self/mountinfo", &mountpoint) == -ENOMEM) {
                json_object_put(o);
                return -ENOMEM;
        }
        bundle = json_object_new_object();
        checksum = json_object_new_object();
        installed = json_object_new_object();
        activated = json_object_new_object();

        r |= json_add(o, "name", json_object_new_string(cs->name));
        r |= json_add(o, "class", json_object_new_string(cs->class));
        r |= json_add(o, "device", json_object_new_string(cs->device));
        r |= json_add_or_null(o, "device_path", json_string_or_null(s->device_path));
        r |= json_add_or_null(o, "type", json_string_or_null(slot_type_to_string(cs->type)));
        r |= json_add_or_null(o, "bootname", json_string_or_null(cs->bootname));
        r |= json_add_or_null(o, "state", json_string_or_null(slot_state_to_string(s->state)));
        r |= json_add_or_null(o, "boot_status", root >= 0 && boot_status[root] >= 0 ?
                              json_string_or_null(boot_status_to_string(boot_status[root])) : NULL);
        r |= json_add_or_null(o, "parent", json_string_or_null(cs->parent_name));
        r |= json_add(o, "readonly", json_object_new_boolean(cs->readonly));
        r |= json_add_or_null(o, "mountpoint", json_string_or_null(mountpoint));
        r |= json_add_or_null(o, "status",
                              json_string_or_null(slot_status_to_string(rec ? rec->status : SLOT_STATUS_UNKNOWN)));

        r |= json_add_or_null(bundle, "compatible", json_string_or_null(rec ? rec->bundle_compatible : NULL));
        r |= json_add_or_null(bundle, "version", json_string_or_null(rec ? rec->bundle_version : NULL));
        r |= json_add_or_null(bundle, "build", json_string_or_null(rec ? rec->bundle_build : NULL));
        r |= json_add_or_null(bundle, "description", json_string_or_null(rec ? rec->bundle_description : NULL));
        r |= json_add_or_null(bundle, "hash",
                              rec && rec->bundle_hash[0] ? json_object_new_string(rec->bundle_hash) : NULL);
        r |= json_add(o, "bundle", bundle);
        r |= json_add_or_null(checksum, "sha256", rec && rec->sha256[0] ? json_object_new_string(rec->sha256) : NULL);
        r |= json_add_or_null(checksum, "size", rec && rec->sha256[0] ? json_object_new_uint64(rec->size) : NULL);
        r |= json_add(o, "checksum", checksum);
        r |= json_add_or_null(installed, "timestamp", json_timestamp(rec ? rec->installed_timestamp : 0));
        r |= json_add(installed, "count", json_object_new_uint64(rec ? rec->installed_count : 0));
        r |= json_add(o, "installed", installed);
        r |= json_add_or_null(activated, "timestamp", json_timestamp(rec ? rec->activated_timestamp : 0));
        r |= json_add(activated, "count", json_object_new_uint64(rec ? rec->activated_count : 0));
        r |= json_add(o, "activated", activated);
        r |= json_add_or_null(o, "transaction_id", json_string_or_null(rec ? rec->transaction_id : NULL));
        if (r < 0 || !bundle || !checksum || !installed || !activated) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* A read that ran into a timeout (the env lock, a tool) would only run into it again. */
static bool timed_out(const UError *err) {
        return err->kind == ERROR_BUSY || err->error == -ETIME;
}

static int read_bootloader_locked(Manager *m, Snapshot *s, BootStatus *boot_status, struct json_object *root) {
        Bootloader *bl = m->bootloader;
        UError err = UERROR_NULL;
        int r;

        /* Bootloader trouble is reported in the answer, not as a failure of the call: the rest
         * is still worth seeing, and exactly then.  One read of the bootloader's storage for
         * the primary and every slot (the U-Boot env: once, not 1 + n_slots times), so that
         * they also agree with each other. */
        r = bootloader_read_begin(bl, &err);
        if (r >= 0)
                r = bootloader_get_primary(bl, &s->primary, &err);
        s->primary_read = r >= 0;
        if (json_add_or_null(root, "primary",
                             r >= 0 ? json_string_or_null(manager_slot_name_by_bootname(m, s->primary)) : NULL) < 0) {
                bootloader_read_end(bl);
                return -ENOMEM;
        }

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                boot_status[i] = _BOOT_STATUS_INVALID;
                if (!m->config->slots[i].bootname || timed_out(&err))
                        continue;
                if (bootloader_get_state(bl, m->config->slots[i].bootname, &boot_status[i], &err) < 0)
                        boot_status[i] = _BOOT_STATUS_INVALID;
        }
        bootloader_read_end(bl);
        if (uerror_is_set(&err) && json_add(root, "bootloader_error", json_object_new_string(err.message)) < 0)
                return -ENOMEM;
        return 0;
}

/* {"expected", "booted", "fell_back", "timestamp"} or NULL (JSON null) when there is no record. */
static int last_boot_json(const LastBoot *b, struct json_object **ret) {
        struct json_object *o;
        int r = 0;

        if (!b->expected) {
                *ret = NULL;
                return 0;
        }
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r |= json_add(o, "expected", json_object_new_string(b->expected));
        r |= json_add_or_null(o, "booted", json_string_or_null(b->booted));
        r |= json_add(o, "fell_back", json_object_new_boolean(b->fell_back));
        r |= json_add_or_null(o, "timestamp", json_timestamp(b->timestamp));
        if (r < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* The anti-rollback floors: what this device will refuse, and why. */
static int floor_json(const RollbackFloor *floor, struct json_object **ret) {
        struct json_object *f = json_object_new_object();
        int r = 0;

        if (!f)
                return -ENOMEM;
        r |= json_add(f, "security_version", json_object_new_uint64(floor->security_version));
        r |= json_add(f, "time", json_object_new_uint64(floor->time));
        if (r < 0) {
                json_object_put(f);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

static int read_locked(Manager *m, Snapshot *s, struct json_object *root, struct json_object *slots) {
        _cleanup_free_ BootStatus *boot_status = NULL;
        struct json_object *o;
        int r;

        s->seq = ++m->snapshot_seq;
        boot_status = calloc(m->config->n_slots ?: 1, sizeof(BootStatus));
        if (!boot_status)
                return -ENOMEM;
        r = read_bootloader_locked(m, s, boot_status, root);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                r = slot_json(m, i, boot_status, &o);
                if (r < 0)
                        return r;
                if (json_object_array_add(slots, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        r = last_boot_json(&m->status->last_boot, &o);
        if (r >= 0)
                r = json_add_or_null(root, "last_boot", o);
        if (r >= 0)
                r = floor_json(&m->floor, &o);
        if (r >= 0)
                r = json_add(root, "rollback_floor", o);
        return r;
}

int snapshot_read(Manager *m, Snapshot **ret) {
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        const char *booted = m->slots->booted >= 0 ? m->config->slots[m->slots->booted].name : NULL;
        struct json_object *root, *slots, *info;
        int r = 0;

        s = calloc(1, sizeof(Snapshot));
        if (!s)
                return -ENOMEM;
        s->doc = root = json_object_new_object();
        slots = json_object_new_array();
        if (!root || !slots) {
                json_object_put(slots);
                return -ENOMEM;
        }
        /* Config and slot table do not change after start-up: no lock needed for them. */
        r |= json_add(root, "compatible", json_object_new_string(m->config->compatible));
        r |= json_add_or_null(root, "booted", json_string_or_null(booted));
        r |= json_add_or_null(root, "boot_source", json_string_or_null(m->slots->boot_source));
        r |= json_add_or_null(root, "operation", NULL); /* main-thread state: filled in per answer */
        if (r < 0) {
                json_object_put(slots);
                return -ENOMEM;
        }

        pthread_mutex_lock(&m->lock);
        r = read_locked(m, s, root, slots);
        pthread_mutex_unlock(&m->lock);
        if (r >= 0)
                r = json_add(root, "slots", slots);
        else
                json_object_put(slots);
        if (r < 0)
                return r;

        s->read_at = now_realtime_sec();
        info = json_object_new_object();
        if (!info)
                return -ENOMEM;
        r |= json_add(info, "stale", json_object_new_boolean(false));
        r |= json_add_or_null(info, "timestamp", NULL);
        r |= json_add(root, "snapshot", info);
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- the current snapshot (main thread) ---- */

void manager_set_snapshot(Manager *m, Snapshot *s) {
        if (m->snapshot && m->snapshot->seq > s->seq) {
                /* A refresh that read before a Mark's own refresh ended after it. */
                snapshot_free(s);
                return;
        }
        snapshot_free(m->snapshot);
        m->snapshot = s;
        /* Out of memory: the property stays as it was; the next refresh retries. */
        if (s->primary_read)
                (void) manager_set_primary_slot(m, s->primary);
}

void manager_refresh_primary(Manager *m) {
        Snapshot *s = NULL;
        struct json_object *e;
        int r;

        r = snapshot_read(m, &s);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the slot status: %m");
                return;
        }
        if (!s->primary_read && json_object_object_get_ex(s->doc, "bootloader_error", &e))
                log_warning("Cannot get the primary boot slot: %s", json_object_get_string(e));
        manager_set_snapshot(m, s);
}

int manager_slot_status_json(Manager *m, bool stale, char **ret) {
        struct json_object *info;
        const char *text;
        char *copy;

        if (!m->snapshot)
                return -ENODATA;
        if (json_add(m->snapshot->doc, "operation",
                     json_object_new_string(operation_to_string(m->operation) ?: "idle")) < 0)
                return -ENOMEM;
        /* When it was read matters only when that was before the call: otherwise two answers
         * without a change in between are the same. */
        if (json_object_object_get_ex(m->snapshot->doc, "snapshot", &info) &&
            (json_add(info, "stale", json_object_new_boolean(stale)) < 0 ||
             json_add_or_null(info, "timestamp", stale ? json_timestamp(m->snapshot->read_at) : NULL) < 0))
                return -ENOMEM;
        text = json_object_to_json_string_ext(m->snapshot->doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        copy = text ? strdup(text) : NULL;
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* ---- GetSlotStatus calls and the refresh thread (main thread) ---- */

static void answer(Manager *m, JobReply *reply, bool stale) {
        _cleanup_free_ char *json = NULL;
        UError err = UERROR_NULL;
        int r;

        r = manager_slot_status_json(m, stale, &json);
        if (r < 0) {
                (void) uerror_set(&err, ERROR_FAILED, r, "Cannot build the slot status: %s", strerror(-r));
                job_reply(reply, &err, NULL);
        } else
                job_reply(reply, NULL, json);
}

/* The reply is not touched: a waiter is freed unanswered only when it never started. */
static SnapshotWaiter *waiter_free(SnapshotWaiter *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timeout);
        return mfree(w);
}

static void waiter_answer(Manager *m, SnapshotWaiter *w, bool stale) {
        for (SnapshotWaiter **p = &m->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        m->n_waiters--;
                        break;
                }
        answer(m, &w->reply, stale);
        waiter_free(w);
}

static void answer_done(Manager *m, uint64_t done, bool stale) {
        for (SnapshotWaiter *w = m->waiters, *next; w; w = next) {
                next = w->next;
                if (w->needs <= done)
                        waiter_answer(m, w, stale);
        }
}

void snapshot_answer_all(Manager *m) {
        while (m->waiters)
                waiter_answer(m, m->waiters, true);
}

static void *refresh_thread(void *userdata) {
        SnapshotRefresh *f = userdata;
        sigset_t all;

        /* Signals are the main loop's (sd-event); tools get the defaults back (bootloader.c). */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);
        f->r = snapshot_read(f->manager, &f->result);
        manager_post(f->manager, &f->done_call);
        return NULL;
}

static int refresh_start(Manager *m);

static void refresh_done(Manager *m, ManagerCall *c) {
        SnapshotRefresh *f = container_of(c, SnapshotRefresh, done_call);
        uint64_t number = f->number;
        bool failed = f->r < 0;

        (void) pthread_join(f->thread, NULL);
        m->refresh = NULL;
        if (!failed)
                manager_set_snapshot(m, TAKE_PTR(f->result));
        free(f);

        /* A failed read (out of memory) answers from what there is. */
        answer_done(m, number, failed);
        if (m->waiters && refresh_start(m) < 0)
                snapshot_answer_all(m);
}

static int refresh_start(Manager *m) {
        SnapshotRefresh *f;
        int r;

        if (m->refresh)
                return 0;
        f = calloc(1, sizeof(SnapshotRefresh));
        if (!f)
                return -ENOMEM;
        f->manager = m;
        f->done_call.fn = refresh_done;
        f->number = m->refreshes_started + 1;
        r = -pthread_create(&f->thread, NULL, refresh_thread, f);
        if (r < 0) {
                free(f);
                return log_warning_errno(r, "Cannot start a slot status refresh: %m");
        }
        m->refreshes_started = f->number;
        m->refresh = f;
        return 0;
}

static int on_waiter_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SnapshotWaiter *w = userdata;

        waiter_answer(w->manager, w, true);
        return 0;
}

int manager_get_slot_status(Manager *m, JobReply reply) {
        SnapshotWaiter *w;
        int r;

        if (!m->event || m->n_waiters >= MAX_WAITERS) {
                answer(m, &reply, true);
                return 1;
        }

        w = calloc(1, sizeof(SnapshotWaiter));
        if (!w)
                return -ENOMEM;
        w->manager = m;
        /* A refresh running now may have read before this call came: the next one. */
        w->needs = m->refreshes_started + 1;
        r = sd_event_add_time_relative(m->event, &w->timeout, CLOCK_MONOTONIC, SNAPSHOT_WAIT_MS * 1000ULL, 1000,
                                       on_waiter_timeout, w);
        if (r < 0) {
                waiter_free(w);
                return r;
        }
        w->reply = reply;
        w->next = m->waiters;
        m->waiters = w;
        m->n_waiters++;
        if (refresh_start(m) < 0)
                waiter_answer(m, w, true);
        return 1;
}
