/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "manager.h"
#include "manifest.h"

/* Anti-rollback policy on top of the floors of rollback.h:
 *  - a bundle whose security-version is below the floor is refused (Error.Downgrade), forced
 *    or not; a slot group holding such a bundle cannot be made primary by Mark active;
 *  - a plain version downgrade (version_compare() against the booted slot) needs force, and so
 *    does reinstalling the very version that runs (Error.AlreadyInstalled);
 *  - a bundle whose signed "expires" lies before the device's trusted time is refused;
 *  - the security-version floor rises when a slot is marked good in its own boot (or is found
 *    good at start-up, after a power cut between the mark and the floor write);
 *  - the time floor rises to the newest time a successfully installed bundle's signature
 *    vouches for. */

/* Start-up: loads (and repairs) the floors, hands the time floor to the keyring, and commits
 * the booted slot if the bootloader has it good.  Never fails the daemon on damaged copies. */
int antirollback_init(Manager *m);

/* Phase 1 of an install, after the signature and the compatible check: floor, expiry, version
 * against the booted slot.  Takes m->lock. */
int antirollback_check_install(Manager *m, const Manifest *mf, bool force, UError *err);

/* Before Mark active of boot group 'root'.  m->lock held. */
int antirollback_check_activate(Manager *m, int root, UError *err);

/* Slot group 'root' was marked good in its own boot: raise the floor to its security-version.
 * m->lock held.  Failures to write are logged: start-up repeats the commit. */
void antirollback_commit(Manager *m, int root);

/* A bundle signed with trusted time 't' was installed.  m->lock held. */
void antirollback_seen_time(Manager *m, uint64_t t);
