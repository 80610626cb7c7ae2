/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "update-agent-failure.h"
#include "util.h"

/* Names in updated's style (lib/error-kinds.h) but none of its names, so that the first word
 * alone tells who refused. */
static const char *const failure_names[_AGENT_FAILURE_MAX] = {
        [AGENT_FAILURE_BAD_DEPLOYMENT] = "BadDeployment",
        [AGENT_FAILURE_NO_RANGE_SUPPORT] = "NoRangeSupport",
        [AGENT_FAILURE_ARTIFACT_TOO_LARGE] = "ArtifactTooLarge",
        [AGENT_FAILURE_ARTIFACT_NOT_FOUND] = "ArtifactNotFound",
        [AGENT_FAILURE_ARTIFACT_AMBIGUOUS] = "ArtifactAmbiguous",
        [AGENT_FAILURE_HASH_MISMATCH] = "HashMismatch",
        [AGENT_FAILURE_ARTIFACT_CHANGED] = "ArtifactChanged",
        [AGENT_FAILURE_NETWORK] = "NetworkError",
        [AGENT_FAILURE_NO_SPACE] = "NoSpace",
        [AGENT_FAILURE_HOOK] = "HookFailed",
        [AGENT_FAILURE_UPDATED_UNAVAILABLE] = "UpdatedUnavailable",
        [AGENT_FAILURE_INSTALL] = "InstallFailed",
        [AGENT_FAILURE_LOCAL] = "LocalError",
        [AGENT_FAILURE_FELL_BACK] = "FellBack",
        [AGENT_FAILURE_SLOT_BAD] = "SlotMarkedBad",
        [AGENT_FAILURE_SLOT_REPLACED] = "SlotReplaced",
        [AGENT_FAILURE_NOT_PRIMARY] = "SlotNotPrimary",
        [AGENT_FAILURE_INSTALL_INTERRUPTED] = "InstallInterrupted",
};

const char *agent_failure_to_string(AgentFailure f) {
        return f >= 0 && f < _AGENT_FAILURE_MAX ? failure_names[f] : NULL;
}

AgentFailure agent_failure_from_string(const char *s) {
        for (int i = 0; s && i < _AGENT_FAILURE_MAX; i++)
                if (streq(failure_names[i], s))
                        return (AgentFailure) i;
        return _AGENT_FAILURE_INVALID;
}

/* error_kind_from_dbus_name() says Failed for a name that is not updated's: check it is. */
static ErrorKind updated_kind(const char *name) {
        ErrorKind k = error_kind_from_dbus_name(name);

        return streq_ptr(error_kind_to_dbus_name(k), name) ? k : ERROR_NONE;
}

const char *agent_failure_name_of_install(const char *error_name, const char *message) {
        char buf[128];
        ErrorKind k = ERROR_NONE;

        if (error_name)
                k = updated_kind(error_name);
        else if (message) {
                size_t n = strcspn(message, ":");

                if (message[n] == ':' && n < sizeof(buf)) {
                        memcpy(buf, message, n);
                        buf[n] = 0;
                        k = updated_kind(buf);
                }
        }
        if (k > ERROR_NONE && k < _ERROR_KIND_MAX)
                return error_kind_to_string(k);
        return agent_failure_to_string(AGENT_FAILURE_INSTALL);
}

int agent_failure_name_valid(const char *s) {
        if (agent_failure_from_string(s) >= 0)
                return 1;
        for (int k = ERROR_NONE + 1; s && k < _ERROR_KIND_MAX; k++)
                if (streq(error_kind_to_string((ErrorKind) k), s))
                        return 1;
        return 0;
}
