/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The small helpers several backends share: bootname checks, ordered name lists (BOOT_ORDER,
 * ORDER, BootOrder) and running a bootloader tool (barebox-state, efibootmgr) with its output
 * captured.  A file of its own so that the backends depend on it and bootloader.c (which lists
 * the backends) depends on them, with no cycle between the two. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader-util.h"
#include "process.h"
#include "util.h"

#define TOOL_TIMEOUT_USEC (UINT64_C(30) * 1000000)
#define TOOL_STDERR_TAIL 512

/* --- bootnames and lists ------------------------------------------------------------------ */

int bootloader_check_bootname(const char *bootname, const char *storage, UError *err) {
        size_t n = bootname ? strlen(bootname) : 0;
        bool ok = n > 0 && n <= BOOTLOADER_MAX_BOOTNAME;

        for (size_t i = 0; ok && i < n; i++)
                ok = isalnum((unsigned char) bootname[i]) || bootname[i] == '_';
        if (!ok)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "Bootname '%s' cannot be used in %s (letters, digits and '_' only, at most %d)",
                                  bootname ?: "", storage, BOOTLOADER_MAX_BOOTNAME);
        return 0;
}

void bootlist_done(BootList *l) {
        for (unsigned i = 0; i < l->n; i++)
                free(l->item[i]);
        l->n = 0;
}

int bootlist_split(BootList *l, const char *s, const char *separators, const char *what, UError *err) {
        *l = (BootList) {};
        while (s && *s) {
                size_t n;

                s += strspn(s, separators);
                n = strcspn(s, separators);
                if (n == 0)
                        break;
                if (l->n >= BOOTLIST_MAX) {
                        bootlist_done(l);
                        return uerror_set(err, ERROR_FAILED, -E2BIG, "%s has more than %d entries", what,
                                          BOOTLIST_MAX);
                }
                l->item[l->n] = strndup(s, n);
                if (!l->item[l->n]) {
                        bootlist_done(l);
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                }
                l->n++;
                s += n;
        }
        return 0;
}

int bootlist_find(const BootList *l, const char *name) {
        for (unsigned i = 0; i < l->n; i++)
                if (streq(l->item[i], name))
                        return (int) i;
        return -1;
}

void bootlist_remove(BootList *l, const char *name) {
        int i;

        while ((i = bootlist_find(l, name)) >= 0) {
                free(l->item[i]);
                memmove(&l->item[i], &l->item[i + 1], (l->n - i - 1) * sizeof(char *));
                l->n--;
        }
}

int bootlist_insert(BootList *l, const char *name, bool front, const char *what, UError *err) {
        char *copy;

        bootlist_remove(l, name);
        if (l->n >= BOOTLIST_MAX)
                return uerror_set(err, ERROR_FAILED, -E2BIG, "%s has more than %d entries", what, BOOTLIST_MAX);
        copy = strdup(name);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (front) {
                memmove(&l->item[1], &l->item[0], l->n * sizeof(char *));
                l->item[0] = copy;
        } else
                l->item[l->n] = copy;
        l->n++;
        return 0;
}

int bootlist_join(const BootList *l, char separator, char **ret, UError *err) {
        size_t len = 1;
        char *s, *p;

        for (unsigned i = 0; i < l->n; i++)
                len += strlen(l->item[i]) + 1;
        s = p = malloc(len);
        if (!s)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *p = '\0';
        for (unsigned i = 0; i < l->n; i++) {
                if (i > 0)
                        *p++ = separator;
                p = stpcpy(p, l->item[i]);
        }
        *ret = s;
        return 0;
}

/* --- running a tool ----------------------------------------------------------------------- */

const char *bootloader_tidy_line(char *s) {
        char *e;

        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        while (*s == ' ')
                s++;
        e = s + strlen(s);
        while (e > s && e[-1] == ' ')
                *--e = '\0';
        return s;
}

static void format_cmdline(const char *const argv[], char *buf, size_t size) {
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; argv[i] && len + 1 < size; i++)
                len += snprintf(buf + len, size - len, "%s%s", i > 0 ? " " : "", argv[i]);
}

int bootloader_run_tool(const char *const argv[], char **ret_stdout, UError *err) {
        /* All of stdout (it is parsed), the end of stderr (it explains a failure).  SIGKILL at
         * the timeout: a tool stuck that long is not cleaning up. */
        static const ProcessOptions opts = {
                .search_path = true,
                .out = { .head_max = BOOTLOADER_TOOL_MAX_STDOUT },
                .err = { .tail_max = TOOL_STDERR_TAIL },
                .timeout_usec = TOOL_TIMEOUT_USEC,
        };
        _cleanup_(process_result_done) ProcessResult res = {};
        char cmd[512];
        int r;

        format_cmdline(argv, cmd, sizeof(cmd));
        r = process_run(argv, &opts, &res);
        if (r == -ENOENT)
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s not found on PATH", cmd, argv[0]);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s", cmd, strerror(-r));
        if (res.timed_out)
                return uerror_set(err, ERROR_FAILED, -ETIME, "'%s' did not finish within %d seconds", cmd,
                                  (int) (TOOL_TIMEOUT_USEC / 1000000));
        if (res.signal > 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "'%s' was killed by signal %d", cmd, res.signal);
        if (res.exit_code != 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "'%s' failed with exit status %d%s%s", cmd, res.exit_code,
                                  res.err.tail_len > 0 ? ": " : "", bootloader_tidy_line(res.err.tail));
        if (process_capture_truncated(&res.out))
                return uerror_set(err, ERROR_FAILED, -E2BIG, "'%s' printed more than %d bytes", cmd,
                                  BOOTLOADER_TOOL_MAX_STDOUT);
        if (strlen(res.out.head) != res.out.head_len)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "'%s' printed a NUL byte", cmd);
        if (ret_stdout)
                *ret_stdout = TAKE_PTR(res.out.head);
        return 0;
}
