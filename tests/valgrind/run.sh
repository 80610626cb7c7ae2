#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make check-valgrind: the daemon under valgrind memcheck (docs/fuzzing.md has the results).
#   1. Integration tests: each tests/integration/test-*.sh but powerloss, agent-* and
#      install-delta-4gib (or those named in VALGRIND_TESTS, e.g. VALGRIND_TESTS="install
#      mark") runs with updated started as
#        valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 ...
#      through tests/lib/sandbox.sh's UPDATE1_DAEMON_WRAPPER.  A test passes when its own cases
#      pass and every valgrind log it produced ends with "ERROR SUMMARY: 0 errors" (a definite
#      leak counts as an error; nobody looks at the daemon's exit status in the sandbox, so the
#      logs are read).
#   2. Leaks per install: one daemon run with 1 install, one with VALGRIND_INSTALLS (default 5)
#      installs of fresh bundles, both stopped with SIGTERM.  Nothing may be definitely or
#      indirectly lost, and what is still reachable at exit must not grow with the number of
#      installs.
# Prints one PASS:/FAIL: line per check and a summary table ($BUILD/valgrind/summary.txt).
#   tests/valgrind/run.sh [BUILD_DIR]
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$TOP" && cd "${1:-build}" && pwd)
VG=$BUILD/valgrind
N=${VALGRIND_INSTALLS:-5}
export UPDATE1_TOP=$TOP UPDATE1_BUILD=$BUILD
# Everything is ~20-50x slower under valgrind: give the sandbox's waits room.
export SB_WAIT=${SB_WAIT:-90}

if ! command -v valgrind >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind </dev/null >&2 ||
                        { echo "FAIL: valgrind: cannot install it"; exit 1; }
        else
                echo "SKIP: valgrind (not installed: apt-get install valgrind)"
                exit 0
        fi
fi
[ -x "$BUILD/updated" ] || { echo "FAIL: valgrind: $BUILD/updated not built (make all)"; exit 1; }

rm -rf "$VG"
mkdir -p "$VG"
chmod 0755 "$VG"
failed=0
rows=()

vg_cmd() { # LOGDIR: the wrapper command line
        echo "valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 --suppressions=$TOP/tests/valgrind/updated.supp --log-file=$1/updated.%p.log"
}

# "definitely lost: 1,234 bytes in 5 blocks" → 1234 (0 if absent: "All heap blocks were freed")
vg_bytes() { # KIND LOG
        local v
        # (vgdb's runtime leak_check adds the delta: "still reachable: 100 (+100) bytes")
        v=$(grep -E "$1: [0-9,]+ (\([-+][0-9,]+\) )?bytes" "$2" | tail -n 1 |
                sed -E "s/.*$1: ([0-9,]+) .*/\1/" | tr -d ,)
        echo "${v:-0}"
}
vg_errors() { # LOG → error count of the summary line
        local v
        v=$(grep -E 'ERROR SUMMARY: [0-9,]+ errors' "$1" | tail -n 1 | sed -E 's/.*ERROR SUMMARY: ([0-9,]+) errors.*/\1/' | tr -d ,)
        echo "${v:-0}"
}
# A log with no summary at all: the daemon was SIGKILLed or valgrind died.
vg_complete() { grep -q 'ERROR SUMMARY' "$1" || grep -q 'HEAP SUMMARY' "$1"; }

# --- 1. integration tests ------------------------------------------------------------------
# Cases that fail only because of valgrind itself, as "test-file:case" (none at present; a
# failed exec is reported through a pipe (lib/process.c), which valgrind handles).
KNOWN=""
tests=()
if [ -n "${VALGRIND_TESTS:-}" ]; then
        for t in $VALGRIND_TESTS; do tests+=("$TOP/tests/integration/test-$t.sh"); done
else
        # All of updated's integration tests but test-powerloss (it SIGKILLs the daemon on
        # purpose, hundreds of times, under strace: no leak summary, hours under valgrind) and
        # the update-agent's own tests; nor test-install-delta-4gib (it seeds 8 GiB of slots
        # and writes 4 GiB: the same code paths as test-install-delta, at a size that would take
        # most of an hour under memcheck).
        for t in "$TOP"/tests/integration/test-*.sh; do
                case $(basename "$t") in
                test-powerloss.sh | test-agent-* | test-install-delta-4gib.sh) ;;
                *) tests+=("$t") ;;
                esac
        done
fi
for t in "${tests[@]}"; do
        name=$(basename "$t" .sh)
        dir=$VG/$name
        mkdir -p "$dir"
        chmod 0777 "$dir" # in case a test runs the daemon as another user
        start=$(date +%s)
        UPDATE1_DAEMON_WRAPPER=$(vg_cmd "$dir") bash "$t" >"$dir/test.log" 2>&1 </dev/null
        rc=$?
        secs=$(($(date +%s) - start))
        # The test's TAP (tests/lib/testlib.sh): "ok N - case", "not ok N - case".
        p=$(grep -E '^ok [0-9]+ ' "$dir/test.log" | grep -vc ' # SKIP')
        f=0
        while read -r c; do
                c=${c%%:*}
                if [[ " $KNOWN " == *" $name:$c "* ]]; then
                        echo "NOTE: $name: case $c fails under valgrind only (see KNOWN in $0)" >&2
                else
                        f=$((f + 1))
                fi
        done < <(sed -n 's/^not ok [0-9]* - //p' "$dir/test.log")
        logs=("$dir"/updated.*.log)
        [ -e "${logs[0]}" ] || logs=()
        errs=0 definite=0 incomplete=0
        for l in "${logs[@]}"; do
                errs=$((errs + $(vg_errors "$l")))
                definite=$((definite + $(vg_bytes 'definitely lost' "$l")))
                vg_complete "$l" || incomplete=$((incomplete + 1))
        done
        why=
        [ "$f" -gt 0 ] || { [ "$rc" != 0 ] && [ "$p" = 0 ]; } && why="$f of its cases failed under valgrind (exit $rc)"
        [ "$errs" -gt 0 ] && why="${why:+$why; }valgrind reported $errs error(s), $definite bytes definitely lost"
        if [ -n "$why" ]; then
                echo "FAIL: valgrind-$name: $why (logs: $dir)"
                for l in "${logs[@]}"; do
                        [ "$(vg_errors "$l")" = 0 ] || grep -m 20 -E '==[0-9]+== (Invalid|Conditional|Use of|Syscall|[0-9,]+ bytes in|   (at|by) 0x)' "$l" | sed 's/^/  | /'
                done
                failed=1
        else
                note=
                [ "$incomplete" -gt 0 ] && note=", $incomplete run(s) killed before valgrind's summary"
                echo "PASS: valgrind-$name ($p cases, ${#logs[@]} daemon runs, 0 errors, 0 bytes definitely lost$note)"
        fi
        rows+=("$(printf '%-28s %5s %5s %6s %7s %9s %6s' "$name" "$p" "$f" "${#logs[@]}" "$errs" "$definite" "${secs}s")")
done

# --- 2. leaks per install ------------------------------------------------------------------
# One daemon run, N installs of fresh bundles (2 MiB each, into the inactive slot).  After each
# install valgrind's gdbserver does a leak check of the running daemon (vgdb leak_check):
# nothing may be lost at any point, and the heap still reachable must not grow from install 2
# on (install 1 creates what the daemon keeps for good: codec contexts, OpenSSL tables, ...).
# At exit (SIGTERM) everything must have been freed.
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"
vg_runtime() { # PID FILE: leak summary of the running daemon → "definite indirect reachable"
        vgdb --pid="$1" leak_check summary >"$2" 2>&1 || return 1
        echo "$(vg_bytes 'definitely lost' "$2") $(vg_bytes 'indirectly lost' "$2") $(vg_bytes 'still reachable' "$2")"
}
installs_run() { # COUNT
        local n=$1 dir=$VG/installs i l d ind r
        mkdir -p "$dir"
        sb_init "$dir/sb" >/dev/null || return 1
        SB_DATA=$SB/data
        UPDATE1_DAEMON_WRAPPER=$(vg_cmd "$dir")
        export UPDATE1_DAEMON_WRAPPER
        sb_setup_device A >"$dir/setup.log" 2>&1 || { echo "setup failed: $(tail -n 5 "$dir/setup.log")" >&2; return 1; }
        unset UPDATE1_DAEMON_WRAPPER
        for ((i = 1; i <= n; i++)); do
                sb_make_random "$SB/img-$i" 2M &&
                sb_bundle "$SB/v$i.bundle" "1.$i" "$SB/img-$i" >/dev/null 2>&1 &&
                updatectl install "$SB/v$i.bundle" >>"$dir/install.log" 2>&1 ||
                        { echo "install $i failed: $(tail -n 3 "$dir/install.log")" >&2; return 1; }
                read -r d ind r <<<"$(vg_runtime "$SB_UPDATED_PID" "$dir/after-install-$i.txt")" ||
                        { echo "vgdb leak_check failed: $(cat "$dir/after-install-$i.txt")" >&2; return 1; }
                INST_REACHABLE[i]=$r
                INST_LOST[i]=$((d + ind))
        done
        sb_stop_updated
        l=$(ls "$dir"/updated.*.log | head -n 1)
        vg_complete "$l" || { echo "no valgrind summary in $l (daemon killed?)" >&2; return 1; }
        INST_EXIT="$(vg_bytes 'definitely lost' "$l") $(vg_bytes 'indirectly lost' "$l") $(vg_bytes 'still reachable' "$l") $(vg_errors "$l")"
        INST_INUSE=$(grep -E 'in use at exit: [0-9,]+ bytes' "$l" | sed -E 's/.*in use at exit: ([0-9,]+) bytes.*/\1/' | tr -d ,)
        sb_cleanup
}
INST_REACHABLE=() INST_LOST=()
[ "$N" -ge 3 ] || N=3
if ! installs_run "$N"; then
        echo "FAIL: valgrind-leaks-per-install: the daemon run did not complete (logs: $VG/installs)"
        failed=1
else
        read -r xd xi _ xe <<<"$INST_EXIT"
        lost=0
        for ((i = 1; i <= N; i++)); do lost=$((lost + INST_LOST[i])); done
        growth=$((INST_REACHABLE[N] - INST_REACHABLE[2]))
        per_install=$((growth / (N - 2)))
        trend="reachable after each install: ${INST_REACHABLE[*]:1} bytes"
        # A few hundred bytes of jitter (sd-bus and sd-event bookkeeping of the clients that
        # came and went) are not a leak; a per-install leak of anything real is.
        if [ "$lost" = 0 ] && [ "$per_install" -le 256 ] && [ "$xd$xi" = 00 ] && [ "$xe" = 0 ] && [ "${INST_INUSE:-0}" = 0 ]; then
                echo "PASS: valgrind-leaks-per-install ($N installs: 0 bytes lost at every install; $trend; growth from install 2 to $N: $growth bytes; ${INST_INUSE:-0} bytes in use at exit)"
        else
                echo "FAIL: valgrind-leaks-per-install: lost $lost bytes during the run; $trend (growth $per_install bytes per install); at exit: definite $xd indirect $xi in use ${INST_INUSE:-?} errors $xe (logs: $VG/installs)"
                failed=1
        fi
        rows+=("$(printf '%-28s %5s %5s %6s %7s %9s %6s' "installs x$N" "$N" - 1 "$xe" "$xd" -)")
fi

{
        printf '%-28s %5s %5s %6s %7s %9s %6s\n' test pass fail runs errors def.lost time
        printf '%s\n' "${rows[@]}"
} | tee "$VG/summary.txt"
exit "$failed"
