/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "config.h"
#include "macro.h"
#include "states.h"

#define STATUS_FILE_NAME "status.json"

typedef struct SlotRecord {
        char *name;                 /* "rootfs.1" */
        SlotStatus status;
        char *bundle_compatible;
        char *bundle_version;
        char *bundle_build;
        char *bundle_description;
        uint64_t security_version;
        char sha256[65];            /* hex, "" if unknown */
        uint64_t size;
        uint64_t installed_timestamp; /* seconds since the epoch, 0 = never */
        uint64_t installed_count;
        uint64_t activated_timestamp;
        uint64_t activated_count;
        char *transaction_id;
} SlotRecord;

typedef struct StatusFile {
        SlotRecord *records;        /* one per configured slot, in config order */
        unsigned n_records;
} StatusFile;

/* Loads <data_directory>/status.json.  Missing, empty, corrupt or partly invalid files never
 * fail: the result has a record per configured slot (unknown where nothing usable was found)
 * and *ret_warning (if non-NULL) says what was wrong, so the caller can report and rewrite.
 * Records of slots no longer configured are dropped. */
int status_load(const Config *c, StatusFile **ret, char **ret_warning);
/* Atomic replace: temp file, fsync, rename, fsync of the directory.  Creates the directory. */
int status_save(const Config *c, const StatusFile *s);
StatusFile *status_free(StatusFile *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusFile *, status_free);

SlotRecord *status_find(StatusFile *s, const char *slot_name);
/* Clears bundle/checksum fields (before a new install writes the slot). */
void slot_record_reset(SlotRecord *r);
