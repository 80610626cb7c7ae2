#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A RAUC device switches to Update1 without changing a line of its system.conf
# (docs/configuration.md "RAUC system.conf"):
#   `updated --check-config` on RAUC 1.8's own files: valid ones with one warning line per key
#   without effect, refused ones naming the line, and Debian's rauc 1.8 parsing the same files
#   offline agrees; the daemon started on a RAUC-style system.conf (custom backend through
#   [handlers] bootloader-custom-backend=, RAUC-only keys) installs a bundle and switches the
#   boot slot through that backend, the slot holding the image.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "runs the daemon on a private system bus"
tl_setup A

CHECK_OUT=$SB/check.out CHECK_ERR=$SB/check.err
# check FILE: updated --check-config; TL_RC, stdout in CHECK_OUT, stderr in CHECK_ERR.
check() {
        "$SB/bin/updated" --check-config --config "$1" >"$CHECK_OUT" 2>"$CHECK_ERR"
        TL_RC=$?
}
# rauc_verdict FILE: "valid" or "invalid" as Debian's rauc 1.8 sees FILE (it loads system.conf
# before looking at the bundle; `rauc status` would need its service).
rauc_verdict() {
        local out
        out=$(rauc --conf="$1" info "$SB/nonexistent.raucb" 2>&1)
        case $out in
        *"Failed to load system config"*) echo invalid ;;
        *"No such file"*) echo valid ;;
        *) echo "unexpected: $out" ;;
        esac
}

# RAUC 1.8 test/system.conf, as shipped in RAUC's test suite.
cat >"$SB/rauc-system.conf" <<'CONF'
# example system configuration

[system]
compatible=FooCorp Super BarBazzer
bootloader=barebox
mountprefix=/mnt/myrauc/

[keyring]
path=/etc/rauc/keyring/

[slot.rescue.0]
device=/dev/rescue-0
type=raw
bootname=factory0
readonly=true

[slot.rootfs.0]
device=/dev/rootfs-0
type=ext4
bootname=system0

[slot.rootfs.1]
device=/dev/rootfs-1
type=ext4
bootname=system1

[slot.appfs.0]
device=/dev/appfs-0
type=ext4
parent=rootfs.0

[slot.appfs.1]
device=/dev/appfs-1
type=ext4
parent=rootfs.1
CONF
# RAUC 1.8 test/test.conf's first lines: its [handlers] run scripts Update1 does not run.
cat >"$SB/rauc-test.conf" <<'CONF'
# testsuite system configuration

[system]
compatible=Test Config
bootloader=grub
grubenv=grubenv.test
variant-name=Default Variant

[handlers]
system-info=bin/systeminfo.sh
pre-install=bin/preinstall.sh
post-install=bin/postinstall.sh

[keyring]
path=openssl-ca/dev-ca.pem
check-crl=true

[slot.rootfs.0]
device=images/rootfs-0
type=ext4
bootname=system0
CONF

t_check_valid() {
        local f=$SB/rauc-system.conf
        check "$f"
        [ "$TL_RC" = 0 ] || { TL_WHY="exit $TL_RC: $(cat "$CHECK_ERR")"; return 1; }
        expect_eq "$(cat "$CHECK_OUT")" "$f: valid, compatible FooCorp Super BarBazzer, bootloader barebox, 5 slot(s), 1 warning(s)" \
                "summary" || return 1
        expect_eq "$(grep -c . "$CHECK_ERR")" 1 "lines on stderr" || return 1
        expect_contains "$(cat "$CHECK_ERR")" "$f:6: warning: [system] mountprefix= has no effect" "the warning"
}
tl_case check-config-rauc-test-system-conf t_check_valid

t_check_refused() {
        local f=$SB/rauc-test.conf
        check "$f"
        [ "$TL_RC" = 1 ] || { TL_WHY="exit $TL_RC, expected 1: $(cat "$CHECK_OUT" "$CHECK_ERR")"; return 1; }
        [ ! -s "$CHECK_OUT" ] || { TL_WHY="stdout not empty: $(cat "$CHECK_OUT")"; return 1; }
        expect_contains "$(cat "$CHECK_ERR")" \
                "$f:10: [handlers] system-info= (RAUC's) is not supported: system-info handlers are not run by Update1; remove the line" \
                "the error"
}
tl_case check-config-rauc-test-conf-refused t_check_refused

t_rauc_agrees() {
        command -v rauc >/dev/null || { TL_WHY="rauc is not installed (tests/lib/install-deps.sh)"; return 1; }
        expect_eq "$(rauc_verdict "$SB/rauc-system.conf")" valid "rauc on test/system.conf" || return 1
        # RAUC runs handlers, so it takes test.conf; Update1 refuses it on purpose (above).
        expect_eq "$(rauc_verdict "$SB/rauc-test.conf")" valid "rauc on test/test.conf" || return 1
        sed 's/^bundle-formats=.*//; s/^mountprefix=.*/bundle-formats=plain -verity/' "$SB/rauc-system.conf" >"$SB/bad.conf"
        expect_eq "$(rauc_verdict "$SB/bad.conf")" invalid "rauc on bundle-formats=plain -verity" || return 1
        check "$SB/bad.conf"
        expect_eq "$TL_RC" 1 "updated --check-config on bundle-formats=plain -verity" || return 1
        expect_contains "$(cat "$CHECK_ERR")" "$SB/bad.conf:6: invalid bundle-formats 'plain -verity'" "the error"
}
tl_case rauc-cli-agrees t_rauc_agrees

# A RAUC device's system.conf with RAUC's spelling of everything: the custom backend through
# [handlers], RAUC's keyring keys, RAUC's slot keys and defaults (no type=).
t_rauc_device_switches() {
        local conf=$SB/rauc-device.conf before after
        export UPDATE1_CUSTOM_STATE=$SB/custom-state
        rm -f "$UPDATE1_CUSTOM_STATE"
        cat >"$conf" <<CONF
[system]
compatible=$SB_COMPATIBLE
bootloader=custom
data-directory=$SB_DATA
mountprefix=/mnt/rauc/
bundle-formats=-plain
max-bundle-download-size=16777216

[keyring]
path=$SB/pki/ca.crt
check-purpose=codesign

[handlers]
bootloader-custom-backend=$UPDATE1_TOP/tests/fakes/custom-backend.sh

[slot.rootfs.0]
device=$SB_SLOT_A
bootname=A
description=first root file system

[slot.rootfs.1]
device=$SB_SLOT_B
bootname=B
install-same=true
CONF
        sb_stop_updated
        SB_CONFIG=$conf
        : >"$SB/updated.log"
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="start: $(tail -n 3 "$SB/start.err")"; return 1; }
        # RAUC's file has no idle-timeout=, so the default 30 s applies: every call below comes
        # well within it of the one before.
        expect_contains "$(cat "$SB/updated.log")" "$conf:5: warning: [system] mountprefix= has no effect" \
                "start-up warning" || return 1
        sb_make_random "$SB/image" 1M
        sb_bundle "$SB/v2.bundle" 2.0 "$SB/image" || { TL_WHY="bundle create failed"; return 1; }
        expect_ok updatectl install "$SB/v2.bundle" || return 1
        expect_eq "$(sed -n 's/^primary=//p' "$UPDATE1_CUSTOM_STATE" | tail -n 1)" B \
                "the custom backend's primary after the install" || return 1
        before=$(sha256sum <"$SB/image" | cut -d' ' -f1)
        after=$(head -c 1048576 "$SB_SLOT_B" | sha256sum | cut -d' ' -f1)
        expect_eq "$after" "$before" "slot B holds the image"
        local rc=$?
        unset UPDATE1_CUSTOM_STATE
        return $rc
}
tl_case rauc-device-switches t_rauc_device_switches
tl_exit
