#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mark-good / mark-bad / mark-active on booted, other and <class>.<index>, checked in the real
# U-Boot env (fw_printenv), in GetSlotStatus and with the boot simulator.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

env_is() { # "ORDER" A_LEFT B_LEFT TRIAL
        local got
        got="$(sb_env_get BOOT_ORDER)|$(sb_env_get BOOT_A_LEFT)|$(sb_env_get BOOT_B_LEFT)|$(sb_env_get UPDATE1_TRIAL)"
        expect_eq "$got" "$1|$2|$3|$4" "env BOOT_ORDER|BOOT_A_LEFT|BOOT_B_LEFT|UPDATE1_TRIAL"
}

# Not on a trial boot: mark-good commits nothing, but re-arms the booted slot's counter that
# the boot script decremented (else a good slot would run out of attempts after 3 boots).
t_mark_good_not_trial() {
        local b
        b=$(sb_boot_sim) && [ "$b" = A ] || { TL_WHY="boot simulator picked '$b'"; return 1; }
        env_is "A B" 2 3 "" || return 1
        expect_ok updatectl mark-good || return 1
        env_is "A B" 3 3 "" || return 1
        expect_slot rootfs.0 '["boot_status"]' good
}

t_mark_bad_other() {
        expect_ok updatectl mark-bad other || return 1
        env_is "A" 3 0 "" || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_boots A
}

# B was never booted here: it becomes primary on trial (one boot), A stays the fallback.
t_mark_active_other() {
        expect_ok updatectl mark-active other || return 1
        expect_contains "$TL_OUT" "on trial" "message" || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" B "UPDATE1_TRIAL" || return 1
        [ "$(sb_env_get BOOT_ORDER | cut -d' ' -f1)" = B ] || { TL_WHY="B not first: $(sb_env_get BOOT_ORDER)"; return 1; }
        [ "$(sb_env_get BOOT_B_LEFT)" -gt 0 ] || { TL_WHY="BOOT_B_LEFT=$(sb_env_get BOOT_B_LEFT)"; return 1; }
        expect_primary B || return 1
        expect_eq "$(sb_get_property PrimarySlot)" B "PrimarySlot property" || return 1
        expect_boots B
}

# B is armed for a trial by the case before (never booted, so mark-active made it a trial):
# "good" before its own boot is refused; marked bad (trial cancelled) it can be marked good,
# and then sits behind A in the boot order.
t_mark_good_slot_name() {
        expect_error org.example.Update1.Error.TrialPending updatectl mark-good rootfs.1 || return 1
        expect_ok updatectl mark-bad rootfs.1 || return 1
        expect_ok updatectl mark-good rootfs.1 || return 1
        expect_slot rootfs.1 '["boot_status"]' good || return 1
        expect_eq "$(sb_env_get BOOT_B_LEFT)" 3 "BOOT_B_LEFT" || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" "UPDATE1_TRIAL" || return 1
        expect_boots A
}

t_mark_active_booted() {
        expect_ok updatectl mark-active booted || return 1
        expect_eq "$(sb_env_get BOOT_ORDER | cut -d' ' -f1)" A "first in BOOT_ORDER" || return 1
        expect_primary A || return 1
        expect_boots A
}

# B has never booted here (nothing proved it): marking the booted A bad would leave it the only
# system to boot, so the transition authority refuses (I1) and nothing changes.
t_mark_bad_booted() {
        tl_snapshot
        expect_error org.example.Update1.Error.NotBootable updatectl mark-bad booted || return 1
        expect_contains "$TL_OUT" "no committed slot would be left to boot" "reason" || return 1
        expect_contains "$TL_OUT" "rootfs.1" "names the slot left" || return 1
        expect_unchanged || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_boots A
}

# Mark(s state, s slot) → (s slot, s message) straight over the bus.
t_mark_dbus() {
        expect_ok busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" Mark ss bad other || return 1
        expect_contains "$TL_OUT" '"rootfs.1"' "Mark reply names the slot" || return 1
        expect_ok busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" Mark ss good rootfs.1 || return 1
        expect_contains "$TL_OUT" '"rootfs.1"' "Mark reply names the slot" || return 1
        expect_ok busctl --system call "$SB_NAME" "$SB_PATH" "$SB_IFACE" MarkGood || return 1
        env_is "A B" 3 3 ""
}

t_mark_invalid() {
        tl_snapshot
        expect_error org.freedesktop.DBus.Error.InvalidArgs bus-call Mark ss bogus other || return 1
        expect_error org.freedesktop.DBus.Error.InvalidArgs bus-call Mark ss good rootfs.9 || return 1
        expect_contains "$TL_OUT" rootfs.9 "error names the slot" || return 1
        run updatectl mark-bad nosuchslot
        [ "$TL_RC" != 0 ] || { TL_WHY="updatectl mark-bad nosuchslot succeeded"; return 1; }
        expect_unchanged
}

# The daemon keeps no state of its own about marks: a restart reads the same from the env.
t_marks_survive_restart() {
        expect_ok updatectl mark-bad other || return 1
        sb_stop_updated
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="restart: $(cat "$SB/start.err")"; return 1; }
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_ok updatectl mark-good other || return 1
        expect_slot rootfs.1 '["boot_status"]' good
}

tl_case mark-good-not-on-trial-rearms t_mark_good_not_trial
tl_case mark-bad-other t_mark_bad_other
tl_case mark-active-other t_mark_active_other
tl_case mark-good-by-slot-name t_mark_good_slot_name
tl_case mark-active-booted t_mark_active_booted
tl_case mark-bad-booted t_mark_bad_booted
tl_case mark-over-dbus t_mark_dbus
tl_case mark-invalid-arguments t_mark_invalid
tl_case marks-survive-restart t_marks_survive_restart
