/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs one health check (or green.d/red.d script) as its own process group with a deadline,
 * forwards its output line by line to our stderr (the journal under systemd) and keeps the
 * tail of it for the status file. */

#define HEALTH_OUTPUT_TAIL_MAX 4096
/* An exit code with which a check says "not applicable here" (automake/meson convention). */
#define HEALTH_EXIT_SKIP 77

typedef struct ExecResult {
        int exit_code;          /* >= 0 if it exited, else -1 */
        int signal;             /* > 0 if a signal ended it (SIGKILL after a timeout) */
        bool timed_out;
        uint64_t duration_ms;
        char *output;           /* last HEALTH_OUTPUT_TAIL_MAX bytes, NUL-terminated, valid UTF-8 */
        bool output_truncated;  /* it printed more than the tail holds */
} ExecResult;

/* Runs 'path' with argv { path } and envp, stdin /dev/null, stdout+stderr captured.  While it
 * runs, SIGCHLD, SIGTERM and SIGINT are blocked and read from a signalfd: a SIGTERM from
 * systemd kills the check's whole process group first.
 * timeout_usec 0 means none.  Output lines are logged as "<label>: <line>".
 * Returns 0 once the program ended (whatever its exit status), -ECANCELED if we got SIGTERM
 * or SIGINT (the check was killed; *ret is then filled too), or a negative errno if it could
 * not be started (a failed exec included: that is not "exit status 127") or waited for. */
int health_exec(const char *path, const char *label, char *const envp[], uint64_t timeout_usec, ExecResult *ret);

void exec_result_done(ExecResult *r);
