#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent with protocol=aws-iot-jobs (Upparat's contract), end to end: a real mosquitto
# broker (TLS, client certificates made here with OpenSSL), the real updated on the private
# bus, the agent as u1test-op, the boot simulator for reboots.  AWS IoT Jobs itself cannot run
# here: tests/awsiot/jobs_emulator.py stands in for it, written from AWS's published MQTT API
# (reserved topics, clientToken, expectedVersion, terminal states), and plays S3 with
# pre-signed URLs that expire.
#   Upparat's config file, read unchanged (--check-config; a real run with it);
#   a job end to end through the reboot and MarkGood -> SUCCEEDED with Upparat's statusDetails;
#   a QUEUED job whose version is installed -> SUCCEEDED version_already_installed, no download;
#   a job whose slot falls back -> FAILED version_mismatch "FellBack: Expected version '3', got '2'";
#   a cancel mid-download stops it and removes the partial file;
#   an expired pre-signed URL (403) -> download_interrupt, a fresh URL, Range resume;
#   two upparat_* jobs IN_PROGRESS at once -> both FAILED error_multiple_in_progress;
#   a format-2 bundle streamed as a delta install: byte ranges from "S3", few bytes sent.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
. "$(dirname "$0")/../lib/delta-lib.sh"
tl_require_cmd mosquitto openssl
# The emulator needs Debian's python3-paho-mqtt: Debian's python3 (a python3 first in PATH may
# be another one).
EMU_PY=
for p in /usr/bin/python3 "$SB_PY"; do
        "$p" -c 'import paho.mqtt.client' 2>/dev/null && { EMU_PY=$p; break; }
done
[ -n "$EMU_PY" ] || { fail "$TL_FILE" "python3-paho-mqtt is not installed (tests/lib/install-deps.sh)"; exit 1; }
ag_setup

THING=dev1
free_port() { "$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PKI: CA, the broker's server certificate, the device's and the emulator's client certificates.
ag_tls_pki "$SB/tls" || { fail "$TL_FILE-setup" "PKI"; exit 1; }
(
        cd "$SB/tls" || exit 1
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout emu.key -out emu.csr \
                -subj "/CN=aws-iot-jobs-emulator" 2>/dev/null &&
                openssl x509 -req -in emu.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out emu.crt \
                        -extfile <(printf 'extendedKeyUsage=clientAuth') 2>/dev/null && chmod 0644 emu.*
) || { fail "$TL_FILE-setup" "emulator certificate"; exit 1; }

# The broker: TLS only, a client certificate from our CA required.
MQTT_PORT=
start_broker() {
        local i
        for _ in 1 2 3 4 5; do
                MQTT_PORT=$(free_port)
                mkdir -p "$SB/mqtt"
                ag_mosquitto_conf "$SB/mqtt/mosquitto.conf" "$MQTT_PORT" "$SB/tls"
                chmod -R a+rX "$SB/mqtt"
                (
                        trap - EXIT INT TERM
                        exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
                                mosquitto -c "$SB/mqtt/mosquitto.conf" 2>>"$SB/mqtt/broker.log" </dev/null
                ) &
                MQTT_PID=$!
                sb_track "$MQTT_PID"
                for ((i = 0; i < 200; i++)); do
                        kill -0 "$MQTT_PID" 2>/dev/null || break
                        grep -q "Opening ipv4 listen socket on port $MQTT_PORT" "$SB/mqtt/broker.log" && return 0
                        sleep 0.05
                done
                sb_kill "$MQTT_PID"
        done
        sb_msg "mosquitto did not start: $(tail -n 5 "$SB/mqtt/broker.log")"
        return 1
}
start_broker || { fail "$TL_FILE-setup" "broker"; exit 1; }

EMU_PF=$SB/emu.port
(
        trap - EXIT INT TERM
        exec "$EMU_PY" "$UPDATE1_TOP/tests/awsiot/jobs_emulator.py" --broker-port "$MQTT_PORT" --thing "$THING" \
                --cafile "$SB/tls/ca.crt" --certfile "$SB/tls/emu.crt" --keyfile "$SB/tls/emu.key" \
                --www "$SB/www" --port-file "$EMU_PF" \
                --file-tls-cert "$SB/tls/server.crt" --file-tls-key "$SB/tls/server.key" >>"$SB/emu.log" 2>&1 </dev/null
) &
sb_track $!
ag_wait 15 test -s "$EMU_PF" || { fail "$TL_FILE-setup" "emulator: $(tail -n 5 "$SB/emu.log")"; exit 1; }
EMU=https://127.0.0.1:$(cat "$EMU_PF")/_ctl
emu() { curl -sS --cacert "$SB/tls/ca.crt" --max-time 10 -X POST -H 'Content-Type: application/json' --data "${2:-{\}}" "$EMU/$1"; }
# emu_state EXPR: EXPR on the emulator's state (python; d = state, j(id) = a job, h(id) = its
# update history, states(id) = its statusDetails.state sequence).
emu_state() {
        curl -sS --cacert "$SB/tls/ca.crt" --max-time 10 "$EMU/state" | "$SB_PY" -c '
import json, sys
d = json.load(sys.stdin)
def j(i): return d["jobs"][i]
def h(i): return j(i)["history"]
def states(i): return [x["statusDetails"].get("state") for x in h(i)]
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}
emu_true() { [ "$(emu_state "bool($1)" 2>/dev/null)" = true ]; }
# create JOB VERSION FILE [FORCE]: an Upparat job document with a pre-signed URL placeholder.
create() {
        emu create "{\"jobId\":\"$1\",\"document\":{\"version\":\"$2\",\"file\":\"\${aws:iot:s3-presigned-url:$3}\",\"force\":${4:-false},\"meta\":\"meta-of-$1\"}}" >/dev/null
}
wait_status() { # JOB STATUS
        ag_wait "$AG_WAIT" emu_true "j('$1')['status'] == '$2'" && return 0
        TL_WHY="job $1 is $(emu_state "j('$1')['status']"), expected $2; states $(emu_state "states('$1')" | cut -c1-600)"
        return 1
}

ag_bundle v2 2 3M && ag_bundle v3 3 3M && ag_bundle v4 4 6M || { fail "$TL_FILE-setup" "bundles"; exit 1; }
# v5: v4 with three 64 KiB regions changed, in format 2 (a delta install from a slot with v4).
delta_v2 "$SB/img/v4.img" "$SB/img/v5.img" 6M 1 3 5 || { fail "$TL_FILE-setup" "v5 image"; exit 1; }
sb_bundle "$SB/www/v5.bundle" 5 "$SB/img/v5.img" "" "" --format 2 || { fail "$TL_FILE-setup" "format-2 bundle"; exit 1; }
echo 1 >"$AG_WORK/version"
chmod 0644 "$AG_WORK/version"
# Upparat's version hook: the installed version, as the last line (here: what the test says).
ag_hook version "echo checking; cat $AG_WORK/version"
ag_hook ready 'echo "$3" >>'"$AG_WORK/ready-args"
ag_hook restart 'echo "$3 $4" >>'"$AG_WORK/restart-args"
ag_hook download 'echo "$1 $2 $3" >>'"$AG_WORK/download-args"

# Upparat's own file, as an Upparat device has it.
UPP=$AG_DIR/upparat.conf
cat >"$UPP" <<EOF
[service]
sentry_dsn = https://key@sentry.example.com/1
log_level = INFO
download_location = /var/tmp

[broker]
host = 127.0.0.1
port = $MQTT_PORT
thing_name = $THING
client_id = $THING-agent
cafile = $SB/tls/ca.crt
certfile = $SB/tls/client.crt
keyfile = $SB/tls/client.key

[hooks]
version = $AG_HOOKS/version
download = $AG_HOOKS/download
restart = $AG_HOOKS/restart
ready = $AG_HOOKS/ready
retry_interval = 1
max_retries = 3
EOF
chmod 0644 "$UPP"
# The tests' file: the same, plus test-speed polling (an Upparat file has no such section).
AG_CONF=$AG_DIR/agent-aws.conf
{
        cat "$UPP"
        printf '\n[polling]\nmin-interval=100ms\nmax-interval=2s\nactive-interval=200ms\nerror-interval=200ms\n'
        # The pre-signed URLs are https under the test CA (the agent's own key; Upparat's file
        # alone trusts the system's CAs, as S3 needs).
        printf '[server]\nca-file=%s\n' "$SB/tls/ca.crt"
        printf '[download]\nretries=6\nretry-base-delay=50ms\nretry-max-delay=400ms\n'
        printf '[agent]\nprogress-interval=0\n'
} >"$AG_CONF"
chmod 0644 "$AG_CONF"
# StateDirectory= of update-agent.service: the agent keeps its state there.
export STATE_DIRECTORY=$AG_STATE

fail_ctx() {
        [ "$TL_FAIL" -gt 0 ] || return 0
        ag_fail_context
        echo "  --- emulator jobs:"
        emu_state '{k: (v["status"], [x["statusDetails"] for x in v["history"]][-6:]) for k, v in d["jobs"].items()}' 2>&1 | cut -c1-1500 | sed 's/^/  | /'
}
TL_ON_EXIT+=("fail_ctx")

t_upparat_config_unchanged() {
        run as_user u1test-op update-agent --config "$UPP" --check-config
        expect_eq "$TL_RC" 0 "--check-config of Upparat's file: $(_tl_out_excerpt)" || return 1
        local o=$TL_OUT
        expect_contains "$o" "protocol=aws-iot-jobs  # an Upparat file (it has [broker])" "recognised by [broker]" || return 1
        expect_contains "$o" "port=$MQTT_PORT" "port" || return 1
        expect_contains "$o" "thing_name=$THING" "thing_name" || return 1
        expect_contains "$o" "client_id=$THING-agent" "client_id" || return 1
        expect_contains "$o" "certfile=$SB/tls/client.crt" "certfile" || return 1
        expect_contains "$o" "state-directory=$AG_STATE" "state from \$STATE_DIRECTORY" || return 1
        expect_contains "$o" "retry-interval=1s" "retry_interval" || return 1
        expect_contains "$o" "max-retries=3" "max_retries" || return 1
        expect_contains "$o" "mode=disk" "Upparat downloads, then installs" || return 1
        # Half a TLS triple is refused by name.
        sed '/^keyfile/d' "$UPP" >"$AG_DIR/half.conf" && chmod 0644 "$AG_DIR/half.conf"
        run as_user u1test-op update-agent --config "$AG_DIR/half.conf" --check-config
        expect_eq "$TL_RC" 1 "half a TLS triple" || return 1
        expect_contains "$TL_OUT" "cafile=, certfile= and keyfile= go together" "refusal"
}

# A QUEUED job for the version the version hook prints: SUCCEEDED at once, nothing downloaded.
# The agent runs on Upparat's file exactly as it is.
t_version_already_installed() {
        local conf=$AG_CONF
        # Upparat's file plus the one line this test's S3 needs: its CA (a real S3 URL passes
        # with the system's CAs).
        { cat "$UPP"; printf '\n[server]\nca-file=%s\n' "$SB/tls/ca.crt"; } >"$AG_DIR/upparat-ca.conf"
        chmod 0644 "$AG_DIR/upparat-ca.conf"
        AG_CONF=$AG_DIR/upparat-ca.conf
        create upparat_same 1 v2.bundle
        ag_start
        AG_CONF=$conf
        wait_status upparat_same SUCCEEDED || return 1
        expect_eq "$(emu_state "states('upparat_same')")" '["version_already_installed"]' "statusDetails states" || return 1
        expect_eq "$(emu_state "[x['status'] for x in h('upparat_same')]")" '["SUCCEEDED"]' "no IN_PROGRESS" || return 1
        # At most the one-byte Range probe that learns the size (AWS gives none): no download.
        expect_eq "$(emu_state 'len([f for f in d["files"] if f["range"] != "bytes=0-0"])')" 0 "file requests" || return 1
        ag_wait_log "taking upparat_* jobs" || return 1
        ag_stop
}

t_job_end_to_end() {
        ag_log_reset
        ag_start
        emu create '{"jobId":"other_service_job","document":{"op":"not ours"}}' >/dev/null
        create upparat_v2 2 v2.bundle
        ag_until "$AG_WAIT" '[ "$(count_reboots)" -ge 1 ]' ||
                { TL_WHY="no reboot request; states $(emu_state "states('upparat_v2')" | cut -c1-400)"; return 1; }
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        expect_eq "$(emu_state "j('upparat_v2')['status']")" IN_PROGRESS "status before the reboot" || return 1
        expect_eq "$(emu_state "j('other_service_job')['status']")" QUEUED "a job without upparat_ is left alone" || return 1
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" B "booted" || return 1
        ag_wait 10 grep -q "Resuming action upparat_v2 in phase rebooting" "$AG_LOG" || { TL_WHY="agent did not resume"; return 1; }
        # On the trial boot nothing is final, however often the agent looks.
        local gets
        gets=$(emu_state 'd["gets"]')
        ag_wait 10 emu_true "d['gets'] > $gets + 3" || { TL_WHY="agent not polling"; return 1; }
        expect_eq "$(emu_state "j('upparat_v2')['status']")" IN_PROGRESS "status on the trial boot" || return 1
        ag_mark_good || return 1
        wait_status upparat_v2 SUCCEEDED || return 1
        local s
        s=$(emu_state "[x for x in states('upparat_v2') if x != 'download_progress' and x != 'installation_progress']")
        expect_eq "$s" '["download_start", "installation_start", "reboot_start", "complete_ready"]' "state sequence" || return 1
        expect_eq "$(emu_state "'download_progress' in states('upparat_v2')")" true "download_progress" || return 1
        # Upparat's order: no download step once the installation started (the board saw one)
        expect_eq "$(emu_state "[x for x in states('upparat_v2')[states('upparat_v2').index('installation_start'):] if x.startswith('download')]")" \
                '[]' "no download state after installation_start" || return 1
        expect_eq "$(emu_state "all(x['expectedVersion'] is not None for x in h('upparat_v2'))")" true "expectedVersion on every update" || return 1
        expect_eq "$(emu_state "len(d['rejected'])")" 0 "rejected updates" || return 1
        expect_contains "$(emu_state "[x['statusDetails']['message'] for x in h('upparat_v2') if x['statusDetails']['state'] == 'download_progress'][-1]")" \
                '{"downloaded_bytes":' "download_progress message" || return 1
        expect_contains "$(cat "$AG_WORK/download-args")" "meta-of-upparat_v2" "download hook \$3 = meta" || return 1
        expect_eq "$(cat "$AG_WORK/restart-args")" "meta-of-upparat_v2 False" "restart hook \$3 \$4 (meta, force)" || return 1
        expect_eq "$(cat "$AG_WORK/ready-args")" "meta-of-upparat_v2" "ready hook \$3 (meta)" || return 1
        ag_wait 10 test ! -e "$AG_STATE/action.json" || { TL_WHY="action record left behind"; return 1; }
}

t_fallback_version_mismatch() {
        local reboots
        reboots=$(count_reboots)
        echo 2 >"$AG_WORK/version"
        create upparat_v3 3 v3.bundle
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" ||
                { TL_WHY="no reboot request; states $(emu_state "states('upparat_v3')" | cut -c1-400)"; return 1; }
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" A "trial boot" || return 1
        ag_wait 10 grep -q "Resuming action upparat_v3 in phase rebooting" "$AG_LOG" || { TL_WHY="agent did not resume"; return 1; }
        ag_reboot || return 1    # never marked good: the bootloader falls back
        expect_eq "$SB_BOOTED" B "fallback boot" || return 1
        wait_status upparat_v3 FAILED || return 1
        expect_eq "$(emu_state "h('upparat_v3')[-1]['statusDetails']")" \
                '{"state": "version_mismatch", "message": "FellBack: Expected version '"'3', got '2'"'"}' "final statusDetails"
}

t_cancel_mid_download() {
        emu set '{"rate": 300000}' >/dev/null
        create upparat_v4 4 v4.bundle
        ag_wait "$AG_WAIT" emu_true "'download_progress' in states('upparat_v4')" ||
                { TL_WHY="no download progress: $(emu_state "states('upparat_v4')")"; return 1; }
        ag_wait 10 eval 'ls "$AG_STATE"/bundle-*.part >/dev/null 2>&1' || { TL_WHY="no partial file"; return 1; }
        emu cancel '{"jobId":"upparat_v4"}' >/dev/null
        ag_wait_log "Action upparat_v4 cancelled by the server" || return 1
        ag_wait 10 eval '! ls "$AG_STATE"/bundle-* >/dev/null 2>&1' || { TL_WHY="partial file left: $(ls "$AG_STATE")"; return 1; }
        ag_wait 10 test ! -e "$AG_STATE/action.json" || { TL_WHY="action record left behind"; return 1; }
        expect_eq "$(emu_state "[x['status'] for x in h('upparat_v4')][-1]")" IN_PROGRESS "no result for a cancelled job" || return 1
        emu set '{"rate": 0}' >/dev/null
}

# The connection is cut after the URL expired: the resume gets 403, then download_interrupt, a
# fresh URL, and the partial file resumed with Range (not started over, not handed on truncated).
t_expired_url_resumes() {
        local reboots
        reboots=$(count_reboots)
        emu set '{"rate": 600000, "url_ttl": 2, "cut_once": 1500000}' >/dev/null
        create upparat_v4b 4 v4.bundle
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" ||
                { TL_WHY="no reboot request; states $(emu_state "states('upparat_v4b')" | cut -c1-400)"; return 1; }
        emu set '{"rate": 0, "url_ttl": 3600}' >/dev/null
        expect_eq "$(emu_state "'download_interrupt' in states('upparat_v4b')")" true "download_interrupt" || return 1
        expect_eq "$(emu_state "any(f.get('status') == 403 for f in d['files'])")" true "a 403 happened" || return 1
        expect_eq "$(emu_state "any(f.get('status') == 206 and f['range'] not in ('bytes=0-0', 'bytes=0-', None) for f in d['files'] if f['name'] == 'v4.bundle')")" true "resumed with Range" || return 1
        expect_slot rootfs.0 '["bundle"]["version"]' 4 || return 1
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" A "booted" || return 1
        ag_mark_good || return 1
        wait_status upparat_v4b SUCCEEDED
}

# Two of ours IN_PROGRESS at once (another agent, an operator): Upparat's rule, both FAILED.
t_multiple_in_progress() {
        emu create '{"jobId":"upparat_m1","status":"IN_PROGRESS","document":{"version":"5","file":"x"}}' >/dev/null
        emu create '{"jobId":"upparat_m2","status":"IN_PROGRESS","document":{"version":"5","file":"x"}}' >/dev/null
        wait_status upparat_m1 FAILED || return 1
        wait_status upparat_m2 FAILED || return 1
        expect_eq "$(emu_state "[h(i)[-1]['statusDetails']['state'] for i in ('upparat_m1', 'upparat_m2')]")" \
                '["error_multiple_in_progress", "error_multiple_in_progress"]' "states" || return 1
        expect_eq "$(emu_state "j('other_service_job')['status']")" QUEUED "a job without upparat_ is left alone"
}

# A state directory too small for the bundle (the arm64 board's data partition was): the job
# FAILED at once, saying so, instead of transfers that break off and are retried for ever.
t_no_room_for_the_bundle() {
        local small=$SB/small-state conf=$AG_DIR/agent-small.conf saved=$AG_CONF rc=0 files
        ag_stop
        mkdir -p "$small"
        mount -t tmpfs -o size=1M,mode=0700,uid="$(id -u u1test-op)" tmpfs "$small" ||
                { TL_WHY="cannot mount a 1 MiB tmpfs"; return 1; }
        sed "s|^\[agent\]\$|[agent]\nstate-directory=$small|" "$AG_CONF" >"$conf" && chmod 0644 "$conf"
        AG_CONF=$conf
        ag_start
        AG_CONF=$saved
        files=$(emu_state "len(d['files'])")
        create upparat_big 4 v4.bundle
        wait_status upparat_big FAILED || rc=1
        if [ $rc = 0 ]; then
                expect_contains "$(emu_state "h('upparat_big')[-1]['statusDetails']['message']")" \
                        "Not enough space for the bundle" "the reason in the message" || rc=1
        fi
        # The failure's name first, for grouping (docs/agent.md "Failure names").
        if [ $rc = 0 ]; then
                expect_eq "$(emu_state "h('upparat_big')[-1]['statusDetails']['message'].split(': ')[0]")" NoSpace \
                        "the message's first word" || rc=1
                expect_eq "$(emu_state "h('upparat_big')[-1]['statusDetails']['state']")" download_failed "state" || rc=1
        fi
        if [ $rc = 0 ]; then
                # (the size probe aside: at most its one byte)
                expect_eq "$(emu_state "sum(f.get('sent', 0) for f in d['files'][$files:]) <= 1")" true \
                        "no bundle bytes fetched: $(emu_state "d['files'][$files:]")" || rc=1
        fi
        ag_stop
        umount "$small"
        return $rc
}

# A format-2 bundle over the AWS IoT job path, streamed (mode=stream; Upparat's own file means
# disk): the agent probes the pre-signed URL, serves updated's byte ranges from "S3", and
# updated takes all but the three changed regions from the booted slot (v4).  Slot B gets v5
# exactly; S3 sent a fraction of the bundle, every answer a 206; the job SUCCEEDED after the
# reboot and MarkGood.
t_delta_format2() {
        local conf=$AG_DIR/agent-stream.conf saved=$AG_CONF reboots files bytes size
        ag_stop
        sed 's|^\[download\]$|[download]\nmode=stream|' "$AG_CONF" >"$conf" && chmod 0644 "$conf"
        AG_CONF=$conf
        ag_log_reset
        ag_start
        AG_CONF=$saved
        reboots=$(count_reboots)
        files=$(emu_state "len(d['files'])")
        size=$(stat -c %s "$SB/www/v5.bundle")
        create upparat_v5 5 v5.bundle
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" ||
                { TL_WHY="no reboot request; states $(emu_state "states('upparat_v5')" | cut -c1-400)"; return 1; }
        ag_log_has "Serving byte ranges of" || { TL_WHY="the agent did not serve byte ranges"; return 1; }
        delta_slot_holds "$SB/img/v5.img" "$SB_SLOT_B" rootfs.1 || return 1
        [ "$(delta_lines)" -ge 1 ] || { TL_WHY="updated logged no delta install"; return 1; }
        [ "$(delta_summary reused_booted_chunks)" -gt 0 ] || { TL_WHY="nothing reused from slot A (v4)"; return 1; }
        expect_eq "$(emu_state "[f.get('status') for f in d['files'][$files:] if f['name'] == 'v5.bundle' and f.get('status') != 206]")" \
                '[]' "answers other than 206" || return 1
        bytes=$(emu_state "sum(f.get('sent', 0) for f in d['files'][$files:] if f['name'] == 'v5.bundle')")
        [ "$bytes" -gt 0 ] && [ "$bytes" -le $((size / 4)) ] || { TL_WHY="S3 sent $bytes of the bundle's $size bytes"; return 1; }
        ag_log_has "connections (0 resumed," || { TL_WHY="resumes counted: $(grep -o 'connections ([0-9]* resumed' "$AG_LOG" | tail -1)"; return 1; }
        ag_measure "aws-iot delta install: S3 sent $bytes of the format-2 bundle's $size bytes in $(emu_state "len([f for f in d['files'][$files:] if f['name'] == 'v5.bundle'])") requests"
        echo 5 >"$AG_WORK/version"
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" B "booted" || return 1
        ag_mark_good || return 1
        wait_status upparat_v5 SUCCEEDED
}

ag_case upparat-config-read-unchanged t_upparat_config_unchanged
ag_case version-already-installed t_version_already_installed
ag_case job-end-to-end-succeeded t_job_end_to_end
ag_case fallback-version-mismatch t_fallback_version_mismatch
ag_case cancel-mid-download t_cancel_mid_download
ag_case expired-url-403-resumes t_expired_url_resumes
ag_case multiple-in-progress-failed t_multiple_in_progress
ag_case no-room-for-the-bundle-failed t_no_room_for_the_bundle
ag_case delta-format2-byte-ranges t_delta_format2
