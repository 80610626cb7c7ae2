/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "states.h"

/* SYSCONFDIR, LOCALSTATEDIR, PREFIX: the install locations, from the Makefile (-D). */
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/update1/system.conf"
/* RAUC's own places for its system.conf (fixed in RAUC, wherever Update1 is installed), read
 * when Update1's is missing, so a RAUC device switches without moving its file. */
#define CONFIG_RAUC_PATHS "/etc/rauc/system.conf", "/run/rauc/system.conf", "/usr/lib/rauc/system.conf"
#define CONFIG_DEFAULT_DATA_DIRECTORY LOCALSTATEDIR "/lib/update1"
/* libubootenv's file, wherever Update1 is installed. */
#define CONFIG_DEFAULT_FW_ENV_CONFIG "/etc/fw_env.config"
/* libubootenv 0.3.2's own, hard-coded lock file (daemon/bootloader/uboot-lock.h). */
#define CONFIG_DEFAULT_UBOOT_LOCK_FILE "/var/lock/fw_printenv.lock"
#define CONFIG_DEFAULT_MAX_BUNDLE_SIZE (UINT64_C(8) << 30) /* 8 GiB */
#define CONFIG_DEFAULT_BOOT_ATTEMPTS 3
#define CONFIG_DEFAULT_TRIAL_ATTEMPTS 1
#define CONFIG_DEFAULT_GRUBENV "/boot/grub/grubenv"
#define CONFIG_DEFAULT_REBOOT_COMMAND "systemctl reboot"
#define CONFIG_DEFAULT_REBOOT_TIMEOUT_SEC 30
/* Below updated.service's WatchdogSec=3min, so even a wait in the main loop stays safe. */
#define CONFIG_MAX_REBOOT_TIMEOUT_SEC 120
#define CONFIG_MAX_REBOOT_ARGS 32
/* idle-timeout=: like systemd's hostnamed/timedated (30 s); D-Bus activation brings it back. */
#define CONFIG_DEFAULT_IDLE_TIMEOUT_SEC 30
#define CONFIG_MAX_IDLE_TIMEOUT_SEC 86400
/* RAUC's default max-bundle-download-size (8 MiB). */
#define CONFIG_DEFAULT_MAX_BUNDLE_DOWNLOAD_SIZE (UINT64_C(8) << 20)

/* RAUC's bundle formats, for [system] bundle-formats= (config_bundle_format_allowed()). */
typedef enum ConfigBundleFormat {
        CONFIG_BUNDLE_FORMAT_PLAIN,
        CONFIG_BUNDLE_FORMAT_VERITY,
        CONFIG_BUNDLE_FORMAT_CRYPT,
        _CONFIG_BUNDLE_FORMAT_MAX,
} ConfigBundleFormat;
#define CONFIG_BUNDLE_FORMATS_DEFAULT ((1u << _CONFIG_BUNDLE_FORMAT_MAX) - 1)

/* [uboot] scheme=: which variables the U-Boot environment uses (docs/bootloaders.md). */
typedef enum UbootScheme {
        UBOOT_SCHEME_RAUC,      /* BOOT_ORDER, BOOT_<x>_LEFT (packaging/bootloader/uboot-boot.cmd) */
        UBOOT_SCHEME_BOOTCOUNT, /* bootcount, bootlimit, upgrade_available, altbootcmd, update1_slot */
        _UBOOT_SCHEME_MAX,
        _UBOOT_SCHEME_INVALID = -22,
} UbootScheme;

typedef struct ConfigSlot {
        char *name;        /* "<class>.<index>", e.g. "rootfs.0" */
        char *class;       /* "rootfs" */
        unsigned index;
        char *device;      /* as written: a path, or PARTLABEL=, PARTUUID=, LABEL=, UUID= */
        SlotType type;
        char *bootname;    /* NULL for child slots (they follow the parent) */
        char *parent_name; /* "rootfs.0" or NULL */
        int parent;        /* index into Config.slots, -1 if none (resolved after parsing) */
        bool readonly;
        bool install_same; /* RAUC's install-same=, default true; false: an image the slot holds is not written again */
        char *description; /* RAUC's description=, or NULL */
        unsigned line;     /* where the section started, for error messages */
} ConfigSlot;

typedef struct Config {
        char *path;
        /* [system] */
        char *compatible;
        char *bootloader;          /* "uboot", "grub", "barebox", "efi" or "custom" */
        char *data_directory;
        uint64_t max_bundle_size;
        char *boot_slot_override;  /* bootname forced as booted (sandboxes), or NULL */
        /* reboot-command=: what Reboot() runs, split at blanks into argv (no shell); argv[0] is
         * an absolute path or a name looked up on PATH.  An empty value disables Reboot():
         * reboot_command and reboot_argv are NULL then. */
        char *reboot_command;
        char **reboot_argv;        /* NULL-terminated */
        unsigned reboot_timeout_sec; /* reboot-timeout=, default 30 */
        unsigned idle_timeout_sec; /* idle-timeout=: exit after this long idle; 0 = never */
        bool rauc_dbus;            /* rauc-dbus=: also serve de.pengutronix.rauc, default true */
        /* [keyring] */
        char *keyring_path;        /* PEM file with trusted roots */
        char *keyring_directory;   /* directory of *.pem / *.crt: roots and intermediates */
        bool allow_bundle_intermediates;
        bool allow_bundle_intermediates_set; /* written in the file: then it holds for RAUC bundles
                                              * too, which otherwise use them as RAUC does */
        bool check_crl;            /* CRLs in the keyring (file or *.crl in directory) are enforced */
        /* [uboot] */
        char *fw_env_config;
        unsigned boot_attempts;    /* BOOT_x_LEFT for a good slot, default 3 */
        unsigned trial_attempts;   /* BOOT_x_LEFT for a slot on trial (bootlimit in the bootcount
                                    * scheme), default 1 */
        UbootScheme uboot_scheme;  /* scheme=, default rauc */
        char *uboot_lock_file;     /* lock-file=, default libubootenv's /var/lock/fw_printenv.lock */
        /* [grub] */
        char *grubenv;             /* env=, default /boot/grub/grubenv */
        /* [barebox] */
        char *barebox_state_name;  /* state-name= (barebox-state -n), NULL: the tool's default */
        unsigned barebox_boot_attempts;  /* remaining_attempts of a good slot, default 3 */
        unsigned barebox_trial_attempts; /* remaining_attempts of a slot on trial, default 1 */
        /* [custom] */
        char *custom_backend;      /* executable path */
        /* RAUC's keys (lib/config-rauc.c, docs/configuration.md "RAUC system.conf") */
        char *variant;             /* variant-name=, variant-file='s content or the device tree's
                                    * first compatible (variant-dtb=true); NULL if none */
        char *variant_file;        /* variant-file= as resolved, or NULL */
        bool variant_dtb;
        char *statusfile;          /* statusfile=: resolved path or "per-slot"; not used (warned) */
        char *mountprefix;         /* mountprefix=; not used (warned) */
        uint64_t max_bundle_download_size; /* default 8 MiB: the cap for a RAUC plain bundle
                                    * fetched from a URL (it is hashed whole before a write) */
        unsigned bundle_formats;   /* mask of 1 << ConfigBundleFormat, default all */
        bool activate_installed;   /* always true (false is refused) */
        unsigned rauc_boot_attempts, rauc_boot_attempts_primary; /* [system] boot-attempts*=, 0 unset:
                                    * applied to [uboot]/[barebox] */
        char *check_purpose;       /* [keyring] check-purpose= as written, NULL unset (then
                                    * codesign for Update1 bundles, smimesign for RAUC ones) */
        bool allow_partial_chain;  /* [keyring] allow-partial-chain= (warned: no effect) */
        bool use_bundle_signing_time; /* [keyring] use-bundle-signing-time= (warned: no effect) */
        char **warnings;           /* "PATH:LINE: warning: ..." per accepted key without effect */
        unsigned n_warnings;
        /* [slot.<class>.<index>] in file order */
        ConfigSlot *slots;
        unsigned n_slots;
} Config;

/* Whether certificates carried in a RAUC bundle may link its signer to a root: yes, as in RAUC,
 * unless [keyring] allow-bundle-intermediates= is written in the file. */
bool config_rauc_bundle_intermediates(const Config *c);

/* CONFIG_DEFAULT_PATH if it exists, else the first of CONFIG_RAUC_PATHS that exists, else
 * CONFIG_DEFAULT_PATH (whose absence config_load() then reports). */
const char *config_default_path(void);

/* Parses and validates the whole file (NULL: config_default_path()).  On failure logs "PATH:LINE: what is wrong" at error
 * level and returns a negative errno; nothing is returned then. */
int config_load(const char *path, Config **ret);
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/* [system] bundle-formats=: may a RAUC bundle of this format ("plain", "verity", "crypt") be
 * installed?  Unknown names: false. */
bool config_bundle_format_allowed(const Config *c, const char *format);

int config_find_slot(const Config *c, const char *name);              /* index or -ENOENT */
int config_find_slot_by_bootname(const Config *c, const char *bootname); /* index or -ENOENT */
