/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-efi.c against tests/fakes/stand-ins/efibootmgr, put first on PATH.  The
 * real efibootmgr needs efivarfs (a UEFI-booted machine), and must not touch the test
 * machine's own boot entries anyway, so the backend talks to a STAND-IN that speaks the same
 * command line and output format and keeps the variables in a file.
 * tests/fakes/boot-sim-efi.sh (the firmware's boot manager) is the "reboot". */
#include "test-bootloader.h"

static char state_file[300], log_file[300], cmdline[300], note[300], path_env[PATH_MAX + 4096];

#define ENTRIES                                                                         \
        "entry 0000 1 EFI Internal Shell\tFvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)\n" \
        "entry 0001 1 A\tHD(2,GPT,5f1d0c7e-0000-4000-8000-000000000002,0x800,0x100000)/File(\\EFI\\update1\\linux.efi)\n" \
        "entry 0002 1 B\tHD(3,GPT,5f1d0c7e-0000-4000-8000-000000000003,0x100800,0x100000)/File(\\EFI\\update1\\linux.efi)\n"
#define FRESH_STATE "current 0001\ntimeout 1\norder 0001,0002,0000\n" ENTRIES

static void make_state(const char *text) {
        write_file(state_file, text);
        unlink(log_file);
        unlink(note);
}

/* A line of the stand-in's state file ("order", "next", "current"), "" if absent. */
static char *efivar(const char *name) {
        return output_of("sed -n 's/^%s //p' '%s'", name, state_file);
}

#define CHECK_EFIVAR(name, want)                                \
        do {                                                    \
                _cleanup_free_ char *_v = efivar(name);         \
                CHECK_STREQ(_v, want);                          \
        } while (0)

static char *boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-efi.sh' '%s'", top, cmdline);
}

#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

static char *current_of(Bootloader *b) {
        char *p = NULL;
        UError err = UERROR_NULL;

        if (b->ops->get_current(b->data, &p, &err) < 0) {
                printf("  get_current: %s\n", err.message);
                unit_case_failures++;
                return strdup("(error)");
        }
        return p;
}

#define CHECK_CURRENT(b, want)                                  \
        do {                                                    \
                _cleanup_free_ char *_p = current_of(b);        \
                CHECK_STREQ(_p, want);                          \
        } while (0)

static Bootloader *open_efi(void) {
        return open_backend("bootloader=efi");
}

TEST(efi_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *cl = NULL;

        make_state(FRESH_STATE);
        b = open_efi();
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "efi");
        CHECK_PRIMARY(b, "A");
        CHECK_CURRENT(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_BOOT("A");
        cl = output_of("cat '%s'", cmdline);
        CHECK_STREQ(cl, "update1.slot=A");
        CHECK(access(log_file, F_OK) < 0 || run("grep -q -- '-[no]' '%s'", log_file) != 0); /* no writes */
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(efi_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_efi();
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_EFIVAR("order", "0001,0000");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");

        SET_PRIMARY(b, "B", true);
        CHECK_EFIVAR("next", "0002");
        CHECK_EFIVAR("order", "0001,0000");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        /* reboot: the firmware boots B once and forgets BootNext */
        CHECK_BOOT("B");
        CHECK_EFIVAR("next", "");
        CHECK_CURRENT(b, "B");
        CHECK_TRIAL(b, "B");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "A");

        /* no MarkGood: the next boot is BootOrder's, A; the note shows the fallback */
        CHECK_BOOT("A");
        CHECK_CURRENT(b, "A");
        CHECK_TRIAL(b, "B");
        CHECK_BOOT("A");

        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK(access(note, F_OK) < 0);
        CHECK_BOOT("A");
}

TEST(efi_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_efi();
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_EFIVAR("order", "0002,0001,0000");
        CHECK_TRIAL(b, "(none)");
        CHECK(access(note, F_OK) < 0);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_BOOT("B");
        /* MarkGood outside a trial: nothing to write */
        unlink(log_file);
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK(run("grep -q -- '-[no]' '%s'", log_file) != 0);
}

TEST(efi_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        b = open_efi();
        if (!b)
                return;
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_EFIVAR("order", "0002,0000");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        /* the shell entry left in BootOrder is no slot: B is the last one */
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "last slot in BootOrder");
        CHECK_FAILS(b->ops->set_primary(b->data, "B", true, &_e), "no other slot in BootOrder to fall back to");
        CHECK_EFIVAR("order", "0002,0000");
        CHECK_EFIVAR("next", "");

        /* good on a slot outside the order (no trial): it goes last */
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_EFIVAR("order", "0002,0000,0001");
        /* mark-active: first in BootOrder */
        SET_PRIMARY(b, "A", false);
        CHECK_EFIVAR("order", "0001,0002,0000");
        CHECK_BOOT("A");

        /* a trial of a slot that is in BootOrder takes it out first (on trial = not committed) */
        SET_PRIMARY(b, "B", true);
        CHECK_EFIVAR("order", "0001,0000");
        CHECK_EFIVAR("next", "0002");
        CHECK_TRIAL(b, "B");
        /* mark-active of A cancels the pending one-shot boot of B */
        SET_PRIMARY(b, "A", false);
        CHECK_EFIVAR("next", "");
        CHECK_BOOT("A");
        /* marking a pending trial bad deletes BootNext too */
        SET_PRIMARY(b, "B", true);
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_EFIVAR("next", "");
        CHECK_TRIAL(b, "(none)");
        CHECK_BOOT("A");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");

        /* an inactive entry is skipped by the firmware: not good, not primary */
        CHECK_EQ(run("sed -i 's/^entry 0001 1/entry 0001 0/' '%s'", state_file), 0);
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_EFIVAR("order", "0001,0000,0002");
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "B"); /* the first slot in BootOrder, as RAUC sees it ... */
        CHECK_BOOT("EFI Internal Shell"); /* ... though a non-slot entry ahead of it boots */
        SET_PRIMARY(b, "B", false);
        CHECK_BOOT("B");
}

/* Power cut between BootNext and the note: the trial runs but goes unnoticed; it is never
 * reported as a fallback that did not happen. */
TEST(efi_note_lost) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_state(FRESH_STATE);
        /* a data directory that is not there: the note cannot be written */
        {
                _cleanup_(config_freep) Config *c = make_config("bootloader=efi");
                UError err = UERROR_NULL;

                free(c->data_directory);
                c->data_directory = strdup_printf("%s/missing", tmpdir);
                CHECK_EQ(bootloader_open(c, &b, &err), 0);
        }
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_FAILS(b->ops->set_primary(b->data, "B", true, &_e), "Cannot write the EFI trial note");
        CHECK_EFIVAR("next", "0002");
        CHECK_BOOT("B");
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "(none)");
}

/* Bootnames of the form BootXXXX name entries by number. */
TEST(efi_bootnames_by_number) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        char path[300], text[1024];
        UError err = UERROR_NULL;

        make_state("current 0002\norder 0002,0001\n"
                   "entry 0001 1 Linux slot A\tHD(2)\nentry 0002 1 Linux slot B\tHD(3)\n");
        snprintf(path, sizeof(path), "%s/system-num.conf", tmpdir);
        snprintf(text, sizeof(text),
                 "[system]\ncompatible=test\nbootloader=efi\ndata-directory=%s\n[keyring]\npath=/k.pem\n"
                 "[slot.rootfs.0]\ndevice=/x/a\ntype=raw\nbootname=Boot0001\n"
                 "[slot.rootfs.1]\ndevice=/x/b\ntype=raw\nbootname=Boot0002\n",
                 tmpdir);
        write_file(path, text);
        CHECK_EQ(config_load(path, &c), 0);
        if (!c)
                return;
        CHECK_EQ(bootloader_open(c, &b, &err), 0);
        if (!b)
                return;
        CHECK_PRIMARY(b, "Boot0002");
        {
                _cleanup_free_ char *cur = current_of(b);
                CHECK_STREQ(cur, "Boot0002");
        }
        SET_STATE(b, "Boot0001", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "Boot0001", true);
        CHECK_EFIVAR("next", "0001");
        CHECK_TRIAL(b, "Boot0001");
        CHECK_BOOT("Linux slot A");
        SET_STATE(b, "Boot0001", BOOT_STATUS_GOOD);
        CHECK_EFIVAR("order", "0001,0002");
}

/* A fake efibootmgr printing 'output' (printf format), first on PATH. */
static void fake_tool(const char *output) {
        char dir[300], path[400], text[sizeof(path_env) + 512];

        snprintf(dir, sizeof(dir), "%s/fake", tmpdir);
        mkdir(dir, 0755);
        snprintf(path, sizeof(path), "%s/efibootmgr", dir);
        snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%s'\n", output);
        write_file(path, text);
        chmod(path, 0755);
        snprintf(text, sizeof(text), "%s:%s", dir, path_env);
        setenv("PATH", text, 1);
}

#define OK_HEAD "BootCurrent: 0001\\nTimeout: 1 seconds\\nBootOrder: 0001,0002\\n"
#define OK_ENTRIES "Boot0001* A\\tHD(2)\\nBoot0002* B\\n"

TEST(efi_hostile) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        BootStatus s;
        char *p = NULL;

        make_state(FRESH_STATE);
        b = open_efi();
        if (!b)
                return;

        fake_tool(OK_HEAD OK_ENTRIES);
        CHECK_PRIMARY(b, "A"); /* the fake itself parses */
        fake_tool("BootCurrent: 1\\nBootOrder: 0001\\n" OK_ENTRIES);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "not a 4-digit boot number in line 'BootCurrent: 1'");
        fake_tool("BootCurrent: 0001\\nBootOrder: 0001,,0002\\n" OK_ENTRIES);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "not a comma-separated list");
        fake_tool("BootCurrent: 0001\\nBootOrder: 0001,0002,\\n" OK_ENTRIES);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "trailing comma");
        fake_tool(OK_HEAD "Boot0001*A\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "not a boot entry in line 'Boot0001*A'");
        fake_tool(OK_HEAD "Boot00G1* A\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "not a boot entry");
        fake_tool(OK_HEAD OK_ENTRIES "Boot0001* again\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "boot number listed twice");
        fake_tool(OK_HEAD OK_ENTRIES "BootCurrent: 0002\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "repeated");
        fake_tool(OK_HEAD OK_ENTRIES "Hello from a wrapper\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "unexpected line in line 'Hello from a wrapper'");
        fake_tool(OK_HEAD);
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "efibootmgr listed no boot entries");
        fake_tool(OK_HEAD OK_ENTRIES "Boot0003* A\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "Several EFI boot entries are labelled 'A' (Boot0001, Boot0003)");
        fake_tool(OK_HEAD "Boot0001* A\\n");
        CHECK_FAILS(b->ops->get_state(b->data, "B", &s, &_e), "No EFI boot entry is labelled 'B'");
        fake_tool("BootCurrent: 0007\\nBootOrder: 0001\\n" OK_ENTRIES "Boot0007* Setup\\n");
        CHECK_FAILS(b->ops->get_current(b->data, &p, &_e), "The firmware booted Boot0007, which is not the boot entry of any slot");
        fake_tool("BootOrder: 0001\\n" OK_ENTRIES);
        CHECK_FAILS(b->ops->get_current(b->data, &p, &_e), "does not report BootCurrent");
        fake_tool("BootOrder: 0000\\nBoot0000* Shell\\n" OK_ENTRIES);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "Neither BootNext nor BootOrder names an active boot entry of a slot");
        setenv("PATH", path_env, 1);

        /* the real contract's failures */
        setenv("EFIBOOTMGR_FAIL", "write", 1);
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e),
                    "'efibootmgr -q -o 0001,0000' failed with exit status 1: Could not set variable: Input/output error");
        unsetenv("EFIBOOTMGR_FAIL");
        CHECK_EFIVAR("order", "0001,0002,0000");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        unsetenv("EFIBOOTMGR_STATE");
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "EFI variables are not supported on this system.");
        setenv("EFIBOOTMGR_STATE", state_file, 1);
        setenv("PATH", "/nonexistent", 1);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "efibootmgr not found on PATH");
        setenv("PATH", path_env, 1);

        /* a damaged trial note */
        write_file(note, "B C\n");
        CHECK_FAILS(b->ops->get_trial(b->data, &p, &_e), "does not hold a bootname");
        unlink(note);
        CHECK(p == NULL);
        CHECK_PRIMARY(b, "A");
}

UNIT_MAIN_BEGIN("test-bootloader-efi")
        test_setup("test-bootloader-efi");
        snprintf(state_file, sizeof(state_file), "%s/efivars.state", tmpdir);
        snprintf(log_file, sizeof(log_file), "%s/efibootmgr.log", tmpdir);
        snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmpdir);
        snprintf(note, sizeof(note), "%s/efi-trial", tmpdir);
        /* The stand-in replaces the real tool for the backend (found on PATH). */
        snprintf(path_env, sizeof(path_env), "%s/tests/fakes/stand-ins:%s", top, getenv("PATH") ?: "/usr/bin:/bin");
        setenv("PATH", path_env, 1);
        setenv("EFIBOOTMGR_STATE", state_file, 1);
        setenv("EFIBOOTMGR_LOG", log_file, 1);

        RUN(efi_fresh);
        RUN(efi_install_trial_fallback);
        RUN(efi_mark_good_commits);
        RUN(efi_mark_bad_and_active);
        RUN(efi_note_lost);
        RUN(efi_bootnames_by_number);
        RUN(efi_hostile);
UNIT_MAIN_END
