#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd units keep their hardening (docs/installation.md, "Unit hardening"):
#   - updated.service sets every directive the security review asked for, and none that would
#     break the daemon (it writes block devices, the bootloader env and EFI variables, reads
#     /proc/cmdline and boot_id, and downloads URLs itself);
#   - `systemd-analyze security --offline=true` rates each unit at or below its threshold;
#   - `systemd-analyze verify` finds nothing to complain about (ExecStart= pointed at the built
#     binary, because verify insists that the program exists).
# No root, no bus, no running systemd needed.  systemd-analyze comes with package "systemd"
# (tests/lib/install-deps.sh check): missing, the analyzer cases fail under CI=true and are
# skipped otherwise.
. "$(dirname "$0")/../lib/testlib.sh"

# The units as make generates them from packaging/systemd/*.in (make all).
UNIT_UPDATED=$UPDATE1_BUILD/packaging/systemd/updated.service
UNIT_HEALTH=$UPDATE1_BUILD/packaging/systemd/update-health.service
UNIT_AGENT=$UPDATE1_BUILD/packaging/systemd/update-agent.service

# Highest overall exposure (systemd-analyze's 0.0-10.0 scale) each unit may have: what
# systemd 252 (Debian 12) measures plus 0.1, so dropping any protection worth 0.2 or more
# fails here.  Measured: updated 1.8, update-health 1.8, update-agent 1.2.  Lower a threshold
# when a unit gets tighter; raise one only with a reason in docs/installation.md.
MAX_UPDATED=1.9
MAX_HEALTH=1.9
MAX_AGENT=1.3

# --- unit file parsing: the [Service] section, comments and blank lines skipped ----------------

# unit_values FILE KEY: every assignment of KEY, one per line, in file order.
unit_values() {
        awk -v key="$2" '
                /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
                /^\[/ { section = $0; next }
                section == "[Service]" {
                        eq = index($0, "=")
                        if (eq == 0) next
                        k = substr($0, 1, eq - 1); gsub(/[ \t]+$/, "", k)
                        if (k != key) next
                        v = substr($0, eq + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
                        print v
                }' "$1"
}
# unit_value FILE KEY: the value that counts for a single-valued key (the last one).
unit_value() { unit_values "$1" "$2" | tail -n 1; }
# unit_list FILE KEY: a list-valued key as systemd sees it: assignments accumulate, an empty
# one resets; one word per line.
unit_list() {
        unit_values "$1" "$2" | awk '$0 == "" { n = 0; next } { for (i = 1; i <= NF; i++) w[n++] = $i }
                                     END { for (i = 0; i < n; i++) print w[i] }'
}
is_true() { case $1 in yes | true | on | 1) return 0 ;; *) return 1 ;; esac; }

# expect_key FILE KEY VALUE...: the effective value is one of VALUE...
expect_key() {
        local f=$1 k=$2 v
        shift 2
        v=$(unit_value "$f" "$k")
        for want in "$@"; do
                [ "$v" = "$want" ] && return 0
        done
        TL_WHY="$(basename "$f"): $k='$v', expected ${*// /|}"
        return 1
}
expect_true() {
        is_true "$(unit_value "$1" "$2")" && return 0
        TL_WHY="$(basename "$1"): $2='$(unit_value "$1" "$2")', expected yes"
        return 1
}

# --- the directives the security review asked for (no systemd-analyze needed) ------------------

t_updated_required() {
        local f=$UNIT_UPDATED k caps fam
        for k in NoNewPrivileges ProtectHome PrivateTmp LockPersonality MemoryDenyWriteExecute \
                ProtectKernelTunables ProtectKernelModules ProtectKernelLogs ProtectControlGroups \
                ProtectClock ProtectHostname RestrictRealtime RestrictSUIDSGID RestrictNamespaces \
                PrivateMounts; do
                expect_true "$f" "$k" || return 1
        done
        expect_key "$f" ProtectSystem strict || return 1
        expect_key "$f" DevicePolicy closed strict || return 1
        expect_key "$f" ProtectProc invisible noaccess || return 1
        expect_key "$f" SystemCallArchitectures native || return 1
        expect_key "$f" UMask 0022 0027 0077 || return 1
        if [ -z "$(unit_list "$f" DeviceAllow)" ]; then
                TL_WHY="updated.service: DevicePolicy=closed without any DeviceAllow= (no slot could be written)"
                return 1
        fi
        if ! unit_list "$f" SystemCallFilter | grep -qx '@system-service'; then
                TL_WHY="updated.service: SystemCallFilter= does not start from @system-service"
                return 1
        fi
        if ! unit_values "$f" SystemCallFilter | grep -q '^~.*@privileged'; then
                TL_WHY="updated.service: SystemCallFilter= does not exclude ~@privileged"
                return 1
        fi
        # A bounding set must be given at all (unset = every capability).
        if [ "$(unit_values "$f" CapabilityBoundingSet | wc -l)" = 0 ]; then
                TL_WHY="updated.service: no CapabilityBoundingSet= (the default is every capability)"
                return 1
        fi
        caps=$(unit_list "$f" CapabilityBoundingSet)
        if grep -q '^~' <<<"$caps"; then
                TL_WHY="updated.service: CapabilityBoundingSet= is a deny list ($(tr '\n' ' ' <<<"$caps")); it must name what is allowed"
                return 1
        fi
        for k in CAP_SYS_MODULE CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_BOOT CAP_SYS_PTRACE CAP_SYS_TIME \
                CAP_MKNOD CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_SYS_CHROOT CAP_BPF CAP_PERFMON \
                CAP_SYS_ADMIN CAP_SYS_RAWIO CAP_MAC_ADMIN CAP_AUDIT_CONTROL CAP_KILL; do
                if grep -qx "$k" <<<"$caps"; then
                        TL_WHY="updated.service: CapabilityBoundingSet= keeps $k"
                        return 1
                fi
        done
        fam=$(unit_list "$f" RestrictAddressFamilies)
        if [ -z "$fam" ] || grep -q '^~' <<<"$fam" || grep -qvxE 'AF_UNIX|AF_INET|AF_INET6' <<<"$fam"; then
                TL_WHY="updated.service: RestrictAddressFamilies='$(tr '\n' ' ' <<<"$fam")', expected an allow list within AF_UNIX AF_INET AF_INET6"
                return 1
        fi
        return 0
}

# What the daemon cannot work without: tightening past these breaks updates on real devices.
t_updated_keeps_what_it_needs() {
        local f=$UNIT_UPDATED rw fam p
        if is_true "$(unit_value "$f" PrivateNetwork)"; then
                TL_WHY="updated.service: PrivateNetwork= set, but Install(URL) downloads with libcurl in the daemon"
                return 1
        fi
        fam=$(unit_list "$f" RestrictAddressFamilies)
        for p in AF_UNIX AF_INET AF_INET6; do
                grep -qx "$p" <<<"$fam" || { TL_WHY="updated.service: RestrictAddressFamilies= lacks $p (D-Bus, downloads)"; return 1; }
        done
        if is_true "$(unit_value "$f" PrivateDevices)"; then
                TL_WHY="updated.service: PrivateDevices= hides the slot block devices"
                return 1
        fi
        if [ "$(unit_value "$f" ProcSubset)" = pid ]; then
                TL_WHY="updated.service: ProcSubset=pid hides /proc/cmdline and /proc/sys/kernel/random/boot_id"
                return 1
        fi
        if [ -n "$(unit_value "$f" User)" ] || is_true "$(unit_value "$f" DynamicUser)" ||
                is_true "$(unit_value "$f" PrivateUsers)"; then
                TL_WHY="updated.service: must run as the real root (block devices, bootloader env are root's)"
                return 1
        fi
        rw=$(unit_list "$f" ReadWritePaths)
        for p in /var/lib/update1 -/boot -/sys/firmware/efi/efivars -/sys/devices -/run/lock; do
                grep -qx -- "$p" <<<"$rw" || { TL_WHY="updated.service: ReadWritePaths= lacks $p"; return 1; }
        done
        for p in block-mmc block-sd block-blkext block-virtblk char-mtd; do
                unit_values "$f" DeviceAllow | grep -q "^$p rw\$" ||
                        { TL_WHY="updated.service: no 'DeviceAllow=$p rw'"; return 1; }
        done
        return 0
}

tl_case updated-required-hardening t_updated_required
tl_case updated-keeps-what-it-needs t_updated_keeps_what_it_needs

# --- systemd-analyze ------------------------------------------------------------------------------

# Missing tools are a failure in CI (install-deps.sh check installs them) and a skip elsewhere.
missing() {
        if [ "${CI:-}" = true ]; then
                fail "$1" "$2 (CI=true: tests/lib/install-deps.sh check installs package systemd)"
        else
                skip "$1" "$2"
        fi
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
        missing "$TL_FILE-analyze" "systemd-analyze not installed"
        exit 0
fi
if ! systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
        missing "$TL_FILE-analyze" "systemd-analyze $(systemd-analyze --version | head -n 1) has no --offline (needs systemd >= 250)"
        exit 0
fi
systemd-analyze --version | head -n 1

WORK=$(mktemp -d /tmp/update1-unit-security.XXXXXX) || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
TL_ON_EXIT+=("rm -rf '$WORK'")

# t_exposure UNIT MAX: overall exposure (tenths: systemd-analyze's --threshold= takes 0..100)
# at most MAX.
t_exposure() {
        local unit=$1 max=$2 name level tenths
        name=$(basename "$unit")
        tenths=$(awk -v m="$max" 'BEGIN { printf "%d", m * 10 + 0.5 }')
        run systemd-analyze security --offline=true --threshold="$tenths" --no-pager "$unit"
        level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$TL_OUT")
        echo "  $name: exposure ${level:-?} (threshold $max)"
        if [ -z "$level" ]; then
                TL_WHY="no overall exposure level in: $(_tl_out_excerpt)"
                return 1
        fi
        if [ "$TL_RC" != 0 ]; then
                TL_WHY="$name: exposure $level is above $max; the failing checks:$(grep '^✗' <<<"$TL_OUT" |
                        sed 's/  \+/ /g' | cut -c1-110 | sed 's/^/\n    /' | tr -d '\n')"
                return 1
        fi
        return 0
}

# t_verify UNIT BINARY: a copy of UNIT with ExecStart= at the built BINARY (verify checks that the
# program exists), same file name (verify reads BusName=, Alias= against it).  Any warning
# about the unit itself fails (--recursive-errors=no: not those of units it merely names).
t_verify() {
        local unit=$1 bin=$UPDATE1_BUILD/$2 name dir
        name=$(basename "$unit")
        if [ ! -x "$bin" ]; then
                TL_WHY="$bin is not built (make all)"
                return 1
        fi
        dir=$WORK/verify-$name
        mkdir -p "$dir" || return 1
        sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" >"$dir/$name" || return 1
        run systemd-analyze verify --man=no --recursive-errors=no --no-pager "$dir/$name"
        if [ "$TL_RC" != 0 ] || [ -n "$TL_OUT" ]; then
                TL_WHY="systemd-analyze verify $name (rc $TL_RC): $(_tl_out_excerpt)"
                return 1
        fi
        return 0
}

tl_case exposure-updated t_exposure "$UNIT_UPDATED" "$MAX_UPDATED"
tl_case exposure-update-health t_exposure "$UNIT_HEALTH" "$MAX_HEALTH"
tl_case exposure-update-agent t_exposure "$UNIT_AGENT" "$MAX_AGENT"

tl_case verify-updated t_verify "$UNIT_UPDATED" updated
tl_case verify-update-health t_verify "$UNIT_HEALTH" update-health
tl_case verify-update-agent t_verify "$UNIT_AGENT" update-agent
