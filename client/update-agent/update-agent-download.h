/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "update-agent-config.h"
#include "update-agent-failure.h"

/* The artifact download, in its own thread, into a pipe (streamed to updated's InstallFd) or a
 * file in the state directory:
 *   - resumes a dropped transfer with "Range: bytes=N-", accepting only a 206 whose
 *     Content-Range starts at N and names the artifact's size;
 *   - a 200 to a Range request: to a file, start over from byte 0; to a pipe (the bytes already
 *     went to updated) the first N bytes of the new body are hashed and compared with what was
 *     sent: equal → skip them and carry on; different → the artifact changed, result
 *     DOWNLOAD_RESTART (the caller cancels the install and starts again);
 *   - gives up only on evidence from the server: a transient failure (no connection, a
 *     timeout, a cut, 408/429/5xx) is retried as long as the deployment stands, after the
 *     server's Retry-After or with exponential backoff and full jitter (random(0, min(max,
 *     base * 2^n))); a 403 asks refresh_url() for a fresh link (expired pre-signed URL, or a
 *     stable link in front of one) and is retried with backoff; retries= 403s in a row, each
 *     after a fresh fetch of the deployment, end the download;
 *   - sha256 (else sha1) of the whole artifact is checked before the last bytes are released:
 *     the last DOWNLOAD_HOLDBACK bytes stay here until the digest matched, so updated never
 *     sees a complete bundle whose digest is wrong;
 *   - max-speed= cap, low-speed abort, never more than the advertised size. */

#define DOWNLOAD_HOLDBACK 4096

typedef enum DownloadResult {
        DOWNLOAD_OK = 0,
        DOWNLOAD_FAILED,     /* error[] says why */
        DOWNLOAD_CANCELLED,
        DOWNLOAD_RESTART,    /* stream only: the server's content changed under a resume */
        DOWNLOAD_SINK_CLOSED, /* stream only: updated closed the pipe (its install failed) */
} DownloadResult;

/* Called from the download thread after a 403: a fresh URL (malloc'ed) or a negative errno. */
typedef int (*DownloadRefreshFn)(void *userdata, char **ret_url);

typedef struct Download Download;

typedef struct DownloadSpec {
        const AgentConfig *config;
        const char *url;
        uint64_t size;
        const char *sha256;       /* 64 hex or "" */
        const char *sha1;         /* 40 hex or "" */
        int fd;                   /* taken over: pipe write end, or a file open O_RDWR */
        bool to_file;             /* fd is a file; resume from its current size */
        DownloadRefreshFn refresh_url;
        void *userdata;
        /* Ranged mode: the thread runs serve(d, serve_userdata) instead of the whole download;
         * it fetches the pieces it wants with download_fetch_range() (update-agent-ranged.c
         * serves updated's InstallFd "ranged" socket, the fd).  No digest is checked: nobody
         * sees the whole artifact. */
        DownloadResult (*serve)(Download *d, void *serve_userdata);
        void *serve_userdata;
} DownloadSpec;

/* Starts the thread.  The spec's strings are copied. */
int download_start(const DownloadSpec *spec, Download **ret);

/* Asks the thread to stop (it ends with DOWNLOAD_CANCELLED soon after). */
void download_cancel(Download *d);

/* An fd that becomes readable when the thread has finished (for poll()). */
int download_done_fd(const Download *d);
bool download_finished(const Download *d);

/* Joins the thread and frees everything; returns the result and (if not OK) a copy of the
 * reason in *ret_error and its name in *ret_failure (either may be NULL). */
DownloadResult download_finish(Download *d, char **ret_error, AgentFailure *ret_failure);

typedef struct DownloadStats {
        uint64_t delivered;       /* bytes of the artifact written to the pipe/file (incl. resumed) */
        uint64_t received;        /* bytes received from the network by this run */
        uint64_t skipped;         /* of those: re-sent prefixes discarded after a 200 */
        uint64_t resumed_from;    /* file mode: bytes that were already on disk */
        unsigned connections;     /* HTTP requests made */
        unsigned resumes;         /* 206s that continue after bytes this fetch already had (in
                                   * ranged mode, not the first answer for each piece) */
} DownloadStats;

void download_get_stats(const Download *d, DownloadStats *ret);

/* Ranged mode, from serve() in the download thread: exactly bytes [offset, offset + length) of
 * the artifact into buf, with Range requests and everything above (resume within the range,
 * 403 → a fresh URL, backoff, max-speed, low-speed abort); a 206 whose Content-Range is not
 * that range, or a 200, is refused.  DOWNLOAD_OK, else the reason is the download's error. */
DownloadResult download_fetch_range(Download *d, uint64_t offset, size_t length, uint8_t *buf);
/* For serve(): the spec's fd and size, the cancel eventfd (readable once cancelled), and the
 * reason a serve() gives for its own failure. */
int download_fd(const Download *d);
uint64_t download_size(const Download *d);
int download_cancel_fd(const Download *d);
void download_set_error(Download *d, const char *fmt, ...) _printf_(2, 3);
