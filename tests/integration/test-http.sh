#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install from an http://127.0.0.1 URL served by nginx-light: the daemon downloads with
# libcurl, streaming, no temp copy.  Refusals over HTTP are the same named errors.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl
tl_setup A

E=org.example.Update1.Error
W=$SB/www
mkdir -p "$W"
chmod 0755 "$W"
sb_make_ext4 "$SB/v2.ext4" 8M 2 && sb_bundle "$W/v2.bundle" 2 "$SB/v2.ext4" || exit 1
sb_make_random "$SB/rand.img" 2M &&
        sb_bundle "$W/rand.bundle" 3 "$SB/rand.img" &&
        sb_bundle "$W/other.bundle" 3 "$SB/rand.img" other-board &&
        sb_bundle "$W/evil.bundle" 3 "$SB/rand.img" "" evil-signer || exit 1
cp "$W/rand.bundle" "$W/tampered.bundle"
sb_flip_byte "$W/tampered.bundle" $(($(stat -c %s "$W/tampered.bundle") - 1000)) || exit 1
chmod 0644 "$W"/*
sb_start_nginx "$W" 2>"$SB/nginx.err" || { fail "$TL_FILE-nginx" "$(cat "$SB/nginx.err")"; exit 1; }

t_served() {
        local got
        got=$(curl -s "$SB_HTTP_URL/v2.bundle" | sha256sum | cut -c1-64)
        expect_eq "$got" "$(sha256sum <"$W/v2.bundle" | cut -c1-64)" "nginx serves the bundle"
}

t_install_url() {
        expect_ok updatectl install "$SB_HTTP_URL/v2.bundle" || return 1
        local size
        size=$(stat -c %s "$SB/v2.ext4")
        cmp -s -n "$size" "$SB/v2.ext4" "$SB_SLOT_B" || { TL_WHY="slot B does not hold the image"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        expect_boots B || return 1
        # the daemon fetched it (the client only passed the URL)
        grep -q 'GET /v2.bundle' "$SB/nginx/access.log" || { TL_WHY="no GET in nginx access.log"; return 1; }
}

# Install(s url, a{sv}) straight over the bus returns once the manifest is verified; the
# rest runs asynchronously (wait for idle).
t_install_url_dbus() {
        expect_ok bus-call Install 'sa{sv}' "$SB_HTTP_URL/rand.bundle" transaction-id=s:http-test-1 || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="install did not finish"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 3 || return 1
        cmp -s -n $((2 * 1024 * 1024)) "$SB/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content"; return 1; }
        grep -q http-test-1 "$SB_DATA/status.json" || { TL_WHY="transaction-id not recorded"; return 1; }
}

url_refused() { # error url
        tl_snapshot
        expect_error "$E.$1" updatectl install "$2" || return 1
        expect_unchanged || return 1
        expect_primary B
}

t_not_found() {
        tl_snapshot
        run updatectl install "$SB_HTTP_URL/nope.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="install of a 404 URL succeeded"; return 1; }
        expect_contains "$TL_OUT" "$E.Io" "named error" || return 1
        expect_contains "$TL_OUT" 404 "error mentions the HTTP status" || return 1
        expect_unchanged
}

t_incompatible_url() { url_refused Incompatible "$SB_HTTP_URL/other.bundle"; }
t_signature_url() { url_refused SignatureInvalid "$SB_HTTP_URL/evil.bundle"; }

t_tampered_url() {
        expect_error "$E.InvalidBundle" updatectl install "$SB_HTTP_URL/tampered.bundle" || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A || return 1
        expect_primary A
}

t_connection_refused() {
        local port
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        tl_snapshot
        run updatectl install "http://127.0.0.1:$port/v2.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="install from a closed port succeeded"; return 1; }
        expect_contains "$TL_OUT" "$E.Io" "named error" || return 1
        expect_unchanged
}

# start_pieces MODE [STALL_AT]: tests/lib/piece_http.py serving $W in MODE (ranges|whole),
# its body in pieces of 1 byte to 1 MB, held before STALL_AT until $SB/gate exists; sets
# PIECES_URL.
start_pieces() {
        rm -f "$SB/gate" "$SB/pieces.port"
        (
                trap - EXIT INT TERM
                exec "$SB_PY" "$UPDATE1_TOP/tests/lib/piece_http.py" "$W" "$SB/pieces.port" "$1" \
                        ${2:+"$2" "$SB/gate"} 2>"$SB/pieces.log" </dev/null
        ) &
        PIECES_PID=$!
        sb_track "$PIECES_PID"
        sb_poll "$SB_WAIT" test -s "$SB/pieces.port" ||
                { TL_WHY="piece_http.py did not start: $(cat "$SB/pieces.log")"; return 1; }
        PIECES_URL=http://127.0.0.1:$(cat "$SB/pieces.port")
}
stop_pieces() { touch "$SB/gate"; sb_kill "$PIECES_PID"; }

# The stream hands the reader's buffer to libcurl's write callback: pieces far smaller and far
# larger than one read (1 byte .. 1 MB, several reads per piece and several pieces per read)
# land in order, over the stream's ranged requests and from a server that pushes the whole
# body (200) alike.
pieces_install() { # MODE
        start_pieces "$1" || return 1
        expect_ok updatectl install "$PIECES_URL/rand.bundle" || { stop_pieces; return 1; }
        stop_pieces
        cmp -s -n $((2 * 1024 * 1024)) "$SB/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content ($1)"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_boots B
}
t_pieces_ranges() {
        pieces_install ranges || return 1
        # the stream's first request and the rest, each in pieces
        expect_eq "$(grep -c '"GET /rand.bundle HTTP/1.1" 206' "$SB/pieces.log")" 2 "206 answers"
}
t_pieces_whole() {
        pieces_install whole || return 1
        expect_eq "$(grep -c '"GET /rand.bundle HTTP/1.1" 200' "$SB/pieces.log")" 1 "200 answers"
}

# A server that pushes the whole body (200) of a bundle refused after its signature: libcurl
# has more than the reader ever asks for, its write callback waits for a reader's buffer that
# never comes, and the refusal must stop it there (a hang here is the bug) and name the error.
t_refused_while_handing_over() {
        start_pieces whole || return 1
        tl_snapshot
        expect_error "$E.Incompatible" timeout 60 updatectl install "$PIECES_URL/other.bundle" ||
                { stop_pieces; return 1; }
        stop_pieces
        expect_unchanged
}

install_ended() { ! kill -0 "$INSTALL_PID" 2>/dev/null; }
# A cancel while the reader waits for bytes the server holds back (mid-payload): the read
# returns at once as cancelled, not when the server goes on; slot B is failed, A boots.
t_cancel_while_stalled() {
        local rc size
        size=$(stat -c %s "$W/rand.bundle")
        start_pieces ranges $((size / 2)) || return 1
        updatectl install "$PIECES_URL/rand.bundle" >"$SB/stalled.out" 2>&1 &
        INSTALL_PID=$!
        sb_poll "$SB_WAIT" grep -q 'stalled at' "$SB/pieces.log" ||
                { TL_WHY="the server never held the body back"; stop_pieces; return 1; }
        expect_ok updatectl cancel || { stop_pieces; return 1; }
        # ended while the body is still held back (the server holds it 60 s at most)
        sb_poll "$SB_WAIT" install_ended ||
                { TL_WHY="the install did not end on cancel while the server held the body back"; stop_pieces; return 1; }
        wait "$INSTALL_PID"
        rc=$?
        stop_pieces
        [ "$rc" != 0 ] || { TL_WHY="the cancelled install exited 0"; return 1; }
        expect_contains "$(cat "$SB/stalled.out")" "$E.Cancelled" "install output" || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after cancel"; return 1; }
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A
}

tl_case nginx-serves t_served
tl_case install-from-url t_install_url
tl_case install-url-over-dbus t_install_url_dbus
tl_case url-not-found t_not_found
tl_case url-incompatible t_incompatible_url
tl_case url-bad-signature t_signature_url
tl_case url-connection-refused t_connection_refused
tl_case url-tampered-chunk t_tampered_url
tl_case url-pieces-ranges t_pieces_ranges
tl_case url-pieces-whole t_pieces_whole
tl_case url-refused-while-handing-over t_refused_while_handing_over
tl_case url-cancel-while-stalled t_cancel_while_stalled
