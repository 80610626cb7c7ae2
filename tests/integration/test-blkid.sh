#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Block-device slots (root only): two loop devices as slots; and PARTLABEL= slots resolved
# through libblkid on a GPT image (sfdisk) attached to a loop device.  Partition devices are
# added with partx (BLKPG), which also works on kernels without GPT partition scanning.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "loop devices"
tl_require_cmd losetup sfdisk partx
tl_require_bins

sb_init || exit 1
truncate -s 1M "$SB/probe.img"
if ! L=$(losetup --find --show "$SB/probe.img" 2>&1); then
        skip "$TL_FILE" "loop devices unavailable: $L"
        exit 0
fi
losetup -d "$L"

attach() { # [--partscan] file: sets LOOPDEV, remembers it for cleanup (not in $(...))
        LOOPDEV=$(losetup --find --show "$@") || return 1
        SB_LOOPS+=("$LOOPDEV")
}

sb_install_bins && sb_make_pki "$SB/pki" && sb_make_env "$SB" || { fail "$TL_FILE-setup" "sandbox"; exit 1; }
mkdir -p "$SB/img"
sb_make_random "$SB/img/rand.img" 3M || exit 1
sb_make_ext4 "$SB/img/v2.ext4" 6M 2 || exit 1
sb_start_bus 2>"$SB/bus.err" || { fail "$TL_FILE-bus" "$(cat "$SB/bus.err")"; exit 1; }
sb_bundle "$SB/img/raw.bundle" 2 "$SB/img/rand.img" && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/v2.ext4" || exit 1

# --- two loop devices as slots ---------------------------------------------------------
t_loop_slots() {
        truncate -s 8M "$SB/loop-a.img" "$SB/loop-b.img"
        attach "$SB/loop-a.img" && LA=$LOOPDEV && attach "$SB/loop-b.img" && LB=$LOOPDEV ||
                { TL_WHY="losetup failed"; return 1; }
        SB_SLOT_A=$LA SB_SLOT_B=$LB sb_write_config "$SB/loop.conf"
        SB_CONFIG=$SB/loop.conf
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="$(cat "$SB/start.err")"; return 1; }
        expect_slot rootfs.1 '["device"]' "$LB" || return 1
        expect_ok updatectl install "$SB/img/raw.bundle" || return 1
        cmp -s -n $((3 * 1024 * 1024)) "$SB/img/rand.img" "$LB" || { TL_WHY="$LB does not hold the image"; return 1; }
        # through the loop device into its backing file
        cmp -s -n $((3 * 1024 * 1024)) "$SB/img/rand.img" "$SB/loop-b.img" || { TL_WHY="backing file of $LB"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_boots B
}

t_loop_too_small() {
        # an image bigger than the 8 MiB block device
        truncate -s 9M "$SB/img/big.img"
        sb_bundle "$SB/img/big.bundle" 3 "$SB/img/big.img" || { TL_WHY="bundle create"; return 1; }
        expect_error org.example.Update1.Error.NoTargetSlot updatectl install "$SB/img/big.bundle"
}

# --- GPT image with PARTLABEL= slots ----------------------------------------------------
t_partlabel() {
        local tag disk p1 p2 i
        sb_stop_updated
        sb_make_env "$SB"    # fresh env: BOOT_ORDER="A B"
        rm -rf "$SB/data"
        tag=u1t-$$-$RANDOM
        truncate -s 40M "$SB/disk.img"
        printf 'label: gpt\nsize=16MiB, name="%s-a"\nsize=16MiB, name="%s-b"\n' "$tag" "$tag" |
                sfdisk -q "$SB/disk.img" >"$SB/sfdisk.log" 2>&1 || { TL_WHY="sfdisk: $(cat "$SB/sfdisk.log")"; return 1; }
        attach --partscan "$SB/disk.img" || { TL_WHY="losetup -P failed"; return 1; }
        disk=$LOOPDEV
        # the kernel may or may not have scanned the table; partx adds what is missing
        partx -a "$disk" 2>/dev/null
        p1=${disk}p1 p2=${disk}p2
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                [ -b "$p1" ] && [ -b "$p2" ] && break
                sleep 0.05
        done
        [ -b "$p2" ] || { TL_WHY="no partition devices for $disk"; return 2; }
        local found
        found=$(blkid -t "PARTLABEL=$tag-b" -o device 2>/dev/null)
        expect_eq "$found" "$p2" "blkid -t PARTLABEL=$tag-b" || return 1
        SB_SLOT_A=PARTLABEL=$tag-a SB_SLOT_B=PARTLABEL=$tag-b SB_SLOT_TYPE=ext4 sb_write_config "$SB/gpt.conf"
        SB_CONFIG=$SB/gpt.conf
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="$(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl status --json || return 1
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1
        cmp -s -n "$(stat -c %s "$SB/img/v2.ext4")" "$SB/img/v2.ext4" "$p2" ||
                { TL_WHY="$p2 ($tag-b) does not hold the image"; return 1; }
        # partition 1 (booted) untouched: still zeros
        [ -z "$(head -c 1M "$p1" | tr -d '\0' | head -c 1)" ] || { TL_WHY="booted partition written"; return 1; }
        local osr
        osr=$(debugfs -R 'cat /etc/os-release' "$p2" 2>/dev/null)
        expect_contains "$osr" 'VERSION="2"' "os-release on $tag-b" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_boots B
}

t_partlabel_case() {
        t_partlabel
        case $? in
        0) pass partlabel-slots-via-libblkid ;;
        2) skip partlabel-slots-via-libblkid "$TL_WHY" ;;
        *) fail partlabel-slots-via-libblkid "$TL_WHY" ;;
        esac
}

tl_case loop-device-slots t_loop_slots
tl_case loop-device-image-too-large t_loop_too_small
t_partlabel_case
