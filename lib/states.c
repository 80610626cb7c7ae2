/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "macro.h"
#include "states.h"

#define DEFINE_STRING_TABLE(name, type, max)                                    \
        const char *name##_to_string(type i) {                                  \
                if ((int) i < 0 || (int) i >= (int) (max))                      \
                        return NULL;                                            \
                return name##_table[i];                                         \
        }                                                                       \
        type name##_from_string(const char *s) {                                \
                if (!s)                                                         \
                        return (type) -EINVAL;                                  \
                for (int i = 0; i < (int) (max); i++)                           \
                        if (name##_table[i] && streq(name##_table[i], s))       \
                                return (type) i;                                \
                return (type) -EINVAL;                                          \
        }

static const char *const operation_table[_OPERATION_MAX] = {
        [OPERATION_IDLE] = "idle",
        [OPERATION_INSTALLING] = "installing",
        [OPERATION_MARKING] = "marking",
};
DEFINE_STRING_TABLE(operation, Operation, _OPERATION_MAX);

static const char *const slot_state_table[_SLOT_STATE_MAX] = {
        [SLOT_STATE_BOOTED] = "booted",
        [SLOT_STATE_ACTIVE] = "active",
        [SLOT_STATE_INACTIVE] = "inactive",
};
DEFINE_STRING_TABLE(slot_state, SlotState, _SLOT_STATE_MAX);

static const char *const boot_status_table[_BOOT_STATUS_MAX] = {
        [BOOT_STATUS_GOOD] = "good",
        [BOOT_STATUS_BAD] = "bad",
        [BOOT_STATUS_TRIAL] = "trial",
};
DEFINE_STRING_TABLE(boot_status, BootStatus, _BOOT_STATUS_MAX);

static const char *const slot_status_table[_SLOT_STATUS_MAX] = {
        [SLOT_STATUS_OK] = "ok",
        [SLOT_STATUS_FAILED] = "failed",
        [SLOT_STATUS_PENDING] = "pending",
        [SLOT_STATUS_UNKNOWN] = "unknown",
};
DEFINE_STRING_TABLE(slot_status, SlotStatus, _SLOT_STATUS_MAX);

static const char *const slot_type_table[_SLOT_TYPE_MAX] = {
        [SLOT_TYPE_RAW] = "raw",
        [SLOT_TYPE_EXT4] = "ext4",
        [SLOT_TYPE_SQUASHFS] = "squashfs",
        [SLOT_TYPE_EROFS] = "erofs",
        [SLOT_TYPE_VFAT] = "vfat",
};
DEFINE_STRING_TABLE(slot_type, SlotType, _SLOT_TYPE_MAX);

static const char *const mark_state_table[_MARK_MAX] = {
        [MARK_GOOD] = "good",
        [MARK_BAD] = "bad",
        [MARK_ACTIVE] = "active",
};
DEFINE_STRING_TABLE(mark_state, MarkState, _MARK_MAX);
