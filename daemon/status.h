/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
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
        char bundle_hash[65];       /* RAUC's manifest hash of the bundle that wrote it, hex; "" */
        uint64_t security_version;
        char sha256[65];            /* hex, "" if unknown */
        uint64_t size;
        uint64_t installed_timestamp; /* seconds since the epoch, 0 = never */
        uint64_t installed_count;
        uint64_t activated_timestamp;
        uint64_t activated_count;
        char *transaction_id;
        /* Proven: marked good in its own boot since it was last written (slot-policy.c); a
         * factory image (status unknown) too, once MarkGood ran in its boot. */
        bool committed;
} SlotRecord;

/* What the daemon found about the boot it runs in, when that boot was the trial boot of a new
 * slot or the fallback from one (daemon/boot-assess.c).  Kept until the next such boot. */
typedef struct LastBoot {
        char *expected;             /* slot name that was put on trial; NULL = no record */
        char *booted;               /* slot name that was booted */
        bool fell_back;             /* booted != expected: the trial failed */
        uint64_t timestamp;         /* when the daemon saw it, seconds since the epoch */
} LastBoot;

/* The trial the last install armed, and in which boot: a trial slot that is not booted is a
 * fallback only after a reboot (a daemon restart in the same boot is not one). */
typedef struct TrialRecord {
        char *slot;                 /* slot name; NULL = no record */
        char boot_id[33];           /* 32 hex digits of the boot that armed it, "" if unknown */
        uint64_t timestamp;
        /* Marked bad during its trial boot (update-health's red path): the bootloader's trial
         * note is gone then, so the fallback is reported from this at the next boot. */
        bool rejected;
        /* MarkGood was asked in the trial slot's own boot and is being carried out (written
         * before the bootloader is touched): the witness for the floor (slot-policy.c, I4). */
        bool committing;
} TrialRecord;

typedef struct StatusFile {
        SlotRecord *records;        /* one per configured slot, in config order */
        unsigned n_records;
        LastBoot last_boot;         /* "last-boot" */
        TrialRecord trial;          /* "trial" */
} StatusFile;

/* Loads <data_directory>/status.json.  Missing, empty, corrupt or partly invalid files never
 * fail: the result has a record per configured slot (unknown where nothing usable was found)
 * and *ret_warning (if non-NULL) says what was wrong, so the caller can report and rewrite.
 * Records of slots no longer configured are dropped. */
int status_load(const Config *c, StatusFile **ret, char **ret_warning);
/* Removes temp files a power cut left next to the status file (no writer runs at start-up);
 * returns how many. */
int status_remove_stale_temp(const Config *c);
/* Atomic replace: temp file, fsync, rename, fsync of the directory.  Creates the directory. */
int status_save(const Config *c, const StatusFile *s);
StatusFile *status_free(StatusFile *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusFile *, status_free);

SlotRecord *status_find(StatusFile *s, const char *slot_name);
/* Clears bundle/checksum fields (before a new install writes the slot). */
void slot_record_reset(SlotRecord *r);

/* Replace the record (strings copied; NULL expected clears it).  -ENOMEM leaves it alone. */
int status_set_last_boot(StatusFile *s, const char *expected, const char *booted, bool fell_back, uint64_t timestamp);
int status_set_trial(StatusFile *s, const char *slot, const char *boot_id, uint64_t timestamp);
