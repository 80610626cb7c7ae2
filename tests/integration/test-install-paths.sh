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
# programs' defaults (--help, and the strings in the binaries) are the paths the units name;
# the system bus, systemd, systemd-sysusers and systemd-tmpfiles find what was installed where
# they look (the dbus 1.14 system.conf's directories; systemctl/systemd-sysusers/
# systemd-tmpfiles --root=DESTDIR), and each sysusers.d file creates its users alone.
# Both builds are made with WERROR=1 and a packager's CPPFLAGS (Debian's -D_FORTIFY_SOURCE=2),
# which must reach every compile.
# No bus.  Alone: its two builds take every CPU (make -j$(nproc)).
# run-tests: serial
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd make sed tr readelf systemctl systemd-sysusers systemd-tmpfiles

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
                -u BINDIR -u LIBEXECDIR -u DATADIR -u SYSCONFDIR -u LOCALSTATEDIR -u CPPFLAGS \
                -u SYSTEMDUNITDIR -u SYSUSERSDIR -u TMPFILESDIR -u DBUS_POLICYDIR \
                -u DBUS_SYSTEM_SERVICEDIR \
                make -C "$UPDATE1_TOP" --no-print-directory \
                -j"$(nproc)" BUILD="$WORK/build-$name" DESTDIR="$WORK/$name" WERROR=1 \
                CPPFLAGS="-D_FORTIFY_SOURCE=2" LDFLAGS="-Wl,-z,now" "$@" install \
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
updatectl-bundle=$1/libexec/updatectl/updatectl-bundle
update-health=$1/bin/update-health
update-agent=$1/bin/update-agent
activation=$1/share/dbus-1/system-services/org.example.Update1.service
interface=$1/share/dbus-1/interfaces/org.example.Update1.xml
policy=$([ "$1" = /usr ] && echo /usr/share || echo /etc)/dbus-1/system.d/org.example.Update1.conf
rauc-activation=$1/share/dbus-1/system-services/de.pengutronix.rauc.service
rauc-interface=$1/share/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml
rauc-policy=$([ "$1" = /usr ] && echo /usr/share || echo /etc)/dbus-1/system.d/de.pengutronix.rauc.conf
tmpfiles=$1/lib/tmpfiles.d/update1.conf
health-tmpfiles=$1/lib/tmpfiles.d/update-health.conf
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
        for w in updated updatectl updatectl-bundle update-health update-agent; do
                f=$D$(path "$w")
                [ -x "$f" ] || { TL_WHY="$f is not an installed executable"; return 1; }
        done
        # The bus verbs start without the bundle code's libraries: updatectl-bundle has them
        # (issue #14: they doubled the start-up of 'updatectl status').
        f=$(readelf -d "$D$(path updatectl)" | grep -E 'NEEDED.*(libcrypto|libsquashfs)')
        [ -z "$f" ] || { TL_WHY="updatectl links the bundle code's libraries: $f"; return 1; }
        for f in activation interface policy rauc-activation rauc-interface rauc-policy tmpfiles health-tmpfiles; do
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
        for f in "$D$(path activation)" "$D$(path rauc-activation)"; do
                grep -qx 'SystemdService=updated.service' "$f" || { TL_WHY="$f: no SystemdService=updated.service"; return 1; }
                grep -qF "Installed to $P/share/dbus-1/system-services/." "$f" ||
                        { TL_WHY="$f does not say where it is installed ($P/share/dbus-1/system-services/)"; return 1; }
        done
        return 0
}

# The programs' compiled-in defaults are the paths the units and tmpfiles.d name.
t_defaults_agree() {
        local f=$D$P/lib/systemd/system out
        out=$("$D$(path updated)" --help 2>&1)
        expect_contains "$out" "(default $(path system-conf))" "updated --help" || return 1
        # the first of its alternatives; the others are RAUC's fixed paths (docs/rauc-compat.md)
        expect_eq "$(sed -n 's/^ConditionPathExists=|\{0,1\}//p' "$f/updated.service" | head -n 1)" "$(path system-conf)" \
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
        # (the helper itself: the installed updatectl runs the one under the real LIBEXECDIR)
        has_string "$D$(path updatectl)" "$(path updatectl-bundle)" ||
                { TL_WHY="updatectl: does not look for $(path updatectl-bundle)"; return 1; }
        out=$("$D$(path updatectl-bundle)" info --help 2>&1)
        expect_contains "$out" "$(path system-conf)" "updatectl bundle info --help" || return 1
        grep -qx "d $(path data) 0755 root root -" "$D$(path tmpfiles)" ||
                { TL_WHY="tmpfiles.d does not make $(path data)"; return 1; }
        grep -qx "d $(path health-data) 0755 update-health update -" "$D$(path health-tmpfiles)" ||
                { TL_WHY="tmpfiles.d does not make $(path health-data)"; return 1; }
        return 0
}

# A packager's flags reach every compile and link, with ours (WERROR=1: -Werror).
t_packager_flags() { # NAME
        local log=$WORK/$1.log n bad b
        n=$(grep -c -- ' -c .*\.c -o ' "$log")
        [ "$n" -gt 20 ] || { TL_WHY="$1: only $n compile commands in the make output"; return 1; }
        bad=$(grep -- ' -c .*\.c -o ' "$log" | grep -v -- '-D_FORTIFY_SOURCE=2' | head -n 1)
        [ -z "$bad" ] || { TL_WHY="CPPFLAGS missing from: ${bad:0:200}"; return 1; }
        bad=$(grep -- ' -c .*\.c -o ' "$log" | grep -v -- ' -Werror ' | head -n 1)
        [ -z "$bad" ] || { TL_WHY="WERROR=1 but no -Werror in: ${bad:0:200}"; return 1; }
        for b in updated updatectl updatectl-bundle update-health update-agent; do
                readelf -d "$D$(path "$b")" | grep -q 'FLAGS.*NOW' ||
                        { TL_WHY="$b: not linked with LDFLAGS=-Wl,-z,now (no BIND_NOW)"; return 1; }
        done
        return 0
}

# Where the system bus reads policies: the <includedir>s of dbus 1.14's system.conf (relative
# ones under /usr/share/dbus-1); activation files: <standard_system_servicedirs/>, compiled
# into dbus-daemon (dbus-daemon(1)): /usr/local/share, /usr/share, /lib.
t_bus_reads_it() {
        local conf=/usr/share/dbus-1/system.conf dirs d ok=
        [ -f "$conf" ] || { TL_WHY="no $conf (dbus-system-bus-common, tests/lib/install-deps.sh)"; return 1; }
        dirs=$(sed -n 's|.*<includedir>\(.*\)</includedir>.*|\1|p' "$conf" |
                sed 's|^\([^/]\)|/usr/share/dbus-1/\1|')
        for d in $dirs; do [ "$(dirname "$(path policy)")" != "$d" ] || ok=1; done
        [ -n "$ok" ] || { TL_WHY="policy installed to $(path policy), but the system bus reads only $(echo $dirs)"; return 1; }
        case $(dirname "$(path activation)") in
        /usr/local/share/dbus-1/system-services | /usr/share/dbus-1/system-services | \
                /lib/dbus-1/system-services) ;;
        *) TL_WHY="activation file in $(path activation): not a standard system service directory"; return 1 ;;
        esac
        [ -f "$D$(path policy)" ] && [ -f "$D$(path activation)" ] ||
                { TL_WHY="policy or activation file not installed under $D"; return 1; }
        return 0
}

# systemd finds the units, systemd-sysusers and systemd-tmpfiles the snippets, where they were
# installed (their own search paths, under --root=DESTDIR).
t_systemd_finds_it() {
        local u out
        out=$(systemctl --root="$D" list-unit-files 'update*' 2>&1)
        for u in updated update-health update-agent; do
                grep -q "^$u.service " <<<"$out" ||
                        { TL_WHY="systemctl --root does not find $u.service: $out"; return 1; }
        done
        out=$(systemd-sysusers --root="$D" --cat-config 2>&1)
        for u in update1 update-health update-agent; do
                grep -qx "# $D$P/lib/sysusers.d/$u.conf" <<<"$out" ||
                        { TL_WHY="systemd-sysusers --root does not read $P/lib/sysusers.d/$u.conf"; return 1; }
        done
        out=$(systemd-tmpfiles --root="$D" --cat-config 2>&1)
        for u in update1 update-health; do
                grep -qx "# $D$P/lib/tmpfiles.d/$u.conf" <<<"$out" ||
                        { TL_WHY="systemd-tmpfiles --root does not read $P/lib/tmpfiles.d/$u.conf"; return 1; }
        done
        return 0
}

for tree in usr local; do
        use_tree "$tree"
        tl_case "$tree-files" t_files
        tl_case "$tree-units-point-at-installed-files" t_units_point_at_installed
        tl_case "$tree-defaults-agree-with-units" t_defaults_agree
        tl_case "$tree-packager-flags-and-werror" t_packager_flags "$tree"
        tl_case "$tree-system-bus-reads-policy-and-activation" t_bus_reads_it
        tl_case "$tree-systemd-finds-units-sysusers-tmpfiles" t_systemd_finds_it
done

# Each program's sysusers.d file works alone (the packages install them separately, in any
# order): on an empty root, it creates group update and its user in it; then tmpfiles.d makes
# the data directories with those owners.
t_sysusers_alone() {
        local f r u
        use_tree usr
        for f in update1:'' update-health:update-health update-agent:update-agent; do
                r=$WORK/sysusers-${f%%:*} u=${f#*:}
                mkdir -p "$r/etc"
                systemd-sysusers --root="$r" "$D/usr/lib/sysusers.d/${f%%:*}.conf" >"$r.log" 2>&1 ||
                        { TL_WHY="systemd-sysusers ${f%%:*}.conf alone: $(tr '\n' ' ' <"$r.log")"; return 1; }
                grep -q '^update:' "$r/etc/group" || { TL_WHY="${f%%:*}.conf alone made no group update"; return 1; }
                [ -z "$u" ] || grep -q "^update:x:[0-9]*:.*$u" "$r/etc/group" ||
                        grep -q "^$u:x:[0-9]*:$(sed -n 's/^update:x:\([0-9]*\):.*/\1/p' "$r/etc/group"):" "$r/etc/passwd" ||
                        { TL_WHY="${f%%:*}.conf alone: $u is not in group update"; return 1; }
        done
        r=$WORK/sysusers-update-health
        systemd-tmpfiles --root="$r" --create "$D/usr/lib/tmpfiles.d/update1.conf" \
                "$D/usr/lib/tmpfiles.d/update-health.conf" >"$r.tmpfiles.log" 2>&1 ||
                { TL_WHY="systemd-tmpfiles --create: $(tr '\n' ' ' <"$r.tmpfiles.log")"; return 1; }
        # Numeric: the names are in $r/etc/passwd, not the host's.
        expect_eq "$(stat -c '%u:%g %a' "$r/var/lib/update1/health")" \
                "$(awk -F: '$1 == "update-health" { print $3 }' "$r/etc/passwd"):$(awk -F: '$1 == "update" { print $3 }' "$r/etc/group") 755" \
                "owner (update-health:update) of /var/lib/update1/health" || return 1
        expect_eq "$(stat -c '%u:%g %a' "$r/var/lib/update1")" "0:0 755" \
                "owner of /var/lib/update1" || return 1
}
tl_case usr-sysusers-each-file-alone t_sysusers_alone

# PREFIX=/usr: each generated file is its template with today's values, byte for byte.
t_usr_is_today() {
        local pair in out
        use_tree usr
        for pair in packaging/systemd/updated.service.in:$P/lib/systemd/system/updated.service \
                packaging/systemd/update-health.service.in:$P/lib/systemd/system/update-health.service \
                packaging/systemd/update-agent.service.in:$P/lib/systemd/system/update-agent.service \
                dbus/org.example.Update1.service.in:$(path activation) \
                dbus/de.pengutronix.rauc.service.in:$(path rauc-activation) \
                packaging/tmpfiles.d/update1.conf.in:$(path tmpfiles) \
                packaging/tmpfiles.d/update-health.conf.in:$(path health-tmpfiles); do
                in=$UPDATE1_TOP/${pair%%:*} out=$D${pair#*:}
                if ! cmp -s <(sed -e 's|@PREFIX@|/usr|g' -e 's|@BINDIR@|/usr/bin|g' \
                        -e 's|@LIBEXECDIR@|/usr/libexec|g' -e 's|@DATADIR@|/usr/share|g' \
                        -e 's|@SYSCONFDIR@|/etc|g' -e 's|@LOCALSTATEDIR@|/var|g' \
                        -e 's|@DBUS_SYSTEM_SERVICEDIR@|/usr/share/dbus-1/system-services|g' "$in") "$out"; then
                        TL_WHY="$out differs from ${pair%%:*} with the /usr, /etc, /var paths"
                        return 1
                fi
        done
        return 0
}
tl_case usr-units-are-todays t_usr_is_today

# PREFIX=/usr/local ...: none of the default tree's paths is left, in the units or the binaries
# (what stays is not ours: /var/lock and /run/lock of libubootenv, /proc, /sys, /boot, RAUC's
# fixed .../rauc/system.conf).
t_local_moved_everything() {
        local u f b w old
        use_tree local
        for u in $UNITS; do
                f=$D$P/$u
                if sed -e 's|/usr/local/||g' -e '\|/rauc/system\.conf$|d' "$f" | grep -n '/usr/\|/etc/\|/var/lib'; then
                        TL_WHY="$(basename "$f") still names a default path: $(sed 's|/usr/local/||g' "$f" |
                                grep '/usr/\|/etc/\|/var/lib' | head -n 1)"
                        return 1
                fi
        done
        for b in updated updatectl updatectl-bundle update-health update-agent; do
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
