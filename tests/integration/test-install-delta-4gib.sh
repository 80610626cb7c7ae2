#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A delta install of an image over 4 GiB (issue #13's test list): every offset on the way from
# `updatectl bundle create` through seeding, planning, ranged fetching and writing is 64-bit.
# v1 and v2 are sparse 4 GiB + 1 MiB images, zeros but for a few 64 KiB regions of random
# bytes: v2 changes two of v1's, among them one right across the 4 GiB boundary, and adds one.
# The booted slot A holds v1, the target B v0 (an older release); both are sparse files.
# The install writes all of the image, zeros included (nothing punches holes), so slot B
# takes 4 GiB of disk for the seconds between the install and its removal: about 2 s of
# O_DIRECT writing on a virtio disk; a slot that drops zeros (dm-zero) needs device-mapper,
# which test machines may lack.  The test skips where less than 6 GiB is free, and with
# UPDATE1_TEST_BIG=0 (as the unit tests' 5 GiB bundles).  Everything else stays sparse and is
# checked to.  About 60 s on 2 busy cores: the bundle's chunker over 4 GiB (~16 s), the
# daemon's over both slots (~27 s), hashing.  Real parts: updated on the sandbox bus, `updatectl
# bundle create`, nginx with Range.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl openssl
if [ "${UPDATE1_TEST_BIG:-1}" = 0 ]; then
        skip "$TL_FILE" "UPDATE1_TEST_BIG=0: 4 GiB images"
        exit 0
fi
tl_setup A

MIB=1048576
SIZE=$((4097 * MIB))                                   # 4 GiB + 1 MiB
W=$SB/www
mkdir -p "$W" && chmod 0755 "$W"

# region FILE OFFSET SEED: 64 KiB of reproducible pseudo-random bytes at OFFSET.
region() {
        openssl enc -aes-128-ctr -nosalt -pass "pass:$3" -pbkdf2 </dev/zero 2>/dev/null | head -c 65536 |
                dd of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none
}
make_image() { # FILE REGION...: sparse SIZE bytes, REGION = OFFSET:SEED
        local r
        rm -f "$1" && truncate -s "$SIZE" "$1" || return 1
        for r in "${@:2}"; do region "$1" "${r%%:*}" "${r#*:}" || return 1; done
}
G4=$((4096 * MIB))
# v0 (slot B's older release), v1 (slot A), v2 (the bundle): 1 MiB in stays; 2 GiB changes;
# 3 GiB is new in v2; the region across the 4 GiB boundary changes; the last 64 KiB stays.
make_image "$SB/v0.img" "$MIB:r1" "$((G4 - 32768)):r0" || exit 1
make_image "$SB/v1.img" "$MIB:r1" "$((2048 * MIB)):a1" "$((G4 - 32768)):b1" "$((SIZE - 65536)):e1" || exit 1
make_image "$SB/v2.img" "$MIB:r1" "$((2048 * MIB)):a2" "$((3072 * MIB)):c2" "$((G4 - 32768)):b2" \
        "$((SIZE - 65536)):e1" || exit 1
V2_SHA=$(openssl dgst -sha256 -r "$SB/v2.img" | cut -c1-64)

setup() {
        local free
        free=$(df -Pk "$SB" | awk 'NR == 2 { print $4 }')
        if [ "$free" -lt $((6 * 1024 * 1024)) ]; then
                skip "$TL_FILE" "$((free / 1024)) MiB free in $SB: the target slot takes 4 GiB"
                exit 0
        fi
        cp --sparse=always "$SB/v1.img" "$SB/slot-a-big.img" &&
                truncate -s "$SIZE" "$SB/slot-b-big.img" || exit 1
        sb_stop_updated
        SB_SLOT_A=$SB/slot-a-big.img SB_SLOT_B=$SB/slot-b-big.img sb_write_config "$SB_CONFIG" || exit 1
        sb_start_updated A 2>"$SB/start.err" ||
                { fail "$TL_FILE-setup" "updated with the big slots: $(cat "$SB/start.err")"; exit 1; }
}
setup
SLOT_B=$SB/slot-b-big.img

summary() {
        grep 'Delta install of image rootfs done:' "$SB/updated.log" | tail -n 1 | grep -o "\b$1=[0-9]*" | cut -d= -f2
}

t_bundle() {
        local start=$SECONDS
        sb_bundle "$W/v2.bundle" 2 "$SB/v2.img" "" "" --format 2 || { TL_WHY="bundle create failed"; return 1; }
        chmod 0644 "$W/v2.bundle"
        tl_diag "bundle of the 4 GiB + 1 MiB image: $(stat -c %s "$W/v2.bundle") bytes in $((SECONDS - start)) s"
}

# Installed from nginx with Range: slot B holds v2 (hash and status), and the daemon fetched
# only the chunks of the three changed regions, none of the rest.
t_url() {
        local start fetched chunks reused ranges
        [ -s "$W/v2.bundle" ] || { TL_WHY="no bundle"; return 1; }
        cp --sparse=always "$SB/v0.img" "$SLOT_B" || { TL_WHY="cannot write v0 into slot B"; return 1; }
        sb_start_nginx "$W" 2>"$SB/nginx.err" || { TL_WHY="nginx: $(cat "$SB/nginx.err")"; return 1; }
        : >"$SB/nginx/ranges.log"
        start=$SECONDS
        expect_ok updatectl install "$SB_HTTP_URL/v2.bundle" || return 1
        tl_diag "install: $((SECONDS - start)) s; $(grep 'Delta install of image rootfs into' "$SB/updated.log" | tail -n 1 | sed 's/.*: //')"
        expect_eq "$(openssl dgst -sha256 -r "$SLOT_B" | cut -c1-64)" "$V2_SHA" "slot B's sha256" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_slot rootfs.1 '["checksum"]["sha256"]' "$V2_SHA" || return 1
        expect_slot rootfs.1 '["checksum"]["size"]' "$SIZE" || return 1
        fetched=$(summary fetched_bytes) chunks=$(summary chunks) ranges=$(summary ranges)
        reused=$(($(summary reused_booted_chunks) + $(summary reused_target_chunks)))
        [ -n "$fetched" ] && [ -n "$chunks" ] || { TL_WHY="no delta summary in updated.log"; return 1; }
        tl_diag "$(grep 'Delta install of image rootfs done:' "$SB/updated.log" | tail -n 1 | sed 's/.*done: //')"
        # Three changed 64 KiB regions of random bytes, each in one run of a few chunks (zeros have
        # no cut points: up to a largest chunk, 256 KiB by default, of zeros on each side), and
        # where an unchanged region follows a changed one, the chunk that starts it: the zeros
        # before it are cut at other points than in v1 (here the last region: a 4th range).
        # A few more chunks than that means seeding failed somewhere over the 4 GiB.
        [ "$ranges" -ge 3 ] && [ "$ranges" -le 6 ] || { TL_WHY="$ranges ranges for 3 changed regions"; return 1; }
        [ "$(summary fetched_chunks)" -le 12 ] || { TL_WHY="$(summary fetched_chunks) chunks fetched"; return 1; }
        [ "$fetched" -ge $((3 * 65536)) ] && [ "$fetched" -le $((3 * MIB)) ] ||
                { TL_WHY="$fetched bytes fetched for 3 changed regions of 64 KiB"; return 1; }
        expect_eq "$reused" "$((chunks - $(summary fetched_chunks)))" "chunks reused (all but the fetched)" || return 1
        # nginx's view: the stream's requests (its first MiB, then the rest of the 1.2 MB chunk
        # table: 16 K chunks), the one-byte probe, one request per planned range, all 206.  (Its
        # byte count is no measure here: the whole 2 MB bundle fits in the socket buffers of the
        # stream's request before it is closed.)
        tl_diag "nginx: $(awk '$3 == "/v2.bundle" { printf "%s %s %s; ", $1, $2, $4 }' "$SB/nginx/ranges.log")"
        expect_eq "$(awk '$3 == "/v2.bundle" && $1 != 206' "$SB/nginx/ranges.log" | wc -l)" 0 "answers other than 206" || return 1
        [ "$(awk '$3 == "/v2.bundle"' "$SB/nginx/ranges.log" | wc -l)" -le $((ranges + 3)) ] ||
                { TL_WHY="more requests than the ranges, the probe and the stream's two"; return 1; }
        # Disk: all but slot B sparse (B, written whole, is 4 GiB until the sandbox goes).
        tl_diag "disk used: slot B $(du -sh "$SLOT_B" | cut -f1), all else $(du -sh --exclude=slot-b-big.img "$SB" | cut -f1)"
        [ "$(du -sk --exclude=slot-b-big.img "$SB" | cut -f1)" -lt $((128 * 1024)) ] ||
                { TL_WHY="the sandbox but slot B uses $(du -sh --exclude=slot-b-big.img "$SB" | cut -f1)"; return 1; }
        rm -f "$SLOT_B"
}

tl_case bundle-over-4gib t_bundle
tl_case delta-url-over-4gib t_url
