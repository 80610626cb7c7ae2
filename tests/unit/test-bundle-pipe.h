/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For the bundle reader's tests: a bundle file streamed through a pipe by a child process, so
 * that the reader gets an fd it cannot seek or stat for a size. */

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"

/* Returns the read end (aborts if no pipe or child can be made); pipe_done() reaps the child. */
static int pipe_from_file(const char *path, pid_t *ret_pid) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                abort();
        pid = fork();
        if (pid < 0)
                abort();
        if (pid == 0) {
                uint8_t buf[65536];
                int fd = open(path, O_RDONLY);
                ssize_t n;

                close(p[0]);
                while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                        if (write_exact(p[1], buf, (size_t) n) < 0)
                                _exit(1);
                _exit(0);
        }
        close(p[1]);
        *ret_pid = pid;
        return p[0];
}

static void pipe_done(int fd, pid_t pid) {
        int status;

        close(fd);
        waitpid(pid, &status, 0);
}
