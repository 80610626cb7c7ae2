/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "process.h"

/* Without a pidfd (Linux before 5.3) the child's exit is noticed by polling at this interval. */
#define PROCESS_POLL_USEC (50 * 1000)
#define READ_CHUNK 16384
/* The last read after we stopped waiting takes what the pipe holds, not what a writer that is
 * still alive keeps adding. */
#define DRAIN_MAX_CHUNKS 16

int (*process_poll_hook)(struct pollfd *fds, nfds_t n, int timeout_ms) = NULL;

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void fd_close(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
        *fd = -EBADF;
}

/* --- the child ---------------------------------------------------------------------------- */

/* An fd about to be dup2()ed onto 0..2 must not be one of them already (a parent started with
 * a closed stdio would hand out those numbers). */
static int fd_above_stdio(int fd) {
        return fd >= 0 && fd < 3 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

static void cloexec_other_fds(void) {
        struct rlimit rl;

        /* Close-on-exec, not closed: the status pipe must survive until the exec. */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) >= 0)
                return;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
                rl.rlim_cur = 65536;
        for (int fd = 3; fd < (int) rl.rlim_cur; fd++)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Handlers go at exec, but ignored signals stay.  glibc's sigaction() refuses its own two
 * (32, 33), which a parent may have left ignored too: the system call resets every one.  All
 * zeros is SIG_DFL, no flags and an empty mask on every architecture. */
static void reset_signal_dispositions(void) {
        static const uintptr_t dfl[16] = {};

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t) (_NSIG / 8));
}

/* Between fork() and exec only async-signal-safe calls: the daemon forks from its threads. */
__attribute__((noreturn)) static void child(const char *const argv[], const ProcessOptions *o, char *const envp[],
                                            int null_fd, int out_w, int err_w, int status_w) {
        sigset_t none;
        int e;

        /* First, so that process_kill() reaches everything it starts. */
        (void) setpgid(0, 0);
        /* The daemon and the agent block SIGTERM/SIGINT for their event loops and ignore
         * SIGPIPE: the child gets defaults. */
        reset_signal_dispositions();
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        status_w = fd_above_stdio(status_w);
        null_fd = fd_above_stdio(null_fd);
        out_w = fd_above_stdio(out_w);
        err_w = fd_above_stdio(err_w);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                goto fail;
        if (!o->inherit_output &&
            (dup2(out_w, STDOUT_FILENO) < 0 ||
             dup2(o->stderr_mode == PROCESS_STDERR_TO_STDOUT ? out_w : err_w, STDERR_FILENO) < 0))
                goto fail;
        if (o->working_directory && chdir(o->working_directory) < 0)
                goto fail;
        cloexec_other_fds();
        if (o->search_path)
                execvpe(argv[0], (char *const *) argv, envp);
        else
                execve(argv[0], (char *const *) argv, envp);
fail:
        /* The status pipe is close-on-exec: the parent reads EOF on success, this otherwise. */
        e = errno;
        (void) !write(status_w, &e, sizeof(e));
        _exit(127);
}

/* --- starting it -------------------------------------------------------------------------- */

static bool env_overridden(const char *entry, char *const *set) {
        for (; *set; set++) {
                size_t len = strcspn(*set, "=");

                if (strneq(entry, *set, len) && entry[len] == '=')
                        return true;
        }
        return false;
}

/* Built before fork(): the child must not allocate.  Only the array is new. */
static int env_merge(char *const *envp, char *const *set, char ***ret) {
        size_t n = 0, m = 0, k = 0;
        char **e;

        while (envp && envp[n])
                n++;
        while (set[m])
                m++;
        e = calloc(n + m + 1, sizeof(char *));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!env_overridden(envp[i], set))
                        e[k++] = envp[i];
        for (size_t i = 0; i < m; i++)
                e[k++] = set[i];
        *ret = e;
        return 0;
}

static int make_pipe(int *ret_r, int *ret_w, bool nonblock_r) {
        int fds[2];

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        /* Only our end: the child's stdout must block like any other. */
        if (nonblock_r && fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;

                close(fds[0]);
                close(fds[1]);
                return r;
        }
        *ret_r = fds[0];
        *ret_w = fds[1];
        return 0;
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        if (fd >= 0)
                return fd;
#endif
        return -EBADF;
}

int process_spawn(const char *const argv[], const ProcessOptions *o, Process *ret) {
        _cleanup_close_ int null_fd = -EBADF, out_r = -EBADF, out_w = -EBADF, err_r = -EBADF, err_w = -EBADF,
                            st_r = -EBADF, st_w = -EBADF;
        _cleanup_free_ char **env = NULL;
        char *const *envp;
        uint64_t start;
        int e = 0, r;
        ssize_t n;
        pid_t pid;

        assert(argv && argv[0] && o && ret);

        envp = o->envp ?: environ;
        if (o->extra_env) {
                r = env_merge(envp, o->extra_env, &env);
                if (r < 0)
                        return r;
                envp = env;
        }
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return -errno;
        if (!o->inherit_output) {
                r = make_pipe(&out_r, &out_w, true);
                if (r >= 0 && o->stderr_mode != PROCESS_STDERR_TO_STDOUT)
                        r = make_pipe(&err_r, &err_w, true);
                if (r < 0)
                        return r;
        }
        r = make_pipe(&st_r, &st_w, false);
        if (r < 0)
                return r;

        start = monotonic_usec();
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child(argv, o, envp, null_fd, out_w, err_w, st_w);

        /* Also here, so that a process_kill() right after we return cannot miss the group;
         * EACCES means it has exec'd already, having done this itself. */
        (void) setpgid(pid, pid);
        fd_close(&st_w);
        fd_close(&out_w);
        fd_close(&err_w);

        do
                n = read(st_r, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof(e)) {
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return e > 0 ? -e : -EIO;
        }

        *ret = (Process) {
                .pid = pid,
                .pidfd = open_pidfd(pid),
                .out_fd = TAKE_FD(out_r),
                .err_fd = TAKE_FD(err_r),
                .start_usec = start,
        };
        return 0;
}

/* --- signalling and reaping --------------------------------------------------------------- */

void process_kill(const Process *p, int sig) {
        if (p->pid <= 0)
                return;
        /* Until it is reaped its pid, which is also its group id, cannot be reused. */
        (void) kill(-p->pid, sig);
        (void) kill(p->pid, sig);
}

static int reap(Process *p, int flags, int *ret_status) {
        int status = 0;
        pid_t w;

        if (p->pid <= 0)
                return -ECHILD;
        do
                w = waitpid(p->pid, &status, flags);
        while (w < 0 && errno == EINTR);
        if (w < 0) {
                int r = -errno;

                /* Reaped by someone else: never signal that pid again. */
                if (r == -ECHILD)
                        p->pid = 0;
                return r;
        }
        if (w == 0)
                return 0;
        p->pid = 0;
        if (ret_status)
                *ret_status = status;
        return 1;
}

int process_try_reap(Process *p, int *ret_status) {
        return reap(p, WNOHANG, ret_status);
}

int process_reap(Process *p, int *ret_status) {
        return reap(p, 0, ret_status);
}

void process_disown(Process *p) {
        fd_close(&p->out_fd);
        fd_close(&p->err_fd);
        fd_close(&p->pidfd);
        p->pid = 0;
}

void process_done(Process *p) {
        if (p->pid > 0) {
                process_kill(p, SIGKILL);
                (void) process_reap(p, NULL);
        }
        process_disown(p);
}

void process_result_done(ProcessResult *r) {
        r->out.head = mfree(r->out.head);
        r->out.tail = mfree(r->out.tail);
        r->err.head = mfree(r->err.head);
        r->err.tail = mfree(r->err.tail);
}

/* --- capturing output --------------------------------------------------------------------- */

/* The head, then a ring buffer for the tail: memory is head_max + tail_max, however much the
 * child prints. */
typedef struct Sink {
        ProcessCaptureLimit limit;
        char *head;
        size_t head_len;
        char *ring;
        size_t ring_pos, ring_len;
        uint64_t total;
} Sink;

static int sink_init(Sink *s, ProcessCaptureLimit limit) {
        s->limit = limit;
        s->head = malloc(limit.head_max + 1);
        if (!s->head)
                return -ENOMEM;
        if (limit.tail_max > 0) {
                s->ring = malloc(limit.tail_max);
                if (!s->ring)
                        return -ENOMEM;
        }
        return 0;
}

static void sink_feed(Sink *s, const char *p, size_t n) {
        size_t max = s->limit.tail_max, k;

        s->total = add_sat(s->total, n);
        k = MIN(n, s->limit.head_max - s->head_len);
        memcpy(s->head + s->head_len, p, k);
        s->head_len += k;
        p += k;
        n -= k;
        if (n == 0 || max == 0)
                return;
        if (n >= max) {
                memcpy(s->ring, p + n - max, max);
                s->ring_pos = 0;
                s->ring_len = max;
                return;
        }
        k = MIN(n, max - s->ring_pos);
        memcpy(s->ring + s->ring_pos, p, k);
        memcpy(s->ring, p + k, n - k);
        s->ring_pos = (s->ring_pos + n) % max;
        s->ring_len = MIN(s->ring_len + n, max);
}

static int sink_finish(Sink *s, ProcessCapture *ret) {
        size_t start = s->ring_len < s->limit.tail_max ? 0 : s->ring_pos, k;
        char *tail = malloc(s->ring_len + 1);

        if (!tail)
                return -ENOMEM;
        if (s->ring_len > 0) {
                k = MIN(s->ring_len, s->limit.tail_max - start);
                memcpy(tail, s->ring + start, k);
                memcpy(tail + k, s->ring, s->ring_len - k);
        }
        tail[s->ring_len] = '\0';
        s->head[s->head_len] = '\0';
        *ret = (ProcessCapture) {
                .head = TAKE_PTR(s->head),
                .head_len = s->head_len,
                .tail = tail,
                .tail_len = s->ring_len,
                .total = s->total,
        };
        return 0;
}

static void sink_free(Sink *s) {
        s->head = mfree(s->head);
        s->ring = mfree(s->ring);
}

/* --- waiting ------------------------------------------------------------------------------ */

typedef enum Phase {
        PHASE_RUNNING,
        PHASE_TERMINATING,      /* SIGTERM sent at the timeout */
        PHASE_KILLED,           /* SIGKILL sent */
} Phase;

typedef struct Wait {
        Process *p;
        const ProcessOptions *o;
        Sink out, err;
        Phase phase;
        bool exited, timed_out, cancelled;
        uint64_t deadline, kill_at, quiet_since;
} Wait;

static void wait_kill(Wait *w, int sig) {
        process_kill(w->p, sig);
        w->phase = sig == SIGKILL ? PHASE_KILLED : PHASE_TERMINATING;
}

/* Reads up to max_chunks; closes the pipe at EOF or on an error.  True if data came. */
static bool wait_read(Wait *w, int *fd, bool is_stderr, unsigned max_chunks) {
        Sink *s = is_stderr && w->o->stderr_mode == PROCESS_STDERR_CAPTURE ? &w->err : &w->out;
        char buf[READ_CHUNK];
        bool got = false;

        for (unsigned i = 0; i < max_chunks && *fd >= 0;) {
                ssize_t n = read(*fd, buf, sizeof(buf));

                if (n > 0) {
                        sink_feed(s, buf, (size_t) n);
                        if (w->o->on_output)
                                w->o->on_output(is_stderr, buf, (size_t) n, w->o->userdata);
                        got = true;
                        i++;
                } else if (n < 0 && errno == EINTR)
                        continue;
                else if (n < 0 && errno == EAGAIN)
                        break;
                else
                        fd_close(fd);
        }
        return got;
}

/* We stop waiting for EOF: take what the pipes hold. */
static void wait_drain(Wait *w) {
        (void) wait_read(w, &w->p->out_fd, false, DRAIN_MAX_CHUNKS);
        (void) wait_read(w, &w->p->err_fd, true, DRAIN_MAX_CHUNKS);
        fd_close(&w->p->out_fd);
        fd_close(&w->p->err_fd);
}

static int check_exited(Wait *w) {
        siginfo_t si = {};

        /* WNOWAIT keeps the zombie: its group id stays ours to signal until we reap it. */
        if (waitid(P_PID, (id_t) w->p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == EINTR ? 0 : -errno;
        if (si.si_pid == w->p->pid && !w->exited) {
                w->exited = true;
                w->quiet_since = monotonic_usec();
        }
        return 0;
}

/* Signals due now; true once there is nothing left to wait for. */
static bool wait_step(Wait *w, uint64_t now) {
        const ProcessOptions *o = w->o;
        Process *p = w->p;

        if (w->exited && p->out_fd < 0 && p->err_fd < 0)
                return true;
        if (w->exited && o->kill_group_on_exit && w->phase != PHASE_KILLED)
                wait_kill(w, SIGKILL);
        if (w->phase == PHASE_RUNNING && now >= w->deadline) {
                w->timed_out = true;
                wait_kill(w, o->kill_grace_usec > 0 ? SIGTERM : SIGKILL);
                w->kill_at = add_sat(now, o->kill_grace_usec);
        }
        if (w->phase == PHASE_TERMINATING && now >= w->kill_at)
                wait_kill(w, SIGKILL);
        /* Whatever still holds the pipes has left its group or was left behind on purpose: its
         * output is not the child's. */
        if (w->exited && (w->phase == PHASE_KILLED ||
                          (o->linger_usec > 0 && now >= add_sat(w->quiet_since, o->linger_usec)))) {
                wait_drain(w);
                return true;
        }
        return false;
}

static int poll_timeout_ms(const Wait *w, uint64_t now) {
        uint64_t wake = UINT64_MAX;

        if (w->phase == PHASE_RUNNING)
                wake = w->deadline;
        else if (w->phase == PHASE_TERMINATING)
                wake = w->kill_at;
        if (w->exited && w->o->linger_usec > 0)
                wake = MIN(wake, add_sat(w->quiet_since, w->o->linger_usec));
        if (!w->exited && w->p->pidfd < 0)
                wake = MIN(wake, now + PROCESS_POLL_USEC);
        if (wake == UINT64_MAX)
                return -1;
        return (int) MIN((add_sat(wake, 999) - now) / 1000, (uint64_t) INT_MAX);
}

static int wait_loop(Wait *w) {
        const ProcessOptions *o = w->o;
        Process *p = w->p;

        for (;;) {
                struct pollfd pf[4];
                int i_out = -1, i_err = -1, i_pid = -1, i_watch = -1, nf = 0, k, r;
                uint64_t now = monotonic_usec();

                if (wait_step(w, now))
                        return 0;
                if (p->out_fd >= 0)
                        pf[i_out = nf++] = (struct pollfd) { .fd = p->out_fd, .events = POLLIN };
                if (p->err_fd >= 0)
                        pf[i_err = nf++] = (struct pollfd) { .fd = p->err_fd, .events = POLLIN };
                if (!w->exited && p->pidfd >= 0)
                        pf[i_pid = nf++] = (struct pollfd) { .fd = p->pidfd, .events = POLLIN };
                if (o->on_watch)
                        pf[i_watch = nf++] = (struct pollfd) { .fd = o->watch_fd, .events = POLLIN };

                k = (process_poll_hook ?: poll)(pf, (nfds_t) nf, poll_timeout_ms(w, now));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                now = monotonic_usec();
                if (i_out >= 0 && pf[i_out].revents && wait_read(w, &p->out_fd, false, 1))
                        w->quiet_since = now;
                if (i_err >= 0 && pf[i_err].revents && wait_read(w, &p->err_fd, true, 1))
                        w->quiet_since = now;
                if (i_watch >= 0 && pf[i_watch].revents) {
                        if (pf[i_watch].revents & POLLNVAL)
                                return -EBADF;
                        r = o->on_watch(o->watch_fd, o->userdata);
                        if (r < 0)
                                return r;
                        if (r > 0 && !w->cancelled) {
                                w->cancelled = true;
                                if (w->phase != PHASE_KILLED)
                                        wait_kill(w, SIGKILL);
                        }
                }
                if (!w->exited && (i_pid < 0 || pf[i_pid].revents)) {
                        r = check_exited(w);
                        if (r < 0)
                                return r;
                }
        }
}

int process_wait(Process *p, const ProcessOptions *o, ProcessResult *ret) {
        Wait w = { .p = p, .o = o, .deadline = UINT64_MAX };
        ProcessResult res = {};
        int status = 0, r, k;

        assert(p && p->pid > 0 && o && ret);

        if (o->timeout_usec > 0)
                w.deadline = add_sat(p->start_usec, o->timeout_usec);
        r = sink_init(&w.out, o->out);
        if (r >= 0)
                r = sink_init(&w.err, o->err);
        if (r >= 0)
                r = wait_loop(&w);
        if (r < 0)
                /* Nobody waits for it after us: it must not outlive the failure. */
                process_kill(p, SIGKILL);
        fd_close(&p->out_fd);
        fd_close(&p->err_fd);
        k = process_reap(p, &status);
        if (r >= 0 && k < 0)
                r = k;
        if (r >= 0) {
                res = (ProcessResult) {
                        .status = status,
                        .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                        .timed_out = w.timed_out,
                        .cancelled = w.cancelled,
                        .duration_usec = monotonic_usec() - p->start_usec,
                };
                r = sink_finish(&w.out, &res.out);
                if (r >= 0)
                        r = sink_finish(&w.err, &res.err);
        }
        sink_free(&w.out);
        sink_free(&w.err);
        if (r < 0) {
                process_result_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}

int process_run(const char *const argv[], const ProcessOptions *o, ProcessResult *ret) {
        _cleanup_(process_done) Process p = PROCESS_NULL;
        int r;

        r = process_spawn(argv, o, &p);
        if (r < 0)
                return r;
        return process_wait(&p, o, ret);
}
