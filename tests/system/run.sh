#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole Update1 stack on an emulated arm64 board with a real U-Boot (make check-system).
#
#   tests/system/run.sh [BUILD_DIR] [SCENARIO...]
#
# Builds the board (tests/system/build-board.sh: arm64 sysroot from Debian packages fetched
# with a private apt state and cached under BUILD_DIR/system/debs, our stack cross-compiled,
# disk image, bundles), then runs each scenario on a fresh copy of the disk under QEMU TCG
# (qemu_arm64 U-Boot from u-boot-qemu, one QEMU process per boot).  Prints PASS:/FAIL:/SKIP:
# per scenario, a summary table (scenario, boots, wall time, result) and "N passed, N failed,
# N skipped".  Exit 0 if nothing failed.
#
# Environment: SYSTEM_JOBS (boards at a time, default 2 on 2+ cores), QEMU_SMP (vCPUs per
# board, default 1), QEMU_TIMEOUT (seconds per boot, default 150), SYSTEM_SKIP_BUILD=1 (reuse
# the last board build), SYSTEM_KEEP=1 (keep the disks of passed scenarios too).
# docs/system-test.md has the details.
set -uo pipefail

SYS_TOP=$(cd "$(dirname "$0")/../.." && pwd)
SYS_BUILD=${1:-build}
shift || true
mkdir -p "$SYS_BUILD"
SYS_BUILD=$(cd "$SYS_BUILD" && pwd)
export SYS_TOP SYS_BUILD

ALL=(update-commit fallback-health fallback-noboot powercut-early powercut-mid powercut-switched rejected
     env-redundancy agent-hawkbit agent-mqtt)
if [ $# -gt 0 ]; then SCENARIOS=("$@"); else SCENARIOS=("${ALL[@]}"); fi

t_start=$(date +%s)

# ---- can this machine run the board at all? -----------------------------------------------------
# The only reason to skip: qemu-system-aarch64 cannot start U-Boot (missing, or no TCG here).
UBOOT_BIN=/usr/lib/u-boot/qemu_arm64/u-boot.bin
probe_qemu() {
        local d out
        command -v qemu-system-aarch64 >/dev/null || { echo "qemu-system-aarch64 is not installed"; return 1; }
        [ -f "$UBOOT_BIN" ] || { echo "$UBOOT_BIN is missing (package u-boot-qemu)"; return 1; }
        d=$(mktemp -d)
        printf 'bootdelay=0\nbootcmd=echo U1-PROBE-OK; poweroff\n' | mkenvimage -s 0x40000 -o "$d/flash1.img" - &&
                truncate -s 64M "$d/flash1.img" || { rm -rf "$d"; echo "mkenvimage failed"; return 1; }
        out=$(timeout 60 qemu-system-aarch64 -machine virt -cpu cortex-a57 -m 128 -nographic -no-reboot \
                -bios "$UBOOT_BIN" -drive if=pflash,format=raw,index=1,file="$d/flash1.img",readonly=on \
                -net none </dev/null 2>&1)
        rm -rf "$d"
        grep -q U1-PROBE-OK <<<"$out" && return 0
        echo "qemu-system-aarch64 did not run U-Boot: $(tr -d '\r' <<<"$out" | tail -n 3 | tr '\n' ' ')"
        return 1
}
if ! why=$(probe_qemu); then
        echo "SKIP: system (the emulated arm64 board cannot start on this machine: $why)"
        echo
        echo "0 passed, 0 failed, ${#SCENARIOS[@]} skipped"
        exit 0
fi
for tool in python3 mcopy fw_printenv mkimage sfdisk mkfs.vfat mkfs.ext4 aarch64-linux-gnu-gcc; do
        command -v "$tool" >/dev/null || {
                echo "FAIL: system (missing host tool $tool; run tests/lib/install-deps.sh system)"
                echo
                echo "0 passed, 1 failed, 0 skipped"
                exit 1
        }
done

# ---- build the board -------------------------------------------------------------------------------
t0=$(date +%s)
if [ "${SYSTEM_SKIP_BUILD:-0}" = 1 ] && [ -f "$SYS_BUILD/system/img/disk.img" ]; then
        echo "=== board: reusing $SYS_BUILD/system/img"
else
        echo "=== building the board (arm64 sysroot, cross build, disk image, bundles)"
        if ! bash "$SYS_TOP/tests/system/build-board.sh" "$SYS_BUILD"; then
                echo "FAIL: system-build (see the messages above)"
                echo
                echo "0 passed, 1 failed, 0 skipped"
                exit 1
        fi
fi
build_s=$(( $(date +%s) - t0 ))
echo "    board ready in ${build_s}s"

# Two boards at a time with one vCPU each keeps two host cores busy; measured faster than one
# board with -smp 2 (boots, kernel and install are mostly single-threaded).
if [ -z "${SYSTEM_JOBS:-}" ]; then
        if [ "$(nproc)" -ge 2 ]; then SYSTEM_JOBS=2; else SYSTEM_JOBS=1; fi
fi
[ "$SYSTEM_JOBS" -ge 1 ] 2>/dev/null || SYSTEM_JOBS=1
export QEMU_SMP=${QEMU_SMP:-1}
# shellcheck source=lib.sh
. "$SYS_TOP/tests/system/lib.sh"
# shellcheck source=scenarios.sh
. "$SYS_TOP/tests/system/scenarios.sh"
rm -rf "$SYS_RUNDIR"
mkdir -p "$SYS_RUNDIR"

# run_one SCEN: runs the scenario, output to $SYS_RUNDIR/SCEN.out; the last line of that file
# is "RESULT PASS|FAIL BOOTS WALL".
run_one() {
        local SCEN=$1 fn=sc_${1//-/_} res s0 ms
        SCEN_SKIPS=()
        BOARD_BOOTS=0
        s0=$(date +%s%N)
        if "$fn"; then res=PASS; else res=FAIL; fi
        # A QEMU killed by some other process on the host (not our power cut, which is
        # SIGKILL) says nothing about the board: run the scenario once more on a fresh disk.
        local killer
        if [ "$res" = FAIL ] && [ -n "${BOARD_DIR:-}" ] &&
           killer=$(grep -h -o 'qemu-system-aarch64: terminating on signal [0-9]* from pid [0-9]*.*' \
                        "$BOARD_DIR"/boot-*.log 2>/dev/null | head -n 1) && [ -n "$killer" ]; then
                echo "    (not a board result: \"$killer\"; running $SCEN again on a fresh board," \
                        "first attempt kept in $BOARD_DIR.attempt1)"
                rm -rf "$BOARD_DIR.attempt1"
                mv "$BOARD_DIR" "$BOARD_DIR.attempt1"
                SCEN_SKIPS=()
                BOARD_BOOTS=0
                if "$fn"; then res=PASS; else res=FAIL; fi
        fi
        ms=$(( ($(date +%s%N) - s0) / 1000000 ))
        # a passed board's disk is not needed (logs stay); a failed one is kept to look at
        if [ "$res" = PASS ] && [ "${SYSTEM_KEEP:-0}" != 1 ] && [ -n "${BOARD_DIR:-}" ]; then
                rm -f "$BOARD_DIR/disk.img" "$BOARD_DIR/data.ext4" "$BOARD_DIR/step.img"
        fi
        for s in "${SCEN_SKIPS[@]}"; do echo "$s"; done
        echo "RESULT $res $BOARD_BOOTS $(printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100)))"
}

for SCEN in "${SCENARIOS[@]}"; do
        declare -F "sc_${SCEN//-/_}" >/dev/null && continue
        echo "FAIL: system-$SCEN (no such scenario; known: ${ALL[*]})"
        echo
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
done

# Boards run SYSTEM_JOBS at a time (each QEMU is one process; the output of each scenario is
# printed in order once it is complete).
passed=0 failed=0 skipped=0
rows=()
next=0
declare -A pid_of=()
print_done() {
        local SCEN out res boots wall
        while [ "$next" -lt ${#SCENARIOS[@]} ]; do
                SCEN=${SCENARIOS[next]}
                out=$SYS_RUNDIR/$SCEN.out
                [ -n "${pid_of[$SCEN]:-}" ] || return 0                 # not started yet
                # still running?  (jobs, not kill -0: a finished job's PID may be reused)
                [[ " $(jobs -rp | tr '\n' ' ') " == *" ${pid_of[$SCEN]} "* ]] && return 0
                wait "${pid_of[$SCEN]}" 2>/dev/null
                echo "=== $SCEN"
                grep -v '^RESULT ' "$out" | grep -v '^SKIP: '
                grep '^SKIP: ' "$out"
                skipped=$((skipped + $(grep -c '^SKIP: ' "$out")))
                read -r _ res boots wall < <(grep '^RESULT ' "$out" | tail -n 1)
                res=${res:-FAIL} boots=${boots:-?} wall=${wall:-?}
                echo "$res: system-$SCEN ($boots boots, $wall)"
                if [ "$res" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
                rows+=("$(printf '%-20s %5s %9s  %s' "$SCEN" "$boots" "$wall" "$res")")
                next=$((next + 1))
        done
}
running=0
for SCEN in "${SCENARIOS[@]}"; do
        while [ "$running" -ge "$SYSTEM_JOBS" ]; do
                wait -n 2>/dev/null
                running=$(jobs -rp | wc -l)
                print_done
        done
        run_one "$SCEN" >"$SYS_RUNDIR/$SCEN.out" 2>&1 &
        pid_of[$SCEN]=$!
        running=$((running + 1))
done
for SCEN in "${SCENARIOS[@]}"; do
        wait "${pid_of[$SCEN]}" 2>/dev/null
done
print_done

echo
echo "Emulated board (qemu-system-aarch64 TCG, -smp $QEMU_SMP, $SYSTEM_JOBS at a time, U-Boot $(strings "$UBOOT_BIN" | grep -m1 -o 'U-Boot 20[0-9.]*' | cut -d' ' -f2)):"
printf '%-20s %5s %9s  %s\n' scenario boots wall result
for r in "${rows[@]}"; do echo "$r"; done
echo "(board build ${build_s}s, total $(( $(date +%s) - t_start ))s; logs in $SYS_RUNDIR)"
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
