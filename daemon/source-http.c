/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "source-http.h"
#include "url.h"

#define PIPE_SIZE (1 << 20)
#define HTTP_BUFFER_SIZE (256 << 10)
/* The stream's first request asks for this much only (a Range request; a server that ignores
 * Range sends the whole file, which is the stream as before).  It holds the header, signature
 * and chunk tables of most bundles: a reader that then switches to ranged reads (a RAUC bundle,
 * a delta install) has cost at most this, not whatever the socket buffers took of the whole
 * body before the stream was stopped (measured: 5.5 of 8.4 MB on loopback).  The rest comes
 * with a second request once the reader has taken all of it. */
#define STREAM_FIRST_BYTES (UINT64_C(1) << 20)

struct SourceHttp {
        char *url;                /* for libcurl only: may hold a password or a signed query */
        char *display;            /* url_redact(url): for every message */
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
        /* The answer of the current stream request (STREAM_FIRST_BYTES). */
        uint64_t stream_start, stream_total;  /* its Content-Range, UINT64_MAX / 0 without one */
        bool stream_rest;                     /* the second request: must be 206 from STREAM_FIRST_BYTES */
        bool stream_checked;                  /* its status and start were checked */
        long stream_bad_status;               /* != 0: the second answer was not the rest (the status) */

        SourceHttpOptions opts;   /* owned; libcurl borrows the blobs (CURL_BLOB_NOCOPY) */
        struct curl_slist *headers;

        /* Ranged reads (RAUC bundles, whose signature is at the end): a second handle, used by
         * the reader's thread once the streaming transfer is stopped. */
        CURL *ranged;
        uint64_t max_size;
        uint64_t size;            /* from the first answer's Content-Range */
        uint8_t *range_buf;
        size_t range_size, range_got;
        uint64_t range_bytes;     /* fetched with Range requests so far, for the log */
        unsigned range_requests;
        char range_errbuf[CURL_ERROR_SIZE];
        char range_error[512];
        int cancel_fd;            /* borrowed; readable: stop the Range request now */
        bool probing;             /* source_http_probe_ranges(): a "no" is an answer, not an error */
};

/* libcurl is loaded with dlopen() on the first download: with its TLS, HTTP/2, IDN, LDAP and
 * Kerberos dependencies it is about 30 libraries and several MiB of resident memory that a
 * daemon which never downloads (fd installs, or a separate download agent) should not pay.
 * Without libcurl installed only URL installs fail. */
#define LIBCURL_SONAME "libcurl.so.4"

static struct {
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
} curl_api;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_result = -EIO;
static char global_error[256];

static void global_init_once(void) {
        void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (!h) {
                snprintf(global_error, sizeof(global_error), "%s", dlerror() ?: LIBCURL_SONAME " not found");
                global_result = -ENOENT;
                return;
        }
        /* The POSIX way to store dlsym() results in function pointers. */
        *(void **) &curl_api.global_init = dlsym(h, "curl_global_init");
        *(void **) &curl_api.easy_init = dlsym(h, "curl_easy_init");
        *(void **) &curl_api.easy_setopt = dlsym(h, "curl_easy_setopt");
        *(void **) &curl_api.easy_perform = dlsym(h, "curl_easy_perform");
        *(void **) &curl_api.easy_getinfo = dlsym(h, "curl_easy_getinfo");
        *(void **) &curl_api.easy_strerror = dlsym(h, "curl_easy_strerror");
        *(void **) &curl_api.easy_cleanup = dlsym(h, "curl_easy_cleanup");
        *(void **) &curl_api.slist_append = dlsym(h, "curl_slist_append");
        *(void **) &curl_api.slist_free_all = dlsym(h, "curl_slist_free_all");
        if (!curl_api.global_init || !curl_api.easy_init || !curl_api.easy_setopt || !curl_api.easy_perform ||
            !curl_api.easy_getinfo || !curl_api.easy_strerror || !curl_api.easy_cleanup || !curl_api.slist_append ||
            !curl_api.slist_free_all) {
                snprintf(global_error, sizeof(global_error), "%s lacks a libcurl function", LIBCURL_SONAME);
                dlclose(h);
                global_result = -ENOSYS;
                return;
        }
        if (curl_api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(global_error, sizeof(global_error), "curl_global_init() failed");
                global_result = -EIO;
                return;
        }
        curl_api.handle = h; /* never unloaded: libcurl cannot be cleanly re-initialised */
        global_result = 0;
}

int source_http_global_init(void) {
        (void) pthread_once(&global_once, global_init_once);
        return global_result;
}

/* "Content-Range: bytes A-B/T" → *ret_start = A, *ret_total = T (T "*": 0).  0, or -EINVAL. */
static int parse_content_range(const char *buffer, size_t n, uint64_t *ret_start, uint64_t *ret_total) {
        char line[256], *p, *end;
        unsigned long long a, t = 0;

        if (n >= sizeof(line) || strncasecmp(buffer, "Content-Range:", 14) != 0)
                return -EINVAL;
        memcpy(line, buffer, n);
        line[n] = 0;
        p = strstr(line, "bytes ");
        if (!p)
                return -EINVAL;
        errno = 0;
        a = strtoull(p + 6, &end, 10);
        if (errno != 0 || end == p + 6 || *end != '-')
                return -EINVAL;
        p = strchr(end, '/');
        if (p && p[1] != '*') {
                t = strtoull(p + 1, &end, 10);
                if (errno != 0 || end == p + 1)
                        return -EINVAL;
        }
        *ret_start = a;
        *ret_total = t;
        return 0;
}

static size_t on_stream_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nitems;

        /* A redirect's answer may have its own: the last one before the body counts. */
        (void) parse_content_range(buffer, n, &s->stream_start, &s->stream_total);
        return n;
}

/* The second request must continue the first: a 206 from STREAM_FIRST_BYTES.  A 200 (the
 * whole file again) or another start would put wrong bytes into the stream. */
static bool stream_answer_ok(SourceHttp *s) {
        long code = 0;

        if (!s->stream_rest || s->stream_checked)
                return true;
        (void) curl_api.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code != 206 || s->stream_start != STREAM_FIRST_BYTES) {
                s->stream_bad_status = code ?: -1;
                return false;
        }
        s->stream_checked = true;
        return true;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nmemb;  /* size is always 1 */

        if (!stream_answer_ok(s))
                return 0; /* CURLE_WRITE_ERROR, explained by source_http_finish() */
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

/* Until the reader has read everything in the pipe (true) or the stream is stopped (false).
 * Checked every 10 ms: a pipe has no "empty" event, and this runs once per stream. */
static bool wait_drained(SourceHttp *s) {
        for (;;) {
                int n = 0;

                if (atomic_load(&s->abort))
                        return false;
                if (ioctl(s->pipe_w, FIONREAD, &n) < 0 || n == 0)
                        return true;
                (void) poll(NULL, 0, 10);
        }
}

static void *transfer_thread(void *userdata) {
        SourceHttp *s = userdata;
        char range[64];
        sigset_t all;

        /* A closed reader gives EPIPE, never a process-wide SIGPIPE. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        s->stream_start = UINT64_MAX;
        snprintf(range, sizeof(range), "0-%" PRIu64, STREAM_FIRST_BYTES - 1);
        if (curl_api.easy_setopt(s->curl, CURLOPT_RANGE, range) != CURLE_OK)
                s->code = CURLE_FAILED_INIT;
        else
                s->code = curl_api.easy_perform(s->curl);
        (void) curl_api.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->http_status);

        /* A 206 of the first STREAM_FIRST_BYTES (a 200 was the whole file): the rest once the
         * reader has taken all of it, unless it stopped the stream first. */
        if (s->code == CURLE_OK && s->http_status == 206 && s->stream_start == 0 &&
            (s->stream_total == 0 || s->stream_total > STREAM_FIRST_BYTES) && wait_drained(s)) {
                s->stream_rest = true;
                s->stream_start = UINT64_MAX;
                snprintf(range, sizeof(range), "%" PRIu64 "-", STREAM_FIRST_BYTES);
                if (curl_api.easy_setopt(s->curl, CURLOPT_RANGE, range) != CURLE_OK)
                        s->code = CURLE_FAILED_INIT;
                else
                        s->code = curl_api.easy_perform(s->curl);
                (void) curl_api.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->http_status);
        }

        /* EOF for the reader: it decides whether the stream was complete. */
        close(s->pipe_w);
        s->pipe_w = -EBADF;
        return NULL;
}

/* ---- per-install options ---- */

/* Headers that libcurl or the ranged reads set, or that would change how the body arrives
 * (Accept-Encoding: a compressed body that nothing decodes). */
static const char *const reserved_headers[] = {
        "Host", "Range", "If-Range", "Content-Length", "Content-Range", "Transfer-Encoding", "TE", "Trailer",
        "Connection", "Keep-Alive", "Upgrade", "Expect", "Proxy-Connection", "Accept-Encoding",
};

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

int source_http_check_header(const char *h, UError *err) {
        size_t len = strlen(h), name_len = 0;
        const char *v;

        while (h[name_len] && h[name_len] != ':' && is_tchar(h[name_len]))
                name_len++;
        if (len > SOURCE_HTTP_HEADER_MAX)
                return uerror_set(err, ERROR_INVALID_ARGS, -E2BIG,
                                  "http-headers: header '%.*s' is %zu bytes, more than %d: shorten it",
                                  (int) MIN(name_len, (size_t) 64), h, len, SOURCE_HTTP_HEADER_MAX);
        if (name_len == 0 || name_len > 128 || h[name_len] != ':')
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "http-headers: entry %zu bytes long is not of the form 'Name: value' (a header "
                                  "name of letters, digits and !#$%%&'*+-.^_`|~, then a colon)", len);
        for (size_t i = 0; i < ELEMENTSOF(reserved_headers); i++)
                if (strlen(reserved_headers[i]) == name_len && strncasecmp(h, reserved_headers[i], name_len) == 0)
                        return uerror_set(err, ERROR_INVALID_ARGS, -EPERM,
                                          "http-headers: header '%s' is set by updated itself and cannot be given; "
                                          "drop it", reserved_headers[i]);
        v = h + name_len + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        if (!*v)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "http-headers: header '%.*s' has an empty value: give a value", (int) name_len, h);
        for (; *v; v++)
                if ((unsigned char) *v < 0x20 ? *v != '\t' : (unsigned char) *v == 0x7f)
                        return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                          "http-headers: the value of header '%.*s' holds a control character "
                                          "(CR, LF, ...): one header per entry, printable characters only",
                                          (int) name_len, h);
        return 0;
}

static void blob_done(SourceHttpBlob *b, bool secret) {
        if (b->data && secret)
                explicit_bzero(b->data, b->size);
        b->data = mfree(b->data);
        b->size = 0;
}

void source_http_options_done(SourceHttpOptions *o) {
        if (!o)
                return;
        blob_done(&o->tls_cert, false);
        blob_done(&o->tls_key, true);
        blob_done(&o->tls_ca, false);
        if (o->headers) {
                /* A header may carry a token. */
                for (char **h = o->headers; *h; h++) {
                        explicit_bzero(*h, strlen(*h));
                        free(*h);
                }
                o->headers = mfree(o->headers);
        }
}

static int set_blob(CURL *c, CURLoption option, const SourceHttpBlob *b) {
        struct curl_blob blob = { .data = b->data, .len = b->size, .flags = CURL_BLOB_NOCOPY };

        if (b->size == 0)
                return 0;
        return curl_api.easy_setopt(c, option, &blob) == CURLE_OK ? 0 : -EINVAL;
}

static int setup_options(SourceHttp *s, CURL *c) {
        if (set_blob(c, CURLOPT_SSLCERT_BLOB, &s->opts.tls_cert) < 0 ||
            set_blob(c, CURLOPT_SSLKEY_BLOB, &s->opts.tls_key) < 0 ||
            set_blob(c, CURLOPT_CAINFO_BLOB, &s->opts.tls_ca) < 0)
                return -EINVAL;
        /* Only the system's CA bundle is replaced, not added to: no CA path either. */
        if (s->opts.tls_ca.size > 0 && curl_api.easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK)
                return -EINVAL;
        if (s->headers &&
            (curl_api.easy_setopt(c, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
             /* Never to a proxy's CONNECT: the headers are for the server. */
             curl_api.easy_setopt(c, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE) != CURLE_OK))
                return -EINVAL;
        return 0;
}

/* The options every transfer of the source has. */
static int setup_common(SourceHttp *s, CURL *c, uint64_t max_size, char *errbuf) {
        if (setup_options(s, c) < 0)
                return -EINVAL;
        if (curl_api.easy_setopt(c, CURLOPT_URL, s->url) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_MAXREDIRS, 5L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L) != CURLE_OK ||
            /* A stalled server: less than 1 byte/s for 60 s aborts. */
            curl_api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) MIN(max_size, (uint64_t) INT64_MAX)) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_USERAGENT, "update1/" UPDATE1_VERSION) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
                return -EINVAL;
        return 0;
}

static int setup_curl(SourceHttp *s, uint64_t max_size) {
        CURL *c = curl_api.easy_init();

        if (!c)
                return -ENOMEM;
        s->curl = c;

        if (setup_common(s, c, max_size, s->errbuf) < 0 ||
            curl_api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_stream_header) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_HEADERDATA, s) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_XFERINFODATA, s) != CURLE_OK ||
            curl_api.easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            /* libcurl's 16 KiB receive buffer: a recvfrom() per 16 KiB (6600 for a 98 MiB
             * bundle, 420 at 256 KiB) and as many wake-ups of the reader; freed with the
             * handle after the transfer. */
            curl_api.easy_setopt(c, CURLOPT_BUFFERSIZE, (long) HTTP_BUFFER_SIZE) != CURLE_OK)
                return -EINVAL;
        return 0;
}

int source_http_open(const char *url, uint64_t max_size, SourceHttpOptions *opts, SourceHttp **ret, UError *err) {
        _cleanup_(source_http_freep) SourceHttp *s = NULL;
        int fds[2], r;

        assert(url);
        assert(ret);

        s = calloc(1, sizeof(*s));
        if (!s)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        s->pipe_r = s->pipe_w = s->cancel_fd = -EBADF;
        s->finished = true; /* until the thread runs */

        s->url = strdup(url);
        if (!s->url || url_redact(url, &s->display) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = source_http_global_init();
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot download %s: libcurl unavailable: %s", s->display,
                                  global_error);

        for (char **h = opts ? opts->headers : NULL; h && *h; h++) {
                struct curl_slist *l = curl_api.slist_append(s->headers, *h);

                if (!l)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                s->headers = l;
        }
        if (opts) {
                s->opts = *opts;
                *opts = (SourceHttpOptions) {};
        }

        s->max_size = max_size;
        r = setup_curl(s, max_size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot set up a download of %s", s->display);

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

/* Stops the streaming transfer (if it runs) and waits for its thread. */
static void stop_stream(SourceHttp *s) {
        if (s->finished)
                return;
        atomic_store(&s->abort, true);
        if (s->pipe_r >= 0)
                close(s->pipe_r);
        s->pipe_r = -EBADF;
        (void) pthread_join(s->thread, NULL);
        s->finished = true;
}

int source_http_finish(SourceHttp *s, UError *err) {
        _cleanup_free_ char *details = NULL;

        stop_stream(s);

        if (s->code == CURLE_OK)
                return 0;
        if (s->stream_bad_status != 0)
                return uerror_set(err, ERROR_IO, -EIO,
                                  "Download of %s failed: the request for the rest of the bundle (from byte %" PRIu64
                                  ") was answered with HTTP status %ld and not with those bytes; the server changed "
                                  "how it serves ranges between two requests: try again, or install from a file",
                                  s->display, STREAM_FIRST_BYTES, s->stream_bad_status);
        /* Stopped by us (reader closed, cancelled, finished early): not a download error. */
        if ((s->code == CURLE_WRITE_ERROR && atomic_load(&s->reader_gone)) ||
            (s->code == CURLE_ABORTED_BY_CALLBACK && atomic_load(&s->abort)))
                return 0;

        /* libcurl's own text may quote a URL (a redirect target, a proxy): redacted as well. */
        if (s->errbuf[0] && url_redact_text(s->errbuf, &details) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (s->http_status > 0)
                return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), HTTP status %ld",
                                  s->display, (int) s->code, curl_api.easy_strerror(s->code),
                                  details ?: "no details", s->http_status);
        return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), no HTTP response",
                          s->display, (int) s->code, curl_api.easy_strerror(s->code), details ?: "no details");
}

void source_http_explain(SourceHttp *s, UError *err) {
        UError http_err = UERROR_NULL;

        if (source_http_finish(s, &http_err) < 0 && (err->kind == ERROR_IO || err->kind == ERROR_INVALID_BUNDLE))
                *err = http_err;
        else if (err->kind == ERROR_IO && source_http_range_error(s)) {
                *err = UERROR_NULL;
                (void) uerror_set(err, ERROR_IO, -EIO, "%s", source_http_range_error(s));
        }
}

SourceHttp *source_http_free(SourceHttp *s) {
        if (!s)
                return NULL;
        if (s->started)
                (void) source_http_finish(s, NULL);
        if (s->curl)
                curl_api.easy_cleanup(s->curl);
        if (s->ranged) {
                curl_api.easy_cleanup(s->ranged);
                log_info("Read %s with %u range requests, %" PRIu64 " of %" PRIu64 " bytes", s->display,
                         s->range_requests, s->range_bytes, s->size);
        }
        if (s->pipe_r >= 0)
                close(s->pipe_r);
        if (s->pipe_w >= 0)
                close(s->pipe_w);
        if (s->headers)
                curl_api.slist_free_all(s->headers);
        source_http_options_done(&s->opts);
        free(s->url);
        free(s->display);
        free(s);
        return NULL;
}

/* ---- ranged reads ---- */

void source_http_set_cancel_fd(SourceHttp *s, int fd) {
        s->cancel_fd = fd;
}

/* A stalled server is cut by the low-speed limit (60 s, setup_common()), as for the stream; a
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

static int range_fail(SourceHttp *s, CURLcode code, const char *what) {
        _cleanup_free_ char *details = NULL;

        if (s->range_errbuf[0])
                (void) url_redact_text(s->range_errbuf, &details);
        range_error(s, "%s of %s failed: curl error %d: %s (%s)", what, s->display, (int) code,
                  curl_api.easy_strerror(code), details ?: "no details");
        return -EIO;
}

/* "Content-Range: bytes 0-0/12345" → s->size (the only header a ranged read looks at). */
static size_t on_range_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nitems;
        char line[256], *slash, *end;
        unsigned long long total;

        if (n < sizeof(line) && strncasecmp(buffer, "Content-Range:", 14) == 0) {
                memcpy(line, buffer, n);
                line[n] = 0;
                slash = strrchr(line, '/');
                if (slash) {
                        errno = 0;
                        total = strtoull(slash + 1, &end, 10);
                        if (errno == 0 && end != slash + 1 && (*end == '\r' || *end == '\n' || *end == 0))
                                s->size = total;
                }
        }
        return n;
}

static int range_get(SourceHttp *s, uint64_t offset, void *buf, size_t size);

/* On first use: set up the second handle and learn the size from the Content-Range of a
 * one-byte request (not HEAD: a pre-signed URL is often valid for GET only). */
static int ranged_handle_setup(SourceHttp *s) {
        uint8_t first;
        int r;

        if (s->ranged)
                return 0;
        s->ranged = curl_api.easy_init();
        if (!s->ranged)
                return -ENOMEM;
        if (setup_common(s, s->ranged, s->max_size, s->range_errbuf) < 0 ||
            curl_api.easy_setopt(s->ranged, CURLOPT_WRITEFUNCTION, on_range_write) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_HEADERFUNCTION, on_range_header) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_HEADERDATA, s) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_XFERINFOFUNCTION, on_range_xferinfo) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_XFERINFODATA, s) != CURLE_OK ||
            curl_api.easy_setopt(s->ranged, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
                return -EINVAL;
        s->size = UINT64_MAX;
        r = range_get(s, 0, &first, 1);
        if (r < 0)
                return r;
        if (s->size == UINT64_MAX) {
                range_error(s, "Range request of %s: no size in the answer's Content-Range", s->display);
                return -EIO;
        }
        return 0;
}

/* A ranged read: the stream stops first (the reader has seen enough of it to know it needs
 * offsets), also when a probe set up the handle while the stream went on. */
static int ranged_setup(SourceHttp *s) {
        stop_stream(s);
        return ranged_handle_setup(s);
}

/* The probe runs its one-byte request on the second handle while the stream waits in its
 * pipe: a server that ignores Range has cost one small request, and the stream goes on. */
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
                curl_api.easy_cleanup(s->ranged);
        s->ranged = NULL;
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
        if (curl_api.easy_setopt(s->ranged, CURLOPT_RANGE, range) != CURLE_OK)
                return -EINVAL;
        code = curl_api.easy_perform(s->ranged);
        (void) curl_api.easy_getinfo(s->ranged, CURLINFO_RESPONSE_CODE, &status);
        s->range_buf = NULL;
        s->range_requests++;
        if (code == CURLE_ABORTED_BY_CALLBACK)
                return -ECANCELED; /* not a failure of the server: the reader says "cancelled" */
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
        s->range_bytes += size;
        return 0;
}
