/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by bootsim.c (helpers, setup), bootsim-uboot.c and bootsim-files.c (GRUB, barebox,
 * EFI); not part of the model test's interface (bootsim.h).  Helpers are prefixed bs_ so that
 * they cannot clash with symbols of build/libupdated.a, which the tests link. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bootsim.h"

#define IFS_WHITE " \t\n" /* bash's default IFS: word splitting of unquoted expansions */
#define GRUBENV_SIZE 1024
#define GRUBENV_SIGNATURE "# GRUB Environment Block\n"
#define GRUBENV_SIG_LEN (sizeof(GRUBENV_SIGNATURE) - 1)
#define BAREBOX_DEFAULT_ATTEMPTS "3" /* boot-sim-barebox.sh DEFAULT_ATTEMPTS */

/* A growing byte buffer; 'p' stays NUL-terminated.  Allocation failure is sticky in 'failed'
 * so callers check once. */
typedef struct Buf {
        char *p;
        size_t n, cap;
        bool failed;
} Buf;

void bs_buf_add(Buf *b, const char *data, size_t len);
void bs_buf_adds(Buf *b, const char *s);

/* Unique name → value, insertion order kept; duplicates update in place (bash's associative
 * arrays: the last assignment wins).  Strings point into buffers the caller keeps alive. */
typedef struct Var {
        const char *name, *value;
        size_t name_len;
} Var;

typedef struct Vars {
        Var *v;
        size_t n, cap;
} Vars;

ssize_t bs_vars_index(const Vars *vs, const char *name, size_t len); /* -1 if absent */
const char *bs_vars_get(const Vars *vs, const char *name);
ssize_t bs_vars_set(Vars *vs, const char *name, size_t len, const char *value); /* index or -ENOMEM */
void bs_vars_unset(Vars *vs, const char *name);

char *bs_next_line(char **p, char *end);
int bs_read_all(const char *path, char **ret, size_t *ret_len);
void bs_drop_nuls(char *buf, size_t *len);
int bs_write_fd_all(int fd, const char *data, size_t len);
int bs_write_new(const char *path, const char *data, size_t len, mode_t mode);
int bs_rewrite(const char *path, const char *data, size_t len);
int bs_set_bootname(char ret[static 64], const char *name, size_t len);
int bs_path_in(char *out, size_t size, const char *dir, const char *file);
int bs_hexval(char c);
uint64_t bs_digits(const char *s, unsigned base);
bool bs_bash_number(const char *s, int64_t *ret);

int bootsim_uboot_power_on(const char *dir, char ret[static 64]);
int bootsim_bootcount_power_on(const char *dir, char ret[static 64]);
int bootsim_grub_power_on(const char *dir, char ret[static 64]);
int bootsim_barebox_power_on(const char *dir, char ret[static 64]);
int bootsim_efi_power_on(const char *dir, char ret[static 64]);
