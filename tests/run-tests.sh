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
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"
# The users and groups the tests create as root (sb_make_users: u1test-*, and "update" if it
# did not exist) last as long as the run: the EXIT trap removes them, failed run or not, unless
# another run is still going on (then the last one to end does).
sb_accounts_begin || echo "run-tests: no lock on $SB_ACCOUNTS_LOCK; test accounts may stay behind" >&2
trap sb_accounts_end EXIT
trap 'exit 130' INT TERM
passed=0 failed=0 skipped=0
failures=()

# SANITIZE=1 (the Makefile sets UPDATE1_SANITIZER_LOG_DIR and log_path= in ASAN_OPTIONS/
# UBSAN_OPTIONS): every process a test starts, updated in the background included, writes its
# ASan/UBSan/LSan report there.  A report fails the test during which it appeared.
SANDIR=${UPDATE1_SANITIZER_LOG_DIR:-}
if [ -n "$SANDIR" ]; then
        rm -rf "$SANDIR" && mkdir -p "$SANDIR" && chmod 1777 "$SANDIR" # test users write too
fi
sanitizer_reports() { # name: prints a FAIL line per report and files them under $SANDIR/name/
        local r
        [ -n "$SANDIR" ] || return 0
        for r in "$SANDIR"/*; do
                [ -f "$r" ] || continue
                mkdir -p "$SANDIR/$1" && mv "$r" "$SANDIR/$1/"
                echo "FAIL: $1: sanitizer report $SANDIR/$1/$(basename "$r")"
                grep -m 12 -E 'ERROR|SUMMARY|runtime error|^    #[0-9] ' "$SANDIR/$1/$(basename "$r")" | sed 's/^/  | /'
        done
}

run_one() { # name, command...
        local name=$1; shift
        local log=$LOGDIR/$name.log rc p f s
        printf '=== %s\n' "$name"
        # The session lock stays with this script: a test (or a daemon it leaves behind) must
        # not hold it.
        if [ -n "$SB_ACCOUNTS_FD" ]; then
                "$@" >"$log" 2>&1 </dev/null {SB_ACCOUNTS_FD}>&-
        else
                "$@" >"$log" 2>&1 </dev/null
        fi
        rc=$?
        sanitizer_reports "$name" >>"$log"
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
for t in "$TOP"/tests/security/test-*.sh; do [ -f "$t" ] || continue; n=security-$(basename "$t" .sh); [ -n "$FILTER" ] && [[ "$n" != *$FILTER* ]] && continue; run_one "$n" bash "$t"; done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed programs: ${failures[*]} (logs in $LOGDIR)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
