# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# A sandboxed Update1 "device": private system-like dbus-daemon with our policy, throw-away
# PKI, file-backed slots, redundant U-Boot env, system.conf and a running updated.
# Sourced by tests/lib/testlib.sh, tests/demo/demo.sh and bench/bench.sh; it defines
# functions only (plus defaults) and never exits on its own.
#
# Conventions: every function returns 0 on success, non-zero on failure after printing the
# reason to stderr.  Everything lives under $SB (sb_init).  Processes started here are
# remembered and killed by sb_cleanup (called from the EXIT trap the caller installs).

: "${UPDATE1_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${UPDATE1_BUILD:=$UPDATE1_TOP/build}"
export UPDATE1_TOP UPDATE1_BUILD

# Debian keeps mkfs.ext4, debugfs, losetup, sfdisk, blkid, useradd, nginx... in /usr/sbin and
# /sbin, which are not on a normal user's PATH (make demo runs as one).  Appended, so the
# caller's own PATH still comes first.
for _sb_dir in /usr/local/sbin /usr/sbin /sbin; do
        case ":$PATH:" in *":$_sb_dir:"*) ;; *) PATH=$PATH:$_sb_dir ;; esac
done
unset _sb_dir
export PATH

SB=${SB:-}
SB_PIDS=()             # every background process we started
SB_LOOPS=()            # loop devices we attached
SB_UPDATED_PID=
SB_COMPATIBLE=${SB_COMPATIBLE:-update1-test-board}
SB_NAME=org.example.Update1
SB_PATH=/org/example/Update1
SB_IFACE=org.example.Update1
SB_WAIT=${SB_WAIT:-10} # seconds any wait-for-state loop may take
SB_PY=${SB_PY:-python3}

sb_msg() { echo "$*" >&2; }

# sb_poll SECONDS CMD...: until CMD succeeds, trying every 50 ms; 1 once SECONDS of wall clock
# have passed (a slow CMD does not stretch the bound), after one last try.  Every wait of the
# tests on the daemon's state goes through here: tests wait on state, never on a fixed sleep.
sb_poll() {
        local end=$((SECONDS + $1))
        shift
        while ((SECONDS < end)); do
                "$@" && return 0
                sleep 0.05
        done
        "$@"
}

# sb_init [DIR]: DIR (emptied) or a fresh mktemp -d under /tmp.  0755 so unprivileged test
# users can reach the bus socket and read bundles.
sb_init() {
        if [ -n "${1:-}" ]; then
                SB=$1
                rm -rf "$SB" && mkdir -p "$SB" || return 1
        else
                SB=$(mktemp -d /tmp/update1-test.XXXXXX) || return 1
        fi
        SB=$(cd "$SB" && pwd)
        chmod 0755 "$SB"
        mkdir -p "$SB/bin"
        chmod 0755 "$SB/bin"
        # updatectl/updated/boot-sim.sh are run from copies in $SB/bin (sb_install_bins).
        export PATH="$SB/bin:$PATH"
        export SB
}

sb_track() { SB_PIDS+=("$1"); }

# True while PID is still a child of this shell (a zombie counts).  bash reaps exited children
# on its own, after which their PID may belong to a stranger: never signal that one.
# Sets SB_CHILD_STATE (if the caller declared it) to the process state: R, S, Z, ...
sb_is_child() {
        local st
        st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        st=${st##*) }                   # after "pid (comm) ": state ppid ...
        set -- $st
        [ "${2:-}" = "$BASHPID" ] || return 1
        [ -z "${SB_CHILD_STATE+x}" ] || SB_CHILD_STATE=$1
}

# True while PID is our child and has not exited yet (not a zombie).
sb_child_running() {
        local SB_CHILD_STATE=
        sb_is_child "$1" && [ "$SB_CHILD_STATE" != Z ]
}

# sb_kill PID: SIGTERM, wait (bounded) until it is gone, then SIGKILL.  Only our own children.
sb_kill() {
        local pid=$1 i
        sb_is_child "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                sb_child_running "$pid" || break
                sleep 0.02
        done
        if sb_child_running "$pid"; then
                sb_msg "process $pid ignored SIGTERM for ${SB_WAIT}s, killing it"
                kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        return 0
}

# sb_monitor_start FILE NAME...: `busctl monitor` of the bus names into FILE (JSON, one message
# a line), returned once it has logged our own ping; its pid in SB_MONITOR_PID.
# sb_monitor_stop FILE: once FILE holds a Completed signal (bounded wait), stops it.
# sb_monitor_check FILE <<'EOF' ... EOF: sb_monitor_stop, then the Python check on stdin, run
# as run runs a command (TL_RC, TL_OUT), with the reading of FILE done for it: signals() yields
# (member, data) of every signal logged, in order; changed(member, data, interface, name) is
# the new value of property NAME if that signal is a PropertiesChanged of INTERFACE, else None.
sb_monitor_start() {
        local file=$1 i
        shift
        busctl --system monitor --json=short "$@" >"$file" 2>"$file.err" &
        SB_MONITOR_PID=$!
        sb_track "$SB_MONITOR_PID"
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                busctl --system call "$SB_NAME" "$SB_PATH" org.freedesktop.DBus.Peer Ping >/dev/null 2>&1
                grep -q Ping "$file" 2>/dev/null && return 0
                sleep 0.05
        done
        sb_msg "busctl monitor did not start: $(cat "$file.err")"
        sb_kill "$SB_MONITOR_PID"
        return 1
}

sb_monitor_stop() {
        local i
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                grep -q '"Completed"' "$1" && break
                sleep 0.05
        done
        sb_kill "$SB_MONITOR_PID"
}

sb_monitor_check() {
        local reader
        sb_monitor_stop "$1"
        reader=$(cat <<'EOF'
import json, sys

def signals():
    for line in open(sys.argv[1]):
        try:
            m = json.loads(line)
        except ValueError:
            continue  # the last line, cut when the monitor was killed
        if m.get("type") == "signal":
            yield m.get("member"), m.get("payload", {}).get("data", [])

def changed(member, data, interface, name):
    if member != "PropertiesChanged" or not data or data[0] != interface:
        return None
    value = data[1].get(name)
    return None if value is None else value["data"]
EOF
)
        run "$SB_PY" -c "$reader
$(cat)" "$1"
}

# Kills every process we started (newest first: daemon before bus), detaches our loop
# devices, removes $SB unless SB_KEEP=1.
sb_cleanup() {
        local i
        for ((i = ${#SB_PIDS[@]} - 1; i >= 0; i--)); do
                sb_kill "${SB_PIDS[i]}"
        done
        SB_PIDS=()
        for i in "${SB_LOOPS[@]}"; do
                partx -d "$i" >/dev/null 2>&1
                losetup -d "$i" 2>/dev/null
        done
        SB_LOOPS=()
        if [ -n "$SB" ] && [ -d "$SB" ]; then
                if [ "${SB_KEEP:-0}" = 1 ]; then
                        sb_msg "kept $SB"
                elif [ "${SB_REMOVE:-1}" = 1 ]; then
                        rm -rf "$SB"
                fi
        fi
}

# Copies the binaries to $SB/bin: a fresh clone may live under a directory that the
# unprivileged test users cannot traverse (e.g. /root).
sb_install_bins() {
        local b
        for b in updated updatectl updatectl-bundle; do
                if [ ! -x "$UPDATE1_BUILD/$b" ]; then
                        sb_msg "$UPDATE1_BUILD/$b not built (run make)"
                        return 1
                fi
                cp "$UPDATE1_BUILD/$b" "$SB/bin/$b" && chmod 0755 "$SB/bin/$b" || return 1
        done
        cp "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB/bin/boot-sim.sh" 2>/dev/null
        chmod 0755 "$SB/bin/boot-sim.sh" 2>/dev/null
        return 0
}

# ---------------------------------------------------------------------------------------
# Users (root only; idempotent; must run BEFORE sb_start_bus: the bus resolves group names
# when it loads its configuration).
#
# Every user or group sb_make_users creates is recorded ("user NAME" / "group NAME" lines in
# $SB_ACCOUNTS_DIR/created, which outlives a crash or a reboot just as the accounts do).  A test
# session (tests/run-tests.sh: make check) calls sb_accounts_begin first and sb_accounts_end
# from its EXIT trap; the last session to end removes what is recorded (sb_remove_test_accounts).
# An account that existed before (group "update" of an installed Update1) is never recorded,
# so never removed.
SB_ACCOUNTS_DIR=${SB_ACCOUNTS_DIR:-/var/lib/update1-tests}
SB_ACCOUNTS_LOCK=${SB_ACCOUNTS_LOCK:-/run/lock/update1-test-accounts.lock}
SB_ACCOUNTS_FD=        # the session's shared lock; keep it from children: cmd {SB_ACCOUNTS_FD}>&-
SB_TEST_ACCOUNTS_RE='^(u1test-[a-z0-9-]+|update)$'   # the only names ever removed

_sb_record_account() { # user|group NAME
        grep -qsx "$1 $2" "$SB_ACCOUNTS_DIR/created" && return 0
        mkdir -p "$SB_ACCOUNTS_DIR" && echo "$1 $2" >>"$SB_ACCOUNTS_DIR/created"
}

# _sb_add KIND NAME CMD...: CMD creates NAME unless it exists; recorded if CMD made it.
# "|| check again": a concurrent test run may have created it in the meantime.  A u1test-* user
# that exists but is not recorded was left by a run from before the record existed: it is
# recorded now (nothing else makes such users).
_sb_add() {
        local kind=$1 name=$2
        shift 2
        if _sb_exists "$kind" "$name"; then
                [[ "$kind $name" != "user u1test-"* ]] || _sb_record_account "$kind" "$name"
                return 0
        fi
        if "$@"; then
                _sb_record_account "$kind" "$name"
                return 0
        fi
        _sb_exists "$kind" "$name"
}
_sb_exists() { # KIND NAME
        if [ "$1" = group ]; then getent group "$2" >/dev/null; else id -u "$2" >/dev/null 2>&1; fi
}

sb_make_users() {
        [ "$(id -u)" = 0 ] || { sb_msg "creating users needs root"; return 1; }
        _sb_add group update groupadd --system update || return 1
        _sb_add user u1test-nobody \
                useradd --system --no-create-home --shell /usr/sbin/nologin u1test-nobody || return 1
        _sb_add user u1test-op \
                useradd --system --no-create-home --shell /usr/sbin/nologin -G update u1test-op || return 1
        id -nG u1test-op | grep -qw update || usermod -aG update u1test-op || return 1
        if id -nG u1test-nobody | grep -qw update; then
                gpasswd -d u1test-nobody update >/dev/null || return 1
        fi
        return 0
}

# Removes the recorded accounts (users first: userdel also removes the user's own group), then
# the record.  Names outside SB_TEST_ACCOUNTS_RE are never touched.
sb_remove_test_accounts() {
        local f=$SB_ACCOUNTS_DIR/created kind k name rc=0
        [ "$(id -u)" = 0 ] && [ -f "$f" ] || return 0
        for kind in user group; do
                while read -r k name; do
                        if [ "$k" != "$kind" ] || ! [[ "$name" =~ $SB_TEST_ACCOUNTS_RE ]]; then
                                continue
                        fi
                        _sb_exists "$kind" "$name" || continue
                        if [ "$kind" = user ]; then
                                userdel "$name" || rc=1
                        else
                                groupdel "$name" || rc=1
                        fi
                done <"$f"
        done
        [ "$rc" = 0 ] || { sb_msg "could not remove every test account listed in $f"; return 1; }
        rm -f "$f"
        rmdir "$SB_ACCOUNTS_DIR" 2>/dev/null
        return 0
}

# sb_accounts_begin: a test session starts (root only, else a no-op): a shared lock on
# SB_ACCOUNTS_LOCK, held in SB_ACCOUNTS_FD until sb_accounts_end.  Waits while another
# session's end removes the accounts.
sb_accounts_begin() {
        [ "$(id -u)" = 0 ] && command -v flock >/dev/null 2>&1 || return 0
        mkdir -p "$(dirname "$SB_ACCOUNTS_LOCK")" 2>/dev/null
        exec {SB_ACCOUNTS_FD}>>"$SB_ACCOUNTS_LOCK" || { SB_ACCOUNTS_FD=; return 1; }
        flock -s -w 120 "$SB_ACCOUNTS_FD"
}

# sb_accounts_end: the session ends; if no other session is running (no other shared lock), the
# test accounts go (sb_remove_test_accounts).
sb_accounts_end() {
        local fd rc=0
        [ -n "$SB_ACCOUNTS_FD" ] || return 0
        exec {SB_ACCOUNTS_FD}>&-
        SB_ACCOUNTS_FD=
        exec {fd}>>"$SB_ACCOUNTS_LOCK" || return 1
        if flock -n -x "$fd"; then
                sb_remove_test_accounts || rc=1
        fi
        exec {fd}>&-
        return "$rc"
}

# as_user USER CMD...: run with USER's uid, primary gid and supplementary groups (the bus
# checks the peer's real groups, so --init-groups matters).  The environment (the bus
# address) is inherited.
as_user() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# ---------------------------------------------------------------------------------------
# Private system-like bus (recipe 01): the distro system.conf minus <user>, <fork>, syslog,
# servicehelper and service dirs; deny-by-default kept; our policy file in its own dir.
sb_write_bus_policy() {
        local src=${SB_POLICY_SRC:-$UPDATE1_TOP/policy/org.example.Update1.conf} dst=$SB/bus/policy.d/org.example.Update1.conf
        [ -f "$src" ] || { sb_msg "missing $src"; return 1; }
        _sb_copy_policy "$src" "$dst" || return 1
        # updated also serves RAUC's D-Bus API (daemon/bus-rauc.c) under its own policy.
        _sb_copy_policy "$UPDATE1_TOP/policy/de.pengutronix.rauc.conf" "$SB/bus/policy.d/de.pengutronix.rauc.conf"
}

_sb_copy_policy() { # SRC DST
        if [ "$(id -u)" = 0 ]; then
                cp "$1" "$2"
        else
                # Not root (demo as a normal user): only root may own the name in the shipped
                # policy, so this copy grants root's rights to the current user instead.
                sed "s/user=\"root\"/user=\"$(id -un)\"/g" "$1" >"$2"
        fi
}

sb_start_bus() {
        local addr
        mkdir -p "$SB/bus/policy.d" "$SB/bus/services"
        chmod 0755 "$SB/bus" "$SB/bus/policy.d" "$SB/bus/services"
        sed -e '/<user>/d' -e '/<fork\/>/d' -e '/<syslog\/>/d' \
            -e '/<servicehelper>/d' -e '/<standard_system_servicedirs\/>/d' \
            -e "s|<pidfile>.*</pidfile>|<pidfile>$SB/bus/pid</pidfile>|" \
            -e "s|<listen>.*</listen>|<listen>unix:path=$SB/bus/system_bus_socket</listen>|" \
            -e 's|<includedir>system.d</includedir>||' \
            -e "s|<policy context=\"default\">|<servicedir>$SB/bus/services</servicedir>\n&|" \
            -e "s|<includedir>/etc/dbus-1/system.d</includedir>|<includedir>$SB/bus/policy.d</includedir>|" \
            -e '/<include ignore_missing="yes">\/etc\/dbus-1\/system/d' \
            -e '/selinux_root_relative/d' \
            /usr/share/dbus-1/system.conf >"$SB/bus/system.conf" || return 1
        sb_write_bus_policy || return 1
        rm -f "$SB/bus/addr"
        mkfifo "$SB/bus/addr"
        # The daemon prints its address once it listens: reading it is the readiness signal.
        dbus-daemon --config-file="$SB/bus/system.conf" --nofork --nopidfile \
                --print-address=3 3>"$SB/bus/addr" 2>"$SB/bus/bus.log" </dev/null &
        SB_BUS_PID=$!    # a restart of the bus (test-agent-bus.sh): sb_kill it, sb_start_bus again
        sb_track "$SB_BUS_PID"
        if ! read -r -t "$SB_WAIT" addr <"$SB/bus/addr" || [ -z "$addr" ]; then
                sb_msg "dbus-daemon did not start: $(cat "$SB/bus/bus.log")"
                return 1
        fi
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$SB/bus/system_bus_socket"
        return 0
}

# Re-reads the bus configuration (after changing files in policy.d).  The reply comes after
# the reload is done.
sb_reload_bus() {
        dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.ReloadConfig >/dev/null
}

# sb_enable_activation [ARGS...]: D-Bus activation of updated on the private bus (after
# sb_start_bus), as dbus/org.example.Update1.service.in does through systemd on a device: the
# first call to the name starts "$SB/bin/updated --config $SB_CONFIG ARGS", logging to
# $SB/updated.log.  The bus config has no <servicehelper> (sb_start_bus drops it: the setuid
# dbus-daemon-launch-helper only reads /usr/share/dbus-1/system-services), so dbus-daemon
# forks and execs the Exec= line itself, with its own environment: the wrapper sets the bus
# address (bash builtins only, no fork: activation latency is measured through it).
# $SB/activation.args holds ARGS, one per line (sb_set_activation_args changes it).
# The activated daemon is the bus's child, not ours: sb_updated_pid finds it.
sb_enable_activation() {
        sb_set_activation_args "$@" || return 1
        cat >"$SB/bin/updated-activated" <<EOF || return 1
#!/bin/bash
export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS
mapfile -t args <"$SB/activation.args"
printf '=== updated (activated) %s (%(%T)T)\n' "\${args[*]}" -1 >>"$SB/updated.log"
exec ${UPDATE1_DAEMON_WRAPPER:-} "$SB/bin/updated" --config "$SB_CONFIG" "\${args[@]}" >>"$SB/updated.log" 2>&1 </dev/null
EOF
        chmod 0755 "$SB/bin/updated-activated"
        printf '[D-BUS Service]\nName=%s\nExec=%s\nUser=root\n' "$SB_NAME" "$SB/bin/updated-activated" \
                >"$SB/bus/services/$SB_NAME.service" || return 1
        sb_reload_bus
}

sb_set_activation_args() {
        if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi >"$SB/activation.args"
}

# sb_updated_pid: the PID of whoever owns the name now (nothing and 1 if nobody does).
sb_updated_pid() {
        local out
        out=$(dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.GetConnectionUnixProcessID "string:$SB_NAME" 2>/dev/null) || return 1
        # shellcheck disable=SC2086 # "uint32 PID"
        set -- $out
        [ -n "${2:-}" ] && echo "$2"
}

# sb_wait_exit PID SECONDS: waits on the process's pidfd (any process, not only our children)
# until it exits; 1 if it still runs after SECONDS.
sb_wait_exit() {
        "$SB_PY" - "$1" "$2" <<'EOF'
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
sys.exit(0 if select.select([fd], [], [], float(sys.argv[2]))[0] else 1)
EOF
}

sb_name_has_owner() {
        dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.NameHasOwner "string:$SB_NAME" 2>/dev/null | grep -q true
}

# ---------------------------------------------------------------------------------------
# PKI: $1/ca.{crt,key} root, $1/signer.{crt,key} code-signing leaf (CA:FALSE, EKU codeSigning);
# $1/inter-ca.{crt,key} intermediate under the root and $1/inter-signer.{crt,key} below it;
# $1/evil-ca + $1/evil-signer: an unrelated root for negative tests.  EC P-256.
sb_make_pki() {
        local d=$1
        mkdir -p "$d" || return 1
        cat >"$d/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_signer]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
        _sb_root() { # name CN
                openssl req -x509 -new -config "$d/openssl.cnf" -extensions v3_ca \
                        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
                        -keyout "$d/$1.key" -out "$d/$1.crt" -subj "/O=Update1 Test/CN=$2" 2>"$d/err" ||
                        { cat "$d/err" >&2; return 1; }
        }
        _sb_leaf() { # name CN issuer extensions
                openssl req -new -config "$d/openssl.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
                        -nodes -keyout "$d/$1.key" -out "$d/$1.csr" -subj "/O=Update1 Test/CN=$2" 2>"$d/err" &&
                openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.crt" -CAkey "$d/$3.key" \
                        -set_serial "0x$(openssl rand -hex 8)" -days 3650 \
                        -extfile "$d/openssl.cnf" -extensions "$4" -out "$d/$1.crt" 2>"$d/err" ||
                        { cat "$d/err" >&2; return 1; }
                rm -f "$d/$1.csr"
        }
        _sb_root ca "Update1 Test Root CA" &&
        _sb_leaf signer "Update1 Test Signer" ca v3_signer &&
        _sb_leaf inter-ca "Update1 Test Intermediate CA" ca v3_inter &&
        _sb_leaf inter-signer "Update1 Test Intermediate Signer" inter-ca v3_signer &&
        _sb_root evil-ca "Evil Root CA" &&
        _sb_leaf evil-signer "Evil Signer" evil-ca v3_signer || return 1
        rm -f "$d/err"
        chmod 0644 "$d"/*.crt "$d"/*.key   # throw-away keys; readable by test users
        chmod 0755 "$d"
}

# ---------------------------------------------------------------------------------------
# Slots: $1/slot-a.img and $1/slot-b.img of SIZE (truncate syntax).  Slot A gets 1 MiB of
# random "booted system" at its start so tests can prove it is never written.
sb_make_slots() {
        local d=$1 size=$2
        mkdir -p "$d" || return 1
        rm -f "$d/slot-a.img" "$d/slot-b.img"
        truncate -s "$size" "$d/slot-a.img" "$d/slot-b.img" || return 1
        head -c 1M /dev/urandom | dd of="$d/slot-a.img" conv=notrunc status=none || return 1
        SB_SLOT_A=$d/slot-a.img
        SB_SLOT_B=$d/slot-b.img
}

# Redundant U-Boot env (two 0x4000 copies in one file) + fw_env.config (recipe 02), and the
# env lock ([uboot] lock-file=) in $1/lock, world-writable and sticky like /run/lock, so the
# daemon's lock file is the sandbox's own (the host's /var/lock/fw_printenv.lock may belong to
# root while the demo runs as a user) and tests can play the local attacker there.
sb_make_env() {
        local d=$1
        mkdir -p "$d" "$d/lock" && chmod 1777 "$d/lock" || return 1
        SB_LOCK_FILE=$d/lock/fw_printenv.lock
        printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' >"$d/env.txt"
        mkenvimage -r -s 0x4000 -o "$d/env-copy.bin" "$d/env.txt" || return 1
        cat "$d/env-copy.bin" "$d/env-copy.bin" >"$d/uboot.env"
        rm -f "$d/env-copy.bin"
        printf '%s 0x0000 0x4000 0x4000 1\n%s 0x4000 0x4000 0x4000 1\n' \
                "$d/uboot.env" "$d/uboot.env" >"$d/fw_env.config"
        SB_ENV=$d/uboot.env
        SB_FW_CONFIG=$d/fw_env.config
}

sb_env_get() { fw_printenv -c "$SB_FW_CONFIG" -n "$1" 2>/dev/null; }

# What the boot script does at the next power-on: picks, decrements, saves; prints bootname.
sb_boot_sim() { bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG"; }

# Same, on a copy of the env: what U-Boot WOULD boot, without touching the real env.
sb_boot_peek() {
        local d
        d=$(mktemp -d "$SB/peek.XXXXXX") || return 1
        cp "$SB_ENV" "$d/uboot.env"
        printf '%s 0x0000 0x4000 0x4000 1\n%s 0x4000 0x4000 0x4000 1\n' \
                "$d/uboot.env" "$d/uboot.env" >"$d/fw_env.config"
        bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$d/fw_env.config"
        local rc=$?
        rm -rf "$d"
        return $rc
}

# ---------------------------------------------------------------------------------------
# sb_write_config FILE [EXTRA...]: system.conf for the sandbox (sb_start_updated uses
# $SB_CONFIG, which sb_setup_device points at $SB/system.conf).  EXTRA lines are appended
# (e.g. a third slot section).  Uses SB_COMPATIBLE, SB_SLOT_A/B, SB_SLOT_TYPE, SB_FW_CONFIG.
sb_write_config() {
        local f=$1
        shift
        SB_DATA=${SB_DATA:-$SB/data}
        cat >"$f" <<EOF
# Update1 sandbox configuration (generated by tests/lib/sandbox.sh)
[system]
compatible=$SB_COMPATIBLE
bootloader=uboot
data-directory=$SB_DATA
# 0: the daemon never exits on idle (tests start it directly, nothing would bring it back);
# test-idle.sh and bench/bench-idle.sh set SB_IDLE_TIMEOUT and use sb_enable_activation.
idle-timeout=${SB_IDLE_TIMEOUT:-0}

[keyring]
path=$SB/pki/ca.crt

[uboot]
fw-env-config=$SB_FW_CONFIG
${SB_LOCK_FILE:+lock-file=$SB_LOCK_FILE}

[slot.rootfs.0]
device=$SB_SLOT_A
type=${SB_SLOT_TYPE:-raw}
bootname=A

[slot.rootfs.1]
device=$SB_SLOT_B
type=${SB_SLOT_TYPE:-raw}
bootname=B
EOF
        local l
        for l in "$@"; do
                printf '%s\n' "$l" >>"$f"
        done
}

# ---------------------------------------------------------------------------------------
# sb_start_updated BOOTNAME [ARGS...]: the real daemon, booted in BOOTNAME (--boot-slot, the
# sandbox override), logging to $SB/updated.log.  Returns once the daemon owns its bus name;
# fails if it exits first or after $SB_WAIT seconds.
sb_start_updated() {
        local boot=$1
        shift
        sb_run_updated --boot-slot "$boot" "$@"
}

# sb_run_updated ARGS...: same with explicit arguments (e.g. --cmdline FILE).
sb_run_updated() {
        local i
        echo "=== updated $* ($(date +%T.%N))" >>"$SB/updated.log"
        # UPDATE1_DAEMON_WRAPPER: a command line prefixed to updated's (word-split), e.g. valgrind
        # (tests/valgrind/run.sh); the PID stays the daemon's.
        ${UPDATE1_DAEMON_WRAPPER:-} "$SB/bin/updated" --config "$SB_CONFIG" "$@" >>"$SB/updated.log" 2>&1 </dev/null &
        SB_UPDATED_PID=$!
        sb_track "$SB_UPDATED_PID"
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                if ! kill -0 "$SB_UPDATED_PID" 2>/dev/null; then
                        wait "$SB_UPDATED_PID"
                        sb_msg "updated exited with $? before owning $SB_NAME; log:"
                        tail -n 20 "$SB/updated.log" >&2
                        SB_UPDATED_PID=
                        return 1
                fi
                sb_name_has_owner && return 0
                sleep 0.05
        done
        sb_msg "updated did not own $SB_NAME within ${SB_WAIT}s"
        return 1
}

sb_stop_updated() {
        [ -n "$SB_UPDATED_PID" ] || return 0
        sb_kill "$SB_UPDATED_PID"
        SB_UPDATED_PID=
}

# Simulated reboot: stop the daemon, run the boot simulator (U-Boot's script on the real env),
# start the daemon with the kernel command line the script passed (--cmdline, as on a device)
# and a new boot id (--boot-id: the daemon tells a reboot from a restart by the kernel's boot
# id, which a simulated reboot does not change).  Sets SB_BOOTED to the bootname.  (Not in
# $(...): the daemon must stay our child.)
sb_reboot() {
        local b
        SB_BOOTED=
        sb_stop_updated
        b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        if [ "$b" = none ]; then
                # no attempts left: the script re-armed the counters and reset the board
                b=$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline") || return 1
        fi
        [ -n "$b" ] && [ "$b" != none ] || { sb_msg "boot simulator found no bootable slot ($b)"; return 1; }
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        SB_BOOTED=$b
        sb_run_updated --cmdline "$SB/cmdline" --boot-id "$(cat /proc/sys/kernel/random/uuid)"
}

# Reads a property: prints its value (busctl's "s \"x\"" → x).
sb_get_property() {
        busctl --system get-property "$SB_NAME" "$SB_PATH" "$SB_IFACE" "$1" 2>/dev/null |
                sed -e 's/^[a-z()]* //' -e 's/^"\(.*\)"$/\1/'
}

# sb_wait_property NAME VALUE: waits (bounded) until the property has that value.
_sb_property_is() { _SB_LAST=$(sb_get_property "$1"); [ "$_SB_LAST" = "$2" ]; }
sb_wait_property() {
        sb_poll "$SB_WAIT" _sb_property_is "$1" "$2" && return 0
        sb_msg "property $1 is '$_SB_LAST', not '$2' after ${SB_WAIT}s"
        return 1
}

# ---------------------------------------------------------------------------------------
# Images and bundles.
# sb_make_ext4 OUT SIZE VERSION: ext4 image (mkfs.ext4 -d, no root needed) with /etc/os-release.
sb_make_ext4() {
        local out=$1 size=$2 version=$3 root
        root=$(mktemp -d "$SB/rootfs.XXXXXX") || return 1
        mkdir -p "$root/etc" "$root/usr/bin" "$root/var/lib"
        printf 'NAME="Update1 Sandbox OS"\nID=update1-sandbox\nVERSION="%s"\nVERSION_ID=%s\n' \
                "$version" "$version" >"$root/etc/os-release"
        echo "update1-sandbox" >"$root/etc/hostname"
        printf '#!/bin/sh\necho "hello from version %s"\n' "$version" >"$root/usr/bin/hello"
        chmod 0755 "$root/usr/bin/hello"
        head -c 512K /dev/urandom >"$root/var/lib/blob"
        rm -f "$out"
        mkfs.ext4 -q -F -L rootfs -d "$root" "$out" "$size" >/dev/null 2>"$SB/mkfs.err" ||
                { cat "$SB/mkfs.err" >&2; rm -rf "$root"; return 1; }
        rm -rf "$root"
}

# sb_make_random OUT SIZE: raw image of random bytes (incompressible: one stored chunk per
# chunk-size, so the bundle size is predictable).
sb_make_random() {
        head -c "$2" /dev/urandom >"$1"
}

# sb_bundle OUT VERSION IMAGE [COMPATIBLE [SIGNER-NAME] [EXTRA ARGS...]]: signed bundle via the
# real `updatectl bundle create`.  SIGNER-NAME picks $SB/pki/NAME.{crt,key} (default signer).
sb_bundle() {
        local out=$1 version=$2 image=$3 compat=${4:-$SB_COMPATIBLE} signer=${5:-signer}
        shift 3
        [ $# -gt 0 ] && shift
        [ $# -gt 0 ] && shift
        rm -f "$out"
        updatectl bundle create --cert "$SB/pki/$signer.crt" --key "$SB/pki/$signer.key" \
                --compatible "$compat" --version "$version" --image "rootfs=$image" "$@" \
                -o "$out" >"$SB/bundle-create.log" 2>&1 || { cat "$SB/bundle-create.log" >&2; return 1; }
        chmod 0644 "$out"
}

# Offset where the payload (first stored chunk) starts: 32-byte header + signature size
# (u64 LE at offset 16; see lib/bundle.h).
sb_payload_offset() {
        local s
        s=$(od -An -tu8 -j16 -N8 "$1" | tr -d ' ')
        echo $((32 + s))
}

# sb_flip_byte FILE OFFSET: inverts one byte in place.
sb_flip_byte() {
        "$SB_PY" - "$1" "$2" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xFF]))
EOF
}

# sb_json EXPR: reads JSON on stdin and prints EXPR evaluated with d = the document
# (strings raw, other values as JSON).  Example: updatectl status --json | sb_json 'd["booted"]'
sb_json() {
        "$SB_PY" -c '
import json, sys
d = json.load(sys.stdin)
def slot(name):
    return next(s for s in d["slots"] if s["name"] == name)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# ---------------------------------------------------------------------------------------
# nginx-light as an unprivileged process on a free 127.0.0.1 port serving DIR (recipe 04).
# Sets SB_HTTP_URL (no trailing slash).
sb_start_nginx() {
        local dir=$1 ng=$SB/nginx port i pid code
        mkdir -p "$ng/tmp"
        chmod 0755 "$ng"
        for _ in 1 2 3 4 5; do
                port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
                cat >"$ng/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 64; }
http {
  access_log $ng/access.log;
  # bench/bench-delta.sh counts bytes and HTTP ranges per install from this one.
  log_format u1ranges '\$status \$body_bytes_sent \$uri "\$http_range"';
  access_log $ng/ranges.log u1ranges;
  # What each request's If-Range said (test-install-delta.sh).
  log_format u1ifrange '\$uri "\$http_range" "\$http_if_range" "\$sent_http_etag"';
  access_log $ng/ifrange.log u1ifrange;
  client_body_temp_path $ng/tmp/body; proxy_temp_path $ng/tmp/proxy;
  fastcgi_temp_path $ng/tmp/fcgi; uwsgi_temp_path $ng/tmp/uwsgi; scgi_temp_path $ng/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:$port;
    root $dir;
  }
}
EOF
                if [ "$(id -u)" = 0 ]; then
                        # No "user" directive: a root master would need group "nobody", which
                        # Debian lacks.  Run the whole nginx as nobody instead.
                        chown -R nobody "$ng"
                        setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
                                nginx -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" </dev/null &
                else
                        nginx -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" </dev/null &
                fi
                pid=$!
                sb_track "$pid"
                for ((i = 0; i < SB_WAIT * 20; i++)); do
                        kill -0 "$pid" 2>/dev/null || break
                        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)
                        if [ -n "$code" ] && [ "$code" != 000 ]; then
                                # shellcheck disable=SC2034 # read by the test scripts that source this file
                                SB_HTTP_URL=http://127.0.0.1:$port
                                return 0
                        fi
                        sleep 0.05
                done
                sb_kill "$pid"
                grep -q 'Address already in use' "$ng/error.log" 2>/dev/null || break
        done
        sb_msg "nginx did not start: $(tail -n 5 "$ng/error.log" 2>/dev/null)"
        return 1
}

# ---------------------------------------------------------------------------------------
# sb_setup_device [BOOT]: the usual sandbox in one call: PKI, 16 MiB slots, env, config,
# binaries, bus, daemon booted in BOOT (default A).  Users must exist before (sb_make_users).
sb_setup_device() {
        local boot=${1:-A}
        sb_install_bins &&
        sb_make_pki "$SB/pki" &&
        sb_make_slots "$SB" "${SB_SLOT_SIZE:-16M}" &&
        sb_make_env "$SB" &&
        sb_write_config "$SB/system.conf" &&
        SB_CONFIG=$SB/system.conf &&
        sb_start_bus &&
        sb_start_updated "$boot"
}
