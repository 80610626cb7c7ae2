/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `updatectl bundle create|info`: work on bundle files directly, without the daemon (create runs
 * on a build host).  argv[0] is the verb ("create" or "info"); each parses its own options and
 * returns a process exit code (0 on success, 1 on any failure). */
int verb_bundle_create(int argc, char **argv);
int verb_bundle_info(int argc, char **argv);

/* main() of updatectl-bundle: argv[1] is create|info|--help, as after 'updatectl bundle'. */
int updatectl_bundle_main(int argc, char **argv);
