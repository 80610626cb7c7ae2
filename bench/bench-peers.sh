#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Update1 beside RAUC (Debian 12's rauc 1.8, packages rauc + rauc-service; `make bench PEERS=1`
# installs them) in one run: the same image into the same 256 MiB loop-device slot, each
# install checked by hashing the slot (wiped before every run), median of BENCH_PEER_RUNS (3).
# Memory: peak total RSS (VmHWM) and peak private RSS (Private_Clean + Private_Dirty of
# smaps_rollup, sampled every 20 ms), each from a fresh daemon per run.
#
# RAUC's setup, the simplest that really installs: `rauc service --conf` on the same private
# bus (its shipped bus policy copied next to ours), in a mount namespace whose /proc/cmdline says
# rauc.slot=A (RAUC finds the booted slot there); bootloader=noop (RAUC 1.8: the slot is written
# and its status recorded, the bootloader is left alone, where Update1 writes its U-Boot env);
# a plain bundle (squashfs) made by `rauc bundle` from the same image (type raw, *.img) and
# signed by the same code-signing key (check-purpose=codesign).
# Usage: bench/bench-peers.sh BUILD_DIR DIR IMAGE      (root; called by bench/bench.sh)
set -uo pipefail

BUILD=$1 DIR=$2 IMAGE=$3
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
. "$TOP/bench/bench-lib.sh"
SB_WAIT=60
RUNS=${BENCH_PEER_RUNS:-3}
RAUC_NAME=de.pengutronix.rauc

die() { echo "bench-peers: $*" >&2; exit 1; }
trap 'sb_cleanup' EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "  (peers: skipped, needs root for loop devices and mounts)"; exit 0; }
# HAVE_RAUC_CLI: `rauc bundle` can make the RAUC bundle (Update1 installs it too);
# HAVE_RAUC: RAUC's own service can install it.
HAVE_RAUC_CLI=0 HAVE_RAUC=0
if command -v rauc >/dev/null && command -v mksquashfs >/dev/null; then
        HAVE_RAUC_CLI=1
        [ -f /usr/share/dbus-1/system.d/$RAUC_NAME.conf ] && HAVE_RAUC=1
fi

sb_init "$DIR" || die "cannot create $DIR"
sb_install_bins || die "build first"
cd "$SB" || exit 1
IMG_SIZE=$(stat -c %s "$IMAGE")
IMG_SHA=$(sha256sum "$IMAGE" | cut -c1-64)
SLOT_SIZE=$(( (IMG_SIZE + (1 << 20) - 1) / (1 << 20) ))M
[ "$IMG_SIZE" -lt $((256 << 20)) ] && SLOT_SIZE=256M
sb_make_pki "$SB/pki" || die "pki"
updatectl bundle create --cert pki/signer.crt --key pki/signer.key --compatible "$SB_COMPATIBLE" \
        --version 2 --image "rootfs=$IMAGE" -o update1.bundle >/dev/null || die "updatectl bundle create"
if [ "$HAVE_RAUC_CLI" = 1 ]; then
        mkdir -p rauc-in
        ln "$IMAGE" rauc-in/rootfs.img 2>/dev/null || cp "$IMAGE" rauc-in/rootfs.img
        printf '[update]\ncompatible=%s\nversion=2\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n' \
                "$SB_COMPATIBLE" >rauc-in/manifest.raucm
        rauc bundle --cert=pki/signer.crt --key=pki/signer.key rauc-in rauc.raucb >rauc-bundle.log 2>&1 ||
                die "rauc bundle: $(tail -n 3 rauc-bundle.log)"
        rm -rf rauc-in
fi

bl_slot "$SB/slot-a.img" "$SLOT_SIZE" || die "loop device"
SB_SLOT_A=$BL_DEV
bl_slot "$SB/slot-b.img" "$SLOT_SIZE" || die "loop device"
SB_SLOT_B=$BL_DEV
sb_make_env "$SB" || die "env"
sb_write_config "$SB/system.conf"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "bus"

# check_slot WHO: the slot holds the image.
check_slot() {
        local got
        got=$(bl_slot_sha "$SB_SLOT_B" "$IMG_SIZE")
        [ "$got" = "$IMG_SHA" ] || die "$1: slot B does not hold the image after the install (sha256 $got)"
}

# update1_runs BUNDLE: RUNS installs by Update1 into the wiped slot B, into the U_* arrays.
update1_runs() {
        U_T=() U_HWM=() U_PRIV=() U_IDLE=() U_IDLE_PRIV=()
        for ((i = 0; i < RUNS; i++)); do
                bl_wipe "$SB_SLOT_B"
                sb_start_updated A || die "updated"
                pid=$SB_UPDATED_PID
                updatectl status >/dev/null || die "status"
                U_IDLE+=("$(bl_status_kib "$pid" VmRSS)") U_IDLE_PRIV+=("$(bl_private_kib "$pid")")
                bl_sample_start "$pid"
                t0=$(bl_now)
                updatectl install "$1" >install.log 2>&1 || die "updatectl install $1: $(tail -n 3 install.log)"
                U_T+=("$(bl_elapsed "$t0")")
                U_PRIV+=("$(bl_sample_stop)") U_HWM+=("$(bl_status_kib "$pid" VmHWM)")
                sb_stop_updated
                check_slot Update1
        done
}

# The same RAUC plain bundle that RAUC installs below, installed by Update1 (issue #11).
UR_T=()
if [ "$HAVE_RAUC_CLI" = 1 ]; then
        echo "* peers: Update1, $RUNS installs of RAUC's plain bundle (fresh daemon each)"
        update1_runs rauc.raucb
        UR_T=("${U_T[@]}")
fi
echo "* peers: Update1, $RUNS installs of the same image (fresh daemon each)"
update1_runs update1.bundle

R_T=() R_HWM=() R_PRIV=() R_IDLE=() R_IDLE_PRIV=()
if [ "$HAVE_RAUC" = 1 ]; then
        echo "* peers: RAUC $(rauc --version | awk '{print $2}'), $RUNS installs of the same image (fresh service each)"
        cp "/usr/share/dbus-1/system.d/$RAUC_NAME.conf" "$SB/bus/policy.d/" && sb_reload_bus || die "rauc bus policy"
        mkdir -p rauc-data rauc-mnt
        cat >rauc.conf <<CONF
[system]
compatible=$SB_COMPATIBLE
bootloader=noop
data-directory=$SB/rauc-data

[keyring]
path=$SB/pki/ca.crt
check-purpose=codesign

[slot.rootfs.0]
device=$SB_SLOT_A
type=raw
bootname=A

[slot.rootfs.1]
device=$SB_SLOT_B
type=raw
bootname=B
CONF
        echo "rauc.slot=A" >rauc-cmdline
        rauc_owned() {
                dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus.NameHasOwner "string:$RAUC_NAME" 2>/dev/null | grep -q true
        }
        for ((i = 0; i < RUNS; i++)); do
                bl_wipe "$SB_SLOT_B"
                # unshare execs sh, which execs rauc: $! is the service.
                unshare -m sh -c "mount --bind '$SB/rauc-cmdline' /proc/cmdline &&
                        exec rauc --conf='$SB/rauc.conf' --mount='$SB/rauc-mnt' service" >>rauc.log 2>&1 </dev/null &
                pid=$!
                sb_track "$pid"
                for ((w = 0; w < SB_WAIT * 20; w++)); do
                        rauc_owned && break
                        kill -0 "$pid" 2>/dev/null || die "rauc service exited: $(tail -n 5 rauc.log)"
                        sleep 0.05
                done
                rauc status >/dev/null 2>&1 || die "rauc status: $(tail -n 5 rauc.log)"
                R_IDLE+=("$(bl_status_kib "$pid" VmRSS)") R_IDLE_PRIV+=("$(bl_private_kib "$pid")")
                bl_sample_start "$pid"
                t0=$(bl_now)
                rauc install "$SB/rauc.raucb" >rauc-install.log 2>&1 || die "rauc install: $(tail -n 3 rauc-install.log)"
                R_T+=("$(bl_elapsed "$t0")")
                R_PRIV+=("$(bl_sample_stop)") R_HWM+=("$(bl_status_kib "$pid" VmHWM)")
                sb_kill "$pid"
                check_slot RAUC
        done
fi

echo
echo "Update1 vs RAUC — same image ($(awk -v s="$IMG_SIZE" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), same slot (loop device), median of $RUNS, slot hash checked after each"
printf '%-40s %-16s %-16s %s\n' "measure" "Update1" "RAUC" "RAUC / Update1"
row() { # LABEL U R
        printf '%-40s %-16s %-16s %s\n' "$1" "$2" "$3" \
                "$(awk -v u="$2" -v r="$3" 'BEGIN { if (u + 0 > 0 && r != "-") printf "%.2fx", r / u; else print "-" }')"
}
med() { if [ $# -gt 0 ]; then bl_median "$@"; else echo -; fi; }
medmib() { if [ $# -gt 0 ]; then bl_mib "$(bl_median "$@")"; else echo -; fi; }
row "install wall clock (s)" "$(med "${U_T[@]}")" "$(med "${R_T[@]+"${R_T[@]}"}")"
row "same, RAUC's plain bundle (s)" "$(med "${UR_T[@]+"${UR_T[@]}"}")" "$(med "${R_T[@]+"${R_T[@]}"}")"
row "peak RSS, total (VmHWM, MiB)" "$(medmib "${U_HWM[@]}")" "$(medmib "${R_HWM[@]+"${R_HWM[@]}"}")"
row "peak RSS, private (sampled, MiB)" "$(medmib "${U_PRIV[@]}")" "$(medmib "${R_PRIV[@]+"${R_PRIV[@]}"}")"
row "idle RSS before install, total (MiB)" "$(medmib "${U_IDLE[@]}")" "$(medmib "${R_IDLE[@]+"${R_IDLE[@]}"}")"
row "idle RSS before install, private (MiB)" "$(medmib "${U_IDLE_PRIV[@]}")" "$(medmib "${R_IDLE_PRIV[@]+"${R_IDLE_PRIV[@]}"}")"
echo "runs (s): Update1 ${U_T[*]}; Update1 with RAUC's bundle ${UR_T[*]:-not made}; RAUC ${R_T[*]:-not installed}"
[ "$HAVE_RAUC" = 1 ] || echo "note: RAUC not installed: make bench PEERS=1 installs rauc, rauc-service and squashfs-tools"
echo "note: RAUC with bootloader=noop (no bootloader write); Update1 writes its U-Boot env (a file) on install"
