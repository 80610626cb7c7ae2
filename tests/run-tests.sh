#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test program: the unit tests, the model test and the fuzz corpus replays
# ($BUILD/tests/test-*), the integration and the security test scripts
# (tests/{integration,security}/test-*.sh).  Each one prints TAP (version 13; tests/unit/unit.h,
# tests/lib/testlib.sh): "ok N - name", "not ok N - name", "ok N - name # SKIP reason" (and
# "not ok N - name # TODO", counted as skipped), "# " diagnostics, and a plan "1..N" (at the
# start or the end).  Its output goes to $BUILD/test-logs/NAME.log; a block per program is
# printed when it ends: its test points, and for a failure its diagnostics and why.
#
# A program fails as a whole (one failure more, named) when it exits non-zero without a
# "not ok", ends without a plan or with a plan that does not match the count (it crashed or was
# killed mid-way), prints no test point at all, says "Bail out!", or runs out of time.  Under
# SANITIZE=1 every ASan/UBSan/LSan report written during a program is one failure more.
# Ends with the one line CI reads: "N passed, N failed, N skipped".
#
# Usage: tests/run-tests.sh BUILD_DIR [FILTER]   (FILTER, or $TESTS: only the programs whose
#        name contains it, e.g. unit-test-cms, integration-, test-auth)
# Environment:
#   UPDATE1_TEST_JOBS=N        programs at once (default 2, 1 on a single CPU; 1 = one by one)
#   UPDATE1_TEST_TIMEOUT=S     time limit of every program (default 600 s; the model test and the
#                              power-loss test 1800 s; times 3 under SANITIZE=1).  Meant
#                              for a hang, not a slow machine: several times what these
#                              programs take on a busy 2-core machine.
#   UPDATE1_TEST_TIMEOUT_<name>=S  of one program, - and . in its name as _
#                              (UPDATE1_TEST_TIMEOUT_unit_test_model=900)
#   UPDATE1_TEST_KILL_GRACE=S  SIGKILL this long after the SIGTERM of a time-out (default 20 s)
#
# Parallel runs: the programs that take a resource of the whole machine run alone, before the
# others (SERIAL below, or a line "# run-tests: serial" in a test script).  The rest is
# independent: each sandbox has its own directory, private bus, lock file, free ports, and the
# model test its own mount namespace.  The test users and groups are made once, here, before
# anything runs in parallel (useradd is not safe against itself).
set -u
BUILD=${1:-build}
FILTER=${2:-${TESTS:-}}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
export UPDATE1_BUILD=$BUILD UPDATE1_TOP=$TOP
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
RESDIR=$(mktemp -d "$LOGDIR/.run.XXXXXX") || exit 1
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"

# Programs that must run alone, and why:
#   unit-test-slot           attaches a loop device (gpt_loop: losetup --find, partx)
#   integration-test-blkid   attaches loop devices, partitions them (losetup -P, partx)
#   unit-test-uboot-lock     takes the host's /var/lock/fw_printenv.lock (libubootenv's fixed
#                            path, which every daemon and fw_setenv also lock) and asserts that
#                            nobody else holds it, with time bounds on lock waits
SERIAL=" unit-test-slot integration-test-blkid unit-test-uboot-lock "

# Time limits (seconds); the model test explores every scheme, the power-loss test kills the
# daemon at ~800 points, for minutes by design.
DEFAULT_TIMEOUT=${UPDATE1_TEST_TIMEOUT:-600}
declare -A SUITE_TIMEOUT=([unit-test-model]=${UPDATE1_TEST_TIMEOUT:-1800}
                          [integration-test-powerloss]=${UPDATE1_TEST_TIMEOUT:-1800})
KILL_GRACE=${UPDATE1_TEST_KILL_GRACE:-20}
TIMEOUT_SCALE=1

JOBS=${UPDATE1_TEST_JOBS:-}
if [ -z "$JOBS" ]; then
        JOBS=$(nproc 2>/dev/null || echo 1)
        [ "$JOBS" -gt 2 ] && JOBS=2
fi
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "run-tests: UPDATE1_TEST_JOBS=$JOBS is not a number" >&2; exit 2; }

# SANITIZE=1 (the Makefile sets UPDATE1_SANITIZER_LOG_DIR and log_path= in ASAN_OPTIONS/
# UBSAN_OPTIONS): every process a test starts, updated in the background included, writes its
# ASan/UBSan/LSan report there.  Each program gets its own directory $SANDIR/NAME (log_path=
# rewritten for it), so a report fails the program during which it appeared, parallel or not.
SANDIR=${UPDATE1_SANITIZER_LOG_DIR:-}
if [ -n "$SANDIR" ]; then
        rm -rf "$SANDIR" && mkdir -p "$SANDIR" && chmod 1777 "$SANDIR" # test users write too
        TIMEOUT_SCALE=3
fi

# The users and groups the tests create as root (sb_make_users: u1test-*, and "update" if it
# did not exist) last as long as the run: the EXIT trap removes them, failed run or not, unless
# another run is still going on (then the last one to end does).
sb_accounts_begin || echo "run-tests: no lock on $SB_ACCOUNTS_LOCK; test accounts may stay behind" >&2

RUNNING=()             # worker PIDs
on_exit() {
        local p
        trap - EXIT INT TERM
        for p in "${RUNNING[@]}"; do
                kill -TERM "$p" 2>/dev/null
        done
        wait
        rm -rf "$RESDIR"
        sb_accounts_end
}
trap on_exit EXIT
trap 'exit 130' INT TERM

passed=0 failed=0 skipped=0
failures=()

# ---- what to run -------------------------------------------------------------------------------
NAMES=() CMDS=()       # CMDS: the command line, one word per line
add() { # name command...
        [ -n "$FILTER" ] && [[ "$1" != *$FILTER* ]] && return 0
        NAMES+=("$1")
        local IFS=$'\n'
        CMDS+=("${*:2}")
}
for t in "$BUILD"/tests/test-*; do
        [ -x "$t" ] && add "unit-$(basename "$t")" "$t"
done
for suite in integration security; do
        for t in "$TOP/tests/$suite"/test-*.sh; do
                [ -f "$t" ] && add "$suite-$(basename "$t" .sh)" bash "$t"
        done
done

is_serial() { # index
        [[ "$SERIAL" == *" ${NAMES[$1]} "* ]] && return 0
        local -a c
        mapfile -t c <<<"${CMDS[$1]}"
        [ "${c[0]}" = bash ] && grep -q '^# run-tests: serial' "${c[1]}" 2>/dev/null
}

time_limit() { # name
        local v=UPDATE1_TEST_TIMEOUT_${1//[-.]/_}
        echo $(( ${!v:-${SUITE_TIMEOUT[$1]:-$DEFAULT_TIMEOUT}} * TIMEOUT_SCALE ))
}

# ---- reading a program's TAP ---------------------------------------------------------------------
# tap_block LOG: "COUNTS passed failed skipped whole-program-problem" on the first line, then the
# block's lines: the test points, and for a failure the "# " diagnostics (at most 40 lines).
tap_block() {
        awk '
        function directive(line,   i, c, rest) {
                # the first "#" not escaped with a backslash starts the directive
                for (i = 1; i <= length(line); i++) {
                        c = substr(line, i, 1)
                        if (c == "\\") { i++; continue }
                        if (c == "#") {
                                rest = toupper(substr(line, i + 1))
                                sub(/^[ \t]+/, "", rest)
                                if (rest ~ /^SKIP/) return "SKIP"
                                if (rest ~ /^TODO/) return "TODO"
                                return ""
                        }
                }
                return ""
        }
        /^(not )?ok( [0-9]+)?([ \t]|$)/ {
                n++
                d = directive($0)
                if ($1 == "ok") { if (d == "SKIP") s++; else p++ }
                else if (d == "TODO") s++
                else f++
                points[++np] = $0
                next
        }
        /^1\.\.[0-9]+/ {
                plans++
                plan = substr($1, 4) + 0
                if (plan == 0 && directive($0) == "SKIP") skipall = $0
                next
        }
        /^Bail out!/ { bail = $0; next }
        /^#/ { if (nd < 40) diag[++nd] = $0; else more++; next }
        END {
                problem = ""
                if (bail != "") problem = "said \"" bail "\""
                else if (plans > 1) problem = plans " plans"
                else if (plans == 0 && n > 0) problem = "no plan after test point " n " (it crashed or was killed before its end)"
                else if (plans == 0) problem = "printed no TAP at all"
                else if (plan != n) problem = "planned " plan " tests, printed " n " (it crashed or was killed mid-way, or printed test points from a subshell)"
                else if (n == 0 && skipall == "") problem = "printed no test point"
                if (skipall != "" && n == 0) s++
                print "COUNTS", p + 0, f + 0, s + 0, problem
                for (i = 1; i <= np; i++) print "  " points[i]
                if (skipall != "" && n == 0) print "  " skipall
                if (f > 0 || problem != "") {
                        if (nd > 0) print "  --- diagnostics:"
                        for (i = 1; i <= nd; i++) print "  | " diag[i]
                        if (more > 0) print "  | (" more " more lines of diagnostics in the log)"
                }
        }' "$1"
}

# ---- one program ---------------------------------------------------------------------------------
# run_test INDEX: runs it (in the background, from the scheduler) and writes $RESDIR/INDEX.res:
# "COUNTS p f s" and the block.
run_test() {
        local i=$1 name=${NAMES[$1]} log=$LOGDIR/${NAMES[$1]}.log res=$RESDIR/$1.res
        local -a cmd
        local limit t0 ms rc=0 tpid p f s problem extra=0 r head why=() reports=() sdir=
        mapfile -t cmd <<<"${CMDS[$i]}"
        limit=$(time_limit "$name")
        if [ -n "$SANDIR" ]; then
                sdir=$SANDIR/$name
                rm -rf "$sdir" && mkdir -p "$sdir" && chmod 1777 "$sdir"
                export UPDATE1_SANITIZER_LOG_DIR=$sdir
                ASAN_OPTIONS=${ASAN_OPTIONS//"log_path=$SANDIR/"/"log_path=$sdir/"}
                UBSAN_OPTIONS=${UBSAN_OPTIONS//"log_path=$SANDIR/"/"log_path=$sdir/"}
        fi
        t0=${EPOCHREALTIME/./}
        # timeout(1) puts the program in a process group of its own and signals all of it.  The
        # session lock stays with this script: a test (or a daemon it leaves behind) must not
        # hold it.
        if [ -n "$SB_ACCOUNTS_FD" ]; then
                timeout -k "$KILL_GRACE" "$limit" "${cmd[@]}" >"$log" 2>&1 </dev/null {SB_ACCOUNTS_FD}>&- &
        else
                timeout -k "$KILL_GRACE" "$limit" "${cmd[@]}" >"$log" 2>&1 </dev/null &
        fi
        tpid=$!
        # The run is interrupted: timeout passes SIGTERM on to the program's process group.
        trap 'kill -TERM "$tpid" 2>/dev/null' TERM INT
        while :; do
                wait "$tpid" 2>/dev/null # (bash's "Segmentation fault" notice: the block says it)
                rc=$?
                kill -0 "$tpid" 2>/dev/null || break
        done
        trap - TERM INT
        ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))

        { read -r head p f s problem; cat >"$res.block"; } < <(tap_block "$log")
        [ "$head" = COUNTS ] || { p=0 f=0 s=0 problem="its output could not be read"; }
        if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ "$ms" -ge $((limit * 1000)) ]; then
                why+=("timed out after $limit s (SIGTERM, then SIGKILL $KILL_GRACE s later if still running; UPDATE1_TEST_TIMEOUT_${name//[-.]/_}=S to change)")
        else
                [ -n "$problem" ] && why+=("$problem")
                if [ "$rc" -gt 128 ]; then
                        why+=("killed by signal $((rc - 128)) (exit status $rc)")
                elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
                        why+=("exited with $rc without a failed test point")
                fi
        fi
        [ ${#why[@]} -gt 0 ] && extra=1
        reports=()
        if [ -n "$sdir" ]; then
                for r in "$sdir"/*; do
                        [ -f "$r" ] && reports+=("$r")
                done
        fi
        extra=$((extra + ${#reports[@]}))
        {
                printf '=== %s: %s passed, %s failed, %s skipped (%d.%d s)\n' "$name" "$p" "$((f + extra))" "$s" \
                        $((ms / 1000)) $((ms % 1000 / 100))
                cat "$res.block"
                for r in "${why[@]}"; do
                        echo "  not ok - $name: $r"
                done
                for r in "${reports[@]}"; do
                        echo "  not ok - $name: sanitizer report $r"
                        echo "# run-tests: sanitizer report $r" >>"$log"
                        grep -m 12 -E 'ERROR|SUMMARY|runtime error|^    #[0-9] ' "$r" | sed 's/^/  | /'
                        echo "$r" >>"$RESDIR/sanitizer-seen"
                done
                if [ ${#why[@]} -gt 0 ]; then
                        echo "  --- last lines of $log:"
                        tail -n 25 "$log" | sed 's/^/  | /'
                fi
        } >"$res.out"
        echo "$p $((f + extra)) $s $ms" >"$res"
}

# ---- scheduling ------------------------------------------------------------------------------------
# The serial programs one by one, then the others JOBS at a time, the longest first (from the
# times of the last run in this build directory, $LOGDIR/durations; unknown ones first, then in
# name order), each block printed as its program ends.
declare -A LAST=()
if [ -f "$LOGDIR/durations" ]; then
        while read -r n ms; do LAST[$n]=$ms; done <"$LOGDIR/durations"
fi
serial=() parallel=()
for i in "${!NAMES[@]}"; do
        if [ "$JOBS" = 1 ] || is_serial "$i"; then serial+=("$i"); else parallel+=("$i"); fi
done
if [ ${#LAST[@]} -gt 0 ] && [ "$JOBS" -gt 1 ]; then
        mapfile -t parallel < <(for i in "${parallel[@]}"; do
                printf '%s %s\n' "${LAST[${NAMES[$i]}]:-999999999}" "$i"; done | sort -s -k1,1nr | cut -d' ' -f2)
fi

# Root and parallel: the test accounts exist before two tests could both create them.
if [ "$JOBS" -gt 1 ] && [ "$(id -u)" = 0 ] && [ ${#parallel[@]} -gt 1 ] &&
        command -v useradd >/dev/null 2>&1; then
        sb_make_users 2>/dev/null || echo "run-tests: could not create the test accounts up front" >&2
fi

declare -A PID_INDEX=()
DURATIONS=()
finish() { # index
        local p f s ms
        read -r p f s ms <"$RESDIR/$1.res" || { p=0 f=1 s=0 ms=0; echo "=== ${NAMES[$1]}: no result"; }
        cat "$RESDIR/$1.res.out" 2>/dev/null
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
        [ "$f" = 0 ] || failures+=("${NAMES[$1]}")
        DURATIONS+=("${NAMES[$1]} $ms")
}
wait_one() { # waits for one of the RUNNING workers, prints its block
        local pid k
        while :; do
                pid=
                wait -n -p pid "${RUNNING[@]}"
                [ -n "$pid" ] && [ -n "${PID_INDEX[$pid]+x}" ] && break
                # Not told which (reaped already): the first one that is gone.
                for k in "${RUNNING[@]}"; do
                        kill -0 "$k" 2>/dev/null || { pid=$k; break 2; }
                done
                sleep 0.1
        done
        for k in "${!RUNNING[@]}"; do
                [ "${RUNNING[k]}" = "$pid" ] && unset 'RUNNING[k]'
        done
        RUNNING=("${RUNNING[@]}")
        finish "${PID_INDEX[$pid]}"
}
start() { # index
        run_test "$1" &
        PID_INDEX[$!]=$1
        RUNNING+=("$!")
}

T0=$SECONDS
for i in "${serial[@]}"; do
        start "$i"
        wait_one
done
for i in "${parallel[@]}"; do
        [ ${#RUNNING[@]} -ge "$JOBS" ] && wait_one
        start "$i"
done
while [ ${#RUNNING[@]} -gt 0 ]; do
        wait_one
done
WALL=$((SECONDS - T0))

# Reports written after their program ended (a daemon it left behind): still failures.
if [ -n "$SANDIR" ]; then
        for r in "$SANDIR"/* "$SANDIR"/*/*; do
                [ -f "$r" ] || continue
                grep -qxF "$r" "$RESDIR/sanitizer-seen" 2>/dev/null && continue
                echo "not ok - sanitizer report written after its program ended: $r"
                grep -m 12 -E 'ERROR|SUMMARY|runtime error|^    #[0-9] ' "$r" | sed 's/^/  | /'
                failed=$((failed + 1))
                failures+=("$(basename "$(dirname "$r")")")
        done
fi
[ ${#NAMES[@]} -gt 0 ] && [ -z "$FILTER" ] && printf '%s\n' "${DURATIONS[@]}" >"$LOGDIR/durations"

echo
[ ${#failures[@]} -gt 0 ] && echo "failed programs: ${failures[*]} (logs in $LOGDIR)"
echo "${#NAMES[@]} programs in $((WALL / 60))m$(printf %02d $((WALL % 60)))s, $JOBS at a time (${#serial[@]} alone)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
