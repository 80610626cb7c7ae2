/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "update-agent-ddi.h"
#include "update-agent-http.h"
#include "util.h"

#define FEEDBACK_TRIES 5
#define MAX_SLEEP_USEC (UINT64_C(365) * 86400 * USEC_PER_SEC)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

int ddi_client_init(DdiClient *d, AgentConfig *c) {
        *d = (DdiClient) { .config = c };
        d->base_url = strdup_printf("%s/%s/controller/v1/%s", c->url, c->tenant, c->controller_id);
        return d->base_url ? 0 : -ENOMEM;
}

void ddi_client_done(DdiClient *d) {
        free(d->base_url);
        d->base_url = NULL;
}

/* Maps an HTTP status to our errno convention and logs what an operator must know. */
static int classify(DdiClient *d, const HttpResponse *r, const char *what) {
        if (r->status >= 200 && r->status < 300) {
                if (d->auth_failed)
                        log_notice("The server accepts our credentials again");
                d->auth_failed = false;
                return 0;
        }
        snprintf(d->error, sizeof(d->error), "%s: HTTP %ld", what, r->status);
        switch (r->status) {
        case 401:
                /* Re-authenticate: a rotated token file is picked up; otherwise say clearly why. */
                if (!d->no_token_reload && agent_config_reload_token(d->config) > 0)
                        log_notice("Re-read the token from %s after a 401", d->config->token_file);
                else if (!d->auth_failed)
                        log_error("The server rejected our credentials (HTTP 401) for controller '%s' in tenant '%s' (%s%s): "
                                  "check the token or client certificate and that this authentication mode is enabled "
                                  "for the tenant",
                                  d->config->controller_id, d->config->tenant,
                                  d->config->auth == AGENT_AUTH_TARGET_TOKEN    ? "target token"
                                  : d->config->auth == AGENT_AUTH_GATEWAY_TOKEN ? "gateway token"
                                                                                : "client certificate",
                                  d->config->token_file ? ", re-read from the token file" : "");
                d->auth_failed = true;
                return -EACCES;
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 405:
                return -EOPNOTSUPP;
        case 410:
                return -ESTALE;
        case 409:
        case 429:
        case 503:
                d->retry_after_usec = r->retry_after_sec * USEC_PER_SEC;
                return -EAGAIN;
        default:
                return -EIO;
        }
}

/* A response body (NUL-terminated after size bytes) that must be a JSON object. */
static int parse_object(DdiClient *d, const char *body, size_t size, const char *what, json_object **ret) {
        json_object *o;

        if (size == 0) {
                snprintf(d->error, sizeof(d->error), "%s: empty response", what);
                return -EBADMSG;
        }
        o = json_tokener_parse(body);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                snprintf(d->error, sizeof(d->error), "%s: the response is not a JSON object", what);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

static int request_json(DdiClient *d, const char *method, const char *url, const char *body, const char *what,
                        json_object **ret) {
        _cleanup_(http_response_done) HttpResponse r = {};
        int k;

        d->error[0] = 0;
        d->retry_after_usec = 0;
        k = http_request(d->config, method, url, body, DDI_MAX_RESPONSE, &r);
        if (k < 0) {
                snprintf(d->error, sizeof(d->error), "%s: %s", what, r.error);
                return k;
        }
        k = classify(d, &r, what);
        if (k < 0)
                return k;
        if (!ret)
                return 0;
        return parse_object(d, r.body, r.size, what, ret);
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *get_obj(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

static const char *link_href(json_object *links, const char *rel) {
        return get_str(get_obj(links, rel), "href");
}

/* An action id becomes part of file names (bundle-action-<id>), of feedback URL paths and of
 * the action record, so every id from the server, wherever it comes from, is 1-64 of
 * [A-Za-z0-9_-]: no '/', no '..', nothing to escape. */
static bool id_valid(const char *s, size_t n) {
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '_')
                        return false;
        return true;
}

/* The action id is the last path segment of the href (before '?'). */
static char *action_id_of(const char *href) {
        const char *q = strchr(href, '?'), *end = q ?: href + strlen(href), *s = end;

        while (s > href && s[-1] != '/')
                s--;
        if (!id_valid(s, (size_t) (end - s)))
                return NULL;
        return strndup(s, (size_t) (end - s));
}

/* Number of digits read into *v (at most 9 digits), fraction ignored. */
static int parse_iso_number(const char **p, uint64_t *v, uint64_t *frac_usec) {
        const char *s = *p;
        uint64_t x = 0;

        *frac_usec = 0;
        while (isdigit((unsigned char) **p)) {
                if ((size_t) (*p - s) >= 9)
                        return -ERANGE;
                x = x * 10 + (uint64_t) (**p - '0');
                (*p)++;
        }
        if (*p == s)
                return -EINVAL;
        if (**p == '.' || **p == ',') {
                uint64_t scale = USEC_PER_SEC / 10;
                (*p)++;
                if (!isdigit((unsigned char) **p))
                        return -EINVAL;
                for (; isdigit((unsigned char) **p); (*p)++) {
                        *frac_usec += (uint64_t) (**p - '0') * scale;
                        scale /= 10;
                }
        }
        *v = x;
        return 0;
}

int ddi_parse_sleep(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;

        if (isempty(s))
                return -EINVAL;
        if (s[0] == 'P' || s[0] == 'p') {
                const char *p = s + 1;
                bool time = false, any = false;

                while (*p) {
                        uint64_t v, frac, unit;
                        char u;

                        if ((*p == 'T' || *p == 't') && !time) {
                                time = true;
                                p++;
                                continue;
                        }
                        if (parse_iso_number(&p, &v, &frac) < 0)
                                return -EINVAL;
                        u = (char) toupper((unsigned char) *p++);
                        if (!time && u == 'W')
                                unit = 7 * 86400;
                        else if (!time && u == 'D')
                                unit = 86400;
                        else if (time && u == 'H')
                                unit = 3600;
                        else if (time && u == 'M')
                                unit = 60;
                        else if (time && u == 'S')
                                unit = 1;
                        else
                                return -EINVAL;    /* years and months have no fixed length */
                        if (frac && u != 'S')
                                return -EINVAL;
                        /* v * unit fits (at most 9 digits times a week); in microseconds it may not. */
                        if (v * unit > MAX_SLEEP_USEC / USEC_PER_SEC)
                                return -ERANGE;
                        total += v * unit * USEC_PER_SEC + frac;
                        if (total > MAX_SLEEP_USEC)
                                return -ERANGE;
                        any = true;
                }
                if (!any)
                        return -EINVAL;
                *ret_usec = total;
                return 0;
        }

        /* HH:MM:SS (hawkBit's pollingTime; hours may exceed 24 in theory).  Digits only: %u
         * would take blanks and a sign ("-1" as 4294967295 hours). */
        unsigned h, m, sec;
        int n = 0;
        if (s[strspn(s, "0123456789:")] != 0 ||
            sscanf(s, "%3u:%2u:%2u%n", &h, &m, &sec, &n) != 3 || s[n] != 0 || m > 59 || sec > 59)
                return -EINVAL;
        *ret_usec = ((uint64_t) h * 3600 + m * 60 + sec) * USEC_PER_SEC;
        return 0;
}

void ddi_base_done(DdiBase *b) {
        free(b->deployment_href);
        free(b->cancel_href);
        free(b->config_data_href);
        free(b->confirmation_href);
        free(b->action_id);
        *b = (DdiBase) {};
}

static int dup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int base_from_json(DdiClient *d, json_object *o, DdiBase *ret) {
        DdiBase b = {};
        json_object *links;
        const char *sleep, *href;
        int r;

        sleep = get_str(get_obj(get_obj(o, "config"), "polling"), "sleep");
        if (sleep && ddi_parse_sleep(sleep, &b.sleep_usec) < 0)
                log_warning("The server's polling sleep '%s' is neither HH:MM:SS nor ISO-8601; using our bounds", sleep);
        links = get_obj(o, "_links");
        r = dup_opt(link_href(links, "deploymentBase"), &b.deployment_href);
        if (r >= 0)
                r = dup_opt(link_href(links, "cancelAction"), &b.cancel_href);
        if (r >= 0)
                r = dup_opt(link_href(links, "configData"), &b.config_data_href);
        if (r >= 0)
                r = dup_opt(link_href(links, "confirmationBase"), &b.confirmation_href);
        if (r < 0) {
                ddi_base_done(&b);
                return r;
        }
        href = b.deployment_href ?: b.cancel_href;
        if (href) {
                b.action_id = action_id_of(href);
                if (!b.action_id) {
                        snprintf(d->error, sizeof(d->error), "poll: cannot find an action id in %s", href);
                        ddi_base_done(&b);
                        return -EBADMSG;
                }
        }
        *ret = b;
        return 0;
}

int ddi_poll_base(DdiClient *d, DdiBase *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        r = request_json(d, "GET", d->base_url, NULL, "poll", &o);
        if (r < 0)
                return r;
        return base_from_json(d, o, ret);
}

int ddi_parse_base(DdiClient *d, const char *body, size_t size, DdiBase *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        d->error[0] = 0;
        r = parse_object(d, body, size, "poll", &o);
        if (r < 0)
                return r;
        return base_from_json(d, o, ret);
}

static int parse_handling(const char *s, SourceHandling *ret) {
        if (!s)
                return -EINVAL;
        if (streq(s, "forced"))
                *ret = SOURCE_FORCED;
        else if (streq(s, "attempt"))
                *ret = SOURCE_ATTEMPT;
        else if (streq(s, "skip"))
                *ret = SOURCE_SKIP;
        else
                return -EINVAL;
        return 0;
}

static bool is_hex(const char *s, size_t n) {
        if (!s || strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* The refused artifacts are listed in one feedback message: at most DDI_MAX_REFUSED of them, then
 * one line with how many more, so that a deployment with thousands of artifacts (the response is
 * bounded at 1 MiB) neither grows our memory nor our feedback beyond a few KiB. */
#define DDI_MAX_REFUSED 16

static int add_refused(SourceAction *dep, size_t *n, size_t *n_more, char *sentence) {
        char **l;

        if (!sentence)
                return -ENOMEM;
        if (*n >= DDI_MAX_REFUSED) {
                /* Past the bound: the sentence is dropped and counted in a last line. */
                free(sentence);
                sentence = strdup_printf("... and %zu more artifacts not installed", ++*n_more);
                if (!sentence)
                        return -ENOMEM;
                if (*n_more > 1) {
                        free(dep->refused[*n - 1]);
                        dep->refused[*n - 1] = sentence;
                        return 0;
                }
        }
        l = realloc(dep->refused, (*n + 2) * sizeof(char *));
        if (!l) {
                free(sentence);
                return -ENOMEM;
        }
        l[(*n)++] = sentence;
        l[*n] = NULL;
        dep->refused = l;
        return 0;
}

static int fail_dep(DdiClient *d, SourceAction *dep, AgentFailure f, const char *fmt, ...) _printf_(4, 5);
static int fail_dep(DdiClient *d, SourceAction *dep, AgentFailure f, const char *fmt, ...) {
        va_list ap;

        dep->failure = f;
        va_start(ap, fmt);
        vsnprintf(d->error, sizeof(d->error), fmt, ap);
        va_end(ap);
        return -EMEDIUMTYPE;
}

static int take_artifact(DdiClient *d, SourceAction *dep, json_object *chunk, json_object *art) {
        const char *fn = get_str(art, "filename");
        json_object *hashes = get_obj(art, "hashes"), *links = get_obj(art, "_links"), *size;
        const char *sha256 = get_str(hashes, "sha256"), *sha1 = get_str(hashes, "sha1");
        const char *url = link_href(links, "download") ?: link_href(links, "download-http");
        int64_t sz;

        if (!json_object_object_get_ex(art, "size", &size) || !json_object_is_type(size, json_type_int) ||
            (sz = json_object_get_int64(size)) <= 0)
                return fail_dep(d, dep, AGENT_FAILURE_BAD_DEPLOYMENT, "Artifact %s has no valid size", fn);
        if ((uint64_t) sz > d->config->max_bundle_size)
                return fail_dep(d, dep, AGENT_FAILURE_ARTIFACT_TOO_LARGE, "Artifact %s is %lld bytes, more than max-bundle-size=%llu", fn, (long long) sz,
                                (unsigned long long) d->config->max_bundle_size);
        if (!url)
                return fail_dep(d, dep, AGENT_FAILURE_BAD_DEPLOYMENT, "Artifact %s has neither a download nor a download-http link", fn);
        if (sha256 && !is_hex(sha256, 64))
                return fail_dep(d, dep, AGENT_FAILURE_BAD_DEPLOYMENT, "Artifact %s has a malformed sha256 '%s'", fn, sha256);
        if (sha1 && !is_hex(sha1, 40))
                return fail_dep(d, dep, AGENT_FAILURE_BAD_DEPLOYMENT, "Artifact %s has a malformed sha1 '%s'", fn, sha1);
        dep->size = (uint64_t) sz;
        if (sha256)
                for (int i = 0; i < 64; i++)
                        dep->sha256[i] = (char) tolower((unsigned char) sha256[i]);
        if (sha1)
                for (int i = 0; i < 40; i++)
                        dep->sha1[i] = (char) tolower((unsigned char) sha1[i]);
        if (dup_opt(fn, &dep->filename) < 0 || dup_opt(url, &dep->url) < 0 ||
            dup_opt(get_str(chunk, "part"), &dep->part) < 0 || dup_opt(get_str(chunk, "name"), &dep->name) < 0 ||
            dup_opt(get_str(chunk, "version"), &dep->version) < 0)
                return -ENOMEM;
        return 0;
}

/* The i-th pattern of artifact= into buf (the config bounded its length); false past the last. */
static bool artifact_pattern(const char *list, unsigned i, char *buf, size_t n) {
        const char *q;
        size_t len = agent_artifact_pattern(list, i, &q);

        if (len == 0)
                return false;
        snprintf(buf, n, "%.*s", (int) len, q);
        return true;
}

static bool artifact_matches(DdiClient *d, const char *fn) {
        char pat[AGENT_ARTIFACT_PATTERN_MAX + 1];

        for (unsigned i = 0; artifact_pattern(d->config->artifact_pattern, i, pat, sizeof(pat)); i++)
                if (fnmatch(pat, fn, FNM_PERIOD) == 0)
                        return true;
        return false;
}

static json_object *artifacts_of(json_object *chunk) {
        json_object *arts;

        if (!json_object_object_get_ex(chunk, "artifacts", &arts) || !json_object_is_type(arts, json_type_array))
                return NULL;
        return arts;
}

/* Every artifact of every chunk (chunks may be NULL), from *i = *j = 0 on. */
static bool next_artifact(json_object *chunks, size_t *i, size_t *j, json_object **ret_chunk, json_object **ret_art) {
        for (; chunks && *i < json_object_array_length(chunks); (*i)++, *j = 0) {
                json_object *chunk = json_object_array_get_idx(chunks, *i), *arts = artifacts_of(chunk);

                if (arts && *j < json_object_array_length(arts)) {
                        *ret_chunk = chunk;
                        *ret_art = json_object_array_get_idx(arts, (*j)++);
                        return true;
                }
        }
        return false;
}

static int deployment_from_json(DdiClient *d, json_object *o, SourceAction *ret) {
        _cleanup_(source_action_done) SourceAction dep = {};
        json_object *deployment, *chunks, *chunk, *art, *found_chunk = NULL, *found_art = NULL;
        const char *id, *mw;
        size_t n_refused = 0, n_more = 0;
        unsigned matches = 0;
        char pat[AGENT_ARTIFACT_PATTERN_MAX + 1] = "";
        int r;

        id = get_str(o, "id");
        deployment = get_obj(o, "deployment");
        if (!id || !deployment) {
                snprintf(d->error, sizeof(d->error), "deploymentBase: no id or deployment in the response");
                return -EBADMSG;
        }
        if (!id_valid(id, strlen(id))) {
                snprintf(d->error, sizeof(d->error),
                         "deploymentBase: the id is not 1-64 of letters, digits, '-' and '_'");
                return -EBADMSG;
        }
        dep.action_id = strdup(id);
        dep.json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!dep.action_id || !dep.json)
                return -ENOMEM;
        if (parse_handling(get_str(deployment, "download"), &dep.download) < 0 ||
            parse_handling(get_str(deployment, "update"), &dep.update) < 0) {
                snprintf(d->error, sizeof(d->error), "deploymentBase %s: download/update is not forced|attempt|skip", id);
                return -EBADMSG;
        }
        mw = get_str(deployment, "maintenanceWindow");
        dep.has_window = mw != NULL;
        dep.window_available = mw && streq(mw, "available");

        if (!json_object_object_get_ex(deployment, "chunks", &chunks) || !json_object_is_type(chunks, json_type_array))
                chunks = NULL;
        /* The first pattern of artifact= that any artifact matches chooses; it must match one. */
        for (unsigned p = 0; matches == 0 && artifact_pattern(d->config->artifact_pattern, p, pat, sizeof(pat)); p++)
                for (size_t i = 0, j = 0; next_artifact(chunks, &i, &j, &chunk, &art);) {
                        const char *fn = get_str(art, "filename");

                        if (fn && fnmatch(pat, fn, FNM_PERIOD) == 0) {
                                matches++;
                                found_chunk = chunk;
                                found_art = art;
                        }
                }
        for (size_t i = 0, j = 0; next_artifact(chunks, &i, &j, &chunk, &art);) {
                const char *fn = get_str(art, "filename");
                bool other = fn && matches > 0 && fnmatch(pat, fn, FNM_PERIOD) != 0 && artifact_matches(d, fn);

                if (art == found_art && matches == 1)
                        continue;
                if (fn && matches > 1 && fnmatch(pat, fn, FNM_PERIOD) == 0)
                        continue;    /* the failure names them */
                r = add_refused(&dep, &n_refused, &n_more,
                                other ? strdup_printf("Not installing artifact %s of %s %s: %s matches %s, which "
                                                      "comes first in artifact=",
                                                      fn, get_str(chunk, "part") ?: "chunk",
                                                      get_str(chunk, "version") ?: "", get_str(found_art, "filename"), pat)
                                      : strdup_printf("Not installing artifact %s of %s %s: it does not match %s",
                                                      fn ?: "(unnamed)", get_str(chunk, "part") ?: "chunk",
                                                      get_str(chunk, "version") ?: "", d->config->artifact_pattern));
                if (r < 0)
                        return r;
        }
        if (matches == 0) {
                r = fail_dep(d, &dep, AGENT_FAILURE_ARTIFACT_NOT_FOUND, "No artifact of action %s matches %s", id,
                             d->config->artifact_pattern);
                goto refuse;
        }
        if (matches > 1) {
                r = fail_dep(d, &dep, AGENT_FAILURE_ARTIFACT_AMBIGUOUS,
                             "%u artifacts of action %s match %s; expected exactly one bundle", matches, id, pat);
                goto refuse;
        }
        r = take_artifact(d, &dep, found_chunk, found_art);
        if (r < 0)
                goto refuse;
        *ret = dep;
        dep = (SourceAction) {};
        return 0;

refuse:
        /* The caller reports the failure; it needs the action id (and json) for that. */
        if (r == -EMEDIUMTYPE) {
                *ret = dep;
                dep = (SourceAction) {};
        }
        return r;
}

int ddi_get_deployment(DdiClient *d, const char *href, SourceAction *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        r = request_json(d, "GET", href, NULL, "deploymentBase", &o);
        if (r < 0)
                return r;
        return deployment_from_json(d, o, ret);
}

int ddi_parse_deployment(DdiClient *d, const char *body, size_t size, SourceAction *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        d->error[0] = 0;
        r = parse_object(d, body, size, "deploymentBase", &o);
        if (r < 0)
                return r;
        return deployment_from_json(d, o, ret);
}

static int cancel_from_json(DdiClient *d, json_object *o, char **ret_stop_id) {
        const char *stop;

        stop = get_str(get_obj(o, "cancelAction"), "stopId") ?: get_str(o, "id");
        if (!stop) {
                snprintf(d->error, sizeof(d->error), "cancelAction: no stopId in the response");
                return -EBADMSG;
        }
        if (!id_valid(stop, strlen(stop))) {
                snprintf(d->error, sizeof(d->error), "cancelAction: the stopId is not 1-64 of letters, digits, '-' and '_'");
                return -EBADMSG;
        }
        *ret_stop_id = strdup(stop);
        return *ret_stop_id ? 0 : -ENOMEM;
}

int ddi_get_cancel(DdiClient *d, const char *href, char **ret_stop_id) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        r = request_json(d, "GET", href, NULL, "cancelAction", &o);
        if (r < 0)
                return r;
        return cancel_from_json(d, o, ret_stop_id);
}

int ddi_parse_cancel(DdiClient *d, const char *body, size_t size, char **ret_stop_id) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        d->error[0] = 0;
        r = parse_object(d, body, size, "cancelAction", &o);
        if (r < 0)
                return r;
        return cancel_from_json(d, o, ret_stop_id);
}

static int add_str(json_object *o, const char *k, const char *v) {
        return json_add(o, k, json_object_new_string(v));
}

static int build_feedback(const DdiFeedback *f, char **ret) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *status = json_object_new_object(), *result = json_object_new_object(), *details;
        struct timespec ts;
        int r = 0;

        if (!root || !status || !result) {
                json_object_put(status);
                json_object_put(result);
                return -ENOMEM;
        }
        json_object_object_add(root, "status", status);
        json_object_object_add(status, "result", result);
        clock_gettime(CLOCK_REALTIME, &ts);
        json_object_object_add(root, "timestamp",
                               json_object_new_int64((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
        r |= add_str(status, "execution", f->execution);
        r |= add_str(result, "finished", f->finished);
        if (f->progress_cnt >= 0) {
                json_object *p = json_object_new_object();
                if (!p)
                        return -ENOMEM;
                json_object_object_add(p, "cnt", json_object_new_int(f->progress_cnt));
                json_object_object_add(p, "of", json_object_new_int(f->progress_of));
                json_object_object_add(result, "progress", p);
        }
        details = json_object_new_array();
        if (!details)
                return -ENOMEM;
        json_object_object_add(status, "details", details);
        for (size_t i = 0; f->details && f->details[i]; i++)
                json_object_array_add(details, json_object_new_string(f->details[i]));
        if (r < 0)
                return -ENOMEM;
        *ret = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret ? 0 : -ENOMEM;
}

/* 409/429: retry after Retry-After or 1, 2, 4, ... s (bounded); the rest is the caller's. */
static int request_with_backoff(DdiClient *d, const char *method, const char *url, const char *body,
                                const char *what) {
        uint64_t delay = USEC_PER_SEC;
        int r;

        for (unsigned i = 0;; i++) {
                r = request_json(d, method, url, body, what, NULL);
                if (r != -EAGAIN || i + 1 >= FEEDBACK_TRIES || !d->sleep)
                        return r;
                uint64_t w = d->retry_after_usec ?: delay;
                w = MIN(w, d->config->poll_max_usec);
                log_info("%s: the server asks us to back off (%s); retrying in %llu ms", what, d->error,
                         (unsigned long long) (w / USEC_PER_MSEC));
                r = d->sleep(w, d->sleep_userdata);
                if (r < 0)
                        return r;
                delay = MIN(delay * 2, 60 * USEC_PER_SEC);
        }
}

int ddi_send_feedback(DdiClient *d, DdiTarget target, const char *action_id, const DdiFeedback *f) {
        _cleanup_free_ char *body = NULL, *url = NULL, *what = NULL;
        int r;

        r = build_feedback(f, &body);
        if (r < 0)
                return r;
        url = strdup_printf("%s/%s/%s/feedback", d->base_url,
                            target == DDI_FEEDBACK_CANCEL ? "cancelAction" : "deploymentBase", action_id);
        what = strdup_printf("%s feedback (%s/%s) for action %s", target == DDI_FEEDBACK_CANCEL ? "cancel" : "deployment",
                             f->execution, f->finished, action_id);
        if (!url || !what)
                return -ENOMEM;
        log_debug("POST %s %s", url, body);
        return request_with_backoff(d, "POST", url, body, what);
}

int ddi_get_confirmation(DdiClient *d, const char *href, char **ret_action_id, char **ret_json) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *id = NULL, *json = NULL;
        const char *s;
        int r;

        r = request_json(d, "GET", href, NULL, "confirmationBase", &o);
        if (r < 0)
                return r;
        s = get_str(o, "id");
        if (!s || !id_valid(s, strlen(s)) || !get_obj(o, "confirmation")) {
                snprintf(d->error, sizeof(d->error), "confirmationBase: no valid id or no confirmation in the response");
                return -EBADMSG;
        }
        id = strdup(s);
        json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!id || !json)
                return -ENOMEM;
        *ret_action_id = TAKE_PTR(id);
        *ret_json = TAKE_PTR(json);
        return 0;
}

int ddi_send_confirmation(DdiClient *d, const char *action_id, bool confirmed, int code, const char *const *details) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        _cleanup_free_ char *url = NULL;
        json_object *l = json_object_new_array();

        if (!root || !l) {
                json_object_put(l);
                return -ENOMEM;
        }
        json_object_object_add(root, "details", l);
        for (size_t i = 0; details && details[i]; i++)
                json_object_array_add(l, json_object_new_string(details[i]));
        json_object_object_add(root, "code", json_object_new_int(code));
        if (add_str(root, "confirmation", confirmed ? "confirmed" : "denied") < 0)
                return -ENOMEM;
        url = strdup_printf("%s/confirmationBase/%s/feedback", d->base_url, action_id);
        if (!url)
                return -ENOMEM;
        return request_with_backoff(d, "POST", url,
                                    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE),
                                    "confirmation feedback");
}

/* PUT {base}/{resource} with root as its body (with the feedback's backoff). */
static int put_json(DdiClient *d, const char *resource, json_object *root) {
        _cleanup_free_ char *url = strdup_printf("%s/%s", d->base_url, resource);

        if (!url)
                return -ENOMEM;
        return request_with_backoff(d, "PUT", url,
                                    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE),
                                    resource);
}

int ddi_put_installed_base(DdiClient *d, const char *name, const char *version) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();

        if (!root || add_str(root, "name", name) < 0 || add_str(root, "version", version) < 0)
                return -ENOMEM;
        return put_json(d, "installedBase", root);
}

int ddi_put_config_data(DdiClient *d, const char *const *data) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *o = json_object_new_object();

        if (!root || !o) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_object_add(root, "data", o);
        if (add_str(root, "mode", "merge") < 0)
                return -ENOMEM;
        for (size_t i = 0; data[i] && data[i + 1]; i += 2)
                if (add_str(o, data[i], data[i + 1]) < 0)
                        return -ENOMEM;
        return put_json(d, "configData", root);
}
