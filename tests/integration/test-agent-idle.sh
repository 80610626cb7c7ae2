#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent against a daemon that exits on idle (idle-timeout=1) and comes back by D-Bus
# activation: the agent's one bus connection outlives the daemon; every call goes to the
# well-known name (no cached unique name), and its Progress/Completed matches are set up per
# install, while the install keeps the daemon up.  Assign v2 after the daemon has exited: the
# install, the report and the reboot request all go through a new activation.
SB_IDLE_TIMEOUT=1
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
sb_start_nginx "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
ag_bundle v2 2 6M || { fail "$TL_FILE-setup" "bundles"; exit 1; }
ag_config
ag_start

stop_activated() {
        local p
        p=$(sb_updated_pid) && kill -TERM "$p" 2>/dev/null && sb_wait_exit "$p" "$SB_WAIT"
}
fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx" "stop_activated")

starts() { grep -c "=== updated (activated)" "$SB/updated.log"; }
no_owner() { ! sb_name_has_owner; }

STARTS=
t_config_data_then_idle_exit() {
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("booted_slot")' ||
                { TL_WHY="no configData: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["booted_slot"]')" rootfs.0 "booted_slot" || return 1
        [ "$(starts)" -ge 1 ] || { TL_WHY="the agent's call did not activate updated"; return 1; }
        ag_wait "$AG_WAIT" no_owner || { TL_WHY="updated did not exit on idle while the agent polls"; return 1; }
        STARTS=$(starts)
        ag_running || { TL_WHY="the agent exited with the daemon"; return 1; }
}

A1=
t_install_after_daemon_exit() {
        A1=$(ddi_assign "\"version\":\"2\",\"artifacts\":$(ag_art v2 "$SB_HTTP_URL/v2.bundle")") || return 1
        ag_until "$AG_WAIT" '[ "$(count_reboots)" -ge 1 ]' ||
                { TL_WHY="no reboot request; feedback: $(ddi_state "fb($A1)[-3:]" | cut -c1-500)"; return 1; }
        [ "$(starts)" -gt "$STARTS" ] || { TL_WHY="no activation for the install"; return 1; }
        grep -q "Installed update1-test-board 2 into rootfs.1" "$SB/updated.log" ||
                { TL_WHY="no install in the daemon's log"; return 1; }
        expect_eq "$(sb_json 'd["phase"]' <"$AG_STATE/action.json")" rebooting "recorded phase" || return 1
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        expect_slot rootfs.1 '["boot_status"]' trial
}

# Waiting for the reboot, the agent asks GetSlotStatus at every poll (200 ms here, below the
# 1 s timeout): those calls are activity, the daemon stays; once the agent stops (as at the
# reboot), it goes.  The agent never saw the daemon leave.
t_agent_polls_keep_daemon_then_exit() {
        local pid
        pid=$(sb_updated_pid) || { TL_WHY="no daemon while the agent waits for the reboot"; return 1; }
        if sb_wait_exit "$pid" "$((SB_IDLE_TIMEOUT + 2))"; then
                TL_WHY="updated exited although the agent calls it every 200 ms"
                return 1
        fi
        ag_running || { TL_WHY="the agent exited"; return 1; }
        ! grep -q "Cannot ask updated\|left the bus" "$AG_LOG" ||
                { TL_WHY="the agent saw the daemon go: $(grep "Cannot ask updated\|left the bus" "$AG_LOG" | head -2)"; return 1; }
        ag_stop
        sb_wait_exit "$pid" "$((SB_IDLE_TIMEOUT + 4))" || { TL_WHY="updated $pid did not exit once the agent stopped"; return 1; }
}

tl_case agent-activates-daemon-which-exits-on-idle t_config_data_then_idle_exit
tl_case agent-installs-through-a-new-activation t_install_after_daemon_exit
tl_case agent-polls-keep-daemon-then-it-exits t_agent_polls_keep_daemon_then_exit
