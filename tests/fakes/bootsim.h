/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* In-process C ports of the shell boot simulators in tests/lib/ (boot-sim.sh,
 * boot-sim-bootcount.sh, boot-sim-grub.sh, boot-sim-barebox.sh, boot-sim-efi.sh): one
 * "power-on" applies the bootloader's boot-time logic to the storage the daemon's backend
 * writes, without spawning processes, so a model test can afford tens of thousands of them.
 * The shell simulators stay the reviewed reference; tests/model/test-bootsim.c checks these
 * ports against them (result, and storage through bootsim_state_text()) on random backend
 * histories and on storage with odd values.  Files: bootsim.c (helpers, setup, state text),
 * bootsim-uboot.c, bootsim-files.c (GRUB, barebox, EFI), bootsim-internal.h.
 *
 * Storage in the scheme's directory (bootsim_storage_file() names the file that holds the
 * boot state; snapshot that one, compare or hash bootsim_state_text()):
 *   uboot, uboot-bootcount  uboot.env (two redundant 0x4000 copies) + fw_env.config naming it
 *                           (absolute path: copy with bootsim_copy(), not cp)
 *   grub                    grubenv (the 1024-byte block)
 *   barebox                 barebox.state (the barebox-state stand-in's "VAR=VALUE" file)
 *   efi                     efi.state (the efibootmgr stand-in's file)
 *
 * Runtime environment: the barebox and efi backends of the daemon run the tools
 * "barebox-state" / "efibootmgr" found on PATH, here the stand-ins in
 * <top>/tests/fakes/stand-ins, which find their state file through an environment variable.
 * bootsim_export_env() sets, in this process (inherited by the tools the daemon spawns):
 *   PATH                <top>/tests/fakes/stand-ins prepended (once)         barebox, efi
 *   BAREBOX_STATE_FILE  <dir>/barebox.state                                barebox
 *   EFIBOOTMGR_STATE    <dir>/efi.state                                    efi
 * bootsim_setup() calls it for its 'dir'; call it again when the daemon should work on
 * another directory (e.g. a copy).  BAREBOX_STATE_NAME must stay unset (the conf names no
 * state, so the stand-in's default "state" is used).  bootsim_power_on() itself never reads
 * the environment: it works on 'dir' only.  The U-Boot and GRUB schemes need nothing
 * (their paths are in the conf; for U-Boot 'dir' must not contain white space, which
 * fw_env.config cannot express).
 *
 * Where the ports deliberately differ from the shell simulators (none of it reachable through
 * the daemon's backends): bash's pathname expansion of the words of BOOT_ORDER / ORDER is not
 * done; empty keys in the scripts' associative arrays (malformed stand-in lines) are not
 * modelled; a missing grubenv or efi.state is -ENOENT (grub-editenv list and the EFI script
 * would create one); the test hooks BAREBOX_STATE_FAIL, EFIBOOTMGR_FAIL and
 * BAREBOX_SIM_DEFAULT_ATTEMPTS are ignored (so injecting faults into the daemon's tools does
 * not break the bootloader); stand-in files are rewritten in place, not replaced (same bytes,
 * mode kept, ~50x faster on ext4); nothing but libubootenv's store is fsync()ed.
 *
 * Where the shell simulators (and so the ports) differ from the real bootloaders, noted while
 * porting:
 *   barebox  bootchooser (common/bootchooser.c) re-arms only when the attempts of ALL targets
 *            sum to 0, and then only targets with priority > 0; the simulator re-arms when no
 *            enabled target has attempts left, and re-arms every target, so a slot marked bad
 *            (priority 0, attempts 0) gets remaining_attempts=3 where barebox leaves 0 (the
 *            choice is the same for states the daemon writes).  bootchooser also saves
 *            last_chosen (the target's id) on every boot; the simulator never changes it.
 *   efi      EDK2's boot manager deletes BootNext before loading it, also when it names no
 *            existing entry; the simulator then keeps it.  BootCurrent is volatile in
 *            firmware, persisted in the state file here.
 *   grub     the simulator reads variables through `grub-editenv list` lines, so a value with
 *            an (escaped) newline is cut there, and the rest can look like another variable;
 *            GRUB's load_env takes the whole value.
 *   u-boot   with both copies invalid U-Boot boots its built-in default env (and saves it);
 *            the simulators call that a broken board.  The bootcount simulator counts in
 *            signed 64 bits where U-Boot reads upgrade_available into an int and prints
 *            counters as unsigned long: different only for values >= 2^31.
 */

#include <stddef.h>

typedef enum BootScheme {
        BOOT_SCHEME_UBOOT,           /* bootloader=uboot, [uboot] scheme=rauc (default) */
        BOOT_SCHEME_UBOOT_BOOTCOUNT, /* bootloader=uboot, [uboot] scheme=bootcount */
        BOOT_SCHEME_GRUB,
        BOOT_SCHEME_BAREBOX,
        BOOT_SCHEME_EFI,
        _BOOT_SCHEME_MAX,
} BootScheme;

/* "uboot", "uboot-bootcount", "grub", "barebox", "efi"; NULL when out of range. */
const char *boot_scheme_name(BootScheme s);

/* Creates in 'dir' (exists, empty) the bootloader storage for two slots with bootnames A and B
 * as a fresh device has it (A primary and good, B good behind it — exactly the initial state
 * tests/lib/sandbox.sh and tests/unit/test-bootloader-*.c set up) and returns (malloc'd) the
 * system.conf text that goes after "[system]\ncompatible=...\n": the bootloader= line plus
 * any [uboot]/[grub]/[barebox] section, absolute paths into 'dir', ending in a newline.  It
 * may open a section, so further [system] keys (data-directory=, ...) go BEFORE it.
 * Stand-in tools are taken from 'top'/tests/fakes/stand-ins; the U-Boot bootcount env is made
 * from 'top'/packaging/bootloader/uboot-bootcount.env.  Also calls bootsim_export_env().
 * Returns 0 or a negative errno. */
int bootsim_setup(BootScheme s, const char *dir, const char *top, char **ret_conf);

/* One power-on: applies the scheme's boot-time logic to the storage in 'dir' exactly as the
 * shell simulator does (counter decrements, BootNext consumption, re-arming when nothing is
 * left, ...), writes back what the real bootloader would write, and returns the bootname booted
 * in ret_bootname, or "" when the scheme found nothing bootable (the board resets; a later
 * power-on may boot again after a re-arm).  Returns 0, or a negative errno when the storage
 * cannot be read or written (a broken board): then ret_bootname is "" and the storage is
 * left as the shell simulator would leave it (for U-Boot bootcount, a first saveenv may have
 * happened before a failing second one).  -ENAMETOOLONG: the chosen name does not fit in 64
 * bytes (no slot of ours; the storage has been written already).
 * Writes are not fsync()ed (speed; power cuts are not simulated inside a power-on). */
int bootsim_power_on(BootScheme s, const char *dir, char ret_bootname[static 64]);

/* --- helpers ------------------------------------------------------------------------------- */

/* Sets PATH / BAREBOX_STATE_FILE / EFIBOOTMGR_STATE for the daemon's backend on 'dir' (see
 * above).  No-op for uboot, uboot-bootcount and grub.  0 or negative errno. */
int bootsim_export_env(BootScheme s, const char *dir, const char *top);

/* Basename of the file in 'dir' that holds the boot state ("uboot.env", "grubenv",
 * "barebox.state", "efi.state"). */
const char *bootsim_storage_file(BootScheme s);

/* The boot state in 'dir' as canonical text (malloc'd), for comparing and hashing states.
 * Compare this, not the raw uboot.env: libubootenv 0.3.2 fills the env image from uninitialized
 * malloc() memory after the terminator (the CRC covers it), so two stores of the same variables
 * differ in bytes that no reader ever uses.  U-Boot: per copy "copy N: crc ok|BAD, flags F"
 * and, if the CRC is ok, its "name=value" strings up to the terminator, one a line; other
 * schemes: the storage file's bytes.  In both, '\\' and bytes outside 0x20..0x7e other than
 * '\n' are escaped as \\ and \xNN, so the text is exact.  0 or negative errno. */
int bootsim_state_text(BootScheme s, const char *dir, char **ret_text);

/* Copies the storage of 'from' into the existing directory 'to' so that it is an independent,
 * identical device (for U-Boot a fw_env.config naming to/uboot.env is written).  0 or -errno. */
int bootsim_copy(BootScheme s, const char *from, const char *to);
