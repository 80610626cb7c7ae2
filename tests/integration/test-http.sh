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

tl_case nginx-serves t_served
tl_case install-from-url t_install_url
tl_case install-url-over-dbus t_install_url_dbus
tl_case url-not-found t_not_found
tl_case url-incompatible t_incompatible_url
tl_case url-bad-signature t_signature_url
tl_case url-connection-refused t_connection_refused
tl_case url-tampered-chunk t_tampered_url
