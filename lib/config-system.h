/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Update1's own keys of [system] and [keyring], and the bootloader sections [uboot], [grub],
 * [barebox], [custom] (RAUC's keys of [system]/[keyring] are in lib/config-rauc.h). */

#include "config-parser.h"

/* U-Boot's setexpr computes in hexadecimal while test -gt reads decimal: counters only agree
 * between the two (and with our strict decimal reader) as single digits. */
#define CONFIG_MAX_ATTEMPTS 9
/* barebox keeps remaining_attempts as a uint32; more than this is a typo, not a policy. */
#define CONFIG_MAX_BAREBOX_ATTEMPTS 100

extern const ConfigKey config_system_keys[];
extern const ConfigKey config_keyring_keys[];
extern const ConfigKey config_uboot_keys[];
extern const ConfigKey config_custom_keys[];
extern const ConfigKey config_grub_keys[];
extern const ConfigKey config_barebox_keys[];

bool config_bootloader_known(const char *s);
bool config_barebox_state_name_valid(const char *s);
/* reboot-command=: split at blanks into argv, no quoting and no shell; empty disables. */
int config_parse_reboot_command(Parser *p, const char *value, unsigned line);
void config_strv_free(char **l);
