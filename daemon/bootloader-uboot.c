/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* U-Boot backend through libubootenv, with RAUC's variables so existing boot scripts work:
 *   BOOT_ORDER="A B"   boot order, first slot with attempts left is booted
 *   BOOT_<x>_LEFT=3    attempts left for slot x; the boot script decrements it before booting
 *   UPDATE1_TRIAL=x    ours: x was made primary for a trial boot and is not committed yet
 * packaging/bootloader/uboot-boot.cmd is the script that consumes them.
 * Each call reads the environment afresh (the boot script and fw_setenv change it behind our
 * back) and every mutation is exactly one libuboot_env_store(): libubootenv writes the
 * inactive redundant copy and flips the flag, so a power cut leaves the old or the new env. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <libuboot.h> /* needs size_t first */
#include <string.h>
#include <unistd.h>

#include "bootloader.h"
#include "util.h"

#define TRIAL_VAR "UPDATE1_TRIAL"
#define ORDER_VAR "BOOT_ORDER"
#define MAX_BOOTNAME 64
#define MAX_ORDER 32
#define MAX_LEFT 255

typedef struct UbootData {
        char *fw_env_config;
        unsigned boot_attempts;
        unsigned trial_attempts;
} UbootData;

typedef struct Env {
        struct uboot_ctx *ctx;
        bool opened;
} Env;

static void env_done(Env *e) {
        if (!e->ctx)
                return;
        if (e->opened)
                libuboot_close(e->ctx);
        libuboot_exit(e->ctx);
        e->ctx = NULL;
}

/* Bootnames become parts of variable names and of hush ${} expansions. */
static int check_bootname(const char *name, UError *err) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > MAX_BOOTNAME)
                goto bad;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) name[i]) && name[i] != '_')
                        goto bad;
        return 0;
bad:
        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                          "Bootname '%s' cannot be used in U-Boot variable names (letters, digits, '_')",
                          name ?: "");
}

static int env_open(UbootData *d, Env *e, UError *err) {
        int r;

        *e = (Env) {};
        if (access(d->fw_env_config, R_OK) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot read U-Boot environment configuration %s: %s",
                                  d->fw_env_config, strerror(errno));
        r = libuboot_initialize(&e->ctx, NULL);
        if (r < 0) {
                e->ctx = NULL;
                return uerror_set(err, ERROR_IO, r, "Cannot initialize libubootenv (error %d)", r);
        }
        r = libuboot_read_config(e->ctx, d->fw_env_config);
        if (r < 0) {
                env_done(e);
                return uerror_set(err, ERROR_IO, -EINVAL,
                                  "Invalid U-Boot environment configuration %s (libubootenv error %d): check the device paths, offsets and sizes",
                                  d->fw_env_config, r);
        }
        r = libuboot_open(e->ctx);
        e->opened = true;
        if (r < 0) {
                env_done(e);
                /* Never carry on with an empty env: storing it would wipe the board's variables,
                 * and reading it would make every slot look bad. */
                if (r == -ENODATA)
                        return uerror_set(err, ERROR_IO, -EIO,
                                          "U-Boot environment unreadable (both copies invalid): %s", d->fw_env_config);
                return uerror_set(err, ERROR_IO, r, "Cannot read the U-Boot environment (%s): %s", d->fw_env_config,
                                  strerror(-r));
        }
        return 0;
}

static int env_store(UbootData *d, Env *e, UError *err) {
        int r = libuboot_env_store(e->ctx);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EIO, "Cannot write the U-Boot environment (%s): %s",
                                  d->fw_env_config, strerror(r < -1 ? -r : EIO));
        return 0;
}

static int env_set(Env *e, const char *name, const char *value, UError *err) {
        int r = libuboot_set_env(e->ctx, name, value);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EINVAL, "Cannot set U-Boot variable %s", name);
        return 0;
}

/* --- BOOT_ORDER as a list --------------------------------------------------------------- */

typedef struct Order {
        char *item[MAX_ORDER];
        unsigned n;
} Order;

static void order_done(Order *o) {
        for (unsigned i = 0; i < o->n; i++)
                free(o->item[i]);
        o->n = 0;
}

/* Whitespace separated, any amount of it, like hush's for loop splits it. */
static int order_read(Env *e, Order *o, UError *err) {
        _cleanup_free_ char *v = libuboot_get_env(e->ctx, ORDER_VAR);
        char *p = v;

        *o = (Order) {};
        while (p && *p) {
                size_t n;

                p += strspn(p, " \t\r\n");
                n = strcspn(p, " \t\r\n");
                if (n == 0)
                        break;
                if (o->n >= MAX_ORDER) {
                        order_done(o);
                        return uerror_set(err, ERROR_FAILED, -E2BIG, "U-Boot variable %s has more than %d entries",
                                          ORDER_VAR, MAX_ORDER);
                }
                o->item[o->n] = strndup(p, n);
                if (!o->item[o->n]) {
                        order_done(o);
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                }
                o->n++;
                p += n;
        }
        return 0;
}

static int order_find(const Order *o, const char *name) {
        for (unsigned i = 0; i < o->n; i++)
                if (streq(o->item[i], name))
                        return (int) i;
        return -1;
}

static void order_remove(Order *o, const char *name) {
        int i;

        while ((i = order_find(o, name)) >= 0) {
                free(o->item[i]);
                memmove(&o->item[i], &o->item[i + 1], (o->n - i - 1) * sizeof(char *));
                o->n--;
        }
}

/* position 0 = front, -1 = back */
static int order_insert(Order *o, const char *name, int position, UError *err) {
        char *copy;

        order_remove(o, name);
        if (o->n >= MAX_ORDER)
                return uerror_set(err, ERROR_FAILED, -E2BIG, "U-Boot variable %s has more than %d entries", ORDER_VAR,
                                  MAX_ORDER);
        copy = strdup(name);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (position == 0) {
                memmove(&o->item[1], &o->item[0], o->n * sizeof(char *));
                o->item[0] = copy;
        } else
                o->item[o->n] = copy;
        o->n++;
        return 0;
}

static int order_write(Env *e, const Order *o, UError *err) {
        char buf[MAX_ORDER * (MAX_BOOTNAME + 1) + 1] = "";
        size_t len = 0;

        for (unsigned i = 0; i < o->n; i++) {
                size_t n = strlen(o->item[i]);
                if (len + n + 2 > sizeof(buf))
                        return uerror_set(err, ERROR_FAILED, -E2BIG, "U-Boot variable %s would be too long", ORDER_VAR);
                if (i > 0)
                        buf[len++] = ' ';
                memcpy(buf + len, o->item[i], n);
                len += n;
                buf[len] = '\0';
        }
        return env_set(e, ORDER_VAR, buf, err);
}

/* --- counters and trial --------------------------------------------------------------- */

/* Strict: the boot script only ever writes small decimals (see uboot-boot.cmd); anything else
 * means someone else wrote the variable, and guessing could boot the wrong slot.  A missing
 * counter is 0, as the script's test -gt 0 sees it. */
static int left_get(Env *e, const char *name, unsigned *ret, UError *err) {
        char var[MAX_BOOTNAME + 16];
        _cleanup_free_ char *v = NULL;
        uint64_t left;

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        v = libuboot_get_env(e->ctx, var);
        if (!v || !*v) {
                *ret = 0;
                return 0;
        }
        if (parse_u64(v, &left) < 0 || left > MAX_LEFT)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "U-Boot variable %s='%s' is not a decimal number from 0 to %d", var, v, MAX_LEFT);
        *ret = (unsigned) left;
        return 0;
}

static int left_set(Env *e, const char *name, unsigned left, UError *err) {
        char var[MAX_BOOTNAME + 16], value[16];

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        snprintf(value, sizeof(value), "%u", left);
        return env_set(e, var, value, err);
}

static char *trial_get(Env *e) {
        char *v = libuboot_get_env(e->ctx, TRIAL_VAR);

        if (v && !*v)
                v = mfree(v);
        return v;
}

static bool trial_is(Env *e, const char *name) {
        _cleanup_free_ char *v = trial_get(e);
        return v && streq(v, name);
}

/* --- ops -------------------------------------------------------------------------------- */

static int uboot_open(const Config *c, void **ret_data, UError *err) {
        UbootData *d;

        d = calloc(1, sizeof(UbootData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->fw_env_config = strdup(c->fw_env_config ?: CONFIG_DEFAULT_FW_ENV_CONFIG);
        d->boot_attempts = c->boot_attempts ?: CONFIG_DEFAULT_BOOT_ATTEMPTS;
        d->trial_attempts = c->trial_attempts ?: CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        if (!d->fw_env_config) {
                free(d);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        /* The env itself is read per call; only a missing configuration is fatal up front. */
        if (access(d->fw_env_config, R_OK) < 0) {
                int r = -errno;
                uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s",
                           d->fw_env_config, strerror(-r));
                free(d->fw_env_config);
                free(d);
                return r;
        }
        *ret_data = d;
        return 0;
}

static void uboot_close(void *data) {
        UbootData *d = data;

        if (!d)
                return;
        free(d->fw_env_config);
        free(d);
}

static int uboot_get_primary(void *data, char **ret_bootname, UError *err) {
        _cleanup_(env_done) Env e = {};
        _cleanup_(order_done) Order o = {};
        char *pick = NULL;
        int r;

        r = env_open(data, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        if (o.n == 0)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "U-Boot variable %s is empty: no slot to boot",
                                  ORDER_VAR);
        for (unsigned i = 0; i < o.n && !pick; i++) {
                unsigned left;

                if (check_bootname(o.item[i], NULL) < 0)
                        continue; /* not one of ours; the script would not find attempts for it either */
                r = left_get(&e, o.item[i], &left, err);
                if (r < 0)
                        return r;
                if (left > 0)
                        pick = o.item[i];
        }
        /* No attempts left anywhere: the script re-arms all and boots the first in order. */
        pick = strdup(pick ?: o.item[0]);
        if (!pick)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = pick;
        return 0;
}

static int uboot_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        UbootData *d = data;
        _cleanup_(env_done) Env e = {};
        _cleanup_(order_done) Order o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = env_open(d, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        r = order_insert(&o, bootname, 0, err);
        if (r < 0)
                return r;
        r = order_write(&e, &o, err);
        if (r < 0)
                return r;
        r = left_set(&e, bootname, trial ? d->trial_attempts : d->boot_attempts, err);
        if (r < 0)
                return r;
        if (trial)
                r = env_set(&e, TRIAL_VAR, bootname, err);
        else if (trial_is(&e, bootname))
                r = env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return env_store(d, &e, err);
}

static int uboot_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        _cleanup_(env_done) Env e = {};
        _cleanup_(order_done) Order o = {};
        unsigned left;
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = env_open(data, &e, err);
        if (r < 0)
                return r;
        if (trial_is(&e, bootname)) {
                *ret = BOOT_STATUS_TRIAL;
                return 0;
        }
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        if (order_find(&o, bootname) < 0) {
                *ret = BOOT_STATUS_BAD;
                return 0;
        }
        r = left_get(&e, bootname, &left, err);
        if (r < 0)
                return r;
        *ret = left > 0 ? BOOT_STATUS_GOOD : BOOT_STATUS_BAD;
        return 0;
}

static int uboot_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        UbootData *d = data;
        _cleanup_(env_done) Env e = {};
        _cleanup_(order_done) Order o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = env_open(d, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                /* Keep its place if it has one; a slot that was taken out goes last. */
                if (order_find(&o, bootname) < 0) {
                        r = order_insert(&o, bootname, -1, err);
                        if (r >= 0)
                                r = order_write(&e, &o, err);
                        if (r < 0)
                                return r;
                }
                r = left_set(&e, bootname, d->boot_attempts, err);
        } else {
                order_remove(&o, bootname);
                /* With an empty BOOT_ORDER the script finds nothing, re-arms nothing and resets
                 * forever: never write that. */
                if (o.n == 0)
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing to mark %s bad: it is the last slot in %s and the board would have nothing to boot",
                                          bootname, ORDER_VAR);
                r = order_write(&e, &o, err);
                if (r >= 0)
                        r = left_set(&e, bootname, 0, err);
        }
        if (r >= 0 && trial_is(&e, bootname))
                r = env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return env_store(d, &e, err);
}

static int uboot_get_trial(void *data, char **ret_bootname, UError *err) {
        _cleanup_(env_done) Env e = {};
        int r;

        r = env_open(data, &e, err);
        if (r < 0)
                return r;
        *ret_bootname = trial_get(&e);
        return 0;
}

const BootloaderOps bootloader_uboot_ops = {
        .name = "uboot",
        .open = uboot_open,
        .close = uboot_close,
        .get_primary = uboot_get_primary,
        .set_primary = uboot_set_primary,
        .get_state = uboot_get_state,
        .set_state = uboot_set_state,
        .get_current = NULL, /* U-Boot only tells the kernel: update1.slot= on the command line */
        .get_trial = uboot_get_trial,
};
