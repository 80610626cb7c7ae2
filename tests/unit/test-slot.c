/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/slot.c: booted slot detection (cmdline, overrides, root= by path, by tag and by
 * block device), states of groups, target choice, device sizes.  The GPT/PARTLABEL and block
 * device cases need root and loop devices; without them they SKIP. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "slot.h"
#include "status.h"
#include "unit.h"
#include "util.h"

static char tmpdir[256];
static char cmdline_path[300];

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                exit(2);
        }
        fputs(text, f);
        fclose(f);
}

static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

/* Output of a shell command, trailing newline removed. */
static char *run_output(const char *cmd) {
        char buf[4096] = "";
        FILE *p = popen(cmd, "re");
        size_t n;

        if (!p)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, p);
        pclose(p);
        buf[n] = '\0';
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        return strdup(buf);
}

/* A/B rootfs with an appfs child each, file-backed; 'extra' appended to the file. */
static Config *make_config(const char *extra) {
        char path[PATH_MAX + 32], text[8192];
        Config *c = NULL;

        snprintf(path, sizeof(path), "%s/system.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=test\nbootloader=uboot\ndata-directory=%s/data\n[keyring]\npath=/k.pem\n"
                 "[slot.rootfs.0]\ndevice=%s/root-a.img\ntype=ext4\nbootname=A\n"
                 "[slot.appfs.0]\ndevice=%s/app-a.img\ntype=raw\nparent=rootfs.0\n"
                 "[slot.rootfs.1]\ndevice=%s/root-b.img\ntype=ext4\nbootname=B\n"
                 "[slot.appfs.1]\ndevice=%s/app-b.img\ntype=raw\nparent=rootfs.1\n%s",
                 tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, extra ?: "");
        write_file(path, text);
        if (config_load(path, &c) < 0) {
                printf("  cannot load the test config\n");
                exit(2);
        }
        return c;
}

/* Booted slot name for this command line (NULL = unknown), boot_source into *ret_source. */
static const char *booted_for(const Config *c, const char *cmdline, const char *override, SlotTable **ret_t) {
        SlotTable *t = NULL;

        if (cmdline)
                write_file(cmdline_path, cmdline);
        if (slot_table_new(c, cmdline_path, override, &t) < 0) {
                unit_case_failures++;
                return NULL;
        }
        *ret_t = t;
        return t->booted >= 0 ? t->slots[t->booted].cfg->name : NULL;
}

#define CHECK_BOOTED(c, cmdline, override, want, source_has)                                    \
        do {                                                                                    \
                _cleanup_(slot_table_freep) SlotTable *_t = NULL;                              \
                const char *_cl = (cmdline);                                                    \
                const char *_b = booted_for(c, _cl, override, &_t);                             \
                if ((want) == NULL ? _b != NULL : (!_b || strcmp(_b, (want) ?: "") != 0)) {    \
                        printf("  %s:%d: cmdline '%s': booted %s, want %s (%s)\n", __FILE__,    \
                               __LINE__, _cl ?: "(as before)", _b ?: "unknown",                 \
                               (want) ?: "unknown", _t ? _t->boot_source : "");                 \
                        unit_case_failures++;                                                   \
                }                                                                               \
                if (_t && !strstr(_t->boot_source ?: "", source_has)) {                        \
                        printf("  %s:%d: boot_source '%s' lacks '%s'\n", __FILE__, __LINE__,    \
                               _t->boot_source ?: "", source_has);                              \
                        unit_case_failures++;                                                   \
                }                                                                               \
        } while (0)

TEST(cmdline) {
        _cleanup_(config_freep) Config *c = make_config(NULL);

        CHECK_BOOTED(c, "console=ttyS0 update1.slot=B quiet\n", NULL, "rootfs.1", "update1.slot=B");
        CHECK_BOOTED(c, "rauc.slot=A", NULL, "rootfs.0", "rauc.slot=A");
        /* update1.slot= wins over rauc.slot= wherever it is */
        CHECK_BOOTED(c, "update1.slot=B rauc.slot=A", NULL, "rootfs.1", "update1.slot=B");
        /* the last occurrence wins */
        CHECK_BOOTED(c, "update1.slot=A ro update1.slot=B", NULL, "rootfs.1", "update1.slot=B");
        /* quotes: inside foo's value it is not a parameter; quoted values and whole params */
        CHECK_BOOTED(c, "foo=\"x update1.slot=B\" update1.slot=\"A\"", NULL, "rootfs.0", "update1.slot=A");
        CHECK_BOOTED(c, "\"update1.slot=B\" dyndbg=\"file a.c +p\"", NULL, "rootfs.1", "update1.slot=B");
        CHECK_BOOTED(c, "xupdate1.slot=B update1.slotx=B", NULL, NULL, "no update1.slot=");
        /* an explicit slot that names nothing is reported, not replaced by a guess */
        CHECK_BOOTED(c, "update1.slot=C root=/dev/sda1", NULL, NULL, "update1.slot=C on the kernel command line names no slot");
        CHECK_BOOTED(c, "console=ttyS0", NULL, NULL,
                     "no update1.slot=, rauc.slot=, bootchooser.active=, bootstate.active= or root=");
        CHECK_BOOTED(c, "", NULL, NULL, "no update1.slot=");
        /* children have no bootname: naming one is not a boot slot */
        CHECK_BOOTED(c, "update1.slot=appfs.0", NULL, NULL, "names no slot");
        /* a slot name of a bootable slot is accepted */
        CHECK_BOOTED(c, "update1.slot=rootfs.1", NULL, "rootfs.1", "update1.slot=rootfs.1");
}

/* barebox's bootchooser names the booted target; with bootstate.active= or the state node
 * form "bootstate.<target>" too. */
TEST(cmdline_barebox) {
        _cleanup_(config_freep) Config *c = NULL;
        char path[PATH_MAX + 32], text[4096];

        snprintf(path, sizeof(path), "%s/barebox.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=t\nbootloader=barebox\n[keyring]\npath=/k\n"
                 "[slot.rootfs.0]\ndevice=%s/bb-a\ntype=raw\nbootname=system0\n"
                 "[slot.rootfs.1]\ndevice=%s/bb-b\ntype=raw\nbootname=system1\n",
                 tmpdir, tmpdir);
        write_file(path, text);
        CHECK_EQ(config_load(path, &c), 0);
        if (!c)
                return;

        CHECK_BOOTED(c, "console=ttymxc0 bootchooser.active=system1 rootwait", NULL, "rootfs.1",
                     "bootchooser.active=system1");
        CHECK_BOOTED(c, "bootstate.active=system0", NULL, "rootfs.0", "bootstate.active=system0");
        CHECK_BOOTED(c, "bootchooser.active=bootstate.system1", NULL, "rootfs.1", "bootchooser.active=bootstate.system1");
        CHECK_BOOTED(c, "bootstate.active=bootstate.system0", NULL, "rootfs.0", "bootstate.active=");
        /* a slot name works as for the other keys */
        CHECK_BOOTED(c, "bootchooser.active=rootfs.1", NULL, "rootfs.1", "bootchooser.active=rootfs.1");
        /* the prefix is only dropped before something */
        CHECK_BOOTED(c, "bootchooser.active=bootstate.", NULL, NULL, "names no slot");
        /* unknown target: reported, not replaced by root= */
        snprintf(text, sizeof(text), "bootchooser.active=system7 root=%s/bb-a", tmpdir);
        CHECK_BOOTED(c, text, NULL, NULL, "bootchooser.active=system7 on the kernel command line names no slot");
        /* the generic keys come first */
        CHECK_BOOTED(c, "bootchooser.active=system1 rauc.slot=system0", NULL, "rootfs.0", "rauc.slot=system0");
        /* the "bootstate." prefix is barebox's, not update1.slot='s */
        CHECK_BOOTED(c, "update1.slot=bootstate.system1", NULL, NULL, "names no slot");
}

/* A stand-in backend: get_current answers what the test says. */
static const char *fake_current;
static int fake_current_r;
static unsigned fake_current_calls;

static int fake_get_current(void *data, char **ret_bootname, UError *err) {
        fake_current_calls++;
        if (fake_current_r < 0)
                return uerror_set(err, ERROR_FAILED, fake_current_r, "BootCurrent is not set");
        *ret_bootname = strdup(fake_current);
        return *ret_bootname ? 0 : -ENOMEM;
}

TEST(bootloader_current) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        BootloaderOps ops = { .name = "fake", .get_current = fake_get_current };
        Bootloader b = { .ops = &ops };
        char cmd[3 * PATH_MAX];

        /* Nothing on the command line: the bootloader's answer is the last source. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                write_file(cmdline_path, "console=ttyS0 quiet");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                if (!t)
                        return;
                CHECK_EQ(t->booted, -1);
                fake_current = "B", fake_current_r = 0;
                CHECK_EQ(slot_table_detect_from_bootloader(t, &b), 1);
                CHECK_EQ(t->booted, 2);
                CHECK_EQ(t->slots[2].state, SLOT_STATE_BOOTED);
                CHECK_EQ(t->slots[3].state, SLOT_STATE_ACTIVE);
                CHECK_EQ(t->slots[0].state, SLOT_STATE_INACTIVE);
                CHECK(strstr(t->boot_source, "bootname B reported by the fake bootloader") != NULL);
                /* Known now: not asked again. */
                fake_current_calls = 0;
                CHECK_EQ(slot_table_detect_from_bootloader(t, &b), 0);
                CHECK_EQ(fake_current_calls, 0);
        }
        /* root= that matches nothing is not final either. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                write_file(cmdline_path, "root=/dev/nfs");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                fake_current = "A", fake_current_r = 0;
                CHECK(t && slot_table_detect_from_bootloader(t, &b) == 1 && t->booted == 0);
        }
        /* Found on the command line: the bootloader is not asked. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                snprintf(cmd, sizeof(cmd), "root=%s/root-b.img", tmpdir);
                write_file(cmdline_path, cmd);
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                fake_current = "A", fake_current_calls = 0;
                CHECK(t && slot_table_detect_from_bootloader(t, &b) == 0 && t->booted == 2);
                CHECK_EQ(fake_current_calls, 0);
        }
        /* An explicit slot key that names nothing stays final. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                write_file(cmdline_path, "update1.slot=Q");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                fake_current = "A", fake_current_calls = 0;
                CHECK(t && slot_table_detect_from_bootloader(t, &b) == 0 && t->booted == -1);
                CHECK_EQ(fake_current_calls, 0);
                CHECK(t && strstr(t->boot_source, "update1.slot=Q") != NULL);
        }
        /* The bootloader fails or names an unknown entry: still unknown, and both reasons told. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                write_file(cmdline_path, "quiet");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                fake_current_r = -ENOENT;
                CHECK(t && slot_table_detect_from_bootloader(t, &b) == 0 && t->booted == -1);
                CHECK(t && strstr(t->boot_source, "no update1.slot=") && strstr(t->boot_source, "BootCurrent is not set"));
        }
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;

                write_file(cmdline_path, "quiet");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                fake_current = "Boot0007", fake_current_r = 0;
                CHECK(t && slot_table_detect_from_bootloader(t, &b) == 0 && t->booted == -1);
                CHECK(t && strstr(t->boot_source, "'Boot0007' is no configured bootname"));
        }
        /* A backend without get_current (U-Boot, GRUB): nothing changes. */
        {
                _cleanup_(slot_table_freep) SlotTable *t = NULL;
                BootloaderOps none = { .name = "fake" };
                Bootloader nb = { .ops = &none };

                write_file(cmdline_path, "quiet");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                CHECK(t && slot_table_detect_from_bootloader(t, &nb) == 0 && t->booted == -1);
        }
}

TEST(cmdline_unreadable) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        char missing[PATH_MAX + 32];

        snprintf(missing, sizeof(missing), "%s/no-such-cmdline", tmpdir);
        CHECK_EQ(slot_table_new(c, missing, NULL, &t), 0);
        if (!t)
                return;
        CHECK_EQ(t->booted, -1);
        CHECK(strstr(t->boot_source, "cannot read the kernel command line") != NULL);
        for (unsigned i = 0; i < t->n_slots; i++)
                CHECK_EQ(t->slots[i].state, SLOT_STATE_INACTIVE);
}

TEST(root_by_path) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        char cmd[3 * PATH_MAX];

        snprintf(cmd, sizeof(cmd), "root=%s/root-b.img ro", tmpdir);
        CHECK_BOOTED(c, cmd, NULL, "rootfs.1", "is the device of slot rootfs.1");
        /* another spelling of the same file (a symlink) */
        run("ln -sf root-a.img '%s/link-to-a' && : > '%s/root-a.img'", tmpdir, tmpdir);
        snprintf(cmd, sizeof(cmd), "root=%s/link-to-a", tmpdir);
        CHECK_BOOTED(c, cmd, NULL, "rootfs.0", "is the device of slot rootfs.0");
        /* root= of a child device means its group */
        snprintf(cmd, sizeof(cmd), "root=%s/app-b.img", tmpdir);
        CHECK_BOOTED(c, cmd, NULL, "rootfs.1", "is the device of slot rootfs.1");
        CHECK_BOOTED(c, "root=/dev/nfs", NULL, NULL, "root=/dev/nfs on the kernel command line matches no configured slot");
        /* update1.slot= beats root= */
        snprintf(cmd, sizeof(cmd), "root=%s/root-b.img update1.slot=A", tmpdir);
        CHECK_BOOTED(c, cmd, NULL, "rootfs.0", "update1.slot=A");
}

TEST(root_by_tag_spec) {
        /* Without a device to resolve it, root=PARTLABEL=x still matches device=PARTLABEL=x. */
        _cleanup_(config_freep) Config *c = make_config("[slot.rootfs.2]\ndevice=PARTLABEL=update1-test-nonexistent-c\n"
                                                        "type=raw\nbootname=C\n");

        CHECK_BOOTED(c, "root=PARTLABEL=update1-test-nonexistent-c", NULL, "rootfs.2", "device of slot rootfs.2");
        CHECK_BOOTED(c, "root=PARTLABEL=update1-test-nonexistent-d", NULL, NULL, "matches no configured slot");
}

TEST(overrides) {
        _cleanup_(config_freep) Config *c = make_config(NULL), *co = NULL;

        /* the option beats everything */
        CHECK_BOOTED(c, "update1.slot=B", "A", "rootfs.0", "boot slot override 'A' (option)");
        CHECK_BOOTED(c, "update1.slot=B", "rootfs.0", "rootfs.0", "override");
        CHECK_BOOTED(c, "update1.slot=B", "Q", NULL, "boot slot override 'Q' (option) names no slot");
        /* the config override beats the command line */
        {
                char path[PATH_MAX + 32], text[8192];

                snprintf(path, sizeof(path), "%s/override.conf", tmpdir);
                snprintf(text, sizeof(text),
                         "[system]\ncompatible=t\nbootloader=uboot\nboot-slot-override=B\n[keyring]\npath=/k\n"
                         "[slot.rootfs.0]\ndevice=/x/a\ntype=raw\nbootname=A\n"
                         "[slot.rootfs.1]\ndevice=/x/b\ntype=raw\nbootname=B\n");
                write_file(path, text);
                CHECK_EQ(config_load(path, &co), 0);
        }
        if (!co)
                return;
        CHECK_BOOTED(co, "update1.slot=A", NULL, "rootfs.1", "boot-slot-override=B in");
        CHECK_BOOTED(co, "update1.slot=A", "A", "rootfs.0", "(option)");
}

TEST(states) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        _cleanup_(slot_table_freep) SlotTable *t = NULL;

        write_file(cmdline_path, "update1.slot=B");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        if (!t)
                return;
        CHECK_EQ(t->n_slots, 4);
        CHECK_EQ(t->booted, 2);
        CHECK_EQ(t->slots[0].state, SLOT_STATE_INACTIVE); /* rootfs.0 */
        CHECK_EQ(t->slots[1].state, SLOT_STATE_INACTIVE); /* appfs.0 */
        CHECK_EQ(t->slots[2].state, SLOT_STATE_BOOTED);   /* rootfs.1 */
        CHECK_EQ(t->slots[3].state, SLOT_STATE_ACTIVE);   /* appfs.1, child of the booted slot */
        CHECK_EQ(slot_table_group_root(t, 3), 2);
        CHECK_EQ(slot_table_group_root(t, 1), 0);
        CHECK_EQ(slot_table_group_root(t, 0), 0);
        CHECK(slot_table_group_root(t, 9) < 0);
        /* file paths are used as written, even before the file exists */
        CHECK(t->slots[1].device_path && strstr(t->slots[1].device_path, "/app-a.img"));
}

TEST(resolve_device) {
        char *p = NULL;

        CHECK_EQ(slot_resolve_device("/dev/does-not-exist-yet", &p), 0);
        CHECK_STREQ(p, "/dev/does-not-exist-yet");
        free(p);
        CHECK_EQ(slot_resolve_device("PARTLABEL=update1-no-such-label", &p), -ENOENT);
        CHECK_EQ(slot_resolve_device("UUID=00000000-dead-beef-0000-000000000000", &p), -ENOENT);
        CHECK_EQ(slot_resolve_device("LABEL=", &p), -EINVAL);
        CHECK_EQ(slot_resolve_device("", &p), -EINVAL);
}

static StatusFile *make_status(const Config *c) {
        StatusFile *s = NULL;

        /* data-directory does not exist: all records unknown */
        if (status_load(c, &s, NULL) < 0)
                exit(2);
        return s;
}

static void set_record(StatusFile *s, const char *name, SlotStatus st, uint64_t installed) {
        SlotRecord *r = status_find(s, name);
        r->status = st;
        r->installed_timestamp = installed;
        r->installed_count = installed ? 1 : 0;
}

/* Picks for 'classes' with A booted; returns 0 and fills names, or the error. */
static int pick(const SlotTable *t, const StatusFile *st, const char *const *classes, size_t n, const char **names,
                UError *err) {
        int targets[8];
        int r = slot_table_pick_targets(t, st, classes, n, targets, err);

        if (r >= 0)
                for (size_t i = 0; i < n; i++)
                        names[i] = t->slots[targets[i]].cfg->name;
        return r;
}

TEST(pick_targets) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        _cleanup_(status_freep) StatusFile *st = NULL;
        static const char *const both[] = { "rootfs", "appfs" };
        static const char *const app_only[] = { "appfs" };
        static const char *const missing[] = { "rootfs", "bootloader" };
        static const char *const twice[] = { "rootfs", "rootfs" };
        const char *names[8] = {};
        UError err = UERROR_NULL;

        write_file(cmdline_path, "update1.slot=A");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        st = make_status(c);
        if (!t || !st)
                return;

        /* children follow their parent: the whole inactive group */
        CHECK_EQ(pick(t, st, both, 2, names, &err), 0);
        CHECK_STREQ(names[0], "rootfs.1");
        CHECK_STREQ(names[1], "appfs.1");
        CHECK_EQ(pick(t, st, app_only, 1, names, &err), 0);
        CHECK_STREQ(names[0], "appfs.1");
        /* works without a status file too */
        CHECK_EQ(pick(t, NULL, both, 2, names, &err), 0);
        CHECK_STREQ(names[0], "rootfs.1");

        err = UERROR_NULL;
        CHECK(pick(t, st, missing, 2, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_NO_TARGET_SLOT);
        CHECK(strstr(err.message, "no slot of class 'bootloader' is configured") != NULL);

        err = UERROR_NULL;
        CHECK(pick(t, st, twice, 2, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_BUNDLE);

        err = UERROR_NULL;
        CHECK(pick(t, st, both, 0, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_NO_TARGET_SLOT);
}

TEST(pick_unknown_booted) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        static const char *const classes[] = { "rootfs" };
        const char *names[1] = {};
        UError err = UERROR_NULL;

        write_file(cmdline_path, "root=/dev/nfs");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        if (!t)
                return;
        CHECK(pick(t, NULL, classes, 1, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_NO_TARGET_SLOT);
        CHECK(strstr(err.message, "booted slot is unknown") && strstr(err.message, "root=/dev/nfs"));
}

TEST(pick_preferences) {
        /* Three groups: A (booted), B, C. */
        _cleanup_(config_freep) Config *c = make_config("[slot.rootfs.2]\ndevice=/x/root-c\ntype=ext4\nbootname=C\n"
                                                        "[slot.appfs.2]\ndevice=/x/app-c\ntype=raw\nparent=rootfs.2\n");
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        static const char *const classes[] = { "rootfs", "appfs" };
        const char *names[2] = {};
        UError err = UERROR_NULL;

        write_file(cmdline_path, "update1.slot=A");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        if (!t)
                return;

        {       /* both installed: the oldest install */
                _cleanup_(status_freep) StatusFile *st = make_status(c);
                set_record(st, "rootfs.1", SLOT_STATUS_OK, 200);
                set_record(st, "appfs.1", SLOT_STATUS_OK, 200);
                set_record(st, "rootfs.2", SLOT_STATUS_OK, 100);
                set_record(st, "appfs.2", SLOT_STATUS_OK, 100);
                CHECK_EQ(pick(t, st, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.2");
                CHECK_STREQ(names[1], "appfs.2");
                /* never installed beats installed */
                set_record(st, "rootfs.1", SLOT_STATUS_UNKNOWN, 0);
                CHECK_EQ(pick(t, st, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.1");
                /* failed beats never installed (a failed child makes the group failed) */
                set_record(st, "appfs.2", SLOT_STATUS_FAILED, 100);
                CHECK_EQ(pick(t, st, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.2");
                /* an interrupted install (pending) counts as failed */
                set_record(st, "appfs.2", SLOT_STATUS_OK, 100);
                set_record(st, "rootfs.1", SLOT_STATUS_PENDING, 300);
                CHECK_EQ(pick(t, st, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.1");
        }
        {       /* nothing known at all: the first inactive group in config order */
                _cleanup_(status_freep) StatusFile *st = make_status(c);
                CHECK_EQ(pick(t, st, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.1");
        }
}

TEST(pick_readonly_and_no_group) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(slot_table_freep) SlotTable *t = NULL, *tb = NULL;
        static const char *const classes[] = { "rootfs", "appfs" };
        static const char *const data[] = { "data" };
        const char *names[2] = {};
        UError err = UERROR_NULL;

        /* appfs.1 is read-only: group B cannot take an appfs image */
        {
                char path[PATH_MAX + 32];

                snprintf(path, sizeof(path), "%s/ro.conf", tmpdir);
                write_file(path, "[system]\ncompatible=t\nbootloader=uboot\n[keyring]\npath=/k\n"
                                 "[slot.rootfs.0]\ndevice=/x/a\ntype=raw\nbootname=A\n"
                                 "[slot.appfs.0]\ndevice=/x/aa\ntype=raw\nparent=rootfs.0\n"
                                 "[slot.rootfs.1]\ndevice=/x/b\ntype=raw\nbootname=B\n"
                                 "[slot.appfs.1]\ndevice=/x/ba\ntype=raw\nparent=rootfs.1\nreadonly=true\n"
                                 "[slot.data.0]\ndevice=/x/d\ntype=raw\nparent=rootfs.0\n");
                CHECK_EQ(config_load(path, &c), 0);
        }
        if (!c)
                return;
        write_file(cmdline_path, "update1.slot=A");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        if (!t)
                return;
        CHECK(pick(t, NULL, classes, 2, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_NO_TARGET_SLOT);
        CHECK(strstr(err.message, "writable") != NULL);
        /* rootfs alone is fine */
        CHECK_EQ(pick(t, NULL, classes, 1, names, &err), 0);
        CHECK_STREQ(names[0], "rootfs.1");
        /* the only data slot belongs to the booted group */
        err = UERROR_NULL;
        CHECK(pick(t, NULL, data, 1, names, &err) < 0);
        CHECK_EQ(err.kind, ERROR_NO_TARGET_SLOT);
        CHECK(strstr(err.message, "booted one (rootfs.0)") && strstr(err.message, "'data'"));

        /* booted B: group A is the target */
        write_file(cmdline_path, "update1.slot=B");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &tb), 0);
        if (tb) {
                CHECK_EQ(pick(tb, NULL, classes, 2, names, &err), 0);
                CHECK_STREQ(names[0], "rootfs.0");
                CHECK_STREQ(names[1], "appfs.0");
        }
}

TEST(device_size) {
        _cleanup_(config_freep) Config *c = make_config(NULL);
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        uint64_t size = 0;

        write_file(cmdline_path, "update1.slot=A");
        CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
        if (!t)
                return;
        /* sparse, above 4 GiB: 64-bit all the way */
        run("rm -f '%s/root-b.img' && truncate -s 5G '%s/root-b.img'", tmpdir, tmpdir);
        CHECK_EQ(slot_device_size(&t->slots[2], &size), 0);
        CHECK(size == UINT64_C(5) << 30);
        run("rm -f '%s/app-b.img'", tmpdir);
        CHECK_EQ(slot_device_size(&t->slots[3], &size), -ENOENT);
        run("rm -f '%s/root-b.img'", tmpdir);
}

/* Root only: a GPT image on a loop device, partitions named, resolved through libblkid. */
TEST(gpt_loop) {
        _cleanup_free_ char *loop = NULL, *uuid = NULL, *p2 = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        char label_a[64], label_b[64], text[4096], path[512], node[512], cmd[1024];
        struct stat st;
        uint64_t size = 0;
        char *resolved = NULL;

        snprintf(label_a, sizeof(label_a), "u1test-a-%d", (int) getpid());
        snprintf(label_b, sizeof(label_b), "u1test-b-%d", (int) getpid());
        if (run("truncate -s 20M '%s/gpt.img' && printf 'label: gpt\\nstart=1MiB,size=8MiB,name=%s\\nsize=8MiB,name=%s\\n' "
                "| sfdisk -q '%s/gpt.img'",
                tmpdir, label_a, label_b, tmpdir) != 0) {
                printf("  sfdisk failed\n");
                unit_case_failures++;
                return;
        }
        snprintf(cmd, sizeof(cmd), "losetup --find --show --partscan '%s/gpt.img'", tmpdir);
        loop = run_output(cmd);
        if (isempty(loop)) {
                printf("  losetup failed\n");
                unit_case_failures++;
                return;
        }
        /* Kernels without GPT support do not scan partitions: add them by hand. */
        p2 = strdup_printf("%sp2", loop);
        if (access(p2, F_OK) < 0)
                run("partx -a '%s' 2>/dev/null", loop);
        if (access(p2, F_OK) < 0) {
                printf("  no partition devices for %s\n", loop);
                unit_case_failures++;
                goto out;
        }

        snprintf(path, sizeof(path), "PARTLABEL=%s", label_b);
        CHECK_EQ(slot_resolve_device(path, &resolved), 0);
        CHECK_STREQ(resolved, p2);
        free(resolved);
        resolved = NULL;
        snprintf(cmd, sizeof(cmd), "blkid -p -s PART_ENTRY_UUID -o value '%s'", p2);
        uuid = run_output(cmd);
        if (!isempty(uuid)) {
                snprintf(path, sizeof(path), "PARTUUID=%s", uuid);
                CHECK_EQ(slot_resolve_device(path, &resolved), 0);
                CHECK_STREQ(resolved, p2);
                free(resolved);
        }

        snprintf(path, sizeof(path), "%s/gpt.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=t\nbootloader=uboot\n[keyring]\npath=/k\n"
                 "[slot.rootfs.0]\ndevice=PARTLABEL=%s\ntype=raw\nbootname=A\n"
                 "[slot.rootfs.1]\ndevice=PARTLABEL=%s\ntype=raw\nbootname=B\n",
                 label_a, label_b);
        write_file(path, text);
        CHECK_EQ(config_load(path, &c), 0);
        if (!c)
                goto out;

        /* root= by resolved path, by another tag of the same partition, and by another node
         * of the same block device (st_rdev) */
        snprintf(text, sizeof(text), "root=%s rootwait", p2);
        CHECK_BOOTED(c, text, NULL, "rootfs.1", "device of slot rootfs.1");
        if (!isempty(uuid)) {
                snprintf(text, sizeof(text), "root=PARTUUID=%s", uuid);
                CHECK_BOOTED(c, text, NULL, "rootfs.1", "device of slot rootfs.1");
        }
        snprintf(text, sizeof(text), "root=PARTLABEL=%s", label_a);
        CHECK_BOOTED(c, text, NULL, "rootfs.0", "device of slot rootfs.0");
        snprintf(node, sizeof(node), "%s/rootdev", tmpdir);
        if (stat(p2, &st) == 0 && mknod(node, S_IFBLK | 0600, st.st_rdev) == 0) {
                snprintf(text, sizeof(text), "root=%s", node);
                CHECK_BOOTED(c, text, NULL, "rootfs.1", "device of slot rootfs.1");
                unlink(node);
        }

        {       /* BLKGETSIZE64 */
                _cleanup_(slot_table_freep) SlotTable *t = NULL;
                write_file(cmdline_path, "update1.slot=A");
                CHECK_EQ(slot_table_new(c, cmdline_path, NULL, &t), 0);
                if (t) {
                        CHECK_STREQ(t->slots[1].device_path, p2);
                        CHECK_EQ(slot_device_size(&t->slots[1], &size), 0);
                        CHECK(size == UINT64_C(8) << 20);
                }
        }
out:
        run("partx -d '%s' 2>/dev/null; losetup -d '%s'", loop, loop);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-slot")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-slot.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(cmdline_path, sizeof(cmdline_path), "%s/cmdline", tmpdir);

        RUN(cmdline);
        RUN(cmdline_barebox);
        RUN(bootloader_current);
        RUN(cmdline_unreadable);
        RUN(root_by_path);
        RUN(root_by_tag_spec);
        RUN(overrides);
        RUN(states);
        RUN(resolve_device);
        RUN(pick_targets);
        RUN(pick_unknown_booted);
        RUN(pick_preferences);
        RUN(pick_readonly_and_no_group);
        RUN(device_size);
        if (geteuid() == 0 && access("/dev/loop-control", W_OK) == 0)
                RUN(gpt_loop);
        else
                unit_skip("gpt_loop", "needs root and loop devices");
UNIT_MAIN_END
