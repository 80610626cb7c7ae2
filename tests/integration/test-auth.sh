#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may do what.  u1test-nobody (not in group "update") may introspect the daemon but not
# read its status, install, mark or cancel: the bus policy refuses (org.freedesktop.DBus.Error.AccessDenied), and with a
# permissive policy copy loaded the daemon still refuses by itself
# (org.example.Update1.Error.AccessDenied).  u1test-op (in group "update") may install.
# Users are made with useradd before the bus starts and run via setpriv --init-groups.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "useradd, setpriv and the root-owned bus name"
tl_require_cmd setpriv useradd
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
tl_setup A

BUS_DENIED=org.freedesktop.DBus.Error.AccessDenied
DAEMON_DENIED=org.example.Update1.Error.AccessDenied
I=$SB/img
mkdir -p "$I"
chmod 0755 "$I"
sb_make_random "$I/rand.img" 1M && sb_bundle "$I/v2.bundle" 2 "$I/rand.img" || exit 1
BUNDLE_URL_DUMMY=http://127.0.0.1:9/none.bundle   # never fetched: refused before

NB=(as_user u1test-nobody)
OP=(as_user u1test-op)
call() { busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" "$@"; }

t_users() {
        id -nG u1test-op | grep -qw update || { TL_WHY="u1test-op not in group update"; return 1; }
        ! id -nG u1test-nobody | grep -qw update || { TL_WHY="u1test-nobody in group update"; return 1; }
        # the bundle and the CLI are reachable for the unprivileged user
        expect_ok "${NB[@]}" test -r "$I/v2.bundle" -a -x "$SB/bin/updatectl"
}

# Status is not public: GetSlotStatus, the properties and the signals are the group's.  Only
# introspection and ping are open.
t_nobody_reads_nothing() {
        expect_error "$BUS_DENIED" "${NB[@]}" updatectl status || return 1
        expect_error "$BUS_DENIED" "${NB[@]}" updatectl status --json || return 1
        # busctl prints the error's text, not its name
        expect_error "Access denied" "${NB[@]}" busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" Operation || return 1
        # (busctl introspect would also read the properties)
        expect_ok "${NB[@]}" busctl --system call "$SB_NAME" "$SB_PATH" org.freedesktop.DBus.Introspectable Introspect || return 1
        expect_contains "$TL_OUT" "GetSlotStatus" "introspection data" || return 1
        expect_ok "${NB[@]}" busctl --system call "$SB_NAME" "$SB_PATH" org.freedesktop.DBus.Peer Ping
}

t_op_reads() {
        expect_ok "${OP[@]}" updatectl status --json || return 1
        expect_eq "$(sb_json 'd["booted"]' <<<"$TL_OUT" | sed 's/rootfs.0/A/')" A "booted (as operator)" || return 1
        expect_ok "${OP[@]}" busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" Operation
}

# Reading and everything mutating, as u1test-nobody, expecting error name $1 (and text $2 from
# busctl, which prints no error names); nothing may change.
nobody_denied() {
        local want=$1 want_text=$2
        tl_snapshot
        expect_error "$want" "${NB[@]}" updatectl status || return 1
        expect_error "$want" "${NB[@]}" bus-call GetSlotStatus "" || return 1
        expect_error "$want_text" "${NB[@]}" busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" LastError || return 1
        expect_error "$want" "${NB[@]}" updatectl install "$I/v2.bundle" || return 1
        expect_error "$want" "${NB[@]}" sh -c 'updatectl install - <"$1"' sh "$I/v2.bundle" || return 1
        expect_error "$want" "${NB[@]}" bus-call InstallFd 'ha{sv}' "$I/v2.bundle" "" || return 1
        expect_error "$want" "${NB[@]}" bus-call Install 'sa{sv}' "$BUNDLE_URL_DUMMY" "" || return 1
        expect_error "$want" "${NB[@]}" bus-call Install 'sa{sv}' "$I/v2.bundle" "" || return 1
        expect_error "$want" "${NB[@]}" updatectl mark-bad other || return 1
        expect_error "$want" "${NB[@]}" updatectl mark-active other || return 1
        expect_error "$want" "${NB[@]}" updatectl mark-good || return 1
        expect_error "$want" "${NB[@]}" bus-call Mark ss bad other || return 1
        expect_error "$want" "${NB[@]}" bus-call MarkGood "" || return 1
        expect_error "$want" "${NB[@]}" bus-call Cancel "" || return 1
        expect_error "$want" "${NB[@]}" updatectl cancel || return 1
        expect_unchanged || return 1
        expect_boots A && expect_primary A
}

t_nobody_denied_by_bus() { nobody_denied "$BUS_DENIED" "Access denied"; }

# Same calls with a policy copy that lets everyone send anything to the service: now the bus
# passes them and the daemon's own check (sd_bus_query_sender_creds) must refuse.
t_nobody_denied_by_daemon() {
        local pol=$SB/bus/policy.d/org.example.Update1.conf
        cp "$pol" "$SB/policy.orig"
        sed 's|</busconfig>|  <policy context="default"><allow send_destination="org.example.Update1"/></policy>\n</busconfig>|' \
                "$SB/policy.orig" >"$pol"
        grep -q 'context="default"><allow send_destination="org.example.Update1"/>' "$pol" ||
                { TL_WHY="could not make the permissive policy"; return 1; }
        sb_reload_bus || { TL_WHY="ReloadConfig failed"; return 1; }
        nobody_denied "$DAEMON_DENIED" "needs root or group 'update'"
        local rc=$?
        cp "$SB/policy.orig" "$pol"
        sb_reload_bus || { TL_WHY="ReloadConfig (restore) failed"; return 1; }
        return $rc
}

# The policy is in force again after the restore.
t_policy_restored() {
        expect_error "$BUS_DENIED" "${NB[@]}" updatectl mark-bad other
}

# Root-only: Install of a local path, even for the operators' group.
# By path, the operator gets what it could open itself (daemon/open-as.c): a copy only root may
# read is refused, nothing changes.
t_op_install_path_denied() {
        install -m 0600 "$I/v2.bundle" "$I/root-only.bundle"
        tl_snapshot
        expect_error "$DAEMON_DENIED" "${OP[@]}" bus-call Install 'sa{sv}' "$I/root-only.bundle" "" || return 1
        expect_contains "$TL_OUT" "Permission denied" "operator's Install of a root-only file" || return 1
        expect_unchanged
}

t_op_installs() {
        expect_ok "${OP[@]}" updatectl install "$I/v2.bundle" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_boots B
}

t_op_marks() {
        expect_ok "${OP[@]}" updatectl mark-bad other || return 1
        expect_boots A || return 1
        expect_ok "${OP[@]}" updatectl mark-active other || return 1
        expect_boots B
}

# The bus checks the caller's real supplementary groups: u1test-op without them is refused.
t_op_without_groups() {
        expect_error "$BUS_DENIED" setpriv --reuid=u1test-op --regid="$(id -g u1test-op)" --clear-groups -- \
                updatectl mark-bad other
}

# A non-root process may not own the name (only root in the shipped policy).
t_nobody_cannot_own() {
        local pid rc
        "${NB[@]}" "$SB/bin/updated" --config "$SB_CONFIG" --boot-slot A >"$SB/nobody-updated.log" 2>&1 </dev/null &
        pid=$!
        sb_track "$pid"
        tl_wait_pid "$pid"
        rc=$?
        case $rc in
        0) TL_WHY="updated as u1test-nobody exited 0: $(cat "$SB/nobody-updated.log")"; return 1 ;;
        124) TL_WHY="updated as u1test-nobody still running after ${SB_WAIT}s"; sb_kill "$pid"; return 1 ;;
        esac
        # the real daemon still owns the name
        sb_name_has_owner || { TL_WHY="name lost"; return 1; }
        expect_ok updatectl status
}

tl_case test-users t_users
tl_case nobody-reads-nothing t_nobody_reads_nothing
tl_case operator-reads-status t_op_reads
tl_case nobody-denied-by-bus t_nobody_denied_by_bus
tl_case nobody-denied-by-daemon t_nobody_denied_by_daemon
tl_case policy-restored t_policy_restored
tl_case operator-install-path-denied t_op_install_path_denied
tl_case operator-installs t_op_installs
tl_case operator-marks t_op_marks
tl_case operator-without-groups-denied t_op_without_groups
tl_case nobody-cannot-own-name t_nobody_cannot_own
