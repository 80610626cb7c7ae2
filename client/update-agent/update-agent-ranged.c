/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "macro.h"
#include "ranged-frame.h"
#include "rauc-bundle.h"
#include "update-agent-http.h"
#include "update-agent-ranged.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

/* ---- the probe ---- */

typedef struct Probe {
        HttpHeaders h;
        uint8_t head[RANGED_PROBE_BYTES];
        size_t got;
} Probe;

static size_t probe_header(char *buf, size_t size, size_t nitems, void *userdata) {
        Probe *p = userdata;

        (void) http_headers_feed(&p->h, buf, size * nitems);
        return size * nitems;
}

static size_t probe_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Probe *p = userdata;
        size_t n = size * nmemb;

        if (p->h.status >= 300 && p->h.status < 400)
                return n;                /* a redirect's body */
        /* A 200 is the whole artifact from a server that ignores Range: its first bytes tell a
         * RAUC bundle (which then cannot be streamed at all), and the rest is not taken. */
        if (p->h.status == 200) {
                size_t k = MIN(n, sizeof(p->head) - p->got);

                memcpy(p->head + p->got, ptr, k);
                p->got += k;
                return p->got < sizeof(p->head) ? n : 0;
        }
        /* Anything but a 206 of at most the bytes asked for is a "no". */
        if (p->h.status != 206 || n > sizeof(p->head) - p->got)
                return 0;
        memcpy(p->head + p->got, ptr, n);
        p->got += n;
        return n;
}

/* A squashfs 4.0 superblock, as `rauc bundle` makes (RAUC_SQUASHFS_MAGIC at 0, then
 * block_size at 12, block_log at 22, the major and minor version at 28 and 30): more than the
 * four magic bytes, so that a format-1 bundle or a text file that happens to start with them
 * is not taken for one.  It only chooses the transport: updated reads the bundle's own bytes and
 * checks its signature whatever the probe saw. */
static bool head_is_squashfs(const uint8_t *h, size_t n) {
        uint32_t block_size;
        uint16_t block_log, major, minor;

        if (n < RANGED_PROBE_BYTES || memcmp(h, RAUC_SQUASHFS_MAGIC, strlen(RAUC_SQUASHFS_MAGIC)) != 0)
                return false;
        memcpy(&block_size, h + 12, sizeof(block_size));
        memcpy(&block_log, h + 22, sizeof(block_log));
        memcpy(&major, h + 28, sizeof(major));
        memcpy(&minor, h + 30, sizeof(minor));
        block_log = le16toh(block_log);
        return le16toh(major) == 4 && le16toh(minor) == 0 && block_log >= 12 && block_log <= 20 &&
               le32toh(block_size) == UINT32_C(1) << block_log;
}

/* The 206 asked for: exactly the first RANGED_PROBE_BYTES of an artifact of the deployment's
 * size, so that every range updated may ask for is one of this artifact's. */
static bool probe_is_range(const Probe *p, uint64_t size) {
        return p->h.status == 206 && p->got == RANGED_PROBE_BYTES &&
               http_content_range_is(p->h.content_range, 0, RANGED_PROBE_BYTES - 1, size);
}

static bool head_is_format2(const uint8_t *h) {
        uint32_t version;

        memcpy(&version, h + 8, sizeof(version));
        return memcmp(h, "UPD1BNDL", 8) == 0 && le32toh(version) >= 2;
}

int ranged_probe(const AgentConfig *c, const char *url, uint64_t size, char **ret_error) {
        _cleanup_free_ char *cur = strdup(url);

        if (!cur || size < RANGED_PROBE_BYTES)
                return RANGED_NO;
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
                        return RANGED_NO;
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
                        return RANGED_NO;
                (void) curl_easy_perform(h);
                if (p.h.status >= 300 && p.h.status < 400) {
                        if (http_redirect_target(c, h, cur, &next, err, sizeof(err)) < 0)
                                return RANGED_NO;
                        free(cur);
                        cur = TAKE_PTR(next);
                        continue;
                }
                if (probe_is_range(&p, size) && head_is_squashfs(p.head, p.got)) {
                        log_info("The artifact is a RAUC bundle: serving updated the byte ranges it reads");
                        return RANGED_RAUC;
                }
                if (probe_is_range(&p, size) && head_is_format2(p.head))
                        return RANGED_DELTA;
                /* A RAUC bundle's signature is at its end: through a pipe updated would only
                 * refuse it, after the whole artifact was fetched for nothing. */
                if (head_is_squashfs(p.head, p.got)) {
                        _cleanup_free_ char *why =
                                p.h.status == 206
                                        ? strdup_printf("answered a Range request for its first %u bytes with "
                                                        "Content-Range '%s', not of its %" PRIu64 " bytes",
                                                        RANGED_PROBE_BYTES, p.h.content_range, size)
                                        : strdup_printf("does not serve byte ranges (HTTP %ld to a Range request)",
                                                        p.h.status);

                        *ret_error = strdup_printf("The artifact is a RAUC bundle, which updated reads at offsets "
                                                   "(its signature is at the end), and the server %s: set [download] "
                                                   "mode=disk to download it first, or serve it with Range support",
                                                   why ?: "cannot serve it by byte ranges");
                        return -EOPNOTSUPP;
                }
                if (p.h.status == 206)
                        log_info("Streaming the artifact: it is not a format-2 bundle, nothing to gain from byte ranges");
                else if (p.h.status == 200)
                        log_info("Streaming the artifact: the server does not serve byte ranges");
                else
                        log_info("Streaming the artifact: the Range probe was answered with HTTP %ld", p.h.status);
                return RANGED_NO;
        }
        return RANGED_NO;
}

/* ---- serving updated ---- */

/* RangedWaitFn: waits for 'events' on the socket.  A cancel between requests is the end of the
 * service (-ENODATA, as a closed socket): nothing is in flight, and the agent cancels the
 * download once updated's Completed came, which may be before its close.  In the middle of
 * an exchange it is -ECANCELED. */
static int wait_sock(void *userdata, short events, bool idle) {
        Download *d = userdata;
        struct pollfd p[2] = {
                { .fd = download_fd(d), .events = events },
                { .fd = download_cancel_fd(d), .events = POLLIN },
        };

        if (poll(p, 2, -1) < 0 && errno != EINTR)
                return -errno;
        if (p[1].revents & POLLIN)
                return idle ? -ENODATA : -ECANCELED;
        return 0;
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
                RangedRequest q;
                DownloadResult res;
                int r;

                r = ranged_recv_request(download_fd(d), &q, wait_sock, d);
                if (r == -ENODATA) {
                        log_info("updated asked for %" PRIu64 " of the artifact's %" PRIu64 " bytes in %u requests",
                                 served, size, requests);
                        return DOWNLOAD_OK;
                }
                if (r < 0)
                        return io_result(d, r);
                /* updated is trusted no more than it trusts us: a request outside the artifact
                 * or larger than a piece ends the download. */
                if (q.magic != RANGED_REQUEST_MAGIC || q.length > RANGED_MAX_PIECE || q.offset > size ||
                    size - q.offset < q.length) {
                        download_set_error(d, "updated sent a request the ranged protocol does not allow (magic 0x%08" PRIx32
                                              ", %" PRIu32 " bytes at %" PRIu64 " of %" PRIu64 ")",
                                           q.magic, q.length, q.offset, size);
                        return DOWNLOAD_FAILED;
                }
                requests++;
                res = q.length > 0 ? download_fetch_range(d, q.offset, q.length, buf) : DOWNLOAD_OK;
                if (res == DOWNLOAD_CANCELLED)
                        return res;
                r = ranged_send_reply(download_fd(d),
                                      &(RangedReply) { .length = q.length,
                                                       .offset = q.offset,
                                                       .total = size,
                                                       .status = res == DOWNLOAD_OK ? 0 : EIO },
                                      buf, wait_sock, d);
                if (res != DOWNLOAD_OK)
                        return res;
                if (r < 0)
                        return io_result(d, r);
                served += q.length;
        }
}
