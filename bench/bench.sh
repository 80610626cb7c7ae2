#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make bench`: measured, never asserted.  See bench/README.md.
#   deterministic 256 MiB ext4 image (96 MiB pseudo-random + ~31 MB of `seq` text)
#   bundle create time and size; install into a 256 MiB slot (loop device when root, else a
#   file) cold and warm; in the same run the limit: dd conv=fsync of the raw image into the
#   slot + sha256sum of it; daemon idle RSS and peak RSS (VmHWM); `updatectl status` round
#   trip; a 1 GiB image for peak-RSS flatness.  Prints a table with ratios.
# Usage: bench/bench.sh [BUILD_DIR]     BENCH_KEEP=1 keeps BUILD/bench afterwards.
set -uo pipefail

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$TOP/bench/bench-lib.sh"    # the sandbox (tests/lib/sandbox.sh), bl_bench_image
SB_WAIT=30
IS_ROOT=$([ "$(id -u)" = 0 ] && echo 1 || echo 0)
RUNS=${BENCH_STATUS_RUNS:-50}

die() { echo "bench: $*" >&2; [ -s "$SB/updated.log" ] && tail -n 20 "$SB/updated.log" >&2; exit 1; }
note() { echo "  $*"; NOTES+=("$*"); }
NOTES=()
trap 'sb_cleanup' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
kib_to_mib() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1024 }'; }
proc_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

DROP_OK=
drop_caches() {
        sync
        if [ "$IS_ROOT" = 1 ] && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
                DROP_OK=yes
                return 0
        fi
        DROP_OK=no
        return 1
}

# slot FILE SIZE → sets SLOTDEV: a loop device over FILE when root, else FILE itself.
make_slot() {
        rm -f "$1"
        truncate -s "$2" "$1" || die "truncate $1"
        SLOTDEV=$1
        if [ "$IS_ROOT" = 1 ]; then
                local d
                if d=$(bl_loop "$1" 2>/dev/null); then
                        SB_LOOPS+=("$d")
                        SLOTDEV=$d
                fi
        fi
}

sb_init "$BUILD/bench" || die "cannot create $BUILD/bench"
sb_install_bins || die "build first: make all"
cd "$SB" || exit 1
echo "Update1 bench in $SB ($(nproc) CPUs, kernel $(uname -r), $( [ "$IS_ROOT" = 1 ] && echo root || echo "user $(id -un)"))"

# --- 1. deterministic image -------------------------------------------------------------
echo "* building the deterministic 256 MiB ext4 image"
bl_bench_image image.ext4 || die "building the image"
IMG_SIZE=$(stat -c %s image.ext4)
IMG_SHA=$(sha256sum image.ext4 | cut -c1-64)
echo "  image sha256 $IMG_SHA"

# --- 2. bundle create ---------------------------------------------------------------------
sb_make_pki "$SB/pki" || die "pki"
t0=$(now)
updatectl bundle create --cert pki/signer.crt --key pki/signer.key --compatible "$SB_COMPATIBLE" \
        --version 2 --image rootfs=image.ext4 -o image.bundle || die "bundle create"
T_CREATE=$(elapsed "$t0")
BUNDLE_SIZE=$(stat -c %s image.bundle)

# --- 3. device: 256 MiB slots, env, bus, daemon ---------------------------------------------
make_slot "$SB/slot-a.img" 256M; SB_SLOT_A=$SLOTDEV
make_slot "$SB/slot-b.img" 256M; SB_SLOT_B=$SLOTDEV
SLOT_KIND=$([ "$SB_SLOT_B" = "$SB/slot-b.img" ] && echo "file" || echo "loop device $SB_SLOT_B, direct I/O $([ "$(losetup -n -O DIO "$SB_SLOT_B" 2>/dev/null | tr -d " ")" = 1 ] && echo on || echo off)")
sb_make_env "$SB" || die "env"
sb_write_config "$SB/system.conf"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "bus"
sb_start_updated A || die "updated"
PID=$SB_UPDATED_PID
# idle: after start plus one status call (the first request's allocations are part of idle)
updatectl status >/dev/null || die "status"
IDLE_RSS=$(proc_kib "$PID" VmRSS)

declare -A M=()
# --- 4. install cold and warm from a file, a pipe and HTTP; dd conv=fsync cold and warm ---------
# Interleaved rounds (dd, then each source cold and warm), so drift of a shared machine hits
# every row alike; each row is the median of BENCH_REPEAT (default 3) rounds.
REPEAT=${BENCH_REPEAT:-3}
mkdir -p www && chmod 0755 www && ln image.bundle www/image.bundle && chmod 0644 image.bundle
sb_start_nginx "$SB/www" 2>nginx.err || die "nginx: $(cat nginx.err)"
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
install_once() { # SOURCE cold|warm → prints seconds
        local t0 log=install-$1-$2.log
        [ "$2" = cold ] && drop_caches
        t0=$(now)
        case $1 in
        file) updatectl install image.bundle ;;
        pipe) # a pipe on purpose: "<image.bundle" would hand the daemon a file
                # shellcheck disable=SC2002
                cat image.bundle | updatectl install - ;;
        http) updatectl install "$SB_HTTP_URL/image.bundle" ;;
        esac >"$log" 2>&1 || die "install ($1, $2): $(tail -n 3 "$log")"
        elapsed "$t0"
}
dd_once() { # cold|warm → prints seconds: the least an installer must do, write it durably
        local t0
        [ "$1" = cold ] && drop_caches
        t0=$(now)
        dd if=image.ext4 of="$SB_SLOT_B" bs=1M conv=fsync status=none || die "reference dd"
        elapsed "$t0"
}
declare -A T=()
SOURCES="file pipe http"
drop_caches || note "could not drop caches (not root, or /proc/sys/vm/drop_caches not writable here): 'cold' runs are warm"
for ((round = 1; round <= REPEAT; round++)); do
        echo "* round $round/$REPEAT: dd conv=fsync, install from $SOURCES, cold and warm"
        for c in cold warm; do T[dd-$c]+=" $(dd_once $c)"; done
        for src in $SOURCES; do
                for c in cold warm; do
                        T[$src-$c]+=" $(install_once "$src" $c)"
                        cmp -s -n "$IMG_SIZE" image.ext4 "$SB_SLOT_B" || die "slot B does not hold the image after install ($src, $c)"
                done
        done
done
for k in "${!T[@]}"; do M[$k]=$(median <<<"${T[$k]}"); done
T_INST_COLD=${M[file-cold]} T_INST_WARM=${M[file-warm]}
PEAK_256=$(proc_kib "$PID" VmHWM)

# reference: sets T_REF (dd + sha256sum), T_DD and T_SHA (its two parts)
reference() {
        local t0 t1
        t0=$(now)
        dd if=image.ext4 of="$SB_SLOT_B" bs=1M conv=fsync status=none || die "reference dd"
        T_DD=$(elapsed "$t0")
        t1=$(now)
        sha256sum "$SB_SLOT_B" >/dev/null || die "reference sha256sum"
        T_SHA=$(elapsed "$t1")
        T_REF=$(elapsed "$t0")
        # the same hash with OpenSSL (SHA-NI where the CPU has it; coreutils has no SHA-NI)
        t1=$(now)
        openssl dgst -sha256 "$SB_SLOT_B" >/dev/null || die "reference openssl dgst"
        T_OSSL=$(elapsed "$t1")
}
echo "* reference cold: dd conv=fsync + sha256sum"
drop_caches
reference
T_REF_COLD=$T_REF T_DD_COLD=$T_DD T_SHA_COLD=$T_SHA T_OSSL_COLD=$T_OSSL
echo "* reference warm"
reference
T_REF_WARM=$T_REF T_DD_WARM=$T_DD T_SHA_WARM=$T_SHA T_OSSL_WARM=$T_OSSL

# --- 5. status round trip ---------------------------------------------------------------------
echo "* updatectl status round trip"
if command -v hyperfine >/dev/null 2>&1; then
        hyperfine -N --warmup 3 --runs "$RUNS" --export-json status.json "$SB/bin/updatectl status --json" \
                >/dev/null 2>&1 || die "hyperfine"
        T_STATUS=$("$SB_PY" -c 'import json,sys; r=json.load(open("status.json"))["results"][0]; print("%.2f ms (hyperfine, mean of %d; min %.2f)" % (r["mean"]*1e3, len(r["times"]), r["min"]*1e3))')
        rm -f status.json
else
        for _ in 1 2 3; do updatectl status --json >/dev/null; done
        t0=$(now)
        for ((i = 0; i < RUNS; i++)); do updatectl status --json >/dev/null || die "status"; done
        T_STATUS=$(awk -v a="$t0" -v b="$(now)" -v n="$RUNS" 'BEGIN { printf "%.2f ms (mean of %d runs, shell loop)", (b - a) * 1000 / n, n }')
fi

# --- 6. 1 GiB image: does peak RSS stay flat? --------------------------------------------------
BIG_GIB=${BENCH_BIG_GIB:-1}
echo "* $BIG_GIB GiB image (zeros with 5 x 13 MiB of random data spread through it)"
rm -f big.ext4
truncate -s "${BIG_GIB}G" big.img
for off in 0 $((BIG_GIB * 256)) $((BIG_GIB * 512)) $((BIG_GIB * 768)) $((BIG_GIB * 1024 - 24)); do
        openssl enc -aes-128-ctr -K 0f0e0d0c0b0a09080706050403020100 -iv "000000000000000000000000000$(printf '%05x' "$off")" \
                -nosalt -in /dev/zero 2>/dev/null | head -c 13M |
                dd of=big.img bs=1M seek="$off" conv=notrunc status=none
done
updatectl bundle create --cert pki/signer.crt --key pki/signer.key --compatible "$SB_COMPATIBLE" \
        --version 3 --image rootfs=big.img -o big.bundle || die "bundle create ($BIG_GIB GiB)"
BIG_BUNDLE=$(stat -c %s big.bundle)
sb_stop_updated
for l in "${SB_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
SB_LOOPS=()
make_slot "$SB/slot-a.img" 256M; SB_SLOT_A=$SLOTDEV
make_slot "$SB/slot-b.img" "${BIG_GIB}G"; SB_SLOT_B=$SLOTDEV
sb_write_config "$SB/system.conf"
sb_make_env "$SB"
sb_start_updated A || die "updated ($BIG_GIB GiB run)"
PID=$SB_UPDATED_PID
t0=$(now)
updatectl install big.bundle >install-big.log 2>&1 || die "install ($BIG_GIB GiB): $(tail -n 3 install-big.log)"
T_INST_BIG=$(elapsed "$t0")
PEAK_1G=$(proc_kib "$PID" VmHWM)
rm -f big.img big.bundle

# --- table --------------------------------------------------------------------------------------
TPUT_COLD=$(awk -v s="$IMG_SIZE" -v t="$T_INST_COLD" 'BEGIN { printf "%.0f", s / 1048576 / t }')
TPUT_WARM=$(awk -v s="$IMG_SIZE" -v t="$T_INST_WARM" 'BEGIN { printf "%.0f", s / 1048576 / t }')
echo
echo "Update1 bench — $(date -u +%Y-%m-%dT%H:%MZ), slot: $SLOT_KIND, caches dropped for cold runs: ${DROP_OK:-no}"
printf '%-34s %-26s %-16s %s\n' "measure" "value" "reference/limit" "ratio / target"
printf '%-34s %-26s %-16s %s\n' "----------------------------------" "--------------------------" "----------------" "----------------"
printf '%-34s %-26s %-16s %s\n' "image (ext4, deterministic)" "$(mib "$IMG_SIZE") MiB" "" "sha256 ${IMG_SHA:0:12}…"
printf '%-34s %-26s %-16s %s\n' "bundle create" "${T_CREATE} s" "" ""
printf '%-34s %-26s %-16s %s\n' "bundle size" "$(mib "$BUNDLE_SIZE") MiB" "$(mib "$IMG_SIZE") MiB image" "$(ratio "$BUNDLE_SIZE" "$IMG_SIZE")"
for src in $SOURCES; do
        for c in cold warm; do
                printf '%-34s %-26s %-16s %s\n' "install $c, from $src (median)" "${M[$src-$c]} s" "${M[dd-$c]} s dd" \
                        "$(ratio "${M[$src-$c]}" "${M[dd-$c]}") (target <= 1.0x)"
        done
done
printf '%-34s %-26s %-16s %s\n' "  runs (s): dd cold | dd warm" "${T[dd-cold]# } | ${T[dd-warm]# }" "" ""
for src in $SOURCES; do
        printf '%-34s %-26s %-16s %s\n' "  runs (s): $src cold | warm" "${T[$src-cold]# } | ${T[$src-warm]# }" "" ""
done
printf '%-34s %-26s %-16s %s\n' "install cold, file, vs dd+sha256sum" "${T_INST_COLD} s (${TPUT_COLD} MiB/s)" "${T_REF_COLD} s" "$(ratio "$T_INST_COLD" "$T_REF_COLD")"
printf '%-34s %-26s %-16s %s\n' "install warm, file, vs dd+sha256sum" "${T_INST_WARM} s (${TPUT_WARM} MiB/s)" "${T_REF_WARM} s" "$(ratio "$T_INST_WARM" "$T_REF_WARM")"
printf '%-34s %-26s %-16s %s\n' "  reference cold = dd + sha256sum" "${T_DD_COLD} s + ${T_SHA_COLD} s" "" ""
printf '%-34s %-26s %-16s %s\n' "  reference warm = dd + sha256sum" "${T_DD_WARM} s + ${T_SHA_WARM} s" "" ""
REF2_COLD=$(awk -v a="$T_DD_COLD" -v b="$T_OSSL_COLD" 'BEGIN { printf "%.3f", a + b }')
REF2_WARM=$(awk -v a="$T_DD_WARM" -v b="$T_OSSL_WARM" 'BEGIN { printf "%.3f", a + b }')
printf '%-34s %-26s %-16s %s\n' "install cold vs dd + openssl dgst" "${T_INST_COLD} s" "${REF2_COLD} s" "$(ratio "$T_INST_COLD" "$REF2_COLD") (hash with OpenSSL)"
printf '%-34s %-26s %-16s %s\n' "install warm vs dd + openssl dgst" "${T_INST_WARM} s" "${REF2_WARM} s" "$(ratio "$T_INST_WARM" "$REF2_WARM") (hash with OpenSSL)"
printf '%-34s %-26s %-16s %s\n' "daemon idle RSS (VmRSS)" "$(kib_to_mib "$IDLE_RSS") MiB" "" "target <= 2 MiB"
printf '%-34s %-26s %-16s %s\n' "daemon peak RSS, 256 MiB, all rows" "$(kib_to_mib "$PEAK_256") MiB" "" "target <= 8 MiB"
printf '%-34s %-26s %-16s %s\n' "daemon peak RSS, $BIG_GIB GiB (VmHWM)" "$(kib_to_mib "$PEAK_1G") MiB" "$(kib_to_mib "$PEAK_256") MiB @256M" "$(ratio "$PEAK_1G" "$PEAK_256") (flat = 1.0x)"
printf '%-34s %-26s %-16s %s\n' "install $BIG_GIB GiB (bundle $(mib "$BIG_BUNDLE") MiB)" "${T_INST_BIG} s" "" ""
printf '%-34s %-26s %-16s %s\n' "updatectl status round trip" "$T_STATUS" "" ""
echo "reference = dd if=image of=slot bs=1M conv=fsync + sha256sum slot, same slot, same run;"
echo "coreutils sha256sum has no SHA-NI, so the 'dd + openssl dgst -sha256' rows are the stricter limit"
for n in "${NOTES[@]}"; do echo "note: $n"; done
# Exit on idle and the RAUC comparison, each in its own sandbox under $SB.
bash "$TOP/bench/bench-idle.sh" "$BUILD" "$SB/idle" || note "bench/bench-idle.sh failed"
bash "$TOP/bench/bench-peers.sh" "$BUILD" "$SB/peers" "$SB/image.ext4" || note "bench/bench-peers.sh failed"
