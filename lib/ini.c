/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "ini.h"
#include "macro.h"

#define INI_MAX_FILE_SIZE (1U << 20)

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int ini_parse_string(const char *data, IniHandler handler, void *userdata, unsigned *ret_line) {
        _cleanup_free_ char *copy = strdup(data), *section = NULL;
        char *p, *next;
        unsigned line = 0;
        int r;

        if (!copy)
                return -ENOMEM;

        for (p = copy; p; p = next) {
                char *l, *eq;

                line++;
                next = strchr(p, '\n');
                if (next)
                        *next++ = 0;
                l = strip(p);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;

                if (*l == '[') {
                        char *end = strchr(l, ']');
                        if (!end || end[1] != 0 || end == l + 1)
                                goto malformed;
                        *end = 0;
                        free(section);
                        section = strdup(strip(l + 1));
                        if (!section)
                                return -ENOMEM;
                        continue;
                }

                eq = strchr(l, '=');
                if (!eq || eq == l)
                        goto malformed;
                *eq = 0;
                r = handler(section ?: "", strip(l), strip(eq + 1), line, userdata);
                if (r < 0) {
                        if (ret_line)
                                *ret_line = line;
                        return r;
                }
        }
        return 0;

malformed:
        if (ret_line)
                *ret_line = line;
        return -EINVAL;
}

int ini_parse_file(const char *path, IniHandler handler, void *userdata, unsigned *ret_line) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, INI_MAX_FILE_SIZE, &data, &size);
        if (r < 0) {
                if (ret_line)
                        *ret_line = 0;
                return r;
        }
        /* A NUL byte would silently cut the rest of the file off. */
        if (strlen(data) != size) {
                if (ret_line)
                        *ret_line = 0;
                return -EINVAL;
        }
        return ini_parse_string(data, handler, userdata, ret_line);
}
