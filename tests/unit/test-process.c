/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "process.h"
#include "unit.h"

#define MSEC UINT64_C(1000)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static const ProcessOptions capture = {
        .out = { .head_max = 4096 },
        .err = { .tail_max = 4096 },
};

static int sh(const char *script, const ProcessOptions *o, ProcessResult *ret) {
        return process_run((const char *const[]) { "/bin/sh", "-c", script, NULL }, o, ret);
}

/* True once pid is gone: reaped by us (ECHILD) and no longer signalable. */
static bool reaped(pid_t pid) {
        return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH;
}

TEST(exec_failure) {
        ProcessResult res = {};
        ProcessOptions path = capture;
        char tmpl[] = "/tmp/test-process-XXXXXX";
        int fd;

        CHECK_EQ(process_run((const char *const[]) { "/nonexistent/program", NULL }, &capture, &res), -ENOENT);
        path.search_path = true;
        CHECK_EQ(process_run((const char *const[]) { "update1-no-such-program", NULL }, &path, &res), -ENOENT);
        /* Not executable. */
        fd = mkstemp(tmpl);
        CHECK(fd >= 0);
        close(fd);
        CHECK_EQ(process_run((const char *const[]) { tmpl, NULL }, &capture, &res), -EACCES);
        unlink(tmpl);
        /* A missing working directory is a failure to start, too. */
        path.working_directory = "/nonexistent";
        CHECK_EQ(process_run((const char *const[]) { "true", NULL }, &path, &res), -ENOENT);
        /* ... and distinct from a program that exits with 127. */
        CHECK_EQ(sh("exit 127", &capture, &res), 0);
        CHECK_EQ(res.exit_code, 127);
        process_result_done(&res);
}

TEST(exit_status_and_output) {
        ProcessResult res = {};

        CHECK_EQ(sh("echo out; echo err >&2; exit 3", &capture, &res), 0);
        CHECK_EQ(res.exit_code, 3);
        CHECK_EQ(res.signal, 0);
        CHECK(!res.timed_out);
        CHECK_STREQ(res.out.head, "out\n");
        CHECK_STREQ(res.out.tail, "");
        CHECK_STREQ(res.err.tail, "err\n");
        CHECK(!process_capture_truncated(&res.out));
        process_result_done(&res);

        CHECK_EQ(sh("true", &capture, &res), 0);
        CHECK_EQ(res.exit_code, 0);
        CHECK(WIFEXITED(res.status));
        process_result_done(&res);
}

TEST(stderr_modes) {
        ProcessOptions o = { .stderr_mode = PROCESS_STDERR_TO_STDOUT, .out = { .tail_max = 100 } };
        ProcessResult res = {};

        CHECK_EQ(sh("echo a; echo b >&2; echo c", &o, &res), 0);
        CHECK_STREQ(res.out.tail, "a\nb\nc\n");
        CHECK_EQ(res.err.total, 0);
        process_result_done(&res);

        o.stderr_mode = PROCESS_STDERR_MERGE;
        CHECK_EQ(sh("echo b >&2", &o, &res), 0);
        CHECK_STREQ(res.out.tail, "b\n");
        process_result_done(&res);
}

TEST(killed_by_signal) {
        ProcessResult res = {};

        CHECK_EQ(sh("kill -USR1 $$", &capture, &res), 0);
        CHECK_EQ(res.exit_code, -1);
        CHECK_EQ(res.signal, SIGUSR1);
        CHECK(!res.timed_out);
        process_result_done(&res);
}

TEST(timeout_term) {
        ProcessOptions o = capture;
        ProcessResult res = {};
        uint64_t t0 = now_usec();

        o.timeout_usec = 200 * MSEC;
        o.kill_grace_usec = 10000 * MSEC;
        CHECK_EQ(sh("echo started; sleep 30", &o, &res), 0);
        CHECK(res.timed_out);
        CHECK_EQ(res.signal, SIGTERM);
        CHECK_STREQ(res.out.head, "started\n");
        CHECK(now_usec() - t0 >= 200 * MSEC);
        CHECK(now_usec() - t0 < 5000 * MSEC);
        process_result_done(&res);
}

TEST(timeout_term_ignored) {
        ProcessOptions o = capture;
        ProcessResult res = {};
        uint64_t t0 = now_usec();

        o.timeout_usec = 200 * MSEC;
        o.kill_grace_usec = 200 * MSEC;
        /* An ignored signal stays ignored across exec: sleep ignores SIGTERM too. */
        CHECK_EQ(sh("trap '' TERM; sleep 30", &o, &res), 0);
        CHECK(res.timed_out);
        CHECK_EQ(res.signal, SIGKILL);
        CHECK(now_usec() - t0 >= 400 * MSEC);
        CHECK(now_usec() - t0 < 5000 * MSEC);
        process_result_done(&res);

        /* Without a grace period: SIGKILL at the timeout. */
        o.kill_grace_usec = 0;
        CHECK_EQ(sh("sleep 30", &o, &res), 0);
        CHECK(res.timed_out);
        CHECK_EQ(res.signal, SIGKILL);
        process_result_done(&res);
}

static size_t heap_peak;

static size_t heap_in_use(void) {
        struct mallinfo2 mi = mallinfo2();

        return mi.uordblks + mi.hblkhd;
}

static void track_heap(bool is_stderr, const char *buf, size_t n, void *userdata) {
        heap_peak = MAX(heap_peak, heap_in_use());
}

TEST(output_cap) {
        ProcessOptions o = {
                .out = { .head_max = 100, .tail_max = 100 },
                .err = { .tail_max = 10 },
                .on_output = track_heap,
        };
        ProcessResult res = {};
        size_t before = heap_in_use();

        heap_peak = before;
        CHECK_EQ(sh("head -c 10000000 /dev/zero | tr '\\0' x; echo END; echo 0123456789abc >&2", &o, &res), 0);
        CHECK_EQ(res.exit_code, 0);
        CHECK_EQ(res.out.total, 10000004);
        CHECK_EQ(res.out.head_len, 100);
        CHECK_EQ(res.out.tail_len, 100);
        CHECK(process_capture_truncated(&res.out));
        CHECK(strspn(res.out.head, "x") == 100);
        CHECK(strlen(res.out.tail) == 100 && strcmp(res.out.tail + 96, "END\n") == 0);
        CHECK_STREQ(res.err.tail, "456789abc\n");
        CHECK_EQ(res.err.total, 14);
        /* 10 MB went through; what stayed is the caps and the read buffer (on the stack). */
        CHECK(heap_peak - before < 64 * 1024);
        process_result_done(&res);

        /* Small output fits: head and tail hold all of it, in order, without overlap. */
        CHECK_EQ(sh("printf 0123456789ABCDEFGHIJ", &(ProcessOptions) { .out = { 5, 10 } }, &res), 0);
        CHECK_STREQ(res.out.head, "01234");
        CHECK_STREQ(res.out.tail, "ABCDEFGHIJ");
        CHECK(process_capture_truncated(&res.out));
        process_result_done(&res);
        CHECK_EQ(sh("printf 0123456789", &(ProcessOptions) { .out = { 5, 10 } }, &res), 0);
        CHECK_STREQ(res.out.head, "01234");
        CHECK_STREQ(res.out.tail, "56789");
        CHECK(!process_capture_truncated(&res.out));
        process_result_done(&res);
}

/* The child exits at once; a grandchild in its group keeps stdout open. */
#define LEAVE_GRANDCHILD "sleep 30 & echo $!"

TEST(grandchild_holds_stdout) {
        ProcessOptions o = capture;
        ProcessResult res = {};
        uint64_t t0 = now_usec();

        o.timeout_usec = 300 * MSEC;
        o.kill_grace_usec = 10000 * MSEC;
        CHECK_EQ(sh(LEAVE_GRANDCHILD, &o, &res), 0);
        CHECK(now_usec() - t0 < 5000 * MSEC);   /* the grandchild went with SIGTERM */
        CHECK_EQ(res.exit_code, 0);
        CHECK(res.timed_out);
        CHECK(atoi(res.out.head) > 0);
        process_result_done(&res);

        /* kill_group_on_exit: no need to wait for the timeout. */
        o.timeout_usec = 30000 * MSEC;
        o.kill_group_on_exit = true;
        t0 = now_usec();
        CHECK_EQ(sh(LEAVE_GRANDCHILD, &o, &res), 0);
        CHECK(now_usec() - t0 < 5000 * MSEC);
        CHECK_EQ(res.exit_code, 0);
        CHECK(!res.timed_out);
        process_result_done(&res);

        /* linger: stop reading once it is quiet, leave the grandchild alone. */
        o.kill_group_on_exit = false;
        o.linger_usec = 50 * MSEC;
        CHECK_EQ(sh(LEAVE_GRANDCHILD, &o, &res), 0);
        CHECK_EQ(res.exit_code, 0);
        CHECK(!res.timed_out);
        CHECK(atoi(res.out.head) > 0 && kill(atoi(res.out.head), 0) == 0);
        if (atoi(res.out.head) > 0)
                (void) kill(atoi(res.out.head), SIGKILL);
        process_result_done(&res);
}

static unsigned poll_calls;
static int poll_failure;

static int failing_poll(struct pollfd *fds, nfds_t n, int timeout_ms) {
        if (poll_calls++ < 2) {
                errno = poll_failure;
                return -1;
        }
        return poll(fds, n, timeout_ms);
}

TEST(poll_error) {
        Process p = PROCESS_NULL;
        ProcessResult res = {};
        uint64_t t0 = now_usec();

        process_poll_hook = failing_poll;

        /* EINTR is retried. */
        poll_calls = 0;
        poll_failure = EINTR;
        CHECK_EQ(sh("echo hi", &capture, &res), 0);
        CHECK_EQ(res.exit_code, 0);
        CHECK_STREQ(res.out.head, "hi\n");
        CHECK(poll_calls > 2);
        process_result_done(&res);

        /* Anything else fails the call, with the child killed and reaped. */
        poll_calls = 0;
        poll_failure = ENOMEM;
        CHECK_EQ(process_spawn((const char *const[]) { "/bin/sh", "-c", "sleep 30", NULL }, &capture, &p), 0);
        pid_t pid = p.pid;
        CHECK_EQ(process_wait(&p, &capture, &res), -ENOMEM);
        CHECK_EQ(p.pid, 0);
        CHECK(reaped(pid));
        CHECK(now_usec() - t0 < 5000 * MSEC);
        process_done(&p);

        process_poll_hook = NULL;
}

static int on_watch(int fd, void *userdata) {
        char c;

        return read(fd, &c, 1) == 1 && c == 'x';
}

TEST(watch_cancels) {
        ProcessOptions o = capture;
        ProcessResult res = {};
        int fds[2];

        CHECK_EQ(pipe(fds), 0);
        CHECK_EQ(write(fds[1], "ax", 2), 2);
        o.watch_fd = fds[0];
        o.on_watch = on_watch;
        CHECK_EQ(sh("sleep 30", &o, &res), 0);
        CHECK(res.cancelled);
        CHECK_EQ(res.signal, SIGKILL);
        process_result_done(&res);
        close(fds[0]);
        close(fds[1]);
}

TEST(environment) {
        char *envp[] = { (char *) "A=1", (char *) "B=2", NULL };
        char *extra[] = { (char *) "B=3", (char *) "C=4", NULL };
        ProcessOptions o = capture;
        ProcessResult res = {};

        o.envp = envp;
        o.extra_env = extra;
        o.working_directory = "/";
        CHECK_EQ(process_run((const char *const[]) { "/usr/bin/env", NULL }, &o, &res), 0);
        CHECK_STREQ(res.out.head, "A=1\nB=3\nC=4\n");
        process_result_done(&res);

        CHECK_EQ(sh("pwd", &o, &res), 0);
        CHECK_STREQ(res.out.head, "/\n");
        process_result_done(&res);

        /* Inherited, with the extra ones on top. */
        setenv("TEST_PROCESS_INHERITED", "yes", 1);
        o.envp = NULL;
        CHECK_EQ(sh("echo $TEST_PROCESS_INHERITED $C", &o, &res), 0);
        CHECK_STREQ(res.out.head, "yes 4\n");
        process_result_done(&res);
}

/* What the child must not inherit from us: blocked or ignored signals, our fds, a tty stdin. */
TEST(child_hardening) {
        sigset_t block, old;
        ProcessResult res = {};
        char script[256];
        int fd = open("/dev/null", O_RDONLY);   /* not close-on-exec */
        uintptr_t ign33[16] = { (uintptr_t) SIG_IGN }, saved33[16] = {};

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);
        signal(SIGPIPE, SIG_IGN);
        /* glibc's own signal 33, which its sigaction() refuses to touch: as a test runner may
         * leave it (the system call, with the kernel's struct: all zeros but the handler). */
        CHECK_EQ(syscall(SYS_rt_sigaction, 33, ign33, saved33, (size_t) (_NSIG / 8)), 0);
        snprintf(script, sizeof(script),
                 "grep -E '^Sig(Blk|Ign)' /proc/self/status; test -e /proc/self/fd/%d && echo leaked; "
                 "readlink /proc/self/fd/0",
                 fd);
        CHECK_EQ(sh(script, &capture, &res), 0);
        CHECK(strstr(res.out.head, "SigBlk:\t0000000000000000\n"));
        CHECK(strstr(res.out.head, "SigIgn:\t0000000000000000\n"));
        CHECK(!strstr(res.out.head, "leaked"));
        CHECK(strstr(res.out.head, "/dev/null\n"));
        if (unit_case_failures > 0)
                printf("# the child said: %s\n", res.out.head);
        process_result_done(&res);
        /* Its own process group: the pgid is its pid. */
        CHECK_EQ(sh("test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$", &capture, &res), 0);
        CHECK_EQ(res.exit_code, 0);
        process_result_done(&res);
        sigprocmask(SIG_SETMASK, &old, NULL);
        signal(SIGPIPE, SIG_DFL);
        CHECK_EQ(syscall(SYS_rt_sigaction, 33, saved33, NULL, (size_t) (_NSIG / 8)), 0);
        close(fd);
}

TEST(async) {
        Process p = PROCESS_NULL;
        struct pollfd pf;
        int status = 0;

        CHECK_EQ(process_spawn((const char *const[]) { "/bin/sh", "-c", "exit 5", NULL },
                               &(ProcessOptions) { .inherit_output = true }, &p), 0);
        CHECK(p.pid > 0);
        CHECK(p.out_fd < 0 && p.err_fd < 0);
        if (p.pidfd >= 0) {
                pf = (struct pollfd) { .fd = p.pidfd, .events = POLLIN };
                CHECK_EQ(poll(&pf, 1, 5000), 1);
                CHECK_EQ(process_try_reap(&p, &status), 1);
        } else
                CHECK_EQ(process_reap(&p, &status), 1);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
        CHECK_EQ(p.pid, 0);
        process_done(&p);

        /* process_done() kills and reaps what still runs. */
        CHECK_EQ(process_spawn((const char *const[]) { "sleep", "30", NULL },
                               &(ProcessOptions) { .search_path = true, .inherit_output = true }, &p), 0);
        pid_t pid = p.pid;
        CHECK_EQ(process_try_reap(&p, &status), 0);
        process_done(&p);
        CHECK(reaped(pid));
}

UNIT_MAIN_BEGIN("test-process")
RUN(exec_failure);
RUN(exit_status_and_output);
RUN(stderr_modes);
RUN(killed_by_signal);
RUN(timeout_term);
RUN(timeout_term_ignored);
RUN(output_cap);
RUN(grandchild_holds_stdout);
RUN(poll_error);
RUN(watch_cancels);
RUN(environment);
RUN(child_hardening);
RUN(async);
UNIT_MAIN_END
