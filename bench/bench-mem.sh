#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's memory alone (issue 14: peak RSS <= 8 MiB), with where it goes: `make bench`'s
# RSS rows without its timings, plus a per-mapping breakdown (/proc/PID/smaps summed per
# library, heap, stacks, anonymous), total (Rss) and private (Private_Clean + Private_Dirty).
#   idle (after start and one status call); one 256 MiB install from a file on a fresh daemon
#   (VmHWM, private and private dirty sampled every 20 ms, the breakdown at the dirty peak); then a pipe and
#   an HTTP install on the same daemon (VmHWM over all rows); a RAUC bundle (Debian's `rauc
#   bundle`, when installed) on a fresh daemon.  Root: the slots are loop devices.
# Usage: bench/bench-mem.sh [BUILD_DIR [IMAGE]]   (IMAGE: an ext4 image; default: bench's)
set -uo pipefail

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$TOP/bench/bench-lib.sh"
SB_WAIT=30

die() { echo "bench-mem: $*" >&2; [ -s "$SB/updated.log" ] && tail -n 10 "$SB/updated.log" >&2; exit 1; }
trap 'bl_sample_stop >/dev/null 2>&1; sb_cleanup' EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || die "needs root (loop-device slots)"

# breakdown PID: Rss, private and private dirty kB per mapping name, largest first (heap,
# stack, anon, each library).  Private counts a library's pages that no other process maps at
# that moment, so it moves with what else runs on the machine; private dirty (anonymous memory,
# relocated data) does not.
breakdown() {
        awk '/^[0-9a-f]+-[0-9a-f]+ / { n = $6; if (n == "") n = "[anon]"; sub(/.*\//, "", n); next }
             $1 == "Rss:" { rss[n] += $2 }
             $1 == "Private_Clean:" { prv[n] += $2 }
             $1 == "Private_Dirty:" { prv[n] += $2; dty[n] += $2 }
             END { for (k in rss) if (rss[k] > 0) printf "%7d %7d %7d  %s\n", rss[k], prv[k], dty[k], k }' \
                "/proc/$1/smaps" 2>/dev/null | sort -rn
}
dirty_kib() { awk '$1 == "Private_Dirty:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# sample_start PID: every 20 ms the private and private dirty RSS; the smaps breakdown at the
# largest private dirty sample.  sample_stop prints "private dirty" peaks in kB.
sample_start() {
        local pid=$1
        echo "0 0" >"$SB/peak"
        (
                trap - EXIT INT TERM
                bp=0 bd=0
                while [ -e "/proc/$pid" ]; do
                        p=$(bl_private_kib "$pid") d=$(dirty_kib "$pid")
                        [ "${p:-0}" -gt "$bp" ] && bp=$p
                        if [ "${d:-0}" -gt "$bd" ]; then
                                bd=$d
                                breakdown "$pid" >"$SB/peak.smaps.tmp" && mv "$SB/peak.smaps.tmp" "$SB/peak.smaps"
                        fi
                        echo "$bp $bd" >"$SB/peak.tmp" && mv "$SB/peak.tmp" "$SB/peak"   # never read half-written
                        sleep 0.02
                done
        ) &
        SAMPLER=$!
}
sample_stop() { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; cat "$SB/peak"; }
print_breakdown() { # TITLE FILE
        echo "  $1 (kB; mappings with Rss > 0)"
        echo "      Rss private   dirty  mapping"
        sed 's/^/    /' "$2"
}
fresh_daemon() {
        sb_stop_updated
        sb_start_updated A || die "updated"
        PID=$SB_UPDATED_PID
}

sb_init "$BUILD/bench-mem" || die "cannot create $BUILD/bench-mem"
sb_install_bins || die "build first: make all"
# Written back, so that the daemon's text is clean page cache as on a device: a just-copied
# file's dirty pages would count as the daemon's Private_Dirty.
sync "$SB/bin/updated" || die "sync"
cd "$SB" || exit 1
if [ -n "${2:-}" ]; then
        ln -s "$(realpath "$2")" image.ext4
else
        echo "* building the deterministic 256 MiB ext4 image"
        bl_bench_image image.ext4 || die "building the image"
fi
IMG_SIZE=$(stat -L -c %s image.ext4)
sb_make_pki "$SB/pki" >/dev/null || die "pki"
updatectl bundle create --cert pki/signer.crt --key pki/signer.key --compatible "$SB_COMPATIBLE" \
        --version 2 --image rootfs=image.ext4 -o image.bundle >/dev/null || die "bundle create"
bl_slot "$SB/slot-a.img" 256M || die "slot A"; SB_SLOT_A=$BL_DEV
bl_slot "$SB/slot-b.img" 256M || die "slot B"; SB_SLOT_B=$BL_DEV
sb_make_env "$SB" >/dev/null || die "env"
sb_write_config "$SB/system.conf"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "bus"
fresh_daemon
updatectl status >/dev/null || die "status"
IDLE_RSS=$(bl_status_kib "$PID" VmRSS) IDLE_PRIV="$(bl_private_kib "$PID") $(dirty_kib "$PID")"
breakdown "$PID" >idle.smaps

install_row() { # NAME CMD...: one install, the slot checked after it
        local name=$1
        shift
        bl_wipe "$SB_SLOT_B"
        "$@" >"install-$name.log" 2>&1 || die "install ($name): $(tail -n 3 "install-$name.log")"
        cmp -s -n "$IMG_SIZE" image.ext4 "$SB_SLOT_B" || die "slot B does not hold the image after install ($name)"
}
echo "* install from a file (fresh daemon)"
sample_start "$PID"
install_row file updatectl install image.bundle
FILE_PRIV=$(sample_stop) FILE_HWM=$(bl_status_kib "$PID" VmHWM)
cp peak.smaps file.smaps
AFTER_RSS=$(bl_status_kib "$PID" VmRSS) AFTER_PRIV="$(bl_private_kib "$PID") $(dirty_kib "$PID")"
mkdir -p www && chmod 0755 www && ln image.bundle www/image.bundle && chmod 0644 image.bundle
sb_start_nginx "$SB/www" 2>nginx.err || die "nginx: $(cat nginx.err)"
echo "* install from a pipe, then HTTP (same daemon)"
sample_start "$PID"
# shellcheck disable=SC2002
install_row pipe sh -c 'cat image.bundle | updatectl install -'
install_row http updatectl install "$SB_HTTP_URL/image.bundle"
ALL_PRIV=$(sample_stop) ALL_HWM=$(bl_status_kib "$PID" VmHWM)
cp peak.smaps all.smaps
echo "* install over HTTP (fresh daemon)"
fresh_daemon
sample_start "$PID"
install_row http1 updatectl install "$SB_HTTP_URL/image.bundle"
HTTP_PRIV=$(sample_stop) HTTP_HWM=$(bl_status_kib "$PID" VmHWM)
cp peak.smaps http.smaps

RAUC_ROW=
if command -v rauc >/dev/null && command -v mksquashfs >/dev/null; then
        echo "* RAUC bundle (rauc bundle, plain; fresh daemon)"
        mkdir -p rauc-in
        cp image.ext4 rauc-in/rootfs.ext4 2>/dev/null || cp -L image.ext4 rauc-in/rootfs.ext4
        printf '[update]\ncompatible=%s\nversion=2\n\n[image.rootfs]\nfilename=rootfs.ext4\n' "$SB_COMPATIBLE" >rauc-in/manifest.raucm
        if rauc bundle --cert pki/signer.crt --key pki/signer.key rauc-in image.raucb >rauc.log 2>&1; then
                fresh_daemon
                sample_start "$PID"
                install_row rauc updatectl install image.raucb
                RAUC_PRIV=$(sample_stop) RAUC_HWM=$(bl_status_kib "$PID" VmHWM)
                cp peak.smaps rauc.smaps
                RAUC_ROW=1
        else
                echo "  rauc bundle failed: $(tail -n 2 rauc.log)"
        fi
        rm -rf rauc-in
fi

row() { # TITLE TOTAL "PRIVATE DIRTY"
        local p d
        read -r p d <<<"$3"
        printf '%-44s %8s %8s %8s\n' "$1" "$(bl_mib "$2")" "$(bl_mib "$p")" "$(bl_mib "$d")"
}
echo
echo "Update1 daemon memory — $(date -u +%Y-%m-%dT%H:%MZ), $(basename "$BUILD")/updated, MiB"
printf '%-44s %8s %8s %8s\n' "" "total" "private" "dirty"
row "idle (start + one status call)" "$IDLE_RSS" "$IDLE_PRIV"
row "peak, one 256 MiB install from a file" "$FILE_HWM" "$FILE_PRIV"
row "  after it (VmRSS now)" "$AFTER_RSS" "$AFTER_PRIV"
row "peak, + pipe + HTTP (all rows, VmHWM)" "$ALL_HWM" "$ALL_PRIV"
row "peak, one HTTP install (fresh daemon)" "$HTTP_HWM" "$HTTP_PRIV"
[ -n "$RAUC_ROW" ] && row "peak, one RAUC bundle install (fresh)" "$RAUC_HWM" "$RAUC_PRIV"
echo "target: peak total <= 8 MiB (issue 14); total = VmRSS/VmHWM; private and dirty (Private_Dirty)"
echo "peaks sampled every 20 ms; private moves with what else maps the same libraries, dirty does not"
echo
print_breakdown "idle" idle.smaps
print_breakdown "at the dirty peak of the file install" file.smaps
print_breakdown "at the dirty peak of the HTTP install" http.smaps
[ -n "$RAUC_ROW" ] && print_breakdown "at the dirty peak of the RAUC install" rauc.smaps
exit 0
