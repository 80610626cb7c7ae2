#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One operation at a time, cancellation, Ctrl-C, and the signals a client sees.
# Deterministic: the first install is fed from a FIFO that this script holds open; after the
# header, the signature and part of the payload it stops writing, so the daemon is blocked
# mid-stream in "installing" for as long as we like.  We wait on state (the target slot marked
# pending), never on the write: the pipe may buffer all of it (updated asks for 1 MiB).
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

E=org.example.Update1.Error
I=$SB/img
mkdir -p "$I"
sb_make_random "$I/rand.img" 4M && sb_bundle "$I/v2.bundle" 2 "$I/rand.img" || exit 1
CHUNK=$(updatectl bundle info --json --keyring "$SB/pki/ca.crt" "$I/v2.bundle" |
        sb_json 'd["images"][0]["chunk-size"]') || exit 1
FEED_AT=$(($(sb_payload_offset "$I/v2.bundle") + CHUNK + CHUNK / 2))
BG_PID=

# start_blocked [WRAPPER...]: `updatectl install -` reading our FIFO (fd 8), fed up to FEED_AT.
start_blocked() {
        rm -f "$SB/feed"
        mkfifo "$SB/feed"
        "$@" updatectl install - <"$SB/feed" >"$SB/bg.out" 2>&1 &
        BG_PID=$!
        sb_track "$BG_PID"
        exec 8>"$SB/feed"
        # bounded: if nobody reads, do not hang the suite
        timeout "$SB_WAIT" head -c "$FEED_AT" "$I/v2.bundle" >&8 ||
                { TL_WHY="daemon did not read the first $FEED_AT bytes"; return 1; }
        sb_wait_property Operation installing 2>"$SB/wait.err" ||
                { TL_WHY="not installing: $(cat "$SB/wait.err"); client: $(cat "$SB/bg.out")"; return 1; }
        # Operation turns "installing" before the signature is checked, and the pipe buffer may
        # hold all we wrote: the write stage has begun once the target is marked pending.
        tl_wait_status 'slot("rootfs.1")["status"]' pending
}
finish_feed() {
        timeout "$SB_WAIT" tail -c +$((FEED_AT + 1)) "$I/v2.bundle" >&8
        exec 8>&-
}
close_feed() { exec 8>&-; }

t_busy() {
        start_blocked || { close_feed; return 1; }
        expect_slot rootfs.1 '["status"]' pending || { close_feed; return 1; }
        expect_error "$E.Busy" updatectl install "$I/v2.bundle" || { close_feed; return 1; }
        expect_error "$E.Busy" sh -c 'cat "$1" | updatectl install -' sh "$I/v2.bundle" || { close_feed; return 1; }
        finish_feed
        local rc
        tl_wait_pid "$BG_PID"
        rc=$?
        [ "$rc" = 0 ] || { TL_WHY="first install exited $rc: $(cat "$SB/bg.out")"; return 1; }
        expect_slot rootfs.1 '["status"]' ok || return 1
        cmp -s -n $((4 * 1024 * 1024)) "$I/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content"; return 1; }
        expect_boots B
}

cancelled_state() {
        local rc
        tl_wait_pid "$BG_PID"
        rc=$?
        close_feed
        [ "$rc" != 0 ] && [ "$rc" != 124 ] || { TL_WHY="cancelled client exited $rc: $(cat "$SB/bg.out")"; return 1; }
        expect_contains "$(cat "$SB/bg.out")" "$E.Cancelled" "client output" || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after cancel"; return 1; }
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_slot rootfs.1 '["boot_status"]' bad || return 1
        expect_boots A || return 1
        expect_primary A || return 1
        expect_contains "$(sb_get_property LastError)" Cancel "LastError"
}

t_cancel() {
        start_blocked || { close_feed; return 1; }
        expect_ok updatectl cancel || { close_feed; return 1; }
        cancelled_state
}

# Ctrl-C in the client cancels the install.  Background jobs of a non-interactive shell start
# with SIGINT ignored; restore the default disposition as a terminal would have it.
t_ctrl_c() {
        start_blocked "$SB_PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' || { close_feed; return 1; }
        kill -INT "$BG_PID"
        cancelled_state
}

t_cancel_idle() {
        tl_snapshot
        run updatectl cancel
        # Cancel with nothing running: an error or a no-op, but nothing may change.
        expect_unchanged && expect_status 'd["operation"]' idle
}

# Signals during a complete install: Progress non-decreasing up to 100, Operation back to
# idle (PropertiesChanged) before Completed(0, ...).
t_signals() {
        sb_monitor_start "$SB/monitor.json" "$SB_NAME" || { TL_WHY="busctl monitor did not start"; return 1; }
        expect_ok updatectl install "$I/v2.bundle" || { sb_kill "$SB_MONITOR_PID"; return 1; }
        # Completed has been received by updatectl; wait until the monitor logged it too.
        sb_monitor_check "$SB/monitor.json" <<'EOF'
progress, events = [], []
for member, data in signals():
    op = changed(member, data, "org.example.Update1", "Operation")
    if member == "Progress":
        progress.append(data[0])
        events.append(("progress", data[0]))
    elif member == "Completed":
        events.append(("completed", data[0]))
    elif op is not None:
        events.append(("operation", op))
errors = []
if not progress:
    errors.append("no Progress signal")
elif progress != sorted(progress) or progress[-1] != 100:
    errors.append("Progress not rising to 100: %s" % progress)
else:
    # "at least every 1 %": no percent value may be skipped between two signals.
    gaps = [(a, b) for a, b in zip(progress, progress[1:]) if b - a > 1]
    if gaps:
        errors.append("Progress skipped percents: %s" % gaps[:5])
kinds = [e[0] for e in events]
if "completed" not in kinds:
    errors.append("no Completed signal")
else:
    c = kinds.index("completed")
    if events[c][1] != 0:
        errors.append("Completed result %s" % events[c][1])
    ops = [e[1] for e in events[:c] if e[0] == "operation"]
    if "installing" not in ops or ops[-1] != "idle":
        errors.append("Operation changes before Completed: %s" % ops)
print("; ".join(errors) if errors else "ok: %d Progress signals" % len(progress))
sys.exit(1 if errors else 0)
EOF
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="$TL_OUT"
        return 1
}

tl_case busy t_busy
tl_case cancel t_cancel
tl_case ctrl-c-cancels t_ctrl_c
tl_case cancel-when-idle t_cancel_idle
tl_case signals t_signals
