/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "error.h"
#include "manager.h"
#include "source-http.h"

/* One install, whatever the source: a stream fd (opened path, client fd) or an HTTP download. */
typedef struct InstallRequest {
        const char *source;          /* for logs and messages: the path, URL, or "fd" */
        int fd;                      /* the bundle stream; -EBADF when http is set */
        SourceHttp *http;            /* an http(s) download, or NULL */
        bool force;                  /* reinstall the version the booted slot runs */
        const char *transaction_id;  /* may be NULL */
        uid_t uid;                   /* the caller, for logs */
} InstallRequest;

/* Starts the install thread.  On success takes req->fd and req->http (setting them to
 * -EBADF/NULL) and a reference to 'call', which gets its reply once the manifest is verified
 * and the targets are chosen (or the error if that fails); progress, Operation and Completed
 * follow on the bus.  Fails with ERROR_BUSY if an install runs. */
int install_start(Manager *m, sd_bus_message *call, InstallRequest *req, UError *err);

/* Both phases in the caller's thread, without the bus and without progress: for the model
 * test (tests/model/), which drives the real state machine in-process.  'fd' is borrowed. */
int install_sync(Manager *m, int fd, bool force, UError *err);

/* Asks the running install to stop; -ESRCH if none runs. */
int install_cancel(Manager *m);
