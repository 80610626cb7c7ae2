#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reboot(): the daemon runs [system] reboot-command= (here a script that records the request
# in a marker file instead of rebooting the test machine).  Allowed to root and to group update
# (u1test-op); u1test-nobody is refused by the bus policy and, with a permissive policy copy
# loaded, by the daemon itself.  Busy while an install runs (blocked on a FIFO, as in
# test-busy-cancel.sh) and while another reboot command runs; a failing, missing or hanging
# command is org.example.Update1.Error.Failed naming the command; the daemon keeps answering
# while the command runs; an empty reboot-command= disables Reboot().
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "useradd, setpriv and the root-owned bus name"
tl_require_cmd setpriv useradd
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
tl_setup A

E=org.example.Update1.Error
BUS_DENIED=org.freedesktop.DBus.Error.AccessDenied
OP=(as_user u1test-op)
NB=(as_user u1test-nobody)
MARKER=$SB/reboots
W=$SB/work
mkdir -p "$W" && chmod 0755 "$W"

# The stand-in reboot commands (run by the daemon, as root).
cat >"$SB/bin/record-reboot" <<EOF
#!/bin/sh
echo "reboot uid=\$(id -u) args=\$*" >>"$MARKER"
EOF
cat >"$SB/bin/failing-reboot" <<'EOF'
#!/bin/sh
echo "failing-reboot: cannot reach the init system" >&2
exit 7
EOF
cat >"$SB/bin/killed-reboot" <<'EOF'
#!/bin/sh
kill -TERM $$
EOF
cat >"$SB/bin/hanging-reboot" <<EOF
#!/bin/sh
sleep 300 &
echo \$! >"$W/hang-child.pid"
echo \$\$ >"$W/hang.pid"
wait
EOF
chmod 0755 "$SB/bin/record-reboot" "$SB/bin/failing-reboot" "$SB/bin/killed-reboot" "$SB/bin/hanging-reboot"

reboots() { if [ -f "$MARKER" ]; then wc -l <"$MARKER"; else echo 0; fi; }

# with_config [KEY=VALUE...]: [system] gets these lines (replacing earlier reboot-* lines),
# and the daemon is restarted to read them.
with_config() {
        local l
        sed -i '/^reboot-command=/d; /^reboot-timeout=/d' "$SB_CONFIG"
        for l in "$@"; do
                sed -i "/^\[system\]/a $l" "$SB_CONFIG"
        done
        sb_stop_updated
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="restart: $(cat "$SB/start.err")"; return 1; }
}

# Words separated by several blanks: split into argv, no shell (the '*' stays literal).
with_config "reboot-command=$SB/bin/record-reboot  --now   'please' *" || { fail "$TL_FILE-setup" "$TL_WHY"; exit 1; }

t_root() {
        local n
        n=$(reboots)
        expect_ok updatectl reboot || return 1
        expect_contains "$TL_OUT" "Reboot requested" "updatectl output" || return 1
        expect_eq "$(reboots)" $((n + 1)) "reboot requests" || return 1
        expect_eq "$(tail -n 1 "$MARKER")" "reboot uid=0 args=--now 'please' *" "the command's argv"
}

t_op_allowed() {
        local n
        n=$(reboots)
        expect_ok "${OP[@]}" updatectl reboot || return 1
        expect_ok "${OP[@]}" busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" Reboot || return 1
        expect_eq "$(reboots)" $((n + 2)) "reboot requests"
}

t_nobody_denied_by_bus() {
        local n
        n=$(reboots)
        expect_error "$BUS_DENIED" "${NB[@]}" updatectl reboot || return 1
        expect_error "$BUS_DENIED" "${NB[@]}" bus-call Reboot "" || return 1
        expect_eq "$(reboots)" "$n" "reboot requests"
}

# A policy copy that lets everyone send anything: the daemon's own check must refuse.
t_nobody_denied_by_daemon() {
        local pol=$SB/bus/policy.d/org.example.Update1.conf n rc=0
        n=$(reboots)
        cp "$pol" "$SB/policy.orig"
        sed 's|</busconfig>|  <policy context="default"><allow send_destination="org.example.Update1"/></policy>\n</busconfig>|' \
                "$SB/policy.orig" >"$pol"
        sb_reload_bus || { TL_WHY="ReloadConfig failed"; cp "$SB/policy.orig" "$pol"; return 1; }
        expect_error "$E.AccessDenied" "${NB[@]}" bus-call Reboot "" || rc=1
        [ "$rc" = 0 ] && { expect_contains "$TL_OUT" "Reboot" "error names the method" || rc=1; }
        [ "$rc" = 0 ] && { expect_error "$E.AccessDenied" "${NB[@]}" updatectl reboot || rc=1; }
        cp "$SB/policy.orig" "$pol"
        sb_reload_bus || { TL_WHY="ReloadConfig (restore) failed"; return 1; }
        [ "$rc" = 0 ] || return 1
        expect_eq "$(reboots)" "$n" "reboot requests" || return 1
        # the shipped policy is in force again
        expect_error "$BUS_DENIED" "${NB[@]}" bus-call Reboot ""
}

# Busy while an install runs: the install is fed from a FIFO we hold open.
t_busy_during_install() {
        local n chunk feed_at pid rc
        n=$(reboots)
        mkdir -p "$SB/img"
        sb_make_random "$SB/img/rand.img" 2M && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/rand.img" ||
                { TL_WHY="bundle"; return 1; }
        chunk=$(updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$SB/img/v2.bundle" | sb_json 'd["images"][0]["chunk-size"]')
        feed_at=$(($(sb_payload_offset "$SB/img/v2.bundle") + chunk / 2))
        rm -f "$SB/feed"
        mkfifo "$SB/feed"
        updatectl install - <"$SB/feed" >"$SB/bg.out" 2>&1 &
        pid=$!
        sb_track "$pid"
        exec 8>"$SB/feed"
        if ! timeout "$SB_WAIT" head -c "$feed_at" "$SB/img/v2.bundle" >&8 ||
                ! sb_wait_property Operation installing 2>"$SB/wait.err"; then
                exec 8>&-
                TL_WHY="install did not start: $(cat "$SB/bg.out" "$SB/wait.err" 2>/dev/null)"
                return 1
        fi
        expect_error "$E.Busy" updatectl reboot
        rc=$?
        [ "$rc" = 0 ] && { expect_contains "$TL_OUT" "installation is in progress" "Busy message" || rc=1; }
        [ "$rc" = 0 ] && { expect_error "$E.Busy" "${OP[@]}" updatectl reboot || rc=1; }
        timeout "$SB_WAIT" tail -c +$((feed_at + 1)) "$SB/img/v2.bundle" >&8
        exec 8>&-
        tl_wait_pid "$pid" || { TL_WHY="install exited $?: $(cat "$SB/bg.out")"; return 1; }
        [ "$rc" = 0 ] || return 1
        expect_eq "$(reboots)" "$n" "reboot requests during the install" || return 1
        # and afterwards it works
        expect_ok updatectl reboot || return 1
        expect_eq "$(reboots)" $((n + 1)) "reboot requests after the install"
}

t_failing_command() {
        with_config "reboot-command=$SB/bin/failing-reboot --now" || return 1
        expect_error "$E.Failed" updatectl reboot || return 1
        expect_contains "$TL_OUT" "reboot-command '$SB/bin/failing-reboot --now' failed with exit status 7" "message" || return 1
        with_config "reboot-command=$SB/bin/killed-reboot" || return 1
        expect_error "$E.Failed" updatectl reboot || return 1
        expect_contains "$TL_OUT" "was killed by signal 15" "message" || return 1
        with_config "reboot-command=$SB/no-such-reboot now" || return 1
        expect_error "$E.Failed" updatectl reboot || return 1
        expect_contains "$TL_OUT" "$SB/no-such-reboot not found" "message" || return 1
        with_config "reboot-command=update1-no-such-reboot-tool" || return 1
        expect_error "$E.Failed" updatectl reboot || return 1
        expect_contains "$TL_OUT" "update1-no-such-reboot-tool not found on PATH" "message"
}

# A hanging command: the daemon keeps serving, a second Reboot is Busy, and after
# reboot-timeout the whole process group is killed and the call fails.
t_timeout() {
        local pid rc t0 t1 child
        with_config "reboot-command=$SB/bin/hanging-reboot" "reboot-timeout=2" || return 1
        rm -f "$W/hang.pid" "$W/hang-child.pid"
        t0=$(date +%s%N)
        updatectl reboot >"$SB/hang.out" 2>&1 &
        pid=$!
        sb_track "$pid"
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ -s "$W/hang-child.pid" ] && break
                sleep 0.02
        done
        [ -s "$W/hang-child.pid" ] || { TL_WHY="the reboot command did not start"; return 1; }
        child=$(cat "$W/hang-child.pid")
        expect_ok updatectl status || return 1
        expect_error "$E.Busy" updatectl reboot || return 1
        expect_contains "$TL_OUT" "already requested" "second Reboot" || return 1
        tl_wait_pid "$pid"
        rc=$?
        t1=$(date +%s%N)
        [ "$rc" != 0 ] && [ "$rc" != 124 ] || { TL_WHY="updatectl reboot exited $rc: $(cat "$SB/hang.out")"; return 1; }
        expect_contains "$(cat "$SB/hang.out")" "$E.Failed" "error" || return 1
        expect_contains "$(cat "$SB/hang.out")" "did not finish within 2 seconds" "error" || return 1
        [ $(((t1 - t0) / 1000000)) -lt 8000 ] || { TL_WHY="took $(((t1 - t0) / 1000000)) ms"; return 1; }
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                kill -0 "$child" 2>/dev/null || break
                sleep 0.02
        done
        ! kill -0 "$child" 2>/dev/null || { TL_WHY="the command's child $child survived"; kill -KILL "$child"; return 1; }
        # the daemon is fine and takes the next request
        with_config "reboot-command=$SB/bin/record-reboot" || return 1
        expect_ok updatectl reboot
}

t_disabled() {
        local n
        n=$(reboots)
        with_config "reboot-command=" || return 1
        expect_error "$E.Failed" updatectl reboot || return 1
        expect_contains "$TL_OUT" "Reboot is disabled" "message" || return 1
        expect_eq "$(reboots)" "$n" "reboot requests"
}

t_help() {
        expect_ok updatectl reboot --help || return 1
        expect_contains "$TL_OUT" "Usage: updatectl reboot" "help" || return 1
        run updatectl reboot now
        [ "$TL_RC" != 0 ] || { TL_WHY="an extra argument was accepted"; return 1; }
        expect_ok updatectl --help || return 1
        expect_contains "$TL_OUT" "reboot" "verb list"
}

tl_case root-reboots t_root
tl_case operator-reboots t_op_allowed
tl_case nobody-denied-by-bus t_nobody_denied_by_bus
tl_case nobody-denied-by-daemon t_nobody_denied_by_daemon
tl_case busy-during-install t_busy_during_install
tl_case failing-command t_failing_command
tl_case hanging-command-times-out t_timeout
tl_case disabled t_disabled
tl_case cli-help t_help
