/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parser state shared by lib/config*.c: errors and warnings as "PATH:LINE: ...", sections
 * and keys seen, typed setters.  The one place where library code logs at error level, so that
 * the daemon and updatectl print the same text. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-parser.h"
#include "log.h"
#include "util.h"

int parser_error(Parser *p, unsigned line, const char *fmt, ...) {
        char msg[768];
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

int parser_warning(Parser *p, unsigned line, const char *fmt, ...) {
        Config *c = p->config;
        char msg[768], **n;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        n = reallocarray(c->warnings, c->n_warnings + 2, sizeof(char *));
        if (!n)
                return -ENOMEM;
        c->warnings = n;
        n[c->n_warnings] = line > 0 ? strdup_printf("%s:%u: warning: %s", p->path, line, msg)
                                    : strdup_printf("%s: warning: %s", p->path, msg);
        if (!n[c->n_warnings])
                return -ENOMEM;
        log_warning("%s", n[c->n_warnings]);
        n[++c->n_warnings] = NULL;
        return 0;
}

/* Relative paths are relative to the directory of the config file (as RAUC's are), so a
 * sandbox config can sit next to its slot images. */
int parser_set_string(Parser *p, char **field, const char *value, bool path) {
        char *v = !path || value[0] == '/' ? strdup(value) : strdup_printf("%s/%s", p->base_dir, value);

        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

int parser_set_bool(Parser *p, Section *sec, const char *key, const char *value, unsigned line, bool *ret) {
        int r = parse_boolean(value);

        if (r < 0)
                return parser_error(p, line, "invalid boolean '%s' for %s= in [%s] (true or false)", value, key,
                                    sec->name);
        *ret = r;
        return 0;
}

int parser_set_unsigned(Parser *p, Section *sec, const char *key, const char *value, unsigned line,
                        unsigned min, unsigned max, unsigned *ret) {
        uint64_t v;

        if (parse_u64(value, &v) < 0 || v < min || v > max)
                return parser_error(p, line, "[%s] %s=%s: must be a number from %u to %u", sec->name, key, value,
                                    min, max);
        *ret = (unsigned) v;
        return 0;
}

Section *parser_find_section(Parser *p, const char *name) {
        for (unsigned i = 0; i < p->n_sections; i++)
                if (streq(p->sections[i].name, name))
                        return &p->sections[i];
        return NULL;
}

Section *parser_find_section_kind(Parser *p, SectionKind kind) {
        for (unsigned i = 0; i < p->n_sections; i++)
                if (p->sections[i].kind == kind)
                        return &p->sections[i];
        return NULL;
}

unsigned parser_section_key_line(const Section *s, const char *key) {
        if (!s)
                return 0;
        for (unsigned i = 0; i < s->n_keys; i++)
                if (streq(s->keys[i].key, key))
                        return s->keys[i].line;
        return 0;
}

unsigned parser_key_line(Parser *p, const char *section, const char *key) {
        return parser_section_key_line(parser_find_section(p, section), key);
}

unsigned parser_section_line(Parser *p, const char *section) {
        Section *s = parser_find_section(p, section);
        return s ? s->line : 0;
}

unsigned parser_slot_key_line(Parser *p, const ConfigSlot *slot, const char *key) {
        for (unsigned i = 0; i < p->n_sections; i++)
                if (p->sections[i].slot >= 0 && &p->config->slots[p->sections[i].slot] == slot) {
                        unsigned l = parser_section_key_line(&p->sections[i], key);
                        return l > 0 ? l : slot->line;
                }
        return slot->line;
}

int parser_note_key(Parser *p, Section *sec, const char *key, unsigned line) {
        unsigned first = parser_section_key_line(sec, key);
        SeenKey *n;

        if (first > 0)
                return parser_error(p, line, "duplicate key '%s' in section [%s] (first at line %u)", key,
                                    sec->name, first);
        n = reallocarray(sec->keys, sec->n_keys + 1, sizeof(SeenKey));
        if (!n)
                return -ENOMEM;
        sec->keys = n;
        n[sec->n_keys++] = (SeenKey) { .key = key, .line = line };
        return 0;
}

const ConfigKey *config_key_find(const ConfigKey *table, const char *key) {
        for (; table && table->name; table++)
                if (streq(table->name, key))
                        return table;
        return NULL;
}

static bool is_blank(char ch) {
        return isspace((unsigned char) ch);
}

/* The INI reader reports keys with their section's name only, so the headers (and duplicate
 * sections with their own line number) are collected by this scan of the same text.  A bad
 * header is remembered and reported when the key parse passes its line, so errors come out
 * in file order. */
int parser_prescan_sections(Parser *p, const char *data, int (*add)(Parser *p, const char *name, unsigned line)) {
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
                        r = add(p, name, line);
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

void parser_done(Parser *p) {
        for (unsigned i = 0; i < p->n_sections; i++) {
                free(p->sections[i].name);
                free(p->sections[i].keys);
        }
        free(p->sections);
        free(p->base_dir);
}

char *config_base_dir(const char *path) {
        _cleanup_free_ char *dir = NULL, *abs = NULL;
        const char *slash = strrchr(path, '/');

        dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return NULL;
        abs = realpath(dir, NULL);
        return abs ? TAKE_PTR(abs) : TAKE_PTR(dir);
}
