/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "update-agent-activity.h"
#include "util.h"

void activity_done(Activity *act) {
        if (act->dl) {
                download_cancel(act->dl);
                act->dl_result = download_finish(act->dl, NULL, NULL);
                act->dl = NULL;
        }
        free(act->dl_error);
        act->op = install_op_free(act->op);
}

static void activity_progress(Agent *a, Activity *act) {
        uint64_t now = now_monotonic_usec();
        char detail[256];
        int pct;

        /* A stored bundle handed to updated, which has not answered yet: the download is over
         * (its last step would come after "installing" and read as a download again, as the
         * board showed: download_progress after installation_start) and there is no install
         * progress yet. */
        if (act->op && !act->op->replied && !act->streaming)
                return;
        if (act->dl)
                download_get_stats(act->dl, &act->stats);
        pct = act->op && act->op->replied ? (int) act->op->percent
              : act->size                 ? (int) (act->stats.delivered * 100 / act->size)
                                          : 0;
        if (pct < act->last_pct + 10 || now - act->last_feedback < a->config->progress_interval_usec)
                return;
        act->last_pct = pct - pct % 10;
        act->last_feedback = now;
        if (act->op && act->op->replied && !act->streaming)
                snprintf(detail, sizeof(detail), "%s: %s, %d %%", act->label, act->op->phase ?: "installing", pct);
        else if (act->op && act->op->replied)
                snprintf(detail, sizeof(detail), "%s: %s, %d %% (%" PRIu64 " of %" PRIu64 " bytes received)", act->label,
                         act->op->phase ?: "installing", pct, act->stats.delivered, act->size);
        else
                snprintf(detail, sizeof(detail), "%s: %d %% (%" PRIu64 " of %" PRIu64 " bytes)", act->label, pct,
                         act->stats.delivered, act->size);
        agent_status("%s", detail);
        (void) agent_report(a, act->action_id,
                            &(SourceReport) { .status = SOURCE_PROCEEDING,
                                              .reason = act->op && act->op->replied && !act->streaming ? "installation_progress"
                                                                                                      : "download_progress",
                                              .pct = pct, .bytes = act->stats.delivered,
                                              .details = (const char *const[]) { detail, NULL } });
}

int activity_run(Agent *a, Activity *act) {
        uint64_t next_poll = now_monotonic_usec() + a->config->poll_active_usec;

        for (;;) {
                struct pollfd fds[2];
                size_t n = 0;
                uint64_t now, wait, bus_timeout = UINT64_MAX;
                int r;

                if (act->dl && download_finished(act->dl)) {
                        download_get_stats(act->dl, &act->stats);
                        act->dl_result = download_finish(act->dl, &act->dl_error, &act->dl_failure);
                        act->dl = NULL;
                        act->dl_done = true;
                        if (act->dl_result != DOWNLOAD_OK && act->dl_result != DOWNLOAD_CANCELLED)
                                log_warning("Download failed: %s", act->dl_error ?: "?");
                        /* hawkBit's DOWNLOADED step, also when the bytes went straight into updated. */
                        if (act->dl_result == DOWNLOAD_OK && act->report_downloaded && act->rauc)
                                (void) agent_feedback1(a, act->action_id, SOURCE_DOWNLOADED, -1,
                                                       "Downloaded %" PRIu64 " bytes by byte ranges (RAUC bundle) for the "
                                                       "artifact's %" PRIu64 " bytes; updated checked them against the "
                                                       "bundle's signature",
                                                       act->stats.delivered, act->size);
                        else if (act->dl_result == DOWNLOAD_OK && act->report_downloaded && act->ranged)
                                (void) agent_feedback1(a, act->action_id, SOURCE_DOWNLOADED, -1,
                                                       "Downloaded %" PRIu64 " of the artifact's %" PRIu64
                                                       " bytes by byte ranges (delta install); updated checked them against the signed bundle",
                                                       act->stats.delivered, act->size);
                        else if (act->dl_result == DOWNLOAD_OK && act->report_downloaded)
                                (void) agent_feedback1(a, act->action_id, SOURCE_DOWNLOADED, -1,
                                                       "Downloaded and verified %" PRIu64 " bytes; updated is installing them",
                                                       act->stats.delivered);
                }
                if (act->op)
                        (void) install_op_process(act->op);
                /* updated gave up (or finished without all bytes?): stop downloading. */
                if (act->op && act->op->done && act->dl)
                        download_cancel(act->dl);
                if (!act->dl && (!act->op || act->op->done))
                        return 0;

                now = now_monotonic_usec();
                if (now >= next_poll) {
                        r = a->poll_for_cancel ? a->poll_for_cancel(a, act->action_id, act->cancellable) : 0;
                        if (r > 0 && !act->cancelled) {
                                act->cancelled = true;
                                if (act->dl)
                                        download_cancel(act->dl);
                        }
                        next_poll = now_monotonic_usec() + a->config->poll_active_usec;
                }
                activity_progress(a, act);

                if (act->dl)
                        fds[n++] = (struct pollfd) { .fd = download_done_fd(act->dl), .events = POLLIN };
                if (act->op) {
                        int fd;
                        short ev;

                        if (bus_poll_params(a->bus, &fd, &ev, &bus_timeout) >= 0)
                                fds[n++] = (struct pollfd) { .fd = fd, .events = ev };
                }
                now = now_monotonic_usec();
                wait = next_poll > now ? next_poll - now : 0;
                wait = MIN(wait, USEC_PER_SEC);     /* progress ticks */
                if (bus_timeout != UINT64_MAX)
                        wait = MIN(wait, bus_timeout > now ? bus_timeout - now : 0);
                r = agent_wait(a, wait, fds, n);
                if (r == -EINTR) {
                        if (act->dl) {
                                download_cancel(act->dl);
                                act->dl_result = download_finish(act->dl, &act->dl_error, &act->dl_failure);
                                act->dl = NULL;
                                act->dl_done = true;
                        }
                        return -EINTR;
                }
                if (r == 1)
                        next_poll = 0;
        }
}

