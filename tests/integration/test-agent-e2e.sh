#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent end to end: the DDI test server, artifacts from real nginx behind a proxy that
# cuts the first connection mid-way, the real updated on the private bus, the agent as
# u1test-op (group "update"), the boot simulator for reboots.
#   assign v2 → streamed download cut and resumed (Range/206) into InstallFd → reboot request →
#   simulated reboot into B → no success before MarkGood → health MarkGood → closed/success;
#   assign v3 → install into A → reboot onto the trial → never marked good → next boot falls
#   back to B → closed/failure naming the fallback; configData follows what runs.
# Records bytes downloaded vs bundle size for the cut-and-resume run and the agent's peak RSS.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
sb_start_nginx "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
NGINX_PORT=${SB_HTTP_URL##*:}
ag_bundle v2 2 6M && ag_bundle v3 3 3M || { fail "$TL_FILE-setup" "bundles"; exit 1; }
V2_SIZE=$(stat -c %s "$SB/www/v2.bundle")
CUT=$((V2_SIZE / 2))
# Connection 1 is the agent's Range probe for the bundle header (32 bytes: a format-1 bundle
# streams, docs/agent.md "Byte ranges for a delta install"); connection 2, the stream, is cut.
ag_start_proxy "$NGINX_PORT" --cut-after "$CUT" --fail-first 2 --mode rst || { fail "$TL_FILE-setup" "proxy"; exit 1; }
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

t_config_data_at_startup() {
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("agent_version")' ||
                { TL_WHY="no configData: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["booted_slot"]')" rootfs.0 "booted_slot" || return 1
        expect_eq "$(ddi_state 'd["attributes"]["compatible"]')" "$SB_COMPATIBLE" "compatible" || return 1
        expect_eq "$(ddi_state 'd["request_attributes"]')" false "request flag cleared"
}

t_agent_unprivileged() {
        expect_eq "$(ps -o user= -p "$AG_PID" | tr -d ' ')" u1test-op "agent user" || return 1
        expect_eq "$(awk '/^CapEff:/ {print $2}' "/proc/$AG_PID/status")" 0000000000000000 "effective capabilities"
}

A1=
t_stream_cut_resume() {
        A1=$(ddi_assign "\"version\":\"2\",\"artifacts\":$(ag_art v2 "$AG_PROXY_URL/v2.bundle")") || return 1
        ag_until "$AG_WAIT" '[ "$(count_reboots)" -ge 1 ]' ||
                { TL_WHY="no reboot request; feedback: $(ddi_state "fb($A1)[-3:]" | cut -c1-500)"; return 1; }
        # The proxy cut the first connection; the agent resumed with a Range request.
        grep -q "conn 2: .*cut-rst" "$AG_PROXY_LOG" || { TL_WHY="proxy did not cut: $(cat "$AG_PROXY_LOG")"; return 1; }
        ag_log_has "Streaming the artifact: it is not a format-2 bundle" || { TL_WHY="no probe answer in the agent's log"; return 1; }
        grep -q '" 206 ' "$SB/nginx/access.log" ||
                { TL_WHY="no 206 in nginx log: $(tail -n 3 "$SB/nginx/access.log")"; return 1; }
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        expect_eq "$(sb_json 'd["phase"]' <"$AG_STATE/action.json")" rebooting "recorded phase" || return 1
        expect_eq "$(ddi_state "a($A1)['status']")" RUNNING "server status before the reboot" || return 1
        # No local copy of the bundle in stream mode.
        expect_eq "$(find "$AG_STATE" -name 'bundle-*' | wc -l)" 0 "bundle files in the state directory" || return 1

        local line recv conns
        line=$(grep -F "Download of v2.bundle:" "$AG_LOG" | tail -n 1)
        recv=$(sed -n 's/.*: \([0-9]*\) bytes received for a.*/\1/p' <<<"$line")
        conns=$(sed -n 's/.* over \([0-9]*\) connections.*/\1/p' <<<"$line")
        [ -n "$recv" ] || { TL_WHY="no download statistics in the log"; return 1; }
        [ "$conns" -ge 2 ] || { TL_WHY="expected a resumed download: $line"; return 1; }
        # Resume, not restart: at most the proxy's in-flight bytes are fetched twice.
        [ "$recv" -ge "$V2_SIZE" ] && [ "$recv" -le $((V2_SIZE + V2_SIZE / 4)) ] ||
                { TL_WHY="received $recv bytes for $V2_SIZE: $line"; return 1; }
        ag_measure "cut-and-resume: bundle $V2_SIZE bytes, cut after $CUT bytes, downloaded $recv bytes" \
                "($((recv - V2_SIZE)) extra) over $conns connections"
        ag_measure "agent peak RSS after a streamed ${V2_SIZE}-byte install: $(ag_rss_kb) kB"
}

t_progress_throttled() {
        local n
        n=$(ddi_state "len([f for f in fb($A1) if f['execution'] == 'proceeding'])")
        [ "$n" -ge 2 ] && [ "$n" -le 20 ] || { TL_WHY="$n proceeding feedbacks"; return 1; }
        expect_eq "$(ddi_state "[f for f in fb($A1) if f['execution'] == 'closed']")" "[]" "closed before the reboot"
}

t_no_success_before_mark_good() {
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" B "booted" || return 1
        ag_wait 10 grep -q "Resuming action $A1 in phase rebooting" "$AG_LOG" || { TL_WHY="agent did not resume"; return 1; }
        # The agent sees the trial boot and waits; a few polls later still nothing is closed.
        local polls
        polls=$(ddi_state 'len(reqs)')
        ag_wait 10 ddi_true "len(reqs) > $polls + 5" || { TL_WHY="agent not polling"; return 1; }
        expect_eq "$(ddi_state "a($A1)['status']")" RUNNING "server status on the trial boot" || return 1
        expect_eq "$(ddi_state "[f for f in fb($A1) if f['execution'] == 'closed']")" "[]" "closed before MarkGood"
}

t_success_after_mark_good() {
        ag_mark_good || return 1
        ag_wait_status "$A1" FINISHED || return 1
        expect_eq "$(ddi_state "fb($A1)[-1]['finished']")" success "final" || return 1
        expect_contains "$(ag_last_details "$A1")" "Booted slot rootfs.1" "final details" || return 1
        expect_eq "$(ddi_state "len([f for f in fb($A1) if f['execution'] == 'closed'])")" 1 "closed feedbacks" || return 1
        ag_wait 10 test ! -e "$AG_STATE/action.json" || { TL_WHY="action record left behind"; return 1; }
        ag_wait 10 ddi_true 'd["attributes"].get("installed_version") == "2"' ||
                { TL_WHY="configData after the update: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["booted_slot"]')" rootfs.1 "booted_slot attribute"
}

A2=
t_fallback_reports_failure() {
        local reboots
        reboots=$(count_reboots)
        A2=$(ddi_assign "\"version\":\"3\",\"artifacts\":$(ag_art v3 "$SB_HTTP_URL/v3.bundle")") || return 1
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" ||
                { TL_WHY="no reboot request; feedback: $(ddi_state "fb($A2)[-3:]" | cut -c1-500)"; return 1; }
        expect_slot rootfs.0 '["bundle"]["version"]' 3 || return 1
        ag_measure "agent peak RSS after a streamed $(stat -c %s "$SB/www/v3.bundle")-byte install: $(ag_rss_kb) kB"
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" A "trial boot" || return 1
        expect_slot rootfs.0 '["boot_status"]' trial || return 1
        # Never marked good: the watchdog (here: the test) resets the board; U-Boot falls back.
        ag_wait 10 grep -q "Resuming action $A2 in phase rebooting" "$AG_LOG" || { TL_WHY="agent did not resume"; return 1; }
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" B "fallback boot" || return 1
        ag_wait_status "$A2" ERROR || return 1
        local d
        d=$(ag_last_details "$A2")
        ag_expect_failure "$A2" FellBack || return 1
        expect_contains "$d" "FellBack: slot rootfs.0 with version 3" "failure details" || return 1
        expect_contains "$d" "booted rootfs.1" "failure details" || return 1
        expect_eq "$(ddi_state "len([f for f in fb($A2) if f['execution'] == 'closed'])")" 1 "closed feedbacks" || return 1
        ag_wait 10 ddi_true 'd["attributes"].get("last_boot", "").startswith("fell back")' ||
                { TL_WHY="configData last_boot: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["installed_version"]')" 2 "installed_version after the fallback"
}

# After all that: a restart reports nothing again (the records are gone).
t_restart_reports_nothing_twice() {
        local before
        before=$(ddi_state 'sum(len(x["feedback"]) + len(x["late_feedback"]) for x in d["actions"].values())')
        ag_stop
        ag_start
        local polls
        polls=$(ddi_state 'len(reqs)')
        ag_wait 10 ddi_true "len(reqs) > $polls + 3" || { TL_WHY="agent not polling after restart"; return 1; }
        expect_eq "$(ddi_state 'sum(len(x["feedback"]) + len(x["late_feedback"]) for x in d["actions"].values())')" \
                "$before" "feedback count after a restart"
}

ag_case config-data-at-startup t_config_data_at_startup
ag_case agent-unprivileged t_agent_unprivileged
ag_case stream-cut-resume-install t_stream_cut_resume
ag_case progress-throttled t_progress_throttled
ag_case no-success-before-mark-good t_no_success_before_mark_good
ag_case success-after-mark-good t_success_after_mark_good
ag_case fallback-reports-failure t_fallback_reports_failure
ag_case restart-reports-nothing-twice t_restart_reports_nothing_twice
