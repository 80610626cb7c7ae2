#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2034 # TL_WHY is read by tl_case (tests/lib/testlib.sh)
# What the tests of RAUC bundles (test-rauc-bundle, test-rauc-ranged, test-agent-rauc) share,
# sourced after testlib.sh with the sandbox set up: bundles made by Debian's real `rauc
# bundle`, signed by a signer under an intermediate CA that only the bundle carries, and the
# checks of the slot they were installed to.  $I is the test's work directory.

# rauc_bundle OUT FORMAT IMAGE [COMPATIBLE [SIGNER [EXTRA MANIFEST TEXT]]]
# (the version is the image's file name, so each image has its own)
rauc_bundle() {
        local out=$1 format=$2 image=$3 compat=${4:-$SB_COMPATIBLE} signer=${5:-inter-signer} extra=${6:-}
        local d=$I/in.$$ inter=()
        rm -rf "$d" "$out" && mkdir -p "$d" || return 1
        cp "$image" "$d/rootfs.img"
        [ -n "$extra" ] && printf '#!/bin/sh\nexit 0\n' >"$d/hook.sh" && chmod +x "$d/hook.sh"
        printf '[update]\ncompatible=%s\nversion=%s\ndescription=test bundle\nbuild=20260101\n\n[bundle]\nformat=%s\n\n[image.rootfs]\nfilename=rootfs.img\n%b' \
                "$compat" "$(basename "$image")" "$format" "$extra" >"$d/manifest.raucm"
        [ "$signer" = inter-signer ] && inter=(--intermediate "$SB/pki/inter-ca.crt")
        rauc bundle --cert "$SB/pki/$signer.crt" --key "$SB/pki/$signer.key" "${inter[@]}" "$d" "$out" \
                >"$I/rauc.log" 2>&1 || { cat "$I/rauc.log" >&2; return 1; }
        chmod 0644 "$out"
        rm -rf "$d"
}

# old_or_image SLOT BEFORE IMAGE: every 4 KiB block of SLOT is its BEFORE content or IMAGE's,
# and not all of IMAGE was written (TL_RC, TL_OUT: how many blocks were).
old_or_image() {
        run "$SB_PY" -c '
import sys
slot, old, img = (open(p, "rb").read() for p in sys.argv[1:])
written = 0
for o in range(0, len(slot), 4096):
    s = slot[o:o + 4096]
    if s == old[o:o + 4096]:
        continue
    if s == img[o:o + 4096]:
        written += 1
        continue
    print("block at %d is neither the old content nor the image" % o)
    sys.exit(1)
if written * 4096 >= len(img):
    print("the whole image was written")
    sys.exit(1)
print("image blocks written before the refusal: %d of %d" % (written, len(img) // 4096))' "$1" "$2" "$3"
}

# refused_into_b BEFORE IMAGE: after an install into slot B refused mid-way, slot A is still
# booted, primary and next, rootfs.1 is marked failed, and every 4 KiB block of slot B is its
# BEFORE content or IMAGE's (old_or_image): what was refused never reached it.
refused_into_b() {
        expect_booted A && expect_primary A && expect_boots A || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        old_or_image "$SB_SLOT_B" "$1" "$2"
        [ "$TL_RC" = 0 ] || { TL_WHY="slot B: $TL_OUT"; return 1; }
        tl_diag "$TL_OUT"
}

check_slot() { # SLOT-DEVICE IMAGE SLOT-NAME VERSION
        local size sha
        size=$(stat -c %s "$2")
        sha=$(sha256sum <"$2" | cut -c1-64)
        expect_eq "$(head -c "$size" "$1" | sha256sum | cut -c1-64)" "$sha" "sha256 of $3's first $size bytes" || return 1
        expect_slot "$3" '["status"]' ok || return 1
        expect_slot "$3" '["bundle"]["version"]' "$4" || return 1
        expect_slot "$3" '["bundle"]["compatible"]' "$SB_COMPATIBLE" || return 1
        expect_slot "$3" '["checksum"]["sha256"]' "$sha"
}
