/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bootloader.h"
#include "config.h"
#include "error.h"
#include "macro.h"
#include "states.h"
#include "status.h"

/* The runtime view of the configured slots: resolved device paths, which slot is booted. */
typedef struct Slot {
        const ConfigSlot *cfg;
        char *device_path;   /* resolved (PARTLABEL= etc through libblkid), NULL if not found */
        SlotState state;
} Slot;

typedef struct SlotTable {
        const Config *config;
        Slot *slots;         /* same order and count as config->slots */
        unsigned n_slots;
        int booted;          /* index of the booted slot (one with a bootname), -1 = unknown */
        char *boot_source;   /* how it was found: "update1.slot=A on the kernel command line" */
        bool boot_source_explicit; /* an override or a slot key decided (even on no match) */
} SlotTable;

/* Resolves every device and detects the booted slot, in this order:
 *   boot_override (the daemon's --boot-slot option), config boot-slot-override=,
 *   kernel command line (read from cmdline_path, default /proc/cmdline):
 *   update1.slot=<bootname>, rauc.slot=<bootname>, bootchooser.active=<bootname> and
 *   bootstate.active=<bootname> (barebox; a "bootstate." prefix is dropped, so both "system0"
 *   and "bootstate.system0" mean bootname system0), root=<device> matching a slot device
 *   (by path, PARTLABEL=, PARTUUID=, LABEL=, UUID=, or the same block device).
 * The slot keys also accept a slot name ("rootfs.0").  An override or slot key that names no
 * slot is final (a misconfiguration is reported, not papered over).
 * Never guesses: if nothing matches, booted = -1 and boot_source says why. */
int slot_table_new(const Config *c, const char *cmdline_path, const char *boot_override, SlotTable **ret);

/* The last source, once the bootloader is open: if the booted slot is still unknown and no
 * override or slot key decided, asks the backend's get_current (EFI BootCurrent, the custom
 * backend's get-current).  Returns 1 if it found the booted slot, 0 if not (boot_source then
 * also says why), -ENOMEM. */
int slot_table_detect_from_bootloader(SlotTable *t, Bootloader *b);
SlotTable *slot_table_free(SlotTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(SlotTable *, slot_table_free);

/* "/dev/sda2" stays; "PARTLABEL=rootfs-b", "PARTUUID=…", "LABEL=…", "UUID=…" are looked up with
 * libblkid; -ENOENT when nothing matches. */
int slot_resolve_device(const char *spec, char **ret_path);

/* The boot group root of slot i: the slot itself, or its parent chain's top. */
int slot_table_group_root(const SlotTable *t, int i);

/* Picks the target slots for a bundle with the given image classes: one inactive boot group
 * (a slot with a bootname that is not booted, and its children), preferring status failed,
 * then never installed, then the oldest install.  ret_targets[k] is the slot index for
 * classes[k].  Errors (ERROR_NO_TARGET_SLOT): booted slot unknown, class not configured,
 * no inactive slot of the class in any group, readonly slot. */
int slot_table_pick_targets(const SlotTable *t, const StatusFile *st, const char *const *classes,
                            size_t n_classes, int *ret_targets, UError *err);

/* Size in bytes of the device or file behind a slot (BLKGETSIZE64 for block devices). */
int slot_device_size(const Slot *s, uint64_t *ret);
/* SHA-256 of the slot's first 'size' bytes (what an image of that size left there), read in
 * 1 MiB blocks; -ECANCELED as soon as *cancel is set between blocks, -EPIPE if the slot is
 * shorter. */
int slot_sha256(const Slot *s, uint64_t size, const atomic_bool *cancel, uint8_t ret[32]);
