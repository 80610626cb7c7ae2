#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-health on the sandbox device: the real daemon, bus policy, U-Boot env and boot
# simulator; update-health runs as u1test-op (group "update"), unprivileged, with check
# directories under $SB (--config-dir-usr/--config-dir-etc) instead of /usr/lib and /etc.
#   not on trial: green re-arms the counter, red marks nothing;  trial boot: green commits
#   (the simulator then keeps the new slot), red marks it bad and asks the daemon to reboot
#   (the simulator then picks the old slot);  timeouts kill the check's process group;
#   /etc overrides and masks /usr;  daemon gone: checks still run, exit non-zero;  --json.
# shellcheck disable=SC2016  # check bodies are single-quoted on purpose: the check expands them
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "useradd, setpriv and the root-owned bus name"
tl_require_cmd setpriv useradd
if [ ! -x "$UPDATE1_BUILD/update-health" ]; then
        fail "$TL_FILE" "$UPDATE1_BUILD/update-health is not built (make all)"
        exit 1
fi
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
tl_setup A
cp "$UPDATE1_BUILD/update-health" "$SB/bin/update-health" && chmod 0755 "$SB/bin/update-health" || exit 1

OP=(as_user u1test-op)
NB=(as_user u1test-nobody)
H=$SB/hc
U=$H/usr E=$H/etc D=$H/data W=$H/work
mkdir -p "$H" "$D" "$W" "$SB/img"
chmod 0755 "$H" "$D" "$SB/img"
chmod 1777 "$W"                 # markers written by the checks (as any test user)
chown u1test-op "$D"

sb_make_random "$SB/img/rand.img" 256K || exit 1

# The daemon's Reboot() runs [system] reboot-command=; ours only records the request.
REBOOTS=$SB/reboot-requests
printf '#!/bin/sh\necho "reboot requested $*" >>"%s"\n' "$REBOOTS" >"$SB/bin/record-reboot"
chmod 0755 "$SB/bin/record-reboot"
HAVE_REBOOT=0
if busctl --system introspect "$SB_NAME" "$SB_PATH" "$SB_IFACE" 2>/dev/null | grep -q '^\.Reboot '; then
        sed -i "/^\[system\]/a reboot-command=$SB/bin/record-reboot" "$SB_CONFIG"
        sb_stop_updated
        sb_start_updated A 2>"$SB/start.err" || { fail "$TL_FILE-setup" "restart with reboot-command: $(cat "$SB/start.err")"; exit 1; }
        HAVE_REBOOT=1
fi

# --- helpers --------------------------------------------------------------------------------

reset_checks() {
        rm -rf "$U" "$E" "$D"/health*.json "${W:?}"/*
        mkdir -p "$U"/{required.d,wanted.d,green.d,red.d} "$E"/{required.d,wanted.d,green.d,red.d}
        chmod -R 0755 "$U" "$E"
}

# mkcheck DIR NAME BODY: an executable /bin/sh script.
mkcheck() {
        printf '#!/bin/sh\n%s\n' "$3" >"$1/$2"
        chmod 0755 "$1/$2"
}

# health [ARGS...]: update-health as u1test-op on our directories; TL_OUT, TL_RC.
health() {
        run "${OP[@]}" update-health --config-dir-usr "$U" --config-dir-etc "$E" --data-dir "$D" "$@"
}

# hj EXPR: a field of the last run's health.json (sb_json syntax).
hj() { sb_json "$1" <"$D/health.json" 2>&1; }

expect_rc() {
        [ "$TL_RC" = "$1" ] && return 0
        TL_WHY="update-health exited $TL_RC, expected $1: $(_tl_out_excerpt)"
        return 1
}

expect_hj() { expect_eq "$(hj "$2")" "$3" "health.json $2" && return 0; TL_WHY="$TL_WHY (run: $(_tl_out_excerpt))"; return 1; }

env_left() { sb_env_get "BOOT_$1_LEFT"; }

# Install version V into the other slot and boot it: the device is then on a trial boot of it.
# (A new version each time: the booted slot's version is refused without --force.)
TRIAL_VERSION=1
trial_boot() { # expected-bootname
        TRIAL_VERSION=$((TRIAL_VERSION + 1))
        sb_bundle "$SB/img/v$TRIAL_VERSION.bundle" "$TRIAL_VERSION" "$SB/img/rand.img" 2>"$SB/bundle.err" ||
                { TL_WHY="bundle: $(cat "$SB/bundle.err")"; return 1; }
        expect_ok updatectl install "$SB/img/v$TRIAL_VERSION.bundle" || return 1
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" "$1" "slot booted after the install" || return 1
        expect_slot "$(tl_slot_name "$1")" '["boot_status"]' trial
}

# Bounded wait until PID is gone (or a zombie waiting for its new parent).
pid_gone() {
        local i s
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                s=$(ps -o stat= -p "$1" 2>/dev/null)
                [ -z "$s" ] || [ "${s#Z}" != "$s" ] && return 0
                sleep 0.02
        done
        return 1
}

# boot_healthy BOOTNAME: a simulated reboot followed by what every boot does, update-health,
# here with one passing check (it re-arms the counter the boot script decremented).
boot_healthy() {
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" "$1" "slot booted" || return 1
        mkdir -p "$H/ok/required.d" "$H/ok-data"
        chown u1test-op "$H/ok-data"
        mkcheck "$H/ok/required.d" 10-ok 'exit 0'
        run "${OP[@]}" update-health --config-dir-usr "$H/ok" --config-dir-etc "$H/ok" --data-dir "$H/ok-data"
        expect_rc 0
}

count_reboots() { if [ -f "$REBOOTS" ]; then wc -l <"$REBOOTS"; else echo 0; fi; }

# --- cases ----------------------------------------------------------------------------------

t_usage() {
        run update-health --timeout 0
        expect_rc 2 || return 1
        run update-health --timeout 99999999
        expect_rc 2 || return 1
        run update-health stray-argument
        expect_rc 2 || return 1
        run update-health --bogus
        expect_rc 2 || return 1
        expect_ok update-health --help || return 1
        expect_contains "$TL_OUT" --no-reboot "help text"
}

# The shipped checks (packaging/health), as they are: updated answers; no failed units
# (skipped when systemd is not PID 1, as here).
t_default_checks() {
        reset_checks
        cp -a "$UPDATE1_TOP/packaging/health/." "$U/"
        chmod -R a+rX "$U"
        health
        expect_rc 0 || return 1
        expect_hj result 'd["result"]' green || return 1
        expect_hj updated-answers 'next(c for c in d["checks"] if c["name"] == "10-updated-answers")["result"]' pass || return 1
        local sr
        sr=$(hj 'next(c for c in d["checks"] if c["name"] == "20-system-running")["result"]')
        case $sr in
        pass) ;;
        skipped)
                expect_contains "$(hj 'next(c for c in d["checks"] if c["name"] == "20-system-running")["output"]')" \
                        "systemd is not the init system" "skip reason" || return 1 ;;
        *) TL_WHY="20-system-running: $sr: $(hj 'd["checks"][1]["output"]')"; return 1 ;;
        esac
        # Without the daemon the required default check fails.
        sb_stop_updated
        health
        sb_run_updated --boot-slot A 2>"$SB/start.err" || { TL_WHY="restart: $(cat "$SB/start.err")"; return 1; }
        expect_rc 1 || return 1
        expect_hj red-without-daemon 'next(c for c in d["checks"] if c["name"] == "10-updated-answers")["result"]' fail
}

# Not on trial, all green: MarkGood re-arms the counter the boot script decremented.
t_not_trial_green_rearms() {
        reset_checks
        mkcheck "$U/required.d" 10-ok 'echo fine'
        mkcheck "$U/green.d" 50-note 'echo "$UPDATE_HEALTH_RESULT $UPDATE_HEALTH_ACTION $UPDATE_HEALTH_ON_TRIAL" >'"$W/green"
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "booted" || return 1
        expect_eq "$(env_left A)" 2 "BOOT_A_LEFT after the boot script" || return 1
        health
        expect_rc 0 || return 1
        expect_eq "$(env_left A)" 3 "BOOT_A_LEFT after update-health" || return 1
        expect_hj on_trial 'd["on_trial"]' false || return 1
        expect_hj action 'd["action"]' re-armed || return 1
        expect_hj booted 'd["booted"]' rootfs.0 || return 1
        expect_contains "$(hj 'd["daemon_message"]')" "nothing to commit" "daemon_message" || return 1
        expect_eq "$(cat "$W/green" 2>&1)" "green re-armed no" "green.d saw" || return 1
        expect_hj green.d-recorded 'd["scripts"][0]["kind"]' green
}

t_wanted_failure_green() {
        reset_checks
        mkcheck "$U/required.d" 10-ok 'exit 0'
        mkcheck "$U/wanted.d" 20-flaky 'echo "no network"; exit 3'
        health
        expect_rc 0 || return 1
        expect_hj result 'd["result"]' green || return 1
        expect_hj wanted-result 'd["checks"][1]["result"]' fail || return 1
        expect_hj wanted-kind 'd["checks"][1]["kind"]' wanted || return 1
        expect_hj wanted-exit 'd["checks"][1]["exit_code"]' 3 || return 1
        expect_hj wanted-output 'd["checks"][1]["output"]' 'no network'
}

# Not on trial, red: reported, nothing marked (env, status file, slots untouched), no reboot.
t_not_trial_red_marks_nothing() {
        local reboots
        reset_checks
        mkcheck "$U/required.d" 10-broken 'echo "app is down" >&2; exit 1'
        mkcheck "$U/red.d" 50-note 'echo "$UPDATE_HEALTH_RESULT $UPDATE_HEALTH_ACTION" >'"$W/red"
        reboots=$(count_reboots)
        tl_snapshot
        health
        expect_rc 1 || return 1
        expect_unchanged || return 1
        expect_hj result 'd["result"]' red || return 1
        expect_hj action 'd["action"]' none || return 1
        expect_hj on_trial 'd["on_trial"]' false || return 1
        expect_hj output 'd["checks"][0]["output"]' 'app is down' || return 1
        expect_eq "$(cat "$W/red" 2>&1)" "red none" "red.d saw" || return 1
        expect_eq "$(count_reboots)" "$reboots" "reboot requests" || return 1
        expect_slot rootfs.0 '["boot_status"]' good
}

# A required check that cannot be run has not passed (fail closed).
t_not_executable_is_red() {
        reset_checks
        printf '#!/bin/sh\nexit 0\n' >"$U/required.d/10-noexec"
        chmod 0644 "$U/required.d/10-noexec"
        ln -s "$H/nowhere" "$U/required.d/20-dangling"
        health
        expect_rc 1 || return 1
        expect_hj noexec 'd["checks"][0]["result"]' error || return 1
        expect_hj dangling 'd["checks"][1]["result"]' error
}

t_etc_overrides_usr() {
        reset_checks
        mkcheck "$U/required.d" 30-app 'echo vendor; exit 1'
        mkcheck "$E/required.d" 30-app 'echo admin; exit 0'
        mkcheck "$U/required.d" 40-vendor-only 'exit 0'
        mkcheck "$E/required.d" 10-admin-only 'exit 0'
        health
        expect_rc 0 || return 1
        expect_hj names '",".join(c["name"] for c in d["checks"])' 10-admin-only,30-app,40-vendor-only || return 1
        expect_hj path 'd["checks"][1]["path"]' "$E/required.d/30-app" || return 1
        expect_hj output 'd["checks"][1]["output"]' 'admin'
}

t_mask_dev_null() {
        reset_checks
        mkcheck "$U/required.d" 30-app 'echo ran >'"$W/masked-ran"'; exit 1'
        ln -s /dev/null "$E/required.d/30-app"
        health
        expect_rc 0 || return 1
        expect_hj masked 'd["checks"][0]["result"]' masked || return 1
        [ ! -e "$W/masked-ran" ] || { TL_WHY="the masked check ran"; return 1; }
}

# health.conf: timeout= is recorded and used; fail-fast skips the rest of required.d.
t_config_fail_fast() {
        reset_checks
        printf '# test\ntimeout=7\nfail-fast=yes\n' >"$E/health.conf"
        mkcheck "$U/required.d" 10-fails 'exit 1'
        mkcheck "$U/required.d" 20-never 'echo ran >'"$W/ff-ran"
        mkcheck "$U/wanted.d" 30-wanted-still-runs 'exit 0'
        health
        expect_rc 1 || return 1
        expect_hj timeout 'd["timeout_sec"]' 7 || return 1
        expect_hj fail_fast 'd["fail_fast"]' true || return 1
        expect_hj skipped 'd["checks"][1]["result"]' skipped || return 1
        expect_hj wanted 'd["checks"][2]["result"]' pass || return 1
        [ ! -e "$W/ff-ran" ] || { TL_WHY="20-never ran despite fail-fast"; return 1; }
        # Without fail-fast every required check runs, so all failures are reported.
        rm "$E/health.conf"
        health
        expect_hj all-run 'd["checks"][1]["result"]' pass
}

# Only the last 4 KiB are kept; invalid UTF-8 does not break the JSON.
t_output_tail() {
        reset_checks
        mkcheck "$U/required.d" 10-chatty 'head -c 100000 /dev/zero | tr "\0" x; printf "\n\377\376 bytes\nLAST-LINE\n"'
        health
        expect_rc 0 || return 1
        expect_hj truncated 'd["checks"][0]["output_truncated"]' true || return 1
        expect_hj length 'str(len(d["checks"][0]["output"].encode()) <= 4096)' True || return 1
        expect_hj tail 'd["checks"][0]["output"].endswith("?? bytes\nLAST-LINE\n")' true
}

# A hung check is killed with its whole process group at --timeout; the run goes on.
t_timeout_kills_group() {
        local t0 t1 bg
        reset_checks
        mkcheck "$U/required.d" 10-hangs 'sleep 300 & echo $! >'"$W/bg.pid"'; echo waiting; sleep 300'
        mkcheck "$U/wanted.d" 20-after 'exit 0'
        t0=$(date +%s%N)
        health --timeout 1
        t1=$(date +%s%N)
        expect_rc 1 || return 1
        expect_hj result 'd["checks"][0]["result"]' timeout || return 1
        expect_hj signal 'd["checks"][0]["signal"]' SIGKILL || return 1
        expect_hj timed_out 'd["checks"][0]["timed_out"]' true || return 1
        expect_hj duration 'str(900 <= d["checks"][0]["duration_ms"] < 5000)' True || return 1
        expect_hj output 'd["checks"][0]["output"]' 'waiting' || return 1
        expect_hj next-ran 'd["checks"][1]["result"]' pass || return 1
        [ $(((t1 - t0) / 1000000)) -lt 5000 ] || { TL_WHY="run took $(((t1 - t0) / 1000000)) ms"; return 1; }
        bg=$(cat "$W/bg.pid" 2>/dev/null)
        [ -n "$bg" ] || { TL_WHY="no background pid recorded"; return 1; }
        pid_gone "$bg" || { TL_WHY="the check's background child $bg survived"; return 1; }
}

# systemd stops the unit (shutdown) while a check hangs: the check's group is killed, the run
# is recorded as interrupted and nothing is marked.
t_sigterm_stops_check() {
        local pid rc i bg
        reset_checks
        mkcheck "$U/required.d" 10-hangs 'sleep 300 & echo $! >'"$W/bg.pid"'; sleep 300'
        tl_snapshot
        # setpriv itself, not the as_user function: $! must be update-health, not a subshell.
        setpriv --reuid=u1test-op --regid="$(id -g u1test-op)" --init-groups -- \
                update-health --config-dir-usr "$U" --config-dir-etc "$E" --data-dir "$D" >"$H/term.out" 2>&1 &
        pid=$!
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ -s "$W/bg.pid" ] && break
                sleep 0.02
        done
        [ -s "$W/bg.pid" ] || { kill -KILL "$pid"; TL_WHY="the check did not start"; return 1; }
        kill -TERM "$pid"
        tl_wait_pid "$pid"
        rc=$?
        [ "$rc" != 124 ] || { kill -KILL "$pid"; TL_WHY="update-health ignored SIGTERM"; return 1; }
        expect_eq "$rc" 1 "exit code" || return 1
        expect_unchanged || return 1
        expect_hj result 'd["checks"][0]["result"]' killed || return 1
        expect_hj action 'd["action"]' none || return 1
        expect_contains "$(hj 'd["errors"]')" Interrupted "recorded" || return 1
        bg=$(cat "$W/bg.pid")
        pid_gone "$bg" || { TL_WHY="the check's background child $bg survived"; return 1; }
}

# A user outside group "update" may run the checks but may not even read the slot status: the
# bus refuses GetSlotStatus, nothing is marked, and the error is recorded.
t_not_in_group() {
        local d2=$H/data-nobody
        reset_checks
        mkcheck "$U/required.d" 10-ok 'exit 0'
        mkdir -p "$d2" && chown u1test-nobody "$d2"
        run "${NB[@]}" update-health --config-dir-usr "$U" --config-dir-etc "$E" --data-dir "$d2"
        expect_rc 1 || return 1
        expect_contains "$TL_OUT" AccessDenied "error text" || return 1
        expect_eq "$(sb_json 'd["action"]' <"$d2/health.json" 2>&1)" none "action" || return 1
        expect_contains "$(sb_json 'd["errors"][0]' <"$d2/health.json" 2>&1)" "AccessDenied" "recorded error"
}

t_dry_run() {
        reset_checks
        mkcheck "$U/required.d" 10-broken 'exit 1'
        mkcheck "$U/red.d" 50-note 'echo ran >'"$W/red-dry"
        tl_snapshot
        health --dry-run
        expect_rc 1 || return 1
        expect_unchanged || return 1
        [ ! -e "$D/health.json" ] || { TL_WHY="--dry-run wrote health.json"; return 1; }
        [ ! -e "$W/red-dry" ] || { TL_WHY="--dry-run ran red.d"; return 1; }
        expect_eq "$(sed -n '/^{/,/^}/p' <<<"$TL_OUT" | sb_json 'd["result"]' 2>&1)" red "printed status"
}

# Trial boot of B, all green: committed; U-Boot keeps booting B.
t_trial_green_commits() {
        reset_checks
        mkcheck "$U/required.d" 10-ok 'echo "booted $UPDATE_HEALTH_BOOTED trial $UPDATE_HEALTH_ON_TRIAL"'
        mkcheck "$U/green.d" 50-note 'echo "$UPDATE_HEALTH_ACTION" >'"$W/green"
        trial_boot B || return 1
        health
        expect_rc 0 || return 1
        expect_hj on_trial 'd["on_trial"]' true || return 1
        expect_hj action 'd["action"]' committed || return 1
        expect_hj check-env 'd["checks"][0]["output"]' 'booted rootfs.1 trial yes' || return 1
        expect_eq "$(cat "$W/green" 2>&1)" committed "green.d saw" || return 1
        expect_slot rootfs.1 '["boot_status"]' good || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" UPDATE1_TRIAL || return 1
        boot_healthy B || return 1
        boot_healthy B
}

# Trial boot of A, a required check fails: A is marked bad, a reboot is requested, U-Boot
# falls back to B.
REBOOTS_BEFORE_RED=0
t_trial_red_marks_bad() {
        reset_checks
        mkcheck "$U/required.d" 10-app 'echo "app crashed"; exit 1'
        mkcheck "$U/red.d" 50-note 'echo "$UPDATE_HEALTH_ACTION" >'"$W/red"
        trial_boot A || return 1
        REBOOTS_BEFORE_RED=$(count_reboots)
        health
        expect_rc 1 || return 1
        expect_hj result 'd["result"]' red || return 1
        expect_hj on_trial 'd["on_trial"]' true || return 1
        expect_slot rootfs.0 '["boot_status"]' bad || return 1
        expect_boots B || return 1
        expect_eq "$(cat "$W/red" 2>&1)" marked-bad "red.d saw" || return 1
        [ -s "$D/health-red.json" ] || { TL_WHY="health-red.json not written"; return 1; }
        if [ "$HAVE_REBOOT" = 1 ]; then
                expect_hj action 'd["action"]' rebooted || return 1
        else
                expect_hj action 'd["action"]' marked-bad || return 1
                expect_contains "$(hj 'd["errors"]')" Reboot "recorded Reboot failure" || return 1
        fi
        boot_healthy B
}

t_trial_red_reboot_requested() {
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ "$(count_reboots)" -gt "$REBOOTS_BEFORE_RED" ] && return 0
                sleep 0.02
        done
        TL_WHY="reboot-command was not run ($(count_reboots) requests recorded)"
        return 1
}

t_trial_red_no_reboot() {
        local reboots
        reset_checks
        mkcheck "$U/required.d" 10-app 'exit 1'
        trial_boot A || return 1
        reboots=$(count_reboots)
        health --no-reboot
        expect_rc 1 || return 1
        expect_hj action 'd["action"]' marked-bad || return 1
        expect_slot rootfs.0 '["boot_status"]' bad || return 1
        expect_boots B || return 1
        expect_eq "$(count_reboots)" "$reboots" "reboot requests" || return 1
        boot_healthy B
}

# The daemon is gone (name unowned), or even the bus: checks still run and are recorded.
t_daemon_unreachable() {
        local rc1 rc2 restarted=0
        reset_checks
        mkcheck "$U/required.d" 10-ok 'echo ran >>'"$W/ran"
        sb_stop_updated
        health
        rc1=$TL_RC
        cp "$D/health.json" "$H/unowned.json"
        run "${OP[@]}" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$H/no-such-socket" \
                update-health --config-dir-usr "$U" --config-dir-etc "$E" --data-dir "$D"
        rc2=$TL_RC
        sb_run_updated --cmdline "$SB/cmdline" 2>"$SB/start.err" && restarted=1
        [ "$restarted" = 1 ] || { TL_WHY="restart: $(cat "$SB/start.err")"; return 1; }
        expect_eq "$rc1" 1 "exit code, name not owned" || return 1
        expect_eq "$rc2" 1 "exit code, no bus" || return 1
        expect_eq "$(wc -l <"$W/ran")" 2 "check runs" || return 1
        expect_contains "$(hj 'd["errors"][0]')" "system bus" "recorded error (no bus)" || return 1
        cp "$H/unowned.json" "$D/health.json"
        expect_hj reachable 'd["daemon_reachable"]' false || return 1
        expect_hj result 'd["result"]' green || return 1
        expect_hj action 'd["action"]' none || return 1
        expect_hj checks 'd["checks"][0]["result"]' pass || return 1
        expect_contains "$(hj 'd["errors"][0]')" GetSlotStatus "recorded error (name not owned)"
}

# --json: the last run, readable by anyone; its shape.
t_json_shape() {
        reset_checks
        mkcheck "$U/required.d" 10-ok 'echo ok'
        mkcheck "$U/wanted.d" 20-fails 'exit 2'
        health
        expect_rc 0 || return 1
        run "${NB[@]}" update-health --data-dir "$D" --json
        expect_rc 0 || return 1
        run "$SB_PY" -c '
import json, sys
d = json.loads(sys.argv[1])
top = {"format": int, "version": str, "started": str, "finished": str, "duration_ms": int,
       "result": str, "daemon_reachable": bool, "booted": str, "on_trial": bool, "action": str,
       "daemon_message": str, "timeout_sec": int, "fail_fast": bool, "checks": list,
       "scripts": list, "errors": list}
for k, t in top.items():
    assert isinstance(d.get(k), t), "top-level %s: %r" % (k, d.get(k))
assert d["result"] in ("green", "red") and d["action"] in ("committed", "re-armed", "marked-bad", "rebooted", "none")
check = {"name": str, "kind": str, "path": str, "result": str, "exit_code": int, "timed_out": bool,
         "duration_ms": int, "output": str, "output_truncated": bool}
for c in d["checks"]:
    for k, t in check.items():
        assert isinstance(c.get(k), t), "check %s: %r" % (k, c.get(k))
    assert "signal" in c and c["signal"] is None
assert [c["kind"] for c in d["checks"]] == ["required", "wanted"]
assert [c["exit_code"] for c in d["checks"]] == [0, 2]
assert d["started"].endswith("Z") and d["started"] <= d["finished"]
print("ok")' "$TL_OUT"
        expect_eq "$TL_OUT" ok "shape check" || return 1
        run update-health --data-dir "$H/empty" --json
        expect_rc 1 || return 1
        expect_contains "$TL_OUT" "no run recorded" "message without a record"
}

tl_case usage-errors t_usage
tl_case default-checks t_default_checks
tl_case not-on-trial-green-rearms t_not_trial_green_rearms
tl_case wanted-failure-stays-green t_wanted_failure_green
tl_case not-on-trial-red-marks-nothing t_not_trial_red_marks_nothing
tl_case not-executable-required-is-red t_not_executable_is_red
tl_case etc-overrides-usr t_etc_overrides_usr
tl_case etc-dev-null-masks t_mask_dev_null
tl_case config-timeout-and-fail-fast t_config_fail_fast
tl_case output-tail-4k-utf8 t_output_tail
tl_case timeout-kills-process-group t_timeout_kills_group
tl_case sigterm-stops-check t_sigterm_stops_check
tl_case not-in-group-update-refused t_not_in_group
tl_case dry-run-changes-nothing t_dry_run
tl_case trial-green-commits t_trial_green_commits
tl_case trial-red-marks-bad t_trial_red_marks_bad
if [ "$HAVE_REBOOT" = 1 ]; then
        tl_case trial-red-reboot-requested t_trial_red_reboot_requested
else
        skip trial-red-reboot-requested "the daemon has no Reboot() method yet ([system] reboot-command=)"
fi
tl_case trial-red-no-reboot t_trial_red_no_reboot
tl_case daemon-unreachable t_daemon_unreachable
tl_case json-output-shape t_json_shape
