/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/config.c: a good file and every class of error, each with its line number, logged once. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test-config-load.h"
#include "fileio.h"
#include "unit.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];
static char log_text[8192];
static char top[PATH_MAX];

/* config_load() of these bytes, with stderr captured into log_text. */
static int load_bytes(const char *data, size_t size, Config **ret) {
        char log_path[PATH_MAX + 32];

        snprintf(log_path, sizeof(log_path), "%s/stderr.log", tmpdir);
        return load_config_bytes(conf_path, data, size, log_path, log_text, sizeof(log_text), ret);
}

static int load_text(const char *text, Config **ret) {
        return load_bytes(text, strlen(text), ret);
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* The error must be one line "PATH:LINE: ..." containing 'what'. */
static void expect_error(const char *text, unsigned line, const char *what) {
        _cleanup_(config_freep) Config *c = NULL;
        char prefix[PATH_MAX + 64];
        int r;

        r = load_text(text, &c);
        CHECK(r < 0);
        CHECK(c == NULL);
        if (line > 0)
                snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
        else
                snprintf(prefix, sizeof(prefix), "%s: ", conf_path);
        if (strncmp(log_text, prefix, strlen(prefix)) != 0 || !strstr(log_text, what) || count_lines(log_text) != 1) {
                printf("  expected one line starting with '%s' containing '%s', got: %s\n", prefix, what, log_text);
                unit_case_failures++;
        }
}

#define BASE                          \
        "[system]\n"                  \
        "compatible=test-board\n"     \
        "bootloader=uboot\n"          \
        "[keyring]\n"                 \
        "path=keyring.pem\n"          \
        "[slot.rootfs.0]\n"           \
        "device=/dev/a\n"             \
        "type=ext4\n"                 \
        "bootname=A\n"                \
        "[slot.rootfs.1]\n"           \
        "device=/dev/b\n"             \
        "type=ext4\n"                 \
        "bootname=B\n" /* line 13 */

TEST(good_full) {
        _cleanup_(config_freep) Config *c = NULL;
        char want[PATH_MAX + 64];

        CHECK_EQ(load_text("# comment\n"
                           "; another\n"
                           "[system]\n"
                           "compatible = board-x \n"
                           "bootloader=uboot\n"
                           "data-directory=data\n"
                           "max-bundle-size=512M\n"
                           "boot-slot-override=B\n"
                           "\n"
                           "[keyring]\n"
                           "path=/etc/k.pem\n"
                           "directory=keys.d\n"
                           "allow-bundle-intermediates=yes\n"
                           "[uboot]\n"
                           "fw-env-config=/etc/fw.cfg\n"
                           "lock-file=lock/fw.lock\n"
                           "boot-attempts=5\n"
                           "trial-attempts=2\n"
                           "[ slot.rootfs.0 ]\n"
                           "device=PARTLABEL=root-a\n"
                           "type=ext4\n"
                           "bootname=A\n"
                           "[slot.appfs.0]\n"
                           "device=appfs-a.img\n"
                           "type=squashfs\n"
                           "parent=rootfs.0\n"
                           "readonly=false\n"
                           "[slot.rootfs.1]\n"
                           "device=/dev/mmcblk0p3\n"
                           "type=raw\n"
                           "bootname=B\n"
                           "[slot.appfs.1]\n"
                           "device=/dev/mmcblk0p6\n"
                           "type=erofs\n"
                           "parent=rootfs.1\n"
                           "readonly=1\n",
                           &c),
                 0);
        CHECK_STREQ(log_text, "");
        if (!c)
                return;
        CHECK_STREQ(c->compatible, "board-x");
        CHECK_STREQ(c->bootloader, "uboot");
        snprintf(want, sizeof(want), "%s/data", tmpdir);
        CHECK_STREQ(c->data_directory, want);
        CHECK(c->max_bundle_size == (UINT64_C(512) << 20));
        CHECK_STREQ(c->boot_slot_override, "B");
        CHECK_STREQ(c->keyring_path, "/etc/k.pem");
        snprintf(want, sizeof(want), "%s/keys.d", tmpdir);
        CHECK_STREQ(c->keyring_directory, want);
        CHECK(c->allow_bundle_intermediates);
        CHECK_STREQ(c->fw_env_config, "/etc/fw.cfg");
        snprintf(want, sizeof(want), "%s/lock/fw.lock", tmpdir);
        CHECK_STREQ(c->uboot_lock_file, want);
        CHECK_EQ(c->boot_attempts, 5);
        CHECK_EQ(c->trial_attempts, 2);
        CHECK_EQ(c->n_slots, 4);
        if (c->n_slots != 4)
                return;
        /* File order is kept. */
        CHECK_STREQ(c->slots[0].name, "rootfs.0");
        CHECK_STREQ(c->slots[0].class, "rootfs");
        CHECK_EQ(c->slots[0].index, 0);
        CHECK_STREQ(c->slots[0].device, "PARTLABEL=root-a");
        CHECK_EQ(c->slots[0].type, SLOT_TYPE_EXT4);
        CHECK_STREQ(c->slots[0].bootname, "A");
        CHECK_EQ(c->slots[0].parent, -1);
        CHECK_EQ(c->slots[0].line, 19);
        CHECK_STREQ(c->slots[1].name, "appfs.0");
        snprintf(want, sizeof(want), "%s/appfs-a.img", tmpdir);
        CHECK_STREQ(c->slots[1].device, want);
        CHECK(c->slots[1].bootname == NULL);
        CHECK_STREQ(c->slots[1].parent_name, "rootfs.0");
        CHECK_EQ(c->slots[1].parent, 0);
        CHECK(!c->slots[1].readonly);
        CHECK_EQ(c->slots[2].type, SLOT_TYPE_RAW);
        CHECK_EQ(c->slots[3].parent, 2);
        CHECK(c->slots[3].readonly);
        CHECK_EQ(c->slots[3].type, SLOT_TYPE_EROFS);

        CHECK_EQ(config_find_slot(c, "appfs.1"), 3);
        CHECK_EQ(config_find_slot(c, "appfs.7"), -ENOENT);
        CHECK_EQ(config_find_slot_by_bootname(c, "B"), 2);
        CHECK_EQ(config_find_slot_by_bootname(c, "C"), -ENOENT);
}

TEST(defaults) {
        _cleanup_(config_freep) Config *c = NULL;

        CHECK_EQ(load_text(BASE, &c), 0);
        if (!c)
                return;
        CHECK_STREQ(c->data_directory, CONFIG_DEFAULT_DATA_DIRECTORY);
        CHECK_STREQ(c->fw_env_config, CONFIG_DEFAULT_FW_ENV_CONFIG);
        CHECK_STREQ(c->uboot_lock_file, "/var/lock/fw_printenv.lock");
        CHECK(c->max_bundle_size == CONFIG_DEFAULT_MAX_BUNDLE_SIZE);
        CHECK_EQ(c->boot_attempts, 3);
        CHECK_EQ(c->trial_attempts, 1);
        CHECK(c->boot_slot_override == NULL);
        CHECK(c->keyring_directory == NULL);
        CHECK(!c->allow_bundle_intermediates);
        CHECK(c->custom_backend == NULL);
        CHECK_EQ(c->uboot_scheme, UBOOT_SCHEME_RAUC);
        CHECK_STREQ(c->grubenv, CONFIG_DEFAULT_GRUBENV);
        CHECK(c->barebox_state_name == NULL);
        CHECK_EQ(c->barebox_boot_attempts, 3);
        CHECK_EQ(c->barebox_trial_attempts, 1);
}

TEST(custom_backend) {
        _cleanup_(config_freep) Config *c = NULL;

        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=custom\n[custom]\npath=/usr/bin/board-boot\n"
                           "[keyring]\ndirectory=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &c),
                 0);
        if (c)
                CHECK_STREQ(c->custom_backend, "/usr/bin/board-boot");
        expect_error("[system]\ncompatible=x\nbootloader=custom\n[keyring]\npath=/k\n"
                     "[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                     3, "[custom] path=");
}

/* The shipped example must stay loadable. */
TEST(shipped_example) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        char path[2 * PATH_MAX];

        snprintf(path, sizeof(path), "%s/packaging/config/system.conf.example", top);
        if (read_full_file(path, 1 << 20, &text, NULL) < 0) {
                printf("  cannot read %s (set UPDATE1_TOP)\n", path);
                unit_case_failures++;
                return;
        }
        CHECK_EQ(load_text(text, &c), 0);
        CHECK_STREQ(log_text, "");
        if (!c)
                return;
        CHECK_EQ(c->n_slots, 4);
        CHECK_EQ(config_find_slot_by_bootname(c, "B"), 1);
        CHECK_EQ(c->slots[3].parent, 1);
}

/* BASE with another bootloader= (same line numbers: the sections start at line 4). */
#define BASE_BL(bl)                                                                             \
        "[system]\ncompatible=test-board\nbootloader=" bl "\n[keyring]\npath=keyring.pem\n"     \
        "[slot.rootfs.0]\ndevice=/dev/a\ntype=ext4\nbootname=A\n"                                \
        "[slot.rootfs.1]\ndevice=/dev/b\ntype=ext4\nbootname=B\n"

/* The keys of the grub, barebox and efi backends and the U-Boot bootcount scheme. */
TEST(bootloader_backends) {
        char expect[PATH_MAX + 64];

        {
                _cleanup_(config_freep) Config *c = NULL;
                CHECK_EQ(load_text(BASE "[uboot]\nscheme=bootcount\ntrial-attempts=2\n", &c), 0);
                if (c) {
                        CHECK_EQ(c->uboot_scheme, UBOOT_SCHEME_BOOTCOUNT);
                        CHECK_EQ(c->trial_attempts, 2);
                }
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                CHECK_EQ(load_text(BASE "[uboot]\nscheme=rauc\n", &c), 0);
                if (c)
                        CHECK_EQ(c->uboot_scheme, UBOOT_SCHEME_RAUC);
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                CHECK_EQ(load_text(BASE_BL("grub") "[grub]\nenv=boot/grubenv\n", &c), 0);
                snprintf(expect, sizeof(expect), "%s/boot/grubenv", tmpdir);
                if (c) {
                        CHECK_STREQ(c->bootloader, "grub");
                        CHECK_STREQ(c->grubenv, expect); /* relative to the config file */
                }
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                CHECK_EQ(load_text(BASE_BL("barebox")
                                   "[barebox]\nstate-name=update1_state\nboot-attempts=5\ntrial-attempts=2\n",
                                   &c),
                         0);
                if (c) {
                        CHECK_STREQ(c->bootloader, "barebox");
                        CHECK_STREQ(c->barebox_state_name, "update1_state");
                        CHECK_EQ(c->barebox_boot_attempts, 5);
                        CHECK_EQ(c->barebox_trial_attempts, 2);
                        CHECK_EQ(c->boot_attempts, 3); /* [uboot]'s are separate */
                }
        }
        {
                _cleanup_(config_freep) Config *c = NULL;
                CHECK_EQ(load_text(BASE_BL("efi"), &c), 0);
                if (c)
                        CHECK_STREQ(c->bootloader, "efi");
        }
        expect_error(BASE "[uboot]\nscheme=mender\n", 15, "unknown U-Boot scheme 'mender' (supported: rauc, bootcount)");
        expect_error(BASE "[uboot]\nscheme=\n", 15, "empty value for 'scheme'");
        expect_error(BASE "[grub]\nenv=\n", 15, "empty value for 'env' in section [grub]");
        expect_error(BASE "[grub]\npath=/boot/grubenv\n", 15, "unknown key 'path' in section [grub]");
        expect_error(BASE "[barebox]\nboot-attempts=0\n", 15, "[barebox] boot-attempts=0: must be a number from 1 to 100");
        expect_error(BASE "[barebox]\ntrial-attempts=101\n", 15, "trial-attempts=101");
        expect_error(BASE "[barebox]\nstate-name=-x\n", 15, "invalid barebox state-name '-x'");
        expect_error(BASE "[barebox]\nstate-name=a b\n", 15, "invalid barebox state-name 'a b'");
        expect_error(BASE "[efi]\n", 14, "unknown section [efi]");
}

TEST(syntax_errors) {
        expect_error("compatible=x\n[system]\n", 1, "outside of any section");
        expect_error(BASE "this is not ini\n", 14, "malformed line");
        expect_error(BASE "[oops\n", 14, "malformed line");
        expect_error(BASE "=value\n", 14, "malformed line");
        /* NUL bytes would hide the rest of the file from the parser. */
        {
                _cleanup_(config_freep) Config *c = NULL;
                static const char buf[] = BASE "x\0y=1\n";

                CHECK(load_bytes(buf, sizeof(buf) - 1, &c) < 0);
                CHECK(strstr(log_text, "NUL byte") != NULL);
        }
}

TEST(section_errors) {
        expect_error(BASE "[foo]\n", 14, "unknown section [foo]");
        expect_error(BASE "[system]\n", 14, "duplicate section [system] (first at line 1)");
        expect_error(BASE "[slot.rootfs.1]\ndevice=/dev/c\n", 14, "duplicate section [slot.rootfs.1]");
        expect_error(BASE "[slot.RootFS.2]\n", 14, "invalid slot class 'RootFS'");
        expect_error(BASE "[slot._x.2]\n", 14, "invalid slot class '_x'");
        expect_error(BASE "[slot.rootfs.x]\n", 14, "invalid slot index 'x'");
        expect_error(BASE "[slot.rootfs.01]\n", 14, "invalid slot index '01'");
        expect_error(BASE "[slot.rootfs.-1]\n", 14, "invalid slot index '-1'");
        expect_error(BASE "[slot.rootfs]\n", 14, "must be named [slot.<class>.<index>]");
        /* Errors come in file order: a bad key before a bad section header is reported first. */
        expect_error(BASE "color=blue\n[foo]\n", 14, "unknown key 'color'");
        expect_error(BASE "[foo]\ncolor=blue\n", 14, "unknown section [foo]");
}

TEST(key_errors) {
        expect_error(BASE "color=blue\n", 14, "unknown key 'color' in section [slot.rootfs.1]");
        expect_error(BASE "type=raw\n", 14, "duplicate key 'type' in section [slot.rootfs.1] (first at line 12)");
        expect_error(BASE "[slot.rootfs.2]\ndevice=\n", 15, "empty value for 'device'");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\ntype=btrfs\n", 16, "unknown slot type 'btrfs'");
        expect_error(BASE "readonly=maybe\n", 14, "invalid boolean 'maybe'");
        expect_error(BASE "[keyring]\n", 14, "duplicate section [keyring]");
        expect_error(BASE "[uboot]\nboot-attempts=0\n", 15, "boot-attempts=0: must be a number from 1 to 9");
        expect_error(BASE "[uboot]\nboot-attempts=10\n", 15, "boot-attempts=10");
        expect_error(BASE "[uboot]\ntrial-attempts=x\n", 15, "trial-attempts=x");
        expect_error(BASE "[uboot]\nfoo=1\n", 15, "unknown key 'foo' in section [uboot]");
        expect_error("[system]\ncompatible=x\nbootloader=lilo\n", 3,
                     "unknown bootloader 'lilo' (supported: uboot, grub, barebox, efi, custom)");
        expect_error("[system]\ncompatible=x\nmax-bundle-size=lots\n", 3, "invalid max-bundle-size 'lots'");
        expect_error("[system]\ncompatible=x\nmax-bundle-size=0\n", 3, "invalid max-bundle-size '0'");
        expect_error("[keyring]\nallow-bundle-intermediates=2\n", 2, "allow-bundle-intermediates");
}

/* [system] reboot-command= and reboot-timeout= (Reboot()). */
TEST(reboot_command) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL, *e = NULL, *f = NULL;

        /* Default: systemctl reboot, 30 s. */
        CHECK_EQ(load_text(BASE, &c), 0);
        if (c) {
                CHECK_STREQ(c->reboot_command, "systemctl reboot");
                CHECK(c->reboot_argv && c->reboot_argv[0] && c->reboot_argv[1] && !c->reboot_argv[2]);
                if (c->reboot_argv && c->reboot_argv[0] && c->reboot_argv[1]) {
                        CHECK_STREQ(c->reboot_argv[0], "systemctl");
                        CHECK_STREQ(c->reboot_argv[1], "reboot");
                }
                CHECK_EQ(c->reboot_timeout_sec, 30);
        }

        /* Split at blanks (spaces and tabs, several in a row), no shell, no quoting. */
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\n"
                           "reboot-command=/usr/sbin/board-reboot  --force\t\"now please\"\n"
                           "reboot-timeout=5\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &d),
                 0);
        if (d) {
                CHECK_STREQ(d->reboot_command, "/usr/sbin/board-reboot  --force\t\"now please\"");
                CHECK(d->reboot_argv && d->reboot_argv[0] && d->reboot_argv[1] && d->reboot_argv[2] &&
                      d->reboot_argv[3] && !d->reboot_argv[4]);
                if (d->reboot_argv && d->reboot_argv[3]) {
                        CHECK_STREQ(d->reboot_argv[0], "/usr/sbin/board-reboot");
                        CHECK_STREQ(d->reboot_argv[1], "--force");
                        CHECK_STREQ(d->reboot_argv[2], "\"now");
                        CHECK_STREQ(d->reboot_argv[3], "please\"");
                }
                CHECK_EQ(d->reboot_timeout_sec, 5);
        }

        /* Empty: Reboot() disabled. */
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nreboot-command=\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &e),
                 0);
        if (e)
                CHECK(e->reboot_command == NULL && e->reboot_argv == NULL);

        /* A name looked up on PATH is fine. */
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nreboot-command=reboot\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &f),
                 0);
        if (f)
                CHECK(f->reboot_argv && streq(f->reboot_argv[0], "reboot") && !f->reboot_argv[1]);

        expect_error("[system]\ncompatible=x\nreboot-command=bin/reboot now\n", 3,
                     "reboot-command=bin/reboot now: the program must be an absolute path or a name looked up on PATH");
        expect_error("[system]\ncompatible=x\nreboot-command=a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 "
                     "23 24 25 26 27 28 29 30 31 32\n",
                     3, "reboot-command= has more than 32 words");
        expect_error("[system]\ncompatible=x\nreboot-command=/sbin/reboot\nreboot-command=/sbin/reboot\n", 4,
                     "duplicate key 'reboot-command'");
        expect_error("[system]\ncompatible=x\nreboot-timeout=0\n", 3, "reboot-timeout=0: must be a number of seconds from 1 to 120");
        expect_error("[system]\ncompatible=x\nreboot-timeout=121\n", 3, "reboot-timeout=121");
        expect_error("[system]\ncompatible=x\nreboot-timeout=\n", 3, "empty value for 'reboot-timeout'");
        expect_error("[system]\ncompatible=x\nreboot-timeout=5s\n", 3, "reboot-timeout=5s");
}

/* [system] idle-timeout= (daemon/idle.c): default 30 s, 0 = never exit. */
TEST(idle_timeout) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL, *e = NULL;

        CHECK_EQ(load_text(BASE, &c), 0);
        if (c)
                CHECK_EQ(c->idle_timeout_sec, 30);
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nidle-timeout=0\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &d),
                 0);
        if (d)
                CHECK_EQ(d->idle_timeout_sec, 0);
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nidle-timeout=86400\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &e),
                 0);
        if (e)
                CHECK_EQ(e->idle_timeout_sec, 86400);
        expect_error("[system]\ncompatible=x\nidle-timeout=86401\n", 3,
                     "idle-timeout=86401: must be a number of seconds from 0 (never exit) to 86400");
        expect_error("[system]\ncompatible=x\nidle-timeout=30s\n", 3, "idle-timeout=30s");
        expect_error("[system]\ncompatible=x\nidle-timeout=-1\n", 3, "idle-timeout=-1");
        expect_error("[system]\ncompatible=x\nidle-timeout=\n", 3, "empty value for 'idle-timeout'");
}

/* [system] rauc-dbus= (daemon/bus-rauc.c): RAUC's D-Bus API, on by default. */
TEST(rauc_dbus) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;

        CHECK_EQ(load_text(BASE, &c), 0);
        if (c)
                CHECK(c->rauc_dbus);
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nrauc-dbus=false\n"
                           "[keyring]\npath=/k\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &d),
                 0);
        if (d)
                CHECK(!d->rauc_dbus);
        expect_error("[system]\ncompatible=x\nrauc-dbus=maybe\n", 3, "invalid boolean 'maybe' for rauc-dbus");
}

TEST(missing_required) {
        expect_error("[keyring]\npath=/k\n", 0, "[system] compatible= is required");
        expect_error("[system]\nbootloader=uboot\n[keyring]\npath=/k\n", 1, "[system] compatible= is required");
        expect_error("[system]\ncompatible=x\n[keyring]\npath=/k\n", 1, "[system] bootloader= is required");
        expect_error("[system]\ncompatible=x\nbootloader=uboot\n[keyring]\nallow-bundle-intermediates=1\n"
                     "[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                     4, "[keyring] needs path=");
        expect_error("[system]\ncompatible=x\nbootloader=uboot\n[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n", 0,
                     "[keyring] needs path=");
        expect_error("[system]\ncompatible=x\nbootloader=uboot\n[keyring]\npath=/k\n", 0, "no [slot.<class>.<index>]");
        expect_error(BASE "[slot.rootfs.2]\n", 14, "[slot.rootfs.2] device= is required");
        /* type= defaults to raw, as in RAUC (test-config-rauc.c) */
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\n", 14, "[slot.rootfs.2] bootname= is required");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\ntype=raw\n", 14, "bootname= is required");
}

TEST(slot_relations) {
        /* child with a bootname: reported at the bootname= line */
        expect_error(BASE "[slot.appfs.0]\ndevice=/dev/c\ntype=raw\nparent=rootfs.0\nbootname=C\n", 18,
                     "must not have bootname=");
        expect_error(BASE "[slot.appfs.0]\ndevice=/dev/c\ntype=raw\nparent=rootfs.7\n", 17, "parent=rootfs.7: no such slot");
        expect_error(BASE "[slot.appfs.0]\ndevice=/dev/c\ntype=raw\nparent=appfs.0\n", 17, "cannot be its own parent");
        /* a chain: data.0 → appfs.0 → rootfs.0, reported at data.0's parent= line */
        expect_error(BASE "[slot.data.0]\ndevice=/dev/d\ntype=raw\nparent=appfs.0\n"
                          "[slot.appfs.0]\ndevice=/dev/c\ntype=raw\nparent=rootfs.0\n",
                     17, "only one level is supported");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\ntype=raw\nbootname=A\n", 17,
                     "bootname=A is already used by slot rootfs.0");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/b\ntype=raw\nbootname=C\n", 15,
                     "device=/dev/b is already used by slot rootfs.1");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\ntype=raw\nbootname=C-1\n", 17, "invalid bootname 'C-1'");
        expect_error(BASE "[slot.rootfs.2]\ndevice=/dev/c\ntype=raw\nbootname=C D\n", 17, "invalid bootname 'C D'");
}

TEST(override) {
        _cleanup_(config_freep) Config *c = NULL;

        expect_error("[system]\ncompatible=x\nbootloader=uboot\nboot-slot-override=Z\n[keyring]\npath=/k\n"
                     "[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                     4, "boot-slot-override=Z names no slot");
        /* A slot name works too; empty means none. */
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nboot-slot-override=rootfs.0\n[keyring]\npath=/k\n"
                           "[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &c),
                 0);
        c = config_free(c);
        CHECK_EQ(load_text("[system]\ncompatible=x\nbootloader=uboot\nboot-slot-override=\n[keyring]\npath=/k\n"
                           "[slot.rootfs.0]\ndevice=/d\ntype=raw\nbootname=A\n",
                           &c),
                 0);
        if (c)
                CHECK(c->boot_slot_override == NULL);
}

TEST(missing_file) {
        _cleanup_(config_freep) Config *c = NULL;
        char path[PATH_MAX + 32];
        int saved, fd;

        snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        dup2(fd, STDERR_FILENO);
        close(fd);
        CHECK_EQ(config_load(path, &c), -ENOENT);
        dup2(saved, STDERR_FILENO);
        close(saved);
        CHECK(c == NULL);
}

/* The source tree: $UPDATE1_TOP, else two levels above build/tests/test-config. */
static void find_top(void) {
        const char *env = getenv("UPDATE1_TOP");
        char exe[PATH_MAX];
        ssize_t n;

        if (env) {
                snprintf(top, sizeof(top), "%s", env);
                return;
        }
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0) {
                snprintf(top, sizeof(top), ".");
                return;
        }
        exe[n] = '\0';
        for (int i = 0; i < 3; i++) {
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = '\0';
        }
        snprintf(top, sizeof(top), "%s", exe);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-config")
        find_top();
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-config.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(conf_path, sizeof(conf_path), "%s/system.conf", tmpdir);

        RUN(good_full);
        RUN(defaults);
        RUN(custom_backend);
        RUN(shipped_example);
        RUN(bootloader_backends);
        RUN(syntax_errors);
        RUN(section_errors);
        RUN(key_errors);
        RUN(reboot_command);
        RUN(idle_timeout);
        RUN(rauc_dbus);
        RUN(missing_required);
        RUN(slot_relations);
        RUN(override);
        RUN(missing_file);
UNIT_MAIN_END
