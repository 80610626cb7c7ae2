# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034 # TL_WHY is read by tl_case (tests/lib/testlib.sh)
# Sourced by the tests of the de.pengutronix.rauc face (after testlib.sh and tl_setup): its
# calls through gdbus (RAUC's own client library is GDBus), rauc status as JSON, and the
# Completed signals as RAUC's clients see them.
R=de.pengutronix.rauc
RI=de.pengutronix.rauc.Installer

rcall() { gdbus call --system --dest "$R" --object-path / --method "$RI.$1" "${@:2}"; }
rprop() { gdbus call --system --dest "$R" --object-path / --method org.freedesktop.DBus.Properties.Get "$RI" "$1"; }
rjson() { rauc status --output-format=json --detailed 2>/dev/null | sb_json "$1" 2>&1; }
# RAUC's JSON: "slots" is an array of one-key objects.
rslot() { rjson "[s[\"$1\"] for s in d[\"slots\"] if \"$1\" in s][0]$2"; }
expect_rauc() { local v; v=$(rjson "$1"); expect_eq "$v" "$2" "rauc status $1"; }
expect_rslot() { local v; v=$(rslot "$1" "$2"); expect_eq "$v" "$3" "rauc status slot $1$2"; }
# The slot's first SIZE bytes hold the image.
expect_slot_bytes() { # SLOT_FILE IMAGE
        local want got
        want=$(sha256sum <"$2" | cut -c1-64)
        got=$(head -c "$(stat -c %s "$2")" "$1" | sha256sum | cut -c1-64)
        expect_eq "$got" "$want" "sha256 of $1"
}

# Completed signals, as RAUC's clients see them (gdbus monitor: AddMatch, like GDBus clients).
MON_PID=
start_monitor() {
        gdbus monitor --system --dest "$R" >"$SB/monitor.out" 2>&1 &
        MON_PID=$!
        sb_track "$MON_PID"
        # ready once it prints its first line (the name's owner)
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ -s "$SB/monitor.out" ] && return 0
                sleep 0.02
        done
        TL_WHY="gdbus monitor did not start"
        return 1
}
# wait_completed N: waits until the monitor has seen N Completed signals; prints the last one.
wait_completed() {
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                if [ "$(grep -c "$RI.Completed" "$SB/monitor.out")" -ge "$1" ]; then
                        grep "$RI.Completed" "$SB/monitor.out" | tail -n 1
                        return 0
                fi
                sleep 0.02
        done
        echo "no Completed #$1 in: $(tail -n 5 "$SB/monitor.out")"
        return 1
}
N_COMPLETED=0
expect_completed() { # VALUE
        local c
        N_COMPLETED=$((N_COMPLETED + 1))
        c=$(wait_completed "$N_COMPLETED") || { TL_WHY=$c; return 1; }
        expect_contains "$c" "Completed ($1,)" "Completed signal"
}
