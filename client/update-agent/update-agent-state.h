/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The in-flight action record, <state-directory>/action.json, replaced atomically at every
 * phase change (write temp, fsync, rename, fsync dir).  It is what lets the agent finish an
 * action after a reboot, a crash or a kill: the final result is decided once, stored here
 * (phase "reporting"), and the record is removed only after the server took the feedback
 * (200) or said the action is gone (410), so a result is neither lost nor sent twice with
 * different content. */

typedef enum ActionPhase {
        PHASE_DOWNLOADING,     /* download to disk in progress (or not yet started) */
        PHASE_DOWNLOADED,      /* the verified bundle is in the state directory */
        PHASE_INSTALLING,      /* InstallFd was called with our transaction id */
        PHASE_INSTALLED,       /* updated reported success; expected_slot is set */
        PHASE_REBOOTING,       /* a reboot was requested (or left to someone else) */
        PHASE_REPORTING,       /* the final result is decided; only the feedback is left */
        _PHASE_MAX,
} ActionPhase;

const char *action_phase_to_string(ActionPhase p);

typedef struct ActionRecord {
        char *action_id;
        ActionPhase phase;
        char *version;           /* the deployment's version (chunk version) */
        char *filename;          /* artifact */
        uint64_t size;
        char *sha256;            /* hex or NULL */
        bool download_only;      /* update=skip when it was accepted */
        bool downloaded_reported;
        char *transaction_id;    /* passed to InstallFd; recorded by updated in the slot status */
        char *expected_slot;     /* slot the install went to */
        uint64_t installed_at;   /* realtime seconds when updated reported success */
        unsigned install_attempts;
        char *boot_id;           /* boot in which the reboot was requested */
        uint64_t first_seen;     /* realtime seconds: hook "seconds since first call" base */
        bool final_success;      /* PHASE_REPORTING: the result */
        char **final_details;    /* NULL-terminated */
        char *final_reason;      /* the result in Upparat's words (version_mismatch, ...), or NULL */
        char *final_message;     /* a protocol's one-line message for it, or NULL */
        char *final_failure;     /* a failure's name (update-agent-failure.h), which its first
                                  * detail starts with, or NULL */
        char *hook_meta;         /* $3 of the restart and ready hooks, NULL: the record's JSON */
        char *restart_arg;       /* $4 of the restart hook, or NULL */
} ActionRecord;

ActionRecord *action_record_free(ActionRecord *r);

/* -ENOENT when there is none; a corrupt record is logged, moved aside and -ENOENT. */
int action_record_load(const char *state_dir, ActionRecord **ret);
int action_record_save(const char *state_dir, const ActionRecord *r);
int action_record_remove(const char *state_dir);

/* Replaces the final details (copied). */
int action_record_set_final(ActionRecord *r, bool success, const char *const *details);
/* Replaces final_reason and final_message (copied; NULL clears). */
int action_record_set_reason(ActionRecord *r, const char *reason, const char *message);
/* Replaces final_failure (copied; NULL clears). */
int action_record_set_failure(ActionRecord *r, const char *name);

/* <state>/bundle-<action>.part while downloading, <state>/bundle-<action> once verified. */
char *action_bundle_path(const char *state_dir, const char *action_id, bool partial);
/* Removes bundle files of every action but 'keep' (NULL: all). */
void action_remove_bundles(const char *state_dir, const char *keep);

/* /proc/sys/kernel/random/boot_id (32 hex digits without dashes), or NULL. */
char *current_boot_id(void);
