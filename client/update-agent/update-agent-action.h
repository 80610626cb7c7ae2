/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "update-agent-context.h"

/* A deployment, from the deploymentBase link to a finished install, and cancels. */

/* Handles a deploymentBase link: everything up to a finished install (then phase INSTALLED
 * and report_after_install()) or a final result. */
int action_process_deployment(Agent *a, const char *href);

/* Handles a cancelAction link while nothing runs. */
int action_handle_cancel(Agent *a, const char *href);

/* Polls the base resource during a long operation.  Returns 1 if a cancel for action_id was
 * found (and cancellable: the caller stops and calls action_accept_cancel()); a cancel that
 * is not cancellable is rejected here.  Sends configData when asked.  An AgentPollFn. */
int action_poll_for_cancel(Agent *a, const char *action_id, bool cancellable);
int action_accept_cancel(Agent *a, const char *action_id, const char *why);
