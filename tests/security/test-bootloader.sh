#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: hostile boot state (A25, A27, F8, F9 of shared/reference/security-tests.md).
#   Part 1, U-Boot: redundant env images with bad CRCs, no terminator, values that do not
#   parse or do not fit, no BOOT_ORDER, no room left (written by lib/envimg.py).  The daemon
#   must report a clear error, refuse to switch (env, slots and status file unchanged) and
#   never present the slots as "all bad" without saying that it could not read the boot
#   state.  Two of them are libubootenv 0.3.2 bugs the daemon guards against
#   (daemon/bootloader/bootloader-uboot.c, docs/fuzzing.md): a CRC-valid copy without terminator (the
#   library would read past it) and variables that fill the env exactly (the library would
#   store the terminator past the copy).
#   Part 2, [custom] backend: a tool that prints huge, binary, NUL-embedded, multi-line or
#   empty output, exits 255 or dies by a signal (lib/hostile-backend.sh).  The daemon stays
#   up, reports the tool's failure (bounded), does not guess slot states, and an install
#   whose bootloader step fails changes nothing.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
sec_setup A

I=$SB/img
mkdir -p "$I"
sb_make_random "$I/rand.img" 256K && sb_bundle "$I/good.bundle" 2 "$I/rand.img" || exit 1
cp "$SB_ENV" "$SB/env.orig"
ENVIMG=("$SB_PY" "$SEC_LIB/envimg.py" "$SB_ENV")
USUAL='b"BOOT_ORDER=A B\0BOOT_A_LEFT=3\0BOOT_B_LEFT=3\0'

restore_env() { cp "$SB/env.orig" "$SB_ENV"; }

# The slot table is honest about an unreadable boot state: "bootloader_error" is set (when
# asked for: the boot state cannot be read), the error text is bounded, and it never shows
# every slot "bad" unless it also says why.
expect_honest_table() { # [expect-error: 1 = bootloader_error must be set]
        local why
        why=$(bus-call GetSlotStatus "" 2>&1 | NEED=${1:-0} "$SB_PY" -c '
import json, os, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    print("GetSlotStatus unparsable: %s" % e); sys.exit()
err = d.get("bootloader_error") or ""
states = [s["boot_status"] for s in d["slots"]]
if len(err) > 2048:
    print("bootloader_error is %d bytes long (tool output not bounded)" % len(err))
elif os.environ["NEED"] == "1" and not err:
    print("no bootloader_error although the boot state cannot be read; slots %s, primary %s" % (states, d["primary"]))
elif all(s == "bad" for s in states) and not err:
    print("every slot reported bad without a bootloader_error: %s, primary %s" % (states, d["primary"]))')
        [ -z "$why" ] && return 0
        TL_WHY=$why
        return 1
}

# env_refused: with the hostile env in place, the table is honest, and Install and Mark are
# refused with a named error without touching env, slots or status file.
env_refused() { # ERRORS
        local want=$1
        expect_honest_table 1 || return 1
        SEC_TOP='' sec_refused "$want" updatectl install "$I/good.bundle" || return 1
        SEC_TOP='' sec_refused "$want|$INVALID_ARGS" updatectl mark-active other || return 1
        SEC_TOP='' sec_refused "$want|$INVALID_ARGS" updatectl mark-good
}

t_env_both_bad_crc() {
        "${ENVIMG[@]}" crc=bad crc=bad || return 1
        env_refused Io
        local rc=$?
        restore_env
        return $rc
}

# One copy corrupt: the other one is used, everything reads normally (F8).
t_env_one_bad_crc() {
        "${ENVIMG[@]}" crc=bad "" || return 1
        expect_honest_table 0 &&
                expect_eq "$(bus-call GetSlotStatus "" | sb_json '[d["primary"], slot("rootfs.0")["boot_status"], slot("rootfs.1")["boot_status"]]')" \
                        '["rootfs.0", "good", "good"]' "primary and boot states from the good copy"
        local rc=$?
        restore_env
        return $rc
}

# env_refused_saying ERRORS TEXT...: env_refused, and the reason (every TEXT) is in both the
# slot table's bootloader_error and the install's error.
env_refused_saying() {
        local want=$1 table t
        shift
        table=$(bus-call GetSlotStatus "" 2>&1 | sb_json 'd.get("bootloader_error") or ""' 2>&1)
        for t in "$@"; do
                expect_contains "$table" "$t" "bootloader_error of GetSlotStatus" || return 1
        done
        expect_honest_table 1 || return 1
        SEC_TOP='' sec_refused "$want" updatectl install "$I/good.bundle" || return 1
        for t in "$@"; do
                expect_contains "$SEC_LAST_OUT" "$t" "install's error" || return 1
        done
        SEC_TOP='' sec_refused "$want|$INVALID_ARGS" updatectl mark-active other || return 1
        SEC_TOP='' sec_refused "$want|$INVALID_ARGS" updatectl mark-good
}

# Valid CRCs, no "\0\0" after the variables: libubootenv 0.3.2 would read past the copy.
# The daemon reads both copies itself first and refuses, naming the env and the copy.
t_env_no_terminator() {
        "${ENVIMG[@]}" "vars=$USUAL\",fill=0x78" "vars=$USUAL\",fill=0x78" || return 1
        env_refused_saying Io "U-Boot environment $SB_ENV copy 1 " "has a valid CRC but no terminator"
        local rc=$?
        restore_env
        return $rc
}

# Only the newer copy is unterminated, its last variable ending on the copy's last byte (what
# libubootenv 0.3.2's exact-fit store leaves behind).  The older copy is fine, but the whole
# env is refused: U-Boot would import the newer copy, so reading the older one could show a
# boot state the bootloader does not use.
t_env_one_copy_no_terminator() {
        local v="${USUAL}JUNK=\" + b\"j\" * 16330 + b\"\\0\""
        "${ENVIMG[@]}" "" "vars=$v,flags=2" || return 1
        env_refused_saying Io "U-Boot environment $SB_ENV copy 2 " "has a valid CRC but no terminator"
        local rc=$?
        restore_env
        return $rc
}

# The booted slot's counter does not parse (too large for any integer, or not a number):
# the daemon reports A's boot state as unreadable, so it must not switch either (nor
# "repair" the counter: U-Boot's script would not boot A with this value).
t_env_oversized_counter() {
        local v
        for v in 'b"BOOT_ORDER=A B\0BOOT_A_LEFT=99999999999999999999999\0BOOT_B_LEFT=3\0\0"' \
                'b"BOOT_ORDER=A B\0BOOT_A_LEFT=three\0BOOT_B_LEFT=3\0\0"'; do
                "${ENVIMG[@]}" "vars=$v" "vars=$v" || return 1
                env_refused "Io|Failed" || { TL_WHY="${v:2:40}: $TL_WHY"; restore_env; return 1; }
        done
        restore_env
}

t_env_boot_order_huge() {
        local v="b\"BOOT_ORDER=A B \" + b\"C \" * 5000 + b\"\\0BOOT_A_LEFT=3\\0BOOT_B_LEFT=3\\0\\0\""
        "${ENVIMG[@]}" "vars=$v" "vars=$v" || return 1
        env_refused "Io|Failed"
        local rc=$?
        restore_env
        return $rc
}

# A value that fills the env: marking B bad still fits, making it primary (UPDATE1_TRIAL is
# a new variable) does not.  The install fails before the switch; A stays primary.
t_env_no_room_to_switch() {
        local v="${USUAL}JUNK=\" + b\"j\" * 16325 + b\"\\0\\0\""
        "${ENVIMG[@]}" "vars=$v" "vars=$v" || return 1
        sec_aborted "Io" updatectl install "$I/good.bundle" &&
                expect_contains "$SEC_LAST_OUT" "U-Boot environment full: " "install's error"
        local rc=$?
        restore_env
        return $rc
}

# The env is full to the byte for the install's first step: marking B bad adds BOOT_B_LEFT=0
# (14 bytes) and drops " B" from BOOT_ORDER, which makes the variables take the whole data
# area (16379 bytes) with no room for the terminator.  libubootenv 0.3.2 stores exactly that,
# with the terminator past the copy (unreadable afterwards); the daemon refuses before the
# store: Install fails before anything is written, mark-active (BOOT_B_LEFT=3, 14 bytes) too,
# env bytes unchanged.
t_env_full() {
        local v='b"BOOT_ORDER=A B\0BOOT_A_LEFT=3\0JUNK=" + b"j" * 16332 + b"\0\0"'
        "${ENVIMG[@]}" "vars=$v" "vars=$v" || return 1
        expect_honest_table 0 &&
                sec_refused Io updatectl install "$I/good.bundle" &&
                expect_contains "$SEC_LAST_OUT" "U-Boot environment full: 16380 bytes of variables do not fit in 16379 bytes" "install's error" &&
                # B failed in an earlier case: the transition authority refuses before any
                # env write (I2); either way nothing changes
                sec_refused "Io|NotBootable" updatectl mark-active other
        local rc=$?
        restore_env
        return $rc
}

# A valid env without BOOT_ORDER (entries without "="): no slot is bootable by the script.
# Reporting both slots bad is then accurate, but only together with the reason.  An install
# is refused by the transition authority: no committed slot is in the boot chain (I1).
t_env_without_boot_order() {
        local v='b"BOOT_ORDER\0BOOT_A_LEFT\0=3\0\0"'
        "${ENVIMG[@]}" "vars=$v" "vars=$v" || return 1
        expect_honest_table 1 || { restore_env; return 1; }
        SEC_TOP='' sec_refused "Io|Failed|NotBootable" updatectl install "$I/good.bundle"
        local rc=$?
        restore_env
        return $rc
}

# After all that, with the env restored, the device works.
t_env_good_after() {
        restore_env
        expect_honest_table 0 || return 1
        expect_ok updatectl install "$I/good.bundle" || return 1
        sec_expect_boots B || return 1
        expect_ok updatectl mark-bad other && sec_expect_boots A
}

# --- part 2: the custom backend ------------------------------------------------------------
CUSTOM_STATE=$SB/custom-state
start_custom() {
        sb_stop_updated
        cp "$SEC_LIB/hostile-backend.sh" "$SB/bin/hostile-backend.sh" && chmod 0755 "$SB/bin/hostile-backend.sh"
        sed -i 's/^bootloader=uboot$/bootloader=custom/' "$SB_CONFIG"
        printf '\n[custom]\npath=%s\n' "$SB/bin/hostile-backend.sh" >>"$SB_CONFIG"
        export HOSTILE_MODE_FILE=$SB/hostile-mode HOSTILE_REAL_BACKEND=$UPDATE1_TOP/tests/fakes/custom-backend.sh
        export UPDATE1_CUSTOM_STATE=$CUSTOM_STATE
        custom_reset
        sb_start_updated A
}

# The custom contract's own state instead of the U-Boot env in the snapshot.
custom_reset() { : >"$HOSTILE_MODE_FILE"; printf 'primary=A\ncurrent=A\n' >"$CUSTOM_STATE"; }

# hostile_query MODE: the query verbs misbehave.  The daemon answers GetSlotStatus within
# the tool timeout, reports the failure (bounded) and does not guess any slot's state.
t_hostile_query() {
        local t0=$SECONDS
        echo "$1" >"$HOSTILE_MODE_FILE"
        expect_honest_table 1
        local rc=$?
        [ $((SECONDS - t0)) -lt 20 ] || { TL_WHY="GetSlotStatus took $((SECONDS - t0)) s"; rc=1; }
        sec_expect_alive || rc=1
        custom_reset
        return $rc
}

# hostile_mutation MODE: the set-* verbs fail (exit status, signal): the install fails at
# its first bootloader step, before the slot is written: nothing changes.
t_hostile_mutation() {
        local before after
        custom_reset
        echo "$1" >"$HOSTILE_MODE_FILE"
        before=$(sec_state; sha256sum <"$CUSTOM_STATE")
        expect_error "$E.Failed" updatectl install "$I/good.bundle"
        local rc=$?
        after=$(sec_state; sha256sum <"$CUSTOM_STATE")
        # The table may differ (the queries fail in these modes too); files and slots may not.
        if [ $rc = 0 ] && [ "$(grep -v '^table \|^top ' <<<"$before")" != "$(grep -v '^table \|^top ' <<<"$after")" ]; then
                TL_WHY="changed: $(diff <(echo "$before") <(echo "$after") | grep '^>' | cut -c3-80 | xargs)"
                rc=1
        fi
        if [ $rc = 0 ] && [ "${#TL_OUT}" -gt 4096 ]; then
                TL_WHY="error output of ${#TL_OUT} bytes: the tool's stderr is not bounded"
                rc=1
        fi
        sec_expect_alive || rc=1
        custom_reset
        return $rc
}

# Control: with the backend behaving, an install works and is switched by the backend.
t_custom_control() {
        custom_reset
        expect_honest_table 0 || return 1
        expect_ok updatectl install "$I/good.bundle" || return 1
        expect_eq "$(sed -n 's/^primary=//p' "$CUSTOM_STATE")" B "backend primary after install" || return 1
        custom_reset
}

sec_case env-both-copies-bad-crc t_env_both_bad_crc
sec_case env-one-copy-bad-crc t_env_one_bad_crc
sec_case env-no-terminator t_env_no_terminator
sec_case env-one-copy-no-terminator t_env_one_copy_no_terminator
sec_case env-unparsable-counter-of-booted-slot t_env_oversized_counter
sec_case env-boot-order-5000-entries t_env_boot_order_huge
sec_case env-no-room-to-switch t_env_no_room_to_switch
sec_case env-full-to-the-byte t_env_full
sec_case env-without-boot-order t_env_without_boot_order
sec_case env-restored-device-works t_env_good_after

if ! start_custom 2>"$SB/custom.err"; then
        fail "$TL_FILE-custom-setup" "daemon with the custom backend did not start: $(tail -n 3 "$SB/custom.err" | tr '\n' ' ')"
        exit 1
fi
sec_case custom-control t_custom_control
for m in huge long binary nul multiline empty unknown exit255 signal; do
        sec_case "custom-query-$m" t_hostile_query "$m"
done
for m in set-fails exit255 signal; do
        sec_case "custom-mutation-$m" t_hostile_mutation "$m"
done
