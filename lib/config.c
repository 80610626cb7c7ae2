/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* system.conf: parse with lib/ini, validate everything, report the first error as
 * "PATH:LINE: message" (the one place where library code logs at error level, so that the
 * daemon and updatectl print the same text). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fileio.h"
#include "ini.h"
#include "log.h"
#include "util.h"

#define CONFIG_MAX_SIZE (1024 * 1024)
#define CONFIG_MAX_SLOTS 64
#define CONFIG_MAX_NAME 64
#define CONFIG_MAX_INDEX 9999
/* U-Boot's setexpr computes in hexadecimal while test -gt reads decimal: counters only agree
 * between the two (and with our strict decimal reader) as single digits. */
#define CONFIG_MAX_ATTEMPTS 9
/* barebox keeps remaining_attempts as a uint32; more than this is a typo, not a policy. */
#define CONFIG_MAX_BAREBOX_ATTEMPTS 100
#define CONFIG_MAX_STATE_NAME 64

typedef enum SectionKind {
        SECTION_SYSTEM,
        SECTION_KEYRING,
        SECTION_UBOOT,
        SECTION_CUSTOM,
        SECTION_GRUB,
        SECTION_BAREBOX,
        SECTION_SLOT,
        _SECTION_KIND_MAX,
} SectionKind;

static const char *const section_keys[_SECTION_KIND_MAX][10] = {
        [SECTION_SYSTEM] = { "compatible", "bootloader", "data-directory", "max-bundle-size",
                             "boot-slot-override", "reboot-command", "reboot-timeout",
                             "idle-timeout", "rauc-dbus", NULL },
        [SECTION_KEYRING] = { "path", "directory", "allow-bundle-intermediates", "check-crl", NULL },
        [SECTION_UBOOT] = { "fw-env-config", "boot-attempts", "trial-attempts", "scheme", "lock-file", NULL },
        [SECTION_CUSTOM] = { "path", NULL },
        [SECTION_GRUB] = { "env", NULL },
        [SECTION_BAREBOX] = { "state-name", "boot-attempts", "trial-attempts", NULL },
        [SECTION_SLOT] = { "device", "type", "bootname", "parent", "readonly", NULL },
};

typedef struct Section {
        char *name;
        SectionKind kind;
        int slot;            /* index into Config.slots for SECTION_SLOT */
        unsigned line;
        unsigned key_line[9]; /* line of each key of section_keys[kind], 0 = not set */
} Section;

typedef struct Parser {
        Config *config;
        const char *path;
        char *base_dir;       /* for relative paths */
        Section *sections;
        unsigned n_sections;
        unsigned section_error_line; /* first bad section header found by the pre-scan */
        char section_error[256];
        bool logged;
} Parser;

static int parser_error(Parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int parser_error(Parser *p, unsigned line, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!p->logged) {
                if (line > 0)
                        log_error("%s:%u: %s", p->path, line, msg);
                else
                        log_error("%s: %s", p->path, msg);
                p->logged = true;
        }
        return -EINVAL;
}

static void strv_free_simple(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

static void config_slot_done(ConfigSlot *s) {
        free(s->name);
        free(s->class);
        free(s->device);
        free(s->bootname);
        free(s->parent_name);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->compatible);
        free(c->bootloader);
        free(c->data_directory);
        free(c->boot_slot_override);
        free(c->reboot_command);
        strv_free_simple(c->reboot_argv);
        free(c->keyring_path);
        free(c->keyring_directory);
        free(c->fw_env_config);
        free(c->uboot_lock_file);
        free(c->custom_backend);
        free(c->grubenv);
        free(c->barebox_state_name);
        for (unsigned i = 0; i < c->n_slots; i++)
                config_slot_done(&c->slots[i]);
        free(c->slots);
        return mfree(c);
}

int config_find_slot(const Config *c, const char *name) {
        if (!c || !name)
                return -ENOENT;
        for (unsigned i = 0; i < c->n_slots; i++)
                if (streq(c->slots[i].name, name))
                        return (int) i;
        return -ENOENT;
}

int config_find_slot_by_bootname(const Config *c, const char *bootname) {
        if (!c || !bootname)
                return -ENOENT;
        for (unsigned i = 0; i < c->n_slots; i++)
                if (c->slots[i].bootname && streq(c->slots[i].bootname, bootname))
                        return (int) i;
        return -ENOENT;
}

/* Class names become part of slot names, JSON keys and log lines: keep them boring. */
static bool class_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_MAX_NAME)
                return false;
        if (!(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '_' ||
                      s[i] == '-'))
                        return false;
        return true;
}

/* Bootnames end up in U-Boot variable names (BOOT_<name>_LEFT) and hush ${} expansions, and
 * on the kernel command line: letters, digits and '_' only. */
static bool bootname_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_MAX_NAME)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char) s[i]) || s[i] == '_'))
                        return false;
        return true;
}

/* Decimal without sign or leading zeros, so "slot.rootfs.01" cannot alias "slot.rootfs.1". */
static int parse_index(const char *s, unsigned *ret) {
        uint64_t v;

        if (isempty(s) || (s[0] == '0' && s[1] != '\0'))
                return -EINVAL;
        if (parse_u64(s, &v) < 0 || v > CONFIG_MAX_INDEX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static bool is_tag_spec(const char *s) {
        return strneq(s, "PARTLABEL=", 10) || strneq(s, "PARTUUID=", 9) || strneq(s, "LABEL=", 6) ||
               strneq(s, "UUID=", 5);
}

/* Relative paths are relative to the directory of the config file (like RAUC's keyring
 * path), so a sandbox config can sit next to its slot images. */
static char *resolve_path(Parser *p, const char *value) {
        if (value[0] == '/')
                return strdup(value);
        return strdup_printf("%s/%s", p->base_dir, value);
}

/* "[name]" → its section, registering it (with validation) on first sight. */
static int add_section(Parser *p, const char *name, unsigned line) {
        Config *c = p->config;
        SectionKind kind;
        Section *n;

        for (unsigned i = 0; i < p->n_sections; i++)
                if (streq(p->sections[i].name, name)) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "duplicate section [%s] (first at line %u)", name, p->sections[i].line);
                        return -EEXIST;
                }

        if (streq(name, "system"))
                kind = SECTION_SYSTEM;
        else if (streq(name, "keyring"))
                kind = SECTION_KEYRING;
        else if (streq(name, "uboot"))
                kind = SECTION_UBOOT;
        else if (streq(name, "custom"))
                kind = SECTION_CUSTOM;
        else if (streq(name, "grub"))
                kind = SECTION_GRUB;
        else if (streq(name, "barebox"))
                kind = SECTION_BAREBOX;
        else if (strneq(name, "slot.", 5))
                kind = SECTION_SLOT;
        else {
                snprintf(p->section_error, sizeof(p->section_error), "unknown section [%s]", name);
                return -EINVAL;
        }

        n = reallocarray(p->sections, p->n_sections + 1, sizeof(Section));
        if (!n)
                return -ENOMEM;
        p->sections = n;
        n = &p->sections[p->n_sections];
        *n = (Section) { .kind = kind, .line = line, .slot = -1 };
        n->name = strdup(name);
        if (!n->name)
                return -ENOMEM;
        p->n_sections++;

        if (kind == SECTION_SLOT) {
                _cleanup_free_ char *class = NULL, *slot_name = NULL;
                const char *rest = name + 5, *dot = strrchr(rest, '.');
                ConfigSlot *slots;
                unsigned index;

                if (!dot || dot == rest) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "slot section [%s] must be named [slot.<class>.<index>]", name);
                        return -EINVAL;
                }
                class = strndup(rest, dot - rest);
                if (!class)
                        return -ENOMEM;
                if (!class_name_valid(class)) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "invalid slot class '%s' in [%s]: use [a-z0-9][a-z0-9_-]*, at most %d characters",
                                 class, name, CONFIG_MAX_NAME);
                        return -EINVAL;
                }
                if (parse_index(dot + 1, &index) < 0) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "invalid slot index '%s' in [%s]: must be a decimal number 0..%d without leading zeros",
                                 dot + 1, name, CONFIG_MAX_INDEX);
                        return -EINVAL;
                }
                if (c->n_slots >= CONFIG_MAX_SLOTS) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "too many slots (at most %d)", CONFIG_MAX_SLOTS);
                        return -E2BIG;
                }
                slot_name = strdup_printf("%s.%u", class, index);
                if (!slot_name)
                        return -ENOMEM;

                slots = reallocarray(c->slots, c->n_slots + 1, sizeof(ConfigSlot));
                if (!slots)
                        return -ENOMEM;
                c->slots = slots;
                slots[c->n_slots] = (ConfigSlot) {
                        .name = TAKE_PTR(slot_name),
                        .class = TAKE_PTR(class),
                        .index = index,
                        .type = _SLOT_TYPE_INVALID,
                        .parent = -1,
                        .line = line,
                };
                n->slot = (int) c->n_slots++;
        }
        return 0;
}

static bool is_blank(char ch) {
        return isspace((unsigned char) ch);
}

/* The INI callback only sees keys, so section headers (needed for empty, duplicate and unknown
 * sections with their own line number) are collected by this scan of the same text.  A bad
 * header is remembered and reported when the key parse passes its line, so errors come out
 * in file order. */
static int prescan_sections(Parser *p, const char *data) {
        unsigned line = 0;

        for (const char *s = data; *s;) {
                const char *e = strchrnul(s, '\n'), *b = s, *t = e;

                line++;
                while (b < t && is_blank(*b))
                        b++;
                while (t > b && is_blank(t[-1]))
                        t--;
                if (b < t && *b == '[' && t[-1] == ']' && t - b >= 2) {
                        _cleanup_free_ char *name = NULL;
                        const char *nb = b + 1, *ne = t - 1;
                        int r;

                        while (nb < ne && is_blank(*nb))
                                nb++;
                        while (ne > nb && is_blank(ne[-1]))
                                ne--;
                        name = strndup(nb, ne - nb);
                        if (!name)
                                return -ENOMEM;
                        r = add_section(p, name, line);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                p->section_error_line = line;
                                return 0;
                        }
                }
                s = *e ? e + 1 : e;
        }
        return 0;
}

static Section *find_section(Parser *p, const char *name) {
        for (unsigned i = 0; i < p->n_sections; i++)
                if (streq(p->sections[i].name, name))
                        return &p->sections[i];
        return NULL;
}

static int key_index(SectionKind kind, const char *key) {
        for (int i = 0; section_keys[kind][i]; i++)
                if (streq(section_keys[kind][i], key))
                        return i;
        return -1;
}

static int set_string(Parser *p, char **field, const char *value, bool path) {
        char *v = path ? resolve_path(p, value) : strdup(value);

        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

static int parse_attempts(Parser *p, const char *key, const char *value, unsigned line, unsigned *ret) {
        uint64_t v;

        if (parse_u64(value, &v) < 0 || v < 1 || v > CONFIG_MAX_ATTEMPTS)
                return parser_error(p, line,
                                    "[uboot] %s=%s: must be a number from 1 to %d (U-Boot's setexpr counts in hexadecimal, test -gt in decimal; they agree only on single digits)",
                                    key, value, CONFIG_MAX_ATTEMPTS);
        *ret = (unsigned) v;
        return 0;
}

static int parse_barebox_attempts(Parser *p, const char *key, const char *value, unsigned line, unsigned *ret) {
        uint64_t v;

        if (parse_u64(value, &v) < 0 || v < 1 || v > CONFIG_MAX_BAREBOX_ATTEMPTS)
                return parser_error(p, line, "[barebox] %s=%s: must be a number from 1 to %d", key, value,
                                    CONFIG_MAX_BAREBOX_ATTEMPTS);
        *ret = (unsigned) v;
        return 0;
}

static bool bootloader_known(const char *s) {
        return streq(s, "uboot") || streq(s, "grub") || streq(s, "barebox") || streq(s, "efi") ||
               streq(s, "custom");
}

/* barebox-state -n takes a device-tree node name or alias: keep it to what those allow. */
static bool state_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_MAX_STATE_NAME || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char) s[i]) || strchr("_-,.+@/", s[i])))
                        return false;
        return true;
}

/* reboot-command=: split at blanks, no quoting and no shell, so what runs is exactly what the
 * file says.  Empty disables Reboot(). */
static int parse_reboot_command(Parser *p, const char *value, unsigned line) {
        Config *c = p->config;
        char **argv = NULL, *copy = NULL;
        size_t n = 0;
        int r = 0;

        if (isempty(value)) {
                c->reboot_command = mfree(c->reboot_command);
                strv_free_simple(c->reboot_argv);
                c->reboot_argv = NULL;
                return 0;
        }
        if (strlen(value) > 4096)
                return parser_error(p, line, "reboot-command= is longer than 4096 characters");

        argv = calloc(CONFIG_MAX_REBOOT_ARGS + 1, sizeof(char *));
        copy = strdup(value);
        if (!argv || !copy) {
                r = -ENOMEM;
                goto out;
        }
        for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n >= CONFIG_MAX_REBOOT_ARGS) {
                        r = parser_error(p, line, "reboot-command= has more than %d words", CONFIG_MAX_REBOOT_ARGS);
                        goto out;
                }
                argv[n] = strdup(w);
                if (!argv[n]) {
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        for (const char *q = value; *q; q++)
                if ((unsigned char) *q < 0x20 && *q != '\t') {
                        r = parser_error(p, line, "reboot-command= contains a control character");
                        goto out;
                }
        if (n == 0) {
                r = parser_error(p, line, "reboot-command= has no program");
                goto out;
        }
        /* A relative path would depend on the daemon's working directory. */
        if (strchr(argv[0], '/') && argv[0][0] != '/') {
                r = parser_error(p, line,
                                 "reboot-command=%s: the program must be an absolute path or a name looked up on PATH",
                                 value);
                goto out;
        }
        free(c->reboot_command);
        c->reboot_command = strdup(value);
        if (!c->reboot_command) {
                r = -ENOMEM;
                goto out;
        }
        strv_free_simple(c->reboot_argv);
        c->reboot_argv = TAKE_PTR(argv);
out:
        strv_free_simple(argv);
        free(copy);
        return r;
}

static int handle_key(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        Parser *p = userdata;
        Config *c = p->config;
        Section *sec;
        ConfigSlot *slot;
        int k, r;

        if (p->section_error_line > 0 && line > p->section_error_line)
                return parser_error(p, p->section_error_line, "%s", p->section_error);
        if (!key) /* a section header, if the INI reader reports those: the pre-scan has it */
                return 0;
        if (isempty(section))
                return parser_error(p, line, "'%s=' outside of any section", key);
        sec = find_section(p, section);
        if (!sec) /* the pre-scan and the INI reader disagree about a header line */
                return parser_error(p, line, "malformed section header for [%s]", section);

        k = key_index(sec->kind, key);
        if (k < 0)
                return parser_error(p, line, "unknown key '%s' in section [%s]", key, section);
        if (sec->key_line[k] > 0)
                return parser_error(p, line, "duplicate key '%s' in section [%s] (first at line %u)", key,
                                    section, sec->key_line[k]);
        sec->key_line[k] = line;

        if (!value)
                value = "";
        /* An empty boot-slot-override= means "none", an empty reboot-command= "no Reboot()";
         * everything else needs a value. */
        if (isempty(value) &&
            !(sec->kind == SECTION_SYSTEM && (streq(key, "boot-slot-override") || streq(key, "reboot-command"))))
                return parser_error(p, line, "empty value for '%s' in section [%s]", key, section);

        switch (sec->kind) {
        case SECTION_SYSTEM:
                if (streq(key, "compatible")) {
                        if (strlen(value) > 256)
                                return parser_error(p, line, "compatible= is longer than 256 characters");
                        return set_string(p, &c->compatible, value, false);
                }
                if (streq(key, "bootloader")) {
                        if (!bootloader_known(value))
                                return parser_error(p, line,
                                                    "unknown bootloader '%s' (supported: uboot, grub, barebox, efi, custom)",
                                                    value);
                        return set_string(p, &c->bootloader, value, false);
                }
                if (streq(key, "data-directory"))
                        return set_string(p, &c->data_directory, value, true);
                if (streq(key, "max-bundle-size")) {
                        r = parse_size(value, &c->max_bundle_size);
                        if (r < 0 || c->max_bundle_size == 0)
                                return parser_error(p, line,
                                                    "invalid max-bundle-size '%s' (a size like 512M or 8G)", value);
                        return 0;
                }
                if (streq(key, "boot-slot-override")) {
                        c->boot_slot_override = mfree(c->boot_slot_override);
                        return isempty(value) ? 0 : set_string(p, &c->boot_slot_override, value, false);
                }
                if (streq(key, "reboot-command"))
                        return parse_reboot_command(p, value, line);
                if (streq(key, "reboot-timeout")) {
                        uint64_t v;

                        if (parse_u64(value, &v) < 0 || v < 1 || v > CONFIG_MAX_REBOOT_TIMEOUT_SEC)
                                return parser_error(p, line, "reboot-timeout=%s: must be a number of seconds from 1 to %d",
                                                    value, CONFIG_MAX_REBOOT_TIMEOUT_SEC);
                        c->reboot_timeout_sec = (unsigned) v;
                        return 0;
                }
                if (streq(key, "idle-timeout")) {
                        uint64_t v;

                        if (parse_u64(value, &v) < 0 || v > CONFIG_MAX_IDLE_TIMEOUT_SEC)
                                return parser_error(p, line, "idle-timeout=%s: must be a number of seconds from 0 (never exit) to %d",
                                                    value, CONFIG_MAX_IDLE_TIMEOUT_SEC);
                        c->idle_timeout_sec = (unsigned) v;
                        return 0;
                }
                if (streq(key, "rauc-dbus")) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return parser_error(p, line, "invalid boolean '%s' for rauc-dbus", value);
                        c->rauc_dbus = r;
                        return 0;
                }
                break;
        case SECTION_KEYRING:
                if (streq(key, "path"))
                        return set_string(p, &c->keyring_path, value, true);
                if (streq(key, "directory"))
                        return set_string(p, &c->keyring_directory, value, true);
                if (streq(key, "allow-bundle-intermediates")) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return parser_error(p, line, "invalid boolean '%s' for allow-bundle-intermediates",
                                                    value);
                        c->allow_bundle_intermediates = r;
                        return 0;
                }
                if (streq(key, "check-crl")) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return parser_error(p, line, "invalid boolean '%s' for check-crl", value);
                        c->check_crl = r;
                        return 0;
                }
                break;
        case SECTION_UBOOT:
                if (streq(key, "fw-env-config"))
                        return set_string(p, &c->fw_env_config, value, true);
                if (streq(key, "lock-file"))
                        return set_string(p, &c->uboot_lock_file, value, true);
                if (streq(key, "boot-attempts"))
                        return parse_attempts(p, key, value, line, &c->boot_attempts);
                if (streq(key, "trial-attempts"))
                        return parse_attempts(p, key, value, line, &c->trial_attempts);
                if (streq(key, "scheme")) {
                        if (streq(value, "rauc"))
                                c->uboot_scheme = UBOOT_SCHEME_RAUC;
                        else if (streq(value, "bootcount"))
                                c->uboot_scheme = UBOOT_SCHEME_BOOTCOUNT;
                        else
                                return parser_error(p, line, "unknown U-Boot scheme '%s' (supported: rauc, bootcount)",
                                                    value);
                        return 0;
                }
                break;
        case SECTION_CUSTOM:
                if (streq(key, "path"))
                        return set_string(p, &c->custom_backend, value, true);
                break;
        case SECTION_GRUB:
                if (streq(key, "env"))
                        return set_string(p, &c->grubenv, value, true);
                break;
        case SECTION_BAREBOX:
                if (streq(key, "state-name")) {
                        if (!state_name_valid(value))
                                return parser_error(p, line,
                                                    "invalid barebox state-name '%s': a device-tree node name or alias is expected",
                                                    value);
                        return set_string(p, &c->barebox_state_name, value, false);
                }
                if (streq(key, "boot-attempts"))
                        return parse_barebox_attempts(p, key, value, line, &c->barebox_boot_attempts);
                if (streq(key, "trial-attempts"))
                        return parse_barebox_attempts(p, key, value, line, &c->barebox_trial_attempts);
                break;
        case SECTION_SLOT:
                slot = &c->slots[sec->slot];
                if (streq(key, "device"))
                        return set_string(p, &slot->device, value, !is_tag_spec(value));
                if (streq(key, "type")) {
                        slot->type = slot_type_from_string(value);
                        if ((int) slot->type < 0)
                                return parser_error(p, line,
                                                    "unknown slot type '%s' (supported: raw, ext4, squashfs, erofs, vfat)",
                                                    value);
                        return 0;
                }
                if (streq(key, "bootname")) {
                        if (!bootname_valid(value))
                                return parser_error(p, line,
                                                    "invalid bootname '%s': use letters, digits and '_' only, at most %d characters",
                                                    value, CONFIG_MAX_NAME);
                        return set_string(p, &slot->bootname, value, false);
                }
                if (streq(key, "parent"))
                        return set_string(p, &slot->parent_name, value, false);
                if (streq(key, "readonly")) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return parser_error(p, line, "invalid boolean '%s' for readonly", value);
                        slot->readonly = r;
                        return 0;
                }
                break;
        default:
                break;
        }
        return parser_error(p, line, "unknown key '%s' in section [%s]", key, section);
}

static unsigned key_line(Parser *p, const char *section, const char *key) {
        Section *s = find_section(p, section);
        int k;

        if (!s)
                return 0;
        k = key_index(s->kind, key);
        return k >= 0 ? s->key_line[k] : 0;
}

static unsigned section_line(Parser *p, const char *section) {
        Section *s = find_section(p, section);
        return s ? s->line : 0;
}

static unsigned slot_key_line(Parser *p, const ConfigSlot *slot, const char *key) {
        int k = key_index(SECTION_SLOT, key);

        for (unsigned i = 0; i < p->n_sections; i++)
                if (p->sections[i].slot >= 0 && &p->config->slots[p->sections[i].slot] == slot)
                        return k >= 0 && p->sections[i].key_line[k] > 0 ? p->sections[i].key_line[k] : slot->line;
        return slot->line;
}

static int validate(Parser *p) {
        Config *c = p->config;

        if (!c->compatible)
                return parser_error(p, section_line(p, "system"), "[system] compatible= is required");
        if (!c->bootloader)
                return parser_error(p, section_line(p, "system"),
                                    "[system] bootloader= is required (uboot, grub, barebox, efi or custom)");
        if (streq(c->bootloader, "custom") && !c->custom_backend)
                return parser_error(p, key_line(p, "system", "bootloader"),
                                    "bootloader=custom needs [custom] path= (the backend executable)");
        if (!c->keyring_path && !c->keyring_directory)
                return parser_error(p, section_line(p, "keyring"),
                                    "[keyring] needs path= (PEM file) and/or directory=");
        if (c->n_slots == 0)
                return parser_error(p, 0, "no [slot.<class>.<index>] sections: nothing to update");

        for (unsigned i = 0; i < c->n_slots; i++) {
                ConfigSlot *s = &c->slots[i];

                if (!s->device)
                        return parser_error(p, s->line, "[slot.%s] device= is required", s->name);
                if ((int) s->type < 0)
                        return parser_error(p, s->line, "[slot.%s] type= is required (raw, ext4, squashfs, erofs, vfat)",
                                            s->name);
                if (s->parent_name) {
                        unsigned l = slot_key_line(p, s, "parent");
                        int j = config_find_slot(c, s->parent_name);

                        if (s->bootname)
                                return parser_error(p, slot_key_line(p, s, "bootname"),
                                                    "[slot.%s] has parent=, so it must not have bootname= (it boots with its parent)",
                                                    s->name);
                        if (streq(s->parent_name, s->name))
                                return parser_error(p, l, "[slot.%s] cannot be its own parent", s->name);
                        if (j < 0)
                                return parser_error(p, l, "[slot.%s] parent=%s: no such slot", s->name,
                                                    s->parent_name);
                        if (c->slots[j].parent_name)
                                return parser_error(p, l,
                                                    "[slot.%s] parent=%s: that slot has a parent itself; only one level is supported",
                                                    s->name, s->parent_name);
                        s->parent = j;
                } else if (!s->bootname)
                        return parser_error(p, s->line,
                                            "[slot.%s] bootname= is required for a slot without parent=", s->name);

                for (unsigned j = 0; j < i; j++) {
                        if (s->bootname && c->slots[j].bootname && streq(s->bootname, c->slots[j].bootname))
                                return parser_error(p, slot_key_line(p, s, "bootname"),
                                                    "[slot.%s] bootname=%s is already used by slot %s", s->name,
                                                    s->bootname, c->slots[j].name);
                        if (streq(s->device, c->slots[j].device))
                                return parser_error(p, slot_key_line(p, s, "device"),
                                                    "[slot.%s] device=%s is already used by slot %s", s->name,
                                                    s->device, c->slots[j].name);
                }
        }

        if (c->boot_slot_override) {
                int j = config_find_slot_by_bootname(c, c->boot_slot_override);
                if (j < 0)
                        j = config_find_slot(c, c->boot_slot_override);
                if (j < 0 || !c->slots[j].bootname)
                        return parser_error(p, key_line(p, "system", "boot-slot-override"),
                                            "boot-slot-override=%s names no slot with a bootname",
                                            c->boot_slot_override);
        }
        return 0;
}

static void parser_done(Parser *p) {
        for (unsigned i = 0; i < p->n_sections; i++)
                free(p->sections[i].name);
        free(p->sections);
        free(p->base_dir);
}

static char *config_base_dir(const char *path) {
        _cleanup_free_ char *dir = NULL, *abs = NULL;
        const char *slash = strrchr(path, '/');

        dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return NULL;
        abs = realpath(dir, NULL);
        return abs ? TAKE_PTR(abs) : TAKE_PTR(dir);
}

int config_load(const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *data = NULL;
        Parser p = {};
        unsigned line = 0;
        size_t size;
        int r;

        if (!path)
                path = CONFIG_DEFAULT_PATH;

        r = read_full_file(path, CONFIG_MAX_SIZE, &data, &size);
        if (r < 0) {
                if (r == -EFBIG)
                        log_error("%s: larger than %d bytes, refusing to parse", path, CONFIG_MAX_SIZE);
                else
                        log_error_errno(r, "%s: cannot read configuration: %m", path);
                return r;
        }
        /* A NUL byte would silently cut the rest of the file off. */
        if (strlen(data) != size) {
                log_error("%s: contains a NUL byte, not a text file", path);
                return -EINVAL;
        }

        c = calloc(1, sizeof(Config));
        if (!c)
                return log_error_errno(-ENOMEM, "%s: out of memory", path);
        c->max_bundle_size = CONFIG_DEFAULT_MAX_BUNDLE_SIZE;
        c->boot_attempts = CONFIG_DEFAULT_BOOT_ATTEMPTS;
        c->trial_attempts = CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        c->uboot_scheme = UBOOT_SCHEME_RAUC;
        c->barebox_boot_attempts = CONFIG_DEFAULT_BOOT_ATTEMPTS;
        c->barebox_trial_attempts = CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        c->reboot_timeout_sec = CONFIG_DEFAULT_REBOOT_TIMEOUT_SEC;
        c->idle_timeout_sec = CONFIG_DEFAULT_IDLE_TIMEOUT_SEC;
        c->rauc_dbus = true;
        c->path = strdup(path);

        p = (Parser) { .config = c, .path = path };
        p.base_dir = config_base_dir(path);
        if (!c->path || !p.base_dir) {
                r = -ENOMEM;
                goto out;
        }

        r = prescan_sections(&p, data);
        if (r < 0)
                goto out;

        r = ini_parse_string(data, handle_key, &p, &line);
        if (r < 0) {
                if (r == -ENOMEM)
                        goto out;
                /* The handler logged its own error; otherwise the INI reader rejected a line. */
                if (p.section_error_line > 0 && line > p.section_error_line)
                        r = parser_error(&p, p.section_error_line, "%s", p.section_error);
                else
                        r = parser_error(&p, line, "malformed line (expected [section], key=value or a comment)");
                goto out;
        }
        if (p.section_error_line > 0) {
                r = parser_error(&p, p.section_error_line, "%s", p.section_error);
                goto out;
        }

        if (!c->data_directory && !(c->data_directory = strdup(CONFIG_DEFAULT_DATA_DIRECTORY))) {
                r = -ENOMEM;
                goto out;
        }
        if (!c->fw_env_config && !(c->fw_env_config = strdup(CONFIG_DEFAULT_FW_ENV_CONFIG))) {
                r = -ENOMEM;
                goto out;
        }
        if (!c->uboot_lock_file && !(c->uboot_lock_file = strdup(CONFIG_DEFAULT_UBOOT_LOCK_FILE))) {
                r = -ENOMEM;
                goto out;
        }
        if (!c->grubenv && !(c->grubenv = strdup(CONFIG_DEFAULT_GRUBENV))) {
                r = -ENOMEM;
                goto out;
        }
        if (key_line(&p, "system", "reboot-command") == 0) {
                r = parse_reboot_command(&p, CONFIG_DEFAULT_REBOOT_COMMAND, 0);
                if (r < 0)
                        goto out;
        }

        r = validate(&p);
        if (r < 0)
                goto out;

        *ret = TAKE_PTR(c);
        r = 0;
out:
        if (r == -ENOMEM && !p.logged)
                log_error("%s: out of memory while parsing", path);
        parser_done(&p);
        return r;
}
