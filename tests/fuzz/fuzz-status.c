/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status_load() (daemon/status.c) on the input as <data-directory>/status.json, for a config
 * with four slots.  Loading never fails on bad content (it warns); what it loaded must survive
 * status_save() and a second status_load() unchanged and without a warning: the daemon rewrites
 * the file after every install, so anything that does not round-trip is lost or corrupted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "status.h"

static Config *config;
static const char *status_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char *text;

        fuzz_quiet();
        FUZZ_ASSERT(asprintf(&text,
                             "[system]\ncompatible=fuzz\nbootloader=uboot\ndata-directory=%s/data\n"
                             "[keyring]\npath=/nonexistent/ca.pem\n"
                             "[slot.rootfs.0]\ndevice=/dev/fuzz-a\ntype=raw\nbootname=A\n"
                             "[slot.rootfs.1]\ndevice=/dev/fuzz-b\ntype=raw\nbootname=B\n"
                             "[slot.appfs.0]\ndevice=/dev/fuzz-c\ntype=raw\nparent=rootfs.0\n"
                             "[slot.appfs.1]\ndevice=/dev/fuzz-d\ntype=raw\nparent=rootfs.1\n",
                             fuzz_tmpdir()) > 0);
        FUZZ_ASSERT(config_load(fuzz_write_text("system.conf", text), &config) >= 0);
        free(text);
        fuzz_shell("mkdir -p data");
        FUZZ_ASSERT(asprintf((char **) &status_path, "%s/%s", config->data_directory, STATUS_FILE_NAME) > 0);
        return 0;
}

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define SAME(field, eq)                                                                           \
        do {                                                                                      \
                if (!(eq)) {                                                                      \
                        fprintf(stderr, "status did not round-trip: %s differs\n", field);        \
                        abort();                                                                  \
                }                                                                                 \
        } while (0)

static void compare(const StatusFile *a, const StatusFile *b) {
        SAME("n_records", a->n_records == b->n_records);
        for (unsigned i = 0; i < a->n_records; i++) {
                const SlotRecord *x = &a->records[i], *y = &b->records[i];

                SAME("name", str_eq(x->name, y->name));
                SAME("status", x->status == y->status);
                SAME("bundle.compatible", str_eq(x->bundle_compatible, y->bundle_compatible));
                SAME("bundle.version", str_eq(x->bundle_version, y->bundle_version));
                SAME("bundle.build", str_eq(x->bundle_build, y->bundle_build));
                SAME("bundle.description", str_eq(x->bundle_description, y->bundle_description));
                SAME("security-version", x->security_version == y->security_version);
                SAME("checksum.sha256", strcmp(x->sha256, y->sha256) == 0);
                /* A size without a sha256 is meaningless and not written back (status.c writes
                 * "checksum" only with a sha256): not a round-trip failure. */
                SAME("checksum.size", x->size == y->size || !x->sha256[0]);
                SAME("installed.timestamp", x->installed_timestamp == y->installed_timestamp);
                SAME("installed.count", x->installed_count == y->installed_count);
                SAME("activated.timestamp", x->activated_timestamp == y->activated_timestamp);
                SAME("activated.count", x->activated_count == y->activated_count);
                SAME("transaction-id", str_eq(x->transaction_id, y->transaction_id));
        }
        SAME("last-boot.expected", str_eq(a->last_boot.expected, b->last_boot.expected));
        SAME("last-boot.booted", str_eq(a->last_boot.booted, b->last_boot.booted));
        SAME("last-boot.fell-back", a->last_boot.fell_back == b->last_boot.fell_back);
        SAME("last-boot.timestamp", a->last_boot.timestamp == b->last_boot.timestamp);
        SAME("trial.slot", str_eq(a->trial.slot, b->trial.slot));
        SAME("trial.boot-id", strcmp(a->trial.boot_id, b->trial.boot_id) == 0);
        SAME("trial.timestamp", a->trial.timestamp == b->trial.timestamp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(status_freep) StatusFile *s = NULL, *again = NULL;
        _cleanup_free_ char *warning = NULL, *warning2 = NULL;

        fuzz_write_file(status_path, data, size);
        FUZZ_ASSERT(status_load(config, &s, &warning) >= 0);
        fuzz_note("status: %s", warning ?: "loaded without warning");
        FUZZ_ASSERT(s->n_records == config->n_slots);
        for (unsigned i = 0; i < s->n_records; i++) {
                FUZZ_ASSERT(strcmp(s->records[i].name, config->slots[i].name) == 0);
                FUZZ_ASSERT(status_find(s, config->slots[i].name) == &s->records[i]);
        }

        FUZZ_ASSERT(status_save(config, s) >= 0);
        FUZZ_ASSERT(status_load(config, &again, &warning2) >= 0);
        if (warning2) {
                fprintf(stderr, "status written by status_save() reloads with a warning: %s\n", warning2);
                abort();
        }
        compare(s, again);
        return 0;
}
