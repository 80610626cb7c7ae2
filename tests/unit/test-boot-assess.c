/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/boot-assess.c: the decision table, and what a start of the daemon records (status
 * file, bootloader calls) on a trial boot, a fallback, a pending trial and without a trial.
 * The bootloader is a stand-in ops table that keeps its state in memory. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot-assess.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "status.h"
#include "unit.h"
#include "util.h"

static char tmpdir[PATH_MAX];

#define BOOT_ID_1 "11111111111111111111111111111111"
#define BOOT_ID_2 "22222222222222222222222222222222"

TEST(decide) {
        /* no trial */
        CHECK_EQ(boot_assess_decide(NULL, "A", "A", 1), BOOT_ASSESS_NONE);
        CHECK_EQ(boot_assess_decide(NULL, NULL, NULL, -1), BOOT_ASSESS_NONE);
        /* the trial slot is booted */
        CHECK_EQ(boot_assess_decide("B", "B", "B", 0), BOOT_ASSESS_TRIAL);
        CHECK_EQ(boot_assess_decide("B", "B", "A", 1), BOOT_ASSESS_TRIAL);
        CHECK_EQ(boot_assess_decide("B", "B", NULL, -1), BOOT_ASSESS_TRIAL);
        /* booted unknown: never guess */
        CHECK_EQ(boot_assess_decide("B", NULL, "A", 1), BOOT_ASSESS_UNKNOWN);
        /* another slot booted after a reboot: fallback, whatever the bootloader picks next
         * (GRUB's fallback pick still names the trial slot) */
        CHECK_EQ(boot_assess_decide("B", "A", "A", 1), BOOT_ASSESS_FALLBACK);
        CHECK_EQ(boot_assess_decide("B", "A", "B", 1), BOOT_ASSESS_FALLBACK);
        CHECK_EQ(boot_assess_decide("B", "A", NULL, 1), BOOT_ASSESS_FALLBACK);
        /* the boot that armed it: nothing was booted since (even if A was made primary) */
        CHECK_EQ(boot_assess_decide("B", "A", "B", 0), BOOT_ASSESS_PENDING);
        CHECK_EQ(boot_assess_decide("B", "A", "A", 0), BOOT_ASSESS_PENDING);
        CHECK_EQ(boot_assess_decide("B", "A", NULL, 0), BOOT_ASSESS_PENDING);
        /* no boot ids: the bootloader's next pick decides */
        CHECK_EQ(boot_assess_decide("B", "A", "A", -1), BOOT_ASSESS_FALLBACK);
        CHECK_EQ(boot_assess_decide("B", "A", "B", -1), BOOT_ASSESS_PENDING);
        CHECK_EQ(boot_assess_decide("B", "A", NULL, -1), BOOT_ASSESS_UNKNOWN);
}

/* --- a fake bootloader ------------------------------------------------------------------ */

typedef struct FakeBoot {
        char trial[16];       /* "" = none */
        char primary[16];
        BootStatus state[2];  /* A, B */
        unsigned set_state_calls;
        bool fail_get_trial;
} FakeBoot;

static FakeBoot fake;

static int idx(const char *bootname) {
        return streq(bootname, "A") ? 0 : 1;
}

static int fake_get_primary(void *data, char **ret, UError *err) {
        *ret = strdup(fake.primary);
        return *ret ? 0 : -ENOMEM;
}

static int fake_get_trial(void *data, char **ret, UError *err) {
        if (fake.fail_get_trial)
                return uerror_set(err, ERROR_FAILED, -EIO, "env unreadable");
        *ret = fake.trial[0] ? strdup(fake.trial) : NULL;
        return 0;
}

static int fake_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        *ret = streq(fake.trial, bootname) ? BOOT_STATUS_TRIAL : fake.state[idx(bootname)];
        return 0;
}

static int fake_set_state(void *data, const char *bootname, BootStatus st, UError *err) {
        fake.set_state_calls++;
        fake.state[idx(bootname)] = st;
        if (streq(fake.trial, bootname))
                fake.trial[0] = '\0';
        if (st == BOOT_STATUS_BAD && streq(fake.primary, bootname))
                snprintf(fake.primary, sizeof(fake.primary), "%s", streq(bootname, "A") ? "B" : "A");
        return 0;
}

static const BootloaderOps fake_ops = {
        .name = "fake",
        .get_primary = fake_get_primary,
        .get_state = fake_get_state,
        .set_state = fake_set_state,
        .get_trial = fake_get_trial,
};

static const BootloaderOps fake_ops_no_trial = {
        .name = "fake",
        .get_primary = fake_get_primary,
        .get_state = fake_get_state,
        .set_state = fake_set_state,
};

/* --- a manager with just what boot_assess() uses ----------------------------------------- */

typedef struct TestDevice {
        Manager m;
        Bootloader bl;
} TestDevice;

static void device_free(TestDevice *d) {
        if (!d)
                return;
        slot_table_free(d->m.slots);
        status_free(d->m.status);
        config_free(d->m.config);
        pthread_mutex_destroy(&d->m.lock);
        free(d);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f) {
                perror(path);
                exit(2);
        }
        fputs(text, f);
        fclose(f);
}

/* Booted in 'booted' (bootname) during boot 'boot_id'; the status file as left on disk. */
static TestDevice *device_start(const char *booted, const char *boot_id, const BootloaderOps *ops) {
        TestDevice *d = calloc(1, sizeof(*d));
        char path[PATH_MAX + 32], text[5 * PATH_MAX + 512];

        if (!d)
                exit(2);
        pthread_mutex_init(&d->m.lock, NULL);
        snprintf(path, sizeof(path), "%s/system.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=t\nbootloader=uboot\ndata-directory=%s/data\n[keyring]\npath=/k\n"
                 "[slot.rootfs.0]\ndevice=%s/a\ntype=raw\nbootname=A\n"
                 "[slot.rootfs.1]\ndevice=%s/b\ntype=raw\nbootname=B\n"
                 "[slot.appfs.1]\ndevice=%s/c\ntype=raw\nparent=rootfs.1\n",
                 tmpdir, tmpdir, tmpdir, tmpdir);
        write_file(path, text);
        if (config_load(path, &d->m.config) < 0 || status_load(d->m.config, &d->m.status, NULL) < 0 ||
            slot_table_new(d->m.config, "/dev/null", booted, &d->m.slots) < 0) {
                printf("  cannot set up the test device\n");
                exit(2);
        }
        d->bl.ops = ops;
        d->m.bootloader = &d->bl;
        snprintf(d->m.boot_id, sizeof(d->m.boot_id), "%s", boot_id ?: "");
        return d;
}

static void reset_device(void) {
        char cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s/data'", tmpdir);
        (void) system(cmd);
        fake = (FakeBoot) { .state = { BOOT_STATUS_GOOD, BOOT_STATUS_GOOD } };
}

/* What an install in boot BOOT_ID_1, booted in A, leaves: B ok, trial armed. */
static void install_b(void) {
        TestDevice *d = device_start("A", BOOT_ID_1, &fake_ops);

        status_find(d->m.status, "rootfs.1")->status = SLOT_STATUS_OK;
        status_find(d->m.status, "appfs.1")->status = SLOT_STATUS_OK;
        CHECK_EQ(status_set_trial(d->m.status, "rootfs.1", BOOT_ID_1, 100), 0);
        CHECK_EQ(status_save(d->m.config, d->m.status), 0);
        device_free(d);
        snprintf(fake.trial, sizeof(fake.trial), "B");
        snprintf(fake.primary, sizeof(fake.primary), "B");
}

TEST(trial_boot_then_restart) {
        TestDevice *d;
        uint64_t ts;

        reset_device();
        install_b();

        /* Rebooted into B: a trial boot. */
        d = device_start("B", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_TRIAL);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK_STREQ(d->m.status->last_boot.booted, "rootfs.1");
        CHECK(!d->m.status->last_boot.fell_back);
        ts = d->m.status->last_boot.timestamp;
        CHECK(ts > 0);
        CHECK_EQ(fake.set_state_calls, 0);
        device_free(d);

        /* A restart of the daemon within that boot: the same record, from the file. */
        d = device_start("B", BOOT_ID_2, &fake_ops);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK(d->m.status->last_boot.timestamp == ts);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_TRIAL);
        CHECK(d->m.status->last_boot.timestamp == ts);
        device_free(d);

        /* Committed (MarkGood): no trial any more; the record stays. */
        fake.trial[0] = '\0';
        d = device_start("B", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_NONE);
        CHECK_STREQ(d->m.status->last_boot.booted, "rootfs.1");
        CHECK(!d->m.status->last_boot.fell_back);
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_OK);
        device_free(d);
}

TEST(fallback) {
        TestDevice *d;

        reset_device();
        install_b();

        /* Rebooted, B's attempt used up, U-Boot booted A: primary A. */
        snprintf(fake.primary, sizeof(fake.primary), "A");
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK_STREQ(d->m.status->last_boot.booted, "rootfs.0");
        CHECK(d->m.status->last_boot.fell_back);
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        CHECK_EQ(status_find(d->m.status, "appfs.1")->status, SLOT_STATUS_FAILED); /* the whole group */
        CHECK_EQ(status_find(d->m.status, "rootfs.0")->status, SLOT_STATUS_UNKNOWN);
        CHECK(d->m.status->trial.slot == NULL);
        /* the bootloader: B bad, trial cleared */
        CHECK_EQ(fake.set_state_calls, 1);
        CHECK_EQ(fake.state[1], BOOT_STATUS_BAD);
        CHECK(fake.trial[0] == '\0');
        device_free(d);

        /* Persisted; the next start (no trial) keeps it and changes nothing. */
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK(d->m.status->last_boot.fell_back);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_NONE);
        CHECK_EQ(fake.set_state_calls, 1);
        device_free(d);
}

/* A power cut after the status file was written but before the bootloader was: the next
 * start sees the trial again and does the same (idempotent). */
TEST(fallback_repeated) {
        TestDevice *d;

        reset_device();
        install_b();
        snprintf(fake.primary, sizeof(fake.primary), "A");
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        device_free(d);
        /* "undo" the bootloader update only */
        snprintf(fake.trial, sizeof(fake.trial), "B");
        fake.state[1] = BOOT_STATUS_GOOD;
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        CHECK(d->m.status->last_boot.fell_back);
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        CHECK_EQ(fake.state[1], BOOT_STATUS_BAD);
        device_free(d);
}

/* GRUB-like: the bootloader still names B as primary after the fallback; the boot id says we
 * rebooted.  Without a reboot (daemon restart after the install) nothing happens. */
TEST(pending_and_reboot) {
        TestDevice *d;

        reset_device();
        install_b();

        d = device_start("A", BOOT_ID_1, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_PENDING);
        CHECK(d->m.status->last_boot.expected == NULL);
        device_free(d);

        /* Same boot, A made primary again by hand (Mark active): no boot happened, no fallback. */
        snprintf(fake.primary, sizeof(fake.primary), "A");
        d = device_start("A", BOOT_ID_1, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_PENDING);
        CHECK(d->m.status->last_boot.expected == NULL);
        snprintf(fake.primary, sizeof(fake.primary), "B");
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_OK);
        CHECK_EQ(fake.set_state_calls, 0);
        device_free(d);

        /* Boot id unknown (e.g. unreadable): never a fallback on doubt while the bootloader
         * still boots B next. */
        d = device_start("A", "", &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_PENDING);
        CHECK_EQ(fake.set_state_calls, 0);
        device_free(d);

        /* GRUB-like after a reboot: B still named next, but another boot: fallback. */
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        CHECK(d->m.status->last_boot.fell_back);
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        device_free(d);
}

/* The status file lost the trial record (rebuilt): the bootloader's next pick decides. */
TEST(no_trial_record) {
        TestDevice *d;
        char path[PATH_MAX + 32];

        reset_device();
        install_b();
        snprintf(path, sizeof(path), "%s/data/status.json", tmpdir);
        CHECK_EQ(unlink(path), 0);

        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_PENDING);
        device_free(d);

        snprintf(fake.primary, sizeof(fake.primary), "A");
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        device_free(d);
}

/* Marked bad during its trial boot (the bootloader's trial note is gone): the next start in
 * the other slot reports the fallback; a restart in the same boot does not; booting the
 * rejected slot again drops the record. */
static void reject_b(const char *boot_id) {
        TestDevice *d = device_start("B", boot_id, &fake_ops);

        status_find(d->m.status, "rootfs.1")->status = SLOT_STATUS_FAILED;
        CHECK_EQ(status_set_trial(d->m.status, "rootfs.1", boot_id, 200), 0);
        d->m.status->trial.rejected = true;
        CHECK_EQ(status_save(d->m.config, d->m.status), 0);
        device_free(d);
        fake.trial[0] = '\0';
        fake.state[1] = BOOT_STATUS_BAD;
        snprintf(fake.primary, sizeof(fake.primary), "A");
}

TEST(rejected_trial) {
        TestDevice *d;

        reset_device();
        install_b();
        reject_b(BOOT_ID_2);

        /* restart within the boot of the mark */
        d = device_start("B", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_PENDING);
        CHECK(d->m.status->trial.rejected);
        device_free(d);

        /* the reboot into A */
        d = device_start("A", "33333333333333333333333333333333", &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_FALLBACK);
        CHECK_STREQ(d->m.status->last_boot.expected, "rootfs.1");
        CHECK_STREQ(d->m.status->last_boot.booted, "rootfs.0");
        CHECK(d->m.status->last_boot.fell_back);
        CHECK_EQ(status_find(d->m.status, "rootfs.1")->status, SLOT_STATUS_FAILED);
        CHECK_EQ(status_find(d->m.status, "appfs.1")->status, SLOT_STATUS_FAILED);
        CHECK(d->m.status->trial.slot == NULL);
        CHECK_EQ(fake.set_state_calls, 0); /* already bad */
        device_free(d);

        /* reported once */
        d = device_start("A", "33333333333333333333333333333333", &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_NONE);
        CHECK(d->m.status->last_boot.fell_back);
        device_free(d);

        /* booted into the rejected slot again in a later boot (re-activated by hand) */
        reset_device();
        install_b();
        reject_b(BOOT_ID_2);
        d = device_start("B", "33333333333333333333333333333333", &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_NONE);
        CHECK(d->m.status->trial.slot == NULL);
        CHECK(d->m.status->last_boot.expected == NULL);
        device_free(d);
}

TEST(no_trial_support_or_unreadable) {
        TestDevice *d;

        reset_device();
        install_b();
        /* custom backend: no get_trial; nothing is touched */
        d = device_start("A", BOOT_ID_2, &fake_ops_no_trial);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_NONE);
        CHECK(d->m.status->last_boot.expected == NULL);
        device_free(d);
        /* get_trial fails */
        fake.fail_get_trial = true;
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_UNKNOWN);
        CHECK_EQ(fake.set_state_calls, 0);
        device_free(d);
        fake.fail_get_trial = false;
        /* booted slot unknown */
        d = device_start(NULL, BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_UNKNOWN);
        CHECK_EQ(fake.set_state_calls, 0);
        device_free(d);
        /* a trial bootname no slot has */
        snprintf(fake.trial, sizeof(fake.trial), "Z");
        d = device_start("A", BOOT_ID_2, &fake_ops);
        CHECK_EQ(boot_assess(&d->m), BOOT_ASSESS_UNKNOWN);
        device_free(d);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) system(cmd);
}

UNIT_MAIN_BEGIN("test-boot-assess")
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-boot-assess.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        log_set_max_level(LOG_LEVEL_ERR); /* the module's warnings are expected here */

        RUN(decide);
        RUN(trial_boot_then_restart);
        RUN(fallback);
        RUN(fallback_repeated);
        RUN(pending_and_reboot);
        RUN(no_trial_record);
        RUN(rejected_trial);
        RUN(no_trial_support_or_unreadable);
UNIT_MAIN_END
