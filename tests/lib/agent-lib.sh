# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers for tests/integration/test-agent*.sh: the sandbox device (testlib.sh) plus the DDI
# test server (tests/ddi-server/ddi_server.py), nginx for artifacts, the cutting proxy
# (tests/lib/flaky_proxy.py) and update-agent running as u1test-op (group "update").
#
# Waiting is always "poll a condition, bounded" (ag_wait), never a fixed sleep.

AG_WAIT=${AG_WAIT:-30}          # seconds any agent wait may take (downloads, installs)
AG_PID=
AG_DDI_PID=
AG_PROXY_PID=
AG_DIR=
AG_CONF=
AG_STATE=
AG_LOG=
AG_HOOKS=
AG_WORK=
DDI_URL=
DDI_CTL=
AG_TOKEN=tok-$RANDOM$RANDOM
AG_REBOOTS=

# ag_setup: users, sandbox device (daemon with a reboot-command that records requests),
# agent binary, directories.  Fails the whole file on error.
ag_setup() {
        tl_require_root "useradd, setpriv and the root-owned bus name"
        tl_require_cmd setpriv useradd nginx curl python3
        if [ ! -x "$UPDATE1_BUILD/update-agent" ]; then
                fail "$TL_FILE" "$UPDATE1_BUILD/update-agent is not built (make all)"
                exit 1
        fi
        sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
        tl_setup A
        cp "$UPDATE1_BUILD/update-agent" "$SB/bin/update-agent" && chmod 0755 "$SB/bin/update-agent" || exit 1
        [ -x "$UPDATE1_BUILD/update-health" ] && cp "$UPDATE1_BUILD/update-health" "$SB/bin/" && chmod 0755 "$SB/bin/update-health"

        AG_REBOOTS=$SB/reboot-requests
        printf '#!/bin/sh\necho "reboot requested $*" >>"%s"\n' "$AG_REBOOTS" >"$SB/bin/record-reboot"
        chmod 0755 "$SB/bin/record-reboot"
        sed -i "/^\[system\]/a reboot-command=$SB/bin/record-reboot" "$SB_CONFIG"
        sb_stop_updated
        if [ "${SB_IDLE_TIMEOUT:-0}" != 0 ]; then
                # The daemon exits on idle (test-agent-idle.sh): the bus starts it on demand.
                sb_enable_activation --boot-slot A 2>"$SB/start.err" ||
                        { fail "$TL_FILE-setup" "activation: $(cat "$SB/start.err")"; exit 1; }
        else
                sb_start_updated A 2>"$SB/start.err" || { fail "$TL_FILE-setup" "restart with reboot-command: $(cat "$SB/start.err")"; exit 1; }
        fi

        AG_DIR=$SB/agent
        AG_CONF=$AG_DIR/agent.conf
        AG_STATE=$AG_DIR/state
        AG_LOG=$SB/agent.log
        AG_HOOKS=$AG_DIR/hooks
        AG_WORK=$AG_DIR/work
        mkdir -p "$AG_DIR" "$AG_STATE" "$AG_HOOKS" "$AG_WORK" "$SB/img" "$SB/www"
        chmod 0755 "$AG_DIR" "$AG_HOOKS" "$SB/img" "$SB/www"
        chmod 1777 "$AG_WORK"
        chown u1test-op "$AG_STATE"
        chmod 0700 "$AG_STATE"
        TL_ON_EXIT+=("ag_stop_all")
}

ag_stop_all() {
        [ -n "$AG_PID" ] && sb_kill "$AG_PID"
        AG_PID=
}

# ag_wait SECONDS CMD...: until CMD succeeds, polling every 50 ms; 1 after SECONDS of wall
# clock (a slow CMD does not stretch the bound).
ag_wait() { sb_poll "$@"; }

# ag_until SECONDS 'SHELL-EXPRESSION': ag_wait for an expression evaluated at every try (a
# "$(...)" in ag_wait's arguments would be expanded only once).
ag_until() {
        local t=$1
        shift
        ag_wait "$t" eval "$1"
}

# --- DDI test server ---------------------------------------------------------------------

# ddi_start [ARGS...]: the server on a free port; sets DDI_URL (base, no tenant) and DDI_CTL.
ddi_start() {
        local pf=$SB/ddi.port scheme=http
        rm -f "$pf"
        case " $* " in *" --tls-cert "*) scheme=https ;; esac
        (
                trap - EXIT INT TERM
                exec "$SB_PY" "$UPDATE1_TOP/tests/ddi-server/ddi_server.py" --port-file "$pf" --controller dev1 \
                        --sleep PT0.2S "$@" >>"$SB/ddi.log" 2>&1 </dev/null
        ) &
        AG_DDI_PID=$!
        sb_track "$AG_DDI_PID"
        ag_wait 10 test -s "$pf" || { sb_msg "DDI server did not start: $(tail -n 5 "$SB/ddi.log")"; return 1; }
        DDI_URL=$scheme://127.0.0.1:$(cat "$pf")
        DDI_CTL=$DDI_URL/_ctl
        DDI_CURL=(curl -sS --max-time 10)
        [ "$scheme" = https ] && DDI_CURL+=(--cacert "$SB/tls/ca.crt" --cert "$SB/tls/client.crt" --key "$SB/tls/client.key")
        return 0
}

ddi_stop() {
        [ -n "$AG_DDI_PID" ] && sb_kill "$AG_DDI_PID"
        AG_DDI_PID=
}

# ddi_ctl NAME [JSON]: POST to the control side; prints the answer.
ddi_ctl() {
        "${DDI_CURL[@]}" -X POST -H 'Content-Type: application/json' --data "${2:-{\}}" "$DDI_CTL/$1"
}

# ddi_state EXPR: EXPR on the server state (python, d = state, a(id) = action, fb(id) =
# its deployment feedback list, cfb(id) = cancel feedback, reqs = requests).
ddi_state() {
        "${DDI_CURL[@]}" "$DDI_CTL/state" | "$SB_PY" -c '
import json, sys
d = json.load(sys.stdin)
class Reqs(list):
    """The last requests, indexed as if the whole log were there (len, reqs[n:])."""
    def __init__(s, items, off):
        super().__init__(items)
        s.off = off
    def __len__(s):
        return s.off + list.__len__(s)
    def __getitem__(s, k):
        if isinstance(k, slice) and k.start is not None and k.start >= 0:
            k = slice(max(k.start - s.off, 0), k.stop, k.step)
        return list.__getitem__(s, k)
def a(i): return d["actions"][str(i)]
def fb(i): return [f for f in a(i)["feedback"] if f["kind"] == "deploymentBase"]
def cfb(i): return [f for f in a(i)["feedback"] if f["kind"] == "cancelAction"]
reqs = Reqs(d["requests"], d["requests_offset"])
arts = [r for r in reqs if r.get("artifact")]
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# ddi_true EXPR: succeeds if EXPR is true.
ddi_true() { [ "$(ddi_state "bool($1)" 2>/dev/null)" = true ]; }

# ddi_assign JSON-FIELDS...: prints the new action id.  Example:
#   ddi_assign '"version":"2","artifacts":[{"filename":"v2.bundle","path":"/x"}]'
ddi_assign() {
        ddi_ctl assign "{$1}" | "$SB_PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# ag_wait_status ID STATUS [SECONDS]: until the server's action has that status.
ag_wait_status() {
        ag_wait "${3:-$AG_WAIT}" ddi_true "a($1)[\"status\"] == \"$2\"" && return 0
        TL_WHY="action $1 is $(ddi_state "a($1)[\"status\"]"), expected $2; feedback: $(ddi_state "[(f[\"execution\"], f[\"finished\"], f[\"details\"]) for f in a($1)[\"feedback\"]][-4:]" | cut -c1-600)"
        return 1
}

# ag_last_details ID: the details of the last deployment feedback, joined.
ag_last_details() { ddi_state "' | '.join(fb($1)[-1]['details'])"; }
# ag_expect_failure ID NAME: the final report of action ID starts with the failure's name
# ("NAME: ...", docs/agent.md "Failure names"), what a fleet operator groups by.
ag_expect_failure() {
        local d
        d=$(ag_last_details "$1")
        [ "${d#"$2: "}" != "$d" ] && return 0
        TL_WHY="the final report does not start with '$2: ': '$(cut -c1-300 <<<"$d")'"
        return 1
}

# --- artifacts ------------------------------------------------------------------------------

# ag_bundle NAME VERSION [IMAGE-SIZE]: $SB/www/NAME.bundle of a random image.
ag_bundle() {
        local img=$SB/img/$1.img
        sb_make_random "$img" "${3:-3M}" || return 1
        sb_bundle "$SB/www/$1.bundle" "$2" "$img" || return 1
        chmod 0644 "$SB/www/$1.bundle"
}

# ag_art NAME [URL]: the artifacts JSON for a bundle (served by the DDI server, or URL).
ag_art() {
        if [ -n "${2:-}" ]; then
                printf '[{"filename":"%s.bundle","path":"%s","url":"%s"}]' "$1" "$SB/www/$1.bundle" "$2"
        else
                printf '[{"filename":"%s.bundle","path":"%s"}]' "$1" "$SB/www/$1.bundle"
        fi
}

# ag_start_proxy UPSTREAM-PORT ARGS...: the cutting proxy; sets AG_PROXY_URL and AG_PROXY_LOG.
# Readiness is its "listening" line (a test connection would count as its first connection).
ag_start_proxy() {
        local up=$1 port
        shift
        [ -n "$AG_PROXY_PID" ] && sb_kill "$AG_PROXY_PID"
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        AG_PROXY_LOG=$SB/proxy-$port.log
        (
                trap - EXIT INT TERM
                exec "$SB_PY" "$UPDATE1_TOP/tests/lib/flaky_proxy.py" "$port" "$up" "$@" 2>"$AG_PROXY_LOG" </dev/null
        ) &
        AG_PROXY_PID=$!
        sb_track "$AG_PROXY_PID"
        ag_wait 10 grep -q "127.0.0.1:$port ->" "$AG_PROXY_LOG" || { sb_msg "proxy did not start"; return 1; }
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        AG_PROXY_URL=http://127.0.0.1:$port
}

# --- the agent ------------------------------------------------------------------------------

# ag_config [LINES...]: agent.conf with test-speed timings; LINES go to the end ("[section]"
# lines start sections; a later key in the same section overrides nothing: use ag_config's
# variables AG_SERVER_EXTRA / AG_DOWNLOAD_EXTRA / ... instead when a key must be replaced).
ag_config() {
        cat >"$AG_CONF" <<EOF
# update-agent test configuration (tests/lib/agent-lib.sh)
[server]
url=$DDI_URL
tenant=DEFAULT
controller-id=dev1
${AG_AUTH:-target-token=$AG_TOKEN}
connect-timeout=5s
request-timeout=10s
${AG_SERVER_EXTRA:-}

[polling]
min-interval=100ms
max-interval=${AG_MAX_INTERVAL:-2s}
active-interval=200ms
error-interval=200ms

[download]
mode=${AG_MODE:-stream}
retries=6
retry-base-delay=50ms
retry-max-delay=400ms
low-speed-limit=1K
low-speed-time=5s
${AG_DELTA:+delta=$AG_DELTA}
${AG_DOWNLOAD_EXTRA:-}

[hooks]
directory=$AG_HOOKS
retry-interval=200ms
max-retries=${AG_HOOK_RETRIES:-5}
timeout=${AG_HOOK_TIMEOUT:-10s}
${AG_HOOKS_EXTRA:-}

[agent]
state-directory=$AG_STATE
progress-interval=0
${AG_AGENT_EXTRA:-}
EOF
        chmod 0644 "$AG_CONF"
}

# ag_hook NAME BODY: an executable /bin/sh hook.
ag_hook() {
        printf '#!/bin/sh\n%s\n' "$2" >"$AG_HOOKS/$1"
        chmod 0755 "$AG_HOOKS/$1"
}
ag_clear_hooks() { rm -f "$AG_HOOKS"/*; }

# ag_start [ARGS...]: the agent as u1test-op in the background.
# shellcheck disable=SC2120 # the test scripts that source this file pass ARGS
ag_start() {
        echo "=== update-agent $* ($(date +%T.%N))" >>"$AG_LOG"
        # $! must be the agent itself: a subshell that resets the test's traps (else a signal
        # before its exec would run the whole file's EXIT trap in it) and execs setpriv.
        local gid
        gid=$(id -g u1test-op)
        (
                trap - EXIT INT TERM
                exec setpriv --reuid=u1test-op --regid="$gid" --init-groups -- \
                        "$SB/bin/update-agent" --config "$AG_CONF" "$@" >>"$AG_LOG" 2>&1 </dev/null
        ) &
        AG_PID=$!
        sb_track "$AG_PID"
}

# ag_stop: SIGTERM (a clean shutdown, as at a reboot), bounded.
ag_stop() {
        [ -n "$AG_PID" ] || return 0
        sb_kill "$AG_PID"
        AG_PID=
}

# ag_crash: SIGKILL (power cut / OOM kill of the agent).
ag_crash() {
        [ -n "$AG_PID" ] || return 0
        kill -KILL "$AG_PID" 2>/dev/null
        wait "$AG_PID" 2>/dev/null
        AG_PID=
}

ag_running() { [ -n "$AG_PID" ] && kill -0 "$AG_PID" 2>/dev/null; }

# ag_log_has TEXT: the agent logged TEXT (since the file was reset with ag_log_reset).
ag_log_has() { grep -qF -- "$1" "$AG_LOG"; }
ag_log_reset() { : >"$AG_LOG"; }

count_reboots() { if [ -f "$AG_REBOOTS" ]; then wc -l <"$AG_REBOOTS"; else echo 0; fi; }

# ag_reboot: what a device does when the agent asked for a reboot: the agent is stopped by
# the shutdown, the boot script picks a slot (boot-sim.sh on the real env), updated starts
# with the kernel command line and a new boot id (when it supports --boot-id), the agent
# starts again.  Sets SB_BOOTED.
ag_reboot() {
        local b args=()
        ag_stop
        sb_stop_updated
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline" 2>"$SB/reboot.err") ||
                { TL_WHY="boot simulator: $(cat "$SB/reboot.err")"; return 1; }
        if [ "$b" = none ]; then    # no attempts left: the script re-armed the counters and reset
                b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline" 2>"$SB/reboot.err") ||
                        { TL_WHY="boot simulator: $(cat "$SB/reboot.err")"; return 1; }
        fi
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        SB_BOOTED=$b
        "$SB/bin/updated" --help 2>&1 | grep -q -- --boot-id && args=(--boot-id "$(cat /proc/sys/kernel/random/uuid)")
        sb_run_updated --cmdline "$SB/cmdline" "${args[@]}" 2>"$SB/reboot.err" ||
                { TL_WHY="updated after the reboot: $(cat "$SB/reboot.err")"; return 1; }
        ag_start
}

# ag_mark_good: the health unit's MarkGood on this boot (update-health with one passing check
# when built, else updatectl mark-good), as u1test-op.
ag_mark_good() {
        if [ -x "$SB/bin/update-health" ]; then
                mkdir -p "$SB/hc/required.d" "$SB/hc-data"
                chown u1test-op "$SB/hc-data"
                printf '#!/bin/sh\nexit 0\n' >"$SB/hc/required.d/10-ok"
                chmod -R a+rX "$SB/hc"
                chmod 0755 "$SB/hc/required.d/10-ok"
                run as_user u1test-op update-health --config-dir-usr "$SB/hc" --config-dir-etc "$SB/hc" --data-dir "$SB/hc-data"
        else
                run as_user u1test-op updatectl mark-good
        fi
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="mark good failed: $(_tl_out_excerpt)"
        return 1
}

# Peak RSS of the agent process (kB).
ag_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$AG_PID/status" 2>/dev/null; }

# MEASURE lines go to the log and to $UPDATE1_BUILD/test-logs/agent-measurements.txt.
ag_measure() {
        echo "MEASURE: $*"
        mkdir -p "$UPDATE1_BUILD/test-logs" 2>/dev/null &&
                echo "$(date -u +%FT%TZ) $TL_FILE: $*" >>"$UPDATE1_BUILD/test-logs/agent-measurements.txt"
}

# Dump context on failure: the agent's log tail.
ag_fail_context() {
        echo "  --- last lines of agent.log:"
        tail -n 25 "$AG_LOG" 2>/dev/null | sed 's/^/  | /'
}

# --- reset between cases ---------------------------------------------------------------------

# ag_reset: agent stopped, its state wiped, every open action closed on the server, faults
# cleared, agent started again (with the current ag_config).
ag_reset() {
        ag_stop
        rm -rf "${AG_STATE:?}"/* "${AG_STATE:?}"/.[!.]* 2>/dev/null
        "${DDI_CURL[@]}" "$DDI_CTL/state" | "$SB_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(i for i, a in d["actions"].items() if a["status"] in ("RUNNING", "CANCELING", "DOWNLOADED", "WAITING_CONFIRMATION")))' |
                tr ' ' '\n' | while read -r id; do
                [ -n "$id" ] && ddi_ctl close "{\"id\":\"$id\",\"status\":\"FINISHED\"}" >/dev/null
        done
        ddi_ctl faults "$("${DDI_CURL[@]}" "$DDI_CTL/state" | "$SB_PY" -c '
import json, sys
print(json.dumps({k: None for k in json.load(sys.stdin)["faults"]}))')" >/dev/null
        ag_start
}

# ag_wait_installed ID: updated installed the action's bundle (the agent said so in feedback).
ag_wait_installed() {
        ag_wait "${2:-$AG_WAIT}" ddi_true "any(any(x.startswith('Installed ') for x in f['details']) for f in fb($1))" && return 0
        TL_WHY="action $1 not installed; status $(ddi_state "a($1)['status']"); last feedback: $(ddi_state "fb($1)[-2:]" | cut -c1-500)"
        return 1
}

# ag_wait_log TEXT [SECONDS]
ag_wait_log() {
        ag_wait "${2:-$AG_WAIT}" ag_log_has "$1" && return 0
        # shellcheck disable=SC2034 # read by tl_case (tests/lib/testlib.sh)
        TL_WHY="agent never logged '$1'"
        return 1
}

# ag_mosquitto_conf FILE PORT TLSDIR: the configuration of the MQTT broker of the AWS IoT tests
# (test-agent-awsiot.sh, tests/system agent-mqtt) into FILE: mosquitto on 127.0.0.1:PORT, TLS
# only with TLSDIR/server.crt and .key, a client certificate from TLSDIR/ca.crt required (AWS
# IoT's mutual TLS), everything it logs to stderr.  Readable by all: the broker runs as nobody.
ag_mosquitto_conf() {
        cat >"$1" <<EOF
per_listener_settings false
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
listener $2 127.0.0.1
cafile $3/ca.crt
certfile $3/server.crt
keyfile $3/server.key
require_certificate true
allow_anonymous true
EOF
        chmod 0644 "$1"
}

# --- nginx of our own: TLS, client certificates, a log of Authorization headers ---------------

# ag_tls_pki DIR: CA, server cert for 127.0.0.1/localhost, client cert CN=dev1, and an
# unrelated CA (rogue) with its own client cert.
ag_tls_pki() {
        local d=$1
        mkdir -p "$d"
        (
                cd "$d" || exit 1
                mkca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                        -keyout "$1.key" -out "$1.crt" -subj "/CN=$2" 2>/dev/null; }
                mk() { # name CN ca ext
                        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
                                -subj "/CN=$2" 2>/dev/null &&
                        openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 2 \
                                -out "$1.crt" -extfile <(printf '%s' "$4") 2>/dev/null
                }
                mkca ca "Agent Test CA" && mkca rogue-ca "Rogue CA" &&
                mk server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth" &&
                mk client dev1 ca "extendedKeyUsage=clientAuth" &&
                mk rogue dev1 rogue-ca "extendedKeyUsage=clientAuth"
        ) || return 1
        chmod 0755 "$d"
        chmod 0644 "$d"/*
}

# ag_nginx NAME ROOT [tls [DIRECTIVES]]: nginx as nobody on a free port serving ROOT, logging the
# Authorization header and the client certificate; "tls" = HTTPS with client certificates
# required (CA $SB/tls/ca.crt); DIRECTIVES go into the server block as they are (a location).
# Sets AG_NGINX_URL and AG_NGINX_LOG.  A port taken between choosing and binding it is retried.
ag_nginx() {
        for _ in 1 2 3 4 5; do
                _ag_nginx_once "$@" && return 0
        done
        sb_msg "nginx $1 did not start: $(tail -n 3 "$SB/nginx-$1/error.log" 2>/dev/null)"
        return 1
}

_ag_nginx_once() {
        local name=$1 root=$2 tls=${3:-} extra=${4:-} port pid i listen ssl=
        local ng=$SB/nginx-$name
        mkdir -p "$ng/tmp"
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        listen="127.0.0.1:$port"
        if [ "$tls" = tls ]; then
                listen="$listen ssl"
                ssl="ssl_certificate $SB/tls/server.crt; ssl_certificate_key $SB/tls/server.key;
    ssl_client_certificate $SB/tls/ca.crt; ssl_verify_client on; ssl_protocols TLSv1.2 TLSv1.3;"
        fi
        cat >"$ng/nginx.conf" <<EOF2
daemon off;
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 64; }
http {
  log_format agent '\$status \$request_method \$request_uri range=\$http_range auth=\$http_authorization dn=\$ssl_client_s_dn bytes=\$body_bytes_sent';
  access_log $ng/access.log agent;
  client_body_temp_path $ng/tmp/body; proxy_temp_path $ng/tmp/proxy;
  fastcgi_temp_path $ng/tmp/fcgi; uwsgi_temp_path $ng/tmp/uwsgi; scgi_temp_path $ng/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen $listen;
    root $root;
    $ssl
    $extra
  }
}
EOF2
        chown -R nobody "$ng"
        local gid
        gid=$(id -g nobody)
        (
                trap - EXIT INT TERM
                exec setpriv --reuid=nobody --regid="$gid" --clear-groups -- \
                        nginx -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" </dev/null 2>>"$ng/start.err"
        ) &
        pid=$!
        sb_track "$pid"
        for ((i = 0; i < 200; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                "$SB_PY" -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
                sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null || return 1
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        if [ "$tls" = tls ]; then AG_NGINX_URL=https://127.0.0.1:$port; else AG_NGINX_URL=http://127.0.0.1:$port; fi
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        AG_NGINX_LOG=$ng/access.log
}

# ag_case NAME FUNC: tl_case plus its duration (for keeping the suite fast).
ag_case() {
        local s=$SECONDS
        tl_case "$@"
        echo "  ($1: $((SECONDS - s)) s)"
}
