#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Trial boots and fallbacks end to end: the real daemon on the sandbox bus, a new slot
# installed, then "reboots" through the boot simulators of the shipped bootloader scripts.
# A new slot that never gets MarkGood is tried once, the bootloader falls back, and the daemon
# started in the old slot reports it: the tried slot is status failed / boot_status bad, and
# GetSlotStatus carries last_boot {expected, booted, fell_back: true}.  A trial boot that is
# committed keeps last_boot {..., fell_back: false}.  A daemon restart between install and
# reboot is no fallback.  Schemes: U-Boot RAUC (tests/fakes/boot-sim.sh), GRUB
# (boot-sim-grub.sh) and U-Boot bootcount (boot-sim-bootcount.sh).  Every simulated reboot
# gives the daemon a new boot id (--boot-id), as a real reboot would; a restart within a boot
# keeps it.  (sb_reboot keeps the kernel's boot id, so the daemon would take each of its
# "reboots" for a restart within one boot and never report a fallback.)
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd grub-editenv fw_printenv fw_setenv mkenvimage
tl_setup A

I=$SB/img
mkdir -p "$I"
sb_make_random "$I/rand.img" 256K || exit 1
VERSION=1

# new_bundle: a bundle of the next version (the booted version is refused without --force).
new_bundle() {
        VERSION=$((VERSION + 1))
        BUNDLE=$I/v$VERSION.bundle
        sb_bundle "$BUNDLE" "$VERSION" "$I/rand.img" 2>"$SB/bundle.err" ||
                { TL_WHY="bundle: $(cat "$SB/bundle.err")"; return 1; }
}

install_next() {
        new_bundle || return 1
        expect_ok updatectl install "$BUNDLE"
}

# last_boot FIELD: from GetSlotStatus ("null" when there is no record).
lb() { tl_status_field "(d[\"last_boot\"] or {}).get(\"$1\") if d[\"last_boot\"] is not None else None"; }

# expect_last_boot EXPECTED BOOTED FELL_BACK
expect_last_boot() {
        local got ts
        got="$(lb expected)|$(lb booted)|$(lb fell_back)"
        expect_eq "$got" "$1|$2|$3" "last_boot expected|booted|fell_back" || return 1
        ts=$(lb timestamp)
        [[ $ts =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
                { TL_WHY="last_boot timestamp '$ts' is not RFC 3339"; return 1; }
}

# --- reboots -------------------------------------------------------------------------------

# A reboot through the scheme's simulator; the daemon gets the command line and a new boot id.
sim_reboot_to() { # BOOTNAME
        local b
        sb_stop_updated
        b=$(bash "$SIM" "$STORE_ARG" "$SB/cmdline" 2>"$SB/sim.err") || { TL_WHY="simulator: $(cat "$SB/sim.err")"; return 1; }
        if [ "$b" = none ]; then # the script re-armed and reset the board
                b=$(bash "$SIM" "$STORE_ARG" "$SB/cmdline" 2>"$SB/sim.err") ||
                        { TL_WHY="simulator: $(cat "$SB/sim.err")"; return 1; }
        fi
        BOOT_ID=$(cat /proc/sys/kernel/random/uuid)
        sb_run_updated --cmdline "$SB/cmdline" --boot-id "$BOOT_ID" 2>"$SB/start.err" ||
                { TL_WHY="start after reboot: $(cat "$SB/start.err")"; return 1; }
        expect_eq "$b" "$1" "slot the $SCHEME simulator booted"
}

# The daemon restarted within the same boot.
restart_same_boot() {
        sb_stop_updated
        sb_run_updated --cmdline "$SB/cmdline" --boot-id "$BOOT_ID" 2>"$SB/start.err" ||
                { TL_WHY="restart: $(cat "$SB/start.err")"; return 1; }
}

# What the bootloader would boot next, on a copy of its storage.
sim_peek() {
        local d b
        d=$(mktemp -d "$SB/peek.XXXXXX") || return 1
        cp "$STORE" "$d/store"
        if [ "$SCHEME" = grub ]; then
                b=$(bash "$SIM" "$d/store")
                [ "$b" = none ] && b=$(bash "$SIM" "$d/store")
        else
                sed "s|$STORE|$d/store|g" "$STORE_ARG" >"$d/fw_env.config"
                b=$(bash "$SIM" "$d/fw_env.config")
                [ "$b" = none ] && b=$(bash "$SIM" "$d/fw_env.config")
        fi
        rm -rf "$d"
        echo "$b"
}

# --- U-Boot, RAUC scheme (the sandbox default) ----------------------------------------------

use_rauc() {
        SCHEME=rauc SIM=$UPDATE1_TOP/tests/fakes/boot-sim.sh STORE=$SB_ENV STORE_ARG=$SB_FW_CONFIG
        echo "update1.slot=A" >"$SB/cmdline"
        BOOT_ID=$(cat /proc/sys/kernel/random/uuid)
        restart_same_boot
}
use_rauc || { fail "$TL_FILE-setup" "$TL_WHY"; exit 1; }

reboot_to() { sim_reboot_to "$@"; }

t_rauc_no_record_yet() {
        expect_eq "$(tl_status_field 'd["last_boot"]')" null "last_boot before any trial"
}

t_rauc_trial_boot() {
        install_next || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        reboot_to B || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        expect_last_boot rootfs.1 rootfs.1 false
}

# No MarkGood: the next boot falls back to A, and the daemon says so.
t_rauc_fallback() {
        reboot_to A || return 1
        expect_booted A || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_last_boot rootfs.1 rootfs.0 true || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" "UPDATE1_TRIAL after the fallback" || return 1
        expect_eq "$(sb_env_get BOOT_ORDER)" "A" "BOOT_ORDER after the fallback" || return 1
        expect_eq "$(sim_peek)" A "next boot" || return 1
        expect_eq "$(grep -c 'Fallback: slot rootfs.1' "$SB/updated.log")" 1 "fallback logged once"
}

t_rauc_status_human() {
        expect_ok updatectl status || return 1
        expect_contains "$TL_OUT" "Last boot:  fell back from rootfs.1 to rootfs.0 at 20" "updatectl status"
}

# Restarting the daemon (same boot) does not report or change anything again.
t_rauc_fallback_persists() {
        local before
        before=$(lb timestamp)
        restart_same_boot || return 1
        expect_last_boot rootfs.1 rootfs.0 true || return 1
        expect_eq "$(lb timestamp)" "$before" "last_boot timestamp after a restart" || return 1
        expect_eq "$(grep -c 'Fallback: slot rootfs.1' "$SB/updated.log")" 1 "fallbacks logged" || return 1
        expect_slot rootfs.1 '["status"]' failed
}

# After a fallback a fresh install goes into the failed slot and works.
t_rauc_install_after_fallback() {
        install_next || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' "$VERSION" || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        expect_eq "$(sim_peek)" B "next boot" || return 1
        # still the fallback record until the next trial boot
        expect_last_boot rootfs.1 rootfs.0 true
}

# The trial boot is committed: last_boot stays fell_back false through MarkGood and reboots.
t_rauc_trial_mark_good() {
        reboot_to B || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        expect_ok updatectl mark-good || return 1
        expect_slot rootfs.1 '["boot_status"]' good || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        reboot_to B || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        expect_slot rootfs.1 '["status"]' ok
}

# Installed but not rebooted yet: a daemon restart is not a fallback.
t_rauc_restart_before_reboot() {
        local before
        install_next || return 1                    # into A, from B
        expect_slot rootfs.0 '["boot_status"]' trial || return 1
        before="$(lb expected)|$(lb booted)|$(lb fell_back)|$(lb timestamp)"
        restart_same_boot || return 1
        expect_slot rootfs.0 '["status"]' ok || return 1
        expect_slot rootfs.0 '["boot_status"]' trial || return 1
        expect_eq "$(lb expected)|$(lb booted)|$(lb fell_back)|$(lb timestamp)" "$before" "last_boot" || return 1
        expect_eq "$(sim_peek)" A "next boot" || return 1
        # and the trial then happens as planned
        reboot_to A || return 1
        expect_last_boot rootfs.0 rootfs.0 false || return 1
        expect_ok updatectl mark-good
}

# The red path of update-health: the trial boot marks itself bad, then reboots.
t_rauc_trial_marked_bad() {
        install_next || return 1                    # into B, from A
        reboot_to B || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        expect_ok updatectl mark-bad booted || return 1
        expect_contains "$TL_OUT" "its trial boot failed" "mark-bad message" || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        # a restart before the reboot reports nothing yet
        restart_same_boot || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        reboot_to A || return 1
        expect_last_boot rootfs.1 rootfs.0 true || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_ok updatectl status || return 1
        expect_contains "$TL_OUT" "fell back from rootfs.1 to rootfs.0" "updatectl status" || return 1
        expect_ok updatectl mark-good
}

# --- other schemes: their own storage, simulator and a fresh boot id per reboot --------------

# use_scheme grub|bootcount: fresh storage with A good and primary, a config for it, a new
# data directory, the daemon restarted booted in A.
use_scheme() {
        SCHEME=$1
        sb_stop_updated
        SB_DATA=$SB/data-$SCHEME
        rm -rf "$SB_DATA"
        case $SCHEME in
        grub)
                STORE=$SB/grubenv
                rm -f "$STORE"
                grub-editenv "$STORE" create &&
                grub-editenv "$STORE" set "ORDER=A B" A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 || return 1
                SIM=$UPDATE1_TOP/tests/fakes/boot-sim-grub.sh
                STORE_ARG=$STORE
                sb_write_config "$SB/system-grub.conf" "[grub]" "env=$STORE"
                sed -i 's/^bootloader=uboot$/bootloader=grub/; /^\[uboot\]$/d; /^fw-env-config=/d; /^lock-file=/d' "$SB/system-grub.conf"
                SB_CONFIG=$SB/system-grub.conf
                ;;
        bootcount)
                local d=$SB/bc
                mkdir -p "$d"
                printf 'update1_slot=A\nupdate1_altslot=B\nupgrade_available=0\nbootcount=0\nbootlimit=1\n' >"$d/env.txt"
                mkenvimage -r -s 0x4000 -o "$d/copy.bin" "$d/env.txt" || return 1
                cat "$d/copy.bin" "$d/copy.bin" >"$d/uboot.env"
                printf '%s 0x0000 0x4000 0x4000 1\n%s 0x4000 0x4000 0x4000 1\n' "$d/uboot.env" "$d/uboot.env" >"$d/fw_env.config"
                STORE=$d/uboot.env
                STORE_ARG=$d/fw_env.config
                SIM=$UPDATE1_TOP/tests/fakes/boot-sim-bootcount.sh
                SB_FW_CONFIG=$d/fw_env.config sb_write_config "$SB/system-bootcount.conf"
                sed -i 's/^\[uboot\]$/[uboot]\nscheme=bootcount/' "$SB/system-bootcount.conf"
                SB_CONFIG=$SB/system-bootcount.conf
                ;;
        esac
        echo "update1.slot=A" >"$SB/cmdline"
        BOOT_ID=$(cat /proc/sys/kernel/random/uuid)
        sb_run_updated --cmdline "$SB/cmdline" --boot-id "$BOOT_ID" 2>"$SB/start.err" ||
                { echo "start ($SCHEME): $(cat "$SB/start.err")" >&2; return 1; }
}

scheme_fallback() { # scheme
        use_scheme "$1" 2>"$SB/scheme.err" || { TL_WHY="setup: $(cat "$SB/scheme.err")"; return 1; }
        expect_booted A || return 1
        expect_eq "$(tl_status_field 'd["last_boot"]')" null "last_boot on a fresh device" || return 1
        install_next || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        # a restart in the same boot changes nothing
        restart_same_boot || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_eq "$(tl_status_field 'd["last_boot"]')" null "last_boot after a restart before the reboot" || return 1
        sim_reboot_to B || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        # no MarkGood
        sim_reboot_to A || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_last_boot rootfs.1 rootfs.0 true || return 1
        expect_ok updatectl status || return 1
        expect_contains "$TL_OUT" "fell back from rootfs.1 to rootfs.0" "updatectl status" || return 1
        # the healthy boot re-arms A (what update-health does), and A stays
        expect_ok updatectl mark-good || return 1
        expect_eq "$(sim_peek)" A "next boot after the fallback" || return 1
        # a fresh install works and is tried
        install_next || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        sim_reboot_to B || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        expect_ok updatectl mark-good || return 1
        expect_last_boot rootfs.1 rootfs.1 false || return 1
        sim_reboot_to B
}

t_grub_fallback() { scheme_fallback grub; }
t_bootcount_fallback() { scheme_fallback bootcount; }

tl_case rauc-no-last-boot-yet t_rauc_no_record_yet
tl_case rauc-trial-boot t_rauc_trial_boot
tl_case rauc-fallback-reported t_rauc_fallback
tl_case rauc-status-shows-fallback t_rauc_status_human
tl_case rauc-fallback-persists-over-restart t_rauc_fallback_persists
tl_case rauc-install-after-fallback t_rauc_install_after_fallback
tl_case rauc-trial-mark-good t_rauc_trial_mark_good
tl_case rauc-restart-before-reboot-is-no-fallback t_rauc_restart_before_reboot
tl_case rauc-trial-marked-bad-then-reboot t_rauc_trial_marked_bad
tl_case grub-fallback t_grub_fallback
tl_case bootcount-fallback t_bootcount_fallback
