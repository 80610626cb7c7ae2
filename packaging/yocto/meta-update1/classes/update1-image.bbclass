# SPDX-License-Identifier: LGPL-2.1-or-later
# update1-image: an image for an Update1 A/B device, and the signed Update1 bundle of its root
# file system.
#
#   inherit update1-image
#   UPDATE1_COMPATIBLE = "my-board"                 # = [system] compatible= on the device
#   UPDATE1_SYSTEM_CONF = "/path/to/system.conf"     # the device's slots (update1-system.conf(5))
#   UPDATE1_KEYRING = "/path/to/release-ca.pem"      # the roots the device trusts
#   UPDATE1_SIGNING_CERT = "/path/to/signer.crt"     # codeSigning certificate under that root
#   UPDATE1_SIGNING_KEY = "/path/to/signer.key"
#
# gives, next to the image's other types, <image>.update1bundle in DEPLOY_DIR_IMAGE: the
# rootfs image (UPDATE1_IMAGE_FSTYPE) for slot class UPDATE1_SLOT_CLASS, built by
# "updatectl bundle create" (docs/bundle-format.md).  With IMAGE_FSTYPES += "wic" and
# WKS_FILE = "update1-ab.wks" the same image also gives the factory disk image with both slots.
#
# updatectl comes from the build host (HOSTTOOLS_NONFATAL in conf/layer.conf): install the
# update1 Debian package there, or "make && sudo make install" of this repository.  This layer
# has no update1-native: updatectl links libsystemd, which OE-core builds for the target only.

UPDATE1_COMPATIBLE ??= "${MACHINE}"
UPDATE1_BUNDLE_VERSION ??= "${DISTRO_VERSION}"
# Empty: updatectl's default, the current UTC time.
UPDATE1_BUNDLE_BUILD ??= ""
UPDATE1_SECURITY_VERSION ??= "0"
UPDATE1_BUNDLE_EXPIRES ??= ""
UPDATE1_SLOT_CLASS ??= "rootfs"
UPDATE1_IMAGE_FSTYPE ??= "ext4"
UPDATE1_SIGNING_CERT ??= ""
UPDATE1_SIGNING_KEY ??= ""
UPDATE1_SIGNING_INTERMEDIATE ??= ""
UPDATE1_SYSTEM_CONF ??= ""
UPDATE1_KEYRING ??= ""

IMAGE_INSTALL:append = " update1 update1-ctl update1-health"
# The kernel and its device trees live in each rootfs slot: the U-Boot script's
# update1_boot_<x> loads them from the slot it chose.
IMAGE_INSTALL:append = " kernel-image kernel-devicetree"
IMAGE_FSTYPES:append = " ${UPDATE1_IMAGE_FSTYPE} update1bundle"

# The device's configuration and keyring go into the image, not into a package: they are
# per product, and the same update1 packages serve every product.
ROOTFS_POSTPROCESS_COMMAND += "update1_install_config"
update1_install_config() {
	if [ -n "${UPDATE1_SYSTEM_CONF}" ]; then
		install -Dm0644 "${UPDATE1_SYSTEM_CONF}" "${IMAGE_ROOTFS}${sysconfdir}/update1/system.conf"
	fi
	if [ -n "${UPDATE1_KEYRING}" ]; then
		install -Dm0644 "${UPDATE1_KEYRING}" "${IMAGE_ROOTFS}${sysconfdir}/update1/keyring.pem"
	fi
}
update1_install_config[vardeps] += "UPDATE1_SYSTEM_CONF UPDATE1_KEYRING"

IMAGE_TYPES += "update1bundle"
IMAGE_TYPEDEP:update1bundle = "${UPDATE1_IMAGE_FSTYPE}"
IMAGE_CMD:update1bundle() {
	if [ -z "${UPDATE1_SIGNING_CERT}" ] || [ -z "${UPDATE1_SIGNING_KEY}" ]; then
		bbfatal "update1bundle: set UPDATE1_SIGNING_CERT and UPDATE1_SIGNING_KEY (a codeSigning certificate and its key)"
	fi
	if ! command -v updatectl >/dev/null 2>&1; then
		bbfatal "update1bundle: no updatectl on the build host (install Update1 there; see meta-update1/README.md)"
	fi
	set -- --cert "${UPDATE1_SIGNING_CERT}" --key "${UPDATE1_SIGNING_KEY}" \
		--compatible "${UPDATE1_COMPATIBLE}" --version "${UPDATE1_BUNDLE_VERSION}" \
		--security-version "${UPDATE1_SECURITY_VERSION}" \
		--description "${IMAGE_BASENAME} for ${MACHINE}"
	if [ -n "${UPDATE1_SIGNING_INTERMEDIATE}" ]; then
		set -- "$@" --intermediate "${UPDATE1_SIGNING_INTERMEDIATE}"
	fi
	if [ -n "${UPDATE1_BUNDLE_BUILD}" ]; then
		set -- "$@" --build "${UPDATE1_BUNDLE_BUILD}"
	fi
	if [ -n "${UPDATE1_BUNDLE_EXPIRES}" ]; then
		set -- "$@" --expires "${UPDATE1_BUNDLE_EXPIRES}"
	fi
	updatectl bundle create "$@" \
		--image "${UPDATE1_SLOT_CLASS}=${IMGDEPLOYDIR}/${IMAGE_NAME}${IMAGE_NAME_SUFFIX}.${UPDATE1_IMAGE_FSTYPE}" \
		-o "${IMGDEPLOYDIR}/${IMAGE_NAME}${IMAGE_NAME_SUFFIX}.update1bundle"
}
