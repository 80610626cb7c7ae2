/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For the backends that parse a tool's output (barebox-state, efibootmgr): the target is linked
 * with -Wl,--wrap=bootloader_run_tool, so the backends' calls land here instead of forking the
 * tool.  A read "prints" the fuzz input, with the same guarantees the real bootloader_run_tool()
 * gives (NUL-terminated, no NUL inside, at most BOOTLOADER_TOOL_MAX_STDOUT bytes); every call's
 * argv is checked by the target's validator first, so a hostile output can never turn into a
 * malformed command line (e.g. an unchecked name or number in a -s/-o argument). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "fuzz.h"

int __wrap_bootloader_run_tool(const char *const argv[], char **ret_stdout, UError *err);

static const char *tool_output;
static size_t tool_output_size;
/* Returns false for an argv the backend must never produce. */
static bool tool_argv_valid(const char *const argv[]);

int __wrap_bootloader_run_tool(const char *const argv[], char **ret_stdout, UError *err) {
        char *copy;

        if (!argv || !argv[0] || !tool_argv_valid(argv)) {
                fprintf(stderr, "backend ran an unexpected command line:");
                for (size_t i = 0; argv && argv[i]; i++)
                        fprintf(stderr, " '%s'", argv[i]);
                fprintf(stderr, "\n");
                abort();
        }
        if (!ret_stdout)
                return 0;
        if (tool_output_size > BOOTLOADER_TOOL_MAX_STDOUT)
                return uerror_set(err, ERROR_FAILED, -E2BIG, "'%s' printed more than %d bytes", argv[0],
                                  BOOTLOADER_TOOL_MAX_STDOUT);
        if (memchr(tool_output, 0, tool_output_size))
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "'%s' printed a NUL byte", argv[0]);
        copy = malloc(tool_output_size + 1);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        memcpy(copy, tool_output, tool_output_size);
        copy[tool_output_size] = '\0';
        *ret_stdout = copy;
        return 0;
}

static inline bool is_decimal(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static inline bool is_hex4(const char *s) {
        for (int i = 0; i < 4; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
                        return false;
        return true;
}
