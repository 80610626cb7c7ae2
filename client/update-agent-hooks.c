/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "update-agent-hooks.h"
#include "util.h"

/* After the timeout: SIGTERM to the process group, SIGKILL this much later. */
#define HOOK_KILL_GRACE_MSEC 2000

void hook_run_done(HookRun *r) {
        free(r->output);
        free(r->last_line);
        r->output = r->last_line = NULL;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

typedef struct Tail {
        char buf[HOOK_OUTPUT_TAIL];
        size_t len;
        bool truncated;
} Tail;

static void tail_add(Tail *t, const char *p, size_t n) {
        if (n >= sizeof(t->buf) - 1) {
                p += n - (sizeof(t->buf) - 1);
                n = sizeof(t->buf) - 1;
                t->len = 0;
                t->truncated = true;
        }
        if (t->len + n > sizeof(t->buf) - 1) {
                size_t drop = t->len + n - (sizeof(t->buf) - 1);
                memmove(t->buf, t->buf + drop, t->len - drop);
                t->len -= drop;
                t->truncated = true;
        }
        memcpy(t->buf + t->len, p, n);
        t->len += n;
        t->buf[t->len] = 0;
}

/* Keeps the last non-empty line of stdout. */
typedef struct LastLine {
        char cur[512];
        size_t len;
        char last[512];
} LastLine;

static void last_line_add(LastLine *l, const char *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\n') {
                        while (l->len > 0 && (l->cur[l->len - 1] == '\r' || l->cur[l->len - 1] == ' '))
                                l->len--;
                        if (l->len > 0) {
                                memcpy(l->last, l->cur, l->len);
                                l->last[l->len] = 0;
                        }
                        l->len = 0;
                } else if (l->len < sizeof(l->cur) - 1)
                        l->cur[l->len++] = p[i];
        }
}

static void child(const char *path, char *const argv[], int out, int err, const char *hook, const char *action_id) {
        sigset_t ss;
        int null;

        /* The agent blocks SIGTERM/SIGINT for its signalfd; a hook must not inherit that. */
        sigemptyset(&ss);
        sigprocmask(SIG_SETMASK, &ss, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(127);
        setenv("UPDATE_AGENT_HOOK", hook, 1);
        if (action_id)
                setenv("UPDATE_AGENT_ACTION_ID", action_id, 1);
        execv(path, argv);
        fprintf(stderr, "cannot execute %s: %s\n", path, strerror(errno));
        _exit(127);
}

int hook_run(const char *path, const char *name, uint64_t timeout_usec, uint64_t seconds, unsigned retry,
             const char *meta_json, const char *extra, const char *action_id, HookRun *ret) {
        char sec[32], rt[32];
        char *argv[] = { (char *) path, sec, rt, (char *) (meta_json ?: "{}"), (char *) extra, NULL };
        int out[2] = { -1, -1 }, err[2] = { -1, -1 }, pidfd = -1, status = 0;
        uint64_t deadline, kill_at = 0;
        Tail tail = {};
        LastLine ll = {};
        bool timed_out = false, killed = false;
        pid_t pid;

        if (!path)
                return -ENOENT;
        snprintf(sec, sizeof(sec), "%llu", (unsigned long long) seconds);
        snprintf(rt, sizeof(rt), "%u", retry);
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                int e = -errno;
                if (out[0] >= 0) {
                        close(out[0]);
                        close(out[1]);
                }
                return e;
        }
        pid = fork();
        if (pid < 0) {
                int e = -errno;
                close(out[0]), close(out[1]), close(err[0]), close(err[1]);
                return e;
        }
        if (pid == 0)
                child(path, argv, out[1], err[1], name, action_id);
        setpgid(pid, pid);    /* also here: no race with the kill below */
        close(out[1]);
        close(err[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        log_info("Running the %s hook (%s %s %s)", name, sec, rt, extra ?: "");

        deadline = now_msec() + timeout_usec / USEC_PER_MSEC;
        for (bool exited = false; !exited || out[0] >= 0 || err[0] >= 0;) {
                struct pollfd p[3] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN },
                                       { .fd = exited ? -1 : pidfd, .events = POLLIN } };
                uint64_t now = now_msec(), until = killed ? kill_at : deadline;
                int k;

                if (now >= until) {
                        if (!timed_out) {
                                timed_out = true;
                                log_warning("The %s hook ran longer than its timeout: terminating it", name);
                                kill(-pid, SIGTERM);
                                killed = true;
                                kill_at = now + HOOK_KILL_GRACE_MSEC;
                                continue;
                        }
                        kill(-pid, SIGKILL);
                        /* Whatever still holds the pipes is gone now or never will be. */
                        if (out[0] >= 0)
                                out[0] = (close(out[0]), -1);
                        if (err[0] >= 0)
                                err[0] = (close(err[0]), -1);
                        (void) waitpid(pid, &status, 0);
                        break;
                }
                k = poll(p, 3, (int) MIN(until - now, (uint64_t) 1000));
                if (k < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &out[0] : &err[0];
                        char buf[4096];
                        ssize_t n;

                        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(*fd, buf, sizeof(buf));
                        if (n > 0) {
                                tail_add(&tail, buf, (size_t) n);
                                if (i == 0)
                                        last_line_add(&ll, buf, (size_t) n);
                        } else if (n == 0 || errno != EINTR) {
                                close(*fd);
                                *fd = -1;
                        }
                }
                if (!exited && (pidfd < 0 || (p[2].revents & POLLIN))) {
                        pid_t w = waitpid(pid, &status, pidfd < 0 ? WNOHANG : 0);
                        if (w == pid)
                                exited = true;
                        /* A finished hook whose background children keep the pipes open: their
                         * output no longer matters. */
                }
                if (exited && (out[0] >= 0 || err[0] >= 0) && k == 0) {
                        if (out[0] >= 0)
                                out[0] = (close(out[0]), -1);
                        if (err[0] >= 0)
                                err[0] = (close(err[0]), -1);
                }
        }
        if (pidfd >= 0)
                close(pidfd);
        last_line_add(&ll, "\n", 1);

        *ret = (HookRun) {
                .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                .timed_out = timed_out,
                .output = strdup(tail.buf),
                .last_line = ll.last[0] ? strdup(ll.last) : NULL,
        };
        if (timed_out)
                ret->verdict = HOOK_FAIL;
        else if (ret->exit_code == 0)
                ret->verdict = HOOK_GO;
        else if (ret->exit_code == HOOK_EXIT_RETRY)
                ret->verdict = HOOK_RETRY;
        else
                ret->verdict = HOOK_FAIL;
        log_info("The %s hook %s", name,
                 ret->verdict == HOOK_GO ? "said go" : ret->verdict == HOOK_RETRY ? "asked to retry later" : "failed");
        return 0;
}

char *hook_run_describe(const HookRun *r, const char *name) {
        _cleanup_free_ char *how = NULL;
        char *s, *o = r->output ? strdup(r->output) : NULL;

        /* One line for the feedback: newlines become " | ". */
        if (o) {
                size_t n = strlen(o);
                while (n > 0 && (o[n - 1] == '\n' || o[n - 1] == '\r' || o[n - 1] == ' '))
                        o[--n] = 0;
                for (char *p = o; *p; p++)
                        if (*p == '\n')
                                *p = '|';
                        else if ((unsigned char) *p < ' ')
                                *p = ' ';
        }
        if (r->timed_out)
                how = strdup("timed out");
        else if (r->signal > 0)
                how = strdup_printf("was killed by signal %d", r->signal);
        else
                how = strdup_printf("exited with %d", r->exit_code);
        s = strdup_printf("%s hook %s%s%s", name, how ?: "failed", o && *o ? ": " : "", o ?: "");
        free(o);
        return s;
}
