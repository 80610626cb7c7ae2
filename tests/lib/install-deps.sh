#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 (bookworm) packages Update1 needs, only if some are missing.
#   tests/lib/install-deps.sh [check|demo|bench|bench-delta|bench-peers|build|fuzz|system|lint|installed]   (default: check)
# Silent when everything is present.  As root with apt-get: installs what is missing
# (non-interactive, no stdin needed, fine under CI=true).  Otherwise prints the exact command
# to run and exits 1.
set -euo pipefail

what=${1:-check}

# Building: compiler, pkg-config and the -dev packages the Makefile asks pkg-config for;
# scdoc for the man pages (man/*.scd); libmosquitto-dev for update-agent's AWS IoT Jobs client.
BUILD_PKGS=(build-essential pkg-config libsystemd-dev libssl-dev libjson-c-dev
            libcurl4-openssl-dev libblkid-dev libzstd-dev libubootenv-dev libsquashfs-dev libmosquitto-dev scdoc)
# Running the sandbox (demo): private bus, U-Boot env tools (fw_printenv/fw_setenv for the
# boot simulator, mkenvimage for the initial env), openssl for the throw-away PKI,
# mkfs.ext4 -d for the image.  On bookworm dbus-daemon and dbus-bin are split out of "dbus";
# installing only them avoids the "dbus" package's system-bus service scripts.  The private
# bus's configuration is made from /usr/share/dbus-1/system.conf (tests/lib/sandbox.sh), which
# only dbus-system-bus-common ships (dbus-daemon pulls in the session one only).
RUN_PKGS=(dbus-daemon dbus-bin dbus-system-bus-common libubootenv-tool u-boot-tools openssl
          e2fsprogs util-linux coreutils)
# Tests additionally: busctl and systemd-analyze (test-unit-security.sh), both shipped only in
# the "systemd" package on bookworm (installing it in a container is fine, nothing is started
# because systemd is not PID 1), nginx-light for http:// installs, curl to probe it, fdisk
# (sfdisk) and mount (losetup) for the loop-device / PARTLABEL tests, passwd (useradd),
# python3 for the JSON/XML checks, procps (ps) for process states and owners, mandoc
# (mandoc -Tlint, -Tutf8) for the man pages, shellcheck for the bash completion (test-man),
# rauc (the RAUC 1.8 command line: a client of RAUC's D-Bus API that updated serves, in
# test-rauc-dbus, a parser of the same system.conf files, in test-config-rauc, and the maker of
# RAUC bundles, in test-rauc-bundle; it depends on the "dbus" package, whose service
# tests/fresh's policy-rc.d keeps from starting, as nginx's), libglib2.0-bin (gdbus),
# squashfs-tools (mksquashfs, which `rauc bundle` runs) and cryptsetup-bin (veritysetup, to
# cross-check RAUC's hash trees). rauc-service is not needed: updated serves its bus name.
# mosquitto (the MQTT broker) and python3-paho-mqtt (the AWS IoT Jobs emulator) for
# test-agent-awsiot; the tests start their own broker, the package's service is not used.
# zstd (the command) makes the frames of the re-signed bad patches in test-install-patch
# (tests/lib/tamper_patch.py).
CHECK_PKGS=(systemd nginx-light curl fdisk mount passwd python3 strace grub-common procps mandoc shellcheck
            rauc libglib2.0-bin squashfs-tools cryptsetup-bin mosquitto python3-paho-mqtt zstd)
# make bench PEERS=1: RAUC 1.8 beside Update1 (bench/bench-peers.sh: the rauc client, its D-Bus
# service's bus policy, mksquashfs for `rauc bundle`) and hyperfine for the round trips.
PEERS_PKGS=(rauc rauc-service squashfs-tools hyperfine)
# make bench-delta (bench/bench-delta.sh): debootstrap builds the Debian trees, mksquashfs and
# mkfs.ext4/debugfs the images, casync, zstd (--patch-from) and xdelta3 are the peers measured,
# time (/usr/bin/time -v) their peak memory, nginx serves Update1's bundles, libzstd-dev and
# libssl-dev (in BUILD_PKGS) build bench/cdc-emulate.c.
BENCH_DELTA_PKGS=(debootstrap squashfs-tools e2fsprogs casync zstd xdelta3 time nginx-light curl python3)
# Fuzzing (make fuzz) and sanitizer builds: clang with libFuzzer and the sanitizer runtimes.
FUZZ_PKGS=(clang libclang-rt-14-dev)
# Static checks (make lint): shellcheck; python3 for tests/lint/cycles.py (nm: binutils, with
# build-essential).
LINT_PKGS=(shellcheck python3)
# The arm64 board (make check-system): QEMU, Debian's U-Boot for qemu_arm64, the cross
# compiler, and tools to build a disk image without root; openssl for the agent's TLS
# certificates, mosquitto and python3-paho-mqtt for the agent-mqtt scenario's broker and AWS
# IoT Jobs emulator.
SYSTEM_PKGS=(qemu-system-arm u-boot-qemu u-boot-tools mtools dosfstools e2fsprogs fdisk cpio
             gcc-aarch64-linux-gnu libc6-dev-arm64-cross python3 openssl mosquitto python3-paho-mqtt)
# Update1 as installed under a real systemd (make check-installed, tests/installed/run.sh):
# systemd-nspawn boots the container, debootstrap makes its base (if tests/fresh has not),
# mkenvimage and fw_printenv make and read its U-Boot env, openssl its keyring, nsenter (in
# util-linux) looks inside, git lists the checkout.  The build happens in the container.
INSTALLED_PKGS=(systemd-container debootstrap u-boot-tools libubootenv-tool openssl util-linux git)

case $what in
build) pkgs=("${BUILD_PKGS[@]}") ;;
demo)  pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}") ;;
check) pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${CHECK_PKGS[@]}") ;;
bench) pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${CHECK_PKGS[@]}") ;;
bench-delta) pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${BENCH_DELTA_PKGS[@]}") ;;
bench-peers) pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${CHECK_PKGS[@]}" "${PEERS_PKGS[@]}") ;;
fuzz)  pkgs=("${BUILD_PKGS[@]}" "${FUZZ_PKGS[@]}") ;;
system) pkgs=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${SYSTEM_PKGS[@]}") ;;
lint)  pkgs=("${BUILD_PKGS[@]}" "${LINT_PKGS[@]}") ;;
installed) pkgs=("${INSTALLED_PKGS[@]}") ;;
-h|--help) sed -n '2,7p' "$0"; exit 0 ;;
*) echo "usage: $0 [check|demo|bench|bench-delta|bench-peers|build|fuzz|system|lint|installed]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
        # "ii " = wanted install, installed OK.  Anything else (absent, half-configured) counts.
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        [ "${st:0:2}" = ii ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "Missing Debian packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive $cmd" >&2
        exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}" >&2
apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef
          -o Dpkg::Options::=--force-confold)
# apt-get update only when needed: no package lists at all, or the install fails because the
# lists are stale (a mirror dropped an old version).
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update -q </dev/null >&2
fi
if ! apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null >&2; then
        apt-get update -q </dev/null >&2
        apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null >&2
fi
