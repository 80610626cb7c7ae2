/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* action_record_load() (client/update-agent/update-agent-state.c) on the input as
 * <state-directory>/action.json: the record that carries an action across restarts.  Loading
 * either fails as "no record" (-ENOENT, the file moved aside as action.json.corrupt) or gives a
 * record the agent can act on (a known phase, an action id safe in file names and URLs, what
 * the phase implies present); that record must survive action_record_save() and a second
 * action_record_load() unchanged: the agent rewrites it at every phase change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"
#include "update-agent-state.h"
#include "util.h"

static const char *state_dir, *record_path, *corrupt_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        state_dir = fuzz_tmpdir();
        record_path = fuzz_path("action.json");
        corrupt_path = fuzz_path("action.json.corrupt");
        return 0;
}

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define SAME(field, eq)                                                                           \
        do {                                                                                      \
                if (!(eq)) {                                                                      \
                        fprintf(stderr, "action record did not round-trip: %s differs\n", field); \
                        abort();                                                                  \
                }                                                                                 \
        } while (0)

static void compare(const ActionRecord *a, const ActionRecord *b) {
        size_t i;

        SAME("action", str_eq(a->action_id, b->action_id));
        SAME("phase", a->phase == b->phase);
        SAME("version", str_eq(a->version, b->version));
        SAME("filename", str_eq(a->filename, b->filename));
        SAME("size", a->size == b->size);
        SAME("sha256", str_eq(a->sha256, b->sha256));
        SAME("download_only", a->download_only == b->download_only);
        SAME("downloaded_reported", a->downloaded_reported == b->downloaded_reported);
        SAME("transaction_id", str_eq(a->transaction_id, b->transaction_id));
        SAME("expected_slot", str_eq(a->expected_slot, b->expected_slot));
        SAME("installed_at", a->installed_at == b->installed_at);
        SAME("install_attempts", a->install_attempts == b->install_attempts);
        SAME("boot_id", str_eq(a->boot_id, b->boot_id));
        SAME("first_seen", a->first_seen == b->first_seen);
        SAME("final_success", a->final_success == b->final_success);
        for (i = 0; a->final_details && a->final_details[i]; i++)
                SAME("final_details", b->final_details && str_eq(a->final_details[i], b->final_details[i]));
        SAME("final_details count", !b->final_details || !b->final_details[i]);
}

static void check(const ActionRecord *r) {
        size_t n = 0;

        FUZZ_ASSERT(r->phase >= 0 && r->phase < _PHASE_MAX);
        FUZZ_ASSERT(string_is_safe_name(r->action_id));
        if (r->phase >= PHASE_INSTALLING && r->phase != PHASE_REPORTING)
                FUZZ_ASSERT(r->transaction_id);
        if (r->phase >= PHASE_INSTALLED && r->phase != PHASE_REPORTING)
                FUZZ_ASSERT(r->expected_slot);
        FUZZ_ASSERT(r->install_attempts <= 1000);
        while (r->final_details && r->final_details[n])
                n++;
        FUZZ_ASSERT(n <= 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ActionRecord *r = NULL, *again = NULL;
        int k;

        (void) unlink(corrupt_path);
        fuzz_write_file(record_path, data, size);
        k = action_record_load(state_dir, &r);
        if (k < 0) {
                /* Anything unusable is "no record", and kept aside for a human. */
                FUZZ_ASSERT(k == -ENOENT || k == -ENOMEM);
                FUZZ_ASSERT(!r);
                if (k == -ENOENT)
                        FUZZ_ASSERT(access(record_path, F_OK) < 0 && access(corrupt_path, F_OK) == 0);
                return 0;
        }
        fuzz_note("action record: %s in phase %s", r->action_id, action_phase_to_string(r->phase));
        check(r);
        FUZZ_ASSERT(action_record_save(state_dir, r) == 0);
        FUZZ_ASSERT(action_record_load(state_dir, &again) == 0);
        compare(r, again);
        action_record_free(again);
        action_record_free(r);
        return 0;
}
