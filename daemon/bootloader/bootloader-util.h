/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"

/* --- Helpers shared by the backends (bootloader-util.c) --------------------------------------- */

#define BOOTLOADER_MAX_BOOTNAME 64
#define BOOTLIST_MAX 32

/* Bootnames become parts of variable names (BOOT_<x>_LEFT, <x>_OK, bootstate.<x>.priority) and of
 * script expansions: letters, digits and '_' only.  'storage' names where, for the message. */
int bootloader_check_bootname(const char *bootname, const char *storage, UError *err);

/* An ordered list of names: BOOT_ORDER, ORDER, BootOrder. */
typedef struct BootList {
        char *item[BOOTLIST_MAX];
        unsigned n;
} BootList;
void bootlist_done(BootList *l);
/* Splits 's' (NULL = empty) at any of 'separators', skipping empty fields; 'what' names the
 * variable for the too-many-entries error. */
int bootlist_split(BootList *l, const char *s, const char *separators, const char *what, UError *err);
int bootlist_find(const BootList *l, const char *name); /* index or -1 */
void bootlist_remove(BootList *l, const char *name);
int bootlist_insert(BootList *l, const char *name, bool front, const char *what, UError *err);
/* Joined with 'separator' into a new string ("" for an empty list). */
int bootlist_join(const BootList *l, char separator, char **ret, UError *err);

/* 's' made one line for an error message, in place: control characters to spaces, outer spaces
 * trimmed.  Returns the start of what is left (inside 's'). */
const char *bootloader_tidy_line(char *s);

/* Runs argv[0] (looked up on PATH) with no shell, stdin /dev/null, a timeout, and stdout
 * captured (at most BOOTLOADER_TOOL_MAX_STDOUT bytes).  A tool that cannot be started, is
 * killed, times out, exits non-zero or prints too much is an error naming the command line
 * and the end of its stderr.  *ret_stdout (NUL-terminated) only on success; may be NULL. */
#define BOOTLOADER_TOOL_MAX_STDOUT (64 * 1024)
int bootloader_run_tool(const char *const argv[], char **ret_stdout, UError *err);
