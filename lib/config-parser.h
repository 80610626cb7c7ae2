/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The machinery every part of system.conf's parser shares (lib/config*.c): the parser state,
 * sections seen, keys seen with their lines, "PATH:LINE: ..." errors and warnings, and the
 * table type the per-section key tables are written in.  Not for use outside lib/config*.c. */

#include <stdbool.h>

#include "config.h"

#define CONFIG_MAX_NAME 64

typedef enum SectionKind {
        SECTION_SYSTEM,
        SECTION_KEYRING,
        SECTION_UBOOT,
        SECTION_CUSTOM,
        SECTION_GRUB,
        SECTION_BAREBOX,
        SECTION_SLOT,
        SECTION_HANDLERS,  /* RAUC's */
        SECTION_STREAMING, /* RAUC's */
        _SECTION_KIND_MAX,
        _SECTION_KIND_INVALID = -22,
} SectionKind;

typedef struct SeenKey {
        const char *key;   /* the name in the key table: static */
        unsigned line;
} SeenKey;

typedef struct Section {
        char *name;
        SectionKind kind;
        int slot;          /* index into Config.slots for SECTION_SLOT, else -1 */
        unsigned line;
        SeenKey *keys;
        unsigned n_keys;
} Section;

typedef struct Parser {
        Config *config;
        const char *path;
        char *base_dir;    /* for relative paths */
        Section *sections;
        unsigned n_sections;
        unsigned section_error_line; /* first bad section header found by the pre-scan */
        char section_error[512];
        bool logged;
} Parser;

typedef int (*ConfigKeyParser)(Parser *p, Section *sec, const char *key, const char *value, unsigned line);

/* One row of a section's key table.  Exactly one of parse, refused and no_effect is set:
 * 'refused' says why Update1 refuses the key and what to do, 'no_effect' why an accepted key
 * changes nothing (a start-up warning). */
typedef struct ConfigKey {
        const char *name;
        ConfigKeyParser parse;
        const char *refused;
        const char *no_effect;
        bool allow_empty;
} ConfigKey;

int parser_error(Parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
/* Logs "PATH:LINE: warning: ..." and keeps the line in Config.warnings. */
int parser_warning(Parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);

/* Replaces *field with value, resolved against the file's directory if 'path'. */
int parser_set_string(Parser *p, char **field, const char *value, bool path);
int parser_set_bool(Parser *p, Section *sec, const char *key, const char *value, unsigned line, bool *ret);
/* Decimal, 'min'..'max'. */
int parser_set_unsigned(Parser *p, Section *sec, const char *key, const char *value, unsigned line,
                        unsigned min, unsigned max, unsigned *ret);

Section *parser_find_section(Parser *p, const char *name);
Section *parser_find_section_kind(Parser *p, SectionKind kind);
/* 0 if not seen. */
unsigned parser_key_line(Parser *p, const char *section, const char *key);
unsigned parser_section_key_line(const Section *s, const char *key);
unsigned parser_section_line(Parser *p, const char *section);
/* The line of the slot's key, or of its section header if the key is not set. */
unsigned parser_slot_key_line(Parser *p, const ConfigSlot *slot, const char *key);
/* Records that the key was seen; a second time is an error naming the first line. */
int parser_note_key(Parser *p, Section *sec, const char *key, unsigned line);

/* Calls add(p, name, line) for every "[name]" line; the first error add() reports (other than
 * -ENOMEM) is remembered in p->section_error{,_line} and reported in file order later. */
int parser_prescan_sections(Parser *p, const char *data, int (*add)(Parser *p, const char *name, unsigned line));

const ConfigKey *config_key_find(const ConfigKey *table, const char *key);
void parser_done(Parser *p);
char *config_base_dir(const char *path);
