/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "manager.h"
#include "manifest.h"
#include "states.h"

/* The one authority over slot transitions (docs/bootloaders.md, "Invariants").  Every change
 * of the boot chain (install start, trial arm, MarkGood, Mark good/bad/active, boot assessment
 * at start-up, floor commit, the recovery of an interrupted install or commit) asks it first,
 * and every bootloader write of the daemon goes through it.  It keeps:
 *
 *  I1 known-good fallback: at every instant the boot chain holds a committed, ok,
 *     at-or-above-floor group.  No install while the booted group is on an uncommitted trial.
 *  I2 nothing unproven becomes bootable: no call makes primary, adds to the chain or re-arms a
 *     group with a failed or pending slot, with slots written by different bundles, or below
 *     the anti-rollback floor; Mark bad is refused if what would be left to boot breaks I2.
 *  I3 a bundle covers its group: every slot of the target group is written, or already holds
 *     the same bundle.
 *  I4 the floor rises only on proof: MarkGood in the group's own boot, witnessed by the
 *     daemon's own trial record (written before the bootloader is touched), never by the
 *     backend's "good"; an interrupted commit is finished at start-up from that record.
 *
 * "Committed" (known good): proven by MarkGood in its own boot since it was written (the
 * "committed" flag of its slot records; a factory image counts while it runs), the bootloader
 * has it good (not on trial), its slots are ok, written by one bundle, at or above the floor.
 * Mark good/active of another slot vouches for an image (it may boot) but proves nothing.
 *
 * All functions expect m->lock held, except policy_check_install (takes it). */

/* What the authority knows of one boot group. */
typedef struct GroupView {
        int root;                  /* slot index of the group's root (the one with a bootname) */
        BootStatus boot;           /* the bootloader's view, _BOOT_STATUS_INVALID if unreadable */
        SlotStatus status;         /* the worst of its slots: failed > pending > unknown > ok */
        bool mixed;                /* its slots hold different bundles (or some none) */
        uint64_t security_version; /* lowest of its slots; 0 when a slot holds none */
        bool trial;                /* on an uncommitted trial (bootloader or our record) */
        bool committed;            /* proven: marked good in its own boot since it was written
                                    * (every slot's record says so), or the factory image
                                    * (no records) that runs now */
        bool booted;               /* the running system is in this group */
} GroupView;

int policy_group_view(Manager *m, int root, GroupView *ret, UError *err);
bool policy_known_good(const Manager *m, const GroupView *v);

/* Install phase 1 (nothing written yet): I1 (no install during a trial; a committed group
 * stays bootable while the target is out of the chain) and I3 (the bundle covers the target
 * group).  'targets' are the slot indexes picked for the manifest's images. */
int policy_check_install(Manager *m, const Manifest *mf, const int *targets, size_t n_targets, UError *err);

/* Mark state of group 'root' (the resolved slot): I1 and I2. */
int policy_check_mark(Manager *m, MarkState state, int root, UError *err);

/* The bootloader writes, each checked again and followed by a durable point (the model
 * test's power cuts). */
int policy_take_out(Manager *m, int root, UError *err);              /* set_state bad */
int policy_arm_trial(Manager *m, int root, UError *err);             /* set_primary trial */
/* set_primary: permanent for a committed group; for one that was never proven here, a trial
 * (*ret_trial), recorded like an install's. */
int policy_make_primary(Manager *m, int root, bool *ret_trial, UError *err);
int policy_mark_good(Manager *m, int root, UError *err);             /* set_state good, not booted */

/* MarkGood of the booted group: the intent goes to the status file first (I4), then the
 * bootloader commits, the floor rises, groups below the new floor leave the chain, and the
 * record is cleared.  *ret_was_trial tells whether a trial was committed. */
int policy_commit_booted(Manager *m, int root, bool *ret_was_trial, UError *err);

/* Start-up, after boot assessment and loading the floors (no threads yet): finishes a commit
 * a power cut interrupted, takes failed or pending groups out of the chain (devices that an
 * older version left so), and reports what it did in the log.  Never fails the daemon. */
void policy_startup(Manager *m);

/* The group the daemon runs in, or -1. */
int policy_booted_root(const Manager *m);
