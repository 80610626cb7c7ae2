# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# What bench/bench-peers.sh and bench/bench-idle.sh share: the sandbox (tests/lib/sandbox.sh,
# set up for $BUILD and $TOP, which the caller sets), timing, medians, memory of a process.

export UPDATE1_TOP=$TOP UPDATE1_BUILD=$BUILD
# shellcheck source=tests/lib/sandbox.sh
. "$TOP/tests/lib/sandbox.sh"
SB_REMOVE=$([ "${BENCH_KEEP:-0}" = 1 ] && echo 0 || echo 1)
SB_COMPATIBLE=update1-bench

bl_now() { date +%s.%N; }
bl_elapsed() { awk -v a="$1" -v b="$(bl_now)" 'BEGIN { printf "%.3f", b - a }'; }
# bl_median V...: the median (the mean of the two middle ones for an even count).
bl_median() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "-"; exit }
                if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bl_mib() { awk -v a="$1" 'BEGIN { if (a == "" || a == "-") print "-"; else printf "%.2f", a / 1024 }'; }
# bl_status_kib PID KEY: a /proc/PID/status field in kB (VmRSS, VmHWM, RssAnon, ...).
bl_status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# bl_private_kib PID: Private_Clean + Private_Dirty of smaps_rollup (pages no other process
# shares: what the process really costs, unlike VmRSS, which counts shared libraries fully).
bl_private_kib() {
        awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { s += $2 } END { print s + 0 }' \
                "/proc/$1/smaps_rollup" 2>/dev/null
}

# bl_sample_start PID: samples the private RSS every 20 ms in the background (peak private
# memory has no counter like VmHWM); bl_sample_stop prints the largest sample in kB.
BL_SAMPLER=
bl_sample_start() {
        local pid=$1 out=$SB/sample.$1
        : >"$out"
        (
                trap - EXIT INT TERM
                while [ -e "/proc/$pid" ]; do
                        bl_private_kib "$pid" >>"$out"
                        sleep 0.02
                done
        ) &
        BL_SAMPLER=$!
        BL_SAMPLE_FILE=$out
}
bl_sample_stop() {
        [ -n "$BL_SAMPLER" ] && kill "$BL_SAMPLER" 2>/dev/null
        wait "$BL_SAMPLER" 2>/dev/null
        BL_SAMPLER=
        sort -n "$BL_SAMPLE_FILE" | tail -n 1
}

# bl_loop FILE: a loop device over FILE with direct I/O where the backing filesystem takes it,
# so that the slot behaves as a block device does: no second page cache of the backing file
# under the device's own (that cache made every write look like a memory copy and hid what
# the writer does).  Prints the device.
bl_loop() {
        losetup --direct-io=on --find --show "$1" 2>/dev/null || losetup --find --show "$1"
}

# bl_slot FILE SIZE: a loop device over a new sparse FILE (root only); sets BL_DEV.
bl_slot() {
        rm -f "$1"
        truncate -s "$2" "$1" || return 1
        BL_DEV=$(bl_loop "$1") || return 1
        SB_LOOPS+=("$BL_DEV")
}

# bl_wipe DEV: discards the slot (a hole in the loop file), so an install that wrote nothing
# cannot pass the hash check after it.
bl_wipe() {
        blkdiscard -f "$1" 2>/dev/null || dd if=/dev/zero of="$1" bs=1M count=1 conv=fsync status=none
}

# bl_slot_sha DEV BYTES: sha256 of the first BYTES of the slot.
bl_slot_sha() { head -c "$2" "$1" | sha256sum | cut -c1-64; }

# bl_bench_image OUT: the deterministic 256 MiB ext4 image of bench/README.md (96 MiB
# pseudo-random data, ~31 MB of `seq` text); the same sha256 on every run and machine.  Works
# in the current directory (root/, sif.txt).
bl_bench_image() {
        mkdir -p root/data root/etc
        # AES-CTR keystream of a fixed key over zeros: pseudo-random, identical on every machine.
        openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 \
                -nosalt -in /dev/zero 2>/dev/null | head -c 96M >root/data/random.bin
        seq 1 4000000 >root/data/seq.txt
        printf 'NAME="Update1 Bench"\nVERSION="2"\n' >root/etc/os-release
        find root -exec touch -h -d @1700000000 {} +
        # Fixed UUID, hash seed, clock; 128-byte inodes carry no creation time, which mkfs would take
        # from the real clock.  The sha256 below is the same on every run and machine.
        E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -I 128 -L rootfs \
                -U 6f1d2c3b-0000-4000-8000-000000000001 \
                -E hash_seed=6f1d2c3b-0000-4000-8000-000000000002,root_owner=0:0 \
                -d root "$1" 256M 2>/dev/null || return 1
        # mkfs -d copies each file's ctime, which touch cannot set: fix it with debugfs.
        (cd root && find . | sed 's|^\.||; s|^$|/|' | while read -r p; do echo "sif \"$p\" ctime @1700000000"; done) >sif.txt
        E2FSPROGS_FAKE_TIME=1700000000 debugfs -w -f sif.txt "$1" >/dev/null 2>&1 || return 1
        rm -rf root sif.txt
}
