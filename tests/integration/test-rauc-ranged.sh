#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RAUC bundles (.raucb) through InstallFd with "ranged" (daemon/source-ranged.c): bundles made by
# Debian's real `rauc bundle` (test-rauc-bundle's way, tests/lib/rauc-bundle-lib.sh), served by
# the real peer tests/lib/ranged_client.py to the real updated on the sandbox bus.  The reader
# sees the squashfs magic in the feeder's first piece and switches to ranged reads: the CMS at
# the end, then (verity) the hash tree and the blocks it needs or (plain) the signature pass and
# the block-checked image.  Verity and plain bundles install byte for byte, with the bytes the
# peer sent bounded; a verity bundle with one payload byte changed is refused by name with slot
# A still primary and no changed block in slot B; a plain bundle over RAUC's download cap is
# refused before its payload is asked for.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/rauc-bundle-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd rauc mksquashfs
tl_setup A

RC="$SB_PY $UPDATE1_TOP/tests/lib/ranged_client.py"
# The feeder's unasked first piece (SOURCE_RANGED_FIRST_PIECE): fetched before the reader knows
# it is a RAUC bundle, and asked again by range once it does.
FIRST_PIECE=65536
# libsquashfs reads the superblock at 0, then the tables at the squashfs' end, then the image
# from 0, whose last bytes share the tables' block: the checked reader keeps two windows
# (lib/verity.c WINDOWS), the first one and the tables', so nothing of that is asked for twice.
I=$SB/rauc
mkdir -p "$I"
# Old content in slot B that no image has: a write that should not happen shows.
head -c 16M /dev/urandom >"$SB_SLOT_B"
# Random images: incompressible, so the squashfs stores them raw and byte counts mean what
# they say.
head -c 6M /dev/urandom >"$I/v3.img"
head -c 3M /dev/urandom >"$I/v4.img"
head -c 9M /dev/urandom >"$I/big.img"
rauc_bundle "$I/verity.raucb" verity "$I/v3.img" &&
        rauc_bundle "$I/plain.raucb" plain "$I/v4.img" &&
        rauc_bundle "$I/big.raucb" plain "$I/big.img" || { fail "$TL_FILE-bundles" "rauc bundle failed"; exit 1; }

stat_of() { grep -o "\b$1=[0-9]*" "$SB/ranged.stats" | cut -d= -f2; }

# ranged_install BUNDLE: the peer in the foreground, serving BUNDLE right; returns once updated
# closed the socket and Operation is idle again.  RANGED_RC: bus-call's exit status; the peer's
# output and the LastError after it in RANGED_OUT.
ranged_install() {
        rm -f "$SB/ranged.stats"
        $RC "$1" "$SB/ranged.stats" good >"$SB/ranged.out" 2>&1
        RANGED_RC=$?
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after the ranged install"; return 1; }
        [ -s "$SB/ranged.stats" ] || { TL_WHY="the peer wrote no stats: $(head -c 300 "$SB/ranged.out")"; return 1; }
        RANGED_OUT="$(cat "$SB/ranged.out") $(sb_get_property LastError)"
        tl_diag "$(basename "$1"): $(stat_of requests) requests, $(stat_of bytes) of $(stat -c %s "$1") bytes, $(asked_twice) asked more than once"
}

# Bytes the peer was asked for more than once (its request log, after the stats line).
asked_twice() {
        tail -n +2 "$SB/ranged.stats" | "$SB_PY" -c '
import collections, sys
ends = collections.Counter()
for line in sys.stdin:
    off, n = map(int, line.split())
    ends[off] += 1
    ends[off + n] -= 1
depth = last = twice = 0
for pos in sorted(ends):
    if depth > 1:
        twice += (depth - 1) * (pos - last)
    depth += ends[pos]
    last = pos
print(twice)'
}

# The daemon's own count ("Read the ranged bundle with N requests: X of Y bytes", logged when
# the source is freed) is what the peer sent.
daemon_agrees() {
        local line i
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                line=$(grep -o 'Read the ranged bundle with [0-9]* requests: [0-9]* of [0-9]* bytes' "$SB/updated.log" | tail -n 1)
                [ "$line" = "Read the ranged bundle with $(stat_of requests) requests: $(stat_of bytes) of $1 bytes" ] && return 0
                sleep 0.05
        done
        TL_WHY="the daemon's count '$line' is not the peer's $(stat_of requests) requests, $(stat_of bytes) bytes"
        return 1
}

# One payload byte changed in the middle of the image: refused at its block (InvalidBundle,
# "failed verification"), after the authenticated blocks before it; every 4 KiB block of slot
# B is its old content or the image's, the changed one never reached it, and the peer was
# asked for less than the bundle (the install stopped there).
t_tampered_verity() {
        local before=$I/slot-b.before size
        cp "$SB_SLOT_B" "$before"
        cp "$I/verity.raucb" "$I/t-verity.raucb"
        sb_flip_byte "$I/t-verity.raucb" $((3 * 1024 * 1024 + 12345))
        size=$(stat -c %s "$I/t-verity.raucb")
        ranged_install "$I/t-verity.raucb" || return 1
        expect_contains "$RANGED_OUT" org.example.Update1.Error.InvalidBundle "the error" || return 1
        expect_contains "$RANGED_OUT" "failed verification" "the error" || return 1
        refused_into_b "$before" "$I/v3.img" || return 1
        [ "$(stat_of bytes)" -lt "$size" ] || { TL_WHY="the peer sent $(stat_of bytes) of $size bytes after the refusal"; return 1; }
        daemon_agrees "$size"
}

# A verity bundle: every byte of the bundle is needed once (the squashfs, the hash tree blocks
# over it, the CMS and its size), the feeder's first piece once more: bytes sent <= bundle size
# + FIRST_PIECE (measured: exactly that, 6.35 MB + 64 KiB).  It fails when the feeder streams
# beyond its first piece besides the ranged reads, when hash or data blocks are fetched again (a
# tree cache that does not hold, a window cache that drops the first window or the tables', as
# lib/verity.c's single window did: 132 KiB more), or when the bundle is read whole before the
# image.
t_verity() {
        local size
        size=$(stat -c %s "$I/verity.raucb")
        ranged_install "$I/verity.raucb" || return 1
        expect_eq "$RANGED_RC" 0 "bus-call's exit status ($RANGED_OUT)" || return 1
        check_slot "$SB_SLOT_B" "$I/v3.img" rootfs.1 v3.img || return 1
        expect_primary B && expect_boots B || return 1
        [ "$(stat_of bytes)" -le $((size + FIRST_PIECE)) ] ||
                { TL_WHY="the peer sent $(stat_of bytes) bytes of a $size-byte bundle (bound: + $FIRST_PIECE)"; return 1; }
        daemon_agrees "$size"
}

# A plain bundle: the signature covers the whole squashfs, so it is read once for the signature
# and once more, block-checked, for the image: bytes sent <= 2 * bundle size + FIRST_PIECE
# (measured: 2 * the payload, the CMS and its size, FIRST_PIECE).  It fails when a pass is
# repeated, when the second pass reads blocks twice (lib/verity.c's single window: 132 KiB
# more), or when the feeder streams the bundle besides the ranged reads.
t_plain() {
        local size
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        size=$(stat -c %s "$I/plain.raucb")
        ranged_install "$I/plain.raucb" || return 1
        expect_eq "$RANGED_RC" 0 "bus-call's exit status ($RANGED_OUT)" || return 1
        check_slot "$SB_SLOT_A" "$I/v4.img" rootfs.0 v4.img || return 1
        expect_primary A && expect_boots A || return 1
        [ "$(stat_of bytes)" -le $((2 * size + FIRST_PIECE)) ] ||
                { TL_WHY="the peer sent $(stat_of bytes) bytes of a $size-byte plain bundle (bound: 2 * size + $FIRST_PIECE)"; return 1; }
        daemon_agrees "$size"
}

# RAUC's max-bundle-download-size= (default 8 MiB) caps a plain bundle the daemon does not
# read from a file, ranged ones too: refused by name before the signature pass, so the peer
# was asked for the first piece, the CMS and its size, never the payload; nothing written.
t_plain_over_cap() {
        local size
        size=$(stat -c %s "$I/big.raucb")
        tl_snapshot
        ranged_install "$I/big.raucb" || return 1
        expect_contains "$RANGED_OUT" org.example.Update1.Error.InvalidBundle "the error" || return 1
        expect_contains "$RANGED_OUT" "max-bundle-download-size=" "the error" || return 1
        expect_unchanged && expect_primary A && expect_boots A || return 1
        [ "$(stat_of bytes)" -le $((FIRST_PIECE + 64 * 1024 + 8)) ] ||
                { TL_WHY="the peer sent $(stat_of bytes) of $size bytes for a refused plain bundle"; return 1; }
        daemon_agrees "$size"
}

tl_case ranged-verity-tampered-block-never-written t_tampered_verity
tl_case ranged-verity-installs-reading-once t_verity
tl_case ranged-plain-installs-in-two-passes t_plain
tl_case ranged-plain-over-download-cap-refused t_plain_over_cap
