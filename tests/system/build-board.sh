#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds everything the emulated arm64 board needs, without root-only tools (no loop devices,
# no mounts): mkfs.ext4 -d, mkfs.vfat + mtools, sfdisk and dd on plain files.
#
#   tests/system/build-board.sh BUILD_DIR
#
# 1. arm64 sysroot (sysroot.sh) and our stack cross-built into BUILD_DIR/arm64 with the
#    project Makefile (CC=aarch64-linux-gnu-gcc --sysroot, PKG_CONFIG=the sysroot wrapper);
#    host updatectl/updated for bundle creation and the host-side comparison.
# 2. A root file system tree: busybox, our binaries, dbus-daemon with our policy and
#    activation file, fw_printenv/fw_setenv, the shared libraries they need (readelf NEEDED,
#    recursively) and the arm64 ld.so; kernel + initramfs in /boot of every slot.
# 3. Root file system images (ext4): v1 (factory, slots A and B), and the update payloads
#    v2 (good), v2-red (a required health check fails), v2-noboot (an initramfs that the
#    kernel cannot unpack: never reaches userspace), v3 (good).
# 4. disk.img: GPT; 1 boot (FAT: board.scr, boot.scr, uboot.env), 2 rootfs-a, 3 rootfs-b,
#    4 data.  flash1.img: the board's read-only default U-Boot env (pflash).
# 5. Signed bundles (host updatectl bundle create) on bundles.img (ext4, the guest's
#    /dev/vdb): the four payloads, a tampered copy of v2 and one for another compatible.
#
# Output in BUILD_DIR/system/img/.  Reused as they are: the package downloads, the
# cross-compiled objects (make decides), the test PKI, and the images when none of their
# inputs changed (BUILD_DIR/system/img/inputs.sha256).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:?usage: build-board.sh BUILD_DIR}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
W=$BUILD/system
SYSROOT=$BUILD/arm64-sysroot
ARM=$BUILD/arm64
KDIR=$W/kernel
IMG=$W/img
COMPATIBLE=update1-qemu-arm64
SLOT_MIB=80          # rootfs partitions; the images are smaller (ROOTFS_MIB)
DATA_MIB=64          # data: updated's status, health records, update-agent's state and downloads
CROSS=aarch64-linux-gnu-

log() { echo "build-board: $*" >&2; }

# ---- 1. sysroot, cross build, host tools ---------------------------------------------------
bash "$TOP/tests/system/sysroot.sh" "$BUILD"

# BUILD as the Makefile is normally given it (relative to the top directory when inside it):
# its dependency files name targets that way, and a header change must rebuild them.
mkrel() { local r; r=$(realpath -m --relative-to="$TOP" "$1"); case $r in ../*) echo "$1" ;; *) echo "$r" ;; esac; }
log "cross-compiling updated, updatectl, update-health, update-agent for arm64 into $ARM"
make -C "$TOP" --no-print-directory -j"$(nproc)" BUILD="$(mkrel "$ARM")" \
        CC="${CROSS}gcc --sysroot=$SYSROOT" AR="${CROSS}ar" PKG_CONFIG="$W/pkg-config" \
        "$(mkrel "$ARM")/updated" "$(mkrel "$ARM")/updatectl" "$(mkrel "$ARM")/update-health" \
        "$(mkrel "$ARM")/update-agent" \
        "$(mkrel "$ARM")/dbus/org.example.Update1.service" >"$W/cross-build.log" 2>&1 ||
        { tail -n 30 "$W/cross-build.log" >&2; log "cross build failed (log: $W/cross-build.log)"; exit 1; }
log "building the host updatectl (with updatectl-bundle, which makes the bundles) and updated"
make -C "$TOP" --no-print-directory -j"$(nproc)" BUILD="$(mkrel "$BUILD")" \
        "$(mkrel "$BUILD")/updatectl" "$(mkrel "$BUILD")/updatectl-bundle" "$(mkrel "$BUILD")/updated" \
        >"$W/host-build.log" 2>&1 ||
        { tail -n 30 "$W/host-build.log" >&2; log "host build failed (log: $W/host-build.log)"; exit 1; }

# ---- test PKI (kept across runs: the keyring is baked into the root file systems) ----------
if [ ! -f "$W/pki/signer.key" ]; then
        # shellcheck source=../lib/sandbox.sh
        . "$TOP/tests/lib/sandbox.sh"
        sb_make_pki "$W/pki"
fi
# TLS for update-agent's servers on the host (tests/system/scenarios.sh agent-*): a CA, the
# brokers' server certificate for the address the board reaches the host at (QEMU user
# network: 10.0.2.2) and the board's client certificate (CN = its thing name / controller id).
# Baked into the root file systems, as a device's own certificate is at the factory.
# (Not under $W/pki: the rejected scenario copies that directory flat into a host sandbox.)
if [ ! -f "$W/agent-tls/client.key" ]; then
        mkdir -p "$W/agent-tls"
        (
                cd "$W/agent-tls"
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
                        -keyout ca.key -out ca.crt -subj "/CN=Update1 board test CA" 2>/dev/null
                mk() { # NAME CN EXT
                        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
                                -subj "/CN=$2" 2>/dev/null &&
                        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
                                -out "$1.crt" -extfile <(printf '%s' "$3") 2>/dev/null
                }
                mk server 10.0.2.2 "subjectAltName=IP:10.0.2.2,IP:127.0.0.1
extendedKeyUsage=serverAuth"
                mk client update1-board "extendedKeyUsage=clientAuth"
                mk emu aws-iot-jobs-emulator "extendedKeyUsage=clientAuth"
                rm -f ./*.csr
        ) || { log "agent TLS certificates failed"; exit 1; }
        chmod 0644 "$W/agent-tls/"*
fi

mkdir -p "$IMG"

# Nothing below changes unless one of its inputs did: reuse the last images then.
inputs_sum() {
        (cd "$TOP" && find tests/system/build-board.sh tests/system/board tests/system/guest \
                packaging/bootloader/uboot-boot.cmd packaging/health policy dbus -type f | LC_ALL=C sort |
                xargs sha256sum
         sha256sum "$ARM/updated" "$ARM/updatectl" "$ARM/update-health" "$ARM/update-agent" "$BUILD/updatectl" "$BUILD/updatectl-bundle" \
                "$W/sysroot.ok" "$W/pki/ca.crt" "$W/pki/signer.crt" "$W/agent-tls/client.crt") | sha256sum | cut -d' ' -f1
}
sum=$(inputs_sum)
if [ -f "$IMG/inputs.sha256" ] && [ "$(cat "$IMG/inputs.sha256")" = "$sum" ] &&
   [ -f "$IMG/disk.img" ] && [ -f "$IMG/bundles.img" ] && [ -f "$IMG/flash1.img" ]; then
        log "images are up to date ($IMG)"
        exit 0
fi
rm -f "$IMG/inputs.sha256"

# ---- 2. initramfs ----------------------------------------------------------------------------
KVER=$(ls "$KDIR/lib/modules")
KIMAGE=$KDIR/boot/vmlinuz-$KVER    # Debian's arm64 vmlinuz is an uncompressed Image: booti takes it
I=$W/initramfs
rm -rf "$I"
mkdir -p "$I/bin" "$I/lib/modules"
cp "$SYSROOT/bin/busybox" "$I/bin/busybox"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
         fat vfat nls_cp437 nls_ascii failover net_failover virtio_net; do
        f=$(find "$KDIR/lib/modules" -name "$m.ko")
        [ -n "$f" ] || { log "kernel module $m not found"; exit 1; }
        cp "$f" "$I/lib/modules/"
done
install -m 0755 "$TOP/tests/system/guest/initramfs-init" "$I/init"
# uncompressed: unpacking a gzip archive costs more under TCG than reading 3 MB more
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$IMG/initrd.img"

# ---- 2. root file system tree ----------------------------------------------------------------
R=$W/rootfs/base
rm -rf "$W/rootfs"
mkdir -p "$R"
(cd "$R" && mkdir -p usr/bin usr/sbin usr/lib/aarch64-linux-gnu usr/libexec/update1 usr/libexec/board \
        usr/share/dbus-1/system.d usr/share/dbus-1/system-services usr/lib/update-health/required.d \
        usr/lib/update-health/wanted.d etc/update1 etc/update-health proc sys dev run tmp root boot/firmware \
        var/lib/update1 var/lib/dbus media/bundles &&
        ln -s usr/bin bin && ln -s usr/sbin sbin && ln -s usr/lib lib &&
        ln -s ../run/lock var/lock && ln -s ../run var/run &&
        ln -s update1/agent var/lib/update-agent)   # update-agent's state on the data partition
chmod 1777 "$R/tmp"

# busybox and its applets (names read from the binary's packed applet table)
cp "$SYSROOT/bin/busybox" "$R/usr/bin/busybox"
applets=$(python3 - "$SYSROOT/bin/busybox" <<'EOF'
import re, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\0findfs\0')
start, end = d.rfind(b'\0\0', 0, i), d.find(b'\0\0', i)
for n in d[start + 2:end].split(b'\0'):
    if re.fullmatch(rb'[a-z][a-z0-9_.-]*', n):
        print(n.decode())
EOF
)
for a in $applets; do
        case $a in init|linuxrc|busybox) continue ;; esac
        ln -s busybox "$R/usr/bin/$a"
done
for a in sh mount switch_root poweroff reboot su setpriv sed tr ip hostname; do
        [ -e "$R/usr/bin/$a" ] || { log "busybox lacks the applet $a"; exit 1; }
done

# our stack (stripped: the board image is a product image)
install -m 0755 "$ARM/updated" "$R/usr/libexec/update1/updated"
install -m 0755 "$ARM/updatectl" "$ARM/update-health" "$ARM/update-agent" "$R/usr/bin/"
"${CROSS}strip" "$R/usr/libexec/update1/updated" "$R/usr/bin/updatectl" "$R/usr/bin/update-health" \
        "$R/usr/bin/update-agent"
install -m 0644 "$TOP/policy/org.example.Update1.conf" "$R/usr/share/dbus-1/system.d/"
install -m 0644 "$ARM/dbus/org.example.Update1.service" "$R/usr/share/dbus-1/system-services/"
install -m 0755 "$TOP/packaging/health/required.d/"* "$R/usr/lib/update-health/required.d/"
install -m 0755 "$TOP/packaging/health/wanted.d/"* "$R/usr/lib/update-health/wanted.d/"
install -m 0755 "$TOP/tests/system/guest/init" "$R/usr/sbin/init"
install -m 0755 "$TOP/tests/system/guest/board-reboot" "$R/usr/libexec/board/reboot"

# the system bus (Debian's system.conf, unchanged) and the U-Boot env tools
install -m 0755 "$SYSROOT/usr/bin/dbus-daemon" "$SYSROOT/usr/bin/dbus-send" "$R/usr/bin/"
install -m 0644 "$SYSROOT/usr/share/dbus-1/system.conf" "$R/usr/share/dbus-1/system.conf"
cp -L "$SYSROOT/usr/bin/fw_printenv" "$R/usr/bin/fw_printenv"
ln -sf fw_printenv "$R/usr/bin/fw_setenv"   # one binary, behaviour by its name

# shared libraries: NEEDED entries, recursively, from the sysroot; plus the dynamic loader
LIBDIR=$R/usr/lib/aarch64-linux-gnu
find_lib() {
        local d
        for d in "$SYSROOT/lib/aarch64-linux-gnu" "$SYSROOT/usr/lib/aarch64-linux-gnu"; do
                [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
        done
        return 1
}
queue=("$R/usr/libexec/update1/updated" "$R/usr/bin/updatectl" "$R/usr/bin/update-health" "$R/usr/bin/update-agent"
       "$R/usr/bin/dbus-daemon" "$R/usr/bin/dbus-send" "$R/usr/bin/fw_printenv")
# What updated dlopen()s is in no NEEDED entry: libblkid for the board's PARTLABEL= slots
# (libcurl comes with update-agent; libsquashfs is left out: the board installs no RAUC bundle
# and its root file system is nearly full).
dlopen_libs=(libblkid.so.1)
for n in "${dlopen_libs[@]}"; do
        src=$(find_lib "$n") || { log "library $n (dlopen()ed by updated) is not in the sysroot"; exit 1; }
        cp -L "$src" "$LIBDIR/$n"
        queue+=("$LIBDIR/$n")
done
while [ ${#queue[@]} -gt 0 ]; do
        f=${queue[0]}
        queue=("${queue[@]:1}")
        for n in $("${CROSS}readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                [ -e "$LIBDIR/$n" ] && continue
                src=$(find_lib "$n") || { log "library $n (needed by ${f#"$R"}) is not in the sysroot"; exit 1; }
                cp -L "$src" "$LIBDIR/$n"
                queue+=("$LIBDIR/$n")
        done
done
cp -L "$SYSROOT/lib/ld-linux-aarch64.so.1" "$R/usr/lib/ld-linux-aarch64.so.1"

# /etc: users (dbus runs as messagebus; update-health as its own user in group "update",
# as packaging/sysusers.d/update-health.conf creates them), configuration, keyring
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/usr/sbin/nologin
update-health:x:101:102::/nonexistent:/usr/sbin/nologin
update-agent:x:102:102::/nonexistent:/usr/sbin/nologin
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
messagebus:x:101:
update:x:102:update-health,update-agent
EOF
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$R/etc/nsswitch.conf"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$R/etc/machine-id"
echo >>"$R/etc/machine-id"
echo update1-board >"$R/etc/hostname"
cp "$W/pki/ca.crt" "$R/etc/update1/keyring.pem"
# update-agent's TLS material (its key readable by it alone: uid 102 above)
install -d -m 0755 "$R/etc/update1/agent-tls"
install -m 0644 "$W/agent-tls/ca.crt" "$W/agent-tls/client.crt" "$R/etc/update1/agent-tls/"
install -m 0600 -o 102 -g 102 "$W/agent-tls/client.key" "$R/etc/update1/agent-tls/"
# libubootenv: two redundant copies in one file on the FAT partition
cat >"$R/etc/fw_env.config" <<'EOF'
# U-Boot env of the test board: /uboot.env on the FAT boot partition, two redundant copies
# (CRC32 + flags byte + data each), read and written by tests/system/board/board.cmd too.
/boot/firmware/uboot.env 0x0000 0x4000 0x4000 1
/boot/firmware/uboot.env 0x4000 0x4000 0x4000 1
EOF
cat >"$R/etc/update1/system.conf" <<EOF
# Update1 on the emulated qemu_arm64 test board (tests/system/build-board.sh)
[system]
compatible=$COMPATIBLE
bootloader=uboot
data-directory=/var/lib/update1
reboot-command=/usr/libexec/board/reboot
# The board's init starts updated itself (no systemd to activate it again): never exit on idle.
idle-timeout=0

[keyring]
path=/etc/update1/keyring.pem

[uboot]
fw-env-config=/etc/fw_env.config

[slot.rootfs.0]
device=PARTLABEL=rootfs-a
type=ext4
bootname=A

[slot.rootfs.1]
device=PARTLABEL=rootfs-b
type=ext4
bootname=B
EOF

# kernel and initramfs of this slot
cp "$KIMAGE" "$R/boot/Image"
cp "$IMG/initrd.img" "$R/boot/initrd.img"

# ---- 3. root file system images ----------------------------------------------------------------
ROOTFS_MIB=$(( $(du -sm "$R" | cut -f1) * 5 / 4 + 8 ))
[ "$ROOTFS_MIB" -le "$SLOT_MIB" ] || { log "root file system ($ROOTFS_MIB MiB) does not fit a slot ($SLOT_MIB MiB)"; exit 1; }
# make_rootfs NAME VERSION [KIND]: KIND red = a required health check that fails,
# noboot = /boot/initrd.img the kernel cannot unpack (no userspace: kernel panic, reset)
make_rootfs() {
        local name=$1 version=$2 kind=${3:-good} t=$W/rootfs/$1
        cp -a "$R" "$t"
        printf 'NAME="Update1 test board"\nID=update1-board\nVERSION="%s"\nVERSION_ID=%s\n' \
                "$version" "$version" >"$t/etc/os-release"
        case $kind in
        red)
                printf '#!/bin/sh\necho "board self-test of %s: FAILED (on purpose)"\nexit 1\n' "$version" \
                        >"$t/usr/lib/update-health/required.d/50-board-selftest"
                chmod 0755 "$t/usr/lib/update-health/required.d/50-board-selftest"
                ;;
        noboot)
                head -c 1M /dev/urandom >"$t/boot/initrd.img"
                ;;
        esac
        rm -f "$IMG/$name.ext4"
        mkfs.ext4 -q -F -L rootfs -d "$t" "$IMG/$name.ext4" "${ROOTFS_MIB}M" >/dev/null
        rm -rf "$t"
}
log "root file systems (${ROOTFS_MIB} MiB each)"
make_rootfs v1 1.0
make_rootfs v2 2.0
make_rootfs v2-red 2.0-red red
make_rootfs v2-noboot 2.0-noboot noboot
make_rootfs v3 3.0

# ---- 4. disk image -----------------------------------------------------------------------------
log "disk image"
mkimage -A arm64 -T script -C none -n "Update1 board glue" -d "$TOP/tests/system/board/board.cmd" \
        "$IMG/board.scr" >/dev/null
mkimage -A arm64 -T script -C none -n "Update1 A/B" -d "$TOP/packaging/bootloader/uboot-boot.cmd" \
        "$IMG/boot.scr" >/dev/null
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' | mkenvimage -r -s 0x4000 -o "$IMG/env-copy.bin" -
cat "$IMG/env-copy.bin" "$IMG/env-copy.bin" >"$IMG/uboot.env"
rm -f "$IMG/env-copy.bin" "$IMG/boot.vfat"
mkfs.vfat -C -n BOOT "$IMG/boot.vfat" $((16 * 1024)) >/dev/null
mcopy -i "$IMG/boot.vfat" "$IMG/board.scr" "$IMG/boot.scr" "$IMG/uboot.env" ::
rm -f "$IMG/data.ext4"
mkfs.ext4 -q -F -L data "$IMG/data.ext4" "${DATA_MIB}M" >/dev/null

rm -f "$IMG/disk.img"
truncate -s $((1 + 16 + 2 * SLOT_MIB + DATA_MIB + 1))M "$IMG/disk.img"
sfdisk -q "$IMG/disk.img" <<EOF
label: gpt
start=1MiB, size=16MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=boot
size=${SLOT_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs-a
size=${SLOT_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs-b
size=${DATA_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
EOF
put() { dd if="$2" of="$IMG/disk.img" bs=1M seek="$1" conv=notrunc,sparse status=none; }  # MiB offsets
put 1 "$IMG/boot.vfat"
put 17 "$IMG/v1.ext4"
put $((17 + SLOT_MIB)) "$IMG/v1.ext4"
put $((17 + 2 * SLOT_MIB)) "$IMG/data.ext4"
echo "BOOT_MIB=1 SLOT_MIB=$SLOT_MIB ROOTFS_MIB=$ROOTFS_MIB DATA_MIB=$DATA_MIB" >"$IMG/layout"

mkenvimage -s 0x40000 -o "$IMG/flash1.img" "$TOP/tests/system/board/flash-env.txt"
truncate -s 64M "$IMG/flash1.img"

# ---- 5. bundles ----------------------------------------------------------------------------------
log "bundles"
B=$W/bundles
rm -rf "$B"
mkdir -p "$B"
bundle() { # OUT VERSION IMAGE [COMPATIBLE]
        "$BUILD/updatectl" bundle create --cert "$W/pki/signer.crt" --key "$W/pki/signer.key" \
                --compatible "${4:-$COMPATIBLE}" --version "$2" --description "test board $2" \
                --image "rootfs=$IMG/$3.ext4" -o "$B/$1.u1b" >/dev/null
}
bundle v2 2.0 v2
bundle v2-red 2.0-red v2-red
bundle v2-noboot 2.0-noboot v2-noboot
bundle v3 3.0 v3
bundle other-board 2.0 v2 other-board-v1
# tampered: one byte of the first stored chunk inverted (signature and manifest intact)
cp "$B/v2.u1b" "$B/tampered.u1b"
off=$(( 32 + $(od -An -tu8 -j16 -N8 "$B/v2.u1b" | tr -d ' ') + 4096 ))
python3 - "$B/tampered.u1b" "$off" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
EOF
chmod 0644 "$B"/*.u1b
rm -f "$IMG/bundles.img"
mkfs.ext4 -q -F -L bundles -d "$B" "$IMG/bundles.img" "$(( $(du -sm "$B" | cut -f1) + 16 ))M" >/dev/null
# what each payload image hashes to: the host checks a slot's content against it
(cd "$IMG" && sha256sum v1.ext4 v2.ext4 v2-red.ext4 v2-noboot.ext4 v3.ext4 >"$IMG/images.sha256")
rm -f "$IMG"/v2*.ext4 "$IMG/v3.ext4"
echo "$sum" >"$IMG/inputs.sha256"
log "done: $(du -sh "$IMG/disk.img" | cut -f1) disk, $(ls "$B" | wc -l) bundles ($(du -sm "$B" | cut -f1) MiB)"
