/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [slot.<class>.<index>] sections: names, keys (Update1's and RAUC's), relations. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-slot.h"
#include "util.h"

void config_slot_done(ConfigSlot *s) {
        free(s->name);
        free(s->class);
        free(s->device);
        free(s->bootname);
        free(s->parent_name);
        free(s->description);
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

#define section_error(p, ...) (snprintf((p)->section_error, sizeof((p)->section_error), __VA_ARGS__), -EINVAL)

int config_slot_add(Parser *p, const char *name, unsigned line, int *ret_index) {
        _cleanup_free_ char *class = NULL, *slot_name = NULL;
        const char *rest = name + strlen("slot."), *dot = strrchr(rest, '.');
        Config *c = p->config;
        ConfigSlot *slots;
        unsigned index;

        if (!dot || dot == rest)
                return section_error(p, "slot section [%s] must be named [slot.<class>.<index>]", name);
        class = strndup(rest, dot - rest);
        if (!class)
                return -ENOMEM;
        if (!class_name_valid(class))
                return section_error(p, "invalid slot class '%s' in [%s]: use [a-z0-9][a-z0-9_-]*, at most %d characters",
                                     class, name, CONFIG_MAX_NAME);
        if (parse_index(dot + 1, &index) < 0)
                return section_error(p, "invalid slot index '%s' in [%s]: must be a decimal number 0..%d without leading zeros",
                                     dot + 1, name, CONFIG_MAX_INDEX);
        if (c->n_slots >= CONFIG_MAX_SLOTS)
                return section_error(p, "too many slots (at most %d)", CONFIG_MAX_SLOTS);
        slot_name = strdup(rest);
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
                .install_same = true,
                .line = line,
        };
        *ret_index = (int) c->n_slots++;
        return 0;
}

static ConfigSlot *section_slot(Parser *p, Section *sec) {
        return &p->config->slots[sec->slot];
}

static bool is_tag_spec(const char *s) {
        return strneq(s, "PARTLABEL=", 10) || strneq(s, "PARTUUID=", 9) || strneq(s, "LABEL=", 6) ||
               strneq(s, "UUID=", 5);
}

static int parse_device(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &section_slot(p, sec)->device, value, !is_tag_spec(value));
}

/* RAUC's slot types that need tools or a storage model Update1 does not have. */
static const char *const rauc_only_types[] = {
        "ubifs", "ubivol", "nand", "nor", "jffs2",
        "boot-emmc", "boot-mbr-switch", "boot-gpt-switch", "boot-raw-fallback",
        NULL,
};

static int parse_type(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        ConfigSlot *slot = section_slot(p, sec);

        slot->type = slot_type_from_string(value);
        if ((int) slot->type >= 0)
                return 0;
        for (const char *const *t = rauc_only_types; *t; t++)
                if (streq(*t, value))
                        return parser_error(p, line,
                                            "slot type '%s' (RAUC's) is not supported: Update1 writes whole images to a block device or file (supported: %s); change type= or keep RAUC for this slot",
                                            value, CONFIG_SLOT_TYPES_SUPPORTED);
        return parser_error(p, line, "unknown slot type '%s' (supported: %s)", value, CONFIG_SLOT_TYPES_SUPPORTED);
}

static int parse_bootname(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (!bootname_valid(value))
                return parser_error(p, line, "invalid bootname '%s': use letters, digits and '_' only, at most %d characters",
                                    value, CONFIG_MAX_NAME);
        return parser_set_string(p, &section_slot(p, sec)->bootname, value, false);
}

static int parse_parent(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &section_slot(p, sec)->parent_name, value, false);
}

static int parse_readonly(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_bool(p, sec, key, value, line, &section_slot(p, sec)->readonly);
}

static int parse_description(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &section_slot(p, sec)->description, value, false);
}

/* RAUC's install-same (and its deprecated spellings): false skips writing an image the target
 * slot already holds (daemon/install.c, targets_hold_images()). */
static int parse_install_same(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_bool(p, sec, key, value, line, &section_slot(p, sec)->install_same);
}

static int parse_resize(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        bool resize;
        int r;

        r = parser_set_bool(p, sec, key, value, line, &resize);
        if (r < 0 || !resize)
                return r;
        return parser_error(p, line,
                            "[%s] resize=true (RAUC's resize2fs after writing) is not supported: Update1 writes the image as it is; build the ext4 image at the partition's size and remove the line",
                            sec->name);
}

static int parse_allow_mounted(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        bool allow;
        int r;

        r = parser_set_bool(p, sec, key, value, line, &allow);
        if (r < 0 || !allow)
                return r;
        return parser_error(p, line,
                            "[%s] allow-mounted=true is not supported: Update1 never writes a slot that is mounted (it opens block devices O_EXCL); remove the line",
                            sec->name);
}

const ConfigKey config_slot_keys[] = {
        { .name = "device", .parse = parse_device },
        { .name = "type", .parse = parse_type },
        { .name = "bootname", .parse = parse_bootname },
        { .name = "parent", .parse = parse_parent },
        { .name = "readonly", .parse = parse_readonly },
        /* RAUC's keys (docs/configuration.md "RAUC system.conf") */
        { .name = "description", .parse = parse_description, .allow_empty = true },
        { .name = "install-same", .parse = parse_install_same },
        { .name = "force-install-same", .parse = parse_install_same },
        { .name = "ignore-checksum", .parse = parse_install_same },
        { .name = "resize", .parse = parse_resize },
        { .name = "allow-mounted", .parse = parse_allow_mounted },
        { .name = "extra-mount-opts", .no_effect = "Update1 does not mount slots", .allow_empty = true },
        { .name = "extra-mkfs-opts", .refused = "Update1 does not create file systems (no tar images); remove the line" },
        { .name = "region-start", .refused = "boot-*-switch slots are not supported; remove the line" },
        { .name = "region-size", .refused = "boot-*-switch slots are not supported; remove the line" },
        { .name = "size-limit", .refused = "boot-emmc slots are not supported; remove the line" },
        { .name = "efi-loader", .refused = "Update1 does not recreate EFI boot entries; remove the line" },
        { .name = "efi-cmdline", .refused = "Update1 does not recreate EFI boot entries; remove the line" },
        {}
};

static int validate_parent(Parser *p, ConfigSlot *s) {
        Config *c = p->config;
        unsigned l = parser_slot_key_line(p, s, "parent");
        int j = config_find_slot(c, s->parent_name);

        if (s->bootname)
                return parser_error(p, parser_slot_key_line(p, s, "bootname"),
                                    "[slot.%s] has parent=, so it must not have bootname= (it boots with its parent)",
                                    s->name);
        if (streq(s->parent_name, s->name))
                return parser_error(p, l, "[slot.%s] cannot be its own parent", s->name);
        if (j < 0)
                return parser_error(p, l, "[slot.%s] parent=%s: no such slot", s->name, s->parent_name);
        if (c->slots[j].parent_name)
                return parser_error(p, l,
                                    "[slot.%s] parent=%s: that slot has a parent itself; only one level is supported",
                                    s->name, s->parent_name);
        s->parent = j;
        return 0;
}

int config_slots_validate(Parser *p) {
        Config *c = p->config;
        int r;

        if (c->n_slots == 0)
                return parser_error(p, 0, "no [slot.<class>.<index>] sections: nothing to update");

        for (unsigned i = 0; i < c->n_slots; i++) {
                ConfigSlot *s = &c->slots[i];

                if (!s->device)
                        return parser_error(p, s->line, "[slot.%s] device= is required", s->name);
                /* RAUC's default. */
                if ((int) s->type < 0)
                        s->type = SLOT_TYPE_RAW;
                if (s->parent_name) {
                        r = validate_parent(p, s);
                        if (r < 0)
                                return r;
                } else if (!s->bootname)
                        return parser_error(p, s->line,
                                            "[slot.%s] bootname= is required for a slot without parent=: Update1 writes only slots of an A/B boot group (RAUC's stand-alone slots are not supported); add bootname= or parent=<class>.<index>, or remove the section",
                                            s->name);

                for (unsigned j = 0; j < i; j++) {
                        if (s->bootname && c->slots[j].bootname && streq(s->bootname, c->slots[j].bootname))
                                return parser_error(p, parser_slot_key_line(p, s, "bootname"),
                                                    "[slot.%s] bootname=%s is already used by slot %s", s->name,
                                                    s->bootname, c->slots[j].name);
                        if (streq(s->device, c->slots[j].device))
                                return parser_error(p, parser_slot_key_line(p, s, "device"),
                                                    "[slot.%s] device=%s is already used by slot %s", s->name,
                                                    s->device, c->slots[j].name);
                }
        }
        return 0;
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
