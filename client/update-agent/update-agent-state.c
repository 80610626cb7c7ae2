/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "update-agent-failure.h"
#include "update-agent-state.h"
#include "util.h"

#define RECORD_FILE "action.json"
#define RECORD_MAX (UINT64_C(256) * 1024)
#define MAX_DETAILS 32

static const char *const phase_names[_PHASE_MAX] = {
        [PHASE_DOWNLOADING] = "downloading", [PHASE_DOWNLOADED] = "downloaded", [PHASE_INSTALLING] = "installing",
        [PHASE_INSTALLED] = "installed",     [PHASE_REBOOTING] = "rebooting",   [PHASE_REPORTING] = "reporting",
};

const char *action_phase_to_string(ActionPhase p) {
        return p >= 0 && p < _PHASE_MAX ? phase_names[p] : "unknown";
}

ActionRecord *action_record_free(ActionRecord *r) {
        if (!r)
                return NULL;
        free(r->action_id);
        free(r->version);
        free(r->filename);
        free(r->sha256);
        free(r->transaction_id);
        free(r->expected_slot);
        free(r->boot_id);
        strv_free(r->final_details);
        free(r->final_reason);
        free(r->final_failure);
        free(r->final_message);
        free(r->hook_meta);
        free(r->restart_arg);
        free(r);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(ActionRecord *, action_record_free);

static char *record_path(const char *state_dir) {
        return strdup_printf("%s/" RECORD_FILE, state_dir);
}

static int get_string(json_object *o, const char *key, bool required, char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static uint64_t get_u64(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return (uint64_t) json_object_get_uint64(v);
}

static bool get_bool(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

static int parse(json_object *o, ActionRecord **ret) {
        _cleanup_(action_record_freep) ActionRecord *r = calloc(1, sizeof(ActionRecord));
        _cleanup_free_ char *phase = NULL;
        json_object *details;
        int k = 0;

        if (!r)
                return -ENOMEM;
        if (get_u64(o, "format") != 1)
                return -EBADMSG;
        k = get_string(o, "action", true, &r->action_id);
        if (k >= 0)
                k = get_string(o, "phase", true, &phase);
        if (k >= 0)
                k = get_string(o, "version", false, &r->version);
        if (k >= 0)
                k = get_string(o, "filename", false, &r->filename);
        if (k >= 0)
                k = get_string(o, "sha256", false, &r->sha256);
        if (k >= 0)
                k = get_string(o, "transaction_id", false, &r->transaction_id);
        if (k >= 0)
                k = get_string(o, "expected_slot", false, &r->expected_slot);
        if (k >= 0)
                k = get_string(o, "boot_id", false, &r->boot_id);
        if (k < 0)
                return k;
        r->phase = _PHASE_MAX;
        for (int i = 0; i < _PHASE_MAX; i++)
                if (streq(phase, phase_names[i]))
                        r->phase = (ActionPhase) i;
        if (r->phase == _PHASE_MAX || !string_is_safe_name(r->action_id))
                return -EBADMSG;
        r->size = get_u64(o, "size");
        r->installed_at = get_u64(o, "installed_at");
        r->first_seen = get_u64(o, "first_seen");
        r->install_attempts = (unsigned) MIN(get_u64(o, "install_attempts"), (uint64_t) 1000);
        r->download_only = get_bool(o, "download_only");
        r->downloaded_reported = get_bool(o, "downloaded_reported");
        r->final_success = get_bool(o, "final_success");
        if (get_string(o, "final_reason", false, &r->final_reason) < 0 ||
            get_string(o, "final_message", false, &r->final_message) < 0 ||
            get_string(o, "final_failure", false, &r->final_failure) < 0 ||
            get_string(o, "hook_meta", false, &r->hook_meta) < 0 ||
            get_string(o, "restart_arg", false, &r->restart_arg) < 0)
                return -EBADMSG;
        /* A name this agent does not know is no name (the details still say what happened). */
        if (r->final_failure && !agent_failure_name_valid(r->final_failure))
                r->final_failure = mfree(r->final_failure);
        if (json_object_object_get_ex(o, "final_details", &details) && json_object_is_type(details, json_type_array)) {
                size_t n = MIN(json_object_array_length(details), (size_t) MAX_DETAILS), m = 0;

                r->final_details = calloc(n + 1, sizeof(char *));
                if (!r->final_details)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *s = json_object_array_get_idx(details, i);
                        if (json_object_is_type(s, json_type_string) &&
                            !(r->final_details[m++] = strdup(json_object_get_string(s))))
                                return -ENOMEM;
                }
        }
        if ((r->phase >= PHASE_INSTALLED && r->phase != PHASE_REPORTING && !r->expected_slot) ||
            (r->phase >= PHASE_INSTALLING && r->phase != PHASE_REPORTING && !r->transaction_id))
                return -EBADMSG;
        *ret = TAKE_PTR(r);
        return 0;
}

int action_record_load(const char *state_dir, ActionRecord **ret) {
        _cleanup_free_ char *path = record_path(state_dir), *data = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, RECORD_MAX, &data, &size);
        if (r < 0)
                return r;
        o = json_tokener_parse(data);
        r = o ? parse(o, ret) : -EBADMSG;
        if (r == -EBADMSG) {
                /* Atomic writes make this a foreign or hand-edited file; keep it for a human. */
                _cleanup_free_ char *aside = strdup_printf("%s.corrupt", path);
                log_error("%s is not a valid action record; moved to %s", path, aside ?: "(oom)");
                if (aside)
                        (void) rename(path, aside);
                return -ENOENT;
        }
        return r;
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : json_object_new_null();
}

int action_record_save(const char *state_dir, const ActionRecord *r) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *path = record_path(state_dir);
        json_object *details;
        const char *s;
        int k = 0;

        if (!o || !path)
                return -ENOMEM;
        k |= json_add(o, "format", json_object_new_int(1));
        k |= json_add(o, "action", json_object_new_string(r->action_id));
        k |= json_add(o, "phase", json_object_new_string(action_phase_to_string(r->phase)));
        k |= json_add_or_null(o, "version", str_or_null(r->version));
        k |= json_add_or_null(o, "filename", str_or_null(r->filename));
        k |= json_add(o, "size", json_object_new_uint64(r->size));
        k |= json_add_or_null(o, "sha256", str_or_null(r->sha256));
        k |= json_add(o, "download_only", json_object_new_boolean(r->download_only));
        k |= json_add(o, "downloaded_reported", json_object_new_boolean(r->downloaded_reported));
        k |= json_add_or_null(o, "transaction_id", str_or_null(r->transaction_id));
        k |= json_add_or_null(o, "expected_slot", str_or_null(r->expected_slot));
        k |= json_add(o, "installed_at", json_object_new_uint64(r->installed_at));
        k |= json_add(o, "install_attempts", json_object_new_uint64(r->install_attempts));
        k |= json_add_or_null(o, "boot_id", str_or_null(r->boot_id));
        k |= json_add(o, "first_seen", json_object_new_uint64(r->first_seen));
        k |= json_add(o, "final_success", json_object_new_boolean(r->final_success));
        k |= json_add_or_null(o, "final_reason", str_or_null(r->final_reason));
        k |= json_add_or_null(o, "final_message", str_or_null(r->final_message));
        k |= json_add_or_null(o, "final_failure", str_or_null(r->final_failure));
        k |= json_add_or_null(o, "hook_meta", str_or_null(r->hook_meta));
        k |= json_add_or_null(o, "restart_arg", str_or_null(r->restart_arg));
        details = json_object_new_array();
        k |= json_add(o, "final_details", details);
        if (k < 0)
                return -ENOMEM;
        for (size_t i = 0; r->final_details && r->final_details[i]; i++)
                json_object_array_add(details, json_object_new_string(r->final_details[i]));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        k = write_file_atomic(path, s, strlen(s), 0600);
        if (k < 0)
                return log_error_errno(k, "Cannot write %s: %m", path);
        log_debug("Action %s: phase %s recorded", r->action_id, action_phase_to_string(r->phase));
        return 0;
}

int action_record_remove(const char *state_dir) {
        _cleanup_free_ char *path = record_path(state_dir);

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Cannot remove %s: %m", path);
        (void) fsync_directory_of(path);
        return 0;
}

int action_record_set_final(ActionRecord *r, bool success, const char *const *details) {
        size_t n = 0;
        char **l;

        while (details && details[n] && n < MAX_DETAILS)
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(l[i] = strdup(details[i]))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        strv_free(r->final_details);
        r->final_details = l;
        r->final_success = success;
        return 0;
}

static int set_opt(char **dst, const char *s) {
        char *c = NULL;

        if (s && !(c = strdup(s)))
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

int action_record_set_reason(ActionRecord *r, const char *reason, const char *message) {
        if (set_opt(&r->final_reason, reason) < 0 || set_opt(&r->final_message, message) < 0)
                return -ENOMEM;
        return 0;
}

int action_record_set_failure(ActionRecord *r, const char *name) {
        return set_opt(&r->final_failure, name);
}

char *action_bundle_path(const char *state_dir, const char *action_id, bool partial) {
        return strdup_printf("%s/bundle-%s%s", state_dir, action_id, partial ? ".part" : "");
}

void action_remove_bundles(const char *state_dir, const char *keep) {
        DIR *d = opendir(state_dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                const char *id;
                size_t n;

                if (!strneq(de->d_name, "bundle-", 7))
                        continue;
                id = de->d_name + 7;
                n = strcspn(id, ".");
                if (keep && strlen(keep) == n && strneq(id, keep, n))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                        log_info("Removed %s/%s (no longer needed)", state_dir, de->d_name);
        }
        closedir(d);
}

char *current_boot_id(void) {
        _cleanup_free_ char *data = NULL;
        char out[33];
        size_t size, k = 0;

        if (read_full_file("/proc/sys/kernel/random/boot_id", 128, &data, &size) < 0)
                return NULL;
        for (size_t i = 0; i < size && k < 32; i++)
                if (data[i] != '-' && data[i] != '\n')
                        out[k++] = data[i];
        out[k] = 0;
        return k == 32 ? strdup(out) : NULL;
}
