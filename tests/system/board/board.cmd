# SPDX-License-Identifier: LGPL-2.1-or-later
# Board glue of the emulated qemu_arm64 test board (tests/system/), compiled to board.scr on
# the FAT boot partition and run by the board's bootcmd (flash-env.txt).  It makes U-Boot's
# environment storage "a redundant env file on FAT" and then runs our shipped, UNMODIFIED
# A/B script (packaging/bootloader/uboot-boot.cmd, compiled to boot.scr).
#
# Why: Debian's qemu_arm64 U-Boot keeps its env in pflash, and its saveenv there is broken
# (U-Boot's CFI geometry does not match QEMU's; docs/system-test.md).  The board's flash env is
# therefore a read-only "board default env", and the A/B state lives in /uboot.env on the FAT
# partition, which updated reads and writes through libubootenv (fw_env.config:
# "/boot/firmware/uboot.env 0x0000 0x4000 0x4000 1" + the same file at 0x4000: two redundant
# copies, each CRC32 + flags byte + data, flags incremented on every write).
#
# What this glue adds around uboot-boot.cmd:
#  [G1] load:   read uboot.env, choose the valid copy with the newer flags byte exactly as
#               libubootenv does, and import BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT,
#               UPDATE1_TRIAL from it (a listed variable missing in the file is deleted).
#  [G2] save:   u1_save writes those four variables into the OTHER copy with flags + 1 and
#               writes the file back whole (U-Boot's fatwrite truncates the file at the end
#               of what it writes, so a write of one copy at its offset would cut off copy 1;
#               the current copy is rewritten with its own bytes, in place).
#               The shipped script's own `saveenv` then only fails on the read-only flash.
#  [G3] boot:   update1_boot_A / update1_boot_B (the commands uboot-boot.cmd runs for the
#               chosen slot) first run u1_save (uboot-boot.cmd step [6] "persist the
#               decremented counter before booting"), then ext4load the slot's
#               /boot/Image and /boot/initrd.img and booti.
#  [G4] re-arm: uboot-boot.cmd step [8] (no slot has attempts left: re-arm all to 3,
#               saveenv, reset) would lose the re-armed counters here because its saveenv
#               cannot persist.  The glue does step [8] itself, with u1_save, before
#               running the script, so the script never reaches [8] on this board.
# Markers "BOARD: ..." go to the serial console for tests/system/run.sh.

setenv u1_buf 0x4f000000
setenv u1_c0 0x4f000000
setenv u1_c1 0x4f004000
setenv u1_exp 0x4f010000
setenv u1_scr 0x4f100000
setenv u1_cur
setenv u1_f

# u1_unpack: the redundant copy at ${u1_a} (CRC32, flags byte, data) as CRC32 + data at
# ${u1_exp}, the layout "env import -c" checks and imports.
setenv u1_unpack '
	cp.b ${u1_a} ${u1_exp} 4;
	setexpr u1_d ${u1_a} + 5;
	setexpr u1_e ${u1_exp} + 4;
	cp.b ${u1_d} ${u1_e} 0x3ffb'

# [G1] load both copies (0x8000 bytes); a copy is valid if "env import -c" accepts its CRC32
# (importing only the variable u1_probe, which is never there: nothing changes).
if fatload virtio 0:1 ${u1_buf} uboot.env 0x8000; then
	for c in 0 1; do
		setenv u1_get "setenv u1_a \${u1_c${c}}"
		run u1_get
		run u1_unpack
		if env import -c ${u1_exp} 0x3fff u1_probe; then
			setexpr u1_fa ${u1_a} + 4
			setexpr.b u1_f${c} *${u1_fa}
			setenv u1_ok${c} 1
		else
			setenv u1_ok${c}
			echo "BOARD: uboot.env copy ${c} has a bad CRC"
		fi
	done
	# libubootenv's choice: the only valid copy, else the higher flags, 0xff -> 0 wraps.
	if test -n "${u1_ok0}" && test -n "${u1_ok1}"; then
		setenv u1_cur 0
		if itest ${u1_f1} > ${u1_f0}; then setenv u1_cur 1; fi
		if itest ${u1_f0} == ff && itest ${u1_f1} == 0; then setenv u1_cur 1; fi
		if itest ${u1_f1} == ff && itest ${u1_f0} == 0; then setenv u1_cur 0; fi
	elif test -n "${u1_ok0}"; then
		setenv u1_cur 0
	elif test -n "${u1_ok1}"; then
		setenv u1_cur 1
	fi
fi
if test -z "${u1_cur}"; then
	echo "BOARD: no valid copy in uboot.env: cannot boot"
	poweroff
fi
setenv u1_get "setenv u1_a \${u1_c${u1_cur}}; setenv u1_f \${u1_f${u1_cur}}"
run u1_get
run u1_unpack
env import -c ${u1_exp} 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT UPDATE1_TRIAL
echo "BOARD: env copy ${u1_cur} (flags ${u1_f}): BOOT_ORDER=${BOOT_ORDER} A_LEFT=${BOOT_A_LEFT} B_LEFT=${BOOT_B_LEFT} UPDATE1_TRIAL=${UPDATE1_TRIAL}"

# [G2] save into the other copy with flags + 1.
setenv u1_save '
	setexpr u1_f ${u1_f} + 1;
	setexpr u1_f ${u1_f} % 100;
	if test "${u1_cur}" = 0; then setenv u1_cur 1; setenv u1_a ${u1_c1};
	else setenv u1_cur 0; setenv u1_a ${u1_c0}; fi;
	env export -c -s 0x3fff ${u1_exp} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT UPDATE1_TRIAL;
	cp.b ${u1_exp} ${u1_a} 4;
	setexpr u1_fa ${u1_a} + 4;
	mw.b ${u1_fa} ${u1_f};
	setexpr u1_d ${u1_a} + 5;
	setexpr u1_e ${u1_exp} + 4;
	cp.b ${u1_e} ${u1_d} 0x3ffb;
	if fatwrite virtio 0:1 ${u1_buf} uboot.env 0x8000; then
		echo "BOARD: saved env copy ${u1_cur} (flags ${u1_f}): BOOT_ORDER=${BOOT_ORDER} A_LEFT=${BOOT_A_LEFT} B_LEFT=${BOOT_B_LEFT}";
	else
		echo "BOARD: saving uboot.env FAILED";
	fi'

# [G3] the per-slot boot commands uboot-boot.cmd runs (bootargs already has update1.slot=).
setenv update1_boot_A 'run u1_save; setenv u1_part 2; setenv u1_root rootfs-a; run u1_boot'
setenv update1_boot_B 'run u1_save; setenv u1_part 3; setenv u1_root rootfs-b; run u1_boot'
setenv u1_boot 'setenv bootargs "${bootargs} root=PARTLABEL=${u1_root}"; echo "BOARD: booting partition ${u1_part}: ${bootargs}"; ext4load virtio 0:${u1_part} ${kernel_addr_r} /boot/Image && ext4load virtio 0:${u1_part} ${ramdisk_addr_r} /boot/initrd.img && booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}'

# [G4] uboot-boot.cmd step [8], persisted.
setenv u1_any
for x in ${BOOT_ORDER}; do
	setenv u1_get "setenv u1_l \${BOOT_${x}_LEFT}"
	run u1_get
	if test "${u1_l}" -gt 0; then setenv u1_any 1; fi
done
if test -z "${u1_any}"; then
	echo "BOARD: no slot in BOOT_ORDER (${BOOT_ORDER}) has attempts left, re-arming all"
	for x in ${BOOT_ORDER}; do
		setenv BOOT_${x}_LEFT 3
	done
	run u1_save
	reset
fi

# The shipped script.
if fatload virtio 0:1 ${u1_scr} boot.scr; then
	source ${u1_scr}
fi
echo "BOARD: boot.scr failed"
poweroff
