/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "update-agent-consent.h"
#include "update-agent-hooks.h"
#include "util.h"

static int remember(Agent *a, const char *action_id) {
        char *c = strdup(action_id);

        if (!c)
                return -ENOMEM;
        free(a->consent_asked);
        a->consent_asked = c;
        return 0;
}

int consent_process(Agent *a, const char *href) {
        _cleanup_free_ char *id = NULL, *json = NULL, *path = NULL, *why = NULL;
        _cleanup_(hook_run_done) HookRun run = {};
        bool confirmed;
        int r;

        r = a->source->get_consent(a, href, &id, &json);
        if (r < 0)
                return log_warning_errno(r, "Cannot fetch the action waiting for consent: %s", agent_source_error(a));
        if (a->consent_asked && streq(a->consent_asked, id))
                return 0;
        r = agent_hook_path(a->config, AGENT_HOOK_CONFIRM, &path);
        if (r < 0)
                return log_warning_errno(r, "The confirm hook cannot be run: %m");
        if (r == 0) {
                log_notice("Action %s waits for consent (confirmationBase) and there is no confirm hook: it waits on "
                           "the server",
                           id);
                return remember(a, id);
        }
        r = hook_run(path, "confirm", a->config->hook_timeout_usec, 0, 0, json, NULL, id, &run);
        if (r < 0)
                return r;
        if (run.verdict == HOOK_RETRY) {
                log_info("Action %s: the confirm hook asks again later", id);
                return 0;
        }
        confirmed = run.verdict == HOOK_GO;
        why = confirmed ? strdup("Confirmed by the device (confirm hook)") : hook_run_describe(&run, "confirm");
        r = a->source->send_consent(a, id, confirmed, confirmed ? 0 : MAX(run.exit_code, 1),
                                  (const char *const[]) { why ?: "", NULL });
        if (r < 0)
                return log_warning_errno(r, "Cannot send the consent for action %s: %s", id, agent_source_error(a));
        log_notice("Action %s %s by the confirm hook", id, confirmed ? "confirmed" : "denied");
        return confirmed ? 0 : remember(a, id);
}
