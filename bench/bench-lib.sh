# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# What bench/bench-peers.sh and bench/bench-idle.sh share: the sandbox (tests/lib/sandbox.sh,
# set up for $BUILD and $TOP, which the caller sets), timing, medians, memory of a process.

export UPDATE1_TOP=$TOP UPDATE1_BUILD=$BUILD
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"
SB_REMOVE=$([ "${BENCH_KEEP:-0}" = 1 ] && echo 0 || echo 1)
SB_COMPATIBLE=update1-bench

bl_now() { date +%s.%N; }
bl_elapsed() { awk -v a="$1" -v b="$(bl_now)" 'BEGIN { printf "%.3f", b - a }'; }
# bl_median V...: the median (the mean of the two middle ones for an even count).
bl_median() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "-"; exit }
                if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bl_mib() { awk -v a="$1" 'BEGIN { if (a == "" || a == "-") print "-"; else printf "%.2f", a / 1024 }'; }
# bl_status_kib PID KEY: a /proc/PID/status field in kB (VmRSS, VmHWM, RssAnon, ...).
bl_status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# bl_private_kib PID: Private_Clean + Private_Dirty of smaps_rollup (pages no other process
# shares: what the process really costs, unlike VmRSS, which counts shared libraries fully).
bl_private_kib() {
        awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { s += $2 } END { print s + 0 }' \
                "/proc/$1/smaps_rollup" 2>/dev/null
}

# bl_sample_start PID: samples the private RSS every 20 ms in the background (peak private
# memory has no counter like VmHWM); bl_sample_stop prints the largest sample in kB.
BL_SAMPLER=
bl_sample_start() {
        local pid=$1 out=$SB/sample.$1
        : >"$out"
        (
                trap - EXIT INT TERM
                while [ -e "/proc/$pid" ]; do
                        bl_private_kib "$pid" >>"$out"
                        sleep 0.02
                done
        ) &
        BL_SAMPLER=$!
        BL_SAMPLE_FILE=$out
}
bl_sample_stop() {
        [ -n "$BL_SAMPLER" ] && kill "$BL_SAMPLER" 2>/dev/null
        wait "$BL_SAMPLER" 2>/dev/null
        BL_SAMPLER=
        sort -n "$BL_SAMPLE_FILE" | tail -n 1
}

# bl_slot FILE SIZE: a loop device over a new sparse FILE (root only); sets BL_DEV.
bl_slot() {
        rm -f "$1"
        truncate -s "$2" "$1" || return 1
        BL_DEV=$(losetup --find --show "$1") || return 1
        SB_LOOPS+=("$BL_DEV")
}

# bl_wipe DEV: discards the slot (a hole in the loop file), so an install that wrote nothing
# cannot pass the hash check after it.
bl_wipe() {
        blkdiscard -f "$1" 2>/dev/null || dd if=/dev/zero of="$1" bs=1M count=1 conv=fsync status=none
}

# bl_slot_sha DEV BYTES: sha256 of the first BYTES of the slot.
bl_slot_sha() { head -c "$2" "$1" | sha256sum | cut -c1-64; }
