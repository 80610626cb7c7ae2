/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one authority over slot transitions: see slot-policy.h for the invariants and
 * docs/bootloaders.md ("Invariants") for the reasons behind each choice.  Each check reads
 * the bootloader afresh (the boot script and other tools change it behind our back) and the
 * status file the daemon keeps; nothing here trusts a caller. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antirollback.h"
#include "fileio.h"
#include "log.h"
#include "slot-policy.h"
#include "util.h"

static const char *slot_name(const Manager *m, int i) {
        return m->config->slots[i].name;
}

static const char *bootname_of(const Manager *m, int root) {
        return m->config->slots[root].bootname;
}

static bool in_group(const Manager *m, unsigned i, int root) {
        return slot_table_group_root(m->slots, (int) i) == root;
}

int policy_booted_root(const Manager *m) {
        if (m->slots->booted < 0)
                return -1;
        return slot_table_group_root(m->slots, m->slots->booted);
}

/* failed > pending > unknown > ok: the worst slot decides what the group is. */
static int status_rank(SlotStatus s) {
        switch (s) {
        case SLOT_STATUS_OK:
                return 0;
        case SLOT_STATUS_UNKNOWN:
                return 1;
        case SLOT_STATUS_PENDING:
                return 2;
        default:
                return 3;
        }
}

static bool same_bundle(const SlotRecord *a, const SlotRecord *b) {
        return streq_ptr(a->bundle_compatible, b->bundle_compatible) &&
               streq_ptr(a->bundle_version, b->bundle_version) && streq_ptr(a->bundle_build, b->bundle_build) &&
               a->security_version == b->security_version;
}

/* Our record of an uncommitted trial of group 'root'. */
static bool record_trial_of(const Manager *m, int root) {
        const TrialRecord *t = &m->status->trial;

        return t->slot && !t->rejected && streq(t->slot, slot_name(m, root));
}

int policy_group_view(Manager *m, int root, GroupView *ret, UError *err) {
        Bootloader *bl = m->bootloader;
        const SlotRecord *first = NULL;
        GroupView v = {
                .root = root,
                .boot = _BOOT_STATUS_INVALID,
                .status = SLOT_STATUS_OK,
                .security_version = UINT64_MAX,
                .booted = root == policy_booted_root(m),
        };
        bool any_known = false, any_unknown = false, all_committed = true;
        int r;

        assert(ret);
        if (root < 0 || !bootname_of(m, root))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Slot %s has no bootname",
                                  root >= 0 ? slot_name(m, root) : "?");

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                const SlotRecord *rec;
                SlotStatus s;

                if (!in_group(m, i, root))
                        continue;
                rec = status_find(m->status, slot_name(m, (int) i));
                s = rec ? rec->status : SLOT_STATUS_UNKNOWN;
                if (status_rank(s) > status_rank(v.status))
                        v.status = s;
                if (!rec || (s != SLOT_STATUS_OK && s != SLOT_STATUS_UNKNOWN) || !rec->committed)
                        all_committed = false;
                if (s != SLOT_STATUS_OK) {
                        any_unknown = true;
                        v.security_version = 0;
                        continue;
                }
                any_known = true;
                v.security_version = MIN(v.security_version, rec->security_version);
                if (!first)
                        first = rec;
                else if (!same_bundle(first, rec))
                        v.mixed = true;
        }
        /* All unknown is a factory image (flashed as one); some ours and some not is a group
         * that no single bundle wrote. */
        if (any_known && any_unknown)
                v.mixed = true;
        if (v.security_version == UINT64_MAX)
                v.security_version = 0;
        /* A factory image (no install records) is committed once MarkGood ran in its boot;
         * before that, the one that runs is the device's baseline and counts while it runs. */
        v.committed = any_known ? all_committed && !any_unknown : all_committed || v.booted;

        r = bootloader_get_state(bl, bootname_of(m, root), &v.boot, err);
        if (r < 0) {
                uerror_prefix(err, "Refusing to change the boot chain: the bootloader state of %s cannot be read",
                              slot_name(m, root));
                return r;
        }
        /* A backend without a trial notion (custom: RAUC's contract has set-primary and
         * good/bad only, and the slot stays "bad" from the install until MarkGood) cannot tell;
         * then our record does, and the slot is in the chain as the trial it is. */
        v.trial = v.boot == BOOT_STATUS_TRIAL;
        if (!bootloader_has_trial(bl) && record_trial_of(m, root)) {
                v.trial = true;
                v.boot = BOOT_STATUS_TRIAL;
        }
        /* The group that runs booted in this very boot: "bad" in the bootloader then means its
         * attempts are spent (GRUB's X_TRY=1 until MarkGood, U-Boot's counter at 0), which the
         * scheme re-arms when nothing else is left; it was not withdrawn, as long as nobody
         * marked it bad (that makes its status failed). */
        if (v.booted && v.boot == BOOT_STATUS_BAD && (v.status == SLOT_STATUS_OK || v.status == SLOT_STATUS_UNKNOWN))
                v.boot = BOOT_STATUS_GOOD;
        *ret = v;
        return 0;
}

static bool below_floor(const Manager *m, const GroupView *v) {
        return m->floor.security_version > 0 && v->security_version < m->floor.security_version;
}

bool policy_known_good(const Manager *m, const GroupView *v) {
        return v->committed && v->boot == BOOT_STATUS_GOOD && !v->trial && !v->mixed &&
               (v->status == SLOT_STATUS_OK || v->status == SLOT_STATUS_UNKNOWN) && !below_floor(m, v);
}

/* I2 for one group: may it be made bootable (primary, added, re-armed)? */
static int check_bootable(Manager *m, const GroupView *v, const char *what, UError *err) {
        const char *name = slot_name(m, v->root);

        if (v->status == SLOT_STATUS_FAILED)
                return uerror_set(err, ERROR_NOT_BOOTABLE, -EPERM,
                                  "%s: slot %s holds a failed or interrupted installation; install a bundle into it first",
                                  what, name);
        if (v->status == SLOT_STATUS_PENDING)
                return uerror_set(err, ERROR_NOT_BOOTABLE, -EPERM,
                                  "%s: an installation into slot %s is not complete; wait for it or install again",
                                  what, name);
        if (v->mixed)
                return uerror_set(err, ERROR_NOT_BOOTABLE, -EPERM,
                                  "%s: the slots of boot group %s were not all written by one bundle; install a bundle that covers the whole group",
                                  what, name);
        if (below_floor(m, v)) {
                if (v->status == SLOT_STATUS_UNKNOWN)
                        return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                                          "%s: slot %s holds no bundle installed by us (security-version unknown), and this device's anti-rollback floor is %" PRIu64,
                                          what, name, m->floor.security_version);
                return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                                  "%s: slot %s holds security-version %" PRIu64 ", below this device's anti-rollback floor %" PRIu64,
                                  what, name, v->security_version, m->floor.security_version);
        }
        return 0;
}

/* I1 after group 'leaving' is out of the chain: every group left in it must be bootable (I2)
 * and at least one must be committed. */
static int check_chain_without(Manager *m, int leaving, const char *what, UError *err) {
        const char *candidate = NULL;
        bool committed = false;
        int r;

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                GroupView v;

                if ((int) i == leaving || !m->config->slots[i].bootname || !in_group(m, i, (int) i))
                        continue;
                r = policy_group_view(m, (int) i, &v, err);
                if (r < 0)
                        return r;
                if (v.boot == BOOT_STATUS_BAD)
                        continue;
                r = check_bootable(m, &v, what, err);
                if (r < 0) {
                        uerror_prefix(err, "%s would boot next", slot_name(m, (int) i));
                        return r;
                }
                if (policy_known_good(m, &v))
                        committed = true;
                else if (!candidate)
                        candidate = slot_name(m, (int) i);
        }
        if (committed)
                return 0;
        if (candidate)
                return uerror_set(err, ERROR_NOT_BOOTABLE, -EPERM,
                                  "%s: no committed slot would be left to boot (%s is in the boot chain but was never "
                                  "marked good in its own boot); boot it and commit it with MarkGood first",
                                  what, candidate);
        return uerror_set(err, ERROR_NOT_BOOTABLE, -EPERM,
                          "%s: no committed slot would be left to boot (no other slot is in the boot chain: failed, "
                          "half-written or marked bad); install a bundle into another slot and commit it first",
                          what);
}

int policy_check_install(Manager *m, const Manifest *mf, const int *targets, size_t n_targets, UError *err) {
        int booted, target, r = 0;
        GroupView v;

        assert(n_targets > 0);

        pthread_mutex_lock(&m->lock);
        booted = policy_booted_root(m);
        target = slot_table_group_root(m->slots, targets[0]);
        if (booted < 0) {
                r = uerror_set(err, ERROR_NO_TARGET_SLOT, -ENODEV, "Booted slot unknown: %s",
                               m->slots->boot_source ?: "no boot source matched");
                goto out;
        }

        /* I1: the booted group is the fallback of the new trial; an unproven one is no fallback. */
        r = policy_group_view(m, booted, &v, err);
        if (r < 0)
                goto out;
        if (v.trial) {
                r = uerror_set(err, ERROR_TRIAL_PENDING, -EBUSY,
                               "Slot %s is booted on a trial that is not committed yet; commit it with MarkGood "
                               "(updatectl mark-good booted) once it is healthy, or reject it with Mark bad booted "
                               "and reboot into the previous slot, then install again",
                               slot_name(m, booted));
                goto out;
        }

        /* I3: slots of the target group that the bundle has no image for must already hold it. */
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                const SlotRecord *rec;
                bool covered = false;

                if (!in_group(m, i, target))
                        continue;
                for (size_t k = 0; k < n_targets && !covered; k++)
                        covered = targets[k] == (int) i;
                if (covered)
                        continue;
                rec = status_find(m->status, slot_name(m, (int) i));
                if (rec && rec->status == SLOT_STATUS_OK && streq_ptr(rec->bundle_compatible, mf->compatible) &&
                    streq_ptr(rec->bundle_version, mf->version) && streq_ptr(rec->bundle_build, mf->build) &&
                    rec->security_version == mf->security_version)
                        continue;
                r = uerror_set(err, ERROR_INCOMPLETE, -EINVAL,
                               "Bundle has no image for slot %s (class %s) of boot group %s, and that slot holds %s %s: "
                               "a bundle must cover every slot of its boot group; add an image of class %s",
                               slot_name(m, (int) i), m->config->slots[i].class, slot_name(m, target),
                               rec && rec->status == SLOT_STATUS_OK ? "version" : "no",
                               rec && rec->status == SLOT_STATUS_OK && rec->bundle_version ? rec->bundle_version
                                                                                            : "complete installation",
                               m->config->slots[i].class);
                goto out;
        }

        /* I1 while writing: the target leaves the chain first. */
        r = check_chain_without(m, target, "Refusing to install", err);
out:
        pthread_mutex_unlock(&m->lock);
        return r;
}

int policy_check_mark(Manager *m, MarkState state, int root, UError *err) {
        GroupView v;
        int r;

        r = policy_group_view(m, root, &v, err);
        if (r < 0)
                return r;

        switch (state) {
        case MARK_GOOD:
                /* A trial that has not booted yet: "good" would make it a permanent primary with
                 * no fallback on schemes that count only trials (EFI, U-Boot bootcount).  Its own
                 * boot proves it. */
                if (v.trial && !v.booted)
                        return uerror_set(err, ERROR_TRIAL_PENDING, -EBUSY,
                                          "Refusing to mark it good: slot %s is armed for a trial boot and has not booted yet; "
                                          "reboot into it and commit it there with MarkGood, or mark it bad to cancel the trial",
                                          slot_name(m, root));
                return check_bootable(m, &v, "Refusing to mark it good", err);
        case MARK_ACTIVE:
                return check_bootable(m, &v, "Refusing to activate it", err);
        case MARK_BAD:
                /* Even for a group the bootloader already calls bad: "bad" may only mean spent
                 * attempts that the scheme re-arms (GRUB, U-Boot), and the mark withdraws it. */
                return check_chain_without(m, root, "Refusing to mark it bad", err);
        default:
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Invalid mark state");
        }
}

/* ---- the writes ---- */

int policy_take_out(Manager *m, int root, UError *err) {
        Bootloader *bl = m->bootloader;
        int r;

        r = bootloader_set_state(bl, bootname_of(m, root), BOOT_STATUS_BAD, err);
        if (r < 0)
                return r;
        fileio_durable_point("bootloader: take out");
        return 0;
}

int policy_arm_trial(Manager *m, int root, UError *err) {
        Bootloader *bl = m->bootloader;
        GroupView v;
        int r;

        /* Checked again at the last moment: the records were just written by the install. */
        r = policy_group_view(m, root, &v, err);
        if (r >= 0)
                r = check_bootable(m, &v, "Refusing to arm the trial", err);
        if (r < 0)
                return r;
        r = bootloader_set_primary(bl, bootname_of(m, root), true, err);
        if (r < 0)
                return r;
        fileio_durable_point("bootloader: arm trial");
        return 0;
}

/* An explicit Mark good/active ends our record of a trial of that group: the caller vouched
 * for it.  (The floor still does not move: only MarkGood in its own boot raises it.) */
static void end_trial_record(Manager *m, int root) {
        int r;

        if (!record_trial_of(m, root) && !(m->status->trial.slot && streq(m->status->trial.slot, slot_name(m, root))))
                return;
        r = status_set_trial(m->status, NULL, NULL, 0);
        if (r >= 0)
                r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot update the trial record in the status file: %m");
}

int policy_make_primary(Manager *m, int root, bool *ret_trial, UError *err) {
        Bootloader *bl = m->bootloader;
        GroupView v;
        int r;

        r = policy_check_mark(m, MARK_ACTIVE, root, err);
        if (r >= 0)
                r = policy_group_view(m, root, &v, err);
        if (r < 0)
                return r;

        if (!v.committed) {
                /* The chain behind the trial must hold a committed group (I1). */
                r = check_chain_without(m, root, "Refusing to activate it on trial", err);
                if (r < 0)
                        return r;
                /* Never proven here: primary for one trial boot, with the chain behind it as the
                 * fallback (I1).  A permanent primary that does not boot would never fall back
                 * on schemes without counters for it (EFI BootOrder, U-Boot bootcount's
                 * altbootcmd only during an upgrade).  MarkGood in its boot commits it. */
                r = status_set_trial(m->status, slot_name(m, root), m->boot_id, now_realtime_sec());
                if (r >= 0)
                        r = status_save(m->config, m->status);
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Cannot record the trial of %s in the status file: %s",
                                          slot_name(m, root), strerror(-r));
                r = bootloader_set_primary(bl, bootname_of(m, root), true, err);
                if (r < 0)
                        return r;
                fileio_durable_point("bootloader: arm trial");
                *ret_trial = true;
                return 0;
        }
        r = bootloader_set_primary(bl, bootname_of(m, root), false, err);
        if (r < 0)
                return r;
        fileio_durable_point("bootloader: make primary");
        end_trial_record(m, root);
        *ret_trial = false;
        return 0;
}

int policy_mark_good(Manager *m, int root, UError *err) {
        Bootloader *bl = m->bootloader;
        int r;

        r = policy_check_mark(m, MARK_GOOD, root, err);
        if (r < 0)
                return r;
        r = bootloader_set_state(bl, bootname_of(m, root), BOOT_STATUS_GOOD, err);
        if (r < 0)
                return r;
        fileio_durable_point("bootloader: mark good");
        end_trial_record(m, root);
        return 0;
}

/* After the floor rose: groups below it leave the chain, as Android's rollback index makes
 * them unbootable.  A below-floor image is one this device decided not to trust any more;
 * the group just committed (in this boot) is the fallback for the next update. */
static void retire_below_floor(Manager *m, int keep, uint64_t floor) {
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                UError err = UERROR_NULL;
                GroupView v;

                if ((int) i == keep || !m->config->slots[i].bootname || !in_group(m, i, (int) i))
                        continue;
                if (policy_group_view(m, (int) i, &v, &err) < 0) {
                        log_warning("Cannot check slot %s against the new floor: %s", slot_name(m, (int) i), err.message);
                        continue;
                }
                /* Even when the bootloader already calls it bad: that may be a spent attempt
                 * the scheme re-arms (GRUB's X_TRY); taking it out is idempotent. */
                if (floor == 0 || v.security_version >= floor)
                        continue;
                if (policy_take_out(m, (int) i, &err) < 0)
                        log_warning("Cannot take slot %s (below the anti-rollback floor %" PRIu64 ") out of the boot chain: %s",
                                    slot_name(m, (int) i), floor, err.message);
                else
                        log_notice("Slot %s holds security-version %" PRIu64 ", below the new anti-rollback floor %" PRIu64
                                   ": taken out of the boot chain",
                                   slot_name(m, (int) i), v.security_version, floor);
        }
}

/* The second half of a commit: bootloader, groups below the new floor out of the chain (before
 * the floor moves, so no state in between boots them), floor, then the proof and the end of
 * the record in one status write.  Idempotent, so start-up can repeat it after a power cut. */
static int finish_commit(Manager *m, int root, UError *err) {
        Bootloader *bl = m->bootloader;
        GroupView v;
        int r;

        r = policy_group_view(m, root, &v, err);
        if (r < 0)
                return r;
        r = bootloader_set_state(bl, bootname_of(m, root), BOOT_STATUS_GOOD, err);
        if (r < 0)
                return r;
        fileio_durable_point("bootloader: commit");
        if (v.status == SLOT_STATUS_OK && !v.mixed)
                retire_below_floor(m, root, MAX(m->floor.security_version, v.security_version));
        antirollback_commit(m, root);

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (!in_group(m, i, root))
                        continue;
                rec = status_find(m->status, slot_name(m, (int) i));
                if (rec && (rec->status == SLOT_STATUS_OK || rec->status == SLOT_STATUS_UNKNOWN))
                        rec->committed = true;
        }
        if (m->status->trial.slot && streq(m->status->trial.slot, slot_name(m, root)))
                (void) status_set_trial(m->status, NULL, NULL, 0);
        r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record the commit of %s in the status file: %m (start-up finishes it)",
                                  slot_name(m, root));
        return 0;
}

int policy_commit_booted(Manager *m, int root, bool *ret_was_trial, UError *err) {
        GroupView v;
        int r;

        assert(root == policy_booted_root(m));

        r = policy_group_view(m, root, &v, err);
        if (r < 0)
                return r;
        r = check_bootable(m, &v, "Refusing to commit it", err);
        if (r < 0)
                return r;

        /* I4: the witness first.  A power cut after this finishes the commit at start-up if the
         * device comes back in this group, and is forgotten if it fell back. */
        if (v.trial || !v.committed || v.security_version > m->floor.security_version) {
                r = 0;
                if (!(m->status->trial.slot && streq(m->status->trial.slot, slot_name(m, root))))
                        r = status_set_trial(m->status, slot_name(m, root), m->boot_id, now_realtime_sec());
                if (r >= 0) {
                        m->status->trial.rejected = false;
                        m->status->trial.committing = true;
                        r = status_save(m->config, m->status);
                }
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Cannot record the commit of %s in the status file: %s",
                                          slot_name(m, root), strerror(-r));
        }
        r = finish_commit(m, root, err);
        if (r < 0)
                return r;
        if (ret_was_trial)
                *ret_was_trial = v.trial;
        return 0;
}

/* ---- start-up ---- */

static void startup_finish_commit(Manager *m, int booted) {
        TrialRecord *t = &m->status->trial;
        UError err = UERROR_NULL;
        int r;

        if (!t->slot || !t->committing)
                return;
        if (booted >= 0 && streq(t->slot, slot_name(m, booted))) {
                log_notice("Finishing the commit of slot %s that a power cut interrupted", t->slot);
                if (finish_commit(m, booted, &err) < 0)
                        log_warning("Cannot finish the commit of %s: %s", t->slot, err.message);
                return;
        }
        /* The device came back elsewhere: the commit never reached the bootloader, and boot
         * assessment reported the fallback.  Nothing was proven. */
        log_warning("Slot %s was being committed when the power failed, but slot %s booted: not committed",
                    t->slot, booted >= 0 ? slot_name(m, booted) : "(unknown)");
        r = status_set_trial(m->status, NULL, NULL, 0);
        if (r >= 0)
                r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot update the status file: %m");
}

/* Half-written or failed groups still in the chain (left by an older version, or by hand):
 * out, as long as a committed group stays (I1 before I2: never empty the chain). */
static void startup_repair_chain(Manager *m, int booted) {
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                UError err = UERROR_NULL;
                GroupView v;

                if ((int) i == booted || !m->config->slots[i].bootname || !in_group(m, i, (int) i))
                        continue;
                /* Not when the bootloader already calls it bad: start-up would write the
                 * bootloader's storage on every boot (flash wear) for nothing. */
                if (policy_group_view(m, (int) i, &v, &err) < 0 || v.boot == BOOT_STATUS_BAD)
                        continue;
                if (v.status != SLOT_STATUS_FAILED && v.status != SLOT_STATUS_PENDING)
                        continue;
                if (check_chain_without(m, (int) i, "repair", &err) < 0) {
                        log_warning("Slot %s holds a failed installation but stays in the boot chain: %s",
                                    slot_name(m, (int) i), err.message);
                        continue;
                }
                if (policy_take_out(m, (int) i, &err) < 0)
                        log_warning("Cannot take failed slot %s out of the boot chain: %s", slot_name(m, (int) i),
                                    err.message);
                else
                        log_warning("Slot %s holds a failed installation: taken out of the boot chain",
                                    slot_name(m, (int) i));
        }
}

/* The factory image (no install records) that boots, not on trial: the device's baseline.
 * Recorded as committed, so that it stays the known-good fallback once another group runs
 * (before, the daemon could not tell it from a never-booted image). */
static void startup_factory_baseline(Manager *m, int booted) {
        UError err = UERROR_NULL;
        bool changed = false;
        GroupView v;
        int r;

        if (booted < 0 || policy_group_view(m, booted, &v, &err) < 0)
                return;
        if (v.status != SLOT_STATUS_UNKNOWN || v.trial || v.boot != BOOT_STATUS_GOOD || below_floor(m, &v))
                return;
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (!in_group(m, i, booted))
                        continue;
                rec = status_find(m->status, slot_name(m, (int) i));
                if (rec && !rec->committed) {
                        rec->committed = true;
                        changed = true;
                }
        }
        if (!changed)
                return;
        r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record the factory image of %s as committed: %m", slot_name(m, booted));
        else
                log_info("Slot %s runs the factory image: recorded as the committed baseline", slot_name(m, booted));
}

void policy_startup(Manager *m) {
        int booted;

        pthread_mutex_lock(&m->lock);
        booted = policy_booted_root(m);
        startup_finish_commit(m, booted);
        startup_factory_baseline(m, booted);
        startup_repair_chain(m, booted);
        pthread_mutex_unlock(&m->lock);
}
