/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract every bootloader backend keeps with the daemon (docs/bootloaders.md), as one
 * scenario run over EVERY entry of the backends table (bootloader_backends()), through the
 * wrappers the daemon uses (bootloader.h):
 *   fresh → install (set_state(B, bad), set_primary(B, trial)) → trial boot → fallback (the
 *   trial boot is not marked good; the boot simulator decides what boots next) → MarkGood of a
 *   second trial → Mark bad booted → Mark active (also of a pending trial).
 * Each step reopens the backend, so every answer comes from the storage, not from memory.
 * The "reboots" are the reviewed shell simulators tests/fakes/boot-sim*.sh on the same storage
 * the per-backend tests (test-bootloader-<name>.c) set up; the custom backend is the stand-in
 * tests/fakes/custom-backend.sh, whose "board" boots what get-primary names.
 * A backend in the table without a fixture here fails ("backend X has no contract fixture").
 * Where backends legitimately differ, the fixture says so and the difference is asserted. */
#include <errno.h>

#include "test-bootloader.h"

#define ENV_SIZE 0x4000

static char env_cfg[300], env_img[300], genv[300], barebox_state[300], efi_state[300], efi_note[300],
        custom_state[300], cmdline[300], path_env[PATH_MAX + 4096];

typedef struct Fixture {
        const char *backend;    /* BootloaderOps.name */
        const char *needs;      /* programs the storage or the simulator need, NULL if none */
        /* Fresh storage (A primary and good, B good behind it) and the system.conf part. */
        void (*fresh)(char *part, size_t size);
        /* One power-on: the bootname booted, "none" if nothing was (malloc'd). */
        char *(*boot)(void);
        /* The documented differences: */
        bool has_trial;         /* get_trial, state TRIAL, and a fallback of its own */
        bool has_current;       /* get_current: efi (BootCurrent), custom (get-current) */
        /* grub: every slot gets ONE attempt per MarkGood (RAUC's grub.cfg), so the booted slot
         * reads bad, and the other one is primary, until it is marked good on this boot. */
        bool one_attempt_per_mark_good;
        /* custom: the script decides what set-primary and set-state mean; the stand-in only
         * stores them (set-state bad moves nothing, set-primary leaves the state alone, the
         * last bootable slot is not guarded). */
        bool script_decides;
} Fixture;

/* --- storage and boot simulators, as in test-bootloader-<name>.c ---------------------------- */

static void make_uboot_env(const char *text_path) {
        char copy[300];

        snprintf(copy, sizeof(copy), "%s/copy.bin", tmpdir);
        if (run("mkenvimage -r -s 0x%x -o '%s' '%s' && cat '%s' '%s' > '%s'", ENV_SIZE, copy, text_path, copy, copy,
                env_img) != 0 ||
            run("printf '%%s 0x0000 0x%x 0x%x 1\\n%%s 0x%x 0x%x 0x%x 1\\n' '%s' '%s' > '%s'", ENV_SIZE, ENV_SIZE,
                ENV_SIZE, ENV_SIZE, ENV_SIZE, env_img, env_img, env_cfg) != 0) {
                unit_diag("cannot make the U-Boot environment");
                exit(2);
        }
}

static void uboot_fresh(char *part, size_t size) {
        char txt[300];

        snprintf(txt, sizeof(txt), "%s/env.txt", tmpdir);
        write_file(txt, "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\nbootcmd=run update1_script\n");
        make_uboot_env(txt);
        snprintf(part, size,
                 "bootloader=uboot\n[uboot]\nfw-env-config=%s\nboot-attempts=3\ntrial-attempts=1\nlock-file=%s/fw_printenv.lock",
                 env_cfg, tmpdir);
}

static char *uboot_boot(void) {
        return output_of("'%s/tests/fakes/boot-sim.sh' '%s'", top, env_cfg);
}

static void bootcount_fresh(char *part, size_t size) {
        char txt[PATH_MAX + 64];

        snprintf(txt, sizeof(txt), "%s/packaging/bootloader/uboot-bootcount.env", top);
        make_uboot_env(txt);
        snprintf(part, size,
                 "bootloader=uboot\n[uboot]\nscheme=bootcount\nfw-env-config=%s\ntrial-attempts=1\nlock-file=%s/fw_printenv.lock",
                 env_cfg, tmpdir);
}

static char *bootcount_boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-bootcount.sh' '%s' '%s'", top, env_cfg, cmdline);
}

static void grub_fresh(char *part, size_t size) {
        unlink(genv);
        if (run("grub-editenv '%s' create && grub-editenv '%s' set ORDER='A B' A_OK=1 A_TRY=0 B_OK=1 B_TRY=0", genv,
                genv) != 0) {
                unit_diag("grub-editenv failed");
                exit(2);
        }
        snprintf(part, size, "bootloader=grub\n[grub]\nenv=%s", genv);
}

static char *grub_boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-grub.sh' '%s' '%s'", top, genv, cmdline);
}

static void barebox_fresh(char *part, size_t size) {
        write_file(barebox_state, "bootstate.A.priority=20\nbootstate.A.remaining_attempts=3\n"
                                  "bootstate.B.priority=10\nbootstate.B.remaining_attempts=3\n"
                                  "bootstate.attempts_locked=0\nbootstate.last_chosen=0\n");
        snprintf(part, size, "bootloader=barebox\n[barebox]\nboot-attempts=3\ntrial-attempts=1");
}

static char *barebox_boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-barebox.sh' '%s'", top, cmdline);
}

static void efi_fresh(char *part, size_t size) {
        write_file(efi_state,
                   "current 0001\ntimeout 1\norder 0001,0002,0000\n"
                   "entry 0000 1 EFI Internal Shell\tFvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)\n"
                   "entry 0001 1 A\tHD(2,GPT,5f1d0c7e-0000-4000-8000-000000000002,0x800,0x100000)/File(\\EFI\\update1\\linux.efi)\n"
                   "entry 0002 1 B\tHD(3,GPT,5f1d0c7e-0000-4000-8000-000000000003,0x100800,0x100000)/File(\\EFI\\update1\\linux.efi)\n");
        unlink(efi_note);
        snprintf(part, size, "bootloader=efi");
}

static char *efi_boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-efi.sh' '%s'", top, cmdline);
}

static void custom_fresh(char *part, size_t size) {
        unlink(custom_state); /* the stand-in's default: primary=current=A, every slot good */
        snprintf(part, size, "bootloader=custom\n[custom]\npath=%s/tests/fakes/custom-backend.sh", top);
}

/* The stand-in keeps no counter: its board boots what get-primary names. */
static char *custom_boot(void) {
        return output_of("p=$('%s/tests/fakes/custom-backend.sh' get-primary) && "
                         "{ grep -v '^current=' '%s' 2>/dev/null; echo \"current=$p\"; } > '%s.new' && "
                         "mv '%s.new' '%s' && echo \"$p\"",
                         top, custom_state, custom_state, custom_state, custom_state);
}

static const Fixture fixtures[] = {
        { "uboot", "mkenvimage fw_printenv fw_setenv", uboot_fresh, uboot_boot, .has_trial = true },
        { "uboot-bootcount", "mkenvimage fw_printenv fw_setenv", bootcount_fresh, bootcount_boot, .has_trial = true },
        { "grub", "grub-editenv", grub_fresh, grub_boot, .has_trial = true, .one_attempt_per_mark_good = true },
        { "barebox", NULL, barebox_fresh, barebox_boot, .has_trial = true },
        { "efi", NULL, efi_fresh, efi_boot, .has_trial = true, .has_current = true },
        { "custom", NULL, custom_fresh, custom_boot, .has_current = true, .script_decides = true },
};

/* --- checks through the wrappers ------------------------------------------------------------ */

static const Fixture *fx;               /* the backend under test */
static const BootloaderOps *fx_ops;     /* its entry in the table */
static char fx_part[PATH_MAX + 1024];   /* its system.conf part */

#define UNSUPPORTED "(unsupported)"
#define TRIAL_OR(x) (fx->has_trial ? (x) : UNSUPPORTED)
#define CURRENT_OR(x) (fx->has_current ? (x) : UNSUPPORTED)

static Bootloader *open_fx(void) {
        Bootloader *b = open_backend(fx_part);

        if (b && b->ops != fx_ops) {
                unit_diag("the configuration of %s opened %s", fx->backend, bootloader_name(b));
                unit_case_failures++;
        }
        return b;
}

static char *primary(Bootloader *b) {
        UError err = UERROR_NULL;
        char *p = NULL;

        if (bootloader_get_primary(b, &p, &err) < 0) {
                unit_diag("get_primary: %s", err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p;
}

static BootStatus state(Bootloader *b, const char *name) {
        BootStatus s = _BOOT_STATUS_INVALID;
        UError err = UERROR_NULL;

        if (bootloader_get_state(b, name, &s, &err) < 0) {
                unit_diag("get_state(%s): %s", name, err.message);
                unit_case_failures++;
        }
        return s;
}

/* get_trial / get_current; a backend without the op must answer -EOPNOTSUPP naming itself. */
static char *optional_answer(Bootloader *b, bool trial) {
        bool have = trial ? bootloader_has_trial(b) : bootloader_has_current(b);
        const char *what = trial ? "get_trial" : "get_current";
        UError err = UERROR_NULL;
        char *p = NULL;
        int r;

        r = trial ? bootloader_get_trial(b, &p, &err) : bootloader_get_current(b, &p, &err);
        if (!have) {
                if (r != -EOPNOTSUPP || !strstr(err.message, fx->backend) || p) {
                        unit_diag("%s without the op: %d '%s', expected -EOPNOTSUPP naming %s", what, r, err.message,
                               fx->backend);
                        unit_case_failures++;
                }
                return strdup(UNSUPPORTED);
        }
        if (r < 0) {
                unit_diag("%s: %s", what, err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p ?: strdup("(none)");
}

#define EXPECT_STR(expr, want)                                  \
        do {                                                    \
                _cleanup_free_ char *_s = (expr);               \
                CHECK_STREQ(_s, want);                          \
        } while (0)
#define EXPECT_PRIMARY(b, want) EXPECT_STR(primary(b), want)
#define EXPECT_TRIAL(b, want) EXPECT_STR(optional_answer(b, true), want)
#define EXPECT_CURRENT(b, want) EXPECT_STR(optional_answer(b, false), want)
#define EXPECT_BOOT(want) EXPECT_STR(fx->boot(), want)
#define EXPECT_STATE(b, name, want)                                                     \
        do {                                                                            \
                BootStatus _got = state(b, name), _want = (want);                       \
                if (_got != _want) {                                                    \
                        unit_diag("%s:%d: state of %s: %s, expected %s", __FILE__, __LINE__, name, \
                               boot_status_to_string(_got) ?: "(invalid)", boot_status_to_string(_want)); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)
#define DO_SET_PRIMARY(b, name, trial) CHECK_OK(bootloader_set_primary(b, name, trial, &_e))
#define DO_SET_STATE(b, name, st) CHECK_OK(bootloader_set_state(b, name, st, &_e))

/* A healthy boot: the simulator boots 'want', and update-health's MarkGood re-arms it. */
#define HEALTHY_BOOT(b, want)                                   \
        do {                                                    \
                EXPECT_BOOT(want);                              \
                EXPECT_CURRENT(b, CURRENT_OR(want));            \
                DO_SET_STATE(b, want, BOOT_STATUS_GOOD);        \
                EXPECT_STATE(b, want, BOOT_STATUS_GOOD);        \
        } while (0)

/* --- the scenario, one case per step, in order on the same storage -------------------------- */

TEST(fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;
        char *p = NULL;
        BootStatus s;

        fx->fresh(fx_part, sizeof(fx_part));
        b = open_fx();
        if (!b)
                return;
        CHECK_STREQ(bootloader_name(b), fx->backend);
        CHECK_EQ(bootloader_has_trial(b), fx->has_trial);
        CHECK_EQ(bootloader_has_current(b), fx->has_current);
        EXPECT_PRIMARY(b, "A");
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "B", BOOT_STATUS_GOOD);
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        EXPECT_CURRENT(b, CURRENT_OR("A"));

        /* what every backend refuses, changing nothing */
        CHECK_FAILS(bootloader_set_state(b, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");
        CHECK(bootloader_set_primary(b, "A B", true, &err) < 0 && err.kind == ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(bootloader_set_state(b, "-x", BOOT_STATUS_BAD, &err) < 0 && err.kind == ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(bootloader_get_state(b, "", &s, &err) < 0 && err.kind == ERROR_INVALID_ARGS);
        CHECK_EQ(bootloader_get_primary(NULL, &p, &err), -EINVAL);
        CHECK(p == NULL);
        EXPECT_PRIMARY(b, "A");
        EXPECT_STATE(b, "B", BOOT_STATUS_GOOD);

        /* the first boot, before update-health marks it good */
        EXPECT_BOOT("A");
        EXPECT_CURRENT(b, CURRENT_OR("A"));
        EXPECT_STATE(b, "A", fx->one_attempt_per_mark_good ? BOOT_STATUS_BAD : BOOT_STATUS_GOOD);
        EXPECT_PRIMARY(b, fx->one_attempt_per_mark_good ? "B" : "A");
        DO_SET_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_PRIMARY(b, "A");
        HEALTHY_BOOT(b, "A");
}

/* The daemon's install: the target is taken out before the first byte, put on a one-shot
 * trial after the last. */
TEST(install) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();

        if (!b)
                return;
        DO_SET_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_PRIMARY(b, "A");
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        HEALTHY_BOOT(b, "A"); /* an interrupted install keeps booting A */

        DO_SET_PRIMARY(b, "B", true);
        EXPECT_PRIMARY(b, "B");
        /* custom: no trial state; the stand-in keeps the "bad" of the install start */
        EXPECT_STATE(b, "B", fx->script_decides ? BOOT_STATUS_BAD : BOOT_STATUS_TRIAL);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_TRIAL(b, TRIAL_OR("B"));
        EXPECT_CURRENT(b, CURRENT_OR("A"));
}

TEST(trial_boot) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();

        if (!b)
                return;
        EXPECT_BOOT("B");
        EXPECT_CURRENT(b, CURRENT_OR("B"));
        EXPECT_TRIAL(b, TRIAL_OR("B"));
        EXPECT_STATE(b, "B", fx->script_decides ? BOOT_STATUS_BAD : BOOT_STATUS_TRIAL);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        /* the one attempt is used: unless B is marked good, the fallback boots next */
        EXPECT_PRIMARY(b, fx->has_trial ? "A" : "B");
}

/* The trial boot was never marked good; the next power-on is the bootloader's decision. */
TEST(fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();

        if (!b)
                return;
        if (!fx->has_trial) {
                /* no trial, no fallback of its own: B keeps booting, and the daemon cannot
                 * tell (it skips the assessment without get_trial) */
                HEALTHY_BOOT(b, "B");
                EXPECT_PRIMARY(b, "B");
                return;
        }
        EXPECT_BOOT("A");
        EXPECT_CURRENT(b, CURRENT_OR("A"));
        /* the trial note survives the fallback, so the daemon sees it */
        EXPECT_TRIAL(b, "B");
        EXPECT_STATE(b, "B", BOOT_STATUS_TRIAL);
        /* grub: A used its one attempt too; with nothing left to try GRUB re-arms the good
         * slots and B, first in ORDER and still OK=1, would get another try: only the daemon's
         * report below prevents that */
        EXPECT_PRIMARY(b, fx->one_attempt_per_mark_good ? "B" : "A");
        /* the daemon reports it: set_state(T, bad) clears the note */
        DO_SET_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_TRIAL(b, "(none)");
        EXPECT_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_PRIMARY(b, "A");
        DO_SET_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        HEALTHY_BOOT(b, "A");
        EXPECT_PRIMARY(b, "A");
}

/* A second install whose trial boot is healthy: MarkGood commits it. */
TEST(mark_good) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();

        if (!b)
                return;
        DO_SET_STATE(b, "B", BOOT_STATUS_BAD);
        DO_SET_PRIMARY(b, "B", true);
        EXPECT_BOOT("B");
        DO_SET_STATE(b, "B", BOOT_STATUS_GOOD);
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        EXPECT_STATE(b, "B", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_PRIMARY(b, "B");
        /* committed: it keeps booting as long as every boot is healthy */
        for (int i = 0; i < 3; i++)
                HEALTHY_BOOT(b, "B");
        EXPECT_PRIMARY(b, "B");
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
}

/* Mark bad booted, outside a trial. */
TEST(mark_bad) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();
        const char *next = fx->script_decides ? "B" : "A";

        if (!b)
                return;
        DO_SET_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        /* the other slot boots next; custom: set-state bad is only stored */
        EXPECT_PRIMARY(b, next);
        HEALTHY_BOOT(b, next);

        if (fx->script_decides) {
                /* guarding the last bootable slot is the script's business */
                DO_SET_STATE(b, "A", BOOT_STATUS_BAD);
                EXPECT_STATE(b, "A", BOOT_STATUS_BAD);
                DO_SET_STATE(b, "A", BOOT_STATUS_GOOD);
                DO_SET_STATE(b, "B", BOOT_STATUS_BAD);
        } else {
                /* the last bootable slot is never given up: nothing changes */
                CHECK_FAILS(bootloader_set_state(b, "A", BOOT_STATUS_BAD, &_e), "Refusing to mark A bad: ");
                CHECK_FAILS(bootloader_set_state(b, "A", BOOT_STATUS_BAD, &_e), "nothing to boot");
        }
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "B", BOOT_STATUS_BAD);
        EXPECT_PRIMARY(b, next);
}

/* Mark active: a bad slot becomes the permanent primary; a pending trial made permanent loses
 * its note. */
TEST(mark_active) {
        _cleanup_(bootloader_freep) Bootloader *b = open_fx();

        if (!b)
                return;
        DO_SET_PRIMARY(b, "B", false);
        EXPECT_PRIMARY(b, "B");
        EXPECT_STATE(b, "B", fx->script_decides ? BOOT_STATUS_BAD : BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        HEALTHY_BOOT(b, "B");
        EXPECT_PRIMARY(b, "B");

        DO_SET_PRIMARY(b, "A", true);
        EXPECT_PRIMARY(b, "A");
        EXPECT_TRIAL(b, TRIAL_OR("A"));
        EXPECT_STATE(b, "A", fx->script_decides ? BOOT_STATUS_GOOD : BOOT_STATUS_TRIAL);
        DO_SET_PRIMARY(b, "A", false);
        EXPECT_PRIMARY(b, "A");
        EXPECT_TRIAL(b, TRIAL_OR("(none)"));
        EXPECT_STATE(b, "A", BOOT_STATUS_GOOD);
        EXPECT_STATE(b, "B", BOOT_STATUS_GOOD);
        HEALTHY_BOOT(b, "A");
        HEALTHY_BOOT(b, "A");
        EXPECT_PRIMARY(b, "A");
}

TEST(no_fixture) {
        unit_diag("backend %s has no contract fixture in %s", fx_ops->name, __FILE__);
        unit_case_failures++;
}

/* Every fixture names a backend of the table: a renamed backend must not leave a fixture
 * behind that silently never runs. */
TEST(fixtures_match_table) {
        const BootloaderOps *const *all;
        size_t n;

        all = bootloader_backends(&n);
        CHECK(n > 0);
        for (size_t f = 0; f < ELEMENTSOF(fixtures); f++) {
                bool found = false;

                for (size_t i = 0; i < n; i++)
                        found = found || streq(all[i]->name, fixtures[f].backend);
                if (!found) {
                        unit_diag("fixture %s names no backend in the table", fixtures[f].backend);
                        unit_case_failures++;
                }
        }
}

static const Fixture *fixture_of(const char *backend) {
        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++)
                if (streq(fixtures[i].backend, backend))
                        return &fixtures[i];
        return NULL;
}

static bool have_programs(const char *list) {
        return !list || run("for p in %s; do command -v \"$p\" >/dev/null 2>&1 || exit 1; done", list) == 0;
}

static void run_step(const char *step, void (*fn)(void)) {
        char name[128];

        snprintf(name, sizeof(name), "%s/%s", fx_ops->name, step);
        unit_run(name, fn);
}

UNIT_MAIN_BEGIN("test-bootloader-contract")
        const BootloaderOps *const *all;
        size_t n;

        test_setup("test-bootloader-contract");
        snprintf(env_cfg, sizeof(env_cfg), "%s/fw_env.config", tmpdir);
        snprintf(env_img, sizeof(env_img), "%s/uboot.env", tmpdir);
        snprintf(genv, sizeof(genv), "%s/grubenv", tmpdir);
        snprintf(barebox_state, sizeof(barebox_state), "%s/barebox.state", tmpdir);
        snprintf(efi_state, sizeof(efi_state), "%s/efivars.state", tmpdir);
        snprintf(efi_note, sizeof(efi_note), "%s/efi-trial", tmpdir); /* <data-directory>/efi-trial */
        snprintf(custom_state, sizeof(custom_state), "%s/custom.state", tmpdir);
        snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmpdir);
        /* The stand-ins replace barebox-state and efibootmgr for the backends (found on PATH)
         * and the simulators; each finds its state file through the environment. */
        snprintf(path_env, sizeof(path_env), "%s/tests/fakes/stand-ins:%s", top, getenv("PATH") ?: "/usr/bin:/bin");
        setenv("PATH", path_env, 1);
        setenv("BAREBOX_STATE_FILE", barebox_state, 1);
        unsetenv("BAREBOX_STATE_NAME");
        setenv("EFIBOOTMGR_STATE", efi_state, 1);
        setenv("UPDATE1_CUSTOM_STATE", custom_state, 1);

        RUN(fixtures_match_table);
        all = bootloader_backends(&n);
        for (size_t i = 0; i < n; i++) {
                fx_ops = all[i];
                fx = fixture_of(fx_ops->name);
                if (!fx) {
                        run_step("fixture", test_no_fixture);
                        continue;
                }
                if (!have_programs(fx->needs)) {
                        char why[256];

                        snprintf(why, sizeof(why), "needs %s", fx->needs);
                        unit_skip(fx_ops->name, why);
                        continue;
                }
                run_step("fresh", test_fresh);
                run_step("install", test_install);
                run_step("trial_boot", test_trial_boot);
                run_step("fallback", test_fallback);
                run_step("mark_good", test_mark_good);
                run_step("mark_bad", test_mark_bad);
                run_step("mark_active", test_mark_active);
        }
UNIT_MAIN_END
