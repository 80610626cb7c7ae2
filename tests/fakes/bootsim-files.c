/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ports of the simulators whose storage is a plain file (see bootsim.h, bootsim.c):
 * boot-sim-grub.sh with grub-editenv's envblk code, boot-sim-barebox.sh with the
 * barebox-state stand-in, boot-sim-efi.sh with the efibootmgr stand-in's file format. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootsim-internal.h"

/* --- GRUB (boot-sim-grub.sh): grub-editenv list / set, ported from GRUB's envblk.c ----------- */

/* grub_envblk_iterate() as grub-editenv list prints it: "name=value\n", value unescaped;
 * lines starting with '#' skipped; a broken tail ends the listing. */
static void grub_list(const char *buf, size_t size, Buf *out) {
        const char *p = buf + GRUBENV_SIG_LEN, *pend = buf + size;

        while (p < pend) {
                if (*p != '#') {
                        const char *name = p, *name_end, *value;
                        bool nul = false;

                        while (p < pend && *p != '=')
                                p++;
                        if (p == pend)
                                return;
                        name_end = p++;
                        value = p;
                        while (p < pend && *p != '\n')
                                p += *p == '\\' ? 2 : 1;
                        if (p >= pend)
                                return;
                        /* printf("%s=%s\n"): each string ends at a NUL byte */
                        bs_buf_add(out, name, strnlen(name, (size_t) (name_end - name)));
                        bs_buf_adds(out, "=");
                        for (const char *q = value; *q != '\n'; q++) {
                                if (*q == '\\')
                                        q++;
                                nul = nul || *q == '\0';
                                if (!nul)
                                        bs_buf_add(out, q, 1);
                        }
                        bs_buf_adds(out, "\n");
                }
                /* find_next_line() */
                while (p < pend && *p != '\n')
                        p += *p == '\\' ? 2 : 1;
                p++;
        }
}

/* grub_envblk_set(): 1 on success, 0 when the block is broken or full. */
static int grub_envblk_set(char *buf, size_t size, const char *name, const char *value) {
        char *p = buf + GRUBENV_SIG_LEN, *pend = buf + size, *space;
        int nl = (int) strlen(name), vl = 0, found = 0;

        for (const char *v = value; *v; v++)
                vl += *v == '\\' || *v == '\n' ? 2 : 1;
        for (space = pend - 1; *space == '#'; space--)
                ;
        if (*space != '\n')
                return 0;
        space++;
        while (p + nl + 1 < space) {
                if (memcmp(p, name, (size_t) nl) == 0 && p[nl] == '=') {
                        int len = 0;

                        p += nl + 1;
                        while (p + len < pend && p[len] != '\n')
                                len += p[len] == '\\' ? 2 : 1;
                        if (p + len >= pend)
                                return 0;
                        if (pend - space < vl - len)
                                return 0;
                        if (vl < len) {
                                memmove(p + vl, p + len, (size_t) (pend - (p + len)));
                                memset(space - (len - vl), '#', (size_t) (len - vl));
                        } else
                                memmove(p + vl, p + len, (size_t) (pend - (p + vl)));
                        found = 1;
                        break;
                }
                while (p < pend && *p != '\n')
                        p += *p == '\\' ? 2 : 1;
                p++;
        }
        if (!found) {
                if (pend - space < nl + 1 + vl + 1)
                        return 0;
                memcpy(space, name, (size_t) nl);
                p = space + nl;
                *p++ = '=';
        }
        for (const char *v = value; *v; v++) {
                if (*v == '\\' || *v == '\n')
                        *p++ = '\\';
                *p++ = *v;
        }
        *p = '\n';
        return 1;
}

/* boot-sim-grub.sh grub_strtosl() */
static int64_t grub_strtosl(const char *s) {
        uint64_t sign = 1;
        unsigned base = 10;

        while (*s && strchr(" \t\n\v\f\r", *s))
                s++;
        if (*s == '-') {
                sign = (uint64_t) -1;
                s++;
        }
        if (s[0] == '0' && s[1] == 'x') {
                base = 16;
                s += 2;
        } else if (s[0] == '0' && s[1] >= '0' && s[1] <= '7')
                base = 8;
        return (int64_t) (sign * bs_digits(s, base));
}

static bool grub_eq(const char *a, int64_t b) {
        return grub_strtosl(a) == b;
}

int bootsim_grub_power_on(const char *dir, char ret[static 64]) {
        enum { ORDER, A_OK, A_TRY, B_OK, B_TRY, N_VARS };
        static const char *const names[N_VARS] = { "ORDER", "A_OK", "A_TRY", "B_OK", "B_TRY" };
        /* [1] defaults */
        const char *env[N_VARS] = { "A B", "0", "0", "0", "0" };
        char path[PATH_MAX], *buf = NULL, *words = NULL, *line, *slot = NULL;
        Buf dump = {};
        size_t size;
        int r;

        ret[0] = '\0';
        r = bs_path_in(path, sizeof(path), dir, "grubenv");
        if (r < 0)
                return r;
        /* [2] load_env: grub-editenv list (which would create a missing file; GRUB cannot, and
         * neither do we: a missing grubenv is a broken board). */
        r = bs_read_all(path, &buf, &size);
        if (r < 0)
                return r;
        if (size < sizeof(GRUBENV_SIGNATURE) || memcmp(buf, GRUBENV_SIGNATURE, GRUBENV_SIG_LEN) != 0) {
                r = -EBADMSG;
                goto out;
        }
        grub_list(buf, size, &dump);
        if (dump.failed) {
                r = -ENOMEM;
                goto out;
        }
        /* name=${line%%=*}: with no '=' the whole line is the name and the value */
        for (char *p = dump.p ?: "", *end = p + dump.n; (line = bs_next_line(&p, end));) {
                char *eq = strchr(line, '=');
                size_t nlen = eq ? (size_t) (eq - line) : strlen(line);

                for (int i = 0; i < N_VARS; i++)
                        if (strlen(names[i]) == nlen && memcmp(line, names[i], nlen) == 0)
                                env[i] = eq ? eq + 1 : line;
        }
        /* [3] walk ORDER */
        words = strdup(env[ORDER]);
        if (!words) {
                r = -ENOMEM;
                goto out;
        }
        for (char *save = NULL, *x = strtok_r(words, IFS_WHITE, &save); x; x = strtok_r(NULL, IFS_WHITE, &save)) {
                const char *ok = "0", *try = "0";

                if (strcmp(x, "A") == 0) {
                        ok = env[A_OK];
                        try = env[A_TRY];
                        env[A_TRY] = "1";
                }
                if (strcmp(x, "B") == 0) {
                        ok = env[B_OK];
                        try = env[B_TRY];
                        env[B_TRY] = "1";
                }
                if (grub_eq(ok, 1) && grub_eq(try, 0)) {
                        slot = x;
                        break;
                }
        }
        /* [4] nothing chosen: re-arm the good ones */
        if (!slot) {
                if (grub_eq(env[A_OK], 1) && grub_eq(env[A_TRY], 1))
                        env[A_TRY] = "0";
                if (grub_eq(env[B_OK], 1) && grub_eq(env[B_TRY], 1))
                        env[B_TRY] = "0";
        }
        /* [5] save_env A_TRY B_TRY: grub-editenv set, both or nothing, the block rewritten in
         * place (same size) */
        if (!grub_envblk_set(buf, size, "A_TRY", env[A_TRY]) || !grub_envblk_set(buf, size, "B_TRY", env[B_TRY])) {
                r = -ENOSPC;
                goto out;
        }
        r = bs_rewrite(path, buf, size);
        /* [6] */
        if (r == 0 && slot)
                r = bs_set_bootname(ret, slot, strlen(slot));
out:
        free(dump.p);
        free(words);
        free(buf);
        return r;
}

/* --- barebox (boot-sim-barebox.sh + the barebox-state stand-in) ---------------------------- */

/* The stand-in's strtoul0(): strtoul(VALUE, NULL, 0) into a uint32. */
static uint32_t standin_strtoul0(const char *s) {
        unsigned base = 10;
        uint64_t v = 0;

        while (*s && strchr(" \t\n\v\f\r", *s))
                s++;
        if (*s == '+')
                s++;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && bs_hexval(s[2]) >= 0) {
                base = 16;
                s += 2;
        } else if (s[0] == '0')
                base = 8;
        for (; *s; s++) {
                int d = bs_hexval(*s);
                if (d < 0 || (unsigned) d >= base)
                        break;
                v = (v * base + (unsigned) d) & 0xffffffffffffULL;
        }
        return (uint32_t) v;
}

/* $(( VALUE - 1 )) on a value that passed legal_number(): bash reads a leading 0 as octal; a
 * digit 8 or 9 there is an arithmetic error, which abandons the script's [3] (no decrement). */
static bool bash_arith_minus_one(const char *s, int64_t *ret) {
        uint64_t sign = 1, v = 0;

        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '+' || *s == '-')
                sign = *s++ == '-' ? (uint64_t) -1 : 1;
        if (*s == '0')
                for (const char *q = s; *q >= '0' && *q <= '9'; q++)
                        if (*q > '7')
                                return false;
        if (*s < '0' || *s > '9')
                return false; /* e.g. a leading \v that strtoimax skipped */
        v = bs_digits(s, *s == '0' ? 8 : 10);
        *ret = (int64_t) (sign * v - 1);
        return true;
}

/* "bootstate.<t>.remaining_attempts" for target t (a name of at most BAREBOX_MAX_TARGET). */
#define BAREBOX_MAX_TARGET 1024
typedef struct Target {
        const char *name;
        size_t len;
        size_t prio; /* index of its priority variable */
        char attempts[BAREBOX_MAX_TARGET + 32];
} Target;

int bootsim_barebox_power_on(const char *dir, char ret[static 64]) {
        char path[PATH_MAX], *buf = NULL, *line, *vals = NULL;
        size_t size, n_lines = 0, n_targets = 0, n_sets = 0;
        size_t *lines = NULL; /* per '=' line of the file: index into file */
        struct {
                size_t var;
                char value[24];
        } *sets = NULL;
        Target *targets = NULL;
        Vars file = {};       /* the stand-in's vars[] */
        Var *sim = NULL;      /* the script's var[]: the same names, changed in memory */
        ssize_t best = -1;
        bool any = false;
        int64_t p, a, pb;
        Buf out = {};
        int r;

        ret[0] = '\0';
        r = bs_path_in(path, sizeof(path), dir, "barebox.state");
        if (r < 0)
                return r;
        r = bs_read_all(path, &buf, &size);
        if (r < 0)
                return r;
        bs_drop_nuls(buf, &size);
        lines = calloc(size / 2 + 1, sizeof(size_t));
        if (!lines) {
                r = -ENOMEM;
                goto out;
        }
        /* The stand-in's parse: lines with '=', names in file order (duplicates repeat, the
         * last value wins) */
        for (char *q = buf, *end = buf + size; (line = bs_next_line(&q, end));) {
                char *eq = strchr(line, '=');
                ssize_t i;

                if (!eq)
                        continue;
                i = bs_vars_set(&file, line, (size_t) (eq - line), eq + 1);
                if (i < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                lines[n_lines++] = (size_t) i;
        }
        /* -d prints those lines; the script reads them back into var[] and takes the targets
         * from the lines matching ^bootstate\.([A-Za-z0-9_]+)\.priority=, in that order. */
        sim = malloc((file.n + 1) * sizeof(Var));
        targets = calloc(n_lines + 1, sizeof(Target));
        sets = calloc(n_lines + 2, sizeof(*sets));
        if (!sim || !targets || !sets) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(sim, file.v, file.n * sizeof(Var));
        for (size_t i = 0; i < n_lines; i++) {
                const Var *v = &file.v[lines[i]];
                const size_t pre = strlen("bootstate."), suf = strlen(".priority");
                Target *t = &targets[n_targets];

                if (v->name_len <= pre + suf || strncmp(v->name, "bootstate.", pre) != 0 ||
                    memcmp(v->name + v->name_len - suf, ".priority", suf) != 0)
                        continue;
                t->name = v->name + pre;
                t->len = v->name_len - pre - suf;
                if (strspn(t->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") < t->len)
                        continue;
                if (t->len > BAREBOX_MAX_TARGET) {
                        r = -ENAMETOOLONG; /* not a board of ours */
                        goto out;
                }
                t->prio = lines[i];
                snprintf(t->attempts, sizeof(t->attempts), "bootstate.%.*s.remaining_attempts", (int) t->len, t->name);
                n_targets++;
        }
#define SIMVAR(name) ({ ssize_t _i = bs_vars_index(&file, (name), strlen(name)); _i >= 0 ? sim[_i].value : NULL; })
#define OR0(v) ((v) && *(v) ? (v) : "0") /* ${x:-0} */
        /* [1] reset_attempts=all-zero: no enabled target with attempts left */
        for (size_t t = 0; t < n_targets; t++) {
                const char *av = SIMVAR(targets[t].attempts);
                if (bs_bash_number(sim[targets[t].prio].value, &p) && p > 0 && bs_bash_number(OR0(av), &a) && a > 0)
                        any = true;
        }
        if (!any)
                for (size_t t = 0; t < n_targets; t++) {
                        ssize_t i = bs_vars_index(&file, targets[t].attempts, strlen(targets[t].attempts));

                        if (i < 0) { /* the stand-in refuses the whole -s call: nothing saved */
                                r = -ENOENT;
                                goto out;
                        }
                        sim[i].value = BAREBOX_DEFAULT_ATTEMPTS;
                        sets[n_sets].var = (size_t) i;
                        snprintf(sets[n_sets++].value, sizeof(sets[0].value), "%s", BAREBOX_DEFAULT_ATTEMPTS);
                }
        /* [2] the enabled target with the highest priority and attempts left, first on a tie */
        for (size_t t = 0; t < n_targets; t++) {
                const char *av = SIMVAR(targets[t].attempts);
                if (bs_bash_number(sim[targets[t].prio].value, &p) && p > 0 && bs_bash_number(OR0(av), &a) && a > 0 &&
                    (best < 0 || (bs_bash_number(sim[targets[best].prio].value, &pb) && p > pb)))
                        best = (ssize_t) t;
        }
        /* [3] unless attempts_locked is 1: one attempt used up */
        if (best >= 0) {
                const char *locked = SIMVAR("bootstate.attempts_locked");
                ssize_t i = bs_vars_index(&file, targets[best].attempts, strlen(targets[best].attempts));
                int64_t left;

                /* i >= 0: [2] saw attempts > 0 */
                if (strcmp(OR0(locked), "1") != 0 && bash_arith_minus_one(sim[i].value, &left)) {
                        sets[n_sets].var = (size_t) i;
                        snprintf(sets[n_sets++].value, sizeof(sets[0].value), "%" PRId64, left);
                }
        }
#undef SIMVAR
#undef OR0
        /* The stand-in: each -s value through strtoul0, then every line rewritten once */
        if (n_sets > 0) {
                vals = calloc(n_sets, 16);
                if (!vals) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t k = 0; k < n_sets; k++) {
                        snprintf(vals + 16 * k, 16, "%" PRIu32, standin_strtoul0(sets[k].value));
                        file.v[sets[k].var].value = vals + 16 * k;
                }
                for (size_t i = 0; i < n_lines; i++) {
                        const Var *v = &file.v[lines[i]];
                        bs_buf_add(&out, v->name, v->name_len);
                        bs_buf_adds(&out, "=");
                        bs_buf_adds(&out, v->value);
                        bs_buf_adds(&out, "\n");
                }
                r = out.failed ? -ENOMEM : bs_rewrite(path, out.p ?: "", out.n);
                if (r < 0)
                        goto out;
        }
        if (best >= 0)
                r = bs_set_bootname(ret, targets[best].name, targets[best].len);
out:
        free(vals);
        free(out.p);
        free(sets);
        free(targets);
        free(sim);
        free(file.v);
        free(lines);
        free(buf);
        return r;
}

/* --- EFI (boot-sim-efi.sh, the efibootmgr stand-in's state file) --------------------------- */

typedef struct EfiEntry {
        const char *num, *active, *label;
} EfiEntry;

int bootsim_efi_power_on(const char *dir, char ret[static 64]) {
        const char *current = "", *next = "", *timeout = "", *order = "", *boot = "";
        char path[PATH_MAX], *buf = NULL, *line, *items = NULL;
        bool have_order = false;
        size_t size, n_nums = 0;
        Vars entries = {};             /* num → index into ent (value unused) */
        EfiEntry *ent = NULL;          /* by unique num: last active/label */
        const char **nums = NULL;      /* in file order, duplicates repeat */
        Buf out = {};
        int r;

        ret[0] = '\0';
        r = bs_path_in(path, sizeof(path), dir, "efi.state");
        if (r < 0)
                return r;
        r = bs_read_all(path, &buf, &size);
        if (r < 0)
                return r;
        bs_drop_nuls(buf, &size);
        nums = calloc(size / 6 + 1, sizeof(char *));
        ent = calloc(size / 6 + 1, sizeof(EfiEntry));
        if (!nums || !ent) {
                r = -ENOMEM;
                goto out;
        }
        for (char *q = buf, *end = buf + size; (line = bs_next_line(&q, end));) {
                if (strncmp(line, "current ", 8) == 0)
                        current = line + 8;
                else if (strncmp(line, "next ", 5) == 0)
                        next = line + 5;
                else if (strncmp(line, "timeout ", 8) == 0)
                        timeout = line + 8;
                else if (strncmp(line, "order", 5) == 0) {
                        order = line + 5 + (line[5] == ' ');
                        have_order = true;
                } else if (strncmp(line, "entry ", 6) == 0) {
                        /* n=${rest%% *}; rest=${rest#* }; active=${rest%% *}; label=${rest#* } */
                        char *rest = line + 6, *sp = strchr(rest, ' '), *num = rest;
                        ssize_t i;

                        if (sp) {
                                *sp = '\0';
                                rest = sp + 1;
                        }
                        i = bs_vars_set(&entries, num, strlen(num), NULL);
                        if (i < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        nums[n_nums++] = num;
                        ent[i].num = num;
                        sp = strchr(rest, ' ');
                        if (sp) {
                                /* rest is a copy in bash: keep the label intact, cut active */
                                ent[i].label = sp + 1;
                                *sp = '\0';
                                ent[i].active = rest;
                        } else {
                                ent[i].active = rest;
                                ent[i].label = rest;
                        }
                }
        }
        /* [1] BootNext (of an existing entry) is consumed and booted */
        if (*next && bs_vars_index(&entries, next, strlen(next)) >= 0) {
                boot = next;
                next = "";
        } else {
                /* [2] the first active entry of BootOrder; IFS=, read -a */
                items = strdup(order);
                if (!items) {
                        r = -ENOMEM;
                        goto out;
                }
                for (char *p = items, *comma; p; p = comma ? comma + 1 : NULL) {
                        ssize_t i;

                        comma = strchr(p, ',');
                        if (comma)
                                *comma = '\0';
                        if (!*p)
                                continue;
                        i = bs_vars_index(&entries, p, strlen(p));
                        if (i >= 0 && strcmp(ent[i].active, "1") == 0) {
                                boot = ent[i].num;
                                break;
                        }
                }
        }
        current = boot; /* [3] */
        if (*current) {
                bs_buf_adds(&out, "current ");
                bs_buf_adds(&out, current);
                bs_buf_adds(&out, "\n");
        }
        if (*next) {
                bs_buf_adds(&out, "next ");
                bs_buf_adds(&out, next);
                bs_buf_adds(&out, "\n");
        }
        if (*timeout) {
                bs_buf_adds(&out, "timeout ");
                bs_buf_adds(&out, timeout);
                bs_buf_adds(&out, "\n");
        }
        if (have_order) {
                bs_buf_adds(&out, "order ");
                bs_buf_adds(&out, order);
                bs_buf_adds(&out, "\n");
        }
        for (size_t k = 0; k < n_nums; k++) {
                const EfiEntry *e = &ent[bs_vars_index(&entries, nums[k], strlen(nums[k]))];
                bs_buf_adds(&out, "entry ");
                bs_buf_adds(&out, nums[k]);
                bs_buf_adds(&out, " ");
                bs_buf_adds(&out, e->active);
                bs_buf_adds(&out, " ");
                bs_buf_adds(&out, e->label);
                bs_buf_adds(&out, "\n");
        }
        if (out.failed) {
                r = -ENOMEM;
                goto out;
        }
        r = bs_rewrite(path, out.p ?: "", out.n);
        if (r == 0 && *boot) {
                const EfiEntry *e = &ent[bs_vars_index(&entries, boot, strlen(boot))];
                r = bs_set_bootname(ret, e->label, strcspn(e->label, "\t"));
        }
out:
        free(out.p);
        free(items);
        free(entries.v);
        free(ent);
        free(nums);
        free(buf);
        return r;
}
