#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent against the DDI test server's switchable faults (artifacts served by the server
# itself, streamed into the real updated):
#   polling sleep in HH:MM:SS and ISO-8601, bounded; truncated JSON; 401 with a rotated token
#   file; 409/429 with Retry-After; 410 stops the reporting; a cut download resumed where the
#   server ignores Range (200): the re-sent prefix is compared and skipped; the same with changed
#   content: the install is cancelled and started again; an expired link (403) → the deployment
#   again → a fresh link; sha256 mismatch → nothing activated; sha1 fallback; http-only links;
#   artifact selection and refusals; max-bundle-size; low-speed abort; bandwidth cap;
#   403s behind a stable link (hawkBit's) and behind its redirect to nginx: retried with
#   backoff, the deployment fetched again each time, the redirect followed again; permanent
#   403: given up after retries= of them in a row; Retry-After on the artifact (seconds and
#   HTTP-date) honoured; a server outage mid-stream longer than any retry budget: the
#   deployment is kept and completes; a streamed install sends download and downloaded;
#   --once: nothing to do → 0, a deployment installed in one run → 0, server down → 3, a
#   failed action → 4.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
ag_bundle f 5 2M || { fail "$TL_FILE-setup" "bundle"; exit 1; }
F_SIZE=$(stat -c %s "$SB/www/f.bundle")
printf 'release notes\n' >"$SB/www/notes.txt"
chmod 0644 "$SB/www/notes.txt"
echo "$AG_TOKEN" >"$AG_DIR/token"
chmod 0644 "$AG_DIR/token"
AG_AUTH="target-token-file=$AG_DIR/token"
AG_AGENT_EXTRA="reboot=none"
AG_MAX_INTERVAL=1500ms
# These cases are the pipe's: their faults count artifact requests, and with delta=yes each
# install's Range probe for the bundle header (docs/agent.md) would take one of them.  The
# ranged path's faults are test-agent-delta.sh's.
AG_DELTA=no
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

F_ART=$(ag_art f)
assign_f() { ddi_assign "\"version\":\"5\",\"artifacts\":$F_ART"; }

# install_f_with FAULTS: a fresh agent, FAULTS switched on, f assigned; sets F_ID.
install_f_with() {
        ag_reset
        ag_log_reset
        ddi_ctl faults "$1" >/dev/null
        F_ID=$(assign_f)
}

base_polls_since() { ddi_state "len([r for r in reqs if r['path'] == '/DEFAULT/controller/v1/dev1' and r['time'] > $1])"; }

# Both forms the server uses, bounded by max-interval=1500ms.  What the agent computed is in
# its log; the polls' real spacing is checked with lower bounds only (a busy machine can only
# make gaps longer) and a loose upper bound for the cap.
t_sleep_forms() {
        local form t0 g
        for form in "PT0.4S 400 400 0.35 1.2" "00:00:01 1000 1000 0.95 2" "PT24H 86400000 1500 1.45 4"; do
                set -- $form
                ddi_ctl faults "{\"sleep\":\"$1\"}" >/dev/null
                ag_wait_log "The server asks for a poll every $2 ms: polling every $3 ms" 10 || return 1
                t0=$(date +%s.%N)
                # the first poll after the switch still waited the old sleep: 3 gaps after it
                ag_until 20 '[ "$(base_polls_since "$t0")" -ge 4 ]' || { TL_WHY="not enough polls with sleep $1"; return 1; }
                g=$(ddi_state "(lambda P: sorted([b['time'] - a['time'] for a, b in zip(P[-4:-1], P[-3:])])[1])([r for r in reqs if r['path'] == '/DEFAULT/controller/v1/dev1'])")
                "$SB_PY" -c "import sys; sys.exit(0 if $4 <= $g <= $5 else 1)" ||
                        { TL_WHY="sleep $1: polls $g s apart, expected $4..$5 s"; return 1; }
        done
        ddi_ctl faults '{"sleep":"PT0.2S"}' >/dev/null
        ! ag_log_has "neither HH:MM:SS nor ISO-8601" || { TL_WHY="a sleep value was not understood"; return 1; }
}

t_truncated_json() {
        local t0
        ddi_ctl faults '{"truncate_json":2}' >/dev/null
        t0=$(date +%s.%N)
        ag_wait 10 ddi_true "len([r for r in reqs if r['path'] == '/DEFAULT/controller/v1/dev1' and r['time'] > $t0 and r['status'] == 200 and r['bytes'] > 40]) >= 2" ||
                { TL_WHY="agent did not recover from truncated responses"; return 1; }
        ag_log_has "Polling failed" || { TL_WHY="the truncated response was not noticed"; return 1; }
        ag_running || { TL_WHY="agent died"; return 1; }
}

t_401_rotated_token() {
        local n
        ddi_ctl token '{"target_token":"rotated-token-2"}' >/dev/null
        ag_wait_log "rejected our credentials (HTTP 401)" 10 || return 1
        # Several 401 polls later: logged once, not per poll.
        ag_wait 10 ddi_true "len([r for r in reqs if r['status'] == 401]) >= 4" || { TL_WHY="no repeated polls"; return 1; }
        n=$(grep -c "rejected our credentials" "$AG_LOG")
        expect_eq "$n" 1 "401 log lines" || return 1
        echo rotated-token-2 >"$AG_DIR/token"
        ag_wait_log "Re-read the token from $AG_DIR/token" 10 || return 1
        ag_wait 10 ddi_true "reqs[-1]['auth'] == 'TargetToken rotated-token-2' and reqs[-1]['status'] == 200" ||
                { TL_WHY="agent does not use the new token"; return 1; }
        ag_log_has "accepts our credentials again" || { TL_WHY="recovery not logged"; return 1; }
}

t_429_409_backoff() {
        local id
        ddi_ctl faults '{"status":[{"match":"/feedback","method":"POST","code":429,"count":2,"retry_after":0},
                                   {"match":"/controller/v1/dev1","method":"GET","code":409,"count":1,"retry_after":1}]}' >/dev/null
        ag_wait_log "HTTP 409; next try in 1000 ms" 10 || return 1
        id=$(assign_f) || return 1
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "len([r for r in reqs if r['status'] == 429 and '/feedback' in r['path']])")" 2 "429 answers" || return 1
        ag_log_has "the server asks us to back off" || { TL_WHY="backoff not logged"; return 1; }
        # the feedback that got 429 twice arrived in the end: the streamed download's start
        expect_eq "$(ddi_state "fb($id)[0]['execution']")" download "first feedback"
}

t_410_stops_reporting() {
        local id
        ag_reset
        ddi_ctl faults '{"status":[{"match":"/feedback","method":"POST","code":410,"count":100}]}' >/dev/null
        id=$(assign_f) || return 1
        ag_wait_log "action $id is gone (410)" || return 1
        # The install goes on (it was already running); no more feedback is attempted.
        ag_wait "$AG_WAIT" expect_slot rootfs.1 '["transaction_id"]' "$(sb_json 'd["transaction_id"]' <"$AG_STATE/action.json" 2>/dev/null)" ||
                { TL_WHY="install did not finish"; return 1; }
        ag_until 10 '[ "$(sb_json "d[\"phase\"]" <"$AG_STATE/action.json" 2>/dev/null)" = rebooting ]' ||
                { TL_WHY="phase $(cat "$AG_STATE/action.json")"; return 1; }
        expect_eq "$(ddi_state "len([r for r in reqs if r['method'] == 'POST' and '/deploymentBase/$id/feedback' in r['path']])")" 1 \
                "feedback attempts after the 410"
}

t_ignored_range_skips_prefix() {
        local id line recv
        install_f_with '{"truncate":{"after":700000,"count":1},"ignore_range":1,"http_only":true}' || return 1
        id=$F_ID
        ag_wait_installed "$id" || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 5 || return 1
        ag_log_has "are identical to what was streamed: continuing" || { TL_WHY="prefix check not logged"; return 1; }
        expect_eq "$(ddi_state "[(r['status'], bool(r['range'])) for r in arts][-2:]")" '[[200, false], [200, true]]' \
                "artifact requests (first cut, then a Range answered 200)" || return 1
        line=$(grep -F "Download of f.bundle:" "$AG_LOG" | tail -n 1)
        recv=$(sed -n 's/.*: \([0-9]*\) bytes received for a.*/\1/p' <<<"$line")
        expect_eq "$recv" $((F_SIZE + 700000)) "bytes received (the prefix twice)" || return 1
        ag_measure "ignored Range: ${F_SIZE}-byte bundle cut after 700000 bytes, 200 to the resume: $recv bytes received, no reinstall"
}

t_changed_content_restarts() {
        local id
        install_f_with '{"truncate":{"after":700000,"count":1},"ignore_range":1,"alter_prefix":1}' || return 1
        id=$F_ID
        ag_wait_installed "$id" || return 1
        ag_log_has "starting it again from byte 0" || { TL_WHY="no restart logged"; return 1; }
        # updated saw the first stream end early (failed), then the second install succeeded.
        expect_eq "$(grep -c "transaction ddi-$id-" "$SB/updated.log")" 2 "installs of action $id" || return 1
        expect_contains "$(grep -A3 "transaction ddi-$id-" "$SB/updated.log")" "Install of fd failed" "updated log" || return 1
        # In this order (not necessarily adjacent: under load the agent may retry the
        # from-the-start download once more while updated is still failing the first stream):
        # the cut download, the Range request answered 200 with other content, a fresh start.
        local seq
        seq=$(ddi_state "(lambda rs: (lambda it: all(x in it for x in [(200, False), (200, True), (200, False)]))(iter(rs)))([(r['status'], bool(r['range'])) for r in arts][-6:])")
        expect_eq "$seq" true "artifact requests contain: cut, changed content, from the start" ||
                { TL_WHY="$TL_WHY: $(ddi_state "[(r['status'], bool(r['range'])) for r in arts][-6:]")"; return 1; }
        expect_slot rootfs.1 '["status"]' ok
}

t_expired_link_refetched() {
        local id gets
        install_f_with '{"expire_after":900000}' || return 1
        id=$F_ID
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "[r['status'] for r in arts][-3:]")" '[200, 403, 206]' "artifact answers" || return 1
        gets=$(ddi_state "a($id)['deployment_gets']")
        [ "$gets" -ge 2 ] || { TL_WHY="deployment fetched $gets times"; return 1; }
        ag_log_has "fetching the deployment again for a fresh link" || { TL_WHY="refresh not logged"; return 1; }
}

t_sha256_mismatch_activates_nothing() {
        local id
        ag_reset
        sb_stop_updated
        sb_start_updated A 2>/dev/null || { TL_WHY="restart updated"; return 1; }
        run updatectl mark active rootfs.0
        ddi_ctl faults '{"bad_sha256":true}' >/dev/null
        id=$(assign_f) || return 1
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "sha256 mismatch" "failure details" || return 1
        ag_expect_failure "$id" HashMismatch || return 1
        expect_primary A || return 1
        expect_boots A || return 1
        expect_slot rootfs.1 '["status"]' failed
}

t_sha1_fallback() {
        local id
        ag_reset
        ddi_ctl faults '{"sha256":false}' >/dev/null
        id=$(assign_f) || return 1
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "'sha256' in [f for f in [a($id)]][0]['artifacts'][0] and 'ok'")" ok "server state" || return 1
        expect_slot rootfs.1 '["status"]' ok
}

t_artifact_selection() {
        local id
        ag_reset
        id=$(ddi_assign "\"version\":\"5\",\"artifacts\":[{\"filename\":\"f.bundle\",\"path\":\"$SB/www/f.bundle\"},
                {\"filename\":\"notes.txt\",\"path\":\"$SB/www/notes.txt\",\"part\":\"docs\"}]") || return 1
        ag_wait_installed "$id" || return 1
        expect_contains "$(ddi_state "fb($id)[0]['details']")" \
                "Not installing artifact notes.txt of docs 5: it does not match *.bundle *.raucb" "first feedback" || return 1
        ag_reset
        id=$(ddi_assign "\"version\":\"6\",\"artifacts\":[{\"filename\":\"notes.txt\",\"path\":\"$SB/www/notes.txt\"}]") || return 1
        ag_wait_status "$id" ERROR || return 1
        ag_expect_failure "$id" ArtifactNotFound || return 1
        expect_contains "$(ag_last_details "$id")" "No artifact of action $id matches *.bundle *.raucb" "details" || return 1
        expect_contains "$(ag_last_details "$id")" "Not installing artifact notes.txt" "details"
}

t_max_bundle_size() {
        local id
        AG_DOWNLOAD_EXTRA="max-bundle-size=1M"
        ag_config
        ag_reset
        id=$(assign_f) || return 1
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "more than max-bundle-size=1048576" "details" || return 1
        ag_expect_failure "$id" ArtifactTooLarge || return 1
        expect_eq "$(ddi_state "len([r for r in arts if r['time'] > 0 and '/softwaremodules/$((100 + id))/' in r['path']])")" 0 "artifact requests"
}

t_low_speed_abort_and_cap() {
        local id t0 t1
        AG_DOWNLOAD_EXTRA="low-speed-limit=4K
low-speed-time=1s
max-speed=1M"
        ag_config
        ag_reset
        ag_log_reset
        # The first connection crawls at 1000 B/s: aborted after 1 s below 4 KiB/s, resumed at
        # full speed, which max-speed caps at 1 MiB/s.
        ddi_ctl faults '{"throttle":{"rate":1000,"count":1}}' >/dev/null
        t0=$(date +%s.%N)
        id=$(assign_f) || return 1
        ag_wait_installed "$id" || return 1
        t1=$(date +%s.%N)
        ag_log_has "Operation too slow" || { TL_WHY="no low-speed abort logged"; return 1; }
        expect_eq "$(ddi_state "[r['status'] for r in arts][-2:]")" '[200, 206]' "artifact answers" || return 1
        # Uncapped, ~2 MiB on loopback take well under 0.1 s, so the whole run would be ~1.1 s
        # (the 1 s until the abort).  With the cap it took 2.0-3.6 s here (libcurl lets the
        # first socket buffers through), so 1.6 s proves the cap; load only makes it slower,
        # never faster, so this lower bound cannot flake.
        "$SB_PY" -c "import sys; sys.exit(0 if $t1 - $t0 >= 1.6 else 1)" ||
                { TL_WHY="download took $("$SB_PY" -c "print(round($t1 - $t0, 2))") s despite max-speed=1M"; return 1; }
        ag_measure "max-speed=1M after a low-speed abort: ${F_SIZE}-byte bundle assigned-to-installed in" \
                "$("$SB_PY" -c "print(round($t1 - $t0, 2))") s"
        AG_DOWNLOAD_EXTRA=
        ag_config
}

# hawkBit's artifact links never change, so an expired URL behind them shows as a 403 on the
# same link again: the agent fetches the deployment, backs off and tries again.
t_403_same_link_retried() {
        local id
        install_f_with '{"status":[{"match":"/softwaremodules/","method":"GET","code":403,"count":2}]}' || return 1
        id=$F_ID
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "[r['status'] for r in arts][-3:]")" '[403, 403, 200]' "artifact answers" || return 1
        [ "$(ddi_state "a($id)['deployment_gets']")" -ge 3 ] || { TL_WHY="deployment fetched $(ddi_state "a($id)['deployment_gets']") times"; return 1; }
        ag_log_has "and the deployment gives the same link; retrying in" || { TL_WHY="backoff after a 403 not logged"; return 1; }
}

# The link is stable, the CDN behind its redirect refuses for a while (nginx: 403 on a file it
# cannot read): every retry starts at the stable link again and follows the redirect anew.
t_403_behind_redirect_retried() {
        local id
        ag_reset
        ag_log_reset
        ag_nginx cdn "$SB/www" || { TL_WHY="nginx"; return 1; }
        : >"$AG_NGINX_LOG"
        chmod 0600 "$SB/www/f.bundle"
        ddi_ctl faults "{\"redirect\":\"$AG_NGINX_URL\"}" >/dev/null
        id=$(assign_f) || return 1
        ag_until 20 '[ "$(grep -c "^403 GET /f.bundle" "$AG_NGINX_LOG")" -ge 3 ]' ||
                { TL_WHY="nginx saw $(grep -c "^403 GET /f.bundle" "$AG_NGINX_LOG") 403s; status $(ddi_state "a($id)['status']")"; chmod 0644 "$SB/www/f.bundle"; return 1; }
        chmod 0644 "$SB/www/f.bundle"
        ag_wait_installed "$id" || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 5 || return 1
        # each try began at the stable link (302 from the server), not at the CDN's URL
        [ "$(ddi_state "len([r for r in arts if r['status'] == 302 and '/softwaremodules/$((100 + id))/' in r['path']])")" -ge 4 ] ||
                { TL_WHY="redirects not followed again: $(ddi_state "[r['status'] for r in arts][-6:]")"; return 1; }
}

# Evidence: the server refuses retries= (6) times in a row, each after a fresh deployment.
t_403_permanent_gives_up() {
        local id
        ag_reset
        ddi_ctl faults '{"status":[{"match":"/softwaremodules/","method":"GET","code":403,"count":1000}]}' >/dev/null
        id=$(assign_f) || return 1
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "giving up: 6 answers in a row were HTTP 403 over" "details" || return 1
        ag_expect_failure "$id" NetworkError || return 1
        expect_eq "$(ddi_state "len([r for r in arts if r['status'] == 403 and '/softwaremodules/$((100 + id))/' in r['path']])")" 6 "403 answers" || return 1
        [ "$(ddi_state "a($id)['deployment_gets']")" -ge 6 ] || { TL_WHY="deployment fetched $(ddi_state "a($id)['deployment_gets']") times"; return 1; }
        # the waits between the 403s are at least half the backoff caps: 25+50+100+200+200 ms
        "$SB_PY" -c "import sys; sys.exit(0 if $(ddi_state "(lambda t: t[-1] - t[0])([r['time'] for r in arts if r['status'] == 403])") >= 0.57 else 1)" ||
                { TL_WHY="the 403s came faster than the backoff allows"; return 1; }
}

# Retry-After on the artifact, in both forms: the next request comes after it, not ~0.1 s later.
t_retry_after_artifact() {
        local id form gap min
        for form in seconds date; do
                ag_reset
                if [ "$form" = seconds ]; then
                        ddi_ctl faults '{"status":[{"match":"/softwaremodules/","method":"GET","code":503,"count":1,"retry_after":3}]}' >/dev/null
                        min=2.9
                else
                        # an HTTP-date 3 s ahead, at one-second resolution: at least 2 s ahead
                        ddi_ctl faults "{\"status\":[{\"match\":\"/softwaremodules/\",\"method\":\"GET\",\"code\":503,\"count\":1,\"retry_after\":\"$(date -u -d '+3 sec' '+%a, %d %b %Y %H:%M:%S GMT')\"}]}" >/dev/null
                        min=1.9
                fi
                id=$(assign_f) || return 1
                ag_wait_installed "$id" || return 1
                gap=$(ddi_state "(lambda A: A[-1]['time'] - [r for r in A if r['status'] == 503][-1]['time'])([r for r in arts if '/softwaremodules/$((100 + id))/' in r['path']])")
                "$SB_PY" -c "import sys; sys.exit(0 if $gap >= $min else 1)" ||
                        { TL_WHY="Retry-After ($form) ignored: retried $gap s after the 503"; return 1; }
                ag_measure "Retry-After ($form, 3 s) on the artifact: retried after $gap s"
        done
}

# The server goes away in the middle of a streamed download, for longer than any count of
# retries would have allowed (here 24 dropped artifact requests; retries=6): the deployment
# stays, and completes when the server is back.  The stream also reports hawkBit's download
# and downloaded steps.
t_outage_keeps_deployment() {
        local id
        install_f_with '{"truncate":{"after":700000,"count":1,"down":true}}' || return 1
        id=$F_ID
        ag_wait "$AG_WAIT" ddi_true "len([r for r in reqs if r.get('down') and '/softwaremodules/' in r['path']]) >= 24" ||
                { TL_WHY="the agent stopped trying during the outage: $(ddi_state "len([r for r in reqs if r.get('down') and '/softwaremodules/' in r['path']])") artifact requests"; return 1; }
        ag_running || { TL_WHY="agent died"; return 1; }
        ! ag_log_has "Download failed" || { TL_WHY="the download failed during the outage"; return 1; }
        ddi_ctl faults '{"down":null}' >/dev/null
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "a($id)['status']")" RUNNING "action status (waits for the reboot)" || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 5 || return 1
        expect_eq "$(ddi_state "[f['execution'] for f in fb($id) if f['execution'] in ('download', 'downloaded')]")" \
                '["download", "downloaded"]' "download feedback of the stream"
}

# The installed slot is marked bad before the reboot: the failure names what the device runs.
# The sandbox's booted slot is the factory image, which no install wrote: its version is not
# recorded, and the sentence says so instead of "version ?".
t_marked_bad_names_running_version() {
        local id
        install_f_with '{}' || return 1
        id=$F_ID
        ag_wait_installed "$id" || return 1
        run updatectl mark-bad rootfs.1
        [ "$TL_RC" = 0 ] || { TL_WHY="mark-bad: $(_tl_out_excerpt)"; return 1; }
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "was marked bad before it ran; the device runs rootfs.0 (version not recorded" \
                "failure details" || return 1
        ag_expect_failure "$id" SlotMarkedBad || return 1
        run updatectl mark-active rootfs.0
}

# once: update-agent --once as u1test-op, bounded; its exit status in TL_RC.
once() { run timeout 120 setpriv --reuid=u1test-op --regid="$(id -g u1test-op)" --init-groups -- \
        "$SB/bin/update-agent" --config "$AG_CONF" --once; }

t_run_once() {
        local id
        ag_reset
        ag_stop
        once
        expect_eq "$TL_RC" 0 "exit status with nothing to do" || { TL_WHY="$TL_WHY: $(_tl_out_excerpt)"; return 1; }
        id=$(assign_f) || return 1
        once
        expect_eq "$TL_RC" 0 "exit status after an installation" || { TL_WHY="$TL_WHY: $(_tl_out_excerpt)"; return 1; }
        # no waiting: the run is over, so the installation is, too
        ag_wait_installed "$id" 0 || return 1
        expect_eq "$(sb_json 'd["phase"]' <"$AG_STATE/action.json")" rebooting "recorded phase" || return 1
        ddi_ctl close "{\"id\":\"$id\",\"status\":\"FINISHED\"}" >/dev/null
        rm -f "$AG_STATE/action.json"
        ddi_ctl faults '{"down":true}' >/dev/null
        once
        expect_eq "$TL_RC" 3 "exit status with the server down" || { TL_WHY="$TL_WHY: $(_tl_out_excerpt)"; return 1; }
        ddi_ctl faults '{"down":null,"bad_sha256":true}' >/dev/null
        id=$(assign_f) || return 1
        once
        expect_eq "$TL_RC" 4 "exit status after a failed action" || { TL_WHY="$TL_WHY: $(_tl_out_excerpt)"; return 1; }
        expect_eq "$(ddi_state "a($id)['status']")" ERROR "action status" || return 1
        ddi_ctl faults '{"bad_sha256":null}' >/dev/null
        run updatectl mark-active rootfs.0
        ag_start
}

ag_case sleep-hhmmss-and-iso8601-bounded t_sleep_forms
ag_case truncated-json-recovers t_truncated_json
ag_case 401-rotated-token-file t_401_rotated_token
ag_case 429-409-backoff t_429_409_backoff
ag_case 410-stops-reporting t_410_stops_reporting
ag_case ignored-range-skips-prefix t_ignored_range_skips_prefix
ag_case changed-content-restarts-install t_changed_content_restarts
ag_case expired-link-refetched t_expired_link_refetched
ag_case sha256-mismatch-activates-nothing t_sha256_mismatch_activates_nothing
ag_case sha1-fallback t_sha1_fallback
ag_case artifact-selection t_artifact_selection
ag_case max-bundle-size t_max_bundle_size
ag_case low-speed-abort-and-bandwidth-cap t_low_speed_abort_and_cap
ag_case 403-same-link-retried t_403_same_link_retried
ag_case 403-behind-redirect-retried t_403_behind_redirect_retried
ag_case 403-permanent-gives-up t_403_permanent_gives_up
ag_case retry-after-on-artifact t_retry_after_artifact
ag_case outage-keeps-deployment t_outage_keeps_deployment
ag_case marked-bad-names-running-version t_marked_bad_names_running_version
ag_case run-once t_run_once
