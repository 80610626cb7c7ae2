/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What source-http.c (libcurl, the options, the stream) and source-http-range.c (the ranged
 * reads) share about one http(s) source.  Private to those two files. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "source-http.h"

/* An ETag or Last-Modified longer than this is not used for If-Range (nginx's are ~40). */
#define VALIDATOR_MAX 256

typedef struct SourceHttpCurl {
        void *handle;
        CURLcode (*global_init)(long flags);
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
        CURLcode (*easy_perform)(CURL *curl);
        CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
        const char *(*easy_strerror)(CURLcode code);
        void (*easy_cleanup)(CURL *curl);
        struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
        void (*slist_free_all)(struct curl_slist *list);
} SourceHttpCurl;
/* Loaded by source_http_global_init(), before any source exists. */
extern SourceHttpCurl source_http_curl;

struct SourceHttp {
        char *url;                /* for libcurl only: may hold a password or a signed query */
        char *display;            /* url_redact(url): for every message */
        CURL *curl;
        pthread_t thread;
        bool started;
        bool finished;
        atomic_bool abort;        /* finish() wants the transfer to stop */
        atomic_bool reader_gone;  /* on_write() stopped because of 'abort': the reader is done */
        /* The hand-over (source_http_read()), under 'lock': the reader's buffer, which the
         * write callback fills directly; what curl hands over beyond it waits in curl's own
         * buffer, the callback blocked until the reader's next buffer (or 'abort'). */
        uint8_t *dst;             /* NULL: no reader waits */
        size_t dst_size, dst_got;
        bool reader_sleeps;       /* the reader waits on wake_fd: write it once dst is full */
        bool stream_done;         /* the transfer thread ended: no more bytes */
        int wake_fd;              /* eventfd: dst full or stream_done (polled with the cancel fd) */
        CURLcode code;
        long http_status;
        char errbuf[CURL_ERROR_SIZE];
        /* The stream's requests, all from the transfer thread but 'want' (the reader's, under
         * 'lock'; 'cond' wakes the thread for a larger want, a reader's buffer or abort). */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        uint64_t want;            /* the reader's announced end (exclusive) */
        uint64_t stream_pos;      /* bytes of the bundle handed to the reader (under 'lock') */
        uint64_t req_start, req_len;          /* the current request: [start, start + len), len 0: to the end */
        uint64_t req_got;                     /* its body bytes so far */
        bool req_first, req_checked;          /* the first request; its status and start were checked */
        bool whole;                           /* a 200 (the whole file): no more requests */
        uint64_t file_size;                   /* the first 206's Content-Range total, 0 unknown */
        uint64_t stream_start, stream_total;  /* the current answer's Content-Range, UINT64_MAX / 0 without */
        long stream_bad_status;               /* != 0: an answer was not the bytes asked for (the status) */
        bool stream_changed;                  /* the bundle changed on the server (If-Range gave 200) */
        unsigned stream_requests;
        /* The first answer's validator, for If-Range on every later request (stream and ranged):
         * a strong ETag, else Last-Modified.  Collected per answer (a redirect has its own). */
        char etag[VALIDATOR_MAX], last_modified[VALIDATOR_MAX];
        char validator[VALIDATOR_MAX];        /* under 'lock': the first answer's, "" none */
        bool ranges_seen;                     /* under 'lock': the first answer was a 206 */
        struct curl_slist *stream_if_range;   /* opts.headers + "If-Range: ...", NULL: none */

        SourceHttpOptions opts;   /* owned; libcurl borrows the blobs (CURL_BLOB_NOCOPY) */
        struct curl_slist *headers;

        /* Ranged reads (RAUC bundles, whose signature is at the end): a second handle, used by
         * the reader's thread once the streaming transfer is stopped. */
        CURL *ranged;
        uint64_t max_size;
        uint64_t size;            /* from the first answer's Content-Range */
        uint64_t range_total;     /* the current answer's Content-Range total, UINT64_MAX: none */
        struct curl_slist *ranged_if_range; /* as stream_if_range, for this handle */
        bool range_206;                     /* a 206 came (stream or ranged): a 200 to If-Range is a change */
        uint8_t *range_buf;
        size_t range_size, range_got;
        uint64_t range_bytes;     /* fetched with Range requests so far, for the log */
        unsigned range_requests;
        char range_errbuf[CURL_ERROR_SIZE];
        char range_error[512];
        int cancel_fd;            /* borrowed; readable: stop the Range request now */
        bool probing;             /* source_http_probe_ranges(): a "no" is an answer, not an error */
};

/* The options every transfer of the source has (URL, protocols, time-outs, TLS, headers). */
int source_http_setup_common(SourceHttp *s, CURL *c, uint64_t max_size, char *errbuf);
/* Stops the streaming transfer (if it runs) and waits for its thread. */
void source_http_stop_stream(SourceHttp *s);
/* The extra headers plus "If-Range: <validator>" into *ret (NULL without a validator). */
int source_http_if_range_headers(SourceHttp *s, const char *validator, struct curl_slist **ret);
/* Makes a handle send that list (no-op for NULL). */
int source_http_set_if_range(CURL *c, struct curl_slist *l);
