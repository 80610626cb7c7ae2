#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every refusal is a named D-Bus error and leaves the device as it was: status file, U-Boot
# env and both slots byte-identical, the booted slot A still what U-Boot boots next.
# A tampered chunk fails the install before the slot is activated: status failed, slot bad.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

E=org.example.Update1.Error
I=$SB/img
mkdir -p "$I"
# 4 MiB of random data: incompressible, so chunks are stored at about chunk-size each and
# a byte offset maps to a known chunk.
sb_make_random "$I/rand.img" 4M &&
        sb_bundle "$I/good.bundle" 2 "$I/rand.img" &&
        sb_bundle "$I/other-compat.bundle" 2 "$I/rand.img" other-board &&
        sb_bundle "$I/evil.bundle" 2 "$I/rand.img" "" evil-signer || exit 1
truncate -s 20M "$I/big.img"     # slots are 16 MiB; zeros compress to almost nothing
sb_bundle "$I/big.bundle" 2 "$I/big.img" || exit 1
CHUNK=$(updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$I/good.bundle" |
        sb_json 'd["images"][0]["chunk-size"]') || exit 1

# The "nothing changed" contract of a synchronous refusal.
refused() { # error-name bundle-file
        tl_snapshot
        expect_error "$E.$1" updatectl install "$2" || return 1
        expect_unchanged || return 1
        expect_boots A || return 1
        expect_primary A || return 1
        expect_status 'd["operation"]' idle
}

# Each refusal also says what to do, from lib/error-kinds.h (the one table).
t_incompatible() {
        refused Incompatible "$I/other-compat.bundle" || return 1
        expect_error "what to do: Install a bundle built for this device" updatectl install "$I/other-compat.bundle"
}
t_too_large() { refused NoTargetSlot "$I/big.bundle"; }
t_bad_signature() { refused SignatureInvalid "$I/evil.bundle"; }

t_garbage() {
        head -c 100000 /dev/urandom >"$I/garbage.bundle"
        refused InvalidBundle "$I/garbage.bundle"
}

t_empty() {
        : >"$I/empty.bundle"
        refused InvalidBundle "$I/empty.bundle"
}

# The signed manifest altered after signing (the compatible string inside the CMS content).
t_manifest_altered() {
        cp "$I/good.bundle" "$I/altered.bundle"
        "$SB_PY" - "$I/altered.bundle" "\"compatible\":\"$SB_COMPATIBLE\"" <<'EOF' || { TL_WHY="manifest text not found in bundle"; return 1; }
import sys
path, needle = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, "rb").read())
i = data.find(needle)
if i < 0:
    i = data.find(needle.replace(b":", b": "))
if i < 0:
    sys.exit(1)
data[i + len(needle) - 2] ^= 0x01          # last letter of the compatible value
open(path, "wb").write(data)
EOF
        refused SignatureInvalid "$I/altered.bundle"
}

# Unknown option keys, and known ones of the wrong type, are an error.
t_unknown_option() {
        tl_snapshot
        expect_error org.freedesktop.DBus.Error.InvalidArgs \
                bus-call InstallFd 'ha{sv}' "$I/good.bundle" bogus-option=b:true || return 1
        expect_error org.freedesktop.DBus.Error.InvalidArgs \
                bus-call Install 'sa{sv}' "$I/good.bundle" force=s:yes || return 1
        expect_unchanged && expect_boots A
}

# A byte flipped in stored chunk N: the install fails after chunks 0..N-1 were written, the
# target is left failed and bad, chunk N never reaches the slot, A stays primary.
tampered() { # bundle-offset-description offset
        local off=$2 name=tampered-$1.bundle
        cp "$I/good.bundle" "$I/$name"
        sb_flip_byte "$I/$name" "$off" || { TL_WHY="flip failed"; return 1; }
        # fill slot B with a marker so "never written" is visible
        truncate -s 0 "$SB_SLOT_B" && truncate -s 16M "$SB_SLOT_B"
        expect_error "$E.InvalidBundle" updatectl install "$I/$name" || return 1
        expect_status 'd["operation"]' idle || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_boots A || return 1
        expect_primary A || return 1
        expect_booted A || return 1
        expect_ok updatectl status || return 1
        case " $(sb_env_get BOOT_ORDER) " in
        *" B "*) TL_WHY="B still in BOOT_ORDER after a failed install: $(sb_env_get BOOT_ORDER)"; return 1 ;;
        esac
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" "UPDATE1_TRIAL" || return 1
        local lasterr
        lasterr=$(sb_get_property LastError)
        [ -n "$lasterr" ] || { TL_WHY="LastError property empty after a failed install"; return 1; }
        return 0
}

t_tampered_last_chunk() {
        local size last
        size=$(stat -c %s "$I/good.bundle")
        tampered last $((size - 100)) || return 1
        # The image is 4 MiB of random data; its last chunk must not be in slot B.
        last=$(((4 * 1024 * 1024 - 1) / CHUNK * CHUNK))
        if cmp -s -i "$last:$last" -n $((4 * 1024 * 1024 - last)) "$I/rand.img" "$SB_SLOT_B"; then
                TL_WHY="the tampered (last) chunk reached slot B"
                return 1
        fi
        return 0
}

t_tampered_middle() {
        local start size
        start=$(sb_payload_offset "$I/good.bundle")
        size=$(stat -c %s "$I/good.bundle")
        tampered middle $(((start + size) / 2)) || return 1
        # Nothing at or past the middle chunk was written (slot was zeroed before).
        local mid=$((2 * 1024 * 1024 / CHUNK * CHUNK))
        if [ -n "$(tail -c +$((mid + CHUNK + 1)) "$SB_SLOT_B" | head -c $((4 * 1024 * 1024 - mid - CHUNK)) | tr -d '\0' | head -c 1)" ]; then
                TL_WHY="data after the tampered chunk reached slot B"
                return 1
        fi
        return 0
}

# After all that, a good bundle still installs (and the failed slot is the target).
t_good_after_failures() {
        expect_ok updatectl install "$I/good.bundle" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        cmp -s -n $((4 * 1024 * 1024)) "$I/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content"; return 1; }
        expect_boots B
}

# Local paths through Install(s) are for root; a missing file is a clear error, nothing changes.
t_missing_file() {
        tl_snapshot
        run updatectl install "$I/does-not-exist.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="install of a missing file succeeded"; return 1; }
        expect_contains "$TL_OUT" does-not-exist.bundle "error names the file" || return 1
        expect_unchanged
}

tl_case incompatible t_incompatible
tl_case image-larger-than-slot t_too_large
tl_case bad-signature t_bad_signature
tl_case garbage-bundle t_garbage
tl_case empty-bundle t_empty
tl_case manifest-altered t_manifest_altered
tl_case unknown-option t_unknown_option
tl_case missing-file t_missing_file
tl_case tampered-last-chunk t_tampered_last_chunk
tl_case tampered-middle-chunk t_tampered_middle
tl_case good-after-failures t_good_after_failures
