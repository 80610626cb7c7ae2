/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>

/* Why an action failed, for the refusals the agent makes itself (before updated is asked, or
 * without it) and for its verdicts after the install (the reboot, the boot, the hooks).  One string table serves the log, the action record ("failure") and what the
 * server is told: a failed action's report starts with "<Name>: ", so that a fleet operator
 * can group failures by their first word (docs/agent.md, "Failure names").  When updated
 * refused or failed the install with one of its named errors, the name is updated's
 * (InvalidBundle, SignatureInvalid, ...) and not one of these. */
typedef enum AgentFailure {
        AGENT_FAILURE_BAD_DEPLOYMENT,      /* no size, no link, a malformed digest, no file (first:
                                            * a refused SourceAction's default) */
        AGENT_FAILURE_NO_RANGE_SUPPORT,    /* a bundle updated reads at offsets, a server without Range */
        AGENT_FAILURE_ARTIFACT_TOO_LARGE,  /* over max-bundle-size= */
        AGENT_FAILURE_ARTIFACT_NOT_FOUND,  /* no artifact matches artifact=, or 404/410 on its link */
        AGENT_FAILURE_ARTIFACT_AMBIGUOUS,  /* several artifacts match the same artifact= pattern */
        AGENT_FAILURE_HASH_MISMATCH,       /* the downloaded bytes are not the sha256/sha1 given */
        AGENT_FAILURE_ARTIFACT_CHANGED,    /* the content changed under every resume */
        AGENT_FAILURE_NETWORK,             /* the download failed for good: HTTP, TLS, the server */
        AGENT_FAILURE_NO_SPACE,            /* the state directory cannot hold the bundle */
        AGENT_FAILURE_HOOK,                /* a version, download, install, restart or ready hook failed */
        AGENT_FAILURE_UPDATED_UNAVAILABLE, /* updated was not on the bus, install-attempts= times */
        AGENT_FAILURE_INSTALL,             /* updated failed the install without a name of its own */
        AGENT_FAILURE_LOCAL,               /* the agent's own files or memory */
        AGENT_FAILURE_FELL_BACK,           /* the boot into the new slot fell back to the old one */
        AGENT_FAILURE_SLOT_BAD,            /* the new slot was marked bad (or failed) before it ran */
        AGENT_FAILURE_SLOT_REPLACED,       /* another installation overwrote the new slot */
        AGENT_FAILURE_NOT_PRIMARY,         /* the new slot is no longer the one to boot, unbooted */
        AGENT_FAILURE_INSTALL_INTERRUPTED, /* the agent stopped during InstallFd, max-install-attempts= times */
        _AGENT_FAILURE_MAX,
        _AGENT_FAILURE_INVALID = -EINVAL,
} AgentFailure;

const char *agent_failure_to_string(AgentFailure f);
AgentFailure agent_failure_from_string(const char *s);

/* The name of a failed install: updated's short name ("InvalidBundle") for one of its D-Bus
 * errors, else the agent's InstallFailed.  error_name: the call's D-Bus error, or NULL; message:
 * Completed's "<D-Bus name>: <sentence>" (or the call's), or NULL. */
const char *agent_failure_name_of_install(const char *error_name, const char *message);

/* A record's failure name: one of ours or one of updated's; anything else is not a name. */
int agent_failure_name_valid(const char *s);
