/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "error.h"

/* How long the child that opens a path may take (a hung network file system must not stall the
 * main loop for longer). */
#define OPEN_AS_TIMEOUT_MSEC 5000

/* Opens 'path' with 'flags' (O_CLOEXEC is added) with the rights of user 'uid' — its primary
 * and supplementary groups from the user database, as authorize() sees them — in a short-lived
 * child process that passes the descriptor back over a socket pair.  The daemon runs as root; a
 * caller in group update who installs "by path" must not read through it a file it could not
 * read itself (a confused deputy), and the error it gets is the one its own open() would give
 * (no probing beyond what it can already see).
 * Errors: ERROR_ACCESS_DENIED (EACCES, EPERM), ERROR_INVALID_ARGS (any other open() error, e.g.
 * ENOENT), ERROR_FAILED (the user is unknown, the child could not run or took too long). */
int open_as_user(const char *path, int flags, uid_t uid, int *ret_fd, UError *err);
