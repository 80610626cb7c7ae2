#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bundle format 2 (content-defined chunks, binary chunk table; docs/bundle-format.md "Format 2")
# through the same install path and slot transitions as format 1, from a file, a pipe and an
# http URL served by nginx; a table changed after signing is refused before anything is
# written, a changed chunk mid-stream leaves the target failed and the booted slot untouched.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl
tl_setup A

E=org.example.Update1.Error
W=$SB/www
mkdir -p "$W"
chmod 0755 "$W"
sb_make_ext4 "$SB/v2.ext4" 8M 2 && sb_bundle "$W/v2.bundle" 2 "$SB/v2.ext4" "" "" --format 2 || exit 1
sb_make_ext4 "$SB/v3.ext4" 8M 3 && sb_bundle "$W/v3.bundle" 3 "$SB/v3.ext4" "" "" --format 2 || exit 1
# The table is the first thing after the signature; a byte in its first entry's raw hash.
cp "$W/v2.bundle" "$W/table.bundle"
sb_flip_byte "$W/table.bundle" $(($(sb_payload_offset "$W/v2.bundle") + 10)) || exit 1
# A byte in the middle of the file: inside the stored chunks of the 512 KiB random blob, which
# nearly all of the payload is and no slot holds, so a delta install must fetch it too (the
# zeros of the last chunk it would take from slot A and never read the flipped byte).
cp "$W/v3.bundle" "$W/chunk.bundle"
sb_flip_byte "$W/chunk.bundle" $(($(stat -c %s "$W/chunk.bundle") / 2)) || exit 1
chmod 0644 "$W"/*
A_SHA=$(sha256sum <"$SB_SLOT_A" | cut -c1-64)
head -c 16M /dev/urandom >"$SB_SLOT_B"
sb_start_nginx "$W" 2>"$SB/nginx.err" || { fail "$TL_FILE-nginx" "$(cat "$SB/nginx.err")"; exit 1; }

installed() { # image version
        local size
        size=$(stat -c %s "$1")
        cmp -s -n "$size" "$1" "$SB_SLOT_B" || { TL_WHY="slot B does not hold the image"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' "$2" || return 1
        expect_slot rootfs.1 '["checksum"]["sha256"]' "$(sha256sum <"$1" | cut -c1-64)" || return 1
        expect_eq "$(sha256sum <"$SB_SLOT_A" | cut -c1-64)" "$A_SHA" "booted slot A content" || return 1
        expect_boots B
}

t_info() {
        expect_ok updatectl bundle info --check-payload --keyring "$SB/pki/ca.crt" "$W/v2.bundle" || return 1
        expect_contains "$TL_OUT" "Format:            2" "bundle info" || return 1
        expect_contains "$TL_OUT" "content-defined" "bundle info" || return 1
        expect_ok updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$W/v2.bundle" || return 1
        expect_eq "$(sb_json 'd["format"]' <<<"$TL_OUT" 2>&1)" 2 "format in --json"
}

t_table_tampered() {
        tl_snapshot
        expect_error "$E.InvalidBundle" updatectl install "$W/table.bundle" || return 1
        expect_contains "$TL_OUT" "Chunk table of image rootfs failed verification" "error" || return 1
        expect_unchanged
}

t_install_file() {
        expect_ok updatectl install "$W/v2.bundle" || return 1
        installed "$SB/v2.ext4" 2
}

t_install_pipe() {
        expect_ok sh -c 'cat "$1" | updatectl install -' sh "$W/v3.bundle" || return 1
        installed "$SB/v3.ext4" 3
}

t_install_url() {
        expect_ok updatectl install "$SB_HTTP_URL/v2.bundle" || return 1
        installed "$SB/v2.ext4" 2 || return 1
        grep -q 'GET /v2.bundle' "$SB/nginx/access.log" || { TL_WHY="no GET in nginx access.log"; return 1; }
}

t_chunk_tampered_url() {
        expect_error "$E.InvalidBundle" updatectl install "$SB_HTTP_URL/chunk.bundle" || return 1
        expect_contains "$TL_OUT" "failed verification" "error" || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_eq "$(sha256sum <"$SB_SLOT_A" | cut -c1-64)" "$A_SHA" "booted slot A content" || return 1
        expect_boots A || return 1
        expect_primary A
}

tl_case bundle-info-format2 t_info
tl_case table-tampered-refused t_table_tampered
tl_case install-format2-file t_install_file
tl_case install-format2-pipe t_install_pipe
tl_case install-format2-url t_install_url
tl_case chunk-tampered-url t_chunk_tampered_url
