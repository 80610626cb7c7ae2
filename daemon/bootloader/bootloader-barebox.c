/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* barebox backend: barebox's bootchooser state through the barebox-state tool (dt-utils), with
 * RAUC's variables and values:
 *   bootstate.<x>.priority            bootchooser boots the highest priority with attempts
 *                                     left; 0 disables the slot.  20 = primary, 10 = others
 *   bootstate.<x>.remaining_attempts  decremented by bootchooser on every boot of x
 * Ours on top: priority 21 marks the slot put on trial and not committed yet.  bootchooser
 * just sees the highest priority, so it boots the trial slot while it has attempts and then
 * the previous primary (20), while the 21 survives the fallback for the daemon to see.
 *
 * Reads are one `barebox-state [-n name] -g ... -g ...` for all slots; every mutation is one
 * `barebox-state -s ... -s ...` call, which barebox-state applies in memory and saves once
 * (its state storage keeps redundant copies), so a power cut leaves the old or new state.
 * The output is parsed strictly: one decimal per -g, in order, nothing else. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "util.h"

#define BAREBOX_STATE "barebox-state"
#define PRIORITY_TRIAL 21
#define PRIORITY_PRIMARY 20
#define PRIORITY_OTHER 10
#define MAX_SLOTS 16

typedef struct BareboxData {
        char *state_name;
        char *bootname[MAX_SLOTS];
        unsigned n;
        unsigned boot_attempts;
        unsigned trial_attempts;
} BareboxData;

typedef struct SlotVars {
        uint32_t priority;
        uint32_t attempts;
} SlotVars;

/* Pending -s arguments of one mutation. */
typedef struct Changes {
        char arg[2 * MAX_SLOTS + 2][BOOTLOADER_MAX_BOOTNAME + 48];
        unsigned n;
} Changes;

static int slot_index(BareboxData *d, const char *bootname, UError *err) {
        int r = bootloader_check_bootname(bootname, "barebox state variable names", err);

        if (r < 0)
                return r;
        for (unsigned i = 0; i < d->n; i++)
                if (streq(d->bootname[i], bootname))
                        return (int) i;
        return uerror_set(err, ERROR_INVALID_ARGS, -ENOENT, "Bootname '%s' is not configured for any slot", bootname);
}

static void add_args(const char **argv, size_t *n, BareboxData *d) {
        argv[(*n)++] = BAREBOX_STATE;
        if (d->state_name) {
                argv[(*n)++] = "-n";
                argv[(*n)++] = d->state_name;
        }
}

/* Reads priority and remaining_attempts of every configured slot in one call. */
static int read_all(BareboxData *d, SlotVars vars[static MAX_SLOTS], UError *err) {
        char names[2 * MAX_SLOTS][BOOTLOADER_MAX_BOOTNAME + 32];
        const char *argv[4 + 4 * MAX_SLOTS + 1];
        _cleanup_free_ char *out = NULL;
        size_t n = 0;
        char *p;
        int r;

        add_args(argv, &n, d);
        for (unsigned i = 0; i < d->n; i++) {
                snprintf(names[2 * i], sizeof(names[0]), "bootstate.%s.priority", d->bootname[i]);
                snprintf(names[2 * i + 1], sizeof(names[0]), "bootstate.%s.remaining_attempts", d->bootname[i]);
                argv[n++] = "-g";
                argv[n++] = names[2 * i];
                argv[n++] = "-g";
                argv[n++] = names[2 * i + 1];
        }
        argv[n] = NULL;
        r = bootloader_run_tool(argv, &out, err);
        if (r < 0)
                return r;

        p = out;
        for (unsigned k = 0; k < 2 * d->n; k++) {
                char *nl = strchr(p, '\n');
                uint64_t v;

                if (!nl)
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "%s printed %u values, expected %u (one per -g): cannot read %s", BAREBOX_STATE,
                                          k, 2 * d->n, names[k]);
                *nl = '\0';
                if (parse_u64(p, &v) < 0 || v > UINT32_MAX)
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "%s printed '%.64s' for %s, expected an unsigned 32-bit decimal", BAREBOX_STATE,
                                          p, names[k]);
                if (k % 2 == 0)
                        vars[k / 2].priority = (uint32_t) v;
                else
                        vars[k / 2].attempts = (uint32_t) v;
                p = nl + 1;
        }
        if (*p)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "%s printed more than the %u values asked for: '%.64s'",
                                  BAREBOX_STATE, 2 * d->n, p);
        return 0;
}

static void change(Changes *c, const char *bootname, const char *var, uint32_t value) {
        snprintf(c->arg[c->n++], sizeof(c->arg[0]), "bootstate.%s.%s=%" PRIu32, bootname, var, value);
}

static int write_changes(BareboxData *d, const Changes *c, UError *err) {
        const char *argv[4 + 2 * ELEMENTSOF(c->arg) + 1];
        size_t n = 0;

        if (c->n == 0)
                return 0;
        add_args(argv, &n, d);
        for (unsigned i = 0; i < c->n; i++) {
                argv[n++] = "-s";
                argv[n++] = c->arg[i];
        }
        argv[n] = NULL;
        return bootloader_run_tool(argv, NULL, err);
}

/* --- ops -------------------------------------------------------------------------------- */

static void barebox_close(void *data) {
        BareboxData *d = data;

        if (!d)
                return;
        free(d->state_name);
        for (unsigned i = 0; i < d->n; i++)
                free(d->bootname[i]);
        free(d);
}

static int barebox_open(const Config *c, void **ret_data, UError *err) {
        BareboxData *d;

        d = calloc(1, sizeof(BareboxData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->boot_attempts = c->barebox_boot_attempts ?: CONFIG_DEFAULT_BOOT_ATTEMPTS;
        d->trial_attempts = c->barebox_trial_attempts ?: CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        if (c->barebox_state_name && !(d->state_name = strdup(c->barebox_state_name)))
                goto oom;
        /* bootchooser's targets are the slots with a bootname. */
        for (unsigned i = 0; i < c->n_slots; i++) {
                if (!c->slots[i].bootname)
                        continue;
                if (d->n >= MAX_SLOTS) {
                        barebox_close(d);
                        return uerror_set(err, ERROR_FAILED, -E2BIG, "More than %d slots with a bootname", MAX_SLOTS);
                }
                if (bootloader_check_bootname(c->slots[i].bootname, "barebox state variable names", err) < 0) {
                        barebox_close(d);
                        return -EINVAL;
                }
                if (!(d->bootname[d->n++] = strdup(c->slots[i].bootname)))
                        goto oom;
        }
        if (d->n == 0) {
                barebox_close(d);
                return uerror_set(err, ERROR_FAILED, -ENOENT, "No slot has a bootname: nothing for bootchooser to boot");
        }
        *ret_data = d;
        return 0;
oom:
        barebox_close(d);
        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
}

/* bootchooser's choice: the highest priority with attempts left (the first on a tie, as in
 * the device tree's order); none left: with reset_attempts=all-zero it re-arms and the
 * highest priority above 0 boots. */
static int choose(BareboxData *d, const SlotVars *v, bool need_attempts) {
        int best = -1;

        for (unsigned i = 0; i < d->n; i++)
                if (v[i].priority > 0 && (!need_attempts || v[i].attempts > 0) &&
                    (best < 0 || v[i].priority > v[best].priority))
                        best = (int) i;
        return best;
}

static int barebox_get_primary(void *data, char **ret_bootname, UError *err) {
        BareboxData *d = data;
        SlotVars v[MAX_SLOTS];
        char *copy;
        int r, i;

        r = read_all(d, v, err);
        if (r < 0)
                return r;
        i = choose(d, v, true);
        if (i < 0)
                i = choose(d, v, false);
        if (i < 0)
                return uerror_set(err, ERROR_FAILED, -ENOENT,
                                  "No slot has a bootstate priority above 0: bootchooser has nothing to boot");
        copy = strdup(d->bootname[i]);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = copy;
        return 0;
}

static int barebox_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        BareboxData *d = data;
        SlotVars v[MAX_SLOTS];
        int r, i;

        i = slot_index(d, bootname, err);
        if (i < 0)
                return i;
        r = read_all(d, v, err);
        if (r < 0)
                return r;
        if (v[i].priority == PRIORITY_TRIAL)
                *ret = BOOT_STATUS_TRIAL;
        else
                *ret = v[i].priority > 0 && v[i].attempts > 0 ? BOOT_STATUS_GOOD : BOOT_STATUS_BAD;
        return 0;
}

/* RAUC's primary: x at 20 with fresh attempts, every other enabled slot at 10.  A stale trial
 * mark (21) on another slot goes with it. */
static void make_primary(BareboxData *d, const SlotVars *v, int x, Changes *c) {
        for (unsigned i = 0; i < d->n; i++)
                if ((int) i != x && v[i].priority > 0 && v[i].priority != PRIORITY_OTHER)
                        change(c, d->bootname[i], "priority", PRIORITY_OTHER);
        change(c, d->bootname[x], "priority", PRIORITY_PRIMARY);
        change(c, d->bootname[x], "remaining_attempts", d->boot_attempts);
}

static int barebox_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        BareboxData *d = data;
        SlotVars v[MAX_SLOTS];
        Changes c = {};
        int r, x;

        x = slot_index(d, bootname, err);
        if (x < 0)
                return x;
        r = read_all(d, v, err);
        if (r < 0)
                return r;
        if (!trial)
                make_primary(d, v, x, &c);
        else {
                /* Only one trial mark at a time; everything else keeps its place behind it,
                 * and the enabled ones are re-armed: they are the fallback, and the booted one
                 * may not have been marked good on this boot yet. */
                for (unsigned i = 0; i < d->n; i++) {
                        if ((int) i == x || v[i].priority == 0)
                                continue;
                        if (v[i].priority >= PRIORITY_TRIAL)
                                change(&c, d->bootname[i], "priority", PRIORITY_OTHER);
                        if (v[i].attempts != d->boot_attempts)
                                change(&c, d->bootname[i], "remaining_attempts", d->boot_attempts);
                }
                change(&c, bootname, "priority", PRIORITY_TRIAL);
                change(&c, bootname, "remaining_attempts", d->trial_attempts);
        }
        return write_changes(d, &c, err);
}

static int barebox_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        BareboxData *d = data;
        SlotVars v[MAX_SLOTS];
        Changes c = {};
        int r, x;

        x = slot_index(d, bootname, err);
        if (x < 0)
                return x;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = read_all(d, v, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                if (v[x].priority == PRIORITY_TRIAL)
                        make_primary(d, v, x, &c); /* commit: the trial slot becomes the primary */
                else {
                        if (v[x].priority == 0)
                                change(&c, bootname, "priority", PRIORITY_OTHER);
                        change(&c, bootname, "remaining_attempts", d->boot_attempts);
                }
        } else {
                SlotVars w[MAX_SLOTS];

                memcpy(w, v, sizeof(w));
                w[x].priority = 0;
                if (choose(d, w, false) < 0)
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing to mark %s bad: no other slot has a bootstate priority above 0, so bootchooser would have nothing to boot",
                                          bootname);
                change(&c, bootname, "priority", 0);
                change(&c, bootname, "remaining_attempts", 0);
        }
        return write_changes(d, &c, err);
}

static int barebox_get_trial(void *data, char **ret_bootname, UError *err) {
        BareboxData *d = data;
        SlotVars v[MAX_SLOTS];
        int r;

        r = read_all(d, v, err);
        if (r < 0)
                return r;
        *ret_bootname = NULL;
        for (unsigned i = 0; i < d->n; i++)
                if (v[i].priority == PRIORITY_TRIAL) {
                        *ret_bootname = strdup(d->bootname[i]);
                        if (!*ret_bootname)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        break;
                }
        return 0;
}

const BootloaderOps bootloader_barebox_ops = {
        .name = "barebox",
        .open = barebox_open,
        .close = barebox_close,
        .get_primary = barebox_get_primary,
        .set_primary = barebox_set_primary,
        .get_state = barebox_get_state,
        .set_state = barebox_set_state,
        /* barebox tells the kernel bootchooser.active=/bootstate.active= (if configured);
         * the daemon reads the command line. */
        .get_current = NULL,
        .get_trial = barebox_get_trial,
};
