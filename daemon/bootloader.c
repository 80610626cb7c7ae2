/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader.h"

static const BootloaderOps *const backends[] = {
        &bootloader_uboot_ops,
        &bootloader_custom_ops,
};

int bootloader_open(const Config *c, Bootloader **ret, UError *err) {
        _cleanup_free_ Bootloader *b = NULL;
        const BootloaderOps *ops = NULL;
        int r;

        if (!c || !ret)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: no configuration");
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (c->bootloader && streq(c->bootloader, backends[i]->name))
                        ops = backends[i];
        if (!ops)
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP, "Unknown bootloader backend '%s'",
                                  c->bootloader ?: "(none)");

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
