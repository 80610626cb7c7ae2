/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "update-agent-context.h"
#include "update-agent-daemon.h"
#include "update-agent-download.h"
#include "update-agent-failure.h"

/* One long operation of an action: a download (to disk, or streamed into updated) and/or an
 * InstallFd, run to its end while the server hears of its progress (every 10 %, at most one
 * per progress-interval=, and hawkBit's DOWNLOADED step) and is polled for a cancel
 * (Agent.poll_for_cancel; a cancel stops the download when the activity is cancellable).
 * The caller fills in what it started (dl, op) and reads the outcome from the same struct. */

typedef struct Activity {
        const char *action_id;
        bool cancellable;
        const char *label;
        bool streaming;          /* bytes come from the network (else from a stored file) */
        bool report_downloaded;  /* send "downloaded" when the streamed download is verified */
        bool ranged;             /* served to updated in pieces: no digest, only what it asked for */
        bool rauc;               /* ... because it is a RAUC bundle, not for a delta install */
        uint64_t size;
        Download *dl;
        bool dl_done;
        DownloadResult dl_result;
        char *dl_error;
        AgentFailure dl_failure;
        DownloadStats stats;
        InstallOp *op;
        bool cancelled;
        int last_pct;
        uint64_t last_feedback;
} Activity;

/* Runs until the download (if any) ended and the install (if any) completed.  -EINTR when
 * asked to terminate (the download is stopped; updated sees the stream end and fails). */
int activity_run(Agent *a, Activity *act);

/* Stops and frees what is left of the download and the InstallFd call. */
void activity_done(Activity *act);
