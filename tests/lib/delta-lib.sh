#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the delta install tests (test-install-delta, test-install-ranged, test-install-patch,
# test-agent-delta, test-agent-awsiot) share, sourced after testlib.sh (and agent-lib.sh) with
# the sandbox set up: the image pair and the reading of updated's delta summary.

# delta_v2 V1 V2 SIZE MIB...: V1 SIZE random bytes (incompressible, so stored bytes are raw
# bytes and the byte counts of the tests mean what they say), unless it exists; V2 = V1 with
# 64 KiB of new random bytes at each MIB offset.
delta_v2() {
        local v1=$1 v2=$2 size=$3 off
        shift 3
        [ -e "$v1" ] || sb_make_random "$v1" "$size" || return 1
        cp "$v1" "$v2" || return 1
        for off in "$@"; do
                head -c 64K /dev/urandom | dd of="$v2" bs=1M seek="$off" conv=notrunc status=none || return 1
        done
}

# delta_summary FIELD: FIELD=N of the last install's "Delta install of image rootfs done:" line.
delta_summary() {
        grep 'Delta install of image rootfs done:' "$SB/updated.log" | tail -n 1 | grep -o "\b$1=[0-9]*" | cut -d= -f2
}

# delta_lines: how many delta installs updated has logged.
delta_lines() { grep -c 'Delta install of image rootfs done:' "$SB/updated.log"; }

# delta_slot_holds IMAGE SLOT_FILE SLOT_NAME: the slot's first bytes are IMAGE and its record
# says so (status ok, the image's sha256).
delta_slot_holds() {
        # shellcheck disable=SC2034 # read by tl_case (tests/lib/testlib.sh)
        cmp -s -n "$(stat -c %s "$1")" "$1" "$2" || { TL_WHY="$3 does not hold $(basename "$1")"; return 1; }
        expect_slot "$3" '["status"]' ok || return 1
        expect_slot "$3" '["checksum"]["sha256"]' "$(sha256sum <"$1" | cut -c1-64)"
}

# start_gate [ARG...]: tests/lib/gate_http.py (ARGs passed on) serving $W, its gate $SB/gate
# closed (ranged answers wait until the file exists); sets GATE_URL.
start_gate() {
        local i port
        rm -f "$SB/gate" "$SB/gate.port"
        (
                trap - EXIT INT TERM
                exec "$SB_PY" "$UPDATE1_TOP/tests/lib/gate_http.py" "$W" "$SB/gate" "$SB/gate.port" "$@" 2>"$SB/gate.log" </dev/null
        ) &
        sb_track $!
        for ((i = 0; i < SB_WAIT * 50; i++)); do [ -s "$SB/gate.port" ] && break; sleep 0.02; done
        # shellcheck disable=SC2034 # read by tl_case (tests/lib/testlib.sh)
        port=$(cat "$SB/gate.port" 2>/dev/null) || { TL_WHY="gate_http.py did not start: $(cat "$SB/gate.log")"; return 1; }
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        GATE_URL=http://127.0.0.1:$port
}
