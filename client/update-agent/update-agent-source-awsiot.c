/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "macro.h"
#include "update-agent-context.h"
#include "update-agent-http.h"
#include "update-agent-mqtt.h"
#include "update-agent-source-awsiot.h"
#include "util.h"

/* AWS IoT Jobs over MQTT, with Upparat's contract (docs/agent.md, "AWS IoT Jobs (Upparat)").
 *
 * The reserved topics under $aws/things/{thing}/jobs/: "get" (GetPendingJobExecutions) finds
 * the jobs, "{jobId}/get" (DescribeJobExecution) gives the job document with a fresh
 * pre-signed URL, "{jobId}/update" (UpdateJobExecution, with expectedVersion) reports, each
 * answered on .../accepted or .../rejected; "notify" wakes the agent when the list changes.
 * The $next API (notify-next, $next/get, start-next) is not used: it hands out the next job
 * whatever its id, and only upparat_* jobs are ours (other services may share the queue).
 * The connection is update-agent-mqtt.c's. */

#define JOB_PREFIX "upparat_"
#define MESSAGE_MAX 1000      /* statusDetails values: keep well inside AWS's limits */

typedef struct Aws {
        Agent *agent;
        Mqtt *mqtt;
        pthread_mutex_t lock;         /* job_id and version: the download thread reports too */
        /* the job we report on, and its execution's versionNumber (expectedVersion) */
        char *job_id;
        int64_t version;
        char error[512];              /* the last failure, for agent_source_error() */
} Aws;

static Aws *aws(Agent *a) {
        return a->source_data;
}

static void set_error(Aws *w, const char *fmt, ...) _printf_(2, 3);
static void set_error(Aws *w, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(w->error, sizeof(w->error), fmt, ap);
        va_end(ap);
}

/* mqtt_request(), with its failure in our error. */
static int request(Aws *w, const char *topic, json_object *payload, json_object **ret_reply) {
        int r = mqtt_request(w->mqtt, topic, payload, ret_reply);

        if (r < 0)
                set_error(w, "%s", mqtt_error(w->mqtt));
        return r;
}

static bool starts_with(const char *s, const char *p) {
        return strncmp(s, p, strlen(p)) == 0;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static int64_t jint(json_object *o, const char *key, int64_t dflt) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
                                                                                                : dflt;
}

static void remember_version(Aws *w, const char *job_id, int64_t version) {
        pthread_mutex_lock(&w->lock);
        if (!w->job_id || !streq(w->job_id, job_id)) {
                free(w->job_id);
                w->job_id = strdup(job_id);
        }
        w->version = version;
        pthread_mutex_unlock(&w->lock);
}

static int64_t known_version(Aws *w, const char *job_id) {
        int64_t v;

        pthread_mutex_lock(&w->lock);
        v = w->job_id && streq(w->job_id, job_id) ? w->version : -1;
        pthread_mutex_unlock(&w->lock);
        return v;
}

/* DescribeJobExecution: the execution object (with the job document). */
static int describe(Aws *w, const char *job_id, json_object **ret_execution) {
        _cleanup_free_ char *topic = strdup_printf("%s/get", job_id);
        json_object *req = json_object_new_object(), *reply = NULL, *ex;
        int r;

        if (!topic || !req) {
                json_object_put(req);
                return -ENOMEM;
        }
        json_object_object_add(req, "includeJobDocument", json_object_new_boolean(true));
        r = request(w, topic, req, &reply);
        json_object_put(req);
        if (r < 0)
                return r;
        if (r == 0) {
                set_error(w, "DescribeJobExecution of %s rejected: %s %s", job_id, jstr(reply, "code") ?: "?",
                          jstr(reply, "message") ?: "");
                r = streq_ptr(jstr(reply, "code"), "ResourceNotFound") ? -ESTALE : -EIO;
                json_object_put(reply);
                return r;
        }
        if (!json_object_object_get_ex(reply, "execution", &ex) || !json_object_is_type(ex, json_type_object)) {
                set_error(w, "DescribeJobExecution of %s: no execution in the answer", job_id);
                json_object_put(reply);
                return -EBADMSG;
        }
        remember_version(w, job_id, jint(ex, "versionNumber", -1));
        *ret_execution = json_object_get(ex);
        json_object_put(reply);
        return 0;
}

/* UpdateJobExecution with expectedVersion; a VersionMismatch (someone else updated it, or an
 * answer we lost) is re-read once.  -ESTALE: the job is gone or in a terminal state. */
static int update(Aws *w, const char *job_id, const char *status, const char *state, const char *message) {
        _cleanup_free_ char *topic = strdup_printf("%s/update", job_id);

        if (!topic)
                return -ENOMEM;
        for (int attempt = 0;; attempt++) {
                json_object *req = json_object_new_object(), *details = json_object_new_object(), *reply = NULL, *es;
                int64_t v = known_version(w, job_id);
                const char *code;
                int r;

                if (!req || !details) {
                        json_object_put(req);
                        json_object_put(details);
                        return -ENOMEM;
                }
                json_object_object_add(details, "state", json_object_new_string(state));
                json_object_object_add(details, "message", json_object_new_string(message ?: ""));
                json_object_object_add(req, "status", json_object_new_string(status));
                json_object_object_add(req, "statusDetails", details);
                if (v >= 0)
                        json_object_object_add(req, "expectedVersion", json_object_new_int64(v));
                json_object_object_add(req, "includeJobExecutionState", json_object_new_boolean(true));
                r = request(w, topic, req, &reply);
                json_object_put(req);
                if (r < 0)
                        return r;
                if (r == 1) {
                        if (json_object_object_get_ex(reply, "executionState", &es))
                                remember_version(w, job_id, jint(es, "versionNumber", v + 1));
                        json_object_put(reply);
                        log_debug("Job %s: %s %s", job_id, status, state);
                        return 0;
                }
                code = jstr(reply, "code") ?: "?";
                set_error(w, "UpdateJobExecution %s/%s of %s rejected: %s %s", status, state, job_id, code,
                          jstr(reply, "message") ?: "");
                r = streq(code, "VersionMismatch") && attempt == 0 ? 1
                    : streq(code, "InvalidStateTransition") || streq(code, "ResourceNotFound") || streq(code, "TerminalStateReached")
                            ? -ESTALE
                            : -EIO;
                json_object_put(reply);
                if (r < 0)
                        return r;
                {
                        json_object *ex = NULL;
                        r = describe(w, job_id, &ex);
                        json_object_put(ex);
                        if (r < 0)
                                return r;
                }
        }
}

/* ---- the operations ---- */

static int awsiot_init(Agent *a) {
        static const char *const subs[] = { "notify", "get/accepted", "get/rejected", "+/get/accepted",
                                            "+/get/rejected", "+/update/accepted", "+/update/rejected", NULL };
        _cleanup_free_ Aws *w = calloc(1, sizeof(*w));
        _cleanup_free_ char *prefix = NULL;
        int r;

        if (!w)
                return -ENOMEM;
        w->agent = a;
        w->version = -1;
        pthread_mutex_init(&w->lock, NULL);
        prefix = strdup_printf("$aws/things/%s/jobs", a->config->thing_name);
        if (!prefix)
                return -ENOMEM;
        r = mqtt_new(a->config, prefix, subs, "notify", &w->mqtt);
        if (r < 0)
                return r;
        a->source_data = TAKE_PTR(w);
        return 0;
}

static void awsiot_done(Agent *a) {
        Aws *w = a->source_data;

        if (!w)
                return;
        w->mqtt = mqtt_free(w->mqtt);
        free(w->job_id);
        a->source_data = mfree(a->source_data);
}

static const char *awsiot_error(Agent *a) {
        return a->source_data ? aws(a)->error : "";
}

static uint64_t awsiot_retry_after(Agent *a) {
        return 0;
}

static void awsiot_log_start(Agent *a) {
        const AgentConfig *c = a->config;

        log_info("update-agent %s: AWS IoT Jobs for thing %s at %s:%u (%s, client id %s), taking %s* jobs",
                 UPDATE1_VERSION, c->thing_name, c->broker_host, c->broker_port,
                 c->broker_cafile ? "TLS with client certificate" : "no TLS", c->mqtt_client_id, JOB_PREFIX);
}

static bool listed(json_object *list, const char *job_id) {
        size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

        for (size_t i = 0; i < n; i++)
                if (streq_ptr(jstr(json_object_array_get_idx(list, i), "jobId"), job_id))
                        return true;
        return false;
}

static int awsiot_poll(Agent *a, SourcePoll *ret) {
        Aws *w = aws(a);
        json_object *req = json_object_new_object(), *reply = NULL, *inp = NULL, *queued = NULL;
        const char *chosen = NULL;
        int64_t oldest = INT64_MAX;
        unsigned n_inp = 0;
        char *ref = NULL, *cancel = NULL;
        int r;

        if (!req)
                return -ENOMEM;
        r = request(w, "get", req, &reply);
        json_object_put(req);
        if (r < 0)
                return r;
        if (r == 0) {
                set_error(w, "GetPendingJobExecutions rejected: %s %s", jstr(reply, "code") ?: "?",
                          jstr(reply, "message") ?: "");
                json_object_put(reply);
                return -EIO;
        }
        (void) json_object_object_get_ex(reply, "inProgressJobs", &inp);
        (void) json_object_object_get_ex(reply, "queuedJobs", &queued);
        for (size_t i = 0; inp && json_object_is_type(inp, json_type_array) && i < json_object_array_length(inp); i++) {
                const char *id = jstr(json_object_array_get_idx(inp, i), "jobId");
                if (id && starts_with(id, JOB_PREFIX)) {
                        n_inp++;
                        chosen = id;
                }
        }
        if (n_inp > 1) {
                /* Upparat's rule: two of ours in progress cannot both be right; fail them all. */
                for (size_t i = 0; i < json_object_array_length(inp); i++) {
                        json_object *j = json_object_array_get_idx(inp, i);
                        const char *id = jstr(j, "jobId");
                        if (!id || !starts_with(id, JOB_PREFIX))
                                continue;
                        log_error("Job %s: %u %s* jobs are in progress at once: failing them all", id, n_inp, JOB_PREFIX);
                        remember_version(w, id, jint(j, "versionNumber", -1));
                        (void) update(w, id, "FAILED", "error_multiple_in_progress",
                                      "More than one job in progress; all of them failed");
                }
                chosen = NULL;
        }
        if (!chosen && n_inp <= 1)
                for (size_t i = 0; queued && json_object_is_type(queued, json_type_array) &&
                                   i < json_object_array_length(queued);
                     i++) {
                        json_object *j = json_object_array_get_idx(queued, i);
                        const char *id = jstr(j, "jobId");
                        int64_t at = jint(j, "queuedAt", INT64_MAX - 1);
                        if (id && starts_with(id, JOB_PREFIX) && at < oldest) {
                                oldest = at;
                                chosen = id;
                        }
                }
        /* Our job is no longer pending: it was cancelled (or deleted) on the server. */
        if (a->record && a->record->phase < PHASE_REPORTING && !listed(inp, a->record->action_id) &&
            !listed(queued, a->record->action_id)) {
                cancel = strdup(a->record->action_id);
                if (!cancel) {
                        json_object_put(reply);
                        return -ENOMEM;
                }
        } else if (chosen) {
                ref = strdup(chosen);
                if (!ref) {
                        json_object_put(reply);
                        return -ENOMEM;
                }
        }
        json_object_put(reply);
        *ret = (SourcePoll) { .action_ref = ref, .cancel_ref = cancel };
        return 0;
}

typedef struct Probe {
        uint64_t total;
} Probe;

static size_t probe_header(char *b, size_t size, size_t n, void *userdata) {
        Probe *p = userdata;
        size_t len = size * n;
        char line[256];

        if (len >= sizeof(line))
                return len;
        memcpy(line, b, len);
        line[len] = 0;
        if (strncasecmp(line, "Content-Range:", 14) == 0) {
                const char *slash = strchr(line, '/');
                if (slash)
                        p->total = strtoull(slash + 1, NULL, 10);
        }
        return len;
}

static size_t probe_body(char *b, size_t size, size_t n, void *userdata) {
        return size * n;    /* at most one byte (Range: bytes=0-0), or a 200 we abort by timeout */
}

/* The artifact's size: a pre-signed S3 URL is signed for GET only, so no HEAD; a one-byte
 * Range GET, whose Content-Range names the size.  -EACCES on a 403 (expired). */
static int probe_size(Aws *w, const char *url, uint64_t *ret_size) {
        const AgentConfig *c = w->agent->config;
        CURL *h = curl_easy_init();
        struct curl_slist *hdr = NULL;
        Probe p = {};
        long status = 0;
        curl_off_t len = -1;
        CURLcode cr;
        int r;

        if (!h)
                return -ENOMEM;
        r = http_setup(h, c, url, (const char *const[]) { "Range: bytes=0-0", NULL }, &hdr);
        if (r < 0) {
                curl_easy_cleanup(h);
                set_error(w, "the job's file is not an http(s) URL");
                return r;
        }
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, probe_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &p);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) (c->request_timeout_usec / 1000));
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) 1);
        cr = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        curl_slist_free_all(hdr);
        curl_easy_cleanup(h);
        if (status == 206 && p.total > 0) {
                *ret_size = p.total;
                return 0;
        }
        if (status == 200 && len > 0) {
                *ret_size = (uint64_t) len;
                return 0;
        }
        if (status == 403) {
                set_error(w, "the job's file URL was refused (403: the pre-signed URL expired?)");
                return -EACCES;
        }
        set_error(w, "cannot learn the size of the job's file: %s",
                  status ? "no Content-Range in the answer" : curl_easy_strerror(cr));
        return status ? -EBADMSG : -EIO;
}

static int awsiot_get_action(Agent *a, const char *ref, SourceAction *ret) {
        Aws *w = aws(a);
        json_object *ex = NULL, *doc, *meta, *force;
        _cleanup_(source_action_done) SourceAction act = {};
        const char *status, *file, *version;
        int r;

        r = describe(w, ref, &ex);
        if (r < 0)
                return r;
        status = jstr(ex, "status") ?: "?";
        act.action_id = strdup(ref);
        act.filename = strdup(ref);    /* Upparat names the download after the job */
        if (!act.action_id || !act.filename)
                goto nomem;
        act.download = act.update = SOURCE_ATTEMPT;
        if (!streq(status, "QUEUED") && !streq(status, "IN_PROGRESS")) {
                set_error(w, "job %s is %s", ref, status);
                json_object_put(ex);
                return -ESTALE;
        }
        if (!json_object_object_get_ex(ex, "jobDocument", &doc) || !json_object_is_type(doc, json_type_object) ||
            !(file = jstr(doc, "file"))) {
                set_error(w, "job %s: its document has no \"file\" (Upparat's job document: version, file, force, meta)", ref);
                json_object_put(ex);
                *ret = act;
                act = (SourceAction) {};
                return -EMEDIUMTYPE;
        }
        version = jstr(doc, "version");
        act.url = strdup(file);
        act.version = version ? strdup(version) : NULL;
        act.name = strdup("upparat");
        act.skip_checks = json_object_object_get_ex(doc, "force", &force) && json_object_get_boolean(force);
        /* $3 of the hooks: the job's meta as it is (a string, or the JSON of anything else). */
        act.json = strdup(!json_object_object_get_ex(doc, "meta", &meta) || !meta ? ""
                          : json_object_is_type(meta, json_type_string)
                                  ? json_object_get_string(meta)
                                  : json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN));
        json_object_put(ex);
        /* Upparat's restart hook gets the meta and force (as Python prints a bool). */
        act.hook_meta = act.json ? strdup(act.json) : NULL;
        act.restart_arg = strdup(act.skip_checks ? "True" : "False");
        if (!act.url || !act.json || !act.name || (version && !act.version) || !act.hook_meta || !act.restart_arg)
                goto nomem;
        /* The size only matters for a download: a job whose slot is installed already needs none. */
        if (!a->record || !streq(a->record->action_id, ref) || a->record->phase < PHASE_INSTALLING) {
                r = probe_size(w, act.url, &act.size);
                if (r < 0)
                        return r;
                if (act.size > a->config->max_bundle_size) {
                        set_error(w, "job %s: the file has %" PRIu64 " bytes, more than max-bundle-size=%" PRIu64, ref,
                                  act.size, a->config->max_bundle_size);
                        act.failure = AGENT_FAILURE_ARTIFACT_TOO_LARGE;
                        *ret = act;
                        act = (SourceAction) {};
                        return -EMEDIUMTYPE;
                }
        }
        *ret = act;
        act = (SourceAction) {};
        return 0;
nomem:
        json_object_put(ex);
        return -ENOMEM;
}

/* In the download thread after a 403: say so (download_interrupt), then describe the job
 * again: AWS signs a fresh URL at every describe. */
static int awsiot_refresh_url(Agent *a, const char *ref, char **ret_url) {
        Aws *w = aws(a);
        json_object *ex = NULL, *doc;
        const char *file;
        char *u;
        int r;

        (void) update(w, ref, "IN_PROGRESS", "download_interrupt", "The file URL was refused (403); fetching a fresh one");
        r = describe(w, ref, &ex);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(ex, "jobDocument", &doc) || !(file = jstr(doc, "file"))) {
                json_object_put(ex);
                return -EBADMSG;
        }
        u = strdup(file);
        json_object_put(ex);
        if (!u)
                return -ENOMEM;
        *ret_url = u;
        return 0;
}

static char *join_details(const char *const *details) {
        size_t n = 0;
        char *s;

        for (size_t i = 0; details && details[i]; i++)
                n += strlen(details[i]) + 2;
        s = calloc(1, n + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; details && details[i]; i++) {
                if (isempty(details[i]))
                        continue;
                if (*s)
                        strcat(s, "; ");
                strcat(s, details[i]);
        }
        if (strlen(s) > MESSAGE_MAX)
                s[MESSAGE_MAX] = 0;
        return s;
}

static int awsiot_report(Agent *a, const char *action_id, const SourceReport *rep) {
        Aws *w = aws(a);
        _cleanup_free_ char *msg = NULL;
        const char *status = "IN_PROGRESS", *state = rep->reason;
        int r;

        switch (rep->status) {
        case SOURCE_SCHEDULED:
        case SOURCE_DOWNLOADED:
                return 0;    /* Upparat has no such step: the next one follows at once */
        case SOURCE_PROCEEDING:
                if (!state)
                        return 0;    /* a hook postponed: Upparat says nothing either */
                break;
        case SOURCE_DOWNLOAD:
                state = "download_start";
                break;
        case SOURCE_INSTALLING:
                state = "installation_start";
                break;
        case SOURCE_SUCCEEDED:
                status = "SUCCEEDED";
                state = state ?: "complete_ready";
                break;
        case SOURCE_FAILED:
                status = "FAILED";
                /* Ours where Upparat has none: it would retry the download forever. */
                state = state ?: a->record && a->record->phase >= PHASE_INSTALLING ? "installation_failed"
                                                                                   : "download_failed";
                break;
        default:
                return 0;
        }
        if (rep->message)
                msg = strdup(rep->message);
        else if (streq(state, "download_progress") && rep->bytes != UINT64_MAX)
                msg = strdup_printf("{\"downloaded_bytes\":%" PRIu64 "}", rep->bytes);
        else
                msg = join_details(rep->details);
        if (!msg)
                return -ENOMEM;
        r = update(w, action_id, status, state, msg);
        if (r == -ESTALE)
                log_warning("Job %s is no longer open on the server (%s): no more updates for it", action_id, w->error);
        return r;
}

static int awsiot_get_cancel(Agent *a, const char *ref, char **ret_stop_id) {
        char *s = strdup(ref);

        if (!s)
                return -ENOMEM;
        *ret_stop_id = s;
        return 0;
}

static int awsiot_answer_cancel(Agent *a, const char *action_id, bool accepted, const char *why) {
        /* A cancelled job execution is terminal on AWS: there is nothing to confirm, and no way
         * to refuse.  A job cancelled after the installation started still gets its result
         * (which AWS then rejects as a transition out of CANCELED). */
        if (!accepted)
                log_notice("Job %s was cancelled on the server, but %s", action_id, why);
        return 0;
}

/* Device attributes go to the thing's shadow (reported state): AWS IoT's place for them. */
static int awsiot_send_attributes(Agent *a, const char *const *data) {
        Aws *w = aws(a);
        _cleanup_free_ char *topic = strdup_printf("$aws/things/%s/shadow/update", a->config->thing_name);
        json_object *o = json_object_new_object(), *st = json_object_new_object(), *rep = json_object_new_object();
        const char *s;
        int r;

        if (!topic || !o || !st || !rep) {
                json_object_put(o);
                json_object_put(st);
                json_object_put(rep);
                return -ENOMEM;
        }
        for (size_t i = 0; data && data[i] && data[i + 1]; i += 2)
                json_object_object_add(rep, data[i], json_object_new_string(data[i + 1]));
        json_object_object_add(st, "reported", rep);
        json_object_object_add(o, "state", st);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = mqtt_publish(w->mqtt, topic, s);
        json_object_put(o);
        if (r < 0)
                set_error(w, "%s", mqtt_error(w->mqtt));
        return r;
}

const SourceOps source_awsiot_ops = {
        .name = "aws-iot-jobs",
        .init = awsiot_init,
        .done = awsiot_done,
        .error = awsiot_error,
        .retry_after = awsiot_retry_after,
        .log_start = awsiot_log_start,
        .poll = awsiot_poll,
        .get_action = awsiot_get_action,
        .refresh_url = awsiot_refresh_url,
        .report = awsiot_report,
        .get_cancel = awsiot_get_cancel,
        .answer_cancel = awsiot_answer_cancel,
        .send_attributes = awsiot_send_attributes,
};
