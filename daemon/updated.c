/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "config.h"
#include "idle.h"
#include "log.h"
#include "manager.h"

static const char *arg_config = NULL; /* config_default_path() */
static const char *arg_boot_slot = NULL;
static const char *arg_cmdline = NULL;
static const char *arg_boot_id = NULL;
static bool arg_bus_introspect = false;
static const char *arg_bus_introspect_interface = NULL;
static bool arg_check_config = false;

static void help(void) {
        printf("Usage: updated [OPTIONS]\n"
               "\n"
               "The Update1 daemon: installs signed bundles into A/B slots, on D-Bus as\n"
               "%s at %s.\n"
               "\n"
               "  -c --config=PATH       Configuration file (default %s);\n"
               "                         without it, RAUC's /etc/rauc/system.conf\n"
               "     --boot-slot=NAME    Treat bootname NAME as booted (sandboxes and tests)\n"
               "     --cmdline=PATH      Read the kernel command line from PATH (default /proc/cmdline)\n"
               "     --boot-id=ID        Treat ID as this boot's id (simulated reboots in tests)\n"
               "     --check-config      Check the configuration (warnings and errors with their\n"
               "                         lines, e.g. of a RAUC system.conf) and exit\n"
               "     --bus-introspect[=INTERFACE]\n"
               "                         Print the D-Bus introspection XML of %s (or of\n"
               "                         INTERFACE, e.g. de.pengutronix.rauc.Installer) and exit\n"
               "  -v --verbose           Debug logging\n"
               "     --version           Show the version and exit\n"
               "  -h --help              Show this help and exit\n",
               UPDATE1_BUS_NAME, UPDATE1_BUS_PATH, CONFIG_DEFAULT_PATH, UPDATE1_BUS_INTERFACE);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_BOOT_SLOT = 0x100,
                ARG_CMDLINE,
                ARG_BOOT_ID,
                ARG_BUS_INTROSPECT,
                ARG_CHECK_CONFIG,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "config",         required_argument, NULL, 'c'                },
                { "boot-slot",      required_argument, NULL, ARG_BOOT_SLOT      },
                { "cmdline",        required_argument, NULL, ARG_CMDLINE        },
                { "boot-id",        required_argument, NULL, ARG_BOOT_ID        },
                { "bus-introspect", optional_argument, NULL, ARG_BUS_INTROSPECT },
                { "check-config",   no_argument,       NULL, ARG_CHECK_CONFIG   },
                { "verbose",        no_argument,       NULL, 'v'                },
                { "version",        no_argument,       NULL, ARG_VERSION        },
                { "help",           no_argument,       NULL, 'h'                },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_BOOT_SLOT:
                        arg_boot_slot = optarg;
                        break;
                case ARG_CMDLINE:
                        arg_cmdline = optarg;
                        break;
                case ARG_BOOT_ID:
                        arg_boot_id = optarg;
                        break;
                case ARG_BUS_INTROSPECT:
                        arg_bus_introspect = true;
                        arg_bus_introspect_interface = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                case ARG_VERSION:
                        printf("updated %s\n", UPDATE1_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("Unexpected argument '%s'; see --help", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* What start-up would say about the file, without starting: config_load() logs each warning
 * and the first error as "FILE:LINE: ...". */
static int check_config(void) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_load(arg_config, &c);
        if (r < 0)
                return r;
        printf("%s: valid, compatible %s, bootloader %s, %u slot(s), %u warning(s)\n", arg_config, c->compatible,
               c->bootloader, c->n_slots, c->n_warnings);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t ss;
        int r;

        log_set_ident("updated");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        if (arg_bus_introspect)
                return bus_introspect(arg_bus_introspect_interface, stdout);
        if (!arg_config)
                arg_config = config_default_path();
        if (arg_check_config)
                return check_config();

        umask(0022);
        /* A fixed mmap threshold turns off glibc's dynamic one, which rises to the size of the
         * first large block freed: after one install the next install's MiB buffers (ring,
         * stored chunk, libcurl's) would come from the heap and stay resident after it.  Fixed,
         * every block of 128 KiB or more is its own mapping and goes back to the kernel when
         * freed, so the daemon's peak RSS is one install's, not the sum of its history.  Two
         * arenas: the main loop's and one the worker threads share (each thread's own arena
         * keeps its pages). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void) mallopt(M_ARENA_MAX, 2);
        /* Writes into closed pipes (download pipe, client pipes) must fail with EPIPE. */
        (void) signal(SIGPIPE, SIG_IGN);
        /* Before any thread exists, so every thread inherits it; sd-event takes the signals. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(-errno, "Cannot block SIGTERM/SIGINT: %m");

        r = manager_new(&(ManagerOptions) {
                                .config_path = arg_config,
                                .cmdline_path = arg_cmdline,
                                .boot_override = arg_boot_slot,
                                .boot_id = arg_boot_id,
                                .instance_lock = true,
                        },
                        &m);
        if (r < 0)
                return r;

        r = manager_start(m);
        if (r < 0)
                return r;

        log_info("Ready on %s, compatible %s, booted %s, primary %s", UPDATE1_BUS_NAME, m->config->compatible,
                 m->boot_slot ?: "unknown", m->primary_slot ?: "unknown");
        (void) sd_notify(false, "READY=1\nSTATUS=Idle");

        if (m->config->idle_timeout_sec > 0)
                log_info("Exiting after %us idle (idle-timeout=); D-Bus activation starts updated again",
                         m->config->idle_timeout_sec);
        r = idle_run(m);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("Exiting");
        return 0;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
