/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "macro.h"
#include "states.h"
#include "uboot-lock.h"

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
        /* Optional: between read_begin and read_end the get_* ops answer from one read of the
         * storage (held, with its lock), instead of one read each: GetSlotStatus asks for the
         * primary and every slot's state at once.  No set_* op is called in between. */
        int (*read_begin)(void *data, UError *err);
        void (*read_end)(void *data);
} BootloaderOps;

typedef struct Bootloader {
        const BootloaderOps *ops;
        void *data;
} Bootloader;

extern const BootloaderOps bootloader_uboot_ops;
extern const BootloaderOps bootloader_custom_ops;
extern const BootloaderOps bootloader_uboot_bootcount_ops; /* bootloader=uboot, [uboot] scheme=bootcount */
extern const BootloaderOps bootloader_grub_ops;
extern const BootloaderOps bootloader_barebox_ops;
extern const BootloaderOps bootloader_efi_ops;

/* Picks the backend named by config [system] bootloader= and opens it. */
int bootloader_open(const Config *c, Bootloader **ret, UError *err);
/* Every registered backend, in lookup order: tests/unit/test-bootloader-contract.c runs its
 * scenario over this table, so a new backend cannot be added without a contract fixture. */
const BootloaderOps *const *bootloader_backends(size_t *ret_n);
Bootloader *bootloader_free(Bootloader *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bootloader *, bootloader_free);

/* The only way the rest of the daemon reaches a backend.  The wrappers check the arguments and
 * the optional ops, so no caller tests b->ops itself: a backend without get_current/get_trial
 * answers -EOPNOTSUPP with a message naming the backend. */
const char *bootloader_name(const Bootloader *b);
bool bootloader_has_current(const Bootloader *b);
bool bootloader_has_trial(const Bootloader *b);
int bootloader_get_primary(Bootloader *b, char **ret_bootname, UError *err);
int bootloader_set_primary(Bootloader *b, const char *bootname, bool trial, UError *err);
int bootloader_get_state(Bootloader *b, const char *bootname, BootStatus *ret, UError *err);
int bootloader_set_state(Bootloader *b, const char *bootname, BootStatus state, UError *err);
int bootloader_get_current(Bootloader *b, char **ret_bootname, UError *err);
int bootloader_get_trial(Bootloader *b, char **ret_bootname, UError *err);
/* One read of the storage for the get_* calls up to bootloader_read_end() (a no-op for a
 * backend without read_begin: each call reads on its own, as always). */
int bootloader_read_begin(Bootloader *b, UError *err);
void bootloader_read_end(Bootloader *b);

/* One libubootenv session, shared by the two U-Boot schemes (bootloader-uboot.c).  A session
 * reads the environment afresh; uboot_env_store() writes the inactive redundant copy once and
 * flushes it, reporting flush errors that libubootenv itself ignores.  It holds the env lock
 * ([uboot] lock-file=, uboot-lock.h) from open to close; a lock held elsewhere for longer than
 * UBOOT_LOCK_TIMEOUT_MS fails the open with ERROR_BUSY. */
struct uboot_ctx;
typedef struct UbootEnv {
        struct uboot_ctx *ctx;
        bool opened;
        const char *config; /* fw_env.config path, for messages (borrowed) */
        UbootLock lock;
} UbootEnv;
int uboot_env_open(const char *fw_env_config, const char *lock_file, UbootEnv *ret, UError *err);
void uboot_env_close(UbootEnv *e);
char *uboot_env_get(UbootEnv *e, const char *name); /* NULL if unset or empty */
int uboot_env_set(UbootEnv *e, const char *name, const char *value, UError *err); /* value NULL: delete */
int uboot_env_store(UbootEnv *e, UError *err);
