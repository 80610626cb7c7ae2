# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by every tests/integration/test-*.sh.  Each file is runnable alone
# (`bash tests/integration/test-install.sh`) and prints TAP (version 13, read by
# tests/run-tests.sh): a test point per case, "ok N - name", "not ok N - name" followed by the
# reason as "# " lines, or "ok N - name # SKIP reason", and at exit a summary comment and the
# plan "1..N" (a file killed before its EXIT trap has none: a failure).  It exits non-zero if a
# case failed.  pass/fail/skip must run in the file's shell itself, not in a subshell (a test
# point printed there would not be counted: the plan would not match).
#
# A case is a shell function run with tl_case NAME FUNC [ARGS]: it returns 0 for pass, and
# otherwise sets TL_WHY (the expect_* helpers do) and returns 1.  No set -e: a failing case
# must not stop the others.  Everything a file starts is stopped in its EXIT trap.

set -u
# shellcheck source=tests/lib/sandbox.sh
. "$(dirname "${BASH_SOURCE[0]}")/sandbox.sh"
# shellcheck source=tests/lib/bus-call.sh
. "$(dirname "${BASH_SOURCE[0]}")/bus-call.sh"

TL_FILE=$(basename "$0" .sh)
TL_PASS=0 TL_FAIL=0 TL_SKIP=0
TL_N=0                 # test points printed
TL_WHY='' TL_OUT='' TL_RC=0
TL_ON_EXIT=()          # extra cleanups (restore files, ...) run before processes are killed

echo "TAP version 13"

# _tl_point ok|"not ok" DESCRIPTION [DIRECTIVE]: one test point.  In the description a '#'
# would start a directive and a newline would end the line: escaped, replaced.
_tl_point() {
        local d=${2//\\/\\\\}
        d=${d//#/\\#}
        TL_N=$((TL_N + 1))
        echo "$1 $TL_N - ${d//$'\n'/ }${3:+ # ${3//$'\n'/ }}"
}
# tl_diag TEXT...: a diagnostic, "# " before each of its lines.
tl_diag() { sed 's/^/# /' <<<"$*"; }

pass() { _tl_point ok "$1"; TL_PASS=$((TL_PASS + 1)); }
fail() {
        _tl_point "not ok" "$1"
        tl_diag "${2:-failed}"
        TL_FAIL=$((TL_FAIL + 1))
        # Context for whoever reads the log: the daemon's last words.
        if [ -n "$SB" ] && [ -s "$SB/updated.log" ]; then
                echo "#   --- last lines of updated.log:"
                tail -n 15 "$SB/updated.log" | sed 's/^/#   | /'
        fi
}
skip() { _tl_point ok "$1" "SKIP ${2:-skipped}"; TL_SKIP=$((TL_SKIP + 1)); }

tl_exit() {
        local rc=$? f
        trap - EXIT INT TERM
        # A child forked from this shell (`cmd &`, a subshell) runs this shell's traps if a
        # signal reaches it before bash has reset them in the child: sb_kill's SIGTERM to a
        # just-started background job did, under load (test-agent-faults in SANITIZE CI), and
        # that child then printed a plan and removed the sandbox under the running test.  Only
        # the test's own shell cleans up.
        [ "$BASHPID" = "$TL_MAIN_PID" ] || exit "$rc"
        for f in "${TL_ON_EXIT[@]}"; do
                eval "$f"
        done
        [ "$TL_FAIL" -gt 0 ] && SB_KEEP=${SB_KEEP:-${UPDATE1_KEEP_FAILED:-0}}
        sb_cleanup
        echo "# $TL_FILE: $TL_PASS passed, $TL_FAIL failed, $TL_SKIP skipped"
        echo "1..$TL_N"
        [ "$TL_FAIL" -gt 0 ] && exit 1
        exit "$rc"
}
TL_MAIN_PID=$BASHPID
trap tl_exit EXIT
trap 'exit 130' INT TERM

# tl_case NAME FUNC [ARGS...]
tl_case() {
        local name=$1
        shift
        TL_WHY=
        if "$@"; then
                pass "$name"
        else
                fail "$name" "${TL_WHY:-$1 returned non-zero}"
        fi
}

# Whole-file requirements: a skipped test point for the file, and exit 0.
tl_require_root() {
        if [ "$(id -u)" != 0 ]; then
                skip "$TL_FILE" "needs root: ${1:-test users, bus policy for root}"
                exit 0
        fi
}
tl_require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || { skip "$TL_FILE" "$c not installed"; exit 0; }
        done
}
tl_require_bins() {
        local b
        for b in updated updatectl updatectl-bundle; do
                if [ ! -x "$UPDATE1_BUILD/$b" ]; then
                        fail "$TL_FILE" "$UPDATE1_BUILD/$b is not built (make all)"
                        exit 1
                fi
        done
}

# tl_setup [BOOT]: sandbox device with the daemon running; on failure the file fails as a whole.
tl_setup() {
        tl_require_bins
        sb_init || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
        sb_build_bus_call 2>"$SB/bus-call.err" ||
                { fail "$TL_FILE-setup" "cannot build bus-call: $(head -c 300 "$SB/bus-call.err")"; exit 1; }
        # Not in $(...): the bus and the daemon must be children of this shell.
        if ! sb_setup_device "${1:-A}" 2>"$SB/setup.err"; then
                fail "$TL_FILE-setup" "sandbox did not come up: $(tail -n 5 "$SB/setup.err" | tr '\n' ' ')"
                exit 1
        fi
}

# --- assertions: each returns 0, or sets TL_WHY and returns 1 ----------------------------

# run CMD...: captures combined output in TL_OUT and the exit code in TL_RC.
run() {
        TL_OUT=$("$@" 2>&1)
        TL_RC=$?
        return 0
}
_tl_out_excerpt() { tr '\n' ' ' <<<"$TL_OUT" | cut -c1-300; }

expect_ok() {
        run "$@"
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="'$*' exited $TL_RC: $(_tl_out_excerpt)"
        return 1
}

# expect_error ERRORNAME CMD...: the command fails and its output names ERRORNAME
# (e.g. org.example.Update1.Error.Incompatible).
expect_error() {
        local want=$1
        shift
        run "$@"
        if [ "$TL_RC" = 0 ]; then
                TL_WHY="'$*' succeeded, expected $want: $(_tl_out_excerpt)"
                return 1
        fi
        if ! grep -qF -- "$want" <<<"$TL_OUT"; then
                TL_WHY="'$*' failed (rc $TL_RC) without naming $want: $(_tl_out_excerpt)"
                return 1
        fi
        return 0
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
        [ "$1" = "$2" ] && return 0
        TL_WHY="$3: got '$1', expected '$2'"
        return 1
}

expect_contains() { # HAYSTACK NEEDLE WHAT
        grep -qF -- "$2" <<<"$1" && return 0
        TL_WHY="$3: '$2' not in '$(tr '\n' ' ' <<<"$1" | cut -c1-300)'"
        return 1
}

# What U-Boot would boot next (env copy; the real env is untouched).
expect_boots() {
        local b
        b=$(sb_boot_peek 2>&1)
        expect_eq "$b" "$1" "boot simulator's pick"
}

# Slot status JSON field: expect_status EXPR VALUE, EXPR in sb_json syntax.
expect_status() {
        local v
        v=$(updatectl status --json 2>&1 | sb_json "$1" 2>&1)
        expect_eq "$v" "$2" "status $1"
}

# tl_wait_status EXPR VALUE: waits (bounded by $SB_WAIT) until the status JSON field has that
# value, e.g. until the daemon has verified a streamed bundle and marked its target pending.
_tl_status_is() { _TL_LAST=$(tl_status_field "$1"); [ "$_TL_LAST" = "$2" ]; }
tl_wait_status() {
        sb_poll "$SB_WAIT" _tl_status_is "$1" "$2" && return 0
        TL_WHY="status $1 is '$_TL_LAST', not '$2' after ${SB_WAIT}s"
        return 1
}

# Snapshot of everything a refused request must leave alone: status file, env, both slots.
tl_snapshot() {
        local f
        TL_SNAP=
        for f in "$SB_DATA/status.json" "$SB_ENV" "$SB_SLOT_A" "$SB_SLOT_B"; do
                if [ -e "$f" ]; then
                        TL_SNAP+="$f $(sha256sum <"$f" | cut -c1-64)"$'\n'
                else
                        TL_SNAP+="$f absent"$'\n'
                fi
        done
}
expect_unchanged() {
        local before=$TL_SNAP
        tl_snapshot
        [ "$before" = "$TL_SNAP" ] && return 0
        TL_WHY="changed: $(diff <(echo "$before") <(echo "$TL_SNAP") | grep '^>' | cut -d' ' -f2 | xargs)"
        TL_SNAP=$before
        return 1
}

# Which slot the daemon says is primary / booted (bootnames or slot names as reported).
tl_status_field() { updatectl status --json 2>/dev/null | sb_json "$1" 2>/dev/null; }

# The slot name of a bootname in the standard sandbox config.
tl_slot_name() { case $1 in A) echo rootfs.0 ;; B) echo rootfs.1 ;; *) echo "$1" ;; esac; }

# expect_booted/expect_primary BOOTNAME: what GetSlotStatus reports ("booted"/"primary" hold
# the slot name; the bootname is accepted too).
_tl_expect_top() {
        local v
        v=$(tl_status_field "d[\"$1\"]")
        [ "$v" = "$2" ] || [ "$v" = "$(tl_slot_name "$2")" ] && return 0
        TL_WHY="status $1 is '$v', expected $2 ($(tl_slot_name "$2"))"
        return 1
}
expect_booted() { _tl_expect_top booted "$1"; }
expect_primary() { _tl_expect_top primary "$1"; }

# expect_slot SLOT EXPR VALUE: e.g. expect_slot rootfs.1 '["bundle"]["version"]' 2
expect_slot() {
        expect_status "slot(\"$1\")$2" "$3"
}

# tl_wait_pid PID: waits (bounded) for our background PID to exit; returns its exit code,
# or 124 (and leaves it running) after $SB_WAIT seconds.
tl_wait_pid() {
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
                sleep 0.02
        done
        return 124
}
