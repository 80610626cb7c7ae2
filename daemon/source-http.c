/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "source-http.h"

#define PIPE_SIZE (1 << 20)

struct SourceHttp {
        char *url;
        CURL *curl;
        int pipe_r, pipe_w;
        pthread_t thread;
        bool started;
        bool finished;
        atomic_bool abort;        /* finish() wants the transfer to stop */
        atomic_bool reader_gone;  /* a write into the pipe failed: the reader closed its end */
        CURLcode code;
        long http_status;
        char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init_once(void) {
        global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Lazily, on the first download: libcurl's TLS backends cost memory a daemon that never
 * downloads should not pay. */
int source_http_global_init(void) {
        (void) pthread_once(&global_once, global_init_once);
        return global_result == CURLE_OK ? 0 : -EIO;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nmemb;  /* size is always 1 */

        if (atomic_load(&s->abort) || write_exact(s->pipe_w, ptr, n) < 0) {
                atomic_store(&s->reader_gone, true);
                return 0; /* CURLE_WRITE_ERROR */
        }
        return n;
}

/* Called at least once a second, also while connecting: lets finish() stop a stuck transfer. */
static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
        SourceHttp *s = userdata;

        return atomic_load(&s->abort) ? 1 : 0;
}

static void *transfer_thread(void *userdata) {
        SourceHttp *s = userdata;
        sigset_t all;

        /* A closed reader gives EPIPE, never a process-wide SIGPIPE. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        s->code = curl_easy_perform(s->curl);
        (void) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->http_status);

        /* EOF for the reader: it decides whether the stream was complete. */
        close(s->pipe_w);
        s->pipe_w = -EBADF;
        return NULL;
}

static int setup_curl(SourceHttp *s, uint64_t max_size) {
        CURL *c = curl_easy_init();

        if (!c)
                return -ENOMEM;
        s->curl = c;

        if (curl_easy_setopt(c, CURLOPT_URL, s->url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L) != CURLE_OK ||
            /* A stalled server: less than 1 byte/s for 60 s aborts. */
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) MIN(max_size, (uint64_t) INT64_MAX)) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_USERAGENT, "update1/" UPDATE1_VERSION) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, s) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
                return -EINVAL;
        return 0;
}

int source_http_open(const char *url, uint64_t max_size, SourceHttp **ret, UError *err) {
        _cleanup_(source_http_freep) SourceHttp *s = NULL;
        int fds[2], r;

        assert(url);
        assert(ret);

        r = source_http_global_init();
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot initialise libcurl");

        s = calloc(1, sizeof(*s));
        if (!s)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        s->pipe_r = s->pipe_w = -EBADF;
        s->finished = true; /* until the thread runs */

        s->url = strdup(url);
        if (!s->url)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = setup_curl(s, max_size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot set up a download of %s", url);

        if (pipe2(fds, O_CLOEXEC) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot create a pipe: %s", strerror(errno));
        s->pipe_r = fds[0];
        s->pipe_w = fds[1];
        /* Fewer wake-ups; best effort (the limit for unprivileged callers may be lower). */
        (void) fcntl(s->pipe_w, F_SETPIPE_SZ, PIPE_SIZE);

        r = -pthread_create(&s->thread, NULL, transfer_thread, s);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot start the download thread: %s", strerror(-r));
        s->started = true;
        s->finished = false;

        *ret = TAKE_PTR(s);
        return 0;
}

int source_http_fd(const SourceHttp *s) {
        return s->pipe_r;
}

int source_http_finish(SourceHttp *s, UError *err) {
        if (!s->finished) {
                atomic_store(&s->abort, true);
                if (s->pipe_r >= 0)
                        close(s->pipe_r);
                s->pipe_r = -EBADF;
                (void) pthread_join(s->thread, NULL);
                s->finished = true;
        }

        if (s->code == CURLE_OK)
                return 0;
        /* Stopped by us (reader closed, cancelled, finished early): not a download error. */
        if ((s->code == CURLE_WRITE_ERROR && atomic_load(&s->reader_gone)) ||
            (s->code == CURLE_ABORTED_BY_CALLBACK && atomic_load(&s->abort)))
                return 0;

        if (s->http_status > 0)
                return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), HTTP status %ld",
                                  s->url, (int) s->code, curl_easy_strerror(s->code),
                                  s->errbuf[0] ? s->errbuf : "no details", s->http_status);
        return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), no HTTP response",
                          s->url, (int) s->code, curl_easy_strerror(s->code),
                          s->errbuf[0] ? s->errbuf : "no details");
}

SourceHttp *source_http_free(SourceHttp *s) {
        if (!s)
                return NULL;
        if (s->started)
                (void) source_http_finish(s, NULL);
        if (s->curl)
                curl_easy_cleanup(s->curl);
        if (s->pipe_r >= 0)
                close(s->pipe_r);
        if (s->pipe_w >= 0)
                close(s->pipe_w);
        free(s->url);
        free(s);
        return NULL;
}
