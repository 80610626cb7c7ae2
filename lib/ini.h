/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small INI reader: "[section]", "key=value", '#' or ';' comments, whitespace trimmed.
 * It calls 'handler' for each key with the line number, so callers report file:line. */
typedef int (*IniHandler)(const char *section, const char *key, const char *value, unsigned line,
                          void *userdata);

/* Returns the handler's first negative result (parsing stops), or -EINVAL for a malformed line.
 * On error *ret_line (if set) is the offending line. */
int ini_parse_file(const char *path, IniHandler handler, void *userdata, unsigned *ret_line);
int ini_parse_string(const char *data, IniHandler handler, void *userdata, unsigned *ret_line);
