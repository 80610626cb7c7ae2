/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "update-agent-config.h"
#include "ranged-frame.h"
#include "update-agent-download.h"

/* A bundle served to updated in pieces (InstallFd with "ranged", docs/agent.md "Delta installs
 * through the agent"): updated asks for byte ranges over a socket pair, and each is fetched
 * with an HTTP Range request through the download machinery (update-agent-download.c), so a
 * format-2 bundle installs as a delta and only the missing chunks cross the network.  The agent
 * remains the only part that talks to servers.  The protocol is lib/ranged-frame.h's. */

/* What the probe asks for: the bundle header (docs/bundle-format.md). */
#define RANGED_PROBE_BYTES 32

/* Whether to serve this artifact in pieces: 1 when the server answers a Range request for its
 * first RANGED_PROBE_BYTES with 206 and "bytes 0-31/<size>" and they are an Update1 bundle
 * header of format 2 or later (the format updated can install as a delta; a format-1 bundle
 * streams and keeps its whole-artifact digest check).  Else 0, never an error: anything
 * unexpected (no Range support, a 403, no answer) means the stream path, which has all the
 * retry logic.  Redirects follow the agent's policy; at most request-timeout= long. */
int ranged_probe(const AgentConfig *c, const char *url, uint64_t size);

/* DownloadSpec.serve: answers updated's requests on download_fd() until updated closes the
 * socket, or a cancel comes between requests (DOWNLOAD_OK: the install is over, its result
 * comes over D-Bus; a cancel during a fetch is DOWNLOAD_CANCELLED).  A piece that cannot
 * be fetched is answered with status EIO (updated fails the install with Io by name) and ends
 * the download with its reason; a request that breaks the protocol ends it too. */
DownloadResult ranged_serve(Download *d, void *userdata);
