/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RAUC's system.conf read as is (lib/config-rauc.c, lib/config-slot.c): RAUC 1.8's own files,
 * copied from its documentation and test suite (each cited where it is used), either load with
 * the Config values RAUC gives them or fail naming the exact line and what to change.  Every
 * refused key and section says so; every key accepted without effect warns once.
 *
 * The real RAUC (Debian's rauc 1.8, tests/lib/install-deps.sh) parses each same file offline:
 * `rauc --conf=FILE info /nonexistent.raucb` loads system.conf before it looks at the bundle
 * and fails with "Failed to load system config" on a bad one (`rauc status` needs the service
 * on D-Bus, `rauc info` does not).  Both must agree on accept/refuse, except where Update1
 * refuses on purpose (each such case is marked and listed in docs/rauc-compat.md). */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config-parser.h"
#include "config-rauc.h"
#include "config-slot.h"
#include "config-system.h"
#include "test-config-load.h"
#include "unit.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];
static char log_text[16384];
static bool have_rauc;

/* config_load() of TEXT as tmpdir/system.conf, stderr captured into log_text. */
static int load_text(const char *text, Config **ret) {
        char log_path[PATH_MAX + 32];

        snprintf(log_path, sizeof(log_path), "%s/stderr.log", tmpdir);
        return load_config_bytes(conf_path, text, strlen(text), log_path, log_text, sizeof(log_text), ret);
}

/* The 1-based number of the line of TEXT that starts with NEEDLE. */
static unsigned line_of(const char *text, const char *needle) {
        unsigned line = 1;

        for (const char *s = text; *s; line++) {
                if (strneq(s, needle, strlen(needle)))
                        return line;
                s = strchrnul(s, '\n');
                if (*s)
                        s++;
        }
        printf("# test bug: no line starting with '%s'\n", needle);
        unit_case_failures++;
        return 0;
}

/* Does the real rauc 1.8 load the file that load_text() last wrote? */
static int rauc_accepts(void) {
        char cmd[2 * PATH_MAX + 256], out[4096];
        size_t n;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "rauc --conf='%s' info %s/nonexistent.raucb 2>&1", conf_path, tmpdir);
        f = popen(cmd, "re");
        if (!f)
                return -1;
        n = fread(out, 1, sizeof(out) - 1, f);
        out[n] = '\0';
        pclose(f);
        if (strstr(out, "Failed to load system config"))
                return 0;
        if (strstr(out, "No such file"))
                return 1;
        printf("# unexpected rauc output: %s\n", out);
        return -1;
}

typedef enum Rauc {
        RAUC_AGREES,      /* RAUC accepts what Update1 accepts and refuses what it refuses */
        RAUC_ACCEPTS,     /* Update1 refuses on purpose what RAUC accepts (docs/rauc-compat.md) */
} Rauc;

static void check_rauc(const char *text, bool update1_accepts, Rauc how) {
        int r;

        if (!have_rauc)
                return;
        r = rauc_accepts();
        CHECK(r >= 0);
        if (r < 0)
                return;
        if (how == RAUC_ACCEPTS ? !r : r != update1_accepts) {
                printf("# rauc %s, Update1 %s:\n%s\n", r ? "accepts" : "refuses", update1_accepts ? "accepts" : "refuses",
                       text);
                unit_case_failures++;
        }
}

/* Loads TEXT; it must succeed with exactly N_WARNINGS warnings; returns the Config. */
static Config *expect_load(const char *text, unsigned n_warnings) {
        Config *c = NULL;

        if (load_text(text, &c) < 0 || !c) {
                printf("# expected to load, got: %s", log_text);
                unit_case_failures++;
                return NULL;
        }
        if (c->n_warnings != n_warnings) {
                printf("# expected %u warnings, got %u: %s", n_warnings, c->n_warnings, log_text);
                unit_case_failures++;
        }
        check_rauc(text, true, RAUC_AGREES);
        return c;
}

/* Loading TEXT fails with one line "PATH:LINE: ..." containing WHAT (and WHAT2 if set). */
static void expect_error(const char *text, unsigned line, const char *what, const char *what2, Rauc how) {
        _cleanup_(config_freep) Config *c = NULL;
        char prefix[PATH_MAX + 64];

        CHECK(load_text(text, &c) < 0);
        CHECK(c == NULL);
        snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
        if (!strneq(log_text, prefix, strlen(prefix)) || !strstr(log_text, what) || (what2 && !strstr(log_text, what2)) ||
            strchr(log_text, '\n') != log_text + strlen(log_text) - 1) {
                printf("# expected one line starting with '%s' containing '%s'%s%s, got: %s\n", prefix, what,
                       what2 ? " and " : "", what2 ?: "", log_text);
                unit_case_failures++;
        }
        check_rauc(text, false, how);
}

static bool has_warning(const Config *c, unsigned line, const char *what) {
        char prefix[PATH_MAX + 64];

        snprintf(prefix, sizeof(prefix), "%s:%u: warning: ", conf_path, line);
        for (unsigned i = 0; c && i < c->n_warnings; i++)
                if (strneq(c->warnings[i], prefix, strlen(prefix)) && strstr(c->warnings[i], what))
                        return true;
        printf("# no warning '%s...%s' in: %s\n", prefix, what, log_text);
        return false;
}

static const ConfigSlot *slot(const Config *c, const char *name) {
        int i = config_find_slot(c, name);
        return i >= 0 ? &c->slots[i] : NULL;
}

static char *in_tmp(const char *name) {
        static char buf[4][PATH_MAX + 64];
        static unsigned n;
        char *b = buf[n++ % 4];

        snprintf(b, PATH_MAX + 64, "%s/%s", tmpdir, name);
        return b;
}

/* RAUC 1.8 docs/reference.rst, "System Configuration File", the example configuration. */
#define REFERENCE_SYSTEM                        \
        "[system]\n"                            \
        "compatible=FooCorp Super BarBazzer\n"  \
        "bootloader=barebox\n"                  \
        "data-directory=/srv/rauc\n"            \
        "bundle-formats=-plain\n"               \
        "\n"                                    \
        "[keyring]\n"                           \
        "path=/etc/rauc/keyring.pem\n"          \
        "\n"
#define REFERENCE_HANDLERS                               \
        "[handlers]\n"                                   \
        "system-info=/usr/lib/rauc/info-provider.sh\n"   \
        "post-install=/usr/lib/rauc/postinst.sh\n"       \
        "\n"
#define REFERENCE_SLOTS         \
        "[slot.rootfs.0]\n"     \
        "device=/dev/sda0\n"    \
        "type=ext4\n"           \
        "bootname=system0\n"    \
        "\n"                    \
        "[slot.rootfs.1]\n"     \
        "device=/dev/sda1\n"    \
        "type=ext4\n"           \
        "bootname=system1\n"

TEST(reference_example) {
        const char *text = REFERENCE_SYSTEM REFERENCE_HANDLERS REFERENCE_SLOTS;
        _cleanup_(config_freep) Config *c = NULL;

        /* As documented: refused at the first handler, naming it. */
        expect_error(text, line_of(text, "system-info="), "[handlers] system-info= (RAUC's) is not supported",
                     "remove the line", RAUC_ACCEPTS);

        /* Without its [handlers]: RAUC's values. */
        c = expect_load(REFERENCE_SYSTEM REFERENCE_SLOTS, 0);
        if (!c)
                return;
        CHECK_STREQ(c->compatible, "FooCorp Super BarBazzer");
        CHECK_STREQ(c->bootloader, "barebox");
        CHECK_STREQ(c->data_directory, "/srv/rauc");
        CHECK_STREQ(c->keyring_path, "/etc/rauc/keyring.pem");
        CHECK(!config_bundle_format_allowed(c, "plain"));
        CHECK(config_bundle_format_allowed(c, "verity"));
        CHECK(config_bundle_format_allowed(c, "crypt"));
        CHECK(!config_bundle_format_allowed(c, "tar"));
        CHECK_EQ(c->max_bundle_download_size, (uint64_t) 8 * 1024 * 1024);
        CHECK(c->activate_installed);
        CHECK(c->variant == NULL);
        CHECK_EQ(c->n_slots, 2u);
        CHECK_STREQ(slot(c, "rootfs.1")->bootname, "system1");
        CHECK_EQ(slot(c, "rootfs.1")->type, SLOT_TYPE_EXT4);
        CHECK(slot(c, "rootfs.1")->install_same);
}

/* RAUC 1.8 docs/examples.rst, "Full System Example": the system configuration. */
TEST(examples_full_system) {
        const char *text = "[system]\n"
                           "compatible=rauc-demo-x86\n"
                           "bootloader=grub\n"
                           "mountprefix=/mnt/rauc\n"
                           "bundle-formats=-plain\n"
                           "\n"
                           "[keyring]\n"
                           "path=demo.cert.pem\n"
                           "\n"
                           "[slot.rootfs.0]\n"
                           "device=/dev/sda2\n"
                           "type=ext4\n"
                           "bootname=A\n"
                           "\n"
                           "[slot.rootfs.1]\n"
                           "device=/dev/sda3\n"
                           "type=ext4\n"
                           "bootname=B\n";
        _cleanup_(config_freep) Config *c = expect_load(text, 1);

        if (!c)
                return;
        CHECK(has_warning(c, 4, "[system] mountprefix= has no effect"));
        CHECK_STREQ(c->mountprefix, "/mnt/rauc");
        /* Relative to the file, as RAUC resolves it. */
        CHECK_STREQ(c->keyring_path, in_tmp("demo.cert.pem"));
        CHECK_STREQ(c->grubenv, "/boot/grub/grubenv");
        CHECK(!config_bundle_format_allowed(c, "plain"));
}

/* RAUC 1.8 docs/integration.rst, "EFI" (slots) and "Custom" ([handlers]
 * bootloader-custom-backend=), with the "..." of [system] filled in. */
TEST(integration_efi_and_custom) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;
        const char *slots = "[slot.efi.0]\ndevice=/dev/sdX1\ntype=vfat\nparent=rootfs.0\n\n"
                            "[slot.efi.1]\ndevice=/dev/sdX2\ntype=vfat\nparent=rootfs.1\n\n"
                            "[slot.rootfs.0]\ndevice=/dev/sdX3\ntype=ext4\nbootname=system0\n\n"
                            "[slot.rootfs.1]\ndevice=/dev/sdX4\ntype=ext4\nbootname=system1\n";
        _cleanup_free_ char *efi = strdup_printf("[system]\ncompatible=efi-board\nbootloader=efi\n\n"
                                                 "[keyring]\npath=ca.pem\n\n%s", slots);
        _cleanup_free_ char *custom = strdup_printf("[system]\ncompatible=custom-board\nbootloader=custom\n\n"
                                                    "[handlers]\nbootloader-custom-backend=custom-bootloader-script\n\n"
                                                    "[keyring]\npath=ca.pem\n\n%s", slots);

        c = expect_load(efi, 0);
        if (c) {
                CHECK_EQ(slot(c, "efi.1")->type, SLOT_TYPE_VFAT);
                CHECK_EQ(slot(c, "efi.1")->parent, config_find_slot(c, "rootfs.1"));
        }
        d = expect_load(custom, 0);
        if (d)
                CHECK_STREQ(d->custom_backend, in_tmp("custom-bootloader-script"));
        expect_error("[system]\ncompatible=x\nbootloader=custom\n[keyring]\npath=ca.pem\n"
                     "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                     3, "bootloader=custom needs [custom] path= or RAUC's [handlers] bootloader-custom-backend=", NULL,
                     RAUC_AGREES);
}

/* RAUC 1.8 test/system.conf ("example system configuration"). */
TEST(rauc_test_system_conf) {
        const char *text = "# example system configuration\n\n"
                           "[system]\ncompatible=FooCorp Super BarBazzer\nbootloader=barebox\nmountprefix=/mnt/myrauc/\n\n"
                           "[keyring]\npath=/etc/rauc/keyring/\n\n"
                           "[slot.rescue.0]\ndevice=/dev/rescue-0\ntype=raw\nbootname=factory0\nreadonly=true\n\n"
                           "[slot.rootfs.0]\ndevice=/dev/rootfs-0\ntype=ext4\nbootname=system0\n\n"
                           "[slot.rootfs.1]\ndevice=/dev/rootfs-1\ntype=ext4\nbootname=system1\n\n"
                           "[slot.appfs.0]\ndevice=/dev/appfs-0\ntype=ext4\nparent=rootfs.0\n\n"
                           "[slot.appfs.1]\ndevice=/dev/appfs-1\ntype=ext4\nparent=rootfs.1\n";
        _cleanup_(config_freep) Config *c = expect_load(text, 1);

        if (!c)
                return;
        CHECK(has_warning(c, 6, "mountprefix="));
        CHECK_EQ(c->n_slots, 5u);
        CHECK(slot(c, "rescue.0")->readonly);
        CHECK_EQ(slot(c, "rescue.0")->type, SLOT_TYPE_RAW);
        CHECK(!slot(c, "rootfs.0")->readonly);
        CHECK_STREQ(slot(c, "appfs.0")->parent_name, "rootfs.0");
        CHECK(slot(c, "appfs.0")->bootname == NULL);
}

/* RAUC 1.8 test/minimal-test.conf. */
#define MINIMAL_TEST_CONF                                                                              \
        "# testsuite system configuration\n\n"                                                         \
        "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\nvariant-name=Default Variant\n\n" \
        "[keyring]\npath=openssl-ca/dev-ca.pem\ncheck-crl=true\n\n"                                    \
        "[slot.rootfs.0]\ndevice=images/rootfs-0\ntype=raw\nbootname=system0\n\n"                      \
        "[slot.rootfs.1]\ndevice=images/rootfs-1\ntype=raw\nbootname=system1\n\n"                      \
        "[slot.appfs.0]\ndevice=images/appfs-0\ntype=raw\nparent=rootfs.0\n\n"                         \
        "[slot.appfs.1]\ndevice=images/appfs-1\ntype=raw\nparent=rootfs.1\n"

TEST(rauc_test_minimal) {
        _cleanup_(config_freep) Config *c = expect_load(MINIMAL_TEST_CONF, 0);

        if (!c)
                return;
        CHECK_STREQ(c->compatible, "Test Config");
        CHECK_STREQ(c->grubenv, in_tmp("grubenv.test"));
        CHECK_STREQ(c->variant, "Default Variant");
        CHECK(c->check_crl);
        CHECK_STREQ(c->keyring_path, in_tmp("openssl-ca/dev-ca.pem"));
        CHECK_STREQ(slot(c, "appfs.1")->device, in_tmp("images/appfs-1"));
        CHECK(config_bundle_format_allowed(c, "plain"));
}

/* RAUC 1.8 test/test.conf, test/test-global.conf, test/test-datadir.conf and
 * test/crypt-test.conf: each refused at the exact line that Update1 cannot honour. */
#define TEST_CONF_SLOTS                                                                         \
        "[slot.rescue.0]\ndevice=images/rescue-0\ntype=ext4\nbootname=factory0\nreadonly=true\n\n" \
        "[slot.rootfs.0]\ndevice=images/rootfs-0\ntype=ext4\nbootname=system0\n\n"              \
        "[slot.rootfs.1]\ndevice=images/rootfs-1\ntype=ext4\nbootname=system1\n\n"              \
        "[slot.appfs.0]\ndevice=images/appfs-0\ntype=ext4\nparent=rootfs.0\n\n"                 \
        "[slot.appfs.1]\ndevice=images/appfs-1\ntype=ext4\nparent=rootfs.1\n"
#define TEST_CONF_HANDLERS \
        "[handlers]\nsystem-info=bin/systeminfo.sh\npre-install=bin/preinstall.sh\npost-install=bin/postinstall.sh\n\n"
#define TEST_CONF_KEYRING "[keyring]\npath=openssl-ca/dev-ca.pem\ncheck-crl=true\n\n"

TEST(rauc_test_suite_refused) {
        const char *test_conf = "# testsuite system configuration\n\n"
                                "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\nvariant-name=Default Variant\n\n"
                                TEST_CONF_HANDLERS TEST_CONF_KEYRING TEST_CONF_SLOTS
                                "\n[slot.bootloader.0]\ndevice=images/bootloader-0\ntype=ext4\nallow-mounted=true\n";
        const char *no_handlers = "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\n\n"
                                  TEST_CONF_KEYRING TEST_CONF_SLOTS
                                  "\n[slot.bootloader.0]\ndevice=images/bootloader-0\ntype=ext4\nallow-mounted=true\n";
        const char *standalone = "[system]\ncompatible=Test Config\nbootloader=grub\n\n" TEST_CONF_KEYRING TEST_CONF_SLOTS
                                 "\n[slot.bootloader.0]\ndevice=images/bootloader-0\ntype=ext4\n";
        const char *crypt = "# testsuite system configuration\n\n"
                            "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\nvariant-name=Default Variant\n\n"
                            TEST_CONF_KEYRING
                            "[encryption]\nkey=openssl-enc/keys/rsa-4096/private-key-000.pem\ncert=openssl-enc/keys/rsa-4096/cert-000.pem\n\n"
                            "[slot.rootfs.0]\ndevice=images/rootfs-0\ntype=raw\nbootname=system0\n\n"
                            "[slot.rootfs.1]\ndevice=images/rootfs-1\ntype=raw\nbootname=system1\n";

        expect_error(test_conf, line_of(test_conf, "system-info="), "[handlers] system-info= (RAUC's) is not supported",
                     "remove the line", RAUC_ACCEPTS);
        expect_error(no_handlers, line_of(no_handlers, "allow-mounted=true"),
                     "[slot.bootloader.0] allow-mounted=true is not supported", "remove the line", RAUC_ACCEPTS);
        expect_error(standalone, line_of(standalone, "[slot.bootloader.0]"),
                     "[slot.bootloader.0] bootname= is required for a slot without parent=", "or remove the section",
                     RAUC_ACCEPTS);
        expect_error(crypt, line_of(crypt, "[encryption]"), "section [encryption] (RAUC's) is not supported",
                     "remove the section", RAUC_ACCEPTS);
}

TEST(rauc_test_global_and_datadir) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;
        const char *global = "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\nstatusfile=global.raucs\n\n"
                             TEST_CONF_KEYRING TEST_CONF_SLOTS;
        const char *datadir = "[system]\ncompatible=Test Config\nbootloader=grub\ngrubenv=grubenv.test\ndata-directory=rauc-data-dir\n\n"
                              TEST_CONF_KEYRING TEST_CONF_SLOTS;

        /* test-global.conf without its [handlers] */
        c = expect_load(global, 1);
        if (c) {
                CHECK(has_warning(c, 5, "[system] statusfile= has no effect"));
                CHECK_STREQ(c->statusfile, in_tmp("global.raucs"));
        }
        /* test-datadir.conf without its [handlers] */
        d = expect_load(datadir, 0);
        if (d)
                CHECK_STREQ(d->data_directory, in_tmp("rauc-data-dir"));
        /* RAUC's own refusal, the same here. */
        expect_error("[system]\ncompatible=x\nbootloader=grub\ndata-directory=/d\nstatusfile=per-slot\n" TEST_CONF_KEYRING
                     TEST_CONF_SLOTS,
                     5, "statusfile=per-slot cannot be combined with data-directory=", NULL, RAUC_AGREES);
}

/* RAUC 1.8 docs/advanced.rst, "Handling Board Variants With a Single Bundle": variant-dtb,
 * variant-file, variant-name. */
TEST(variants) {
        _cleanup_(config_freep) Config *a = NULL, *b = NULL, *c = NULL;
        _cleanup_free_ char *file = NULL, *dtb = NULL, *two = NULL, *bad = NULL;
#define VARIANT_BASE "[system]\ncompatible=x\nbootloader=uboot\n%s\n[keyring]\npath=ca.pem\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n"
        static const char dt[] = "vendor,board-rev3\0vendor,board\0";

        write_bytes(in_tmp("variant"), "  board-v2\n", 11);
        file = strdup_printf(VARIANT_BASE, "variant-file=variant");
        a = expect_load(file, 0);
        if (a)
                CHECK_STREQ(a->variant, "board-v2");

        write_bytes(in_tmp("compatible"), dt, sizeof(dt) - 1);
        config_rauc_set_dt_compatible_path(in_tmp("compatible"));
        dtb = strdup_printf(VARIANT_BASE, "variant-dtb=true");
        b = load_text(dtb, &b) >= 0 ? b : NULL; /* rauc would read this machine's device tree */
        CHECK(b && streq_ptr(b->variant, "vendor,board-rev3"));

        c = expect_load("[system]\ncompatible=x\nbootloader=uboot\nvariant-dtb=false\n[keyring]\npath=ca.pem\n"
                        "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n", 0);
        CHECK(c && c->variant == NULL);

        config_rauc_set_dt_compatible_path(in_tmp("no-device-tree"));
        expect_error(dtb, 4, "variant-dtb=true: cannot read the variant from", "remove the line", RAUC_ACCEPTS);
        config_rauc_set_dt_compatible_path(NULL);

        file = mfree(file);
        file = strdup_printf(VARIANT_BASE, "variant-file=missing");
        expect_error(file, 4, "variant-file=: cannot read the variant from", "remove the line", RAUC_ACCEPTS);
        write_bytes(in_tmp("variant-bad"), "board\x01v2\n", 9);
        bad = strdup_printf(VARIANT_BASE, "variant-file=variant-bad");
        expect_error(bad, 4, "variant-file=: the variant in", "is not printable ASCII", RAUC_ACCEPTS);
        two = strdup_printf(VARIANT_BASE, "variant-name=a\nvariant-file=variant");
        expect_error(two, 5, "only one of variant-name=, variant-file=, variant-dtb= may be set", NULL, RAUC_AGREES);
}

TEST(bundle_formats) {
        static const struct {
                const char *value;
                unsigned mask;  /* 0: invalid */
        } cases[] = {
                { "plain verity", 3 }, { "verity", 2 }, { "-plain", 6 }, { "+verity", 7 }, { "-plain -crypt", 2 },
                { "verity  crypt", 6 }, { "-plain +plain", 7 },
                { "plain -verity", 0 }, { "-plain -verity -crypt", 0 }, { "tar", 0 }, { "-", 0 }, { "Plain", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *text = strdup_printf(
                        "[system]\ncompatible=x\nbootloader=uboot\nbundle-formats=%s\n[keyring]\npath=ca.pem\n"
                        "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                        cases[i].value);
                unsigned mask = 99;

                CHECK_EQ(config_parse_bundle_formats(cases[i].value, &mask) >= 0, cases[i].mask != 0);
                if (cases[i].mask == 0) {
                        expect_error(text, 4, "invalid bundle-formats", NULL, RAUC_AGREES);
                        continue;
                }
                CHECK_EQ(mask, cases[i].mask);
                c = expect_load(text, 0);
                CHECK(c && c->bundle_formats == cases[i].mask);
        }
}

/* Values RAUC accepts and Update1 refuses, each at its line, saying what to change. */
TEST(refused_values) {
        static const struct {
                const char *system, *slot, *what;
        } cases[] = {
                { "bootloader=noop", "", "bootloader=noop (RAUC's) is not supported" },
                { "bootloader=uboot\nactivate-installed=false", "", "activate-installed=false is not supported" },
                { "bootloader=efi\nefi-use-bootnext=false", "", "efi-use-bootnext=false is not supported" },
                { "bootloader=uboot", "resize=true", "resize=true (RAUC's resize2fs after writing) is not supported" },
                { "bootloader=uboot", "type=nand", "slot type 'nand' (RAUC's) is not supported" },
                { "bootloader=uboot", "type=ubivol", "slot type 'ubivol' (RAUC's) is not supported" },
                { "bootloader=uboot", "type=boot-emmc", "slot type 'boot-emmc' (RAUC's) is not supported" },
                { "bootloader=uboot\nboot-attempts=12", "", "U-Boot counters must be 1 to 9" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = strdup_printf(
                        "[system]\ncompatible=x\n%s\n[keyring]\npath=ca.pem\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n%s\n",
                        cases[i].system, cases[i].slot);
                const char *bad = strstr(cases[i].slot, "=") ? cases[i].slot : strrchr(cases[i].system, '\n') ?
                                  strrchr(cases[i].system, '\n') + 1 : cases[i].system;

                expect_error(text, line_of(text, bad), cases[i].what, NULL, RAUC_ACCEPTS);
        }
}

/* RAUC's keys mapped onto Update1's own settings. */
TEST(mapped_keys) {
        _cleanup_(config_freep) Config *u = NULL, *b = NULL, *g = NULL;

        u = expect_load("[system]\ncompatible=x\nbootloader=uboot\nboot-attempts=5\nboot-attempts-primary=2\n"
                        "[keyring]\npath=ca.pem\ncheck-purpose=codesign\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                        0);
        CHECK(u && u->boot_attempts == 5 && u->trial_attempts == 2);
        CHECK(u && streq_ptr(u->check_purpose, "codesign"));
        b = expect_load("[system]\ncompatible=x\nbootloader=barebox\nboot-attempts=20\nbarebox-statename=state\n"
                        "[keyring]\npath=ca.pem\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                        0);
        CHECK(b && b->barebox_boot_attempts == 20 && b->barebox_trial_attempts == CONFIG_DEFAULT_TRIAL_ATTEMPTS);
        CHECK(b && streq_ptr(b->barebox_state_name, "state"));
        g = expect_load("[system]\ncompatible=x\nbootloader=grub\nboot-attempts=3\n"
                        "[keyring]\npath=ca.pem\ncheck-purpose=smimesign\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                        2);
        CHECK(has_warning(g, 4, "[system] boot-attempts= has no effect with bootloader=grub"));
        CHECK(has_warning(g, 7, "check-purpose=smimesign: signers are checked for that purpose"));
        expect_error("[system]\ncompatible=x\nbootloader=uboot\nboot-attempts=5\n[uboot]\nboot-attempts=4\n"
                     "[keyring]\npath=ca.pem\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                     4, "[system] boot-attempts= and [uboot] boot-attempts= say the same; keep one", NULL,
                     RAUC_AGREES /* RAUC knows no [uboot] */);
        expect_error("[system]\ncompatible=x\nbootloader=uboot\n[keyring]\npath=ca.pem\ncheck-purpose=email\n"
                     "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                     6, "unknown check-purpose 'email'", NULL, RAUC_ACCEPTS /* RAUC only fails when verifying */);
}

/* Where RAUC refuses a file, Update1 does too. */
TEST(rauc_refusals_agree) {
        static const char *const cases[][2] = {
                { "[system]\ncompatible=x\nbootloader=uboot\nmax-bundle-download-size=0\n", "max-bundle-download-size" },
                { "[system]\ncompatible=x\nbootloader=uboot\nno-such-key=1\n", "unknown key 'no-such-key'" },
                { "[system]\ncompatible=x\nbootloader=lilo\n", "unknown bootloader 'lilo'" },
                { "[system]\ncompatible=x\nbootloader=uboot\n[slot.appfs.0]\ndevice=/dev/c\nparent=rootfs.0\nbootname=C\n",
                  "must not have bootname=" },
                { "[system]\ncompatible=x\nbootloader=uboot\n[slot.rootfs.1]\ndevice=/dev/b\nbootname=A\n",
                  "bootname=A is already used" },
                { "[system]\ncompatible=x\nbootloader=uboot\n[slot.appfs.0]\ndevice=/dev/c\nparent=rootfs.7\n",
                  "parent=rootfs.7: no such slot" },
                { "[system]\ncompatible=x\nbootloader=uboot\n[slot.rootfs.1]\ndevice=/dev/b\ntype=btrfs\nbootname=B\n",
                  "unknown slot type 'btrfs'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = strdup_printf("%s[keyring]\npath=ca.pem\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                                                          cases[i][0]);
                _cleanup_(config_freep) Config *c = NULL;

                CHECK(load_text(text, &c) < 0);
                if (!strstr(log_text, cases[i][1])) {
                        printf("# expected '%s', got: %s", cases[i][1], log_text);
                        unit_case_failures++;
                }
                check_rauc(text, false, RAUC_AGREES);
        }
}

/* Every refused key of every table names itself and says what to do; every key accepted
 * without effect warns once, naming itself. */
static void check_table(const char *section, const ConfigKey *table) {
        for (const ConfigKey *k = table; k->name; k++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *text = NULL, *what = NULL, *line = NULL;
                bool slot_section = strneq(section, "slot.", 5);
                bool own = !slot_section && !streq(section, "system") && !streq(section, "keyring");
                unsigned n;

                if (!k->refused && !k->no_effect)
                        continue;
                line = strdup_printf("%s=1\n", k->name);
                if (own) /* a section of its own after the rest */
                        text = strdup_printf("[system]\ncompatible=x\nbootloader=uboot\n[keyring]\npath=ca.pem\n"
                                             "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n[%s]\n%s",
                                             section, line);
                else
                        text = strdup_printf("[system]\ncompatible=x\nbootloader=uboot\n%s[keyring]\npath=ca.pem\n%s"
                                             "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n%s",
                                             streq(section, "system") ? line : "", streq(section, "keyring") ? line : "",
                                             slot_section ? line : "");
                n = line_of(text, line);
                if (k->refused) {
                        what = strdup_printf("[%s] %s= (RAUC's) is not supported: ", section, k->name);
                        expect_error(text, n, what, "remove the line", RAUC_ACCEPTS);
                        continue;
                }
                c = expect_load(text, 1);
                what = strdup_printf("[%s] %s= has no effect: ", section, k->name);
                CHECK(has_warning(c, n, what));
        }
}

TEST(every_refused_or_unused_key) {
        have_rauc = false; /* RAUC >= 1.9 keys in these tables: 1.8 does not know them */
        check_table("system", config_rauc_system_keys);
        check_table("keyring", config_rauc_keyring_keys);
        check_table("handlers", config_rauc_handlers_keys);
        check_table("streaming", config_rauc_streaming_keys);
        check_table("slot.rootfs.0", config_slot_keys);
        have_rauc = access("/usr/bin/rauc", X_OK) == 0;
}

TEST(every_refused_section) {
        /* with a key of RAUC's for each */
        static const char *const sections[][2] = {
                { "casync", "storepath=/x" }, { "encryption", "key=/x" }, { "autoinstall", "path=/x" },
                { "polling", "url=https://x" }, { "log.install", "filename=/x" }, { "artifacts.add-ons", "path=/x" },
        };

        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                _cleanup_free_ char *text = strdup_printf(
                        "[system]\ncompatible=x\nbootloader=uboot\n[keyring]\npath=ca.pem\n[%s]\n%s\n"
                        "[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n",
                        sections[i][0], sections[i][1]);
                _cleanup_free_ char *what = strdup_printf("section [%s] (RAUC's) is not supported", sections[i][0]);

                /* [polling], [log.*], [artifacts.*] are newer than RAUC 1.8, which calls them unknown. */
                expect_error(text, 6, what, "remove the section", i < 3 ? RAUC_ACCEPTS : RAUC_AGREES);
        }
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-config-rauc")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-config-rauc.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(conf_path, sizeof(conf_path), "%s/system.conf", tmpdir);
        /* tests/lib/install-deps.sh installs it; without it the comparison is reported skipped. */
        have_rauc = access("/usr/bin/rauc", X_OK) == 0;
        if (!have_rauc)
                unit_skip("rauc-cli-agrees", "/usr/bin/rauc missing (apt-get install rauc)");

        RUN(reference_example);
        RUN(examples_full_system);
        RUN(integration_efi_and_custom);
        RUN(rauc_test_system_conf);
        RUN(rauc_test_minimal);
        RUN(rauc_test_suite_refused);
        RUN(rauc_test_global_and_datadir);
        RUN(variants);
        RUN(bundle_formats);
        RUN(refused_values);
        RUN(mapped_keys);
        RUN(rauc_refusals_agree);
        RUN(every_refused_or_unused_key);
        RUN(every_refused_section);
UNIT_MAIN_END
