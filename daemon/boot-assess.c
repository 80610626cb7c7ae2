/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Boot assessment at daemon start: was this boot the trial boot of a newly installed slot, or
 * did the bootloader fall back from it?  The answer goes into the status file (last_boot, and
 * status failed for a slot that fell back) so that GetSlotStatus can report it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "boot-assess.h"
#include "slot-policy.h"
#include "log.h"
#include "util.h"

BootAssessment boot_assess_decide(const char *trial, const char *booted, const char *primary, int rebooted) {
        if (!trial)
                return BOOT_ASSESS_NONE;
        if (!booted)
                return BOOT_ASSESS_UNKNOWN;
        if (streq(trial, booted))
                return BOOT_ASSESS_TRIAL;
        /* Still the boot that armed the trial: nothing was booted since, whatever the
         * bootloader's order says now (e.g. Mark active of another slot). */
        if (rebooted == 0)
                return BOOT_ASSESS_PENDING;
        /* Rebooted, and another slot came up: the trial slot was tried and failed, or skipped
         * (GRUB's fallback pick still names it: the first slot with <x>_OK=1). */
        if (rebooted > 0)
                return BOOT_ASSESS_FALLBACK;
        /* No boot id to compare (status file rebuilt, boot id unreadable): only if the
         * bootloader itself no longer boots the trial slot next. */
        if (!primary)
                return BOOT_ASSESS_UNKNOWN;
        return streq(primary, trial) ? BOOT_ASSESS_PENDING : BOOT_ASSESS_FALLBACK;
}

static const char *slot_name(const Manager *m, int i) {
        return i >= 0 ? m->config->slots[i].name : NULL;
}

/* 1 if the trial was armed in another boot, 0 in this one, -1 if we cannot tell. */
static int rebooted_since_armed(const Manager *m, const char *trial_slot) {
        const TrialRecord *t = &m->status->trial;

        if (!t->slot || !streq(t->slot, trial_slot) || !t->boot_id[0] || !m->boot_id[0])
                return -1;
        return !streq(t->boot_id, m->boot_id);
}

static void record_fallback(Manager *m, int trial_idx, const char *trial_bootname) {
        const char *expected = slot_name(m, trial_idx), *booted = slot_name(m, m->slots->booted);
        UError err = UERROR_NULL;
        int r;

        /* The report first: if the power fails before the bootloader is updated, the next start
         * sees the same trial and does the same again. */
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (slot_table_group_root(m->slots, (int) i) != trial_idx)
                        continue;
                rec = status_find(m->status, m->config->slots[i].name);
                if (rec)
                        rec->status = SLOT_STATUS_FAILED;
        }
        r = status_set_last_boot(m->status, expected, booted, true, now_realtime_sec());
        if (r >= 0)
                r = status_set_trial(m->status, NULL, NULL, 0);
        if (r >= 0)
                r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record the fallback from %s in the status file: %m", expected);

        /* Clears the trial note too, so the next start does not see this again.  Through the
         * transition authority: a failed trial always leaves the chain (the running slot is the
         * fallback that booted). */
        r = policy_take_out(m, trial_idx, &err);
        if (r < 0)
                log_warning("Cannot mark %s bad after its failed trial: %s", expected, err.message);

        log_warning("Fallback: slot %s (bootname %s) was installed and booted on trial, but slot %s is running; "
                    "%s is marked failed and bad",
                    expected, trial_bootname, booted, expected);
}

static void record_trial_boot(Manager *m, int trial_idx) {
        const char *name = slot_name(m, trial_idx);
        const LastBoot *lb = &m->status->last_boot;
        int r;

        log_info("Trial boot of slot %s: commit it with MarkGood once it is healthy", name);
        /* Same record (a daemon restart within the trial boot): keep its timestamp. */
        if (lb->expected && lb->booted && streq(lb->expected, name) && streq(lb->booted, name) && !lb->fell_back)
                return;
        r = status_set_last_boot(m->status, name, name, false, now_realtime_sec());
        if (r >= 0)
                r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record the trial boot of %s in the status file: %m", name);
}

/* No trial in the bootloader, but the status file says the trial slot was marked bad during
 * its trial boot: the first start in another slot reports the fallback.  A restart within the
 * boot of the mark changes nothing; booting the rejected slot again (re-activated by hand)
 * drops the record. */
static BootAssessment assess_rejected(Manager *m) {
        TrialRecord *t = &m->status->trial;
        int t_idx = config_find_slot(m->config, t->slot), booted = m->slots->booted, r;
        const char *booted_name;

        if (t_idx < 0 || booted < 0)
                return BOOT_ASSESS_UNKNOWN;
        booted_name = m->config->slots[booted].name;
        if (t_idx == booted) {
                if (rebooted_since_armed(m, t->slot) <= 0)
                        return BOOT_ASSESS_PENDING;
                r = status_set_trial(m->status, NULL, NULL, 0);
                if (r >= 0)
                        r = status_save(m->config, m->status);
                if (r < 0)
                        log_warning_errno(r, "Cannot update the status file: %m");
                return BOOT_ASSESS_NONE;
        }

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (slot_table_group_root(m->slots, (int) i) != t_idx)
                        continue;
                rec = status_find(m->status, m->config->slots[i].name);
                if (rec)
                        rec->status = SLOT_STATUS_FAILED;
        }
        r = status_set_last_boot(m->status, t->slot, booted_name, true, now_realtime_sec());
        if (r >= 0)
                r = status_set_trial(m->status, NULL, NULL, 0);
        if (r >= 0)
                r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record the fallback in the status file: %m");
        log_warning("Fallback: slot %s was marked bad during its trial boot; slot %s is running",
                    m->config->slots[t_idx].name, booted_name);
        return BOOT_ASSESS_FALLBACK;
}

static BootAssessment assess_locked(Manager *m) {
        Bootloader *bl = m->bootloader;
        _cleanup_free_ char *trial = NULL, *primary = NULL;
        const ConfigSlot *booted_cfg;
        UError err = UERROR_NULL;
        BootAssessment a;
        int trial_idx, r;

        if (!bootloader_has_trial(bl))
                return BOOT_ASSESS_NONE;
        r = bootloader_get_trial(bl, &trial, &err);
        if (r < 0) {
                log_warning("Cannot tell whether a slot is on trial: %s", err.message);
                return BOOT_ASSESS_UNKNOWN;
        }
        if (!trial)
                return m->status->trial.slot && m->status->trial.rejected ? assess_rejected(m) : BOOT_ASSESS_NONE;

        trial_idx = config_find_slot_by_bootname(m->config, trial);
        if (trial_idx < 0) {
                log_warning("The bootloader has bootname %s on trial, which no configured slot has", trial);
                return BOOT_ASSESS_UNKNOWN;
        }
        booted_cfg = m->slots->booted >= 0 ? &m->config->slots[m->slots->booted] : NULL;

        err = UERROR_NULL;
        if (bootloader_get_primary(bl, &primary, &err) < 0) {
                log_warning("Cannot get the primary boot slot: %s", err.message);
                primary = NULL;
        }

        a = boot_assess_decide(trial, booted_cfg ? booted_cfg->bootname : NULL, primary,
                               rebooted_since_armed(m, m->config->slots[trial_idx].name));
        switch (a) {
        case BOOT_ASSESS_TRIAL:
                record_trial_boot(m, trial_idx);
                break;
        case BOOT_ASSESS_FALLBACK:
                record_fallback(m, trial_idx, trial);
                break;
        case BOOT_ASSESS_PENDING:
                log_info("Slot %s is installed and boots next, on trial", m->config->slots[trial_idx].name);
                break;
        case BOOT_ASSESS_UNKNOWN:
                log_warning("Slot %s is on trial, but %s: cannot tell a trial boot from a fallback",
                            m->config->slots[trial_idx].name,
                            booted_cfg ? "the bootloader cannot be read" : "the booted slot is unknown");
                break;
        default:
                break;
        }
        return a;
}

BootAssessment boot_assess(Manager *m) {
        BootAssessment a;

        pthread_mutex_lock(&m->lock);
        a = assess_locked(m);
        pthread_mutex_unlock(&m->lock);
        return a;
}
