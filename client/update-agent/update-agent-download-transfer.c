/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "log.h"
#include "macro.h"
#include "update-agent-download-internal.h"
#include "update-agent-http.h"
#include "util.h"

/* One HTTP request of a download, from the byte the download has reached: the request (Range,
 * the agent's TLS, speed and redirect policy), its headers judged (a 206 must be the range
 * asked for; a 200 to a Range request restarts a file, or has its re-sent prefix compared and
 * skipped), its body hashed and handed to the sink, and what the answer means for the retry
 * policy in update-agent-download.c (DownloadOutcome). */

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

void download_failv(Download *d, AgentFailure f, const char *fmt, va_list ap) {
        vsnprintf(d->error, sizeof(d->error), fmt, ap);
        d->failure = f;
}

int download_sink_write(Download *d, const uint8_t *buf, size_t n) {
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

                r = download_sink_write(d, buf, now);
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

DownloadOutcome download_transfer(Download *d) {
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
                DownloadOutcome o;
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
