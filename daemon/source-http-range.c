/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ranged reads of an http(s) source (source-http.h): RAUC bundles, whose signature is at
 * the end, and the delta install's fetches, on a second handle once the stream is stopped. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"
#include "macro.h"
#include "source-http-state.h"
#include "source-http.h"
#include "url.h"

void source_http_set_cancel_fd(SourceHttp *s, int fd) {
        s->cancel_fd = fd;
}

/* A stalled server is cut by the low-speed limit (60 s, source_http_setup_common()), as for the stream; a
 * cancel must not wait for that: libcurl calls this about once a second even when no byte
 * comes, as it does on_xferinfo() of the stream, which finish() stops through 'abort'. */
static int on_range_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow) {
        SourceHttp *s = userdata;
        struct pollfd p = { .fd = s->cancel_fd, .events = POLLIN };

        return p.fd >= 0 && poll(&p, 1, 0) > 0 ? 1 : 0;
}

static size_t on_range_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nmemb;

        /* More than asked for (a server that ignores Range sends the whole file): stop. */
        if (n > s->range_size - s->range_got)
                return 0;
        memcpy(s->range_buf + s->range_got, ptr, n);
        s->range_got += n;
        return n;
}

/* Logs and keeps the first failure of a ranged read: the reader only sees -EIO, the install
 * reports this (source_http_range_error()). */
static int range_error(SourceHttp *s, const char *fmt, ...) _printf_(2, 3);
static int range_error(SourceHttp *s, const char *fmt, ...) {
        va_list ap;

        if (s->range_error[0] || s->probing)
                return -EIO;
        va_start(ap, fmt);
        vsnprintf(s->range_error, sizeof(s->range_error), fmt, ap);
        va_end(ap);
        log_error("%s", s->range_error);
        return -EIO;
}

const char *source_http_range_error(const SourceHttp *s) {
        return s && s->range_error[0] ? s->range_error : NULL;
}

/* A failed ranged read shows up to the reader as -EIO: the sentence is here. */
void source_http_explain(SourceHttp *s, UError *err) {
        UError http_err = UERROR_NULL;

        if (source_http_finish(s, &http_err) < 0 && (err->kind == ERROR_IO || err->kind == ERROR_INVALID_BUNDLE))
                *err = http_err;
        else if (err->kind == ERROR_IO && source_http_range_error(s)) {
                *err = UERROR_NULL;
                (void) uerror_set(err, ERROR_IO, -EIO, "%s", source_http_range_error(s));
        }
}


static int range_fail(SourceHttp *s, CURLcode code, const char *what) {
        _cleanup_free_ char *details = NULL;

        if (s->range_errbuf[0])
                (void) url_redact_text(s->range_errbuf, &details);
        range_error(s, "%s of %s failed: curl error %d: %s (%s)", what, s->display, (int) code,
                  source_http_curl.easy_strerror(code), details ?: "no details");
        return -EIO;
}

/* "Content-Range: bytes 0-0/12345" → s->range_total (the only header a ranged read looks at). */
static size_t on_range_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nitems;
        char line[256], *slash, *end;
        unsigned long long total;

        if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
                s->range_total = UINT64_MAX; /* a redirect's answer has its own */
        else if (n < sizeof(line) && strncasecmp(buffer, "Content-Range:", 14) == 0) {
                memcpy(line, buffer, n);
                line[n] = 0;
                slash = strrchr(line, '/');
                if (slash) {
                        errno = 0;
                        total = strtoull(slash + 1, &end, 10);
                        if (errno == 0 && end != slash + 1 && (*end == '\r' || *end == '\n' || *end == 0))
                                s->range_total = total;
                }
        }
        return n;
}

static int range_get(SourceHttp *s, uint64_t offset, void *buf, size_t size);

/* On first use: set up the second handle and learn the size from the Content-Range of a
 * one-byte request (not HEAD: a pre-signed URL is often valid for GET only). */
static int ranged_handle_setup(SourceHttp *s) {
        uint64_t first_size;
        uint8_t first;
        int r;

        if (s->ranged)
                return 0;
        s->ranged = source_http_curl.easy_init();
        if (!s->ranged)
                return -ENOMEM;
        if (source_http_setup_common(s, s->ranged, s->max_size, s->range_errbuf) < 0 ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_WRITEFUNCTION, on_range_write) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_HEADERFUNCTION, on_range_header) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_HEADERDATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_XFERINFOFUNCTION, on_range_xferinfo) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_XFERINFODATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(s->ranged, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
                return -EINVAL;
        /* If-Range with the stream's first validator: the stream's first answer came before
         * any ranged read (the reader saw its bytes). */
        pthread_mutex_lock(&s->lock);
        r = source_http_if_range_headers(s, s->validator, &s->ranged_if_range);
        s->range_206 = s->ranges_seen;
        first_size = s->ranges_seen ? s->file_size : 0;
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        if (source_http_set_if_range(s->ranged, s->ranged_if_range) < 0)
                return -EINVAL;
        s->size = UINT64_MAX;
        r = range_get(s, 0, &first, 1);
        if (r < 0)
                return r;
        if (s->size == UINT64_MAX) {
                range_error(s, "Range request of %s: no size in the answer's Content-Range", s->display);
                return -EIO;
        }
        if (first_size > 0 && s->size != first_size) {
                range_error(s, "Range request of %s: the bundle changed on the server during the download (%" PRIu64
                            " bytes now, %" PRIu64 " at the first answer): install again", s->display, s->size,
                            first_size);
                return -EIO;
        }
        return 0;
}

/* A ranged read: the stream stops first (the reader has seen enough of it to know it needs
 * offsets), also when a probe set up the handle while the stream went on. */
static int ranged_setup(SourceHttp *s) {
        source_http_stop_stream(s);
        return ranged_handle_setup(s);
}

/* The probe runs its one-byte request on the second handle while the stream waits for the
 * reader: a server that ignores Range has cost one small request, and the stream goes on. */
int source_http_probe_ranges(SourceHttp *s) {
        int r;

        if (s->ranged)
                return 1;
        s->probing = true;
        r = ranged_handle_setup(s);
        s->probing = false;
        if (r >= 0)
                return 1;
        if (s->ranged)
                source_http_curl.easy_cleanup(s->ranged);
        s->ranged = NULL;
        if (s->ranged_if_range)
                source_http_curl.slist_free_all(s->ranged_if_range);
        s->ranged_if_range = NULL;
        s->range_requests = 0;
        return 0;
}

int source_http_get_size(void *userdata, uint64_t *ret) {
        SourceHttp *s = userdata;
        int r;

        r = ranged_setup(s);
        if (r < 0)
                return r;
        *ret = s->size;
        return 0;
}

int source_http_read_at(void *userdata, uint64_t offset, void *buf, size_t size) {
        SourceHttp *s = userdata;
        int r;

        r = ranged_setup(s);
        if (r < 0)
                return r;
        if (size == 0)
                return 0;
        if (offset > s->size || size > s->size - offset)
                return -EPIPE;
        return range_get(s, offset, buf, size);
}

/* One Range request for exactly [offset, offset + size). */
static int range_get(SourceHttp *s, uint64_t offset, void *buf, size_t size) {
        char range[64];
        long status = 0;
        CURLcode code;

        snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, offset, offset + size - 1);
        s->range_buf = buf;
        s->range_size = size;
        s->range_got = 0;
        if (source_http_curl.easy_setopt(s->ranged, CURLOPT_RANGE, range) != CURLE_OK)
                return -EINVAL;
        s->range_total = UINT64_MAX;
        code = source_http_curl.easy_perform(s->ranged);
        (void) source_http_curl.easy_getinfo(s->ranged, CURLINFO_RESPONSE_CODE, &status);
        s->range_buf = NULL;
        s->range_requests++;
        if (code == CURLE_ABORTED_BY_CALLBACK)
                return -ECANCELED; /* not a failure of the server: the reader says "cancelled" */
        /* A 200 to If-Range from a server that has served ranges: the file is not the one the
         * stream's first answer was (a size that changed says the same). */
        if ((status == 200 && s->ranged_if_range && s->range_206) ||
            (status == 206 && s->size != UINT64_MAX && s->range_total != UINT64_MAX && s->range_total != s->size)) {
                range_error(s, "Range request of %s: the bundle changed on the server during the download (the "
                            "answer for %zu bytes at %" PRIu64 " is not of the file the first answer was): install "
                            "again", s->display, size, offset);
                return -EIO;
        }
        if (code == CURLE_WRITE_ERROR || (code == CURLE_OK && status != 206)) {
                range_error(s, "Range request of %s: HTTP status %ld, the server does not serve byte ranges, which a "
                            "RAUC bundle (its signature is at the end) and a delta install need; install it from a file",
                            s->display, status);
                return -EIO;
        }
        if (code != CURLE_OK)
                return range_fail(s, code, "Range request");
        if (s->range_got != size) {
                range_error(s, "Range request of %s: %zu bytes at %" PRIu64 " asked for, %zu sent", s->display, size,
                          offset, s->range_got);
                return -EIO;
        }
        if (s->size == UINT64_MAX)
                s->size = s->range_total;
        s->range_206 = true;
        s->range_bytes += size;
        return 0;
}
