/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "update-health-exec.h"

/* One forwarded log line at most; longer lines are split. */
#define LINE_MAX_LEN 1024

typedef struct Capture {
        const char *label;
        char tail[HEALTH_OUTPUT_TAIL_MAX];
        size_t tail_len;
        uint64_t total;
        char line[LINE_MAX_LEN];
        size_t line_len;
} Capture;

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

static sigset_t health_signals(void) {
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        return ss;
}

static void capture_flush_line(Capture *c) {
        if (c->line_len == 0)
                return;
        log_info("%s: %.*s", c->label, (int) c->line_len, c->line);
        c->line_len = 0;
}

static void capture_feed(Capture *c, const char *buf, size_t n) {
        if (n >= sizeof(c->tail)) {
                memcpy(c->tail, buf + n - sizeof(c->tail), sizeof(c->tail));
                c->tail_len = sizeof(c->tail);
        } else {
                if (c->tail_len + n > sizeof(c->tail)) {
                        size_t drop = c->tail_len + n - sizeof(c->tail);

                        memmove(c->tail, c->tail + drop, c->tail_len - drop);
                        c->tail_len -= drop;
                }
                memcpy(c->tail + c->tail_len, buf, n);
                c->tail_len += n;
        }
        if (__builtin_add_overflow(c->total, (uint64_t) n, &c->total))
                c->total = UINT64_MAX;

        for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        capture_flush_line(c);
                        continue;
                }
                c->line[c->line_len++] = buf[i];
                if (c->line_len == sizeof(c->line))
                        capture_flush_line(c);
        }
}

/* Reads what is there now; returns false at EOF or on an error (the pipe is done). */
static bool capture_read(Capture *c, int fd) {
        char buf[16384];

        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));

                if (k > 0) {
                        capture_feed(c, buf, (size_t) k);
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return true;
                return false;
        }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one. */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;

        if (c >= 0x01 && c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0;      /* overlong */
                else if (c == 0xED)
                        hi = 0x9F;      /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;      /* above U+10FFFF */
        } else
                return 0;
        if (len > n)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return len;
}

/* The status file is JSON: the tail may start inside a character and a check may print any
 * bytes, so invalid sequences and NUL become '?'. */
static char *utf8_sanitize(const char *in, size_t n, bool cut_at_start) {
        const unsigned char *s = (const unsigned char *) in;
        size_t i = 0, o = 0;
        char *out;

        if (cut_at_start)
                while (i < n && i < 3 && (s[i] & 0xC0) == 0x80)
                        i++;
        out = malloc(n - i + 1);
        if (!out)
                return NULL;
        while (i < n) {
                size_t len = utf8_valid_len(s + i, n - i);

                if (len == 0) {
                        out[o++] = '?';
                        i++;
                        continue;
                }
                memcpy(out + o, s + i, len);
                o += len;
                i += len;
        }
        out[o] = 0;
        return out;
}

static void kill_group(pid_t pid) {
        /* The check is its own process group leader; kill the pid too in case it left it. */
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
}

/* Runs in the forked child (we are single-threaded, so stdio is safe here). */
__attribute__((noreturn)) static void child_exec(const char *path, char *const envp[], int null_fd, int out_fd) {
        sigset_t empty;

        (void) setpgid(0, 0);
        sigemptyset(&empty);
        (void) sigprocmask(SIG_SETMASK, &empty, NULL);
        if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
                _exit(127);
        (void) chdir("/");
        execve(path, (char *const[]) { (char *) path, NULL }, envp);
        int e = errno;
        /* Shell convention: 126 found but not executable, 127 not found. */
        dprintf(STDERR_FILENO, "cannot execute %s: %s\n", path, strerror(e));
        _exit(e == ENOENT ? 127 : 126);
}

static int exec_blocked(const char *path, const char *label, char *const envp[], uint64_t timeout_usec,
                        ExecResult *ret) {
        _cleanup_close_ int sig_fd = -EBADF, out_fd = -EBADF, null_fd = -EBADF;
        _cleanup_free_ Capture *cap = NULL;
        sigset_t ss = health_signals();
        uint64_t start, deadline = 0;
        bool exited = false, timed_out = false, interrupted = false;
        int pipe_fds[2], status = 0;
        pid_t pid;

        cap = calloc(1, sizeof(Capture));
        if (!cap)
                return -ENOMEM;
        cap->label = label;

        sig_fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0)
                return -errno;
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return -errno;
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        out_fd = pipe_fds[0];
        if (fcntl(out_fd, F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                close(pipe_fds[1]);
                return r;
        }

        start = now_usec();
        if (timeout_usec > 0 && __builtin_add_overflow(start, timeout_usec, &deadline))
                deadline = UINT64_MAX;

        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pipe_fds[1]);
                return r;
        }
        if (pid == 0)
                child_exec(path, envp, null_fd, pipe_fds[1]);

        /* Also here, so that a kill(-pid) right after fork() cannot miss it; EACCES means the
         * child has already exec'd, i.e. it did this itself. */
        (void) setpgid(pid, pid);
        close(pipe_fds[1]);

        while (!exited) {
                struct pollfd p[2] = {
                        { .fd = sig_fd, .events = POLLIN },
                        { .fd = out_fd, .events = POLLIN },
                };
                siginfo_t si = {};
                int timeout_ms = -1;

                /* WNOWAIT keeps the zombie, so its pid (= its process group id) cannot be
                 * reused before we have killed what it left behind. */
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
                        exited = true;
                        break;
                }

                if (deadline > 0 && !timed_out) {
                        uint64_t now = now_usec();

                        if (now >= deadline) {
                                log_warning("%s: timed out after %llu s, killing it", label,
                                            (unsigned long long) (timeout_usec / 1000000));
                                kill_group(pid);
                                timed_out = true;
                        } else
                                timeout_ms = (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT_MAX);
                }

                if (poll(p, out_fd >= 0 ? 2 : 1, timeout_ms) < 0) {
                        if (errno == EINTR)
                                continue;
                        kill_group(pid);
                        (void) waitpid(pid, NULL, 0);
                        return -errno;
                }
                if (out_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !capture_read(cap, out_fd)) {
                        close(out_fd);
                        out_fd = -EBADF;
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo fsi;

                        while (read(sig_fd, &fsi, sizeof(fsi)) == (ssize_t) sizeof(fsi))
                                if ((fsi.ssi_signo == SIGTERM || fsi.ssi_signo == SIGINT) && !interrupted) {
                                        log_warning("%s: got %s, killing it", label, strsignal((int) fsi.ssi_signo));
                                        kill_group(pid);
                                        interrupted = true;
                                }
                }
        }

        /* Whatever the check left running in its group would hold the pipe open forever. */
        (void) kill(-pid, SIGKILL);
        if (out_fd >= 0)
                (void) capture_read(cap, out_fd);
        capture_flush_line(cap);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;

        *ret = (ExecResult) {
                .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                .timed_out = timed_out,
                .duration_ms = (now_usec() - start) / 1000,
                .output_truncated = cap->total > cap->tail_len,
        };
        ret->output = utf8_sanitize(cap->tail, cap->tail_len, ret->output_truncated);
        if (!ret->output)
                return -ENOMEM;
        return interrupted ? -ECANCELED : 0;
}

int health_exec(const char *path, const char *label, char *const envp[], uint64_t timeout_usec, ExecResult *ret) {
        sigset_t ss = health_signals(), old;
        int r;

        /* Blocked only while a check runs: the signalfd sees them then.  Outside, SIGTERM has
         * its default effect, so a stop never waits for a slow D-Bus call. */
        if (sigprocmask(SIG_BLOCK, &ss, &old) < 0)
                return -errno;
        r = exec_blocked(path, label, envp, timeout_usec, ret);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

void exec_result_done(ExecResult *r) {
        r->output = mfree(r->output);
}
