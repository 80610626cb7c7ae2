/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "update-agent-source.h"

/* The protocol-blind halves of update-agent-source.h: what every backend fills in. */

const char *source_handling_to_string(SourceHandling h) {
        return h == SOURCE_FORCED ? "forced" : h == SOURCE_ATTEMPT ? "attempt" : "skip";
}

void source_action_done(SourceAction *act) {
        free(act->action_id);
        free(act->filename);
        free(act->part);
        free(act->name);
        free(act->version);
        free(act->url);
        for (size_t i = 0; act->refused && act->refused[i]; i++)
                free(act->refused[i]);
        free(act->refused);
        free(act->json);
        free(act->hook_meta);
        free(act->restart_arg);
        *act = (SourceAction) {};
}

void source_poll_done(SourcePoll *p) {
        free(p->action_ref);
        free(p->cancel_ref);
        free(p->consent_ref);
        *p = (SourcePoll) {};
}
