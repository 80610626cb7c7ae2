/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "bus-client.h"
#include "log.h"
#include "macro.h"
#include "update-agent-action.h"
#include "update-agent-config-dump.h"
#include "update-agent-consent.h"
#include "update-agent-context.h"
#include "update-agent-report.h"
#include "update-agent-source-awsiot.h"
#include "update-agent-source-hawkbit.h"
#include "util.h"

/* update-agent: the unprivileged network agent.  Polls an update server (hawkBit DDI, through
 * the SourceOps of update-agent-source.h), streams or downloads bundles into updated
 * (InstallFd), reboots through updated, and reports the truth after the reboot.  See
 * docs/agent.md. */

/* The server protocols ([server] protocol=): one SourceOps table each. */
static const SourceOps *const sources[] = {
        &source_hawkbit_ops,
        &source_awsiot_ops,
};

static const SourceOps *source_find(AgentProtocol p) {
        const char *name = agent_protocol_to_string(p);

        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (streq(sources[i]->name, name))
                        return sources[i];
        return NULL;
}

/* One round: what the record needs, then the base resource.  Returns how long to sleep.
 *
 * A failed poll never ends anything: the action record and any download stay, and the agent
 * polls again after error-interval, doubling, but never waiting longer than the interval the
 * server itself last asked for (so a device on a flaky link is back within one normal poll
 * interval of the server's return), with the upper half jittered so that a fleet cut off at
 * the same moment does not come back at the same moment. */
static uint64_t poll_once(Agent *a, int *ret_poll) {
        static uint64_t error_backoff = 0, last_server_sleep = UINT64_MAX, last_sleep = 0;
        const AgentConfig *c = a->config;
        _cleanup_(source_poll_done) SourcePoll b = {};
        uint64_t sleep;
        int r;

        if (a->record)
                (void) report_check(a);
        if (a->terminating)
                return 0;

        r = a->source->poll(a, &b);
        *ret_poll = r;
        if (r < 0) {
                uint64_t cap = MAX(last_sleep ?: c->poll_max_usec, c->poll_error_usec);

                error_backoff = error_backoff ? MIN(error_backoff * 2, cap) : c->poll_error_usec;
                sleep = r == -EAGAIN && a->source->retry_after(a)
                                ? a->source->retry_after(a)
                                : error_backoff / 2 + random_below(error_backoff / 2 + 1);
                if (r != -EACCES)    /* 401 was logged already, once */
                        log_warning("Polling failed: %s; next try in %" PRIu64 " ms%s", agent_source_error(a),
                                    sleep / USEC_PER_MSEC, a->record ? " (the action is kept)" : "");
                agent_status("Server unreachable or refusing: %s", agent_source_error(a));
                return MIN(MAX(sleep, c->poll_min_usec), c->poll_max_usec);
        }
        error_backoff = 0;

        if (!a->config_data_sent || b.wants_attributes)
                (void) report_config_data(a);
        else if (a->installed_base_recheck && !a->record)
                (void) report_installed_base(a);

        if (b.cancel_ref)
                (void) action_handle_cancel(a, b.cancel_ref);
        else if (b.action_ref)
                (void) action_process_deployment(a, b.action_ref);
        else if (b.consent_ref && a->source->get_consent)
                (void) consent_process(a, b.consent_ref);
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
        last_sleep = sleep;
        if (b.sleep_usec != last_server_sleep) {
                last_server_sleep = b.sleep_usec;
                log_info("The server asks for a poll every %" PRIu64 " ms: polling every %" PRIu64 " ms%s",
                         b.sleep_usec / USEC_PER_MSEC, sleep / USEC_PER_MSEC,
                         sleep != b.sleep_usec ? " (bounded by min-interval/max-interval)" : "");
        }
        /* While an action runs, poll often enough to see cancels and the next step. */
        if (a->record || b.action_ref || b.cancel_ref)
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
               "Polls an update server (hawkBit DDI) and installs its deployments through updated.\n"
               "\n"
               "  -c, --config PATH   Configuration (default %s)\n"
               "      --check-config  Print the effective configuration and exit\n"
               "      --allow-root    Run even as root (not recommended: the agent needs no privileges)\n"
               "      --once          Poll once, act on what the server asks, then exit: 0 done or\n"
               "                      nothing to do, 3 the server could not be polled, 4 an action failed\n"
               "  -v, --verbose       Debug logging\n"
               "      --version       Print the version\n"
               "  -h, --help          This help\n"
               "\n"
               "SIGUSR1 makes the agent poll the server at once.\n",
               AGENT_DEFAULT_CONFIG);
}

static const char *arg_config = AGENT_DEFAULT_CONFIG;
static bool arg_check_config = false;
static bool arg_allow_root = false;
static bool arg_once = false;
static int once_status = 0;

/* --once exit statuses besides 0 (1 is an error of the agent itself, 2 bad usage). */
#define EXIT_UNREACHABLE 3
#define EXIT_ACTION_FAILED 4

/* < 0: bad usage, 0: done (--help, --version), > 0: go on. */
static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'C' },
                { "allow-root", no_argument, NULL, 'R' },   { "verbose", no_argument, NULL, 'v' },
                { "once", no_argument, NULL, 'O' },
                { "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'C':
                        arg_check_config = true;
                        break;
                case 'R':
                        arg_allow_root = true;
                        break;
                case 'O':
                        arg_once = true;
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
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "update-agent: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int run(void) {
        Agent a = { .signal_fd = -EBADF, .poll_for_cancel = action_poll_for_cancel };
        int r;

        r = agent_config_load(arg_config, &a.config);
        if (r < 0)
                return r;
        if (arg_check_config) {
                agent_config_dump(a.config);
                agent_config_free(a.config);
                return 0;
        }
        /* The agent talks to the network: it has no business holding privileges. */
        if (geteuid() == 0 && !arg_allow_root) {
                log_error("Refusing to run as root: run update-agent as its own user in group \"update\" "
                          "(see update-agent.service), or pass --allow-root");
                agent_config_free(a.config);
                return -EPERM;
        }
        if (a.config->insecure && a.config->url)
                log_warning("*** insecure=yes: TLS certificates are NOT verified; anyone on the network path can "
                            "pose as %s and feed this device bundles (only their signature still protects it) ***",
                            a.config->url);
        if (a.config->url && strneq(a.config->url, "http://", 7))
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
        a.source = source_find(a.config->protocol);
        if (!a.source) {
                r = log_error_errno(EPROTONOSUPPORT, "protocol=%s is not built into this update-agent",
                                    agent_protocol_to_string(a.config->protocol));
                goto out;
        }
        r = a.source->init(&a);
        if (r < 0) {
                a.source = NULL;
                goto out;
        }
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
        a.source->log_start(&a);
        (void) sd_notify(false, "READY=1\nSTATUS=Polling");

        if (arg_once) {
                int polled;

                (void) poll_once(&a, &polled);
                /* A result decided in this round goes out now, not at a next poll. */
                if (!a.terminating && a.record && a.record->phase == PHASE_REPORTING)
                        (void) report_check(&a);
                once_status = polled < 0 ? EXIT_UNREACHABLE : a.final_failed ? EXIT_ACTION_FAILED : 0;
                log_info("--once: %s", once_status == EXIT_UNREACHABLE ? "the server could not be polled"
                                       : once_status == EXIT_ACTION_FAILED ? "an action failed"
                                                                           : "done");
                a.terminating = true;
        }
        while (!a.terminating) {
                int polled;
                uint64_t sleep = poll_once(&a, &polled);

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
        agent_done(&a);
        curl_global_cleanup();
        return r;
}

int main(int argc, char *argv[]) {
        static char ident[64];
        int r;

        snprintf(ident, sizeof(ident), "update-agent[%d]", (int) getpid());
        log_set_ident(ident);
        bus_client_set_program("update-agent");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return run() < 0 ? 1 : once_status;
}
