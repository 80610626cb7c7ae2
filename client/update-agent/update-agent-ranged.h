/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "update-agent-config.h"
#include "ranged-frame.h"
#include "update-agent-download.h"

/* A bundle served to updated in pieces (InstallFd with "ranged", docs/agent.md "Delta installs
 * through the agent"): updated asks for byte ranges over a socket pair, and each is fetched
 * with an HTTP Range request through the download machinery (update-agent-download.c), so a
 * format-2 bundle installs as a delta and only the missing chunks cross the network, and a
 * RAUC bundle, whose signature is at its end, is read at offsets as updated reads a file.  The
 * agent remains the only part that talks to servers.  The protocol is lib/ranged-frame.h's. */

/* What the probe asks for: the bundle header (docs/bundle-format.md), or a squashfs
 * superblock's first fields. */
#define RANGED_PROBE_BYTES 32

typedef enum RangedKind {
        RANGED_NO,     /* through the pipe */
        RANGED_DELTA,  /* a format-2 Update1 bundle */
        RANGED_RAUC,   /* a RAUC bundle: the only way to stream it */
} RangedKind;

/* How to hand this artifact to updated in stream mode (called with delta=yes only: delta=no is
 * the pipe for every artifact, without a probe).  The server must answer a Range request for the
 * first RANGED_PROBE_BYTES with 206 and "bytes 0-31/<size>" (the deployment's size: every range
 * updated may ask for is then one of this artifact's); then RANGED_RAUC for a squashfs 4.0
 * superblock (a RAUC bundle), RANGED_DELTA for an Update1 bundle header of format 2 or later
 * (a format-1 bundle streams and keeps its whole-artifact digest check).  Otherwise RANGED_NO:
 * anything unexpected (no Range support, a 403, no answer) means the stream path, which has
 * all the retry logic; except that a RAUC bundle seen in an answer that is not the 206 asked
 * for (a 200: no Range support) is -EOPNOTSUPP with *ret_error saying to use mode=disk, since
 * updated would only refuse it from a pipe.  Redirects follow the agent's policy; at most
 * request-timeout= long, and at most RANGED_PROBE_BYTES of any body. */
int ranged_probe(const AgentConfig *c, const char *url, uint64_t size, char **ret_error);

/* DownloadSpec.serve: answers updated's requests on download_fd() until updated closes the
 * socket, or a cancel comes between requests (DOWNLOAD_OK: the install is over, its result
 * comes over D-Bus; a cancel during a fetch is DOWNLOAD_CANCELLED).  A piece that cannot
 * be fetched is answered with status EIO (updated fails the install with Io by name) and ends
 * the download with its reason; a request that breaks the protocol ends it too. */
DownloadResult ranged_serve(Download *d, void *userdata);
