#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite, I7 of issue #10: no secrets in shared state.  Install(URL) with credentials in
# the userinfo (user:password@) and a pre-signed query (?X-Amz-Signature=...) against nginx:
# the caller's secrets must reach the server, and nowhere else: not LastError (readable by
# anyone), not the Completed signal (broadcast), not the daemon's log (the journal), not what
# updatectl prints.  Every message still names the host and the path.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl
sec_setup A

I=$SB/img
W=$SB/www
mkdir -p "$I" "$W"
chmod 0755 "$W"
sb_make_random "$I/rand.img" 256K && sb_bundle "$W/good.bundle" 2 "$I/rand.img" || exit 1
chmod 0644 "$W"/*
sb_start_nginx "$W" 2>"$SB/nginx.err" || { fail "$TL_FILE-nginx" "$(cat "$SB/nginx.err")"; exit 1; }
HOSTPORT=${SB_HTTP_URL#http://}

# Distinct words, so a leak says which part leaked.
USER_SECRET=u1user-k7q2
PASS_SECRET=u1pass-Zt93xw
QUERY_SECRET=u1sig-4f8e0c2b9a
FRAG_SECRET=u1frag-77ab
SECRETS=("$USER_SECRET" "$PASS_SECRET" "$QUERY_SECRET" "$FRAG_SECRET")
secret_url() { # PATH [HOSTPORT]
        echo "http://$USER_SECRET:$PASS_SECRET@${2:-$HOSTPORT}$1?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=$QUERY_SECRET#$FRAG_SECRET"
}

# expect_no_secret TEXT WHAT
expect_no_secret() {
        local s
        for s in "${SECRETS[@]}"; do
                if grep -qF -- "$s" <<<"$1"; then
                        TL_WHY="$2 leaks '$s': $(grep -F -- "$s" <<<"$1" | head -n 2 | cut -c1-300 | tr '\n' ' ')"
                        return 1
                fi
        done
}

# The whole daemon log since LOG_MARK (what would be in the journal).
daemon_log() { tail -c +"$LOG_MARK" "$SB/updated.log"; }
mark_log() { LOG_MARK=$(($(stat -c %s "$SB/updated.log") + 1)); }

# failed_install URL HOSTPORT PATH WANT: Install(URL) over the bus fails; the reply,
# Completed, LastError, updatectl's output and the log name HOSTPORT+PATH and WANT, and no
# secret.
failed_install() {
        local url=$1 where=$2$3 want=$4 last
        mark_log
        sec_snapshot || return 1
        run sec-client watch-install --path "$url"
        [ "$TL_RC" != 0 ] || { TL_WHY="install of $url succeeded: $(_tl_out_excerpt)"; return 1; }
        expect_contains "$TL_OUT" "REPLY ERROR $E.Io" "the call's error" || return 1
        expect_contains "$TL_OUT" "COMPLETED -" "a Completed signal (failure)" || return 1
        expect_contains "$(grep '^COMPLETED' <<<"$TL_OUT")" "http://$where?<redacted>" "Completed names the URL" || return 1
        expect_contains "$(grep '^COMPLETED' <<<"$TL_OUT")" "$want" "Completed says why" || return 1
        expect_no_secret "$TL_OUT" "the reply or the Completed signal" || return 1

        last=$(sb_get_property LastError)
        expect_contains "$last" "$E.Io: Download of http://$where?<redacted> failed" "LastError" || return 1
        expect_contains "$last" "$want" "LastError says why" || return 1
        expect_no_secret "$last" "LastError" || return 1
        expect_no_secret "$(updatectl status 2>&1; updatectl status --json 2>&1)" "updatectl status" || return 1

        run updatectl install "$url"
        [ "$TL_RC" != 0 ] || { TL_WHY="updatectl install succeeded"; return 1; }
        expect_contains "$TL_OUT" "http://$where?<redacted>" "updatectl names the URL" || return 1
        expect_no_secret "$TL_OUT" "updatectl install" || return 1

        expect_contains "$(daemon_log)" "Install of http://$where?<redacted> requested by uid 0" "the log" || return 1
        expect_no_secret "$(daemon_log)" "the daemon's log" || return 1
        sec_expect_unchanged
}

# 404: the error text from the HTTP status path.
t_not_found() {
        failed_install "$(secret_url /missing/v9.bundle)" "$HOSTPORT" /missing/v9.bundle "HTTP status 404" || return 1
        # the secrets did go to the server: the download used the real URL
        grep -qF "X-Amz-Signature=$QUERY_SECRET" "$SB/nginx/access.log" && grep -qF " $USER_SECRET " "$SB/nginx/access.log" ||
                { TL_WHY="nginx did not see the caller's query and user: $(tail -n 2 "$SB/nginx/access.log")"; return 1; }
}

# No HTTP response at all: the error text from libcurl's own message.
t_connection_refused() {
        local port
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        failed_install "$(secret_url /v9.bundle "127.0.0.1:$port")" "127.0.0.1:$port" /v9.bundle "no HTTP response"
}

# A password with an unescaped '/' (a malformed URL): whatever libcurl makes of it, no part of
# the password is shown.
t_malformed_password() {
        local url="http://$USER_SECRET:$PASS_SECRET/x@$HOSTPORT/v9.bundle" out last
        mark_log
        run sec-client watch-install --path "$url"
        [ "$TL_RC" != 0 ] || { TL_WHY="install of $url succeeded"; return 1; }
        out=$TL_OUT
        last=$(sb_get_property LastError)
        expect_no_secret "$out" "the reply or the Completed signal" || return 1
        expect_no_secret "$last" "LastError" || return 1
        expect_no_secret "$(daemon_log)" "the daemon's log"
}

# A download that works: the secrets reach nginx, the log shows the redacted URL only.
t_install_ok() {
        mark_log
        expect_ok updatectl install "$(secret_url /good.bundle)" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        expect_contains "$(daemon_log)" "Installing http://$HOSTPORT/good.bundle?<redacted>: bundle verified" "the log" || return 1
        expect_no_secret "$(daemon_log)" "the daemon's log" || return 1
        expect_no_secret "$(sb_get_property LastError)" "LastError" || return 1
        grep -F "GET /good.bundle?" "$SB/nginx/access.log" | grep -qF "$QUERY_SECRET" ||
                { TL_WHY="nginx did not get the signed query"; return 1; }
}

sec_case url-404-secrets-not-shared t_not_found
sec_case url-connection-refused-secrets-not-shared t_connection_refused
sec_case url-malformed-password-not-shown t_malformed_password
sec_case url-install-ok-secrets-only-to-server t_install_ok
