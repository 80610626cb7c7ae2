/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The U-Boot ports (see bootsim.h): boot-sim.sh (packaging/bootloader/uboot-boot.cmd) and
 * boot-sim-bootcount.sh (U-Boot's bootcount logic with packaging/bootloader/uboot-bootcount.env),
 * on the env through libubootenv, as fw_printenv / fw_setenv -s do in the scripts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <libuboot.h> /* needs size_t first */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootsim-internal.h"

#define UBOOT_REARM "3"           /* uboot-boot.cmd [8] */
#define LIBUBOOT_LINE_LENGTH 1024 /* fgets() buffer of libuboot_load_file() */

/* --- U-Boot (boot-sim.sh, boot-sim-bootcount.sh) through libubootenv ------------------------ */

/* The part of fw_printenv/fw_setenv the simulators use: one session reads the env (what
 * fw_printenv prints); saveenv applies the changes like `fw_setenv -s SCRIPT` in a new
 * session, i.e. libuboot_load_file() then one libuboot_env_store(). */
typedef struct Uboot {
        struct uboot_ctx *ctx;
        bool opened, stored;
        char cfg[PATH_MAX];
        Buf dump;  /* fw_printenv's output */
        Vars env;  /* the script's env[] */
        Buf changes;
} Uboot;

static void uboot_done(Uboot *u) {
        if (u->ctx) {
                if (u->opened)
                        libuboot_close(u->ctx);
                libuboot_exit(u->ctx);
        }
        free(u->dump.p);
        free(u->env.v);
        free(u->changes.p);
}

static int uboot_load(Uboot *u) {
        int r = libuboot_open(u->ctx);

        u->opened = true;
        /* fw_printenv would try /etc/u-boot-initial-env next; a board without a readable env
         * is broken for the simulators (exit 1), and so for us. */
        return r < 0 ? (r == -ENODATA ? -EIO : r) : 0;
}

static int uboot_open(Uboot *u, const char *dir) {
        char *line;
        int r;

        r = bs_path_in(u->cfg, sizeof(u->cfg), dir, "fw_env.config");
        if (r < 0)
                return r;
        if (access(u->cfg, R_OK) < 0)
                return -errno;
        r = libuboot_initialize(&u->ctx, NULL);
        if (r < 0)
                return r;
        if (libuboot_read_config(u->ctx, u->cfg) < 0)
                return -EINVAL;
        r = uboot_load(u);
        if (r < 0)
                return r;
        /* `dump=$(fw_printenv)` then `env[${line%%=*}]=${line#*=}` for lines with '=': a value
         * with a newline would split, exactly as in the script. */
        for (void *v = libuboot_iterator(u->ctx, NULL); v; v = libuboot_iterator(u->ctx, v)) {
                bs_buf_adds(&u->dump, libuboot_getname(v));
                bs_buf_adds(&u->dump, "=");
                bs_buf_adds(&u->dump, libuboot_getvalue(v) ?: "");
                bs_buf_adds(&u->dump, "\n");
        }
        if (u->dump.failed)
                return -ENOMEM;
        for (char *p = u->dump.p, *end = p + u->dump.n; u->dump.n > 0 && (line = bs_next_line(&p, end));) {
                char *eq = strchr(line, '=');
                if (eq && bs_vars_set(&u->env, line, (size_t) (eq - line), eq + 1) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* changes+=("name=value"); value NULL: "name=" (setvar without a value). */
static void uboot_change(Uboot *u, const char *name, const char *value) {
        bs_buf_adds(&u->changes, name);
        bs_buf_adds(&u->changes, "=");
        bs_buf_adds(&u->changes, value ?: "");
        bs_buf_adds(&u->changes, "\n");
}

/* saveenv: `printf '%s\n' "${changes[@]}" >script; fw_setenv -s script`. */
static int uboot_saveenv(Uboot *u) {
        const char *p, *end;
        int r;

        if (u->changes.failed)
                return -ENOMEM;
        if (u->stored) {
                /* A new fw_setenv process reads the env afresh.  Reusing the session would be
                 * wrong: libubootenv 0.3.2 does not update the flags it remembers after a store,
                 * so a second store would write a stale flag counter. */
                libuboot_close(u->ctx);
                u->opened = false;
                r = uboot_load(u);
                if (r < 0)
                        return r;
        }
        /* libuboot_load_file(): fgets() into 1024 bytes, so longer lines come in pieces;
         * trailing \n/\r stripped; empty and '#' lines skipped; no '=' skipped; "name=" deletes;
         * libuboot_set_env() errors (e.g. .flags read-only) are ignored by fw_setenv -s. */
        p = u->changes.p ?: "";
        end = p + u->changes.n;
        while (p < end) {
                char piece[LIBUBOOT_LINE_LENGTH];
                size_t len = 0;
                char *value;

                while (p < end && len < LIBUBOOT_LINE_LENGTH - 1) {
                        piece[len++] = *p;
                        if (*p++ == '\n')
                                break;
                }
                piece[len] = '\0';
                while (len && (piece[len - 1] == '\n' || piece[len - 1] == '\r'))
                        piece[--len] = '\0';
                if (len == 0 || piece[0] == '#')
                        continue;
                value = strchr(piece, '=');
                if (!value)
                        continue;
                *value++ = '\0';
                (void) libuboot_set_env(u->ctx, piece, *value ? value : NULL);
        }
        u->changes.n = 0;
        r = libuboot_env_store(u->ctx);
        if (r != 0)
                return r < 0 ? r : -EIO;
        u->stored = true;
        return 0;
}

/* boot-sim.sh strtol0(): test's simple_strtol(s, NULL, 0). */
static int64_t uboot_strtol0(const char *s) {
        uint64_t sign = 1;
        unsigned base = 10;

        if (*s == '-') {
                sign = (uint64_t) -1;
                s++;
        }
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && bs_hexval(s[2]) >= 0) {
                base = 16;
                s += 2;
        } else if (s[0] == '0')
                base = 8;
        return (int64_t) (sign * bs_digits(s, base));
}

/* boot-sim.sh setexpr_dec(): "a - 1" with a read as hex, the result stored as "%lx". */
static void uboot_setexpr_dec(const char *s, char out[static 24]) {
        if (strncmp(s, "0x", 2) == 0)
                s += 2;
        if (strncmp(s, "0X", 2) == 0)
                s += 2;
        snprintf(out, 24, "%" PRIx64, bs_digits(s, 16) - 1);
}

/* "BOOT_<x>_LEFT" (malloc'd), NULL on ENOMEM. */
static char *left_name(const char *x) {
        char *n;
        return asprintf(&n, "BOOT_%s_LEFT", x) < 0 ? NULL : n;
}

int bootsim_uboot_power_on(const char *dir, char ret[static 64]) {
        Uboot u = {};
        const char *order;
        char new[24], *words = NULL, *slot = NULL;
        int r;

        r = uboot_open(&u, dir);
        if (r < 0)
                goto out;
        /* [2] for x in ${env[BOOT_ORDER]-}: split on blanks */
        order = bs_vars_get(&u.env, "BOOT_ORDER") ?: "";
        words = strdup(order);
        if (!words) {
                r = -ENOMEM;
                goto out;
        }
        for (char *save = NULL, *x = strtok_r(words, IFS_WHITE, &save); x && !slot; x = strtok_r(NULL, IFS_WHITE, &save)) {
                char *name = left_name(x);
                const char *left;

                if (!name) {
                        r = -ENOMEM;
                        goto out;
                }
                /* [3], [4], [5] */
                left = bs_vars_get(&u.env, name) ?: "";
                if (uboot_strtol0(left) > 0) {
                        uboot_setexpr_dec(left, new);
                        uboot_change(&u, name, new);
                        slot = x;
                }
                free(name);
        }
        if (slot) {
                r = uboot_saveenv(&u); /* [6] */
                if (r == 0)
                        r = bs_set_bootname(ret, slot, strlen(slot)); /* [7] */
                goto out;
        }
        /* [8] re-arm every slot in the order, save (if there was any) */
        strcpy(words, order);
        for (char *save = NULL, *x = strtok_r(words, IFS_WHITE, &save); x; x = strtok_r(NULL, IFS_WHITE, &save)) {
                char *name = left_name(x);

                if (!name) {
                        r = -ENOMEM;
                        goto out;
                }
                uboot_change(&u, name, UBOOT_REARM);
                free(name);
        }
        r = u.changes.n > 0 ? uboot_saveenv(&u) : 0;
out:
        if (r < 0 && r != -ENAMETOOLONG)
                ret[0] = '\0';
        free(words);
        uboot_done(&u);
        return r;
}

/* boot-sim-bootcount.sh get_ulong(): leading decimal digits, none → 0. */
static int64_t uboot_get_ulong(Uboot *u, const char *name) {
        return (int64_t) bs_digits(bs_vars_get(&u->env, name) ?: "", 10);
}

/* setvar NAME [VALUE]: in memory and remembered for the next saveenv. */
static void uboot_setvar(Uboot *u, const char *name, const char *value) {
        if (value)
                (void) bs_vars_set(&u->env, name, strlen(name), value);
        else
                bs_vars_unset(&u->env, name);
        uboot_change(u, name, value);
}

int bootsim_bootcount_power_on(const char *dir, char ret[static 64]) {
        Uboot u = {};
        int64_t upgrade, count, limit;
        char count_s[24];
        const char *slot;
        int r;

        r = uboot_open(&u, dir);
        if (r < 0)
                goto out;
        /* [1] bootcount_inc() */
        upgrade = uboot_get_ulong(&u, "upgrade_available");
        if (upgrade != 0) {
                count = (int64_t) ((uint64_t) uboot_get_ulong(&u, "bootcount") + 1);
                snprintf(count_s, sizeof(count_s), "%" PRId64, count);
                uboot_setvar(&u, "bootcount", count_s);
                r = uboot_saveenv(&u);
                if (r < 0)
                        goto out;
        } else
                (void) bs_vars_set(&u.env, "bootcount", strlen("bootcount"), "1"); /* in memory only */
        /* [2] bootcount_error() */
        if (upgrade == 0)
                count = 0;
        limit = uboot_get_ulong(&u, "bootlimit");
        if (limit != 0 && count > limit) {
                /* [4] altbootcmd */
                const char *alt = bs_vars_get(&u.env, "update1_altslot");

                if (alt && *alt) {
                        uboot_setvar(&u, "update1_slot", alt);
                        uboot_setvar(&u, "update1_altslot", NULL);
                }
                uboot_setvar(&u, "upgrade_available", "0");
                uboot_setvar(&u, "bootcount", "0");
                r = uboot_saveenv(&u);
                if (r < 0)
                        goto out;
        }
        /* [3] bootcmd */
        slot = bs_vars_get(&u.env, "update1_slot") ?: "";
        r = bs_set_bootname(ret, slot, strlen(slot));
out:
        if (r < 0 && r != -ENAMETOOLONG)
                ret[0] = '\0';
        uboot_done(&u);
        return r;
}
