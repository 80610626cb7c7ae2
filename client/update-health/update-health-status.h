/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "update-health-dirs.h"
#include "update-health-exec.h"

/* The record of a run: one JSON object per check or script, and the status files
 * <data-dir>/health.json (the last run) and <data-dir>/health-red.json (the last red run,
 * which survives the green run of the fallback boot).  Format: docs/health.md. */

#define HEALTH_STATUS_FILE "health.json"
#define HEALTH_RED_STATUS_FILE "health-red.json"

/* "pass", "skipped", "fail", "timeout" or "killed" for a program that ran. */
const char *health_exec_verdict(const ExecResult *x);
/* Whether a result makes a required check fail the boot. */
bool health_result_is_failure(const char *result);

/* {"name", "kind", "path", "result"}; NULL on ENOMEM. */
struct json_object *health_record_new(const HealthEntry *e, const char *kind, const char *result);
/* Adds exit_code, signal, timed_out, duration_ms, output, output_truncated. */
void health_record_exec(struct json_object *o, const ExecResult *x);

/* Writes the status atomically (mode 0644) to health.json, and to health-red.json if red.
 * Logs and returns a negative errno on failure. */
int health_status_write(const char *data_dir, struct json_object *status, bool red);

/* Prints health.json (pretty) to stdout.  -ENOENT: no run recorded yet (a message is printed
 * to stderr, as for any other error). */
int health_status_print(const char *data_dir);
