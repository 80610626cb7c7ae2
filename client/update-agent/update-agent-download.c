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

#include <curl/curl.h>
#include <openssl/evp.h>

#include "log.h"
#include "macro.h"
#include "update-agent-download.h"
#include "update-agent-http.h"
#include "util.h"

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

/* Per-request state of one transfer. */
typedef struct Transfer {
        Download *d;
        HttpHeaders h;
        bool headers_done;
        bool range_ok;            /* 206 with the Content-Range we asked for */
        uint64_t offset;          /* where this request started */
        uint64_t skip;            /* 200 to a Range request: bytes to compare and drop */
        EVP_MD_CTX *skip_md;
        uint8_t prefix[EVP_MAX_MD_SIZE];
        unsigned prefix_len;
        bool changed;             /* prefix mismatch */
        bool sink_closed;
        bool too_long;
        uint64_t got;             /* body bytes of this request */
} Transfer;

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static int close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -EBADF;
}

static void set_errorv(Download *d, AgentFailure f, const char *fmt, va_list ap) _printf_(3, 0);
static void set_errorv(Download *d, AgentFailure f, const char *fmt, va_list ap) {
        vsnprintf(d->error, sizeof(d->error), fmt, ap);
        d->failure = f;
}

/* A failure of the transfer: the network's or the server's. */
static void set_error(Download *d, const char *fmt, ...) _printf_(2, 3);
static void set_error(Download *d, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        set_errorv(d, AGENT_FAILURE_NETWORK, fmt, ap);
        va_end(ap);
}

/* A failure with a name of its own: the digest, the artifact's absence, our own files. */
static void set_failure(Download *d, AgentFailure f, const char *fmt, ...) _printf_(3, 4);
static void set_failure(Download *d, AgentFailure f, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        set_errorv(d, f, fmt, ap);
        va_end(ap);
}

/* Where the bytes wanted now end: the artifact's end, or in ranged mode the piece's. */
static uint64_t want_end(const Download *d) {
        return d->serve ? d->range_end : d->size;
}

/* Writes all of buf to the sink; for a pipe, waits for room but wakes up on cancel.
 * Returns 0, -EPIPE (reader gone), -ECANCELED or another negative errno. */
static int sink_write(Download *d, const uint8_t *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(d->fd, buf, n);

                if (k > 0) {
                        buf += k;
                        n -= (size_t) k;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        struct pollfd p[2] = { { .fd = d->fd, .events = POLLOUT }, { .fd = d->cancel_efd, .events = POLLIN } };

                        if (poll(p, 2, -1) < 0 && errno != EINTR)
                                return -errno;
                        if (atomic_load(&d->cancel))
                                return -ECANCELED;
                        if (p[0].revents & (POLLERR | POLLHUP))
                                return -EPIPE;
                        continue;
                }
                return k < 0 ? -errno : -EIO;
        }
        return 0;
}

/* Accept artifact bytes (hashed, then delivered; the last DOWNLOAD_HOLDBACK bytes of a stream
 * are held back until the digest is known). */
static int accept_bytes(Download *d, const uint8_t *buf, size_t n) {
        uint64_t hold_from = d->to_file ? d->size : d->size - MIN(d->size, (uint64_t) DOWNLOAD_HOLDBACK);
        int r;

        if (d->serve) {
                memcpy(d->range_buf + (d->accepted - d->range_start), buf, n);
                d->accepted += n;
                atomic_fetch_add(&d->delivered, n);
                return 0;
        }
        if (EVP_DigestUpdate(d->md, buf, n) != 1)
                return -EIO;
        if (d->accepted < hold_from) {
                size_t now = (size_t) MIN((uint64_t) n, hold_from - d->accepted);

                r = sink_write(d, buf, now);
                if (r < 0)
                        return r;
                d->accepted += now;
                atomic_fetch_add(&d->delivered, now);
                buf += now;
                n -= now;
        }
        if (n > 0) {
                memcpy(d->hold + d->held, buf, n);
                d->held += n;
                d->accepted += n;
        }
        return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        Download *d = t->d;
        size_t n = size * nmemb, left = n;
        const uint8_t *p = (const uint8_t *) ptr;
        int r;

        if (atomic_load(&d->cancel))
                return 0;
        /* Bodies of redirects and errors are not the artifact. */
        if (!t->headers_done || (t->h.status != 200 && t->h.status != 206))
                return n;
        atomic_fetch_add(&d->received, n);
        t->got += n;

        if (t->skip > 0) {
                size_t k = (size_t) MIN((uint64_t) left, t->skip);

                if (EVP_DigestUpdate(t->skip_md, p, k) != 1)
                        return 0;
                t->skip -= k;
                p += k;
                left -= k;
                atomic_fetch_add(&d->skipped, k);
                if (t->skip == 0) {
                        uint8_t md[EVP_MAX_MD_SIZE];
                        unsigned len = 0;

                        if (EVP_DigestFinal_ex(t->skip_md, md, &len) != 1 || len != t->prefix_len ||
                            memcmp(md, t->prefix, len) != 0) {
                                t->changed = true;
                                return 0;
                        }
                        log_info("The server ignored our Range request; the first %" PRIu64
                                 " bytes it re-sent are identical to what was streamed: continuing",
                                 d->accepted);
                }
                if (left == 0)
                        return n;
        }
        if (left > want_end(d) - d->accepted) {
                t->too_long = true;
                return 0;
        }
        r = accept_bytes(d, p, left);
        if (r == -EPIPE) {
                t->sink_closed = true;
                return 0;
        }
        if (r < 0)
                return 0;
        return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        Download *d = t->d;
        size_t n = size * nitems;

        t->headers_done = http_headers_feed(&t->h, buf, n);
        if (!t->headers_done)
                return n;

        /* End of the headers: decide what the body is.  A 206 must start at our offset, name
         * the artifact's size and, in ranged mode, end where the piece ends. */
        if (t->h.status == 206) {
                if (!http_content_range_is(t->h.content_range, t->offset, d->serve ? d->range_end - 1 : UINT64_MAX,
                                           d->size)) {
                        set_error(d, "206 with Content-Range '%s' for a request from byte %" PRIu64 " of %" PRIu64,
                                  t->h.content_range, t->offset, d->size);
                        return 0;
                }
                t->range_ok = true;
                /* A resume continues after bytes this fetch already has; the first 206 of each
                 * ranged piece is the plain answer to its request. */
                if (t->offset > (d->serve ? d->range_start : 0))
                        atomic_fetch_add(&d->resumes, 1);
        } else if (t->h.status == 200 && d->serve) {
                set_error(d, "HTTP 200 (the whole artifact) to a Range request for bytes %" PRIu64 "-%" PRIu64, t->offset,
                          d->range_end - 1);
                return 0;
        } else if (t->h.status == 200 && t->offset > 0) {
                if (d->to_file) {
                        /* Nothing was consumed yet: start the file over. */
                        log_info("The server ignored our Range request (200): downloading again from byte 0");
                        if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0 ||
                            EVP_DigestInit_ex(d->md, d->md_type, NULL) != 1) {
                                set_failure(d, AGENT_FAILURE_LOCAL, "cannot restart the download file: %s", strerror(errno));
                                return 0;
                        }
                        atomic_store(&d->delivered, 0);
                        d->accepted = 0;
                        d->held = 0;
                        t->offset = 0;
                } else {
                        EVP_MD_CTX *copy = EVP_MD_CTX_new();

                        if (!copy || EVP_MD_CTX_copy_ex(copy, d->md) != 1 ||
                            EVP_DigestFinal_ex(copy, t->prefix, &t->prefix_len) != 1) {
                                EVP_MD_CTX_free(copy);
                                return 0;
                        }
                        EVP_MD_CTX_free(copy);
                        t->skip_md = EVP_MD_CTX_new();
                        if (!t->skip_md || EVP_DigestInit_ex(t->skip_md, d->md_type, NULL) != 1)
                                return 0;
                        t->skip = t->offset;
                }
        }
        return n;
}

static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        Transfer *t = userdata;

        return atomic_load(&t->d->cancel) ? 1 : 0;
}

typedef enum Outcome {
        OUT_DONE,         /* all bytes in */
        OUT_RETRY,        /* transient (no answer, a cut, 408/429/5xx): back off and resume, forever */
        OUT_REFUSED,      /* an answer that is evidence against us (a wrong 206): counted */
        OUT_REFRESH,      /* 403: fresh URL, then resume; counted */
        OUT_FATAL,
        OUT_CANCELLED,
        OUT_RESTART,
        OUT_SINK_CLOSED,
} Outcome;

/* One request (following redirects by our policy) from d->accepted on. */
static Outcome transfer(Download *d) {
        _cleanup_free_ char *cur = strdup(d->url);

        if (!cur) {
                set_failure(d, AGENT_FAILURE_LOCAL, "out of memory");
                return OUT_FATAL;
        }
        for (unsigned hop = 0;; hop++) {
                _cleanup_(curl_easy_cleanupp) CURL *h = curl_easy_init();
                _cleanup_(curl_slist_free_allp) struct curl_slist *hdr = NULL;
                char range[64], errbuf[CURL_ERROR_SIZE] = "";
                const char *extra[] = { "Accept: application/octet-stream", d->accepted > 0 || d->serve ? range : NULL, NULL };
                Transfer t = { .d = d, .offset = d->accepted };
                const AgentConfig *c = d->config;
                Outcome o;
                CURLcode cc;
                bool ok = true;

                /* The held-back tail is not "delivered": resume after what was hashed. */
                if (d->serve)
                        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, d->accepted, d->range_end - 1);
                else
                        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", d->accepted);
                if (!h || http_setup(h, c, cur, extra, &hdr) < 0) {
                        set_error(d, "cannot set up a request to %s", cur);
                        return OUT_FATAL;
                }
                ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, &t) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, &t) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL) == CURLE_OK;
                if (c->low_speed_limit > 0) {
                        ok &= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long) c->low_speed_limit) == CURLE_OK;
                        ok &= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long) c->low_speed_time_sec) == CURLE_OK;
                }
                if (c->max_speed > 0)
                        ok &= curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) c->max_speed) == CURLE_OK;
                if (!ok) {
                        set_error(d, "cannot set up a request to %s", cur);
                        return OUT_FATAL;
                }

                atomic_fetch_add(&d->connections, 1);
                d->error[0] = 0;
                d->retry_after_usec = 0;
                cc = curl_easy_perform(h);
                if (t.h.has_retry_after)
                        d->retry_after_usec = t.h.retry_after_sec * USEC_PER_SEC;
                EVP_MD_CTX_free(t.skip_md);

                if (atomic_load(&d->cancel))
                        return OUT_CANCELLED;
                if (t.changed) {
                        set_failure(d, AGENT_FAILURE_ARTIFACT_CHANGED,
                                    "the server ignored a Range request and sent different content: the artifact changed");
                        return OUT_RESTART;
                }
                if (t.sink_closed) {
                        set_error(d, "the installer closed the stream");
                        return OUT_SINK_CLOSED;
                }
                if (t.too_long) {
                        set_error(d, "the server sent more than the artifact's %" PRIu64 " bytes", d->size);
                        return OUT_FATAL;
                }
                if (t.h.status >= 300 && t.h.status < 400) {
                        _cleanup_free_ char *next = NULL;

                        if (hop >= HTTP_MAX_REDIRECTS) {
                                set_error(d, "more than %d redirects from %s", HTTP_MAX_REDIRECTS, d->url);
                                return OUT_FATAL;
                        }
                        if (http_redirect_target(c, h, cur, &next, d->error, sizeof(d->error)) < 0)
                                return OUT_FATAL;
                        free(cur);
                        cur = TAKE_PTR(next);
                        continue;
                }
                if (t.h.status == 416 && d->accepted == d->size)
                        return OUT_DONE;
                if (t.h.status == 403) {
                        set_error(d, "HTTP 403 from %s (expired link?)", cur);
                        return OUT_REFRESH;
                }
                if (t.h.status == 408 || t.h.status == 429 || t.h.status >= 500) {
                        set_error(d, "HTTP %ld from %s", t.h.status, cur);
                        return OUT_RETRY;
                }
                if (t.h.status == 404 || t.h.status == 410) {
                        set_failure(d, AGENT_FAILURE_ARTIFACT_NOT_FOUND, "HTTP %ld from %s", t.h.status, cur);
                        return OUT_FATAL;
                }
                if (t.h.status >= 400) {
                        set_error(d, "HTTP %ld from %s", t.h.status, cur);
                        return OUT_FATAL;
                }
                if (cc != CURLE_OK) {
                        if (d->error[0])    /* our header check refused the response */
                                return OUT_REFUSED;
                        set_error(d, "transfer from %s interrupted after %" PRIu64 " bytes: %s", cur, t.got,
                                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
                        o = cc == CURLE_SSL_CACERT || cc == CURLE_PEER_FAILED_VERIFICATION ||
                                            cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_UNSUPPORTED_PROTOCOL
                                    ? OUT_FATAL
                                    : OUT_RETRY;
                        return o;
                }
                if (t.h.status != 200 && t.h.status != 206) {
                        set_error(d, "unexpected HTTP %ld from %s", t.h.status, cur);
                        return OUT_FATAL;
                }
                if (t.skip > 0) {
                        set_error(d, "the response ended within the re-sent prefix");
                        return OUT_RETRY;
                }
                if (d->accepted < want_end(d)) {
                        set_error(d, "the response from %s ended after %" PRIu64 " of %" PRIu64 " bytes", cur,
                                  d->accepted, d->size);
                        return OUT_RETRY;
                }
                return OUT_DONE;
        }
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
        r = sink_write(d, d->hold, d->held);
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
                Outcome o = d->accepted == want_end(d) ? OUT_DONE : transfer(d);
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
        set_errorv(d, AGENT_FAILURE_NETWORK, fmt, ap);
        va_end(ap);
}
