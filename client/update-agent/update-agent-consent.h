/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "update-agent-context.h"

/* User consent: an action the server holds for confirmation (its confirmationBase link) is
 * put to the confirm hook: exit 0 confirms it (it then comes as a deployment), exit 3 asks
 * again at the next poll, anything else denies it (the hook's output is the reason).  Without
 * a confirm hook nothing is sent: the action waits on the server (its auto-confirm, an
 * operator).  A denied action is not asked again until the agent restarts. */
int consent_process(Agent *a, const char *href);
