/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "custom" backend: an executable with RAUC's custom-backend contract
 *   X get-primary                 → prints the bootname
 *   X set-primary <bootname>
 *   X get-state <bootname>        → prints good|bad
 *   X set-state <bootname> good|bad
 *   X get-current                 → prints the bootname
 * run through bootloader_run_tool(); any non-zero exit or unparsable output is an error naming
 * the command and its stderr. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "util.h"

#define MAX_BOOTNAME 64

typedef struct CustomData {
        char *path;
} CustomData;

/* The contract's verbs, run through the shared tool runner (bootloader.c): no shell, stdin
 * /dev/null, bounded output, a timeout, errors naming the command and its stderr. */
static int run_backend(CustomData *d, const char *verb, const char *arg1, const char *arg2, char **ret_stdout,
                       UError *err) {
        const char *argv[] = { d->path, verb, arg1, arg1 ? arg2 : NULL, NULL };
        int r;

        r = bootloader_run_tool(argv, ret_stdout, err);
        if (r < 0)
                uerror_prefix(err, "Custom bootloader backend");
        return r;
}

/* The one word a query prints: surrounding whitespace allowed, nothing else. */
static int parse_word(const char *cmd_verb, const char *path, char *out, char **ret, UError *err) {
        char *s = out, *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        if (*s == '\0' || strlen(s) > MAX_BOOTNAME || strpbrk(s, " \t\r\n"))
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "Custom bootloader backend '%s %s' printed '%s', expected one word", path, cmd_verb,
                                  bootloader_tidy_line(s));
        for (char *p = s; *p; p++)
                if (!isgraph((unsigned char) *p))
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "Custom bootloader backend '%s %s' printed unprintable output", path,
                                          cmd_verb);
        *ret = s;
        return 0;
}

static int check_bootname(const char *name, UError *err) {
        if (isempty(name) || strlen(name) > MAX_BOOTNAME || name[0] == '-' || strpbrk(name, " \t\r\n"))
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "Invalid bootname '%s'", name ?: "");
        return 0;
}

static int custom_open(const Config *c, void **ret_data, UError *err) {
        CustomData *d;
        struct stat st;

        if (isempty(c->custom_backend))
                return uerror_set(err, ERROR_FAILED, -EINVAL, "bootloader=custom needs [custom] path=");
        if (stat(c->custom_backend, &st) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Custom bootloader backend %s: %s", c->custom_backend,
                                  strerror(errno));
        if (!S_ISREG(st.st_mode) || access(c->custom_backend, X_OK) < 0)
                return uerror_set(err, ERROR_FAILED, -EACCES, "Custom bootloader backend %s is not an executable file",
                                  c->custom_backend);
        d = calloc(1, sizeof(CustomData));
        if (!d || !(d->path = strdup(c->custom_backend))) {
                free(d);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        *ret_data = d;
        return 0;
}

static void custom_close(void *data) {
        CustomData *d = data;

        if (!d)
                return;
        free(d->path);
        free(d);
}

static int query_bootname(CustomData *d, const char *verb, char **ret, UError *err) {
        _cleanup_free_ char *out = NULL;
        char *word, *copy;
        int r;

        r = run_backend(d, verb, NULL, NULL, &out, err);
        if (r < 0)
                return r;
        r = parse_word(verb, d->path, out, &word, err);
        if (r < 0)
                return r;
        copy = strdup(word);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret = copy;
        return 0;
}

static int custom_get_primary(void *data, char **ret_bootname, UError *err) {
        return query_bootname(data, "get-primary", ret_bootname, err);
}

static int custom_get_current(void *data, char **ret_bootname, UError *err) {
        return query_bootname(data, "get-current", ret_bootname, err);
}

/* The contract has no trial notion: the script's own counter scheme (if any) applies. */
static int custom_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        int r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        return run_backend(data, "set-primary", bootname, NULL, NULL, err);
}

static int custom_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        CustomData *d = data;
        _cleanup_free_ char *out = NULL;
        char *word;
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = run_backend(d, "get-state", bootname, NULL, &out, err);
        if (r < 0)
                return r;
        r = parse_word("get-state", d->path, out, &word, err);
        if (r < 0)
                return r;
        if (streq(word, "good"))
                *ret = BOOT_STATUS_GOOD;
        else if (streq(word, "bad"))
                *ret = BOOT_STATUS_BAD;
        else
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "Custom bootloader backend '%s get-state %s' printed '%s', expected good or bad",
                                  d->path, bootname, word);
        return 0;
}

static int custom_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        int r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL, "A slot can only be marked good or bad");
        return run_backend(data, "set-state", bootname, state == BOOT_STATUS_GOOD ? "good" : "bad", NULL, err);
}

const BootloaderOps bootloader_custom_ops = {
        .name = "custom",
        .open = custom_open,
        .close = custom_close,
        .get_primary = custom_get_primary,
        .set_primary = custom_set_primary,
        .get_state = custom_get_state,
        .set_state = custom_set_state,
        .get_current = custom_get_current,
        .get_trial = NULL,
};
