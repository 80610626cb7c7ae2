#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make demo`: the whole Update1 cycle on a sandbox "device" under BUILD/demo, no root needed.
#   throw-away PKI → two 64 MiB file slots (A holds v1) → redundant U-Boot env → private
#   dbus-daemon with our policy + updated booted in A → ext4 image v2 (mkfs.ext4 -d) → signed
#   bundle → status → install (progress) → simulated reboot (U-Boot script on the env) →
#   updated booted in B → mark-good → status.
# Usage: tests/demo/demo.sh [BUILD_DIR]     (DEMO_KEEP=1 keeps nothing running either way;
#        the files stay in BUILD/demo for a look afterwards)
set -uo pipefail

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$TOP" && mkdir -p "$BUILD" && cd "$BUILD" && pwd)
export UPDATE1_TOP=$TOP UPDATE1_BUILD=$BUILD
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"

SB_REMOVE=0            # leave the sandbox files for inspection; processes are always stopped
SB_COMPATIBLE=update1-demo-board
STEP=0
NSTEPS=11
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi

step() { STEP=$((STEP + 1)); printf '\n%s==> [%d/%d] %s%s\n' "$B" "$STEP" "$NSTEPS" "$*" "$N"; }
say() { printf '    %s\n' "$*"; }
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }
die() {
        printf '\n%sdemo FAILED at step %d: %s%s\n' "$R" "$STEP" "$*" "$N" >&2
        if [ -s "$SB/updated.log" ]; then
                echo "--- last lines of $SB/updated.log:" >&2
                tail -n 20 "$SB/updated.log" >&2
        fi
        exit 1
}
on_exit() {
        local rc=$?
        sb_cleanup
        [ $rc = 0 ] || echo "(processes stopped; files left in $SB)" >&2
}
trap on_exit EXIT
trap 'exit 130' INT TERM

sb_init "$BUILD/demo" || die "cannot create $BUILD/demo"
sb_install_bins || die "build first: make all"

if [ "$(id -u)" != 0 ]; then
        # Not root: the shipped policy lets only root own org.example.Update1.  The private bus
        # gets a copy of it with user="root" replaced by "$(id -un)" (tests/lib/sandbox.sh,
        # sb_write_bus_policy), and the daemon and the CLI both run as this user.
        NOTE="running as $(id -un), not root: the demo bus uses a copy of the policy granting root's rights to $(id -un)"
else
        NOTE="running as root with the shipped policy"
fi

step "A throw-away PKI: root CA and a code-signing certificate (openssl, EC P-256)"
sb_make_pki "$SB/pki" || die "PKI"
say "keyring (trusted root): $SB/pki/ca.crt"
say "signer: $(openssl x509 -in "$SB/pki/signer.crt" -noout -subject | sed 's/^subject=//')"

step "Two file-backed 64 MiB slots; slot A holds the running system (version 1)"
sb_make_slots "$SB" 64M || die "slots"
sb_make_ext4 "$SB/v1.ext4" 64M 1 || die "ext4 v1"
dd if="$SB/v1.ext4" of="$SB_SLOT_A" conv=notrunc status=none || die "slot A"
rm -f "$SB/v1.ext4"
say "rootfs.0 (bootname A): $SB_SLOT_A"
say "rootfs.1 (bootname B): $SB_SLOT_B"

step "A redundant U-Boot environment (two CRC'd copies, libubootenv's fw_env.config)"
sb_make_env "$SB" || die "env"
show fw_printenv -c "$SB_FW_CONFIG" || die "fw_printenv"

step "Private system-like dbus-daemon with policy/org.example.Update1.conf, and updated booted in A"
say "$NOTE"
sb_write_config "$SB/system.conf"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "dbus-daemon did not start"
say "bus: $DBUS_SYSTEM_BUS_ADDRESS"
sb_start_updated A || die "updated did not start"
say "updated pid $SB_UPDATED_PID, config $SB_CONFIG, log $SB/updated.log"

step "Build the new root filesystem (ext4, mkfs.ext4 -d) and sign a version 2 bundle"
sb_make_ext4 "$SB/rootfs-v2.ext4" 48M 2 || die "ext4 v2"
show updatectl bundle create --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" \
        --compatible "$SB_COMPATIBLE" --version 2 --image "rootfs=$SB/rootfs-v2.ext4" \
        -o "$SB/update-v2.bundle" || die "bundle create"
show updatectl bundle info --keyring "$SB/pki/ca.crt" "$SB/update-v2.bundle" || die "bundle info"

step "Status before the update"
show updatectl status || die "status"

step "Install: stream the bundle into the inactive slot (verify chunk → decompress → write)"
show updatectl install "$SB/update-v2.bundle" || die "install failed"
say "U-Boot env now: $(fw_printenv -c "$SB_FW_CONFIG" | tr '\n' ' ')"

step "Reboot: the boot script picks the slot (tests/fakes/boot-sim.sh on the real env)"
sb_stop_updated
printf '%s$ %s%s\n' "$B" "tests/fakes/boot-sim.sh $SB_FW_CONFIG $SB/cmdline" "$N"
BOOTED=$(bash "$TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || die "boot simulator"
echo "$BOOTED"
say "U-Boot boots slot ${B}$BOOTED${N}, kernel command line: $(cat "$SB/cmdline")"
[ "$BOOTED" = B ] || die "expected U-Boot to boot B, it picked $BOOTED"
say "U-Boot env now: $(fw_printenv -c "$SB_FW_CONFIG" | tr '\n' ' ')"

step "The new system comes up: updated reads the booted slot from the kernel command line"
sb_run_updated --cmdline "$SB/cmdline" || die "updated did not start in B"
show updatectl status || die "status"

step "Boot assessment passed: mark the booted slot good (ends the one-shot trial)"
show updatectl mark-good || die "mark-good"
say "U-Boot env now: $(fw_printenv -c "$SB_FW_CONFIG" | tr '\n' ' ')"

step "Status after the update"
show updatectl status || die "status"
NEXT=$(sb_boot_peek) || die "boot simulator"
say "next boot: U-Boot would boot ${B}$NEXT${N}"
[ "$NEXT" = B ] || die "expected B to stay the boot slot, got $NEXT"

printf '\n%sdemo OK%s: version 2 installed into slot B, booted, marked good.  Files in %s\n' "$G" "$N" "$SB"
