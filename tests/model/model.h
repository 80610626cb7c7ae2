/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The exhaustive model test of the slot-transition invariants (docs/bootloaders.md,
 * "Invariants"; daemon/slot-policy.c).  A device is a directory of files: four slots (rootfs
 * and appfs of groups A and B), the daemon's data directory and the bootloader's storage.  The
 * real daemon code (manager_new(), install_sync(), mark_slot(), start-up assessment) runs
 * in-process against the real backends on those files; tests/fakes/bootsim.c plays the
 * bootloader's own boot logic on the same files for each power-on.  Power cuts: the daemon
 * calls fileio_durable_point() after every durable write; the model forks, lets the child
 * die there, and powers the device on from what the child left.
 *
 * Ground truth the model keeps itself (never read from the daemon's own records): which
 * image each slot holds (by hashing the slot), which group content was proven healthy in its
 * own boot, and the highest security-version proven. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootsim.h"
#include "manager.h"

#define MODEL_SLOTS 4          /* rootfs.0 (A), rootfs.1 (B), appfs.0, appfs.1 */
#define MODEL_IMAGE_SIZE 8192  /* bytes of each image; slots are this large */
#define MODEL_MAX_BUNDLES 12
#define MODEL_POWER_ONS 10     /* power-ons simulated after every step */

/* Content ids: 0 garbage (a half-written or foreign image), 1 the factory image, 2.. the
 * bundles' images. */
#define CONTENT_GARBAGE 0
#define CONTENT_FACTORY 1

typedef struct ModelBundle {
        const char *name;       /* "v2", "v3-s1", "appfs-only", "bad" */
        char path[1024];
        unsigned content;       /* content id of its images (rootfs and appfs carry the same) */
        uint64_t security_version;
        bool has_rootfs, has_appfs;
        bool tampered;          /* its second image fails the hash check mid-stream */
        bool has_patches;       /* format 2 with a patch set per image from 'patch_from' */
        unsigned patch_from;    /* content id its patches apply to, 0 none */
} ModelBundle;

typedef struct Model {
        BootScheme scheme;
        char dir[256];          /* the device */
        char state[512];        /* dir/state: everything a power cut may leave half done */
        char config[512];
        char cmdline[600];
        char top[2048];
        ModelBundle bundles[MODEL_MAX_BUNDLES];
        unsigned n_bundles;
        uint8_t image_hash[MODEL_MAX_BUNDLES + 2][32]; /* per content id (rootfs image; appfs differs by a byte) */

        /* --- inherited by fork: the state of one explored device --- */
        Manager *m;             /* the running daemon */
        char booted[64];        /* bootname booted in this boot */
        unsigned boot_count;    /* boot id = boot_count in hex */
        unsigned proven[2];     /* per group: content id proven healthy in its own boot, 0 none */
        uint64_t proven_floor;  /* highest security-version proven */
        uint64_t floor_seen;    /* the daemon's floor after the last step (never decreases) */
        /* The next power-ons as model_check() simulated them, for model_digest() of the same
         * state; cleared by every step. */
        bool boots_valid;
        char boots[MODEL_POWER_ONS][64];
} Model;

/* model-snapshot.c: the files under 'dir', to put back after a step a child ran */
typedef struct FileCopy {
        char path[PATH_MAX];
        char *data;
        size_t size;
} FileCopy;

typedef struct Snapshot {
        FileCopy *files;
        size_t n;
} Snapshot;

int model_snapshot_take(const char *dir, Snapshot *s);
int model_snapshot_restore(const char *dir, const Snapshot *s);
void model_snapshot_free(Snapshot *s);

/* model-install.c: an install of bundle b with force (downgrades and reinstalls are explored
 * too; the floor is never forced), from its file or through InstallFd's "ranged" socket
 * (daemon/source-ranged.h) whose peer, a thread of the model, serves the file; with
 * MODEL_SOURCE_RANGED_DIES the peer closes its socket at the first request for the bundle's
 * last image that comes after the stream's first piece (an agent whose download broke).
 * Returns < 0 only when the harness cannot go on; the install's own result is in ret. */
typedef enum ModelSource { MODEL_SOURCE_FILE, MODEL_SOURCE_RANGED, MODEL_SOURCE_RANGED_DIES } ModelSource;
typedef struct ModelInstallFacts {
        int result;             /* install_sync()'s */
        uint64_t patches;       /* applied (the daemon's log "patches=N"), with count_patches */
        unsigned requests;      /* the peer answered */
        bool died;              /* the peer closed its socket on purpose */
} ModelInstallFacts;
int model_install(Model *md, const ModelBundle *b, ModelSource source, bool count_patches, ModelInstallFacts *ret,
                  UError *err);

/* model-device.c */
int model_setup(Model *md, BootScheme scheme, const char *top);
void model_cleanup(Model *md);
int model_pki_setup(void);
void model_pki_cleanup(void);
int model_start_daemon(Model *md);   /* manager_new() for the current boot */
void model_stop_daemon(Model *md);
int model_power_on(Model *md);       /* bootsim, command line, boot id, daemon */
void model_note_boot(Model *md, const char *bootname);
void model_note_boot_from_cmdline(Model *md);
unsigned model_content_of(Model *md, unsigned slot);
int model_floor(Model *md, uint64_t *ret);

/* model.c: explores one scheme on a device of its own (the "# " lines on stdout); 0 passed, 1
 * an invariant broken, 2 a harness error.  model-main.c runs one process per scheme. */
int model_run_scheme(BootScheme scheme, const char *top);

/* model-check.c: I1-I4 and the next power-ons; returns 0 or -1 with the reason in 'why'.
 * model_check_init() before the first fork (a power-on cache shared by the processes),
 * model_check_reset() for each new device. */
int model_check_init(void);
void model_check_reset(void);
int model_check(Model *md, char *why, size_t n);
/* A digest of the state for pruning revisits. */
void model_digest(Model *md, uint8_t ret[32]);
