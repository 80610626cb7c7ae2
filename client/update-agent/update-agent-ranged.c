/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "log.h"
#include "macro.h"
#include "update-agent-http.h"
#include "update-agent-ranged.h"
#include "util.h"

/* daemon/source-ranged.h: the daemon's side of the same protocol (no shared header: the
 * agent links no daemon code). */
#define REQUEST_MAGIC UINT32_C(0x51523155) /* "U1RQ" */
#define REPLY_MAGIC UINT32_C(0x50523155)   /* "U1RP" */
#define REQUEST_SIZE 16
#define REPLY_SIZE 32

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

/* ---- the probe ---- */

typedef struct Probe {
        long status;
        bool headers_done;
        char content_range[128];
        uint8_t head[RANGED_PROBE_BYTES];
        size_t got;
} Probe;

static size_t probe_header(char *buf, size_t size, size_t nitems, void *userdata) {
        Probe *p = userdata;
        size_t n = size * nitems;

        if (n >= 5 && strneq(buf, "HTTP/", 5)) {
                const char *sp = memchr(buf, ' ', n);
                p->status = sp ? strtol(sp + 1, NULL, 10) : 0;
                p->headers_done = false;
                p->content_range[0] = 0;
        } else if (n > 14 && strncasecmp(buf, "Content-Range:", 14) == 0) {
                size_t k = n - 14;
                const char *v = buf + 14;

                while (k > 0 && *v == ' ')
                        v++, k--;
                while (k > 0 && (v[k - 1] == '\r' || v[k - 1] == '\n' || v[k - 1] == ' '))
                        k--;
                k = MIN(k, sizeof(p->content_range) - 1);
                memcpy(p->content_range, v, k);
                p->content_range[k] = 0;
        } else if (n <= 2 && (buf[0] == '\r' || buf[0] == '\n') && p->status != 100)
                p->headers_done = true;
        return n;
}

static size_t probe_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Probe *p = userdata;
        size_t n = size * nmemb;

        if (p->status >= 300 && p->status < 400)
                return n;                /* a redirect's body */
        /* Anything but a 206 of at most the bytes asked for is a "no": stop it here rather than
         * take a whole artifact from a server that ignores Range. */
        if (p->status != 206 || n > sizeof(p->head) - p->got)
                return 0;
        memcpy(p->head + p->got, ptr, n);
        p->got += n;
        return n;
}

static bool probe_says_ranged(const Probe *p, uint64_t size) {
        uint64_t a, b, total;
        uint32_t version;
        char tail;

        if (p->status != 206 || p->got != RANGED_PROBE_BYTES ||
            sscanf(p->content_range, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64 "%c", &a, &b, &total, &tail) != 3 ||
            a != 0 || b != RANGED_PROBE_BYTES - 1 || total != size)
                return false;
        memcpy(&version, p->head + 8, sizeof(version));
        return memcmp(p->head, "UPD1BNDL", 8) == 0 && le32toh(version) >= 2;
}

int ranged_probe(const AgentConfig *c, const char *url, uint64_t size) {
        _cleanup_free_ char *cur = strdup(url);

        if (!cur || size < RANGED_PROBE_BYTES)
                return 0;
        for (unsigned hop = 0; hop <= HTTP_MAX_REDIRECTS; hop++) {
                _cleanup_(curl_easy_cleanupp) CURL *h = curl_easy_init();
                _cleanup_(curl_slist_free_allp) struct curl_slist *hdr = NULL;
                char range[64], err[HTTP_ERROR_MAX];
                const char *extra[] = { "Accept: application/octet-stream", range, NULL };
                _cleanup_free_ char *next = NULL;
                Probe p = {};
                bool ok = true;

                snprintf(range, sizeof(range), "Range: bytes=0-%u", RANGED_PROBE_BYTES - 1);
                if (!h || http_setup(h, c, cur, extra, &hdr) < 0)
                        return 0;
                ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, probe_header) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, &p) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_body) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, &p) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) (c->request_timeout_usec / USEC_PER_MSEC)) ==
                      CURLE_OK;
                if (!ok)
                        return 0;
                (void) curl_easy_perform(h);
                if (p.status >= 300 && p.status < 400) {
                        if (http_redirect_target(c, h, cur, &next, err, sizeof(err)) < 0)
                                return 0;
                        free(cur);
                        cur = TAKE_PTR(next);
                        continue;
                }
                if (probe_says_ranged(&p, size))
                        return 1;
                if (p.status == 206)
                        log_info("Streaming the artifact: it is not a format-2 bundle, nothing to gain from byte ranges");
                else if (p.status == 200)
                        log_info("Streaming the artifact: the server does not serve byte ranges");
                else
                        log_info("Streaming the artifact: the Range probe was answered with HTTP %ld", p.status);
                return 0;
        }
        return 0;
}

/* ---- serving updated ---- */

/* Waits for 'events' on the socket; -ECANCELED once the download is cancelled. */
static int wait_sock(Download *d, short events) {
        struct pollfd p[2] = {
                { .fd = download_fd(d), .events = events },
                { .fd = download_cancel_fd(d), .events = POLLIN },
        };

        if (poll(p, 2, -1) < 0 && errno != EINTR)
                return -errno;
        if (p[1].revents & POLLIN)
                return -ECANCELED;
        return 0;
}

/* n bytes; -ECONNRESET when updated closed the socket.  Before the first byte, a closed socket
 * or a cancel is the end of the service (*ret_end, 0): nothing is in flight, and the agent
 * cancels the download once updated's Completed came, which may be before its close. */
static int recv_all(Download *d, uint8_t *buf, size_t n, bool *ret_end) {
        size_t got = 0;

        *ret_end = false;
        while (got < n) {
                ssize_t k = recv(download_fd(d), buf + got, n - got, MSG_DONTWAIT);
                int r;

                if (k > 0) {
                        got += (size_t) k;
                        continue;
                }
                if (k == 0) {
                        *ret_end = got == 0;
                        return got == 0 ? 0 : -ECONNRESET;
                }
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait_sock(d, POLLIN);
                if (r == -ECANCELED && got == 0) {
                        *ret_end = true;
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int send_all(Download *d, const uint8_t *buf, size_t n) {
        while (n > 0) {
                ssize_t k = send(download_fd(d), buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (k > 0) {
                        buf += k;
                        n -= (size_t) k;
                        continue;
                }
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait_sock(d, POLLOUT);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int send_reply(Download *d, uint64_t offset, uint32_t length, uint32_t status, const uint8_t *data) {
        uint8_t rep[REPLY_SIZE] = {};
        uint32_t magic = htole32(REPLY_MAGIC), len = htole32(length), st = htole32(status);
        uint64_t off = htole64(offset), total = htole64(download_size(d));
        int r;

        memcpy(rep, &magic, 4);
        memcpy(rep + 4, &len, 4);
        memcpy(rep + 8, &off, 8);
        memcpy(rep + 16, &total, 8);
        memcpy(rep + 24, &st, 4);
        r = send_all(d, rep, sizeof(rep));
        if (r >= 0 && status == 0 && length > 0)
                r = send_all(d, data, length);
        return r;
}

static DownloadResult io_result(Download *d, int r) {
        if (r == -ECANCELED) {
                download_set_error(d, "cancelled");
                return DOWNLOAD_CANCELLED;
        }
        download_set_error(d, "updated closed the ranged install's socket (%s)", strerror(-r));
        return DOWNLOAD_SINK_CLOSED;
}

DownloadResult ranged_serve(Download *d, void *userdata) {
        _cleanup_free_ uint8_t *buf = malloc(RANGED_MAX_PIECE);
        uint64_t size = download_size(d), served = 0;
        unsigned requests = 0;

        if (!buf) {
                download_set_error(d, "out of memory");
                return DOWNLOAD_FAILED;
        }
        for (;;) {
                uint8_t req[REQUEST_SIZE];
                uint32_t magic, length;
                uint64_t offset;
                DownloadResult res;
                bool end;
                int r;

                r = recv_all(d, req, sizeof(req), &end);
                if (r >= 0 && end) {
                        log_info("updated asked for %" PRIu64 " of the artifact's %" PRIu64 " bytes in %u requests",
                                 served, size, requests);
                        return DOWNLOAD_OK;
                }
                if (r < 0)
                        return io_result(d, r);
                memcpy(&magic, req, 4);
                memcpy(&length, req + 4, 4);
                memcpy(&offset, req + 8, 8);
                magic = le32toh(magic), length = le32toh(length), offset = le64toh(offset);
                /* updated is trusted no more than it trusts us: a request outside the artifact
                 * or larger than a piece ends the download. */
                if (magic != REQUEST_MAGIC || length > RANGED_MAX_PIECE || offset > size || size - offset < length) {
                        download_set_error(d, "updated sent a request the ranged protocol does not allow (magic 0x%08" PRIx32
                                              ", %" PRIu32 " bytes at %" PRIu64 " of %" PRIu64 ")",
                                           magic, length, offset, size);
                        return DOWNLOAD_FAILED;
                }
                requests++;
                res = length > 0 ? download_fetch_range(d, offset, length, buf) : DOWNLOAD_OK;
                if (res == DOWNLOAD_CANCELLED)
                        return res;
                r = send_reply(d, offset, length, res == DOWNLOAD_OK ? 0 : EIO, buf);
                if (res != DOWNLOAD_OK)
                        return res;
                if (r < 0)
                        return io_result(d, r);
                served += length;
        }
}
