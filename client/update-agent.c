/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "bus-client.h"
#include "log.h"
#include "macro.h"
#include "update-agent.h"
#include "util.h"

/* update-agent: the unprivileged network agent.  Polls a hawkBit DDI server, streams or
 * downloads bundles into updated (InstallFd), reboots through updated, and reports the truth
 * after the reboot.  See docs/agent.md. */

uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

void agent_watchdog(Agent *a) {
        uint64_t now = now_usec();

        if (a->watchdog_usec == 0 || now - a->last_watchdog < a->watchdog_usec / 2)
                return;
        a->last_watchdog = now;
        (void) sd_notify(false, "WATCHDOG=1");
}

void agent_status(const char *fmt, ...) {
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) sd_notifyf(false, "STATUS=%s", buf);
}

int agent_wait(Agent *a, uint64_t usec, struct pollfd *fds, size_t n_fds) {
        uint64_t deadline = usec == UINT64_MAX ? UINT64_MAX : now_usec() + usec;

        for (;;) {
                struct pollfd p[8];
                uint64_t now = now_usec(), left = deadline == UINT64_MAX ? UINT64_MAX : deadline > now ? deadline - now : 0;
                int ms, k;

                if (a->terminating)
                        return -EINTR;
                agent_watchdog(a);
                if (n_fds > ELEMENTSOF(p) - 1)
                        return -E2BIG;
                p[0] = (struct pollfd) { .fd = a->signal_fd, .events = POLLIN };
                for (size_t i = 0; i < n_fds; i++) {
                        p[i + 1] = fds[i];
                        p[i + 1].revents = 0;
                }
                /* Wake up for the watchdog too. */
                if (a->watchdog_usec)
                        left = MIN(left, a->watchdog_usec / 2);
                ms = left == UINT64_MAX ? -1 : (int) MIN((left + 999) / 1000, (uint64_t) INT32_MAX);
                k = poll(p, n_fds + 1, ms);
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k > 0 && (p[0].revents & POLLIN)) {
                        struct signalfd_siginfo si;

                        if (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGUSR1) {
                                        log_info("SIGUSR1: polling now");
                                        return 1;
                                }
                                log_info("Received %s: stopping", strsignal((int) si.ssi_signo));
                                a->terminating = true;
                                return -EINTR;
                        }
                }
                for (size_t i = 0; k > 0 && i < n_fds; i++)
                        if (p[i + 1].revents) {
                                fds[i].revents = p[i + 1].revents;
                                return 2 + (int) i;
                        }
                if (deadline != UINT64_MAX && now_usec() >= deadline)
                        return 0;
        }
}

static int sleep_cb(uint64_t usec, void *userdata) {
        Agent *a = userdata;
        int r = agent_wait(a, usec, NULL, 0);

        return r == -EINTR ? -EINTR : 0;
}

int agent_save_record(Agent *a) {
        if (!a->record)
                return 0;
        return action_record_save(a->config->state_dir, a->record);
}

void agent_forget_record(Agent *a, bool keep_bundle) {
        if (!a->record)
                return;
        if (!keep_bundle)
                action_remove_bundles(a->config->state_dir, NULL);
        (void) action_record_remove(a->config->state_dir);
        a->record = action_record_free(a->record);
}

int agent_feedback(Agent *a, const char *action_id, const char *execution, const char *finished, int pct,
                   const char *const *details) {
        int r;

        if (a->gone_action && streq(a->gone_action, action_id))
                return -ESTALE;
        r = ddi_send_feedback(&a->ddi, DDI_FEEDBACK_DEPLOYMENT, action_id,
                              &(DdiFeedback) { .execution = execution, .finished = finished, .progress_cnt = pct,
                                               .progress_of = pct >= 0 ? 100 : 0, .details = details });
        if (r == -ESTALE) {
                log_warning("The server says action %s is gone (410): no more feedback for it", action_id);
                free(a->gone_action);
                a->gone_action = strdup(action_id);
        } else if (r < 0)
                log_warning("Feedback %s/%s for action %s failed: %s", execution, finished, action_id, a->ddi.error);
        return r;
}

int agent_feedback1(Agent *a, const char *action_id, const char *execution, const char *finished, int pct,
                    const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return agent_feedback(a, action_id, execution, finished, pct, (const char *const[]) { msg ?: "", NULL });
}

/* One round: what the record needs, then the base resource.  Returns how long to sleep. */
static uint64_t poll_once(Agent *a) {
        static uint64_t error_backoff = 0, last_server_sleep = UINT64_MAX;
        const AgentConfig *c = a->config;
        _cleanup_(ddi_base_done) DdiBase b = {};
        uint64_t sleep;
        int r;

        if (a->record)
                (void) report_check(a);
        if (a->terminating)
                return 0;

        r = ddi_poll_base(&a->ddi, &b);
        if (r < 0) {
                error_backoff = error_backoff ? MIN(error_backoff * 2, c->poll_max_usec) : c->poll_error_usec;
                sleep = r == -EAGAIN && a->ddi.retry_after_usec ? a->ddi.retry_after_usec : error_backoff;
                if (r != -EACCES)    /* 401 was logged already, once */
                        log_warning("Polling failed: %s; next try in %" PRIu64 " ms", a->ddi.error,
                                    sleep / USEC_PER_MSEC);
                agent_status("Server unreachable or refusing: %s", a->ddi.error);
                return MIN(MAX(sleep, c->poll_min_usec), c->poll_max_usec);
        }
        error_backoff = 0;

        if (!a->config_data_sent || b.config_data_href)
                (void) report_config_data(a);

        if (b.cancel_href)
                (void) action_handle_cancel(a, b.cancel_href);
        else if (b.deployment_href)
                (void) action_process_deployment(a, b.deployment_href);
        else if (a->record && a->record->phase <= PHASE_DOWNLOADED && a->record->downloaded_reported) {
                /* A download-only action the server completed with our "downloaded": the bundle
                 * stays for an action that installs the same artifact. */
                log_info("Action %s is complete on the server; keeping its bundle for a later installation",
                         a->record->action_id);
                agent_forget_record(a, true);
                agent_status("Idle");
        }

        sleep = b.sleep_usec ? b.sleep_usec : c->poll_max_usec;
        sleep = MIN(MAX(sleep, c->poll_min_usec), c->poll_max_usec);
        if (b.sleep_usec != last_server_sleep) {
                last_server_sleep = b.sleep_usec;
                log_info("The server asks for a poll every %" PRIu64 " ms: polling every %" PRIu64 " ms%s",
                         b.sleep_usec / USEC_PER_MSEC, sleep / USEC_PER_MSEC,
                         sleep != b.sleep_usec ? " (bounded by min-interval/max-interval)" : "");
        }
        /* While an action runs, poll often enough to see cancels and the next step. */
        if (a->record || b.deployment_href || b.cancel_href)
                sleep = MIN(sleep, c->poll_active_usec);
        return sleep;
}

static int setup_signals(Agent *a) {
        sigset_t ss;

        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return -errno;
        a->signal_fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        return a->signal_fd < 0 ? -errno : 0;
}

static int check_state_dir(const char *dir) {
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create the state directory %s: %m", dir);
        if (stat(dir, &st) < 0)
                return log_error_errno(errno, "Cannot access %s: %m", dir);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "%s is not a directory", dir);
        if (access(dir, W_OK) < 0)
                return log_error_errno(errno, "The state directory %s is not writable for uid %u: %m", dir,
                                       (unsigned) geteuid());
        return 0;
}

static void help(void) {
        printf("Usage: update-agent [OPTIONS]\n"
               "\n"
               "Polls a hawkBit (DDI) server and installs its deployments through updated.\n"
               "\n"
               "  -c, --config PATH   Configuration (default %s)\n"
               "      --check-config  Print the effective configuration and exit\n"
               "      --allow-root    Run even as root (not recommended: the agent needs no privileges)\n"
               "  -v, --verbose       Debug logging\n"
               "      --version       Print the version\n"
               "  -h, --help          This help\n"
               "\n"
               "SIGUSR1 makes the agent poll the server at once.\n",
               AGENT_DEFAULT_CONFIG);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'C' },
                { "allow-root", no_argument, NULL, 'R' },   { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config_path = AGENT_DEFAULT_CONFIG;
        bool check_only = false, allow_root = false;
        Agent a = { .signal_fd = -EBADF };
        int c, r;

        static char ident[64];
        snprintf(ident, sizeof(ident), "update-agent[%d]", (int) getpid());
        log_set_ident(ident);
        bus_client_set_program("update-agent");
        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'C':
                        check_only = true;
                        break;
                case 'R':
                        allow_root = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                case 'V':
                        printf("update-agent %s\n", UPDATE1_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "update-agent: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        r = agent_config_load(config_path, &a.config);
        if (r < 0)
                return 1;
        if (check_only) {
                agent_config_dump(a.config);
                agent_config_free(a.config);
                return 0;
        }
        /* The agent talks to the network: it has no business holding privileges. */
        if (geteuid() == 0 && !allow_root) {
                log_error("Refusing to run as root: run update-agent as its own user in group \"update\" "
                          "(see update-agent.service), or pass --allow-root");
                agent_config_free(a.config);
                return 1;
        }
        if (a.config->insecure)
                log_warning("*** insecure=yes: TLS certificates are NOT verified; anyone on the network path can "
                            "pose as %s and feed this device bundles (only their signature still protects it) ***",
                            a.config->url);
        if (strneq(a.config->url, "http://", 7))
                log_warning("The server URL is plain http: credentials and deployment data travel unencrypted");

        r = check_state_dir(a.config->state_dir);
        if (r < 0)
                goto out;
        r = setup_signals(&a);
        if (r < 0) {
                log_error_errno(r, "Cannot set up signal handling: %m");
                goto out;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                r = -EIO;
                log_error("Cannot initialize libcurl");
                goto out;
        }
        r = ddi_client_init(&a.ddi, a.config);
        if (r < 0)
                goto out;
        a.ddi.sleep = sleep_cb;
        a.ddi.sleep_userdata = &a;
        r = bus_client_connect(&a.bus);
        if (r < 0)
                goto out;
        if (sd_watchdog_enabled(false, &a.watchdog_usec) <= 0)
                a.watchdog_usec = 0;

        r = action_record_load(a.config->state_dir, &a.record);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "Cannot read the action record in %s: %m", a.config->state_dir);
                goto out;
        }
        if (a.record)
                log_info("Resuming action %s in phase %s", a.record->action_id, action_phase_to_string(a.record->phase));
        log_info("update-agent %s: controller %s at %s (tenant %s), polling %s", UPDATE1_VERSION,
                 a.config->controller_id, a.config->url, a.config->tenant, a.ddi.base_url);
        (void) sd_notify(false, "READY=1\nSTATUS=Polling");

        while (!a.terminating) {
                uint64_t sleep = poll_once(&a);

                if (a.terminating)
                        break;
                log_debug("Next poll in %" PRIu64 " ms", sleep / USEC_PER_MSEC);
                r = agent_wait(&a, sleep, NULL, 0);
                if (r == -EINTR)
                        break;
        }
        r = 0;
        (void) sd_notify(false, "STOPPING=1");
out:
        ddi_client_done(&a.ddi);
        sd_bus_flush_close_unref(a.bus);
        action_record_free(a.record);
        free(a.gone_action);
        free(a.rejected_cancel);
        free(a.refused_reported);
        if (a.signal_fd >= 0)
                close(a.signal_fd);
        agent_config_free(a.config);
        curl_global_cleanup();
        return r < 0 ? 1 : 0;
}
