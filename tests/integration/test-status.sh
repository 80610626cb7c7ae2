#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Shape of the slot status JSON (GetSlotStatus / updatectl status --json), the properties,
# and the human table, before and after an install.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

mkdir -p "$SB/img"
sb_make_ext4 "$SB/img/v2.ext4" 4M 2 && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/v2.ext4" || exit 1

# check_shape FILE installed-slot|-: every key of the issue's shape, types and enums.
check_shape() {
        run "$SB_PY" - "$1" "$2" "$SB_COMPATIBLE" <<'EOF'
import json, re, sys
path, installed, compat = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
errs = []
def need(obj, key, types, where):
    if not isinstance(obj, dict) or key not in obj:
        errs.append("%s: missing %r" % (where, key))
        return None
    v = obj[key]
    types = types if isinstance(types, tuple) else (types,)
    if (bool not in types) if isinstance(v, bool) else not isinstance(v, types):
        errs.append("%s.%s: %r has type %s" % (where, key, v, type(v).__name__))
    return v
S, N = str, type(None)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
for k in ("compatible", "booted", "primary", "operation"):
    need(d, k, (S, N) if k == "primary" else S, "top")
if d.get("compatible") != compat:
    errs.append("compatible %r != %r" % (d.get("compatible"), compat))
if d.get("operation") not in ("idle", "installing", "marking"):
    errs.append("operation %r" % d.get("operation"))
slots = need(d, "slots", list, "top") or []
if [s.get("name") for s in slots] != ["rootfs.0", "rootfs.1"]:
    errs.append("slots not in config order: %s" % [s.get("name") for s in slots])
for s in slots:
    w = "slot %s" % s.get("name")
    for k in ("name", "class", "device", "type"):
        need(s, k, S, w)
    need(s, "bootname", (S, N), w)
    need(s, "parent", (S, N), w)
    if need(s, "state", S, w) not in ("booted", "active", "inactive"):
        errs.append("%s: state %r" % (w, s.get("state")))
    if need(s, "boot_status", S, w) not in ("good", "bad", "trial"):
        errs.append("%s: boot_status %r" % (w, s.get("boot_status")))
    if need(s, "status", S, w) not in ("ok", "failed", "pending", "unknown"):
        errs.append("%s: status %r" % (w, s.get("status")))
    if s.get("class") != "rootfs" or s.get("type") != "raw":
        errs.append("%s: class/type %r/%r" % (w, s.get("class"), s.get("type")))
    strict = s.get("name") == installed
    # never-installed slots may carry null/empty values, but the keys are there
    b = need(s, "bundle", dict, w) or {}
    for k in ("compatible", "version", "build", "description"):
        need(b, k, S if strict else (S, N), w + ".bundle")
    c = need(s, "checksum", dict, w) or {}
    sha = need(c, "sha256", S if strict else (S, N), w + ".checksum")
    need(c, "size", int if strict else (int, N), w + ".checksum")
    if strict and not re.fullmatch(r"[0-9a-f]{64}", sha or ""):
        errs.append("%s: sha256 %r" % (w, sha))
    for k in ("installed", "activated"):
        t = need(s, k, dict, w) or {}
        ts = need(t, "timestamp", S if strict else (S, N), "%s.%s" % (w, k))
        cnt = need(t, "count", int, "%s.%s" % (w, k))
        if strict and not RFC3339.match(ts or ""):
            errs.append("%s.%s.timestamp %r is not RFC 3339" % (w, k, ts))
        if strict and not (isinstance(cnt, int) and cnt >= 1):
            errs.append("%s.%s.count %r" % (w, k, cnt))
print("; ".join(errs) if errs else "ok")
sys.exit(1 if errs else 0)
EOF
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="$TL_OUT"
        return 1
}

t_shape_fresh() {
        updatectl status --json >"$SB/s1.json" 2>&1 || { TL_WHY="status --json: $(cat "$SB/s1.json")"; return 1; }
        check_shape "$SB/s1.json" -
}

t_shape_installed() {
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1
        updatectl status --json >"$SB/s2.json" 2>&1 || { TL_WHY="status --json: $(cat "$SB/s2.json")"; return 1; }
        check_shape "$SB/s2.json" rootfs.1
}

# updatectl status --json is GetSlotStatus verbatim (same document).
t_json_is_getslotstatus() {
        local a b
        a=$(updatectl status --json | sb_json 'json.dumps(d, sort_keys=True)')
        b=$(busctl --system --json=short call "$SB_NAME" "$SB_PATH" "$SB_IFACE" GetSlotStatus |
                sb_json 'json.dumps(json.loads(d["data"][0]), sort_keys=True)')
        expect_eq "$a" "$b" "updatectl status --json vs GetSlotStatus"
}

t_properties() {
        expect_eq "$(sb_get_property Operation)" idle Operation || return 1
        expect_eq "$(sb_get_property Compatible)" "$SB_COMPATIBLE" Compatible || return 1
        expect_eq "$(sb_get_property BootSlot)" A BootSlot || return 1
        expect_eq "$(sb_get_property PrimarySlot)" B "PrimarySlot after install" || return 1
        expect_ok busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" Progress || return 1
        expect_contains "$TL_OUT" "100" "Progress after an install" || return 1
        expect_ok busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" LastError
}

t_human_table() {
        expect_ok updatectl status || return 1
        local w
        for w in rootfs.0 rootfs.1 "$SB_COMPATIBLE" booted; do
                expect_contains "$TL_OUT" "$w" "updatectl status" || return 1
        done
        # the installed version shows up for rootfs.1
        grep rootfs.1 <<<"$TL_OUT" | grep -qw 2 || grep -q 'version.*2' <<<"$TL_OUT" ||
                { TL_WHY="installed version 2 not shown: $(tr '\n' ' ' <<<"$TL_OUT")"; return 1; }
}

# The persisted status file: the design's shape, atomically written (no temp files left).
# Besides it only the two anti-rollback floor copies (the install raised the time floor).
t_status_file() {
        local f=$SB_DATA/status.json
        [ -s "$f" ] || { TL_WHY="$f missing"; return 1; }
        run "$SB_PY" - "$f" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["slots"]["rootfs.1"]
assert d["format"] == 1, d
assert r["status"] == "ok", r
assert r["bundle"]["version"] == "2", r
assert isinstance(r["installed"]["timestamp"], int) and r["installed"]["count"] == 1, r
assert len(r["checksum"]["sha256"]) == 64, r
print("ok")
EOF
        [ "$TL_RC" = 0 ] || { TL_WHY="status.json: $TL_OUT"; return 1; }
        local extra
        extra=$(find "$SB_DATA" -mindepth 1 ! -name status.json ! -name rollback-floor.0 ! -name rollback-floor.1 ! -name instance.lock)
        expect_eq "$extra" "" "files besides status.json, rollback-floor.[01] and instance.lock (the daemon's lock) in the data directory" || return 1
        grep -q '^time [1-9]' "$SB_DATA/rollback-floor.0" || { TL_WHY="time floor not raised by the install"; return 1; }
}

tl_case json-shape-fresh t_shape_fresh
tl_case json-shape-after-install t_shape_installed
tl_case json-equals-GetSlotStatus t_json_is_getslotstatus
tl_case properties t_properties
tl_case human-table t_human_table
tl_case status-file t_status_file
