#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RAUC's D-Bus API served by updated (daemon/bus-rauc.c, docs/rauc-compat.md): the real `rauc`
# 1.8 CLI and gdbus as RAUC's clients, on the private bus with our two policies.  Bundles are
# Update1 bundles (RAUC bundles are another test's).  Both faces share one install at a time.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policies let only root own the names; useradd"
tl_require_cmd rauc gdbus setpriv useradd
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
tl_setup A
. "$(dirname "$0")/../lib/rauc-lib.sh"

E=org.example.Update1.Error
GIO_HANDLED=org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code30
I=$SB/img
mkdir -p "$I"
chmod 0755 "$I"
sb_make_random "$I/v2.img" 3M && sb_bundle "$I/v2.bundle" 2 "$I/v2.img" || exit 1
sb_make_random "$I/v3.img" 2M && sb_bundle "$I/v3.bundle" 3 "$I/v3.img" || exit 1
sb_bundle "$I/wrong.bundle" 4 "$I/v3.img" other-board || exit 1
CHUNK=$(updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$I/v3.bundle" |
        sb_json 'd["images"][0]["chunk-size"]') || exit 1
FEED_AT=$(($(sb_payload_offset "$I/v3.bundle") + CHUNK + CHUNK / 2))

t_status_json() {
        start_monitor || return 1
        expect_ok rauc status --output-format=json || return 1
        expect_rauc 'd["compatible"]' "$SB_COMPATIBLE" || return 1
        expect_rauc 'd["booted"]' A || return 1
        expect_rauc 'd["boot_primary"]' rootfs.0 || return 1
        expect_rslot rootfs.0 '["state"]' booted || return 1
        expect_rslot rootfs.0 '["bootname"]' A || return 1
        expect_rslot rootfs.0 '["boot_status"]' good || return 1
        expect_rslot rootfs.0 '["device"]' "$SB_SLOT_A" || return 1
        expect_rslot rootfs.1 '["state"]' inactive || return 1
        expect_rslot rootfs.1 '["bootname"]' B || return 1
        expect_rslot rootfs.1 '["class"]' rootfs
}

t_status_text() {
        expect_ok rauc status || return 1
        expect_contains "$TL_OUT" "Booted from: rootfs.0 (A)" "rauc status" || return 1
        expect_contains "$TL_OUT" "Activated: rootfs.0 (A)" "rauc status"
}

t_install() {
        expect_ok rauc install "$I/v2.bundle" || return 1
        expect_contains "$TL_OUT" "succeeded" "rauc install" || return 1
        # rauc follows Progress and Operation through PropertiesChanged and prints them
        expect_contains "$TL_OUT" "Writing rootfs.1" "rauc install progress" || return 1
        expect_contains "$TL_OUT" "100% Installed" "rauc install progress" || return 1
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v2.img" || return 1
        expect_boots B || return 1
        expect_rauc 'd["boot_primary"]' rootfs.1 || return 1
        # on its trial boot: RAUC's word for a slot the bootloader will try is good
        expect_rslot rootfs.1 '["boot_status"]' good || return 1
        expect_rslot rootfs.1 '["slot_status"]["bundle"]["version"]' 2 || return 1
        expect_rslot rootfs.1 '["slot_status"]["checksum"]["sha256"]' "$(sha256sum <"$I/v2.img" | cut -c1-64)" || return 1
        expect_rslot rootfs.1 '["slot_status"]["installed"]["count"]' 1 || return 1
        expect_eq "$(rprop Operation)" "(<'idle'>,)" "Operation"
}

# RAUC's D-Bus types: size t, counts u, ISO 8601 UTC timestamps.
t_slot_status_types() {
        run busctl --system --json=short call "$R" / "$RI" GetSlotStatus
        [ "$TL_RC" = 0 ] || { TL_WHY="GetSlotStatus: $TL_OUT"; return 1; }
        run "$SB_PY" - "$TL_OUT" <<'PY'
import json, re, sys
d = json.loads(sys.argv[1])
assert d["type"] == "a(sa{sv})", d["type"]
slots = {name: v for name, v in d["data"][0]}
want = {"size": "t", "installed.count": "u", "activated.count": "u", "sha256": "s",
        "installed.timestamp": "s", "bundle.version": "s", "class": "s", "state": "s", "boot-status": "s"}
for k, t in want.items():
    assert slots["rootfs.1"][k]["type"] == t, (k, slots["rootfs.1"][k])
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", slots["rootfs.1"]["installed.timestamp"]["data"])
assert slots["rootfs.1"]["size"]["data"] == 3 * 1024 * 1024
assert slots["rootfs.1"]["status"]["data"] == "ok"
# a never-written slot has no status-file keys
assert "bundle.version" not in slots["rootfs.0"] and "sha256" not in slots["rootfs.0"], slots["rootfs.0"]
print("ok")
PY
        [ "$TL_RC" = 0 ] || { TL_WHY="$TL_OUT"; return 1; }
}

# rauc status mark-*: the same slot-transition authority as org.example.Update1.Mark.
t_mark() {
        expect_ok rauc status mark-active booted || return 1
        expect_contains "$TL_OUT" "rootfs.0" "mark-active booted" || return 1
        expect_boots A || return 1
        expect_rauc 'd["boot_primary"]' rootfs.0 || return 1
        expect_ok rauc status mark-active rootfs.1 || return 1
        expect_boots B || return 1
        expect_ok rauc status mark-bad other || return 1
        expect_contains "$TL_OUT" "rootfs.1" "mark-bad other" || return 1
        expect_boots A || return 1
        expect_rslot rootfs.1 '["boot_status"]' bad || return 1
        expect_ok rauc status mark-good booted || return 1
        expect_rslot rootfs.0 '["boot_status"]' good || return 1
        expect_boots A || return 1
        # refused by the authority (rootfs.1 is out of the chain: nothing committed would be
        # left to boot): rauc says why, nothing changes
        tl_snapshot
        run rauc status mark-bad booted
        [ "$TL_RC" != 0 ] || { TL_WHY="mark-bad of the last bootable slot succeeded: $TL_OUT"; return 1; }
        expect_contains "$TL_OUT" "no committed slot would be left" "mark-bad booted refused" || return 1
        expect_unchanged || return 1
        expect_boots A || return 1
        run rauc status mark-good rootfs.7
        [ "$TL_RC" != 0 ] && expect_contains "$TL_OUT" "rootfs.7" "unknown slot refused"
}

t_wrong_compatible() {
        tl_snapshot
        run rauc install "$I/wrong.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="rauc install of a wrong-compatible bundle exited 0: $TL_OUT"; return 1; }
        tl_diag "rauc install: $TL_OUT"
        expect_contains "$TL_OUT" "other-board" "rauc install names the reason" || return 1
        expect_completed 1 || return 1
        expect_contains "$(rprop LastError)" "$E.Incompatible" "LastError" || return 1
        expect_contains "$(rprop LastError)" "other-board" "LastError" || return 1
        expect_unchanged || return 1
        expect_boots A || return 1
        expect_rauc 'd["boot_primary"]' rootfs.0
}

t_methods() {
        expect_ok rcall Info "$I/v3.bundle" || return 1
        expect_eq "$TL_OUT" "('$SB_COMPATIBLE', '3')" "Info" || return 1
        expect_ok rcall InspectBundle "$I/v3.bundle" '{}' || return 1
        expect_contains "$TL_OUT" "'update': <{'compatible': <'$SB_COMPATIBLE'>, 'version': <'3'>" "InspectBundle" || return 1
        expect_contains "$TL_OUT" "'size': <uint64 2097152>" "InspectBundle images" || return 1
        expect_error "$GIO_HANDLED" rcall InspectBundle "$I/v3.bundle" "{'frob': <1>}" || return 1
        expect_error "$E.SignatureInvalid" rcall Info "$SB/system.conf" ||
                expect_error "$E.InvalidBundle" rcall Info "$SB/system.conf" || return 1
        expect_ok rcall GetPrimary || return 1
        expect_eq "$TL_OUT" "('rootfs.0',)" "GetPrimary" || return 1
        expect_ok rcall Mark good booted || return 1
        expect_contains "$TL_OUT" "('rootfs.0', 'rootfs.0 is not on trial" "Mark" || return 1
        expect_error InvalidArgs rcall Mark frob booted || return 1
        expect_ok rcall GetSlotStatus || return 1
        expect_eq "$(rprop Compatible)" "(<'$SB_COMPATIBLE'>,)" "Compatible" || return 1
        expect_eq "$(rprop Variant)" "(<''>,)" "Variant" || return 1
        expect_eq "$(rprop BootSlot)" "(<'A'>,)" "BootSlot" || return 1
        # (isi): percentage, message, nesting depth
        [[ "$(rprop Progress)" =~ ^\(\<\([0-9]+,\ \'.*\',\ 1\)\>,\)$ ]] || { TL_WHY="Progress: $(rprop Progress)"; return 1; }
        # introspection: the Properties interface, and every argument with a direction
        run gdbus introspect --system --dest "$R" --object-path / --xml
        expect_contains "$TL_OUT" 'interface name="org.freedesktop.DBus.Properties"' "introspection" || return 1
        run "$SB_PY" -c 'import sys, xml.etree.ElementTree as E
r = E.fromstring(sys.argv[1])
bad = [m.get("name") for m in r.iter("method") for a in m.iter("arg") if a.get("direction") not in ("in", "out")]
sys.exit("no direction: %s" % bad if bad else 0)' "$TL_OUT"
        [ "$TL_RC" = 0 ] || { TL_WHY=$TL_OUT; return 1; }
}

# Every InstallBundle key: honoured, or refused by name; an unknown key as RAUC refuses it.
t_install_args() {
        local k
        expect_error "$GIO_HANDLED" rcall InstallBundle "$I/v3.bundle" "{'frob': <true>}" || return 1
        expect_contains "$TL_OUT" "Unsupported key: frob" "unknown key" || return 1
        expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'ignore-compatible': <true>}" || return 1
        expect_contains "$TL_OUT" "ignore-compatible" "ignore-compatible=true" || return 1
        expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'ignore-compatible': <'no'>}" || return 1
        expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'transaction-id': <'a b'>}" || return 1
        # honoured (test-rauc-args.sh), but not with a malformed value
        for k in require-manifest-hash tls-cert tls-key tls-ca; do
                expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'$k': <'x'>}" || return 1
                expect_contains "$TL_OUT" "Option '$k': 'x' is not" "$k" || return 1
        done
        expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'tls-no-verify': <true>}" || return 1
        expect_error InvalidArgs rcall InstallBundle "$I/v3.bundle" "{'http-headers': <['X-A: 1']>}" || return 1
        expect_error InvalidArgs rcall InstallBundle relative.bundle "@a{sv} {}" || return 1
        expect_eq "$(rprop Operation)" "(<'idle'>,)" "nothing started" || return 1
        # what we honour, all at once (rauc install always sends ignore-compatible=false)
        expect_ok rcall InstallBundle "$I/v3.bundle" "{'ignore-compatible': <false>, 'transaction-id': <'tx-42'>, \
'tls-no-verify': <false>, 'http-headers': <@as []>}" || return 1
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        expect_rslot rootfs.1 '["slot_status"]["bundle"]["version"]' 3 || return 1
        run busctl --system call "$R" / "$RI" GetSlotStatus
        expect_contains "$TL_OUT" '"installed.transaction" s "tx-42"' "transaction id" || return 1
        expect_ok rauc status mark-active rootfs.0
}

# Install(s): the reply means nothing, Completed is the answer, also when the source is bad.
t_install_deprecated() {
        expect_ok rcall Install "$I/wrong.bundle" || return 1
        expect_eq "$TL_OUT" "()" "Install reply" || return 1
        expect_completed 1 || return 1
        expect_contains "$(rprop LastError)" "$E.Incompatible" "LastError" || return 1
        expect_ok rcall Install "$I/missing.bundle" || return 1
        expect_completed 1 || return 1
        expect_contains "$(rprop LastError)" "missing.bundle" "LastError" || return 1
        expect_boots A
}

# One install at a time across both faces.  An install is held mid-stream on a FIFO that this
# script writes (no sleeps: we wait for Operation=installing).
feed_open() { rm -f "$SB/feed" && mkfifo "$SB/feed" && exec 8<>"$SB/feed"; }
feed_part() {
        timeout "$SB_WAIT" head -c "$FEED_AT" "$I/v3.bundle" >&8 || { TL_WHY="nobody read the feed"; return 1; }
        sb_wait_property Operation installing 2>"$SB/wait.err" || { TL_WHY=$(cat "$SB/wait.err"); return 1; }
}
feed_rest() { timeout "$SB_WAIT" tail -c +$((FEED_AT + 1)) "$I/v3.bundle" >&8; exec 8>&-; }

t_busy_update1_then_rauc() {
        local pid rc
        feed_open || return 1
        # 8>&-: the client must not hold our writer open (it would never see the end)
        updatectl install - <"$SB/feed" >"$SB/bg.out" 2>&1 8>&- &
        pid=$!
        sb_track "$pid"
        feed_part || { exec 8>&-; return 1; }
        expect_eq "$(rprop Operation)" "(<'installing'>,)" "RAUC Operation" || { exec 8>&-; return 1; }
        expect_error "$E.Busy" rcall InstallBundle "$I/v2.bundle" '{}' || { exec 8>&-; return 1; }
        expect_contains "$TL_OUT" "already processing a different method" "Busy text" || { exec 8>&-; return 1; }
        run rauc install "$I/v2.bundle"
        [ "$TL_RC" != 0 ] || { exec 8>&-; TL_WHY="rauc install during an install exited 0"; return 1; }
        feed_rest
        tl_wait_pid "$pid"
        rc=$?
        [ "$rc" = 0 ] || { TL_WHY="updatectl install exited $rc: $(cat "$SB/bg.out")"; return 1; }
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img"
}

t_busy_rauc_then_update1() {
        feed_open || return 1
        expect_ok rcall InstallBundle "$SB/feed" '{}' || { exec 8>&-; return 1; }
        feed_part || { exec 8>&-; return 1; }
        expect_error "$E.Busy" updatectl install "$I/v2.bundle" || { exec 8>&-; return 1; }
        expect_error "$E.Busy" rcall Install "$I/v2.bundle" || { exec 8>&-; return 1; }
        feed_rest
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        expect_boots B
}

# Authorization is ours: not RAUC's open policy.
t_unprivileged() {
        local nb=(as_user u1test-nobody) op=(as_user u1test-op)
        run "${nb[@]}" rauc status
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-nobody could run rauc status"; return 1; }
        expect_error AccessDenied "${nb[@]}" gdbus call --system --dest "$R" --object-path / --method "$RI.GetSlotStatus" || return 1
        expect_error AccessDenied "${nb[@]}" gdbus call --system --dest "$R" --object-path / \
                --method "$RI.InstallBundle" "$I/v2.bundle" '{}' || return 1
        expect_error AccessDenied "${nb[@]}" gdbus call --system --dest "$R" --object-path / --method "$RI.Mark" bad other || return 1
        # group update: status, marks, and installs of a path it can read itself: the daemon
        # opens the path with the caller's rights (daemon/open-as.c).  That is microServiceBus-node,
        # running as its own user, calling Install(path) of a bundle it downloaded.
        expect_ok "${op[@]}" rauc status --output-format=json || return 1
        install -m 0600 "$I/v2.bundle" "$I/root-only.bundle"
        tl_snapshot
        run "${op[@]}" rauc install "$I/root-only.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-op installed a bundle only root can read: $TL_OUT"; return 1; }
        expect_contains "$TL_OUT" "Permission denied" "rauc install of a root-only file" || return 1
        expect_unchanged || return 1
        [ "$(stat -c %a "$I/v2.bundle")" = 644 ] || { TL_WHY="v2.bundle is not world-readable"; return 1; }
        expect_ok "${op[@]}" rauc install "$I/v2.bundle" || return 1
        expect_contains "$TL_OUT" "succeeded" "rauc install as u1test-op" || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v2.img" || return 1
        expect_boots B
}

# With a policy that lets everyone send anything to de.pengutronix.rauc, the daemon's own
# check (the caller's EUID, group update) still refuses: the bus policy is only the first gate.
t_unprivileged_denied_by_daemon() {
        # Last in the include order: the connection owns org.example.Update1 too, and the bus
        # applies that name's default deny to every message the connection receives.
        local pol=$SB/bus/policy.d/zz-permissive-rauc.conf nb=(as_user u1test-nobody) m rc=0
        printf '%s\n' '<busconfig><policy context="default">' \
                '<allow send_destination="de.pengutronix.rauc"/></policy></busconfig>' >"$pol"
        sb_reload_bus || { TL_WHY="ReloadConfig failed"; return 1; }
        tl_snapshot
        for m in "GetSlotStatus" "GetPrimary" "Mark bad other" "InstallBundle $I/v2.bundle {}" "Install $I/v2.bundle" \
                "Info $I/v2.bundle"; do
                # shellcheck disable=SC2086 # word splitting: method and arguments
                expect_error "$E.AccessDenied" "${nb[@]}" gdbus call --system --dest "$R" --object-path / \
                        --method "$RI".$m || { rc=1; break; }
        done
        [ "$rc" = 0 ] && { expect_error "$E.AccessDenied" "${nb[@]}" gdbus call --system --dest "$R" --object-path / \
                --method org.freedesktop.DBus.Properties.Get "$RI" LastError || rc=1; }
        [ "$rc" = 0 ] && { expect_unchanged || rc=1; }
        rm -f "$pol"
        sb_reload_bus || { TL_WHY="ReloadConfig (restore) failed"; return 1; }
        [ "$rc" = 0 ] || return 1
        # the shipped policy is in force again
        expect_error org.freedesktop.DBus.Error.AccessDenied "${nb[@]}" gdbus call --system --dest "$R" --object-path / \
                --method "$RI".GetPrimary
}

# [system] rauc-dbus=false: the name is not served, org.example.Update1 is.
t_config_off() {
        sb_stop_updated
        echo "rauc-dbus=false" >"$SB/rauc-off.conf"
        sed '/^\[system\]/r '"$SB/rauc-off.conf" "$SB_CONFIG" >"$SB/system-off.conf"
        SB_CONFIG=$SB/system-off.conf sb_start_updated A 2>"$SB/start.err" || { TL_WHY=$(cat "$SB/start.err"); return 1; }
        expect_ok updatectl status || return 1
        run rcall GetPrimary
        [ "$TL_RC" != 0 ] || { TL_WHY="de.pengutronix.rauc still answered"; return 1; }
        expect_contains "$TL_OUT" "ServiceUnknown" "no owner"
}

# RAUC's variant-name= (lib/config-rauc.c) is the Variant property, as in RAUC.
t_variant() {
        sb_stop_updated
        echo "variant-name=board-rev-c" >"$SB/variant.conf"
        sed '/^\[system\]/r '"$SB/variant.conf" "$SB_CONFIG" >"$SB/system-variant.conf"
        SB_CONFIG=$SB/system-variant.conf sb_start_updated A 2>"$SB/start.err" || { TL_WHY=$(cat "$SB/start.err"); return 1; }
        expect_eq "$(rprop Variant)" "(<'board-rev-c'>,)" "Variant" || return 1
        sb_stop_updated
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY=$(cat "$SB/start.err"); return 1; }
}

tl_case rauc-status-json t_status_json
tl_case rauc-status-text t_status_text
tl_case rauc-install t_install
tl_case slot-status-dbus-types t_slot_status_types
tl_case rauc-status-mark t_mark
tl_case rauc-install-wrong-compatible t_wrong_compatible
tl_case gdbus-every-method t_methods
tl_case install-bundle-arg-keys t_install_args
tl_case install-deprecated-completed t_install_deprecated
tl_case busy-update1-then-rauc t_busy_update1_then_rauc
tl_case busy-rauc-then-update1 t_busy_rauc_then_update1
tl_case unprivileged-denied t_unprivileged
tl_case unprivileged-denied-by-daemon t_unprivileged_denied_by_daemon
tl_case variant-name t_variant
tl_case config-rauc-dbus-false t_config_off
