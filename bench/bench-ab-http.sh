#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Interleaved A/B of a warm install over http (nginx on loopback) into a 256 MiB slot (a loop
# device when root), the way bench/bench.sh's "install warm, from http" row does it, for two
# builds of updated: each round runs dd conv=fsync of the raw image, then A, then B (the order
# alternates every round), each a daemon started for it, one untimed install (libcurl loaded,
# caches warm), then the timed one.  Prints every run, the medians of wall clock and of the
# daemon's CPU time (user + system, 10 ms ticks) for the timed install; never asserted.
# Usage: bench/bench-ab-http.sh BUILD_A BUILD_B [ROUNDS]    (ROUNDS default 7)
set -uo pipefail

[ $# -ge 2 ] || { echo "usage: $0 BUILD_A BUILD_B [ROUNDS]" >&2; exit 2; }
TOP=$(cd "$(dirname "$0")/.." && pwd)
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd) ROUNDS=${3:-7}
BUILD=$B
# shellcheck source=bench/bench-lib.sh
. "$TOP/bench/bench-lib.sh"
SB_WAIT=30

die() { [ -n "${perf_pid:-}" ] && kill -INT "$perf_pid"; echo "bench-ab-http: $*" >&2; [ -s "$SB/updated.log" ] && tail -n 20 "$SB/updated.log" >&2; exit 1; }
trap 'sb_cleanup' EXIT
trap 'exit 130' INT TERM

sb_init "$B/bench-ab-http" || die "cannot create $B/bench-ab-http"
sb_install_bins || die "build first: make all"
for v in A B; do
        src=$([ $v = A ] && echo "$A" || echo "$B")
        cp "$src/updated" "$SB/bin/updated-$v" || die "no $src/updated"
done
cd "$SB" || exit 1
echo "A/B http install in $SB ($(nproc) CPUs): A=$A B=$B, $ROUNDS rounds"
bl_bench_image image.ext4 || die "building the image"
IMG_SIZE=$(stat -c %s image.ext4)
sb_make_pki "$SB/pki" || die "pki"
updatectl bundle create --cert pki/signer.crt --key pki/signer.key --compatible "$SB_COMPATIBLE" \
        --version 2 --image rootfs=image.ext4 -o image.bundle >/dev/null || die "bundle create"
mkdir -p www && chmod 0755 www && ln image.bundle www/image.bundle && chmod 0644 image.bundle
[ "$(id -u)" = 0 ] || die "needs root (loop devices for the slots, as bench/bench.sh)"
bl_slot "$SB/slot-a.img" 256M || die "slot a"
SB_SLOT_A=$BL_DEV
bl_slot "$SB/slot-b.img" 256M || die "slot b"
SB_SLOT_B=$BL_DEV
sb_make_env "$SB" || die "env"
sb_write_config "$SB/system.conf"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "bus"
sb_start_nginx "$SB/www" 2>nginx.err || die "nginx: $(cat nginx.err)"

HZ=$(getconf CLK_TCK)
# perf stat, where it works here (root, perf installed): the daemon's task-clock (ms, all its
# threads) and context switches during the timed install, finer than /proc's 10 ms ticks.
PERF=$(command -v perf >/dev/null && perf stat -e task-clock -o /dev/null true 2>/dev/null && echo 1)
perf_attached() { find "/proc/$1/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null | grep -q .; }
# cpu_ms PID: user + system CPU of the daemon so far (its ended threads included), in ms.
cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%d", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
install_http() { # VARIANT → prints "seconds cpu_ms" of the timed install
        local t0 c0 t c perf_pid
        cp "$SB/bin/updated-$1" "$SB/bin/updated"
        sb_start_updated A || die "updated ($1)"
        updatectl install "$SB_HTTP_URL/image.bundle" >install.log 2>&1 || die "install ($1): $(tail -n 3 install.log)"
        if [ -n "$PERF" ]; then
                rm -f perf.csv
                perf stat -x, -o perf.csv -e task-clock,context-switches -p "$SB_UPDATED_PID" >/dev/null &
                perf_pid=$!
                # counting once its events are open (the new threads inherit them)
                sb_poll 10 perf_attached "$perf_pid" || die "perf stat did not attach"
        fi
        c0=$(cpu_ms "$SB_UPDATED_PID")
        t0=$(bl_now)
        updatectl install "$SB_HTTP_URL/image.bundle" >install.log 2>&1 || die "install ($1): $(tail -n 3 install.log)"
        t=$(bl_elapsed "$t0")
        c=$(($(cpu_ms "$SB_UPDATED_PID") - c0))
        if [ -n "$PERF" ]; then
                kill -INT "$perf_pid"
                wait "$perf_pid"
                c="$c $(awk -F, '$3 == "task-clock" { tc = $1 } $3 == "context-switches" { cs = $1 } END { printf "%.1f %d", tc, cs }' perf.csv)"
        fi
        echo "$t $c"
        cmp -s -n "$IMG_SIZE" image.ext4 "$SB_SLOT_B" || die "slot B does not hold the image ($1)"
        sb_stop_updated
}
dd_once() {
        local t0
        t0=$(bl_now)
        dd if=image.ext4 of="$SB_SLOT_B" bs=1M conv=fsync status=none || die "dd"
        bl_elapsed "$t0"
}

TA=() TB=() TD=() CA=() CB=() PA=() PB=() XA=() XB=()
for ((r = 1; r <= ROUNDS; r++)); do
        TD+=("$(dd_once)")
        if ((r % 2)); then
                read -r ta ca pa sa <<<"$(install_http A)"
                read -r tb cb pb sb <<<"$(install_http B)"
        else
                read -r tb cb pb sb <<<"$(install_http B)"
                read -r ta ca pa sa <<<"$(install_http A)"
        fi
        [ -n "$ta" ] && [ -n "$tb" ] || die "round $r failed"
        TA+=("$ta") CA+=("$ca") PA+=("${pa:--}") XA+=("${sa:--}")
        TB+=("$tb") CB+=("$cb") PB+=("${pb:--}") XB+=("${sb:--}")
        echo "round $r: dd ${TD[-1]} s | A ${ta} s, CPU ${ca} ms (perf ${pa:--} ms, ${sa:--} cs) | B ${tb} s, CPU ${cb} ms (perf ${pb:--} ms, ${sb:--} cs)"
done
MA=$(bl_median "${TA[@]}") MB=$(bl_median "${TB[@]}") MD=$(bl_median "${TD[@]}")
range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- -; }
echo "dd conv=fsync: median $MD s (range $(range "${TD[@]}"))"
for v in A B; do
        declare -n t=T$v c=C$v p=P$v cs=X$v
        m=$(bl_median "${t[@]}")
        echo "$v: wall median $m s (range $(range "${t[@]}")), $(awk -v a="$m" -v d="$MD" 'BEGIN { printf "%.2fx", a / d }') dd;" \
                "CPU median $(bl_median "${c[@]}") ms (range $(range "${c[@]}"));" \
                "perf task-clock median $(bl_median "${p[@]}") ms (range $(range "${p[@]}")), context switches median $(bl_median "${cs[@]}")"
done
echo "B/A wall: $(awk -v a="$MA" -v b="$MB" 'BEGIN { printf "%.3f", b / a }')"
