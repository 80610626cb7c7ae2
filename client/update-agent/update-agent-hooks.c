/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "process.h"
#include "update-agent-hooks.h"
#include "util.h"

/* After the timeout: SIGTERM to the process group, SIGKILL this much later. */
#define HOOK_KILL_GRACE_USEC (2000 * USEC_PER_MSEC)
/* A hook that exited is done once its output was quiet this long: background children it
 * started may keep the pipes open, and are left alone. */
#define HOOK_LINGER_USEC (1000 * USEC_PER_MSEC)

void hook_run_done(HookRun *r) {
        free(r->output);
        free(r->last_line);
        r->output = r->last_line = NULL;
}

/* Keeps the last non-empty line of stdout. */
typedef struct LastLine {
        char cur[512];
        size_t len;
        char last[512];
} LastLine;

static void last_line_add(LastLine *l, const char *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\n') {
                        while (l->len > 0 && (l->cur[l->len - 1] == '\r' || l->cur[l->len - 1] == ' '))
                                l->len--;
                        if (l->len > 0) {
                                memcpy(l->last, l->cur, l->len);
                                l->last[l->len] = 0;
                        }
                        l->len = 0;
                } else if (l->len < sizeof(l->cur) - 1)
                        l->cur[l->len++] = p[i];
        }
}

static void on_output(bool is_stderr, const char *buf, size_t n, void *userdata) {
        if (!is_stderr)
                last_line_add(userdata, buf, n);
}

int hook_run(const char *path, const char *name, uint64_t timeout_usec, uint64_t seconds, unsigned retry,
             const char *meta_json, const char *extra, const char *action_id, HookRun *ret) {
        _cleanup_(process_result_done) ProcessResult res = {};
        _cleanup_free_ char *env_hook = NULL, *env_id = NULL;
        char sec[32], rt[32];
        const char *argv[] = { path, sec, rt, meta_json ?: "{}", extra, NULL };
        LastLine ll = {};
        int r;

        if (!path)
                return -ENOENT;
        snprintf(sec, sizeof(sec), "%llu", (unsigned long long) seconds);
        snprintf(rt, sizeof(rt), "%u", retry);
        env_hook = strdup_printf("UPDATE_AGENT_HOOK=%s", name);
        if (action_id)
                env_id = strdup_printf("UPDATE_AGENT_ACTION_ID=%s", action_id);
        if (!env_hook || (action_id && !env_id))
                return -ENOMEM;

        /* The agent's environment plus ours; stdout and stderr share one tail, in the order
         * they were read; only stdout has the version hook's answer. */
        char *extra_env[] = { env_hook, env_id, NULL };
        const ProcessOptions opts = {
                .extra_env = extra_env,
                .stderr_mode = PROCESS_STDERR_MERGE,
                .out = { .tail_max = HOOK_OUTPUT_TAIL - 1 },
                .on_output = on_output,
                .userdata = &ll,
                .timeout_usec = timeout_usec,
                .kill_grace_usec = HOOK_KILL_GRACE_USEC,
                .linger_usec = HOOK_LINGER_USEC,
        };

        log_info("Running the %s hook (%s %s %s)", name, sec, rt, extra ?: "");
        r = process_run(argv, &opts, &res);
        if (r < 0)
                return log_warning_errno(r, "The %s hook could not be run: %m", name);
        if (res.timed_out)
                log_warning("The %s hook ran longer than its timeout: it was terminated", name);
        last_line_add(&ll, "\n", 1);

        *ret = (HookRun) {
                .exit_code = res.exit_code,
                .signal = res.signal,
                .timed_out = res.timed_out,
                .output = TAKE_PTR(res.out.tail),
                .last_line = ll.last[0] ? strdup(ll.last) : NULL,
        };
        if (res.timed_out)
                ret->verdict = HOOK_FAIL;
        else if (ret->exit_code == 0)
                ret->verdict = HOOK_GO;
        else if (ret->exit_code == HOOK_EXIT_RETRY)
                ret->verdict = HOOK_RETRY;
        else
                ret->verdict = HOOK_FAIL;
        log_info("The %s hook %s", name,
                 ret->verdict == HOOK_GO ? "said go" : ret->verdict == HOOK_RETRY ? "asked to retry later" : "failed");
        return 0;
}

char *hook_run_describe(const HookRun *r, const char *name) {
        _cleanup_free_ char *how = NULL;
        char *s, *o = r->output ? strdup(r->output) : NULL;

        /* One line for the feedback: newlines become " | ". */
        if (o) {
                size_t n = strlen(o);
                while (n > 0 && (o[n - 1] == '\n' || o[n - 1] == '\r' || o[n - 1] == ' '))
                        o[--n] = 0;
                for (char *p = o; *p; p++)
                        if (*p == '\n')
                                *p = '|';
                        else if ((unsigned char) *p < ' ')
                                *p = ' ';
        }
        if (r->timed_out)
                how = strdup("timed out");
        else if (r->signal > 0)
                how = strdup_printf("was killed by signal %d", r->signal);
        else
                how = strdup_printf("exited with %d", r->exit_code);
        s = strdup_printf("%s hook %s%s%s", name, how ?: "failed", o && *o ? ": " : "", o ?: "");
        free(o);
        return s;
}

/* A new action restarts the clock of every hook. */
static void hook_clock_start(Agent *a, AgentHook h, const char *action_id) {
        if (action_id && (!a->hook_clock.action_id || !streq(a->hook_clock.action_id, action_id))) {
                char *copy = strdup(action_id);

                if (copy) {
                        free(a->hook_clock.action_id);
                        a->hook_clock.action_id = copy;
                }
                memset(a->hook_clock.first, 0, sizeof(a->hook_clock.first));
        }
        if (a->hook_clock.first[h] == 0)
                a->hook_clock.first[h] = now_monotonic_usec();
}

int hook_run_with_retries(Agent *a, AgentHook h, const char *meta_json, const char *extra, bool cancellable,
                          char **ret_details, char **ret_last_line) {
        const AgentConfig *c = a->config;
        const char *id = a->record ? a->record->action_id : NULL, *name = agent_hook_to_string(h);
        _cleanup_free_ char *path = NULL;
        int k;

        k = agent_hook_path(c, h, &path);
        if (k == 0)
                return 1;
        if (k < 0) {
                *ret_details = strdup_printf("%s hook in %s cannot be executed: %s", name, c->hook_dir ?: "?", strerror(-k));
                return 0;
        }
        hook_clock_start(a, h, id);

        for (unsigned retry = 0;; retry++) {
                HookRun run = {};
                uint64_t deadline;
                int r;

                agent_status("Running the %s hook%s", name, retry ? " again" : "");
                /* One argument may hold at most 128 KiB (MAX_ARG_STRLEN). */
                if (meta_json && strlen(meta_json) > 120 * 1024)
                        meta_json = "{\"truncated\":true}";
                r = hook_run(path, name, c->hook_timeout_usec,
                             (now_monotonic_usec() - a->hook_clock.first[h]) / USEC_PER_SEC, retry, meta_json, extra,
                             id, &run);
                if (r < 0) {
                        *ret_details = strdup_printf("%s hook %s could not be started: %s", name, path, strerror(-r));
                        return 0;
                }
                if (run.verdict == HOOK_GO) {
                        if (ret_last_line)
                                *ret_last_line = TAKE_PTR(run.last_line);
                        hook_run_done(&run);
                        return 1;
                }
                if (run.verdict == HOOK_FAIL || retry >= c->hook_max_retries) {
                        _cleanup_free_ char *d = hook_run_describe(&run, name);
                        *ret_details = run.verdict == HOOK_FAIL
                                               ? TAKE_PTR(d)
                                               : strdup_printf("%s hook still asked to retry after %u retries (max-retries=%u)",
                                                               name, retry, c->hook_max_retries);
                        hook_run_done(&run);
                        return 0;
                }
                hook_run_done(&run);
                if (id)
                        (void) agent_feedback1(a, id, SOURCE_PROCEEDING, -1, "%s hook postponed (retry %u of %u)",
                                               name, retry + 1, c->hook_max_retries);
                /* Wait retry-interval, polling for cancels meanwhile. */
                /* At least one poll per retry, however short the interval. */
                deadline = now_monotonic_usec() + c->hook_retry_interval_usec;
                do {
                        uint64_t now = now_monotonic_usec();

                        r = agent_wait(a, MIN(deadline > now ? deadline - now : 0, c->poll_active_usec), NULL, 0);
                        if (r == -EINTR)
                                return -EINTR;
                        if (id && a->poll_for_cancel) {
                                r = a->poll_for_cancel(a, id, cancellable);
                                if (r > 0)
                                        return -ECANCELED;
                        }
                } while (now_monotonic_usec() < deadline);
        }
}

int hook_run_attributes(const AgentConfig *c, char ***ret_pairs) {
        _cleanup_(process_result_done) ProcessResult res = {};
        _cleanup_free_ char *path = NULL;
        char **pairs = NULL;
        size_t n = 0;
        int r;

        r = agent_hook_path(c, AGENT_HOOK_ATTRIBUTES, &path);
        if (r < 0)
                return log_warning_errno(r, "The attributes hook cannot be run: %m");
        if (r == 0)
                return 0;
        const char *argv[] = { path, "0", "0", "{}", NULL };
        char env_hook[] = "UPDATE_AGENT_HOOK=attributes";
        char *extra_env[] = { env_hook, NULL };
        const ProcessOptions opts = {
                .extra_env = extra_env,
                .stderr_mode = PROCESS_STDERR_CAPTURE,
                .out = { .head_max = 64 * 1024 },
                .err = { .tail_max = HOOK_OUTPUT_TAIL - 1 },
                .timeout_usec = c->hook_timeout_usec,
                .kill_grace_usec = HOOK_KILL_GRACE_USEC,
                .linger_usec = HOOK_LINGER_USEC,
        };

        r = process_run(argv, &opts, &res);
        if (r < 0)
                return log_warning_errno(r, "The attributes hook could not be run: %m");
        if (res.err.tail && res.err.tail[0])
                log_info("The attributes hook said on stderr: %s", res.err.tail);
        if (res.timed_out || res.exit_code != 0)
                return log_warning_errno(EIO, "The attributes hook %s: sending configData without its attributes",
                                         res.timed_out ? "ran longer than its timeout" : "failed");
        for (char *line = res.out.head, *next; line && *line; line = next) {
                char *eq, *end = strchrnul(line, '\n');
                const char *why;

                next = *end ? end + 1 : end;
                *end = 0;
                if (end > line && end[-1] == '\r')
                        end[-1] = 0;
                if (!*line)
                        continue;
                eq = strchr(line, '=');
                if (!eq) {
                        log_warning("The attributes hook printed '%s', not key=value: skipped", line);
                        continue;
                }
                *eq = 0;
                why = agent_attribute_invalid(line, eq + 1);
                if (!why && n >= AGENT_ATTRIBUTES_MAX)
                        why = "more attributes than hawkBit keeps";
                if (why) {
                        log_warning("The attributes hook's attribute '%s' is skipped: %s", line, why);
                        continue;
                }
                r = agent_pairs_add(&pairs, n, line, (size_t) (eq - line), eq + 1);
                if (r < 0) {
                        agent_pairs_free(pairs);
                        return r;
                }
                n++;
        }
        *ret_pairs = pairs;
        return (int) n;
}
