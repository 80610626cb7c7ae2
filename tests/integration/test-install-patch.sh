#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The patches of format-2 bundles (issue #13 item 4, daemon/delta-patch.c): first a factory
# device, v1 written straight into its booted slot A with no status record, picks the patch set
# by its old regions and installs v2 into slot B with patches; then the device runs v1 from slot
# B (installed and booted here, so its status record holds v1's image hash); a bundle of v2 made
# with `--patch-from rootfs=v1` installs into slot A from a file and from nginx with Range, and
# fetches fewer bytes than the same bundle without patches; a set only for a release the device
# never ran gives the patches whose old regions the slot holds and no more, one whose regions
# match nothing reads no patch byte; a booted slot whose old region changed, patch bytes
# corrupted on the server, a patch re-signed so that its bytes hash right but decode wrong or to
# the wrong data, all fall back to the plain chunks and still write exactly v2; a pipe streams
# past the patch data.  All real: updated on the sandbox bus, `updatectl bundle create`, nginx,
# file-backed slots.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/delta-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl
tl_setup A

W=$SB/www
mkdir -p "$W"
chmod 0755 "$W"
# v1: 8 MiB of random bytes (incompressible: stored bytes = raw bytes).  v2: v1 with every 97th
# byte changed in three 64 KiB regions and 10 KiB inserted at 5 MiB: new chunks that are mostly
# old bytes, what a patch is for.  other: a release this device never ran, v1 with another
# region changed (so that the bundle does carry useful patches from it) and the one at 3 MiB
# changed otherwise than v2 (so that its patch there is against bytes the device does not
# hold).  unrelated: v1 changed otherwise around every place v2 changed, so that every patch
# from it needs an old region the device does not hold.  The bytes come from a
# fixed seed: where the chunker cuts depends on them, and patch-corrupt-data-falls-back needs
# the last patch to cover more than one chunk (with fresh random bytes, 1 run in ~17 it did not).
"$SB_PY" - "$SB" <<'EOF' || exit 1
import random, sys
d = sys.argv[1]
rng = random.Random(13)
v1 = bytearray(rng.randbytes(8 << 20))
v2 = bytearray(v1)
for off in (1 << 20, 3 << 20, 7 << 20):
    for i in range(off, off + 65536, 97):
        v2[i] ^= 0x55
v2 = v2[:5 << 20] + rng.randbytes(10240) + v2[5 << 20:]
open(d + "/v1.img", "wb").write(v1)
open(d + "/v2.img", "wb").write(v2)
# mixed: v2 with 1.4 MiB of new random bytes from 3.5 MiB, between the patched regions: a
# patch piece (512 KiB below) of random bytes only is no smaller than its chunks and is not
# kept, so those chunks are a chunk range among the patches.
open(d + "/mixed.img", "wb").write(v2[:7 << 19] + rng.randbytes(1400 << 10) + v2[(7 << 19) + (1400 << 10):])
other = bytearray(v1)
for i in range(2 << 20, (2 << 20) + 65536, 89):
    other[i] ^= 0x33
for i in range((3 << 20) + 50, (3 << 20) + 65536, 97):
    other[i] ^= 0x33
open(d + "/other.img", "wb").write(other)
unrelated = bytearray(v1)
for lo, hi in ((1 << 20, (1 << 20) + 65536), (3 << 20, (3 << 20) + 65536), ((5 << 20) - 65536, (5 << 20) + 65536),
               (7 << 20, (7 << 20) + 65536)):
    for i in range(lo + 50, hi, 97):
        unrelated[i] ^= 0x21
open(d + "/unrelated.img", "wb").write(unrelated)
# near2 and near6: v1 with one region changed where v2 did not change it, so that their patches
# for v2's runs are against bytes v1 holds: two sets that plan the same chunks.
for name, off in (("near2", 2 << 20), ("near6", 6 << 20)):
    near = bytearray(v1)
    for i in range(off, off + 65536, 89):
        near[i] ^= 0x33
    open(d + "/" + name + ".img", "wb").write(near)
EOF
sb_bundle "$W/v1.bundle" 1 "$SB/v1.img" "" "" --format 2 || exit 1
sb_bundle "$W/plain.bundle" 2 "$SB/v2.img" "" "" --format 2 || exit 1
# The set for v1 second: the device picks by source hash, not by position.
sb_bundle "$W/patched.bundle" 2 "$SB/v2.img" "" "" --format 2 --patch-from "rootfs=$SB/other.img" \
        --patch-from "rootfs=$SB/v1.img" --patch-window 512K || exit 1
sb_bundle "$W/mixed.bundle" 2 "$SB/mixed.img" "" "" --format 2 --patch-from "rootfs=$SB/v1.img" \
        --patch-window 512K || exit 1
sb_bundle "$W/other.bundle" 2 "$SB/v2.img" "" "" --format 2 --patch-from "rootfs=$SB/other.img" || exit 1
sb_bundle "$W/several.bundle" 2 "$SB/v2.img" "" "" --format 2 --patch-from "rootfs=$SB/near2.img" \
        --patch-from "rootfs=$SB/other.img" --patch-from "rootfs=$SB/near6.img" || exit 1
sb_bundle "$W/unrelated.bundle" 2 "$SB/v2.img" "" "" --format 2 --patch-from "rootfs=$SB/unrelated.img" || exit 1
chmod 0644 "$W"/*
sb_start_nginx "$W" 2>"$SB/nginx.err" || { fail "$TL_FILE-nginx" "$(cat "$SB/nginx.err")"; exit 1; }

# What an install read of the bundle besides its head: chunk ranges and patches.
read_bytes() { echo $(($(delta_summary fetched_bytes) + $(delta_summary patch_bytes))); }

# Slot A (the target) gets garbage, so only slot B (v1) and the bundle can give v2.
fresh_target() { head -c 16M /dev/urandom >"$SB_SLOT_A"; }

installed_v2() { delta_slot_holds "$SB/v2.img" "$SB_SLOT_A" rootfs.0 && expect_boots A; }

# install_v2 BUNDLE: into a fresh slot A, which then holds exactly v2.
install_v2() {
        fresh_target
        expect_ok updatectl install "$1" || return 1
        installed_v2
}

# choice SLOT: the daemon's last line naming the set it picked by the old regions of SLOT.
choice() { grep -o "Image rootfs: using patch set [0-9]* for slot $1, which .*" "$SB/updated.log" | tail -n 1; }

# A factory device: v1 written into the booted slot A by hand, so no status record names it.
# No set's source matches (there is nothing to match): each set is checked by its old regions,
# and the set for v1 plans more chunks than the one for other (whose patch at 3 MiB needs bytes
# v1 does not have), though it comes second.  Slot B gets exactly v2.
t_factory() {
        local line
        expect_booted A || return 1
        expect_slot rootfs.0 '["checksum"].get("sha256")' null || return 1
        dd if="$SB/v1.img" of="$SB_SLOT_A" conv=notrunc status=none || return 1
        expect_ok updatectl install "$W/patched.bundle" || return 1
        delta_slot_holds "$SB/v2.img" "$SB_SLOT_B" rootfs.1 || return 1
        expect_boots B || return 1
        [ "$(delta_summary patches)" -ge 3 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        grep -q 'Image rootfs: slot rootfs.0 has no recorded image hash: checking the old regions of the bundle.s 2 patch sets against it' "$SB/updated.log" ||
                { TL_WHY="no log line about the missing record"; return 1; }
        line=$(choice rootfs.0)
        [[ "$line" == *"using patch set 1 for slot rootfs.0, which has no recorded image hash: "* ]] || { TL_WHY="not the set for v1: ${line:-no log line about the choice}"; return 1; }
        tl_diag "factory slot: $line"
}

# v1 into slot B, boot it, mark it good: from now on B is the booted slot whose record says v1.
t_boot_v1() {
        expect_ok updatectl install "$W/v1.bundle" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        expect_slot rootfs.1 '["checksum"]["sha256"]' "$(sha256sum <"$SB/v1.img" | cut -c1-64)"
}

PLAIN_READ=
PATCHED_FETCHED=
PATCHED_CHUNKS=
t_file_plain() {
        fresh_target
        expect_ok updatectl install "$W/plain.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_summary patches)" 0 "patches applied without patches" || return 1
        PLAIN_READ=$(read_bytes)
}

t_file_patched() {
        local hwm
        fresh_target
        expect_ok updatectl install "$W/patched.bundle" || return 1
        installed_v2 || return 1
        [ "$(delta_summary patches)" -ge 3 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        [ "$(delta_summary patched_chunks)" -ge "$(delta_summary patches)" ] || { TL_WHY="patched_chunks=$(delta_summary patched_chunks)"; return 1; }
        [ -n "$PLAIN_READ" ] || { TL_WHY="no figure of the bundle without patches"; return 1; }
        # The changed chunks are most of what the plain install fetched; their patches are a
        # few KiB each.
        [ "$(read_bytes)" -le $((PLAIN_READ / 4)) ] ||
                { TL_WHY="read $(read_bytes) bytes with patches, $PLAIN_READ without"; return 1; }
        PATCHED_FETCHED=$(delta_summary fetched_chunks)
        PATCHED_CHUNKS=$(delta_summary patched_chunks)
        hwm=$(grep VmHWM "/proc/$(sb_updated_pid)/status" 2>/dev/null)
        tl_diag "patched install from a file: read $(read_bytes) bytes, $PLAIN_READ without patches; updated $hwm"
}

t_url_patched() {
        local ranges bytes
        fresh_target
        : >"$SB/nginx/ranges.log"
        expect_ok updatectl install "$SB_HTTP_URL/patched.bundle" || return 1
        installed_v2 || return 1
        [ "$(delta_summary patches)" -ge 3 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        [ "$(read_bytes)" -le $((PLAIN_READ / 4)) ] ||
                { TL_WHY="read $(read_bytes) bytes with patches, $PLAIN_READ without"; return 1; }
        ranges=$(awk '$3 == "/patched.bundle"' "$SB/nginx/ranges.log" | wc -l)
        bytes=$(awk '$3 == "/patched.bundle" { s += $2 } END { print s + 0 }' "$SB/nginx/ranges.log")
        expect_eq "$(awk '$3 == "/patched.bundle" && $1 != 206' "$SB/nginx/ranges.log" | wc -l)" 0 "answers other than 206" || return 1
        # The stream's first request, the probe, one request per range (each under 2 MiB).
        expect_eq "$ranges" $(($(delta_summary ranges) + 2)) "requests (ranges + the stream + the probe)" || return 1
        [ "$bytes" -le $(($(read_bytes) + 1048576 + 1)) ] ||
                { TL_WHY="nginx sent $bytes bytes, the daemon read $(read_bytes) + the first MiB"; return 1; }
        tl_diag "nginx: $ranges requests, $bytes bytes of $(stat -c %s "$W/patched.bundle")"
}

# Patches and a chunk range in between, over http: they take turns in the daemon's one
# read-ahead window (daemon/delta-window.c), and the patches read ahead only up to the chunks
# the range gives, so no byte of the patch data is read twice (with a read-ahead over all the
# patches, the range drops it and the patches after it are read again).
t_url_mixed() {
        local data sha
        fresh_target
        expect_ok updatectl install "$SB_HTTP_URL/mixed.bundle" || return 1
        cmp -s -n "$(stat -c %s "$SB/mixed.img")" "$SB/mixed.img" "$SB_SLOT_A" || { TL_WHY="slot A does not hold mixed.img"; return 1; }
        sha=$(sha256sum <"$SB/mixed.img" | cut -c1-64)
        expect_slot rootfs.0 '["checksum"]["sha256"]' "$sha" || return 1
        [ "$(delta_summary patches)" -ge 3 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        [ "$(delta_summary fetched_chunks)" -ge 1 ] || { TL_WHY="no chunk fetched: nothing between the patches"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        data=$(updatectl bundle info --keyring "$SB/pki/ca.crt" --json "$W/mixed.bundle" |
                "$SB_PY" -c 'import json, sys; print(sum(s["data-size"] for i in json.load(sys.stdin)["images"] for s in i.get("patch-sets", [])))') || return 1
        [ "$(delta_summary patch_bytes)" -le "$data" ] ||
                { TL_WHY="read $(delta_summary patch_bytes) bytes of patches, the bundle has $data"; return 1; }
        tl_diag "mixed: $(delta_summary patches) patches ($(delta_summary patch_bytes) of $data bytes), $(delta_summary fetched_chunks) chunks ($(delta_summary fetched_bytes) bytes)"
}

# patch_entry BUNDLE SET ENTRY FIELD: a field of a patch table entry, read from the file by the
# layout of docs/bundle-format.md (old_offset, old_size, first_chunk).
patch_entry() {
        updatectl bundle info --keyring "$SB/pki/ca.crt" --json "$1" |
                "$SB_PY" -c '
import json, struct, sys
path, set_, entry, field = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
img = json.load(sys.stdin)["images"][0]
with open(path, "rb") as f:
    head = f.read(32)
    sig = struct.unpack("<Q", head[16:24])[0]
    off = 32 + sig + 72 * img["chunk-count"]
    for s in img["patch-sets"][:set_]:
        off += 96 * s["entry-count"]
    f.seek(off + 96 * entry)
    e = f.read(96)
first, count, raw, old_off, old_size, psize = struct.unpack("<QIIQII", e[:32])
print({"first_chunk": first, "old_offset": old_off, "old_size": old_size}[field])
' "$1" "$2" "$3" "$4"
}

# Slot B no longer holds patch 0's old region (a byte flipped in its middle): that patch is not
# used, its chunks are fetched, slot A is still exactly v2.
t_region_changed() {
        local off size at
        off=$(patch_entry "$W/patched.bundle" 1 0 old_offset) size=$(patch_entry "$W/patched.bundle" 1 0 old_size)
        [ -n "$off" ] && [ -n "$size" ] || { TL_WHY="cannot read patch 0 of the bundle"; return 1; }
        at=$((off + size / 2))
        fresh_target
        sb_flip_byte "$SB_SLOT_B" "$at" || return 1
        expect_ok updatectl install "$W/patched.bundle"
        sb_flip_byte "$SB_SLOT_B" "$at" || return 1
        [ "$TL_RC" = 0 ] || { TL_WHY="install failed: $(_tl_out_excerpt)"; return 1; }
        installed_v2 || return 1
        grep -q 'Image rootfs: 1 patches of set 1 are not used: slot rootfs.1 does not hold their old regions any more' "$SB/updated.log" ||
                { TL_WHY="no log line about the changed region"; return 1; }
        [ "$(delta_summary patches)" -ge 2 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back after planning"
}

# Slot B's old region of patch 0 changes after the daemon planned the patch (it checked the
# region then) and before it applies it (the gate holds the fetch): the region is re-hashed
# before zstd sees it, the patch falls back to its chunks, slot A is still exactly v2.
t_region_changed_after_plan() {
        local off size at before pid i rc
        off=$(patch_entry "$W/patched.bundle" 1 0 old_offset) size=$(patch_entry "$W/patched.bundle" 1 0 old_size)
        [ -n "$off" ] && [ -n "$size" ] || { TL_WHY="cannot read patch 0 of the bundle"; return 1; }
        at=$((off + size / 2))
        fresh_target
        start_gate || return 1
        before=$(grep -c 'to fetch in' "$SB/updated.log")
        updatectl install "$GATE_URL/patched.bundle" >"$SB/gated.out" 2>&1 &
        pid=$!
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ "$(grep -c 'to fetch in' "$SB/updated.log")" -gt "$before" ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.02
        done
        sb_flip_byte "$SB_SLOT_B" "$at"
        touch "$SB/gate"
        wait "$pid"
        rc=$?
        sb_flip_byte "$SB_SLOT_B" "$at" || return 1
        [ "$rc" = 0 ] || { TL_WHY="install failed: $(head -c 300 "$SB/gated.out")"; return 1; }
        installed_v2 || return 1
        expect_eq "$(delta_summary patches_failed)" 1 "patches that fell back" || return 1
        grep -q 'Patch 0 of image rootfs (chunks [0-9]*\.\.[0-9]*, slot rootfs.1 at offset '"$off"'): the slot.s old region changed since it was checked; fetching its chunks' "$SB/updated.log" ||
                { TL_WHY="no log line about the region that changed"; return 1; }
}

# A bundle whose only patch set is for a release this device does not run (its record names
# v1): the set is checked by its old regions, and the patches whose regions slot B holds are
# used; the one at 3 MiB needs bytes of the other release and is not, so fewer chunks come from
# patches than with the set for v1.  Slot A still gets exactly v2.
t_other_release() {
        expect_eq "$(updatectl bundle info --keyring "$SB/pki/ca.crt" --json "$W/other.bundle" |
                sb_json 'len(d["images"][0]["patch-sets"])')" 1 "patch sets in the bundle" || return 1
        install_v2 "$W/other.bundle" || return 1
        [ "$(delta_summary patches)" -ge 1 ] || { TL_WHY="patches=$(delta_summary patches)"; return 1; }
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        [ -n "$PATCHED_CHUNKS" ] || { TL_WHY="no figure of the install with the set for v1"; return 1; }
        [ "$(delta_summary patched_chunks)" -lt "$PATCHED_CHUNKS" ] ||
                { TL_WHY="patched_chunks=$(delta_summary patched_chunks), $PATCHED_CHUNKS with the set for v1"; return 1; }
        [ "$(read_bytes)" -lt "$PLAIN_READ" ] || { TL_WHY="read $(read_bytes) bytes, $PLAIN_READ without patches"; return 1; }
        [[ "$(choice rootfs.1)" == *"using patch set 0 for slot rootfs.1, which runs a release the bundle has no patch set for: it plans the most chunks"* ]] ||
                { TL_WHY="no log line naming the set and why: $(choice rootfs.1)"; return 1; }
        tl_diag "other release: patched_chunks=$(delta_summary patched_chunks) (with the set for v1: $PATCHED_CHUNKS), read $(read_bytes) bytes, $PLAIN_READ without patches"
}

# Three sets, none for v1: near2 and near6 plan the same chunks, other fewer (its patch at
# 3 MiB is against bytes v1 lacks).  The first of equals is used, and the sets after it, which
# cannot plan more, stop before reading a region.
t_several_sets() {
        local line
        install_v2 "$W/several.bundle" || return 1
        expect_eq "$(delta_summary patches_failed)" 0 "patches that fell back" || return 1
        line=$(choice rootfs.1)
        [[ "$line" == *"using patch set 0 "* ]] || { TL_WHY="not the first of equals: ${line:-no log line about the choice}"; return 1; }
        expect_eq "$(grep -c 'Image rootfs: patch set [12] (source [0-9a-f]*\.\.\.): 0 of 0 regions read match slot rootfs.1, 0 chunks; stopped, it cannot plan more than the best set' "$SB/updated.log")" 2 \
                "sets after the first that stopped before reading" || return 1
        [ "$(delta_summary patched_chunks)" -eq "$PATCHED_CHUNKS" ] ||
                { TL_WHY="patched_chunks=$(delta_summary patched_chunks), $PATCHED_CHUNKS with the set for v1"; return 1; }
        tl_diag "several sets: $line"
}

# A set whose old regions the device holds none of: every candidate region is read and hashed
# (in the page cache after seeding), none matches, and nothing of the patch data is read: the
# install reads what it reads without patches.
t_unrelated_release() {
        local line
        install_v2 "$W/unrelated.bundle" || return 1
        expect_eq "$(delta_summary patches)" 0 "patches applied" || return 1
        expect_eq "$(delta_summary patch_bytes)" 0 "patch bytes read" || return 1
        expect_eq "$(read_bytes)" "$PLAIN_READ" "bytes read, as without patches" || return 1
        line=$(grep -o 'Image rootfs: patch set 0 (source [0-9a-f]*\.\.\.): 0 of [0-9]* regions read match slot rootfs.1, 0 chunks' "$SB/updated.log" | tail -n 1)
        [ -n "$line" ] || { TL_WHY="no log line about the regions of set 0"; return 1; }
        # Regions were read: the case checks them, not a set with no candidate.
        [[ "$line" != *": 0 of 0 regions"* ]] || { TL_WHY="no region was a candidate: $line"; return 1; }
        grep -q 'Image rootfs: no old region of the 1 patch sets matches slot rootfs.1 (.*); using chunks only' "$SB/updated.log" ||
                { TL_WHY="no log line saying no set is used"; return 1; }
        tl_diag "unrelated release: $line"
}

# The server's copy has one byte of the last patch changed: its signed hash catches it before
# zstd sees it, the chunks are fetched instead, and nothing wrong reaches the slot.
t_corrupt_patch_data() {
        local line first last
        cp "$W/patched.bundle" "$W/corrupt.bundle"
        sb_flip_byte "$W/corrupt.bundle" $(($(stat -c %s "$W/corrupt.bundle") - 20)) || return 1
        chmod 0644 "$W/corrupt.bundle"
        fresh_target
        expect_ok updatectl install "$SB_HTTP_URL/corrupt.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_summary patches_failed)" 1 "patches that fell back" || return 1
        line=$(grep -o 'Patch [0-9]* of image rootfs (chunks [0-9]*\.\.[0-9]*, slot rootfs.1 at offset [0-9]*): its bytes do not match the signed sha256; fetching its chunks' "$SB/updated.log" | tail -n 1)
        [ -n "$line" ] || { TL_WHY="no log line about the corrupted patch"; return 1; }
        # Its chunks (more than one) come in one request, not one each: the probe, the stream,
        # the planned ranges and that one.
        read -r first last < <(sed 's/.*(chunks \([0-9]*\)\.\.\([0-9]*\),.*/\1 \2/' <<<"$line")
        [ "$last" -gt "$first" ] || { TL_WHY="the corrupted patch gives one chunk: nothing to coalesce"; return 1; }
        expect_eq "$(awk '$3 == "/corrupt.bundle"' "$SB/nginx/ranges.log" | wc -l)" $(($(delta_summary ranges) + 3)) \
                "requests (ranges + the stream + the probe + the fallen back chunks)" || return 1
        tl_diag "corrupt patch: chunks $first..$last fetched in one request"
}

# t_resigned MODE LOG_TEXT: the last patch rewritten by tests/lib/tamper_patch.py MODE and the
# bundle signed again by the real signer, so its bytes match their signed sha256 and only the
# device's later checks can catch it (the test keeps the signing key; updatectl has no way to
# write such a bundle).  Installed from nginx with Range: slot A still gets exactly v2, the
# daemon logs the fallback for that patch and fetches its chunks instead.
t_resigned() {
        local mode=$1 why=$2 out
        out=$("$SB_PY" "$UPDATE1_TOP/tests/lib/tamper_patch.py" "$W/patched.bundle" "$W/$mode.bundle" "$mode" \
                "$SB/pki/signer.crt" "$SB/pki/signer.key" 2>&1) || { TL_WHY="tamper_patch.py: $out"; return 1; }
        chmod 0644 "$W/$mode.bundle"
        updatectl bundle info --keyring "$SB/pki/ca.crt" "$W/$mode.bundle" >/dev/null 2>&1 ||
                { TL_WHY="the re-signed bundle does not verify: $(updatectl bundle info --keyring "$SB/pki/ca.crt" "$W/$mode.bundle" 2>&1 | head -c 300)"; return 1; }
        fresh_target
        expect_ok updatectl install "$SB_HTTP_URL/$mode.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_summary patches_failed)" 1 "patches that fell back" || return 1
        [ "$(delta_summary patches)" -ge 2 ] || { TL_WHY="patches=$(delta_summary patches): the other patches were not used"; return 1; }
        grep -q "Patch [0-9]* of image rootfs (chunks [0-9]*\.\.[0-9]*, slot rootfs.1 at offset [0-9]*): $why; fetching its chunks" "$SB/updated.log" ||
                { TL_WHY="no log line '$why' ($out)"; return 1; }
        # The patch's chunks came from the bundle instead: more chunks fetched than with every
        # patch good.
        [ -n "$PATCHED_FETCHED" ] || { TL_WHY="no figure of the install with good patches"; return 1; }
        [ "$(delta_summary fetched_chunks)" -gt "$PATCHED_FETCHED" ] ||
                { TL_WHY="fetched_chunks=$(delta_summary fetched_chunks), $PATCHED_FETCHED with good patches"; return 1; }
        tl_diag "$mode ($out): fetched_chunks=$(delta_summary fetched_chunks) against $PATCHED_FETCHED with good patches"
}
t_patch_garbage() { t_resigned garbage "it does not decode to its size"; }
t_patch_wrong_data() { t_resigned wrong-data "a chunk it decodes to does not match its signed raw sha256"; }

# From a pipe the bundle streams front to back: the patch tables are checked, the patch data is
# read past after the payload, the slot gets v2.
t_pipe() {
        local before
        fresh_target
        before=$(delta_lines)
        expect_ok sh -c 'cat "$1" | updatectl install -' sh "$W/patched.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_lines)" "$before" "delta summaries after a pipe install"
}

tl_case patch-factory-slot-by-regions t_factory
tl_case patch-boot-v1 t_boot_v1
tl_case patch-file-without-patches t_file_plain
tl_case patch-file-fetches-less t_file_patched
tl_case patch-url-fetches-less t_url_patched
tl_case patch-url-chunks-between-patches t_url_mixed
tl_case patch-region-changed-falls-back t_region_changed
tl_case patch-region-changed-after-plan t_region_changed_after_plan
tl_case patch-other-release-matching-regions t_other_release
tl_case patch-several-sets-first-of-equals t_several_sets
tl_case patch-unrelated-release-reads-no-patch t_unrelated_release
tl_case patch-corrupt-data-falls-back t_corrupt_patch_data
tl_case patch-resigned-garbage-falls-back t_patch_garbage
tl_case patch-resigned-wrong-data-falls-back t_patch_wrong_data
tl_case patch-pipe-streams t_pipe
