/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* [slot.<class>.<index>]: the section name, its keys, and the relations between slots. */

#include "config-parser.h"

#define CONFIG_MAX_SLOTS 64
#define CONFIG_MAX_INDEX 9999
#define CONFIG_SLOT_TYPES_SUPPORTED "raw, ext4, squashfs, erofs, vfat"

extern const ConfigKey config_slot_keys[];

/* A new slot for the section "[slot.<rest>]" at 'line'; on a bad name fills p->section_error
 * and returns -EINVAL.  *ret_index: its index in Config.slots. */
int config_slot_add(Parser *p, const char *name, unsigned line, int *ret_index);
/* Defaults (type raw, as RAUC), required keys, parents, unique bootnames and devices. */
int config_slots_validate(Parser *p);
void config_slot_done(ConfigSlot *s);
