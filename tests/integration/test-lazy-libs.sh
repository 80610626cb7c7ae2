#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The libraries updated loads only when it needs them (issue 14, memory): libsquashfs
# (lib/squashfs-lib.c, for RAUC bundles), libcurl (daemon/source-http.c, for URL installs) and
# libblkid (daemon/slot.c, for PARTLABEL= and other tag specs; test-blkid resolves them) are no
# NEEDED entry of any program, are not mapped by an idle daemon (slots given as paths) nor
# after an Update1 bundle install from a file; the first two are mapped after a RAUC bundle and
# an http:// install; without
# libsquashfs (hidden by a bind mount in the daemon's own mount namespace) a RAUC bundle is
# refused with an error naming the library and its package, and Update1 bundles still install.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1; the mount namespace"
tl_require_cmd readelf rauc mksquashfs nginx unshare
tl_setup A

I=$SB/lazy
mkdir -p "$I"
sb_make_random "$I/v2.img" 3M
sb_bundle "$I/v2.bundle" 2 "$I/v2.img" || { fail "$TL_FILE-bundles" "bundle create failed"; exit 1; }
mkdir -p "$I/rauc-in" && cp "$I/v2.img" "$I/rauc-in/rootfs.img" &&
        printf '[update]\ncompatible=%s\nversion=3\n\n[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=rootfs.img\n' \
                "$SB_COMPATIBLE" >"$I/rauc-in/manifest.raucm" &&
        rauc bundle --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" "$I/rauc-in" "$I/v3.raucb" >"$I/rauc.log" 2>&1 &&
        chmod 0644 "$I/v3.raucb" || { fail "$TL_FILE-bundles" "rauc bundle failed: $(tail -n 3 "$I/rauc.log")"; exit 1; }
mkdir -p "$I/www" && chmod 0755 "$I/www" && cp "$I/v2.bundle" "$I/www/v2.bundle" && chmod 0644 "$I/www/v2.bundle"

# needed BIN: the NEEDED entries of a built program, one a line.
needed() { readelf -d "$UPDATE1_BUILD/$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# mapped LIB: whether the running daemon maps a file whose name starts with LIB.
mapped() { grep -q "/$1[.-]" "/proc/$SB_UPDATED_PID/maps"; }

t_not_needed() {
        local b n
        for b in updated updatectl updatectl-bundle; do
                n=$(needed "$b")
                [ -n "$n" ] || { TL_WHY="readelf -d $b lists no NEEDED entry at all"; return 1; }
                if grep -qE '^lib(squashfs|curl|blkid)\.' <<<"$n"; then
                        TL_WHY="$b links $(grep -E '^lib(squashfs|curl|blkid)\.' <<<"$n" | tr '\n' ' ')directly: it must dlopen() it (lib/squashfs-lib.c, daemon/source-http.c, daemon/slot.c)"
                        return 1
                fi
        done
}

t_idle_maps_neither() {
        expect_ok updatectl status || return 1
        ! mapped libsquashfs || { TL_WHY="an idle daemon maps libsquashfs"; return 1; }
        ! mapped libcurl || { TL_WHY="an idle daemon maps libcurl"; return 1; }
        # The sandbox's slots are paths: no tag spec (PARTLABEL=, ...) to resolve.
        ! mapped libblkid || { TL_WHY="an idle daemon whose slots are paths maps libblkid"; return 1; }
}

t_update1_bundle_maps_neither() {
        expect_ok updatectl install "$I/v2.bundle" || return 1
        cmp -s -n "$(stat -c %s "$I/v2.img")" "$I/v2.img" "$SB_SLOT_B" || { TL_WHY="slot B does not hold the image"; return 1; }
        ! mapped libsquashfs || { TL_WHY="an Update1 bundle install loaded libsquashfs"; return 1; }
        ! mapped libcurl || { TL_WHY="a file install loaded libcurl"; return 1; }
}

t_rauc_bundle_maps_squashfs() {
        expect_ok updatectl install "$I/v3.raucb" || return 1
        mapped libsquashfs || { TL_WHY="a RAUC bundle installed without libsquashfs mapped: which reader read it?"; return 1; }
}

t_http_maps_curl() {
        sb_start_nginx "$I/www" 2>"$I/nginx.err" || { TL_WHY="nginx: $(head -c 300 "$I/nginx.err")"; return 1; }
        expect_ok updatectl install "$SB_HTTP_URL/v2.bundle" || return 1
        mapped libcurl || { TL_WHY="an http:// install without libcurl mapped"; return 1; }
}

# The daemon again, in a mount namespace of its own where libsquashfs.so.1 is an empty file:
# dlopen() fails there as on a device without the package.  The wrapper execs, so the PID is
# the daemon's.
t_missing_libsquashfs_named() {
        local so w=$I/hide-squashfs.sh
        so=$(readlink -f "$(ldconfig -p | sed -n 's/.*libsquashfs\.so\.1 .*=> //p' | head -n 1)")
        [ -f "$so" ] || { TL_WHY="libsquashfs.so.1 not found with ldconfig -p"; return 1; }
        printf '#!/bin/sh\nmount --bind /dev/null %s || exit 1\nexec "$@"\n' "$so" >"$w" && chmod 0755 "$w"
        sb_stop_updated
        UPDATE1_DAEMON_WRAPPER="unshare -m --propagation private $w" sb_start_updated A ||
                { TL_WHY="updated did not start with libsquashfs hidden"; return 1; }
        ! mapped libsquashfs || { TL_WHY="libsquashfs mapped although hidden"; return 1; }
        expect_error org.example.Update1.Error.Failed updatectl install "$I/v3.raucb" || return 1
        expect_contains "$TL_OUT" "libsquashfs1" "the refusal names the package to install" || return 1
        expect_contains "$TL_OUT" "RAUC bundles" "the refusal says what cannot be read" || return 1
        expect_ok updatectl install "$I/v2.bundle" || { TL_WHY="without libsquashfs an Update1 bundle failed: $TL_WHY"; return 1; }
}

tl_case "lazy-libs-not-needed" t_not_needed
tl_case "lazy-libs-idle-maps-neither" t_idle_maps_neither
tl_case "lazy-libs-update1-bundle-maps-neither" t_update1_bundle_maps_neither
tl_case "lazy-libs-rauc-bundle-maps-squashfs" t_rauc_bundle_maps_squashfs
tl_case "lazy-libs-http-maps-curl" t_http_maps_curl
# A mount namespace with private propagation needs "/" to be a mount point; in a plain chroot
# (check-fresh's) it is not, and unshare fails with EINVAL.  There the case is skipped; it runs
# on the host (make check, SANITIZE, valgrind).
if unshare -m --propagation private true 2>/dev/null; then
        tl_case "lazy-libs-missing-libsquashfs-named-error" t_missing_libsquashfs_named
else
        skip "lazy-libs-missing-libsquashfs-named-error" "no private mount namespace here (\"/\" is not a mount point: a chroot?)"
fi
