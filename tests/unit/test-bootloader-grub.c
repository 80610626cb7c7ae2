/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-grub.c: the grubenv block written natively, checked byte for byte against
 * grub-editenv (package grub-common), driven through install / trial / fallback / mark with
 * tests/fakes/boot-sim-grub.sh (the logic of packaging/bootloader/grub.cfg) as the "reboot";
 * and hostile blocks. */
#include "test-bootloader.h"

#define GRUBENV_SIZE 1024

static char genv[300], cmdline[300];

static void make_genv(const char *extra_set) {
        unlink(genv);
        if (run("grub-editenv '%s' create && grub-editenv '%s' set ORDER='A B' A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 %s", genv,
                genv, extra_set) != 0) {
                printf("grub-editenv failed\n");
                exit(2);
        }
}

/* A variable as GRUB's own envblk code (grub-editenv list) reads it; "(unset)" if missing. */
static char *genv_get(const char *name) {
        return output_of("grub-editenv '%s' list | sed -n 's/^%s=//p' | grep . || echo '(unset)'", genv, name);
}

#define CHECK_GENV(name, want)                                  \
        do {                                                    \
                _cleanup_free_ char *_v = genv_get(name);       \
                CHECK_STREQ(_v, want);                          \
        } while (0)

static char *boot(void) {
        return output_of("'%s/tests/fakes/boot-sim-grub.sh' '%s' '%s'", top, genv, cmdline);
}

#define CHECK_BOOT(want)                                        \
        do {                                                    \
                _cleanup_free_ char *_p = boot();               \
                CHECK_STREQ(_p, want);                          \
        } while (0)

static Bootloader *open_grub(void) {
        char part[600];

        snprintf(part, sizeof(part), "bootloader=grub\n[grub]\nenv=%s", genv);
        return open_backend(part);
}

static void check_block_size(void) {
        struct stat st;

        CHECK(stat(genv, &st) == 0 && st.st_size == GRUBENV_SIZE);
}

TEST(grub_fresh) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        _cleanup_free_ char *cl = NULL;

        make_genv("");
        b = open_grub();
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "grub");
        CHECK(b->ops->get_current == NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_BOOT("A");
        cl = output_of("cat '%s'", cmdline);
        CHECK_STREQ(cl, "update1.slot=A");
        /* RAUC's semantics: A used its attempt; until it is marked good it is not chosen again */
        CHECK_GENV("A_TRY", "1");
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "B");
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_GENV("A_TRY", "0");
        CHECK_PRIMARY(b, "A");
        CHECK_BOOT("A");
        check_block_size();
}

/* Our block is byte for byte what grub-editenv writes for the same variables, escapes and
 * unknown variables included. */
TEST(grub_native_format) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char ours[2 * GRUBENV_SIZE], ref[2 * GRUBENV_SIZE];
        char refpath[300];
        _cleanup_free_ char *list = NULL;

        make_genv("saved_entry=update1-A 'odd=back\\slash' \"$(printf 'multi=line1\\nline2')\"");
        b = open_grub();
        if (!b)
                return;
        SET_PRIMARY(b, "B", true);
        check_block_size();
        CHECK_EQ(file_bytes(genv, ours, sizeof(ours)), GRUBENV_SIZE);
        CHECK(memcmp(ours, "# GRUB Environment Block\n", 25) == 0);
        CHECK_EQ(ours[GRUBENV_SIZE - 1], '#');

        snprintf(refpath, sizeof(refpath), "%s/grubenv.ref", tmpdir);
        unlink(refpath);
        CHECK_EQ(run("grub-editenv '%s' create && grub-editenv '%s' set ORDER='B A' A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 "
                     "saved_entry=update1-A 'odd=back\\slash' \"$(printf 'multi=line1\\nline2')\" UPDATE1_TRIAL=B",
                     refpath, refpath),
                 0);
        CHECK_EQ(file_bytes(refpath, ref, sizeof(ref)), GRUBENV_SIZE);
        CHECK(memcmp(ours, ref, GRUBENV_SIZE) == 0);

        list = output_of("grub-editenv '%s' list", genv);
        CHECK_STREQ(list, "ORDER=B A\nA_OK=1\nA_TRY=0\nB_OK=1\nB_TRY=0\nsaved_entry=update1-A\nodd=back\\slash\n"
                          "multi=line1\nline2\nUPDATE1_TRIAL=B");
}

/* The daemon's install sequence, then a trial boot that never marks itself good. */
TEST(grub_install_trial_fallback) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_genv("");
        b = open_grub();
        if (!b)
                return;
        CHECK_BOOT("A"); /* running A, not marked good yet on this boot */

        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_GENV("B_OK", "0");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);

        SET_PRIMARY(b, "B", true);
        CHECK_GENV("ORDER", "B A");
        CHECK_GENV("B_OK", "1");
        CHECK_GENV("B_TRY", "0");
        CHECK_GENV("A_TRY", "0"); /* the fallback is re-armed */
        CHECK_GENV("UPDATE1_TRIAL", "B");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);
        CHECK_PRIMARY(b, "B");
        CHECK_TRIAL(b, "B");

        /* reboot: GRUB tries B once */
        CHECK_BOOT("B");
        CHECK_GENV("B_TRY", "1");
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "B", BOOT_STATUS_TRIAL);

        /* reboot: B used its attempt, A boots; the note shows the fallback */
        CHECK_BOOT("A");
        CHECK_TRIAL(b, "B");
        /* the daemon reports it, marks B bad, and A good for this boot */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_BOOT("A");
        SET_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_BOOT("A");
        check_block_size();
}

TEST(grub_mark_good_commits) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_genv("");
        b = open_grub();
        if (!b)
                return;
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        SET_PRIMARY(b, "B", true);
        CHECK_BOOT("B");
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        CHECK_GENV("UPDATE1_TRIAL", "(unset)");
        CHECK_GENV("B_TRY", "0");
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_PRIMARY(b, "B");
        /* every healthy boot marks good again */
        for (int i = 0; i < 3; i++) {
                CHECK_BOOT("B");
                SET_STATE(b, "B", BOOT_STATUS_GOOD);
        }
        /* a boot that is not marked good: the next one goes to A */
        CHECK_BOOT("B");
        CHECK_BOOT("A");
}

TEST(grub_mark_bad_and_active) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;

        make_genv("");
        b = open_grub();
        if (!b)
                return;
        SET_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_GENV("A_OK", "0");
        CHECK_GENV("ORDER", "A B"); /* RAUC keeps it in ORDER, with OK=0 */
        CHECK_STATE(b, "A", BOOT_STATUS_BAD);
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("B");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &_e), "GRUB would have nothing to boot");
        CHECK_GENV("B_OK", "1");

        /* mark-active: first in ORDER, OK, re-armed, no trial */
        SET_PRIMARY(b, "A", false);
        CHECK_GENV("ORDER", "A B");
        CHECK_GENV("A_OK", "1");
        CHECK_GENV("A_TRY", "0");
        CHECK_TRIAL(b, "(none)");
        CHECK_BOOT("A");

        /* good on a slot missing from ORDER puts it back, last */
        CHECK_EQ(run("grub-editenv '%s' set ORDER=A", genv), 0);
        CHECK_STATE(b, "B", BOOT_STATUS_BAD);
        SET_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_GENV("ORDER", "A B");

        /* a trial made permanent loses its note */
        SET_PRIMARY(b, "B", true);
        SET_PRIMARY(b, "B", false);
        CHECK_TRIAL(b, "(none)");
        CHECK_FAILS(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &_e), "only be marked good or bad");

        /* nothing left to try: GRUB re-arms the good ones and reboots */
        CHECK_BOOT("B");
        CHECK_BOOT("A");
        CHECK_PRIMARY(b, "B");
        CHECK_BOOT("none");
        CHECK_BOOT("B");
}

/* The block replaced through a symlink keeps the symlink and its mode. */
TEST(grub_symlink_and_mode) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char link[300];
        struct stat st;

        make_genv("");
        chmod(genv, 0600);
        snprintf(link, sizeof(link), "%s/grubenv.link", tmpdir);
        unlink(link);
        CHECK_EQ(symlink(genv, link), 0);
        {
                char part[700];
                snprintf(part, sizeof(part), "bootloader=grub\n[grub]\nenv=%s", link);
                b = open_backend(part);
        }
        if (!b)
                return;
        SET_PRIMARY(b, "B", false);
        CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(stat(genv, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == GRUBENV_SIZE);
        CHECK_GENV("ORDER", "B A");
}

static void write_block(const char *head, size_t size, char pad) {
        char buf[4096];
        size_t n = strlen(head);

        memcpy(buf, head, n);
        memset(buf + n, pad, size - n);
        write_bytes(genv, buf, size);
}

#define SIG "# GRUB Environment Block\n"
#define GOOD_VARS "ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=1\nB_TRY=0\n"

TEST(grub_hostile_blocks) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        static char before[GRUBENV_SIZE], after[GRUBENV_SIZE];
        char *p = NULL, big[1100];
        BootStatus s;
        size_t n;

        make_genv("");
        b = open_grub();
        if (!b)
                return;

        write_block("ORDER=A B\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "is not a GRUB environment block");
        write_block(SIG GOOD_VARS, 2048, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "is 2048 bytes, expected exactly 1024");
        write_block(SIG GOOD_VARS, 1000, '#');
        CHECK_FAILS(b->ops->get_state(b->data, "A", &s, &_e), "is 1000 bytes");
        write_block(SIG GOOD_VARS "just some text\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "line 7 is neither a comment nor name=value");
        write_block(SIG GOOD_VARS "=nameless\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "neither a comment nor name=value");
        write_block(SIG GOOD_VARS "tail=", GRUBENV_SIZE, 'x');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "variable tail is not terminated by a newline");
        write_block(SIG GOOD_VARS "A_OK=1\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "variable A_OK is set twice");
        write_block(SIG "ORDER=A B\nA_OK=2\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "variable A_OK='2' is not 0 or 1");
        write_block(SIG GOOD_VARS, GRUBENV_SIZE, '\0');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "contains a NUL byte");
        write_block(SIG "ORDER=A B\nA_OK=0\nB_OK=0\n", GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "no slot in ORDER ('A B') has <x>_OK=1");
        n = (size_t) snprintf(big, sizeof(big), SIG "ORDER=");
        for (int i = 0; i < 40; i++)
                n += (size_t) snprintf(big + n, sizeof(big) - n, "S%d ", i);
        strcpy(big + n, "\n");
        write_block(big, GRUBENV_SIZE, '#');
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "ORDER has more than 32 entries");
        CHECK(p == NULL);

        /* an update that does not fit into the block is refused, and nothing is written */
        n = (size_t) snprintf(big, sizeof(big), SIG GOOD_VARS "filler=");
        memset(big + n, 'f', 1024 - n - 12);
        strcpy(big + 1024 - 12, "\n");
        write_block(big, GRUBENV_SIZE, '#');
        CHECK_PRIMARY(b, "A");
        CHECK_EQ(file_bytes(genv, before, sizeof(before)), GRUBENV_SIZE);
        CHECK_FAILS(b->ops->set_primary(b->data, "B", true, &_e),
                    "the variables do not fit into the 1024-byte GRUB environment block");
        CHECK_EQ(file_bytes(genv, after, sizeof(after)), GRUBENV_SIZE);
        CHECK(memcmp(before, after, GRUBENV_SIZE) == 0);
        /* a change that fits still works, and grub-editenv reads the result */
        SET_STATE(b, "B", BOOT_STATUS_BAD);
        CHECK_GENV("B_OK", "0");

        /* no grubenv at all */
        unlink(genv);
        CHECK_FAILS(b->ops->get_primary(b->data, &p, &_e), "Cannot open the GRUB environment");
        {
                _cleanup_(config_freep) Config *c = NULL;
                Bootloader *b2 = NULL;
                UError err = UERROR_NULL;
                char part[600];

                snprintf(part, sizeof(part), "bootloader=grub\n[grub]\nenv=%s", genv);
                c = make_config(part);
                CHECK(bootloader_open(c, &b2, &err) < 0);
                CHECK(strstr(err.message, "create it with grub-editenv") != NULL);
        }
}

/* The shipped grub.cfg parses as GRUB script, and still has the lines boot-sim-grub.sh mirrors
 * (change both together). */
TEST(grub_shipped_cfg) {
        char cfg[PATH_MAX + 64];
        const char *lines[] = {
                "set ORDER=\"A B\"", "load_env ORDER A_OK A_TRY B_OK B_TRY", "for SLOT in $ORDER; do",
                "    OK=0", "    TRY=0", "    if [ \"$SLOT\" == \"A\" ]; then", "        A_TRY=1",
                "    if [ \"$OK\" -eq 1 -a \"$TRY\" -eq 0 ]; then", "        update1_slot=$SLOT",
                "    if [ \"$A_OK\" -eq 1 -a \"$A_TRY\" -eq 1 ]; then", "        A_TRY=0",
                "save_env A_TRY B_TRY", "set default=\"update1-$update1_slot\"",
        };

        snprintf(cfg, sizeof(cfg), "%s/packaging/bootloader/grub.cfg", top);
        CHECK_EQ(run("grub-script-check '%s'", cfg), 0);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                if (run("grep -qxF -- '%s' '%s'", lines[i], cfg) != 0) {
                        printf("  grub.cfg lacks the line: %s\n", lines[i]);
                        unit_case_failures++;
                }
}

UNIT_MAIN_BEGIN("test-bootloader-grub")
        bool have = have_program("grub-editenv");

        test_setup("test-bootloader-grub");
        snprintf(genv, sizeof(genv), "%s/grubenv", tmpdir);
        snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmpdir);

#define WHY "grub-editenv missing (package grub-common)"
        RUN_OR_SKIP(grub_fresh, have, WHY);
        RUN_OR_SKIP(grub_native_format, have, WHY);
        RUN_OR_SKIP(grub_install_trial_fallback, have, WHY);
        RUN_OR_SKIP(grub_mark_good_commits, have, WHY);
        RUN_OR_SKIP(grub_mark_bad_and_active, have, WHY);
        RUN_OR_SKIP(grub_symlink_and_mode, have, WHY);
        RUN_OR_SKIP(grub_hostile_blocks, have, WHY);
        RUN_OR_SKIP(grub_shipped_cfg, have, WHY);
UNIT_MAIN_END
