/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "update-agent-http.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(CURLU *, curl_url_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static void lowercase(char *s) {
        for (; s && *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

char *http_origin(const char *url) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                return NULL;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
                lowercase(scheme);
                lowercase(host);
                o = strdup_printf("%s://%s:%s", scheme, host, port);
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        return o;
}

bool http_same_origin(const AgentConfig *c, const char *url) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        if (!c->url)    /* no server of our own (AWS IoT Jobs): credentials go nowhere */
                return false;
        a = http_origin(c->url);
        b = http_origin(url);

        return a && b && streq(a, b);
}

static bool is_https(const char *url) {
        return strncasecmp(url, "https://", 8) == 0;
}

int http_setup(CURL *h, const AgentConfig *c, const char *url, const char *const *extra,
               struct curl_slist **ret_headers) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *hdr = NULL;
        struct curl_slist *t;
        bool ok = true;

        if (strncasecmp(url, "http://", 7) != 0 && !is_https(url))
                return -EPROTONOSUPPORT;

        ok &= curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long) (c->connect_timeout_usec / 1000)) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, "update-agent/" UPDATE1_VERSION) == CURLE_OK;
        if (c->proxy)
                ok &= curl_easy_setopt(h, CURLOPT_PROXY, c->proxy) == CURLE_OK;
        if (c->ca_file)
                ok &= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) == CURLE_OK;
        if (c->client_cert) {
                ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key) == CURLE_OK;
        }
        if (c->insecure) {
                ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
        }
        if (!ok)
                return -EINVAL;

        /* Credentials only for the server itself (not for a CDN or a redirect target). */
        if (c->token && c->auth != AGENT_AUTH_NONE && http_same_origin(c, url)) {
                _cleanup_free_ char *a = strdup_printf(
                        "Authorization: %s %s", c->auth == AGENT_AUTH_TARGET_TOKEN ? "TargetToken" : "GatewayToken",
                        c->token);
                if (!a)
                        return -ENOMEM;
                t = curl_slist_append(hdr, a);
                explicit_bzero(a, strlen(a));
                if (!t)
                        return -ENOMEM;
                hdr = t;
        }
        for (size_t i = 0; extra && extra[i]; i++) {
                t = curl_slist_append(hdr, extra[i]);
                if (!t)
                        return -ENOMEM;
                hdr = t;
        }
        if (curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK)
                return -EINVAL;
        *ret_headers = TAKE_PTR(hdr);
        return 0;
}

int http_redirect_target(const AgentConfig *c, CURL *h, const char *from, char **ret_next, char *error,
                         size_t error_size) {
        char *loc = NULL;

        if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || isempty(loc)) {
                snprintf(error, error_size, "redirect without a usable Location from %s", from);
                return -EPROTO;
        }
        if (strncasecmp(loc, "http://", 7) != 0 && !is_https(loc)) {
                snprintf(error, error_size, "redirect to a non-HTTP URL refused: %s", loc);
                return -EPROTO;
        }
        if (is_https(from) && !is_https(loc)) {
                snprintf(error, error_size, "redirect from https to http refused: %s", loc);
                return -EPROTO;
        }
        if (c->url && is_https(c->url) && !is_https(loc)) {
                snprintf(error, error_size, "redirect to http refused (the server uses https): %s", loc);
                return -EPROTO;
        }
        *ret_next = strdup(loc);
        return *ret_next ? 0 : -ENOMEM;
}

void http_response_done(HttpResponse *r) {
        free(r->body);
        r->body = NULL;
        r->size = 0;
}

typedef struct Sink {
        char *buf;
        size_t size, max;
        bool overflow;
} Sink;

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Sink *s = userdata;
        size_t n = size * nmemb;
        char *b;

        if (n > s->max - s->size) {
                s->overflow = true;
                return 0;
        }
        b = realloc(s->buf, s->size + n + 1);
        if (!b)
                return 0;
        memcpy(b + s->size, ptr, n);
        s->buf = b;
        s->size += n;
        s->buf[s->size] = 0;
        return n;
}

int http_parse_retry_after(const char *value, size_t n, uint64_t now_sec, uint64_t *ret_sec) {
        char v[64];
        uint64_t sec;
        time_t t;

        while (n > 0 && (*value == ' ' || *value == '\t'))
                value++, n--;
        while (n > 0 && isspace((unsigned char) value[n - 1]))
                n--;
        if (n == 0 || n >= sizeof(v))
                return -EINVAL;
        memcpy(v, value, n);
        v[n] = 0;
        if (isdigit((unsigned char) v[0])) {
                if (parse_u64(v, &sec) < 0)
                        return -EINVAL;
        } else {
                /* An HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"): libcurl's parser knows all
                 * three forms RFC 9110 allows.  A date in the past means "now". */
                t = curl_getdate(v, NULL);
                if (t < 0)
                        return -EINVAL;
                sec = (uint64_t) t > now_sec ? (uint64_t) t - now_sec : 0;
        }
        *ret_sec = MIN(sec, (uint64_t) HTTP_RETRY_AFTER_MAX_SEC);
        return 0;
}

bool http_headers_feed(HttpHeaders *h, const char *buf, size_t n) {
        if (n >= 5 && strneq(buf, "HTTP/", 5)) {
                const char *sp = memchr(buf, ' ', n);

                *h = (HttpHeaders) { .status = sp ? strtol(sp + 1, NULL, 10) : 0 };
        } else if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
                h->has_retry_after =
                        http_parse_retry_after(buf + 12, n - 12, (uint64_t) time(NULL), &h->retry_after_sec) >= 0;
        else if (n > 14 && strncasecmp(buf, "Content-Range:", 14) == 0) {
                const char *v = buf + 14;
                size_t k = n - 14;

                while (k > 0 && *v == ' ')
                        v++, k--;
                while (k > 0 && isspace((unsigned char) v[k - 1]))
                        k--;
                k = MIN(k, sizeof(h->content_range) - 1);
                memcpy(h->content_range, v, k);
                h->content_range[k] = 0;
        } else if (n <= 2 && (buf[0] == '\r' || buf[0] == '\n'))
                return h->status != 100;
        return false;
}

bool http_content_range_is(const char *value, uint64_t first, uint64_t last, uint64_t total) {
        uint64_t a, b, t;
        char tail;

        if (sscanf(value, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64 "%c", &a, &b, &t, &tail) != 3)
                return false;
        return a == first && b >= a && b < t && t == total && (last == UINT64_MAX || b == last);
}

typedef struct HeaderState {
        uint64_t retry_after;
} HeaderState;

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        HeaderState *st = userdata;
        size_t n = size * nitems;

        if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0 &&
            http_parse_retry_after(buf + 12, n - 12, (uint64_t) time(NULL), &st->retry_after) < 0)
                st->retry_after = 0;
        return n;
}

int http_request(const AgentConfig *c, const char *method, const char *url, const char *json_body,
                 size_t max_response, HttpResponse *ret) {
        static const char *const json_hdrs[] = { "Accept: application/hal+json, application/json",
                                                 "Content-Type: application/json", NULL };
        static const char *const get_hdrs[] = { "Accept: application/hal+json, application/json", NULL };
        _cleanup_free_ char *cur = strdup(url);
        HttpResponse r = {};
        int res = 0;

        if (!cur)
                return -ENOMEM;
        for (unsigned hop = 0;; hop++) {
                _cleanup_(curl_easy_cleanupp) CURL *h = curl_easy_init();
                _cleanup_(curl_slist_free_allp) struct curl_slist *hdr = NULL;
                char errbuf[CURL_ERROR_SIZE] = "";
                Sink sink = { .max = max_response };
                HeaderState hs = {};
                CURLcode cc;
                bool ok = true;

                if (!h)
                        return -ENOMEM;
                res = http_setup(h, c, cur, json_body ? json_hdrs : get_hdrs, &hdr);
                if (res < 0) {
                        snprintf(r.error, sizeof(r.error), "cannot set up a request to %s", cur);
                        break;
                }
                ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) (c->request_timeout_usec / 1000)) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
                if (json_body) {
                        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body) == CURLE_OK;
                        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(json_body)) ==
                              CURLE_OK;
                } else if (streq(method, "GET"))
                        ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, &hs) == CURLE_OK;
                ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
                if (!ok) {
                        res = -EINVAL;
                        snprintf(r.error, sizeof(r.error), "cannot set up a request to %s", cur);
                        break;
                }

                cc = curl_easy_perform(h);
                free(r.body);
                r.body = TAKE_PTR(sink.buf);
                r.size = sink.size;
                r.retry_after_sec = hs.retry_after;
                if (cc != CURLE_OK) {
                        if (sink.overflow)
                                snprintf(r.error, sizeof(r.error), "%s %s: response larger than %zu bytes", method, cur,
                                         max_response);
                        else
                                snprintf(r.error, sizeof(r.error), "%s %s: %s", method, cur,
                                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
                        res = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
                              : cc == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
                                                             : -EIO;
                        break;
                }
                (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
                if (r.status >= 300 && r.status < 400 && r.status != 304) {
                        _cleanup_free_ char *next = NULL;

                        if (hop >= HTTP_MAX_REDIRECTS) {
                                snprintf(r.error, sizeof(r.error), "%s %s: more than %d redirects", method, url,
                                         HTTP_MAX_REDIRECTS);
                                res = -ELOOP;
                                break;
                        }
                        res = http_redirect_target(c, h, cur, &next, r.error, sizeof(r.error));
                        if (res < 0)
                                break;
                        free(cur);
                        cur = TAKE_PTR(next);
                        continue;
                }
                if (r.status >= 400)
                        snprintf(r.error, sizeof(r.error), "%s %s: HTTP %ld", method, cur, r.status);
                break;
        }
        *ret = r;
        return res;
}
