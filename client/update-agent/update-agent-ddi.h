/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "update-agent-config.h"
#include "update-agent-source.h"

/* hawkBit DDI v1 client: the base resource, deploymentBase, feedback, cancelAction and
 * configData (shared/reference/ddi-api.md).  Every call is one blocking request (bounded by
 * request-timeout=) except feedback, which retries 409/429 a few times with backoff. */

#define DDI_MAX_RESPONSE (UINT64_C(1) << 20)

/* Errors of every call besides -ENOMEM:
 *   -EACCES     401/403 from the server: credentials rejected (logged clearly once per episode)
 *   -EAGAIN     409/429/503: back off (DdiClient.retry_after_usec says how long, if the server did)
 *   -ESTALE     410: the action is gone; stop reporting it
 *   -ENOENT     404
 *   -EOPNOTSUPP 405
 *   -EBADMSG    the response is not what DDI promises
 *   -EIO etc.   transport errors (logged by the caller from DdiClient.error) */

typedef int (*DdiSleepFn)(uint64_t usec, void *userdata);

typedef struct DdiClient {
        AgentConfig *config;
        char *base_url;             /* {url}/{tenant}/controller/v1/{controllerId} */
        uint64_t retry_after_usec;  /* from the last -EAGAIN */
        bool auth_failed;           /* a 401 was logged; cleared by the next success */
        bool no_token_reload;       /* a copy in another thread: the main thread owns the token */
        char error[1024];           /* what went wrong in the last failed call */
        DdiSleepFn sleep;           /* interruptible sleep (feedback backoff); -EINTR stops */
        void *sleep_userdata;
} DdiClient;

int ddi_client_init(DdiClient *d, AgentConfig *c);
void ddi_client_done(DdiClient *d);

typedef struct DdiBase {
        uint64_t sleep_usec;        /* config.polling.sleep; 0 if missing */
        char *deployment_href;
        char *cancel_href;
        char *config_data_href;
        char *confirmation_href;
        char *action_id;            /* of deploymentBase or cancelAction (from the href) */
} DdiBase;

void ddi_base_done(DdiBase *b);
int ddi_poll_base(DdiClient *d, DdiBase *ret);

/* "HH:MM:SS" or ISO-8601 ("PT5M", "P1DT2H", "PT0.5S") → microseconds. */
int ddi_parse_sleep(const char *s, uint64_t *ret_usec);

/* The deploymentBase parse result is the agent's SourceAction (update-agent-source.h). */

/* GET the deploymentBase href and pick the bundle.  A deployment we cannot handle (no or
 * several matching artifacts, no link, no size, too large) is -EMEDIUMTYPE with the reason in
 * d->error: the caller reports it as closed/failure. */
int ddi_get_deployment(DdiClient *d, const char *href, SourceAction *ret);

/* GET cancelAction: the action id to stop. */
int ddi_get_cancel(DdiClient *d, const char *href, char **ret_stop_id);

typedef enum DdiTarget {
        DDI_FEEDBACK_DEPLOYMENT,
        DDI_FEEDBACK_CANCEL,
} DdiTarget;

typedef struct DdiFeedback {
        const char *execution;      /* closed, proceeding, downloaded, rejected, ... */
        const char *finished;       /* success, failure, none */
        int progress_cnt;           /* < 0: no progress object */
        int progress_of;
        const char *const *details; /* NULL-terminated, may be NULL */
} DdiFeedback;

int ddi_send_feedback(DdiClient *d, DdiTarget target, const char *action_id, const DdiFeedback *f);

/* The parsers behind ddi_poll_base(), ddi_get_deployment() and ddi_get_cancel(), on a response
 * body of size bytes followed by a NUL (as HttpResponse.body): the same results and d->error,
 * without a request.  d needs only its config (artifact=, max-bundle-size=).  For tests and
 * fuzzing. */
int ddi_parse_base(DdiClient *d, const char *body, size_t size, DdiBase *ret);
int ddi_parse_deployment(DdiClient *d, const char *body, size_t size, SourceAction *ret);
int ddi_parse_cancel(DdiClient *d, const char *body, size_t size, char **ret_stop_id);

/* User consent (hawkBit's confirmation flow): GET a confirmationBase/{actionId} link (the
 * action id and the whole response, for the confirm hook), and POST its feedback
 * {"confirmation": "confirmed"|"denied", "code", "details"}. */
int ddi_get_confirmation(DdiClient *d, const char *href, char **ret_action_id, char **ret_json);
int ddi_send_confirmation(DdiClient *d, const char *action_id, bool confirmed, int code, const char *const *details);

/* PUT installedBase {"name","version"} (experimental, hawkBit PR #1620): the distribution set
 * the device runs although no action installed it.  -ENOENT/-EOPNOTSUPP: the server has no
 * such endpoint. */
int ddi_put_installed_base(DdiClient *d, const char *name, const char *version);

/* PUT configData (merge).  'data' is a NULL-terminated list of key, value, key, value... */
int ddi_put_config_data(DdiClient *d, const char *const *data);
