# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers of the emulated-board suite (tests/system/run.sh): one QEMU process per boot, the
# host's step for that boot on a small virtio disk, the serial console captured per boot, the
# U-Boot env and slot contents read back from the disk image with mtools / dd.
#
# Conventions: functions return 0/1; "need DESC CMD..." prints "    not ok: DESC" and fails,
# so a scenario reads as a list of "need ... || return 1".

SYS_IMG=$SYS_BUILD/system/img
SYS_RUNDIR=$SYS_BUILD/system/run
QEMU_TIMEOUT=${QEMU_TIMEOUT:-150}   # seconds one boot may take (TCG on a loaded 2-core host)
QEMU_SMP=${QEMU_SMP:-1}

# shellcheck disable=SC1091
. "$SYS_IMG/layout"   # BOOT_MIB SLOT_MIB ROOTFS_MIB DATA_MIB

sys_msg() { echo "$*" >&2; }

# need DESC CMD...: runs CMD; on failure prints DESC (and where the logs are) and fails.
need() {
        local desc=$1
        shift
        if "$@"; then
                return 0
        fi
        echo "    not ok: $desc (boot log: ${BOOT_LOG:-none})"
        return 1
}

# ---- one board per scenario -------------------------------------------------------------------
# board_new NAME: a fresh copy of the factory disk in $SYS_RUNDIR/NAME.
board_new() {
        BOARD_DIR=$SYS_RUNDIR/$1
        rm -rf "$BOARD_DIR"
        mkdir -p "$BOARD_DIR"
        cp --sparse=always "$SYS_IMG/disk.img" "$BOARD_DIR/disk.img"
        printf '%s 0x0000 0x4000 0x4000 1\n%s 0x4000 0x4000 0x4000 1\n' \
                "$BOARD_DIR/uboot.env" "$BOARD_DIR/uboot.env" >"$BOARD_DIR/fw_env.config"
        BOARD_BOOTS=0
        BOOT_LOG=
        BOARD_NET=0
}

# board_net_on: the board's later boots get a network (QEMU user network, a virtio-net NIC):
# the guest is 10.0.2.15 and reaches the host's 127.0.0.1 as 10.0.2.2.  Off by default, so
# the scenarios without a server boot exactly as before.
board_net_on() { BOARD_NET=1; }

# board_boot STEP [KILL_REGEX]: one power-on of the board.  STEP is shell code the guest init
# runs after update-health (tests/system/guest/init: status_json, env_dump, u1_install,
# board_reboot, say).  With KILL_REGEX, QEMU is SIGKILLed (power cut) as soon as a console line
# matches it.  Sets BOOT_LOG (console, \r removed), BOOT_END (poweroff|reboot|reset|killed|
# timeout), BOOT_SECONDS.  Fails only if QEMU could not run or the boot timed out.
board_boot() {
        local step=$1 kill_re=${2:-} n line partial='' rc t0 deadline end='' log_fd net=(-net none)
        [ "${BOARD_NET:-0}" = 1 ] && net=(-netdev "user,id=net0" -device "virtio-net-pci,netdev=net0,romfile=")
        BOARD_BOOTS=$((BOARD_BOOTS + 1))
        n=$BOARD_BOOTS
        BOOT_LOG=$BOARD_DIR/boot-$n.log
        rm -f "$BOARD_DIR/step.img"
        truncate -s 64K "$BOARD_DIR/step.img"
        printf '%s\n' "$step" | dd of="$BOARD_DIR/step.img" conv=notrunc status=none
        exec {log_fd}>"$BOOT_LOG"
        t0=$(date +%s%N)
        deadline=$((SECONDS + QEMU_TIMEOUT))
        # The console is read line by line here (no polling processes: they would churn PIDs).
        coproc QEMU_BOARD {
                exec qemu-system-aarch64 -machine virt -cpu cortex-a57 -smp "$QEMU_SMP" -m 512 -nographic \
                        -no-reboot -bios /usr/lib/u-boot/qemu_arm64/u-boot.bin \
                        -drive if=pflash,format=raw,index=1,file="$SYS_IMG/flash1.img",readonly=on \
                        -drive if=none,id=sys,format=raw,file="$BOARD_DIR/disk.img" -device virtio-blk-pci,drive=sys \
                        -drive if=none,id=bundles,format=raw,file="$SYS_IMG/bundles.img",readonly=on \
                        -device virtio-blk-pci,drive=bundles \
                        -drive if=none,id=step,format=raw,file="$BOARD_DIR/step.img",readonly=on \
                        -device virtio-blk-pci,drive=step \
                        "${net[@]}" </dev/null 2>&1
        }
        local pid=$QEMU_BOARD_PID fd=${QEMU_BOARD[0]}
        while :; do
                IFS= read -r -t 1 -u "$fd" line
                rc=$?
                if [ $rc -gt 128 ]; then            # no complete line within 1 s
                        partial+=$line
                        if [ $SECONDS -ge $deadline ]; then
                                kill -KILL "$pid" 2>/dev/null
                                end=timeout
                                break
                        fi
                        continue
                fi
                line=$partial$line
                partial=
                [ $rc = 0 ] || { [ -n "$line" ] && printf '%s\n' "${line%$'\r'}" >&"$log_fd"; break; }   # EOF
                line=${line%$'\r'}
                printf '%s\n' "$line" >&"$log_fd"
                if [ -n "$kill_re" ] && [[ $line =~ $kill_re ]]; then
                        kill -KILL "$pid" 2>/dev/null    # the power cut
                        end=killed
                        break
                fi
        done
        wait "$pid" 2>/dev/null
        exec {log_fd}>&-
        BOOT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
        BOOT_SECONDS=$(printf '%d.%d' $((BOOT_MS / 1000)) $((BOOT_MS % 1000 / 100)))
        if [ -z "$end" ]; then
                if grep -q '^U1SYS: poweroff' "$BOOT_LOG"; then end=poweroff
                elif grep -q '^U1SYS: reboot' "$BOOT_LOG"; then end=reboot
                else end=reset
                fi
        fi
        # shellcheck disable=SC2034 # read by the scenarios
        BOOT_END=$end
        printf '    boot %d: U-Boot chose %-2s %-9s %5ss  %s\n' "$n" "$(boot_uboot_slot || echo -)" "$end" "$BOOT_SECONDS" \
                "$(boot_userspace || echo 'no userspace')"
        if [ "$end" = timeout ]; then
                echo "    not ok: boot $n did not end within ${QEMU_TIMEOUT}s (log: $BOOT_LOG)"
                return 1
        fi
        if grep -q '^U1SYS: FATAL' "$BOOT_LOG"; then
                echo "    not ok: $(grep -m1 '^U1SYS: FATAL' "$BOOT_LOG") (log: $BOOT_LOG)"
                return 1
        fi
        return 0
}

# ---- what the last boot said ------------------------------------------------------------------
# The slot U-Boot (uboot-boot.cmd through the board glue) chose: A or B.
boot_uboot_slot() { sed -n 's/^BOARD: booting partition [0-9]*: .*update1\.slot=\([A-Za-z0-9_]*\).*/\1/p' "$BOOT_LOG" | tail -n 1 | grep .; }
# "slot=A version=1.0" of the root file system that reached userspace
boot_userspace() { sed -n 's/^U1SYS: userspace \(slot=[^ ]* version=[^ ]*\).*/\1/p' "$BOOT_LOG" | grep .; }
boot_has() { grep -qE "$1" "$BOOT_LOG"; }
boot_lacks() { ! grep -qE "$1" "$BOOT_LOG"; }
# boot_json KIND EXPR: evaluates EXPR (python, d = the document) on the last "U1SYS: KIND {...}"
# line; prints strings raw, other values as JSON.
boot_json() {
        local line
        line=$(grep "^U1SYS: $1 " "$BOOT_LOG" | tail -n 1)
        [ -n "$line" ] || { echo "(no $1 line)"; return 1; }
        printf '%s\n' "${line#"U1SYS: $1 "}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def slot(name):
    return next(s for s in d["slots"] if s["name"] == name)
try:
    v = eval(sys.argv[1])
except (KeyError, StopIteration, TypeError):
    v = None
print(v if isinstance(v, str) else json.dumps(v))' "$2"
}
# boot_json_is KIND EXPR VALUE
boot_json_is() {
        local v
        v=$(boot_json "$1" "$2")
        [ "$v" = "$3" ] && return 0
        echo "    $1: $2 is '$v', expected '$3'"
        return 1
}
boot_install_exit() { sed -n 's/^U1SYS: install-exit //p' "$BOOT_LOG" | tail -n 1; }
boot_install_error() { sed -n 's/^U1SYS: install-log updatectl: //p' "$BOOT_LOG" | tail -n 1; }

# ---- the board's persistent state, read from the disk image -----------------------------------
# env_get VAR: the U-Boot env as libubootenv on the host reads uboot.env out of the FAT.
env_get() {
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" ::uboot.env "$BOARD_DIR/uboot.env" || return 1
        fw_printenv -c "$BOARD_DIR/fw_env.config" -n "$1" 2>/dev/null
}
env_all() {
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" ::uboot.env "$BOARD_DIR/uboot.env" || return 1
        fw_printenv -c "$BOARD_DIR/fw_env.config" 2>/dev/null | sort | tr '\n' ' '
}
# env_is VAR VALUE ("" = unset)
env_is() {
        local v
        v=$(env_get "$1")
        [ "$v" = "$2" ] && return 0
        echo "    env: $1 is '$v', expected '$2' (env: $(env_all))"
        return 1
}
# slot_sha256 A|B: sha256 of the first ROOTFS_MIB MiB of the slot's partition.
slot_sha256() {
        local start
        case $1 in A) start=$((BOOT_MIB + 16)) ;; B) start=$((BOOT_MIB + 16 + SLOT_MIB)) ;; *) return 1 ;; esac
        dd if="$BOARD_DIR/disk.img" bs=1M skip="$start" count="$ROOTFS_MIB" status=none | sha256sum | cut -d' ' -f1
}
image_sha256() { awk -v f="$1.ext4" '$2 == f { print $1 }' "$SYS_IMG/images.sha256"; }
# slot_holds A|B IMAGE (v1, v2, ...)
slot_holds() {
        [ "$(slot_sha256 "$1")" = "$(image_sha256 "$2")" ] && return 0
        echo "    slot $1 does not hold image $2"
        return 1
}

# data_json FILE EXPR: EXPR (python, d = the document) on FILE of the board's data partition
# (/var/lib/update1 in the guest), read on the host from a copy of the partition whose ext4
# journal was replayed (the board may have been reset right after writing it).
data_json() {
        local part=$BOARD_DIR/data.ext4
        dd if="$BOARD_DIR/disk.img" of="$part" bs=1M skip=$((BOOT_MIB + 16 + 2 * SLOT_MIB)) count="${DATA_MIB:-16}" status=none &&
                e2fsck -y -E journal_only "$part" >/dev/null 2>&1
        debugfs -R "cat /$1" "$part" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    v = eval(sys.argv[1])
except Exception as e:
    v = "(unreadable: %s)" % e
print(v if isinstance(v, str) else json.dumps(v))' "$2"
}
data_json_is() {
        local v
        v=$(data_json "$1" "$2")
        [ "$v" = "$3" ] && return 0
        echo "    data partition $1: $2 is '$v', expected '$3'"
        return 1
}

# env_write_copies FLAGS0 VARS0 FLAGS1 VARS1: writes uboot.env on the board's FAT with two
# hand-made redundant copies (VARS: "NAME=value;NAME=value", FLAGS: 0..255), as libubootenv
# and U-Boot lay them out: CRC32 (LE) of the 0x3ffb data bytes, the flags byte, the data.
env_write_copies() {
        python3 - "$BOARD_DIR/uboot.env" "$@" <<'PY' || return 1
import struct, sys, zlib
out, copies = sys.argv[1], []
for flags, spec in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    data = b"".join(v.encode() + b"\0" for v in spec.split(";") if v) + b"\0"
    data = data.ljust(0x4000 - 5, b"\0")
    copies.append(struct.pack("<I", zlib.crc32(data)) + bytes([int(flags)]) + data)
open(out, "wb").write(b"".join(copies))
PY
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" "$BOARD_DIR/uboot.env" ::uboot.env
}
# env_flags: "F0 F1", the flags bytes of the two copies on the disk.
env_flags() {
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" ::uboot.env "$BOARD_DIR/uboot.env" || return 1
        echo "$(od -An -tu1 -j4 -N1 "$BOARD_DIR/uboot.env" | tr -d ' ') $(od -An -tu1 -j$((0x4004)) -N1 "$BOARD_DIR/uboot.env" | tr -d ' ')"
}
# env_corrupt_copy 0|1: flips a data byte of that copy (a torn write of it).
env_corrupt_copy() {
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" ::uboot.env "$BOARD_DIR/uboot.env" || return 1
        python3 - "$BOARD_DIR/uboot.env" $(( $1 * 0x4000 + 5 )) <<'PY' || return 1
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
PY
        mcopy -o -n -i "$BOARD_DIR/disk.img@@${BOOT_MIB}M" "$BOARD_DIR/uboot.env" ::uboot.env
}
