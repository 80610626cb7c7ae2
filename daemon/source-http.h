/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "error.h"
#include "macro.h"

/* An http(s):// bundle source: libcurl runs in its own thread, and its write callback copies
 * the body straight into the buffer the bundle reader asks to fill (source_http_read(), a
 * BundleReaderStream): one copy from libcurl to the reader.  Nothing touches the disk. */
typedef struct SourceHttp SourceHttp;

/* Loads libcurl (dlopen) and runs curl_global_init() once; source_http_open() calls it.
 * curl_global_init() is not thread-safe against other libcurl users: main thread only. */
int source_http_global_init(void);

/* What one install may add to its transfers (RAUC's InstallBundle tls-cert, tls-key, tls-ca and
 * http-headers).  The PEM blobs are read by the daemon with the caller's rights (bus-common.c),
 * never from a path here: libcurl would open them as root. */
#define SOURCE_HTTP_MAX_HEADERS 16
#define SOURCE_HTTP_HEADER_MAX 1024
#define SOURCE_HTTP_TLS_FILE_MAX (256 * 1024)

typedef struct SourceHttpBlob {
        uint8_t *data;
        size_t size;              /* 0: not given */
} SourceHttpBlob;

typedef struct SourceHttpOptions {
        SourceHttpBlob tls_cert;  /* client certificate (PEM; may hold the key as well) */
        SourceHttpBlob tls_key;   /* its private key (PEM): wiped when freed */
        SourceHttpBlob tls_ca;    /* CA bundle (PEM) that replaces the system's for this source */
        char **headers;           /* NULL-terminated "Name: value" lines, each source_http_check_header() */
} SourceHttpOptions;

/* One extra request header: "Name: value" (an RFC 9110 token, a colon, a non-empty value of
 * printable characters, at most SOURCE_HTTP_HEADER_MAX bytes), not one of the headers libcurl
 * and the ranged reads set themselves (Host, Range, Content-Length, Transfer-Encoding, ...).
 * ERROR_INVALID_ARGS naming the header (never its value, which may be a token). */
int source_http_check_header(const char *h, UError *err);
/* Frees the blobs (the key wiped first) and the headers; leaves *o empty. */
void source_http_options_done(SourceHttpOptions *o);

/* Starts the download.  Only http and https (also on redirects); HTTP status >= 400 is an
 * error; more than max_size bytes is an error.  'opts' (may be NULL) is taken on success (left
 * empty) and applies to the stream and to the ranged reads alike. */
int source_http_open(const char *url, uint64_t max_size, SourceHttpOptions *opts, SourceHttp **ret, UError *err);
/* The stream, for bundle_reader_set_stream() (userdata: the SourceHttp): fills buf with the
 * next 'size' bytes of the body, fewer only at its end (then 0), and returns once buf is full;
 * -ECANCELED once cancel_fd (may be -1) is readable; -ESHUTDOWN after the stream was stopped
 * (source_http_finish(), a ranged read).  The stream fetches only what the reader announced
 * with source_http_want() (and its first request, the first 64 KiB): a read beyond what was
 * announced waits forever (bundle_reader_set_need()).  One reader thread at a time. */
int source_http_read(void *userdata, void *buf, size_t size, int cancel_fd, size_t *ret);
/* The reader will read the bundle up to 'end' (exclusive; userdata: the SourceHttp): the stream
 * asks the server for [what it has, end) once what it asked before was handed over.  Only ever
 * grows; an end beyond the file is the end of the file.  Any thread; never blocks. */
void source_http_want(void *userdata, uint64_t end);

/* Stops the stream (a write callback blocked until the reader's next buffer returns), waits
 * for the transfer thread and returns its result: 0, or ERROR_IO naming the curl error and the HTTP status.
 * A transfer that stopped only because the reader went away is not an error. */
int source_http_finish(SourceHttp *s, UError *err);
/* After a failed read of the source: a failed download shows up to the reader as a short
 * stream (ERROR_IO, ERROR_INVALID_BUNDLE), a failed Range request as EIO; this finishes the
 * transfer and puts the download's own error (curl error, HTTP status) in 'err' instead. */
void source_http_explain(SourceHttp *s, UError *err);
/* Random access for RAUC bundles (a ReadAt, lib/read-at.h; userdata: the SourceHttp): the
 * first call stops the stream and learns the size from a one-byte Range request, and each read
 * is one Range request on one reused connection.  A server that answers a Range request with anything but
 * 206 fails the read.  Every request after the stream's first carries If-Range with that first
 * answer's strong ETag (else its Last-Modified): a bundle replaced on the server since fails
 * the read ("changed on the server"), as it fails the stream.  Errors are logged with the
 * redacted URL; -EIO. */
int source_http_get_size(void *userdata, uint64_t *ret);
int source_http_read_at(void *userdata, uint64_t offset, void *buf, size_t size);
/* Whether the server answers a Range request with 206 and the size, asked with one request
 * that leaves the stream running: 1 yes (the next ranged read stops the stream), 0 no (the
 * stream goes on as if nothing was asked; nothing is logged as an error). */
int source_http_probe_ranges(SourceHttp *s);
/* An eventfd (borrowed) whose readability stops a Range request within about a second with
 * -ECANCELED, rather than after the low-speed limit (60 s) of a stalled server. */
void source_http_set_cancel_fd(SourceHttp *s, int fd);
/* The first failure of a ranged read, as a sentence naming the URL (redacted), or NULL. */
const char *source_http_range_error(const SourceHttp *s);

/* Finishes (if not done) and frees. */
SourceHttp *source_http_free(SourceHttp *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SourceHttp *, source_http_free);
