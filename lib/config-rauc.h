/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* RAUC's system.conf keys (RAUC 1.8's names, meanings and defaults) that are not Update1's own:
 * what maps onto Update1's settings, what is accepted without effect (a start-up warning) and
 * what is refused with a start-up error naming the line.  docs/configuration.md "RAUC
 * system.conf" has the table. */

#include "config-parser.h"

/* RAUC's /sys/firmware/devicetree/base/compatible (/proc/device-tree is a link to it). */
#define CONFIG_DEFAULT_DT_COMPATIBLE "/sys/firmware/devicetree/base/compatible"

extern const ConfigKey config_rauc_system_keys[];
extern const ConfigKey config_rauc_keyring_keys[];
extern const ConfigKey config_rauc_handlers_keys[];
extern const ConfigKey config_rauc_streaming_keys[];

/* NULL, or why a section of RAUC's that Update1 does not read is refused and what to do. */
const char *config_rauc_section_refusal(const char *name);

/* After all keys: maps RAUC's bootloader-neutral keys onto the backend's, resolves the variant,
 * checks statusfile= against data-directory= as RAUC does. */
int config_rauc_finish(Parser *p);

/* For tests: the file read for variant-dtb=true (RAUC reads the running device tree's). */
void config_rauc_set_dt_compatible_path(const char *path);

/* RAUC bundle-formats= syntax: "plain verity" (a fixed set) or "-plain +verity" (changes to
 * the default set, all three); mixing both or leaving nothing is an error. */
int config_parse_bundle_formats(const char *value, unsigned *ret_mask);
