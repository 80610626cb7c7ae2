/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "update-agent-context.h"
#include "update-agent-daemon.h"
#include "update-agent-failure.h"
#include "update-agent-hooks.h"
#include "update-agent-report.h"
#include "util.h"

/* After updated installed the bundle: the restart hook and the reboot, then — possibly in the
 * next boot, by a new agent process reading the action record — the verdict:
 *   booted the expected slot, carrying our transaction id, marked good (by the health unit)
 *     → ready hook → closed/success;
 *   updated reports a fallback from the expected slot (last_boot.fell_back), or the slot was
 *     marked bad or overwritten → closed/failure with what happened;
 *   otherwise keep waiting (the reboot has not happened, or MarkGood has not come yet).
 * The verdict is stored (phase "reporting") before it is sent, and sent until the server took
 * it (200) or the action is gone (410). */

/* A record's clock and updated's may differ by a little (both are the device clock). */
#define CLOCK_SLACK_SEC 5

static char *record_meta(const ActionRecord *r) {
        json_object *o = json_object_new_object();
        char *s;

        if (!o)
                return NULL;
        json_object_object_add(o, "action", json_object_new_string(r->action_id));
        json_object_object_add(o, "version", r->version ? json_object_new_string(r->version) : NULL);
        json_object_object_add(o, "filename", r->filename ? json_object_new_string(r->filename) : NULL);
        json_object_object_add(o, "slot", r->expected_slot ? json_object_new_string(r->expected_slot) : NULL);
        json_object_object_add(o, "transaction_id",
                               r->transaction_id ? json_object_new_string(r->transaction_id) : NULL);
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return s;
}

static int send_final(Agent *a) {
        ActionRecord *rec = a->record;
        bool success = rec->final_success;
        int r;

        r = agent_report(a, rec->action_id,
                         &(SourceReport) { .status = success ? SOURCE_SUCCEEDED : SOURCE_FAILED,
                                           .reason = rec->final_reason, .message = rec->final_message,
                                           .pct = success ? 100 : -1, .bytes = UINT64_MAX,
                                           .details = (const char *const *) rec->final_details });
        if (r < 0 && r != -ESTALE) {
                log_warning("Cannot send the result of action %s yet (%s); it stays recorded and is sent again",
                            rec->action_id, agent_source_error(a));
                return 1;
        }
        log_notice("Action %s: reported %s%s", rec->action_id, success ? "success" : "failure",
                   r == -ESTALE ? " (the server had closed it already)" : "");
        agent_forget_record(a, false);
        agent_status("Idle");
        /* What is installed changed (or was confirmed): tell the server. */
        (void) report_config_data(a);
        return 0;
}

int report_final(Agent *a, bool success, const char *const *details) {
        return report_final_why(a, success, NULL, NULL, details);
}

int report_final_why(Agent *a, bool success, const char *reason, const char *message, const char *const *details) {
        int r;

        r = action_record_set_final(a->record, success, details);
        if (r >= 0)
                r = action_record_set_reason(a->record, reason, message);
        if (r < 0)
                return r;
        if (!success)
                a->final_failed = true;
        a->record->phase = PHASE_REPORTING;
        (void) agent_save_record(a);
        return send_final(a);
}

int report_failed(Agent *a, const char *name, const char *reason, const char *const *details) {
        return report_failed_why(a, name, reason, NULL, details);
}

int report_failed_why(Agent *a, const char *name, const char *reason, const char *message, const char *const *details) {
        _cleanup_free_ char *first = NULL, *msg = NULL;
        _cleanup_free_ const char **l = NULL;
        size_t n = 0;
        int r;

        while (details && details[n])
                n++;
        first = strdup_printf("%s: %s", name, n > 0 ? details[0] : "failed");
        l = calloc(MAX(n, (size_t) 1) + 1, sizeof(char *));
        /* AWS sends the message instead of the details: it carries the name as well. */
        if (message)
                msg = strdup_printf("%s: %s", name, message);
        if (!first || !l || (message && !msg))
                return -ENOMEM;
        l[0] = first;
        for (size_t i = 1; i < n; i++)
                l[i] = details[i];
        log_error("Action %s failed: %s", a->record->action_id, first);
        /* Upparat's word is decided now, from the phase the action failed in: once reporting,
         * the record no longer tells a failed download from a failed install. */
        if (!reason)
                reason = a->record->phase >= PHASE_INSTALLING ? "installation_failed" : "download_failed";
        r = action_record_set_failure(a->record, name);
        if (r < 0)
                return r;
        return report_final_why(a, false, reason, msg, l);
}

static int report_failed_as(Agent *a, AgentFailure f, const char *reason, const char *const *details) {
        return report_failed(a, agent_failure_to_string(f), reason, details);
}

int report_after_install(Agent *a) {
        ActionRecord *rec = a->record;
        _cleanup_free_ char *meta = rec->hook_meta ? strdup(rec->hook_meta) : record_meta(rec), *details = NULL;
        char err[512];
        int r;

        {
                _cleanup_free_ char *m = strdup_printf(
                        "Installed %s into slot %s; it becomes the running system after a reboot and MarkGood",
                        rec->version ?: rec->filename, isempty(rec->expected_slot) ? "(unknown)" : rec->expected_slot);

                (void) agent_report(a, rec->action_id,
                                    &(SourceReport) { .status = SOURCE_PROCEEDING, .reason = "reboot_start", .pct = 100,
                                                      .bytes = UINT64_MAX,
                                                      .details = (const char *const[]) { m ?: "", NULL } });
        }

        /* The restart hook may postpone the reboot (exit 3); the install is done, so no cancel. */
        r = hook_run_with_retries(a, AGENT_HOOK_RESTART, meta, rec->restart_arg, false, &details, NULL);
        if (r < 0)
                return r;
        if (r == 0) {
                const char *undo = "the running system stays";
                if (!isempty(rec->expected_slot) &&
                    daemon_mark(agent_bus(a), "bad", rec->expected_slot, err, sizeof(err)) >= 0)
                        undo = "the new slot was marked bad; the running system stays";
                return report_failed_as(a, AGENT_FAILURE_HOOK, "restart_hook_failed",
                                        (const char *const[]) { details, undo, NULL });
        }

        free(rec->boot_id);
        rec->boot_id = current_boot_id();
        rec->phase = PHASE_REBOOTING;
        (void) agent_save_record(a);

        if (a->config->reboot == AGENT_REBOOT_NONE) {
                log_notice("Action %s installed; reboot=none: waiting for someone else to reboot", rec->action_id);
                agent_status("Installed; waiting for a reboot");
                return 0;
        }
        log_notice("Action %s installed into %s: requesting a reboot", rec->action_id, rec->expected_slot);
        a->reboot_requested = true;
        agent_status("Rebooting into %s", rec->expected_slot);
        r = daemon_reboot(agent_bus(a), a->config->reboot, err, sizeof(err));
        if (r < 0)
                log_error("The reboot request failed (%s); waiting for a reboot by other means", err);
        return 0;
}

/* The booted slot's version for a sentence: a slot that no install wrote (the factory image)
 * has none recorded, and "version ?" would read like a bug. */
static const char *booted_version_text(const SystemStatus *st) {
        return system_status_booted_version(st) ?: "not recorded: no installation wrote that slot";
}

static bool same(const char *x, const char *y) {
        return x && y && streq(x, y);
}

static int success_after_ready(Agent *a, const SystemStatus *st) {
        ActionRecord *rec = a->record;
        _cleanup_free_ char *meta = rec->hook_meta ? strdup(rec->hook_meta) : record_meta(rec), *details = NULL,
                            *ok = NULL, *ready = NULL;
        int r;

        r = hook_run_with_retries(a, AGENT_HOOK_READY, meta, NULL, false, &details, NULL);
        if (r < 0)
                return r;
        if (r == 0)
                return report_failed_as(a, AGENT_FAILURE_HOOK, "ready_hook_failed",
                                        (const char *const[]) { "the new system booted and was marked good, but the ready hook failed",
                                                                details, NULL });
        ok = strdup_printf("Booted slot %s with version %s and marked it good", st->booted,
                           system_status_booted_version(st) ?: rec->version ?: "?");
        return report_final_why(a, true, agent_hook_path(a->config, AGENT_HOOK_READY, &ready) > 0 ? "complete_ready"
                                                                                                   : "complete_no_ready_check",
                                NULL, (const char *const[]) { ok ?: "ok", NULL });
}

/* Decides for a record in phase INSTALLED or REBOOTING.  1 = keep waiting. */
static int evaluate(Agent *a) {
        _cleanup_(system_status_done) SystemStatus st = {};
        ActionRecord *rec = a->record;
        const char *exp = rec->expected_slot;
        const SlotInfo *slot;
        char err[512];
        bool fell_back;
        int r;

        r = daemon_get_status(agent_bus(a), &st, err, sizeof(err));
        if (r < 0) {
                log_info("Cannot ask updated about the boot yet (%s); trying again", err);
                return 1;
        }
        fell_back = st.has_last_boot && st.last_fell_back && same(st.last_expected, exp) &&
                    (st.last_timestamp == 0 || st.last_timestamp + CLOCK_SLACK_SEC >= rec->installed_at);

        if (isempty(exp)) {
                /* The install hook installed (or the slot was not found): judge by version. */
                const SlotInfo *b = system_status_slot(&st, st.booted);

                if (b && same(b->version, rec->version) && same(b->boot_status, "good"))
                        return success_after_ready(a, &st);
                if (st.has_last_boot && st.last_fell_back && st.last_timestamp + CLOCK_SLACK_SEC >= rec->installed_at)
                        goto fallback;
                return 1;
        }
        slot = system_status_slot(&st, exp);
        if (same(st.booted, exp)) {
                if (!slot || !same(slot->transaction_id, rec->transaction_id))
                        return report_failed_as(a, AGENT_FAILURE_SLOT_REPLACED, NULL,
                                                (const char *const[]) { "the booted slot no longer holds this installation "
                                                                        "(another installation replaced it)", NULL });
                if (same(slot->boot_status, "good"))
                        return success_after_ready(a, &st);
                agent_status("Booted %s; waiting for it to be marked good", exp);
                log_debug("Booted %s (%s); waiting for MarkGood", exp, slot->boot_status ?: "?");
                return 1;
        }
        if (fell_back)
                goto fallback;
        if (!slot || !same(slot->transaction_id, rec->transaction_id))
                return report_failed_as(a, AGENT_FAILURE_SLOT_REPLACED, NULL,
                                        (const char *const[]) { "the slot this action installed no longer holds it "
                                                                "(another installation replaced it before it booted)", NULL });
        if (same(slot->status, "failed") || same(slot->boot_status, "bad")) {
                _cleanup_free_ char *m = strdup_printf(
                        "slot %s was marked %s before it ran; the device runs %s (version %s)", exp,
                        same(slot->boot_status, "bad") ? "bad" : "failed", st.booted ?: "?",
                        booted_version_text(&st));
                return report_failed_as(a, AGENT_FAILURE_SLOT_BAD, NULL, (const char *const[]) { m ?: "marked bad", NULL });
        }
        if (same(st.primary, exp)) {
                /* Not rebooted yet. */
                if (rec->phase == PHASE_INSTALLED)
                        return report_after_install(a);
                /* Recorded "rebooting" but this process never asked (a crash between the two,
                 * or the request was lost): ask once more. */
                if (!a->reboot_requested && a->config->reboot != AGENT_REBOOT_NONE) {
                        a->reboot_requested = true;
                        log_notice("Action %s: %s is installed but not booted yet: requesting the reboot again",
                                   rec->action_id, exp);
                        if (daemon_reboot(agent_bus(a), a->config->reboot, err, sizeof(err)) < 0)
                                log_error("The reboot request failed (%s); waiting for a reboot by other means", err);
                }
                agent_status("Installed into %s; waiting for the reboot", exp);
                return 1;
        }
        {
                _cleanup_free_ char *m = strdup_printf("slot %s is no longer the one to boot (next boot: %s)", exp,
                                                       st.primary ?: "unknown");
                return report_failed_as(a, AGENT_FAILURE_NOT_PRIMARY, NULL, (const char *const[]) { m ?: "not primary", NULL });
        }

fallback: {
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;

        m1 = strdup_printf("slot %s with version %s was installed and tried, but the device booted %s "
                           "again (running version %s)",
                           exp ?: st.last_expected ?: "?", rec->version ?: "?", st.booted ?: st.last_booted ?: "?",
                           booted_version_text(&st));
        m2 = strdup_printf("updated: last boot expected %s, booted %s, fell back",
                           st.last_expected ?: "?", st.last_booted ?: "?");
        /* Upparat's words for a fallback: its version hook then prints the old version. */
        m3 = strdup_printf("Expected version '%s', got '%s'", rec->version ?: "", system_status_booted_version(&st) ?: "");
        return report_failed_why(a, agent_failure_to_string(AGENT_FAILURE_FELL_BACK), "version_mismatch", m3,
                                 (const char *const[]) { m1 ?: "fallback", m2 ?: "", NULL });
}
}

/* An "installing" record at a poll: the agent was stopped during InstallFd. */
static int recover_installing(Agent *a) {
        _cleanup_(system_status_done) SystemStatus st = {};
        ActionRecord *rec = a->record;
        char err[512];
        int r;

        r = daemon_get_status(agent_bus(a), &st, err, sizeof(err));
        if (r < 0 || same(st.operation, "installing")) {
                log_info("Waiting for updated to finish the interrupted installation (%s)", r < 0 ? err : "installing");
                return 1;
        }
        for (unsigned i = 0; i < st.n_slots; i++)
                if (same(st.slots[i].transaction_id, rec->transaction_id) && same(st.slots[i].status, "ok")) {
                        log_notice("The installation of action %s completed into %s before the agent stopped",
                                   rec->action_id, st.slots[i].name);
                        free(rec->expected_slot);
                        rec->expected_slot = strdup(st.slots[i].name);
                        rec->phase = PHASE_INSTALLED;
                        rec->installed_at = now_realtime_sec();
                        (void) agent_save_record(a);
                        return evaluate(a);
                }
        if (rec->install_attempts >= a->config->max_install_attempts) {
                _cleanup_free_ char *m = strdup_printf("the installation was interrupted %u times (agent stopped)",
                                                       rec->install_attempts);
                return report_failed_as(a, AGENT_FAILURE_INSTALL_INTERRUPTED, NULL,
                                        (const char *const[]) { m ?: "interrupted", NULL });
        }
        log_notice("The installation of action %s was interrupted; it starts again (attempt %u of %u)", rec->action_id,
                   rec->install_attempts + 1, a->config->max_install_attempts);
        rec->phase = PHASE_DOWNLOADING;
        (void) agent_save_record(a);
        return 0;
}

int report_check(Agent *a) {
        if (!a->record)
                return 0;
        switch (a->record->phase) {
        case PHASE_REPORTING:
                return send_final(a);
        case PHASE_INSTALLING:
                return recover_installing(a);
        case PHASE_INSTALLED:
        case PHASE_REBOOTING:
                return evaluate(a);
        default:
                return 0;
        }
}

static bool ours(const char *transaction_id) {
        return transaction_id && (strneq(transaction_id, "ddi-", 4) || streq(transaction_id, "install-hook"));
}

static int installed_base_check(Agent *a, const SystemStatus *st) {
        const SlotInfo *b = system_status_slot(st, st->booted);
        _cleanup_free_ char *key = NULL, *path = NULL, *had = NULL;
        int r;

        a->installed_base_recheck = false;
        if (!a->config->installed_base_name || !b || !b->version || ours(b->transaction_id))
                return 0;
        if (!same(b->boot_status, "good")) {
                /* Not committed yet: an installation that may still fall back is not reported. */
                a->installed_base_recheck = true;
                return 0;
        }
        key = strdup_printf("%s %s %s\n", b->name, b->transaction_id ?: "-", b->version);
        path = strdup_printf("%s/installed-base", a->config->state_dir);
        if (!key || !path)
                return -ENOMEM;
        if (read_full_file(path, 4096, &had, NULL) >= 0 && streq(had, key))
                return 0;
        if (!a->source->send_installed_base)
                return 0;    /* the protocol has no such record */
        r = a->source->send_installed_base(a, a->config->installed_base_name, b->version);
        if (r == -ENOENT || r == -EOPNOTSUPP)
                log_notice("The server has no PUT installedBase (hawkBit PR #1620): the offline installation of %s %s "
                           "in %s is not recorded there",
                           a->config->installed_base_name, b->version, b->name);
        else if (r < 0) {
                a->installed_base_recheck = r != -EACCES;
                return log_warning_errno(r, "Cannot record the offline installation on the server: %s", agent_source_error(a));
        } else
                log_info("Recorded the offline installation of %s %s (slot %s) on the server (installedBase)",
                         a->config->installed_base_name, b->version, b->name);
        r = write_file_atomic(path, key, strlen(key), 0600);
        if (r < 0)
                return log_warning_errno(r, "Cannot write %s: %m", path);
        return 0;
}

int report_installed_base(Agent *a) {
        _cleanup_(system_status_done) SystemStatus st = {};
        char err[512];
        int r;

        r = daemon_get_status(agent_bus(a), &st, err, sizeof(err));
        if (r < 0) {
                log_warning("Cannot read the slot status: %s", err);
                return r;
        }
        return installed_base_check(a, &st);
}

int report_config_data(Agent *a) {
        _cleanup_(system_status_done) SystemStatus st = {};
        _cleanup_(agent_pairs_freep) char **from_hook = NULL;
        _cleanup_free_ const char **data = NULL;
        _cleanup_free_ char *last = NULL;
        char err[512];
        size_t n;
        int r, hooked;

        r = daemon_get_status(agent_bus(a), &st, err, sizeof(err));
        if (r < 0) {
                log_warning("Cannot collect attributes for configData: %s", err);
                return r;
        }
        if (!st.has_last_boot)
                last = strdup("none");
        else if (st.last_fell_back)
                last = strdup_printf("fell back from %s to %s", st.last_expected ?: "?", st.last_booted ?: "?");
        else
                last = strdup_printf("booted %s as expected", st.last_booted ?: "?");
        const char *builtin[] = {
                "compatible", st.compatible ?: "",
                "booted_slot", st.booted ?: "",
                "installed_version", system_status_booted_version(&st) ?: "",
                "agent_version", UPDATE1_VERSION,
                "last_boot", last ?: "",
        };
        /* The agent's own, then [attributes], then the attributes hook's (a later key
         * replaces an earlier one in the JSON object). */
        hooked = hook_run_attributes(a->config, &from_hook);
        n = ELEMENTSOF(builtin) + 2 * a->config->n_attributes + 2 * (size_t) MAX(hooked, 0) + 1;
        data = calloc(n, sizeof(char *));
        if (!data)
                return -ENOMEM;
        memcpy(data, builtin, sizeof(builtin));
        n = ELEMENTSOF(builtin);
        for (size_t i = 0; i < 2 * a->config->n_attributes; i++)
                data[n++] = a->config->attributes[i];
        for (size_t i = 0; from_hook && from_hook[i]; i++)
                data[n++] = from_hook[i];
        r = a->source->send_attributes(a, (const char *const *) data);
        if (r < 0)
                return log_warning_errno(r, "Cannot send configData: %s", agent_source_error(a));
        a->config_data_sent = true;
        (void) installed_base_check(a, &st);
        log_info("Sent configData (booted %s, version %s, last boot: %s; %zu attributes of [attributes], %d of the "
                 "attributes hook)",
                 st.booted ?: "?", booted_version_text(&st), last ?: "?", a->config->n_attributes, MAX(hooked, 0));
        return 0;
}
