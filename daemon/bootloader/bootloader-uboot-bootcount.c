/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* U-Boot backend, classic boot counting scheme ([uboot] scheme=bootcount), Mender-style:
 *   update1_slot=x       the slot bootcmd boots
 *   update1_altslot=y    the slot altbootcmd falls back to while x is on trial (may be unset)
 *   upgrade_available=1  a trial is running: U-Boot counts boots (CONFIG_BOOTCOUNT_ENV)
 *   bootcount=n          boots counted since the trial started
 *   bootlimit=n          [uboot] trial-attempts; bootcount > bootlimit makes U-Boot run
 *                        altbootcmd instead of bootcmd
 *   update1_trial=x      ours: x was put on trial and is not committed yet (U-Boot ignores it;
 *                        it survives the fallback so the daemon can see that one happened)
 * packaging/bootloader/uboot-bootcount.env holds bootcmd/altbootcmd; tests/lib/
 * boot-sim-bootcount.sh applies its logic.  A slot is good when it is update1_slot or
 * update1_altslot: the scheme knows two bootable slots at a time.  The libubootenv session is
 * shared with the RAUC scheme (bootloader-uboot.c); every mutation is one env store, and none
 * when nothing changes (no needless flash writes on every MarkGood). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "util.h"

#define SLOT_VAR "update1_slot"
#define ALTSLOT_VAR "update1_altslot"
#define TRIAL_VAR "update1_trial"
#define UPGRADE_VAR "upgrade_available"
#define COUNT_VAR "bootcount"
#define LIMIT_VAR "bootlimit"
#define MAX_COUNTER 1000000

/* The scheme's variables as read from one session. */
typedef struct Scheme {
        UbootEnv env;
        char *slot, *altslot, *trial;
        bool upgrade_available;
        uint64_t bootcount, bootlimit;
        bool changed;
} Scheme;

typedef struct BootcountData {
        char *fw_env_config;
        char *lock_file;
        unsigned trial_attempts;
        Scheme held;              /* read by bootcount_read_begin(), valid while holding */
        bool holding;
} BootcountData;

static void scheme_done(Scheme *s) {
        free(s->slot);
        free(s->altslot);
        free(s->trial);
        uboot_env_close(&s->env);
}

static int check_bootname(const char *name, UError *err) {
        return bootloader_check_bootname(name, "U-Boot variables", err);
}

/* A bootname variable, strictly: bootcmd runs update1_boot_${update1_slot}, so anything else
 * would make U-Boot fail to boot rather than pick something. */
static int read_name(UbootEnv *e, const char *var, char **ret, UError *err) {
        _cleanup_free_ char *v = uboot_env_get(e, var);

        if (v && bootloader_check_bootname(v, "U-Boot variables", NULL) < 0)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "U-Boot variable %s='%s' is not a bootname", var, v);
        *ret = TAKE_PTR(v);
        return 0;
}

/* U-Boot reads these with env_get_ulong(name, 10, 0) and writes them with "%lu"; we accept
 * exactly what it writes (unset = 0), and report anything else instead of guessing. */
static int read_number(UbootEnv *e, const char *var, uint64_t max, uint64_t *ret, UError *err) {
        _cleanup_free_ char *v = uboot_env_get(e, var);
        uint64_t n = 0;

        if (v && (parse_u64(v, &n) < 0 || n > max))
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "U-Boot variable %s='%s' is not a decimal number from 0 to %" PRIu64, var, v, max);
        *ret = n;
        return 0;
}

static int scheme_read(BootcountData *d, Scheme *s, UError *err) {
        uint64_t ua;
        int r;

        *s = (Scheme) {};
        r = uboot_env_open(d->fw_env_config, d->lock_file, &s->env, err);
        if (r < 0)
                return r;
        r = read_name(&s->env, SLOT_VAR, &s->slot, err);
        if (r >= 0)
                r = read_name(&s->env, ALTSLOT_VAR, &s->altslot, err);
        if (r >= 0)
                r = read_name(&s->env, TRIAL_VAR, &s->trial, err);
        if (r >= 0)
                r = read_number(&s->env, UPGRADE_VAR, 1, &ua, err);
        if (r >= 0)
                r = read_number(&s->env, COUNT_VAR, MAX_COUNTER, &s->bootcount, err);
        if (r >= 0)
                r = read_number(&s->env, LIMIT_VAR, MAX_COUNTER, &s->bootlimit, err);
        if (r < 0)
                return r;
        s->upgrade_available = ua == 1;
        /* update1_altslot equal to update1_slot (hand-edited, or a duplicate variable that
         * libubootenv and U-Boot both resolve to the last one) is no fallback at all: altbootcmd
         * would boot the same slot.  Treated as unset, so marking that slot bad is refused
         * instead of "succeeding" with the bad slot still the one U-Boot boots. */
        if (s->slot && s->altslot && streq(s->slot, s->altslot))
                free(TAKE_PTR(s->altslot));
        return 0;
}

static bool is(const char *a, const char *b) {
        return a && b && streq(a, b);
}

/* Sets 'var' only if its value differs; value NULL deletes it. */
static int scheme_set(Scheme *s, const char *var, const char *value, UError *err) {
        _cleanup_free_ char *old = uboot_env_get(&s->env, var);
        int r;

        if ((!old && !value) || is(old, value))
                return 0;
        r = uboot_env_set(&s->env, var, value, err);
        if (r < 0)
                return r;
        s->changed = true;
        return 0;
}

static int scheme_set_number(Scheme *s, const char *var, uint64_t n, UError *err) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, n);
        return scheme_set(s, var, buf, err);
}

/* No trial running: U-Boot stops counting.  The counter is zeroed too, as MarkGood does in
 * Mender, so a stale bootcount can never combine with a later trial. */
static int scheme_settle(Scheme *s, UError *err) {
        int r = scheme_set_number(s, UPGRADE_VAR, 0, err);
        if (r >= 0)
                r = scheme_set_number(s, COUNT_VAR, 0, err);
        return r;
}

static int scheme_store(Scheme *s, UError *err) {
        return s->changed ? uboot_env_store(&s->env, err) : 0;
}

static int need_slot(const Scheme *s, UError *err) {
        if (!s->slot)
                return uerror_set(err, ERROR_FAILED, -ENOENT,
                                  "U-Boot variable %s is not set: the board has no slot to boot (see packaging/bootloader/uboot-bootcount.env)",
                                  SLOT_VAR);
        return 0;
}

/* The scheme a query reads: the held one (bootcount_read_begin), else one read into *local,
 * which the caller frees (scheme_done). */
static int scheme_for_read(BootcountData *d, Scheme *local, Scheme **ret, UError *err) {
        int r;

        if (d->holding) {
                *ret = &d->held;
                return 0;
        }
        r = scheme_read(d, local, err);
        if (r < 0)
                return r;
        *ret = local;
        return 0;
}

/* --- ops -------------------------------------------------------------------------------- */

static void bootcount_read_end(void *data) {
        BootcountData *d = data;

        scheme_done(&d->held);
        d->held = (Scheme) {};
        d->holding = false;
}

static int bootcount_read_begin(void *data, UError *err) {
        BootcountData *d = data;
        int r;

        bootcount_read_end(d);
        r = scheme_read(d, &d->held, err);
        if (r < 0) {
                bootcount_read_end(d);
                return r;
        }
        d->holding = true;
        return 0;
}

static void bootcount_close(void *data) {
        BootcountData *d = data;

        if (!d)
                return;
        bootcount_read_end(d);
        free(d->fw_env_config);
        free(d->lock_file);
        free(d);
}

static int bootcount_open(const Config *c, void **ret_data, UError *err) {
        BootcountData *d;
        int r;

        d = calloc(1, sizeof(BootcountData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->fw_env_config = strdup(c->fw_env_config ?: CONFIG_DEFAULT_FW_ENV_CONFIG);
        d->lock_file = strdup(c->uboot_lock_file ?: CONFIG_DEFAULT_UBOOT_LOCK_FILE);
        d->trial_attempts = c->trial_attempts ?: CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        if (!d->fw_env_config || !d->lock_file) {
                bootcount_close(d);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        if (access(d->fw_env_config, R_OK) < 0) {
                r = -errno;
                uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s", d->fw_env_config,
                           strerror(-r));
                bootcount_close(d);
                return r;
        }
        *ret_data = d;
        return 0;
}

/* What U-Boot boots next: it adds one to bootcount before deciding, and runs altbootcmd when
 * that exceeds a non-zero bootlimit (only counted while upgrade_available=1). */
static int bootcount_get_primary(void *data, char **ret_bootname, UError *err) {
        _cleanup_(scheme_done) Scheme local = {};
        Scheme *s;
        const char *pick;
        char *copy;
        int r;

        r = scheme_for_read(data, &local, &s, err);
        if (r < 0)
                return r;
        r = need_slot(s, err);
        if (r < 0)
                return r;
        pick = s->slot;
        if (s->upgrade_available && s->bootlimit > 0 && s->bootcount + 1 > s->bootlimit && s->altslot)
                pick = s->altslot;
        copy = strdup(pick);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = copy;
        return 0;
}

static int bootcount_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        _cleanup_(scheme_done) Scheme local = {};
        Scheme *s;
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = scheme_for_read(data, &local, &s, err);
        if (r < 0)
                return r;
        if (is(s->trial, bootname))
                *ret = BOOT_STATUS_TRIAL;
        else if (is(s->slot, bootname) || is(s->altslot, bootname))
                *ret = BOOT_STATUS_GOOD;
        else
                *ret = BOOT_STATUS_BAD;
        return 0;
}

/* trial: bootname becomes update1_slot with upgrade_available=1, bootcount=0 and bootlimit=
 * trial-attempts; the slot it replaces becomes update1_altslot (altbootcmd's fallback).
 * permanent: the same without counting; the replaced slot stays good as update1_altslot. */
static int bootcount_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        BootcountData *d = data;
        _cleanup_(scheme_done) Scheme s = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = scheme_read(d, &s, err);
        if (r < 0)
                return r;
        if (s.slot && !streq(s.slot, bootname))
                r = scheme_set(&s, ALTSLOT_VAR, s.slot, err);
        else if (is(s.altslot, bootname))
                r = scheme_set(&s, ALTSLOT_VAR, NULL, err);
        if (r >= 0)
                r = scheme_set(&s, SLOT_VAR, bootname, err);
        if (r < 0)
                return r;
        if (trial) {
                r = scheme_set_number(&s, COUNT_VAR, 0, err);
                if (r >= 0)
                        r = scheme_set_number(&s, LIMIT_VAR, d->trial_attempts, err);
                if (r >= 0)
                        r = scheme_set_number(&s, UPGRADE_VAR, 1, err);
                if (r >= 0)
                        r = scheme_set(&s, TRIAL_VAR, bootname, err);
        } else {
                r = scheme_settle(&s, err);
                if (r >= 0 && is(s.trial, bootname))
                        r = scheme_set(&s, TRIAL_VAR, NULL, err);
        }
        if (r < 0)
                return r;
        return scheme_store(&s, err);
}

static int bootcount_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        _cleanup_(scheme_done) Scheme s = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = scheme_read(data, &s, err);
        if (r < 0)
                return r;
        r = need_slot(&s, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                if (is(s.slot, bootname))
                        /* commit (or re-confirm) the booted slot: U-Boot stops counting */
                        r = scheme_settle(&s, err);
                else if (!is(s.altslot, bootname))
                        /* a slot outside the pair becomes the fallback (two slots at a time) */
                        r = scheme_set(&s, ALTSLOT_VAR, bootname, err);
        } else if (is(s.slot, bootname)) {
                if (!s.altslot)
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing to mark %s bad: it is %s and %s is empty or names the same slot, so the board would have nothing to boot",
                                          bootname, SLOT_VAR, ALTSLOT_VAR);
                /* the fallback becomes the slot, for good */
                r = scheme_set(&s, SLOT_VAR, s.altslot, err);
                if (r >= 0)
                        r = scheme_set(&s, ALTSLOT_VAR, NULL, err);
                if (r >= 0)
                        r = scheme_settle(&s, err);
        } else if (is(s.altslot, bootname))
                r = scheme_set(&s, ALTSLOT_VAR, NULL, err);

        if (r >= 0 && is(s.trial, bootname))
                r = scheme_set(&s, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return scheme_store(&s, err);
}

static int bootcount_get_trial(void *data, char **ret_bootname, UError *err) {
        _cleanup_(scheme_done) Scheme local = {};
        Scheme *s;
        int r;

        r = scheme_for_read(data, &local, &s, err);
        if (r < 0)
                return r;
        if (s == &local)
                *ret_bootname = TAKE_PTR(local.trial);
        else if (!s->trial)
                *ret_bootname = NULL;
        else if (!(*ret_bootname = strdup(s->trial)))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        return 0;
}

const BootloaderOps bootloader_uboot_bootcount_ops = {
        .name = "uboot-bootcount",
        .open = bootcount_open,
        .close = bootcount_close,
        .get_primary = bootcount_get_primary,
        .set_primary = bootcount_set_primary,
        .get_state = bootcount_get_state,
        .set_state = bootcount_set_state,
        .get_current = NULL, /* bootcmd puts update1.slot= on the kernel command line */
        .get_trial = bootcount_get_trial,
        .read_begin = bootcount_read_begin,
        .read_end = bootcount_read_end,
};
