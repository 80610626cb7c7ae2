#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The checks of tests/fresh/run.sh's root-deb step, run inside the fresh chroot:
#   deb-check.sh lintian DIR     lintian on DIR/update1_*.changes: an error or a warning fails
#                                (tags overridden in debian/*.lintian-overrides, each with its
#                                reason, do not show); the one exception: no-manual-page while
#                                no package ships any man page (the pages are being written,
#                                #15); once one does, every binary needs its page.
#   deb-check.sh installed       (root) after apt-get install of the .debs: each file in its
#                                package and on disk, the users and group from sysusers.d, the
#                                directories from tmpfiles.d, the units enabled by
#                                deb-systemd-helper (no systemd as PID 1 here), the programs run.
#   deb-check.sh purged          (root) after apt-get purge: no package, no file, no unit link.
# Prints what is wrong and exits 1 then.
# No pipefail: `cmd | grep -q` would fail whenever grep stops reading early (SIGPIPE).
set -u

PKGS=(update1 updatectl update-agent update-health)
# package path...: what must be installed where.
EXPECT="update1 /usr/libexec/update1/updated /lib/systemd/system/updated.service
update1 /usr/share/dbus-1/system-services/org.example.Update1.service
update1 /usr/share/dbus-1/system.d/org.example.Update1.conf
update1 /usr/share/dbus-1/interfaces/org.example.Update1.xml
update1 /usr/share/dbus-1/system-services/de.pengutronix.rauc.service
update1 /usr/share/dbus-1/system.d/de.pengutronix.rauc.conf
update1 /usr/share/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml
update1 /usr/lib/sysusers.d/update1.conf /usr/lib/tmpfiles.d/update1.conf
update1 /etc/update1/system.conf.example /usr/share/update1/bootloader/uboot-boot.cmd
update1 /usr/share/doc/update1/agent.md /usr/share/doc/update1/health.md
update1 /usr/share/doc/update1/bundle-format.md
updatectl /usr/bin/updatectl /usr/libexec/updatectl/updatectl-bundle
update-agent /usr/bin/update-agent /lib/systemd/system/update-agent.service
update-agent /usr/lib/sysusers.d/update-agent.conf /etc/update1/agent.conf.example
update-health /usr/bin/update-health /lib/systemd/system/update-health.service
update-health /usr/lib/sysusers.d/update-health.conf /usr/lib/tmpfiles.d/update-health.conf
update-health /usr/lib/update-health/required.d/10-updated-answers
update-health /usr/lib/update-health/wanted.d/20-system-running /etc/update-health/required.d"

bad=0
no() { echo "deb-check: $*"; bad=1; }
mode() { stat -c '%U:%G %a' "$1" 2>&1; }

check_lintian() { # DIR
        local dir=$1 rc=0 w
        cd "$dir" || exit 1
        lintian --info --display-info update1_*.changes >lintian.log 2>&1 || rc=$?
        grep -E '^[EWIP]: ' lintian.log
        grep '^E: ' lintian.log >/dev/null && no "lintian reports errors"
        w=$(grep '^W: ' lintian.log)
        if ! for d in ./*.deb; do dpkg-deb -c "$d" || exit 1; done | grep -q ' \./usr/share/man/'; then
                [ -z "$(grep ' no-manual-page ' <<<"$w")" ] ||
                        echo "deb-check: no-manual-page accepted: no package ships a man page yet"
                w=$(grep -v ' no-manual-page ' <<<"$w")
        fi
        [ -z "$w" ] || no "lintian warnings without an override (debian/*.lintian-overrides):"$'\n'"$w"
        # 1: tags of the levels above (already judged); anything else is lintian failing.
        [ "$rc" = 0 ] || [ "$rc" = 1 ] || { tail -n 20 lintian.log; no "lintian exited $rc"; }
        [ "$bad" = 0 ] && echo "deb-check: lintian: no error, no warning left"
}

check_installed() {
        local p files f st u
        while read -r p files; do
                st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
                [ "${st%% *}" = ii ] || no "$p is not installed (${st:-unknown})"
                for f in $files; do
                        dpkg -L "$p" | grep -qx "$f" || no "$p does not ship $f"
                        [ -e "$f" ] || no "$f is missing"
                done
        done <<<"$EXPECT"
        getent group update >/dev/null || no "no group update (sysusers.d)"
        for u in update-health update-agent; do
                id -nG "$u" 2>/dev/null | grep -qw update || no "no user $u in group update (sysusers.d)"
        done
        [ "$(mode /var/lib/update1)" = "root:root 755" ] ||
                no "/var/lib/update1: $(mode /var/lib/update1) (tmpfiles.d)"
        [ "$(mode /var/lib/update1/health)" = "update-health:update 755" ] ||
                no "/var/lib/update1/health: $(mode /var/lib/update1/health) (tmpfiles.d)"
        [ "$(mode /run/lock/fw_printenv.lock)" = "root:root 600" ] ||
                no "/run/lock/fw_printenv.lock: $(mode /run/lock/fw_printenv.lock) (tmpfiles.d)"
        [ "$(readlink /etc/systemd/system/dbus-org.example.Update1.service)" = \
                /lib/systemd/system/updated.service ] || no "updated.service not enabled (Alias=)"
        [ -L /etc/systemd/system/multi-user.target.wants/update-agent.service ] ||
                no "update-agent.service not enabled"
        [ -L /etc/systemd/system/boot-complete.target.requires/update-health.service ] ||
                no "update-health.service not enabled (RequiredBy=boot-complete.target)"
        /usr/libexec/update1/updated --help 2>&1 | grep -q '(default /etc/update1/system.conf)' ||
                no "updated --help does not name /etc/update1/system.conf"
        updatectl --help >/dev/null 2>&1 || no "updatectl --help fails"
        updatectl bundle --help >/dev/null 2>&1 || no "updatectl bundle --help fails (updatectl-bundle not found?)"
        # dpkg-buildflags' hardening reached the binaries: fortified calls (CPPFLAGS), the stack
        # protector (CFLAGS), -z now (LDFLAGS, hardening=+all).
        for f in /usr/libexec/update1/updated /usr/bin/updatectl /usr/libexec/updatectl/updatectl-bundle /usr/bin/update-agent /usr/bin/update-health; do
                readelf -d "$f" | grep -q 'FLAGS.*NOW' || no "$f: not linked with -z now"
                nm -D "$f" | grep -q ' U __stack_chk_fail' || no "$f: no stack protector"
        done
        nm -D /usr/libexec/update1/updated | grep -q ' U __[a-z]*_chk\b' ||
                no "updated: no fortified call (_FORTIFY_SOURCE from CPPFLAGS)"
        [ "$bad" = 0 ] && echo "deb-check: installed: files in their packages, users, directories, units enabled"
}

check_purged() {
        local p f st
        for p in "${PKGS[@]}"; do
                # Status-Abbrev: wanted, status, error; status n = not installed (c = conffiles
                # left: removed, not purged).
                st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
                [ -z "$st" ] || [ "${st:1:1}" = n ] || no "$p not purged: dpkg status '$st'"
        done
        for f in /etc/update1 /etc/update-health /usr/libexec/update1 /usr/lib/update-health \
                /lib/systemd/system/updated.service /usr/share/dbus-1/system.d/org.example.Update1.conf \
                /usr/share/dbus-1/system.d/de.pengutronix.rauc.conf \
                /etc/systemd/system/dbus-org.example.Update1.service \
                /etc/systemd/system/multi-user.target.wants/update-agent.service \
                /etc/systemd/system/multi-user.target.wants/update-health.service \
                /etc/systemd/system/boot-complete.target.requires/update-health.service; do
                [ ! -e "$f" ] && [ ! -L "$f" ] || no "$f left after purge"
        done
        [ "$bad" = 0 ] && echo "deb-check: purged: no package, no file, no unit link left (the system users stay, as Debian leaves them)"
}

case ${1:-} in
lintian) check_lintian "${2:?DIR}" ;;
installed) check_installed ;;
purged) check_purged ;;
*) echo "usage: $0 lintian DIR | installed | purged" >&2; exit 2 ;;
esac
exit "$bad"
