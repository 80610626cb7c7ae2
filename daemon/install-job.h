/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What install.c (the state machine: phase 1, the thread, the main-loop callbacks) and
 * install-write.c (phase 2's write stage: the slot writer, install-same) share about one
 * install.  Private to those two files. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle.h"
#include "install.h"
#include "manager.h"
#include "manifest.h"
#include "source-http.h"
#include "source-ranged.h"

struct InstallJob {
        Manager *manager;
        JobReply reply;            /* main thread: the Install/InstallFd call until answered */
        char *source;
        int fd;                    /* owned stream, or -EBADF when http is set */
        SourceHttp *http;
        SourceRanged *ranged;      /* or pieces served by the caller */
        int stream_fd;             /* what the reader reads: fd or the feeder pipe (-EBADF: http) */
        bool force;
        char *transaction_id;
        uint8_t manifest_sha256[32];
        bool require_manifest_hash;
        uid_t uid;

        int cancel_fd;             /* eventfd: the reader's blocking reads watch it */
        atomic_bool cancel;
        bool sync;                 /* install_sync(): the caller's thread, no bus, no progress */

        pthread_t thread;
        ManagerCall prepared_call;
        ManagerCall finished_call;

        /* Written by the thread before it posts finished_call. */
        int result;
        UError error;
        char *summary;

        /* Thread-private. */
        BundleReader *reader;
        int targets[MANIFEST_MAX_IMAGES];
        size_t n_targets;
        const char *bootname;
        int root;                  /* slot index of the target boot group's root */
        bool status_touched;
        uint64_t total_bytes, written_bytes;
        uint32_t write_first;     /* the percent writing starts at: 1, or after a plain bundle's pass */
        uint32_t last_percent;
        char last_phase[128];
};

const char *install_target_name(const InstallJob *j, size_t i);
void install_post_progress(InstallJob *j, uint32_t percent, const char *phase);
uint32_t install_write_percent(const InstallJob *j);
int install_check_cancel(InstallJob *j, UError *err);

/* install-write.c */
int install_write_images(InstallJob *j, UError *err);
bool install_targets_hold_images(InstallJob *j);
int install_skip_images(InstallJob *j, UError *err);
