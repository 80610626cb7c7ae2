/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "update-agent-action.h"
#include "update-agent-activity.h"
#include "update-agent-context.h"
#include "update-agent-daemon.h"
#include "update-agent-download.h"
#include "update-agent-hooks.h"
#include "update-agent-ranged.h"
#include "update-agent-report.h"
#include "util.h"

/* A deployment, from the deploymentBase link to a finished install: the version, download and
 * install hooks, the download (streamed into InstallFd, or to disk first), and the polling for
 * cancels while any of that runs.  A cancel is accepted until InstallFd is called and
 * rejected after: from then on updated writes a slot and the result is reported instead. */

#define MAX_STREAM_RESTARTS 2

static int safe_close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -EBADF;
}

static int set_str(char **dst, const char *s) {
        char *c = NULL;

        if (s && !(c = strdup(s)))
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

int action_accept_cancel(Agent *a, const char *action_id, const char *why) {
        int r;

        log_notice("Action %s cancelled by the server: %s", action_id, why);
        if (a->record && streq(a->record->action_id, action_id))
                agent_forget_record(a, false);
        r = a->source->answer_cancel(a, action_id, true, why);
        if (r < 0 && r != -ESTALE)
                log_warning("Cannot confirm the cancel of action %s: %s", action_id, agent_source_error(a));
        return 0;
}

static int reject_cancel(Agent *a, const char *action_id, const char *why) {
        int r;

        if (a->rejected_cancel && streq(a->rejected_cancel, action_id))
                return 0;
        log_notice("Rejecting the cancel of action %s: %s", action_id, why);
        r = a->source->answer_cancel(a, action_id, false, why);
        if (r < 0)
                return log_warning_errno(r, "Cannot reject the cancel of action %s: %s", action_id, agent_source_error(a));
        return set_str(&a->rejected_cancel, action_id);
}

/* Which action a cancelAction link stops (its stopId). */
static int cancel_target(Agent *a, const char *href, char **ret) {
        int r = a->source->get_cancel(a, href, ret);

        if (r < 0)
                log_warning("Cannot read the cancel request: %s", agent_source_error(a));
        return r;
}

int action_poll_for_cancel(Agent *a, const char *action_id, bool cancellable) {
        _cleanup_(source_poll_done) SourcePoll p = {};
        _cleanup_free_ char *stop = NULL;
        int r;

        r = a->source->poll(a, &p);
        if (r < 0) {
                log_debug("Poll during the action failed: %s", agent_source_error(a));
                return 0;
        }
        if (p.wants_attributes)
                (void) report_config_data(a);
        if (!p.cancel_ref || cancel_target(a, p.cancel_ref, &stop) < 0 || !streq(stop, action_id))
                return 0;
        if (cancellable)
                return 1;
        (void) reject_cancel(a, action_id, "The installation has already started; it cannot be cancelled any more");
        return 0;
}

int action_handle_cancel(Agent *a, const char *href) {
        _cleanup_free_ char *stop = NULL;
        int r;

        r = cancel_target(a, href, &stop);
        if (r < 0)
                return r;
        if (a->record && streq(a->record->action_id, stop) && a->record->phase >= PHASE_INSTALLING)
                return reject_cancel(a, stop,
                                     a->record->phase == PHASE_REPORTING
                                             ? "The action has already finished on the device; its result follows"
                                             : "The installation has already started; it cannot be cancelled any more");
        return action_accept_cancel(a, stop, "Cancelled before the installation started");
}

/* ---- downloads ---- */

typedef struct Refresh {
        Agent *agent;
        const char *href;
} Refresh;

/* In the download thread, after a 403: the action again, for a fresh link. */
static int refresh_url(void *userdata, char **ret) {
        Refresh *rf = userdata;

        return rf->agent->source->refresh_url(rf->agent, rf->href, ret);
}

static const char *bundle_key(const SourceAction *dep, char *buf, size_t n) {
        if (dep->sha256[0])
                return dep->sha256;
        snprintf(buf, n, "action-%s", dep->action_id);
        return buf;
}

/* What of this artifact is stored already: 2 the verified bundle, 1 a partial download
 * (resumable), 0 nothing.  Keyed by sha256: without one, only this action's own files. */
static int stored_bundle(Agent *a, const SourceAction *dep) {
        _cleanup_free_ char *path = NULL, *part = NULL;
        char keybuf[96];
        const char *key = bundle_key(dep, keybuf, sizeof(keybuf));
        struct stat st;

        path = action_bundle_path(a->config->state_dir, key, false);
        part = action_bundle_path(a->config->state_dir, key, true);
        if (!path || !part)
                return 0;
        if (dep->sha256[0] && stat(path, &st) == 0 && (uint64_t) st.st_size == dep->size)
                return 2;
        if (stat(part, &st) == 0 && st.st_size > 0 && (uint64_t) st.st_size < dep->size)
                return 1;
        return 0;
}

/* Is there room for the rest of the bundle next to the part already in FD?  A full file system
 * would otherwise show up as transfers that break off mid-way ("Failure writing output"),
 * retried with backoff for ever, the artifact fetched again and again over a metered link and
 * the server never told why. */
static int check_room(int fd, const char *part, uint64_t size, char **ret_error) {
        struct statvfs sv;
        struct stat st;
        uint64_t have, avail;

        if (size == 0 || fstat(fd, &st) < 0 || fstatvfs(fd, &sv) < 0)
                return 0;    /* unknown: the download finds out */
        have = (uint64_t) st.st_size;
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (have >= size || avail >= size - have)
                return 0;
        *ret_error = strdup_printf("Not enough space for the bundle: %" PRIu64 " more bytes needed in %s, %" PRIu64
                                   " free. Free space there, or set state-directory= to a larger file system",
                                   size - have, part, avail);
        return -ENOSPC;
}

/* Into <state>/bundle-<sha256>.part, renamed once verified.  Returns 0 and the path, or
 * -ECANCELED, -EINTR, or another error with *ret_error; *ret_failure is set for a failure
 * whose name is not LocalError (the caller's default: our own files). */
static int download_to_disk(Agent *a, const SourceAction *dep, const char *href, char **ret_path,
                            char **ret_error, AgentFailure *ret_failure) {
        _cleanup_free_ char *path = NULL, *part = NULL;
        char keybuf[96];
        const char *key = bundle_key(dep, keybuf, sizeof(keybuf));
        Refresh rf = { .agent = a, .href = href };
        Activity act = { .action_id = dep->action_id, .cancellable = true, .label = "Downloading", .size = dep->size,
                         .streaming = true, .last_pct = -10 };
        struct stat st;
        int fd, r;

        path = action_bundle_path(a->config->state_dir, key, false);
        part = action_bundle_path(a->config->state_dir, key, true);
        if (!path || !part)
                return -ENOMEM;
        if (stat(path, &st) == 0 && (uint64_t) st.st_size == dep->size && dep->sha256[0]) {
                log_info("Bundle %s was downloaded and verified before: not downloading it again", path);
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
                *ret_error = strdup_printf("Cannot create %s: %s", part, strerror(errno));
                return -errno;
        }
        r = check_room(fd, part, dep->size, ret_error);
        if (r < 0) {
                (void) close(fd);
                *ret_failure = AGENT_FAILURE_NO_SPACE;
                return r;
        }
        r = download_start(&(DownloadSpec) { .config = a->config, .url = dep->url, .size = dep->size,
                                             .sha256 = dep->sha256, .sha1 = dep->sha1, .fd = fd, .to_file = true,
                                             .refresh_url = refresh_url, .userdata = &rf },
                           &act.dl);
        if (r < 0) {
                *ret_error = strdup_printf("Cannot start the download: %s", strerror(-r));
                return r;
        }
        log_info("Downloading %s (%" PRIu64 " bytes) to %s", dep->url, dep->size, part);
        r = activity_run(a, &act);
        log_info("Download of %s: %" PRIu64 " bytes received over %u connections (%u resumed), %" PRIu64
                 " bytes kept from before",
                 dep->filename, act.stats.received, act.stats.connections, act.stats.resumes, act.stats.resumed_from);
        if (r < 0) {
                activity_done(&act);
                return r;
        }
        if (act.cancelled || act.dl_result == DOWNLOAD_CANCELLED) {
                (void) unlink(part);
                activity_done(&act);
                return -ECANCELED;
        }
        if (act.dl_result != DOWNLOAD_OK) {
                /* A digest mismatch leaves a complete, wrong file: never resume from it. */
                if (stat(part, &st) == 0 && (uint64_t) st.st_size >= dep->size)
                        (void) unlink(part);
                *ret_error = strdup_printf("Download of %s failed: %s", dep->filename, act.dl_error ?: "?");
                *ret_failure = act.dl_failure;
                activity_done(&act);
                return -EIO;
        }
        activity_done(&act);
        if (rename(part, path) < 0) {
                *ret_error = strdup_printf("Cannot rename %s: %s", part, strerror(errno));
                return -errno;
        }
        (void) fsync_directory_of(path);
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* ---- install ---- */

typedef enum InstallOutcome {
        INSTALL_OK,
        INSTALL_FAILED,
        INSTALL_ALREADY,     /* updated: this version already runs */
        INSTALL_RESTART,     /* streamed content changed under a resume: start again */
        INSTALL_TERMINATED,
        INSTALL_DAEMON_AWAY, /* updated not on the bus (restarting?): try again later */
} InstallOutcome;

static char *new_transaction_id(const char *action_id) {
        uint8_t rnd[8];
        char hex[17];

        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return NULL;
        hex_encode(rnd, sizeof(rnd), hex);
        return strdup_printf("ddi-%s-%s", action_id, hex);
}

/* InstallFd from 'file' (a verified download) or, if file is NULL, streamed from the server
 * through a pipe.  INSTALL_FAILED comes with *ret_error and its name in *ret_name (one of
 * update-agent-failure.h's or updated's). */
static InstallOutcome install_once(Agent *a, const SourceAction *dep, const char *href, const char *file,
                                   char **ret_error, const char **ret_name) {
        ActionRecord *rec = a->record;
        Refresh rf = { .agent = a, .href = href };
        Activity act = { .action_id = dep->action_id, .cancellable = false, .size = dep->size, .last_pct = -10,
                         .label = file ? "Installing" : "Downloading and installing", .streaming = !file,
                         .report_downloaded = !file };
        _cleanup_close_ int rfd = -EBADF;
        InstallOutcome out;
        int r, p[2];

        *ret_name = agent_failure_to_string(AGENT_FAILURE_LOCAL);
        r = set_str(&rec->transaction_id, NULL);
        rec->transaction_id = new_transaction_id(rec->action_id);
        if (!rec->transaction_id)
                return INSTALL_FAILED;
        rec->phase = PHASE_INSTALLING;
        rec->install_attempts++;
        r = agent_save_record(a);
        if (r < 0) {
                *ret_error = strdup_printf("Cannot record the action in %s: %s", a->config->state_dir, strerror(-r));
                return INSTALL_FAILED;
        }

        if (file) {
                rfd = open(file, O_RDONLY | O_CLOEXEC);
                if (rfd < 0) {
                        *ret_error = strdup_printf("Cannot open %s: %s", file, strerror(errno));
                        return INSTALL_FAILED;
                }
        } else {
                /* A format-2 bundle on a server with Range: updated asks for what it lacks; a
                 * RAUC bundle: updated reads it at offsets (update-agent-ranged.h); anything
                 * else streams through a pipe. */
                r = a->config->delta ? ranged_probe(a->config, dep->url, dep->size, ret_error) : RANGED_NO;
                if (r < 0) {
                        if (r == -EOPNOTSUPP)
                                *ret_name = agent_failure_to_string(AGENT_FAILURE_NO_RANGE_SUPPORT);
                        return INSTALL_FAILED;
                }
                act.ranged = r != RANGED_NO;
                act.rauc = r == RANGED_RAUC;
                if (act.ranged ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0 : pipe2(p, O_CLOEXEC) < 0) {
                        *ret_error = strdup_printf("Cannot create a %s: %s", act.ranged ? "socket pair" : "pipe", strerror(errno));
                        return INSTALL_FAILED;
                }
                rfd = p[0];
                if (!act.ranged)
                        (void) fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
                /* Before the first byte is asked for: the server sees DOWNLOAD, then DOWNLOADED. */
                (void) agent_feedback1(a, dep->action_id, SOURCE_DOWNLOAD, -1,
                                       act.rauc     ? "Downloading %s (%" PRIu64
                                                      " bytes) by byte ranges as updated reads it (RAUC bundle)"
                                       : act.ranged ? "Downloading the parts of %s (%" PRIu64
                                                      " bytes) that updated lacks, by byte ranges (delta install)"
                                                    : "Downloading %s (%" PRIu64 " bytes), streamed into the installation",
                                       dep->filename, dep->size);
                r = download_start(&(DownloadSpec) { .config = a->config, .url = dep->url, .size = dep->size,
                                                     .sha256 = dep->sha256, .sha1 = dep->sha1, .fd = p[1],
                                                     .refresh_url = refresh_url, .userdata = &rf,
                                                     .serve = act.ranged ? ranged_serve : NULL },
                                   &act.dl);
                if (r < 0) {
                        *ret_error = strdup_printf("Cannot start the download: %s", strerror(-r));
                        return INSTALL_FAILED;
                }
                log_info("%s %s (%" PRIu64 " bytes) into updated", act.ranged ? "Serving byte ranges of" : "Streaming",
                         dep->url, dep->size);
        }

        r = install_op_start(agent_bus(a), rfd, rec->transaction_id, false, act.ranged, &act.op);
        rfd = safe_close_fd(rfd);     /* updated has its own copy (or none: then it sees EOF) */
        if (r < 0) {
                activity_done(&act);
                *ret_error = strdup_printf("Cannot call InstallFd: %s", strerror(-r));
                *ret_name = agent_failure_to_string(AGENT_FAILURE_INSTALL);
                return INSTALL_FAILED;
        }
        agent_status("Installing %s", dep->filename);
        (void) agent_feedback1(a, dep->action_id, SOURCE_INSTALLING, -1, "Installing %s through updated", dep->filename);
        r = activity_run(a, &act);
        if (act.stats.connections > 0)
                log_info("Download of %s: %" PRIu64 " bytes received for a %" PRIu64
                         "-byte artifact over %u connections (%u resumed, %" PRIu64 " re-sent bytes skipped)",
                         dep->filename, act.stats.received, dep->size, act.stats.connections, act.stats.resumes,
                         act.stats.skipped);
        if (r == -EINTR) {
                activity_done(&act);
                return INSTALL_TERMINATED;
        }
        /* Ranged: updated verified every byte it used against the signed bundle; the download
         * ends when updated lets go of the socket, which may come after Completed. */
        if (act.op->result == 0 && (file || act.ranged || act.dl_result == DOWNLOAD_OK)) {
                log_info("updated installed %s: %s", dep->filename, act.op->message ?: "");
                out = INSTALL_OK;
        } else if (act.op->error_name && strstr(act.op->error_name, "AlreadyInstalled")) {
                *ret_error = strdup(act.op->message ?: "already installed");
                out = INSTALL_ALREADY;
        } else if (act.op->result == -ECONNRESET ||
                   (act.op->error_name && (streq(act.op->error_name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
                                           streq(act.op->error_name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
                                           streq(act.op->error_name, "org.freedesktop.DBus.Error.NoReply")))) {
                *ret_error = strdup(act.op->message ?: "updated is not available");
                out = INSTALL_DAEMON_AWAY;
        } else if (!file && act.dl_result == DOWNLOAD_RESTART) {
                *ret_error = strdup(act.dl_error ?: "the artifact changed");
                out = INSTALL_RESTART;
        } else {
                /* The download's reason first: updated only saw the stream end. */
                if (!file && act.dl_done && act.dl_result != DOWNLOAD_OK && act.dl_result != DOWNLOAD_SINK_CLOSED &&
                    !(act.ranged && act.dl_result == DOWNLOAD_CANCELLED)) {
                        *ret_error = strdup_printf("%s (updated: %s)", act.dl_error ?: "download failed",
                                                   act.op->message ?: "?");
                        *ret_name = agent_failure_to_string(act.dl_failure);
                } else {
                        *ret_error = strdup_printf("updated: %s", act.op->message ?: "installation failed");
                        *ret_name = agent_failure_name_of_install(act.op->error_name, act.op->message);
                }
                out = INSTALL_FAILED;
        }
        activity_done(&act);
        return out;
}

/* The slot updated wrote: the one carrying our transaction id. */
static int find_expected_slot(Agent *a) {
        _cleanup_(system_status_done) SystemStatus st = {};
        char err[512];
        int r;

        r = daemon_get_status(agent_bus(a), &st, err, sizeof(err));
        if (r < 0) {
                log_warning("%s", err);
                return set_str(&a->record->expected_slot, "");
        }
        for (unsigned i = 0; i < st.n_slots; i++)
                if (st.slots[i].transaction_id && streq(st.slots[i].transaction_id, a->record->transaction_id))
                        return set_str(&a->record->expected_slot, st.slots[i].name);
        log_warning("No slot carries transaction %s after the install", a->record->transaction_id);
        return set_str(&a->record->expected_slot, "");
}

/* name: the failure's (update-agent-failure.h, or updated's); reason: the failure in Upparat's
 * words (<hook>_hook_failed), or NULL. */
static int fail_action(Agent *a, const char *name, const char *reason, const char *fmt, ...) _printf_(4, 5);
static int fail_action(Agent *a, const char *name, const char *reason, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return report_failed(a, name, reason, (const char *const[]) { msg ?: "failed", NULL });
}

static int install_and_report(Agent *a, const SourceAction *dep, const char *href, const char *file) {
        _cleanup_free_ char *details = NULL;
        int r;

        /* install hook: may postpone (cancellable meanwhile) or replace the D-Bus install. */
        r = hook_run_with_retries(a, AGENT_HOOK_INSTALL, dep->json, file, true, &details, NULL);
        if (r == -ECANCELED)
                return action_accept_cancel(a, dep->action_id, "Cancelled while the install hook postponed the installation");
        if (r < 0)
                return r;
        if (r == 0)
                return fail_action(a, agent_failure_to_string(AGENT_FAILURE_HOOK), "install_hook_failed", "%s", details);
        if (a->config->install_hook_replaces) {
                a->record->phase = PHASE_INSTALLED;
                a->record->installed_at = now_realtime_sec();
                (void) set_str(&a->record->expected_slot, "");
                (void) set_str(&a->record->transaction_id, "install-hook");
                (void) agent_save_record(a);
                return report_after_install(a);
        }

        for (unsigned restarts = 0;; restarts++) {
                _cleanup_free_ char *err = NULL;
                const char *name = NULL;
                InstallOutcome o = install_once(a, dep, href, file, &err, &name);

                switch (o) {
                case INSTALL_OK:
                        (void) find_expected_slot(a);
                        a->record->phase = PHASE_INSTALLED;
                        a->record->installed_at = now_realtime_sec();
                        (void) agent_save_record(a);
                        if (file)
                                (void) unlink(file);
                        return report_after_install(a);
                case INSTALL_ALREADY:
                        log_notice("Version %s is already installed: %s", dep->version ?: "?", err);
                        return report_final(a, true,
                                            (const char *const[]) { "This version is already installed and running", err, NULL });
                case INSTALL_RESTART:
                        if (restarts < MAX_STREAM_RESTARTS) {
                                log_notice("%s: cancelled the installation; starting it again from byte 0", err);
                                continue;
                        }
                        return fail_action(a, agent_failure_to_string(AGENT_FAILURE_ARTIFACT_CHANGED), NULL,
                                           "%s (%u restarts)", err, restarts);
                case INSTALL_DAEMON_AWAY:
                        if (a->record->install_attempts >= a->config->max_install_attempts)
                                return fail_action(a, agent_failure_to_string(AGENT_FAILURE_UPDATED_UNAVAILABLE), NULL,
                                                   "Installation of %s failed %u times: %s", dep->filename,
                                                   a->record->install_attempts, err ?: "?");
                        log_warning("updated is not available (%s); the installation is tried again later", err ?: "?");
                        a->record->phase = file ? PHASE_DOWNLOADED : PHASE_DOWNLOADING;
                        (void) agent_save_record(a);
                        return 0;
                case INSTALL_TERMINATED:
                        /* The record stays "installing": the next start finds out what happened. */
                        return -EINTR;
                case INSTALL_FAILED:
                        return fail_action(a, name, NULL, "Installation of %s failed: %s", dep->filename, err ?: "?");
                }
        }
}

static int start_record(Agent *a, const SourceAction *dep) {
        ActionRecord *r;

        if (a->record && streq(a->record->action_id, dep->action_id))
                return 0;
        if (a->record) {
                log_notice("Dropping the record of action %s (phase %s): the server now sends action %s",
                           a->record->action_id, action_phase_to_string(a->record->phase), dep->action_id);
                agent_forget_record(a, true);
        }
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        a->record = r;
        r->phase = PHASE_DOWNLOADING;
        r->size = dep->size;
        r->first_seen = now_realtime_sec();
        if (set_str(&r->action_id, dep->action_id) < 0 || set_str(&r->version, dep->version) < 0 ||
            set_str(&r->filename, dep->filename) < 0 || set_str(&r->sha256, dep->sha256[0] ? dep->sha256 : NULL) < 0 ||
            set_str(&r->hook_meta, dep->hook_meta) < 0 || set_str(&r->restart_arg, dep->restart_arg) < 0)
                return -ENOMEM;
        log_info("New action %s: %s %s (%s, %" PRIu64 " bytes), download %s, update %s%s", dep->action_id,
                 dep->name ?: "", dep->version ?: "", dep->filename, dep->size, source_handling_to_string(dep->download),
                 source_handling_to_string(dep->update),
                 dep->has_window ? (dep->window_available ? ", maintenance window open" : ", maintenance window closed") : "");
        return agent_save_record(a);
}

int action_process_deployment(Agent *a, const char *href) {
        _cleanup_(source_action_done) SourceAction dep = {};
        _cleanup_free_ char *details = NULL, *line = NULL, *file = NULL, *err = NULL;
        char keybuf[96];
        bool download_only, fresh;
        AgentFailure failure = AGENT_FAILURE_LOCAL;
        int r, stored;

        r = a->source->get_action(a, href, &dep);
        if (r == -EMEDIUMTYPE) {
                /* We cannot handle it: say so once, with the artifacts we refused. */
                log_error("Refusing action %s: %s", dep.action_id, agent_source_error(a));
                if (start_record(a, &dep) < 0)
                        return -ENOMEM;
                size_t n = 0;
                while (dep.refused && dep.refused[n])
                        n++;
                const char **l = calloc(n + 2, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                l[0] = agent_source_error(a);
                for (size_t i = 0; i < n; i++)
                        l[i + 1] = dep.refused[i];
                r = report_failed(a, agent_failure_to_string(dep.failure), NULL, l);
                free(l);
                return r;
        }
        if (r < 0)
                return log_warning_errno(r, "Cannot fetch the deployment: %s", agent_source_error(a));

        if (a->record && streq(a->record->action_id, dep.action_id) && a->record->phase >= PHASE_INSTALLING)
                return 0;    /* installed or reporting: report_check() owns it */
        fresh = !a->record || !streq(a->record->action_id, dep.action_id);
        r = start_record(a, &dep);
        if (r < 0)
                return r;
        /* hawkBit's "scheduled": accepted, but the installation waits for the window. */
        if (fresh && dep.update == SOURCE_SKIP && dep.has_window && !dep.window_available)
                (void) agent_feedback1(a, dep.action_id, SOURCE_SCHEDULED, -1,
                                       "Scheduled: %s %s is installed when the maintenance window opens; downloading it now",
                                       dep.name ?: "", dep.version ?: "");
        action_remove_bundles(a->config->state_dir, bundle_key(&dep, keybuf, sizeof(keybuf)));

        if (dep.refused && (!a->refused_reported || !streq(a->refused_reported, dep.action_id))) {
                (void) agent_feedback(a, dep.action_id, SOURCE_PROCEEDING, -1, (const char *const *) dep.refused);
                (void) set_str(&a->refused_reported, dep.action_id);
        }

        /* version hook: the same version installed already → nothing to do.  (Once: not at
         * every poll while a stored bundle waits for its maintenance window.) */
        r = a->record->phase == PHASE_DOWNLOADING && !dep.skip_checks
                    ? hook_run_with_retries(a, AGENT_HOOK_VERSION, dep.json, NULL, true, &details, &line)
                    : 1;
        if (r == -ECANCELED)
                return action_accept_cancel(a, dep.action_id, "Cancelled while the version hook postponed");
        if (r < 0)
                return r;
        if (r == 0)
                return fail_action(a, agent_failure_to_string(AGENT_FAILURE_HOOK), "version_hook_failed", "%s", details);
        if (line && dep.version && streq(line, dep.version)) {
                log_notice("The version hook reports %s installed already", line);
                return report_final_why(a, true, "version_already_installed", NULL,
                                        (const char *const[]) { "Version already installed (version hook)", NULL });
        }

        download_only = dep.update == SOURCE_SKIP;
        if (a->record->phase == PHASE_DOWNLOADING && !dep.skip_checks) {
                r = hook_run_with_retries(a, AGENT_HOOK_DOWNLOAD, dep.json, NULL, true, &details, NULL);
                if (r == -ECANCELED)
                        return action_accept_cancel(a, dep.action_id, "Cancelled while the download hook postponed the download");
                if (r < 0)
                        return r;
                if (r == 0)
                        return fail_action(a, agent_failure_to_string(AGENT_FAILURE_HOOK), "download_hook_failed", "%s",
                                           details);
        }

        /* A bundle stored by an earlier action (download-only, then install) or a partial
         * download is used even in stream mode: streaming would fetch it all again. */
        stored = stored_bundle(a, &dep);
        if (!download_only && !a->config->to_disk && a->record->phase != PHASE_DOWNLOADED && stored == 0)
                return install_and_report(a, &dep, href, NULL);
        if (stored > 0 && !a->config->to_disk && !download_only)
                log_info("Action %s: %s of %s is stored already: using it instead of streaming", dep.action_id,
                         stored == 2 ? "the verified bundle" : "a partial download", dep.filename);

        /* To disk: download-only, a closed maintenance window, mode=disk, or a stored bundle. */
        if (a->record->phase == PHASE_DOWNLOADING && stored < 2)
                (void) agent_feedback1(a, dep.action_id, SOURCE_DOWNLOAD, -1, "Downloading %s (%" PRIu64 " bytes)%s",
                                       dep.filename, dep.size, download_only ? " to install later" : "");
        r = download_to_disk(a, &dep, href, &file, &err, &failure);
        if (r == -ECANCELED)
                return action_accept_cancel(a, dep.action_id, "Cancelled during the download");
        if (r == -EINTR)
                return r;
        if (r < 0)
                return fail_action(a, agent_failure_to_string(failure), NULL, "%s", err ?: "download failed");
        if (a->record->phase < PHASE_DOWNLOADED) {
                a->record->phase = PHASE_DOWNLOADED;
                (void) agent_save_record(a);
        }
        if (!a->record->downloaded_reported) {
                r = agent_feedback1(a, dep.action_id, SOURCE_DOWNLOADED, 100, "Downloaded and verified %s%s",
                                    dep.filename,
                                    download_only ? (dep.has_window && !dep.window_available
                                                             ? "; waiting for the maintenance window"
                                                             : "; installation postponed (download only)")
                                                  : "");
                if (r >= 0 || r == -ESTALE) {
                        a->record->downloaded_reported = true;
                        a->record->download_only = download_only;
                        (void) agent_save_record(a);
                }
        }
        if (download_only) {
                agent_status("Action %s: downloaded, waiting for the installation to be allowed", dep.action_id);
                return 0;
        }
        return install_and_report(a, &dep, href, file);
}
