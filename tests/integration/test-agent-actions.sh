#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent's actions, hooks and its record across crashes (DDI test server, real updated,
# agent as u1test-op):
#   hooks: download/install/restart/ready returning 3 then 0 (arguments: seconds, retry, metadata);
#   a failing install hook's output in the feedback (HookFailed); a failing restart hook →
#   HookFailed, the new slot marked bad, no reboot; the version hook's "already installed";
#   cancel: while a hook postpones (accepted), during a download to disk (accepted, partial file
#   removed), during a streamed install (rejected, the result follows after reboot+MarkGood);
#   download-only → "downloaded" → a later action with the same artifact in a closed
#   maintenance window → "scheduled" → no new download → window opens → installed from the
#   stored file; download-only, then a forced action with the same artifact in stream mode →
#   installed from the stored file, no new download, no "bytes received" in its progress;
#   mode=disk: SIGKILL mid-download → restart → resumed with Range (206);
#   SIGKILL mid-stream → restart → the install starts again and completes;
#   the final feedback's answer lost (504) → resent → 410 → exactly one result on the server;
#   a server that is down at the final feedback → the result waits in the record, across a
#   SIGKILL, and is sent once the server is back;
#   custom target attributes from [attributes] and from the attributes hook in configData (the
#   hook's replace the config's, the agent's own cannot be replaced);
#   an offline installation (updatectl install, reboot) recorded with PUT installedBase once it
#   is marked good, once;
#   user consent (confirmationBase): no confirm hook → nothing sent, the action waits; hook
#   exit 3 → asked again; exit 1 → denied with its output; exit 0 (after a restart) →
#   confirmed, installed.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

# Every case installs a new version: updated refuses the version the booted slot runs.
H_VER=10
new_bundle() {
        H_VER=$((H_VER + 1))
        ag_bundle "h$H_VER" "$H_VER" 2M || { TL_WHY="bundle"; return 1; }
        H_SIZE=$(stat -c %s "$SB/www/h$H_VER.bundle")
        # shellcheck disable=SC2034 # read in the condition ag_until evaluates
        H_SHA=$(sha256sum <"$SB/www/h$H_VER.bundle" | cut -c1-64)
        H_ART=$(ag_art "h$H_VER")
}
assign_h() { ddi_assign "\"version\":\"$H_VER\",\"artifacts\":$H_ART"; }
phase() { sb_json 'd["phase"]' <"$AG_STATE/action.json" 2>/dev/null; }

# Finish an installed action the way a device does: reboot, MarkGood, wait for success.
finish_ok() {
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $2 ]" || { TL_WHY="no reboot request for action $1"; return 1; }
        ag_reboot || return 1
        ag_mark_good || return 1
        ag_wait_status "$1" FINISHED
}

# A hook that exits 3 the first N times (counted in the work dir), records its arguments.
retry_hook() { # name n
        ag_hook "$1" "n=\$(cat $AG_WORK/$1.n 2>/dev/null || echo 0); echo \$((n + 1)) >$AG_WORK/$1.n
printf '%s|%s|%s|%s\n' \"\$1\" \"\$2\" \"\$3\" \"\${4:-}\" >>$AG_WORK/$1.args
[ \$n -lt $2 ] && { echo \"not now (\$n)\"; exit 3; }
echo go; exit 0"
}

t_hooks_retry_then_go() {
        local id reboots
        new_bundle || return 1
        reboots=$(count_reboots)
        rm -f "$AG_WORK"/*
        retry_hook download 2
        retry_hook install 1
        retry_hook restart 1
        retry_hook ready 1
        id=$(assign_h) || return 1
        finish_ok "$id" "$reboots" || return 1
        expect_eq "$(cut -d'|' -f2 "$AG_WORK/download.args" | tr '\n' ' ')" "0 1 2 " "download hook retry counts" || return 1
        expect_eq "$(cut -d'|' -f2 "$AG_WORK/install.args" | tr '\n' ' ')" "0 1 " "install hook retry counts" || return 1
        expect_eq "$(wc -l <"$AG_WORK/restart.args")" 2 "restart hook runs" || return 1
        expect_eq "$(wc -l <"$AG_WORK/ready.args")" 2 "ready hook runs (after the reboot and MarkGood)" || return 1
        # $3: the deployment's metadata (JSON); the restart hook gets the action and slot.
        expect_eq "$(head -n 1 "$AG_WORK/download.args" | cut -d'|' -f3 | sb_json 'd["id"]')" "$id" "download hook metadata" || return 1
        expect_eq "$(head -n 1 "$AG_WORK/restart.args" | cut -d'|' -f3 | sb_json 'd["slot"]')" rootfs.1 "restart hook metadata" || return 1
        expect_contains "$(ddi_state "[f['details'] for f in fb($id)]")" "download hook postponed (retry 2 of 5)" "feedback" || return 1
        ag_clear_hooks
}

t_hook_failure_tail() {
        local id
        new_bundle || return 1
        ag_hook install 'echo "checking free space"; echo "disk full" >&2; exit 1'
        id=$(assign_h) || return 1
        ag_wait_status "$id" ERROR || return 1
        expect_contains "$(ag_last_details "$id")" "install hook exited with 1: checking free space|disk full" "details" || return 1
        ag_expect_failure "$id" HookFailed || return 1
        expect_eq "$(ddi_state "len([r for r in arts if '/softwaremodules/$((100 + id))/' in r['path']])")" 0 "artifact requests" || return 1
        ag_clear_hooks
}

# A failing restart hook after the install: the new slot is marked bad, nothing reboots, and
# the failure is named like the hooks' before the install.
t_restart_hook_failure_named() {
        local id reboots
        new_bundle || return 1
        reboots=$(count_reboots)
        ag_hook restart 'echo "battery low"; exit 1'
        id=$(assign_h) || return 1
        ag_wait_status "$id" ERROR || return 1
        ag_expect_failure "$id" HookFailed || return 1
        expect_contains "$(ag_last_details "$id")" "restart hook exited with 1: battery low" "details" || return 1
        expect_contains "$(ag_last_details "$id")" "the new slot was marked bad" "details" || return 1
        # The slot it installed (which one depends on what the earlier cases booted).
        expect_status "[s['boot_status'] for s in d['slots'] if (s.get('bundle') or {}).get('version') == '$H_VER']" \
                '["bad"]' || return 1
        expect_eq "$(count_reboots)" "$reboots" "reboot requests" || return 1
        ag_clear_hooks
}

t_version_hook_same() {
        local id
        new_bundle || return 1
        ag_hook version "echo 'some noise'; echo $H_VER"
        id=$(assign_h) || return 1
        ag_wait_status "$id" FINISHED || return 1
        expect_contains "$(ag_last_details "$id")" "Version already installed (version hook)" "details" || return 1
        expect_eq "$(ddi_state "len([r for r in arts if '/softwaremodules/$((100 + id))/' in r['path']])")" 0 "artifact requests" || return 1
        ag_clear_hooks
}

t_cancel_while_hook_postpones() {
        local id
        new_bundle || return 1
        AG_HOOK_RETRIES=1000
        ag_config
        ag_reset
        ag_hook download 'exit 3'
        id=$(assign_h) || return 1
        ag_wait 10 ddi_true "any('download hook postponed' in ' '.join(f['details']) for f in fb($id))" || { TL_WHY="hook not postponing"; return 1; }
        ddi_ctl cancel "{\"id\":\"$id\"}" >/dev/null
        ag_wait_status "$id" CANCELED || return 1
        expect_eq "$(ddi_state "[(f['execution'], f['finished']) for f in cfb($id)]")" '[["closed", "success"]]' "cancel feedback" || return 1
        ag_until 10 '[ ! -e "$AG_STATE/action.json" ]' || { TL_WHY="record left"; return 1; }
        ag_clear_hooks
        AG_HOOK_RETRIES=
        ag_config
}

t_cancel_during_disk_download() {
        local id
        new_bundle || return 1
        ag_reset
        ddi_ctl faults '{"throttle":300000}' >/dev/null
        id=$(ddi_assign "\"version\":\"$H_VER\",\"type\":\"downloadonly\",\"artifacts\":$H_ART") || return 1
        ag_until 20 '[ "$(stat -c %s "$AG_STATE/bundle-$H_SHA.part" 2>/dev/null || echo 0)" -gt 100000 ]' ||
                { TL_WHY="no partial download"; return 1; }
        ddi_ctl cancel "{\"id\":\"$id\"}" >/dev/null
        ag_wait_status "$id" CANCELED || return 1
        expect_eq "$(find "$AG_STATE" -maxdepth 1 -name '*bundle-*' | wc -l)" 0 "bundle files after the cancel" || return 1
        ddi_ctl faults '{"throttle":null}' >/dev/null
}

t_cancel_rejected_after_install_start() {
        local id reboots
        new_bundle || return 1
        ag_reset
        reboots=$(count_reboots)
        ddi_ctl faults '{"throttle":500000}' >/dev/null
        id=$(assign_h) || return 1
        ag_until 20 '[ "$(phase)" = installing ]' || { TL_WHY="not installing: $(phase)"; return 1; }
        ddi_ctl cancel "{\"id\":\"$id\"}" >/dev/null
        ag_wait 20 ddi_true "a($id)['cancel_rejected']" || { TL_WHY="cancel not rejected: $(ddi_state "cfb($id)")"; return 1; }
        expect_contains "$(ddi_state "cfb($id)[0]['details']")" "already started" "reject reason" || return 1
        ddi_ctl faults '{"throttle":null}' >/dev/null
        finish_ok "$id" "$reboots" || return 1
        expect_eq "$(ddi_state "[(f['execution'], f['finished']) for f in cfb($id)]")" '[["rejected", "none"]]' "cancel feedback"
}

# A download-only action of a new bundle: completed by "downloaded", the bundle kept, no reboot.
# Sets reboots.
download_only_stored() {
        local a1
        new_bundle || return 1
        ag_reset
        reboots=$(count_reboots)
        a1=$(ddi_assign "\"version\":\"$H_VER\",\"type\":\"downloadonly\",\"artifacts\":$H_ART") || return 1
        ag_wait_status "$a1" FINISHED || return 1
        expect_eq "$(ddi_state "fb($a1)[-1]['execution']")" downloaded "last feedback" || return 1
        ag_until 10 '[ ! -e "$AG_STATE/action.json" ] && [ -e "$AG_STATE/bundle-$H_SHA" ]' ||
                { TL_WHY="bundle not kept: $(ls "$AG_STATE")"; return 1; }
        expect_eq "$(count_reboots)" "$reboots" "reboots"
}

# No progress line of an install from a stored bundle counts received bytes ("0 of N").
no_bytes_received() {
        expect_eq "$(ddi_state "[d for f in fb($1) for d in f['details'] if 'bytes received' in d]")" '[]' \
                "progress lines counting received bytes of a stored bundle"
}

t_download_only_then_window() {
        local a2 n reboots
        download_only_stored || return 1
        n=$(ddi_state 'len(arts)')
        # The same distribution set, soft, maintenance window closed: download now (here: kept), install later.
        a2=$(ddi_assign "\"version\":\"$H_VER\",\"type\":\"soft\",\"window\":\"unavailable\",\"artifacts\":$H_ART") || return 1
        ag_wait 20 ddi_true "any(f['execution'] == 'downloaded' for f in fb($a2))" || { TL_WHY="no downloaded feedback"; return 1; }
        expect_eq "$(ddi_state "fb($a2)[0]['execution']")" scheduled "first feedback (window closed)" || return 1
        expect_contains "$(ddi_state "[f['details'] for f in fb($a2) if f['execution'] == 'downloaded'][0]")" \
                "waiting for the maintenance window" "downloaded details" || return 1
        expect_eq "$(ddi_state 'len(arts)')" "$n" "artifact requests (the stored bundle is used)" || return 1
        expect_eq "$(phase)" downloaded "recorded phase" || return 1
        expect_eq "$(count_reboots)" "$reboots" "reboots while the window is closed" || return 1
        ddi_ctl window "{\"id\":\"$a2\",\"available\":true}" >/dev/null
        finish_ok "$a2" "$reboots" || return 1
        no_bytes_received "$a2" || return 1
        expect_contains "$(ag_last_details "$a2")" "with version $H_VER" "final details" || return 1
        expect_eq "$(find "$AG_STATE" -maxdepth 1 -name '*bundle-*' | wc -l)" 0 "bundle files after the install"
}

# hawkBit's download-only, then install: two actions.  In stream mode (the default) the second
# one installs the bundle the first one stored, with no second download.
t_download_only_then_install_stream() {
        local a2 n reboots
        download_only_stored || return 1
        n=$(ddi_state 'len(arts)')
        a2=$(assign_h) || return 1
        ag_wait_installed "$a2" || return 1
        expect_eq "$(ddi_state 'len(arts)')" "$n" "artifact requests (the stored bundle is used)" || return 1
        no_bytes_received "$a2" || return 1
        finish_ok "$a2" "$reboots" || return 1
        expect_eq "$(find "$AG_STATE" -maxdepth 1 -name '*bundle-*' | wc -l)" 0 "bundle files after the install"
}

t_disk_resume_after_sigkill() {
        local id reboots
        new_bundle || return 1
        AG_MODE=disk
        ag_config
        ag_reset
        ag_log_reset
        reboots=$(count_reboots)
        ddi_ctl faults '{"throttle":400000}' >/dev/null
        id=$(assign_h) || return 1
        ag_until 20 '[ "$(stat -c %s "$AG_STATE/bundle-$H_SHA.part" 2>/dev/null || echo 0)" -gt 600000 ]' ||
                { TL_WHY="no partial download"; return 1; }
        ag_crash
        ddi_ctl faults '{"throttle":null}' >/dev/null
        ag_start
        finish_ok "$id" "$reboots" || return 1
        ag_log_has "Resuming the download at byte" || { TL_WHY="no resume logged"; return 1; }
        expect_eq "$(ddi_state "[r['status'] for r in arts if '/softwaremodules/$((100 + id))/' in r['path']][-1]")" 206 \
                "last artifact answer" || return 1
        # The second run fetched only what the first had not stored.
        local line kept recv
        line=$(grep -F "Download of h$H_VER.bundle:" "$AG_LOG" | tail -n 1)
        kept=$(sed -n 's/.*, \([0-9]*\) bytes kept from before.*/\1/p' <<<"$line")
        recv=$(sed -n 's/.*: \([0-9]*\) bytes received over.*/\1/p' <<<"$line")
        [ -n "$kept" ] && [ "$kept" -gt 0 ] && [ $((kept + recv)) = "$H_SIZE" ] ||
                { TL_WHY="after the restart: $line"; return 1; }
        ag_measure "mode=disk, SIGKILL mid-download, restart: $kept bytes kept, $recv bytes fetched after the restart" \
                "for a ${H_SIZE}-byte bundle"
        AG_MODE=
        ag_config
}

t_stream_sigkill_retries_install() {
        local id reboots
        new_bundle || return 1
        ag_reset
        reboots=$(count_reboots)
        ddi_ctl faults '{"throttle":500000}' >/dev/null
        id=$(assign_h) || return 1
        ag_until 20 '[ "$(phase)" = installing ]' || { TL_WHY="not installing"; return 1; }
        ag_crash
        ddi_ctl faults '{"throttle":null}' >/dev/null
        ag_start
        finish_ok "$id" "$reboots" || return 1
        expect_eq "$(grep -c "transaction ddi-$id-" "$SB/updated.log")" 2 "installs of action $id" || return 1
        expect_eq "$(ddi_state "len([f for f in fb($id) if f['execution'] == 'closed'])")" 1 "closed feedbacks"
}

t_lost_reply_no_double_report() {
        local id reboots
        new_bundle || return 1
        ag_reset
        reboots=$(count_reboots)
        ddi_ctl faults '{"feedback_lost_reply":1}' >/dev/null
        id=$(assign_h) || return 1
        finish_ok "$id" "$reboots" || return 1
        ag_until 10 '[ ! -e "$AG_STATE/action.json" ]' || { TL_WHY="record left"; return 1; }
        expect_eq "$(ddi_state "len([f for f in fb($id) if f['execution'] == 'closed'])")" 1 "closed feedbacks taken" || return 1
        expect_eq "$(ddi_state "len(a($id)['late_feedback'])")" 1 "resent after the lost answer (answered 410)"
}

t_server_down_at_final_report() {
        local id reboots
        new_bundle || return 1
        ag_reset
        reboots=$(count_reboots)
        id=$(assign_h) || return 1
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" || { TL_WHY="no reboot request"; return 1; }
        ag_reboot || return 1
        ddi_ctl faults '{"status":[{"match":"/feedback","method":"POST","code":503,"count":1000}]}' >/dev/null
        ag_mark_good || return 1
        ag_until 20 '[ "$(phase)" = reporting ]' || { TL_WHY="phase $(phase)"; return 1; }
        ag_crash
        expect_eq "$(sb_json 'd["final_success"]' <"$AG_STATE/action.json")" true "recorded result" || return 1
        ddi_ctl faults '{"status":null}' >/dev/null
        ag_start
        ag_wait_status "$id" FINISHED || return 1
        expect_eq "$(ddi_state "len([f for f in fb($id) if f['execution'] == 'closed'])")" 1 "closed feedbacks"
}

t_attributes_config_and_hook() {
        AG_AGENT_EXTRA="
[attributes]
site=berlin-3
hw=B"
        ag_config
        ag_hook attributes 'echo hw=C; echo modem=LTE; echo not an attribute; echo compatible=evil; echo on stderr >&2'
        ag_reset
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("site") == "berlin-3" and d["attributes"].get("hw") == "C" and d["attributes"].get("modem") == "LTE"' ||
                { TL_WHY="attributes on the server: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["compatible"]')" "$SB_COMPATIBLE" "compatible (not the hook's)" || return 1
        ag_log_has "attribute 'compatible' is skipped: the agent sends this attribute itself" ||
                { TL_WHY="the refused hook attribute was not logged"; return 1; }
        ag_log_has "printed 'not an attribute', not key=value" || { TL_WHY="the bad hook line was not logged"; return 1; }
        # asked again by the server: the hook runs again
        ag_hook attributes 'echo hw=D'
        ddi_ctl request-attributes >/dev/null
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("hw") == "D"' || { TL_WHY="attributes not sent again: $(ddi_state 'd["attributes"]')"; return 1; }
        ag_clear_hooks
        AG_AGENT_EXTRA=
        ag_config
}

installed_base_puts() { ddi_state "len([r for r in reqs if r['method'] == 'PUT' and r['path'].endswith('/installedBase')])"; }

t_offline_install_installed_base() {
        local puts
        AG_AGENT_EXTRA="installed-base-name=sandbox-os"
        ag_config
        new_bundle || return 1
        ag_reset
        ag_stop
        run updatectl install "$SB/www/h$H_VER.bundle"
        [ "$TL_RC" = 0 ] || { TL_WHY="updatectl install: $(_tl_out_excerpt)"; return 1; }
        puts=$(installed_base_puts)
        ag_reboot || return 1
        # on trial: configData goes out, the installation is not recorded yet
        ag_wait "$AG_WAIT" ddi_true "d['attributes'].get('installed_version') == '$H_VER'" ||
                { TL_WHY="no configData after the reboot: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(installed_base_puts)" "$puts" "installedBase PUTs while on trial" || return 1
        ag_mark_good || return 1
        ag_wait "$AG_WAIT" ddi_true "d['installed_base'] == {'name': 'sandbox-os', 'version': '$H_VER'}" ||
                { TL_WHY="installedBase on the server: $(ddi_state 'd["installed_base"]')"; return 1; }
        # once: a restart (configData again) sends nothing more
        ag_stop
        ag_start
        ddi_ctl request-attributes >/dev/null
        ag_wait "$AG_WAIT" ddi_true "not d['request_attributes']" || { TL_WHY="no configData after the restart"; return 1; }
        expect_eq "$(installed_base_puts)" $((puts + 1)) "installedBase PUTs" || return 1
        AG_AGENT_EXTRA=
        ag_config
        ag_reset
}

t_consent() {
        local id reboots
        new_bundle || return 1
        ag_reset
        ag_log_reset
        reboots=$(count_reboots)
        id=$(ddi_assign "\"version\":\"$H_VER\",\"confirm\":true,\"artifacts\":$H_ART") || return 1
        ag_wait_log "Action $id waits for consent (confirmationBase) and there is no confirm hook" || return 1
        expect_eq "$(ddi_state "a($id)['confirmations']")" '[]' "confirmations without a hook" || return 1
        # a hook: "not now" twice (counted in the work dir), then "no"
        rm -f "$AG_WORK"/confirm.n
        ag_hook confirm "n=\$(cat $AG_WORK/confirm.n 2>/dev/null || echo 0); echo \$((n + 1)) >$AG_WORK/confirm.n
[ \$n -lt 2 ] && exit 3
echo 'the user said no'; exit 1"
        ag_stop
        ag_start
        ag_wait "$AG_WAIT" ddi_true "len(a($id)['confirmations']) >= 1" || { TL_WHY="no consent sent"; return 1; }
        expect_eq "$(cat "$AG_WORK/confirm.n")" 3 "confirm hook runs" || return 1
        expect_eq "$(ddi_state "a($id)['confirmations'][0]['confirmation']")" denied "consent" || return 1
        expect_contains "$(ddi_state "a($id)['confirmations'][0]['details']")" "the user said no" "denial details" || return 1
        expect_eq "$(ddi_state "a($id)['status']")" WAITING_CONFIRMATION "status after the denial" || return 1
        # the user changes their mind; the agent asks again after a restart
        ag_hook confirm 'exit 0'
        ag_stop
        ag_start
        ag_wait_installed "$id" || return 1
        expect_eq "$(ddi_state "[c['confirmation'] for c in a($id)['confirmations']]")" '["denied", "confirmed"]' "consents" || return 1
        ag_clear_hooks
        finish_ok "$id" "$reboots"
}

ag_case hooks-retry-then-go t_hooks_retry_then_go
ag_case hook-failure-output-in-feedback t_hook_failure_tail
ag_case restart-hook-failure-named t_restart_hook_failure_named
ag_case version-hook-already-installed t_version_hook_same
ag_case cancel-while-hook-postpones t_cancel_while_hook_postpones
ag_case cancel-during-disk-download t_cancel_during_disk_download
ag_case cancel-rejected-after-install-start t_cancel_rejected_after_install_start
ag_case download-only-then-maintenance-window t_download_only_then_window
ag_case download-only-then-install-stream t_download_only_then_install_stream
ag_case disk-resume-after-sigkill t_disk_resume_after_sigkill
ag_case stream-sigkill-retries-install t_stream_sigkill_retries_install
ag_case lost-reply-no-double-report t_lost_reply_no_double_report
ag_case server-down-at-final-report t_server_down_at_final_report
ag_case attributes-from-config-and-hook t_attributes_config_and_hook
ag_case offline-install-installed-base t_offline_install_installed_base
ag_case consent-confirmation-base t_consent
