#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `updatectl bundle create --previous OLD` (docs/reproducible-images.md, "Checking it"): the
# real mkfs.ext4, debugfs and mksquashfs of Debian build the same tree twice, keys are made at
# test time, OLD and the new bundle are real format-2 bundles.
#   - a reproducible build of the same tree: no warning, 100 % reusable;
#   - random UUIDs: the warning names the UUID (and not what was fixed), the bundle is written;
#   - squashfs with another mkfs time: warned; SOURCE_DATE_EPOCH not the mkfs time: warned;
#   - one changed file: the estimate drops below 100 % for the image that holds it;
#   - no estimate across chunk sizes or with format 1 on either side, and why;
#   - an OLD that is missing, not a bundle or signed by an untrusted key, or no
#     --previous-keyring: an error before anything is written.
# No daemon, no root: everything here runs on a build host.
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd mkfs.ext4 debugfs mksquashfs
tl_require_bins
sb_init || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
sb_install_bins >"$SB/setup.err" 2>&1 || { fail "$TL_FILE-setup" "$(cat "$SB/setup.err")"; exit 1; }
sb_make_pki "$SB/pki" 2>"$SB/setup.err" || { fail "$TL_FILE-setup" "$(cat "$SB/setup.err")"; exit 1; }

SDE=1700000000
UUID=6f1d2c3b-0000-4000-8000-000000000013
SEED=6f1d2c3b-0000-4000-8000-000000000014
T=$SB/tree

# A small root tree: directories with enough entries for an htree (the hash seed decides
# where they go), and files of a few chunks each.
mkdir -p "$T/etc" "$T/usr/lib" "$T/usr/bin"
for i in $(seq 1 150); do
        head -c $((4096 + i * 997)) /dev/urandom >"$T/usr/lib/lib$i.so"
        echo "tool $i" >"$T/usr/bin/tool-with-a-long-name-$i"
done
head -c 3M /dev/urandom >"$T/usr/lib/big.so"
echo "VERSION_ID=1" >"$T/etc/os-release"
find "$T" -exec touch -h -d "@$SDE" {} +

# mkext4 OUT [MKFS OPTIONS...]: the recipe of docs/reproducible-images.md; the options replace
# the fixed UUID and hash seed (to build the way that is not reproducible).
mkext4() {
        local out=$1
        shift
        [ $# -gt 0 ] || set -- -U "$UUID" -E "hash_seed=$SEED,root_owner=0:0"
        rm -f "$out"
        E2FSPROGS_FAKE_TIME=$SDE mkfs.ext4 -q -F -I 128 -L rootfs "$@" -d "$T" "$out" 24M \
                >/dev/null 2>"$SB/mkfs.err" || { cat "$SB/mkfs.err" >&2; return 1; }
        (cd "$T" && find . -xdev | sed 's|^\.||; s|^$|/|' | while read -r p; do
                printf 'sif "%s" ctime @%s\nsif "%s" atime @%s\n' "$p" "$SDE" "$p" "$SDE"
        done) >"$SB/sif.txt"
        E2FSPROGS_FAKE_TIME=$SDE debugfs -w -f "$SB/sif.txt" "$out" >/dev/null 2>&1
}
# mksq OUT MKFS-TIME
mksq() {
        rm -f "$1"
        env -u SOURCE_DATE_EPOCH mksquashfs "$T" "$1" -noappend -quiet -no-progress -comp zstd -b 128K \
                -mkfs-time "$2" -all-time "$SDE" >/dev/null 2>"$SB/mksq.err" || { cat "$SB/mksq.err" >&2; return 1; }
}
# bundle OUT VERSION IMAGE-ARGS... [OPTIONS]: format 2, signed by the test signer.
bundle() {
        local out=$1 version=$2
        shift 2
        rm -f "$out"
        updatectl bundle create --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" --compatible test \
                --version "$version" --format 2 -o "$out" "$@"
}
# new IMAGE-ARGS... [OPTIONS]: $SB/new.bundle with --previous $SB/old.bundle, output in TL_OUT.
new() {
        rm -f "$SB/new.bundle"
        run bundle "$SB/new.bundle" 2 "$@" --previous "$SB/old.bundle" --previous-keyring "$SB/pki/ca.crt"
}
# The "N.N" of "rootfs (...): SIZE, N.N % reusable".
reusable() { sed -n "s/^$1 ([^)]*): .*, \([0-9.]*\) % reusable from OLD .*/\1/p" <<<"$TL_OUT"; }
# The command succeeded and wrote a good bundle (TL_OUT stays the command's output).
expect_written() {
        local out=$TL_OUT
        [ "$TL_RC" = 0 ] || { TL_WHY="exit $TL_RC (a warning must not fail): $(_tl_out_excerpt)"; return 1; }
        [ -s "$SB/new.bundle" ] || { TL_WHY="the bundle was not written"; return 1; }
        expect_ok updatectl bundle info --check-payload --keyring "$SB/pki/ca.crt" "$SB/new.bundle" || return 1
        TL_OUT=$out
}
expect_no_warning() {
        ! grep -q 'warning' <<<"$TL_OUT" || { TL_WHY="unexpected warning: $(grep warning <<<"$TL_OUT" | head -3)"; return 1; }
}
expect_refused() { # WHAT NEEDLE: failed, said NEEDLE, wrote nothing
        [ "$TL_RC" != 0 ] || { TL_WHY="$1: succeeded: $(_tl_out_excerpt)"; return 1; }
        expect_contains "$TL_OUT" "$2" "$1" || return 1
        [ ! -e "$SB/new.bundle" ] && [ ! -e "$SB/new.bundle.tmp" ] || { TL_WHY="$1: a bundle was written"; return 1; }
}

mkext4 "$SB/v1.ext4" && bundle "$SB/old.bundle" 1 --image "rootfs=$SB/v1.ext4" >/dev/null ||
        { fail "$TL_FILE-setup" "cannot build OLD"; exit 1; }

t_reproducible() {
        mkext4 "$SB/v1-again.ext4" || return 1
        # The recipe itself must be reproducible, or this test proves nothing.
        expect_eq "$(sha256sum <"$SB/v1-again.ext4")" "$(sha256sum <"$SB/v1.ext4")" "sha256 of two builds" || return 1
        new --image "rootfs=$SB/v1-again.ext4"
        expect_written || return 1
        expect_no_warning || return 1
        expect_eq "$(reusable rootfs)" 100.0 "reusable share" || return 1
        expect_contains "$TL_OUT" "agree on every build-dependent field" "superblock comparison"
}

t_random_uuid() {
        mkext4 "$SB/uuid.ext4" -E "hash_seed=$SEED,root_owner=0:0" || return 1
        new --image "rootfs=$SB/uuid.ext4"
        expect_written || return 1
        expect_contains "$TL_OUT" "warning: rootfs: ext4 UUID differs between the two builds" "warning" || return 1
        expect_contains "$TL_OUT" "mkfs.ext4 -U" "the fix" || return 1
        expect_contains "$TL_OUT" "docs/reproducible-images.md" "the pointer to the docs" || return 1
        ! grep -q "hash seed" <<<"$TL_OUT" || { TL_WHY="warned about the hash seed, which was fixed"; return 1; }
        # Both random: both named.
        mkext4 "$SB/random.ext4" -E root_owner=0:0 || return 1
        new --image "rootfs=$SB/random.ext4"
        expect_written || return 1
        expect_contains "$TL_OUT" "ext4 UUID differs" "warning" || return 1
        expect_contains "$TL_OUT" "ext4 hash seed (s_hash_seed) differs" "warning"
}

t_squashfs_time() {
        mksq "$SB/v1.squashfs" "$SDE" && mksq "$SB/v2.squashfs" $((SDE + 3600)) || return 1
        bundle "$SB/old.bundle" 1 --image "rootfs=$SB/v1.ext4" --image "appfs=$SB/v1.squashfs" >/dev/null || return 1
        new --image "rootfs=$SB/v1.ext4" --image "appfs=$SB/v2.squashfs"
        expect_written || return 1
        expect_contains "$TL_OUT" "warning: appfs: squashfs mkfs time differs between the two builds" "warning" || return 1
        expect_contains "$TL_OUT" "mksquashfs -mkfs-time" "the fix" || return 1
        ! grep -q "warning: rootfs" <<<"$TL_OUT" || { TL_WHY="warned about rootfs, which is the same"; return 1; }
        # The same time: no warning.
        mksq "$SB/v1-again.squashfs" "$SDE" || return 1
        new --image "rootfs=$SB/v1.ext4" --image "appfs=$SB/v1-again.squashfs"
        expect_written || return 1
        expect_no_warning || return 1
        expect_eq "$(reusable appfs)" 100.0 "reusable share of appfs"
}

t_source_date_epoch() {
        run env SOURCE_DATE_EPOCH=$((SDE + 1)) bash -c 'rm -f "$1"; updatectl bundle create --cert "$2/signer.crt" \
                --key "$2/signer.key" --compatible test --version 2 --format 2 -o "$1" --image "rootfs=$3" \
                --previous "$4" --previous-keyring "$2/ca.crt"' sh "$SB/new.bundle" "$SB/pki" "$SB/v1.ext4" "$SB/old.bundle"
        expect_written || return 1
        expect_contains "$TL_OUT" "warning: rootfs: ext4 mkfs time 2023-11-14T22:13:20Z (@$SDE) is not SOURCE_DATE_EPOCH (@$((SDE + 1)))" "warning"
}

t_changed_file() {
        local pct
        # One file changes in place (same size, same times): only its chunks differ.
        printf 'changed' | dd of="$T/usr/lib/big.so" bs=1 seek=1000000 conv=notrunc status=none
        touch -h -d "@$SDE" "$T/usr/lib/big.so" "$T/usr/lib"
        mkext4 "$SB/v2.ext4" || return 1
        new --image "rootfs=$SB/v2.ext4"
        expect_written || return 1
        expect_no_warning || return 1
        pct=$(reusable rootfs)
        [ -n "$pct" ] || { TL_WHY="no estimate for rootfs: $(_tl_out_excerpt)"; return 1; }
        # Below 100 (the change), but most of the 24 MiB is reused.
        tl_diag "$(grep 'reusable' <<<"$TL_OUT")"
        awk -v p="$pct" 'BEGIN { exit !(p < 100 && p > 80) }' || { TL_WHY="rootfs $pct % reusable, expected 80..100 (excl.)"; return 1; }
        expect_contains "$TL_OUT" "rootfs ($SB/v2.ext4): 24.0 MiB, $pct % reusable from OLD 1" "the estimate"
}

t_no_estimate() {
        new --image "rootfs=$SB/v1.ext4" --chunk-size 16K
        expect_written || return 1
        expect_contains "$TL_OUT" "rootfs: no reuse estimate: OLD 1 was cut into chunks of 64.0 KiB on average, the new bundle into 16.0 KiB" "different chunk sizes" || return 1
        new --image "rootfs=$SB/v1.ext4" --format 1
        expect_written || return 1
        expect_contains "$TL_OUT" "rootfs: no reuse estimate: the new bundle is format 1" "format-1 new bundle" || return 1
        bundle "$SB/old.bundle" 1 --image "rootfs=$SB/v1.ext4" --format 1 >/dev/null || return 1
        new --image "rootfs=$SB/v1.ext4"
        expect_written || return 1
        expect_contains "$TL_OUT" "rootfs: no reuse estimate: OLD 1 is format 1" "format-1 OLD" || return 1
        # The superblocks are compared all the same.
        expect_contains "$TL_OUT" "agree on every build-dependent field" "superblock comparison"
}

t_refused() {
        bundle "$SB/old.bundle" 1 --image "rootfs=$SB/v1.ext4" >/dev/null || return 1
        rm -f "$SB/new.bundle"
        run bundle "$SB/new.bundle" 2 --image "rootfs=$SB/v1.ext4" --previous "$SB/old.bundle"
        expect_refused "no keyring" "--previous needs --previous-keyring FILE" || return 1
        run bundle "$SB/new.bundle" 2 --image "rootfs=$SB/v1.ext4" --previous "$SB/missing.bundle" \
                --previous-keyring "$SB/pki/ca.crt"
        expect_refused "missing OLD" "Cannot open the previous bundle $SB/missing.bundle" || return 1
        run bundle "$SB/new.bundle" 2 --image "rootfs=$SB/v1.ext4" --previous "$SB/v1.ext4" \
                --previous-keyring "$SB/pki/ca.crt"
        expect_refused "not a bundle" "Previous bundle $SB/v1.ext4: " || return 1
        bundle "$SB/evil.bundle" 1 --image "rootfs=$SB/v1.ext4" --cert "$SB/pki/evil-signer.crt" \
                --key "$SB/pki/evil-signer.key" >/dev/null || return 1
        run bundle "$SB/new.bundle" 2 --image "rootfs=$SB/v1.ext4" --previous "$SB/evil.bundle" \
                --previous-keyring "$SB/pki/ca.crt"
        expect_refused "untrusted OLD" "Previous bundle $SB/evil.bundle: " || return 1
        expect_contains "$TL_OUT" "ignature" "untrusted OLD names the signature" || return 1
        # A keyring directory (as [keyring] directory=) verifies it as well as the file does.
        run bundle "$SB/new.bundle" 2 --image "rootfs=$SB/v1.ext4" --previous "$SB/old.bundle" \
                --previous-keyring "$SB/pki"
        expect_written
}

tl_case reproducible-build-no-warning t_reproducible
tl_case random-uuid-warned t_random_uuid
tl_case squashfs-mkfs-time-warned t_squashfs_time
tl_case source-date-epoch-warned t_source_date_epoch
tl_case changed-file-lowers-estimate t_changed_file
tl_case no-estimate-says-why t_no_estimate
tl_case bad-previous-refused-before-writing t_refused
