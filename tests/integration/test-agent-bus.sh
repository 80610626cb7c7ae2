#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent across a restart of the system bus (dbus-daemon restarted, or crashed and
# restarted by systemd): every connection to the old bus is gone, and sd-bus never reconnects by
# itself.  An agent that kept its first connection failed every later call with sd-bus's
# error for ENOTCONN ("GetSlotStatus: System.Error." + ENOTCONN, seen on the arm64 board)
# until it was restarted; it must open a new connection and go on: install, find the slot,
# ask for the reboot.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
sb_start_nginx "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
ag_bundle v2 2 6M || { fail "$TL_FILE-setup" "bundles"; exit 1; }
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

# The agent's first GetSlotStatus (configData) goes over its first connection.
t_connected_first() {
        ag_wait "$AG_WAIT" ddi_true 'd["attributes"].get("booted_slot")' ||
                { TL_WHY="no configData: $(ddi_state 'd["attributes"]')"; return 1; }
        expect_eq "$(ddi_state 'd["attributes"]["booted_slot"]')" rootfs.0 "booted_slot"
}

# The bus goes away under the agent and the daemon and comes back at the same address; the
# daemon is started again on it (as systemd would).  The agent is not touched.
t_bus_restarted() {
        local old=$SB_BUS_PID
        sb_stop_updated
        sb_kill "$SB_BUS_PID"
        sb_child_running "$old" && { TL_WHY="dbus-daemon $old still runs"; return 1; }
        sb_start_bus || { TL_WHY="dbus-daemon did not start again: $(cat "$SB/bus/bus.log")"; return 1; }
        [ "$SB_BUS_PID" != "$old" ] || { TL_WHY="no new dbus-daemon"; return 1; }
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="updated on the new bus: $(cat "$SB/start.err")"; return 1; }
        ag_running || { TL_WHY="the agent exited with the bus"; return 1; }
}

# An install after the restart: InstallFd, Progress/Completed, GetSlotStatus (the slot it
# wrote) and the reboot request all need the new connection.
t_install_after_bus_restart() {
        local id
        id=$(ddi_assign "\"version\":\"2\",\"artifacts\":$(ag_art v2 "$SB_HTTP_URL/v2.bundle")") || return 1
        ag_until "$AG_WAIT" '[ "$(count_reboots)" -ge 1 ]' ||
                { TL_WHY="no reboot request; feedback: $(ddi_state "fb($id)[-3:]" | cut -c1-500)"; return 1; }
        grep -q "Installed update1-test-board 2 into rootfs.1" "$SB/updated.log" ||
                { TL_WHY="no install in the daemon's log"; return 1; }
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        expect_eq "$(sb_json 'd["expected_slot"]' <"$AG_STATE/action.json")" rootfs.1 \
                "the slot found by GetSlotStatus after the restart" || return 1
        ! ag_log_has "ENOTCONN" || { TL_WHY="a call failed on the closed connection: $(grep -F ENOTCONN "$AG_LOG" | head -1)"; return 1; }
        ag_log_has "The connection to the system bus was closed: reconnected" ||
                { TL_WHY="the agent did not say it reconnected"; return 1; }
}

tl_case agent-first-connection t_connected_first
tl_case bus-restarted t_bus_restarted
tl_case install-after-bus-restart t_install_after_bus_restart
