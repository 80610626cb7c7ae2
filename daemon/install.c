/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "antirollback.h"
#include "bundle.h"
#include "fileio.h"
#include "install-job.h"
#include "install.h"
#include "log.h"
#include "manifest.h"
#include "slot-policy.h"
#include "slot-writer.h"
#include "url.h"
#include "util.h"

#define INSTALL_PIPE_SIZE (1 << 20)

/* The install state machine.  The worker thread reads the stream, verifies and writes; it
 * touches the status file and the bootloader only under m->lock.  Everything a client sees goes
 * through manager_post() to the main loop, and from there out through the caller's JobReply and
 * the manager's notify hooks: this file knows nothing of D-Bus (bus.c does).
 *
 *   phase 1 (nothing changed yet): read header + signature, verify, parse the manifest, check
 *            compatible, pick targets, check sizes → the caller's JobReply is answered
 *   phase 2: target bad in the bootloader, status pending, stream chunks into the slots,
 *            fsync, status ok, target primary for one trial boot, activated count
 * Any error in phase 2 leaves the target bad in the bootloader and its status failed.
 * Phase 2's write stage is install-write.c; what both use of a job, install-job.c. */

static InstallJob *install_job_free(InstallJob *j) {
        if (!j)
                return NULL;
        bundle_reader_free(j->reader);
        source_http_free(j->http);
        source_ranged_free(j->ranged); /* before the cancel eventfd it borrows */
        if (j->fd >= 0)
                close(j->fd);
        if (j->cancel_fd >= 0)
                close(j->cancel_fd);
        free(j->source);
        free(j->transaction_id);
        free(j->summary);
        free(j);
        /* The install's buffers came from the install and writer threads' malloc arenas, or
         * (glibc raises its mmap threshold after the first large free) from the heap: without
         * a trim they stay resident in the idle daemon until the next install. */
        (void) malloc_trim(0);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(InstallJob *, install_job_free);

/* A RAUC plain bundle is hashed whole for its signature before anything is written (a minute
 * for 4 GiB): that pass takes 0..PLAIN_PASS_PERCENT, writing the rest, so Progress moves and
 * never goes back. */
#define PLAIN_PASS_PERCENT 10

static void plain_pass_progress(void *userdata, uint64_t done, uint64_t total) {
        InstallJob *j = userdata;

        j->write_first = PLAIN_PASS_PERCENT;
        install_post_progress(j,
                              (uint32_t) ((unsigned __int128) done * (PLAIN_PASS_PERCENT - 1) / MAX(total, (uint64_t) 1)),
                              "Verifying bundle");
}

/* ---- phase 1 ---- */

/* Fail closed before anything is written: if the bootloader's state of the booted slot or of
 * the target cannot be read (hostile or damaged env, a tool printing garbage), switching could
 * silently rewrite state we do not understand, e.g. re-arm a counter we could not parse. */
static int check_bootloader_readable(InstallJob *j, UError *err) {
        Manager *m = j->manager;
        Bootloader *bl = m->bootloader;
        const char *names[2] = { NULL, j->bootname };
        BootStatus st;
        int booted, r = 0;

        pthread_mutex_lock(&m->lock);
        booted = m->slots->booted;
        if (booted >= 0)
                names[0] = m->config->slots[slot_table_group_root(m->slots, booted)].bootname;
        for (size_t i = 0; i < ELEMENTSOF(names) && r >= 0; i++) {
                if (!names[i])
                        continue;
                r = bootloader_get_state(bl, names[i], &st, err);
                if (r < 0)
                        uerror_prefix(err, "Refusing to switch slots: the bootloader state of %s cannot be read",
                                      names[i]);
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

/* RAUC's [system] bundle-formats= (lib/config-rauc.c), checked before anything is written.
 * Its max-bundle-download-size= is checked by the reader before a plain bundle's pass. */
static int check_rauc_format(InstallJob *j, UError *err) {
        const Config *c = j->manager->config;
        const char *format = bundle_reader_format(j->reader);

        if (streq(format, "update1"))
                return 0;
        if (!config_bundle_format_allowed(c, format))
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EPERM,
                                  "RAUC %s bundles are not allowed by [system] bundle-formats= in %s: build the bundle in an allowed format or allow %s",
                                  format, c->path, format);
        return 0;
}

static int install_prepare(InstallJob *j, UError *err) {
        Manager *m = j->manager;
        const char *classes[MANIFEST_MAX_IMAGES];
        const Manifest *mf;
        int root, r;

        install_post_progress(j, 0, "Verifying bundle");

        r = bundle_reader_new(j->stream_fd, m->config->max_bundle_size, j->cancel_fd, &j->reader);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot set up the bundle reader: %s", strerror(-r));
        /* A RAUC bundle from a URL is read with Range requests (its signature is at the end). */
        if (j->http) {
                bundle_reader_set_stream(j->reader, &(BundleReaderStream) { source_http_read, j->http });
                bundle_reader_set_random_access(j->reader, &(ReadAt) { source_http_read_at, source_http_get_size,
                                                                      j->http });
                bundle_reader_set_rauc_plain_limit(j->reader, m->config->max_bundle_download_size,
                                                   "[system] max-bundle-download-size=");
                source_http_set_cancel_fd(j->http, j->cancel_fd);
                /* The stream fetches what the reader announces, no more: a delta install that
                 * decides after the tables never has the payload streamed. */
                bundle_reader_set_need(j->reader, source_http_want, j->http);
        } else if (j->ranged) {
                bundle_reader_set_random_access(j->reader, &(ReadAt) { source_ranged_read_at, source_ranged_get_size,
                                                                      j->ranged });
                bundle_reader_set_need(j->reader, source_ranged_want, j->ranged);
                bundle_reader_set_rauc_plain_limit(j->reader, m->config->max_bundle_download_size,
                                                   "[system] max-bundle-download-size=");
        }
        bundle_reader_set_rauc_progress(j->reader, plain_pass_progress, j);
        r = bundle_reader_verify(j->reader, m->keyring, err);
        if (r < 0)
                return r;
        r = install_check_cancel(j, err);
        if (r < 0)
                return r;
        /* require-manifest-hash: the bundle is the one the caller reviewed (RAUC's install.c). */
        r = j->require_manifest_hash ? bundle_reader_check_manifest_sha256(j->reader, j->manifest_sha256, err) : 0;
        if (r < 0)
                return r;
        r = check_rauc_format(j, err);
        if (r < 0)
                return r;

        mf = bundle_reader_manifest(j->reader);
        if (!streq(mf->compatible, m->config->compatible))
                return uerror_set(err, ERROR_INCOMPATIBLE, -EINVAL,
                                  "Bundle compatible '%s' does not match system compatible '%s'",
                                  mf->compatible, m->config->compatible);
        if (mf->n_images == 0 || mf->n_images > MANIFEST_MAX_IMAGES)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL, "Bundle has %zu images (1..%d allowed)",
                                  mf->n_images, MANIFEST_MAX_IMAGES);

        for (size_t i = 0; i < mf->n_images; i++)
                classes[i] = mf->images[i].slotclass;

        pthread_mutex_lock(&m->lock);
        r = slot_table_pick_targets(m->slots, m->status, classes, mf->n_images, j->targets, err);
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;
        j->n_targets = mf->n_images;

        for (size_t i = 0; i < j->n_targets; i++) {
                const ManifestImage *img = &mf->images[i];
                const Slot *s = &m->slots->slots[j->targets[i]];
                uint64_t size;

                if (!s->device_path)
                        return uerror_set(err, ERROR_NO_TARGET_SLOT, -ENODEV,
                                          "Device %s of slot %s not found", s->cfg->device, s->cfg->name);
                r = slot_device_size(s, &size);
                if (r < 0)
                        return uerror_set(err, ERROR_IO, r, "Cannot get the size of slot %s (%s): %s",
                                          s->cfg->name, s->device_path, strerror(-r));
                if (size < img->size)
                        return uerror_set(err, ERROR_NO_TARGET_SLOT, -EFBIG,
                                          "Image %s (%" PRIu64 " bytes) does not fit slot %s (%" PRIu64 " bytes)",
                                          img->slotclass, img->size, s->cfg->name, size);
                if (__builtin_add_overflow(j->total_bytes, img->size, &j->total_bytes))
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EOVERFLOW, "Bundle image sizes overflow");
        }

        /* All targets are one boot group; the bootloader knows its root's bootname. */
        root = slot_table_group_root(m->slots, j->targets[0]);
        if (root < 0 || !m->config->slots[root].bootname)
                return uerror_set(err, ERROR_NO_TARGET_SLOT, -ENODEV, "Target slot %s has no boot group with a bootname",
                                  install_target_name(j, 0));
        j->bootname = m->config->slots[root].bootname;
        j->root = root;
        r = check_bootloader_readable(j, err);
        if (r < 0)
                return r;
        /* I1 (no install during a trial, a committed group stays bootable) and I3 (the bundle
         * covers its group): the transition authority decides, before anything is written;
         * then the version policy (floor, expiry, downgrade). */
        r = policy_check_install(m, mf, j->targets, j->n_targets, err);
        if (r < 0)
                return r;
        return antirollback_check_install(m, mf, j->force, err);
}

/* ---- phase 2 ---- */

static int set_string(char **p, const char *v) {
        char *n = NULL;

        if (v) {
                n = strdup(v);
                if (!n)
                        return -ENOMEM;
        }
        free(*p);
        *p = n;
        return 0;
}

static int mark_pending(InstallJob *j, UError *err) {
        Manager *m = j->manager;
        int r;

        /* Before the first byte: the bootloader must never pick a half-written slot. */
        r = policy_take_out(m, j->root, err);
        if (r < 0) {
                uerror_prefix(err, "Cannot mark %s bad before writing", install_target_name(j, 0));
                return r;
        }

        for (size_t i = 0; i < j->n_targets; i++) {
                SlotRecord *rec = status_find(m->status, install_target_name(j, i));
                uint64_t ic, it, ac, at;

                if (!rec)
                        continue;
                /* Keep the counters: they count over the slot's life. */
                ic = rec->installed_count, it = rec->installed_timestamp;
                ac = rec->activated_count, at = rec->activated_timestamp;
                slot_record_reset(rec);
                rec->installed_count = ic, rec->installed_timestamp = it;
                rec->activated_count = ac, rec->activated_timestamp = at;
                rec->status = SLOT_STATUS_PENDING;
        }
        j->status_touched = true;

        r = status_save(m->config, m->status);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot write the status file: %s", strerror(-r));
        return 0;
}

static int record_installed(InstallJob *j, uint64_t now, UError *err) {
        Manager *m = j->manager;
        const Manifest *mf = bundle_reader_manifest(j->reader);
        int r;

        for (size_t i = 0; i < j->n_targets; i++) {
                const ManifestImage *img = &mf->images[i];
                SlotRecord *rec = status_find(m->status, install_target_name(j, i));

                if (!rec)
                        continue;
                if (set_string(&rec->bundle_compatible, mf->compatible) < 0 ||
                    set_string(&rec->bundle_version, mf->version) < 0 ||
                    set_string(&rec->bundle_build, mf->build) < 0 ||
                    set_string(&rec->bundle_description, mf->description) < 0 ||
                    set_string(&rec->transaction_id, j->transaction_id) < 0)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                rec->status = SLOT_STATUS_OK;
                rec->security_version = mf->security_version;
                hex_encode(img->sha256, sizeof(img->sha256), rec->sha256);
                hex_encode(bundle_reader_manifest_sha256(j->reader), 32, rec->bundle_hash);
                rec->size = img->size;
                rec->installed_timestamp = now;
                rec->installed_count++;
        }
        /* Written before the bootloader arms the trial: boot assessment needs to know in which
         * boot that happened (a restart of updated before the reboot is no fallback). */
        r = config_find_slot_by_bootname(m->config, j->bootname);
        if (r >= 0 && status_set_trial(m->status, m->config->slots[r].name, m->boot_id, now) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = status_save(m->config, m->status);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot write the status file: %s", strerror(-r));
        return 0;
}

static int activate(InstallJob *j, UError *err) {
        Manager *m = j->manager;
        uint64_t now = now_realtime_sec();
        int r;

        r = record_installed(j, now, err);
        if (r < 0)
                return r;

        r = policy_arm_trial(m, j->root, err);
        if (r < 0) {
                uerror_prefix(err, "Cannot make %s primary", install_target_name(j, 0));
                return r;
        }

        for (size_t i = 0; i < j->n_targets; i++) {
                SlotRecord *rec = status_find(m->status, install_target_name(j, i));

                if (!rec)
                        continue;
                rec->activated_timestamp = now;
                rec->activated_count++;
        }
        /* The slot is installed and primary now; a lost activation count is not worth failing. */
        r = status_save(m->config, m->status);
        if (r < 0)
                log_warning_errno(r, "Cannot write the status file after activating %s: %m", install_target_name(j, 0));
        return 0;
}

static int install_write(InstallJob *j, UError *err) {
        Manager *m = j->manager;
        const Manifest *mf = bundle_reader_manifest(j->reader);
        bool skip = install_targets_hold_images(j);
        int r;

        pthread_mutex_lock(&m->lock);
        r = mark_pending(j, err);
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;

        r = skip ? install_skip_images(j, err) : install_write_images(j, err);
        if (r < 0)
                return r;

        install_post_progress(j, 99, "Activating");
        pthread_mutex_lock(&m->lock);
        r = activate(j, err);
        if (r >= 0)
                antirollback_seen_time(m, bundle_reader_trusted_time(j->reader));
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;

        if (j->n_targets > 1)
                j->summary = strdup_printf("Installed %s %s into %s and %zu more slots; bootname %s boots next on trial",
                                           mf->compatible, mf->version, install_target_name(j, 0), j->n_targets - 1, j->bootname);
        else
                j->summary = strdup_printf("Installed %s %s into %s; bootname %s boots next on trial",
                                           mf->compatible, mf->version, install_target_name(j, 0), j->bootname);
        install_post_progress(j, 100, "Installed");
        return 0;
}

static void mark_failed(InstallJob *j) {
        Manager *m = j->manager;
        int r;

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < j->n_targets; i++) {
                SlotRecord *rec = status_find(m->status, install_target_name(j, i));

                if (rec)
                        rec->status = SLOT_STATUS_FAILED;
        }
        r = status_save(m->config, m->status);
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                log_warning_errno(r, "Cannot write the status file after a failed install: %m");
}

/* ---- thread and main-loop callbacks ---- */

/* Both phases; the result is in j->result and j->error.  In the install thread, or in the
 * caller's thread for install_sync(). */
static void install_run(InstallJob *j) {
        int r;

        r = install_prepare(j, &j->error);
        if (r >= 0) {
                if (!j->sync)
                        manager_post(j->manager, &j->prepared_call);
                r = install_write(j, &j->error);
                if (r < 0 && j->status_touched)
                        mark_failed(j);
        }

        j->reader = bundle_reader_free(j->reader);
        if (j->http && r < 0)
                source_http_explain(j->http, &j->error);
        else if (j->http)
                (void) source_http_finish(j->http, NULL);
        if (j->ranged && r < 0)
                source_ranged_explain(j->ranged, &j->error);
        else if (j->ranged)
                source_ranged_stop(j->ranged);

        if (r < 0 && !uerror_is_set(&j->error))
                (void) uerror_set(&j->error, ERROR_FAILED, r, "Installation failed: %s", strerror(-r));
        j->result = r < 0 ? (j->error.error < 0 ? j->error.error : r) : 0;
}

static void *install_thread(void *userdata) {
        InstallJob *j = userdata;
        sigset_t all;

        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        install_run(j);
        manager_post(j->manager, &j->finished_call);
        return NULL;
}

/* install_sync() and install_sync_ranged(): a stream fd (borrowed) or a ranged source (taken). */
static int install_sync_job(Manager *m, int fd, SourceRanged *ranged, bool force, UError *err) {
        _cleanup_(source_ranged_freep) SourceRanged *rs = ranged;
        _cleanup_(install_job_freep) InstallJob *j = NULL;
        int r;

        assert(m);
        assert(fd >= 0 || rs);

        if (m->install)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "Another installation is in progress");
        j = calloc(1, sizeof(*j));
        if (!j)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *j = (InstallJob) {
                .manager = m,
                .fd = -EBADF,
                .stream_fd = fd,
                .force = force,
                .sync = true,
        };
        j->source = strdup(rs ? "ranged fd" : "fd");
        j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!j->source || j->cancel_fd < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Cannot set up the install");
        if (rs) {
                /* As install_start(): the job owns the source, its feeder borrows the cancel fd. */
                j->ranged = TAKE_PTR(rs);
                j->stream_fd = source_ranged_fd(j->ranged);
                r = source_ranged_start(j->ranged, j->cancel_fd, err);
                if (r < 0)
                        return r;
        }

        /* Visible as the running install, so install_cancel() reaches it (from a hook). */
        m->install = j;
        install_run(j);
        m->install = NULL;
        if (j->result < 0) {
                if (err && !uerror_is_set(err))
                        *err = j->error;
                return j->result;
        }
        return 0;
}

int install_sync(Manager *m, int fd, bool force, UError *err) {
        assert(fd >= 0);
        return install_sync_job(m, fd, NULL, force, err);
}

int install_sync_ranged(Manager *m, int sock, bool force, UError *err) {
        SourceRanged *s = NULL;
        int r;

        assert(m);
        r = source_ranged_new(sock, m->config->max_bundle_size, &s, err);
        if (r < 0)
                return r;
        return install_sync_job(m, -EBADF, s, force, err);
}

static void install_on_prepared(Manager *m, ManagerCall *c) {
        InstallJob *j = container_of(c, InstallJob, prepared_call);

        log_info("Installing %s: bundle verified, writing %s", j->source, install_target_name(j, 0));
        job_reply(&j->reply, NULL, NULL);
}

static void install_on_finished(Manager *m, ManagerCall *c) {
        _cleanup_(install_job_freep) InstallJob *j = container_of(c, InstallJob, finished_call);
        _cleanup_free_ char *text = NULL;

        (void) pthread_join(j->thread, NULL);
        m->install = NULL;

        if (j->result < 0) {
                /* "org.example.Update1.Error.X: sentence": the same text a synchronous error shows,
                 * so clients print one format whichever way the install failed. */
                text = strdup_printf("%s: %s", error_kind_to_dbus_name(j->error.kind), j->error.message);
                log_error("Install of %s failed: %s", j->source, text ?: j->error.message);
                manager_set_last_error(m, text ?: j->error.message);
                /* Failed before install_on_prepared(): the call still waits for its answer. */
                job_reply(&j->reply, &j->error, NULL);
        } else
                log_info("%s", j->summary ?: "Installed");

        manager_refresh_primary(m);
        /* Completed comes after Operation is back to idle, so a client that sees Completed and
         * calls again is not told Busy. */
        manager_set_operation(m, OPERATION_IDLE);
        manager_emit_completed(m, j->result, j->result < 0 ? (text ?: j->error.message) : (j->summary ?: "Installed"));
}

int install_start(Manager *m, InstallRequest *req, UError *err) {
        _cleanup_(install_job_freep) InstallJob *j = NULL;
        int r;

        assert(m);
        assert(req);
        assert(req->reply.fn);
        assert(req->fd >= 0 || req->http || req->ranged);

        if (m->install)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "Another installation is in progress");
        if (m->operation != OPERATION_IDLE)
                return uerror_set(err, ERROR_BUSY, -EBUSY, "Busy: operation %s in progress",
                                  operation_to_string(m->operation));

        j = calloc(1, sizeof(*j));
        if (!j)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *j = (InstallJob) {
                .manager = m,
                .fd = -EBADF,
                .cancel_fd = -EBADF,
                .force = req->force,
                .uid = req->uid,
                .prepared_call.fn = install_on_prepared,
                .finished_call.fn = install_on_finished,
                .stream_fd = -EBADF,
                .last_percent = 0,
                .last_phase = "Verifying bundle", /* what install_start() announces */
        };
        if (req->require_manifest_sha256) {
                memcpy(j->manifest_sha256, req->require_manifest_sha256, sizeof(j->manifest_sha256));
                j->require_manifest_hash = true;
        }
        /* For logs, LastError and Completed: never the URL's password or signed query (I7). */
        if (url_redact(req->source ?: "fd", &j->source) < 0 ||
            (req->transaction_id && !(j->transaction_id = strdup(req->transaction_id))))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->cancel_fd < 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Cannot create an eventfd: %s", strerror(errno));

        j->reply = req->reply; /* not called when the thread does not start */
        if (req->http) {
                j->http = TAKE_PTR(req->http); /* read through bundle_reader_set_stream() */
        } else if (req->ranged) {
                j->ranged = TAKE_PTR(req->ranged);
                j->stream_fd = source_ranged_fd(j->ranged);
                r = source_ranged_start(j->ranged, j->cancel_fd, err);
                if (r < 0) {
                        req->ranged = TAKE_PTR(j->ranged);
                        return r;
                }
        } else {
                struct stat st;

                j->stream_fd = j->fd = TAKE_FD(req->fd);
                /* A piped bundle: in the default 64 KiB pipe the sender blocks and the reader
                 * wakes every 64 KiB (a poll and a read each); at 1 MiB (a chunk) a 98 MiB
                 * bundle takes 1200 reads instead of 2700.  Best effort: the pipe stays as it
                 * was if the kernel refuses (pipe-max-size). */
                if (fstat(j->fd, &st) >= 0 && S_ISFIFO(st.st_mode))
                        (void) fcntl(j->fd, F_SETPIPE_SZ, INSTALL_PIPE_SIZE);
        }

        r = -pthread_create(&j->thread, NULL, install_thread, j);
        if (r < 0) {
                /* Give the caller its resources back: nothing was started. */
                if (j->http)
                        req->http = TAKE_PTR(j->http);
                else if (j->ranged) {
                        source_ranged_stop(j->ranged); /* its feeder borrows j's cancel eventfd */
                        req->ranged = TAKE_PTR(j->ranged);
                }
                else
                        req->fd = TAKE_FD(j->fd);
                return uerror_set(err, ERROR_FAILED, r, "Cannot start the install thread: %s", strerror(-r));
        }
        req->reply = (JobReply) {};

        log_info("Install of %s requested by uid %u%s%s%s", j->source, (unsigned) j->uid,
                 j->transaction_id ? " (transaction " : "", j->transaction_id ?: "", j->transaction_id ? ")" : "");
        m->install = TAKE_PTR(j);
        manager_set_last_error(m, NULL);
        manager_set_progress(m, 0, "Verifying bundle");
        manager_set_operation(m, OPERATION_INSTALLING);
        return 0;
}

int install_cancel(Manager *m) {
        if (!m->install)
                return -ESRCH;
        atomic_store(&m->install->cancel, true);
        if (eventfd_write(m->install->cancel_fd, 1) < 0)
                return -errno;
        return 0;
}
