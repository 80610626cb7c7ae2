#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exit on idle, measured: a sandbox device whose updated exits after idle-timeout=1 and is
# started by D-Bus activation (tests/lib/sandbox.sh sb_enable_activation; systemd on a device).
#   idle memory once the timeout passed (no process: 0), the daemon's RSS while it runs
#   (total VmRSS and private), activation latency (the first `updatectl status` after the
#   daemon exited, median of BENCH_IDLE_RUNS = 5) and the warm `updatectl status` round trip
#   (hyperfine when installed, else a shell loop of BENCH_STATUS_RUNS = 50).
# Usage: bench/bench-idle.sh BUILD_DIR DIR      (called by bench/bench.sh)
set -uo pipefail

BUILD=$1 DIR=$2
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
. "$TOP/bench/bench-lib.sh"
SB_WAIT=30
SB_IDLE_TIMEOUT=1
RUNS=${BENCH_IDLE_RUNS:-5}
STATUS_RUNS=${BENCH_STATUS_RUNS:-50}

die() { echo "bench-idle: $*" >&2; [ -s "$SB/updated.log" ] && tail -n 10 "$SB/updated.log" >&2; exit 1; }
stop_activated() {
        local p
        p=$(sb_updated_pid) && kill -TERM "$p" 2>/dev/null && sb_wait_exit "$p" "$SB_WAIT"
}
trap 'stop_activated; sb_cleanup' EXIT
trap 'exit 130' INT TERM

sb_init "$DIR" || die "cannot create $DIR"
sb_install_bins || die "build first"
cd "$SB" || exit 1
{ sb_make_pki "$SB/pki" && sb_make_slots "$SB" 16M && sb_make_env "$SB" &&
        sb_write_config "$SB/system.conf"; } >/dev/null || die "sandbox"
SB_CONFIG=$SB/system.conf
sb_start_bus || die "bus"
sb_enable_activation --boot-slot A || die "activation"

echo "* idle: activation latency ($RUNS runs), warm status round trip"
updatectl status >/dev/null || die "first activation"
pid=$(sb_updated_pid) || die "no daemon after a call"
ACTIVE_RSS=$(bl_status_kib "$pid" VmRSS) ACTIVE_PRIV=$(bl_private_kib "$pid")
LAT=()
for ((i = 0; i < RUNS; i++)); do
        pid=$(sb_updated_pid) || die "no daemon"
        sb_wait_exit "$pid" $((SB_IDLE_TIMEOUT + 10)) || die "updated $pid did not exit on idle"
        ! sb_name_has_owner || die "the name still has an owner after the exit"
        t0=$(bl_now)
        updatectl status >/dev/null || die "status after the exit"
        LAT+=("$(awk -v s="$(bl_elapsed "$t0")" 'BEGIN { printf "%.1f", s * 1000 }')")
done
# Once more idle: nothing left running.
pid=$(sb_updated_pid)
sb_wait_exit "$pid" $((SB_IDLE_TIMEOUT + 10)) || die "updated $pid did not exit on idle"
IDLE_OWNER=$(sb_name_has_owner && echo "the name still has an owner" || echo "no process owns the name")

# Warm: the calls come faster than the 1 s timeout, so one daemon answers them all.
updatectl status >/dev/null || die "status"
if command -v hyperfine >/dev/null 2>&1; then
        hyperfine -N --warmup 5 --runs "$STATUS_RUNS" --export-json hf.json "$SB/bin/updatectl status --json" \
                >/dev/null 2>&1 || die "hyperfine"
        WARM=$("$SB_PY" -c 'import json, statistics; r = json.load(open("hf.json"))["results"][0]
print("%.2f ms median (hyperfine, %d runs; mean %.2f, min %.2f)" % (statistics.median(r["times"]) * 1e3, len(r["times"]), r["mean"] * 1e3, r["min"] * 1e3))')
else
        T=()
        for ((i = 0; i < STATUS_RUNS; i++)); do
                t0=$(bl_now)
                updatectl status --json >/dev/null || die "status"
                T+=("$(awk -v s="$(bl_elapsed "$t0")" 'BEGIN { printf "%.2f", s * 1000 }')")
        done
        WARM="$(bl_median "${T[@]}") ms median (shell loop, $STATUS_RUNS runs; includes fork/exec)"
fi

echo
echo "Exit on idle (idle-timeout=$SB_IDLE_TIMEOUT s here; default 30 s)"
printf '%-40s %s\n' "idle RSS after the timeout" "0 MiB (updated exited; $IDLE_OWNER)"
printf '%-40s %s\n' "RSS while running, total (VmRSS)" "$(bl_mib "$ACTIVE_RSS") MiB"
printf '%-40s %s\n' "RSS while running, private" "$(bl_mib "$ACTIVE_PRIV") MiB"
printf '%-40s %s\n' "activation: first status after exit" "$(bl_median "${LAT[@]}") ms median of $RUNS (${LAT[*]}) (target <= 50 ms)"
printf '%-40s %s\n' "warm updatectl status round trip" "$WARM (target <= 3 ms)"
