/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "idle.h"
#include "log.h"
#include "util.h"

#define USEC_PER_SEC UINT64_C(1000000)

typedef enum IdleState {
        IDLE_SERVING,
        IDLE_RELEASING,  /* ReleaseName sent; calls routed to us before it still come in */
        IDLE_RELEASED,   /* the bus queues new calls for the next activation: exit when not busy */
} IdleState;

typedef struct Idle {
        Manager *m;
        IdleState state;
} Idle;

/* The booted slot is on trial and not yet marked good or bad: update-health (or the operator)
 * is about to call Mark, and GetSlotStatus must answer at once, from this boot's assessment. */
static bool trial_pending(Manager *m) {
        const TrialRecord *t;
        const char *booted;
        bool pending;

        if (m->slots->booted < 0)
                return false;
        booted = m->config->slots[m->slots->booted].name;
        pthread_mutex_lock(&m->lock);
        t = &m->status->trial;
        pending = t->slot && !t->rejected && streq(t->slot, booted);
        pthread_mutex_unlock(&m->lock);
        return pending;
}

const char *idle_busy_reason(Manager *m) {
        /* A job holds the client's call (an open InstallFd stream is part of the install job)
         * and answers it later; the other handlers answer within their dispatch. */
        if (m->install)
                return "an installation is running";
        if (m->inspects)
                return "a bundle is being inspected";
        if (m->reboot)
                return "the reboot command is running";
        if (m->refresh || m->waiters)
                return "a slot status refresh is running";
        if (trial_pending(m))
                return "the booted slot is on trial";
        return NULL;
}

static int on_name_released(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Idle *idle = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* Every call the bus routed to us before the release precedes this reply on our
         * connection, so it has been dispatched already; later calls wait for the next
         * activation.  Even if the release failed, the exit goes on: the name goes with us. */
        if (e)
                log_warning("Cannot release %s before exiting: %s", UPDATE1_BUS_NAME, e->message);
        idle->state = IDLE_RELEASED;
        return 0;
}

/* Step one of the exit: tell systemd (it queues start requests from now on instead of assuming
 * we still run) and release the name, then wait for the bus's answer. */
static int idle_release(Idle *idle) {
        Manager *m = idle->m;
        int r;

        log_info("Idle for %us: releasing %s and exiting; the next call starts updated again",
                 m->config->idle_timeout_sec, UPDATE1_BUS_NAME);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting on idle");
        r = sd_bus_release_name_async(m->bus, NULL, UPDATE1_BUS_NAME, on_name_released, idle);
        if (r < 0)
                return log_error_errno(r, "Cannot release %s: %m", UPDATE1_BUS_NAME);
        idle->state = IDLE_RELEASING;
        return 0;
}

int idle_run(Manager *m) {
        uint64_t timeout = (uint64_t) m->config->idle_timeout_sec * USEC_PER_SEC, idle_since;
        Idle idle = { .m = m, .state = IDLE_SERVING };
        int r, code;

        if (timeout == 0)
                return sd_event_loop(m->event);

        idle_since = now_monotonic_usec();
        for (;;) {
                uint64_t wait = UINT64_MAX, now;
                const char *busy;

                if (sd_event_get_state(m->event) == SD_EVENT_FINISHED)
                        break;
                busy = idle_busy_reason(m);
                now = now_monotonic_usec();
                if (busy)
                        idle_since = now;
                else if (idle.state == IDLE_RELEASED) {
                        r = sd_event_exit(m->event, 0);
                        if (r < 0)
                                return log_error_errno(r, "Cannot exit the event loop: %m");
                } else if (idle.state == IDLE_SERVING) {
                        if (now - idle_since >= timeout) {
                                r = idle_release(&idle);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        wait = idle_since + timeout - now;
                }

                /* Any event (a call, a worker's message) is activity; a bare watchdog ping
                 * dispatches nothing and returns 0. */
                r = sd_event_run(m->event, wait);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed: %m");
                if (r > 0)
                        idle_since = now_monotonic_usec();
        }

        r = sd_event_get_exit_code(m->event, &code);
        return r < 0 ? r : code;
}
