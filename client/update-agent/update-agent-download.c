/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "macro.h"
#include "update-agent-download-internal.h"
#include "update-agent-http.h"
#include "util.h"

/* The download's thread and what decides across requests: resume or give up (backoff, 403s and
 * fresh links, evidence counted), the digest of what is already on disk, and the release of
 * the held-back tail once the digest matched.  Each request: update-agent-download-transfer.c. */

static int close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -EBADF;
}

static uint64_t backoff_cap(const Download *d, unsigned attempt) {
        uint64_t cap = d->config->retry_base_usec;

        for (unsigned i = 0; i < attempt && cap < d->config->retry_max_usec; i++)
                cap *= 2;
        return MIN(cap, d->config->retry_max_usec);
}

/* Waits usec, waking up on cancel.  False if cancelled. */
static bool pause_for(Download *d, uint64_t usec) {
        struct pollfd p = { .fd = d->cancel_efd, .events = POLLIN };

        (void) poll(&p, 1, (int) MIN(usec / USEC_PER_MSEC, (uint64_t) INT32_MAX));
        return !atomic_load(&d->cancel);
}

/* After a transient failure: the server's Retry-After when it sent one (bounded by
 * HTTP_RETRY_AFTER_MAX_SEC), else full jitter, random(0, min(max, base * 2^attempt)).  False
 * if cancelled while waiting. */
static bool backoff(Download *d, unsigned attempt) {
        uint64_t w;

        if (d->retry_after_usec > 0) {
                w = d->retry_after_usec;
                log_info("Download: %s; the server asks to retry in %" PRIu64 " s (Retry-After)", d->error,
                         w / USEC_PER_SEC);
        } else {
                w = random_below(backoff_cap(d, attempt) + 1);
                log_info("Download: %s; retrying in %" PRIu64 " ms (attempt %u without progress)", d->error,
                         w / USEC_PER_MSEC, attempt + 1);
        }
        return pause_for(d, w);
}

/* File mode: hash what is already on disk and continue after it. */
static int seed_from_file(Download *d) {
        uint8_t buf[65536];
        struct stat st;
        uint64_t left;

        if (fstat(d->fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > d->size) {
                log_notice("The partial download is larger than the artifact: starting over");
                if (ftruncate(d->fd, 0) < 0)
                        return -errno;
                st.st_size = 0;
        }
        if (lseek(d->fd, 0, SEEK_SET) < 0)
                return -errno;
        for (left = (uint64_t) st.st_size; left > 0;) {
                ssize_t k = read(d->fd, buf, (size_t) MIN(left, sizeof(buf)));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                if (EVP_DigestUpdate(d->md, buf, (size_t) k) != 1)
                        return -EIO;
                left -= (uint64_t) k;
        }
        d->accepted = (uint64_t) st.st_size;
        atomic_store(&d->delivered, d->accepted);
        atomic_store(&d->resumed_from, d->accepted);
        if (d->accepted > 0)
                log_info("Resuming the download at byte %" PRIu64 " of %" PRIu64 " (kept from an earlier run)",
                         d->accepted, d->size);
        return 0;
}

static DownloadResult verify_and_release(Download *d) {
        uint8_t md[EVP_MAX_MD_SIZE];
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        const char *want = d->sha256[0] ? d->sha256 : d->sha1;
        unsigned len = 0;
        int r;

        if (EVP_DigestFinal_ex(d->md, md, &len) != 1) {
                set_failure(d, AGENT_FAILURE_LOCAL, "cannot compute the digest");
                return DOWNLOAD_FAILED;
        }
        hex_encode(md, len, hex);
        if (want[0] && !streq(hex, want)) {
                set_failure(d, AGENT_FAILURE_HASH_MISMATCH, "%s mismatch: the artifact has %s, the deployment says %s",
                            d->sha256[0] ? "sha256" : "sha1", hex, want);
                return DOWNLOAD_FAILED;
        }
        if (!want[0])
                log_warning("The deployment gives no sha256 or sha1: relying on the bundle signature alone");
        r = download_sink_write(d, d->hold, d->held);
        if (r == -EPIPE) {
                set_error(d, "the installer closed the stream");
                return DOWNLOAD_SINK_CLOSED;
        }
        if (r < 0) {
                set_failure(d, AGENT_FAILURE_LOCAL, "cannot write the download: %s", strerror(-r));
                return r == -ECANCELED ? DOWNLOAD_CANCELLED : DOWNLOAD_FAILED;
        }
        atomic_fetch_add(&d->delivered, d->held);
        d->held = 0;
        if (d->to_file && fsync(d->fd) < 0) {
                set_failure(d, AGENT_FAILURE_LOCAL, "cannot fsync the download: %s", strerror(errno));
                return DOWNLOAD_FAILED;
        }
        return DOWNLOAD_OK;
}

/* The 403 after a refresh: the link the deployment gives now.  Returns 1 if it changed, 0 if it
 * is the same (or the server could not be asked: then this 403 is no evidence and is not
 * counted), -ENOENT if the deployment is gone. */
static int refresh(Download *d, bool *ret_counted) {
        char *u = NULL;
        int r;

        *ret_counted = true;
        if (!d->refresh_url)
                return 0;
        log_info("Download: %s; fetching the deployment again for a fresh link", d->error);
        r = d->refresh_url(d->userdata, &u);
        if (r == -ENOENT || r == -ESTALE)
                return -ENOENT;
        if (r < 0) {
                /* The server is unreachable or busy: nothing learnt about the link. */
                *ret_counted = false;
                return 0;
        }
        if (streq(u, d->url)) {
                free(u);
                return 0;
        }
        free(d->url);
        d->url = u;
        return 1;
}

/* Gives up only on evidence from the server, never because it cannot be reached: a transient
 * failure (no connection, a timeout, a cut, 408/429/5xx) is retried for as long as the
 * deployment stands, with backoff up to retry-max-delay (the main thread still sees cancels).
 * Evidence is counted: retries= answers in a row that refuse us (a 403 each time after the
 * deployment was fetched again, or a 206 for the wrong range).  The waits between 403s are
 * at least half the backoff cap ("equal jitter"), so retries= 403s span a known minimum time
 * (docs/agent.md). */
static DownloadResult run(Download *d) {
        unsigned transient = 0, refused = 0, forbidden = 0;
        uint64_t first_forbidden = 0;
        int r;

        if (d->to_file) {
                r = seed_from_file(d);
                if (r < 0) {
                        set_failure(d, AGENT_FAILURE_LOCAL, "cannot read the partial download: %s", strerror(-r));
                        return DOWNLOAD_FAILED;
                }
                if (lseek(d->fd, 0, SEEK_END) < 0) {
                        set_failure(d, AGENT_FAILURE_LOCAL, "cannot seek in the download file: %s", strerror(errno));
                        return DOWNLOAD_FAILED;
                }
        }
        for (;;) {
                uint64_t before = d->accepted;
                DownloadOutcome o = d->accepted == want_end(d) ? OUT_DONE : download_transfer(d);
                bool progress, counted;

                switch (o) {
                case OUT_DONE:
                        return d->serve ? DOWNLOAD_OK : verify_and_release(d);
                case OUT_CANCELLED:
                        set_error(d, "cancelled");
                        return DOWNLOAD_CANCELLED;
                case OUT_RESTART:
                        return DOWNLOAD_RESTART;
                case OUT_SINK_CLOSED:
                        return DOWNLOAD_SINK_CLOSED;
                case OUT_FATAL:
                        return DOWNLOAD_FAILED;
                case OUT_REFRESH: {
                        char e[sizeof(d->error)];

                        memcpy(e, d->error, sizeof(e));
                        r = refresh(d, &counted);
                        if (r == -ENOENT) {
                                set_error(d, "%s, and the deployment is no longer on the server", e);
                                return DOWNLOAD_FAILED;
                        }
                        if (!counted) {
                                transient++;
                                if (!backoff(d, transient - 1))
                                        goto cancelled;
                                continue;
                        }
                        if (forbidden++ == 0)
                                first_forbidden = now_monotonic_usec();
                        if (forbidden >= MAX(d->config->retries, 1u)) {
                                set_error(d,
                                          "giving up: %u answers in a row were HTTP 403 over %.1f s, each after "
                                          "fetching the deployment again (%s)",
                                          forbidden, (double) (now_monotonic_usec() - first_forbidden) / USEC_PER_SEC, e);
                                return DOWNLOAD_FAILED;
                        }
                        /* A fresh link after the first 403: the common expired pre-signed URL, try
                         * it at once.  Otherwise wait at least half the backoff cap. */
                        if (r == 0 || forbidden > 1) {
                                uint64_t cap = backoff_cap(d, forbidden - 1);
                                uint64_t w = cap / 2 + random_below(cap / 2 + 1);

                                log_info("Download: %s%s; retrying in %" PRIu64 " ms (403 %u of at most %u)", e,
                                         r == 0 ? ", and the deployment gives the same link" : "",
                                         w / USEC_PER_MSEC, forbidden, d->config->retries);
                                if (!pause_for(d, w))
                                        goto cancelled;
                        }
                        continue;
                }
                case OUT_REFUSED:
                case OUT_RETRY:
                        break;
                }
                forbidden = 0;
                progress = d->accepted > before;
                if (o == OUT_REFUSED && !progress && ++refused >= MAX(d->config->retries, 1u)) {
                        char e[sizeof(d->error)];
                        memcpy(e, d->error, sizeof(e));
                        set_error(d, "giving up after %u refused answers in a row: %s", refused, e);
                        return DOWNLOAD_FAILED;
                }
                if (progress) {
                        transient = 0;
                        refused = 0;
                }
                if (!backoff(d, transient++))
                        goto cancelled;
        }
cancelled:
        set_error(d, "cancelled");
        return DOWNLOAD_CANCELLED;
}

static void *thread_main(void *userdata) {
        Download *d = userdata;
        uint64_t one = 1;

        d->result = d->serve ? d->serve(d, d->serve_userdata) : run(d);
        if (!d->to_file)
                d->fd = close_fd(d->fd);
        atomic_store(&d->finished, true);
        if (write(d->done_efd, &one, sizeof(one)) < 0)
                log_debug("eventfd write failed");
        return NULL;
}

static void download_free(Download *d) {
        if (!d)
                return;
        free(d->url);
        close_fd(d->fd);
        close_fd(d->cancel_efd);
        close_fd(d->done_efd);
        EVP_MD_CTX_free(d->md);
        free(d);
}

int download_start(const DownloadSpec *spec, Download **ret) {
        Download *d;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d) {
                close_fd(spec->fd);
                return -ENOMEM;
        }
        d->config = spec->config;
        d->size = spec->size;
        d->fd = spec->fd;
        d->to_file = spec->to_file;
        d->refresh_url = spec->refresh_url;
        d->userdata = spec->userdata;
        d->serve = spec->serve;
        d->serve_userdata = spec->serve_userdata;
        d->cancel_efd = d->done_efd = -EBADF;
        d->failure = AGENT_FAILURE_NETWORK;
        snprintf(d->sha256, sizeof(d->sha256), "%s", spec->sha256 ?: "");
        snprintf(d->sha1, sizeof(d->sha1), "%s", spec->sha1 ?: "");
        d->url = strdup(spec->url);
        d->md_type = d->sha256[0] || !d->sha1[0] ? EVP_sha256() : EVP_sha1();
        d->md = EVP_MD_CTX_new();
        d->cancel_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        d->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!d->url || !d->md || d->cancel_efd < 0 || d->done_efd < 0 ||
            EVP_DigestInit_ex(d->md, d->md_type, NULL) != 1) {
                r = d->url && d->md ? -errno : -ENOMEM;
                download_free(d);
                return r < 0 ? r : -ENOMEM;
        }
        if (d->size == 0) {
                download_free(d);
                return -EINVAL;
        }
        /* A pipe never blocks the thread beyond a cancel: see sink_write(). */
        if (!d->to_file && fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) | O_NONBLOCK) < 0) {
                r = -errno;
                download_free(d);
                return r;
        }
        r = -pthread_create(&d->thread, NULL, thread_main, d);
        if (r < 0) {
                download_free(d);
                return r;
        }
        d->thread_started = true;
        *ret = d;
        return 0;
}

void download_cancel(Download *d) {
        uint64_t one = 1;

        atomic_store(&d->cancel, true);
        if (write(d->cancel_efd, &one, sizeof(one)) < 0)
                log_debug("eventfd write failed");
}

int download_done_fd(const Download *d) {
        return d->done_efd;
}

bool download_finished(const Download *d) {
        return atomic_load(&d->finished);
}

DownloadResult download_finish(Download *d, char **ret_error, AgentFailure *ret_failure) {
        DownloadResult res;

        if (d->thread_started)
                (void) pthread_join(d->thread, NULL);
        res = d->result;
        if (ret_error)
                *ret_error = res == DOWNLOAD_OK ? NULL : strdup(d->error[0] ? d->error : "download failed");
        if (ret_failure)
                *ret_failure = d->failure;
        download_free(d);
        return res;
}

void download_get_stats(const Download *d, DownloadStats *ret) {
        Download *m = (Download *) d;

        *ret = (DownloadStats) {
                .delivered = atomic_load(&m->delivered),
                .received = atomic_load(&m->received),
                .skipped = atomic_load(&m->skipped),
                .resumed_from = atomic_load(&m->resumed_from),
                .connections = atomic_load(&m->connections),
                .resumes = atomic_load(&m->resumes),
        };
}

DownloadResult download_fetch_range(Download *d, uint64_t offset, size_t length, uint8_t *buf) {
        d->range_buf = buf;
        d->range_start = d->accepted = offset;
        d->range_end = offset + length;
        return run(d);
}

int download_fd(const Download *d) { return d->fd; }
uint64_t download_size(const Download *d) { return d->size; }
int download_cancel_fd(const Download *d) { return d->cancel_efd; }

void download_set_error(Download *d, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        download_failv(d, AGENT_FAILURE_NETWORK, fmt, ap);
        va_end(ap);
}
