/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The part of the Manager the jobs and the snapshot call: the worker → main loop queue, and the
 * state clients see.  Changes are announced through m->notify, which bus.c sets; this file calls
 * nothing else in the daemon, so depending on it closes no cycle with manager.c, which owns and
 * starts the jobs. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "manager.h"

/* ---- worker thread → main loop queue ---- */

void manager_post(Manager *m, ManagerCall *c) {
        c->next = NULL;
        pthread_mutex_lock(&m->queue_lock);
        if (m->queue_tail)
                m->queue_tail->next = c;
        else
                m->queue_head = c;
        m->queue_tail = c;
        pthread_mutex_unlock(&m->queue_lock);
        (void) eventfd_write(m->queue_fd, 1);
}

void manager_dispatch_queue(Manager *m) {
        ManagerCall *c;
        eventfd_t v;

        (void) eventfd_read(m->queue_fd, &v);

        pthread_mutex_lock(&m->queue_lock);
        c = m->queue_head;
        m->queue_head = m->queue_tail = NULL;
        pthread_mutex_unlock(&m->queue_lock);

        /* In posting order: progress before the job's end. */
        while (c) {
                ManagerCall *next = c->next;

                c->fn(m, c);
                c = next;
        }
}

/* ---- properties and signals ---- */

static void notify_property(Manager *m, const char *property) {
        if (m->notify && m->notify->property_changed)
                m->notify->property_changed(m, property);
}

static int set_string(char **p, const char *v) {
        char *n = NULL;

        if ((!*p && !v) || (*p && v && streq(*p, v)))
                return 0;
        if (v) {
                n = strdup(v);
                if (!n)
                        return -ENOMEM;
        }
        free(*p);
        *p = n;
        return 1;
}

void manager_set_operation(Manager *m, Operation o) {
        if (m->operation == o)
                return;
        m->operation = o;
        notify_property(m, "Operation");
}

void manager_set_progress(Manager *m, uint32_t percent, const char *message) {
        m->progress_percent = percent;
        (void) set_string(&m->progress_message, message);
        notify_property(m, "Progress");
        if (m->notify && m->notify->progress)
                m->notify->progress(m);
}

void manager_set_last_error(Manager *m, const char *error) {
        if (set_string(&m->last_error, error) > 0)
                notify_property(m, "LastError");
}

int manager_set_primary_slot(Manager *m, const char *bootname) {
        int r;

        r = set_string(&m->primary_slot, bootname);
        if (r > 0)
                notify_property(m, "PrimarySlot");
        return r;
}

void manager_emit_completed(Manager *m, int result, const char *message) {
        if (m->notify && m->notify->completed)
                m->notify->completed(m, result, message);
}

const char *manager_slot_name_by_bootname(const Manager *m, const char *bootname) {
        int i;

        if (!bootname)
                return NULL;
        i = config_find_slot_by_bootname(m->config, bootname);
        return i >= 0 ? m->config->slots[i].name : NULL;
}
