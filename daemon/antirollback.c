/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>

#include "antirollback.h"
#include "log.h"
#include "util.h"
#include "version.h"

#ifndef UPDATE1_BUILD_EPOCH
#define UPDATE1_BUILD_EPOCH 0ULL /* the Makefile sets the real build time */
#endif

/* The security-version a boot group holds: the lowest of its slots' records (one bundle
 * writes the same value into all; a slot with no record counts as 0). */
static uint64_t group_security_version(const Manager *m, int root, bool *ret_known) {
        uint64_t v = UINT64_MAX;
        bool known = true;

        for (unsigned i = 0; i < m->config->n_slots; i++) {
                const SlotRecord *rec;

                if (slot_table_group_root(m->slots, (int) i) != root)
                        continue;
                rec = status_find(m->status, m->config->slots[i].name);
                if (!rec || rec->status != SLOT_STATUS_OK) {
                        known = false;
                        v = 0;
                        continue;
                }
                v = MIN(v, rec->security_version);
        }
        if (ret_known)
                *ret_known = known;
        return v == UINT64_MAX ? 0 : v;
}

static int save(Manager *m) {
        int r = rollback_save(m->config, &m->floor);

        if (r < 0)
                return log_warning_errno(r, "Cannot write the anti-rollback floor: %m");
        return 0;
}

void antirollback_commit(Manager *m, int root) {
        bool known;
        uint64_t v = group_security_version(m, root, &known);

        if (!known || v <= m->floor.security_version)
                return;
        log_info("Slot %s committed with security-version %" PRIu64 ": anti-rollback floor %" PRIu64 " -> %" PRIu64,
                 m->config->slots[root].name, v, m->floor.security_version, v);
        m->floor.security_version = v;
        (void) save(m);
}

void antirollback_seen_time(Manager *m, uint64_t t) {
        if (t <= m->floor.time || t > INT64_MAX)
                return;
        m->floor.time = t;
        keyring_set_time_floor(m->keyring, t);
        (void) save(m);
}

int antirollback_init(Manager *m) {
        unsigned copies;
        bool missing;
        int r, root;

        r = rollback_remove_stale_temp(m->config);
        if (r > 0)
                log_notice("Removed %d temporary anti-rollback floor file(s) a power cut left", r);
        r = rollback_load(m->config, &m->floor, &copies, &missing);
        if (r < 0)
                return log_error_errno(r, "Cannot load the anti-rollback floor: %m");

        root = m->slots->booted >= 0 ? slot_table_group_root(m->slots, m->slots->booted) : -1;
        if (!missing && copies == 0) {
                /* Both copies damaged: the booted, committed slot is the best lower bound left. */
                m->floor.security_version = root >= 0 ? group_security_version(m, root, NULL) : 0;
                log_error("Both copies of the anti-rollback floor are damaged; using the booted slot's security-version %" PRIu64,
                          m->floor.security_version);
                (void) save(m);
        } else if (!missing && copies == 1) {
                log_warning("One copy of the anti-rollback floor is damaged or missing; rewriting both");
                (void) save(m);
        }
        keyring_set_time_floor(m->keyring, m->floor.time);
        /* The floor is not raised here from the bootloader's "good": only the daemon's own
         * commit record witnesses a proven boot (slot-policy.c, policy_startup()). */
        return 0;
}

int antirollback_check_install(Manager *m, const Manifest *mf, bool force, UError *err) {
        uint64_t floor, now = now_realtime_sec();
        _cleanup_free_ char *running = NULL;
        const SlotRecord *rec;
        char t1[32], t2[32];
        const char *booted_name = NULL;

        pthread_mutex_lock(&m->lock);
        floor = m->floor.security_version;
        now = MAX(now, MAX((uint64_t) UPDATE1_BUILD_EPOCH, m->floor.time));
        if (m->slots->booted >= 0) {
                booted_name = m->config->slots[m->slots->booted].name;
                rec = status_find(m->status, booted_name);
                if (rec && rec->status == SLOT_STATUS_OK && rec->bundle_version && rec->bundle_compatible &&
                    streq(rec->bundle_compatible, mf->compatible)) {
                        running = strdup(rec->bundle_version);
                        if (!running) {
                                pthread_mutex_unlock(&m->lock);
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        }
                }
        }
        pthread_mutex_unlock(&m->lock);

        if (mf->security_version < floor)
                return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                                  "Bundle security-version %" PRIu64 " is below this device's anti-rollback floor %" PRIu64
                                  " (force does not override it)",
                                  mf->security_version, floor);
        if (mf->expires > 0 && now >= mf->expires) {
                format_timestamp(mf->expires, t1, sizeof(t1));
                format_timestamp(now, t2, sizeof(t2));
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EKEYEXPIRED,
                                  "Bundle expired: installable until %s, device time %s", t1, t2);
        }
        if (force || !running)
                return 0;
        if (version_compare(mf->version, running) < 0)
                return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                                  "Bundle version '%s' is older than version '%s' in the booted slot %s; use force to downgrade",
                                  mf->version, running, booted_name);
        /* Reinstalling what runs would only cost a write cycle of the flash and a trial boot. */
        if (streq(mf->version, running))
                return uerror_set(err, ERROR_ALREADY_INSTALLED, -EEXIST,
                                  "Bundle version '%s' is already installed in the booted slot %s; use force to reinstall",
                                  mf->version, booted_name);
        return 0;
}

int antirollback_check_activate(Manager *m, int root, UError *err) {
        bool known;
        uint64_t v = group_security_version(m, root, &known);

        if (m->floor.security_version == 0 || v >= m->floor.security_version)
                return 0;
        if (!known)
                return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                                  "Slot %s holds no bundle installed by us (security-version unknown), and this device's anti-rollback floor is %" PRIu64,
                                  m->config->slots[root].name, m->floor.security_version);
        return uerror_set(err, ERROR_DOWNGRADE, -EPERM,
                          "Slot %s holds security-version %" PRIu64 ", below this device's anti-rollback floor %" PRIu64,
                          m->config->slots[root].name, v, m->floor.security_version);
}
