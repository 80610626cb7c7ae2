#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make fuzz: builds the libFuzzer targets (make fuzz-targets) and runs each for SECONDS
# (-max_total_time), starting from its seed corpus (tests/fuzz/corpus/<target>, never written)
# plus what earlier runs found ($BUILD/fuzz/work/<target>).  Prints a table of executions,
# exec/s, coverage (libFuzzer's cov: = edges, ft: = features) and corpus size per target, also
# written to $BUILD/fuzz/summary.txt.  Exits 1 if any target crashed, leaked, timed out or ran
# out of memory; the input is saved as $BUILD/fuzz/crashes/<target>-<kind>-<sha1>.
#   tests/fuzz/run-fuzz.sh BUILD_DIR SECONDS [TARGET...]
# Environment: FUZZ_JOBS=N runs N targets at a time (default 1); FUZZ_ARGS adds libFuzzer flags.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
SECONDS_EACH=${2:-60}
shift 2 2>/dev/null || shift $#
JOBS=${FUZZ_JOBS:-1}

cd "$TOP" || exit 1
case $SECONDS_EACH in
''|*[!0-9]*) echo "run-fuzz.sh: SECONDS must be a number, not '$SECONDS_EACH'" >&2; exit 2 ;;
esac
mkdir -p "$BUILD"
make --no-print-directory -j"$(nproc)" BUILD="$BUILD" fuzz-targets >"$BUILD/fuzz-build.log" 2>&1 ||
        { tail -n 40 "$BUILD/fuzz-build.log" >&2; echo "run-fuzz.sh: building the fuzz targets failed" >&2; exit 1; }
FUZZ=$(cd "$BUILD/fuzz" && pwd)
export UPDATE1_TOP=$TOP

if [ $# -gt 0 ]; then
        targets=("$@")
else
        targets=()
        for f in tests/fuzz/fuzz-*.c; do
                t=$(basename "$f" .c)
                t=${t#fuzz-}
                [ "$t" = common ] || targets+=("$t")
        done
fi

# Inputs larger than the format allows only waste time (and the harnesses cut them anyway).
max_len() {
        case $1 in
        bundle) echo 32768 ;;
        rauc-squashfs) echo 65536 ;; # control + manifest + a small squashfs
        cdc) echo 65536 ;;           # several chunks at the small sizes the first byte picks
        uboot-env) echo 2049 ;;   # control byte + two 0x400 copies
        grubenv) echo 1100 ;;
        barebox-state | custom-backend) echo 1024 ;;
        *) echo 8192 ;;
        esac
}

run_target() { # TARGET
        local t=$1 bin=$FUZZ/fuzz-$1 work=$FUZZ/work/$1 log=$FUZZ/logs/$1.log dict=() rc
        mkdir -p "$work" "$FUZZ/crashes" "$FUZZ/logs"
        [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
        # detect_leaks: LeakSanitizer per input (libFuzzer's default, made explicit)
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$TOP/tests/sanitize/lsan.supp:print_suppressions=0} \
                "$bin" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
                -max_len="$(max_len "$t")" -print_final_stats=1 -detect_leaks=1 \
                -artifact_prefix="$FUZZ/crashes/$t-" "${dict[@]}" ${FUZZ_ARGS:-} \
                "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 </dev/null
        rc=$?
        echo "$rc" >"$FUZZ/logs/$t.rc"
}

rm -f "$FUZZ"/logs/*.rc
echo "fuzzing ${#targets[@]} targets for ${SECONDS_EACH}s each (logs: $FUZZ/logs)"
running=0
for t in "${targets[@]}"; do
        [ -x "$FUZZ/fuzz-$t" ] || { echo "no fuzz target $t" >&2; exit 2; }
        run_target "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
                wait -n
                running=$((running - 1))
        fi
done
wait

failed=0
{
        printf '%-14s %-7s %12s %8s %7s %7s %7s %7s\n' target result execs exec/s cov ft corpus rss_mb
        for t in "${targets[@]}"; do
                log=$FUZZ/logs/$t.log
                rc=$(cat "$FUZZ/logs/$t.rc" 2>/dev/null || echo 1)
                # "#123456 DONE   cov: 812 ft: 2711 corp: 301/40Kb lim: 4096 exec/s: 4115 rss: 84Mb"
                last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
                # (printed twice when libFuzzer stops on a finding)
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
                rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
                rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
                cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
                ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
                corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
                if [ "$rc" = 0 ]; then
                        result=ok
                else
                        result=FAILED
                        failed=1
                fi
                printf '%-14s %-7s %12s %8s %7s %7s %7s %7s\n' "$t" "$result" "${execs:--}" "${rate:--}" \
                        "${cov:--}" "${ft:--}" "${corp:--}" "${rss:--}"
        done
} | tee "$FUZZ/summary.txt"

# The table above runs in a pipeline's subshell: its 'failed' never reaches here (it did not,
# and a crashing target left this script, and CI, green).  Count again from the exit codes.
for t in "${targets[@]}"; do
        [ "$(cat "$FUZZ/logs/$t.rc" 2>/dev/null)" = 0 ] || failed=1
done
if [ "$failed" != 0 ]; then
        echo
        for t in "${targets[@]}"; do
                [ "$(cat "$FUZZ/logs/$t.rc" 2>/dev/null)" = 0 ] && continue
                echo "=== $t failed (exit $(cat "$FUZZ/logs/$t.rc" 2>/dev/null)); $FUZZ/logs/$t.log:"
                grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written|artifact_prefix|harness' \
                        "$FUZZ/logs/$t.log" | head -n 12 | sed 's/^/  /'
        done
        echo
        echo "Reproduce: $FUZZ/fuzz-TARGET CRASH-FILE  (or build/tests/test-fuzz-replay-TARGET CRASH-FILE)"
        echo "Once fixed, add the input as tests/fuzz/corpus/TARGET/crash-<what> so make check replays it."
        exit 1
fi
