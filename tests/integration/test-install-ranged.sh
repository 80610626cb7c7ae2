#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# InstallFd with "ranged" (daemon/source-ranged.c): the caller serves the bundle in pieces over
# a socket pair, as update-agent does with HTTP Range requests of its own.  A format-2 bundle
# whose v1 is in the booted slot installs as a delta and asks the client for far fewer bytes
# than the bundle; a format-1 bundle streams through the feeder; a client that answers with a
# wrong offset or length, an oversized reply, a changed size, a bad magic, an error status or a
# closed socket is refused by name and slot A still boots; a client that never answers is
# stopped by Cancel.  The client is tests/lib/ranged_client.py; updated is real, on the sandbox
# bus with the shipped policy.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/delta-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

RC="$SB_PY $UPDATE1_TOP/tests/lib/ranged_client.py"
# v1: 8 MiB of random bytes; v2: v1 with 64 KiB changed at three places (as test-install-delta).
delta_v2 "$SB/v1.img" "$SB/v2.img" 8M 1 4 7 || exit 1
sb_bundle "$SB/v2.bundle" 2 "$SB/v2.img" "" "" --format 2 || exit 1
sb_bundle "$SB/v2f1.bundle" 2 "$SB/v2.img" || exit 1
BUNDLE_SIZE=$(stat -c %s "$SB/v2.bundle")

fresh_slots() {
        dd if="$SB/v1.img" of="$SB_SLOT_A" conv=notrunc status=none || return 1
        head -c 16M /dev/urandom >"$SB_SLOT_B"
}

installed_v2() { delta_slot_holds "$SB/v2.img" "$SB_SLOT_B" rootfs.1 && expect_boots B; }

stat_of() { grep -o "\b$1=[0-9]*" "$SB/ranged.stats" | cut -d= -f2; }

# ranged_install BUNDLE MODE [AFTER]: the client in the foreground; returns once updated closed
# the socket (the install is over) and Operation is idle again.  Output in $SB/ranged.out.
ranged_install() {
        rm -f "$SB/ranged.stats"
        $RC "$@" >"$SB/ranged.out" 2>&1
        RANGED_RC=$?
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after the ranged install"; return 1; }
        [ -s "$SB/ranged.stats" ] || { TL_WHY="the client wrote no stats: $(head -c 300 "$SB/ranged.out")"; return 1; }
}

t_delta() {
        local before fetched chunks tables stream
        fresh_slots || return 1
        before=$(delta_lines)
        ranged_install "$SB/v2.bundle" "$SB/ranged.stats" good || return 1
        expect_eq "$RANGED_RC" 0 "bus-call's exit status ($(head -c 300 "$SB/ranged.out"))" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_lines)" $((before + 1)) "delta summaries" || return 1
        [ "$(stat_of bytes)" -le $((BUNDLE_SIZE / 4)) ] ||
                { TL_WHY="the client sent $(stat_of bytes) of $BUNDLE_SIZE bundle bytes"; return 1; }
        # The feeder fetches only what the reader announced (source_ranged_want()): the header,
        # signature and tables, at least its first 64 KiB; then the planned ranges and nothing
        # else.  Without the announcements it sent a 256 KiB piece and a pipe's worth more.
        fetched=$(delta_summary fetched_bytes)
        chunks=$(updatectl bundle info --keyring "$SB/pki/ca.crt" "$SB/v2.bundle" | awk '$1 == "Chunks:" { s += $2 } END { print s + 0 }')
        [ -n "$fetched" ] && [ "$chunks" -gt 0 ] || { TL_WHY="no fetched_bytes or chunk count"; return 1; }
        tables=$(($(sb_payload_offset "$SB/v2.bundle") + chunks * 72))
        stream=$(($(stat_of bytes) - fetched))
        [ "$stream" -le $((tables > 65536 ? tables : 65536)) ] ||
                { TL_WHY="the feeder sent $stream bytes before the ranges; header + signature + tables are $tables"; return 1; }
        tl_diag "ranged delta: $(stat_of requests) requests, $(stat_of bytes) of $BUNDLE_SIZE bytes (stream $stream, header + signature + tables $tables, payload $fetched)"
}

# A format-1 bundle cannot use ranges: the feeder streams all of it, once.
t_stream() {
        local size
        size=$(stat -c %s "$SB/v2f1.bundle")
        fresh_slots || return 1
        ranged_install "$SB/v2f1.bundle" "$SB/ranged.stats" good || return 1
        expect_eq "$RANGED_RC" 0 "bus-call's exit status ($(head -c 300 "$SB/ranged.out"))" || return 1
        installed_v2 || return 1
        expect_eq "$(stat_of bytes)" "$size" "bytes the client sent" || return 1
}

# refused MODE AFTER ERROR TEXT: the install fails with the D-Bus error named ERROR (lib/error-kinds.h) saying
# TEXT (in bus-call's answer, or in LastError when the call was answered already); slot A boots.
refused() {
        local got
        fresh_slots || return 1
        ranged_install "$SB/v2.bundle" "$SB/ranged.stats" "$1" "$2" || return 1
        got="$(cat "$SB/ranged.out") $(sb_get_property LastError)"
        expect_contains "$got" "org.example.Update1.Error.$3" "the error" || return 1
        expect_contains "$got" "$4" "the error" || return 1
        expect_boots A
}

t_no_option() {
        # Without "ranged" a socket is the InvalidArgs it always was.
        expect_error org.freedesktop.DBus.Error.InvalidArgs \
                $SB_PY -c 'import socket, subprocess, sys
a, b = socket.socketpair()
sys.exit(subprocess.call(["bus-call", "InstallFd", "ha{sv}", "fd:%d" % b.fileno(), ""], pass_fds=(b.fileno(),)))' || return 1
        expect_contains "$TL_OUT" "a socket, not a regular file or a pipe" "error" || return 1
        # "ranged" with a file is InvalidArgs; with Install it is not an option.
        expect_error org.freedesktop.DBus.Error.InvalidArgs bus-call InstallFd 'ha{sv}' "$SB/v2.bundle" "ranged=b:true" || return 1
        expect_contains "$TL_OUT" "needs a connected AF_UNIX SOCK_STREAM socket" "error" || return 1
        expect_error org.freedesktop.DBus.Error.InvalidArgs bus-call Install 'sa{sv}' "$SB/v2.bundle" "ranged=b:true" || return 1
        expect_contains "$TL_OUT" "applies to InstallFd only" "error"
}

# Cancel while the daemon waits for a reply that never comes: the wait ends (the install
# completes as cancelled) and the client sees its socket closed.
t_hang_cancel() {
        local pid i t0
        fresh_slots || return 1
        rm -f "$SB/ranged.stats"
        $RC "$SB/v2.bundle" "$SB/ranged.stats" hang 3 >"$SB/ranged.out" 2>&1 &
        pid=$!
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ "$(sb_get_property Operation)" = installing ] && break
                sleep 0.02
        done
        t0=$(date +%s%N)
        expect_ok bus-call Cancel "" || { kill "$pid"; return 1; }
        wait "$pid"
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after the cancel"; return 1; }
        tl_diag "Cancel to idle while updated waited for a reply: $((($(date +%s%N) - t0) / 1000000)) ms"
        expect_contains "$(cat "$SB/ranged.out") $(sb_get_property LastError)" org.example.Update1.Error.Cancelled "the error" || return 1
        expect_boots A
}

tl_case ranged-delta-fetches-few-bytes t_delta
tl_case ranged-format1-streams t_stream
tl_case ranged-needs-socket-and-option t_no_option
tl_case ranged-wrong-offset-refused refused offset 5 InvalidBundle "a reply must match its request"
tl_case ranged-short-reply-refused refused short 5 InvalidBundle "a reply must match its request"
tl_case ranged-oversized-reply-refused refused oversized 5 InvalidBundle "a reply must match its request"
tl_case ranged-size-change-refused refused size 5 InvalidBundle "changed its size"
tl_case ranged-bad-magic-refused refused magic 0 InvalidBundle "malformed reply"
tl_case ranged-error-status-is-io refused status 5 Io "could not fetch bytes"
tl_case ranged-closed-socket-is-io refused close 5 Io "closed its socket"
tl_case ranged-hang-cancelled t_hang_cancel
