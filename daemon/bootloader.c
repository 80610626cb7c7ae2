/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backend registration, and the small helpers several backends share: bootname checks, ordered
 * name lists (BOOT_ORDER, ORDER, BootOrder) and running a bootloader tool (barebox-state,
 * efibootmgr) with its output captured. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootloader.h"
#include "util.h"

#define TOOL_TIMEOUT_MS (30 * 1000)
#define TOOL_STDERR_TAIL 512

static const BootloaderOps *const backends[] = {
        &bootloader_uboot_ops,
        &bootloader_uboot_bootcount_ops,
        &bootloader_grub_ops,
        &bootloader_barebox_ops,
        &bootloader_efi_ops,
        &bootloader_custom_ops,
};

/* bootloader=uboot has two schemes, each its own ops table. */
static const char *backend_name(const Config *c) {
        if (c->bootloader && streq(c->bootloader, "uboot") && c->uboot_scheme == UBOOT_SCHEME_BOOTCOUNT)
                return "uboot-bootcount";
        return c->bootloader;
}

int bootloader_open(const Config *c, Bootloader **ret, UError *err) {
        _cleanup_free_ Bootloader *b = NULL;
        const BootloaderOps *ops = NULL;
        const char *name;
        int r;

        if (!c || !ret)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: no configuration");
        name = backend_name(c);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (name && streq(name, backends[i]->name))
                        ops = backends[i];
        if (!ops)
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP, "Unknown bootloader backend '%s'", name ?: "(none)");

        b = calloc(1, sizeof(Bootloader));
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        b->ops = ops;
        r = ops->open(c, &b->data, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

Bootloader *bootloader_free(Bootloader *b) {
        if (!b)
                return NULL;
        if (b->ops && b->ops->close)
                b->ops->close(b->data);
        return mfree(b);
}

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

typedef struct ToolCapture {
        char *out;
        size_t out_len;
        bool out_overflow;
        char err[TOOL_STDERR_TAIL + 1];
        size_t err_len;
} ToolCapture;

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void capture_stderr(ToolCapture *c, const char *buf, size_t n) {
        if (n >= TOOL_STDERR_TAIL) {
                memcpy(c->err, buf + n - TOOL_STDERR_TAIL, TOOL_STDERR_TAIL);
                c->err_len = TOOL_STDERR_TAIL;
        } else {
                size_t keep = MIN(c->err_len, TOOL_STDERR_TAIL - n);
                memmove(c->err, c->err + c->err_len - keep, keep);
                memcpy(c->err + keep, buf, n);
                c->err_len = keep + n;
        }
        c->err[c->err_len] = '\0';
}

/* One line for a message: control characters to spaces, outer spaces trimmed. */
static const char *tidy(char *s) {
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

__attribute__((noreturn)) static void tool_child(const char *const argv[], int out_fd, int err_fd, int status_fd) {
        sigset_t none;
        int null_fd, e;

        /* The daemon may block signals for its event loop; the tool must get defaults. */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_DFL);
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
                _exit(126);
        /* Nothing else of the daemon leaks into the tool (close-on-exec, so status_fd still
         * reports a failed exec). */
        (void) close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        execvp(argv[0], (char *const *) argv);
        /* status_fd is close-on-exec: the parent reads EOF on success, errno otherwise. */
        e = errno;
        (void) !write(status_fd, &e, sizeof(e));
        _exit(127);
}

static void format_cmdline(const char *const argv[], char *buf, size_t size) {
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; argv[i] && len + 1 < size; i++)
                len += snprintf(buf + len, size - len, "%s%s", i > 0 ? " " : "", argv[i]);
}

static int tool_read(int *fd, ToolCapture *cap, bool is_err) {
        char buf[4096];
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0) {
                close(*fd);
                *fd = -EBADF;
                return 0;
        }
        if (is_err) {
                capture_stderr(cap, buf, (size_t) n);
                return 0;
        }
        if (cap->out_len + (size_t) n > BOOTLOADER_TOOL_MAX_STDOUT) {
                cap->out_overflow = true;
                return 0;
        }
        memcpy(cap->out + cap->out_len, buf, (size_t) n);
        cap->out_len += (size_t) n;
        cap->out[cap->out_len] = '\0';
        return 0;
}

int bootloader_run_tool(const char *const argv[], char **ret_stdout, UError *err) {
        _cleanup_close_ int out_r = -EBADF, err_r = -EBADF, st_r = -EBADF;
        _cleanup_free_ char *out = NULL;
        ToolCapture cap = {};
        int out_p[2], err_p[2], st_p[2], status, exec_errno = 0, r = 0;
        bool timed_out = false;
        char cmd[512];
        uint64_t deadline;
        ssize_t n;
        pid_t pid;

        format_cmdline(argv, cmd, sizeof(cmd));
        out = malloc(BOOTLOADER_TOOL_MAX_STDOUT + 1);
        if (!out)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        out[0] = '\0';
        cap.out = out;

        if (pipe2(out_p, O_CLOEXEC) < 0) {
                r = -errno;
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s", cmd, strerror(-r));
        }
        out_r = out_p[0];
        if (pipe2(err_p, O_CLOEXEC) < 0) {
                r = -errno;
                close(out_p[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s", cmd, strerror(-r));
        }
        err_r = err_p[0];
        if (pipe2(st_p, O_CLOEXEC) < 0) {
                r = -errno;
                close(out_p[1]);
                close(err_p[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s", cmd, strerror(-r));
        }
        st_r = st_p[0];

        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(out_p[1]);
                close(err_p[1]);
                close(st_p[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': %s", cmd, strerror(-r));
        }
        if (pid == 0)
                tool_child(argv, out_p[1], err_p[1], st_p[1]);
        close(out_p[1]);
        close(err_p[1]);
        close(st_p[1]);

        /* EOF right away when exec worked; the child's errno otherwise. */
        do
                n = read(st_r, &exec_errno, sizeof(exec_errno));
        while (n < 0 && errno == EINTR);
        if (n != sizeof(exec_errno))
                exec_errno = 0;

        deadline = now_ms() + TOOL_TIMEOUT_MS;
        while (out_r >= 0 || err_r >= 0) {
                struct pollfd p[2] = { { .fd = out_r, .events = POLLIN }, { .fd = err_r, .events = POLLIN } };
                uint64_t now = now_ms();

                if (now >= deadline) {
                        timed_out = true;
                        (void) kill(pid, SIGKILL);
                        break;
                }
                if (poll(p, 2, (int) (deadline - now)) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        (void) kill(pid, SIGKILL);
                        break;
                }
                if (out_r >= 0 && p[0].revents && (r = tool_read(&out_r, &cap, false)) < 0)
                        break;
                if (err_r >= 0 && p[1].revents && (r = tool_read(&err_r, &cap, true)) < 0)
                        break;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        return uerror_set(err, ERROR_FAILED, r, "Cannot wait for '%s': %s", cmd, strerror(-r));
                }

        if (exec_errno == ENOENT)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "Cannot run '%s': %s not found on PATH", cmd, argv[0]);
        if (exec_errno > 0)
                return uerror_set(err, ERROR_FAILED, -exec_errno, "Cannot run '%s': %s", cmd, strerror(exec_errno));
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot read the output of '%s': %s", cmd, strerror(-r));
        if (timed_out)
                return uerror_set(err, ERROR_FAILED, -ETIME, "'%s' did not finish within %d seconds", cmd,
                                  TOOL_TIMEOUT_MS / 1000);
        if (WIFSIGNALED(status))
                return uerror_set(err, ERROR_FAILED, -EIO, "'%s' was killed by signal %d", cmd, WTERMSIG(status));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "'%s' failed with exit status %d%s%s", cmd,
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, cap.err_len > 0 ? ": " : "",
                                  tidy(cap.err));
        if (cap.out_overflow)
                return uerror_set(err, ERROR_FAILED, -E2BIG, "'%s' printed more than %d bytes", cmd,
                                  BOOTLOADER_TOOL_MAX_STDOUT);
        if (strlen(out) != cap.out_len)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "'%s' printed a NUL byte", cmd);
        if (ret_stdout)
                *ret_stdout = TAKE_PTR(out);
        return 0;
}
