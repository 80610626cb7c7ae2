/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "process.h"
#include "update-health-exec.h"

/* One forwarded log line at most; longer lines are split. */
#define LINE_MAX_LEN 1024

/* Forwards the check's output line by line; notes a SIGTERM/SIGINT that stopped it. */
typedef struct Check {
        const char *label;
        char line[LINE_MAX_LEN];
        size_t line_len;
        bool interrupted;
} Check;

static sigset_t health_signals(void) {
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        return ss;
}

static void flush_line(Check *c) {
        if (c->line_len == 0)
                return;
        log_info("%s: %.*s", c->label, (int) c->line_len, c->line);
        c->line_len = 0;
}

static void on_output(bool is_stderr, const char *buf, size_t n, void *userdata) {
        Check *c = userdata;

        for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        flush_line(c);
                        continue;
                }
                c->line[c->line_len++] = buf[i];
                if (c->line_len == sizeof(c->line))
                        flush_line(c);
        }
}

/* systemd stops us while a check runs: the check goes first (SIGKILL to its group). */
static int on_signal(int fd, void *userdata) {
        Check *c = userdata;
        struct signalfd_siginfo fsi;
        int stop = 0;

        /* SIGCHLD is only a wakeup. */
        while (read(fd, &fsi, sizeof(fsi)) == (ssize_t) sizeof(fsi))
                if (fsi.ssi_signo == SIGTERM || fsi.ssi_signo == SIGINT) {
                        if (!c->interrupted)
                                log_warning("%s: got %s, killing it", c->label, strsignal((int) fsi.ssi_signo));
                        c->interrupted = true;
                        stop = 1;
                }
        return stop;
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

static int exec_blocked(const char *path, const char *label, char *const envp[], uint64_t timeout_usec,
                        ExecResult *ret) {
        _cleanup_(process_result_done) ProcessResult res = {};
        _cleanup_close_ int sig_fd = -EBADF;
        sigset_t ss = health_signals();
        Check check = { .label = label };
        bool truncated;
        char *output;
        int r;

        sig_fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0)
                return -errno;

        /* SIGKILL at the timeout; once the check exits, SIGKILL whatever it left in its group:
         * that would hold the pipe open forever. */
        const ProcessOptions opts = {
                .envp = envp,
                .working_directory = "/",
                .stderr_mode = PROCESS_STDERR_TO_STDOUT,
                .out = { .tail_max = HEALTH_OUTPUT_TAIL_MAX },
                .on_output = on_output,
                .timeout_usec = timeout_usec,
                .kill_group_on_exit = true,
                .watch_fd = sig_fd,
                .on_watch = on_signal,
                .userdata = &check,
        };
        r = process_run((const char *const[]) { path, NULL }, &opts, &res);
        flush_line(&check);
        if (r < 0)
                return r;
        if (res.timed_out)
                log_warning("%s: timed out after %llu s, killed it", label, (unsigned long long) (timeout_usec / 1000000));

        truncated = process_capture_truncated(&res.out);
        output = utf8_sanitize(res.out.tail, res.out.tail_len, truncated);
        if (!output)
                return -ENOMEM;
        *ret = (ExecResult) {
                .exit_code = res.exit_code,
                .signal = res.signal,
                .timed_out = res.timed_out,
                .duration_ms = res.duration_usec / 1000,
                .output = output,
                .output_truncated = truncated,
        };
        return check.interrupted ? -ECANCELED : 0;
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
