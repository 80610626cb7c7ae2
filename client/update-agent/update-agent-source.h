/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "update-agent-config.h"
#include "update-agent-failure.h"

/* An update server's protocol, as the rest of the agent sees it: one small table of
 * operations (SourceOps), one backend file per protocol (update-agent-source-hawkbit.c), like
 * the bootloader backends.  Everything else (the action record that survives reboots,
 * streaming into InstallFd, download-to-disk and resume, hooks, waiting for the reboot and
 * MarkGood before a success is reported, backoff) is shared and never asks which protocol
 * runs.  [server] protocol= selects the backend (docs/agent.md, "Server protocols"). */

typedef struct Agent Agent;

/* How the server wants a step handled (hawkBit's skip/attempt/forced; a protocol without
 * such a notion says ATTEMPT for both). */
typedef enum SourceHandling {
        SOURCE_SKIP,
        SOURCE_ATTEMPT,
        SOURCE_FORCED,
} SourceHandling;

const char *source_handling_to_string(SourceHandling h);

/* The action the server asks for: the artifact's URL and metadata. */
typedef struct SourceAction {
        char *action_id;
        SourceHandling download;
        SourceHandling update;
        bool has_window;            /* a maintenance window exists */
        bool window_available;      /* ... and is open */
        char *filename;
        char *part;                 /* the server's part, name and version of the software */
        char *name;
        char *version;
        uint64_t size;
        char sha256[65];            /* "" if the server gave none */
        char sha1[41];
        char *url;
        bool skip_checks;           /* Upparat's "force": no version and no download hook */
        char **refused;             /* sentences for artifacts not installed (NULL-terminated) */
        AgentFailure failure;       /* get_action's -EMEDIUMTYPE: why, by name */
        char *json;                 /* the server's description, for the hooks ($3) */
        /* Kept in the action record for the restart and ready hooks after the install:
         * their $3 (NULL: the record's own JSON) and the restart hook's $4 (NULL: none). */
        char *hook_meta;
        char *restart_arg;
} SourceAction;

void source_action_done(SourceAction *act);

/* What one poll found.  The refs are opaque to the shared code: it hands them back to the
 * backend (get_action(), get_cancel(), get_consent()). */
typedef struct SourcePoll {
        uint64_t sleep_usec;        /* the server's poll interval; 0: none given */
        char *action_ref;           /* an action to run (new, or the one in the record) */
        char *cancel_ref;           /* a cancel request */
        char *consent_ref;          /* an action waiting for the user's consent */
        bool wants_attributes;      /* the server asks for the device attributes */
} SourcePoll;

void source_poll_done(SourcePoll *p);

/* Progress and results, in the agent's words; each backend maps them onto its protocol. */
typedef enum SourceStatus {
        SOURCE_SCHEDULED,           /* accepted; installed when the maintenance window opens */
        SOURCE_PROCEEDING,          /* progress (pct >= 0) or a step (pct < 0) */
        SOURCE_DOWNLOAD,            /* the download starts */
        SOURCE_DOWNLOADED,          /* the artifact is complete and verified */
        SOURCE_INSTALLING,          /* InstallFd (or the install hook) starts */
        SOURCE_SUCCEEDED,           /* final: booted and marked good (or nothing to do) */
        SOURCE_FAILED,              /* final */
        _SOURCE_STATUS_MAX,
} SourceStatus;

/* One report.  reason names the step or result in Upparat's words where the shared code knows
 * one (download_progress, installation_start, reboot_start, version_already_installed,
 * version_mismatch, <hook>_hook_failed, complete_ready, ...); a protocol without such words
 * ignores it. */
typedef struct SourceReport {
        SourceStatus status;
        const char *reason;         /* NULL: none */
        const char *message;        /* a one-line message for reason, NULL: the details */
        int pct;                    /* < 0: none */
        uint64_t bytes;             /* SOURCE_PROCEEDING in a download: bytes so far; UINT64_MAX: unknown */
        const char *const *details; /* NULL-terminated, may be NULL */
} SourceReport;

/* Every operation returns >= 0 on success or a negative errno:
 *   -EACCES  credentials rejected     -EAGAIN  back off (retry_after())
 *   -ESTALE  the action is gone on the server: send nothing more for it
 *   -EMEDIUMTYPE (get_action) an action the agent cannot run: report it failed, reason in
 *            error(), its name in ret->failure; ret holds what is known of it (action_id,
 *            refused)
 *   others   transport and protocol errors; error() says what went wrong in words. */
typedef struct SourceOps {
        const char *name;           /* the protocol= value */
        int (*init)(Agent *a);
        void (*done)(Agent *a);
        /* What went wrong in the last failed call (never NULL). */
        const char *(*error)(Agent *a);
        /* After -EAGAIN: how long the server asked us to wait; 0: it did not say. */
        uint64_t (*retry_after)(Agent *a);
        /* A line for the start-up log: who we are and where we poll. */
        void (*log_start)(Agent *a);

        /* Poll for the next action, cancel, consent request or attribute request. */
        int (*poll)(Agent *a, SourcePoll *ret);
        /* The action behind action_ref: artifact URL and metadata. */
        int (*get_action)(Agent *a, const char *ref, SourceAction *ret);
        /* A fresh artifact URL after a 403, called from the download thread: it may read
         * a->config and a->source_data's thread-safe parts, nothing else of a. */
        int (*refresh_url)(Agent *a, const char *ref, char **ret_url);
        /* Progress and the final status of action_id. */
        int (*report)(Agent *a, const char *action_id, const SourceReport *r);
        /* Learn of cancellation: which action a cancel_ref stops, and our answer. */
        int (*get_cancel)(Agent *a, const char *ref, char **ret_stop_id);
        int (*answer_cancel)(Agent *a, const char *action_id, bool accepted, const char *why);
        /* Device attributes: key, value, key, value, ..., NULL. */
        int (*send_attributes)(Agent *a, const char *const *data);

        /* Optional (NULL: the protocol has no such thing). */
        int (*send_installed_base)(Agent *a, const char *name, const char *version);
        int (*get_consent)(Agent *a, const char *ref, char **ret_action_id, char **ret_json);
        int (*send_consent)(Agent *a, const char *action_id, bool confirmed, int code, const char *const *details);
} SourceOps;
