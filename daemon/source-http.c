/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "macro.h"
#include "source-http-state.h"
#include "source-http.h"
#include "url.h"

#define HTTP_BUFFER_SIZE (256 << 10)
/* The stream asks for what the reader announces it needs (source_http_want()), no more: first
 * STREAM_FIRST_BYTES (the header and a typical signature), then [pos, want) for each section the
 * reader announces (the rest of the signature, the chunk tables of format 2, the payload).  A
 * reader that switches to ranged reads (a RAUC bundle, a delta install) has then cost what it
 * read, not what the socket buffers took of the whole body before the stream was stopped.  A
 * server that ignores Range answers the first request with 200 and the whole file: the stream
 * as before. */
#define STREAM_FIRST_BYTES (UINT64_C(64) << 10)

/* libcurl is loaded with dlopen() on the first download: with its TLS, HTTP/2, IDN, LDAP and
 * Kerberos dependencies it is about 30 libraries and several MiB of resident memory that a
 * daemon which never downloads (fd installs, or a separate download agent) should not pay.
 * Without libcurl installed only URL installs fail. */
#define LIBCURL_SONAME "libcurl.so.4"

SourceHttpCurl source_http_curl;

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
        *(void **) &source_http_curl.global_init = dlsym(h, "curl_global_init");
        *(void **) &source_http_curl.easy_init = dlsym(h, "curl_easy_init");
        *(void **) &source_http_curl.easy_setopt = dlsym(h, "curl_easy_setopt");
        *(void **) &source_http_curl.easy_perform = dlsym(h, "curl_easy_perform");
        *(void **) &source_http_curl.easy_getinfo = dlsym(h, "curl_easy_getinfo");
        *(void **) &source_http_curl.easy_strerror = dlsym(h, "curl_easy_strerror");
        *(void **) &source_http_curl.easy_cleanup = dlsym(h, "curl_easy_cleanup");
        *(void **) &source_http_curl.slist_append = dlsym(h, "curl_slist_append");
        *(void **) &source_http_curl.slist_free_all = dlsym(h, "curl_slist_free_all");
        if (!source_http_curl.global_init || !source_http_curl.easy_init || !source_http_curl.easy_setopt || !source_http_curl.easy_perform ||
            !source_http_curl.easy_getinfo || !source_http_curl.easy_strerror || !source_http_curl.easy_cleanup || !source_http_curl.slist_append ||
            !source_http_curl.slist_free_all) {
                snprintf(global_error, sizeof(global_error), "%s lacks a libcurl function", LIBCURL_SONAME);
                dlclose(h);
                global_result = -ENOSYS;
                return;
        }
        if (source_http_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(global_error, sizeof(global_error), "curl_global_init() failed");
                global_result = -EIO;
                return;
        }
        source_http_curl.handle = h; /* never unloaded: libcurl cannot be cleanly re-initialised */
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

/* The value of a "Name: value" header line, without blanks and CRLF, into out[VALIDATOR_MAX]
 * if it is printable ASCII and fits; else out is empty (not used).  It goes into a request
 * header (If-Range): a server's control characters never do. */
static void header_value(const char *buffer, size_t n, size_t name_len, char *out) {
        const char *v = buffer + name_len, *end = buffer + n;

        out[0] = 0;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (end == v || (size_t) (end - v) >= VALIDATOR_MAX)
                return;
        for (const char *p = v; p < end; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
                        return;
        memcpy(out, v, (size_t) (end - v));
        out[end - v] = 0;
}

static size_t on_stream_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nitems;

        /* Every answer (a redirect has its own) starts with its status line: the last one's
         * headers are the ones of the body. */
        if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
                s->stream_start = UINT64_MAX;
                s->stream_total = 0;
                s->etag[0] = s->last_modified[0] = 0;
        } else if (parse_content_range(buffer, n, &s->stream_start, &s->stream_total) >= 0)
                ;
        else if (n > 5 && strncasecmp(buffer, "ETag:", 5) == 0)
                header_value(buffer, n, 5, s->etag);
        else if (n > 14 && strncasecmp(buffer, "Last-Modified:", 14) == 0)
                header_value(buffer, n, 14, s->last_modified);
        return n;
}

/* The first answer's validator for If-Range: a strong ETag (a weak one, W/"...", cannot be used
 * in If-Range), else Last-Modified; "" without either.  Published under the lock for the ranged
 * reads, which another thread sets up. */
static void publish_validator(SourceHttp *s, bool ranges) {
        const char *v = s->etag[0] == '"' ? s->etag : s->last_modified;

        pthread_mutex_lock(&s->lock);
        memcpy(s->validator, v, VALIDATOR_MAX);
        s->ranges_seen = ranges;
        pthread_mutex_unlock(&s->lock);
}

/* Every answer must be what was asked: the first one a 206 from 0 or a 200 (the whole file:
 * no more requests), each later one a 206 from exactly stream_pos.  A 200 to a request with
 * If-Range means the bundle changed on the server since the first answer: refused, never
 * mixed into the stream. */
static bool stream_answer_ok(SourceHttp *s) {
        long code = 0;

        (void) source_http_curl.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
        if (s->req_first && code == 200) {
                s->whole = true;
                s->req_len = 0;
        } else if (code == 200 && s->stream_if_range) {
                s->stream_changed = true;
                return false;
        } else if (code != 206 || s->stream_start != s->req_start) {
                s->stream_bad_status = code ?: -1;
                return false;
        } else if (!s->req_first && s->file_size > 0 && s->stream_total != s->file_size) {
                s->stream_changed = true; /* a server that ignores If-Range, but not the size */
                return false;
        }
        if (s->req_first) {
                s->file_size = s->whole ? 0 : s->stream_total;
                publish_validator(s, !s->whole);
        }
        s->req_checked = true;
        return true;
}

/* Under the lock: the reader's buffer is full, or the stream ended.  One eventfd write per
 * buffer, and none for a reader that did not go to sleep. */
static void wake_reader(SourceHttp *s) {
        if (!s->reader_sleeps)
                return;
        s->reader_sleeps = false;
        (void) eventfd_write(s->wake_fd, 1);
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        SourceHttp *s = userdata;
        size_t n = size * nmemb;  /* size is always 1 */

        if (!s->req_checked && !stream_answer_ok(s))
                return 0; /* CURLE_WRITE_ERROR, explained by source_http_finish() */
        /* More than the range asked for: not those bytes. */
        if (s->req_len > 0 && n > s->req_len - s->req_got) {
                s->stream_bad_status = 206;
                return 0;
        }
        /* Straight into the reader's buffer, under the lock (the reader takes its buffer back
         * only under it: after a cancel, nothing writes into it any more).  Whatever does not
         * fit stays in curl's buffer, this callback blocked until the reader's next buffer: the
         * socket buffers meanwhile.  Nothing waits here past 'abort'. */
        pthread_mutex_lock(&s->lock);
        for (size_t done = 0; done < n;) {
                size_t k;

                while (!atomic_load(&s->abort) && (!s->dst || s->dst_got == s->dst_size))
                        pthread_cond_wait(&s->cond, &s->lock);
                if (atomic_load(&s->abort)) {
                        pthread_mutex_unlock(&s->lock);
                        atomic_store(&s->reader_gone, true);
                        return 0; /* CURLE_WRITE_ERROR */
                }
                k = MIN(n - done, s->dst_size - s->dst_got);
                memcpy(s->dst + s->dst_got, ptr + done, k);
                s->dst_got += k;
                s->stream_pos += k;
                s->req_got += k;
                done += k;
                if (s->dst_got == s->dst_size)
                        wake_reader(s);
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

int source_http_read(void *userdata, void *buf, size_t size, int cancel_fd, size_t *ret) {
        SourceHttp *s = userdata;
        struct pollfd p[2] = {
                { .fd = s->wake_fd, .events = POLLIN },
                { .fd = cancel_fd, .events = POLLIN },
        };
        size_t got;
        int k = 0;

        pthread_mutex_lock(&s->lock);
        if (atomic_load(&s->abort)) {
                pthread_mutex_unlock(&s->lock);
                return -ESHUTDOWN;
        }
        s->dst = buf;
        s->dst_size = size;
        s->dst_got = 0;
        pthread_cond_broadcast(&s->cond); /* a write callback waiting for room */
        while (s->dst_got < size && !s->stream_done) {
                eventfd_t v;

                s->reader_sleeps = true;
                pthread_mutex_unlock(&s->lock);
                if (poll(p, cancel_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
                        k = -errno;
                else if (cancel_fd >= 0 && p[1].revents != 0)
                        k = -ECANCELED;
                else if (p[0].revents != 0)
                        (void) eventfd_read(s->wake_fd, &v);
                pthread_mutex_lock(&s->lock);
                if (k < 0)
                        break;
        }
        s->reader_sleeps = false;
        got = s->dst_got;
        s->dst = NULL;
        s->dst_size = s->dst_got = 0;
        pthread_mutex_unlock(&s->lock);
        if (k < 0)
                return k;
        *ret = got;
        return 0;
}

/* Called at least once a second, also while connecting: lets finish() stop a stuck transfer. */
static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
        SourceHttp *s = userdata;

        return atomic_load(&s->abort) ? 1 : 0;
}

void source_http_want(void *userdata, uint64_t end) {
        SourceHttp *s = userdata;

        pthread_mutex_lock(&s->lock);
        if (end > s->want) {
                s->want = end;
                pthread_cond_signal(&s->cond);
        }
        pthread_mutex_unlock(&s->lock);
}

/* Until the reader wants more than it was handed: its end, or 0 once the stream is stopped. */
static uint64_t wait_want(SourceHttp *s) {
        uint64_t want = 0;

        pthread_mutex_lock(&s->lock);
        while (!atomic_load(&s->abort) && s->want <= s->stream_pos)
                pthread_cond_wait(&s->cond, &s->lock);
        if (!atomic_load(&s->abort))
                want = s->want;
        pthread_mutex_unlock(&s->lock);
        return want;
}

/* The extra headers plus "If-Range: <validator>" (NULL without a validator): every request
 * after the first carries it, so a bundle replaced on the server answers 200, not bytes of
 * another file. */
int source_http_if_range_headers(SourceHttp *s, const char *validator, struct curl_slist **ret) {
        struct curl_slist *l = NULL, *n;
        char line[VALIDATOR_MAX + 16];

        *ret = NULL;
        if (!validator[0])
                return 0;
        snprintf(line, sizeof(line), "If-Range: %s", validator);
        for (char **h = s->opts.headers; h && *h; h++) {
                n = source_http_curl.slist_append(l, *h);
                if (!n)
                        goto oom;
                l = n;
        }
        n = source_http_curl.slist_append(l, line);
        if (!n)
                goto oom;
        *ret = n;
        return 0;
oom:
        if (l)
                source_http_curl.slist_free_all(l);
        return -ENOMEM;
}

int source_http_set_if_range(CURL *c, struct curl_slist *l) {
        if (!l)
                return 0;
        if (source_http_curl.easy_setopt(c, CURLOPT_HTTPHEADER, l) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE) != CURLE_OK)
                return -EINVAL;
        return 0;
}

/* One request of the stream for [start, start + len) (len 0: to the end). */
static CURLcode stream_request(SourceHttp *s, uint64_t start, uint64_t len) {
        char range[64];
        CURLcode code;

        if (len > 0)
                snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, start, start + len - 1);
        else
                snprintf(range, sizeof(range), "%" PRIu64 "-", start);
        s->req_start = start;
        s->req_len = len;
        s->req_got = 0;
        s->req_checked = false;
        s->stream_requests++;
        if (source_http_curl.easy_setopt(s->curl, CURLOPT_RANGE, range) != CURLE_OK)
                return CURLE_FAILED_INIT;
        code = source_http_curl.easy_perform(s->curl);
        (void) source_http_curl.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->http_status);
        /* An answer without a body byte was not checked yet: an empty file (200) is one, a
         * range that brings nothing is not the bytes asked for. */
        if (code == CURLE_OK && !s->req_checked && !stream_answer_ok(s))
                return CURLE_WRITE_ERROR;
        if (code == CURLE_OK && !s->whole && s->req_got == 0) {
                s->stream_bad_status = s->http_status ?: -1;
                return CURLE_WRITE_ERROR;
        }
        return code;
}

/* The stream: the first STREAM_FIRST_BYTES, then for each end the reader announces the bytes up
 * to it, until the end of the file, an error, or source_http_stop_stream().  It never waits for
 * a want that cannot come: the reader announces before it reads (a read beyond what it
 * announced announces that read's end first, lib/bundle-reader.c), and a reader that stops
 * reading (an error, a cancel, ranged reads from here on) stops the stream through
 * source_http_finish() or the first ranged read. */
static void *transfer_thread(void *userdata) {
        SourceHttp *s = userdata;
        sigset_t all;

        /* Signals are the main loop's, never this thread's. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        s->req_first = true;
        s->code = stream_request(s, 0, STREAM_FIRST_BYTES);
        s->req_first = false;
        if (s->code == CURLE_OK && !s->whole) {
                if (source_http_if_range_headers(s, s->validator, &s->stream_if_range) < 0)
                        s->code = CURLE_OUT_OF_MEMORY;
                else if (source_http_set_if_range(s->curl, s->stream_if_range) < 0)
                        s->code = CURLE_FAILED_INIT;
        }
        while (s->code == CURLE_OK && !s->whole) {
                uint64_t end;

                if (s->file_size > 0 && s->stream_pos >= s->file_size)
                        break; /* all of it */
                end = wait_want(s);
                if (end == 0)
                        break; /* stopped */
                if (s->file_size > 0)
                        s->code = stream_request(s, s->stream_pos, MIN(end, s->file_size) - s->stream_pos);
                else {
                        /* No size in the first Content-Range (its total was a star): the
                         * rest in one request, as before. */
                        s->code = stream_request(s, s->stream_pos, 0);
                        s->whole = true;
                }
        }

        /* EOF for the reader: it decides whether the stream was complete. */
        pthread_mutex_lock(&s->lock);
        s->stream_done = true;
        wake_reader(s);
        pthread_mutex_unlock(&s->lock);
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
        return source_http_curl.easy_setopt(c, option, &blob) == CURLE_OK ? 0 : -EINVAL;
}

static int setup_options(SourceHttp *s, CURL *c) {
        if (set_blob(c, CURLOPT_SSLCERT_BLOB, &s->opts.tls_cert) < 0 ||
            set_blob(c, CURLOPT_SSLKEY_BLOB, &s->opts.tls_key) < 0 ||
            set_blob(c, CURLOPT_CAINFO_BLOB, &s->opts.tls_ca) < 0)
                return -EINVAL;
        /* Only the system's CA bundle is replaced, not added to: no CA path either. */
        if (s->opts.tls_ca.size > 0 && source_http_curl.easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK)
                return -EINVAL;
        if (s->headers &&
            (source_http_curl.easy_setopt(c, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
             /* Never to a proxy's CONNECT: the headers are for the server. */
             source_http_curl.easy_setopt(c, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE) != CURLE_OK))
                return -EINVAL;
        return 0;
}

/* The options every transfer of the source has. */
int source_http_setup_common(SourceHttp *s, CURL *c, uint64_t max_size, char *errbuf) {
        if (setup_options(s, c) < 0)
                return -EINVAL;
        if (source_http_curl.easy_setopt(c, CURLOPT_URL, s->url) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_MAXREDIRS, 5L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L) != CURLE_OK ||
            /* A stalled server: less than 1 byte/s for 60 s aborts. */
            source_http_curl.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) MIN(max_size, (uint64_t) INT64_MAX)) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_USERAGENT, "update1/" UPDATE1_VERSION) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
                return -EINVAL;
        return 0;
}

static int setup_curl(SourceHttp *s, uint64_t max_size) {
        CURL *c = source_http_curl.easy_init();

        if (!c)
                return -ENOMEM;
        s->curl = c;

        if (source_http_setup_common(s, c, max_size, s->errbuf) < 0 ||
            source_http_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_stream_header) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_HEADERDATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_XFERINFODATA, s) != CURLE_OK ||
            source_http_curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            /* libcurl's 16 KiB receive buffer: a recvfrom() per 16 KiB (6600 for a 98 MiB
             * bundle, 420 at 256 KiB) and as many wake-ups of the reader; freed with the
             * handle after the transfer. */
            source_http_curl.easy_setopt(c, CURLOPT_BUFFERSIZE, (long) HTTP_BUFFER_SIZE) != CURLE_OK)
                return -EINVAL;
        return 0;
}

int source_http_open(const char *url, uint64_t max_size, SourceHttpOptions *opts, SourceHttp **ret, UError *err) {
        _cleanup_(source_http_freep) SourceHttp *s = NULL;
        int r;

        assert(url);
        assert(ret);

        s = calloc(1, sizeof(*s));
        if (!s)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        s->wake_fd = s->cancel_fd = -EBADF;
        s->finished = true; /* until the thread runs */
        (void) pthread_mutex_init(&s->lock, NULL);
        (void) pthread_cond_init(&s->cond, NULL);

        s->url = strdup(url);
        if (!s->url || url_redact(url, &s->display) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = source_http_global_init();
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot download %s: libcurl unavailable: %s", s->display,
                                  global_error);

        for (char **h = opts ? opts->headers : NULL; h && *h; h++) {
                struct curl_slist *l = source_http_curl.slist_append(s->headers, *h);

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

        s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->wake_fd < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot create an eventfd: %s", strerror(errno));

        r = -pthread_create(&s->thread, NULL, transfer_thread, s);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot start the download thread: %s", strerror(-r));
        s->started = true;
        s->finished = false;

        *ret = TAKE_PTR(s);
        return 0;
}

/* Stops the streaming transfer (if it runs) and waits for its thread. */
void source_http_stop_stream(SourceHttp *s) {
        if (s->finished)
                return;
        atomic_store(&s->abort, true);
        /* Wakes a thread that waits for the reader's next want (wait_want()) or buffer
         * (on_write()). */
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        (void) pthread_join(s->thread, NULL);
        s->finished = true;
}

int source_http_finish(SourceHttp *s, UError *err) {
        _cleanup_free_ char *details = NULL;

        source_http_stop_stream(s);

        if (s->code == CURLE_OK)
                return 0;
        if (s->stream_changed)
                return uerror_set(err, ERROR_IO, -ESTALE,
                                  "Download of %s failed: the bundle changed on the server during the download (the "
                                  "answer for the bytes from %" PRIu64 " is not of the file the first answer was): "
                                  "install again", s->display, s->req_start);
        if (s->stream_bad_status != 0)
                return uerror_set(err, ERROR_IO, -EIO,
                                  "Download of %s failed: the request for the bundle's bytes (from byte %" PRIu64
                                  ") was answered with HTTP status %ld and not with those bytes; the server "
                                  "changed how it serves ranges between two requests: try again, or install "
                                  "from a file", s->display, s->req_start, s->stream_bad_status);
        /* Stopped by us (reader closed, cancelled, finished early): not a download error. */
        if ((s->code == CURLE_WRITE_ERROR && atomic_load(&s->reader_gone)) ||
            (s->code == CURLE_ABORTED_BY_CALLBACK && atomic_load(&s->abort)))
                return 0;

        /* libcurl's own text may quote a URL (a redirect target, a proxy): redacted as well. */
        if (s->errbuf[0] && url_redact_text(s->errbuf, &details) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (s->http_status > 0)
                return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), HTTP status %ld",
                                  s->display, (int) s->code, source_http_curl.easy_strerror(s->code),
                                  details ?: "no details", s->http_status);
        return uerror_set(err, ERROR_IO, -EIO, "Download of %s failed: curl error %d: %s (%s), no HTTP response",
                          s->display, (int) s->code, source_http_curl.easy_strerror(s->code), details ?: "no details");
}

SourceHttp *source_http_free(SourceHttp *s) {
        if (!s)
                return NULL;
        if (s->started)
                (void) source_http_finish(s, NULL);
        if (s->curl) {
                source_http_curl.easy_cleanup(s->curl);
                log_info("Streamed %s with %u requests, %" PRIu64 " bytes", s->display, s->stream_requests,
                         s->stream_pos);
        }
        if (s->stream_if_range)
                source_http_curl.slist_free_all(s->stream_if_range);
        if (s->ranged_if_range)
                source_http_curl.slist_free_all(s->ranged_if_range);
        if (s->ranged) {
                source_http_curl.easy_cleanup(s->ranged);
                log_info("Read %s with %u range requests, %" PRIu64 " of %" PRIu64 " bytes", s->display,
                         s->range_requests, s->range_bytes, s->size);
        }
        if (s->wake_fd >= 0)
                close(s->wake_fd);
        if (s->headers)
                source_http_curl.slist_free_all(s->headers);
        source_http_options_done(&s->opts);
        free(s->url);
        free(s->display);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}
