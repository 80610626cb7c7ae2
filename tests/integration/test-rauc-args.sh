#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RAUC's InstallBundle arguments that reach the download and the bundle check
# (daemon/bus-rauc.c, docs/rauc-compat.md): tls-cert, tls-key, tls-ca against a real nginx that
# requires a client certificate (a CA made here), http-headers against a location that answers
# 403 without the header, require-manifest-hash against the hash OpenSSL extracts from the
# bundle's CMS; InspectBundle and Info of those URLs.  rauc 1.8's CLI cannot send these keys (`rauc install --help`): gdbus is the client.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
tl_require_root "the shipped bus policies let only root own the names; useradd"
tl_require_cmd gdbus nginx openssl setpriv useradd
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
tl_setup A

. "$(dirname "$0")/../lib/rauc-lib.sh"
I=$SB/img T=$SB/tls W=$SB/www
mkdir -p "$I" "$W/hdr"
chmod 0755 "$I" "$W" "$W/hdr"
sb_make_random "$I/v3.img" 2M && sb_bundle "$W/v3.bundle" 3 "$I/v3.img" || exit 1
cp "$W/v3.bundle" "$W/hdr/v3.bundle"
chmod 0644 "$W/hdr/v3.bundle"

# The manifest hash as RAUC defines it (SHA-256 of the signed manifest bytes), computed without
# Update1: the signature is the DER CMS after the 32-byte header (its size: u64 LE at 16).
SIGSIZE=$(od -An -tu8 -j16 -N8 "$W/v3.bundle" | tr -d ' ')
tail -c +33 "$W/v3.bundle" | head -c "$SIGSIZE" >"$SB/sig.der"
HASH=$(openssl cms -verify -noverify -inform DER -in "$SB/sig.der" 2>/dev/null | sha256sum | cut -c1-64)
[ ${#HASH} = 64 ] || { fail "$TL_FILE-hash" "cannot extract the manifest"; exit 1; }

# A CA, a server certificate, a client certificate of that CA and one of another CA (rogue).
ag_tls_pki "$T" || { fail "$TL_FILE-pki" "openssl failed"; exit 1; }
# The client key as a device keeps it: root only.
install -m 0600 "$T/client.key" "$T/client-root-only.key"

# nginx as nobody: https requiring a client certificate of ca; http whose /hdr/ answers 403
# without "Authorization: Bearer s3cret".
ag_nginx tls "$W" tls || { fail "$TL_FILE-nginx" "https"; exit 1; }
HTTPS=$AG_NGINX_URL HTTPS_LOG=$AG_NGINX_LOG
# shellcheck disable=SC2016 # an nginx variable, for nginx
ag_nginx hdr "$W" "" 'location /hdr/ { if ($http_authorization != "Bearer s3cret") { return 403; } }' ||
        { fail "$TL_FILE-nginx" "http"; exit 1; }
HTTP=$AG_NGINX_URL HTTP_LOG=$AG_NGINX_LOG

start_monitor || { fail "$TL_FILE-monitor" "$TL_WHY"; exit 1; }
last_error() { rprop LastError; }
# An install that must fail after the call returned, RAUC's way, with nothing changed.
expect_failed_install() { # WHAT_IN_LASTERROR rcall-args...
        local want=$1
        shift
        tl_snapshot
        expect_ok rcall "$@" || return 1
        expect_completed 1 || return 1
        expect_contains "$(last_error)" "$want" "LastError" || return 1
        expect_unchanged
}
TLS="'tls-cert': <'$T/client.crt'>, 'tls-key': <'$T/client.key'>, 'tls-ca': <'$T/ca.crt'>"

t_tls_client_cert() {
        expect_ok rcall InstallBundle "$HTTPS/v3.bundle" "{$TLS}" || return 1
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        # The stream is two requests (daemon/source-http.c: its first 64 KiB, then the rest up to
        # the payload's end): both carry the certificate.
        expect_contains "$(cat "$HTTPS_LOG")" "206 GET /v3.bundle range=bytes=0-65535 auth=- dn=CN=dev1" \
                "nginx saw the client certificate" || return 1
        expect_contains "$(cat "$HTTPS_LOG")" "206 GET /v3.bundle range=bytes=65536-$(($(stat -c %s "$W/v3.bundle") - 1)) auth=- dn=CN=dev1" \
                "nginx saw the client certificate on the rest" || return 1
        expect_ok rcall Mark active rootfs.0
}

t_tls_refused() {
        # no client certificate: nginx refuses the TLS session (400)
        expect_failed_install "Download of https" InstallBundle "$HTTPS/v3.bundle" "{'tls-ca': <'$T/ca.crt'>}" || return 1
        # a certificate of another CA
        expect_failed_install "Download of https" InstallBundle "$HTTPS/v3.bundle" \
                "{'tls-cert': <'$T/rogue.crt'>, 'tls-key': <'$T/rogue.key'>, 'tls-ca': <'$T/ca.crt'>}" || return 1
        # the system CAs do not know ours: tls-ca is what makes the server trusted
        expect_failed_install "SSL" InstallBundle "$HTTPS/v3.bundle" \
                "{'tls-cert': <'$T/client.crt'>, 'tls-key': <'$T/client.key'>}"
}

# The key is opened with the caller's rights: group update, but not the key's owner.
t_tls_key_unreadable_for_caller() {
        tl_snapshot
        expect_ok as_user u1test-op gdbus call --system --dest "$R" --object-path / --method "$RI.InstallBundle" \
                "$HTTPS/v3.bundle" "{'tls-cert': <'$T/client.crt'>, 'tls-key': <'$T/client-root-only.key'>, \
'tls-ca': <'$T/ca.crt'>}" || return 1
        expect_completed 1 || return 1
        expect_contains "$(last_error)" "Permission denied" "LastError" || return 1
        expect_contains "$(last_error)" "AccessDenied: Cannot read the tls-key: Cannot open $T/client-root-only.key as uid" \
                "LastError" || return 1
        expect_unchanged || return 1
        # root reads it
        expect_ok rcall InstallBundle "$HTTPS/v3.bundle" "{'tls-cert': <'$T/client.crt'>, \
'tls-key': <'$T/client-root-only.key'>, 'tls-ca': <'$T/ca.crt'>}" || return 1
        expect_completed 0 || return 1
        expect_ok rcall Mark active rootfs.0
}

t_http_headers() {
        expect_failed_install "403" InstallBundle "$HTTP/hdr/v3.bundle" "@a{sv} {}" || return 1
        expect_ok rcall InstallBundle "$HTTP/hdr/v3.bundle" \
                "{'http-headers': <['Authorization: Bearer s3cret', 'X-Other: 1']>}" || return 1
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        expect_contains "$(cat "$HTTP_LOG")" "206 GET /hdr/v3.bundle range=bytes=0-65535 auth=Bearer s3cret" \
                "nginx saw the header" || return 1
        expect_contains "$(cat "$HTTP_LOG")" "206 GET /hdr/v3.bundle range=bytes=65536-$(($(stat -c %s "$W/hdr/v3.bundle") - 1)) auth=Bearer s3cret" \
                "nginx saw the header on the rest" || return 1
        expect_ok rcall Mark active rootfs.0
}

t_manifest_hash() {
        local bad
        bad=$(printf '%s' "$HASH" | tr '0-9a-f' '1-9a-f0')
        expect_failed_install "unexpected manifest hash (expected $bad, got $HASH)" InstallBundle "$W/v3.bundle" \
                "{'require-manifest-hash': <'$bad'>}" || return 1
        # review, then confirm: InspectBundle reports the hash RAUC's way
        expect_ok rcall InspectBundle "$W/v3.bundle" '@a{sv} {}' || return 1
        expect_contains "$TL_OUT" "'manifest-hash': <'$HASH'>" "InspectBundle" || return 1
        # either case of hex is the same hash; a path source as well as a URL
        expect_ok rcall InstallBundle "$HTTP/v3.bundle" "{'require-manifest-hash': <'${HASH^^}'>}" || return 1
        expect_completed 0 || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        expect_ok rcall Mark active rootfs.0
}

# Refused before anything starts: InvalidArgs naming what is wrong.
t_refusals() {
        local many=() i
        for ((i = 0; i < 17; i++)); do many+=("'X-H$i: v'"); done
        tl_snapshot
        expect_bad() { # WHAT ARGS
                expect_error InvalidArgs rcall InstallBundle "${3:-$HTTPS/v3.bundle}" "$2" || return 1
                expect_contains "$TL_OUT" "$1" "refusal" || return 1
        }
        expect_bad "control character" "{'http-headers': <['X-A: 1\r\nX-B: 2']>}" "$HTTP/v3.bundle" || return 1
        expect_bad "'Host' is set by updated" "{'http-headers': <['host: evil']>}" "$HTTP/v3.bundle" || return 1
        expect_bad "'Range' is set by updated" "{'http-headers': <['Range: bytes=0-1']>}" "$HTTP/v3.bundle" || return 1
        expect_bad "form 'Name: value'" "{'http-headers': <['NoColon']>}" "$HTTP/v3.bundle" || return 1
        expect_bad "empty value" "{'http-headers': <['X-A:  ']>}" "$HTTP/v3.bundle" || return 1
        expect_bad "more than 16 headers" "{'http-headers': <[$(IFS=,; echo "${many[*]}")]>}" "$HTTP/v3.bundle" || return 1
        expect_bad "http(s):// source only" "{'http-headers': <['X-A: 1']>}" "$W/v3.bundle" || return 1
        expect_bad "PKCS#11" "{'tls-key': <'pkcs11:token=a;object=b'>, 'tls-cert': <'$T/client.crt'>}" || return 1
        expect_bad "not an absolute path" "{'tls-cert': <'client.crt'>}" || return 1
        expect_bad "https:// source only" "{'tls-ca': <'$T/ca.crt'>}" "$HTTP/v3.bundle" || return 1
        expect_bad "needs 'tls-cert'" "{'tls-key': <'$T/client.key'>}" || return 1
        expect_bad "tls-no-verify" "{'tls-no-verify': <true>}" || return 1
        expect_bad "not a SHA-256" "{'require-manifest-hash': <'abc'>}" || return 1
        expect_unchanged
}
# InspectBundle of a URL with the same keys (an Update1 bundle: header and signature, then the
# stream is dropped); Info(s) has no keys, so a server only tls-ca trusts is refused.
t_inspect_url_args() {
        expect_ok rcall InspectBundle "$HTTPS/v3.bundle" "{$TLS}" || return 1
        expect_contains "$TL_OUT" "'manifest-hash': <'$HASH'>" "InspectBundle over https" || return 1
        expect_error org.example.Update1.Error.Io rcall Info "$HTTPS/v3.bundle" || return 1
        expect_contains "$TL_OUT" "SSL certificate problem" "Info: the system CAs do not know the server" || return 1
        expect_ok rcall InspectBundle "$HTTP/hdr/v3.bundle" "{'http-headers': <['Authorization: Bearer s3cret']>}" ||
                return 1
        expect_contains "$TL_OUT" "'manifest-hash': <'$HASH'>" "InspectBundle with a header" || return 1
        expect_error org.example.Update1.Error.Io rcall InspectBundle "$HTTP/hdr/v3.bundle" '@a{sv} {}' || return 1
        expect_contains "$TL_OUT" "HTTP status 403" "InspectBundle without the header" || return 1
        expect_ok rcall Info "$HTTP/v3.bundle" || return 1
        expect_eq "$TL_OUT" "('$SB_COMPATIBLE', '3')" "Info over http"
}

# GetSlotStatus: bundle.hash of the bundle that wrote the slot (the last install here was
# v3.bundle, t_manifest_hash), and mountpoint while the slot is mounted (a loop mount of the
# slot file, as RAUC finds an external mount).
slot_status() { busctl --system call "$R" / "$RI" GetSlotStatus; }
t_slot_status_hash_mountpoint() {
        local st mnt=$SB/mnt rc
        st=$(slot_status) || { TL_WHY="GetSlotStatus: $st"; return 1; }
        expect_contains "$st" "\"bundle.hash\" s \"$HASH\"" "bundle.hash" || return 1
        [ "$(grep -o '"bundle.hash"' <<<"$st" | wc -l)" = 1 ] || { TL_WHY="bundle.hash on a slot no bundle wrote: $st"; return 1; }
        expect_eq "$(updatectl status --json | sb_json 'slot("rootfs.1")["bundle"]["hash"]')" "$HASH" \
                "updatectl status bundle.hash" || return 1
        [[ $st != *'"mountpoint"'* ]] || { TL_WHY="a mountpoint before anything is mounted: $st"; return 1; }
        mkfs.ext4 -q -F "$SB_SLOT_B" >/dev/null 2>&1 && mkdir -p "$mnt" || { TL_WHY="mkfs.ext4"; return 1; }
        mount -o loop,ro "$SB_SLOT_B" "$mnt" 2>"$SB/mount.err" || { TL_WHY="loop mount: $(cat "$SB/mount.err")"; return 1; }
        st=$(slot_status)
        rc=$?
        umount "$mnt"
        [ "$rc" = 0 ] || { TL_WHY="GetSlotStatus: $st"; return 1; }
        expect_contains "$st" "\"mountpoint\" s \"$mnt\"" "mountpoint while mounted" || return 1
        [ "$(grep -o '"mountpoint"' <<<"$st" | wc -l)" = 1 ] || { TL_WHY="more than one mountpoint: $st"; return 1; }
        st=$(slot_status)
        [[ $st != *'"mountpoint"'* ]] || { TL_WHY="a mountpoint after umount: $st"; return 1; }
}

# [slot.*] install-same=false (RAUC's config key): an image the target slot already holds is
# not written again, but the install is otherwise the same (recorded, activated, on trial).
# Runs last: slot B holds a file system since t_slot_status_hash_mountpoint while its record
# still says v3 — the record alone is no proof, so the first install writes.
t_install_same_false() {
        local conf=$SB/install-same.conf before count
        sed '/^bootname=/a install-same=false' "$SB_CONFIG" >"$conf"
        sb_stop_updated
        SB_CONFIG=$conf sb_start_updated A 2>"$SB/restart.err" ||
                { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
        expect_ok updatectl install "$W/v3.bundle" || return 1
        expect_slot_bytes "$SB_SLOT_B" "$I/v3.img" || return 1
        [[ $(cat "$SB/updated.log") != *"not written again"* ]] || { TL_WHY="skipped a slot that did not hold the image"; return 1; }
        expect_ok updatectl mark-active rootfs.0 || return 1
        expect_boots A || return 1
        count=$(updatectl status --json | sb_json 'slot("rootfs.1")["installed"]["count"]')
        before=$(stat -c '%y %s' "$SB_SLOT_B")
        tl_snapshot
        expect_ok updatectl install "$W/v3.bundle" || return 1
        expect_contains "$(cat "$SB/updated.log")" "install-same=false: rootfs.1 already holds the bundle's image, not written again" \
                "updated.log" || return 1
        expect_eq "$(stat -c '%y %s' "$SB_SLOT_B")" "$before" "slot B's mtime and size (not written)" || return 1
        # the rest as for any install: recorded, the trial armed, B boots next
        expect_boots B || return 1
        expect_status 'slot("rootfs.1")["status"]' ok || return 1
        expect_status 'slot("rootfs.1")["installed"]["count"]' $((count + 1)) || return 1
        expect_status 'slot("rootfs.1")["bundle"]["hash"]' "$HASH" || return 1
        expect_ok updatectl mark-active rootfs.0
}

tl_case install-bundle-tls-client-cert t_tls_client_cert
tl_case install-bundle-tls-refused t_tls_refused
tl_case install-bundle-tls-key-unreadable-for-caller t_tls_key_unreadable_for_caller
tl_case install-bundle-http-headers t_http_headers
tl_case install-bundle-require-manifest-hash t_manifest_hash
tl_case install-bundle-arg-refusals t_refusals
tl_case inspect-bundle-url-args t_inspect_url_args
tl_case slot-status-bundle-hash-mountpoint t_slot_status_hash_mountpoint
tl_case install-same-false t_install_same_false
tl_exit
