/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cross-check of the C boot simulators (tests/fakes/bootsim*.c) against the reviewed shell
 * simulators (tests/fakes/boot-sim*.sh), per scheme:
 *   setup      bootsim_setup() makes what the tools make (mkenvimage, grub-editenv) and what the
 *              real backend, opened on the returned conf, reads as "A primary and good, B good";
 *   backend    from that state, a fixed-seed random history of REAL backend mutations
 *              (set_primary A|B trial or not, set_state A|B GOOD|BAD; refused ones skipped)
 *              interleaved with power-ons; before each power-on the storage is copied, the shell
 *              simulator runs on the copy and the C port on the original, and the result
 *              (exit status, bootname) and the storage (byte for byte) must be equal;
 *   odd        the same comparison on storage edited with odd values the daemon never writes
 *              (octal/hex counters, junk, unknown names, missing variables, duplicate lines),
 *              to check the ports' number parsing and line handling;
 *   timing     mean wall time of bootsim_power_on() on a fresh device (printed, not checked).
 * Any mismatch is a FAIL that prints the history so far.
 * Needs the test dependencies of the shell simulators: fw_printenv/fw_setenv (libubootenv-tool),
 * mkenvimage (u-boot-tools), grub-editenv (grub-common), bash. */
#include <sys/wait.h>
#include <time.h>

#include "bootsim.h"
#include "test-bootloader.h"

#define BACKEND_STEPS 400
#define ODD_ROUNDS 120
#define TIMING_POWER_ONS 2000

static char seq[1 << 16];
static size_t seq_len;
static unsigned compared[_BOOT_SCHEME_MAX], mutations[_BOOT_SCHEME_MAX], refused[_BOOT_SCHEME_MAX];
static unsigned nothing[_BOOT_SCHEME_MAX], broken[_BOOT_SCHEME_MAX]; /* power-ons that booted nothing / failed */
static double c_seconds[_BOOT_SCHEME_MAX];
static uint64_t rng;

static uint32_t rnd(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t) (rng >> 32);
}

static const char *pick(const char *const *v, size_t n) {
        return v[rnd() % n];
}
#define PICK(v) pick(v, sizeof(v) / sizeof((v)[0]))

static void seq_add(const char *fmt, ...) _printf_(1, 2);
static void seq_add(const char *fmt, ...) {
        va_list ap;

        if (seq_len >= sizeof(seq) - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(seq + seq_len, sizeof(seq) - seq_len, fmt, ap);
        va_end(ap);
        seq_len += strlen(seq + seq_len);
}

static void seq_reset(void) {
        seq_len = 0;
        seq[0] = '\0';
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void make_dir(char *out, size_t size, BootScheme s, const char *what) {
        snprintf(out, size, "%s/%s-%s", tmpdir, boot_scheme_name(s), what);
        run("rm -rf '%s'", out);
        if (mkdir(out, 0755) < 0) {
                perror(out);
                exit(2);
        }
}

/* The shell simulator on 'dir' (its own environment, so the daemon's stays on the C copy):
 * exit status, and stdout with "none" as "". */
static int shell_boot(BootScheme s, const char *dir, char out[static 256]) {
        char cmd[3 * PATH_MAX];
        FILE *p;
        size_t n;
        int st;

        switch (s) {
        case BOOT_SCHEME_UBOOT:
                snprintf(cmd, sizeof(cmd), "'%s/tests/fakes/boot-sim.sh' '%s/fw_env.config'", top, dir);
                break;
        case BOOT_SCHEME_UBOOT_BOOTCOUNT:
                snprintf(cmd, sizeof(cmd), "'%s/tests/fakes/boot-sim-bootcount.sh' '%s/fw_env.config'", top, dir);
                break;
        case BOOT_SCHEME_GRUB:
                snprintf(cmd, sizeof(cmd), "'%s/tests/fakes/boot-sim-grub.sh' '%s/grubenv'", top, dir);
                break;
        case BOOT_SCHEME_BAREBOX:
                snprintf(cmd, sizeof(cmd), "BAREBOX_STATE_FILE='%s/barebox.state' '%s/tests/fakes/boot-sim-barebox.sh'", dir, top);
                break;
        default:
                snprintf(cmd, sizeof(cmd), "EFIBOOTMGR_STATE='%s/efi.state' '%s/tests/fakes/boot-sim-efi.sh'", dir, top);
                break;
        }
        snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " 2>'%s/sim.err'", dir);
        p = popen(cmd, "re");
        if (!p) {
                out[0] = '\0';
                return -1;
        }
        n = fread(out, 1, 255, p);
        out[n] = '\0';
        st = pclose(p);
        while (n > 0 && out[n - 1] == '\n')
                out[--n] = '\0';
        if (streq(out, "none"))
                out[0] = '\0';
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The state for a mismatch report (bootsim_state_text(); for U-Boot also as fw_printenv sees it). */
static void show_storage(BootScheme s, const char *dir) {
        _cleanup_free_ char *text = NULL, *env = NULL;

        if (bootsim_state_text(s, dir, &text) < 0)
                text = strdup("(unreadable)");
        unit_diag("  --- %s:\n%s", dir, text);
        if (s == BOOT_SCHEME_UBOOT || s == BOOT_SCHEME_UBOOT_BOOTCOUNT) {
                env = output_of("fw_printenv -c '%s/fw_env.config' 2>&1", dir);
                unit_diag("  fw_printenv:\n%s", env ?: "(no output)");
        }
}

static bool same_file(const char *a, const char *b) {
        static char x[64 * 1024], y[64 * 1024];
        size_t n = file_bytes(a, x, sizeof(x)), m = file_bytes(b, y, sizeof(y));

        return n == m && memcmp(x, y, n) == 0;
}

/* Equal boot state (bootsim_state_text(): the raw uboot.env differs after its terminator). */
static bool same_state(BootScheme s, const char *a, const char *b) {
        _cleanup_free_ char *x = NULL, *y = NULL;

        return bootsim_state_text(s, a, &x) == 0 && bootsim_state_text(s, b, &y) == 0 && streq(x, y);
}

/* One power-on on both simulators; false (and a FAIL) on any difference. */
static bool compare_power_on(BootScheme s, const char *cdir, const char *sdir) {
        char sh_out[256], c_out[64];
        int sh_rc, r;
        double t0;
        bool same;

        if (bootsim_copy(s, cdir, sdir) < 0) {
                printf("# bootsim_copy %s → %s failed\n", cdir, sdir);
                unit_case_failures++;
                return false;
        }
        sh_rc = shell_boot(s, sdir, sh_out);
        t0 = now();
        r = bootsim_power_on(s, cdir, c_out);
        c_seconds[s] += now() - t0;
        compared[s]++;
        same = same_state(s, cdir, sdir);
        seq_add("  boot→%s", r < 0 ? "(error)" : *c_out ? c_out : "none");
        nothing[s] += r == 0 && !*c_out;
        broken[s] += r < 0;
        if ((sh_rc == 0) == (r == 0) && (sh_rc != 0 || streq(sh_out, c_out)) && same)
                return true;
        printf("# %s: MISMATCH at power-on %u: shell exit %d '%s', C %d '%s', storage %s\n", boot_scheme_name(s),
               compared[s], sh_rc, sh_out, r, c_out, same ? "equal" : "DIFFERS");
        printf("#   history:%s\n", seq);
        fflush(stdout);
        run("sed 's/^/#   shell stderr: /' '%s/sim.err'", sdir);
        show_storage(s, cdir);
        show_storage(s, sdir);
        unit_case_failures++;
        return false;
}

static void make_conf_backend(BootScheme s, const char *dir, Bootloader **ret) {
        _cleanup_free_ char *conf = NULL;
        int r = bootsim_setup(s, dir, top, &conf);
        char note[sizeof(tmpdir) + 16];

        *ret = NULL;
        if (r < 0) {
                printf("# bootsim_setup(%s): %s\n", boot_scheme_name(s), strerror(-r));
                unit_case_failures++;
                return;
        }
        snprintf(note, sizeof(note), "%s/efi-trial", tmpdir);
        unlink(note); /* the efi backend's note in the data directory */
        *ret = open_backend(conf);
}

/* --- setup ---------------------------------------------------------------------------------- */

static void check_setup(BootScheme s) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char dir[PATH_MAX], ref[PATH_MAX + 64], mine[PATH_MAX + 64];

        make_dir(dir, sizeof(dir), s, "setup");
        make_conf_backend(s, dir, &b);
        if (!b)
                return;
        CHECK_PRIMARY(b, "A");
        CHECK_STATE(b, "A", BOOT_STATUS_GOOD);
        CHECK_STATE(b, "B", BOOT_STATUS_GOOD);
        CHECK_TRIAL(b, "(none)");
        snprintf(mine, sizeof(mine), "%s/%s", dir, bootsim_storage_file(s));
        snprintf(ref, sizeof(ref), "%s/reference", dir);
        /* what the existing tests make with the real tools */
        switch (s) {
        case BOOT_SCHEME_UBOOT:
                CHECK_EQ(run("printf 'BOOT_ORDER=A B\\nBOOT_A_LEFT=3\\nBOOT_B_LEFT=3\\n' > '%s.txt' && "
                             "mkenvimage -r -s 0x4000 -o '%s.copy' '%s.txt' && cat '%s.copy' '%s.copy' > '%s'",
                             ref, ref, ref, ref, ref, ref), 0);
                break;
        case BOOT_SCHEME_UBOOT_BOOTCOUNT:
                CHECK_EQ(run("mkenvimage -r -s 0x4000 -o '%s.copy' '%s/packaging/bootloader/uboot-bootcount.env' && "
                             "cat '%s.copy' '%s.copy' > '%s'", ref, top, ref, ref, ref), 0);
                break;
        case BOOT_SCHEME_GRUB:
                CHECK_EQ(run("grub-editenv '%s' create && grub-editenv '%s' set ORDER='A B' A_OK=1 A_TRY=0 B_OK=1 B_TRY=0",
                             ref, ref), 0);
                break;
        default:
                return; /* the stand-ins' files are the unit tests' FRESH_STATE texts */
        }
        CHECK(same_file(mine, ref));
}

TEST(setup_uboot) { check_setup(BOOT_SCHEME_UBOOT); }
TEST(setup_uboot_bootcount) { check_setup(BOOT_SCHEME_UBOOT_BOOTCOUNT); }
TEST(setup_grub) { check_setup(BOOT_SCHEME_GRUB); }
TEST(setup_barebox) { check_setup(BOOT_SCHEME_BAREBOX); }
TEST(setup_efi) { check_setup(BOOT_SCHEME_EFI); }

/* --- random backend histories ------------------------------------------------------------------ */

static void backend_history(BootScheme s) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char cdir[PATH_MAX], sdir[PATH_MAX];

        make_dir(cdir, sizeof(cdir), s, "c");
        make_dir(sdir, sizeof(sdir), s, "shell");
        make_conf_backend(s, cdir, &b);
        if (!b)
                return;
        rng = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t) s << 32 | 0x5eed);
        seq_reset();
        for (unsigned step = 0; step < BACKEND_STEPS; step++) {
                unsigned k = rnd() % 10;
                const char *name = rnd() & 1 ? "B" : "A";
                UError err = UERROR_NULL;
                int r;

                if (k < 4) {
                        if (!compare_power_on(s, cdir, sdir))
                                return;
                        continue;
                }
                mutations[s]++;
                if (k < 7) {
                        bool trial = k == 4;
                        r = b->ops->set_primary(b->data, name, trial, &err);
                        seq_add("  primary(%s%s)", name, trial ? ",trial" : "");
                } else {
                        BootStatus st = k == 9 ? BOOT_STATUS_BAD : BOOT_STATUS_GOOD;
                        r = b->ops->set_state(b->data, name, st, &err);
                        seq_add("  %s(%s)", st == BOOT_STATUS_BAD ? "bad" : "good", name);
                }
                if (r < 0) {
                        refused[s]++;
                        seq_add("[refused]");
                }
        }
}

TEST(backend_uboot) { backend_history(BOOT_SCHEME_UBOOT); }
TEST(backend_uboot_bootcount) { backend_history(BOOT_SCHEME_UBOOT_BOOTCOUNT); }
TEST(backend_grub) { backend_history(BOOT_SCHEME_GRUB); }
TEST(backend_barebox) { backend_history(BOOT_SCHEME_BAREBOX); }
TEST(backend_efi) { backend_history(BOOT_SCHEME_EFI); }

/* --- odd storage --------------------------------------------------------------------------- */

/* One odd edit of the storage in 'dir' with the real tools (U-Boot, GRUB) or as a whole new
 * stand-in file (barebox, EFI). */
static void odd_edit(BootScheme s, const char *dir) {
        static const char *const uboot_order[] = { "A B", "B A", "A", "B", "", "  B   A ", "A A", "C A", "A C B" };
        static const char *const uboot_left[] = { "(unset)", "", "0", "1", "2", "3", "9", "10", "0x5", "0X2", "010",
                                                  "08", "-1", "3x", " 3", "a", "ff", "0x", "0x0X3", "18446744073709551617" };
        static const char *const bc_num[] = { "(unset)", "", "0", "1", "2", "5", "1x", "x", "007", "-1",
                                              "18446744073709551617", "9223372036854775807" };
        static const char *const bc_slot[] = { "(unset)", "A", "B", "C" };
        static const char *const grub_order[] = { "A B", "B A", "A", "B", "", "C A", "B  A", "A\tB", "B\nA" };
        static const char *const grub_flag[] = { "(unset)", "", "0", "1", "01", "0x1", " 1", "1x", "2", "-1", "x",
                                                 "00", "1\nB_OK=1", "1\\", "0x", "0", "1", "0", "1", "1", "1" };
        static const char *const bb_num[] = { "0", "1", "3", "10", "20", "21", "010", "08", " 5", "+2", "x", "", "-1",
                                              "4294967297" };
        static const char *const efi_next[] = { NULL, "0000", "0001", "0002", "0003", "" };
        static const char *const efi_order[] = { NULL, "0001,0002,0000", "0002,0001", "", ",0001", "0003,0002",
                                                 "0002,,0001", "0001,", "0000" };
        static const char *const efi_active[] = { "0", "1", "1", "1", "x" };
        const char *name, *value;

        switch (s) {
        case BOOT_SCHEME_UBOOT:
        case BOOT_SCHEME_UBOOT_BOOTCOUNT:
                if (s == BOOT_SCHEME_UBOOT) {
                        static const char *const names[] = { "BOOT_ORDER", "BOOT_A_LEFT", "BOOT_B_LEFT", "BOOT_C_LEFT" };
                        name = PICK(names);
                        value = streq(name, "BOOT_ORDER") ? PICK(uboot_order) : PICK(uboot_left);
                } else {
                        static const char *const names[] = { "upgrade_available", "bootcount", "bootlimit",
                                                             "update1_slot", "update1_altslot" };
                        name = PICK(names);
                        value = strstr(name, "slot") ? PICK(bc_slot) : PICK(bc_num);
                }
                if (rnd() % 12 == 0) { /* a torn or decayed copy: its CRC fails, libubootenv uses the other */
                        unsigned copy = rnd() % 2, off = copy * 0x4000 + 5 + rnd() % 64;
                        seq_add("  corrupt(copy %u @%u)", copy, off);
                        run("printf 'zz' | dd of='%s/uboot.env' bs=1 seek=%u conv=notrunc status=none", dir, off);
                        break;
                }
                seq_add("  %s=%s", name, value);
                if (streq(value, "(unset)"))
                        run("fw_setenv -c '%s/fw_env.config' -- '%s' 2>/dev/null", dir, name);
                else
                        run("fw_setenv -c '%s/fw_env.config' -- '%s' '%s' 2>/dev/null", dir, name, value);
                break;
        case BOOT_SCHEME_GRUB: {
                static const char *const names[] = { "ORDER", "A_OK", "A_TRY", "B_OK", "B_TRY" };

                if (rnd() % 12 == 0) {
                        /* FILL the block up to 0..7 free bytes: a save_env that adds a variable
                         * may then not fit */
                        const char *drop = rnd() % 2 ? "" : rnd() % 2 ? "A_TRY" : "B_TRY";
                        char path[PATH_MAX + 32], block[4096];
                        size_t n, pad = 0;

                        seq_add("  unset FILL %s", drop);
                        run("grub-editenv '%s/grubenv' unset FILL %s", dir, drop);
                        snprintf(path, sizeof(path), "%s/grubenv", dir);
                        n = file_bytes(path, block, sizeof(block));
                        while (pad < n && block[n - 1 - pad] == '#')
                                pad++;
                        n = pad > 14 ? pad - 6 - (rnd() >> 8) % 8 : 1;
                        seq_add("  FILL=<%zu x>", n);
                        run("grub-editenv '%s/grubenv' set FILL=$(head -c %zu /dev/zero | tr '\\0' x) 2>/dev/null", dir, n);
                        break;
                }
                if (rnd() % 4 == 0) { /* a full block stays broken until FILL goes */
                        seq_add("  unset FILL");
                        run("grub-editenv '%s/grubenv' unset FILL", dir);
                        break;
                }
                name = PICK(names);
                value = streq(name, "ORDER") ? PICK(grub_order) : PICK(grub_flag);
                seq_add("  %s=%s", name, value);
                if (streq(value, "(unset)"))
                        run("grub-editenv '%s/grubenv' unset '%s'", dir, name);
                else
                        run("grub-editenv '%s/grubenv' set '%s=%s' 2>/dev/null", dir, name, value); /* may be full */
                break;
        }
        case BOOT_SCHEME_BAREBOX: {
                char text[1024] = "", path[PATH_MAX + 32];
                size_t n = 0;

                for (const char *t = "AB"; *t; t++) {
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "bootstate.%c.priority=%s\n", *t, PICK(bb_num));
                        if (rnd() % 8)
                                n += (size_t) snprintf(text + n, sizeof(text) - n, "bootstate.%c.remaining_attempts=%s\n",
                                                       *t, PICK(bb_num));
                }
                if (rnd() % 4 == 0)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "bootstate.A.priority=%s\njunk line\n", PICK(bb_num));
                snprintf(text + n, sizeof(text) - n, "bootstate.attempts_locked=%s\nbootstate.last_chosen=0\n",
                         rnd() % 4 ? "0" : PICK(bb_num));
                snprintf(path, sizeof(path), "%s/barebox.state", dir);
                write_file(path, text);
                seq_add("  state=[%s]", text);
                break;
        }
        default: {
                char text[2048] = "", path[PATH_MAX + 32];
                const char *next = PICK(efi_next), *order = PICK(efi_order);
                size_t n = 0;

                if (rnd() % 2)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "current 0001\n");
                if (next)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "next %s\n", next);
                n += (size_t) snprintf(text + n, sizeof(text) - n, "timeout 1\n");
                if (order)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "order %s\n", order);
                n += (size_t) snprintf(text + n, sizeof(text) - n, "entry 0000 %s EFI Internal Shell\tFvFile(x)\n",
                                       PICK(efi_active));
                n += (size_t) snprintf(text + n, sizeof(text) - n, "entry 0001 %s A\tHD(2)/File(\\EFI\\a.efi)\n", PICK(efi_active));
                if (rnd() % 6)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "entry 0002 %s B\tHD(3)\n", PICK(efi_active));
                if (rnd() % 6 == 0)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "entry 0001 %s A2\tdup\ngarbage\n", PICK(efi_active));
                snprintf(path, sizeof(path), "%s/efi.state", dir);
                write_file(path, text);
                seq_add("  state=[%s]", text);
                break;
        }
        }
}

static void odd_values(BootScheme s) {
        _cleanup_free_ char *conf = NULL;
        char cdir[PATH_MAX], sdir[PATH_MAX];
        unsigned start = compared[s], start_nothing = nothing[s], start_broken = broken[s];

        make_dir(cdir, sizeof(cdir), s, "odd");
        make_dir(sdir, sizeof(sdir), s, "odd-shell");
        if (bootsim_setup(s, cdir, top, &conf) < 0) {
                unit_case_failures++;
                return;
        }
        rng = UINT64_C(0x243f6a8885a308d3) ^ ((uint64_t) s << 40 | 0x0dd);
        seq_reset();
        for (unsigned round = 0; round < ODD_ROUNDS; round++) {
                unsigned edits = 1 + rnd() % 3, boots = 1 + rnd() % 3;

                for (unsigned i = 0; i < edits; i++)
                        odd_edit(s, cdir);
                for (unsigned i = 0; i < boots; i++)
                        if (!compare_power_on(s, cdir, sdir))
                                return;
                if (s == BOOT_SCHEME_UBOOT || s == BOOT_SCHEME_UBOOT_BOOTCOUNT) {
                        /* both copies corrupted: nothing repairs that board, start a new one */
                        _cleanup_free_ char *text = NULL, *c2 = NULL;

                        if (bootsim_state_text(s, cdir, &text) == 0 && strstr(text, "crc BAD") &&
                            strstr(strstr(text, "crc BAD") + 1, "crc BAD")) {
                                seq_add("  (new board)");
                                if (bootsim_setup(s, cdir, top, &c2) < 0) {
                                        unit_case_failures++;
                                        return;
                                }
                        }
                }
        }
        printf("# %s odd values: %u power-ons compared (%u booted nothing, %u broken board)\n", boot_scheme_name(s),
               compared[s] - start, nothing[s] - start_nothing, broken[s] - start_broken);
}

TEST(odd_uboot) { odd_values(BOOT_SCHEME_UBOOT); }
TEST(odd_uboot_bootcount) { odd_values(BOOT_SCHEME_UBOOT_BOOTCOUNT); }
TEST(odd_grub) { odd_values(BOOT_SCHEME_GRUB); }
TEST(odd_barebox) { odd_values(BOOT_SCHEME_BAREBOX); }
TEST(odd_efi) { odd_values(BOOT_SCHEME_EFI); }

/* --- timing -------------------------------------------------------------------------------------- */

/* Wall time per power-on from a fresh device, in 'base' (the file system matters: the U-Boot
 * ports fsync() in libubootenv's store). */
static void timing_in(const char *base) {
        for (BootScheme s = 0; s < _BOOT_SCHEME_MAX; s++) {
                _cleanup_free_ char *conf = NULL;
                char dir[PATH_MAX], name[64];
                unsigned booted = 0;
                double t0;

                snprintf(dir, sizeof(dir), "%s/%s-timing", base, boot_scheme_name(s));
                run("rm -rf '%s'", dir);
                if (mkdir(dir, 0755) < 0 || bootsim_setup(s, dir, top, &conf) < 0) {
                        unit_case_failures++;
                        continue;
                }
                t0 = now();
                for (unsigned i = 0; i < TIMING_POWER_ONS; i++) {
                        int r = bootsim_power_on(s, dir, name);
                        CHECK_EQ(r, 0);
                        booted += *name != '\0';
                }
                printf("# %-16s %7.1f us per power-on in %s (%u power-ons, %u booted a slot)\n", boot_scheme_name(s),
                       (now() - t0) / TIMING_POWER_ONS * 1e6, base, TIMING_POWER_ONS, booted);
                run("rm -rf '%s'", dir);
        }
}

TEST(timing) {
        char shm[64];

        timing_in(tmpdir);
        snprintf(shm, sizeof(shm), "/dev/shm/update1-bootsim.%d", (int) getpid());
        if (mkdir(shm, 0700) == 0) { /* tmpfs: what fsync() costs */
                timing_in(shm);
                rmdir(shm);
        }
}

UNIT_MAIN_BEGIN("test-bootsim")
        /* the simulators' and stand-ins' test hooks would change what they do */
        unsetenv("BAREBOX_STATE_FAIL");
        unsetenv("BAREBOX_STATE_LOG");
        unsetenv("BAREBOX_STATE_NAME");
        unsetenv("BAREBOX_SIM_DEFAULT_ATTEMPTS");
        unsetenv("EFIBOOTMGR_FAIL");
        unsetenv("EFIBOOTMGR_LOG");
        test_setup("bootsim");
        RUN(setup_uboot);
        RUN(setup_uboot_bootcount);
        RUN(setup_grub);
        RUN(setup_barebox);
        RUN(setup_efi);
        RUN(backend_uboot);
        RUN(backend_uboot_bootcount);
        RUN(backend_grub);
        RUN(backend_barebox);
        RUN(backend_efi);
        for (BootScheme s = 0; s < _BOOT_SCHEME_MAX; s++)
                printf("# %-16s backend history: %u mutations (%u refused), %u power-ons compared (%u booted nothing), C %.1f us per power-on\n",
                       boot_scheme_name(s), mutations[s], refused[s], compared[s], nothing[s],
                       compared[s] ? c_seconds[s] / compared[s] * 1e6 : 0.0);
        RUN(odd_uboot);
        RUN(odd_uboot_bootcount);
        RUN(odd_grub);
        RUN(odd_barebox);
        RUN(odd_efi);
        RUN(timing);
UNIT_MAIN_END
