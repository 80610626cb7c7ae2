/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every enum that reaches D-Bus, JSON or the CLI has exactly one string table here. */

typedef enum Operation {
        OPERATION_IDLE,
        OPERATION_INSTALLING,
        OPERATION_MARKING,
        _OPERATION_MAX,
        _OPERATION_INVALID = -22,
} Operation;

typedef enum SlotState { /* relation of a slot to the running system */
        SLOT_STATE_BOOTED,
        SLOT_STATE_ACTIVE,   /* not booted, but the parent/child of the booted slot, i.e. in use */
        SLOT_STATE_INACTIVE,
        _SLOT_STATE_MAX,
        _SLOT_STATE_INVALID = -22,
} SlotState;

typedef enum BootStatus { /* what the bootloader thinks of the slot */
        BOOT_STATUS_GOOD,
        BOOT_STATUS_BAD,
        BOOT_STATUS_TRIAL,   /* primary for a one-shot trial boot, not yet committed */
        _BOOT_STATUS_MAX,
        _BOOT_STATUS_INVALID = -22,
} BootStatus;

typedef enum SlotStatus { /* what the last install into the slot did */
        SLOT_STATUS_OK,
        SLOT_STATUS_FAILED,
        SLOT_STATUS_PENDING, /* an install is writing it now */
        SLOT_STATUS_UNKNOWN, /* never installed by us, or status lost */
        _SLOT_STATUS_MAX,
        _SLOT_STATUS_INVALID = -22,
} SlotStatus;

typedef enum SlotType {
        SLOT_TYPE_RAW,
        SLOT_TYPE_EXT4,
        SLOT_TYPE_SQUASHFS,
        SLOT_TYPE_EROFS,
        SLOT_TYPE_VFAT,
        _SLOT_TYPE_MAX,
        _SLOT_TYPE_INVALID = -22,
} SlotType;

typedef enum MarkState {
        MARK_GOOD,
        MARK_BAD,
        MARK_ACTIVE,
        _MARK_MAX,
        _MARK_INVALID = -22,
} MarkState;

const char *operation_to_string(Operation o);
Operation operation_from_string(const char *s);
const char *slot_state_to_string(SlotState s);
SlotState slot_state_from_string(const char *s);
const char *boot_status_to_string(BootStatus s);
BootStatus boot_status_from_string(const char *s);
const char *slot_status_to_string(SlotStatus s);
SlotStatus slot_status_from_string(const char *s);
const char *slot_type_to_string(SlotType t);
SlotType slot_type_from_string(const char *s);
const char *mark_state_to_string(MarkState m);
MarkState mark_state_from_string(const char *s);
