# SPDX-License-Identifier: LGPL-2.1-or-later
SUMMARY = "Update1: A/B system updates for embedded Linux"
DESCRIPTION = "updated, a D-Bus system service that installs signed bundles into the \
inactive slot and flips the bootloader; updatectl, its command line; update-health, the boot \
health check that commits or rejects a trial boot; update-agent, a hawkBit DDI agent."
HOMEPAGE = "https://example.org/update1"
SECTION = "base"
LICENSE = "LGPL-2.1-or-later"
LIC_FILES_CHKSUM = "file://LICENSE;md5=4fbd65380cdd255951079008b364516c"

# The source: this repository.  Point UPDATE1_SRC_URI/SRCREV at your mirror and release in
# local.conf or a bbappend; for working on the code, EXTERNALSRC works as well (the Makefile
# builds out of tree in $(BUILD)).
UPDATE1_SRC_URI ??= "git://git.example.org/update1.git;protocol=https;branch=main"
SRC_URI = "${UPDATE1_SRC_URI}"
SRCREV ??= "${AUTOREV}"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

# pkg-config names in the Makefile's PKGS: libsystemd (systemd), openssl, json-c, libcurl
# (curl), blkid (util-linux), libzstd (zstd), libubootenv, libsquashfs1 (squashfs-tools-ng, in
# meta-oe: RAUC bundles are read with it), libmosquitto (mosquitto, from meta-networking:
# update-agent's AWS IoT Jobs client); scdoc for the man pages.
DEPENDS = "systemd openssl json-c curl util-linux zstd libubootenv squashfs-tools-ng mosquitto scdoc-native"

inherit pkgconfig systemd useradd bash-completion features_check

# The units go to $(PREFIX)/lib/systemd/system, which is ${systemd_system_unitdir} only
# with usrmerge (required by systemd since scarthgap anyway).
REQUIRED_DISTRO_FEATURES = "systemd usrmerge"

# The install locations are compiled into the programs and substituted into the units
# (docs/installation.md): build and install with the same values.  The Makefile's
# "CFLAGS ?=" and "LDFLAGS +=" take the cross flags from the environment.
EXTRA_OEMAKE = "PREFIX=${prefix} BINDIR=${bindir} LIBEXECDIR=${libexecdir} DATADIR=${datadir} \
                SYSCONFDIR=${sysconfdir} LOCALSTATEDIR=${localstatedir} MANDIR=${mandir} \
                BASHCOMPLETIONDIR=${datadir}/bash-completion/completions"
EXTRA_OEMAKE += "CC='${CC}' AR='${AR}' PKG_CONFIG=pkg-config BUILD=${B}/build"

do_compile() {
	oe_runmake all
}

do_install() {
	oe_runmake install DESTDIR=${D}
}

# Split like the Debian package: the daemon, the command line, the health check, the agent.
# Man pages and the documents go to ${PN}-doc, the completion to ${PN}-bash-completion
# (the defaults of bitbake.conf and bash-completion.bbclass, spelled out here so that
# tests/integration/test-yocto-layer.sh can check that every installed file has exactly one
# package).
PACKAGE_BEFORE_PN = "${PN}-ctl ${PN}-health ${PN}-agent"

FILES:${PN} = "\
    ${libexecdir}/update1 \
    ${datadir}/dbus-1/system-services/org.example.Update1.service \
    ${datadir}/dbus-1/system.d/org.example.Update1.conf \
    ${datadir}/dbus-1/interfaces/org.example.Update1.xml \
    ${systemd_system_unitdir}/updated.service \
    ${sysconfdir}/update1/system.conf* \
    ${nonarch_libdir}/sysusers.d/update1.conf \
    ${nonarch_libdir}/tmpfiles.d/update1.conf \
    ${datadir}/update1/bootloader \
"
FILES:${PN}-ctl = "${bindir}/updatectl ${libexecdir}/updatectl"
FILES:${PN}-health = "\
    ${bindir}/update-health \
    ${systemd_system_unitdir}/update-health.service \
    ${nonarch_libdir}/update-health \
"
FILES:${PN}-agent = "\
    ${bindir}/update-agent \
    ${systemd_system_unitdir}/update-agent.service \
    ${sysconfdir}/update1/agent* \
"
FILES:${PN}-doc = "${docdir} ${mandir} ${infodir} ${datadir}/gtk-doc ${datadir}/gnome/help"
FILES:${PN}-bash-completion = "${datadir}/bash-completion ${sysconfdir}/bash_completion.d"

CONFFILES:${PN} = "${sysconfdir}/update1/system.conf"
CONFFILES:${PN}-agent = "${sysconfdir}/update1/agent.conf"

SYSTEMD_PACKAGES = "${PN} ${PN}-health ${PN}-agent"
SYSTEMD_SERVICE:${PN} = "updated.service"
SYSTEMD_SERVICE:${PN}-health = "update-health.service"
SYSTEMD_SERVICE:${PN}-agent = "update-agent.service"
# The agent needs [server] url= and credentials in agent.conf first.
SYSTEMD_AUTO_ENABLE:${PN}-agent = "disable"

# Users and groups as packaging/sysusers.d/update1.conf (also installed, for systemd-sysusers
# on a writable /etc): group "update" may call updated (the bus policy); the health check and
# the agent run as their own users in it.  Made at rootfs time here, so a read-only rootfs has
# them.
USERADD_PACKAGES = "${PN} ${PN}-health ${PN}-agent"
GROUPADD_PARAM:${PN} = "--system update"
GROUPADD_PARAM:${PN}-health = "--system update"
USERADD_PARAM:${PN}-health = "--system --no-create-home --home-dir / --shell /sbin/nologin --gid update update-health"
GROUPADD_PARAM:${PN}-agent = "--system update"
USERADD_PARAM:${PN}-agent = "--system --no-create-home --home-dir / --shell /sbin/nologin --gid update update-agent"

# Which bootloader the device uses ([system] bootloader= of system.conf): uboot brings
# fw_printenv/fw_setenv (libubootenv-bin) for setting up and inspecting the environment;
# updated itself links libubootenv.
UPDATE1_BOOTLOADER ??= "uboot"
RDEPENDS:${PN} = "dbus ${@'libubootenv-bin' if d.getVar('UPDATE1_BOOTLOADER') == 'uboot' else ''}"
# 10-updated-answers runs "updatectl status".
RDEPENDS:${PN}-health = "${PN} ${PN}-ctl"
RDEPENDS:${PN}-agent = "${PN}"
# updated dlopen()s libcurl (http(s) sources), libblkid (PARTLABEL= and LABEL= slot devices)
# and libsquashfs (RAUC bundles) only when it needs them, and updatectl libsquashfs (bundle info
# of a RAUC bundle), so the packager does not see them as NEEDED and adds no dependency:
# recommend them, as debian/control does.  Without one, what needs it fails with an error that
# names the missing library.
RRECOMMENDS:${PN} = "${PN}-ctl ${PN}-health libcurl util-linux-libblkid libsquashfs"
RRECOMMENDS:${PN}-ctl = "libsquashfs"
