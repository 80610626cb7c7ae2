/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "install-job.h"
#include "util.h"

/* What both stages of an install use: slot names, progress posted to the main loop, the
 * cancel flag.  Its own file so that install.c and install-write.c do not call each other. */

typedef struct ProgressCall {
        ManagerCall call;
        uint32_t percent;
        char message[128];
} ProgressCall;

const char *install_target_name(const InstallJob *j, size_t i) {
        return j->manager->config->slots[j->targets[i]].name;
}

/* ---- progress (thread → main loop) ---- */

static void progress_fn(Manager *m, ManagerCall *c) {
        ProgressCall *p = container_of(c, ProgressCall, call);

        manager_set_progress(m, p->percent, p->message);
        free(p);
}

void install_post_progress(InstallJob *j, uint32_t percent, const char *phase) {
        ProgressCall *p;

        if (j->sync)
                return;
        if (percent == j->last_percent && streq(phase, j->last_phase))
                return;
        j->last_percent = percent;
        snprintf(j->last_phase, sizeof(j->last_phase), "%s", phase);

        p = calloc(1, sizeof(*p));
        if (!p)
                return; /* progress is best effort */
        p->call.fn = progress_fn;
        p->percent = percent;
        snprintf(p->message, sizeof(p->message), "%s", phase);
        manager_post(j->manager, &p->call);
}

uint32_t install_write_percent(const InstallJob *j) {
        uint32_t first = MAX(j->write_first, (uint32_t) 1);

        /* first..99 while writing, by uncompressed bytes over all images. */
        if (j->total_bytes == 0)
                return 99;
        return first + (uint32_t) ((unsigned __int128) j->written_bytes * (99 - first) / j->total_bytes);
}

int install_check_cancel(InstallJob *j, UError *err) {
        if (atomic_load(&j->cancel))
                return uerror_set(err, ERROR_CANCELLED, -ECANCELED, "Installation cancelled");
        return 0;
}
