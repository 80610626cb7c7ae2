#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent's delta installs (client/update-agent/update-agent-ranged.c, InstallFd "ranged"):
# the DDI test server's links redirect to real nginx (Range), the real updated on the sandbox
# bus with the shipped policy, the agent as u1test-op.  Slot A holds v1, the bundle is v2 in
# format 2 (v1 with three 64 KiB regions changed):
#   - the agent probes, serves updated's byte ranges and nginx sends far fewer bytes than the
#     bundle; slot B holds v2 with the right hash;
#   - the DDI server's own artifact endpoint (no Range) and delta=no: the pipe, still installed;
#   - a 403 in the middle of the ranged requests: the deployment is fetched again, finished;
#   - the agent killed mid-install: updated fails the install by name (Io), slot A still boots.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
. "$(dirname "$0")/../lib/delta-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
delta_v2 "$SB/img/v1.img" "$SB/img/v2.img" 8M 1 4 7 || exit 1
sb_bundle "$SB/www/d.bundle" 2 "$SB/img/v2.img" "" "" --format 2 || { fail "$TL_FILE-setup" "bundle"; exit 1; }
chmod 0644 "$SB/www/d.bundle"
D_SIZE=$(stat -c %s "$SB/www/d.bundle")
ag_nginx cdn "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
CDN_URL=$AG_NGINX_URL
CDN_LOG=$AG_NGINX_LOG
# A second nginx that sends at most 64 KiB/s: an install that is still running when the agent
# is killed.
ag_nginx slow "$SB/www" "" "limit_rate 64k;" || { fail "$TL_FILE-setup" "slow nginx"; exit 1; }
SLOW_URL=$AG_NGINX_URL
AG_AGENT_EXTRA="reboot=none"
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

# start_case FAULTS: slot A holds v1, slot B garbage, a fresh agent, FAULTS on the DDI server,
# the bundle assigned; sets ID.
start_case() {
        dd if="$SB/img/v1.img" of="$SB_SLOT_A" conv=notrunc status=none || return 1
        head -c 16M /dev/urandom >"$SB_SLOT_B"
        ag_reset
        ag_log_reset
        : >"$CDN_LOG"
        ddi_ctl faults "$1" >/dev/null
        ID=$(ddi_assign "\"version\":\"2\",\"artifacts\":$(ag_art d)") || return 1
}

installed_v2() { ag_wait_installed "$ID" && delta_slot_holds "$SB/img/v2.img" "$SB_SLOT_B" rootfs.1; }

cdn_bytes() { awk '$3 == "/d.bundle" { sub("bytes=", "", $NF); s += $NF } END { print s + 0 }' "$CDN_LOG"; }

t_delta() {
        local bytes reqs
        start_case "{\"redirect\":\"$CDN_URL\"}" || return 1
        installed_v2 || return 1
        ag_log_has "Serving byte ranges of" || { TL_WHY="the agent did not serve byte ranges"; return 1; }
        bytes=$(cdn_bytes)
        reqs=$(grep -c ' /d.bundle ' "$CDN_LOG")
        [ "$bytes" -le $((D_SIZE / 4)) ] || { TL_WHY="nginx sent $bytes of the bundle's $D_SIZE bytes"; return 1; }
        expect_eq "$(grep ' /d.bundle ' "$CDN_LOG" | grep -vc '^206 ')" 0 "answers other than 206" || return 1
        # Each piece's 206 answers its own request: none of them is a resume.
        ag_log_has "connections (0 resumed," || { TL_WHY="the agent counted resumes where none was: $(grep -o 'connections ([0-9]* resumed' "$AG_LOG" | tail -1)"; return 1; }
        # The DOWNLOADED step tells what was fetched, not the bundle's size.
        expect_contains "$(ddi_state "' | '.join(' '.join(f['details']) for f in fb($ID))")" \
                "bytes by byte ranges (delta install)" "feedback" || return 1
        ag_measure "agent delta install: nginx sent $bytes of the format-2 bundle's $D_SIZE bytes in $reqs requests"
}

# The DDI server's own endpoint answers a Range request with 200 and the whole artifact: the
# probe says no, and the bundle streams through the pipe.
t_no_range_server() {
        start_case '{}' || return 1
        installed_v2 || return 1
        ag_log_has "Streaming the artifact: the server does not serve byte ranges" ||
                { TL_WHY="no 'does not serve byte ranges' in the agent's log"; return 1; }
        ! ag_log_has "Serving byte ranges of" || { TL_WHY="served byte ranges anyway"; return 1; }
}

t_delta_off() {
        local rc
        AG_DELTA=no
        ag_config
        start_case "{\"redirect\":\"$CDN_URL\"}"
        rc=$?
        AG_DELTA=
        ag_config
        [ "$rc" = 0 ] || return 1
        installed_v2 || return 1
        ! ag_log_has "Serving byte ranges of" || { TL_WHY="served byte ranges with delta=no"; return 1; }
        expect_eq "$(cdn_bytes)" "$D_SIZE" "bytes nginx sent"
}

# The 5th request of the artifact link (after the probe and the first pieces) is refused with
# 403: the agent fetches the deployment again and goes on with the same range.
t_403_mid_ranges() {
        start_case "{\"redirect\":\"$CDN_URL\",\"status\":[{\"match\":\"/artifacts/\",\"method\":\"GET\",\"code\":403,\"count\":1,\"skip\":4}]}" || return 1
        installed_v2 || return 1
        ag_log_has "Serving byte ranges of" || { TL_WHY="the agent did not serve byte ranges"; return 1; }
        expect_eq "$(ddi_state "len([r for r in arts if r['status'] == 403])")" 1 "403 answers" || return 1
        ag_log_has "fetching the deployment again for a fresh link" || { TL_WHY="no refresh after the 403"; return 1; }
}

# The agent dies while updated waits for a piece: the install fails as Io (the socket closed),
# slot B is failed and slot A still boots.
t_agent_killed() {
        local before
        before=$(grep -c 'to fetch in' "$SB/updated.log")
        start_case "{\"redirect\":\"$SLOW_URL\"}" || return 1
        ag_until "$AG_WAIT" '[ "$(grep -c "to fetch in" "$SB/updated.log")" -gt "$before" ]' ||
                { TL_WHY="updated logged no delta plan"; return 1; }
        ag_crash
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after the agent died"; return 1; }
        expect_contains "$(sb_get_property LastError)" "org.example.Update1.Error.Io" "LastError" || return 1
        expect_contains "$(sb_get_property LastError)" "closed its socket" "LastError" || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A
}

ag_case agent-delta-fetches-less t_delta
ag_case agent-no-range-server-streams t_no_range_server
ag_case agent-delta-off-streams t_delta_off
ag_case agent-403-mid-ranges-refreshed t_403_mid_ranges
ag_case agent-killed-mid-install-io t_agent_killed
