/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "update-agent-config.h"
#include "update-agent-context.h"

/* Hooks with Upparat's contract: argv = { hook, seconds since the first call of this hook for
 * this action, retry count, metadata JSON of the deployment, [file path | force] }.
 * Exit 0 = go, 3 = retry after retry-interval= (at most max-retries= times), anything else =
 * fail; the tail of its output goes into the feedback.  Each run is bounded by timeout=. */

#define HOOK_EXIT_RETRY 3
#define HOOK_OUTPUT_TAIL 2048

typedef enum HookVerdict {
        HOOK_GO,
        HOOK_RETRY,
        HOOK_FAIL,
} HookVerdict;

typedef struct HookRun {
        HookVerdict verdict;
        int exit_code;          /* >= 0 if it exited */
        int signal;             /* > 0 if killed */
        bool timed_out;
        char *output;           /* tail of stdout+stderr, NUL-terminated */
        char *last_line;        /* last non-empty stdout line (the version hook's answer) */
} HookRun;

void hook_run_done(HookRun *r);

/* A sentence for feedback: "install hook exited with 1: <tail>". */
char *hook_run_describe(const HookRun *r, const char *name);

/* Runs the hook once.  extra may be NULL.  Returns 0 when it ran (see ret->verdict), or a
 * negative errno if it could not be started or waited for (it is killed and reaped then). */
int hook_run(const char *path, const char *name, uint64_t timeout_usec, uint64_t seconds, unsigned retry,
             const char *meta_json, const char *extra, const char *action_id, HookRun *ret);

/* Runs hook h with the retry contract: a hook that asks to retry is run again after
 * retry-interval= (at most max-retries= times), with "postponed" feedback for the action
 * in a->record; while waiting, the server is polled for cancels (a->poll_for_cancel, which
 * rejects a cancel that is not cancellable).  Returns 1 = go (*ret_last_line set if not NULL),
 * 0 = failed (*ret_details set), -ECANCELED (cancel found), -EINTR (asked to terminate). */
int hook_run_with_retries(Agent *a, AgentHook h, const char *meta_json, const char *extra, bool cancellable,
                          char **ret_details, char **ret_last_line);

/* The attributes hook (no retries, no action): run once, bounded by timeout=; each stdout line
 * "key=value" is an attribute (stderr is logged).  A line that is not key=value, or a key the
 * agent sets itself, is skipped with a warning.  Returns the number of attributes and
 * *ret_pairs (key, value, ..., NULL; NULL when there are none; agent_pairs_free()), 0 if there is no hook, or a
 * negative errno if it could not run or failed (logged). */
int hook_run_attributes(const AgentConfig *c, char ***ret_pairs);
