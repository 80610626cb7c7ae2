/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "update-health-status.h"
#include "util.h"

/* The status file is small; anything bigger is not ours. */
#define STATUS_MAX_SIZE (UINT64_C(16) << 20)

const char *health_exec_verdict(const ExecResult *x) {
        if (x->timed_out)
                return "timeout";
        if (x->signal > 0)
                return "killed";
        if (x->exit_code == 0)
                return "pass";
        if (x->exit_code == HEALTH_EXIT_SKIP)
                return "skipped";
        return "fail";
}

bool health_result_is_failure(const char *result) {
        return streq(result, "fail") || streq(result, "timeout") || streq(result, "killed") || streq(result, "error");
}

struct json_object *health_record_new(const HealthEntry *e, const char *kind, const char *result) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "path", json_object_new_string(e->path));
        json_object_object_add(o, "result", json_object_new_string(result));
        return o;
}

void health_record_exec(struct json_object *o, const ExecResult *x) {
        const char *sig = x->signal > 0 ? sigabbrev_np(x->signal) : NULL;
        char signame[32];

        if (sig)
                snprintf(signame, sizeof(signame), "SIG%s", sig);
        json_object_object_add(o, "exit_code", x->exit_code >= 0 ? json_object_new_int(x->exit_code) : NULL);
        json_object_object_add(o, "signal", sig ? json_object_new_string(signame) : NULL);
        json_object_object_add(o, "timed_out", json_object_new_boolean(x->timed_out));
        json_object_object_add(o, "duration_ms", json_object_new_int64((int64_t) MIN(x->duration_ms, (uint64_t) INT64_MAX)));
        json_object_object_add(o, "output", json_object_new_string(x->output ?: ""));
        json_object_object_add(o, "output_truncated", json_object_new_boolean(x->output_truncated));
}

int health_status_write(const char *data_dir, struct json_object *status, bool red) {
        _cleanup_free_ char *path = strdup_printf("%s/" HEALTH_STATUS_FILE, data_dir);
        _cleanup_free_ char *red_path = strdup_printf("%s/" HEALTH_RED_STATUS_FILE, data_dir);
        const char *text;
        int r;

        if (!path || !red_path)
                return log_error_errno(ENOMEM, "Cannot write the status: %m");
        text = json_object_to_json_string_ext(status, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return log_error_errno(ENOMEM, "Cannot write the status: %m");

        /* Under systemd StateDirectory= made it; by hand it may be missing. */
        (void) mkdir(data_dir, 0755);
        /* 0644: anyone may read the last result (update-health --json). */
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", path);
        if (red) {
                r = write_file_atomic(red_path, text, strlen(text), 0644);
                if (r < 0)
                        return log_error_errno(r, "Cannot write %s: %m", red_path);
        }
        return 0;
}

int health_status_print(const char *data_dir) {
        _cleanup_free_ char *path = strdup_printf("%s/" HEALTH_STATUS_FILE, data_dir), *data = NULL;
        struct json_object *root;
        size_t size;
        int r;

        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file(path, STATUS_MAX_SIZE, &data, &size);
        if (r == -ENOENT) {
                fprintf(stderr, "update-health: no run recorded yet (%s does not exist)\n", path);
                return r;
        }
        if (r < 0) {
                fprintf(stderr, "update-health: cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        root = json_tokener_parse(data);
        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                fprintf(stderr, "update-health: %s is not a JSON object\n", path);
                return -EBADMSG;
        }
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}
