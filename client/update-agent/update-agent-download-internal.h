/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What update-agent-download.c (the thread, its retry policy, the digest) and
 * update-agent-download-transfer.c (one HTTP request) share: the Download itself. */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <pthread.h>

#include "macro.h"
#include "update-agent-download.h"
#include "update-agent-failure.h"

struct Download {
        AgentConfig const *config;
        char *url;
        uint64_t size;
        char sha256[65], sha1[41];
        int fd;
        bool to_file;
        DownloadRefreshFn refresh_url;
        void *userdata;
        DownloadResult (*serve)(Download *d, void *serve_userdata);
        void *serve_userdata;
        uint8_t *range_buf;       /* ranged mode: the piece [range_start, range_end) being fetched */
        uint64_t range_start, range_end;

        pthread_t thread;
        bool thread_started;
        int cancel_efd;
        int done_efd;
        atomic_bool cancel;
        atomic_bool finished;
        DownloadResult result;
        char error[512];
        AgentFailure failure;     /* error[]'s name */

        /* statistics, read by the main thread */
        _Atomic uint64_t delivered, received, skipped, resumed_from;
        _Atomic unsigned connections, resumes;

        /* thread-private */
        EVP_MD_CTX *md;           /* over the artifact bytes accepted so far */
        const EVP_MD *md_type;
        uint64_t accepted;        /* bytes hashed: delivered + held */
        uint8_t hold[DOWNLOAD_HOLDBACK];
        size_t held;
        uint64_t retry_after_usec;  /* the last answer's Retry-After, 0 if none */
};

/* Where the bytes wanted now end: the artifact's end, or in ranged mode the piece's. */
static inline uint64_t want_end(const Download *d) {
        return d->serve ? d->range_end : d->size;
}

typedef enum DownloadOutcome {
        OUT_DONE,         /* all bytes in */
        OUT_RETRY,        /* transient (no answer, a cut, 408/429/5xx): back off and resume, forever */
        OUT_REFUSED,      /* an answer that is evidence against us (a wrong 206): counted */
        OUT_REFRESH,      /* 403: fresh URL, then resume; counted */
        OUT_FATAL,
        OUT_CANCELLED,
        OUT_RESTART,
        OUT_SINK_CLOSED,
} DownloadOutcome;

/* One request (following redirects by our policy) from d->accepted on: its bytes hashed and
 * written to the sink (or the ranged piece), and what the retry policy should do next. */
DownloadOutcome download_transfer(Download *d);

/* Writes all of buf to the sink; for a pipe, waits for room but wakes up on cancel.
 * Returns 0, -EPIPE (reader gone), -ECANCELED or another negative errno. */
int download_sink_write(Download *d, const uint8_t *buf, size_t n);

/* Sets the reason the download ends with, and its name. */
void download_failv(Download *d, AgentFailure f, const char *fmt, va_list ap) _printf_(3, 0);

/* A failure of the transfer: the network's or the server's. */
static inline _printf_(2, 3) void set_error(Download *d, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        download_failv(d, AGENT_FAILURE_NETWORK, fmt, ap);
        va_end(ap);
}

/* A failure with a name of its own: the digest, the artifact's absence, our own files. */
static inline _printf_(3, 4) void set_failure(Download *d, AgentFailure f, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        download_failv(d, f, fmt, ap);
        va_end(ap);
}
