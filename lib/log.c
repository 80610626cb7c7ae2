/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "url.h"

static int max_level = LOG_LEVEL_INFO;
static const char *log_ident = NULL;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_ident(const char *ident) {
        log_ident = ident;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        int saved = errno;
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        /* glibc expands %m from errno, so make it mean 'error'. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        /* No URL reaches the journal with its credentials (userinfo, a pre-signed query), in
         * any program and whoever wrote the message (I7): the one place every line passes.
         * Out of memory: the line is dropped rather than written unredacted. */
        if (strstr(buf, "://")) {
                char *clean = NULL;

                if (url_redact_text(buf, &clean) < 0) {
                        errno = saved;
                        return -error;
                }
                snprintf(buf, sizeof(buf), "%s", clean);
                free(clean);
        }

        if (max_level >= LOG_LEVEL_DEBUG)
                fprintf(stderr, "%s%s<%d> %s:%d: %s\n", log_ident ?: "", log_ident ? ": " : "", level,
                        file, line, buf);
        else if (getenv("JOURNAL_STREAM"))
                /* Under systemd: the journal adds ident and time; a <N> prefix sets the priority. */
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s%s%s\n", log_ident ?: "", log_ident ? ": " : "", buf);

        errno = saved;
        return -error;
}
