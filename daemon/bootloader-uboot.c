/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* U-Boot backend through libubootenv, with RAUC's variables so existing boot scripts work:
 *   BOOT_ORDER="A B"   boot order, first slot with attempts left is booted
 *   BOOT_<x>_LEFT=3    attempts left for slot x; the boot script decrements it before booting
 *   UPDATE1_TRIAL=x    ours: x was made primary for a trial boot and is not committed yet
 * packaging/bootloader/uboot-boot.cmd is the script that consumes them ([uboot] scheme=rauc,
 * the default; scheme=bootcount is bootloader-uboot-bootcount.c).
 * This file also holds the libubootenv session both schemes use (uboot_env_*, declared in
 * bootloader.h).  Each call reads the environment afresh (the boot script and fw_setenv change
 * it behind our back) and every mutation is exactly one libuboot_env_store(): libubootenv
 * writes the inactive redundant copy with the flag counter + 1, so a power cut leaves the old
 * or the new env; we then fsync() the device ourselves, since libubootenv ignores that result.
 * Both copies invalid is an error for every call, never "all slots bad". */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <libuboot.h> /* needs size_t first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader.h"
#include "fileio.h"
#include "util.h"

#define TRIAL_VAR "UPDATE1_TRIAL"
#define ORDER_VAR "BOOT_ORDER"
#define ORDER_SEPARATORS " \t\r\n"
#define MAX_LEFT 255
#define MAX_ENV_DEVICES 4
#define MAX_FW_ENV_CONFIG (64 * 1024)

typedef struct UbootData {
        char *fw_env_config;
        unsigned boot_attempts;
        unsigned trial_attempts;
} UbootData;

/* --- the libubootenv session (shared with bootloader-uboot-bootcount.c) ------------------ */

void uboot_env_close(UbootEnv *e) {
        if (!e->ctx)
                return;
        if (e->opened)
                libuboot_close(e->ctx);
        libuboot_exit(e->ctx);
        e->ctx = NULL;
        e->opened = false;
}

int uboot_env_open(const char *fw_env_config, UbootEnv *ret, UError *err) {
        UbootEnv e = { .config = fw_env_config };
        int r;

        *ret = (UbootEnv) { .config = fw_env_config };
        if (access(fw_env_config, R_OK) < 0) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s",
                                  fw_env_config, strerror(-r));
        }
        r = libuboot_initialize(&e.ctx, NULL);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot initialize libubootenv (error %d)", r);
        r = libuboot_read_config(e.ctx, fw_env_config);
        if (r < 0) {
                uboot_env_close(&e);
                return uerror_set(err, ERROR_IO, -EINVAL,
                                  "Invalid U-Boot environment configuration %s (libubootenv error %d): check the device paths, offsets and sizes",
                                  fw_env_config, r);
        }
        r = libuboot_open(e.ctx);
        e.opened = true;
        if (r < 0) {
                uboot_env_close(&e);
                /* Never carry on with an empty env: storing it would wipe the board's variables,
                 * and reading it would make every slot look bad. */
                if (r == -ENODATA)
                        return uerror_set(err, ERROR_IO, -EIO,
                                          "U-Boot environment unreadable (both copies invalid): %s; refusing to change or report the boot state",
                                          fw_env_config);
                return uerror_set(err, ERROR_IO, r, "Cannot read the U-Boot environment (%s): %s", fw_env_config,
                                  strerror(-r));
        }
        *ret = e;
        return 0;
}

char *uboot_env_get(UbootEnv *e, const char *name) {
        char *v = libuboot_get_env(e->ctx, name);

        if (v && !*v)
                v = mfree(v);
        return v;
}

int uboot_env_set(UbootEnv *e, const char *name, const char *value, UError *err) {
        int r = libuboot_set_env(e->ctx, name, value);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EINVAL, "Cannot set U-Boot variable %s", name);
        return 0;
}

/* The device paths of fw_env.config ("path offset size [sector-size [sectors]]" lines), opened
 * read-only before the store so that a write-back error after it is reported to our fsync()
 * (errors are sampled per open file).  Best effort: what cannot be opened is skipped. */
static unsigned open_env_devices(const char *config, int fds[static MAX_ENV_DEVICES]) {
        _cleanup_free_ char *text = NULL;
        unsigned n = 0;
        size_t size;

        if (read_full_file(config, MAX_FW_ENV_CONFIG, &text, &size) < 0)
                return 0;
        for (char *line = text, *next; line && *line && n < MAX_ENV_DEVICES; line = next) {
                char *end;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                line += strspn(line, " \t");
                if (*line != '/')
                        continue;
                end = line + strcspn(line, " \t\r");
                *end = '\0';
                fds[n] = open(line, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fds[n] >= 0)
                        n++;
        }
        return n;
}

int uboot_env_store(UbootEnv *e, UError *err) {
        int fds[MAX_ENV_DEVICES], r, flush_error = 0;
        unsigned n;

        n = open_env_devices(e->config, fds);
        r = libuboot_env_store(e->ctx);
        for (unsigned i = 0; i < n; i++) {
                /* libubootenv 0.3.2 calls fsync() but ignores its result.  Devices that cannot be
                 * fsync()ed at all (MTD character devices) say EINVAL: nothing to report there. */
                if (r >= 0 && flush_error == 0 && fsync(fds[i]) < 0 && errno != EINVAL && errno != EROFS &&
                    errno != EOPNOTSUPP)
                        flush_error = -errno;
                close(fds[i]);
        }
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EIO,
                                  "Cannot write the U-Boot environment (%s): %s; the previous copy is still in use",
                                  e->config, strerror(r < -1 ? -r : EIO));
        if (flush_error < 0)
                return uerror_set(err, ERROR_IO, flush_error,
                                  "Cannot flush the U-Boot environment (%s) to storage: %s; the previous copy is intact, the change may be lost on power loss",
                                  e->config, strerror(-flush_error));
        return 0;
}

/* --- BOOT_ORDER ----------------------------------------------------------------------------- */

static int check_bootname(const char *name, UError *err) {
        return bootloader_check_bootname(name, "U-Boot variable names", err);
}

/* Whitespace separated, any amount of it, like hush's for loop splits it. */
static int order_read(UbootEnv *e, BootList *o, UError *err) {
        _cleanup_free_ char *v = uboot_env_get(e, ORDER_VAR);
        return bootlist_split(o, v, ORDER_SEPARATORS, "U-Boot variable " ORDER_VAR, err);
}

static int order_write(UbootEnv *e, const BootList *o, UError *err) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = bootlist_join(o, ' ', &v, err);
        if (r < 0)
                return r;
        return uboot_env_set(e, ORDER_VAR, v, err);
}

/* --- counters and trial --------------------------------------------------------------- */

/* Strict: the boot script only ever writes small decimals (see uboot-boot.cmd); anything else
 * means someone else wrote the variable, and guessing could boot the wrong slot.  A missing
 * counter is 0, as the script's test -gt 0 sees it. */
static int left_get(UbootEnv *e, const char *name, unsigned *ret, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 16];
        _cleanup_free_ char *v = NULL;
        uint64_t left;

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        v = uboot_env_get(e, var);
        if (!v) {
                *ret = 0;
                return 0;
        }
        if (parse_u64(v, &left) < 0 || left > MAX_LEFT)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "U-Boot variable %s='%s' is not a decimal number from 0 to %d", var, v, MAX_LEFT);
        *ret = (unsigned) left;
        return 0;
}

static int left_set(UbootEnv *e, const char *name, unsigned left, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 16], value[16];

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        snprintf(value, sizeof(value), "%u", left);
        return uboot_env_set(e, var, value, err);
}

static bool trial_is(UbootEnv *e, const char *name) {
        _cleanup_free_ char *v = uboot_env_get(e, TRIAL_VAR);
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
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        char *pick = NULL;
        int r;

        r = uboot_env_open(d->fw_env_config, &e, err);
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
        /* No attempts left anywhere: the script re-arms all and boots the first in order (of
         * ours: what is not a bootname is never returned as one). */
        for (unsigned i = 0; i < o.n && !pick; i++)
                if (check_bootname(o.item[i], NULL) >= 0)
                        pick = o.item[i];
        if (!pick)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "U-Boot variable %s holds no valid bootname",
                                  ORDER_VAR);
        pick = strdup(pick);
        if (!pick)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = pick;
        return 0;
}

/* Switching rewrites the counters of the slots in BOOT_ORDER; one we cannot parse means an env
 * we do not understand (damaged, or written by something else): refuse instead of overwriting. */
static int order_check_counters(UbootEnv *e, const BootList *o, UError *err) {
        unsigned left;
        int r;

        for (unsigned i = 0; i < o->n; i++) {
                if (check_bootname(o->item[i], NULL) < 0)
                        continue;
                r = left_get(e, o->item[i], &left, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int uboot_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = uboot_env_open(d->fw_env_config, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        r = order_check_counters(&e, &o, err);
        if (r < 0)
                return r;
        r = bootlist_insert(&o, bootname, true, "U-Boot variable " ORDER_VAR, err);
        if (r < 0)
                return r;
        r = order_write(&e, &o, err);
        if (r < 0)
                return r;
        r = left_set(&e, bootname, trial ? d->trial_attempts : d->boot_attempts, err);
        if (r < 0)
                return r;
        /* The slots behind a trial are its fallback: re-arm them, so that a fallback slot
         * that has not been marked good on this boot yet still has its attempts. */
        for (unsigned i = 1; trial && i < o.n; i++)
                if (check_bootname(o.item[i], NULL) >= 0 && (r = left_set(&e, o.item[i], d->boot_attempts, err)) < 0)
                        return r;
        if (trial)
                r = uboot_env_set(&e, TRIAL_VAR, bootname, err);
        else if (trial_is(&e, bootname))
                r = uboot_env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return uboot_env_store(&e, err);
}

static int uboot_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        unsigned left;
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = uboot_env_open(d->fw_env_config, &e, err);
        if (r < 0)
                return r;
        if (trial_is(&e, bootname)) {
                *ret = BOOT_STATUS_TRIAL;
                return 0;
        }
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        if (bootlist_find(&o, bootname) < 0) {
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
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = uboot_env_open(d->fw_env_config, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                /* Keep its place if it has one; a slot that was taken out goes last. */
                if (bootlist_find(&o, bootname) < 0) {
                        r = bootlist_insert(&o, bootname, false, "U-Boot variable " ORDER_VAR, err);
                        if (r >= 0)
                                r = order_write(&e, &o, err);
                        if (r < 0)
                                return r;
                }
                r = left_set(&e, bootname, d->boot_attempts, err);
        } else {
                bootlist_remove(&o, bootname);
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
                r = uboot_env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return uboot_env_store(&e, err);
}

static int uboot_get_trial(void *data, char **ret_bootname, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        int r;

        r = uboot_env_open(d->fw_env_config, &e, err);
        if (r < 0)
                return r;
        *ret_bootname = uboot_env_get(&e, TRIAL_VAR);
        return 0;
}

const BootloaderOps bootloader_uboot_ops = {
        .name = "uboot",
        .open = uboot_open,
        .close = uboot_close,
        .get_primary = uboot_get_primary,
        .get_state = uboot_get_state,
        .set_primary = uboot_set_primary,
        .set_state = uboot_set_state,
        .get_current = NULL, /* U-Boot only tells the kernel: update1.slot= on the command line */
        .get_trial = uboot_get_trial,
};
