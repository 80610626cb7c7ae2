/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "auth.h"
#include "bus-common.h"
#include "bus-error.h"
#include "log.h"
#include "mark.h"
#include "open-as.h"
#include "reboot.h"
#include "slot-policy.h"
#include "source-http.h"

int bus_invalid_args(sd_bus_error *error, int r, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, buf);
        return r < 0 ? r : -EINVAL;
}

/* JobReply.fn for a call a job answers later: userdata is the call's reference. */
static void reply_deferred(void *userdata, const UError *error, const char *result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        int r;

        if (error)
                r = bus_reply_uerror(call, error);
        else if (result)
                r = sd_bus_reply_method_return(call, "s", result);
        else
                r = sd_bus_reply_method_return(call, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot reply to %s: %m", sd_bus_message_get_member(call) ?: "a call");
}

JobReply bus_reply_to(sd_bus_message *call) {
        return (JobReply) { .fn = reply_deferred, .userdata = call };
}

bool bus_string_is_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

bool bus_source_is_url(const char *s) {
        return strneq(s, "http://", 7) || strneq(s, "https://", 8);
}

int bus_check_transaction_id(const char *s, sd_bus_error *error) {
        size_t n = strlen(s);

        if (n == 0 || n > BUS_TRANSACTION_ID_MAX || !bus_string_is_printable(s) || strchr(s, ' '))
                return bus_invalid_args(error, -EINVAL,
                                        "Invalid transaction-id '%.*s': 1..%d printable characters without spaces",
                                        (int) MIN(n, (size_t) 160), s, BUS_TRANSACTION_ID_MAX);
        return 0;
}

int bus_check_source(const char *source, bool *ret_url, sd_bus_error *error) {
        bool url = bus_source_is_url(source);

        if (url) {
                if (strlen(source) > BUS_URL_MAX || !bus_string_is_printable(source) || strchr(source, ' '))
                        return bus_invalid_args(error, -EINVAL,
                                                "Invalid URL '%.200s': control characters, spaces or longer than %d",
                                                source, BUS_URL_MAX);
        } else if (source[0] != '/')
                return bus_invalid_args(error, -EINVAL,
                                        "Install source '%.200s' is neither an absolute path nor an http(s):// URL", source);
        else if (strlen(source) >= PATH_MAX)
                return bus_invalid_args(error, -ENAMETOOLONG, "Install path is too long");
        *ret_url = url;
        return 0;
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFSOCK:
                return "a socket";
        case S_IFBLK:
                return "a block device";
        case S_IFCHR:
                return "a character device";
        case S_IFLNK:
                return "a symbolic link";
        default:
                return "an unsupported file type";
        }
}

int bus_check_bundle_fd(Manager *m, int fd, const char *what, sd_bus_error *error) {
        struct stat st;
        int flags;

        if (fstat(fd, &st) < 0)
                return bus_invalid_args(error, -errno, "Cannot stat %s: %s", what, strerror(errno));
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return bus_invalid_args(error, -errno, "Cannot get the flags of %s: %s", what, strerror(errno));
        /* O_PATH descriptors report O_RDONLY but were never checked for read permission. */
        if (flags & O_PATH)
                return bus_invalid_args(error, -EBADF, "%s is an O_PATH descriptor, not open for reading", what);
        if ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR)
                return bus_invalid_args(error, -EBADF, "%s is not open for reading", what);

        if (S_ISREG(st.st_mode)) {
                if ((uint64_t) st.st_size > m->config->max_bundle_size)
                        return bus_invalid_args(error, -EFBIG, "%s is %" PRIu64 " bytes, more than max-bundle-size %" PRIu64,
                                                what, (uint64_t) st.st_size, m->config->max_bundle_size);
        } else if (!S_ISFIFO(st.st_mode))
                return bus_invalid_args(error, -EBADF, "%s is %s, not a regular file or a pipe", what,
                                        file_type_name(st.st_mode));
        return 0;
}

/* The sd_bus_error of the checks above, as a UError of kind InvalidArgs. */
static int invalid_args_to_uerror(sd_bus_error *e, int r, UError *err) {
        (void) uerror_set(err, ERROR_INVALID_ARGS, r, "%s", e->message ?: "Invalid bundle source");
        sd_bus_error_free(e);
        return r;
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer in the main loop.  A caller other than
 * root (group update) gets what it could open itself, nothing more. */
static int open_as_caller(const char *path, const char *what, uid_t uid, int *ret_fd, UError *err) {
        int fd, r;

        if (uid != 0 && uid != geteuid()) {
                r = open_as_user(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, uid, &fd, err);
                if (r < 0) {
                        uerror_prefix(err, "Cannot read the %s", what);
                        return r;
                }
        } else {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        return uerror_set(err, ERROR_INVALID_ARGS, -errno, "Cannot open %s %s: %s", what, path,
                                          strerror(errno));
        }
        *ret_fd = fd;
        return 0;
}

int bus_check_tls_path(const char *key, const char *path, sd_bus_error *error) {
        if (strneq(path, "pkcs11:", 7))
                return bus_invalid_args(error, -EOPNOTSUPP,
                                        "Option '%s': PKCS#11 URIs are not supported by updated; pass the path of a PEM file",
                                        key);
        if (path[0] != '/' || strlen(path) >= PATH_MAX || !bus_string_is_printable(path))
                return bus_invalid_args(error, -EINVAL, "Option '%s': '%.200s' is not an absolute path of a PEM file",
                                        key, path);
        return 0;
}

int bus_check_http_headers(char **headers, sd_bus_error *error) {
        size_t n = 0;

        for (char **h = headers; h && *h; h++, n++) {
                UError err = UERROR_NULL;
                int r;

                if (n >= SOURCE_HTTP_MAX_HEADERS)
                        return bus_invalid_args(error, -E2BIG, "Option 'http-headers': more than %d headers",
                                                SOURCE_HTTP_MAX_HEADERS);
                r = source_http_check_header(*h, &err);
                if (r < 0)
                        return bus_invalid_args(error, r, "%s", err.message);
        }
        return 0;
}

int bus_check_http_args(const BusHttpArgs *a, const char *source, sd_bus_error *error) {
        const char *tls = a->tls_cert ? "tls-cert" : a->tls_key ? "tls-key" : a->tls_ca ? "tls-ca" : NULL;

        if (tls && !strneq(source, "https://", 8))
                return bus_invalid_args(error, -EINVAL, "Option '%s' applies to an https:// source only", tls);
        if (a->headers && a->headers[0] && !bus_source_is_url(source))
                return bus_invalid_args(error, -EINVAL, "Option 'http-headers' applies to an http(s):// source only");
        if (a->tls_key && !a->tls_cert)
                return bus_invalid_args(error, -EINVAL, "Option 'tls-key' needs 'tls-cert' (the certificate of that key)");
        return 0;
}

/* A PEM file the caller can read, into memory. */
static int read_tls_file(const char *key, const char *path, uid_t uid, SourceHttpBlob *ret, UError *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        if (!path)
                return 0;
        r = open_as_caller(path, key, uid, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot stat %s %s: %s", key, path, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size > SOURCE_HTTP_TLS_FILE_MAX)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "%s %s is not a regular file of 1..%d bytes: pass a PEM file", key, path,
                                  SOURCE_HTTP_TLS_FILE_MAX);
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        n = pread(fd, buf, (size_t) st.st_size, 0);
        if (n != st.st_size) {
                explicit_bzero(buf, (size_t) st.st_size);
                return uerror_set(err, ERROR_IO, n < 0 ? -errno : -EIO, "Cannot read %s %s", key, path);
        }
        *ret = (SourceHttpBlob) { .data = TAKE_PTR(buf), .size = (size_t) n };
        return 0;
}

int bus_load_http_options(const BusHttpArgs *a, uid_t uid, SourceHttpOptions *ret, UError *err) {
        _cleanup_(source_http_options_done) SourceHttpOptions o = {};
        size_t n = 0;
        int r;

        r = read_tls_file("tls-cert", a->tls_cert, uid, &o.tls_cert, err);
        if (r >= 0)
                r = read_tls_file("tls-key", a->tls_key, uid, &o.tls_key, err);
        if (r >= 0)
                r = read_tls_file("tls-ca", a->tls_ca, uid, &o.tls_ca, err);
        if (r < 0)
                return r;
        while (a->headers && a->headers[n])
                n++;
        if (n > 0) {
                o.headers = calloc(n + 1, sizeof(char *));
                if (!o.headers)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                for (size_t i = 0; i < n; i++)
                        if (!(o.headers[i] = strdup(a->headers[i])))
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        *ret = o;
        o = (SourceHttpOptions) {};
        return 0;
}

int bus_open_install_source(Manager *m, const char *source, bool url, uid_t uid, SourceHttpOptions *http,
                            InstallRequest *req, UError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (url)
                return source_http_open(source, m->config->max_bundle_size, http, &req->http, err);

        r = open_as_caller(source, "bundle", uid, &fd, err);
        if (r < 0)
                return r;
        r = bus_check_bundle_fd(m, fd, source, &e);
        if (r < 0)
                return invalid_args_to_uerror(&e, r, err);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                return uerror_set(err, ERROR_IO, -errno, "Cannot make %s blocking: %s", source, strerror(errno));
        req->fd = TAKE_FD(fd);
        return 0;
}

int bus_source_preamble(Manager *m, sd_bus_message *msg, const char *source, const BusHttpArgs *http, bool idle,
                        InstallRequest *req, UError *err, sd_bus_error *error) {
        _cleanup_(source_http_options_done) SourceHttpOptions opts = {};
        bool url;
        uid_t uid;
        int r;

        r = bus_check_source(source, &url, error);
        if (r >= 0 && http)
                r = bus_check_http_args(http, source, error);
        if (r >= 0)
                r = authorize(msg, url ? AUTH_ACTION_INSTALL : AUTH_ACTION_INSTALL_PATH, &uid, error);
        if (r < 0)
                return r;
        if (idle) {
                r = bus_check_install_idle(m, err);
                if (r < 0)
                        return r;
        }
        *req = (InstallRequest) { .source = source, .fd = -EBADF, .uid = uid };
        r = http ? bus_load_http_options(http, uid, &opts, err) : 0;
        if (r >= 0)
                r = bus_open_install_source(m, source, url, uid, &opts, req, err);
        return r;
}

int bus_check_install_idle(const Manager *m, UError *err) {
        if (m->install)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "Another installation is in progress");
        if (reboot_running(m))
                return uerror_set(err, ERROR_BUSY, -EBUSY, "A reboot was requested and its command is running");
        return 0;
}

int bus_authorize_property_read(sd_bus *bus, sd_bus_error *error) {
        sd_bus_message *call = sd_bus_get_current_message(bus);

        if (!call || sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", NULL) <= 0)
                return 0;
        return authorize(call, AUTH_ACTION_READ, NULL, error);
}

/* ---- introspection without a bus daemon ---- */

typedef struct IntrospectState {
        bool done;
        int result;
        char *xml;
} IntrospectState;

static int on_introspect_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        IntrospectState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *xml;
        int r;

        s->done = true;
        if (e) {
                log_error("Introspect failed: %s: %s", e->name, e->message);
                s->result = -EIO;
                return 0;
        }
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0) {
                s->result = r;
                return 0;
        }
        s->xml = strdup(xml);
        s->result = s->xml ? 0 : -ENOMEM;
        return 0;
}

int bus_introspect_vtable(const BusObject *o, FILE *f) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        IntrospectState state = {};
        sd_id128_t id;
        int fds[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return log_error_errno(-errno, "socketpair: %m");

        r = sd_bus_new(&server);
        if (r >= 0)
                r = sd_bus_set_fd(server, fds[0], fds[0]);
        if (r < 0) {
                close(fds[0]);
                close(fds[1]);
                return log_error_errno(r, "Cannot set up the introspection server: %m");
        }
        r = sd_bus_new(&client);
        if (r >= 0)
                r = sd_bus_set_fd(client, fds[1], fds[1]);
        if (r < 0) {
                close(fds[1]);
                return log_error_errno(r, "Cannot set up the introspection client: %m");
        }
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(server, 1, id);
        if (r >= 0)
                r = sd_bus_add_object_vtable(server, NULL, o->path, o->interface, o->vtable, NULL);
        if (r >= 0)
                r = sd_bus_start(server);
        if (r >= 0)
                r = sd_bus_start(client);
        if (r >= 0)
                r = sd_bus_message_new_method_call(client, &call, NULL, o->path,
                                                   "org.freedesktop.DBus.Introspectable", "Introspect");
        if (r >= 0)
                r = sd_bus_call_async(client, NULL, call, on_introspect_reply, &state, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot start introspection: %m");

        /* Both ends live in this thread: pump them until the reply arrives. */
        for (unsigned idle = 0; !state.done;) {
                int a, b;

                a = sd_bus_process(server, NULL);
                b = sd_bus_process(client, NULL);
                if (a < 0 || b < 0)
                        return log_error_errno(a < 0 ? a : b, "Introspection failed: %m");
                if (a > 0 || b > 0)
                        continue;
                struct pollfd p[2] = {
                        { .fd = fds[0], .events = (short) sd_bus_get_events(server) },
                        { .fd = fds[1], .events = (short) sd_bus_get_events(client) },
                };
                r = poll(p, 2, 1000);
                if (r < 0 && errno != EINTR)
                        return log_error_errno(-errno, "poll: %m");
                if (r == 0 && ++idle >= 5)
                        return log_error_errno(-ETIMEDOUT, "Introspection timed out");
        }
        if (state.result < 0)
                return state.result;

        fputs(state.xml, f);
        free(state.xml);
        return fflush(f) == 0 ? 0 : -EIO;
}

/* ---- Mark, for both faces ---- */

int bus_mark(Manager *m, sd_bus_message *msg, MarkState state, const char *slot, char **ret_slot, char **ret_message,
             sd_bus_error *error) {
        _cleanup_free_ char *name = NULL, *message = NULL;
        UError err = UERROR_NULL;
        uid_t uid;
        int idx = -1, r;

        /* Validation first: a bad slot name is InvalidArgs for everyone. */
        r = mark_resolve_slot(m, slot, &idx, &err);
        if (r < 0 && err.kind == ERROR_INVALID_ARGS)
                return bus_error_set_uerror(error, &err);
        err = UERROR_NULL;

        r = authorize(msg, AUTH_ACTION_MARK, &uid, error);
        if (r < 0)
                return r;

        /* MarkGood of the booted group may run beside an install (the install never targets
         * it, and refuses to start while it is on trial): update-health must not be told Busy
         * and reboot a healthy system.  Every other mark waits for the install. */
        if (m->install && !(state == MARK_GOOD && idx == policy_booted_root(m))) {
                (void) uerror_set(&err, ERROR_BUSY, -EBUSY, "An installation is in progress; mark after it completed");
                return bus_error_set_uerror(error, &err);
        }

        r = mark_slot(m, state, slot, &name, &message, &err);
        if (r < 0) {
                log_warning("Mark %s %s by uid %u failed: %s", mark_state_to_string(state), slot, (unsigned) uid,
                            err.message);
                return bus_error_set_uerror(error, &err);
        }
        log_info("Mark %s %s by uid %u: %s", mark_state_to_string(state), slot, (unsigned) uid, message);

        manager_refresh_primary(m);
        *ret_slot = TAKE_PTR(name);
        *ret_message = TAKE_PTR(message);
        return 0;
}
