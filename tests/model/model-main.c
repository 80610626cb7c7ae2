/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model test's program (model.h): each bootloader scheme's exploration (model.c) in a
 * process of its own, as many at once as there are CPUs, and one TAP test point per scheme. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "unit.h"
#include "util.h"

int main(int argc, char **argv) {
        const char *top = getenv("UPDATE1_TOP") ?: ".", *only = getenv("MODEL_SCHEME");

        unit_tap_begin("model");
        unit_tap_header();
        /* libubootenv 0.3.2 always takes /var/lock/fw_printenv.lock as well (daemon/bootloader/uboot-lock.h):
         * as root, a private /run/lock keeps other tests' locks out of the model's way (and the
         * model's out of theirs).  Without root the shared one is used: slower, still correct. */
        if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
            mount("tmpfs", "/run/lock", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                fprintf(stderr, "model: cannot mount a private /run/lock: %m\n");
        if (!getenv("MODEL_VERBOSE"))
                log_set_max_level(0);
        if (model_pki_setup() < 0) {
                unit_fail_case("pki");
                return 1;
        }

        /* The schemes are independent devices: one process each, as many at once as there are
         * CPUs; each one's output goes to a file, printed in scheme order at the end. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        pid_t pids[_BOOT_SCHEME_MAX] = {};
        int statuses[_BOOT_SCHEME_MAX] = {};
        bool reaped[_BOOT_SCHEME_MAX] = {};
        FILE *out[_BOOT_SCHEME_MAX] = {};
        unsigned running = 0;

        for (BootScheme s = 0; s < _BOOT_SCHEME_MAX; s++) {
                if ((only && !streq(only, boot_scheme_name(s))) || (argc > 1 && !streq(argv[1], boot_scheme_name(s))))
                        continue;
                if (running >= (cpus > 0 ? (unsigned) cpus : 1)) {
                        int status;
                        pid_t done = wait(&status);

                        for (BootScheme d = 0; done > 0 && d < _BOOT_SCHEME_MAX; d++)
                                if (pids[d] == done) {
                                        statuses[d] = status;
                                        reaped[d] = true;
                                }
                        if (done > 0)
                                running--;
                }
                out[s] = tmpfile();
                fflush(stdout);
                pids[s] = fork();
                if (pids[s] == 0) {
                        if (out[s])
                                dup2(fileno(out[s]), STDOUT_FILENO);
                        int r = model_run_scheme(s, top);
                        fflush(stdout);
                        _exit(r);
                }
                if (pids[s] > 0)
                        running++;
        }
        for (BootScheme s = 0; s < _BOOT_SCHEME_MAX; s++) {
                char buf[4096];
                size_t n;
                int status = statuses[s];

                if (pids[s] <= 0)
                        continue;
                if (!reaped[s] && waitpid(pids[s], &status, 0) < 0)
                        status = 0x7f00; /* lost: counts as a failure below */
                if (out[s]) {
                        rewind(out[s]);
                        while ((n = fread(buf, 1, sizeof(buf), out[s])) > 0)
                                fwrite(buf, 1, n, stdout);
                        fclose(out[s]);
                }
                if (WIFSIGNALED(status))
                        printf("# model/%s: killed by signal %d\n", boot_scheme_name(s), WTERMSIG(status));
                else if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                        printf("# model/%s: harness error\n", boot_scheme_name(s));
                else if (!WIFEXITED(status) || WEXITSTATUS(status) > 2)
                        printf("# model/%s: lost (status 0x%x)\n", boot_scheme_name(s), (unsigned) status);
                unit_report(boot_scheme_name(s), WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        model_pki_cleanup();
        return unit_failed ? 1 : 0;
}
