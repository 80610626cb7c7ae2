# SPDX-License-Identifier: LGPL-2.1-or-later
# Example: core-image-minimal as an Update1 A/B device.  Copy it into your product layer and
# set the UPDATE1_* variables (classes/update1-image.bbclass) there or in local.conf.
require recipes-core/images/core-image-minimal.bb

SUMMARY = "A minimal image for an Update1 A/B device, with its update bundle"

inherit update1-image

IMAGE_FSTYPES:append = " wic"
WKS_FILE = "update1-ab.wks"
# The boot script of recipes-bsp/u-boot/u-boot_%.bbappend, deployed by u-boot, onto the FAT
# partition (bootimg-partition).
IMAGE_BOOT_FILES:append = " boot.scr"
# wic puts the same rootfs into both slots: the factory image boots A, and B holds a copy
# until the first update overwrites it.
