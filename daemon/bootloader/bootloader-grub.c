/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GRUB backend: the grubenv block with RAUC's variables, so RAUC's grub.cfg logic works:
 *   ORDER="A B"      boot order
 *   <x>_OK=1         slot x may be booted (0: bad)
 *   <x>_TRY=0        slot x has not used its attempt yet; grub.cfg sets it to 1 before booting
 *                    x, so a slot gets one attempt per MarkGood (which sets it back to 0)
 *   UPDATE1_TRIAL=x  ours: x was made primary for a trial boot and is not committed yet
 * packaging/bootloader/grub.cfg consumes them; tests/fakes/boot-sim-grub.sh applies its logic.
 * The block is read and written natively: exactly 1024 bytes, "# GRUB Environment Block\n",
 * name=value lines (GRUB escapes '\' and newline with a backslash), '#' padding.  A mutation
 * replaces the whole file atomically (temporary file, fsync, rename, directory fsync), so a
 * power cut leaves the old or the new block; other variables (saved_entry, ...) are kept. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "fileio.h"
#include "util.h"

#define GRUBENV_SIZE 1024
#define GRUBENV_SIGNATURE "# GRUB Environment Block\n"
#define GRUBENV_MAX_VARS 128
#define ORDER_VAR "ORDER"
#define TRIAL_VAR "UPDATE1_TRIAL"
#define ORDER_SEPARATORS " \t\n"

typedef struct GrubData {
        char *path;
} GrubData;

/* A name=value line, or a comment line kept in place (name NULL, value = the line without
 * its newline): grub-editenv writes a "# WARNING: ..." line, and we write what it writes. */
typedef struct GrubVar {
        char *name;
        char *value;
} GrubVar;

typedef struct GrubEnv {
        GrubVar var[GRUBENV_MAX_VARS];
        unsigned n;
        mode_t mode;
} GrubEnv;

static void genv_done(GrubEnv *g) {
        for (unsigned i = 0; i < g->n; i++) {
                free(g->var[i].name);
                free(g->var[i].value);
        }
        g->n = 0;
}

static int check_bootname(const char *name, UError *err) {
        return bootloader_check_bootname(name, "grubenv variable names", err);
}

static GrubVar *genv_find(GrubEnv *g, const char *name) {
        for (unsigned i = 0; i < g->n; i++)
                if (g->var[i].name && streq(g->var[i].name, name))
                        return &g->var[i];
        return NULL;
}

static const char *genv_get(GrubEnv *g, const char *name) {
        GrubVar *v = genv_find(g, name);
        return v ? v->value : NULL;
}

/* value NULL removes the variable; name NULL appends a comment line. */
static int genv_set(GrubEnv *g, const char *name, const char *value, UError *err) {
        GrubVar *v = name ? genv_find(g, name) : NULL;
        char *copy;

        if (!value) {
                if (v) {
                        free(v->name);
                        free(v->value);
                        memmove(v, v + 1, (g->n - (v - g->var) - 1) * sizeof(GrubVar));
                        g->n--;
                }
                return 0;
        }
        copy = strdup(value);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (v) {
                free(v->value);
                v->value = copy;
                return 0;
        }
        if (g->n >= GRUBENV_MAX_VARS) {
                free(copy);
                return uerror_set(err, ERROR_FAILED, -E2BIG, "grubenv has more than %d variables", GRUBENV_MAX_VARS);
        }
        g->var[g->n] = (GrubVar) { .name = name ? strdup(name) : NULL, .value = copy };
        if (name && !g->var[g->n].name) {
                free(copy);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        g->n++;
        return 0;
}

/* Parses the block the way GRUB's envblk does, but strictly: every line after the signature
 * is a '#' comment/padding or name=value, and anything else is reported, not skipped. */
static int genv_parse(GrubData *d, const char *buf, size_t size, GrubEnv *g, UError *err) {
        const char *p = buf + strlen(GRUBENV_SIGNATURE), *end = buf + size;
        unsigned line = 1;

        if (size < strlen(GRUBENV_SIGNATURE) || memcmp(buf, GRUBENV_SIGNATURE, strlen(GRUBENV_SIGNATURE)) != 0)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "%s is not a GRUB environment block (it does not start with \"# GRUB Environment Block\")",
                                  d->path);
        if (memchr(buf, '\0', size))
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "%s contains a NUL byte: not a GRUB environment block",
                                  d->path);
        while (p < end) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                const char *eq;
                size_t vlen = 0;
                UError ignore = UERROR_NULL;

                line++;
                if (*p == '#') {
                        const char *nl = memchr(p, '\n', end - p);

                        if (!nl) /* the '#' padding up to the end of the block */
                                break;
                        name = strndup(p, nl - p);
                        if (!name)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        if (genv_set(g, NULL, name, &ignore) < 0)
                                return uerror_set(err, ignore.kind, ignore.error, "%s: %s", d->path, ignore.message);
                        p = nl + 1;
                        continue;
                }
                eq = p;
                while (eq < end && *eq != '=' && *eq != '\n')
                        eq++;
                if (eq == end || *eq != '=' || eq == p)
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "%s: line %u is neither a comment nor name=value", d->path, line);
                name = strndup(p, eq - p);
                value = malloc(end - eq);
                if (!name || !value)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                for (p = eq + 1; p < end && *p != '\n'; p++) {
                        if (*p == '\\') {
                                if (++p == end)
                                        break;
                                if (*p == '\n')
                                        line++;
                        }
                        value[vlen++] = *p;
                }
                if (p >= end)
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "%s: variable %s is not terminated by a newline (truncated block?)", d->path,
                                          name);
                value[vlen] = '\0';
                p++;
                if (genv_find(g, name))
                        return uerror_set(err, ERROR_FAILED, -EBADMSG, "%s: variable %s is set twice", d->path, name);
                if (genv_set(g, name, value, &ignore) < 0)
                        return uerror_set(err, ignore.kind, ignore.error, "%s: %s", d->path, ignore.message);
        }
        return 0;
}

static int genv_read(GrubData *d, GrubEnv *g, UError *err) {
        _cleanup_close_ int fd = -EBADF;
        char buf[GRUBENV_SIZE + 1];
        struct stat st;
        ssize_t n;
        int r;

        *g = (GrubEnv) {};
        fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot open the GRUB environment %s: %s", d->path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot stat the GRUB environment %s: %s", d->path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "The GRUB environment %s is not a regular file", d->path);
        /* GRUB's save_env rewrites the block in place and grub-editenv makes it 1024 bytes;
         * any other size means someone else wrote it. */
        if (st.st_size != GRUBENV_SIZE)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "The GRUB environment %s is %" PRIu64 " bytes, expected exactly %d", d->path,
                                  (uint64_t) st.st_size, GRUBENV_SIZE);
        n = read(fd, buf, sizeof(buf));
        if (n < 0) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot read the GRUB environment %s: %s", d->path, strerror(-r));
        }
        if (n != GRUBENV_SIZE)
                return uerror_set(err, ERROR_IO, -EIO, "The GRUB environment %s changed size while being read", d->path);
        g->mode = st.st_mode & 07777;
        r = genv_parse(d, buf, GRUBENV_SIZE, g, err);
        if (r < 0)
                genv_done(g);
        return r;
}

static int genv_write(GrubData *d, GrubEnv *g, UError *err) {
        _cleanup_free_ char *target = NULL;
        char buf[GRUBENV_SIZE];
        size_t len = strlen(GRUBENV_SIGNATURE);
        int r;

        memcpy(buf, GRUBENV_SIGNATURE, len);
        for (unsigned i = 0; i < g->n; i++) {
                const char *name = g->var[i].name, *v = g->var[i].value;
                size_t need = name ? strlen(name) + 2 : 1; /* '=' and '\n' */

                if (!name) {
                        if (strlen(v) + 1 > sizeof(buf) - len)
                                return uerror_set(err, ERROR_FAILED, -E2BIG,
                                                  "Cannot write %s: the variables do not fit into the %d-byte GRUB environment block",
                                                  d->path, GRUBENV_SIZE);
                        /* memcpy, not sprintf: a line that exactly fills the block left
                         * sprintf's terminating NUL one byte past it (found by fuzz-grubenv). */
                        memcpy(buf + len, v, strlen(v));
                        len += strlen(v);
                        buf[len++] = '\n';
                        continue;
                }
                for (const char *c = v; *c; c++)
                        need += (*c == '\\' || *c == '\n') ? 2 : 1;
                if (need > sizeof(buf) - len)
                        return uerror_set(err, ERROR_FAILED, -E2BIG,
                                          "Cannot write %s: the variables do not fit into the %d-byte GRUB environment block (at %s)",
                                          d->path, GRUBENV_SIZE, name);
                memcpy(buf + len, name, strlen(name));
                len += strlen(name);
                buf[len++] = '=';
                for (const char *c = v; *c; c++) {
                        if (*c == '\\' || *c == '\n')
                                buf[len++] = '\\';
                        buf[len++] = *c;
                }
                buf[len++] = '\n';
        }
        memset(buf + len, '#', sizeof(buf) - len);

        /* Replace the file a symlink points to, not the symlink. */
        target = realpath(d->path, NULL);
        if (!target) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot resolve %s: %s", d->path, strerror(-r));
        }
        r = write_file_atomic(target, buf, sizeof(buf), g->mode ?: 0644);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot write the GRUB environment %s: %s; the previous one is kept",
                                  target, strerror(-r));
        return 0;
}

/* <x>_OK / <x>_TRY: we and grub.cfg only write 0 or 1; unset is 0 (grub.cfg's default). */
static int flag_get(GrubData *d, GrubEnv *g, const char *bootname, const char *suffix, bool *ret, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 8];
        const char *v;

        snprintf(var, sizeof(var), "%s%s", bootname, suffix);
        v = genv_get(g, var);
        if (!v || streq(v, "0"))
                *ret = false;
        else if (streq(v, "1"))
                *ret = true;
        else
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "%s: variable %s='%s' is not 0 or 1", d->path, var, v);
        return 0;
}

static int flag_set(GrubEnv *g, const char *bootname, const char *suffix, bool value, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 8];

        snprintf(var, sizeof(var), "%s%s", bootname, suffix);
        return genv_set(g, var, value ? "1" : "0", err);
}

static int order_read(GrubData *d, GrubEnv *g, BootList *o, UError *err) {
        return bootlist_split(o, genv_get(g, ORDER_VAR), ORDER_SEPARATORS, "grubenv variable " ORDER_VAR, err);
}

static int order_write(GrubEnv *g, const BootList *o, UError *err) {
        _cleanup_free_ char *v = NULL;
        int r = bootlist_join(o, ' ', &v, err);
        return r < 0 ? r : genv_set(g, ORDER_VAR, v, err);
}

static bool trial_is(GrubEnv *g, const char *bootname) {
        const char *t = genv_get(g, TRIAL_VAR);
        return t && streq(t, bootname);
}

/* What grub.cfg would pick: the first in ORDER with OK=1 and TRY=0; with none, it re-arms the
 * good ones and reboots, so the first with OK=1 comes next. */
static int pick(GrubData *d, GrubEnv *g, const BootList *o, bool need_try0, const char **ret, UError *err) {
        for (unsigned i = 0; i < o->n; i++) {
                bool ok, try;
                int r;

                if (bootloader_check_bootname(o->item[i], "", NULL) < 0)
                        continue; /* not a slot grub.cfg knows */
                r = flag_get(d, g, o->item[i], "_OK", &ok, err);
                if (r >= 0)
                        r = flag_get(d, g, o->item[i], "_TRY", &try, err);
                if (r < 0)
                        return r;
                if (ok && (!need_try0 || !try)) {
                        *ret = o->item[i];
                        return 1;
                }
        }
        *ret = NULL;
        return 0;
}

/* --- ops -------------------------------------------------------------------------------- */

static int grub_open(const Config *c, void **ret_data, UError *err) {
        GrubData *d;

        d = calloc(1, sizeof(GrubData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->path = strdup(c->grubenv ?: CONFIG_DEFAULT_GRUBENV);
        if (!d->path) {
                free(d);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        /* The block itself is read per call (GRUB writes it on every boot). */
        if (access(d->path, R_OK | W_OK) < 0) {
                int r = -errno;
                uerror_set(err, ERROR_IO, r, "Cannot access the GRUB environment %s: %s (create it with grub-editenv)",
                           d->path, strerror(-r));
                free(d->path);
                free(d);
                return r;
        }
        *ret_data = d;
        return 0;
}

static void grub_close(void *data) {
        GrubData *d = data;

        if (!d)
                return;
        free(d->path);
        free(d);
}

static int grub_get_primary(void *data, char **ret_bootname, UError *err) {
        GrubData *d = data;
        _cleanup_(genv_done) GrubEnv g = {};
        _cleanup_(bootlist_done) BootList o = {};
        const char *p;
        char *copy;
        int r;

        r = genv_read(d, &g, err);
        if (r >= 0)
                r = order_read(d, &g, &o, err);
        if (r < 0)
                return r;
        r = pick(d, &g, &o, true, &p, err);
        if (r == 0)
                r = pick(d, &g, &o, false, &p, err);
        if (r < 0)
                return r;
        if (r == 0)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "%s: no slot in %s ('%s') has %s=1: nothing to boot",
                                  d->path, ORDER_VAR, genv_get(&g, ORDER_VAR) ?: "", "<x>_OK");
        copy = strdup(p);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = copy;
        return 0;
}

static int grub_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        GrubData *d = data;
        _cleanup_(genv_done) GrubEnv g = {};
        _cleanup_(bootlist_done) BootList o = {};
        bool ok, try;
        int r;

        r = check_bootname(bootname, err);
        if (r >= 0)
                r = genv_read(d, &g, err);
        if (r >= 0)
                r = order_read(d, &g, &o, err);
        if (r >= 0)
                r = flag_get(d, &g, bootname, "_OK", &ok, err);
        if (r >= 0)
                r = flag_get(d, &g, bootname, "_TRY", &try, err);
        if (r < 0)
                return r;
        if (trial_is(&g, bootname))
                *ret = BOOT_STATUS_TRIAL;
        else
                *ret = bootlist_find(&o, bootname) >= 0 && ok && !try ? BOOT_STATUS_GOOD : BOOT_STATUS_BAD;
        return 0;
}

static int grub_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        GrubData *d = data;
        _cleanup_(genv_done) GrubEnv g = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r >= 0)
                r = genv_read(d, &g, err);
        if (r >= 0)
                r = order_read(d, &g, &o, err);
        if (r >= 0)
                r = bootlist_insert(&o, bootname, true, "grubenv variable " ORDER_VAR, err);
        if (r >= 0)
                r = order_write(&g, &o, err);
        if (r >= 0)
                r = flag_set(&g, bootname, "_OK", true, err);
        if (r >= 0)
                r = flag_set(&g, bootname, "_TRY", false, err);
        /* The good slots behind a trial are its fallback: re-arm them (TRY=0), so that the
         * booted slot falls back even if it has not been marked good on this boot yet. */
        for (unsigned i = 1; r >= 0 && trial && i < o.n; i++) {
                bool ok;

                if (bootloader_check_bootname(o.item[i], "", NULL) < 0)
                        continue;
                r = flag_get(d, &g, o.item[i], "_OK", &ok, err);
                if (r >= 0 && ok)
                        r = flag_set(&g, o.item[i], "_TRY", false, err);
        }
        if (r >= 0 && trial)
                r = genv_set(&g, TRIAL_VAR, bootname, err);
        else if (r >= 0 && trial_is(&g, bootname))
                r = genv_set(&g, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return genv_write(d, &g, err);
}

static int grub_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        GrubData *d = data;
        _cleanup_(genv_done) GrubEnv g = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = genv_read(d, &g, err);
        if (r >= 0)
                r = order_read(d, &g, &o, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                /* Keep its place in ORDER if it has one; otherwise it goes last. */
                if (bootlist_find(&o, bootname) < 0) {
                        r = bootlist_insert(&o, bootname, false, "grubenv variable " ORDER_VAR, err);
                        if (r >= 0)
                                r = order_write(&g, &o, err);
                }
                if (r >= 0)
                        r = flag_set(&g, bootname, "_OK", true, err);
        } else {
                const char *other = NULL;

                /* grub.cfg would find nothing to boot and reboot forever: never write that. */
                bootlist_remove(&o, bootname);
                r = pick(d, &g, &o, false, &other, err);
                if (r < 0)
                        return r;
                if (!other)
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing to mark %s bad: no other slot in %s has %s_OK=1, so GRUB would have nothing to boot",
                                          bootname, ORDER_VAR, "<x>");
                r = flag_set(&g, bootname, "_OK", false, err);
        }
        if (r >= 0)
                r = flag_set(&g, bootname, "_TRY", false, err);
        if (r >= 0 && trial_is(&g, bootname))
                r = genv_set(&g, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return genv_write(d, &g, err);
}

static int grub_get_trial(void *data, char **ret_bootname, UError *err) {
        GrubData *d = data;
        _cleanup_(genv_done) GrubEnv g = {};
        const char *t;
        int r;

        r = genv_read(d, &g, err);
        if (r < 0)
                return r;
        t = genv_get(&g, TRIAL_VAR);
        *ret_bootname = NULL;
        if (t && *t && !(*ret_bootname = strdup(t)))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        return 0;
}

const BootloaderOps bootloader_grub_ops = {
        .name = "grub",
        .open = grub_open,
        .close = grub_close,
        .get_primary = grub_get_primary,
        .set_primary = grub_set_primary,
        .get_state = grub_get_state,
        .set_state = grub_set_state,
        .get_current = NULL, /* grub.cfg puts update1.slot= on the kernel command line */
        .get_trial = grub_get_trial,
};
