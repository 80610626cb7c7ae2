# SPDX-License-Identifier: LGPL-2.1-or-later
# Update1 A/B boot script for U-Boot's hush shell, using RAUC's variables, so updated (through
# libubootenv) and this script share the state in the U-Boot environment:
#
#   BOOT_ORDER       bootnames in boot order, e.g. "A B"                  written by updated
#   BOOT_<x>_LEFT    boot attempts left for slot x, a decimal 0..9        written by updated,
#                                                                         decremented here
#   UPDATE1_TRIAL    updated's own note of a slot on trial; not read here
#
# Logic (the same as RAUC's example script, generalised to any bootnames):
#   for each x in BOOT_ORDER: the first x with BOOT_x_LEFT > 0 is chosen, its counter is
#   decremented and saved *before* booting it (so a slot that never comes up runs out of
#   attempts and the next one in the order boots: the fallback), and the kernel gets
#   "update1.slot=x".  If no slot has attempts left, all counters in the order are re-armed
#   to 3, saved, and the board resets.
# tests/fakes/boot-sim.sh applies exactly this logic to an env file; the [n] marks below are
# the matching steps there.  Keep the two in step.
#
# Build:  mkimage -A arm64 -T script -C none -n "Update1 A/B" -d uboot-boot.cmd boot.scr
# and make the board's bootcmd load boot.scr and "source" it.
#
# The BOARD environment must provide (default env via CONFIG_EXTRA_ENV_SETTINGS, or set
# once with fw_setenv):
#   BOOT_ORDER, BOOT_<x>_LEFT   the initial state, e.g. BOOT_ORDER=A B, BOOT_A_LEFT=3,
#                               BOOT_B_LEFT=3 (an empty BOOT_ORDER would reset forever)
#   update1_bootargs            kernel arguments common to all slots, e.g.
#                               "console=ttyS0,115200 rootwait ro"
#   update1_boot_<x>            for every bootname x: the commands that load slot x's kernel
#                               (initramfs, device tree) and boot it, adding the slot's root=
#                               to ${bootargs}, e.g.
#     update1_boot_A=setenv bootargs "${bootargs} root=PARTLABEL=rootfs-a"; ext4load mmc 0:2 ${kernel_addr_r} /boot/Image; booti ${kernel_addr_r} - ${fdtcontroladdr}
#     update1_boot_B=setenv bootargs "${bootargs} root=PARTLABEL=rootfs-b"; ext4load mmc 0:3 ${kernel_addr_r} /boot/Image; booti ${kernel_addr_r} - ${fdtcontroladdr}
#
# Counters are single digits on purpose: setexpr computes in hexadecimal and stores its
# result without "0x", while test -gt reads decimal; for 0..9 both agree (updated's
# [uboot] boot-attempts= and trial-attempts= are limited to 1..9 for this reason).

# [1] Nothing chosen yet.  update1_* scratch variables are deleted again before saveenv.
setenv update1_slot
# [2] Walk BOOT_ORDER (split on white space) in order.
for x in ${BOOT_ORDER}; do
	if test -z "${update1_slot}"; then
		# [3] hush cannot expand ${BOOT_${x}_LEFT} in one go: build the command, then run it.
		setenv update1_get "setenv update1_left \${BOOT_${x}_LEFT}"
		run update1_get
		# [4] test -gt parses decimal; an unset or non-numeric counter counts as 0.
		if test "${update1_left}" -gt 0; then
			# [5] One attempt used up, before booting.
			setexpr BOOT_${x}_LEFT ${update1_left} - 1
			setenv update1_slot ${x}
		fi
	fi
done

if test -n "${update1_slot}"; then
	# [6] Persist the decremented counter, and nothing else: the choice moves to a hush
	#     local variable (not part of the environment) and the scratch variables go.
	update1_chosen=${update1_slot}
	setenv update1_get
	setenv update1_left
	setenv update1_slot
	saveenv
	# [7] Boot it with update1.slot= on the kernel command line.  The board command only
	#     returns if loading or booting failed; the attempt is already counted, so a reset
	#     tries again and eventually falls back to the next slot in the order.
	setenv bootargs "${update1_bootargs} update1.slot=${update1_chosen}"
	run update1_boot_${update1_chosen}
	echo "Update1: booting slot ${update1_chosen} failed, resetting"
	reset
else
	# [8] No slot has attempts left: re-arm every slot in the order and start over.
	echo "Update1: no slot in BOOT_ORDER (${BOOT_ORDER}) has attempts left, re-arming all"
	for x in ${BOOT_ORDER}; do
		setenv BOOT_${x}_LEFT 3
	done
	setenv update1_get
	setenv update1_left
	setenv update1_slot
	saveenv
	reset
fi
