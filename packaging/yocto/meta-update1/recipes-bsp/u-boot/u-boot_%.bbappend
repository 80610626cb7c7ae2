# SPDX-License-Identifier: LGPL-2.1-or-later
# Example: U-Boot boots through Update1's A/B script, and fw_printenv/fw_setenv (libubootenv,
# used by updated) find the environment through /etc/fw_env.config.
#
# The boot script is the one Update1 ships, packaging/bootloader/uboot-boot.cmd of this
# repository (RAUC's BOOT_ORDER / BOOT_<x>_LEFT scheme; its header says which variables the
# board's default environment must provide: BOOT_ORDER, BOOT_<x>_LEFT, update1_bootargs and
# update1_boot_<x> for every bootname).  OE-core's u-boot.inc compiles ${UBOOT_ENV}.cmd with
# mkimage -T script when UBOOT_ENV_SUFFIX is "scr", installs it to /boot (package u-boot-env)
# and deploys it; UBOOT_ENV_BINARY names it boot.scr, the name distro boot looks for.
#
# The path below works while this layer lives inside the Update1 tree
# (packaging/yocto/meta-update1); a copied-out layer needs uboot-boot.cmd in files/.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:${THISDIR}/../../../../bootloader:"

SRC_URI += " \
    file://uboot-boot.cmd \
    file://fw_env.config \
"

UBOOT_ENV = "uboot-boot"
UBOOT_ENV_SUFFIX = "scr"
UBOOT_ENV_BINARY = "boot.scr"
