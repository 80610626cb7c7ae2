/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "inspect.h"
#include "json-util.h"
#include "log.h"
#include "manifest.h"
#include "util.h"

/* InspectBundle: the read-only half of an install (header, signature, manifest), in a thread so
 * a slow or stalled stream never blocks the bus.  The reader's cancel fd is a timerfd: it fires
 * on the timeout, or at once when the daemon shuts down. */

struct InspectJob {
        Manager *manager;
        InspectJob *next;
        JobReply reply;             /* main thread */
        int fd;
        SourceHttp *http;           /* or an http(s) source (fd -EBADF) */
        int timer_fd;
        atomic_bool shutdown;
        pthread_t thread;
        ManagerCall finished_call;

        /* Written by the thread before it posts finished_call. */
        int result;
        UError error;
        char *json;
};

static InspectJob *inspect_job_free(InspectJob *j) {
        if (!j)
                return NULL;
        if (j->fd >= 0)
                close(j->fd);
        source_http_free(j->http);
        if (j->timer_fd >= 0)
                close(j->timer_fd);
        free(j->json);
        free(j);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(InspectJob *, inspect_job_free);

static int inspect_run(InspectJob *j, UError *err) {
        _cleanup_(bundle_reader_freep) BundleReader *r = NULL;
        struct json_object *o = NULL;
        char hash[65];
        const char *s;
        int k;

        k = bundle_reader_new(j->http ? -EBADF : j->fd, j->manager->config->max_bundle_size, j->timer_fd, &r);
        if (k < 0)
                return uerror_set(err, ERROR_FAILED, k, "Cannot set up the bundle reader: %s", strerror(-k));
        if (j->http) {
                bundle_reader_set_stream(r, &(BundleReaderStream) { source_http_read, j->http });
                bundle_reader_set_random_access(r, &(ReadAt) { source_http_read_at, source_http_get_size, j->http });
                bundle_reader_set_need(r, source_http_want, j->http);
        }
        k = bundle_reader_verify(r, j->manager->keyring, err);
        if (k < 0) {
                if (j->http)
                        source_http_explain(j->http, err);
                return k;
        }

        k = manifest_to_json_object(bundle_reader_manifest(r), false, &o);
        if (k < 0)
                return uerror_set(err, ERROR_FAILED, k, "Cannot format the manifest: %s", strerror(-k));
        /* What a caller confirms with InstallBundle's require-manifest-hash (RAUC's manifest-hash). */
        hex_encode(bundle_reader_manifest_sha256(r), 32, hash);
        if (json_add(o, "signer", json_object_new_string(bundle_reader_signer(r) ?: "")) < 0 ||
            json_add(o, "manifest-hash", json_object_new_string(hash)) < 0) {
                json_object_put(o);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        j->json = s ? strdup(s) : NULL;
        json_object_put(o);
        if (!j->json)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        return 0;
}

static void *inspect_thread(void *userdata) {
        InspectJob *j = userdata;
        sigset_t all;
        int r;

        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        r = inspect_run(j, &j->error);
        if (r < 0 && j->error.kind == ERROR_CANCELLED && !atomic_load(&j->shutdown)) {
                /* The timer fired, nobody cancelled: say what really happened. */
                j->error = UERROR_NULL;
                (void) uerror_set(&j->error, ERROR_IO, -ETIMEDOUT,
                                  "Bundle stream did not deliver its signed manifest within %d s",
                                  INSPECT_TIMEOUT_SEC);
        }
        if (r < 0 && !uerror_is_set(&j->error))
                (void) uerror_set(&j->error, ERROR_FAILED, r, "Inspecting the bundle failed: %s", strerror(-r));
        j->result = r;
        manager_post(j->manager, &j->finished_call);
        return NULL;
}

static void inspect_on_finished(Manager *m, ManagerCall *c) {
        _cleanup_(inspect_job_freep) InspectJob *j = container_of(c, InspectJob, finished_call);

        (void) pthread_join(j->thread, NULL);
        for (InspectJob **p = &m->inspects; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        m->n_inspects--;

        if (j->result < 0) {
                log_info("InspectBundle failed: %s", j->error.message);
                job_reply(&j->reply, &j->error, NULL);
        } else
                job_reply(&j->reply, NULL, j->json);
}

int inspect_start(Manager *m, int fd, SourceHttp *http, JobReply reply, UError *err) {
        _cleanup_(inspect_job_freep) InspectJob *j = NULL;
        struct itimerspec its = { .it_value.tv_sec = INSPECT_TIMEOUT_SEC };
        int r;

        assert(m);
        assert(reply.fn);
        assert(fd >= 0 || http);

        if (m->n_inspects >= INSPECT_MAX_CONCURRENT)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "Too many bundle inspections in progress (%d)",
                                  INSPECT_MAX_CONCURRENT);

        j = calloc(1, sizeof(*j));
        if (!j)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *j = (InspectJob) {
                .manager = m,
                .fd = -EBADF,
                .timer_fd = -EBADF,
                .finished_call.fn = inspect_on_finished,
        };

        j->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (j->timer_fd < 0 || timerfd_settime(j->timer_fd, 0, &its, NULL) < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot create a timer: %s", strerror(errno));

        j->reply = reply; /* not called when the thread does not start */
        j->fd = fd;
        j->http = http;
        r = -pthread_create(&j->thread, NULL, inspect_thread, j);
        if (r < 0) {
                j->fd = -EBADF; /* not taken */
                j->http = NULL;
                return uerror_set(err, ERROR_FAILED, r, "Cannot start a thread: %s", strerror(-r));
        }

        j->next = m->inspects;
        m->inspects = TAKE_PTR(j);
        m->n_inspects++;
        return 0;
}

void inspect_cancel_all(Manager *m) {
        struct itimerspec now = { .it_value.tv_nsec = 1 };

        for (InspectJob *j = m->inspects; j; j = j->next) {
                atomic_store(&j->shutdown, true);
                (void) timerfd_settime(j->timer_fd, 0, &now, NULL);
        }
}
