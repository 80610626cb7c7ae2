/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "update-agent-context.h"
#include "util.h"

/* Whether the bus hung up on a connection that nobody has read since (between installs nothing
 * reads it).  Only polled, not read: a message waiting there may belong to an install being
 * followed (InstallOp), which must see it. */
static bool bus_hung_up(sd_bus *bus) {
        struct pollfd p = { .fd = sd_bus_get_fd(bus), .events = POLLIN | POLLRDHUP };

        if (p.fd < 0)
                return true;
        return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

/* sd-bus never reconnects: once the bus has dropped the connection (dbus-daemon restarted, or
 * it closed us), every call on it fails with ENOTCONN ("System.Error.ENOTCONN") until the agent
 * restarts.  A hang-up not yet read would fail the next call once with ECONNRESET; looking for
 * it first sends that call on a new connection too. */
sd_bus *agent_bus(Agent *a) {
        sd_bus *bus = NULL;
        int r;

        if (a->bus && sd_bus_is_open(a->bus) > 0 && !bus_hung_up(a->bus))
                return a->bus;
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_warning_errno(r, "The connection to the system bus was closed, and reconnecting failed: %m");
                return a->bus;
        }
        log_info("The connection to the system bus was closed: reconnected");
        sd_bus_flush_close_unref(a->bus);
        a->bus = bus;
        return a->bus;
}

void agent_done(Agent *a) {
        if (a->source)
                a->source->done(a);
        a->bus = sd_bus_flush_close_unref(a->bus);
        a->record = action_record_free(a->record);
        a->gone_action = mfree(a->gone_action);
        a->rejected_cancel = mfree(a->rejected_cancel);
        a->refused_reported = mfree(a->refused_reported);
        a->consent_asked = mfree(a->consent_asked);
        a->hook_clock.action_id = mfree(a->hook_clock.action_id);
        if (a->signal_fd >= 0)
                close(a->signal_fd);
        a->signal_fd = -EBADF;
        a->config = agent_config_free(a->config);
}

void agent_watchdog(Agent *a) {
        uint64_t now = now_monotonic_usec();

        if (a->watchdog_usec == 0 || now - a->last_watchdog < a->watchdog_usec / 2)
                return;
        a->last_watchdog = now;
        (void) sd_notify(false, "WATCHDOG=1");
}

void agent_status(const char *fmt, ...) {
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) sd_notifyf(false, "STATUS=%s", buf);
}

int agent_wait(Agent *a, uint64_t usec, struct pollfd *fds, size_t n_fds) {
        uint64_t deadline = usec == UINT64_MAX ? UINT64_MAX : now_monotonic_usec() + usec;

        for (;;) {
                struct pollfd p[8];
                uint64_t now = now_monotonic_usec(),
                         left = deadline == UINT64_MAX ? UINT64_MAX : deadline > now ? deadline - now : 0;
                int ms, k;

                if (a->terminating)
                        return -EINTR;
                agent_watchdog(a);
                if (n_fds > ELEMENTSOF(p) - 1)
                        return -E2BIG;
                p[0] = (struct pollfd) { .fd = a->signal_fd, .events = POLLIN };
                for (size_t i = 0; i < n_fds; i++) {
                        p[i + 1] = fds[i];
                        p[i + 1].revents = 0;
                }
                /* Wake up for the watchdog too. */
                if (a->watchdog_usec)
                        left = MIN(left, a->watchdog_usec / 2);
                ms = left == UINT64_MAX ? -1 : (int) MIN((left + 999) / 1000, (uint64_t) INT32_MAX);
                k = poll(p, n_fds + 1, ms);
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k > 0 && (p[0].revents & POLLIN)) {
                        struct signalfd_siginfo si;

                        if (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGUSR1) {
                                        log_info("SIGUSR1: polling now");
                                        return 1;
                                }
                                log_info("Received %s: stopping", strsignal((int) si.ssi_signo));
                                a->terminating = true;
                                return -EINTR;
                        }
                }
                for (size_t i = 0; k > 0 && i < n_fds; i++)
                        if (p[i + 1].revents) {
                                fds[i].revents = p[i + 1].revents;
                                return 2 + (int) i;
                        }
                if (deadline != UINT64_MAX && now_monotonic_usec() >= deadline)
                        return 0;
        }
}

int agent_save_record(Agent *a) {
        if (!a->record)
                return 0;
        return action_record_save(a->config->state_dir, a->record);
}

void agent_forget_record(Agent *a, bool keep_bundle) {
        if (!a->record)
                return;
        if (!keep_bundle)
                action_remove_bundles(a->config->state_dir, NULL);
        (void) action_record_remove(a->config->state_dir);
        a->record = action_record_free(a->record);
}

const char *agent_source_error(Agent *a) {
        return a->source ? a->source->error(a) : "";
}

int agent_report(Agent *a, const char *action_id, const SourceReport *rep) {
        static const char *const name[_SOURCE_STATUS_MAX] = {
                [SOURCE_SCHEDULED] = "scheduled", [SOURCE_PROCEEDING] = "proceeding",
                [SOURCE_DOWNLOAD] = "download",   [SOURCE_DOWNLOADED] = "downloaded",
                [SOURCE_INSTALLING] = "installing",
                [SOURCE_SUCCEEDED] = "succeeded", [SOURCE_FAILED] = "failed",
        };
        int r;

        if (a->gone_action && streq(a->gone_action, action_id))
                return -ESTALE;
        r = a->source->report(a, action_id, rep);
        if (r == -ESTALE) {    /* the backend said so in its words */
                free(a->gone_action);
                a->gone_action = strdup(action_id);
        } else if (r < 0)
                log_warning("Feedback %s for action %s failed: %s", name[rep->status], action_id, agent_source_error(a));
        return r;
}

int agent_feedback(Agent *a, const char *action_id, SourceStatus s, int pct, const char *const *details) {
        return agent_report(a, action_id,
                            &(SourceReport) { .status = s, .pct = pct, .bytes = UINT64_MAX, .details = details });
}

int agent_feedback1(Agent *a, const char *action_id, SourceStatus s, int pct, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return agent_feedback(a, action_id, s, pct, (const char *const[]) { msg ?: "", NULL });
}
