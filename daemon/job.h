/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"

/* How a job (install.c, inspect.c, reboot.c, a GetSlotStatus waiter in snapshot.c) answers the
 * call that started it without knowing that it is a D-Bus call: bus.c hands in a JobReply whose
 * userdata is the referenced sd_bus_message and replies in 'fn' (RAUC's RaucInstallArgs.notify).
 * That keeps sd-bus, and the file cycles it made, out of the jobs.
 *
 * 'fn' runs exactly once per job that started, on the main loop (never in a worker thread:
 * sd-bus is not thread-safe): with error NULL and the method's string result (NULL for methods
 * without one), or with the error.  It takes userdata.  A start function that fails never
 * calls it, and userdata stays the caller's. */
typedef struct JobReply {
        void (*fn)(void *userdata, const UError *error, const char *result);
        void *userdata;
} JobReply;

/* Answers once; later calls do nothing. */
static inline void job_reply(JobReply *r, const UError *error, const char *result) {
        JobReply once = *r;

        *r = (JobReply) {};
        if (once.fn)
                once.fn(once.userdata, error, result);
}
