/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "job.h"
#include "manager.h"

/* Reboot(): runs [system] reboot-command= (argv split at blanks, no shell, stdin /dev/null,
 * its own process group, default signal dispositions) without blocking the main loop: the
 * child's pidfd is watched by sd-event, and after reboot-timeout seconds its process group is
 * killed.  'reply' (job.h; taken on success, and maybe answered before this returns) is
 * answered when the command ends: success on exit status 0, else ERROR_FAILED naming the
 * command and its exit status (or signal, or the timeout).
 * Errors of this call: ERROR_FAILED when reboot-command= is empty or the program cannot be
 * started; ERROR_BUSY when a reboot command already runs. */
int reboot_start(Manager *m, uid_t uid, JobReply reply, UError *err);

bool reboot_running(const Manager *m);

/* At shutdown: answers a pending Reboot() call (the command is left running: it may be what
 * stops us) and frees the job. */
void reboot_abandon(Manager *m);
