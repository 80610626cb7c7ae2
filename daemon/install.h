/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "job.h"
#include "manager.h"
#include "source-http.h"
#include "source-ranged.h"

/* One install, whatever the source: a stream fd (opened path, client fd) or an HTTP download. */
typedef struct InstallRequest {
        const char *source;          /* for logs and messages: the path, URL, or "fd" */
        int fd;                      /* the bundle stream; -EBADF when http or ranged is set */
        SourceHttp *http;            /* an http(s) download, or NULL */
        SourceRanged *ranged;        /* pieces served by the caller (InstallFd "ranged"), or NULL */
        bool force;                  /* reinstall the version the booted slot runs */
        const char *transaction_id;  /* may be NULL */
        /* RAUC's require-manifest-hash: SHA-256 of the signed manifest the bundle must have
         * (bundle_reader_manifest_sha256()), 32 bytes, or NULL. */
        const uint8_t *require_manifest_sha256;
        uid_t uid;                   /* the caller, for logs */
        /* Answered (job.h) once the manifest is verified and the targets are chosen, or with the
         * error that ended the install before anything was written. */
        JobReply reply;
} InstallRequest;

/* Starts the install thread.  On success takes req->fd, req->http, req->ranged and req->reply
 * (setting them to -EBADF/NULL/{}).  Progress, Operation, LastError and, at the end, Completed are announced
 * through the manager (manager-state.c, m->notify).  Fails with ERROR_BUSY if an install runs. */
int install_start(Manager *m, InstallRequest *req, UError *err);

/* Both phases in the caller's thread, without the bus and without progress: for the model
 * test (tests/model/), which drives the real state machine in-process.  'fd' is borrowed. */
int install_sync(Manager *m, int fd, bool force, UError *err);
/* The same from a ranged source (InstallFd "ranged", source-ranged.h) on 'sock', a connected
 * AF_UNIX stream socket whose peer serves the bundle: taken, also on failure. */
int install_sync_ranged(Manager *m, int sock, bool force, UError *err);

/* Asks the running install to stop; -ESRCH if none runs. */
int install_cancel(Manager *m);
