/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by test-config.c and test-config-rauc.c: write a system.conf and config_load() it with
 * stderr (where the loader logs "PATH:LINE: ...") captured. */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

static inline void write_bytes(const char *path, const char *data, size_t size) {
        FILE *f = fopen(path, "we");
        if (!f || fwrite(data, 1, size, f) != size) {
                perror(path);
                exit(2);
        }
        fclose(f);
}

/* config_load(PATH) of DATA written there; what it logged goes to LOG (LOG_SIZE bytes, NUL
 * terminated), through the file SCRATCH. */
static inline int load_config_bytes(const char *path, const char *data, size_t size, const char *scratch, char *log,
                                    size_t log_size, Config **ret) {
        int saved, fd, r;
        ssize_t n;

        write_bytes(path, data, size);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        dup2(fd, STDERR_FILENO);
        close(fd);
        r = config_load(path, ret);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        fd = open(scratch, O_RDONLY | O_CLOEXEC);
        n = read(fd, log, log_size - 1);
        close(fd);
        log[n > 0 ? n : 0] = '\0';
        return r;
}
