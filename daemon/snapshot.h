/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "job.h"
#include "manager.h"

/* GetSlotStatus answers from a snapshot of the slot table (bootloader state, status file,
 * anti-rollback floors) and never touches the bootloader or m->lock in the main loop: a
 * bootloader that hangs (a held U-Boot env lock, a slow tool) must not stall the daemon.
 *
 * Staleness rule:
 *   - the daemon's own changes are in the snapshot before the call that made them returns:
 *     it is read again at start-up (after boot assessment), after every Mark and at the end of
 *     every install (manager_refresh_primary());
 *   - every GetSlotStatus call starts a refresh in a worker thread (or waits for the next one
 *     if one is running) and is answered with its result, so changes made behind the daemon's
 *     back (fw_setenv, the boot script, a custom backend's state) are seen too;
 *   - if that refresh takes longer than SNAPSHOT_WAIT_MS, the call is answered with the newest
 *     snapshot there is, marked "stale": true; "snapshot.timestamp" says when it was read
 *     (null in a fresh answer, so that answers without a change in between are equal).
 * The worker holds m->lock while it reads, like every bootloader access. */

#define SNAPSHOT_WAIT_MS 1000

/* Any thread: reads the bootloader and the status file (takes m->lock) into a new snapshot. */
int snapshot_read(Manager *m, Snapshot **ret);
Snapshot *snapshot_free(Snapshot *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Snapshot *, snapshot_free);

/* Main thread: takes s as the current snapshot unless a newer one is there already, and
 * updates PrimarySlot from it. */
void manager_set_snapshot(Manager *m, Snapshot *s);

/* Main thread, GetSlotStatus after authorization: answers through 'reply' (job.h) with the
 * JSON, now or from a later main-loop iteration.  Returns 1 (answer pending or given) or a
 * negative errno (then 'reply' was not called and stays the caller's). */
int manager_get_slot_status(Manager *m, JobReply reply);

/* Main thread, at shutdown: answers every waiting call from the current snapshot.  A running
 * refresh is waited for by manager_drain() (it ends within the bootloader's timeouts). */
void snapshot_answer_all(Manager *m);
