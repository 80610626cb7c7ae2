#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The three descriptions of the API agree: the running daemon's vtable (introspection over the
# bus), interfaces/org.example.Update1.xml, and policy/org.example.Update1.conf; the same for
# the RAUC face (de.pengutronix.rauc at /: interfaces/de.pengutronix.rauc.Installer.xml,
# policy/de.pengutronix.rauc.conf).  Plus the CLI's --help for every verb.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

XML=$UPDATE1_TOP/interfaces/org.example.Update1.xml
POLICY=$UPDATE1_TOP/policy/org.example.Update1.conf
RAUC_XML=$UPDATE1_TOP/interfaces/de.pengutronix.rauc.Installer.xml
RAUC_POLICY=$UPDATE1_TOP/policy/de.pengutronix.rauc.conf

# api_of XML [INTERFACE]: prints a canonical description of the interface (default
# org.example.Update1) in an introspection XML: one line per method/signal/property with
# argument names, types and directions.
api_of() {
        "$SB_PY" - "$1" "${2:-org.example.Update1}" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ifaces = [i for i in root.iter("interface") if i.get("name") == sys.argv[2]]
if len(ifaces) != 1:
    sys.exit("interface %s found %d times" % (sys.argv[2], len(ifaces)))
out = []
for m in ifaces[0]:
    if m.tag == "method":
        args = ["%s %s %s" % (a.get("direction", "in"), a.get("type"), a.get("name") or "") for a in m.iter("arg")]
        out.append("method %s(%s)" % (m.get("name"), ", ".join(args)))
    elif m.tag == "signal":
        args = ["%s %s" % (a.get("type"), a.get("name") or "") for a in m.iter("arg")]
        out.append("signal %s(%s)" % (m.get("name"), ", ".join(args)))
    elif m.tag == "property":
        out.append("property %s %s %s" % (m.get("name"), m.get("type"), m.get("access")))
print("\n".join(sorted(out)))
EOF
}

t_files_exist() {
        local f
        for f in "$XML" "$POLICY" "$RAUC_XML" "$RAUC_POLICY"; do
                [ -s "$f" ] || { TL_WHY="$f missing"; return 1; }
        done
        expect_ok "$SB_PY" -c 'import sys, xml.etree.ElementTree as E; [E.parse(f) for f in sys.argv[1:]]' \
                "$XML" "$POLICY" "$RAUC_XML" "$RAUC_POLICY"
}

t_vtable_matches_xml() {
        busctl --system introspect --xml-interface "$SB_NAME" "$SB_PATH" >"$SB/live.xml" 2>&1 ||
                { TL_WHY="introspect: $(cat "$SB/live.xml")"; return 1; }
        api_of "$SB/live.xml" >"$SB/live.api" 2>&1 || { TL_WHY="live: $(cat "$SB/live.api")"; return 1; }
        api_of "$XML" >"$SB/doc.api" 2>&1 || { TL_WHY="xml: $(cat "$SB/doc.api")"; return 1; }
        grep -q '^method InstallFd' "$SB/live.api" || { TL_WHY="no InstallFd in the vtable"; return 1; }
        local d
        d=$(diff "$SB/doc.api" "$SB/live.api") && return 0
        TL_WHY="interface XML (<) vs running daemon (>): $(tr '\n' ' ' <<<"$d")"
        return 1
}

# The issue's method list is there with the documented signatures.
t_required_members() {
        local want
        for want in 'method Install(in s ' 'method InstallFd(in h ' 'method Cancel()' 'method MarkGood(' \
                'method Mark(in s ' 'method GetSlotStatus(out s ' 'method InspectBundle(in h ' \
                'signal Progress(u ' 'signal Completed(i ' 'property Operation s read' \
                'property Progress (us) read' 'property LastError s read' 'property Compatible s read' \
                'property BootSlot s read' 'property PrimarySlot s read'; do
                grep -qF -- "$want" "$SB/live.api" || { TL_WHY="missing in vtable: $want"; return 1; }
        done
        # MarkGood takes nothing; Mark(s state, s slot) -> (s slot, s message)
        ! grep -q '^method MarkGood(.*in ' "$SB/live.api" || { TL_WHY="MarkGood takes arguments"; return 1; }
        grep -q '^method Mark(in s [a-z]*, in s [a-z]*, out s [a-z]*, out s [a-z]*)$' "$SB/live.api" ||
                { TL_WHY="Mark signature: $(grep '^method Mark(' "$SB/live.api")"; return 1; }
}

# Every member the policy names exists (a typo there silently locks users out, like
# sysupdate's "ListAppstream"); anyone may introspect and ping, nothing else (no status, no
# properties, no signals); root owns the name; root and group update may call and read all.
policy_matches() { # POLICY LIVE_XML NAME INTERFACE
        run "$SB_PY" - "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET
pol = ET.parse(sys.argv[1]).getroot()
live = ET.parse(sys.argv[2]).getroot()
NAME, IFACE = sys.argv[3], sys.argv[4]
iface = next(i for i in live.iter("interface") if i.get("name") == IFACE)
methods = {m.get("name") for m in iface.iter("method")}
errs = []
std = {"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Properties"}
by = {}
for p in pol.iter("policy"):
    key = ("context", p.get("context")) if p.get("context") else ("user", p.get("user")) if p.get("user") else ("group", p.get("group"))
    for rule in p:
        if rule.get("send_destination") not in (None, NAME) and not rule.get("own"):
            continue
        by.setdefault(key, []).append((rule.tag, dict(rule.attrib)))
        itf, mem = rule.get("send_interface"), rule.get("send_member")
        if itf is not None and itf != IFACE and itf not in std:
            errs.append("unknown interface %s" % itf)
        if mem and (itf in (None, IFACE)) and mem not in methods:
            errs.append("policy names %s, not a method of the daemon" % mem)
def allows(key, member, itf=IFACE):
    ok = False
    for tag, a in by.get(key, []):
        if "send_destination" not in a:
            continue
        if a.get("send_interface", itf) != itf or a.get("send_member", member) != member:
            continue
        ok = tag == "allow"
    return ok
def receives_signals(key):
    ok = None
    for tag, a in by.get(key, []):
        if a.get("receive_sender") == NAME and a.get("receive_type") in (None, "signal"):
            ok = tag == "allow"
    return ok
d = ("context", "default")
for m in ("Get", "GetAll", "Set"):
    if allows(d, m, "org.freedesktop.DBus.Properties"):
        errs.append("default context may call Properties.%s" % m)
if not allows(d, "Introspect", "org.freedesktop.DBus.Introspectable"):
    errs.append("default context may not introspect")
for m in sorted(methods):
    if allows(d, m):
        errs.append("default context may call %s" % m)
if receives_signals(d) is not False:
    errs.append("default context is not denied our signals")
for who in (("user", "root"), ("group", "update")):
    for m in sorted(methods):
        if not allows(who, m):
            errs.append("%s %s may not call %s" % (who[0], who[1], m))
    for m in ("Get", "GetAll"):
        if not allows(who, m, "org.freedesktop.DBus.Properties"):
            errs.append("%s %s may not call Properties.%s" % (who[0], who[1], m))
    if receives_signals(who) is not True:
        errs.append("%s %s does not receive our signals" % who)
owners = [k for k, rules in by.items() for tag, a in rules if tag == "allow" and a.get("own") == NAME]
if owners != [("user", "root")]:
    errs.append("owners of the name: %s" % owners)
print("; ".join(errs) if errs else "ok (%d methods)" % len(methods))
sys.exit(1 if errs else 0)
EOF
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="$TL_OUT"
        return 1
}

t_policy_matches_vtable() {
        policy_matches "$POLICY" "$SB/live.xml" org.example.Update1 org.example.Update1
}

# updated --bus-introspect (no bus needed) prints the same interface as the live object.
t_offline_introspect() {
        "$SB/bin/updated" --bus-introspect >"$SB/offline.xml" 2>"$SB/offline.err" ||
                { TL_WHY="updated --bus-introspect: $(cat "$SB/offline.err")"; return 1; }
        api_of "$SB/offline.xml" >"$SB/offline.api" 2>&1 || { TL_WHY="$(cat "$SB/offline.api")"; return 1; }
        local d
        d=$(diff "$SB/offline.api" "$SB/live.api") && return 0
        TL_WHY="--bus-introspect (<) vs live (>): $(tr '\n' ' ' <<<"$d")"
        return 1
}

t_cli_help() {
        local v
        expect_ok updatectl --help || return 1
        for v in status install mark-good mark-bad mark-active cancel bundle; do
                expect_contains "$TL_OUT" "$v" "updatectl --help" || return 1
        done
        for v in status install mark-good mark-bad mark-active cancel "bundle create" "bundle info"; do
                # shellcheck disable=SC2086
                expect_ok updatectl $v --help || return 1
                [ -n "$TL_OUT" ] || { TL_WHY="updatectl $v --help printed nothing"; return 1; }
        done
        expect_ok "$SB/bin/updated" --help
}

t_cli_unknown_verb() {
        run updatectl frobnicate
        [ "$TL_RC" != 0 ] || { TL_WHY="unknown verb exited 0"; return 1; }
        expect_contains "$TL_OUT" frobnicate "error names the verb"
}

tl_case api-files-parse t_files_exist
tl_case vtable-matches-interface-xml t_vtable_matches_xml
tl_case required-members t_required_members
tl_case policy-matches-vtable t_policy_matches_vtable
tl_case bus-introspect-option t_offline_introspect
# The RAUC face: the same three descriptions agree, and the offline introspection matches.
t_rauc_face() {
        local d
        busctl --system introspect --xml-interface de.pengutronix.rauc / >"$SB/rauc-live.xml" 2>&1 ||
                { TL_WHY="introspect de.pengutronix.rauc: $(cat "$SB/rauc-live.xml")"; return 1; }
        grep -q 'interface name="org.freedesktop.DBus.Properties"' "$SB/rauc-live.xml" ||
                { TL_WHY="/ does not list org.freedesktop.DBus.Properties"; return 1; }
        api_of "$SB/rauc-live.xml" de.pengutronix.rauc.Installer >"$SB/rauc-live.api" 2>&1 ||
                { TL_WHY="live: $(cat "$SB/rauc-live.api")"; return 1; }
        api_of "$RAUC_XML" de.pengutronix.rauc.Installer >"$SB/rauc-doc.api" 2>&1 ||
                { TL_WHY="xml: $(cat "$SB/rauc-doc.api")"; return 1; }
        d=$(diff "$SB/rauc-doc.api" "$SB/rauc-live.api") ||
                { TL_WHY="RAUC interface XML (<) vs running daemon (>): $(tr '\n' ' ' <<<"$d")"; return 1; }
        "$SB/bin/updated" --bus-introspect=de.pengutronix.rauc.Installer >"$SB/rauc-offline.xml" 2>&1 ||
                { TL_WHY="--bus-introspect=de.pengutronix.rauc.Installer: $(cat "$SB/rauc-offline.xml")"; return 1; }
        api_of "$SB/rauc-offline.xml" de.pengutronix.rauc.Installer >"$SB/rauc-offline.api" 2>&1 || return 1
        d=$(diff "$SB/rauc-offline.api" "$SB/rauc-live.api") ||
                { TL_WHY="offline (<) vs live (>): $(tr '\n' ' ' <<<"$d")"; return 1; }
        # RAUC 1.8's own introspection (Debian's rauc-service, where installed): every member
        # of it is ours with the same signature
        local theirs=/usr/share/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml
        if [ -f "$theirs" ]; then
                api_of "$theirs" de.pengutronix.rauc.Installer | sed 's/ [a-z_]*\([,)]\)/\1/g' >"$SB/rauc-18.api" || return 1
                sed 's/ [a-z_]*\([,)]\)/\1/g' "$SB/rauc-live.api" >"$SB/rauc-live-types.api"
                d=$(comm -23 "$SB/rauc-18.api" "$SB/rauc-live-types.api")
                [ -z "$d" ] || { TL_WHY="RAUC 1.8 members missing or different: $(tr '\n' ' ' <<<"$d")"; return 1; }
        fi
        policy_matches "$RAUC_POLICY" "$SB/rauc-live.xml" de.pengutronix.rauc de.pengutronix.rauc.Installer
}

tl_case rauc-face-xml-policy-vtable t_rauc_face
tl_case cli-help t_cli_help
tl_case cli-unknown-verb t_cli_unknown_verb
