/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"
#include "job.h"
#include "manager.h"

/* At most this many InspectBundle calls run at once; more get ERROR_BUSY. */
#define INSPECT_MAX_CONCURRENT 4
/* A stream that does not deliver its signature within this time is given up on. */
#define INSPECT_TIMEOUT_SEC 120

/* Verifies the bundle on 'fd' (taken on success) in a worker thread and answers through 'reply'
 * (job.h, taken on success) with the manifest JSON (without chunk tables) plus "signer".
 * Nothing is written anywhere. */
int inspect_start(Manager *m, int fd, JobReply reply, UError *err);
/* Stops every running inspection (shutdown); their calls get ERROR_CANCELLED. */
void inspect_cancel_all(Manager *m);
