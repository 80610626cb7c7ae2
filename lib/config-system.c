/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [system], [keyring] (Update1's keys) and the bootloader sections of system.conf. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-system.h"
#include "util.h"

#define CONFIG_MAX_STATE_NAME 64

void config_strv_free(char **l) {
        strv_free(l);
}

bool config_bootloader_known(const char *s) {
        return streq(s, "uboot") || streq(s, "grub") || streq(s, "barebox") || streq(s, "efi") ||
               streq(s, "custom");
}

/* barebox-state -n takes a device-tree node name or alias: keep it to what those allow. */
bool config_barebox_state_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_MAX_STATE_NAME || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char) s[i]) || strchr("_-,.+@/", s[i])))
                        return false;
        return true;
}

static int split_words(Parser *p, const char *value, unsigned line, char ***ret) {
        _cleanup_free_ char *copy = strdup(value);
        char **argv = calloc(CONFIG_MAX_REBOOT_ARGS + 1, sizeof(char *));
        size_t n = 0;

        if (!argv || !copy) {
                free(argv);
                return -ENOMEM;
        }
        for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n >= CONFIG_MAX_REBOOT_ARGS) {
                        config_strv_free(argv);
                        return parser_error(p, line, "reboot-command= has more than %d words", CONFIG_MAX_REBOOT_ARGS);
                }
                argv[n] = strdup(w);
                if (!argv[n]) {
                        config_strv_free(argv);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = argv;
        return 0;
}

/* reboot-command=: split at blanks, no quoting and no shell, so what runs is exactly what the
 * file says.  Empty disables Reboot(). */
int config_parse_reboot_command(Parser *p, const char *value, unsigned line) {
        Config *c = p->config;
        char **argv = NULL, *command = NULL;
        int r;

        if (isempty(value)) {
                c->reboot_command = mfree(c->reboot_command);
                config_strv_free(c->reboot_argv);
                c->reboot_argv = NULL;
                return 0;
        }
        if (strlen(value) > 4096)
                return parser_error(p, line, "reboot-command= is longer than 4096 characters");
        for (const char *q = value; *q; q++)
                if ((unsigned char) *q < 0x20 && *q != '\t')
                        return parser_error(p, line, "reboot-command= contains a control character");

        r = split_words(p, value, line, &argv);
        if (r < 0)
                return r;
        if (!argv[0])
                r = parser_error(p, line, "reboot-command= has no program");
        /* A relative path would depend on the daemon's working directory. */
        else if (strchr(argv[0], '/') && argv[0][0] != '/')
                r = parser_error(p, line,
                                 "reboot-command=%s: the program must be an absolute path or a name looked up on PATH",
                                 value);
        else if (!(command = strdup(value)))
                r = -ENOMEM;
        if (r < 0) {
                config_strv_free(argv);
                return r;
        }
        free(c->reboot_command);
        c->reboot_command = command;
        config_strv_free(c->reboot_argv);
        c->reboot_argv = argv;
        return 0;
}

static int parse_compatible(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (strlen(value) > 256)
                return parser_error(p, line, "compatible= is longer than 256 characters");
        return parser_set_string(p, &p->config->compatible, value, false);
}

static int parse_bootloader(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (streq(value, "noop"))
                return parser_error(p, line,
                                    "bootloader=noop (RAUC's) is not supported: Update1 never installs without switching and checking the boot slot; set the device's real bootloader (uboot, grub, barebox, efi or custom)");
        if (!config_bootloader_known(value))
                return parser_error(p, line, "unknown bootloader '%s' (supported: uboot, grub, barebox, efi, custom)",
                                    value);
        return parser_set_string(p, &p->config->bootloader, value, false);
}

static int parse_data_directory(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->data_directory, value, true);
}

static int parse_max_bundle_size(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        Config *c = p->config;
        if (parse_size(value, &c->max_bundle_size) < 0 || c->max_bundle_size == 0)
                return parser_error(p, line, "invalid max-bundle-size '%s' (a size like 512M or 8G)", value);
        return 0;
}

static int parse_boot_slot_override(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        Config *c = p->config;
        c->boot_slot_override = mfree(c->boot_slot_override);
        return isempty(value) ? 0 : parser_set_string(p, &c->boot_slot_override, value, false);
}

static int parse_reboot_command(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return config_parse_reboot_command(p, value, line);
}

static int parse_reboot_timeout(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        uint64_t v;
        if (parse_u64(value, &v) < 0 || v < 1 || v > CONFIG_MAX_REBOOT_TIMEOUT_SEC)
                return parser_error(p, line, "reboot-timeout=%s: must be a number of seconds from 1 to %d", value,
                                    CONFIG_MAX_REBOOT_TIMEOUT_SEC);
        p->config->reboot_timeout_sec = (unsigned) v;
        return 0;
}

static int parse_idle_timeout(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        uint64_t v;
        if (parse_u64(value, &v) < 0 || v > CONFIG_MAX_IDLE_TIMEOUT_SEC)
                return parser_error(p, line, "idle-timeout=%s: must be a number of seconds from 0 (never exit) to %d",
                                    value, CONFIG_MAX_IDLE_TIMEOUT_SEC);
        p->config->idle_timeout_sec = (unsigned) v;
        return 0;
}

static int parse_rauc_dbus(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_bool(p, sec, key, value, line, &p->config->rauc_dbus);
}

const ConfigKey config_system_keys[] = {
        { .name = "compatible", .parse = parse_compatible },
        { .name = "bootloader", .parse = parse_bootloader },
        { .name = "data-directory", .parse = parse_data_directory },
        { .name = "max-bundle-size", .parse = parse_max_bundle_size },
        /* An empty boot-slot-override= means "none", an empty reboot-command= "no Reboot()". */
        { .name = "boot-slot-override", .parse = parse_boot_slot_override, .allow_empty = true },
        { .name = "reboot-command", .parse = parse_reboot_command, .allow_empty = true },
        { .name = "reboot-timeout", .parse = parse_reboot_timeout },
        { .name = "idle-timeout", .parse = parse_idle_timeout },
        { .name = "rauc-dbus", .parse = parse_rauc_dbus },
        {}
};

static int parse_keyring_path(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->keyring_path, value, true);
}

static int parse_keyring_directory(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->keyring_directory, value, true);
}

static int parse_bundle_intermediates(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        p->config->allow_bundle_intermediates_set = true;
        return parser_set_bool(p, sec, key, value, line, &p->config->allow_bundle_intermediates);
}

static int parse_check_crl(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_bool(p, sec, key, value, line, &p->config->check_crl);
}

const ConfigKey config_keyring_keys[] = {
        { .name = "path", .parse = parse_keyring_path },
        { .name = "directory", .parse = parse_keyring_directory },
        { .name = "allow-bundle-intermediates", .parse = parse_bundle_intermediates },
        { .name = "check-crl", .parse = parse_check_crl },
        {}
};

static int parse_fw_env_config(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->fw_env_config, value, true);
}

static int parse_lock_file(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->uboot_lock_file, value, true);
}

static int parse_uboot_attempts(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        uint64_t v;
        if (parse_u64(value, &v) < 0 || v < 1 || v > CONFIG_MAX_ATTEMPTS)
                return parser_error(p, line,
                                    "[uboot] %s=%s: must be a number from 1 to %d (U-Boot's setexpr counts in hexadecimal, test -gt in decimal; they agree only on single digits)",
                                    key, value, CONFIG_MAX_ATTEMPTS);
        *(streq(key, "boot-attempts") ? &p->config->boot_attempts : &p->config->trial_attempts) = (unsigned) v;
        return 0;
}

static int parse_uboot_scheme(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (streq(value, "rauc"))
                p->config->uboot_scheme = UBOOT_SCHEME_RAUC;
        else if (streq(value, "bootcount"))
                p->config->uboot_scheme = UBOOT_SCHEME_BOOTCOUNT;
        else
                return parser_error(p, line, "unknown U-Boot scheme '%s' (supported: rauc, bootcount)", value);
        return 0;
}

const ConfigKey config_uboot_keys[] = {
        { .name = "fw-env-config", .parse = parse_fw_env_config },
        { .name = "boot-attempts", .parse = parse_uboot_attempts },
        { .name = "trial-attempts", .parse = parse_uboot_attempts },
        { .name = "scheme", .parse = parse_uboot_scheme },
        { .name = "lock-file", .parse = parse_lock_file },
        {}
};

static int parse_custom_path(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->custom_backend, value, true);
}

const ConfigKey config_custom_keys[] = {
        { .name = "path", .parse = parse_custom_path },
        {}
};

static int parse_grub_env(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->grubenv, value, true);
}

const ConfigKey config_grub_keys[] = {
        { .name = "env", .parse = parse_grub_env },
        {}
};

static int parse_state_name(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (!config_barebox_state_name_valid(value))
                return parser_error(p, line, "invalid barebox %s '%s': a device-tree node name or alias is expected",
                                    key, value);
        return parser_set_string(p, &p->config->barebox_state_name, value, false);
}

static int parse_barebox_attempts(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_unsigned(p, sec, key, value, line, 1, CONFIG_MAX_BAREBOX_ATTEMPTS,
                                   streq(key, "boot-attempts") ? &p->config->barebox_boot_attempts
                                                               : &p->config->barebox_trial_attempts);
}

const ConfigKey config_barebox_keys[] = {
        { .name = "state-name", .parse = parse_state_name },
        { .name = "boot-attempts", .parse = parse_barebox_attempts },
        { .name = "trial-attempts", .parse = parse_barebox_attempts },
        {}
};
