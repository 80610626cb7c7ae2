#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regression tests for the slot-transition invariants (daemon/slot-policy.c, docs/bootloaders.md
# "Invariants"): cases 1-5 of issue #10, each of which made the device boot something unproven
# on the old main.  Real daemon, real bus with our policy, bundles signed at test time, the
# U-Boot boot simulator (and the custom backend stand-in for case 5).  Cases 6-8 (lock file,
# bounded signature, secrets) live in test-lock.sh, test-bounds.sh and test-secrets.sh.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
SEC_NO_DAEMON=1 sec_setup A
sb_start_bus 2>"$SB/bus.err" || { fail "$TL_FILE-setup" "bus: $(cat "$SB/bus.err")"; exit 1; }

I=$SB/img
mkdir -p "$I"
sb_make_random "$I/rand.img" 1M && sb_make_random "$I/app.img" 256K || exit 1
mkb() { # NAME VERSION SECURITY-VERSION [bundle create options]
        local n=$1 v=$2 s=$3
        shift 3
        sb_bundle "$I/$n.bundle" "$v" "$I/rand.img" "$SB_COMPATIBLE" signer --security-version "$s" "$@" ||
                { echo "bundle $n" >&2; return 1; }
}
mkb v2 2 0 && mkb v3 3 0 && mkb v5-s5 5 5 || exit 1
# Two-image bundles for the group test (rootfs + appfs), and one with the appfs alone.
sb_bundle "$I/full-v6.bundle" 6 "$I/rand.img" "$SB_COMPATIBLE" signer --image "appfs=$I/app.img" || exit 1
updatectl bundle create --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" --compatible "$SB_COMPATIBLE" \
        --version 7 --image "appfs=$I/app.img" -o "$I/appfs-only-v7.bundle" >"$SB/bundle-create.log" 2>&1 || exit 1
chmod 0644 "$I"/*.bundle
CHUNK=$(updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$I/v3.bundle" | sb_json 'd["images"][0]["chunk-size"]') || exit 1
FEED_AT=$(($(sb_payload_offset "$I/v3.bundle") + CHUNK + CHUNK / 2))

# A fresh device: the env, both slots, no status, no floor; A booted.  Extra config lines
# (e.g. appfs slots) as arguments.
fresh() {
        sb_stop_updated
        rm -rf "$SB_DATA" && mkdir -p "$SB_DATA"
        sb_make_env "$SB" >/dev/null 2>&1 && : >"$SB/cmdline" || { TL_WHY="env"; return 1; }
        sb_write_config "$SB_CONFIG" "$@" && sed -i "/^\[system\]\$/a reboot-command=$SB/bin/fake-reboot" "$SB_CONFIG"
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="start: $(tail -n 3 "$SB/start.err")"; return 1; }
}
reboot_into() { # BOOTNAME
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" "$1" "booted after the reboot"
}
floor() { tl_status_field 'd["rollback_floor"]["security_version"]'; }
# install NAME, reboot into it, mark it good: committed in B.
commit() {
        expect_ok updatectl install "$I/$1.bundle" && reboot_into B && expect_ok updatectl mark-good
}

# --- case 1: a half-written slot can be made bootable -------------------------------------

# An install of v3 fed from a FIFO we hold, cancelled mid-stream: slot B is half written.
cancel_midway() {
        local pid
        rm -f "$SB/feed" && mkfifo "$SB/feed"
        updatectl install - <"$SB/feed" >"$SB/bg.out" 2>&1 &
        pid=$!
        sb_track "$pid"
        exec 8>"$SB/feed"
        timeout "$SB_WAIT" head -c "$FEED_AT" "$I/v3.bundle" >&8 || { exec 8>&-; TL_WHY="feed"; return 1; }
        sb_wait_property Operation installing 2>/dev/null || { exec 8>&-; TL_WHY="not installing"; return 1; }
        expect_ok updatectl cancel || { exec 8>&-; return 1; }
        tl_wait_pid "$pid"
        exec 8>&-
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after cancel"; return 1; }
        expect_slot rootfs.1 '["status"]' failed
}

t_half_written_not_bootable() {
        fresh && cancel_midway || return 1
        SEC_TOP="top rootfs.0 rootfs.0 idle" sec_snapshot || return 1
        local how
        for how in "mark-good other" "mark-active other" "mark-good rootfs.1" "mark-active rootfs.1" "mark-bad booted"; do
                # shellcheck disable=SC2086 # the words are the command
                expect_error "$E.NotBootable" updatectl $how || { TL_WHY="$how: $TL_WHY"; return 1; }
                sec_expect_unchanged || { TL_WHY="$how: $TL_WHY"; return 1; }
        done
        expect_contains "$TL_OUT" "no committed slot would be left to boot" "mark-bad booted's reason" || return 1
        sec_expect_boots A || return 1
        # after a reboot the same: the device still boots A, and B stays out
        reboot_into A && expect_error "$E.NotBootable" updatectl mark-active other
}

# --- case 2: an install during an uncommitted trial ----------------------------------------

t_no_install_during_trial() {
        fresh && expect_ok updatectl install "$I/v2.bundle" && reboot_into B || return 1
        # the trial used B's one attempt: U-Boot's next pick is A, the fallback
        SEC_TOP="top rootfs.1 rootfs.0 idle" sec_snapshot || return 1
        expect_error "$E.TrialPending" updatectl install "$I/v3.bundle" || return 1
        expect_contains "$TL_OUT" "rootfs.1" "names the slot on trial" || return 1
        expect_contains "$TL_OUT" "mark-good" "says how to resolve it" || return 1
        sec_expect_unchanged || return 1
        expect_eq "$(sb_env_get BOOT_ORDER)" "B A" "A stays the fallback" || return 1
        # update-health's MarkGood is not Busy, and commits; then the install is accepted
        expect_ok updatectl mark-good || return 1
        expect_ok updatectl install "$I/v3.bundle" || return 1
        expect_slot rootfs.0 '["bundle"]["version"]' 3
}

# --- case 3: group update boots a slot below the floor -------------------------------------

t_no_boot_below_floor() {
        fresh && commit v5-s5 || return 1
        expect_eq "$(floor)" 5 "floor after the commit" || return 1
        # the factory A (security-version 0) left the boot chain when the floor rose
        expect_slot rootfs.0 '["boot_status"]' bad || return 1
        SEC_TOP="top rootfs.1 rootfs.1 idle" sec_snapshot || return 1
        expect_error "$E.NotBootable" updatectl mark-bad booted || return 1
        sec_expect_unchanged || return 1
        expect_error "$E.Downgrade" updatectl mark-good rootfs.0 || return 1
        expect_error "$E.Downgrade" updatectl mark-good other || return 1
        expect_error "$E.Downgrade" updatectl mark-active other || return 1
        sec_expect_unchanged || return 1
        sec_expect_boots B
}

# --- case 4: a bundle with only a child image ------------------------------------------------

t_bundle_covers_group() {
        local extra=("[slot.appfs.0]" "device=$SB/appfs-a" "type=raw" "parent=rootfs.0"
                     "[slot.appfs.1]" "device=$SB/appfs-b" "type=raw" "parent=rootfs.1")
        truncate -s 1M "$SB/appfs-a" "$SB/appfs-b"
        fresh "${extra[@]}" || return 1
        tl_snapshot
        expect_error "$E.Incomplete" updatectl install "$I/appfs-only-v7.bundle" || return 1
        expect_contains "$TL_OUT" "rootfs.1" "names the slot the bundle does not cover" || return 1
        expect_contains "$TL_OUT" "class rootfs" "says which image is missing" || return 1
        expect_unchanged || return 1
        # a bundle for the whole group is installed, committed; then a child-only bundle of the
        # same version would still not match (other bundle), refused again
        expect_ok updatectl install "$I/full-v6.bundle" && reboot_into B && expect_ok updatectl mark-good || return 1
        expect_slot appfs.1 '["bundle"]["version"]' 6 || return 1
        expect_error "$E.Incomplete" updatectl install "$I/appfs-only-v7.bundle"
}

# --- case 5: the custom backend's "good" is no proof ----------------------------------------

t_custom_floor_needs_proof() {
        fresh || return 1
        sb_stop_updated
        export UPDATE1_CUSTOM_STATE=$SB/custom-state
        rm -f "$UPDATE1_CUSTOM_STATE"
        sed -i 's/^bootloader=uboot$/bootloader=custom/' "$SB_CONFIG"
        printf '\n[custom]\npath=%s\n' "$UPDATE1_TOP/tests/fakes/custom-backend.sh" >>"$SB_CONFIG"
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="start: $(tail -n 3 "$SB/start.err")"; return 1; }
        expect_ok updatectl install "$I/v5-s5.bundle" || return 1
        # the trial boot of B.  Many custom scripts make a slot "good" on set-primary (RAUC's
        # contract has no trial state); so does this one now: "good" proves nothing
        sb_stop_updated
        printf 'current=B\nstate_B=good\n' >>"$UPDATE1_CUSTOM_STATE"
        sb_run_updated --boot-slot B --boot-id "$(cat /proc/sys/kernel/random/uuid)" 2>"$SB/start.err" ||
                { TL_WHY="trial boot: $(tail -n 3 "$SB/start.err")"; return 1; }
        expect_eq "$(floor)" 0 "floor in the trial boot, before MarkGood" || return 1
        expect_error "$E.TrialPending" updatectl install --force "$I/v2.bundle" || return 1
        # a restart within the trial boot changes nothing
        sb_stop_updated
        sb_run_updated --boot-slot B 2>"$SB/start.err" || { TL_WHY="restart: $(tail -n 3 "$SB/start.err")"; return 1; }
        expect_eq "$(floor)" 0 "floor after a restart in the trial boot" || return 1
        expect_ok updatectl mark-good || return 1
        expect_eq "$(floor)" 5 "floor after MarkGood"
        local rc=$?
        unset UPDATE1_CUSTOM_STATE
        return $rc
}

E=org.example.Update1.Error
printf '#!/bin/sh\necho "$(id -u) $*" >>"%s/reboot-called"\n' "$SB" >"$SB/bin/fake-reboot"
chmod 0755 "$SB/bin/fake-reboot"
sec_case half-written-slot-never-bootable t_half_written_not_bootable
sec_case no-install-during-uncommitted-trial t_no_install_during_trial
sec_case no-boot-below-floor-by-mark t_no_boot_below_floor
sec_case bundle-must-cover-its-group t_bundle_covers_group
sec_case custom-backend-floor-needs-proof t_custom_floor_needs_proof
tl_exit
