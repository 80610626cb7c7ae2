#!/bin/bash
# Runs every unit test program and every integration test script, counts "PASS:"/"FAIL:"/"SKIP:"
# lines, and ends with the closing line CI reads: "N passed, N failed, N skipped".
# A program that exits non-zero without printing a FAIL line counts as one failure.
# Usage: tests/run-tests.sh BUILD_DIR [FILTER]
set -u
BUILD=${1:-build}
FILTER=${2:-${TESTS:-}}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
export UPDATE1_BUILD=$BUILD UPDATE1_TOP=$TOP
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failures=()

run_one() { # name, command...
        local name=$1; shift
        local log=$LOGDIR/$name.log rc p f s
        printf '=== %s\n' "$name"
        "$@" >"$log" 2>&1 </dev/null
        rc=$?
        grep -E '^(PASS|FAIL|SKIP):' "$log" | sed 's/^/  /'
        p=$(grep -c '^PASS:' "$log"); f=$(grep -c '^FAIL:' "$log"); s=$(grep -c '^SKIP:' "$log")
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
                f=1; echo "  FAIL: $name exited with $rc without naming a failed case"
        fi
        if [ "$f" != 0 ]; then
                failures+=("$name")
                echo "  --- last lines of $log:"; tail -n 25 "$log" | sed 's/^/  | /'
        fi
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

for t in "$BUILD"/tests/test-*; do
        [ -x "$t" ] || continue
        n=unit-$(basename "$t")
        [ -n "$FILTER" ] && [[ "$n" != *$FILTER* ]] && continue
        run_one "$n" "$t"
done
for t in "$TOP"/tests/integration/test-*.sh; do
        [ -f "$t" ] || continue
        n=integration-$(basename "$t" .sh)
        [ -n "$FILTER" ] && [[ "$n" != *$FILTER* ]] && continue
        run_one "$n" bash "$t"
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed programs: ${failures[*]} (logs in $LOGDIR)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
