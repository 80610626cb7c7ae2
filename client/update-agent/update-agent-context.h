/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "update-agent-config.h"
#include "update-agent-source.h"
#include "update-agent-state.h"

/* The agent's shared context: what every module of a running agent works on (configuration,
 * server protocol's backend, bus, signals, watchdog, the in-flight action record) and the few
 * operations on it they all need.  It calls no module above it, and reaches the backend only
 * through the SourceOps pointer, so the modules form a tree:
 *   update-agent.c         main: options, privileges, signals, the polling loop
 *   update-agent-action.c  a deployment: hooks, download, install, cancel while running
 *   update-agent-report.c  after the install: reboot, the verdict after reboot, final feedback,
 *                          configData
 *   update-agent-hooks.c   the hooks and their retry policy
 *   update-agent-source-*.c the server protocols (SourceOps), chosen by main */

/* Polls the server while waiting (for a hook that postponed).  Returns 1 if a cancel for
 * action_id was found and is cancellable. */
typedef int (*AgentPollFn)(Agent *a, const char *action_id, bool cancellable);

struct Agent {
        AgentConfig *config;
        const SourceOps *source;     /* the server protocol ([server] protocol=) */
        void *source_data;           /* the backend's own state */
        sd_bus *bus;
        int signal_fd;
        bool terminating;
        bool poll_now;               /* SIGUSR1 */
        uint64_t watchdog_usec;      /* 0: no watchdog */
        uint64_t last_watchdog;
        ActionRecord *record;        /* the in-flight action, NULL if none */
        bool config_data_sent;
        bool reboot_requested;       /* this process asked for the reboot */
        bool final_failed;           /* this process decided a failure (the --once exit status) */
        bool installed_base_recheck; /* the booted slot is on trial: check again at the next poll */
        char *gone_action;           /* 410 seen: no more feedback for this action */
        char *rejected_cancel;       /* cancel of this action already rejected */
        char *refused_reported;      /* refused-artifact details already sent for this action */
        char *consent_asked;         /* the action whose consent was denied or has no hook: not asked again */
        /* The hooks' "seconds since the first call of this hook for this action". */
        struct {
                char *action_id;
                uint64_t first[_AGENT_HOOK_MAX];
        } hook_clock;
        /* action_poll_for_cancel(), set by main: a pointer, so that the hook retry policy can
         * poll for cancels without the hooks module depending on the action module that runs
         * the hooks. */
        AgentPollFn poll_for_cancel;
};

/* Frees what the agent holds (not the Agent itself) and closes its fds. */
void agent_done(Agent *a);
/* The agent's connection to the system bus, opened again if the bus closed it.  An install being
 * followed keeps the connection it started on (InstallOp holds a reference). */
sd_bus *agent_bus(Agent *a);

/* Waits up to usec (UINT64_MAX: forever) for a signal or one of 'fds' to become ready.
 * Returns -EINTR when asked to terminate, 1 on SIGUSR1 (poll now), 2 + i when fds[i] is
 * ready, 0 on timeout.  Pings the watchdog. */
int agent_wait(Agent *a, uint64_t usec, struct pollfd *fds, size_t n_fds);
void agent_watchdog(Agent *a);
void agent_status(const char *fmt, ...) _printf_(1, 2);

/* Persist a->record (logs on failure). */
int agent_save_record(Agent *a);
/* Drop the record (and its bundle files unless keep_bundle). */
void agent_forget_record(Agent *a, bool keep_bundle);

/* The last failed source call's reason, in words. */
const char *agent_source_error(Agent *a);

/* Progress or a result of the action, unless the action is gone (410). -ESTALE marks it gone. */
int agent_report(Agent *a, const char *action_id, const SourceReport *r);
int agent_feedback(Agent *a, const char *action_id, SourceStatus s, int pct, const char *const *details);
int agent_feedback1(Agent *a, const char *action_id, SourceStatus s, int pct, const char *fmt, ...) _printf_(5, 6);
