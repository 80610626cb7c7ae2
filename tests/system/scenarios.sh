# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The scenarios of the emulated-board suite.  Each one starts from a fresh copy of the factory
# disk (A and B hold v1.0, BOOT_ORDER="A B", both counters 3) and returns 0 (passed) or 1.
# SCEN_SKIPS collects "SKIP: ..." lines for assertions that cannot be made (with the reason).
# Steps run in the guest after update-health; see tests/system/guest/init for the helpers.

# ---- shared checks ------------------------------------------------------------------------------
# chose_and_ran SLOT VERSION: U-Boot chose SLOT and that root file system reached userspace.
chose_and_ran() {
        need "U-Boot chose $1" [ "$(boot_uboot_slot)" = "$1" ] || return 1
        need "slot $1 with version $2 reached userspace" [ "$(boot_userspace)" = "slot=$1 version=$2" ]
}

# daemon_says_booted SLOTNAME: updatectl status (GetSlotStatus) names it booted.
daemon_says_booted() {
        need "updatectl status: booted $1" boot_json_is status-json 'd["booted"]' "$1"
}

# fell_back_reported EXPECTED BOOTED: last_boot says the trial of EXPECTED fell back to BOOTED.
fell_back_reported() {
        local lb
        lb=$(boot_json status-json 'd.get("last_boot", "absent")')
        if [ "$lb" = absent ]; then
                SCEN_SKIPS+=("SKIP: $SCEN last_boot.fell_back (GetSlotStatus has no last_boot field in this build)")
                return 0
        fi
        need "last_boot reports the failed trial of $1" boot_json_is status-json 'd["last_boot"]["fell_back"]' true || return 1
        need "last_boot.expected" boot_json_is status-json 'd["last_boot"]["expected"]' "$1" || return 1
        need "last_boot.booted" boot_json_is status-json 'd["last_boot"]["booted"]' "$2"
}

# next_uboot_pick: what uboot-boot.cmd boots next, from the env on the disk (first bootname in
# BOOT_ORDER with attempts left).
next_uboot_pick() {
        local x left
        for x in $(env_get BOOT_ORDER); do
                left=$(env_get "BOOT_${x}_LEFT")
                [ "${left:-0}" -gt 0 ] 2>/dev/null && { echo "$x"; return 0; }
        done
        echo none
}

# ---- update and commit --------------------------------------------------------------------------
sc_update_commit() {
        board_new update-commit
        board_boot 'status_json
u1_install /media/bundles/v2.u1b
env_dump
board_reboot' || return 1
        chose_and_ran A 1.0 || return 1
        daemon_says_booted rootfs.0 || return 1
        need "install of v2 succeeded" [ "$(boot_install_exit)" = 0 ] || return 1
        need "the board rebooted through updated's reboot-command" [ "$BOOT_END" = reboot ] || return 1
        need "slot B holds the v2 image" slot_holds B v2 || return 1
        need "env: B first" env_is BOOT_ORDER "B A" || return 1
        need "env: B has its one trial attempt" env_is BOOT_B_LEFT 1 || return 1
        need "env: B on trial" env_is UPDATE1_TRIAL B || return 1

        board_boot '' || return 1
        chose_and_ran B 2.0 || return 1
        need "U-Boot used B's one trial attempt" boot_has '^BOARD: saved env .*BOOT_ORDER=B A A_LEFT=3 B_LEFT=0' || return 1
        need "updated saw the trial boot" boot_has '^updated: .*Trial boot of slot rootfs.1' || return 1
        need "update-health committed the trial" boot_json_is health-json 'd["action"]' committed || return 1
        need "update-health saw the trial" boot_json_is health-json 'd["on_trial"]' true || return 1
        need "env: trial over" env_is UPDATE1_TRIAL "" || return 1
        need "env: B re-armed" env_is BOOT_B_LEFT 3 || return 1
        need "env: B stays first" env_is BOOT_ORDER "B A" || return 1

        board_boot '' || return 1
        chose_and_ran B 2.0 || return 1
        daemon_says_booted rootfs.1 || return 1
        need "B is good" boot_json_is status-json 'slot("rootfs.1")["boot_status"]' good || return 1
        need "B carries the bundle version" boot_json_is status-json 'slot("rootfs.1")["bundle"]["version"]' 2.0 || return 1
        need "B status ok" boot_json_is status-json 'slot("rootfs.1")["status"]' ok || return 1
        need "primary is B" boot_json_is status-json 'd["primary"]' rootfs.1 || return 1
        need "update-health re-armed B (not a trial)" boot_json_is health-json 'd["action"]' re-armed
}

# ---- fallback: a required health check fails on the trial boot -----------------------------------
sc_fallback_health() {
        board_new fallback-health
        board_boot 'u1_install /media/bundles/v2-red.u1b
board_reboot' || return 1
        chose_and_ran A 1.0 || return 1
        need "install of v2-red succeeded" [ "$(boot_install_exit)" = 0 ] || return 1
        need "env: B on trial" env_is UPDATE1_TRIAL B || return 1

        board_boot '' || return 1
        chose_and_ran B 2.0-red || return 1
        need "the failing required check ran" boot_has 'required/50-board-selftest: board self-test of 2.0-red: FAILED' || return 1
        need "update-health marked B bad" boot_has '^health: update-health: marked slot rootfs.1 bad' || return 1
        # "U1SYS: reboot" comes only from the board's reboot-command, which only updated runs
        # (update-health's Reboot() call)
        need "the board rebooted through Reboot() and updated's reboot-command" [ "$BOOT_END" = reboot ] || return 1
        need "health-red.json on the data partition: red" data_json_is health/health-red.json 'd["result"]' red || return 1
        need "health-red.json: B marked bad on its trial boot" \
                data_json_is health/health-red.json '[d["booted"], d["on_trial"], d["action"]]' '["rootfs.1", true, "marked-bad"]' || return 1
        need "env: B out of BOOT_ORDER" env_is BOOT_ORDER A || return 1
        need "env: no trial" env_is UPDATE1_TRIAL "" || return 1

        board_boot '' || return 1
        chose_and_ran A 1.0 || return 1
        daemon_says_booted rootfs.0 || return 1
        need "B is bad" boot_json_is status-json 'slot("rootfs.1")["boot_status"]' bad || return 1
        fell_back_reported rootfs.1 rootfs.0 || return 1
        need "update-health re-armed A" boot_json_is health-json 'd["action"]' re-armed || return 1
        need "env: A re-armed" env_is BOOT_A_LEFT 3
}

# ---- fallback: the new slot's kernel never reaches userspace --------------------------------------
sc_fallback_noboot() {
        board_new fallback-noboot
        board_boot 'u1_install /media/bundles/v2-noboot.u1b
board_reboot' || return 1
        chose_and_ran A 1.0 || return 1
        need "install of v2-noboot succeeded" [ "$(boot_install_exit)" = 0 ] || return 1
        need "env: B on trial" env_is UPDATE1_TRIAL B || return 1

        board_boot '' || return 1
        need "U-Boot chose B (the trial)" [ "$(boot_uboot_slot)" = B ] || return 1
        need "B never reached userspace" boot_lacks '^U1SYS: userspace' || return 1
        need "the kernel gave up (panic, reset)" boot_has 'Kernel panic' || return 1
        need "env: B's attempt used up" env_is BOOT_B_LEFT 0 || return 1
        need "env: the trial note is still there (U-Boot does not touch it)" env_is UPDATE1_TRIAL B || return 1

        board_boot '' || return 1
        chose_and_ran A 1.0 || return 1
        daemon_says_booted rootfs.0 || return 1
        need "the daemon reported the fallback" boot_has 'updated: .*Fallback: slot rootfs.1' || return 1
        need "B is bad" boot_json_is status-json 'slot("rootfs.1")["boot_status"]' bad || return 1
        need "B status failed" boot_json_is status-json 'slot("rootfs.1")["status"]' failed || return 1
        fell_back_reported rootfs.1 rootfs.0 || return 1
        need "env: B out of BOOT_ORDER" env_is BOOT_ORDER A || return 1
        need "env: no trial" env_is UPDATE1_TRIAL ""
}

# ---- power cut during the in-guest install ---------------------------------------------------------
# powercut NAME KILL_REGEX: boot A, install v2, SIGKILL QEMU when the console matches; then the
# board must boot a consistent slot (never a half-written one: if U-Boot is going to pick B, B
# holds all of v2) and a second install must succeed and boot.
powercut() {
        local name=$1 re=$2 pick booted other second version
        board_new "powercut-$name"
        board_boot 'u1_install /media/bundles/v2.u1b
board_reboot' "$re" || return 1
        need "power was cut at '$re'" [ "$BOOT_END" = killed ] || return 1
        pick=$(next_uboot_pick)
        echo "    after the cut: env $(env_all)-> U-Boot boots $pick next"
        # The env, the slot's bytes and updated's status file must tell one story.
        case $pick in
        A)
                need "status.json: B is not recorded as a good install" \
                        data_json_is status.json 'd["slots"].get("rootfs.1", {}).get("status", "none") != "ok"' true || return 1
                ;;
        B)
                need "B is picked next, so it must hold all of v2" slot_holds B v2 || return 1
                need "status.json: B ok with v2's checksum" data_json_is status.json \
                        '[d["slots"]["rootfs.1"]["status"], d["slots"]["rootfs.1"]["checksum"]["sha256"]]' \
                        "[\"ok\", \"$(image_sha256 v2)\"]" || return 1
                ;;
        *) need "some slot is bootable after the cut (env: $(env_all))" false || return 1 ;;
        esac

        if [ "$pick" = A ]; then other=B; second=v2; version=2.0; else other=A; second=v3; version=3.0; fi
        booted=$([ "$pick" = A ] && echo 1.0 || echo 2.0)
        board_boot "status_json
u1_install /media/bundles/$second.u1b
board_reboot" || return 1
        chose_and_ran "$pick" "$booted" || return 1
        daemon_says_booted "$([ "$pick" = A ] && echo rootfs.0 || echo rootfs.1)" || return 1
        if [ "$pick" = B ]; then
                need "the trial of B was committed" boot_json_is health-json 'd["action"]' committed || return 1
        fi
        need "the second install ($second into $other) succeeded" [ "$(boot_install_exit)" = 0 ] || return 1
        need "slot $other holds $second" slot_holds "$other" "$second" || return 1

        board_boot '' || return 1
        chose_and_ran "$other" "$version" || return 1
        need "the new slot's trial was committed" boot_json_is health-json 'd["action"]' committed
}
sc_powercut_early() { powercut early '^U1SYS: install-log ([1-9]|10)% Writing'; }
sc_powercut_mid() { powercut mid '^U1SYS: install-log (4[0-9]|5[0-9]|60)% Writing'; }
sc_powercut_switched() { powercut switched '^U1SYS: install-log 100% '; }

# ---- rejected bundles: the same errors as on the host ------------------------------------------------
# host_install_error BUNDLE: the "updatectl: ..." error of installing BUNDLE into a host sandbox
# device (tests/lib/sandbox.sh) with the board's compatible and keyring.
host_install_errors() {
        (
                # shellcheck source=../lib/sandbox.sh
                . "$SYS_TOP/tests/lib/sandbox.sh"
                UPDATE1_BUILD=$SYS_BUILD
                SB_COMPATIBLE=update1-qemu-arm64
                trap sb_cleanup EXIT
                sb_init "$SYS_RUNDIR/host-sandbox" >/dev/null || exit 1
                [ "$(id -u)" != 0 ] || sb_make_users || exit 1
                sb_install_bins || exit 1
                mkdir -p "$SB/pki" && cp "$SYS_BUILD/system/pki/"* "$SB/pki/" || exit 1
                sb_make_slots "$SB" "${ROOTFS_MIB}M" && sb_make_env "$SB" &&
                        sb_write_config "$SB/system.conf" && SB_CONFIG=$SB/system.conf && sb_start_bus &&
                        sb_start_updated A || exit 1
                for b in "$@"; do
                        updatectl install "$SYS_BUILD/system/bundles/$b.u1b" 2>&1 >/dev/null |
                                sed -n 's/^updatectl: //p' | grep -v '^what to do: ' | tail -n 1
                done
        )
}

sc_rejected() {
        local host guest b i=0
        board_new rejected
        board_boot 'u1_install /media/bundles/tampered.u1b
u1_install /media/bundles/other-board.u1b
status_json' || return 1
        chose_and_ran A 1.0 || return 1
        # the error lines; the "what to do" line under a refusal is checked on its own
        mapfile -t guest < <(sed -n 's/^U1SYS: install-log updatectl: //p' "$BOOT_LOG" | grep -v '^what to do: ')
        need "both installs failed" [ "$(grep -c '^U1SYS: install-exit [1-9]' "$BOOT_LOG")" = 2 ] || return 1
        need "two error messages on the console" [ "${#guest[@]}" = 2 ] || return 1
        need "tampered: a chunk checksum error" grep -qi 'chunk' <<<"${guest[0]}" || return 1
        need "other-board: incompatible" grep -qi 'compatible' <<<"${guest[1]}" || return 1
        need "other-board: what to do" grep -q '^U1SYS: install-log updatectl: what to do: Install a bundle built for this device' "$BOOT_LOG" || return 1
        mapfile -t host < <(host_install_errors tampered other-board)
        for b in tampered other-board; do
                echo "    $b: guest: ${guest[i]}"
                echo "    $b: host:  ${host[i]:-<none>}"
                need "$b: the same error as on the host" [ "${guest[i]}" = "${host[i]:-}" ] || return 1
                i=$((i + 1))
        done
        need "A still booted and primary" boot_json_is status-json 'd["primary"]' rootfs.0 || return 1
        need "env: A first, B out of the order after the aborted write" env_is BOOT_ORDER A || return 1
        need "slot A untouched" slot_holds A v1
}

# ---- the redundant env on FAT: U-Boot (board glue) and libubootenv choose the same copy ----------
sc_env_redundancy() {
        board_new env-redundancy
        # copy 0 flags 255 says A first; copy 1 flags 0 is newer (the counter wrapped) and says B
        env_write_copies 255 'BOOT_ORDER=A B;BOOT_A_LEFT=3;BOOT_B_LEFT=3' \
                0 'BOOT_ORDER=B A;BOOT_A_LEFT=3;BOOT_B_LEFT=3' || return 1
        board_boot 'env_dump' || return 1
        need "U-Boot took copy 1 (flags 0 after 255)" boot_has '^BOARD: env copy 1 \(flags 0\)' || return 1
        chose_and_ran B 1.0 || return 1
        need "libubootenv in the guest read the same copy" boot_has '^U1SYS: env .*BOOT_ORDER=B A' || return 1
        need "U-Boot saved its decrement into copy 0 with flags 1" boot_has '^BOARD: saved env copy 0 \(flags 1\)' || return 1
        # update-health's MarkGood (libubootenv) took U-Boot's copy 0 as current: copy 1, flags 2
        need "libubootenv wrote after U-Boot's copy (flags '1 2')" [ "$(env_flags)" = "1 2" ] || return 1
        need "env: B's counter re-armed by update-health" env_is BOOT_B_LEFT 3 || return 1

        # a torn write of the newest copy (copy 1, flags 8): both must fall back to copy 0
        env_write_copies 7 'BOOT_ORDER=A B;BOOT_A_LEFT=3;BOOT_B_LEFT=3' \
                8 'BOOT_ORDER=B A;BOOT_A_LEFT=3;BOOT_B_LEFT=3' || return 1
        env_corrupt_copy 1 || return 1
        board_boot 'env_dump' || return 1
        need "U-Boot rejected the torn copy 1" boot_has '^BOARD: uboot.env copy 1 has a bad CRC' || return 1
        need "U-Boot took copy 0" boot_has '^BOARD: env copy 0 \(flags 7\)' || return 1
        chose_and_ran A 1.0 || return 1
        need "libubootenv in the guest read the same copy" boot_has '^U1SYS: env .*BOOT_ORDER=A B' || return 1
        need "env: A re-armed" env_is BOOT_A_LEFT 3
}

# ---- update-agent in the field: a server on the host, the agent on the board ------------------------
# The servers run on the host's 127.0.0.1; the board reaches them over QEMU's user network as
# 10.0.2.2.  The agent runs as its own user (the guest's agent_run), never as root.  Its
# configuration names the server's port, which is chosen at run time: the host's step writes
# it to /run on the board (the rest of the board, keys included, is in its root file system).
SRV_PIDS=()
# srv_start NAME PORT_FILE CMD...: a host process, its output in $BOARD_DIR/NAME.log; waits
# until it wrote PORT_FILE (or died).
srv_start() {
        local name=$1 pf=$2 i
        shift 2
        ( trap - EXIT INT TERM; exec "$@" >>"$BOARD_DIR/$name.log" 2>&1 </dev/null ) &
        SRV_PIDS+=($!)
        for ((i = 0; i < 400; i++)); do
                [ -s "$pf" ] && return 0
                kill -0 "${SRV_PIDS[-1]}" 2>/dev/null || break
                sleep 0.05
        done
        echo "    not ok: $name did not start: $(tail -n 5 "$BOARD_DIR/$name.log" | tr '\n' ' ')"
        return 1
}
srv_stop_all() {
        local p
        for p in "${SRV_PIDS[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${SRV_PIDS[@]}"; do wait "$p" 2>/dev/null; done
        SRV_PIDS=()
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# py_eval URL EXPR: EXPR (python, d = the JSON document at URL) printed (strings raw)
py_eval() {
        curl -sS --max-time 10 "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
try:
    v = eval(sys.argv[1])
except Exception as e:
    v = "(%s: %s)" % (type(e).__name__, e)
print(v if isinstance(v, str) else json.dumps(v))' "$2"
}
# agent_step CONF_NAME CONF_TEXT ARGS...: the step that writes the agent's configuration
# (CONF_TEXT plus test-speed polling) to /run and runs the agent with ARGS.
agent_step() {
        printf "cat >/run/%s <<'U1CONF'\n%s\n[polling]\nmin-interval=1s\nactive-interval=1s\nerror-interval=1s\nU1CONF\n" \
                "$1" "$2"
        printf "chmod 0644 /run/%s\nagent_run --config /run/%s %s\n" "$1" "$1" "${*:3}"
}
boot_agent_exit() { sed -n 's/^U1SYS: agent-exit //p' "$BOOT_LOG" | tail -n 1; }

# agent_trial_committed: boot 1 took the update through the agent and rebooted into the trial of B;
# boot 2 commits it (update-health) before the agent runs again.  The env on the disk says so.
agent_trial_committed() {
        need "slot B holds the v2 image" slot_holds B v2 || return 1
        need "the trial of B was committed" boot_json_is health-json 'd["action"]' committed || return 1
        need "update-health saw the trial" boot_json_is health-json 'd["on_trial"]' true || return 1
        need "env: trial over" env_is UPDATE1_TRIAL "" || return 1
        need "env: B first" env_is BOOT_ORDER "B A" || return 1
        need "env: B re-armed" env_is BOOT_B_LEFT 3 || return 1
        need "B is good" boot_json_is status-json 'slot("rootfs.1")["boot_status"]' good || return 1
        need "B carries the bundle version" boot_json_is status-json 'slot("rootfs.1")["bundle"]["version"]' 2.0
}
# agent_first_boot CONF_NAME CONF: boot 1 with the network; the agent runs as a daemon until
# it has installed and the board rebooted into the trial of B.
agent_first_boot() {
        board_net_on
        board_boot "$(agent_step "$1" "$2")
say 'FATAL the agent exited without the reboot'" || return 1
        chose_and_ran A 1.0 || return 1
        agent_ran_unprivileged || return 1
        need "the board rebooted through updated's reboot-command" [ "$BOOT_END" = reboot ] || return 1
        need "slot B holds the v2 image" slot_holds B v2 || return 1
        need "env: B on trial" env_is UPDATE1_TRIAL B
}
# agent_second_boot CONF_NAME CONF: boot 2, the trial boot of B: committed by update-health,
# then the agent runs once (the result it decided goes out) and exits 0.
agent_second_boot() {
        board_boot "$(agent_step "$1" "$2" --once)" || return 1
        chose_and_ran B 2.0 || return 1
        need "agent --once exit 0" [ "$(boot_agent_exit)" = 0 ] || return 1
        agent_trial_committed
}
agent_ran_unprivileged() {
        need "the agent ran as update-agent in group update" boot_has '^agent: running as update-agent \(groups .*update'
}

sc_agent_hawkbit() {
        local rc
        board_new agent-hawkbit
        agent_hawkbit_run
        rc=$?
        srv_stop_all
        return $rc
}
agent_hawkbit_run() {
        local pf=$BOARD_DIR/ddi.port port token id conf ctl
        token=board-token-$RANDOM$RANDOM
        srv_start ddi-server "$pf" python3 "$SYS_TOP/tests/ddi-server/ddi_server.py" --port-file "$pf" \
                --controller update1-board --target-token "$token" --sleep 00:00:01 || return 1
        port=$(cat "$pf")
        ctl=http://127.0.0.1:$port/_ctl
        id=$(curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' --data \
                "{\"version\":\"2.0\",\"name\":\"board\",\"type\":\"forced\",\"artifacts\":[{\"filename\":\"v2.bundle\",\"path\":\"$SYS_BUILD/system/bundles/v2.u1b\"}]}" \
                "$ctl/assign" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') ||
                { echo "    not ok: the DDI server took no deployment"; return 1; }
        # stream mode (the default): the bundle goes from the socket straight into updated
        conf="[server]
url=http://10.0.2.2:$port
target-token=$token"
        agent_first_boot agent.conf "$conf" || return 1
        need "the server saw the download and the install" \
                [ "$(py_eval "$ctl/state" "[f['execution'] for f in d['actions']['$id']['feedback']].count('proceeding') > 0")" = true ] || return 1
        need "no final result before the reboot" \
                [ "$(py_eval "$ctl/state" "d['actions']['$id']['status']")" = RUNNING ] || return 1

        agent_second_boot agent.conf "$conf" || return 1
        echo "    server: action $id $(py_eval "$ctl/state" "d['actions']['$id']['status']"), last feedback $(py_eval "$ctl/state" "d['actions']['$id']['feedback'][-1]")"
        need "the server got closed/success as the last feedback" [ "$(py_eval "$ctl/state" \
                "[d['actions']['$id']['feedback'][-1][k] for k in ('execution', 'finished')]")" = '["closed", "success"]' ] || return 1
        need "one closed feedback" [ "$(py_eval "$ctl/state" \
                "len([f for f in d['actions']['$id']['feedback'] if f['execution'] == 'closed'])")" = 1 ] || return 1
        need "the action is FINISHED on the server" [ "$(py_eval "$ctl/state" "d['actions']['$id']['status']")" = FINISHED ]
}

sc_agent_mqtt() {
        local rc
        board_new agent-mqtt
        agent_mqtt_run
        rc=$?
        srv_stop_all
        return $rc
}
# The broker's configuration is the integration test's (test-agent-awsiot.sh): one writer.
# shellcheck source=../lib/agent-lib.sh
. "$SYS_TOP/tests/lib/agent-lib.sh"
# mosquitto on a free port of 127.0.0.1: TLS only, a client certificate from the board's test
# CA required (AWS IoT's mutual TLS).  Started as nobody; a port taken meanwhile is retried.
broker_start() {
        local tls=$SYS_BUILD/system/agent-tls i
        for _ in 1 2 3; do
                MQTT_PORT=$(free_port)
                ag_mosquitto_conf "$BOARD_DIR/mosquitto.conf" "$MQTT_PORT" "$tls"
                ( trap - EXIT INT TERM
                  exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
                        mosquitto -c "$BOARD_DIR/mosquitto.conf" >>"$BOARD_DIR/mosquitto.log" 2>&1 </dev/null ) &
                SRV_PIDS+=($!)
                for ((i = 0; i < 200; i++)); do
                        grep -q "Opening ipv4 listen socket on port $MQTT_PORT" "$BOARD_DIR/mosquitto.log" 2>/dev/null &&
                                return 0
                        kill -0 "${SRV_PIDS[-1]}" 2>/dev/null || break
                        sleep 0.05
                done
                kill "${SRV_PIDS[-1]}" 2>/dev/null
        done
        echo "    not ok: mosquitto did not start: $(tail -n 5 "$BOARD_DIR/mosquitto.log" | tr '\n' ' ')"
        return 1
}
agent_mqtt_run() {
        local tls=$SYS_BUILD/system/agent-tls pf=$BOARD_DIR/emu.port ctl conf job=upparat_board_v2 st
        /usr/bin/python3 -c 'import paho.mqtt.client' 2>/dev/null ||
                { echo "    not ok: python3-paho-mqtt is not installed (tests/lib/install-deps.sh system)"; return 1; }
        command -v mosquitto >/dev/null ||
                { echo "    not ok: mosquitto is not installed (tests/lib/install-deps.sh system)"; return 1; }
        broker_start || return 1
        srv_start jobs-emulator "$pf" /usr/bin/python3 "$SYS_TOP/tests/awsiot/jobs_emulator.py" \
                --broker-port "$MQTT_PORT" --thing update1-board --cafile "$tls/ca.crt" \
                --certfile "$tls/emu.crt" --keyfile "$tls/emu.key" --www "$SYS_BUILD/system/bundles" \
                --port-file "$pf" --file-host 10.0.2.2 || return 1
        ctl=http://127.0.0.1:$(cat "$pf")/_ctl
        curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' --data \
                "{\"jobId\":\"$job\",\"document\":{\"version\":\"2.0\",\"file\":\"\${aws:iot:s3-presigned-url:v2.u1b}\",\"force\":false,\"meta\":\"board\"}}" \
                "$ctl/create" >/dev/null || { echo "    not ok: the emulator took no job"; return 1; }
        # Upparat's own file as a device has it, plus test-speed polling.  The agent downloads
        # into its state directory (/var/lib/update-agent: the data partition), whatever
        # download_location says (docs/agent.md).
        conf="[broker]
host = 10.0.2.2
port = $MQTT_PORT
thing_name = update1-board
client_id = update1-board
cafile = /etc/update1/agent-tls/ca.crt
certfile = /etc/update1/agent-tls/client.crt
keyfile = /etc/update1/agent-tls/client.key"
        agent_first_boot upparat.conf "$conf" || return 1
        st=$(py_eval "$ctl/state" "[d['jobs']['$job']['status'], d['jobs']['$job']['statusDetails'].get('state')]")
        need "the job is IN_PROGRESS at reboot_start before the reboot (it is $st)" [ "$st" = '["IN_PROGRESS", "reboot_start"]' ] || return 1

        agent_second_boot upparat.conf "$conf" || return 1
        echo "    emulator: job $job states $(py_eval "$ctl/state" "[x['status'] + ':' + str(x['statusDetails'].get('state')) for x in d['jobs']['$job']['history']]" | cut -c1-400)"
        need "the job SUCCEEDED" [ "$(py_eval "$ctl/state" "d['jobs']['$job']['status']")" = SUCCEEDED ] || return 1
        # the board has no Upparat ready hook: complete_no_ready_check, as Upparat says then
        need "Upparat's state sequence (progress steps aside)" [ "$(py_eval "$ctl/state" \
                "[x['statusDetails'].get('state') for x in d['jobs']['$job']['history'] if not x['statusDetails'].get('state', '').endswith('_progress')]")" \
                = '["download_start", "installation_start", "reboot_start", "complete_no_ready_check"]' ] || return 1
        need "no download step once the installation started" [ "$(py_eval "$ctl/state" \
                "(lambda s: [x for x in s[s.index('installation_start'):] if x.startswith('download')])([x['statusDetails'].get('state') for x in d['jobs']['$job']['history']])")" = '[]' ]
}
