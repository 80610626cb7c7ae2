# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers for the power-loss and fault tests (test-powerloss.sh, test-statusfile-faults.sh),
# on top of tests/lib/sandbox.sh + testlib.sh (source those first).  These tests start and stop
# the daemon hundreds of times, so the helpers avoid processes where bash can do the work and
# never poll where they can wait: starting waits for the bus name with `gdbus wait` (a
# NameOwnerChanged subscription) when glib's gdbus is installed, stopping waits for the exit.

# The PID of the process owning the bus name, or nothing.
pl_owner_pid() {
        local r
        r=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                GetConnectionUnixProcessID s "$SB_NAME" 2>/dev/null)
        [[ $r == "u "* ]] && echo "${r#u }"
}

# pl_start_daemon ARGS...: updated with ARGS (e.g. --boot-slot A or --cmdline FILE); returns
# once THIS process owns the bus name (the bus may not have processed the exit of the previous
# daemon yet, so "the name has an owner" is not enough: then it polls every 10 ms until the
# owner is ours), fails if the daemon exits first.  Sets SB_UPDATED_PID.  When the daemon
# knows --boot-id, this boot's id ($SB/boot_id, see pl_reboot) is passed too.
pl_start_daemon() {
        local i id=
        if [ -z "${PL_HAS_BOOT_ID-}" ]; then
                PL_HAS_BOOT_ID=0
                "$SB/bin/updated" --help 2>&1 | grep -q -- '--boot-id' && PL_HAS_BOOT_ID=1
        fi
        [ "$PL_HAS_BOOT_ID" = 1 ] && [ -s "$SB/boot_id" ] && read -r id <"$SB/boot_id"
        set -- "$@" ${id:+--boot-id "$id"}
        printf '=== updated %s (%(%T)T)\n' "$*" -1 >>"$SB/updated.log"
        "$SB/bin/updated" --config "$SB_CONFIG" "$@" >>"$SB/updated.log" 2>&1 </dev/null &
        SB_UPDATED_PID=$!
        sb_track "$SB_UPDATED_PID"
        [ -n "${PL_GDBUS-}" ] || PL_GDBUS=$(command -v gdbus || echo none)
        [ "$PL_GDBUS" != none ] && "$PL_GDBUS" wait --system --timeout "$SB_WAIT" "$SB_NAME" >/dev/null 2>&1
        for ((i = 0; i < SB_WAIT * 100; i++)); do
                kill -0 "$SB_UPDATED_PID" 2>/dev/null || break
                [ "$(pl_owner_pid)" = "$SB_UPDATED_PID" ] && return 0
                sleep 0.01
        done
        if ! kill -0 "$SB_UPDATED_PID" 2>/dev/null; then
                { wait "$SB_UPDATED_PID"; } 2>/dev/null
                sb_msg "updated exited with $? before owning $SB_NAME; log:"
                tail -n 20 "$SB/updated.log" >&2
        else
                sb_msg "updated did not own $SB_NAME within ${SB_WAIT}s"
        fi
        SB_UPDATED_PID=
        return 1
}

# pl_wait_bounded PID: waits for our child PID to exit, at most $SB_WAIT s (wait -n on it and
# a sleep: no polling).  Returns 0 if it exited, 124 if it is still running.
pl_wait_bounded() {
        local pid=$1 dog rc=0
        sleep "$SB_WAIT" &
        dog=$!
        wait -n "$pid" "$dog" 2>/dev/null
        kill -0 "$pid" 2>/dev/null && ! kill -0 "$dog" 2>/dev/null && rc=124
        # SIGKILL: a fork that has not exec()ed sleep yet would run the test's TERM trap
        kill -KILL "$dog" 2>/dev/null
        wait "$dog" 2>/dev/null
        return $rc
}

# pl_stop_daemon: SIGTERM and wait for the exit; SIGKILL if it is still there after $SB_WAIT s.
# No-op when none runs.
pl_stop_daemon() {
        local pid=$SB_UPDATED_PID
        [ -n "$pid" ] || return 0
        SB_UPDATED_PID=
        if kill -TERM "$pid" 2>/dev/null && ! pl_wait_bounded "$pid"; then
                sb_msg "updated ($pid) ignored SIGTERM for ${SB_WAIT}s, killing it"
                kill -KILL "$pid" 2>/dev/null
        fi
        { wait "$pid"; } 2>/dev/null
        return 0
}

# pl_reap_daemon: the daemon died (SIGKILL): collect it.  Sets PL_DAEMON_RC to its wait status.
pl_reap_daemon() {
        PL_DAEMON_RC=
        [ -n "$SB_UPDATED_PID" ] || return 0
        { wait "$SB_UPDATED_PID"; } 2>/dev/null
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        PL_DAEMON_RC=$?
        SB_UPDATED_PID=
}

# pl_new_boot_id: a fresh boot id in $SB/boot_id (what the kernel makes at each boot).
pl_new_boot_id() {
        local u
        read -r u </proc/sys/kernel/random/uuid || return 1
        printf '%s\n' "${u//-/}" >"$SB/boot_id"
}

# pl_reboot: power-on of the board: U-Boot's script (boot simulator) on the real env, then the
# daemon with the kernel command line the script passed and a new boot id.  Sets SB_BOOTED
# ("" on failure).
pl_reboot() {
        local b
        SB_BOOTED=
        pl_stop_daemon
        pl_new_boot_id || return 1
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        if [ "$b" = none ]; then
                # no attempts left anywhere: the script re-armed the counters and reset the board
                b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        fi
        [ -n "$b" ] && [ "$b" != none ] || { sb_msg "boot simulator found no bootable slot ($b)"; return 1; }
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        SB_BOOTED=$b
        pl_start_daemon --cmdline "$SB/cmdline"
}

# pl_env_dump: the whole U-Boot environment, sorted, one NAME=VALUE a line.
pl_env_dump() { fw_printenv -c "$SB_FW_CONFIG" 2>&1 | LC_ALL=C sort; }

# pl_env_var DUMP NAME: a variable's value from a pl_env_dump text (no fork: called often).
pl_env_var() {
        local line
        while IFS= read -r line; do
                if [[ $line == "$2="* ]]; then
                        printf '%s\n' "${line#*=}"
                        return 0
                fi
        done <<<"$1"
        return 1
}

# pl_json_ok [FILE]: the file (or stdin) is one valid JSON document.
pl_json_ok() {
        "$SB_PY" -c 'import json, sys; json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)' "$@" 2>/dev/null
}

# pl_snapshot NAME / pl_restore NAME: the device's persistent state (env, both slots, status
# file) and the current boot (kernel command line, boot id) saved and put back, as one `cp -a` of a tree laid out
# like $SB.  Leftover temporary files of the status file's atomic replace are removed on
# restore.  The daemon must be stopped.
pl_snapshot() {
        local d=$SB/snap/$1 f
        rm -rf "$d" "$d.no-status" && mkdir -p "$d/${SB_DATA#"$SB"/}" || return 1
        for f in "$SB_ENV" "$SB_SLOT_A" "$SB_SLOT_B" "$SB_DATA/status.json" "$SB/cmdline" "$SB/boot_id"; do
                [[ $f == "$SB"/* ]] || { sb_msg "$f is outside $SB"; return 1; }
                [ -e "$f" ] && { cp -a "$f" "$d/${f#"$SB"/}" || return 1; }
        done
        [ -e "$SB_DATA/status.json" ] || : >"$d.no-status"
        return 0
}
pl_restore() {
        local d=$SB/snap/$1 tmp
        [ -d "$d" ] || { sb_msg "no snapshot $1"; return 1; }
        for tmp in "$SB_DATA"/status.json.tmp*; do
                [ -e "$tmp" ] && { rm -f "$SB_DATA"/status.json.tmp*; break; }
        done
        [ -e "$d.no-status" ] && rm -f "$SB_DATA/status.json"
        cp -a "$d/." "$SB/"
}

# pl_ping: one round trip to the daemon (Peer.Ping): returns once it has processed everything
# sent before; fails if it is gone.
pl_ping() {
        timeout "$SB_WAIT" busctl --system call "$SB_NAME" "$SB_PATH" org.freedesktop.DBus.Peer Ping >/dev/null 2>&1
}

# pl_setup [BOOT]: tl_setup, with the sandbox on a private tmpfs when we may mount one
# (root): these tests fsync() thousands of times, which on a disk file system costs more than
# everything else together.  Durability is not what they measure (a SIGKILL leaves the page
# cache; the order of fsync()s is checked on a trace), so nothing is lost.  Falls back to
# /tmp.  The mount goes away with the sandbox (sb_cleanup) unless SB_KEEP=1 keeps it.
PL_TMPFS='' PL_BASE=''
pl_setup() {
        local base
        tl_require_bins
        base=$(mktemp -d /tmp/update1-pl.XXXXXX) || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
        chmod 0755 "$base"
        if [ "$(id -u)" = 0 ] &&
           mount -t tmpfs -o "size=${PL_TMPFS_SIZE:-256m},mode=0755" update1-test "$base" 2>/dev/null; then
                PL_TMPFS=$base
        fi
        PL_BASE=$base
        sb_init "$base/sb" || { fail "$TL_FILE-setup" "cannot create $base/sb"; exit 1; }
        sb_build_bus_call 2>"$SB/bus-call.err" ||
                { fail "$TL_FILE-setup" "cannot build bus-call: $(head -c 300 "$SB/bus-call.err")"; exit 1; }
        if ! sb_setup_device "${1:-A}" 2>"$SB/setup.err"; then
                fail "$TL_FILE-setup" "sandbox did not come up: $(tail -n 5 "$SB/setup.err" | tr '\n' ' ')"
                exit 1
        fi
}

# sb_cleanup plus the tmpfs: unmounted (after the processes using it are gone) and removed.
eval "$(declare -f sb_cleanup | sed '1s/^sb_cleanup/_pl_sb_cleanup/')"
sb_cleanup() {
        _pl_sb_cleanup
        [ -n "$PL_BASE" ] || return 0
        if [ "${SB_KEEP:-0}" = 1 ]; then
                [ -n "$PL_TMPFS" ] && sb_msg "kept $PL_BASE (a tmpfs: umount it when done)"
                return 0
        fi
        if [ -n "$PL_TMPFS" ] && ! umount "$PL_TMPFS"; then
                sb_msg "cannot unmount $PL_TMPFS"
                return 0
        fi
        rm -rf "$PL_BASE"
        PL_BASE='' PL_TMPFS=''
}
