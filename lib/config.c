/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* system.conf: parse with lib/ini, validate everything, report the first error as
 * "PATH:LINE: message".  This file is the core: which sections exist, which key table each
 * reads (lib/config-system.c, lib/config-slot.c, lib/config-rauc.c), loading and the checks
 * across sections.  A key is in exactly one table, parsed, refused or accepted without effect:
 * nothing is ignored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config-parser.h"
#include "config-rauc.h"
#include "config-slot.h"
#include "config-system.h"
#include "fileio.h"
#include "ini.h"
#include "log.h"
#include "util.h"

#define CONFIG_MAX_SIZE (1024 * 1024)

static const struct {
        const char *name;               /* "slot" stands for "slot.<class>.<index>" */
        const ConfigKey *tables[2];
} section_kinds[_SECTION_KIND_MAX] = {
        [SECTION_SYSTEM] = { "system", { config_system_keys, config_rauc_system_keys } },
        [SECTION_KEYRING] = { "keyring", { config_keyring_keys, config_rauc_keyring_keys } },
        [SECTION_UBOOT] = { "uboot", { config_uboot_keys } },
        [SECTION_CUSTOM] = { "custom", { config_custom_keys } },
        [SECTION_GRUB] = { "grub", { config_grub_keys } },
        [SECTION_BAREBOX] = { "barebox", { config_barebox_keys } },
        [SECTION_SLOT] = { "slot", { config_slot_keys } },
        [SECTION_HANDLERS] = { "handlers", { config_rauc_handlers_keys } },
        [SECTION_STREAMING] = { "streaming", { config_rauc_streaming_keys } },
};

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->compatible);
        free(c->bootloader);
        free(c->data_directory);
        free(c->boot_slot_override);
        free(c->reboot_command);
        config_strv_free(c->reboot_argv);
        free(c->keyring_path);
        free(c->keyring_directory);
        free(c->fw_env_config);
        free(c->uboot_lock_file);
        free(c->custom_backend);
        free(c->grubenv);
        free(c->barebox_state_name);
        free(c->variant);
        free(c->variant_file);
        free(c->statusfile);
        free(c->mountprefix);
        free(c->check_purpose);
        config_strv_free(c->warnings);
        for (unsigned i = 0; i < c->n_slots; i++)
                config_slot_done(&c->slots[i]);
        free(c->slots);
        return mfree(c);
}

static SectionKind section_kind(const char *name) {
        if (strneq(name, "slot.", 5))
                return SECTION_SLOT;
        for (int k = 0; k < _SECTION_KIND_MAX; k++)
                if (k != SECTION_SLOT && streq(section_kinds[k].name, name))
                        return k;
        return _SECTION_KIND_INVALID;
}

/* "[name]" → its section, registering it (with validation) on first sight. */
static int add_section(Parser *p, const char *name, unsigned line) {
        SectionKind kind = section_kind(name);
        const char *why;
        Section *n;
        int slot = -1, r;

        for (unsigned i = 0; i < p->n_sections; i++)
                if (streq(p->sections[i].name, name)) {
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "duplicate section [%s] (first at line %u)", name, p->sections[i].line);
                        return -EEXIST;
                }
        if ((int) kind < 0) {
                why = config_rauc_section_refusal(name);
                if (why)
                        snprintf(p->section_error, sizeof(p->section_error),
                                 "section [%s] (RAUC's) is not supported: %s; remove the section", name, why);
                else
                        snprintf(p->section_error, sizeof(p->section_error), "unknown section [%s]", name);
                return -EINVAL;
        }
        if (kind == SECTION_SLOT) {
                r = config_slot_add(p, name, line, &slot);
                if (r < 0)
                        return r;
        }

        n = reallocarray(p->sections, p->n_sections + 1, sizeof(Section));
        if (!n)
                return -ENOMEM;
        p->sections = n;
        n = &p->sections[p->n_sections];
        *n = (Section) { .kind = kind, .line = line, .slot = slot };
        n->name = strdup(name);
        if (!n->name)
                return -ENOMEM;
        p->n_sections++;
        return 0;
}

static const ConfigKey *find_key(SectionKind kind, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(section_kinds[kind].tables); i++) {
                const ConfigKey *k = config_key_find(section_kinds[kind].tables[i], key);
                if (k)
                        return k;
        }
        return NULL;
}

static int handle_key(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        Parser *p = userdata;
        const ConfigKey *k;
        Section *sec;
        int r;

        if (p->section_error_line > 0 && line > p->section_error_line)
                return parser_error(p, p->section_error_line, "%s", p->section_error);
        if (!key) /* a section header, if the INI reader reports those: the pre-scan has it */
                return 0;
        if (isempty(section))
                return parser_error(p, line, "'%s=' outside of any section", key);
        sec = parser_find_section(p, section);
        if (!sec) /* the pre-scan and the INI reader disagree about a header line */
                return parser_error(p, line, "malformed section header for [%s]", section);

        k = find_key(sec->kind, key);
        if (!k)
                return parser_error(p, line, "unknown key '%s' in section [%s]", key, section);
        r = parser_note_key(p, sec, k->name, line);
        if (r < 0)
                return r;

        if (k->refused)
                return parser_error(p, line, "[%s] %s= (RAUC's) is not supported: %s", section, key, k->refused);
        if (!value)
                value = "";
        if (isempty(value) && !k->allow_empty)
                return parser_error(p, line, "empty value for '%s' in section [%s]", key, section);
        if (k->no_effect)
                return parser_warning(p, line, "[%s] %s= has no effect: %s", section, key, k->no_effect);
        return k->parse(p, sec, key, value, line);
}

static int validate(Parser *p) {
        Config *c = p->config;
        int r;

        if (!c->compatible)
                return parser_error(p, parser_section_line(p, "system"), "[system] compatible= is required");
        if (!c->bootloader)
                return parser_error(p, parser_section_line(p, "system"),
                                    "[system] bootloader= is required (uboot, grub, barebox, efi or custom)");
        if (streq(c->bootloader, "custom") && !c->custom_backend)
                return parser_error(p, parser_key_line(p, "system", "bootloader"),
                                    "bootloader=custom needs [custom] path= or RAUC's [handlers] bootloader-custom-backend= (the backend executable)");
        if (!c->keyring_path && !c->keyring_directory)
                return parser_error(p, parser_section_line(p, "keyring"),
                                    "[keyring] needs path= (PEM file) and/or directory=");

        r = config_slots_validate(p);
        if (r < 0)
                return r;

        if (c->boot_slot_override) {
                int j = config_find_slot_by_bootname(c, c->boot_slot_override);
                if (j < 0)
                        j = config_find_slot(c, c->boot_slot_override);
                if (j < 0 || !c->slots[j].bootname)
                        return parser_error(p, parser_key_line(p, "system", "boot-slot-override"),
                                            "boot-slot-override=%s names no slot with a bootname",
                                            c->boot_slot_override);
        }
        return 0;
}

static Config *config_new(const char *path) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));

        if (!c)
                return NULL;
        c->max_bundle_size = CONFIG_DEFAULT_MAX_BUNDLE_SIZE;
        c->boot_attempts = CONFIG_DEFAULT_BOOT_ATTEMPTS;
        c->trial_attempts = CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        c->uboot_scheme = UBOOT_SCHEME_RAUC;
        c->barebox_boot_attempts = CONFIG_DEFAULT_BOOT_ATTEMPTS;
        c->barebox_trial_attempts = CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        c->reboot_timeout_sec = CONFIG_DEFAULT_REBOOT_TIMEOUT_SEC;
        c->idle_timeout_sec = CONFIG_DEFAULT_IDLE_TIMEOUT_SEC;
        c->rauc_dbus = true;
        c->max_bundle_download_size = CONFIG_DEFAULT_MAX_BUNDLE_DOWNLOAD_SIZE;
        c->bundle_formats = CONFIG_BUNDLE_FORMATS_DEFAULT;
        c->activate_installed = true;
        c->path = strdup(path);
        return c->path ? TAKE_PTR(c) : NULL;
}

static int set_default(char **field, const char *value) {
        if (*field)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

/* Everything after the keys: defaults that depend on what was set, then the checks. */
static int finish(Parser *p) {
        Config *c = p->config;
        int r;

        if (set_default(&c->data_directory, CONFIG_DEFAULT_DATA_DIRECTORY) < 0 ||
            set_default(&c->fw_env_config, CONFIG_DEFAULT_FW_ENV_CONFIG) < 0 ||
            set_default(&c->uboot_lock_file, CONFIG_DEFAULT_UBOOT_LOCK_FILE) < 0 ||
            set_default(&c->grubenv, CONFIG_DEFAULT_GRUBENV) < 0)
                return -ENOMEM;
        if (parser_key_line(p, "system", "reboot-command") == 0) {
                r = config_parse_reboot_command(p, CONFIG_DEFAULT_REBOOT_COMMAND, 0);
                if (r < 0)
                        return r;
        }
        r = validate(p);
        if (r < 0)
                return r;
        return config_rauc_finish(p);
}

static int parse(Parser *p, const char *data) {
        unsigned line = 0;
        int r;

        r = parser_prescan_sections(p, data, add_section);
        if (r < 0)
                return r;
        r = ini_parse_string(data, handle_key, p, &line);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* The handler logged its own error; otherwise the INI reader rejected a line. */
                if (p->section_error_line > 0 && line > p->section_error_line)
                        return parser_error(p, p->section_error_line, "%s", p->section_error);
                return parser_error(p, line, "malformed line (expected [section], key=value or a comment)");
        }
        if (p->section_error_line > 0)
                return parser_error(p, p->section_error_line, "%s", p->section_error);
        return finish(p);
}

const char *config_default_path(void) {
        static const char *const rauc[] = { CONFIG_RAUC_PATHS };

        if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
                return CONFIG_DEFAULT_PATH;
        for (size_t i = 0; i < ELEMENTSOF(rauc); i++)
                if (access(rauc[i], F_OK) == 0)
                        return rauc[i];
        return CONFIG_DEFAULT_PATH;
}

int config_load(const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *data = NULL;
        Parser p = {};
        size_t size;
        int r;

        if (!path)
                path = config_default_path();

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

        c = config_new(path);
        p = (Parser) { .config = c, .path = path, .base_dir = config_base_dir(path) };
        if (!c || !p.base_dir)
                r = -ENOMEM;
        else
                r = parse(&p, data);
        if (r == -ENOMEM && !p.logged)
                log_error("%s: out of memory while parsing", path);
        parser_done(&p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

bool config_rauc_bundle_intermediates(const Config *c) {
        return c->allow_bundle_intermediates_set ? c->allow_bundle_intermediates : true;
}
