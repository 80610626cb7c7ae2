#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make check-fresh`: the README's two commands on a fresh, minimal Debian 12, in a chroot.
#
#   1. base: `debootstrap --variant=minbase bookworm` + git make ca-certificates (what a new
#      user starts from), cached and reused; a copy of it is used for every run, so each run
#      starts without the packages earlier runs installed.
#   2. this checkout as it is on disk (tracked and untracked-but-not-ignored files, uncommitted
#      changes included; no build/) becomes /root/update1 and /home/$USER/update1 in the chroot.
#   3. in the chroot, from the clone:
#        as a normal login user, before anything is installed: `make demo` must stop and print
#          the apt-get command (install-deps.sh)
#        as root:                      make demo     (installs what it lacks)
#        as a normal login user:       make demo     (runuser -l: a login PATH, no /usr/sbin)
#        as root:                      make check    (installs what it lacks; the whole suite)
#      and afterwards: no test users/groups and no processes left behind in the chroot.
#        root-deb: the Debian package (debian/): apt-get build-dep, dpkg-buildpackage -us -uc -b
#          as the normal user (Rules-Requires-Root: no), lintian (errors and warnings fail),
#          apt-get install of the .debs (the maintainer scripts run, without systemd as PID 1),
#          what landed where, then apt-get purge leaves nothing behind.  The .debs are kept in
#          $UPDATE1_FRESH_DIR/debs/ (for a boot test).  Last: it installs packages the other
#          steps must not find.
#   Prints a header per step, the time each took and a summary; exits non-zero if any failed.
#
# Needs root (debootstrap, chroot, mounts); installs debootstrap with apt-get if it is missing.
# Runs in its own mount namespace (unshare), and its EXIT trap stops what runs in the chroot and
# unmounts everything, so nothing is left mounted on the host even after a failure.
#
# Environment:
#   UPDATE1_FRESH_DIR        cache and work directory (default /var/cache/update1-fresh):
#                            base/ (the cached debootstrap), run/ (this run's chroot), apt/
#                            (downloaded .debs, reused), debootstrap.log
#   UPDATE1_FRESH_MIRROR     Debian mirror (default: the host's bookworm entry in
#                            /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   UPDATE1_FRESH_REBUILD=1  debootstrap again even if base/ exists
#   UPDATE1_FRESH_KEEP=1     keep run/ after a successful run too (it is always kept after a
#                            failure, for a look at build/test-logs; the next run removes it)
#   UPDATE1_FRESH_STEPS      which runs, default "user-nodeps root-demo user-demo root-check root-deb"
#   WERROR                   passed to make in the chroot (.ci/run sets WERROR=1)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${UPDATE1_FRESH_DIR:-/var/cache/update1-fresh}
SUITE=bookworm
BASE_PKGS=(git make ca-certificates)
FRESH_USER=u1fresh
STEPS=${UPDATE1_FRESH_STEPS:-user-nodeps root-demo user-demo root-check root-deb}

if [ "$(id -u)" != 0 ]; then
        echo "tests/fresh/run.sh needs root (debootstrap, chroot, mounts)" >&2
        exit 1
fi

# Everything below runs in a private mount namespace: whatever happens, no mount made here is
# visible on the host, and all of them go away with the last process of the namespace.
if [ -z "${UPDATE1_FRESH_NS:-}" ] && command -v unshare >/dev/null 2>&1 &&
        unshare --mount --propagation private true 2>/dev/null; then
        export UPDATE1_FRESH_NS=1
        exec unshare --mount --propagation private -- bash "$0" "$@"
fi

# The one reason to skip (as make check-system does when QEMU cannot run): a machine, e.g. an
# unprivileged container, where even root may not mount.
probe=$(mktemp -d)
if ! err=$(mount -t tmpfs tmpfs "$probe" 2>&1); then
        rmdir "$probe"
        echo "SKIP: check-fresh (root cannot mount here: $err)"
        exit 0
fi
umount "$probe" && rmdir "$probe"

CHROOT=$(command -v chroot) || { echo "tests/fresh/run.sh: chroot not found" >&2; exit 1; }
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
T0=$SECONDS
hms() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
header() { printf '\n%s===== fresh: %s (%s)%s\n' "$B" "$*" "$(date -u +%T)" "$N"; }
msg() { printf 'fresh: %s\n' "$*"; }
die() { printf '%sfresh: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

RESULTS=()        # "name|seconds|PASS or FAIL|detail"
FAILED=0
result() { # name seconds rc [detail]
        local verdict=PASS
        if [ "$3" != 0 ]; then verdict=FAIL; FAILED=1; fi
        RESULTS+=("$1|$2|$verdict|${4:-}")
        if [ "$verdict" = PASS ]; then
                printf '%sfresh: %s: PASS (%s)%s\n' "$G" "$1" "$(hms "$2")" "$N"
        else
                printf '%sfresh: %s: FAIL (%s)%s %s\n' "$R" "$1" "$(hms "$2")" "$N" "${4:-}"
        fi
}
summary() {
        local r name sec verdict detail
        printf '\n%s===== fresh: summary%s\n' "$B" "$N"
        for r in "${RESULTS[@]}"; do
                IFS='|' read -r name sec verdict detail <<<"$r"
                printf '  %-50s %-5s %8s  %s\n' "$name" "$verdict" "$(hms "$sec")" "$detail"
        done
        printf '  %-50s %-5s %8s\n' total "$([ "$FAILED" = 0 ] && echo PASS || echo FAIL)" "$(hms $((SECONDS - T0)))"
}

# ---- mounts, processes, cleanup -------------------------------------------------------------
MOUNTS=()         # mount points we made, in order
BG_PID=           # the command bg_wait waits for
ROOT=             # the chroot being used

mounted_under() { # DIR: prints the mount points at or below DIR
        awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

do_mount() { # TARGET mount-args...
        local t=$1
        shift
        mkdir -p "$t"
        mount "$@" "$t"
        MOUNTS+=("$t")
}

mount_chroot() { # ROOT
        local r=$1
        do_mount "$r/proc" -t proc proc
        do_mount "$r/sys" -t sysfs sysfs
        # /dev as the host has it: loop devices (losetup in the tests) appear in devtmpfs.
        do_mount "$r/dev" --bind /dev
        do_mount "$r/dev/pts" --bind /dev/pts
        do_mount "$r/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
        do_mount "$r/run" -t tmpfs -o mode=0755,nosuid,nodev tmpfs
        mkdir -p "$r/run/lock" && chmod 1777 "$r/run/lock"
        # Downloaded packages survive between runs (only a download cache: what gets installed
        # is still decided by install-deps.sh in the fresh chroot).
        mkdir -p "$DIR/apt/partial"
        do_mount "$r/var/cache/apt/archives" --bind "$DIR/apt"
}

# Processes whose root directory is in the chroot: what a step left running.
chroot_pids() { # ROOT
        local p root
        for p in /proc/[0-9]*; do
                root=$(readlink "$p/root" 2>/dev/null) || continue
                case $root in "$1" | "$1"/*) echo "${p#/proc/}" ;; esac
        done
}

kill_chroot() { # ROOT
        local pids i
        pids=$(chroot_pids "$1")
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
                [ -n "$(chroot_pids "$1")" ] || return 0
                sleep 0.1
        done
        pids=$(chroot_pids "$1")
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        sleep 0.2
}

unmount_all() {
        local i m
        [ -z "$ROOT" ] || kill_chroot "$ROOT"
        for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
                m=${MOUNTS[i]}
                umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "fresh: cannot unmount $m" >&2
        done
        MOUNTS=()
}

# rm -rf of a chroot: only when nothing is mounted in it (a bound /dev!), and never across
# file systems.
remove_tree() { # DIR
        [ -e "$1" ] || return 0
        if [ -n "$(mounted_under "$1")" ]; then
                echo "fresh: not removing $1, still mounted: $(mounted_under "$1" | tr '\n' ' ')" >&2
                return 1
        fi
        rm -rf --one-file-system "$1"
}

on_exit() {
        local rc=$?
        trap - EXIT INT TERM
        [ -z "$BG_PID" ] || kill -TERM "$BG_PID" 2>/dev/null || true
        unmount_all
        if [ -n "$ROOT" ] && [ "$ROOT" = "$DIR/run" ]; then
                if [ "$rc" = 0 ] && [ "$FAILED" = 0 ] && [ "${UPDATE1_FRESH_KEEP:-0}" != 1 ]; then
                        remove_tree "$ROOT" || true
                else
                        echo "fresh: chroot kept in $ROOT (the next run removes it)" >&2
                fi
        fi
        exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- the base: debootstrap minbase + git make ca-certificates, cached ------------------------
host_mirror() {
        local f m
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                m=$(awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
                        { t = u = su = ""
                          for (i = 1; i <= NF; i++) {
                                if ($i ~ /^Types:/)  { t = $i;  sub(/^Types:[ \t]*/, "", t) }
                                if ($i ~ /^URIs:/)   { u = $i;  sub(/^URIs:[ \t]*/, "", u) }
                                if ($i ~ /^Suites:/) { su = $i; sub(/^Suites:[ \t]*/, "", su) }
                          }
                          if ((" " t " ") ~ / deb / && (" " su " ") ~ (" " s " ")) { split(u, a, " "); print a[1]; exit } }' "$f")
                [ -z "$m" ] || { echo "$m"; return 0; }
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                m=$(awk -v s="$SUITE" '$1 == "deb" { i = 2
                        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                        if ($(i + 1) == s) { print $i; exit } }' "$f")
                [ -z "$m" ] || { echo "$m"; return 0; }
        done
        echo http://deb.debian.org/debian
}
MIRROR=${UPDATE1_FRESH_MIRROR:-$(host_mirror)}
BASE=$DIR/base
BASE_KEY="debootstrap --variant=minbase $SUITE $MIRROR + ${BASE_PKGS[*]} (v1)"

# bg_wait CMD...: CMD in the background, then wait for it: a SIGTERM/SIGINT to this script is
# handled at once (bash runs traps only between foreground commands, but interrupts a wait),
# and the EXIT trap stops what runs in the chroot.
bg_wait() {
        local rc=0
        "$@" &
        BG_PID=$!
        wait "$BG_PID" || rc=$?
        BG_PID=
        return "$rc"
}

# chroot_run ROOT CMD...: CMD in the chroot with a clean environment, no stdin.
chroot_run() {
        local r=$1
        shift
        bg_wait env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive "$CHROOT" "$r" "$@" </dev/null
}

build_base() {
        local new=$DIR/base.new t=$SECONDS rc=0
        header "base: debootstrap --variant=minbase $SUITE $MIRROR, then apt-get install ${BASE_PKGS[*]}"
        if ! command -v debootstrap >/dev/null 2>&1; then
                msg "installing debootstrap on the host"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap </dev/null ||
                        { apt-get update -q </dev/null && DEBIAN_FRONTEND=noninteractive \
                                apt-get install -y -q --no-install-recommends debootstrap </dev/null; }
        fi
        mkdir -p "$DIR"
        remove_tree "$new"
        msg "debootstrap (log: $DIR/debootstrap.log)"
        if ! bg_wait debootstrap --variant=minbase "$SUITE" "$new" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 </dev/null; then
                tail -n 30 "$DIR/debootstrap.log" >&2
                result "base: debootstrap" $((SECONDS - t)) 1 "see $DIR/debootstrap.log"
                return 1
        fi
        result "base: debootstrap" $((SECONDS - t)) 0
        t=$SECONDS
        ROOT=$new
        mount_chroot "$new"
        # No service may start in a chroot (an installed nginx, ...): the usual policy-rc.d.
        printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
        chmod 0755 "$new/usr/sbin/policy-rc.d"
        # What the Debian installer writes and debootstrap does not.
        [ -s "$new/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$new/etc/hosts"
        cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
        chroot_run "$new" apt-get update -q >>"$DIR/debootstrap.log" 2>&1 &&
                chroot_run "$new" apt-get install -y -q --no-install-recommends "${BASE_PKGS[@]}" \
                        >>"$DIR/debootstrap.log" 2>&1 || rc=$?
        unmount_all
        ROOT=
        if [ "$rc" != 0 ]; then
                tail -n 30 "$DIR/debootstrap.log" >&2
                result "base: apt-get install ${BASE_PKGS[*]}" $((SECONDS - t)) 1 "see $DIR/debootstrap.log"
                return 1
        fi
        echo "$BASE_KEY" >"$new/.update1-fresh-base"
        remove_tree "$BASE"
        mv "$new" "$BASE"
        result "base: apt-get install ${BASE_PKGS[*]}" $((SECONDS - t)) 0
}

if [ "${UPDATE1_FRESH_REBUILD:-0}" = 1 ] || [ ! -f "$BASE/.update1-fresh-base" ] ||
        [ "$(cat "$BASE/.update1-fresh-base")" != "$BASE_KEY" ]; then
        build_base || { summary; exit 1; }
else
        header "base: cached $BASE ($(cat "$BASE/.update1-fresh-base"))"
fi

# ---- this run's chroot: a copy of the base with the checkout in it --------------------------
header "chroot: copy of the base, the checkout as /root/update1 and /home/$FRESH_USER/update1"
t=$SECONDS
remove_tree "$DIR/run" || die "cannot remove the previous $DIR/run"
cp -a "$BASE" "$DIR/run"
ROOT=$DIR/run
rm -f "$ROOT/.update1-fresh-base"

# The files of the checkout as they are now: tracked (deleted ones skipped) and untracked but
# not ignored.  Not a git clone: uncommitted changes are what is being tested.
checkout_files() {
        local f
        if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
                git -C "$TOP" ls-files -z -co --exclude-standard |
                        while IFS= read -r -d '' f; do
                                if [ -e "$TOP/$f" ] || [ -L "$TOP/$f" ]; then printf '%s\0' "$f"; fi
                        done
        else
                (cd "$TOP" && find . -path ./build -prune -o -path './build-*' -prune -o \
                        \( -type f -o -type l \) -print0)
        fi
}
copy_checkout() { # DEST
        mkdir -p "$1"
        checkout_files | tar -C "$TOP" --null --no-recursion -T - -cf - | tar -C "$1" --no-same-owner -xf -
}
copy_checkout "$ROOT/root/update1"
chroot_run "$ROOT" useradd --create-home --shell /bin/bash "$FRESH_USER"
copy_checkout "$ROOT/home/$FRESH_USER/update1"
chroot_run "$ROOT" chown -R "$FRESH_USER:" "/home/$FRESH_USER/update1"
msg "$(checkout_files | tr -cd '\0' | wc -c) files from $TOP"
mount_chroot "$ROOT"
result "chroot: copy and mounts" $((SECONDS - t)) 0

# in_chroot USER CMD: CMD through a login shell of USER (runuser -l: the environment and PATH a
# login gives, e.g. no /usr/sbin for a normal user on Debian), no stdin.
# WERROR (CI's strictness) goes in through the command: a login resets the environment.
in_chroot() {
        bg_wait env -i TERM="${TERM:-dumb}" "$CHROOT" "$ROOT" /usr/sbin/runuser -l "$1" \
                -c "${WERROR:+export WERROR=$WERROR; }$2" </dev/null
}

# run_step NAME USER CMD: header, CMD in the user's clone, timing, verdict.
run_step() {
        local name=$1 user=$2 cmd=$3 t=$SECONDS rc=0
        header "$name: $cmd"
        in_chroot "$user" "cd ~/update1 && echo \"\$(id -un)@chroot:\$PWD, PATH=\$PATH\" && $cmd" || rc=$?
        result "$name" $((SECONDS - t)) "$rc" "$([ "$rc" = 0 ] || echo "exit $rc")"
}

# A leftover process in the chroot after a step is a failure of that step's cleanup.
check_no_processes() { # after-what
        local pids
        pids=$(chroot_pids "$ROOT")
        if [ -n "$pids" ]; then
                # shellcheck disable=SC2086
                ps -o pid=,user=,args= -p "$(echo $pids | tr ' ' ,)" 2>/dev/null | sed 's/^/    /' || true
                result "no processes left after $1" 0 1 "$(echo "$pids" | wc -l) left running"
                kill_chroot "$ROOT"
        fi
}

# ---- root-deb: the Debian package (checks: tests/fresh/deb-check.sh) ----------------------------
DEB_PKGS=(update1 updatectl update-agent update-health)
DEB_HOME=/home/$FRESH_USER/deb
# sub_step NAME USER CMD: CMD in the chroot without a header of its own, timed, one result.
sub_step() {
        local t=$SECONDS rc=0
        msg "$1"
        in_chroot "$2" "$3" 2>&1 | sed 's/^/    /' || rc=$?
        result "$1" $((SECONDS - t)) "$rc" "$([ "$rc" = 0 ] || echo "exit $rc")"
        return "$rc"
}
deb_step() {
        local t=$SECONDS debs check=/root/update1/tests/fresh/deb-check.sh
        header "root-deb: dpkg-buildpackage -us -uc -b, lintian, apt-get install, apt-get purge"
        # A clean copy of the checkout (the user's clone has user-demo's build/ in it).
        if ! { remove_tree "$ROOT$DEB_HOME" && copy_checkout "$ROOT$DEB_HOME/update1" &&
                chroot_run "$ROOT" chown -R "$FRESH_USER:" "$DEB_HOME"; }; then
                result "root-deb: copy of the checkout" $((SECONDS - t)) 1
                return 0
        fi
        # The Build-Depends of debian/control (apt-get build-dep of a source directory needs no
        # deb-src line), and lintian.
        sub_step "root-deb: apt-get build-dep, lintian" root \
                "apt-get build-dep -y -q --no-install-recommends $DEB_HOME/update1 >/tmp/deb-apt.log 2>&1 &&
                 apt-get install -y -q --no-install-recommends lintian >>/tmp/deb-apt.log 2>&1 ||
                 { tail -n 20 /tmp/deb-apt.log; exit 1; }" || return 0
        sub_step "root-deb: dpkg-buildpackage -us -uc -b as $FRESH_USER" "$FRESH_USER" \
                "cd $DEB_HOME/update1 && { dpkg-buildpackage -us -uc -b >../build.log 2>&1 ||
                 { tail -n 30 ../build.log; exit 1; }; } &&
                 c=\$(grep -- ' -c daemon/updated.c ' ../build.log) &&
                 { grep -q -- ' -D_FORTIFY_SOURCE=2 ' <<<\"\$c\" ||
                   { echo 'dpkg-buildflags CPPFLAGS (-D_FORTIFY_SOURCE=2) did not reach the compile'; exit 1; }; } &&
                 { [ \"\${WERROR:-}\" != 1 ] || grep -q -- ' -Werror ' <<<\"\$c\" ||
                   { echo 'WERROR=1 did not reach the compile (no -Werror)'; exit 1; }; } &&
                 ls ../*.deb" || return 0
        # Kept for others (a systemd-nspawn boot test): $DIR/debs/.
        rm -rf "$DIR/debs" && mkdir -p "$DIR/debs" &&
                cp "$ROOT$DEB_HOME"/*.deb "$ROOT$DEB_HOME"/*.changes "$ROOT$DEB_HOME"/*.buildinfo "$DIR/debs/"
        msg "root-deb: the packages are in $DIR/debs/"
        sub_step "root-deb: lintian (no error, no warning)" "$FRESH_USER" "bash $DEB_HOME/update1/tests/fresh/deb-check.sh lintian $DEB_HOME" || true
        # As a user installs them: apt-get, maintainer scripts and all, with no systemd as PID 1
        # (deb-systemd-helper still enables the units).  Not the -dbgsym packages.
        debs=$(cd "$ROOT$DEB_HOME" && find . -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' | sort |
                sed "s|^\./|$DEB_HOME/|" | tr '\n' ' ')
        sub_step "root-deb: apt-get install ${DEB_PKGS[*]}" root \
                "apt-get install -y -q --no-install-recommends $debs >/tmp/deb-install.log 2>&1 ||
                 { tail -n 30 /tmp/deb-install.log; exit 1; }
                 grep -iE 'warn|error|fail' /tmp/deb-install.log; bash $check installed" || true
        sub_step "root-deb: apt-get purge ${DEB_PKGS[*]}" root \
                "apt-get purge -y -q ${DEB_PKGS[*]} >/tmp/deb-purge.log 2>&1 ||
                 { tail -n 30 /tmp/deb-purge.log; exit 1; }
                 grep -iE 'warn|error|fail' /tmp/deb-purge.log; bash $check purged" || true
        msg "root-deb: $(hms $((SECONDS - t))) in all; the .debs: $DIR/debs/"
}

for s in $STEPS; do
        case $s in
        user-nodeps)
                # As a normal user with the packages missing, make demo stops at once and prints
                # the command that installs them.
                header "user-nodeps: make demo as $FRESH_USER before anything is installed"
                t=$SECONDS
                out=$(in_chroot "$FRESH_USER" 'cd ~/update1 && make demo' 2>&1) && rc=0 || rc=$?
                printf '%s\n' "$out" | sed 's/^/    /'
                if [ "$rc" != 0 ] && grep -q 'apt-get install -y --no-install-recommends' <<<"$out"; then
                        result "user-nodeps: make demo prints the apt-get command" $((SECONDS - t)) 0
                else
                        result "user-nodeps: make demo prints the apt-get command" $((SECONDS - t)) 1 \
                                "exit $rc, expected a failure naming the apt-get command"
                fi
                ;;
        root-demo) run_step "root: make demo" root "make demo" ;;
        user-demo) run_step "$FRESH_USER: make demo" "$FRESH_USER" "make demo" ;;
        root-check)
                run_step "root: make check" root "make check"
                # make check removes the users and groups it created (none existed before here).
                t=$SECONDS
                left=$(chroot_run "$ROOT" sh -c 'getent passwd u1test-nobody u1test-op; getent group update' || true)
                if [ -n "$left" ]; then
                        result "root: make check left no test accounts" $((SECONDS - t)) 1 "$(echo "$left" | cut -d: -f1 | tr '\n' ' ')"
                else
                        result "root: make check left no test accounts" $((SECONDS - t)) 0
                fi
                ;;
        root-deb) deb_step ;;
        *) die "unknown step $s (UPDATE1_FRESH_STEPS)" ;;
        esac
        check_no_processes "$s"
done

summary
[ "$FAILED" = 0 ]
