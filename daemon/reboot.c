/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "bus.h"
#include "log.h"
#include "reboot.h"
#include "util.h"

/* Without a pidfd (kernels before 5.3) the child is polled at this interval. */
#define REBOOT_POLL_USEC (50 * 1000)

struct RebootJob {
        Manager *manager;
        sd_bus_message *call;
        pid_t pid;
        int pidfd;
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
        if (j->pidfd >= 0)
                close(j->pidfd);
        sd_bus_message_unref(j->call);
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
        if (j->call)
                (void) bus_reply_uerror(j->call, &err);
}

/* Reaped: answer the call and end the job. */
static void reboot_finish(RebootJob *j, int status, bool timed_out) {
        Manager *m = j->manager;

        if (timed_out)
                reply_error(j, ERROR_FAILED, -ETIME, "reboot-command '%s' did not finish within %u seconds and was killed",
                            j->command, j->timeout_sec);
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                log_notice("Reboot: '%s' succeeded", j->command);
                if (j->call)
                        (void) sd_bus_reply_method_return(j->call, NULL);
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
        pid_t p;

        do
                p = waitpid(j->pid, ret_status, WNOHANG);
        while (p < 0 && errno == EINTR);
        if (p < 0) {
                /* Someone reaped it (cannot happen in updated): report what we know. */
                *ret_status = W_EXITCODE(127, 0);
                return 1;
        }
        return p == j->pid;
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
        (void) kill(-j->pid, SIGKILL);
        (void) kill(j->pid, SIGKILL);
        while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
                ;
        reboot_finish(j, status, true);
        return 0;
}

static int spawn_command(char *const argv[], pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, defaults;
        pid_t pid;
        int r;

        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        /* stdout/stderr stay the daemon's (the journal); nothing else of the daemon leaks. */
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        /* The daemon blocks SIGTERM/SIGINT for sd-event and ignores SIGPIPE; the command gets
         * the defaults, and its own process group so a timeout can kill all of it. */
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                            POSIX_SPAWN_SETPGROUP);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &defaults);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        *ret_pid = pid;
        return 0;
}

int reboot_start(Manager *m, sd_bus_message *call, uid_t uid, UError *err) {
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
        j->pidfd = -EBADF;
        j->timeout_sec = c->reboot_timeout_sec ?: CONFIG_DEFAULT_REBOOT_TIMEOUT_SEC;
        j->command = strdup(c->reboot_command);
        if (!j->command) {
                reboot_job_free(j);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }

        r = spawn_command(c->reboot_argv, &j->pid);
        if (r < 0) {
                reboot_job_free(j);
                if (r == -ENOENT)
                        return uerror_set(err, ERROR_FAILED, r, "Cannot run reboot-command '%s': %s not found%s",
                                          c->reboot_command, c->reboot_argv[0],
                                          strchr(c->reboot_argv[0], '/') ? "" : " on PATH");
                return uerror_set(err, ERROR_FAILED, r, "Cannot run reboot-command '%s': %s", c->reboot_command,
                                  strerror(-r));
        }
        log_notice("Reboot requested by uid %u: running '%s' (pid %d)", (unsigned) uid, j->command, (int) j->pid);

        /* From here on the child exists: every path ends in reboot_finish(), which reaps it. */
#ifdef SYS_pidfd_open
        j->pidfd = (int) syscall(SYS_pidfd_open, j->pid, 0);
#endif
        if (j->pidfd >= 0)
                r = sd_event_add_io(m->event, &j->exit_source, j->pidfd, EPOLLIN, on_child_exit, j);
        else
                r = sd_event_add_time_relative(m->event, &j->poll_source, CLOCK_MONOTONIC, REBOOT_POLL_USEC, 0,
                                               on_poll, j);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &j->timer_source, CLOCK_MONOTONIC,
                                               (uint64_t) j->timeout_sec * 1000000, 0, on_timeout, j);
        if (r < 0) {
                /* Cannot watch it: wait for it here, bounded by the same deadline. */
                int status = 0;
                bool done = false;

                log_warning_errno(r, "Reboot: cannot watch '%s' from the event loop, waiting for it: %m", j->command);
                for (uint64_t waited = 0; waited < (uint64_t) j->timeout_sec * 1000000; waited += REBOOT_POLL_USEC) {
                        if (try_reap(j, &status) > 0) {
                                done = true;
                                break;
                        }
                        (void) usleep(REBOOT_POLL_USEC);
                }
                j->call = sd_bus_message_ref(call);
                if (done)
                        reboot_finish(j, status, false);
                else
                        (void) on_timeout(NULL, 0, j);
                return 0;
        }

        j->call = sd_bus_message_ref(call);
        m->reboot = j;
        return 0;
}

void reboot_abandon(Manager *m) {
        RebootJob *j = m->reboot;

        if (!j)
                return;
        reply_error(j, ERROR_FAILED, -ESHUTDOWN, "updated is stopping while reboot-command '%s' (pid %d) still runs",
                    j->command, (int) j->pid);
        m->reboot = NULL;
        reboot_job_free(j);
}
