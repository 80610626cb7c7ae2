#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make sandbox` (tests/demo/sandbox.sh): the README's "try it by hand" works as written, and
# the sandbox leaves nothing running however its shell ends: a normal exit, a non-terminal
# stdin, SIGTERM to the script, SIGKILL to the shell, SIGKILL to the script itself.
# "Nothing running" is checked on /proc: no process whose command line names the sandbox
# directory (the controller, the dbus-daemon, updated) is left.
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_bins
tl_require_cmd mkfs.ext4 mkenvimage fw_printenv dbus-daemon setsid
SANDBOX=$UPDATE1_TOP/tests/demo/sandbox.sh
TMP=$(mktemp -d /tmp/update1-sandbox-test.XXXXXX) || exit 1
TL_ON_EXIT+=('_sbt_cleanup')
BG=()                  # background sandboxes (and orphaned commands) a case left
_sbt_cleanup() {
        local p
        for p in "${BG[@]}"; do
                kill -KILL "$p" 2>/dev/null
        done
        _sbt_left "$TMP" >/dev/null && _sbt_left "$TMP" | while read -r p _; do kill -KILL "$p" 2>/dev/null; done
        rm -rf "$TMP"
}

# _sbt_left DIR: prints "PID command line" of every process whose command line names DIR;
# true if there is one.
_sbt_left() {
        local p c found=1
        for p in /proc/[0-9]*; do
                [ "${p#/proc/}" != "$BASHPID" ] || continue
                c=$(tr "\0" " " 2>/dev/null <"$p/cmdline") || continue
                case $c in *"$1"*) echo "${p#/proc/} $c"; found=0 ;; esac
        done
        return $found
}

# expect_nothing_left DIR: bounded wait (the controller may still be stopping after a SIGKILL
# of the script) until no process names DIR.
expect_nothing_left() {
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                _sbt_left "$1" >/dev/null || return 0
                sleep 0.02
        done
        TL_WHY="still running after ${SB_WAIT}s: $(_sbt_left "$1" | cut -c1-200 | tr '\n' ';')"
        return 1
}

# The walk-through of the README, as one command in the sandbox.
case_walkthrough() {
        local d=$TMP/walk
        run env SANDBOX_DIR="$d" SANDBOX_CMD='
set -e
updatectl status --json | grep -q "\"booted\": *\"rootfs.0\""
updatectl install update-v2.bundle
updatectl reboot
# The reboot is asynchronous, as on a device: wait (bounded) for updated to run in B.
for i in $(seq 200); do
        [ "$(busctl --system get-property org.example.Update1 /org/example/Update1 org.example.Update1 BootSlot 2>/dev/null)" = "s \"B\"" ] && break
        sleep 0.05
done
updatectl status --json | grep -q "\"booted\": *\"rootfs.1\""
updatectl mark-good
updatectl bundle create --cert signer.crt --key signer.key --compatible update1-sandbox \
        --version 3 --image rootfs=rootfs-v3.ext4 -o update-v3.bundle
updatectl bundle info --keyring ca.crt update-v3.bundle
updatectl install update-v3.bundle
sandbox-reboot
updatectl mark-good
echo WALKTHROUGH-DONE' timeout 120 bash "$SANDBOX" "$UPDATE1_BUILD" </dev/null
        [ "$TL_RC" = 0 ] || { TL_WHY="sandbox exited $TL_RC: $(tail -n 8 <<<"$TL_OUT" | tr '\n' ' ')"; return 1; }
        expect_contains "$TL_OUT" WALKTHROUGH-DONE "the walk-through" || return 1
        expect_contains "$TL_OUT" "marked slot rootfs.1 good" "mark-good in B" || return 1
        expect_contains "$TL_OUT" "sandbox: booted A" "sandbox-reboot into version 3 in A" || return 1
        expect_contains "$TL_OUT" "Installed update1-sandbox 3 into rootfs.0" "version 3 into A" || return 1
        expect_nothing_left "$d"
}

case_failing_command() {
        local d=$TMP/fail
        run env SANDBOX_DIR="$d" SANDBOX_CMD='updatectl install no-such.bundle' timeout 120 bash "$SANDBOX" "$UPDATE1_BUILD" </dev/null
        [ "$TL_RC" = 1 ] || { TL_WHY="exit status $TL_RC, not the command's 1: $(_tl_out_excerpt)"; return 1; }
        expect_nothing_left "$d"
}

case_stdin_commands() {
        local d=$TMP/stdin
        TL_OUT=$(echo 'updatectl status --json' | SANDBOX_DIR="$d" timeout 120 bash "$SANDBOX" "$UPDATE1_BUILD" 2>&1)
        TL_RC=$?
        [ "$TL_RC" = 0 ] || { TL_WHY="exit status $TL_RC: $(_tl_out_excerpt)"; return 1; }
        expect_contains "$TL_OUT" '"compatible":"update1-sandbox"' "status from stdin's command" || return 1
        expect_nothing_left "$d"
}

# _sbt_start NAME: a sandbox whose command reports its PID and "up", then blocks reading its
# stdin (a FIFO this shell holds open).  Sets MAIN (the script) and CHILD (the command).
_sbt_start() {
        local d=$TMP/$1 line
        mkdir -p "$TMP/io-$1"
        mkfifo "$TMP/io-$1/in" "$TMP/io-$1/out"
        exec {SBT_IN}<>"$TMP/io-$1/in"
        SANDBOX_DIR=$d SBT_PIDFILE=$TMP/io-$1/child.pid \
                SANDBOX_CMD='echo $$ >"$SBT_PIDFILE"; updatectl status >/dev/null && echo up; exec cat' \
                bash "$SANDBOX" "$UPDATE1_BUILD" <&"$SBT_IN" >"$TMP/io-$1/out" 2>"$TMP/io-$1/err" &
        MAIN=$!
        BG+=("$MAIN")
        exec {SBT_OUT}<"$TMP/io-$1/out"
        if ! read -r -t 60 -u "$SBT_OUT" line || [ "$line" != up ]; then
                TL_WHY="the sandbox did not come up: $(tail -n 5 "$TMP/io-$1/err" | tr '\n' ' ')"
                return 1
        fi
        CHILD=$(cat "$TMP/io-$1/child.pid")
        BG+=("$CHILD")
        _sbt_left "$d" >/dev/null || { TL_WHY="no process names $d while it runs (the check cannot fail)"; return 1; }
}
_sbt_end() { exec {SBT_IN}>&- {SBT_OUT}<&-; }

case_sigterm_script() {
        local rc
        _sbt_start term || return 1
        kill -TERM "$MAIN"
        tl_wait_pid "$MAIN"
        rc=$?
        _sbt_end
        [ "$rc" = 143 ] || { TL_WHY="exit status $rc after SIGTERM, not 143"; return 1; }
        kill -0 "$CHILD" 2>/dev/null && { TL_WHY="the command $CHILD outlived the sandbox"; return 1; }
        expect_nothing_left "$TMP/term"
}

case_sigkill_shell() {
        local rc
        _sbt_start kill-shell || return 1
        kill -KILL "$CHILD"
        tl_wait_pid "$MAIN"
        rc=$?
        _sbt_end
        [ "$rc" = 137 ] || { TL_WHY="exit status $rc after the shell was killed, not 137"; return 1; }
        expect_nothing_left "$TMP/kill-shell"
}

case_sigkill_script() {
        _sbt_start kill-script || return 1
        kill -KILL "$MAIN"
        wait "$MAIN" 2>/dev/null
        # The command is this script's orphan now (a shell that outlives a SIGKILLed parent);
        # the controller sees its lifeline close and stops the daemon and the bus.
        kill -KILL "$CHILD" 2>/dev/null
        _sbt_end
        expect_nothing_left "$TMP/kill-script"
}

case_second_sandbox_refused() {
        _sbt_start twice || return 1
        run env SANDBOX_DIR="$TMP/twice" SANDBOX_CMD=true timeout 120 bash "$SANDBOX" "$UPDATE1_BUILD" </dev/null
        kill -TERM "$MAIN"
        tl_wait_pid "$MAIN" >/dev/null
        _sbt_end
        [ "$TL_RC" = 1 ] || { TL_WHY="a second sandbox in the same directory exited $TL_RC"; return 1; }
        expect_contains "$TL_OUT" "another sandbox is running" "the refusal" || return 1
        expect_nothing_left "$TMP/twice"
}

tl_case sandbox-walkthrough case_walkthrough
tl_case sandbox-command-exit-status case_failing_command
tl_case sandbox-stdin-not-a-tty case_stdin_commands
tl_case sandbox-sigterm-script-tears-down case_sigterm_script
tl_case sandbox-sigkill-shell-tears-down case_sigkill_shell
tl_case sandbox-sigkill-script-tears-down case_sigkill_script
tl_case sandbox-second-in-same-dir-refused case_second_sandbox_refused
