/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "antirollback.h"
#include "log.h"
#include "mark.h"
#include "slot-policy.h"
#include "util.h"

static int other_slot(const Manager *m, int booted_root, int *ret_index, UError *err) {
        const Config *c = m->config;
        char names[512] = "";
        int found = -1, n = 0;

        for (unsigned i = 0; i < c->n_slots; i++) {
                if (!c->slots[i].bootname || (int) i == booted_root)
                        continue;
                if (slot_table_group_root(m->slots, (int) i) != (int) i)
                        continue;
                found = (int) i;
                n++;
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", n > 1 ? ", " : "",
                         c->slots[i].name);
        }
        if (n == 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -ENOENT,
                                  "Slot 'other': no boot slot besides the booted %s is configured",
                                  c->slots[booted_root].name);
        if (n > 1)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Slot 'other' is ambiguous: %s; name the slot", names);
        *ret_index = found;
        return 0;
}

int mark_resolve_slot(const Manager *m, const char *spec, int *ret_index, UError *err) {
        const Config *c = m->config;
        const SlotTable *t = m->slots;
        int i, root;

        assert(ret_index);

        if (isempty(spec))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Slot '' is invalid: expected booted, other or <class>.<index>");

        if (streq(spec, "booted") || streq(spec, "other")) {
                if (t->booted < 0)
                        return uerror_set(err, ERROR_FAILED, -ENODEV, "Booted slot unknown: %s",
                                          t->boot_source ?: "no boot source matched");
                root = slot_table_group_root(t, t->booted);
                if (root < 0)
                        return uerror_set(err, ERROR_FAILED, -ENODEV, "Booted slot %s has no boot group",
                                          c->slots[t->booted].name);
                if (streq(spec, "other"))
                        return other_slot(m, root, ret_index, err);
                *ret_index = root;
                return 0;
        }

        i = config_find_slot(c, spec);
        if (i < 0)
                return uerror_set(err, ERROR_INVALID_ARGS, -ENOENT,
                                  "Unknown slot '%s': expected booted, other or <class>.<index> of a configured slot",
                                  spec);
        root = slot_table_group_root(t, i);
        if (root < 0 || !c->slots[root].bootname)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Slot '%s' has no bootname (nor a parent with one): the bootloader does not know it",
                                  spec);
        *ret_index = root;
        return 0;
}

static void count_activation(Manager *m, int root) {
        uint64_t now = now_realtime_sec();
        int r;

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (slot_table_group_root(m->slots, (int) i) != root)
                        continue;
                rec = status_find(m->status, m->config->slots[i].name);
                if (!rec)
                        continue;
                rec->activated_timestamp = now;
                rec->activated_count++;
        }
        /* The bootloader already switched; a lost count is reported, not fatal. */
        r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot write the status file: %m");
}

/* Mark bad during the slot's own trial boot (update-health's red path): the install did not
 * prove good.  The slot's group gets status failed, and the status file remembers the rejected
 * trial, so that the next boot (in the fallback slot) reports last_boot with fell_back: the
 * bootloader's trial note is gone by then.  Written after the bootloader (a lost report is
 * better than a "failed" slot that is still on trial); failures are logged only. */
/* Every slot of the group: status failed, and no longer proven. */
static void set_group_failed(Manager *m, int root) {
        for (unsigned i = 0; i < m->config->n_slots; i++) {
                SlotRecord *rec;

                if (slot_table_group_root(m->slots, (int) i) != root)
                        continue;
                rec = status_find(m->status, m->config->slots[i].name);
                if (rec) {
                        rec->status = SLOT_STATUS_FAILED;
                        rec->committed = false;
                }
        }
}

static void record_trial_rejected(Manager *m, int root) {
        int r;

        set_group_failed(m, root);
        r = status_set_trial(m->status, m->config->slots[root].name, m->boot_id, now_realtime_sec());
        if (r >= 0) {
                m->status->trial.rejected = true;
                r = status_save(m->config, m->status);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot record the failed trial of %s in the status file: %m",
                                  m->config->slots[root].name);
}

/* Every mark goes through the transition authority (slot-policy.c): it checks I1/I2 and makes
 * the bootloader write; this file only says what happened. */
static void record_group_failed(Manager *m, int root) {
        int r;

        set_group_failed(m, root);
        r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot record slot %s as failed in the status file: %m", m->config->slots[root].name);
}

/* Every mark goes through the transition authority (slot-policy.c): it checks I1/I2 and makes
 * the bootloader write; this file only says what happened. */
static int mark_locked(Manager *m, MarkState state, int idx, char **ret_message, UError *err) {
        Bootloader *bl = m->bootloader;
        const char *name = m->config->slots[idx].name;
        const char *bootname = m->config->slots[idx].bootname;
        bool booted = idx == policy_booted_root(m), was_trial = false;
        BootStatus before;
        char *msg = NULL;
        int r;

        switch (state) {
        case MARK_GOOD:
                if (booted) {
                        r = policy_commit_booted(m, idx, &was_trial, err);
                        if (r < 0)
                                return r;
                        msg = was_trial ? strdup_printf("marked slot %s good", name)
                                        : strdup_printf("%s is not on trial: nothing to commit, boot counter re-armed", name);
                } else {
                        r = policy_mark_good(m, idx, err);
                        if (r < 0)
                                return r;
                        msg = strdup_printf("marked slot %s good", name);
                }
                break;

        case MARK_BAD: {
                UError ignored = UERROR_NULL;
                bool trial_boot;

                r = policy_check_mark(m, MARK_BAD, idx, err);
                if (r < 0)
                        return r;
                /* Only to tell a failed trial boot; the mark does not depend on it. */
                trial_boot = booted && bootloader_get_state(bl, bootname, &before, &ignored) >= 0 &&
                             before == BOOT_STATUS_TRIAL;
                if (booted && !bootloader_has_trial(bl) && m->status->trial.slot &&
                    streq(m->status->trial.slot, name) && !m->status->trial.rejected)
                        trial_boot = true; /* no trial notion in the backend: our record says so */
                r = policy_take_out(m, idx, err);
                if (r < 0)
                        return r;
                if (trial_boot) {
                        record_trial_rejected(m, idx);
                        msg = strdup_printf("marked slot %s bad: its trial boot failed (status failed)", name);
                } else if (booted) {
                        /* The running system declared itself broken: its proof is gone, and it
                         * comes back only through a new install (I2). */
                        record_group_failed(m, idx);
                        msg = strdup_printf("marked slot %s bad (status failed: install into it to use it again)", name);
                } else
                        msg = strdup_printf("marked slot %s bad", name);
                break;
        }

        case MARK_ACTIVE:
                r = antirollback_check_activate(m, idx, err);
                if (r < 0)
                        return r;
                r = policy_make_primary(m, idx, &was_trial, err);
                if (r < 0)
                        return r;
                count_activation(m, idx);
                msg = was_trial ? strdup_printf("activated slot %s on trial: it boots next, once; commit it with MarkGood in that boot", name)
                                : strdup_printf("activated slot %s: it is the primary boot slot now", name);
                break;

        default:
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Invalid mark state");
        }

        if (!msg)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_message = msg;
        return 0;
}

int mark_slot(Manager *m, MarkState state, const char *spec, char **ret_slot, char **ret_message, UError *err) {
        _cleanup_free_ char *slot = NULL, *message = NULL;
        int idx, r;

        assert(m);
        assert(ret_slot);
        assert(ret_message);

        r = mark_resolve_slot(m, spec, &idx, err);
        if (r < 0)
                return r;
        slot = strdup(m->config->slots[idx].name);
        if (!slot)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        pthread_mutex_lock(&m->lock);
        r = mark_locked(m, state, idx, &message, err);
        pthread_mutex_unlock(&m->lock);
        if (r < 0) {
                uerror_prefix(err, "Cannot mark %s %s", slot, mark_state_to_string(state));
                return r;
        }

        *ret_slot = TAKE_PTR(slot);
        *ret_message = TAKE_PTR(message);
        return 0;
}
