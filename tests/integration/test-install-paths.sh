#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make install` honours the install locations everywhere (docs/installation.md): the units,
# the D-Bus activation file and the tmpfiles.d snippet are generated from their *.in with the
# same PREFIX/BINDIR/LIBEXECDIR/DATADIR/SYSCONFDIR/LOCALSTATEDIR the programs are compiled with.
# Two trees, each built in its own BUILD directory and installed into its own DESTDIR:
#   usr    PREFIX=/usr (the defaults): today's paths, byte for byte;
#   local  PREFIX=/usr/local SYSCONFDIR=/usr/local/etc LOCALSTATEDIR=/usr/local/var: every
#          path moved, in the units and in the compiled-in defaults, none left behind.
# In each tree, every unit's ExecStart= and Documentation= is an installed file, and the
# programs' defaults (--help, and the strings in the binaries) are the paths the units name.
# No root, no bus.  Alone: its two builds take every CPU (make -j$(nproc)).
# run-tests: serial
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd make sed tr

WORK=$(mktemp -d /tmp/update1-install-paths.XXXXXX) || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
TL_ON_EXIT+=("rm -rf '$WORK'")

UNITS="lib/systemd/system/updated.service lib/systemd/system/update-health.service
       lib/systemd/system/update-agent.service"

# install_tree NAME MAKEVAR=VALUE...: a clean build in $WORK/build-NAME, installed into
# $WORK/NAME.  Not the suite's own build: that one must not be rebuilt under the running tests.
# A plain build with only the given locations: `make check SANITIZE=1 PREFIX=...` hands its
# command-line variables down through MAKEFLAGS and the environment.
install_tree() {
        local name=$1
        shift
        env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u SANITIZE -u BUILD -u DESTDIR -u PREFIX \
                -u BINDIR -u LIBEXECDIR -u DATADIR -u SYSCONFDIR -u LOCALSTATEDIR \
                make -C "$UPDATE1_TOP" --no-print-directory \
                -j"$(nproc)" BUILD="$WORK/build-$name" DESTDIR="$WORK/$name" "$@" install \
                >"$WORK/$name.log" 2>&1
}

# Both builds at once.
install_tree usr PREFIX=/usr &
pid_usr=$!
install_tree local PREFIX=/usr/local SYSCONFDIR=/usr/local/etc LOCALSTATEDIR=/usr/local/var &
pid_local=$!
wait "$pid_usr"; rc_usr=$?
wait "$pid_local"; rc_local=$?

t_installed() { # NAME RC
        [ "$2" = 0 ] && return 0
        TL_WHY="make install ($1) exited $2: $(tail -n 8 "$WORK/$1.log" | tr '\n' ' ' | cut -c1-400)"
        return 1
}
tl_case install-usr t_installed usr "$rc_usr"
tl_case install-local t_installed local "$rc_local"
[ "$rc_usr" = 0 ] && [ "$rc_local" = 0 ] || exit 1

# unit_key FILE KEY: the last value of KEY= in FILE (comments skipped).
unit_key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# has_string BINARY STRING: STRING is one of the binary's NUL-terminated strings, exactly.
has_string() { tr '\0' '\n' <"$1" | grep -qFx -- "$2"; }

# The paths that move with the install locations, by the variable they derive from.
# paths PREFIX SYSCONFDIR LOCALSTATEDIR: "what=path" lines.
paths() {
        cat <<EOF
updated=$1/libexec/update1/updated
updatectl=$1/bin/updatectl
update-health=$1/bin/update-health
update-agent=$1/bin/update-agent
activation=$1/share/dbus-1/system-services/org.example.Update1.service
interface=$1/share/dbus-1/interfaces/org.example.Update1.xml
policy=$1/share/dbus-1/system.d/org.example.Update1.conf
tmpfiles=$1/lib/tmpfiles.d/update1.conf
health-usr=$1/lib/update-health
system-conf=$2/update1/system.conf
agent-conf=$2/update1/agent.conf
agent-hooks=$2/update1/agent-hooks
health-etc=$2/update-health
data=$3/lib/update1
health-data=$3/lib/update1/health
agent-state=$3/lib/update-agent
EOF
}
path() { paths "$P" "$E" "$V" | sed -n "s|^$1=||p"; }

# Select a tree: D (DESTDIR), P, E, V (PREFIX, SYSCONFDIR, LOCALSTATEDIR).
use_tree() {
        case $1 in
        usr) D=$WORK/usr P=/usr E=/etc V=/var ;;
        local) D=$WORK/local P=/usr/local E=/usr/local/etc V=/usr/local/var ;;
        esac
}

t_files() {
        local w f
        for w in updated updatectl update-health update-agent; do
                f=$D$(path "$w")
                [ -x "$f" ] || { TL_WHY="$f is not an installed executable"; return 1; }
        done
        for f in activation interface policy tmpfiles; do
                [ -f "$D$(path $f)" ] || { TL_WHY="$D$(path $f) not installed"; return 1; }
        done
        for f in $UNITS; do
                [ -f "$D$P/$f" ] || { TL_WHY="$D$P/$f not installed"; return 1; }
        done
        [ -x "$D$(path health-usr)/required.d/10-updated-answers" ] ||
                { TL_WHY="no $D$(path health-usr)/required.d/10-updated-answers"; return 1; }
        [ -f "$D$(path system-conf).example" ] || { TL_WHY="no $D$(path system-conf).example"; return 1; }
        return 0
}

# Every unit starts an installed program and documents itself with an installed file; no
# placeholder is left; the activation file names the unit.
t_units_point_at_installed() {
        local u f x doc
        for u in $UNITS; do
                f=$D$P/$u
                if grep -n '@[A-Z][A-Z_]*@' "$f"; then
                        TL_WHY="$f: placeholder left: $(grep '@[A-Z][A-Z_]*@' "$f" | head -n 1)"
                        return 1
                fi
                x=$(unit_key "$f" ExecStart)
                [ -x "$D$x" ] || { TL_WHY="$(basename "$f"): ExecStart=$x is not installed ($D$x)"; return 1; }
                doc=$(unit_key "$f" Documentation)
                [ -f "$D${doc#file://}" ] || { TL_WHY="$(basename "$f"): Documentation=$doc is not installed"; return 1; }
        done
        f=$D$(path activation)
        grep -qx 'SystemdService=updated.service' "$f" || { TL_WHY="$f: no SystemdService=updated.service"; return 1; }
        grep -qF "Installed to $P/share/dbus-1/system-services/." "$f" ||
                { TL_WHY="$f does not say where it is installed ($P/share/dbus-1/system-services/)"; return 1; }
        return 0
}

# The programs' compiled-in defaults are the paths the units and tmpfiles.d name.
t_defaults_agree() {
        local f=$D$P/lib/systemd/system out
        out=$("$D$(path updated)" --help 2>&1)
        expect_contains "$out" "(default $(path system-conf))" "updated --help" || return 1
        expect_eq "$(unit_key "$f/updated.service" ConditionPathExists)" "$(path system-conf)" \
                "updated.service ConditionPathExists=" || return 1
        expect_eq "$(sed -n 's/^ReadWritePaths=//p' "$f/updated.service" | head -n 1 | cut -d' ' -f1)" \
                "$(path data)" "updated.service ReadWritePaths= (data directory)" || return 1
        has_string "$D$(path updated)" "$(path data)" ||
                { TL_WHY="updated: no compiled-in data directory $(path data)"; return 1; }
        out=$("$D$(path update-agent)" --help 2>&1)
        expect_contains "$out" "(default $(path agent-conf))" "update-agent --help" || return 1
        expect_eq "$(unit_key "$f/update-agent.service" ConditionPathExists)" "$(path agent-conf)" \
                "update-agent.service ConditionPathExists=" || return 1
        has_string "$D$(path update-agent)" "$(path agent-state)" ||
                { TL_WHY="update-agent: no compiled-in state directory $(path agent-state)"; return 1; }
        has_string "$D$(path update-agent)" "$(path agent-hooks)" ||
                { TL_WHY="update-agent: no compiled-in hook directory $(path agent-hooks)"; return 1; }
        out=$("$D$(path update-health)" --help 2>&1)
        expect_contains "$out" "(default $(path health-usr))" "update-health --help" || return 1
        expect_contains "$out" "(default $(path health-etc))" "update-health --help" || return 1
        expect_contains "$out" "(default $(path health-data))" "update-health --help" || return 1
        out=$("$D$(path updatectl)" bundle info --help 2>&1)
        expect_contains "$out" "$(path system-conf)" "updatectl bundle info --help" || return 1
        grep -qx "d $(path data) 0755 root root -" "$D$(path tmpfiles)" ||
                { TL_WHY="tmpfiles.d does not make $(path data)"; return 1; }
        grep -qx "d $(path health-data) 0755 update-health update -" "$D$(path tmpfiles)" ||
                { TL_WHY="tmpfiles.d does not make $(path health-data)"; return 1; }
        return 0
}

for tree in usr local; do
        use_tree "$tree"
        tl_case "$tree-files" t_files
        tl_case "$tree-units-point-at-installed-files" t_units_point_at_installed
        tl_case "$tree-defaults-agree-with-units" t_defaults_agree
done

# PREFIX=/usr: each generated file is its template with today's values, byte for byte.
t_usr_is_today() {
        local pair in out
        use_tree usr
        for pair in packaging/systemd/updated.service.in:$P/lib/systemd/system/updated.service \
                packaging/systemd/update-health.service.in:$P/lib/systemd/system/update-health.service \
                packaging/systemd/update-agent.service.in:$P/lib/systemd/system/update-agent.service \
                dbus/org.example.Update1.service.in:$(path activation) \
                packaging/tmpfiles.d/update1.conf.in:$(path tmpfiles); do
                in=$UPDATE1_TOP/${pair%%:*} out=$D${pair#*:}
                if ! cmp -s <(sed -e 's|@PREFIX@|/usr|g' -e 's|@BINDIR@|/usr/bin|g' \
                        -e 's|@LIBEXECDIR@|/usr/libexec|g' -e 's|@DATADIR@|/usr/share|g' \
                        -e 's|@SYSCONFDIR@|/etc|g' -e 's|@LOCALSTATEDIR@|/var|g' "$in") "$out"; then
                        TL_WHY="$out differs from ${pair%%:*} with the /usr, /etc, /var paths"
                        return 1
                fi
        done
        return 0
}
tl_case usr-units-are-todays t_usr_is_today

# PREFIX=/usr/local ...: none of the default tree's paths is left, in the units or the binaries
# (what stays is not ours: /var/lock and /run/lock of libubootenv, /proc, /sys, /boot).
t_local_moved_everything() {
        local u f b w old
        use_tree local
        for u in $UNITS; do
                f=$D$P/$u
                if sed 's|/usr/local/||g' "$f" | grep -n '/usr/\|/etc/\|/var/lib'; then
                        TL_WHY="$(basename "$f") still names a default path: $(sed 's|/usr/local/||g' "$f" |
                                grep '/usr/\|/etc/\|/var/lib' | head -n 1)"
                        return 1
                fi
        done
        for b in updated updatectl update-health update-agent; do
                f=$D$(path "$b")
                for w in health-usr system-conf agent-conf agent-hooks health-etc data health-data agent-state; do
                        old=$(paths /usr /etc /var | sed -n "s|^$w=||p")
                        if has_string "$f" "$old"; then
                                TL_WHY="$b (PREFIX=/usr/local) still has the default $old compiled in"
                                return 1
                        fi
                done
        done
        return 0
}
tl_case local-no-default-path-left t_local_moved_everything
