/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way Update1 runs a program: bootloader tools, reboot-command=, agent hooks and health
 * checks.  The child gets argv (no shell), stdin /dev/null, its own process group, an empty
 * signal mask and default signal dispositions, and none of our file descriptors but 0-2.
 * A failed exec is reported as the exec's errno, never as "exited with 127".
 *
 * Synchronous: process_run().  Asynchronous (an event loop watches Process.pidfd):
 * process_spawn(), then process_try_reap()/process_kill()/process_reap(), or process_wait(). */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum ProcessStderr {
        PROCESS_STDERR_CAPTURE,         /* its own pipe, into ProcessResult.err */
        PROCESS_STDERR_MERGE,           /* its own pipe, into ProcessResult.out in the order read */
        PROCESS_STDERR_TO_STDOUT,       /* the child's fd 2 is its fd 1: one pipe, exact order */
} ProcessStderr;

/* How much of a stream is kept: its first head_max and its last tail_max bytes.  Memory is
 * bounded by these whatever the child prints; 0/0 keeps nothing (the stream is still read). */
typedef struct ProcessCaptureLimit {
        size_t head_max;
        size_t tail_max;
} ProcessCaptureLimit;

typedef struct ProcessOptions {
        bool search_path;               /* argv[0] without a '/' is looked up in $PATH */
        char *const *envp;              /* the child's environment; NULL: ours */
        char *const *extra_env;         /* "NAME=value" entries set on top of envp; NULL-terminated */
        const char *working_directory;  /* NULL: ours */

        bool inherit_output;            /* stdout/stderr stay ours (the journal); nothing is captured */
        ProcessStderr stderr_mode;
        ProcessCaptureLimit out, err;
        /* Sees every chunk read, e.g. to forward lines or keep the last one. */
        void (*on_output)(bool is_stderr, const char *buf, size_t n, void *userdata);

        /* process_wait(): 0 means none.  At the timeout the process group gets SIGTERM and,
         * kill_grace_usec later, SIGKILL; with no grace SIGKILL right away. */
        uint64_t timeout_usec;
        uint64_t kill_grace_usec;
        /* Once the child exited, something it left behind may still hold the pipes open.
         * linger_usec > 0: stop reading after that long without output (what it left keeps
         * running).  kill_group_on_exit: SIGKILL what is left in its process group.  Neither:
         * read until EOF, bounded by the timeout. */
        uint64_t linger_usec;
        bool kill_group_on_exit;

        /* process_wait() also polls watch_fd when on_watch is set; on_watch returning > 0
         * stops the child (SIGKILL to its group, ProcessResult.cancelled), < 0 fails the wait. */
        int watch_fd;
        int (*on_watch)(int fd, void *userdata);

        void *userdata;
} ProcessOptions;

/* The first head_len bytes, then the last tail_len bytes of what followed; each NUL-terminated
 * (the output may hold NULs itself: use the lengths). */
typedef struct ProcessCapture {
        char *head;
        size_t head_len;
        char *tail;
        size_t tail_len;
        uint64_t total;                 /* bytes read in all */
} ProcessCapture;

static inline bool process_capture_truncated(const ProcessCapture *c) {
        return c->total > c->head_len + c->tail_len;
}

typedef struct ProcessResult {
        int status;                     /* as from waitpid() */
        int exit_code;                  /* >= 0 if it exited, else -1 */
        int signal;                     /* > 0 if a signal ended it */
        bool timed_out;                 /* it (or what it left holding the pipes) hit the timeout */
        bool cancelled;                 /* on_watch stopped it */
        uint64_t duration_usec;
        ProcessCapture out, err;
} ProcessResult;

void process_result_done(ProcessResult *r);

typedef struct Process {
        pid_t pid;                      /* = its process group; 0 once reaped */
        int pidfd;                      /* readable once it exited; -EBADF before Linux 5.3 */
        int out_fd, err_fd;             /* read ends of the pipes, -EBADF if not captured */
        uint64_t start_usec;            /* CLOCK_MONOTONIC */
} Process;

#define PROCESS_NULL ((Process) { .pidfd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF })

/* Starts argv[0].  Returns once it has exec'd, or the negative errno of the failed exec (or
 * of the setup before it; the child is reaped then). */
int process_spawn(const char *const argv[], const ProcessOptions *opts, Process *ret);

/* Reads its output and waits for it, enforcing opts' timeout.  Always reaps it: on an error
 * (poll, on_watch, out of memory) it is killed first and the negative errno returned. */
int process_wait(Process *p, const ProcessOptions *opts, ProcessResult *ret);

/* process_spawn() + process_wait(). */
int process_run(const char *const argv[], const ProcessOptions *opts, ProcessResult *ret);

/* Sends sig to its process group, and to it in case it left the group; nothing once reaped. */
void process_kill(const Process *p, int sig);

/* 1 and *ret_status once reaped, 0 while it runs (process_try_reap()), or a negative errno. */
int process_try_reap(Process *p, int *ret_status);
int process_reap(Process *p, int *ret_status);

/* Closes our fds; a child not reaped yet is SIGKILLed (its group too) and reaped. */
void process_done(Process *p);
/* Closes our fds and forgets the child, which keeps running. */
void process_disown(Process *p);

/* Test hook: replaces poll() in process_wait(); NULL otherwise. */
extern int (*process_poll_hook)(struct pollfd *fds, nfds_t n, int timeout_ms);
