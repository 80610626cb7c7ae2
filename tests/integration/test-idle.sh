#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exit on idle and D-Bus activation (issue #14): updated exits after idle-timeout= (1 s here)
# and the next call starts it again; a call that reaches the exiting daemon is still answered;
# an install in progress and a pending trial keep it up; many starts within one boot leave the
# boot accounting (U-Boot env, status file) as it was.  The private bus activates
# $SB/bin/updated-activated by fork/exec (sb_enable_activation; systemd does it on a device).
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_bins

BOOT1=11111111111111111111111111111111
BOOT2=22222222222222222222222222222222
# Long enough for a loaded machine to answer, short enough that every wait below is short.
SB_IDLE_TIMEOUT=1
sb_init || exit 1
if ! { sb_install_bins && sb_make_pki "$SB/pki" && sb_make_slots "$SB" 16M && sb_make_env "$SB" &&
        sb_write_config "$SB/system.conf" && SB_CONFIG=$SB/system.conf && sb_start_bus &&
        sb_enable_activation --boot-slot A --boot-id "$BOOT1"; } 2>"$SB/setup.err"; then
        fail "$TL_FILE-setup" "sandbox did not come up: $(tail -n 5 "$SB/setup.err" | tr '\n' ' ')"
        exit 1
fi
mkdir -p "$SB/img"
sb_make_random "$SB/img/v2.img" 8M && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/v2.img" || exit 1

# The daemon exits by itself within the timeout plus a margin for a loaded machine.
EXIT_WAIT=$((SB_IDLE_TIMEOUT + 4))
PID=

# Activated daemons are the bus's children: stop whatever still runs before sb_cleanup
# stops the bus (it would exit on the disconnect anyway).
stop_activated() {
        local p
        p=$(sb_updated_pid) && kill -TERM "$p" 2>/dev/null && sb_wait_exit "$p" "$SB_WAIT"
}
TL_ON_EXIT+=("stop_activated")

# Calls the daemon (activating it if needed) and sets PID to whoever answered.
t_activate() {
        expect_ok updatectl status || return 1
        PID=$(sb_updated_pid) || { TL_WHY="nobody owns $SB_NAME after a call"; return 1; }
}

t_exits_on_idle() {
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID still runs ${EXIT_WAIT}s later"; return 1; }
        ! sb_name_has_owner || { TL_WHY="$SB_NAME still has an owner"; return 1; }
        grep -q "Idle for ${SB_IDLE_TIMEOUT}s: releasing $SB_NAME" "$SB/updated.log" ||
                { TL_WHY="no idle exit in the log"; return 1; }
}

t_reactivates() {
        local old=$PID
        t_activate || return 1
        [ "$PID" != "$old" ] || { TL_WHY="same pid $PID"; return 1; }
        expect_booted A
}

# A call that is routed to the daemon before it releases its name but read after: the daemon
# is stopped (SIGSTOP) with the call queued on its socket until its idle time has passed, so
# on SIGCONT it releases the name first and then reads the call.  The call must be answered,
# by that daemon, and a call after the release must start a new one.
t_call_during_exit() {
        local owner reply i
        owner=$(dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.GetNameOwner "string:$SB_NAME" | tr -d ' ') || return 1
        kill -STOP "$PID" || return 1
        dbus-send --system --print-reply --reply-timeout=20000 --dest="$SB_NAME" "$SB_PATH" \
                "$SB_IFACE.GetSlotStatus" >"$SB/late.out" 2>&1 &
        local sender=$!
        # Waits for the clock itself: the idle timeout must pass while the daemon is stopped.
        sleep "$((SB_IDLE_TIMEOUT + 1))"
        kill -CONT "$PID" || return 1
        wait "$sender" || { TL_WHY="the call during the exit failed: $(head -c 300 "$SB/late.out")"; return 1; }
        reply=$(head -n 1 "$SB/late.out")
        expect_contains "$reply" "sender=$owner" "reply from the exiting daemon" || return 1
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID did not exit after the late call"; return 1; }
        for ((i = 0; i < 3; i++)); do
                expect_ok updatectl status || return 1
        done
        PID=$(sb_updated_pid)
}

# An InstallFd whose stream stays open past the timeout (the writer holds it) keeps the daemon.
t_install_keeps_alive() {
        local fifo=$SB/install.fifo size half
        size=$(stat -c %s "$SB/img/v2.bundle")
        half=$((size / 2))
        rm -f "$fifo" && mkfifo "$fifo" || return 1
        updatectl install - <"$fifo" >"$SB/install.out" 2>&1 &
        local inst=$!
        exec {wfd}>"$fifo"
        head -c "$half" "$SB/img/v2.bundle" >&"$wfd"
        sb_wait_property Operation installing || { exec {wfd}>&-; return 1; }
        PID=$(sb_updated_pid)
        if sb_wait_exit "$PID" "$((SB_IDLE_TIMEOUT + 2))"; then
                exec {wfd}>&-
                TL_WHY="updated exited during the install"
                return 1
        fi
        tail -c +"$((half + 1))" "$SB/img/v2.bundle" >&"$wfd"
        exec {wfd}>&-
        wait "$inst" || { TL_WHY="install failed: $(head -c 300 "$SB/install.out")"; return 1; }
        expect_slot rootfs.1 '["bundle"]["version"]' 2 || return 1
        # The trial is armed for B, but A runs: nothing pending in this boot, so it goes.
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID did not exit after the install"; return 1; }
}

ENV_BEFORE=
STATUS_BEFORE=
# Simulated reboot into the trial (boot simulator on the real env), new boot id.
t_trial_keeps_alive() {
        local b
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        expect_eq "$b" B "boot simulator's pick" || return 1
        sb_set_activation_args --cmdline "$SB/cmdline" --boot-id "$BOOT2"
        t_activate || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        if sb_wait_exit "$PID" "$((SB_IDLE_TIMEOUT + 2))"; then
                TL_WHY="updated exited while the booted slot is on trial"
                return 1
        fi
        grep -q "Trial boot of slot rootfs.1" "$SB/updated.log" || { TL_WHY="no trial boot assessed"; return 1; }
        ENV_BEFORE=$(sha256sum <"$SB_ENV")
        STATUS_BEFORE=$(sha256sum <"$SB_DATA/status.json")
}

# Started again and again within the trial boot (same boot id): every start sees the same
# trial boot; nothing counts a boot attempt or rewrites the start-of-boot records.
t_restarts_same_boot() {
        local i
        for ((i = 0; i < 4; i++)); do
                kill -TERM "$PID" && sb_wait_exit "$PID" "$SB_WAIT" || { TL_WHY="updated $PID did not stop"; return 1; }
                t_activate || return 1
        done
        expect_eq "$(grep -c "=== updated (activated) --cmdline" "$SB/updated.log")" 5 "starts in the trial boot" || return 1
        expect_eq "$(sha256sum <"$SB_ENV")" "$ENV_BEFORE" "U-Boot env after 4 restarts" || return 1
        expect_eq "$(sha256sum <"$SB_DATA/status.json")" "$STATUS_BEFORE" "status.json after 4 restarts" || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        expect_status 'd["last_boot"]["fell_back"]' false
}

t_mark_good_then_idle() {
        expect_ok updatectl mark-good || return 1
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID still runs after MarkGood"; return 1; }
        t_activate || return 1
        expect_slot rootfs.1 '["boot_status"]' good
}

# One daemon per data directory: a start while another instance still holds it (an exiting one
# finishing a job, here the test holding the lock) waits, then serves.
t_start_waits_for_previous() {
        local lfd caller i
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID did not exit on idle"; return 1; }
        exec {lfd}<"$SB_DATA/instance.lock" && flock -x "$lfd" || return 1
        updatectl status >"$SB/waiting.out" 2>&1 {lfd}>&- &
        caller=$!
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                grep -q "Another updated still uses $SB_DATA: waiting" "$SB/updated.log" && break
                sleep 0.05
        done
        if ! grep -q "Another updated still uses $SB_DATA: waiting" "$SB/updated.log" || ! kill -0 "$caller" 2>/dev/null; then
                exec {lfd}>&-
                TL_WHY="the new instance did not wait for the lock: $(head -c 300 "$SB/waiting.out")"
                return 1
        fi
        ! sb_name_has_owner || { exec {lfd}>&-; TL_WHY="the waiting instance owns the name already"; return 1; }
        exec {lfd}>&-
        wait "$caller" || { TL_WHY="status after the wait failed: $(head -c 300 "$SB/waiting.out")"; return 1; }
        PID=$(sb_updated_pid)
}

# A fallback boot: A installed and tried once without the daemon ever starting (the boot
# failed), the bootloader falls back to B.  The first start reports the fallback; later starts
# in the same boot neither report it again nor touch the env or the status file.
t_fallback_restarts() {
        local b i env status
        updatectl install --force "$SB/img/v2.bundle" >"$SB/install2.out" 2>&1 ||
                { TL_WHY="install into A: $(head -c 300 "$SB/install2.out")"; return 1; }
        sb_wait_exit "$PID" "$EXIT_WAIT" || { TL_WHY="updated $PID did not exit after the install"; return 1; }
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        expect_eq "$b" A "first boot after the install (trial)" || return 1
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        expect_eq "$b" B "next boot (trial attempts used up)" || return 1
        sb_set_activation_args --cmdline "$SB/cmdline" --boot-id 33333333333333333333333333333333
        t_activate || return 1
        expect_status 'd["last_boot"]["fell_back"]' true || return 1
        env=$(sha256sum <"$SB_ENV") status=$(sha256sum <"$SB_DATA/status.json")
        for ((i = 0; i < 3; i++)); do
                kill -TERM "$PID" 2>/dev/null    # it may have exited on idle already
                sb_wait_exit "$PID" "$SB_WAIT" || { TL_WHY="updated $PID did not stop"; return 1; }
                t_activate || return 1
        done
        expect_eq "$(grep -c "Fallback: slot rootfs.0" "$SB/updated.log")" 1 "fallback reports" || return 1
        expect_eq "$(sha256sum <"$SB_ENV")" "$env" "U-Boot env after 3 restarts in the fallback boot" || return 1
        expect_eq "$(sha256sum <"$SB_DATA/status.json")" "$status" "status.json after 3 restarts in the fallback boot"
}

tl_case activates-on-first-call t_activate
tl_case exits-after-idle-timeout t_exits_on_idle
tl_case next-call-activates-again t_reactivates
tl_case call-during-exit-answered t_call_during_exit
tl_case start-waits-for-previous-instance t_start_waits_for_previous
tl_case install-keeps-daemon-past-timeout t_install_keeps_alive
tl_case pending-trial-keeps-daemon t_trial_keeps_alive
tl_case restarts-in-one-boot-change-nothing t_restarts_same_boot
tl_case marked-good-then-exits-on-idle t_mark_good_then_idle
tl_case restarts-in-a-fallback-boot-change-nothing t_fallback_restarts
