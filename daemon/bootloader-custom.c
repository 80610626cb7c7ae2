/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "custom" backend: an executable with RAUC's custom-backend contract
 *   X get-primary                 → prints the bootname
 *   X set-primary <bootname>
 *   X get-state <bootname>        → prints good|bad
 *   X set-state <bootname> good|bad
 *   X get-current                 → prints the bootname
 * run with fork/exec (no shell), stdout captured (bounded), a timeout, and any non-zero exit
 * or unparsable output turned into an error naming the command and its stderr. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootloader.h"
#include "util.h"

#define CUSTOM_TIMEOUT_MS (30 * 1000)
#define CUSTOM_MAX_STDOUT 4096
#define CUSTOM_STDERR_TAIL 512
#define MAX_BOOTNAME 64

typedef struct CustomData {
        char *path;
} CustomData;

typedef struct Capture {
        char out[CUSTOM_MAX_STDOUT + 1];
        size_t out_len;
        bool out_overflow;
        char err[CUSTOM_STDERR_TAIL + 1];
        size_t err_len;
} Capture;

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Keeps the first CUSTOM_MAX_STDOUT bytes of stdout and the last CUSTOM_STDERR_TAIL of stderr. */
static void capture_add(Capture *c, bool is_err, const char *buf, size_t n) {
        if (!is_err) {
                size_t room = CUSTOM_MAX_STDOUT - c->out_len;
                if (n > room)
                        c->out_overflow = true;
                memcpy(c->out + c->out_len, buf, MIN(n, room));
                c->out_len += MIN(n, room);
                c->out[c->out_len] = '\0';
                return;
        }
        if (n >= CUSTOM_STDERR_TAIL) {
                memcpy(c->err, buf + n - CUSTOM_STDERR_TAIL, CUSTOM_STDERR_TAIL);
                c->err_len = CUSTOM_STDERR_TAIL;
        } else {
                size_t keep = MIN(c->err_len, CUSTOM_STDERR_TAIL - n);
                memmove(c->err, c->err + c->err_len - keep, keep);
                memcpy(c->err + keep, buf, n);
                c->err_len = keep + n;
        }
        c->err[c->err_len] = '\0';
}

/* One line for an error message: control characters to spaces, outer whitespace trimmed. */
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

__attribute__((noreturn)) static void child_exec(const char *path, char *const argv[], int out_fd, int err_fd) {
        sigset_t all;
        int null_fd;

        /* The daemon may block signals for its event loop; the backend must get defaults. */
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        (void) signal(SIGPIPE, SIG_DFL);

        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
                _exit(126);
        (void) close_range(3, ~0U, 0);
        execv(path, argv);
        _exit(127);
}

static int run_backend(CustomData *d, const char *verb, const char *arg1, const char *arg2, char **ret_stdout,
                       UError *err) {
        _cleanup_close_ int out_r = -EBADF, err_r = -EBADF;
        char cmd[256];
        int out_p[2], err_p[2], status, r;
        char *argv[5];
        bool out_open = true, err_open = true, timed_out = false;
        uint64_t deadline;
        _cleanup_free_ Capture *cap = NULL;
        pid_t pid;

        snprintf(cmd, sizeof(cmd), "%s %s%s%s%s%s", d->path, verb, arg1 ? " " : "", arg1 ?: "", arg2 ? " " : "",
                 arg2 ?: "");
        argv[0] = d->path;
        argv[1] = (char *) verb;
        argv[2] = (char *) arg1;
        argv[3] = arg1 ? (char *) arg2 : NULL;
        argv[4] = NULL;

        cap = calloc(1, sizeof(Capture));
        if (!cap)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (pipe2(out_p, O_CLOEXEC) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot run '%s': pipe: %s", cmd, strerror(errno));
        if (pipe2(err_p, O_CLOEXEC) < 0) {
                r = -errno;
                close(out_p[0]);
                close(out_p[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': pipe: %s", cmd, strerror(-r));
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(out_p[0]);
                close(out_p[1]);
                close(err_p[0]);
                close(err_p[1]);
                return uerror_set(err, ERROR_FAILED, r, "Cannot run '%s': fork: %s", cmd, strerror(-r));
        }
        if (pid == 0)
                child_exec(d->path, argv, out_p[1], err_p[1]);

        close(out_p[1]);
        close(err_p[1]);
        out_r = out_p[0];
        err_r = err_p[0];

        deadline = now_ms() + CUSTOM_TIMEOUT_MS;
        while (out_open || err_open) {
                struct pollfd pfd[2] = {
                        { .fd = out_open ? out_r : -1, .events = POLLIN },
                        { .fd = err_open ? err_r : -1, .events = POLLIN },
                };
                uint64_t now = now_ms();
                char buf[4096];

                if (now >= deadline) {
                        timed_out = true;
                        break;
                }
                r = poll(pfd, 2, (int) MIN(deadline - now, (uint64_t) INT32_MAX));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t n;

                        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(pfd[i].fd, buf, sizeof(buf));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                if (i == 0)
                                        out_open = false;
                                else
                                        err_open = false;
                                continue;
                        }
                        capture_add(cap, i == 1, buf, (size_t) n);
                }
        }

        if (timed_out || out_open || err_open)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return uerror_set(err, ERROR_FAILED, -errno, "Cannot wait for '%s': %s", cmd, strerror(errno));

        if (timed_out)
                return uerror_set(err, ERROR_FAILED, -ETIME, "Custom bootloader backend '%s' timed out after %d s",
                                  cmd, CUSTOM_TIMEOUT_MS / 1000);
        if (WIFSIGNALED(status))
                return uerror_set(err, ERROR_FAILED, -EPROTO,
                                  "Custom bootloader backend '%s' was killed by signal %d%s%s", cmd, WTERMSIG(status),
                                  cap->err_len ? ": " : "", tidy(cap->err));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                const char *why = code == 127 ? " (cannot execute it)" : "";
                return uerror_set(err, ERROR_FAILED, -EPROTO, "Custom bootloader backend '%s' failed with exit status %d%s: %s",
                                  cmd, code, why, cap->err_len ? tidy(cap->err) : "no error output");
        }
        if (cap->out_overflow)
                return uerror_set(err, ERROR_FAILED, -EPROTO,
                                  "Custom bootloader backend '%s' printed more than %d bytes", cmd, CUSTOM_MAX_STDOUT);

        if (ret_stdout) {
                char *s = strndup(cap->out, cap->out_len);
                if (!s)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                *ret_stdout = s;
        }
        return 0;
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
                                  tidy(s));
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
