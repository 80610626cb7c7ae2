/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"
#include "job.h"
#include "manager.h"
#include "source-http.h"

/* At most this many InspectBundle calls run at once; more get ERROR_BUSY. */
#define INSPECT_MAX_CONCURRENT 4
/* A stream that does not deliver its signature within this time is given up on. */
#define INSPECT_TIMEOUT_SEC 120

/* Verifies the bundle on 'fd', or of the http(s) source 'http' (fd -EBADF; a RAUC bundle is read
 * with Range requests: the signature, the manifest, a verity bundle's hash tree, not its
 * images), in a worker thread and answers through 'reply' (job.h) with the manifest JSON
 * (without chunk tables) plus "signer" and "manifest-hash".  fd, http and reply are taken on
 * success.  Nothing is written anywhere. */
int inspect_start(Manager *m, int fd, SourceHttp *http, JobReply reply, UError *err);
/* Stops every running inspection (shutdown); their calls get ERROR_CANCELLED. */
void inspect_cancel_all(Manager *m);
