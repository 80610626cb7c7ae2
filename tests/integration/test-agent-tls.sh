#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent over TLS: the DDI test server on HTTPS requiring a client certificate (the
# reverse proxy's mTLS role: CN = controller id), artifacts from nginx with TLS and client
# certificates, the real updated.
#   mTLS only (no token): polls, configData, streamed install from the mTLS nginx;
#   token + redirect to another origin: the token stays with the server, the CDN sees none;
#   a redirect from https to http is refused with a clear failure;
#   a wrong CA and a client certificate of another CA fail, loudly;
#   insecure=yes works without a CA (and says so).
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
tl_require_cmd openssl
ag_setup

ag_tls_pki "$SB/tls" || { fail "$TL_FILE-setup" "PKI"; exit 1; }
ddi_start --target-token "$AG_TOKEN" --tls-cert "$SB/tls/server.crt" --tls-key "$SB/tls/server.key" \
        --tls-client-ca "$SB/tls/ca.crt" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
ag_nginx cdn "$SB/www" tls || { fail "$TL_FILE-setup" "nginx tls"; exit 1; }
CDN=$AG_NGINX_URL CDN_LOG=$AG_NGINX_LOG
ag_nginx plain "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
PLAIN=$AG_NGINX_URL
ag_bundle t 9 1M || { fail "$TL_FILE-setup" "bundle"; exit 1; }

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

MTLS="client-cert=$SB/tls/client.crt
client-key=$SB/tls/client.key"
AG_SERVER_EXTRA="ca-file=$SB/tls/ca.crt"
AG_AGENT_EXTRA="reboot=none"

t_mtls_only() {
        local id
        AG_AUTH=$MTLS
        ag_config
        ag_reset
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("agent_version")' || { TL_WHY="no configData over mTLS"; return 1; }
        expect_eq "$(ddi_state '[r["auth"] for r in reqs if r["status"] == 200][-1]')" null "Authorization header" || return 1
        id=$(ddi_assign "\"version\":\"9\",\"artifacts\":$(ag_art t "$CDN/t.bundle")") || return 1
        ag_wait_installed "$id" || return 1
        grep -q '^206 \|^200 GET /t.bundle .*dn=CN=dev1' "$CDN_LOG" || { TL_WHY="CDN log: $(tail -n 2 "$CDN_LOG")"; return 1; }
        expect_contains "$(grep 't.bundle' "$CDN_LOG" | tail -n 1)" "dn=CN=dev1" "client certificate at the CDN"
}

t_token_not_sent_on_redirect() {
        local id
        AG_AUTH="target-token=$AG_TOKEN
$MTLS"
        ag_config
        ag_reset
        : >"$CDN_LOG"
        ddi_ctl faults "{\"redirect\":\"$CDN\"}" >/dev/null
        id=$(ddi_assign "\"version\":\"9\",\"artifacts\":$(ag_art t)") || return 1
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "[(r['status'], r['auth'] == 'TargetToken $AG_TOKEN') for r in arts][-1]")" '[302, true]' \
                "the server's artifact request (token sent)" || return 1
        expect_contains "$(grep 't.bundle' "$CDN_LOG" | tail -n 1)" "auth=- dn=CN=dev1" "the CDN's request (no token)"
}

t_https_to_http_redirect_refused() {
        local id
        ag_reset
        ddi_ctl faults "{\"redirect\":\"$PLAIN\"}" >/dev/null
        id=$(ddi_assign "\"version\":\"9\",\"artifacts\":$(ag_art t)") || return 1
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "redirect from https to http refused: $PLAIN/t.bundle" "details" || return 1
        expect_eq "$(cat "$SB/nginx-plain/access.log" 2>/dev/null | grep -c 't.bundle')" 0 "requests to the http server"
}

t_wrong_ca_and_rogue_cert() {
        AG_SERVER_EXTRA="ca-file=$SB/tls/rogue-ca.crt"
        ag_config
        ag_reset
        ag_log_reset
        ag_wait_log "SSL certificate problem" 10 || return 1
        AG_SERVER_EXTRA="ca-file=$SB/tls/ca.crt"
        AG_AUTH="client-cert=$SB/tls/rogue.crt
client-key=$SB/tls/rogue.key"
        ag_config
        ag_reset
        local n
        n=$(ddi_state 'len(reqs)')
        ag_log_reset
        ag_wait_log "Polling failed" 10 || return 1
        expect_eq "$(ddi_state "len([r for r in reqs[$n:] if 'controller' in r['path']])")" 0 \
                "requests that got through with the rogue certificate"
}

t_insecure_without_ca() {
        AG_SERVER_EXTRA="insecure=yes"
        AG_AUTH=$MTLS
        ag_config
        ag_reset
        ag_log_reset
        ag_wait_log "TLS certificates are NOT verified" 10 || return 1
        local n
        n=$(ddi_state 'len(reqs)')
        ag_wait 10 ddi_true "len([r for r in reqs[$n:] if r['status'] == 200 and 'controller' in r['path']]) >= 2" ||
                { TL_WHY="no successful polls with insecure=yes"; return 1; }
        AG_SERVER_EXTRA="ca-file=$SB/tls/ca.crt"
}

ag_config
ag_start
ag_case mtls-only-install t_mtls_only
ag_case token-not-sent-on-redirect t_token_not_sent_on_redirect
ag_case https-to-http-redirect-refused t_https_to_http_redirect_refused
ag_case wrong-ca-and-rogue-certificate t_wrong_ca_and_rogue_cert
ag_case insecure-without-ca t_insecure_without_ca
