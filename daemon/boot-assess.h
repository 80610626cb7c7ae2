/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* How the boot the daemon runs in relates to the last install's trial. */
typedef enum BootAssessment {
        BOOT_ASSESS_NONE,      /* no trial (or no get_trial): the persisted last_boot stays */
        BOOT_ASSESS_TRIAL,     /* the trial slot is booted: last_boot {T, T, fell_back false} */
        BOOT_ASSESS_PENDING,   /* installed, not rebooted yet: nothing changes */
        BOOT_ASSESS_FALLBACK,  /* the trial slot was tried and another one booted */
        BOOT_ASSESS_UNKNOWN,   /* booted slot unknown, bootloader unreadable, ...: nothing changes */
} BootAssessment;

/* The decision alone (pure, unit-tested):
 *   trial   bootname the bootloader has on trial (NULL: none);
 *   booted  bootname of the booted slot (NULL: unknown);
 *   primary bootname the bootloader boots next (NULL: unknown);
 *   rebooted 1 if the system booted since the trial was armed, 0 if not, -1 if unknown
 *            (boot ids: the one recorded by the install against this boot's).
 * A trial slot that is not booted is a fallback once the system rebooted since arming it; in
 * the same boot it is still to be tried.  Without boot ids, it is a fallback only if the
 * bootloader no longer boots it next.  Never a fallback on doubt. */
BootAssessment boot_assess_decide(const char *trial, const char *booted, const char *primary, int rebooted);

/* Runs once at daemon start, after the slot table and the bootloader are ready (no threads
 * yet).  On a fallback: the tried slot's group gets status failed and last_boot is written to
 * the status file first, then set_state(T, bad) clears the trial (a power cut in between
 * repeats the same steps at the next start).  Problems are logged, never fatal. */
BootAssessment boot_assess(Manager *m);
