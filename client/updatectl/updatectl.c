/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus-client.h"
#include "macro.h"
#include "util.h"

/* updatectl: the command line client of updated (and, for 'bundle', a standalone tool). */

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char **argv);  /* argv[0] is the verb; returns an exit code */
        const char *summary;
} Verb;

static int usage_error(const char *verb, const char *fmt, ...) _printf_(2, 3);
static int usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;

        fputs("updatectl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'updatectl %s--help'.\n", verb ? verb : "");
        return EXIT_FAILURE;
}

/* Options common to the bus verbs that take none: --help. */
static int parse_help_only(int argc, char **argv, const char *verb_space, void (*help)(void), int max_args,
                           int *ret_optind) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                default:
                        return usage_error(verb_space, "invalid option");
                }
        if (argc - optind > max_args)
                return usage_error(verb_space, "too many arguments: '%s'", argv[optind + max_args]);
        *ret_optind = optind;
        return -1; /* go on */
}

/* ---- status ---- */

static void help_status(void) {
        printf("Usage: updatectl status [--json]\n"
               "\n"
               "Show the slots: which one is booted, what the bootloader thinks of each, what was\n"
               "installed into them.\n"
               "\n"
               "  --json       Print the daemon's slot status JSON (GetSlotStatus) unchanged\n"
               "  -h --help    Show this help\n");
}

static const char *jstr(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static struct json_object *jobj(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

#define N_COLUMNS 8

/* "Last boot:  fell back from rootfs.1 to rootfs.0 at <ts>" / "trial boot of rootfs.1 at <ts>". */
static void print_last_boot(struct json_object *lb) {
        struct json_object *fb = jobj(lb, "fell_back");
        const char *expected = jstr(lb, "expected"), *booted = jstr(lb, "booted"), *ts = jstr(lb, "timestamp");

        if (!lb || !json_object_is_type(lb, json_type_object) || !expected)
                return;
        if (fb && json_object_get_boolean(fb))
                printf("Last boot:  fell back from %s to %s at %s (the trial of %s failed)\n", expected,
                       booted ?: "?", ts ?: "?", expected);
        else
                printf("Last boot:  trial boot of %s at %s\n", expected, ts ?: "?");
}

/* "Floor:      security-version 5, time 2026-11-22T00:00:00Z": what this device refuses. */
static void print_rollback_floor(struct json_object *f) {
        struct json_object *sv = jobj(f, "security_version"), *t = jobj(f, "time");
        char buf[32] = "none";

        if (!f || !json_object_is_type(f, json_type_object) || !sv)
                return;
        if (t && json_object_get_uint64(t) > 0)
                format_timestamp(json_object_get_uint64(t), buf, sizeof(buf));
        printf("Floor:      security-version %" PRIu64 ", trusted time %s\n", json_object_get_uint64(sv), buf);
}

static void print_status_table(struct json_object *root) {
        static const char *const header[N_COLUMNS] = {
                "SLOT", "CLASS", "BOOTNAME", "STATE", "BOOT", "STATUS", "VERSION", "INSTALLED",
        };
        struct json_object *slots = jobj(root, "slots");
        size_t n = slots && json_object_is_type(slots, json_type_array) ? json_object_array_length(slots) : 0;
        size_t width[N_COLUMNS];
        const char *booted = jstr(root, "booted"), *primary = jstr(root, "primary");

        printf("Compatible: %s\n", jstr(root, "compatible") ?: "-");
        printf("Booted:     %s", booted ?: "unknown");
        if (jstr(root, "boot_source"))
                printf(" (%s)", jstr(root, "boot_source"));
        printf("\nPrimary:    %s\n", primary ?: "unknown");
        printf("Operation:  %s\n", jstr(root, "operation") ?: "-");
        if (jstr(root, "bootloader_error"))
                printf("Bootloader: error: %s\n", jstr(root, "bootloader_error"));
        /* The daemon answered from its last reading: re-reading took too long (a held U-Boot
         * env lock, a slow bootloader tool). */
        if (jobj(jobj(root, "snapshot"), "stale") && json_object_get_boolean(jobj(jobj(root, "snapshot"), "stale")))
                printf("Snapshot:   stale: the boot state is as read at %s (the bootloader is slow to answer)\n",
                       jstr(jobj(root, "snapshot"), "timestamp") ?: "?");
        print_last_boot(jobj(root, "last_boot"));
        print_rollback_floor(jobj(root, "rollback_floor"));
        putchar('\n');

        for (size_t c = 0; c < N_COLUMNS; c++)
                width[c] = strlen(header[c]);
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                        for (size_t c = 0; c < N_COLUMNS; c++)
                                if (c + 1 < N_COLUMNS)
                                        printf("%-*s  ", (int) width[c], header[c]);
                                else
                                        printf("%s\n", header[c]);
                }
                for (size_t i = 0; i < n; i++) {
                        struct json_object *s = json_object_array_get_idx(slots, i);
                        const char *cell[N_COLUMNS] = {
                                jstr(s, "name"),
                                jstr(s, "class"),
                                jstr(s, "bootname"),
                                jstr(s, "state"),
                                jstr(s, "boot_status"),
                                jstr(s, "status"),
                                jstr(jobj(s, "bundle"), "version"),
                                jstr(jobj(s, "installed"), "timestamp"),
                        };

                        for (size_t c = 0; c < N_COLUMNS; c++) {
                                const char *v = cell[c] ?: "-";

                                if (pass == 0)
                                        width[c] = MAX(width[c], strlen(v));
                                else if (c + 1 < N_COLUMNS)
                                        printf("%-*s  ", (int) width[c], v);
                                else
                                        printf("%s\n", v);
                        }
                }
        }
}

static int verb_status(int argc, char **argv) {
        enum { ARG_JSON = 0x100 };
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct json_object *root;
        bool json = false;
        const char *text;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        json = true;
                        break;
                case 'h':
                        help_status();
                        return EXIT_SUCCESS;
                default:
                        return usage_error("status ", "invalid option");
                }
        if (optind < argc)
                return usage_error("status ", "unexpected argument '%s'", argv[optind]);

        if (bus_client_connect(&bus) < 0)
                return EXIT_FAILURE;
        if (bus_client_call(bus, "GetSlotStatus", &reply, NULL) < 0)
                return EXIT_FAILURE;
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0) {
                bus_client_log_error(NULL, r, "Cannot read the reply");
                return EXIT_FAILURE;
        }

        if (json) {
                printf("%s\n", text);
                return EXIT_SUCCESS;
        }

        root = json_tokener_parse(text);
        if (!root) {
                fprintf(stderr, "updatectl: the daemon's slot status is not valid JSON\n");
                return EXIT_FAILURE;
        }
        print_status_table(root);
        json_object_put(root);
        return EXIT_SUCCESS;
}

/* ---- install ---- */

static void help_install(void) {
        printf("Usage: updatectl install [OPTIONS] FILE|URL|-\n"
               "\n"
               "Install a bundle into the inactive slots and make them boot next, once, on trial.\n"
               "FILE is opened here and handed to the daemon (InstallFd); '-' sends standard input\n"
               "(a pipe works: the bundle is streamed); an http:// or https:// URL is downloaded by\n"
               "the daemon. Progress goes to standard error; Ctrl-C cancels the installation.\n"
               "\n"
               "  --force               Install even if the slot holds the same version\n"
               "  --transaction-id ID   Recorded in the slot status\n"
               "  -h --help             Show this help\n"
               "\n"
               "Exit status 0 only when the installation completed.\n");
}

typedef struct ProgressView {
        bool tty;
        bool line_open;
        uint32_t last_percent;
        char last_message[128];
} ProgressView;

static void show_progress(uint32_t percent, const char *message, void *userdata) {
        ProgressView *v = userdata;
        enum { BAR = 30 };

        if (percent > 100)
                percent = 100;
        if (v->tty) {
                char bar[BAR + 1];
                unsigned fill = percent * BAR / 100;

                memset(bar, '#', fill);
                memset(bar + fill, '.', BAR - fill);
                bar[BAR] = 0;
                fprintf(stderr, "\r\033[K[%s] %3u%% %s", bar, percent, message);
                v->line_open = true;
        } else if (percent != v->last_percent || !streq(message, v->last_message))
                fprintf(stderr, "%u%% %s\n", percent, message);
        fflush(stderr);
        v->last_percent = percent;
        snprintf(v->last_message, sizeof(v->last_message), "%s", message);
}

static bool is_url(const char *s) {
        return strneq(s, "http://", 7) || strneq(s, "https://", 8);
}

static int append_install_options(sd_bus_message *m, bool force, const char *transaction_id) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && force)
                r = sd_bus_message_append(m, "{sv}", "force", "b", 1);
        if (r >= 0 && transaction_id)
                r = sd_bus_message_append(m, "{sv}", "transaction-id", "s", transaction_id);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int verb_install(int argc, char **argv) {
        enum { ARG_FORCE = 0x100, ARG_TRANSACTION_ID };
        static const struct option options[] = {
                { "force",          no_argument,       NULL, ARG_FORCE          },
                { "transaction-id", required_argument, NULL, ARG_TRANSACTION_ID },
                { "help",           no_argument,       NULL, 'h'                },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_free_ char *message = NULL;
        _cleanup_close_ int fd = -EBADF;
        ProgressView view = { .tty = isatty(STDERR_FILENO) > 0, .last_percent = UINT32_MAX };
        const char *source, *transaction_id = NULL;
        bool force = false;
        int c, result, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_FORCE:
                        force = true;
                        break;
                case ARG_TRANSACTION_ID:
                        transaction_id = optarg;
                        break;
                case 'h':
                        help_install();
                        return EXIT_SUCCESS;
                default:
                        return usage_error("install ", "invalid option");
                }
        if (argc - optind != 1)
                return usage_error("install ", argc - optind < 1 ? "missing FILE, URL or -" : "too many arguments");
        source = argv[optind];

        if (!is_url(source)) {
                if (streq(source, "-")) {
                        if (isatty(STDIN_FILENO) > 0)
                                return usage_error("install ", "refusing to read a bundle from a terminal");
                        fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                } else
                        fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        fprintf(stderr, "updatectl: Cannot open %s: %s\n", streq(source, "-") ? "standard input" : source,
                                strerror(errno));
                        return EXIT_FAILURE;
                }
        }

        if (bus_client_connect(&bus) < 0)
                return EXIT_FAILURE;
        r = bus_client_new_call(bus, fd >= 0 ? "InstallFd" : "Install", &call);
        if (r < 0)
                return EXIT_FAILURE;
        r = fd >= 0 ? sd_bus_message_append(call, "h", fd) : sd_bus_message_append(call, "s", source);
        if (r >= 0)
                r = append_install_options(call, force, transaction_id);
        if (r < 0) {
                bus_client_log_error(NULL, r, "Cannot build the install call");
                return EXIT_FAILURE;
        }

        r = bus_client_run_operation(bus, call,
                                     &(BusClientOperation) {
                                             .progress = show_progress,
                                             .userdata = &view,
                                             .cancel_on_signal = true,
                                     },
                                     &result, &message);
        if (view.line_open)
                fputc('\n', stderr);
        if (r < 0)
                return EXIT_FAILURE;
        if (result != 0) {
                /* The daemon's text is "<D-Bus error name>: <what went wrong>". */
                fprintf(stderr, "updatectl: %s\n", message ?: "installation failed");
                return EXIT_FAILURE;
        }
        printf("%s\n", message ?: "Installed");
        return EXIT_SUCCESS;
}

/* ---- mark-* ---- */

static void help_mark(const char *verb, const char *what, bool slot_required) {
        printf("Usage: updatectl %s %s\n"
               "\n"
               "%s\n"
               "\n"
               "SLOT is 'booted', 'other' (the one other boot slot) or a slot name like rootfs.1\n"
               "(a child slot stands for its boot group).%s\n"
               "\n"
               "  -h --help    Show this help\n",
               verb, slot_required ? "SLOT" : "[SLOT]", what, slot_required ? "" : " Default: booted.");
}

static void help_mark_good(void) {
        help_mark("mark-good",
                  "Mark the slot good: commits a trial boot (the slot stays primary), otherwise\n"
                  "re-arms its boot counter.",
                  false);
}

static void help_mark_bad(void) {
        help_mark("mark-bad", "Mark the slot bad: the bootloader will not boot it (the other good slot\nboots next).",
                  false);
}

static void help_mark_active(void) {
        help_mark("mark-active",
                  "Make the slot the one that boots next.  A slot whose installation was committed\n"
                  "(MarkGood ran in its own boot) becomes the primary for good, with a full boot\n"
                  "counter.  Any other slot boots next once, on trial, with the current chain behind\n"
                  "it as the fallback: commit it with mark-good in that boot, or it falls back.\n"
                  "Refused for a failed, half-written, mixed or below-floor slot.",
                  true);
}

static int run_mark(int argc, char **argv, const char *state, void (*help)(void), bool slot_required) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char verb_space[32];
        const char *slot, *name, *message;
        int idx = 0, r;

        snprintf(verb_space, sizeof(verb_space), "%s ", argv[0]);
        r = parse_help_only(argc, argv, verb_space, help, 1, &idx);
        if (r >= 0)
                return r;
        if (idx >= argc && slot_required)
                return usage_error(verb_space, "missing SLOT (booted, other or a slot name)");
        slot = idx < argc ? argv[idx] : NULL;

        if (bus_client_connect(&bus) < 0)
                return EXIT_FAILURE;
        if (!slot && streq(state, "good"))
                r = bus_client_call(bus, "MarkGood", &reply, NULL);
        else
                r = bus_client_call(bus, "Mark", &reply, "ss", state, slot ?: "booted");
        if (r < 0)
                return EXIT_FAILURE;
        r = sd_bus_message_read(reply, "ss", &name, &message);
        if (r < 0) {
                bus_client_log_error(NULL, r, "Cannot read the reply");
                return EXIT_FAILURE;
        }
        printf("%s\n", message);
        return EXIT_SUCCESS;
}

static int verb_mark_good(int argc, char **argv) {
        return run_mark(argc, argv, "good", help_mark_good, false);
}

static int verb_mark_bad(int argc, char **argv) {
        return run_mark(argc, argv, "bad", help_mark_bad, false);
}

static int verb_mark_active(int argc, char **argv) {
        return run_mark(argc, argv, "active", help_mark_active, true);
}

/* ---- cancel ---- */

static void help_cancel(void) {
        printf("Usage: updatectl cancel\n"
               "\n"
               "Cancel the running installation. The target slot is left marked bad and failed;\n"
               "the booted slot stays primary.\n"
               "\n"
               "  -h --help    Show this help\n");
}

static int verb_cancel(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int idx = 0, r;

        r = parse_help_only(argc, argv, "cancel ", help_cancel, 0, &idx);
        if (r >= 0)
                return r;
        if (bus_client_connect(&bus) < 0)
                return EXIT_FAILURE;
        if (bus_client_call(bus, "Cancel", NULL, NULL) < 0)
                return EXIT_FAILURE;
        printf("Cancellation requested\n");
        return EXIT_SUCCESS;
}

/* ---- reboot ---- */

static void help_reboot(void) {
        printf("Usage: updatectl reboot\n"
               "\n"
               "Ask the daemon to reboot the device (it runs its configured reboot-command). Refused\n"
               "while an installation runs.\n"
               "\n"
               "  -h --help    Show this help\n");
}

static int verb_reboot(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int idx = 0, r;

        r = parse_help_only(argc, argv, "reboot ", help_reboot, 0, &idx);
        if (r >= 0)
                return r;
        if (bus_client_connect(&bus) < 0)
                return EXIT_FAILURE;
        if (bus_client_call(bus, "Reboot", NULL, NULL) < 0)
                return EXIT_FAILURE;
        printf("Reboot requested\n");
        return EXIT_SUCCESS;
}

/* ---- bundle (no bus) ---- */

/* 'bundle' is a program of its own, updatectl-bundle: the bundle code needs OpenSSL, zstd and
 * libsquashfs, and loading and relocating them doubled the start-up of every other verb (issue
 * #14: 'updatectl status' spent 2.2 ms starting, 1.1 ms without them).  It is looked for next
 * to this binary first (the build tree, the test sandboxes), then where make install puts it. */
static int verb_bundle(int argc, char **argv) {
        char self[PATH_MAX], sibling[PATH_MAX + 32];
        const char *helper = LIBEXECDIR "/updatectl/updatectl-bundle";
        ssize_t n;

        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                char *slash;

                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        snprintf(sibling, sizeof(sibling), "%s/updatectl-bundle", self);
                        if (access(sibling, X_OK) == 0)
                                helper = sibling;
                }
        }
        argv[0] = (char *) "updatectl-bundle";
        (void) execv(helper, argv);
        fprintf(stderr, "updatectl: cannot run %s for 'updatectl bundle': %s\n"
                "Install updatectl completely (make install, or the updatectl package).\n", helper, strerror(errno));
        return EXIT_FAILURE;
}

/* ---- main ---- */

static const Verb verbs[] = {
        { "status",      verb_status,      "Show slots, boot state and installed bundles" },
        { "install",     verb_install,     "Install a bundle from FILE, URL or - (stdin)" },
        { "mark-good",   verb_mark_good,   "Commit the trial boot of a slot (default: booted)" },
        { "mark-bad",    verb_mark_bad,    "Take a slot out of the boot order" },
        { "mark-active", verb_mark_active, "Make a slot boot next (for good if committed, else on trial)" },
        { "cancel",      verb_cancel,      "Cancel the running installation" },
        { "reboot",      verb_reboot,      "Reboot the device (the daemon's reboot-command)" },
        { "bundle",      verb_bundle,      "create|info: build or inspect bundles (no daemon)" },
};

static void help(void) {
        printf("Usage: updatectl [--help|--version] VERB [OPTIONS] [ARGS]\n"
               "\n"
               "Control the Update1 daemon (%s on the system bus).\n"
               "\n"
               "Verbs:\n",
               UPDATE1_BUS_NAME);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-12s %s\n", verbs[i].name, verbs[i].summary);
        printf("\n'updatectl VERB --help' describes each verb. Errors name the D-Bus error, e.g.\n"
               "\"updatectl: org.example.Update1.Error.Busy: ...\"; the exit status is then 1.\n");
}

int main(int argc, char **argv) {
        const char *verb;

        bus_client_set_program("updatectl");
        if (argc < 2) {
                help();
                return EXIT_FAILURE;
        }
        verb = argv[1];
        if (streq(verb, "-h") || streq(verb, "--help")) {
                help();
                return EXIT_SUCCESS;
        }
        if (streq(verb, "--version")) {
                printf("updatectl %s\n", UPDATE1_VERSION);
                return EXIT_SUCCESS;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, verb))
                        return verbs[i].run(argc - 1, argv + 1);

        fprintf(stderr, "updatectl: unknown verb '%s'\nTry 'updatectl --help'.\n", verb);
        return EXIT_FAILURE;
}
