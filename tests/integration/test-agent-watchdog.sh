#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent keeps systemd's watchdog fed (WatchdogSec= in update-agent.service) while it waits:
# here the server is unreachable, so the agent sits in its back-off between polls.  A real
# NOTIFY_SOCKET (a datagram socket, as systemd provides) receives its sd_notify messages.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "runs the agent as the unprivileged test user"
tl_require_cmd setpriv useradd
if [ ! -x "$UPDATE1_BUILD/update-agent" ]; then
        fail "$TL_FILE" "$UPDATE1_BUILD/update-agent is not built (make all)"
        exit 1
fi
tl_setup A     # private bus + updated: the agent talks to the daemon before the server
cp "$UPDATE1_BUILD/update-agent" "$SB/bin/" && chmod 0755 "$SB/bin/update-agent" || exit 1
mkdir -p "$SB/state" && chown u1test-op "$SB/state"
cat >"$SB/agent.conf" <<CONF
[server]
url=http://127.0.0.1:1
target-token=abc
[agent]
state-directory=$SB/state
CONF
chmod 0644 "$SB/agent.conf"

t_watchdog() {
        local sock=$SB/notify.sock out=$SB/notify.out pid rpid n
        # Receiver: prints every datagram on its own line, exits after 3 WATCHDOG=1 (or 20 s).
        /usr/bin/python3 - "$sock" "$out" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
s.settimeout(20)
n, end = 0, time.time() + 20
with open(sys.argv[2], "w") as f:
    while n < 3 and time.time() < end:
        try:
            d = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            break
        f.write(d.replace("\n", " ") + "\n"); f.flush()
        n += d.split("\n").count("WATCHDOG=1")
PY
        rpid=$!
        sb_track "$rpid"
        for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
        [ -S "$sock" ] || { TL_WHY="notify receiver did not start"; return 1; }
        # WATCHDOG_USEC=600 ms: the agent must ping at least every 300 ms while it backs off.
        # setpriv itself in the background (not the as_user function, whose subshell would be
        # $! and leave the agent running after sb_kill): setpriv and env exec, so $! is the agent.
        setpriv --reuid=u1test-op --regid="$(id -g u1test-op)" --init-groups -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" NOTIFY_SOCKET="$sock" WATCHDOG_USEC=600000 \
                "$SB/bin/update-agent" --config "$SB/agent.conf" >"$SB/agent.log" 2>&1 &
        pid=$!
        sb_track "$pid"
        wait "$rpid"
        sb_kill "$pid"
        n=$(grep -c 'WATCHDOG=1' "$out" 2>/dev/null)
        [ "${n:-0}" -ge 3 ] || { TL_WHY="got ${n:-0} WATCHDOG=1 in 20 s: $(tr '\n' '|' <"$out") log: $(tail -n 3 "$SB/agent.log" | tr '\n' ' ')"; return 1; }
}

tl_case agent-watchdog t_watchdog
