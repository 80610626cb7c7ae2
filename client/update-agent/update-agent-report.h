/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "update-agent-context.h"

/* After the install: the restart hook and the reboot, the verdict after the reboot, the final
 * feedback, and configData. */

/* Called with a record in phase INSTALLED (just installed): restart hook, reboot. */
int report_after_install(Agent *a);

/* Record in phase INSTALLED, REBOOTING, INSTALLING or REPORTING at a poll: decide and report
 * what can be decided.  Returns 1 if the record still waits for something. */
int report_check(Agent *a);

/* Decide a final result now (phase REPORTING) and try to send it. */
int report_final(Agent *a, bool success, const char *const *details);
/* The same with the result in Upparat's words (SourceReport.reason) and a message for it. */
int report_final_why(Agent *a, bool success, const char *reason, const char *message, const char *const *details);

/* A failure by name (update-agent-failure.h, or updated's): logged, recorded (final_failure)
 * and reported with details[0] as "<name>: <details[0]>", the form docs/agent.md promises.
 * reason NULL: download_failed or installation_failed, by the phase the action is in. */
int report_failed(Agent *a, const char *name, const char *reason, const char *const *details);
/* The same with a protocol's one-line message (SourceReport.message, AWS's statusDetails
 * message), sent as "<name>: <message>". */
int report_failed_why(Agent *a, const char *name, const char *reason, const char *message, const char *const *details);

/* configData attributes: compatible, booted slot, installed version, agent version, last boot,
 * [attributes] and the attributes hook's; then report_installed_base()'s check. */
int report_config_data(Agent *a);

/* With installed-base-name=: a booted, committed slot that no action of ours installed (an
 * offline installation: updatectl install from a USB stick) is recorded on the server with
 * PUT installedBase, once per installation (<state>/installed-base).  While the booted slot is
 * still on trial, a->installed_base_recheck stays set and the poll loop calls this again. */
int report_installed_base(Agent *a);
