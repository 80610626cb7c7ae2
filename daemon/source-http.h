/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "error.h"
#include "macro.h"

/* An http(s):// bundle source: libcurl runs in its own thread and writes the body into a pipe
 * whose read end the installer reads like any other stream.  Nothing touches the disk. */
typedef struct SourceHttp SourceHttp;

/* Loads libcurl (dlopen) and runs curl_global_init() once; source_http_open() calls it.
 * curl_global_init() is not thread-safe against other libcurl users: main thread only. */
int source_http_global_init(void);

/* Starts the download.  Only http and https (also on redirects); HTTP status >= 400 is an
 * error; more than max_size bytes is an error. */
int source_http_open(const char *url, uint64_t max_size, SourceHttp **ret, UError *err);
/* The read end of the pipe, owned by the source. */
int source_http_fd(const SourceHttp *s);

/* Closes the read end (so a writer blocked on a full pipe wakes up), waits for the transfer
 * thread and returns its result: 0, or ERROR_IO naming the curl error and the HTTP status.
 * A transfer that stopped only because the reader went away is not an error. */
int source_http_finish(SourceHttp *s, UError *err);
/* Random access for RAUC bundles (a ReadAt, lib/read-at.h; userdata: the SourceHttp): the
 * first call stops the stream and learns the size from a one-byte Range request, and each read
 * is one Range request on one reused connection.  A server that answers a Range request with anything but
 * 206 fails the read.  Errors are logged with the redacted URL; -EIO. */
int source_http_get_size(void *userdata, uint64_t *ret);
int source_http_read_at(void *userdata, uint64_t offset, void *buf, size_t size);
/* An eventfd (borrowed) whose readability stops a Range request within about a second with
 * -ECANCELED, rather than after the low-speed limit (60 s) of a stalled server. */
void source_http_set_cancel_fd(SourceHttp *s, int fd);
/* The first failure of a ranged read, as a sentence naming the URL (redacted), or NULL. */
const char *source_http_range_error(const SourceHttp *s);

/* Finishes (if not done) and frees. */
SourceHttp *source_http_free(SourceHttp *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SourceHttp *, source_http_free);
