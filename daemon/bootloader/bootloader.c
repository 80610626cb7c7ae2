/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backend registration (backends[]) and the wrappers through which the rest of the daemon reaches
 * a backend.  The helpers the backends share are in bootloader-util.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader.h"
#include "util.h"


static const BootloaderOps *const backends[] = {
        &bootloader_uboot_ops,
        &bootloader_uboot_bootcount_ops,
        &bootloader_grub_ops,
        &bootloader_barebox_ops,
        &bootloader_efi_ops,
        &bootloader_custom_ops,
};

const BootloaderOps *const *bootloader_backends(size_t *ret_n) {
        *ret_n = ELEMENTSOF(backends);
        return backends;
}

/* bootloader=uboot has two schemes, each its own ops table. */
static const char *backend_name(const Config *c) {
        if (c->bootloader && streq(c->bootloader, "uboot") && c->uboot_scheme == UBOOT_SCHEME_BOOTCOUNT)
                return "uboot-bootcount";
        return c->bootloader;
}

int bootloader_open(const Config *c, Bootloader **ret, UError *err) {
        _cleanup_free_ Bootloader *b = NULL;
        const BootloaderOps *ops = NULL;
        const char *name;
        int r;

        if (!c || !ret)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: no configuration");
        name = backend_name(c);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (name && streq(name, backends[i]->name))
                        ops = backends[i];
        if (!ops)
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP, "Unknown bootloader backend '%s'", name ?: "(none)");

        b = calloc(1, sizeof(Bootloader));
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        b->ops = ops;
        r = ops->open(c, &b->data, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

Bootloader *bootloader_free(Bootloader *b) {
        if (!b)
                return NULL;
        if (b->ops && b->ops->close)
                b->ops->close(b->data);
        return mfree(b);
}

/* --- the wrappers: argument and optional-op checks in one place ---------------------------- */

static int check_open(const Bootloader *b, UError *err) {
        if (!b || !b->ops)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: no bootloader");
        return 0;
}

const char *bootloader_name(const Bootloader *b) {
        return b && b->ops ? b->ops->name : "(none)";
}

bool bootloader_has_current(const Bootloader *b) {
        return b && b->ops && b->ops->get_current;
}

bool bootloader_has_trial(const Bootloader *b) {
        return b && b->ops && b->ops->get_trial;
}

int bootloader_get_primary(Bootloader *b, char **ret_bootname, UError *err) {
        int r = check_open(b, err);

        return r < 0 ? r : b->ops->get_primary(b->data, ret_bootname, err);
}

int bootloader_set_primary(Bootloader *b, const char *bootname, bool trial, UError *err) {
        int r = check_open(b, err);

        return r < 0 ? r : b->ops->set_primary(b->data, bootname, trial, err);
}

int bootloader_get_state(Bootloader *b, const char *bootname, BootStatus *ret, UError *err) {
        int r = check_open(b, err);

        return r < 0 ? r : b->ops->get_state(b->data, bootname, ret, err);
}

int bootloader_set_state(Bootloader *b, const char *bootname, BootStatus state, UError *err) {
        int r = check_open(b, err);

        return r < 0 ? r : b->ops->set_state(b->data, bootname, state, err);
}

int bootloader_get_current(Bootloader *b, char **ret_bootname, UError *err) {
        int r = check_open(b, err);

        if (r < 0)
                return r;
        if (!b->ops->get_current)
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP,
                                  "The %s bootloader cannot tell which slot is running", b->ops->name);
        return b->ops->get_current(b->data, ret_bootname, err);
}

int bootloader_get_trial(Bootloader *b, char **ret_bootname, UError *err) {
        int r = check_open(b, err);

        if (r < 0)
                return r;
        if (!b->ops->get_trial)
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP,
                                  "The %s bootloader keeps no trial of its own", b->ops->name);
        return b->ops->get_trial(b->data, ret_bootname, err);
}

int bootloader_read_begin(Bootloader *b, UError *err) {
        int r = check_open(b, err);

        if (r < 0)
                return r;
        return b->ops->read_begin ? b->ops->read_begin(b->data, err) : 0;
}

void bootloader_read_end(Bootloader *b) {
        if (b && b->ops && b->ops->read_end)
                b->ops->read_end(b->data);
}
