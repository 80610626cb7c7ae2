/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the bootloader targets: a config for the backend under test (two slots, bootnames A
 * and B), and one pass over the public ops of daemon/bootloader/bootloader.h on whatever storage the input
 * became.  Where the backend's storage is the input itself (U-Boot env, grubenv), mutations are
 * read back and checked against the contract in bootloader.h. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "config.h"
#include "fuzz.h"

/* config_load() of a generated system.conf (the parser decides the defaults, not the harness);
 * 'sections' adds the backend's own section. */
static inline Config *fuzz_boot_config(const char *name, const char *bootloader, const char *sections) {
        char *text, file[64];
        Config *c = NULL;

        FUZZ_ASSERT(asprintf(&text,
                             "[system]\ncompatible=fuzz\nbootloader=%s\ndata-directory=%s/data\n"
                             "[keyring]\npath=/nonexistent/ca.pem\n"
                             "%s\n"
                             "[slot.rootfs.0]\ndevice=/dev/fuzz-a\ntype=raw\nbootname=A\n"
                             "[slot.rootfs.1]\ndevice=/dev/fuzz-b\ntype=raw\nbootname=B\n"
                             "[slot.appfs.0]\ndevice=/dev/fuzz-c\ntype=raw\nparent=rootfs.0\n",
                             bootloader, fuzz_tmpdir(), sections) > 0);
        snprintf(file, sizeof(file), "%s.conf", name);
        if (config_load(fuzz_write_text(file, text), &c) < 0) {
                fprintf(stderr, "fuzz harness: config rejected:\n%s\n", text);
                abort();
        }
        free(text);
        return c;
}

/* Which mutations to try, from a byte of the input. */
enum {
        FUZZ_BOOT_TRIAL_B = 1 << 0,   /* set_primary(B, trial) */
        FUZZ_BOOT_PRIMARY_A = 1 << 1, /* set_primary(A, permanent) */
        FUZZ_BOOT_BAD_B = 1 << 2,     /* set_state(B, BAD) */
        FUZZ_BOOT_GOOD_A = 1 << 3,    /* set_state(A, GOOD) */
        FUZZ_BOOT_GOOD_B = 1 << 4,    /* set_state(B, GOOD) */
};

/* The custom backend's contract allows any printable word as a bootname (its script decides);
 * the others use bootloader_check_bootname(). */
static bool fuzz_boot_free_form_names;

static inline bool valid_name(const char *s) {
        if (!fuzz_boot_free_form_names)
                return bootloader_check_bootname(s, "", NULL) >= 0;
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isgraph((unsigned char) *s))
                        return false;
        return true;
}

static inline void fuzz_boot_reads(Bootloader *b) {
        static const char *const names[] = { "A", "B", "C", "", "A B", "Boot0001" };
        UError err = UERROR_NULL;
        BootStatus st;
        char *s = NULL;

        if (bootloader_get_primary(b, &s, &err) >= 0) {
                fuzz_note("get_primary: %s", s);
                /* Backends that keep their own order (U-Boot, GRUB) may name a slot that is not
                 * configured; the daemon maps names to slots.  But it must be a bootname. */
                FUZZ_ASSERT(s && valid_name(s));
                free(s);
        } else {
                fuzz_note("get_primary: %s", err.message);
                FUZZ_ASSERT(err.kind != ERROR_NONE);
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                err = UERROR_NULL;
                if (bootloader_get_state(b, names[i], &st, &err) >= 0) {
                        fuzz_note("get_state(%s): %d", names[i], (int) st);
                        FUZZ_ASSERT(st == BOOT_STATUS_GOOD || st == BOOT_STATUS_BAD || st == BOOT_STATUS_TRIAL);
                } else {
                        fuzz_note("get_state(%s): %s", names[i], err.message);
                        FUZZ_ASSERT(err.kind != ERROR_NONE);
                }
        }
        if (bootloader_has_current(b)) {
                s = NULL;
                err = UERROR_NULL;
                if (bootloader_get_current(b, &s, &err) >= 0) {
                        FUZZ_ASSERT(s && valid_name(s));
                        free(s);
                }
        }
        if (bootloader_has_trial(b)) {
                s = NULL;
                err = UERROR_NULL;
                /* Not checked as a bootname: the uboot and grub backends return the variable as
                 * stored, and boot-assess.c copes with a name no slot has. */
                if (bootloader_get_trial(b, &s, &err) >= 0) {
                        fuzz_note("get_trial: %s", s ?: "(none)");
                        free(s);
                }
        }
}

/* Set by a target whose storage library has a known bug that a mutation can trigger: returns
 * true (after explaining) when a failed read-back is that bug, not ours. */
static bool (*fuzz_boot_known_failure)(const char *after);

static inline bool read_back_failed(const char *after, const char *what, const UError *err) {
        if (fuzz_boot_known_failure && fuzz_boot_known_failure(after))
                return false;
        fprintf(stderr, "after %s: %s failed: %s\n", after, what, err->message);
        abort();
}

static inline bool expect_primary(Bootloader *b, const char *want, const char *after) {
        UError err = UERROR_NULL;
        char *s = NULL;

        if (bootloader_get_primary(b, &s, &err) < 0)
                return read_back_failed(after, "get_primary", &err);
        if (strcmp(s, want) != 0) {
                fprintf(stderr, "after %s: get_primary is %s, expected %s\n", after, s, want);
                abort();
        }
        free(s);
        return true;
}

static inline bool expect_state(Bootloader *b, const char *name, BootStatus want, const char *after) {
        UError err = UERROR_NULL;
        BootStatus st;

        if (bootloader_get_state(b, name, &st, &err) < 0)
                return read_back_failed(after, "get_state", &err);
        if (st != want) {
                fprintf(stderr, "after %s: get_state(%s) is %d, expected %d\n", after, name, (int) st, (int) want);
                abort();
        }
        return true;
}

static inline int noted(const char *what, int r, const UError *err) {
        fuzz_note("%s: %s", what, r >= 0 ? "ok" : err->message);
        return r;
}

/* Reads, then the mutations in 'ops'; with 'check', each successful mutation is read back. */
static inline void fuzz_boot_exercise(Bootloader *b, unsigned ops, bool check) {
        UError err = UERROR_NULL;

        fuzz_boot_reads(b);
        if (ops & FUZZ_BOOT_TRIAL_B) {
                err = UERROR_NULL;
                if (noted("set_primary(B, trial)", bootloader_set_primary(b, "B", true, &err), &err) >= 0 && check &&
                    !(expect_primary(b, "B", "set_primary(B, trial)") &&
                      expect_state(b, "B", BOOT_STATUS_TRIAL, "set_primary(B, trial)")))
                        return;
        }
        if (ops & FUZZ_BOOT_PRIMARY_A) {
                err = UERROR_NULL;
                if (noted("set_primary(A)", bootloader_set_primary(b, "A", false, &err), &err) >= 0 && check &&
                    !(expect_primary(b, "A", "set_primary(A)") && expect_state(b, "A", BOOT_STATUS_GOOD, "set_primary(A)")))
                        return;
        }
        if (ops & FUZZ_BOOT_BAD_B) {
                err = UERROR_NULL;
                if (noted("set_state(B, bad)", bootloader_set_state(b, "B", BOOT_STATUS_BAD, &err), &err) >= 0 && check &&
                    !expect_state(b, "B", BOOT_STATUS_BAD, "set_state(B, bad)"))
                        return;
        }
        if (ops & FUZZ_BOOT_GOOD_A) {
                err = UERROR_NULL;
                if (noted("set_state(A, good)", bootloader_set_state(b, "A", BOOT_STATUS_GOOD, &err), &err) >= 0 && check &&
                    !expect_state(b, "A", BOOT_STATUS_GOOD, "set_state(A, good)"))
                        return;
        }
        if (ops & FUZZ_BOOT_GOOD_B) {
                err = UERROR_NULL;
                if (noted("set_state(B, good)", bootloader_set_state(b, "B", BOOT_STATUS_GOOD, &err), &err) >= 0 && check &&
                    !expect_state(b, "B", BOOT_STATUS_GOOD, "set_state(B, good)"))
                        return;
        }
        /* Whatever the mutations did, the storage must still read. */
        fuzz_boot_reads(b);
}
