/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "process.h"
#include "reboot.h"
#include "util.h"

/* Without a pidfd (kernels before 5.3) the child is polled at this interval. */
#define REBOOT_POLL_USEC (50 * 1000)

struct RebootJob {
        Manager *manager;
        JobReply reply;                 /* the Reboot() call, until answered */
        Process process;
        sd_event_source *exit_source;   /* pidfd readable */
        sd_event_source *timer_source;  /* the deadline */
        sd_event_source *poll_source;   /* without a pidfd */
        char *command;                  /* for messages */
        unsigned timeout_sec;
};

static RebootJob *reboot_job_free(RebootJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->exit_source);
        sd_event_source_disable_unref(j->timer_source);
        sd_event_source_disable_unref(j->poll_source);
        /* Reaped by now, or abandoned at shutdown: the command may be what stops us. */
        process_disown(&j->process);
        free(j->command);
        return mfree(j);
}

bool reboot_running(const Manager *m) {
        return m && m->reboot;
}

static void reply_error(RebootJob *j, ErrorKind kind, int r, const char *fmt, ...) _printf_(4, 5);
static void reply_error(RebootJob *j, ErrorKind kind, int r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        UError err = UERROR_NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        (void) uerror_set(&err, kind, r, "%s", msg ?: "Reboot failed");
        log_warning("Reboot: %s", err.message);
        job_reply(&j->reply, &err, NULL);
}

/* Reaped: answer the call and end the job. */
static void reboot_finish(RebootJob *j, int status, bool timed_out) {
        Manager *m = j->manager;

        if (timed_out)
                reply_error(j, ERROR_FAILED, -ETIME, "reboot-command '%s' did not finish within %u seconds and was killed",
                            j->command, j->timeout_sec);
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                log_notice("Reboot: '%s' succeeded", j->command);
                job_reply(&j->reply, NULL, NULL);
        } else if (WIFEXITED(status))
                reply_error(j, ERROR_FAILED, -EIO, "reboot-command '%s' failed with exit status %d", j->command,
                            WEXITSTATUS(status));
        else
                reply_error(j, ERROR_FAILED, -EIO, "reboot-command '%s' was killed by signal %d (%s)", j->command,
                            WTERMSIG(status), strsignal(WTERMSIG(status)) ?: "?");

        if (m->reboot == j)
                m->reboot = NULL;
        reboot_job_free(j);
}

/* 1 and *ret_status once the child is reaped, 0 while it runs. */
static int try_reap(RebootJob *j, int *ret_status) {
        int r = process_try_reap(&j->process, ret_status);

        if (r < 0) {
                /* Someone reaped it (cannot happen in updated): report what we know. */
                *ret_status = W_EXITCODE(127, 0);
                return 1;
        }
        return r;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RebootJob *j = userdata;
        int status = 0;

        if (try_reap(j, &status) > 0)
                reboot_finish(j, status, false);
        return 0;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        RebootJob *j = userdata;
        int status = 0;

        if (try_reap(j, &status) > 0) {
                reboot_finish(j, status, false);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, REBOOT_POLL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        RebootJob *j = userdata;
        int status = 0;

        /* The whole process group: a script's children go too. */
        process_kill(&j->process, SIGKILL);
        (void) process_reap(&j->process, &status);
        reboot_finish(j, status, true);
        return 0;
}

int reboot_start(Manager *m, uid_t uid, JobReply reply, UError *err) {
        const Config *c = m->config;
        RebootJob *j;
        int r;

        if (m->reboot)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "A reboot was already requested: '%s' is running",
                                  m->reboot->command);
        if (!c->reboot_argv || !c->reboot_argv[0])
                return uerror_set(err, ERROR_FAILED, -EOPNOTSUPP,
                                  "Reboot is disabled: [system] reboot-command= is empty in %s", c->path ?: "the configuration");

        j = calloc(1, sizeof(*j));
        if (!j)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        j->manager = m;
        j->process = PROCESS_NULL;
        j->timeout_sec = c->reboot_timeout_sec ?: CONFIG_DEFAULT_REBOOT_TIMEOUT_SEC;
        j->command = strdup(c->reboot_command);
        if (!j->command) {
                reboot_job_free(j);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }

        /* The daemon blocks SIGTERM/SIGINT for sd-event and ignores SIGPIPE: process_spawn()
         * gives the command the defaults and its own process group, so that a timeout can kill
         * all of it.  Its stdout/stderr stay the daemon's (the journal). */
        r = process_spawn((const char *const *) c->reboot_argv,
                          &(ProcessOptions) { .search_path = true, .inherit_output = true }, &j->process);
        if (r < 0) {
                reboot_job_free(j);
                if (r == -ENOENT)
                        return uerror_set(err, ERROR_FAILED, r, "Cannot run reboot-command '%s': %s not found%s",
                                          c->reboot_command, c->reboot_argv[0],
                                          strchr(c->reboot_argv[0], '/') ? "" : " on PATH");
                return uerror_set(err, ERROR_FAILED, r, "Cannot run reboot-command '%s': %s", c->reboot_command,
                                  strerror(-r));
        }
        log_notice("Reboot requested by uid %u: running '%s' (pid %d)", (unsigned) uid, j->command, (int) j->process.pid);

        /* From here on the child exists: every path ends in reboot_finish(), which reaps it. */
        if (j->process.pidfd >= 0)
                r = sd_event_add_io(m->event, &j->exit_source, j->process.pidfd, EPOLLIN, on_child_exit, j);
        else
                r = sd_event_add_time_relative(m->event, &j->poll_source, CLOCK_MONOTONIC, REBOOT_POLL_USEC, 0,
                                               on_poll, j);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &j->timer_source, CLOCK_MONOTONIC,
                                               (uint64_t) j->timeout_sec * 1000000, 0, on_timeout, j);
        if (r < 0) {
                /* Cannot watch it: wait for it here, bounded by the same deadline. */
                ProcessResult res = {};

                log_warning_errno(r, "Reboot: cannot watch '%s' from the event loop, waiting for it: %m", j->command);
                r = process_wait(&j->process,
                                 &(ProcessOptions) { .inherit_output = true,
                                                     .timeout_usec = (uint64_t) j->timeout_sec * 1000000 },
                                 &res);
                j->reply = reply;
                /* A failed wait has killed it. */
                reboot_finish(j, r < 0 ? SIGKILL : res.status, r >= 0 && res.timed_out);
                process_result_done(&res);
                return 0;
        }

        j->reply = reply;
        m->reboot = j;
        return 0;
}

void reboot_abandon(Manager *m) {
        RebootJob *j = m->reboot;

        if (!j)
                return;
        reply_error(j, ERROR_FAILED, -ESHUTDOWN, "updated is stopping while reboot-command '%s' (pid %d) still runs",
                    j->command, (int) j->process.pid);
        m->reboot = NULL;
        reboot_job_free(j);
}
