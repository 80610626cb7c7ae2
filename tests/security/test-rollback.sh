#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Anti-rollback (A23 of shared/reference/security-tests.md; issue "Security"): the daemon's
# floors (daemon/rollback.c: two copies of rollback-floor.N in the data directory) and the
# policy on them (daemon/antirollback.c).  Real daemon, real bus with our policy, real
# bundles signed at test time, the U-Boot boot simulator for reboots.  Each case starts from a
# fresh device (A booted, nothing committed): the floors are the state under test.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
SEC_NO_DAEMON=1 sec_setup A
sb_start_bus 2>"$SB/bus.err" || { fail "$TL_FILE-setup" "bus: $(cat "$SB/bus.err")"; exit 1; }

I=$SB/img
mkdir -p "$I"
sb_make_random "$I/rand.img" 256K || exit 1
FLOOR0=$SB_DATA/rollback-floor.0
FLOOR1=$SB_DATA/rollback-floor.1

mkb() { # NAME VERSION SECURITY-VERSION [bundle create options]
        local n=$1 v=$2 s=$3
        shift 3
        sb_bundle "$I/$n.bundle" "$v" "$I/rand.img" "$SB_COMPATIBLE" signer --security-version "$s" "$@" ||
                { TL_WHY="bundle $n"; return 1; }
}
mkb v5-s5 5 5 && mkb v6-s1 6 1 && mkb v4-s5 4 5 && mkb v7-s5 7 5 && mkb v8-s6 8 6 || exit 1

# A fresh device: the env, both slots, no status, no floor; A booted.
fresh() {
        sb_stop_updated
        rm -rf "$SB_DATA" && mkdir -p "$SB_DATA"
        sb_make_env "$SB" >/dev/null 2>&1 && : >"$SB/cmdline" || { TL_WHY="env"; return 1; }
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="start: $(tail -n 3 "$SB/start.err")"; return 1; }
}
restart() { # the same boot as before: the simulator's command line after a reboot, else A
        local how=(--boot-slot A)
        [ -s "$SB/cmdline" ] && how=(--cmdline "$SB/cmdline")
        sb_stop_updated
        sb_run_updated "${how[@]}" 2>"$SB/start.err" ||
                { TL_WHY="restart: $(tail -n 3 "$SB/start.err")"; return 1; }
}
floor() { tl_status_field 'd["rollback_floor"]["security_version"]'; }
floor_time() { tl_status_field 'd["rollback_floor"]["time"]'; }
# install NAME, reboot into it, mark it good: it is committed.
commit() {
        expect_ok updatectl install "$I/$1.bundle" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "booted after install of $1" || return 1
        expect_ok updatectl mark-good
}
# A copy of the floor file as the daemon writes it (sha256 over the body).
write_floor() { # PATH SECURITY-VERSION TIME
        local body
        body=$(printf 'update1-rollback-floor 1\nsecurity-version %s\ntime %s\n' "$2" "$3")
        printf '%s\nsha256 %s\n' "$body" "$(printf '%s\n' "$body" | sha256sum | cut -c1-64)" >"$1"
}

# The floor rises only when the new slot is marked good in its own boot; below it nothing
# installs, with or without force.
t_floor_after_mark_good() {
        fresh || return 1
        expect_eq "$(floor)" 0 "floor of a fresh device" || return 1
        [ ! -e "$FLOOR0" ] && [ ! -e "$FLOOR1" ] || { TL_WHY="floor files before any commit"; return 1; }
        expect_ok updatectl install "$I/v5-s5.bundle" || return 1
        expect_eq "$(floor)" 0 "floor after install, before the trial boot" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$(floor)" 0 "floor in the trial boot, before mark-good" || return 1
        expect_ok updatectl mark-good || return 1
        expect_eq "$(floor)" 5 "floor after mark-good" || return 1
        expect_ok updatectl status || return 1
        expect_contains "$TL_OUT" "Floor:      security-version 5, trusted time 20" "updatectl status" || return 1
        grep -qx 'security-version 5' "$FLOOR0" && grep -qx 'security-version 5' "$FLOOR1" ||
                { TL_WHY="floor copies: $(cat "$FLOOR0" "$FLOOR1" 2>&1 | tr '\n' ' ')"; return 1; }
        SEC_TOP="top rootfs.1 rootfs.1 idle" sec_snapshot || return 1
        expect_error "$E.Downgrade" updatectl install "$I/v6-s1.bundle" || return 1
        expect_contains "$TL_OUT" "security-version 1 is below this device's anti-rollback floor 5" "reason" || return 1
        expect_error "$E.Downgrade" updatectl install --force "$I/v6-s1.bundle" || return 1
        sec_expect_unchanged
}

# A trial that fails (marked bad, fallback) does not raise the floor.
t_failed_trial_keeps_floor() {
        fresh || return 1
        expect_ok updatectl install "$I/v5-s5.bundle" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_ok updatectl mark-bad || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "fell back to" || return 1
        expect_eq "$(floor)" 0 "floor after a failed trial" || return 1
        # the failed slot cannot be marked good from A (I2), and the floor stays
        expect_error "$E.NotBootable" updatectl mark-good other || return 1
        expect_eq "$(floor)" 0 "floor after marking a slot good outside its own boot"
}

# Mark active of a slot whose bundle is below the floor is refused; the env is unchanged.
t_mark_active_below_floor() {
        fresh && commit v5-s5 || return 1
        SEC_TOP="top rootfs.1 rootfs.1 idle" sec_snapshot || return 1
        expect_error "$E.Downgrade" updatectl mark-active other || return 1
        expect_contains "$TL_OUT" "rootfs.0" "names the slot" || return 1
        sec_expect_unchanged || return 1
        # a slot at the floor may be activated
        expect_ok updatectl install "$I/v7-s5.bundle" || return 1
        expect_ok updatectl mark-active booted
}

# Plain version downgrade (same security-version): refused without force, allowed with it.
t_version_downgrade_needs_force() {
        fresh && commit v5-s5 || return 1
        SEC_TOP="top rootfs.1 rootfs.1 idle" sec_snapshot || return 1
        expect_error "$E.Downgrade" updatectl install "$I/v4-s5.bundle" || return 1
        expect_contains "$TL_OUT" "version '4' is older than version '5'" "reason" || return 1
        expect_contains "$TL_OUT" "use force" "hint" || return 1
        sec_expect_unchanged || return 1
        expect_ok updatectl install --force "$I/v4-s5.bundle" || return 1
        expect_slot rootfs.0 '["bundle"]["version"]' 4 || return 1
        expect_ok updatectl install "$I/v8-s6.bundle"
}

# One damaged copy: the other counts, and both are rewritten at start-up.
t_one_copy_damaged() {
        fresh && commit v5-s5 || return 1
        printf 'garbage' >"$FLOOR0"
        restart || return 1
        expect_eq "$(floor)" 5 "floor with copy 0 damaged" || return 1
        grep -qx 'security-version 5' "$FLOOR0" || { TL_WHY="copy 0 not repaired: $(head -c 200 "$FLOOR0")"; return 1; }
        # copy 1's body raised without a matching sha256: not trusted, copy 0 counts
        sed -i 's/security-version 5/security-version 9/' "$FLOOR1"
        restart || return 1
        expect_eq "$(floor)" 5 "floor with copy 1's body tampered (sha256 mismatch)" || return 1
        expect_error "$E.Downgrade" updatectl install "$I/v6-s1.bundle"
}

# Both copies damaged: the booted, committed slot's security-version is the floor.
t_both_copies_damaged() {
        fresh && commit v5-s5 || return 1
        printf 'x' >"$FLOOR0" && printf 'y' >"$FLOOR1"
        restart || return 1
        expect_eq "$(floor)" 5 "floor with both copies damaged" || return 1
        grep -q 'both copies of the anti-rollback floor are damaged' -i "$SB/updated.log" ||
                { TL_WHY="not reported in the daemon log"; return 1; }
        expect_error "$E.Downgrade" updatectl install "$I/v6-s1.bundle"
}

# A power cut between Mark good (bootloader) and the floor write: the commit record (written
# before the bootloader) is still in the status file, so the next start finishes the commit.
# Without the record, a slot the bootloader calls good is no proof (I4): the floor stays.
t_commit_repeated_at_start() {
        fresh && commit v5-s5 || return 1
        rm -f "$FLOOR0" "$FLOOR1"
        restart || return 1
        expect_eq "$(floor)" 0 "floor without a commit record" || return 1
        sb_stop_updated
        python3 - "$SB_DATA/status.json" <<'PY' || { TL_WHY="cannot write the commit record"; return 1; }
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["trial"] = {"slot": "rootfs.1", "boot-id": "", "timestamp": 1, "committing": True}
json.dump(d, open(p, "w"))
PY
        rm -f "$FLOOR0" "$FLOOR1"
        restart || return 1
        expect_eq "$(floor)" 5 "floor after a start with the committed slot booted" || return 1
        [ -e "$FLOOR0" ] && [ -e "$FLOOR1" ] || { TL_WHY="floor files not written"; return 1; }
}

# Floor files: owner root, 0644, no temp files; a stale temp file is removed at start-up.
t_floor_files() {
        fresh && commit v5-s5 || return 1
        expect_eq "$(stat -c '%a %U:%G' "$FLOOR0" "$FLOOR1" | sort -u)" "644 root:root" "modes" || return 1
        : >"$FLOOR0.tmp"
        restart || return 1
        [ ! -e "$FLOOR0.tmp" ] || { TL_WHY="stale temp file left"; return 1; }
}

# The time floor: raised to the newest trusted time of an installed bundle (the signature's
# signingTime); certificates are checked at max(clock, floor), so a floor past the signer's
# expiry refuses its bundles even though the clock says they are valid.
t_time_floor() {
        local before t
        fresh || return 1
        before=$(date +%s)
        expect_eq "$(floor_time)" 0 "time floor of a fresh device" || return 1
        # the bundle was signed before this case began; its signingTime is the floor now
        mkb fresh-sign 9 0 || return 1
        expect_ok updatectl install "$I/fresh-sign.bundle" || return 1
        t=$(floor_time)
        [ "$t" -ge $((before - 5)) ] && [ "$t" -le $(($(date +%s) + 5)) ] ||
                { TL_WHY="time floor $t, expected about $before"; return 1; }
        # signer certs are valid for 10 years: a floor 11 years ahead expires them
        write_floor "$FLOOR0" 0 $((before + 11 * 366 * 86400)) && cp "$FLOOR0" "$FLOOR1"
        restart || return 1
        expect_error "$E.SignatureInvalid" updatectl install --force "$I/v5-s5.bundle" || return 1
        expect_contains "$TL_OUT" "certificate has expired" "reason"
}

# A signed "expires" in the past is refused; in the future it installs.
t_expires() {
        fresh || return 1
        mkb expired 5 0 --expires 2020-01-01 && mkb not-expired 5 0 --expires "@$(($(date +%s) + 86400))" || return 1
        expect_ok updatectl bundle info --keyring "$SB/pki/ca.crt" "$I/expired.bundle" || return 1
        expect_contains "$TL_OUT" "2020-01-01T00:00:00Z" "bundle info shows the expiry" || return 1
        sec_refused InvalidBundle updatectl install "$I/expired.bundle" || return 1
        expect_contains "$SEC_LAST_OUT" "Bundle expired: installable until 2020-01-01T00:00:00Z" "reason" || return 1
        expect_ok updatectl install "$I/not-expired.bundle"
}

sec_case floor-raised-only-by-mark-good t_floor_after_mark_good
sec_case failed-trial-keeps-floor t_failed_trial_keeps_floor
sec_case mark-active-below-floor t_mark_active_below_floor
sec_case version-downgrade-needs-force t_version_downgrade_needs_force
sec_case floor-one-copy-damaged t_one_copy_damaged
sec_case floor-both-copies-damaged t_both_copies_damaged
sec_case floor-commit-repeated-at-start t_commit_repeated_at_start
sec_case floor-file-modes t_floor_files
sec_case time-floor t_time_floor
sec_case manifest-expires t_expires
