/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus-client.h"
#include "ini.h"
#include "log.h"
#include "macro.h"
#include "update-health-dirs.h"
#include "update-health-exec.h"
#include "update-health-status.h"
#include "util.h"

/* update-health: decides whether this boot is healthy by running the check programs in
 * required.d and wanted.d, then tells updated (MarkGood, or Mark bad + Reboot on a failed trial
 * boot), runs green.d or red.d and records the run in <data-dir>/health.json.  Runs as an
 * unprivileged member of group "update". */

#define DEFAULT_USR_DIR PREFIX "/lib/update-health"
#define DEFAULT_ETC_DIR SYSCONFDIR "/update-health"
#define DEFAULT_DATA_DIR LOCALSTATEDIR "/lib/update1/health"
#define DEFAULT_TIMEOUT_SEC UINT64_C(60)
#define MAX_TIMEOUT_SEC UINT64_C(86400)
/* Marking writes the bootloader environment (fsync on slow flash); no reason to wait longer. */
#define HEALTH_BUS_TIMEOUT_USEC (UINT64_C(90) * 1000000)

enum { EXIT_GREEN = 0, EXIT_RED = 1, EXIT_USAGE = 2 };

typedef struct Options {
        const char *usr_dir;
        const char *etc_dir;
        const char *data_dir;
        uint64_t timeout_sec;
        bool timeout_set;       /* on the command line: wins over health.conf */
        bool fail_fast;
        bool no_reboot;
        bool json;
        bool dry_run;
} Options;

typedef struct Run {
        const Options *opt;
        sd_bus *bus;
        bool daemon_reachable;
        char *booted;           /* slot name, NULL if the daemon does not know */
        int on_trial;           /* 1, 0, or -1: unknown */
        unsigned required_failed, wanted_failed, n_checks;
        bool interrupted;
        const char *action;
        char *daemon_message;
        struct json_object *checks, *scripts, *errors;
} Run;

static void run_done(Run *r) {
        sd_bus_flush_close_unref(r->bus);
        free(r->booted);
        free(r->daemon_message);
        json_object_put(r->checks);
        json_object_put(r->scripts);
        json_object_put(r->errors);
}

static void add_error(Run *run, const char *fmt, ...) _printf_(2, 3);
static void add_error(Run *run, const char *fmt, ...) {
        va_list ap;
        char buf[1024];

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) json_object_array_add(run->errors, json_object_new_string(buf));
}

/* ---- configuration ---- */

static int config_handler(const char *section, const char *key, const char *value, unsigned line,
                          void *userdata) {
        Options *o = userdata;
        uint64_t u;
        int b;

        /* A typo in health.conf must not turn every boot red: warn and keep the default. */
        if (!isempty(section)) {
                log_warning("health.conf:%u: ignoring key '%s' in section [%s] (keys go before any section)",
                            line, key, section);
                return 0;
        }
        if (streq(key, "timeout")) {
                if (parse_u64(value, &u) < 0 || u == 0 || u > MAX_TIMEOUT_SEC)
                        log_warning("health.conf:%u: timeout=%s is not 1..%llu seconds, ignored", line, value,
                                    (unsigned long long) MAX_TIMEOUT_SEC);
                else if (!o->timeout_set)
                        o->timeout_sec = u;
        } else if (streq(key, "fail-fast")) {
                b = parse_boolean(value);
                if (b < 0)
                        log_warning("health.conf:%u: fail-fast=%s is not a boolean, ignored", line, value);
                else
                        o->fail_fast = b;
        } else
                log_warning("health.conf:%u: unknown key '%s', ignored", line, key);
        return 0;
}

static void load_config(Options *o) {
        _cleanup_free_ char *path = strdup_printf("%s/health.conf", o->etc_dir);
        unsigned line = 0;
        int r;

        if (!path)
                return;
        r = ini_parse_file(path, config_handler, o, &line);
        if (r == -ENOENT)
                return;
        if (r < 0)
                log_warning_errno(r, "%s:%u: cannot parse (%m), using the defaults for the rest", path, line);
}

/* ---- the daemon ---- */

/* bus_client_call() with our own, shorter timeout (boot must not wait ten minutes), recording
 * the failure for the status file. */
static int health_call(Run *run, const char *method, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = bus_client_new_call(run->bus, method, &m);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0) {
                r = sd_bus_call(run->bus, m, HEALTH_BUS_TIMEOUT_USEC, &e, ret_reply);
                if (r < 0)
                        (void) bus_client_log_error(&e, r, method);
        }
        if (r < 0) {
                if (sd_bus_error_is_set(&e))
                        add_error(run, "%s: %s: %s", method, e.name, e.message ?: "");
                else
                        add_error(run, "%s: %s", method, strerror(-r));
        }
        return r;
}

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* Which slot is booted, and is it on trial?  Read-only, allowed to anyone. */
static void query_daemon(Run *run) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct json_object *root = NULL, *slots = NULL;
        const char *text, *booted, *boot_status = NULL;
        int r;

        r = bus_client_connect(&run->bus);
        if (r < 0) {
                add_error(run, "Cannot connect to the system bus: %s", strerror(-r));
                return;
        }
        if (health_call(run, "GetSlotStatus", &reply, NULL) < 0)
                return;
        r = sd_bus_message_read(reply, "s", &text);
        if (r >= 0)
                root = json_tokener_parse(text);
        if (!root) {
                add_error(run, "GetSlotStatus: the daemon's reply is not a JSON document");
                return;
        }
        run->daemon_reachable = true;

        booted = json_str(root, "booted");
        if (booted && json_object_object_get_ex(root, "slots", &slots) &&
            json_object_is_type(slots, json_type_array))
                for (size_t i = 0; i < json_object_array_length(slots); i++) {
                        struct json_object *s = json_object_array_get_idx(slots, i);
                        const char *name = json_str(s, "name");

                        if (name && streq(name, booted)) {
                                boot_status = json_str(s, "boot_status");
                                break;
                        }
                }
        run->booted = booted ? strdup(booted) : NULL;
        run->on_trial = !boot_status ? -1 : streq(boot_status, "trial");
        if (!booted)
                log_warning("The daemon does not know which slot is booted");
        else
                log_info("Booted slot %s, boot status %s", booted, boot_status ?: "unknown");
        json_object_put(root);
}

/* Mark(state, "booted") or MarkGood(); keeps the daemon's message. */
static int mark(Run *run, const char *state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *slot, *message;
        int r;

        if (streq(state, "good"))
                r = health_call(run, "MarkGood", &reply, NULL);
        else
                r = health_call(run, "Mark", &reply, "ss", state, "booted");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &slot, &message);
        if (r < 0) {
                add_error(run, "Mark: cannot read the reply: %s", strerror(-r));
                return r;
        }
        log_info("%s", message);
        free(run->daemon_message);
        run->daemon_message = strdup(message);
        return 0;
}

/* ---- running the programs ---- */

static const char *tristate(int v) {
        return v < 0 ? "unknown" : v ? "yes" : "no";
}

static void free_env(char **env) {
        if (!env)
                return;
        for (char **e = env; *e; e++)
                if (strneq(*e, "UPDATE_HEALTH_", 14))
                        free(*e);
        free(env);
}

/* Our environment minus stale UPDATE_HEALTH_*, plus what a check may want to know.  For
 * green.d/red.d (result set) also the verdict and what was done about it. */
static char **build_env(const Run *run, const char *kind, const char *result) {
        extern char **environ;
        const struct {
                const char *name, *value;
        } extra[] = {
                { "KIND",     kind },
                { "BOOTED",   run->booted ?: "" },
                { "ON_TRIAL", tristate(run->on_trial) },
                { "RESULT",   result },
                { "ACTION",   result ? run->action : NULL },
        };
        char **env;
        size_t n = 0, k = 0;

        for (char **e = environ; *e; e++)
                n++;
        env = calloc(n + ELEMENTSOF(extra) + 1, sizeof(char *));
        if (!env)
                return NULL;
        for (char **e = environ; *e; e++)
                if (!strneq(*e, "UPDATE_HEALTH_", 14))
                        env[k++] = *e;  /* borrowed; free_env() frees only ours */
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                if (!extra[i].value)
                        continue;
                env[k] = strdup_printf("UPDATE_HEALTH_%s=%s", extra[i].name, extra[i].value);
                if (!env[k]) {
                        free_env(env);
                        return NULL;
                }
                k++;
        }
        return env;
}

/* Runs one entry; returns its result string (static), or NULL on ENOMEM/interruption. */
static const char *run_entry(Run *run, const HealthEntry *e, const char *kind, const char *script_result,
                             struct json_object *into) {
        _cleanup_free_ char *label = strdup_printf("%s/%s", kind, e->name);
        char **env = NULL;
        ExecResult x = {};
        struct json_object *rec;
        const char *verdict;
        int r;

        if (!label)
                return NULL;
        if (e->state == HEALTH_ENTRY_MASKED) {
                log_info("%s: masked, not run", label);
                rec = health_record_new(e, kind, "masked");
                if (rec)
                        json_object_array_add(into, rec);
                return "masked";
        }
        if (e->state == HEALTH_ENTRY_NOT_EXECUTABLE) {
                /* Fail closed: a required check that cannot run has not passed. */
                log_error("%s: %s", label, e->problem);
                rec = health_record_new(e, kind, "error");
                if (rec) {
                        json_object_object_add(rec, "error", json_object_new_string(e->problem));
                        json_object_array_add(into, rec);
                }
                return "error";
        }

        env = build_env(run, kind, script_result);
        if (!env)
                return NULL;
        r = health_exec(e->path, label, env, run->opt->timeout_sec * UINT64_C(1000000), &x);
        free_env(env);
        if (r < 0 && r != -ECANCELED) {
                log_error_errno(r, "%s: cannot run %s: %m", label, e->path);
                rec = health_record_new(e, kind, "error");
                if (rec) {
                        json_object_object_add(rec, "error", json_object_new_string(strerror(-r)));
                        json_object_array_add(into, rec);
                }
                return "error";
        }

        verdict = r == -ECANCELED ? "killed" : health_exec_verdict(&x);
        if (streq(verdict, "pass") || streq(verdict, "skipped"))
                log_info("%s: %s (%llu ms)", label, verdict, (unsigned long long) x.duration_ms);
        else
                log_warning("%s: %s (exit %d, signal %d, %llu ms)", label, verdict, x.exit_code, x.signal,
                            (unsigned long long) x.duration_ms);
        rec = health_record_new(e, kind, verdict);
        if (rec) {
                health_record_exec(rec, &x);
                json_object_array_add(into, rec);
        }
        exec_result_done(&x);
        if (r == -ECANCELED) {
                run->interrupted = true;
                return NULL;
        }
        return verdict;
}

/* Runs <usr>/<kind>.d and <etc>/<kind>.d; returns the number of failed programs. */
static unsigned run_dir(Run *run, const char *kind, const char *script_result, struct json_object *into,
                        bool fail_fast) {
        _cleanup_free_ char *subdir = strdup_printf("%s.d", kind);
        HealthEntries list = {};
        unsigned failed = 0;
        int r;

        if (!subdir) {
                add_error(run, "%s: out of memory", kind);
                return 1;
        }
        r = health_dirs_list(run->opt->usr_dir, run->opt->etc_dir, subdir, &list);
        if (r < 0) {
                add_error(run, "Cannot list the %s checks in %s and %s: %s", kind, run->opt->usr_dir,
                          run->opt->etc_dir, strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < list.n && !run->interrupted; i++) {
                const char *verdict;

                if (fail_fast && failed > 0) {
                        struct json_object *rec = health_record_new(&list.entries[i], kind, "skipped");

                        log_notice("%s/%s: skipped (fail-fast after a failed required check)", kind,
                                   list.entries[i].name);
                        if (rec) {
                                json_object_object_add(rec, "error", json_object_new_string("fail-fast"));
                                json_object_array_add(into, rec);
                        }
                        continue;
                }
                verdict = run_entry(run, &list.entries[i], kind, script_result, into);
                if (!verdict) {
                        if (!run->interrupted)
                                add_error(run, "%s/%s: out of memory", kind, list.entries[i].name);
                        failed++;
                        continue;
                }
                if (!streq(verdict, "masked"))
                        run->n_checks++;
                if (health_result_is_failure(verdict))
                        failed++;
        }
        health_entries_done(&list);
        return failed;
}

/* ---- the status file ---- */

static struct json_object *build_status(const Run *run, uint64_t started, uint64_t finished, uint64_t duration_ms) {
        struct json_object *o = json_object_new_object();
        char ts[64];

        if (!o)
                return NULL;
        json_object_object_add(o, "format", json_object_new_int(1));
        json_object_object_add(o, "version", json_object_new_string(UPDATE1_VERSION));
        format_timestamp(started, ts, sizeof(ts));
        json_object_object_add(o, "started", json_object_new_string(ts));
        format_timestamp(finished, ts, sizeof(ts));
        json_object_object_add(o, "finished", json_object_new_string(ts));
        json_object_object_add(o, "duration_ms", json_object_new_int64((int64_t) duration_ms));
        json_object_object_add(o, "result", json_object_new_string(run->required_failed > 0 ? "red" : "green"));
        json_object_object_add(o, "daemon_reachable", json_object_new_boolean(run->daemon_reachable));
        json_object_object_add(o, "booted", run->booted ? json_object_new_string(run->booted) : NULL);
        json_object_object_add(o, "on_trial", run->on_trial < 0 ? NULL : json_object_new_boolean(run->on_trial));
        json_object_object_add(o, "action", json_object_new_string(run->action));
        json_object_object_add(o, "daemon_message",
                               run->daemon_message ? json_object_new_string(run->daemon_message) : NULL);
        json_object_object_add(o, "timeout_sec", json_object_new_int64((int64_t) run->opt->timeout_sec));
        json_object_object_add(o, "fail_fast", json_object_new_boolean(run->opt->fail_fast));
        json_object_object_add(o, "checks", json_object_get(run->checks));
        json_object_object_add(o, "scripts", json_object_get(run->scripts));
        json_object_object_add(o, "errors", json_object_get(run->errors));
        return o;
}

static int write_status(const Run *run, uint64_t started, uint64_t mono_start) {
        struct json_object *o;
        struct timespec ts;
        uint64_t duration_ms;
        int r;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        duration_ms = ((uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000) - mono_start;
        o = build_status(run, started, now_realtime_sec(), duration_ms);
        if (!o)
                return log_error_errno(ENOMEM, "Cannot build the status: %m");
        if (run->opt->dry_run) {
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                r = 0;
        } else
                r = health_status_write(run->opt->data_dir, o, run->required_failed > 0);
        json_object_put(o);
        return r;
}

/* ---- main flow ---- */

static int run_health(const Options *opt) {
        Run run = {
                .opt = opt,
                .on_trial = -1,
                .action = "none",
                .checks = json_object_new_array(),
                .scripts = json_object_new_array(),
                .errors = json_object_new_array(),
        };
        uint64_t started = now_realtime_sec(), mono_start;
        bool green, acted = true, marked_bad = false;
        struct timespec ts;
        int r, rc;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        mono_start = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
        if (!run.checks || !run.scripts || !run.errors) {
                run_done(&run);
                log_error("Out of memory");
                return EXIT_USAGE;
        }

        query_daemon(&run);

        run.required_failed = run_dir(&run, "required", NULL, run.checks, opt->fail_fast);
        if (!run.interrupted)
                run.wanted_failed = run_dir(&run, "wanted", NULL, run.checks, false);
        if (run.interrupted) {
                /* Being stopped (shutdown): say so, but judge nothing. */
                add_error(&run, "Interrupted by a signal: nothing was marked");
                run.required_failed = MAX(run.required_failed, 1U);
        }
        green = run.required_failed == 0;
        log_info("Checks %s: %u run, %u required failed, %u wanted failed", green ? "green" : "red", run.n_checks,
                 run.required_failed, run.wanted_failed);

        if (opt->dry_run || run.interrupted) {
                (void) write_status(&run, started, mono_start);
                rc = green && run.daemon_reachable ? EXIT_GREEN : EXIT_RED;
                run_done(&run);
                return rc;
        }

        if (!run.daemon_reachable)
                log_error("The daemon could not be asked: the result is recorded, nothing is marked");
        else if (green) {
                /* Also outside a trial boot: MarkGood re-arms the booted slot's boot counter,
                 * which the boot script decremented (see docs/health.md). */
                r = mark(&run, "good");
                if (r >= 0)
                        run.action = run.on_trial > 0 ? "committed" : "re-armed";
                else
                        acted = false;
        } else if (run.on_trial > 0) {
                r = mark(&run, "bad");
                if (r >= 0) {
                        run.action = "marked-bad";
                        marked_bad = true;
                } else
                        acted = false;
        } else
                log_notice("Not on a trial boot: the result is reported, nothing is marked");

        (void) run_dir(&run, green ? "green" : "red", green ? "green" : "red", run.scripts, false);

        /* Recorded before asking for the reboot: we may not get to write anything after it. */
        (void) write_status(&run, started, mono_start);

        if (!green && run.on_trial > 0 && run.daemon_reachable && !run.interrupted) {
                if (opt->no_reboot)
                        log_notice("Not rebooting (--no-reboot)");
                else {
                        log_notice("Requesting a reboot into the fallback slot");
                        if (health_call(&run, "Reboot", NULL, NULL) >= 0) {
                                run.action = "rebooted";
                                (void) write_status(&run, started, mono_start);
                        } else {
                                if (!marked_bad)
                                        run.action = "none";
                                acted = false;
                                (void) write_status(&run, started, mono_start);
                        }
                }
        }

        if (green && run.daemon_reachable && acted)
                printf("green: %u checks, %u wanted failed; %s\n", run.n_checks, run.wanted_failed,
                       run.daemon_message ?: run.action);
        else
                printf("%s: %u checks, %u required failed, %u wanted failed; action %s%s%s\n", green ? "green" : "red",
                       run.n_checks, run.required_failed, run.wanted_failed, run.action,
                       run.daemon_reachable ? "" : "; the daemon could not be reached",
                       run.daemon_reachable && !acted ? "; the daemon refused" : "");
        rc = green && run.daemon_reachable && acted ? EXIT_GREEN : EXIT_RED;
        run_done(&run);
        return rc;
}

static void help(void) {
        printf("Usage: update-health [OPTIONS]\n"
               "\n"
               "Run the boot health checks and tell updated the verdict: a green trial boot is\n"
               "committed (MarkGood); a red trial boot is marked bad and rebooted into the\n"
               "fallback slot. Outside a trial boot a green result re-arms the boot counter and a\n"
               "red one is only reported.\n"
               "\n"
               "  --config-dir-usr DIR   Vendor checks (default %s)\n"
               "  --config-dir-etc DIR   Admin checks and health.conf; same names override\n"
               "                         (default %s)\n"
               "  --data-dir DIR         Where the last run is recorded (default %s)\n"
               "  --timeout SEC          Per check (default %llu, or timeout= in health.conf)\n"
               "  --no-reboot            Mark a red trial boot bad but do not reboot\n"
               "  --dry-run              Run the checks only: mark nothing, run no green.d/red.d,\n"
               "                         write nothing; print the status JSON\n"
               "  --json                 Print the status JSON of the last run and exit\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "\n"
               "Exit status: 0 green (and recorded with the daemon), 1 red or the daemon could not\n"
               "be asked or told, 2 usage or internal error.\n",
               DEFAULT_USR_DIR, DEFAULT_ETC_DIR, DEFAULT_DATA_DIR, (unsigned long long) DEFAULT_TIMEOUT_SEC);
}

/* Checks run with "/" as working directory, so a relative directory is made absolute. */
static int make_absolute(const char **dir, char **storage) {
        _cleanup_free_ char *cwd = NULL;

        if ((*dir)[0] == '/')
                return 0;
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        *storage = strdup_printf("%s/%s", cwd, *dir);
        if (!*storage)
                return -ENOMEM;
        *dir = *storage;
        return 0;
}

/* Returns -1 to go on, else an exit code. */
static int parse_argv(int argc, char **argv, Options *o) {
        enum {
                ARG_USR = 0x100,
                ARG_ETC,
                ARG_DATA,
                ARG_TIMEOUT,
                ARG_NO_REBOOT,
                ARG_JSON,
                ARG_DRY_RUN,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "config-dir-usr", required_argument, NULL, ARG_USR       },
                { "config-dir-etc", required_argument, NULL, ARG_ETC       },
                { "data-dir",       required_argument, NULL, ARG_DATA      },
                { "timeout",        required_argument, NULL, ARG_TIMEOUT   },
                { "no-reboot",      no_argument,       NULL, ARG_NO_REBOOT },
                { "json",           no_argument,       NULL, ARG_JSON      },
                { "dry-run",        no_argument,       NULL, ARG_DRY_RUN   },
                { "help",           no_argument,       NULL, 'h'           },
                { "version",        no_argument,       NULL, ARG_VERSION   },
                {}
        };
        uint64_t u;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_USR:
                        o->usr_dir = optarg;
                        break;
                case ARG_ETC:
                        o->etc_dir = optarg;
                        break;
                case ARG_DATA:
                        o->data_dir = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > MAX_TIMEOUT_SEC) {
                                fprintf(stderr, "update-health: --timeout '%s' is not 1..%llu seconds\n", optarg,
                                        (unsigned long long) MAX_TIMEOUT_SEC);
                                return EXIT_USAGE;
                        }
                        o->timeout_sec = u;
                        o->timeout_set = true;
                        break;
                case ARG_NO_REBOOT:
                        o->no_reboot = true;
                        break;
                case ARG_JSON:
                        o->json = true;
                        break;
                case ARG_DRY_RUN:
                        o->dry_run = true;
                        break;
                case 'h':
                        help();
                        return EXIT_GREEN;
                case ARG_VERSION:
                        printf("update-health %s\n", UPDATE1_VERSION);
                        return EXIT_GREEN;
                default:
                        fprintf(stderr, "Try 'update-health --help'.\n");
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "update-health: unexpected argument '%s'\nTry 'update-health --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (isempty(o->usr_dir) || isempty(o->etc_dir) || isempty(o->data_dir)) {
                fprintf(stderr, "update-health: directory arguments must not be empty\n");
                return EXIT_USAGE;
        }
        return -1;
}

int main(int argc, char **argv) {
        Options o = {
                .usr_dir = DEFAULT_USR_DIR,
                .etc_dir = DEFAULT_ETC_DIR,
                .data_dir = DEFAULT_DATA_DIR,
                .timeout_sec = DEFAULT_TIMEOUT_SEC,
        };
        _cleanup_free_ char *usr_abs = NULL, *etc_abs = NULL, *data_abs = NULL;
        int r;

        log_set_ident("update-health");
        bus_client_set_program("update-health");

        r = parse_argv(argc, argv, &o);
        if (r >= 0)
                return r;
        r = make_absolute(&o.usr_dir, &usr_abs);
        if (r >= 0)
                r = make_absolute(&o.etc_dir, &etc_abs);
        if (r >= 0)
                r = make_absolute(&o.data_dir, &data_abs);
        if (r < 0) {
                log_error_errno(r, "Cannot resolve the directories: %m");
                return EXIT_USAGE;
        }
        if (o.json) {
                r = health_status_print(o.data_dir);
                return r == -ENOENT ? EXIT_RED : r < 0 ? EXIT_USAGE : EXIT_GREEN;
        }

        load_config(&o);
        return run_health(&o);
}
