/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "macro.h"
#include "states.h"

/* A backend knows only bootnames and its own storage; it never sees bundles or slots.
 * Every mutating op is one atomic update of the backend's storage (one env store, one
 * grubenv replace, one tool call), so a power cut leaves the old or the new state. */
typedef struct BootloaderOps {
        const char *name;
        int (*open)(const Config *c, void **ret_data, UError *err);
        void (*close)(void *data);
        /* Bootname the bootloader will boot next (first usable in its order). */
        int (*get_primary)(void *data, char **ret_bootname, UError *err);
        /* trial=true: 'bootname' is booted next, once (the try counter of the scheme), and the
         *   current order stays behind it as the fallback.
         * trial=false: 'bootname' becomes the permanent primary, counters re-armed. */
        int (*set_primary)(void *data, const char *bootname, bool trial, UError *err);
        /* GOOD, BAD, or TRIAL (primary on trial, not yet committed). */
        int (*get_state)(void *data, const char *bootname, BootStatus *ret, UError *err);
        /* GOOD on a trial slot commits it (trial cleared, counters re-armed); GOOD on a good slot
         * re-arms its counter; BAD takes the slot out of the boot order. */
        int (*set_state)(void *data, const char *bootname, BootStatus state, UError *err);
        /* Optional (NULL if unsupported): the bootname the bootloader says is running. */
        int (*get_current)(void *data, char **ret_bootname, UError *err);
        /* Optional: the bootname that was put on trial and not yet committed, NULL if none;
         * used to see a fallback (trial slot set, but another one booted). */
        int (*get_trial)(void *data, char **ret_bootname, UError *err);
} BootloaderOps;

typedef struct Bootloader {
        const BootloaderOps *ops;
        void *data;
} Bootloader;

extern const BootloaderOps bootloader_uboot_ops;
extern const BootloaderOps bootloader_custom_ops;

/* Picks the backend named by config [system] bootloader= and opens it. */
int bootloader_open(const Config *c, Bootloader **ret, UError *err);
Bootloader *bootloader_free(Bootloader *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bootloader *, bootloader_free);
