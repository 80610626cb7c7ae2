#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: hostile manifests that ARE properly signed (A3, A12, A13, A15, A16, A18-A21,
# A23 of shared/reference/security-tests.md): the signer is trusted, so only the manifest
# rules stand between the bytes and the slot.  Each bundle is made by
# tests/security/lib/craft.py: a real CMS signature by the sandbox's code-signing key over
# exactly the JSON text under test, so duplicate keys, NUL escapes or non-UTF-8 bytes reach
# the daemon as written.  Refusals must name the error and leave the device byte-identical
# (sec_refused); faults that can only show in the payload fail the install before the slot
# is activated (sec_aborted).
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
sec_setup A

I=$SB/img
P=$SB/pki
mkdir -p "$I"
IMG_SIZE=$((256 * 1024))
sb_make_random "$I/rand.img" "$IMG_SIZE" || exit 1
SLOT_BYTES=$(stat -c %s "$SB_SLOT_B")

# mk NAME [craft make options]: $I/NAME.bundle with the test image (compression none,
# 64 KiB chunks), signed by the trusted signer.
mk() {
        local n=$1
        shift
        craft make -o "$I/$n.bundle" --image "rootfs=$I/rand.img" --cert "$P/signer.crt" --key "$P/signer.key" "$@" ||
                { TL_WHY="craft make $n failed"; return 1; }
}
# bad NAME ERRORS [craft options]: made, then refused with ERRORS and nothing changed.
bad() {
        local n=$1 want=$2
        shift 2
        mk "$n" "$@" || return 1
        sec_refused "$want" updatectl install "$I/$n.bundle"
}
# badtext NAME ERRORS EXPR: the manifest text edited by the python expression EXPR (of t).
badtext() { bad "$1" "$2" --edit-text "$3"; }
# badfield NAME ERRORS PYTHON: the manifest dict m edited by PYTHON statements.
badfield() { bad "$1" "$2" --edit "$3"; }

t_control() {
        mk good || return 1
        expect_ok bus-call InspectBundle h "$I/good.bundle" || return 1
        # Readers ignore unknown keys (docs/bundle-format.md, versioning rule).
        mk unknown-key --edit 'm["x-future"] = {"a": [1, 2]}; m["images"][0]["x-future"] = "y"' || return 1
        expect_ok bus-call InspectBundle h "$I/unknown-key.bundle"
}

# --- A15: image file names -----------------------------------------------------------------
fname() { badfield "fname-$1" InvalidBundle "m[\"images\"][0][\"filename\"] = $2"; }
t_fname_dotdot() { fname dotdot '"../x"' && fname dotdot-deep '"a/../../x"' && fname dotdot-alone '".."'; }
t_fname_absolute() { fname abs '"/etc/passwd"' && fname abs-dev '"/dev/sda"'; }
t_fname_nul() { fname nul '"rootfs\u0000.ext4"' && fname nul-end '"rootfs.ext4\u0000"'; }
t_fname_control() {
        fname ctrl-1 '"a\u0001b"' && fname newline '"a\nb"' && fname esc '"a\u001b[2Jb"' && fname del '"a\u007fb"'
}
t_fname_others() {
        fname empty '""' && fname dot '"."' && fname dot-slash '"./rootfs.ext4"' && fname hidden '".rootfs"' &&
                fname slash '"a/b"' && fname backslash '"a\\b"' && fname long '"a" * 300'
}
t_fname_non_utf8() {
        badtext fname-non-utf8 InvalidBundle 't.replace("\"filename\":\"rand.img\"", "\"filename\":\"r\udcffnd.img\"")'
}

# --- A16/A13: slot classes name a slot, never a path or a near-miss ----------------------
sclass() { badfield "class-$1" "$2" "m[\"images\"][0][\"slotclass\"] = $3"; }
t_class_path() { sclass path InvalidBundle '"../../bin/sh"' && sclass path2 InvalidBundle '"rootfs/../rootfs"'; }
t_class_case() { sclass upper InvalidBundle '"ROOTFS"' && sclass trailing-space InvalidBundle '"rootfs "'; }
t_class_nul() { sclass nul InvalidBundle '"rootfs\u0000"' && sclass empty InvalidBundle '""'; }
t_class_unknown() { sclass unknown NoTargetSlot '"appfs"'; }

# --- A19/A18: compatible, version, security-version ---------------------------------------
t_compat_space() { badfield compat-space Incompatible 'm["compatible"] += " "'; }
t_compat_nul() {
        badfield compat-nul InvalidBundle 'm["compatible"] += "\u0000"' &&
                badfield compat-nul-suffix InvalidBundle 'm["compatible"] += "\u0000evil"'
}
t_compat_newline() { badfield compat-newline InvalidBundle 'm["compatible"] += "\n"'; }
t_compat_empty() { badfield compat-empty InvalidBundle 'm["compatible"] = ""'; }
t_version_long() { badfield version-300 InvalidBundle 'm["version"] = "1" * 300' && badfield build-ctrl InvalidBundle 'm["build"] = "2026\u0007"'; }
t_description_long() { badfield description-5000 InvalidBundle 'm["description"] = "d" * 5000'; }
t_secver() {
        badfield secver-negative InvalidBundle 'm["security-version"] = -1' &&
                badfield secver-2p63 InvalidBundle 'm["security-version"] = 2**63' &&
                badfield secver-2p64 InvalidBundle 'm["security-version"] = 2**64' &&
                badfield secver-float InvalidBundle 'm["security-version"] = 1.0' &&
                badfield secver-string InvalidBundle 'm["security-version"] = "5"' &&
                badtext secver-nan InvalidBundle 't.replace("\"security-version\":0", "\"security-version\":NaN")'
}
t_format() {
        badfield format-2 InvalidBundle 'm["format"] = 2' && badfield format-string InvalidBundle 'm["format"] = "1"' &&
                badfield format-float InvalidBundle 'm["format"] = 1.0' && badfield format-missing InvalidBundle 'del m["format"]'
}

# --- A21: JSON structure -------------------------------------------------------------------
t_dup_top() {
        # first wins / last wins: either reading would pick a different board
        badtext dup-compat-first InvalidBundle 't.replace("\"format\":1,", "\"format\":1,\"compatible\":\"other-board\",")' &&
                badtext dup-compat-last InvalidBundle 't[:-1] + ",\"compatible\":\"other-board\"}"' &&
                badtext dup-format InvalidBundle 't.replace("\"format\":1,", "\"format\":1,\"format\":1,")'
}
t_dup_images() { badtext dup-images InvalidBundle 't[:-1] + ",\"images\":[]}"'; }
t_dup_image_keys() {
        badtext dup-size InvalidBundle 't.replace("\"size\":", "\"size\":1,\"size\":")' &&
                badtext dup-sha InvalidBundle 't.replace("\"sha256\":", "\"sha256\":\"" + "0" * 64 + "\",\"sha256\":", 1)' &&
                badtext dup-chunks InvalidBundle 't.replace("\"chunks\":", "\"chunks\":[],\"chunks\":")'
}
t_nesting_17() {
        badtext nest-17 InvalidBundle 't[:-1] + ",\"x\":" + "[" * 17 + "]" * 17 + "}"'
}
t_nesting_100000() {
        badtext nest-100000 InvalidBundle 't[:-1] + ",\"x\":" + "[" * 100000 + "]" * 100000 + "}"'
}
t_many_objects() { badtext objects-2000 InvalidBundle 't[:-1] + ",\"x\":[" + ",".join(["{}"] * 2000) + "]}"'; }
t_trailing_json() {
        badtext trailing-doc InvalidBundle 't + "{}"' && badtext trailing-garbage InvalidBundle 't + "x"'
}
t_not_object() { badtext array InvalidBundle '"[" + t + "]"' && badtext empty InvalidBundle '""'; }
# Over the 64 MiB limit: the signature (which holds the manifest) exceeds its limit and the
# header is refused before a byte of it is read.
t_huge_manifest() {
        mk huge --edit-text 't[:-1] + ",\"x\":\"" + "A" * (64 << 20) + "\"}"' || return 1
        sec_refused InvalidBundle updatectl install "$I/huge.bundle"
        local rc=$?
        rm -f "$I/huge.bundle"
        return $rc
}

# --- images vs payload (A12) ---------------------------------------------------------------
t_images_empty() { badfield images-empty InvalidBundle 'm["images"] = []'; }
t_images_17() {
        badfield images-17 InvalidBundle 'm["images"] = [dict(m["images"][0], slotclass="c%d" % i) for i in range(17)]'
}
t_images_dup_class() { badfield images-dup-class InvalidBundle 'm["images"].append(dict(m["images"][0]))'; }
# A second image listed for a class without a slot: refused (no target), not skipped.
t_image_without_slot() {
        badfield image-without-slot NoTargetSlot 'm["images"].append(dict(m["images"][0], slotclass="appfs"))'
}
# Image data in the payload that the manifest does not list: trailing data, and the last
# listed chunk never reaches the slot.
t_payload_not_in_manifest() {
        mk extra-image --edit-payload 'p + p' || return 1
        sec_aborted InvalidBundle updatectl install "$I/extra-image.bundle" || return 1
        expect_contains "$SEC_LAST_OUT" "trailing" "error names trailing data"
}
# An image the manifest lists but the payload does not carry: truncated.
t_manifest_image_missing() {
        mk no-payload --edit-payload 'b""' || return 1
        sec_aborted InvalidBundle updatectl install "$I/no-payload.bundle"
}

# --- chunk tables ----------------------------------------------------------------------------
t_chunk_count() {
        badfield chunks-missing InvalidBundle 'm["images"][0]["chunks"].pop()' &&
                badfield chunks-extra InvalidBundle 'm["images"][0]["chunks"].append(m["images"][0]["chunks"][0])' &&
                badfield chunks-none InvalidBundle 'm["images"][0]["chunks"] = []'
}
t_chunk_sizes() {
        badfield stored-0 InvalidBundle 'm["images"][0]["chunks"][0][0] = 0' &&
                badfield stored-raw-mismatch InvalidBundle 'm["images"][0]["chunks"][0][0] -= 1' &&
                badfield stored-2p32 InvalidBundle 'm["images"][0]["chunks"][0][0] = 2**32 + 65536' &&
                badfield stored-negative InvalidBundle 'm["images"][0]["chunks"][0][0] = -1'
}
t_chunk_hashes() {
        badfield chunk-hash-short InvalidBundle 'm["images"][0]["chunks"][0][1] = "ab"' &&
                badfield chunk-hash-upper InvalidBundle 'm["images"][0]["chunks"][0][1] = m["images"][0]["chunks"][0][1].upper()' &&
                badfield image-hash-nonhex InvalidBundle 'm["images"][0]["sha256"] = "g" * 64'
}
t_chunk_size_field() {
        badfield chunk-size-0 InvalidBundle 'm["images"][0]["chunk-size"] = 0' &&
                badfield chunk-size-1000 InvalidBundle 'm["images"][0]["chunk-size"] = 1000' &&
                badfield chunk-size-8m InvalidBundle 'm["images"][0]["chunk-size"] = 8 << 20' &&
                badfield chunk-size-odd InvalidBundle 'm["images"][0]["chunk-size"] = 65536 + 1'
}
t_compression() {
        badfield compression-gzip InvalidBundle 'm["images"][0]["compression"] = "gzip"' &&
                badfield compression-empty InvalidBundle 'm["images"][0]["compression"] = ""'
}
# Every chunk matches its signed hash but the whole-image hash does not.  The slot gets exactly
# the bytes the signed chunk table authenticates (every stored chunk hashed before it is
# decompressed, every decompressed size checked): no unauthenticated byte reaches it.  The
# whole-image hash is not recomputed (docs/bundle-format.md, "Reading a bundle"); it is the
# signer's statement of the image, recorded as the slot's checksum.
t_image_hash_wrong() {
        mk image-hash --edit 'm["images"][0]["sha256"] = "0" * 64' || return 1
        truncate -s 0 "$SB_SLOT_B" && truncate -s "$SLOT_BYTES" "$SB_SLOT_B"
        expect_ok updatectl install "$I/image-hash.bundle" || return 1
        if ! cmp -s -n "$IMG_SIZE" "$I/rand.img" "$SB_SLOT_B"; then
                TL_WHY="slot B does not hold the image the signed chunks describe"
                return 1
        fi
        grep -q "\"sha256\": *\"$(printf '0%.0s' {1..64})\"" "$SB_DATA/status.json" ||
                { TL_WHY="status.json does not record the manifest's image checksum"; return 1; }
        # Back to the starting point of the cases after this one: A primary.
        expect_ok updatectl mark-active rootfs.0
}

# --- A3/A20: 64-bit sizes --------------------------------------------------------------------
# A manifest claiming an image of SIZE bytes with a consistent chunk table (4 MiB chunks,
# compression none, hashes that would never match: the payload is never read).
SIZED='
size = SIZE; cs = 4 << 20
img = m["images"][0]
img["size"] = size; img["chunk-size"] = cs; img["sha256"] = "1" * 64
img["chunks"] = [[min(cs, size - o), "2" * 64] for o in range(0, size, cs)]'
sized() { # NAME SIZE ERRORS
        badfield "size-$1" "$3" "${SIZED//SIZE/$2}"
}
# Against the 4 MiB slot: a 32-bit truncation would turn these into 2^31-1, negative, 0, 1.
t_size_2p31m1() { sized 2p31m1 $(((1 << 31) - 1)) NoTargetSlot; }
t_size_2p31() { sized 2p31 $((1 << 31)) NoTargetSlot; }
t_size_2p32() { sized 2p32 $((1 << 32)) NoTargetSlot; }
t_size_2p32p1() { sized 2p32p1 $(((1 << 32) + 1)) NoTargetSlot; }
t_size_slot_plus_1() { sized slot-plus-1 $((SLOT_BYTES + 1)) NoTargetSlot; }
# Exactly the slot size fits: accepted, then it fails because the payload is missing.
t_size_slot_exact() {
        mk size-exact --edit "${SIZED//SIZE/$SLOT_BYTES}" --edit-payload 'b""' || return 1
        sec_aborted InvalidBundle updatectl install "$I/size-exact.bundle"
}
# size and chunk table disagree exactly by 2^32: consistent only for a 32-bit reader.
t_size_truncation_mismatch() {
        badfield size-2p32-table-1 InvalidBundle \
                'img = m["images"][0]; img["size"] = 2**32 + img["size"]' &&
                badfield size-u64max InvalidBundle 'm["images"][0]["size"] = 2**64 - 1' &&
                badfield size-2p63m1-short-table InvalidBundle 'm["images"][0]["size"] = 2**63 - 1' &&
                badfield size-0 InvalidBundle 'img = m["images"][0]; img["size"] = 0; img["chunks"] = []'
}
# The payload sum over max-bundle-size (default 8 GiB): refused before any payload is read.
t_payload_over_max() { sized over-max $(((8 << 30) + (4 << 20))) "InvalidBundle|NoTargetSlot"; }

# A slot of 2^32+2 bytes (sparse): a 2^32+1-byte image fits and is streamed (the first
# 4 MiB chunk is real and verified, then the payload ends: aborted), 2^32+3 does not fit.
t_big_slot() {
        local big=$SB/slot-b-big.img size=$(((1 << 32) + 1)) saved_b=$SB_SLOT_B
        truncate -s $(((1 << 32) + 2)) "$big" || return 1
        sb_stop_updated
        sed -i "s|^device=$SB_SLOT_B\$|device=$big|" "$SB_CONFIG"
        sb_start_updated A 2>"$SB/restart.err" || { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
        # sec_state must not hash 4 GiB of holes: point it at a stand-in for these cases.
        SB_SLOT_B=$SB/not-hashed
        "$SB_PY" -c 'import sys, random; sys.stdout.buffer.write(random.Random(7).randbytes(4 << 20))' >"$I/chunk0.img"
        local rc=0
        craft make -o "$I/big-fits.bundle" --cert "$P/signer.crt" --key "$P/signer.key" \
                --image "rootfs=$I/chunk0.img" --chunk-size $((4 << 20)) --edit "
img = m['images'][0]; first = img['chunks'][0]
img['size'] = $size; img['sha256'] = '1' * 64
img['chunks'] = [first] + [[min(4 << 20, $size - o), '2' * 64] for o in range(4 << 20, $size, 4 << 20)]" &&
                sec_aborted InvalidBundle updatectl install "$I/big-fits.bundle" &&
                expect_contains "$SEC_LAST_OUT" "truncated" "the install got as far as the payload" &&
                cmp -s -n $((4 << 20)) "$I/chunk0.img" "$big" &&
                sized big-too-large $(((1 << 32) + 3)) NoTargetSlot || rc=1
        [ $rc = 0 ] || [ -n "$TL_WHY" ] || TL_WHY="first chunk not in the big slot"
        SB_SLOT_B=$saved_b
        sb_stop_updated
        sed -i "s|^device=$big\$|device=$SB_SLOT_B|" "$SB_CONFIG"
        rm -f "$big"
        sb_start_updated A 2>"$SB/restart.err" || { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
        return $rc
}

# --- A23: anti-rollback ----------------------------------------------------------------------
t_downgrade() {
        if ! grep -l 'ERROR_DOWNGRADE' "$UPDATE1_TOP"/daemon/*.c >/dev/null 2>&1; then
                TL_SKIP_WHY="not implemented yet: security-version floor / Error.Downgrade (no daemon code raises ERROR_DOWNGRADE)"
                return 2
        fi
        # Install security-version 5, boot it, commit it (the floor rises only then), boot
        # back to A's trial... then a bundle with security-version 1 is refused, forced or not.
        mk secver-5 --edit 'm["security-version"] = 5; m["version"] = "5"' || return 1
        mk secver-1 --edit 'm["security-version"] = 1; m["version"] = "6"' || return 1
        expect_ok updatectl install "$I/secver-5.bundle" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_ok updatectl mark-good || return 1
        tl_snapshot
        expect_error "$E.Downgrade" updatectl install "$I/secver-1.bundle" || return 1
        expect_error "$E.Downgrade" updatectl install --force "$I/secver-1.bundle" || return 1
        expect_unchanged
}

sec_case control-crafted-bundles-valid t_control
sec_case filename-dotdot t_fname_dotdot
sec_case filename-absolute t_fname_absolute
sec_case filename-nul t_fname_nul
sec_case filename-control-chars t_fname_control
sec_case filename-empty-dot-slash-long t_fname_others
sec_case filename-non-utf8 t_fname_non_utf8
sec_case slotclass-path t_class_path
sec_case slotclass-near-miss t_class_case
sec_case slotclass-nul-empty t_class_nul
sec_case slotclass-without-slot t_class_unknown
sec_case compatible-trailing-space t_compat_space
sec_case compatible-nul t_compat_nul
sec_case compatible-newline t_compat_newline
sec_case compatible-empty t_compat_empty
sec_case version-300-chars-build-control t_version_long
sec_case description-too-long t_description_long
sec_case security-version-out-of-range t_secver
sec_case format-field t_format
sec_case duplicate-top-level-keys t_dup_top
sec_case duplicate-images-key t_dup_images
sec_case duplicate-image-keys t_dup_image_keys
sec_case nesting-17 t_nesting_17
sec_case nesting-100000 t_nesting_100000
sec_case objects-2000 t_many_objects
sec_case trailing-data-after-json t_trailing_json
sec_case manifest-not-an-object t_not_object
sec_case manifest-over-64mib t_huge_manifest
sec_case images-empty t_images_empty
sec_case images-17 t_images_17
sec_case images-duplicate-class t_images_dup_class
sec_case image-class-without-slot t_image_without_slot
sec_case payload-image-not-in-manifest t_payload_not_in_manifest
sec_case manifest-image-not-in-payload t_manifest_image_missing
sec_case chunk-count-mismatch t_chunk_count
sec_case chunk-stored-sizes t_chunk_sizes
sec_case chunk-hash-format t_chunk_hashes
sec_case chunk-size-field t_chunk_size_field
sec_case compression-unknown t_compression
sec_case image-hash-wrong t_image_hash_wrong
sec_case size-2^31-1 t_size_2p31m1
sec_case size-2^31 t_size_2p31
sec_case size-2^32 t_size_2p32
sec_case size-2^32+1 t_size_2p32p1
sec_case size-slot-plus-1 t_size_slot_plus_1
sec_case size-slot-exact t_size_slot_exact
sec_case size-table-mismatch-64bit t_size_truncation_mismatch
sec_case payload-over-max-bundle-size t_payload_over_max
sec_case big-slot-2^32+2 t_big_slot
sec_case downgrade-below-floor t_downgrade
