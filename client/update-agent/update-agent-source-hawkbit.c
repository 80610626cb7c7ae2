/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "update-agent-context.h"
#include "update-agent-ddi.h"
#include "update-agent-source-hawkbit.h"

/* The hawkBit backend: the agent's operations mapped onto DDI's resources.  A poll is GET of
 * the base resource; an action is its deploymentBase link; progress and results are
 * deploymentBase feedback (execution/finished); a cancel is cancelAction and its feedback;
 * device attributes are configData; user consent is confirmationBase. */

static DdiClient *ddi(Agent *a) {
        return a->source_data;
}

/* DDI's feedback retries back off through this: a TERM during the backoff ends it. */
static int hawkbit_sleep(uint64_t usec, void *userdata) {
        int r = agent_wait(userdata, usec, NULL, 0);

        return r == -EINTR ? -EINTR : 0;
}

static int hawkbit_init(Agent *a) {
        _cleanup_free_ DdiClient *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        r = ddi_client_init(d, a->config);
        if (r < 0)
                return r;
        d->sleep = hawkbit_sleep;
        d->sleep_userdata = a;
        a->source_data = TAKE_PTR(d);
        return 0;
}

static void hawkbit_done(Agent *a) {
        if (!a->source_data)
                return;
        ddi_client_done(ddi(a));
        a->source_data = mfree(a->source_data);
}

static const char *hawkbit_error(Agent *a) {
        return a->source_data ? ddi(a)->error : "";
}

static uint64_t hawkbit_retry_after(Agent *a) {
        return ddi(a)->retry_after_usec;
}

static void hawkbit_log_start(Agent *a) {
        log_info("update-agent %s: controller %s at %s (tenant %s), polling %s", UPDATE1_VERSION,
                 a->config->controller_id, a->config->url, a->config->tenant, ddi(a)->base_url);
}

static int hawkbit_poll(Agent *a, SourcePoll *ret) {
        _cleanup_(ddi_base_done) DdiBase b = {};
        int r;

        r = ddi_poll_base(ddi(a), &b);
        if (r < 0)
                return r;
        *ret = (SourcePoll) {
                .sleep_usec = b.sleep_usec,
                .action_ref = TAKE_PTR(b.deployment_href),
                .cancel_ref = TAKE_PTR(b.cancel_href),
                .consent_ref = TAKE_PTR(b.confirmation_href),
                .wants_attributes = !!b.config_data_href,
        };
        return 0;
}

static int hawkbit_get_action(Agent *a, const char *ref, SourceAction *ret) {
        return ddi_get_deployment(ddi(a), ref, ret);
}

/* In the download thread: a client of its own (the main thread owns the token). */
static int hawkbit_refresh_url(Agent *a, const char *ref, char **ret_url) {
        _cleanup_(ddi_client_done) DdiClient d = {};
        _cleanup_(source_action_done) SourceAction act = {};
        int r;

        r = ddi_client_init(&d, a->config);
        if (r < 0)
                return r;
        d.no_token_reload = true;
        r = ddi_get_deployment(&d, ref, &act);
        if (r < 0) {
                log_warning("Cannot fetch the deployment again: %s", d.error);
                return r;
        }
        *ret_url = TAKE_PTR(act.url);
        return 0;
}

static int hawkbit_report(Agent *a, const char *action_id, const SourceReport *rep) {
        static const char *const execution[_SOURCE_STATUS_MAX] = {
                [SOURCE_SCHEDULED] = "scheduled", [SOURCE_PROCEEDING] = "proceeding",
                [SOURCE_DOWNLOAD] = "download",   [SOURCE_DOWNLOADED] = "downloaded",
                [SOURCE_SUCCEEDED] = "closed",    [SOURCE_FAILED] = "closed",
        };
        SourceStatus s = rep->status;
        const char *finished = s == SOURCE_SUCCEEDED ? "success" : s == SOURCE_FAILED ? "failure" : "none";
        int r;

        /* DDI has no step for the start of the installation: its progress follows as proceeding. */
        if (s == SOURCE_INSTALLING)
                return 0;

        r = ddi_send_feedback(ddi(a), DDI_FEEDBACK_DEPLOYMENT, action_id,
                              &(DdiFeedback) { .execution = execution[s], .finished = finished, .progress_cnt = rep->pct,
                                               .progress_of = rep->pct >= 0 ? 100 : 0, .details = rep->details });
        if (r == -ESTALE)
                log_warning("The server says action %s is gone (410): no more feedback for it", action_id);
        return r;
}

static int hawkbit_get_cancel(Agent *a, const char *ref, char **ret_stop_id) {
        return ddi_get_cancel(ddi(a), ref, ret_stop_id);
}

static int hawkbit_answer_cancel(Agent *a, const char *action_id, bool accepted, const char *why) {
        return ddi_send_feedback(ddi(a), DDI_FEEDBACK_CANCEL, action_id,
                                 &(DdiFeedback) { .execution = accepted ? "closed" : "rejected",
                                                  .finished = accepted ? "success" : "none", .progress_cnt = -1,
                                                  .details = (const char *const[]) { why, NULL } });
}

static int hawkbit_send_attributes(Agent *a, const char *const *data) {
        return ddi_put_config_data(ddi(a), data);
}

static int hawkbit_send_installed_base(Agent *a, const char *name, const char *version) {
        return ddi_put_installed_base(ddi(a), name, version);
}

static int hawkbit_get_consent(Agent *a, const char *ref, char **ret_action_id, char **ret_json) {
        return ddi_get_confirmation(ddi(a), ref, ret_action_id, ret_json);
}

static int hawkbit_send_consent(Agent *a, const char *action_id, bool confirmed, int code, const char *const *details) {
        return ddi_send_confirmation(ddi(a), action_id, confirmed, code, details);
}

const SourceOps source_hawkbit_ops = {
        .name = "hawkbit",
        .init = hawkbit_init,
        .done = hawkbit_done,
        .error = hawkbit_error,
        .retry_after = hawkbit_retry_after,
        .log_start = hawkbit_log_start,
        .poll = hawkbit_poll,
        .get_action = hawkbit_get_action,
        .refresh_url = hawkbit_refresh_url,
        .report = hawkbit_report,
        .get_cancel = hawkbit_get_cancel,
        .answer_cancel = hawkbit_answer_cancel,
        .send_attributes = hawkbit_send_attributes,
        .send_installed_base = hawkbit_send_installed_base,
        .get_consent = hawkbit_get_consent,
        .send_consent = hawkbit_send_consent,
};
