#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: who may call what, and hostile callers (A28, A29, A31, A33-A36 of
# shared/reference/security-tests.md; polkit CVE-2021-3560, PackageKit CVE-2020-16121).
# Extends tests/integration/test-auth.sh (which covers the basic nobody/operator split):
#   - every mutating method in the introspection data for u1test-nobody (denied),
#     u1test-op (group update: allowed; Install by path: denied) and root;
#   - bad argument types and oversized arguments (InvalidArgs, nothing changed);
#   - callers that disconnect right after sending (the daemon's own credential check must
#     fail closed; an authorized caller's install is either not started or completed);
#   - concurrent requests while an install runs (Busy, no interleaved writes; MarkGood of the
#     booted slot runs beside it, as update-health needs);
#   - messages carrying many file descriptors (no fd leak in the daemon);
#   - InstallFd with a directory, write-only, O_PATH, socket, character device or oversized
#     fd (InvalidArgs); Install(path) by non-root: same AccessDenied for existing and
#     missing files; no option disables the compatible or signature check.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "useradd, setpriv and the root-owned bus name"
tl_require_cmd setpriv useradd busctl
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
SEC_SYSTEM_EXTRA="max-bundle-size=16M"
sec_setup A

I=$SB/img
mkdir -p "$I"
chmod 0755 "$I"
sb_make_random "$I/rand.img" 256K &&
        sb_bundle "$I/good.bundle" 2 "$I/rand.img" &&
        sb_bundle "$I/incompatible.bundle" 2 "$I/rand.img" other-board &&
        sb_bundle "$I/evil.bundle" 2 "$I/rand.img" "" evil-signer || exit 1
NB=(as_user u1test-nobody)
OP=(as_user u1test-op)
DENIED=$E.AccessDenied

# fdexec KIND PATH CMD...: runs CMD with "FD" in its arguments replaced by "fd:N", N an fd of
# KIND on PATH: dir, wronly, opath, socket, read (plain O_RDONLY).
cat >"$SB/bin/fdexec.py" <<'EOF'
import os, socket, sys
kind, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
if kind == "dir":
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
elif kind == "wronly":
    fd = os.open(path, os.O_WRONLY)
elif kind == "opath":
    fd = os.open(path, os.O_PATH)
elif kind == "socket":
    a, b = socket.socketpair()
    fd = os.dup(a.fileno())
else:
    fd = os.open(path, os.O_RDONLY)
os.set_inheritable(fd, True)
os.execvp(cmd[0], [c.replace("FD", "fd:%d" % fd) for c in cmd])
EOF
FDEXEC=("$SB_PY" "$SB/bin/fdexec.py")

# A policy copy that lets everyone send everything: then only the daemon's own check stands.
permissive_policy() {
        local pol=$SB/bus/policy.d/org.example.Update1.conf
        cp "$pol" "$SB/policy.orig"
        sed 's|</busconfig>|  <policy context="default"><allow send_destination="org.example.Update1"/></policy>\n</busconfig>|' \
                "$SB/policy.orig" >"$pol" && sb_reload_bus
}
restore_policy() { cp "$SB/policy.orig" "$SB/bus/policy.d/org.example.Update1.conf" && sb_reload_bus; }

has_reboot() { [ "${SEC_HAS_REBOOT:-0}" = 1 ]; }

# --- the method matrix ------------------------------------------------------------------------
# Install(s path): root and group update; the daemon opens the path with the caller's rights
# (daemon/open-as.c).  A refused bundle shows the call got past authorization; a file only root
# may read is refused for the operator as its own open() would be.
t_install_path() {
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call Install 'sa{sv}' "$I/incompatible.bundle" "" || return 1
        sec_refused Incompatible "${OP[@]}" bus-call Install 'sa{sv}' "$I/incompatible.bundle" "" || return 1
        install -m 0600 "$I/incompatible.bundle" "$I/root-only.bundle"
        sec_refused "$DENIED" "${OP[@]}" bus-call Install 'sa{sv}' "$I/root-only.bundle" "" || return 1
        expect_contains "$SEC_LAST_OUT" "Permission denied" "operator's Install of a root-only file" || return 1
        sec_refused Incompatible bus-call Install 'sa{sv}' "$I/root-only.bundle" ""
}
t_install_fd() {
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call InstallFd 'ha{sv}' "$I/incompatible.bundle" "" || return 1
        sec_refused Incompatible "${OP[@]}" bus-call InstallFd 'ha{sv}' "$I/incompatible.bundle" "" || return 1
        sec_refused Incompatible bus-call InstallFd 'ha{sv}' "$I/incompatible.bundle" ""
}
t_cancel() {
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call Cancel "" || return 1
        # allowed: "No operation in progress" is the answer for an idle daemon
        sec_refused Failed "${OP[@]}" bus-call Cancel "" || return 1
        expect_contains "$SEC_LAST_OUT" "No operation in progress" "operator's Cancel" || return 1
        sec_refused Failed bus-call Cancel ""
}
t_mark_good() {
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call MarkGood "" || return 1
        expect_ok "${OP[@]}" bus-call MarkGood "" || return 1
        expect_ok bus-call MarkGood "" || return 1
        sec_expect_boots A
}
t_mark() {
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call Mark ss bad other || return 1
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call Mark ss active other || return 1
        expect_ok "${OP[@]}" bus-call Mark ss good booted || return 1
        expect_ok bus-call Mark ss good booted || return 1
        sec_expect_boots A
}
t_reboot() {
        if ! has_reboot; then
                TL_SKIP_WHY="no Reboot method in the daemon's introspection data"
                return 2
        fi
        grep -q "^reboot-command=$SB/bin/fake-reboot\$" "$SB_CONFIG" ||
                { TL_WHY="refusing to call Reboot: reboot-command is not the stand-in"; return 1; }
        rm -f "$SB/reboot-called"
        sec_refused "$BUS_DENIED" "${NB[@]}" bus-call Reboot "" || return 1
        permissive_policy || { TL_WHY="policy reload failed"; return 1; }
        sec_refused "$DENIED" "${NB[@]}" bus-call Reboot ""
        local rc=$?
        restore_policy || { TL_WHY="policy restore failed"; return 1; }
        [ $rc = 0 ] || return 1
        [ ! -e "$SB/reboot-called" ] || { TL_WHY="the reboot command ran for u1test-nobody"; return 1; }
        expect_ok "${OP[@]}" bus-call Reboot "" || return 1
        expect_eq "$(cat "$SB/reboot-called" 2>/dev/null | wc -l)" 1 "reboot command runs (operator)" || return 1
        # The daemon may now consider the system as going down; a second request is either
        # carried out or refused as Busy, never anything else.
        run bus-call Reboot ""
        [ "$TL_RC" = 0 ] || expect_contains "$TL_OUT" "$E.Busy" "root's Reboot" || return 1
        sec_expect_alive
}

# --- bad argument types and sizes --------------------------------------------------------------
t_bad_types() {
        local c
        while IFS='|' read -r -a c; do
                [ ${#c[@]} -gt 0 ] || continue
                sec_refused "$INVALID_ARGS" sec-client call "${c[@]}" || { TL_WHY="${c[*]}: $TL_WHY"; return 1; }
        done <<EOF
Install|i|5
Install|s|$I/good.bundle
Install|sa{sv}s|$I/good.bundle||x
InstallFd|s|$I/good.bundle
InstallFd|ia{sv}|3|x=s:y
InstallFd|h|$I/good.bundle
Mark|si|good|1
Mark|s|good
Mark|sss|good|booted|x
MarkGood|s|x
Cancel|u|1
GetSlotStatus|i|1
InspectBundle|s|$I/good.bundle
EOF
        if has_reboot; then
                sec_refused "$INVALID_ARGS" sec-client call Reboot b true || return 1
        fi
        # busctl, as the issue asks; it prints only the message
        sec_refused "" busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" Install i 5 || return 1
        expect_contains "$SEC_LAST_OUT" "nvalid" "busctl's error" || return 1
        sec_refused "" busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" Mark ss good || return 1
        sec_refused "" busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" InstallFd 'sa{sv}' /x 0
}
t_oversized_args() {
        local long opts
        # 120 000 bytes: far over PATH_MAX and any name limit, under execve's per-argument limit
        long=/$(head -c 120000 /dev/zero | tr '\0' a)
        sec_refused "$INVALID_ARGS" sec-client call Install 'sa{sv}' "$long" "" || return 1
        sec_refused "$INVALID_ARGS" sec-client call Mark ss "${long:1}" other || return 1
        sec_refused "$INVALID_ARGS" sec-client call Mark ss good "${long:1}" || return 1
        opts=$(seq -f 'k%g=s:v' 1 5000 | paste -sd,)
        sec_refused "$INVALID_ARGS" sec-client call InstallFd 'ha{sv}' "$I/good.bundle" "$opts" || return 1
        # the same key twice
        sec_refused "$INVALID_ARGS" sec-client call InstallFd 'ha{sv}' "$I/good.bundle" "force=b:false,force=b:true"
}

# No option turns a check off: unknown "ignore" keys are refused, force does not skip
# compatible or signature.
t_options_cannot_disable_checks() {
        local o
        for o in ignore-compatible=b:true ignore-signature=b:true ignore-version-limit=b:true \
                tls-no-verify=b:true keyring=s:/tmp/evil.pem; do
                sec_refused "$INVALID_ARGS" sec-client call InstallFd 'ha{sv}' "$I/good.bundle" "$o" || return 1
        done
        sec_refused Incompatible sec-client call InstallFd 'ha{sv}' "$I/incompatible.bundle" force=b:true || return 1
        sec_refused SignatureInvalid sec-client call InstallFd 'ha{sv}' "$I/evil.bundle" force=b:true || return 1
        sec_refused Incompatible "${OP[@]}" sec-client call InstallFd 'ha{sv}' "$I/incompatible.bundle" force=b:true
}

# --- A28: Install(path) by non-root reveals nothing about the path ----------------------------
t_path_probe() {
        local a b d=$SB/root-only-dir
        # The operator learns nothing its own open() would not tell it: behind a directory it
        # cannot search, an existing and a missing file give the same error.
        mkdir -p "$d" && chmod 0700 "$d" && : >"$d/exists.bundle" || return 1
        sec_refused "$DENIED" "${OP[@]}" bus-call Install 'sa{sv}' "$d/exists.bundle" "" || return 1
        a=${SEC_LAST_OUT//exists.bundle/NAME}
        sec_refused "$DENIED" "${OP[@]}" bus-call Install 'sa{sv}' "$d/missing.bundle" "" || return 1
        b=${SEC_LAST_OUT//missing.bundle/NAME}
        expect_eq "$b" "$a" "error for a missing vs an existing file behind a root-only directory" || return 1
        sec_refused "$DENIED" "${OP[@]}" bus-call Install 'sa{sv}' /etc/shadow "" || return 1
        permissive_policy || return 1
        sec_refused "$DENIED" "${NB[@]}" bus-call Install 'sa{sv}' /etc/shadow ""
        local rc=$?
        a=${SEC_LAST_OUT//\/etc\/shadow/PATH}
        [ $rc = 0 ] && sec_refused "$DENIED" "${NB[@]}" bus-call Install 'sa{sv}' /nonexistent/x "" || rc=1
        b=${SEC_LAST_OUT//\/nonexistent\/x/PATH}
        restore_policy || return 1
        [ $rc = 0 ] || return 1
        expect_eq "$b" "$a" "error for a missing vs an existing root-only file (nobody)"
}

# --- A29: what an InstallFd fd may be ---------------------------------------------------------
t_bad_fds() {
        local k user
        truncate -s 17M "$I/too-big.bundle"
        for user in root op; do
                local as=()
                [ $user = op ] && as=("${OP[@]}")
                sec_refused "$INVALID_ARGS" "${as[@]}" "${FDEXEC[@]}" dir "$I" sec-client call InstallFd 'ha{sv}' FD "" || { TL_WHY="dir ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" "${FDEXEC[@]}" wronly "$SB/wronly.$user" sec-client call InstallFd 'ha{sv}' FD "" ||
                        { TL_WHY="write-only ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" "${FDEXEC[@]}" opath "$I/good.bundle" sec-client call InstallFd 'ha{sv}' FD "" ||
                        { TL_WHY="O_PATH ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" "${FDEXEC[@]}" socket - sec-client call InstallFd 'ha{sv}' FD "" ||
                        { TL_WHY="socket ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" sec-client call InstallFd 'ha{sv}' /dev/null "" || { TL_WHY="/dev/null ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" sec-client call InstallFd 'ha{sv}' /dev/zero "" || { TL_WHY="/dev/zero ($user): $TL_WHY"; return 1; }
                sec_refused "$INVALID_ARGS" "${as[@]}" sec-client call InstallFd 'ha{sv}' "$I/too-big.bundle" "" ||
                        { TL_WHY="over max-bundle-size ($user): $TL_WHY"; return 1; }
        done
        # InspectBundle (operators: unprivileged callers may pass no fds at all) applies the
        # same rules; for u1test-nobody the bus refuses any message carrying an fd.
        sec_refused "$INVALID_ARGS" "${OP[@]}" sec-client call InspectBundle h /dev/zero || return 1
        sec_refused "$INVALID_ARGS" "${OP[@]}" "${FDEXEC[@]}" dir "$I" sec-client call InspectBundle h FD || return 1
        sec_refused "org.freedesktop.DBus.Error.AccessDenied" "${NB[@]}" sec-client call InspectBundle h "$I/good.bundle"
}
touch "$SB/wronly.root" "$SB/wronly.op" && chown u1test-op "$SB/wronly.op"

# --- A31: callers that disconnect right after sending ---------------------------------------
# sync: one round trip after the fire-and-forget calls, so the daemon has handled them.
sync_daemon() { bus-call GetSlotStatus "" >/dev/null; }

# Unauthorized callers (past the bus with the permissive policy): the daemon's credential
# lookup for a vanished sender fails and must deny.  Nothing may change.
t_disconnect_unauthorized() {
        local k
        # the operator may install by path only what it can read (daemon/open-as.c)
        install -m 0600 "$I/good.bundle" "$I/root-only-good.bundle"
        permissive_policy || return 1
        sec_snapshot || { restore_policy; return 1; }
        for k in 1 2 3; do
                "${NB[@]}" sec-client call --no-reply Install 'sa{sv}' "$I/good.bundle" ""
                "${NB[@]}" sec-client call --no-reply InstallFd 'ha{sv}' "$I/good.bundle" ""
                "${NB[@]}" sec-client call --no-reply Mark ss active other
                "${NB[@]}" sec-client call --no-reply Mark ss bad booted
                "${NB[@]}" sec-client call --no-reply MarkGood ""
                "${NB[@]}" sec-client call --no-reply Cancel ""
                has_reboot && "${NB[@]}" sec-client call --no-reply Reboot ""
                "${OP[@]}" sec-client call --no-reply Install 'sa{sv}' "$I/root-only-good.bundle" ""
        done
        sync_daemon
        restore_policy || return 1
        sec_expect_unchanged || return 1
        sec_expect_alive || return 1
        [ ! -e "$SB/reboot-called" ] || { TL_WHY="the reboot command ran for a disconnected unauthorized caller"; return 1; }
}

# Authorized callers: whichever way the race goes (the lookup fails: denied; or it succeeds:
# the install runs to the end), the device ends consistent.
disconnect_authorized() { # WRAPPER...
        sec_snapshot || return 1
        "$@" sec-client call --no-reply InstallFd 'ha{sv}' "$I/good.bundle" ""
        sync_daemon
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="install never finished"; return 1; }
        sec_expect_alive || return 1
        if sec_expect_unchanged; then
                echo "  note: ${FUNCNAME[1]}: not installed (the caller was gone before the daemon asked the bus)"
                return 0
        fi
        echo "  note: ${FUNCNAME[1]}: installed (the caller's credentials were looked up in time)"
        expect_slot rootfs.1 '["status"]' ok || return 1
        cmp -s -n 262144 "$I/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content"; return 1; }
        sec_expect_boots B || return 1
        expect_ok updatectl mark-bad other && sec_expect_boots A
}
t_disconnect_root() { disconnect_authorized env; }
t_disconnect_operator() { disconnect_authorized "${OP[@]}"; }

# --- A35: concurrent requests ------------------------------------------------------------------
FEED_AT=
t_concurrent() {
        local bg rc
        FEED_AT=$(($(sb_payload_offset "$I/good.bundle") + 1000))
        rm -f "$SB/feed"
        mkfifo "$SB/feed"
        "${OP[@]}" updatectl install - <"$SB/feed" >"$SB/bg.out" 2>&1 &
        bg=$!
        sb_track "$bg"
        exec 8>"$SB/feed"
        timeout "$SB_WAIT" head -c "$FEED_AT" "$I/good.bundle" >&8 ||
                { exec 8>&-; TL_WHY="daemon did not read the first bytes"; return 1; }
        sb_wait_property Operation installing 2>/dev/null || { exec 8>&-; TL_WHY="not installing"; return 1; }
        rc=0
        expect_error "$E.Busy" updatectl install "$I/good.bundle" &&
                expect_error "$E.Busy" "${OP[@]}" bus-call InstallFd 'ha{sv}' "$I/good.bundle" "" &&
                expect_error "$E.Busy" bus-call Install 'sa{sv}' "$I/good.bundle" "" &&
                expect_error "$E.Busy" bus-call Mark ss active other &&
                expect_error "$E.Busy" "${OP[@]}" bus-call Mark ss bad booted &&
                expect_ok "${OP[@]}" bus-call MarkGood "" &&
                expect_error "$E.Busy" sh -c 'cat "$1" | updatectl install -' sh "$I/good.bundle" || rc=1
        if [ $rc = 0 ] && has_reboot; then
                expect_error "$E.Busy" bus-call Reboot "" || rc=1
        fi
        timeout "$SB_WAIT" tail -c +$((FEED_AT + 1)) "$I/good.bundle" >&8
        exec 8>&-
        tl_wait_pid "$bg" || { [ $rc = 1 ] || TL_WHY="first install failed: $(cat "$SB/bg.out" | tail -n 2)"; return 1; }
        [ $rc = 0 ] || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        cmp -s -n 262144 "$I/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content after concurrent calls"; return 1; }
        sec_expect_boots B || return 1
        expect_ok updatectl mark-bad other && sec_expect_boots A
}

# --- A36: many file descriptors in one message --------------------------------------------------
# The system bus allows 16 fds per message (dbus-daemon's max_message_unix_fds default):
# more and the bus drops the sender; the daemon never sees it.  Then the sandbox bus is
# reconfigured to pass up to 1024, so the daemon itself faces 200-250 fds per message.
settle_fds() { sync_daemon; sb_wait_property Operation idle 2>/dev/null; sec_daemon_fds; }
raise_fd_limits() {
        cat >"$SB/bus/policy.d/zz-many-fds.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <limit name="max_message_unix_fds">1024</limit>
  <limit name="max_incoming_unix_fds">4096</limit>
  <limit name="max_outgoing_unix_fds">4096</limit>
</busconfig>
EOF
        sb_reload_bus
}
t_many_fds_bus_limit() {
        local before after
        before=$(settle_fds)
        sec_refused "org.freedesktop.DBus.Error" sec-client call InstallFd "200*h" "$I/good.bundle" || return 1
        sec_refused "" "$SB_PY" "$SB/bin/rawbus.py" fds InstallFd 200 "$I/good.bundle" || return 1
        # 16 fds, all in the body: a wrong signature
        sec_refused "$INVALID_ARGS" sec-client call InstallFd "16*h" "$I/good.bundle" || return 1
        # 16 fds, one referenced: the call is valid; the other 15 must not leak
        sec_refused "Incompatible|$INVALID_ARGS" "$SB_PY" "$SB/bin/rawbus.py" fds InstallFd 16 "$I/incompatible.bundle" || return 1
        after=$(settle_fds)
        expect_eq "$after" "$before" "daemon's open fds"
}
t_many_fds_signature() {
        local before after
        raise_fd_limits || { TL_WHY="bus reload failed"; return 1; }
        before=$(settle_fds)
        sec_refused "$INVALID_ARGS" sec-client call InstallFd "200*h" "$I/good.bundle" || return 1
        sec_refused "$INVALID_ARGS" sec-client call InstallFd "249*ha{sv}" "$I/good.bundle" "" || return 1
        sec_refused "$INVALID_ARGS" "${OP[@]}" sec-client call Mark "100*h" "$I/good.bundle" || return 1
        after=$(settle_fds)
        expect_eq "$after" "$before" "daemon's open fds after 549 fds in refused calls"
}
# A message whose signature has the maximum length (255 characters, valid per the D-Bus
# specification), carrying 16 fds (the system bus default limit), sent by u1test-nobody
# to the Peer interface that the policy opens to everyone.  Whatever the daemon answers,
# it must not keep the fds: 64 such messages would exhaust a service's default 1024-fd
# limit and no bundle, slot or env could be opened any more.
t_max_signature_fds() {
        local before after k
        before=$(settle_fds)
        for _ in 1 2 3 4 5; do
                "${NB[@]}" timeout 5 sec-client call --no-reply --interface org.freedesktop.DBus.Peer Ping \
                        "16*h239*s" "$I/good.bundle" x >/dev/null 2>&1
                "${NB[@]}" timeout 5 sec-client call --no-reply GetSlotStatus "16*h239*s" "$I/good.bundle" x >/dev/null 2>&1
        done
        after=$(settle_fds)
        expect_eq "$after" "$before" "daemon's open fds after 10 messages of 16 fds with 255-character signatures from u1test-nobody" || return 1
        sec_expect_alive
}
# Valid signatures whose messages carry 200 fds the body never references.
t_many_fds_unreferenced() {
        local before after
        raise_fd_limits || { TL_WHY="bus reload failed"; return 1; }
        before=$(settle_fds)
        sec_refused "Incompatible|$INVALID_ARGS" "$SB_PY" "$SB/bin/rawbus.py" fds InstallFd 200 "$I/incompatible.bundle" || return 1
        sec_refused "Incompatible|$INVALID_ARGS" "${OP[@]}" "$SB_PY" "$SB/bin/rawbus.py" fds InstallFd 200 "$I/incompatible.bundle" || return 1
        run "$SB_PY" "$SB/bin/rawbus.py" fds GetSlotStatus 200 "$I/good.bundle"
        after=$(settle_fds)
        expect_eq "$after" "$before" "daemon's open fds after 600 unreferenced fds" || return 1
        sec_expect_alive
}

sec_case authz-install-path t_install_path
sec_case authz-installfd t_install_fd
sec_case authz-cancel t_cancel
sec_case authz-markgood t_mark_good
sec_case authz-mark t_mark
sec_case bad-argument-types t_bad_types
sec_case oversized-arguments t_oversized_args
sec_case options-cannot-disable-checks t_options_cannot_disable_checks
sec_case install-path-probe-uniform-error t_path_probe
sec_case installfd-bad-fd-kinds t_bad_fds
sec_case disconnect-unauthorized-callers t_disconnect_unauthorized
sec_case disconnect-root-install t_disconnect_root
sec_case disconnect-operator-install t_disconnect_operator
sec_case concurrent-requests-busy t_concurrent
sec_case many-fds-bus-limit t_many_fds_bus_limit
sec_case max-length-signature-fds-not-kept t_max_signature_fds
sec_case many-fds-wrong-signature t_many_fds_signature
sec_case many-fds-unreferenced t_many_fds_unreferenced
# last: after Reboot the daemon may consider the system as going down
sec_case authz-reboot t_reboot
