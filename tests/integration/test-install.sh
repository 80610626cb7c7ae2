#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole A/B cycle on the real bus, daemon, CLI and keys:
#   booted A → install v2 from a file → U-Boot picks B → reboot into B → mark-good →
#   install v3 from a pipe (into A) → reboot into A → mark-good.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

mkdir -p "$SB/img"
sb_make_ext4 "$SB/img/v2.ext4" 8M 2 && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/v2.ext4" || exit 1
sb_make_ext4 "$SB/img/v3.ext4" 8M 3 && sb_bundle "$SB/img/v3.bundle" 3 "$SB/img/v3.ext4" || exit 1
A_SHA=$(sha256sum <"$SB_SLOT_A" | cut -c1-64)
# Old content in slot B: every byte of the image must be written (zero runs included).
head -c 16M /dev/urandom >"$SB_SLOT_B"

t_status_before() {
        expect_ok updatectl status || return 1
        expect_contains "$TL_OUT" rootfs.0 "human status" || return 1
        expect_contains "$TL_OUT" rootfs.1 "human status" || return 1
        expect_booted A && expect_primary A || return 1
        expect_status 'd["compatible"]' "$SB_COMPATIBLE" || return 1
        expect_status 'd["operation"]' idle || return 1
        expect_slot rootfs.0 '["state"]' booted || return 1
        expect_slot rootfs.1 '["state"]' inactive || return 1
        expect_slot rootfs.1 '["status"]' unknown
}

t_bundle_info() {
        expect_ok updatectl bundle info --keyring "$SB/pki/ca.crt" "$SB/img/v2.bundle" || return 1
        expect_contains "$TL_OUT" "$SB_COMPATIBLE" "bundle info" || return 1
        expect_ok updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$SB/img/v2.bundle" || return 1
        local v sha
        v=$(sb_json 'd["version"]' <<<"$TL_OUT" 2>&1)
        expect_eq "$v" 2 "bundle info --json version" || return 1
        sha=$(sb_json 'd["images"][0]["sha256"]' <<<"$TL_OUT" 2>&1)
        expect_eq "$sha" "$(sha256sum <"$SB/img/v2.ext4" | cut -c1-64)" "manifest sha256 of the image" || return 1
        # A bundle signed by another root must not verify against our keyring.
        sb_bundle "$SB/img/evil.bundle" 2 "$SB/img/v2.ext4" "" evil-signer || { TL_WHY="bundle create (evil)"; return 1; }
        run updatectl bundle info --keyring "$SB/pki/ca.crt" "$SB/img/evil.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="bundle info accepted a bundle of another root"; return 1; }
        grep -qi 'signature invalid' <<<"$TL_OUT" || { TL_WHY="bundle info (evil): $TL_OUT"; return 1; }
}

# After installing IMAGE (version V) into SLOT: content, status record, bootloader state.
check_installed() { # slot-name bootname image version slot-device
        local slot=$1 boot=$2 img=$3 v=$4 dev=$5 size sha
        size=$(stat -c %s "$img")
        sha=$(sha256sum <"$img" | cut -c1-64)
        cmp -s -n "$size" "$img" "$dev" || { TL_WHY="$slot does not hold the image"; return 1; }
        expect_slot "$slot" '["status"]' ok || return 1
        expect_slot "$slot" '["bundle"]["version"]' "$v" || return 1
        expect_slot "$slot" '["bundle"]["compatible"]' "$SB_COMPATIBLE" || return 1
        expect_slot "$slot" '["checksum"]["sha256"]' "$sha" || return 1
        expect_slot "$slot" '["checksum"]["size"]' "$size" || return 1
        expect_slot "$slot" '["boot_status"]' trial || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "$boot" "UPDATE1_TRIAL" || return 1
        expect_eq "$(sb_env_get BOOT_ORDER | cut -d' ' -f1)" "$boot" "first in BOOT_ORDER" || return 1
        expect_primary "$boot" || return 1
        expect_boots "$boot"
}

t_install_file() {
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1
        check_installed rootfs.1 B "$SB/img/v2.ext4" 2 "$SB_SLOT_B" || return 1
        expect_slot rootfs.1 '["installed"]["count"]' 1 || return 1
        expect_slot rootfs.1 '["activated"]["count"]' 1 || return 1
        expect_eq "$(sha256sum <"$SB_SLOT_A" | cut -c1-64)" "$A_SHA" "booted slot A content" || return 1
        expect_booted A
}

# The installed filesystem really is the v2 image (e2fsprogs reads it without mounting).
t_installed_fs() {
        local osr
        osr=$(debugfs -R 'cat /etc/os-release' "$SB_SLOT_B" 2>/dev/null)
        expect_contains "$osr" 'VERSION="2"' "os-release in slot B"
}

t_reboot_into_b() {
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot U-Boot booted" || return 1
        expect_booted B || return 1
        expect_slot rootfs.1 '["state"]' booted || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        expect_eq "$(sb_get_property BootSlot)" B "BootSlot property"
}

t_mark_good_b() {
        expect_ok updatectl mark-good || return 1
        expect_slot rootfs.1 '["boot_status"]' good || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" "UPDATE1_TRIAL after mark-good" || return 1
        expect_eq "$(sb_env_get BOOT_B_LEFT)" 3 "BOOT_B_LEFT after mark-good" || return 1
        expect_boots B || return 1
        # A second boot really stays in B.
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="second reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot booted after mark-good" || return 1
        expect_booted B || return 1
        expect_slot rootfs.1 '["boot_status"]' good || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 2
}

# Installing the version the booted slot runs is refused unless forced, and changes nothing.
t_same_version_refused() {
        tl_snapshot
        expect_error org.example.Update1.Error.AlreadyInstalled updatectl install "$SB/img/v2.bundle" || return 1
        expect_contains "$TL_OUT" "use force" "AlreadyInstalled message" || return 1
        expect_unchanged || return 1
        expect_boots B
}

t_install_pipe() {
        local b_sha
        b_sha=$(sha256sum <"$SB_SLOT_B" | cut -c1-64)
        expect_ok sh -c 'cat "$1" | updatectl install -' sh "$SB/img/v3.bundle" || return 1
        check_installed rootfs.0 A "$SB/img/v3.ext4" 3 "$SB_SLOT_A" || return 1
        expect_slot rootfs.0 '["installed"]["count"]' 1 || return 1
        expect_eq "$(sha256sum <"$SB_SLOT_B" | cut -c1-64)" "$b_sha" "booted slot B content" || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 2
}

t_reboot_into_a() {
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "slot U-Boot booted" || return 1
        expect_ok updatectl mark-good || return 1
        expect_booted A && expect_primary A || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_slot rootfs.0 '["bundle"]["version"]' 3 || return 1
        # Both slots are now good; B remains the fallback behind A.
        expect_eq "$(sb_env_get BOOT_ORDER)" "A B" "BOOT_ORDER"
}

# Reinstalling into the same slot again counts up (second install of v2 goes to B).  A runs v3
# now, so v2 is not "already installed"; --force is accepted all the same.
t_install_again() {
        expect_ok updatectl install --force "$SB/img/v2.bundle" || return 1
        expect_slot rootfs.1 '["installed"]["count"]' 2 || return 1
        expect_slot rootfs.1 '["activated"]["count"]' 2 || return 1
        expect_boots B
}

tl_case status-before t_status_before
tl_case bundle-info t_bundle_info
tl_case install-from-file t_install_file
tl_case installed-filesystem t_installed_fs
tl_case reboot-into-B t_reboot_into_b
tl_case mark-good-B t_mark_good_b
tl_case same-version-refused t_same_version_refused
tl_case install-from-pipe t_install_pipe
tl_case reboot-into-A t_reboot_into_a
tl_case install-again-counts t_install_again
