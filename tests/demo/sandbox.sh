#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make sandbox`: a shell on the sandbox device of `make demo` (tests/lib/sandbox.sh), to try
# Update1 by hand: a private system-like dbus-daemon with our policy, updated booted in slot A
# (version 1), two 64 MiB file slots, a redundant U-Boot environment on a file, a throw-away
# PKI.  The shell starts in the sandbox directory, which holds a signed version 2 bundle, the
# signing key and an image to bundle; DBUS_SYSTEM_BUS_ADDRESS and PATH are set, so plain
# `updatectl status`, `updatectl install update-v2.bundle`, `updatectl reboot` (simulated) and
# `updatectl bundle create` work.  When the shell ends (exit, Ctrl-D, a kill of the shell or of
# this script, a hang-up) the daemon and the bus are stopped; the files stay for a look.
#
# Usage: tests/demo/sandbox.sh [BUILD_DIR]
#   SANDBOX_CMD='...'  run this (bash -c, in the sandbox directory) instead of a shell; the exit
#                      status is the command's
#   stdin not a terminal: bash reads the commands from it (echo 'updatectl status' | make sandbox)
#   SANDBOX_DIR=DIR    where the sandbox lives (default BUILD_DIR/sandbox; emptied first)
#
# How: a controller process (this script with --controller, in its own session so that a
# Ctrl-C at the prompt never reaches the daemons) sets the device up, owns the bus and the
# daemon, and serves requests on a FIFO ($SB/.control): "reboot" (the simulated reboot that
# `updatectl reboot` and `sandbox-reboot` ask for) and "quit".  Its stdin is a pipe from this
# script: when this script closes it or dies, even by SIGKILL, the controller reads end-of-file
# and tears everything down.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SELF=$TOP/tests/demo/sandbox.sh

if [ "${1:-}" = --controller ]; then
        # ---- the controller: tests/demo/sandbox.sh --controller BUILD_DIR SANDBOX_DIR ----------
        export UPDATE1_TOP=$TOP UPDATE1_BUILD=$2
        # shellcheck source=tests/lib/sandbox.sh
        . "$TOP/tests/lib/sandbox.sh"
        DIR=$3
        SB_COMPATIBLE=update1-sandbox
        SB_REMOVE=0            # files stay for a look; processes are always stopped
        exec {status_fd}>&1 1>&2
        ready=0
        on_exit() {
                [ "$ready" = 1 ] || echo failed >&"$status_fd"
                sb_cleanup
        }
        trap on_exit EXIT
        trap 'exit 130' INT TERM HUP
        fail() { echo "sandbox: $*" >&2; exit 1; }

        sb_init "$DIR" || fail "cannot create $DIR"
        sb_install_bins || fail "build first: make all"
        cat >"$SB/bin/sandbox-reboot" <<EOF
#!/bin/bash
# The sandbox's power button: asks the controller (tests/demo/sandbox.sh) to run the U-Boot
# script on the environment and start updated again in the slot it picks.
#   sandbox-reboot            now, printing what booted
#   sandbox-reboot --request  the [system] reboot-command= of the sandbox: returns at once; the
#                             reboot follows once updated has answered the Reboot() call
ctl=$SB/.control
[ -p "\$ctl" ] || { echo "sandbox-reboot: no sandbox running (\$ctl)" >&2; exit 1; }
if [ "\${1:-}" = --request ]; then
        echo "reboot \$\$ -" >"\$ctl"
        exit 0
fi
reply=\$(mktemp -u "$SB/.reply.XXXXXX") && mkfifo -m 0600 "\$reply" || exit 1
echo "reboot - \$reply" >"\$ctl"
out=\$(cat "\$reply")
rm -f "\$reply"
echo "\$out"
[[ "\$out" == "sandbox: booted "* ]]
EOF
        chmod 0755 "$SB/bin/sandbox-reboot"

        sb_make_pki "$SB/pki" || fail "PKI"
        cp "$SB/pki/signer.crt" "$SB/pki/signer.key" "$SB/pki/ca.crt" "$SB/" || fail "PKI"
        sb_make_slots "$SB" 64M || fail "slots"
        sb_make_ext4 "$SB/v1.ext4" 64M 1 && dd if="$SB/v1.ext4" of="$SB_SLOT_A" conv=notrunc status=none ||
                fail "slot A"
        rm -f "$SB/v1.ext4"
        sb_make_env "$SB" || fail "U-Boot environment"
        sb_write_config "$SB/system.conf" || fail "system.conf"
        # Reboot() runs the simulated reboot, never the host's systemctl reboot.
        sed -i "/^\[system\]/a reboot-command=$SB/bin/sandbox-reboot --request" "$SB/system.conf"
        SB_CONFIG=$SB/system.conf
        sb_make_ext4 "$SB/rootfs-v2.ext4" 48M 2 && sb_bundle "$SB/update-v2.bundle" 2 "$SB/rootfs-v2.ext4" ||
                fail "bundle"
        rm -f "$SB/rootfs-v2.ext4"
        sb_make_ext4 "$SB/rootfs-v3.ext4" 48M 3 || fail "image v3"
        sb_start_bus || fail "dbus-daemon did not start"
        sb_start_updated A || fail "updated did not start"
        mkfifo -m 0600 "$SB/.control" || fail "control FIFO"
        exec {ctl}<>"$SB/.control"
        echo $$ >"$SB/.controller.pid"
        # The lifeline: end of file on stdin (the script closed it or died) means quit.
        (read -r _; echo quit >"$SB/.control") <&0 &
        ready=1
        echo ready >&"$status_fd"
        exec {status_fd}>&-

        # reboot WAITPID REPLY: WAITPID (the reboot-command's process, or -) must be gone first:
        # updated reaps it and answers the Reboot() call in the same step, and a Ping through the
        # same connection comes back only after that answer.  REPLY: a FIFO for the outcome, or -
        # (the terminal: the user typed `updatectl reboot`).
        reboot() {
                local pid=$1 i
                if [ "$pid" != - ]; then
                        for ((i = 0; i < SB_WAIT * 50; i++)); do
                                [ -e "/proc/$pid" ] || break
                                sleep 0.02
                        done
                        dbus-send --system --print-reply --dest="$SB_NAME" "$SB_PATH" org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1
                fi
                if sb_reboot; then
                        echo "sandbox: booted $SB_BOOTED; updated runs in it (kernel command line: $(cat "$SB/cmdline"))"
                else
                        echo "sandbox: the simulated reboot failed; see $SB/updated.log"
                fi
        }
        while read -r cmd pid reply <&"$ctl"; do
                case $cmd in
                quit) break ;;
                reboot)
                        # Not in a pipe or $(...): the daemon it starts must be our child.
                        if [ "${reply:--}" = - ]; then
                                echo
                                reboot "$pid" >&2
                        else
                                reboot "$pid" >"$reply" 2>&1
                        fi
                        ;;
                esac
        done
        exit 0
fi

# ---- the front: set up through the controller, run the shell, tear down -------------------------
BUILD=${1:-build}
BUILD=$(cd "$TOP" && mkdir -p "$BUILD" && cd "$BUILD" && pwd)
SB=${SANDBOX_DIR:-$BUILD/sandbox}
mkdir -p "$SB" && SB=$(cd "$SB" && pwd) || exit 1
# A controller of this directory still running (its pid file outlives a SIGKILL; the PID may
# have been reused since, hence the command line).
if [ -e "$SB/.controller.pid" ] &&
   [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$(cat "$SB/.controller.pid")/cmdline")" == *"--controller $BUILD $SB "* ]]; then
        echo "sandbox: another sandbox is running in $SB (controller $(cat "$SB/.controller.pid"))" >&2
        exit 1
fi

coproc CTRL { exec setsid -w bash "$SELF" --controller "$BUILD" "$SB"; }
CTRL_PID_=$CTRL_PID     # bash unsets CTRL_PID once the coprocess has ended
CTRL_IN=${CTRL[1]}
CTRL_OUT=${CTRL[0]}
CHILD=
teardown() {
        local rc=${1:-$?} i
        trap - EXIT INT TERM HUP
        if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
                kill -HUP "$CHILD" 2>/dev/null     # an interactive bash ignores SIGTERM
                wait "$CHILD" 2>/dev/null
        fi
        [ -n "$CTRL_IN" ] && exec {CTRL_IN}>&-
        # The controller stops the daemon and the bus when its lifeline closes (bounded: each
        # process gets 10 s to go).  If it has not gone after 30 s, SIGTERM it: its trap does the same.
        for ((i = 0; i < 1500; i++)); do
                kill -0 "$CTRL_PID_" 2>/dev/null || break
                sleep 0.02
        done
        if kill -0 "$CTRL_PID_" 2>/dev/null; then
                echo "sandbox: the controller did not stop; sending it SIGTERM" >&2
                kill -TERM "$CTRL_PID_" 2>/dev/null
        fi
        wait "$CTRL_PID_" 2>/dev/null
        echo "sandbox stopped (updated and the bus are gone); files stay in $SB" >&2
        exit "$rc"
}
trap teardown EXIT
trap 'teardown 130' INT
trap 'teardown 143' TERM
trap 'teardown 129' HUP

echo "sandbox: setting up in $SB ..." >&2
status=
read -r status <&"$CTRL_OUT"
if [ "$status" != ready ]; then
        echo "sandbox: set-up failed (see above)" >&2
        exit 1
fi

export SB DBUS_SYSTEM_BUS_ADDRESS="unix:path=$SB/bus/system_bus_socket"
for d in /usr/local/sbin /usr/sbin /sbin; do # fw_printenv, mkfs.ext4
        case ":$PATH:" in *":$d:"*) ;; *) PATH=$PATH:$d ;; esac
done
export PATH="$SB/bin:$PATH"
cd "$SB" || exit 1

cat >"$SB/WELCOME" <<EOF
Update1 sandbox: updated runs on a private system bus, booted in slot A (version 1), in
$SB
  update-v2.bundle      a signed bundle (version 2)      rootfs-v3.ext4  an image to bundle
  signer.crt signer.key the signing certificate and key  ca.crt          the keyring
  system.conf  uboot.env + fw_env.config  slot-a.img slot-b.img  updated.log
Try:
  updatectl status
  updatectl install update-v2.bundle
  updatectl reboot                      # simulated: U-Boot's script on uboot.env picks a slot
  updatectl status                      # booted B, on trial
  updatectl mark-good                   # commit it (update-health does this on a device)
  updatectl bundle create --cert signer.crt --key signer.key --compatible update1-sandbox \\
      --version 3 --image rootfs=rootfs-v3.ext4 -o update-v3.bundle
  updatectl bundle info --keyring ca.crt update-v3.bundle
  fw_printenv -c fw_env.config          # what the bootloader sees
  sandbox-reboot                        # power-cycle without asking updated
exit or Ctrl-D stops the daemon and the bus.
EOF
cat >"$SB/.bashrc" <<'EOF'
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
case ":$PATH:" in *":$SB/bin:"*) ;; *) PATH="$SB/bin:$PATH" ;; esac
PS1="(update1-sandbox) ${PS1:-\$ }"
cat "$SB/WELCOME"
EOF

# The shell in the background of this script (explicit stdin: a background job's would be
# /dev/null), so that a signal to this script is handled at once, not after the shell ends.
if [ -n "${SANDBOX_CMD:-}" ]; then
        bash -c "$SANDBOX_CMD" <&0 &
elif [ -t 0 ]; then
        bash --rcfile "$SB/.bashrc" -i <&0 &
else
        bash -s <&0 &
fi
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=
teardown "$rc"
