/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "update-agent-config.h"
#include "update-agent-daemon.h"
#include "update-agent-ddi.h"
#include "update-agent-download.h"
#include "update-agent-hooks.h"
#include "update-agent-state.h"

/* The agent's shared context and the few functions the modules call across each other.
 *   update-agent.c         main: options, privileges, signals, the polling loop
 *   update-agent-action.c  a deployment: hooks, download, install, cancel while running
 *   update-agent-report.c  after the install: reboot, the verdict after reboot, final feedback,
 *                          configData */

typedef struct Agent {
        AgentConfig *config;
        DdiClient ddi;
        sd_bus *bus;
        int signal_fd;
        bool terminating;
        bool poll_now;               /* SIGUSR1 */
        uint64_t watchdog_usec;      /* 0: no watchdog */
        uint64_t last_watchdog;
        ActionRecord *record;        /* the in-flight action, NULL if none */
        bool config_data_sent;
        bool reboot_requested;       /* this process asked for the reboot */
        char *gone_action;           /* 410 seen: no more feedback for this action */
        char *rejected_cancel;       /* cancel of this action already rejected */
        char *refused_reported;      /* refused-artifact details already sent for this action */
} Agent;

uint64_t now_usec(void);

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

/* Feedback for the deployment, unless the action is gone (410). -ESTALE marks it gone. */
int agent_feedback(Agent *a, const char *action_id, const char *execution, const char *finished, int pct,
                   const char *const *details);
int agent_feedback1(Agent *a, const char *action_id, const char *execution, const char *finished, int pct,
                    const char *fmt, ...) _printf_(6, 7);

/* update-agent-action.c */

/* Handles a deploymentBase link: everything up to a finished install (then phase INSTALLED
 * and report_after_install()) or a final result. */
int action_process_deployment(Agent *a, const char *href);

/* Handles a cancelAction link while nothing runs. */
int action_handle_cancel(Agent *a, const char *href);

/* Polls the base resource during a long operation.  Returns 1 if a cancel for action_id was
 * found (and cancellable: the caller stops and calls action_accept_cancel()); a cancel that
 * is not cancellable is rejected here.  Sends configData when asked. */
int action_poll_for_cancel(Agent *a, const char *action_id, bool cancellable);
int action_accept_cancel(Agent *a, const char *action_id, const char *why);

/* update-agent-report.c */

/* Called with a record in phase INSTALLED (just installed): restart hook, reboot. */
int report_after_install(Agent *a);

/* Record in phase INSTALLED, REBOOTING, INSTALLING or REPORTING at a poll: decide and report
 * what can be decided.  Returns 1 if the record still waits for something. */
int report_check(Agent *a);

/* Decide a final result now (phase REPORTING) and try to send it. */
int report_final(Agent *a, bool success, const char *const *details);

/* configData attributes: compatible, booted slot, installed version, agent version, last boot. */
int report_config_data(Agent *a);

/* Hooks with the retry contract; waiting between retries polls for cancels when cancellable.
 * Returns 1 = go, 0 = failed (*ret_details set), -ECANCELED (cancel accepted), -EINTR. */
int action_run_hook(Agent *a, AgentHook h, const char *meta_json, const char *extra, bool cancellable,
                    char **ret_details, char **ret_last_line);
