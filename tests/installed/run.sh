#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make check-installed`: Update1 as installed, under a real systemd (PID 1) and the real system
# bus, in a booted Debian 12 container (systemd-nspawn --boot).
#
#   1. base: the cached debootstrap of tests/fresh/run.sh ($DIR/base, made by it if missing),
#      plus systemd, systemd-sysv, dbus, libpam-systemd and python3 (the hawkBit stand-in):
#      cached as $DIR/installed-base.
#   2. an overlay on that ($DIR/installed/root) gets Update1, in a chroot: by default the
#      checkout as it is on disk, built and installed there (tests/lib/install-deps.sh build, then
#      make install PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var, then systemctl enable of
#      update-health and update-agent); with UPDATE1_DEBS=DIR the *.deb files of DIR with
#      apt-get (what the package's maintainer scripts do is what is tested).
#   3. a device for it: /etc/update1/system.conf with two file-backed raw slots in /boot and the
#      redundant U-Boot environment in /boot/uboot.env (/etc/fw_env.config), booted slot A
#      by boot-slot-override= (a container has the host's /proc/cmdline), slot A on its trial
#      boot (BOOT_A_LEFT=1); a throw-away root certificate as keyring; an agent.conf pointing at
#      tests/ddi-server/ddi_server.py, which runs in the container as u1-ddi-standin.service.
#   4. boot it: systemd-nspawn --boot --private-network, then check, from outside (nsenter):
#      the boot finishes "running" with no failed unit; sysusers made group update and the
#      users update-health and update-agent; tmpfiles made /var/lib/update1,
#      /var/lib/update1/health and /run/lock/fw_printenv.lock with their owners and modes;
#      update-health ran before boot-complete.target and marked slot A good (BOOT_A_LEFT 1 -> 3);
#      updated is started by D-Bus activation (no target pulls it in; stopped, a call starts it);
#      updatectl status and mark-good work for root and for a user in group update and are
#      denied (AccessDenied) to another user;
#      update-agent runs as update-agent with no capabilities, cannot write /usr, and polls the
#      stand-in; then a clean poweroff.
#   Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed"; exits non-zero if any
#   failed.
#
# Needs root, systemd-nspawn (systemd-container) and a kernel that lets root mount.  Runs in its
# own mount namespace and puts the container in a cgroup of its own, so that its EXIT trap can
# stop whatever is left and nothing stays behind: no container, mount, cgroup or loop device
# (none is used).
#
# Environment:
#   UPDATE1_FRESH_DIR     cache and work directory, shared with tests/fresh/run.sh (default
#                         /var/cache/update1-fresh): base/ (its debootstrap), installed-base/
#                         (the cached layer), installed/ (this run: the overlay's upper/, kept
#                         after a failure), apt/ (.debs), installed-*.log
#   UPDATE1_DEBS=DIR      install DIR/*.deb with apt-get instead of make install
#   UPDATE1_INSTALLED_KEEP=1  keep installed/upper after a successful run too
#   UPDATE1_INSTALLED_WAIT    seconds the boot may take (default 120)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${UPDATE1_FRESH_DIR:-/var/cache/update1-fresh}
WAIT=${UPDATE1_INSTALLED_WAIT:-120}
LAYER_PKGS=(systemd systemd-sysv dbus libpam-systemd python3)
LAYER_KEY="installed-base: base + ${LAYER_PKGS[*]} (v1)"
MACHINE=u1installed
DDI_PORT=8480

[ "$(id -u)" = 0 ] || { echo "tests/installed/run.sh needs root (chroot, mounts, nspawn)" >&2; exit 1; }
if [ -n "${UPDATE1_DEBS:-}" ]; then
        UPDATE1_DEBS=$(cd "$UPDATE1_DEBS" && pwd) || exit 1
        compgen -G "$UPDATE1_DEBS/*.deb" >/dev/null || { echo "UPDATE1_DEBS=$UPDATE1_DEBS: no *.deb there" >&2; exit 1; }
fi

if [ -z "${UPDATE1_INSTALLED_NS:-}" ]; then
        export UPDATE1_INSTALLED_NS=1
        exec unshare --mount --propagation private -- bash "$0" "$@"
fi

for c in systemd-nspawn nsenter mkenvimage fw_printenv openssl; do
        command -v "$c" >/dev/null || { echo "tests/installed/run.sh: $c missing (tests/lib/install-deps.sh installed)" >&2; exit 1; }
done
probe=$(mktemp -d)
if ! err=$(mount -t tmpfs tmpfs "$probe" 2>&1); then
        rmdir "$probe"
        echo "SKIP: check-installed (root cannot mount here: $err)"
        exit 0
fi
umount "$probe" && rmdir "$probe"

msg() { printf 'installed: [%ds] %s\n' "$SECONDS" "$*"; }
die() { printf 'installed: %s\n' "$*" >&2; exit 1; }
N=0 PASSED=0 FAILED=0
ok() { N=$((N + 1)) PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
notok() { N=$((N + 1)) FAILED=$((FAILED + 1)); echo "not ok $N - $1${2:+: $2}"; }
check() { # NAME CMD...: ok if CMD succeeds
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$name"; else notok "$name" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

# ---- cleanup: the container, its cgroups, the chroot mounts -----------------------------------
RUN=$DIR/installed  # this run: upper/ and work/ of the overlay mounted on root/
ROOT=$RUN/root
OVERLAY=
MOUNTS=()
NSPAWN_PID=
CG_NAME=update1-installed.$$
CGROUPS=()        # the container's cgroups, one per hierarchy nspawn uses

do_mount() { mkdir -p "$1"; mount "${@:2}" "$1"; MOUNTS+=("$1"); }
unmount_all() {
        local i
        for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
                umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || echo "installed: cannot unmount ${MOUNTS[i]}" >&2
        done
        MOUNTS=()
}
mounted_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo; }
remove_tree() {
        [ -e "$1" ] || return 0
        [ -z "$(mounted_under "$1")" ] || { echo "installed: not removing $1, still mounted" >&2; return 1; }
        rm -rf --one-file-system "$1"
}

# Every process in the container's cgroups (all of the container, nspawn's helpers too).
cgroup_pids() { local c; for c in "${CGROUPS[@]}"; do find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u; }
stop_container() {
        local i pids
        [ -n "$NSPAWN_PID" ] || return 0
        # SIGTERM to nspawn = an orderly poweroff of the container; bounded.
        kill -TERM "$NSPAWN_PID" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
                kill -0 "$NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        pids=$(cgroup_pids)
        if [ -n "$pids" ]; then
                echo "installed: killing what is left of the container: $(echo "$pids" | wc -l) processes" >&2
                # shellcheck disable=SC2086
                kill -KILL $pids 2>/dev/null || true
        fi
        wait "$NSPAWN_PID" 2>/dev/null || true
        NSPAWN_PID=
}
remove_cgroups() {
        local c i
        for c in "${CGROUPS[@]}"; do
                for ((i = 0; i < 50; i++)); do
                        find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
                        [ -d "$c" ] || break
                        sleep 0.1
                done
                [ ! -d "$c" ] || echo "installed: cannot remove cgroup $c" >&2
        done
        CGROUPS=()
}
on_exit() {
        local rc=$?
        trap - EXIT INT TERM
        if [ -n "$BG_PID" ]; then
                kill -TERM -- "-$BG_PID" 2>/dev/null || true
                wait "$BG_PID" 2>/dev/null || true
        fi
        stop_container
        remove_cgroups
        unmount_all
        if [ -n "$OVERLAY" ]; then
                umount "$OVERLAY" 2>/dev/null || umount -l "$OVERLAY" || echo "installed: cannot unmount $OVERLAY" >&2
        fi
        if [ -d "$RUN" ]; then
                if [ "$rc" = 0 ] && [ "$FAILED" = 0 ] && [ "${UPDATE1_INSTALLED_KEEP:-0}" != 1 ]; then
                        remove_tree "$RUN" || true
                else
                        echo "installed: what the run changed is kept in $RUN/upper (journal: journalctl -D $RUN/upper/var/log/journal; the next run removes it)" >&2
                fi
        fi
        exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- chroot helpers ---------------------------------------------------------------------------
mount_chroot() { # ROOT
        do_mount "$1/proc" -t proc proc
        do_mount "$1/sys" -t sysfs sysfs
        do_mount "$1/dev" --bind /dev
        do_mount "$1/dev/pts" --bind /dev/pts
        do_mount "$1/run" -t tmpfs -o mode=0755,nosuid,nodev tmpfs
        mkdir -p "$DIR/apt/partial"
        do_mount "$1/var/cache/apt/archives" --bind "$DIR/apt"
}
# bg_wait CMD...: CMD as its own process group in the background, then wait for it: a SIGTERM
# or SIGINT to this script is handled at once (bash runs traps only between foreground
# commands, but interrupts a wait), and the EXIT trap stops the whole group (a make in the
# chroot, its compilers).
BG_PID=
bg_wait() {
        local rc=0
        setsid "$@" &
        BG_PID=$!
        wait "$BG_PID" || rc=$?
        BG_PID=
        return "$rc"
}
in_chroot() { # ROOT CMD...
        local r=$1
        shift
        bg_wait env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                DEBIAN_FRONTEND=noninteractive chroot "$r" "$@" </dev/null
}

# ---- 1. the cached layers ---------------------------------------------------------------------
if [ ! -f "$DIR/base/.update1-fresh-base" ]; then
        msg "no cached base in $DIR/base: tests/fresh/run.sh makes it (no steps run)"
        mkdir -p "$DIR"
        # UPDATE1_FRESH_STEPS=' ': no step (an empty value would mean the default steps).
        UPDATE1_FRESH_NS='' UPDATE1_FRESH_STEPS=' ' "$TOP/tests/fresh/run.sh" >"$DIR/installed-fresh.log" 2>&1 ||
                { tail -n 30 "$DIR/installed-fresh.log"; die "making the base failed"; }
fi
LAYER=$DIR/installed-base
if [ ! -f "$LAYER/.update1-installed-base" ] || [ "$(cat "$LAYER/.update1-installed-base")" != "$LAYER_KEY" ]; then
        msg "making $LAYER: base + ${LAYER_PKGS[*]}"
        remove_tree "$LAYER.new"
        cp -a "$DIR/base" "$LAYER.new"
        rm -f "$LAYER.new/.update1-fresh-base"
        cp /etc/resolv.conf "$LAYER.new/etc/resolv.conf" 2>/dev/null || true
        mount_chroot "$LAYER.new"
        in_chroot "$LAYER.new" apt-get update -q >"$DIR/installed-base.log" 2>&1 &&
                in_chroot "$LAYER.new" apt-get install -y -q --no-install-recommends "${LAYER_PKGS[@]}" \
                        >>"$DIR/installed-base.log" 2>&1 || { unmount_all; tail -n 30 "$DIR/installed-base.log"; die "apt-get failed"; }
        unmount_all
        echo "$LAYER_KEY" >"$LAYER.new/.update1-installed-base"
        remove_tree "$LAYER"
        mv "$LAYER.new" "$LAYER"
fi

# ---- 2. this run's root with Update1 installed ------------------------------------------------
# An overlay on the cached layer: nothing to copy, and only what this run changed to remove.
remove_tree "$RUN" || die "cannot remove the previous $RUN"
mkdir -p "$RUN/upper" "$RUN/work" "$ROOT"
mount -t overlay overlay -o "lowerdir=$LAYER,upperdir=$RUN/upper,workdir=$RUN/work" "$ROOT"
OVERLAY=$ROOT
rm -f "$ROOT/.update1-installed-base"
mount_chroot "$ROOT"
if [ -n "${UPDATE1_DEBS:-}" ]; then
        msg "installing $(cd "$UPDATE1_DEBS" && echo *.deb) with apt-get"
        mkdir -p "$ROOT/tmp/debs"
        cp "$UPDATE1_DEBS"/*.deb "$ROOT/tmp/debs/"
        in_chroot "$ROOT" sh -c 'apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' >"$DIR/installed-install.log" 2>&1 ||
                { tail -n 30 "$DIR/installed-install.log"; die "apt-get install of the .debs failed"; }
        rm -rf "$ROOT/tmp/debs"
else
        msg "make install in the chroot (log: $DIR/installed-install.log)"
        mkdir -p "$ROOT/root/update1"
        { git -C "$TOP" ls-files -z -co --exclude-standard 2>/dev/null || die "not a git checkout: $TOP"; } |
                while IFS= read -r -d '' f; do [ ! -e "$TOP/$f" ] || printf '%s\0' "$f"; done |
                tar -C "$TOP" --null --no-recursion -T - -cf - | tar -C "$ROOT/root/update1" --no-same-owner -xf -
        in_chroot "$ROOT" sh -c 'cd /root/update1 && tests/lib/install-deps.sh build &&
                make -j2 install PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var &&
                systemctl enable update-health.service update-agent.service' \
                >"$DIR/installed-install.log" 2>&1 || { tail -n 30 "$DIR/installed-install.log"; die "make install failed"; }
        rm -rf "$ROOT/root/update1"
fi
unmount_all

# ---- 3. the device: slots, U-Boot env, keyring, system.conf, agent.conf, the DDI stand-in ------
msg "device: file slots and U-Boot env in /boot, booted slot A on its trial boot"
mkdir -p "$ROOT/boot"
truncate -s 8M "$ROOT/boot/slot-a.img" "$ROOT/boot/slot-b.img"
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=1\nBOOT_B_LEFT=3\n' >"$ROOT/boot/env.txt"
mkenvimage -r -s 0x4000 -o "$ROOT/boot/env-copy.bin" "$ROOT/boot/env.txt"
cat "$ROOT/boot/env-copy.bin" "$ROOT/boot/env-copy.bin" >"$ROOT/boot/uboot.env"
rm -f "$ROOT/boot/env-copy.bin" "$ROOT/boot/env.txt"
chmod 0600 "$ROOT/boot/uboot.env" "$ROOT"/boot/slot-*.img
printf '/boot/uboot.env 0x0000 0x4000 0x4000 1\n/boot/uboot.env 0x4000 0x4000 0x4000 1\n' >"$ROOT/etc/fw_env.config"
# The env as the host reads it (the root's paths, the same layout).
HOST_FW=$(mktemp)
printf '%s 0x0000 0x4000 0x4000 1\n%s 0x4000 0x4000 0x4000 1\n' "$ROOT/boot/uboot.env" "$ROOT/boot/uboot.env" >"$HOST_FW"
env_get() { fw_printenv -c "$HOST_FW" -n "$1" 2>/dev/null; }

mkdir -p "$ROOT/etc/update1"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -keyout /dev/null -out "$ROOT/etc/update1/keyring.pem" -subj "/O=Update1 Test/CN=check-installed root" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
cat >"$ROOT/etc/update1/system.conf" <<'EOF'
# check-installed (tests/installed/run.sh): two file-backed raw slots and the U-Boot env in /boot
[system]
compatible=update1-installed-test
bootloader=uboot
boot-slot-override=A

[keyring]
path=/etc/update1/keyring.pem

[slot.rootfs.0]
device=/boot/slot-a.img
type=raw
bootname=A

[slot.rootfs.1]
device=/boot/slot-b.img
type=raw
bootname=B
EOF
TOKEN=$(openssl rand -hex 16)
cat >"$ROOT/etc/update1/agent.conf" <<EOF
# check-installed: the hawkBit stand-in of u1-ddi-standin.service
[server]
url=http://127.0.0.1:$DDI_PORT
tenant=DEFAULT
controller-id=installed1
target-token=$TOKEN
EOF
# Readable by update-agent: its group "update" is made only at boot (sysusers); the token is a
# throw-away one.
chmod 0644 "$ROOT/etc/update1/agent.conf"
mkdir -p "$ROOT/usr/local/lib/update1-test"
cp "$TOP/tests/ddi-server/ddi_server.py" "$ROOT/usr/local/lib/update1-test/"
cat >"$ROOT/etc/systemd/system/u1-ddi-standin.service" <<EOF
# check-installed only: tests/ddi-server/ddi_server.py as the agent's hawkBit server.
[Unit]
Description=hawkBit DDI stand-in (Update1 tests)
Before=update-agent.service
[Service]
ExecStart=/usr/bin/python3 /usr/local/lib/update1-test/ddi_server.py --port $DDI_PORT --port-file /run/u1-ddi/port --controller installed1 --target-token $TOKEN --sleep 00:00:02
DynamicUser=yes
RuntimeDirectory=u1-ddi
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/u1-ddi-standin.service "$ROOT/etc/systemd/system/multi-user.target.wants/u1-ddi-standin.service"
# boot-complete.target is in the boot transaction only when something pulls it in: on a device
# with boot counting systemd-bless-boot.service does (DefaultDependencies=no, from basic.target);
# this stand-in does the same, so that the order update-health -> boot-complete.target is seen.
cat >"$ROOT/etc/systemd/system/u1-bless-boot-standin.service" <<EOF
# check-installed only: pulls in boot-complete.target as systemd-bless-boot.service does.
[Unit]
Description=Stand-in of systemd-bless-boot.service (Update1 tests)
DefaultDependencies=no
Requires=boot-complete.target
After=local-fs.target boot-complete.target
Conflicts=shutdown.target
Before=shutdown.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
EOF
mkdir -p "$ROOT/etc/systemd/system/basic.target.wants"
ln -sf /etc/systemd/system/u1-bless-boot-standin.service "$ROOT/etc/systemd/system/basic.target.wants/"
echo "$MACHINE" >"$ROOT/etc/hostname"
# The container has no console login to offer; a getty on it only waits.
ln -sf /dev/null "$ROOT/etc/systemd/system/console-getty.service"
rm -f "$ROOT/usr/sbin/policy-rc.d"

# ---- 4. boot ----------------------------------------------------------------------------------
# Its own cgroup in each hierarchy nspawn uses (the host's PID 1 is no systemd to ask for a
# scope: --register=no --keep-unit), so that nothing of it can outlive this script.
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
        [ -f "$h/cgroup.procs" ] || continue
        mkdir "$h/$CG_NAME" && CGROUPS+=("$h/$CG_NAME")
done
LOG=$DIR/installed-boot.log
msg "systemd-nspawn --boot (console: $LOG)"
# shellcheck disable=SC2016 # $$ and "$@" are the inner shell's
sh -c 'for c in "$@"; do [ "$c" = -- ] && break; echo $$ >"$c/cgroup.procs"; shift; done; shift
        exec systemd-nspawn "$@"' sh "${CGROUPS[@]}" -- \
        --quiet --boot --register=no --keep-unit --private-network --machine="$MACHINE" \
        --directory="$ROOT" --console=passive >"$LOG" 2>&1 </dev/null &
NSPAWN_PID=$!

# The container's PID 1 as the host sees it: the process in our cgroups whose innermost PID is 1.
LEADER=
for ((i = 0; i < 100; i++)); do
        for p in $(cgroup_pids); do
                if awk '$1 == "NSpid:" && $NF == 1 && NF > 2 { f = 1 } END { exit !f }' "/proc/$p/status" 2>/dev/null &&
                        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
                        LEADER=$p
                        break 2
                fi
        done
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
done
[ -n "$LEADER" ] || { cat "$LOG"; die "the container's systemd did not start"; }
# C CMD...: in the container, as root, with a clean environment.
IN_C=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0
        nsenter -t "$LEADER" -m -u -i -n -p -C -r -w)
C() { "${IN_C[@]}" "$@" </dev/null; }
as() { local u=$1; shift; C runuser -u "$u" -- "$@"; }

# systemctl needs the manager's private socket, there soon after PID 1 starts.
for ((i = 0; i < 100; i++)); do
        C test -S /run/systemd/private && break
        sleep 0.1
done
bg_wait "${IN_C[@]}" timeout "$WAIT" systemctl is-system-running --wait >"$DIR/installed-state" 2>&1 || true
state=$(cat "$DIR/installed-state")
if [ "$state" = running ]; then ok "boot: systemctl is-system-running --wait says running"
else notok "boot: systemctl is-system-running --wait says running" "says '$state'"; fi
failed=$(C systemctl list-units --failed --plain --no-legend 2>&1) || true
if [ -z "$failed" ]; then ok "boot: systemctl --failed lists no unit"
else notok "boot: systemctl --failed lists no unit" "$failed"; fi

# sysusers.d
check "sysusers: group update" C getent group update
ent_is() { # WHAT NAME WANT: getent WHAT NAME, then fields as "f:f"
        local got
        got=$(C getent "$1" "$2") || { echo "no $1 entry $2"; return 1; }
        [[ "$got" =~ $3 ]] || { echo "$2: '$got' does not match $3"; return 1; }
}
gid_update=$(C getent group update | cut -d: -f3) || true
check "sysusers: user update-health, primary group update, no login" \
        ent_is passwd update-health "^update-health:x:[0-9]+:${gid_update:-none}:.*:/usr/sbin/nologin$"
check "sysusers: user update-agent, primary group update, no login" \
        ent_is passwd update-agent "^update-agent:x:[0-9]+:${gid_update:-none}:.*:/usr/sbin/nologin$"

# tmpfiles.d (and StateDirectory=)
stat_is() { # PATH WANT ("%F %U:%G %a")
        local got
        got=$(C stat -c '%F %U:%G %a' "$1") || return 1
        [ "$got" = "$2" ] || { echo "$1: $got, want $2"; return 1; }
}
check "tmpfiles: /var/lib/update1 directory root:root 755" stat_is /var/lib/update1 "directory root:root 755"
check "tmpfiles: /var/lib/update1/health directory update-health:update 755" \
        stat_is /var/lib/update1/health "directory update-health:update 755"
check "tmpfiles: /run/lock/fw_printenv.lock regular file root:root 600" \
        stat_is /run/lock/fw_printenv.lock "regular empty file root:root 600"

# update-health: before boot-complete.target, marked the boot good
prop() { C systemctl show -P "$2" "$1"; }
health_before() {
        local h b
        [ "$(prop update-health.service ActiveState)/$(prop update-health.service Result)" = active/success ] ||
                { C systemctl status --no-pager update-health.service; return 1; }
        [ "$(prop boot-complete.target ActiveState)" = active ] || { echo "boot-complete.target not active"; return 1; }
        h=$(prop update-health.service ExecMainExitTimestampMonotonic)
        b=$(prop boot-complete.target ActiveEnterTimestampMonotonic)
        [ "$h" -gt 0 ] && [ "$h" -le "$b" ] || { echo "update-health done at $h, boot-complete.target at $b"; return 1; }
}
check "update-health.service succeeded before boot-complete.target was reached" health_before
health_marked() {
        local j
        j=$(C cat /var/lib/update1/health/health.json) || return 1
        grep -Eq '"action": *"(committed|re-armed)"' <<<"$j" || { echo "health.json: $j"; return 1; }
        [ "$(env_get BOOT_A_LEFT)" = 3 ] || { echo "BOOT_A_LEFT=$(env_get BOOT_A_LEFT), want 3 (was 1)"; return 1; }
}
check "update-health marked the boot good (health.json, BOOT_A_LEFT 1 -> 3)" health_marked

# updated: D-Bus activation on the system bus
activation() {
        # No target starts it at boot (the package's "enable" only makes its
        # dbus-org.example.Update1.service alias, as for systemd-timedated); the units that use
        # it (update-health, update-agent) want it, which only orders them after it.
        local by
        by=$(C systemctl show -p WantedBy -p RequiredBy --value updated.service | tr ' ' '\n' | grep '\.target$' || true)
        [ -z "$by" ] || { echo "updated.service is pulled in at boot by: $by"; return 1; }
        # The agent may call updated at any time: stopped too while this looks.
        C systemctl stop update-agent.service updated.service
        [ "$(prop updated.service ActiveState)" = inactive ] || { echo "updated still active after stop"; return 1; }
        C updatectl status >/dev/null || return 1
        [ "$(prop updated.service ActiveState)" = active ] || { echo "updated not active after a call"; return 1; }
        [ "$(prop updated.service MainPID)" != 0 ] || return 1
        C journalctl -b --no-pager -u dbus.service | grep -q "Activating via systemd: service name='org.example.Update1' unit='updated.service'" ||
                { echo "no activation of org.example.Update1 in dbus.service's journal"; return 1; }
        C systemctl start update-agent.service
}
check "updated is started by D-Bus activation (no target pulls it in; stopped, a call starts it)" activation

# updatectl as root, group update, another user
C useradd --create-home -G update u1inst-op && C useradd --create-home u1inst-other ||
        notok "useradd u1inst-op (group update) and u1inst-other"
status_has_a() { # RUNNER...: updatectl status through RUNNER names slot A as booted
        local o
        o=$("$@" updatectl status) || return 1
        grep -Eq '^Booted: +rootfs\.0 ' <<<"$o" || { echo "$o"; return 1; }
}
check "updatectl status as root" status_has_a C
C updatectl status 2>&1 | sed 's/^/# /' || true
check "updatectl status as u1inst-op (group update)" status_has_a as u1inst-op
check "updatectl mark-good as u1inst-op (group update)" as u1inst-op updatectl mark-good
denied() { # updatectl ARGS... as u1inst-other: refused with AccessDenied
        local o
        if o=$(as u1inst-other updatectl "$@" 2>&1); then echo "allowed: $o"; return 1; fi
        grep -q 'AccessDenied' <<<"$o" || { echo "$o"; return 1; }
}
check "updatectl status as u1inst-other is denied (AccessDenied)" denied status
check "updatectl mark-good as u1inst-other is denied (AccessDenied)" denied mark-good

# update-agent: its user, its sandbox, and it talks to the stand-in
agent() {
        local pid uid st
        [ "$(prop update-agent.service ActiveState)/$(prop update-agent.service SubState)" = active/running ] ||
                { C systemctl status --no-pager update-agent.service; return 1; }
        pid=$(prop update-agent.service MainPID)
        uid=$(C id -u update-agent)
        st=$(C cat "/proc/$pid/status")
        grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}$" <<<"$st" ||
                { echo "agent pid $pid: $(grep ^Uid: <<<"$st"), want $uid"; return 1; }
        grep -Eq '^CapEff:[[:space:]]+0+$' <<<"$st" || { echo "$(grep ^CapEff: <<<"$st")"; return 1; }
        grep -Eq '^NoNewPrivs:[[:space:]]+1$' <<<"$st" || { echo "NoNewPrivs not set"; return 1; }
        echo "$pid" >"$DIR/installed-agent.pid"
}
check "update-agent runs as update-agent, no capabilities, NoNewPrivs" agent
agent_ro() {
        local pid o
        pid=$(cat "$DIR/installed-agent.pid") || return 1
        # In the agent's own mount namespace (the pid is the container's: nsenter from inside).
        if o=$(C nsenter -t "$pid" -m -S "$(C id -u update-agent)" -G "$(C getent group update | cut -d: -f3)" \
                touch /usr/u1-agent-probe 2>&1); then echo "could write /usr"; return 1; fi
        grep -q 'Read-only file system' <<<"$o" || { echo "$o"; return 1; }
}
check "update-agent cannot write /usr (ProtectSystem=strict)" agent_ro
polled() {
        local i
        for ((i = 0; i < 100; i++)); do
                C python3 -c 'import urllib.request as u; print(u.urlopen("http://127.0.0.1:'"$DDI_PORT"'/_ctl/state").read().decode())' |
                        grep -q '/controller/v1/installed1' && return 0
                sleep 0.2
        done
        echo "the stand-in saw no poll from installed1"
        C journalctl -b --no-pager -u update-agent.service | tail -n 5
        return 1
}
check "update-agent polls the DDI stand-in" polled

failed=$(C systemctl list-units --failed --plain --no-legend 2>&1) || true
if [ -z "$failed" ]; then ok "end: systemctl --failed lists no unit"
else notok "end: systemctl --failed lists no unit" "$failed"; fi

# ---- 5. poweroff ------------------------------------------------------------------------------
C systemctl poweroff --no-block >/dev/null 2>&1 || true
rc=0
for ((i = 0; i < 300; i++)); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NSPAWN_PID" 2>/dev/null; then
        notok "poweroff: the container stops within 30 s"
else
        wait "$NSPAWN_PID" || rc=$?
        NSPAWN_PID=
        if [ "$rc" = 0 ]; then ok "poweroff: the container stops, systemd-nspawn exits 0"
        else notok "poweroff: the container stops, systemd-nspawn exits 0" "exit $rc"; fi
fi
rm -f "$HOST_FW" "$DIR/installed-agent.pid" "$DIR/installed-state"
[ "$FAILED" = 0 ] || { echo "installed: console log $LOG"; tail -n 20 "$LOG" | sed 's/^/    /'; }
msg "done"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
