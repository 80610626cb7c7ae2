/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "update-agent-config.h"

/* libcurl with the agent's policy, shared by the DDI client and the downloader:
 *   - TLS verification on (ca-file=, client certificate for mTLS) unless insecure=yes;
 *   - http and https only; redirects followed by us, not by libcurl, at most
 *     HTTP_MAX_REDIRECTS, never from https to http, and never to http when the server is https;
 *   - the Authorization header goes only to the server's own origin (scheme, host and port of
 *     url=): artifacts on a CDN or after a redirect get no credentials. */

#define HTTP_MAX_REDIRECTS 8
#define HTTP_ERROR_MAX 512

/* Set up 'h' for one request to 'url' (which must be absolute http(s)).  'headers' receives the
 * list to free after the transfer (it includes Authorization when url is on the server's
 * origin, plus 'extra' lines). */
int http_setup(CURL *h, const AgentConfig *c, const char *url, const char *const *extra,
               struct curl_slist **ret_headers);

/* True if url has the same scheme, host and port as the configured server. */
bool http_same_origin(const AgentConfig *c, const char *url);

/* After a 3xx response of 'from': the absolute next URL, or an error (with a sentence in
 * 'error') if the policy forbids it. */
int http_redirect_target(const AgentConfig *c, CURL *h, const char *from, char **ret_next, char *error,
                         size_t error_size);

/* A Retry-After longer than this (seconds) is shortened to it: a server (or a CDN in front of it)
 * that asks for more is not trusted to come back later, and a device must not be parked by
 * one header for longer than a poll interval is worth. */
#define HTTP_RETRY_AFTER_MAX_SEC 600

/* The value of a Retry-After header (n bytes at value, not NUL-terminated): seconds, or an
 * HTTP-date (relative to now_sec, the realtime clock); bounded by HTTP_RETRY_AFTER_MAX_SEC.
 * -EINVAL if it is neither. */
int http_parse_retry_after(const char *value, size_t n, uint64_t now_sec, uint64_t *ret_sec);

/* The headers of a streamed response that the downloader and the Range probe judge it by, fed
 * line by line from a CURLOPT_HEADERFUNCTION.  A new status line (after a redirect or a 100)
 * starts over. */
typedef struct HttpHeaders {
        long status;
        char content_range[128];  /* Content-Range's value, trimmed; "" if absent */
        bool has_retry_after;
        uint64_t retry_after_sec; /* when has_retry_after: bounded as http_parse_retry_after() */
} HttpHeaders;

/* One header line (n bytes, not NUL-terminated).  True at the blank line that ends the headers
 * of a response other than 100 Continue: the body that follows is that response's. */
bool http_headers_feed(HttpHeaders *h, const char *buf, size_t n);

/* Whether a Content-Range value is exactly "bytes A-B/TOTAL" with A == first, B < TOTAL,
 * TOTAL == total and, unless last is UINT64_MAX, B == last: the range asked for, of the artifact
 * we know, and nothing else. */
bool http_content_range_is(const char *value, uint64_t first, uint64_t last, uint64_t total);

typedef struct HttpResponse {
        long status;            /* 0: no HTTP response */
        char *body;             /* NUL-terminated, at most the max given */
        size_t size;
        uint64_t retry_after_sec; /* Retry-After: (seconds or HTTP-date), 0 if absent */
        char error[HTTP_ERROR_MAX]; /* a sentence on failure (transport or HTTP >= 400) */
} HttpResponse;

void http_response_done(HttpResponse *r);

/* One REST request (GET/PUT/POST with an optional JSON body), following redirects.
 * Returns 0 when an HTTP response arrived (any status: check r->status), or a negative errno
 * for transport errors / policy refusals (r->error says which). */
int http_request(const AgentConfig *c, const char *method, const char *url, const char *json_body,
                 size_t max_response, HttpResponse *ret);

/* "https://host:port" of a URL (lowercase scheme and host, explicit port), or NULL. */
char *http_origin(const char *url);
