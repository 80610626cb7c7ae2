#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: the bundle header's signature size and the signature itself (A4-A11 of
# shared/reference/security-tests.md).  Every hostile bundle is handed to the real daemon
# (updatectl install = InstallFd) and must be refused with the named error before anything
# changes: status file, U-Boot env, both slots and the slot table byte-identical, A booted
# and primary.  Bundles are assembled by tests/security/lib/craft.py with real CMS
# signatures (openssl cms), so each one differs from a valid bundle in exactly one aspect;
# the first case proves that a valid craft.py bundle is accepted.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
sec_setup A

I=$SB/img
P=$SB/pki
mkdir -p "$I"
sb_make_random "$I/rand.img" 256K || exit 1
# mk NAME [craft make options]: $I/NAME.bundle with the test image, signed by signer unless
# the options say otherwise.
mk() {
        local n=$1
        shift
        craft make -o "$I/$n.bundle" --image "rootfs=$I/rand.img" --cert "$P/signer.crt" --key "$P/signer.key" "$@"
}
mk good || exit 1
SIZE=$(stat -c %s "$I/good.bundle")
SIG=$(sec_info "$I/good.bundle" 'd["sig_size"]')

install_refused() { # ERRORS BUNDLE
        sec_refused "$1" updatectl install "$2"
}

# Control: the crafted bundle is valid (so every refusal below is for its one defect).
t_control() {
        expect_ok bus-call InspectBundle h "$I/good.bundle" || return 1
        expect_contains "$TL_OUT" '"compatible":"update1-test-board"' "InspectBundle manifest" || return 1
        expect_ok updatectl bundle info --keyring "$P/ca.crt" --check-payload "$I/good.bundle"
}

# --- A4: the signature size field (header offset 16, u64 LE) ---------------------------
sigsize() { # NAME VALUE ERRORS  (the CMS of good.bundle byte for byte: SIZE and SIG hold)
        craft make -o "$I/sig-$1.bundle" --from "$I/good.bundle" --keep-cms --sig-size "$2" || { TL_WHY="craft failed"; return 1; }
        install_refused "$3" "$I/sig-$1.bundle"
}
t_sig_0() { sigsize 0 0 InvalidBundle; }
t_sig_1() { sigsize 1 1 "SignatureInvalid|InvalidBundle"; }
t_sig_whole_file() { sigsize whole $((SIZE - 32)) "SignatureInvalid|InvalidBundle"; }
t_sig_past_eof() { sigsize past-eof $((SIZE - 32 + 1)) InvalidBundle; }
t_sig_over_limit() { sigsize over-limit $((64 * 1024 * 1024 + 1)) InvalidBundle; }
t_sig_2p63() { sigsize 2p63 0x8000000000000000 InvalidBundle; }
t_sig_max() { sigsize u64max 0xffffffffffffffff InvalidBundle; }
# 32 + S wraps to 0 and to 1; 32 + S + payload wraps to 0.
t_sig_wrap_header() { sigsize wrap0 0xffffffffffffffe0 InvalidBundle && sigsize wrap1 0xffffffffffffffe1 InvalidBundle; }
t_sig_wrap_total() {
        sigsize wrap-total "$(printf '%u' $((-32 - (SIZE - 32 - SIG))))" InvalidBundle
}

# --- header fields other than the size ----------------------------------------------------
hdr() { # NAME EXPR
        craft make -o "$I/hdr-$1.bundle" --from "$I/good.bundle" --keep-cms --edit-header "$2" || { TL_WHY="craft failed"; return 1; }
        install_refused InvalidBundle "$I/hdr-$1.bundle"
}
t_hdr_magic() { hdr magic 'b"UPD1BNDM" + h[8:]'; }
t_hdr_version() {
        hdr v0 'h[:8] + struct.pack("<I", 0) + h[12:]' && hdr v2 'h[:8] + struct.pack("<I", 2) + h[12:]' &&
                hdr vmax 'h[:8] + struct.pack("<I", 0xffffffff) + h[12:]'
}
t_hdr_size() {
        hdr hs31 'h[:12] + struct.pack("<I", 31) + h[16:]' && hdr hs33 'h[:12] + struct.pack("<I", 33) + h[16:]' &&
                hdr hs0 'h[:12] + struct.pack("<I", 0) + h[16:]' && hdr hsmax 'h[:12] + struct.pack("<I", 0xffffffff) + h[16:]'
}
t_hdr_flags() { hdr f1 'h[:24] + struct.pack("<Q", 1) + h[32:]' && hdr fhigh 'h[:24] + struct.pack("<Q", 1 << 63) + h[32:]'; }

# --- A5/A6: the CMS blob -----------------------------------------------------------------
cms() { # NAME ERRORS [craft options]
        local n=$1 want=$2
        shift 2
        mk "cms-$n" "$@" || { TL_WHY="craft failed"; return 1; }
        install_refused "$want" "$I/cms-$n.bundle"
}
t_cms_empty_sequence() { cms empty-seq SignatureInvalid --edit-cms 'bytes.fromhex("3000")'; }
t_cms_garbage() { cms garbage SignatureInvalid --edit-cms 'bytes(((i * 7919) ^ (i >> 3)) & 0xff for i in range(1500))'; }
t_cms_garbage_der() { cms garbage-der SignatureInvalid --edit-cms 'bytes.fromhex("3082ffff") + c[4:]'; }
t_cms_truncated_der() { cms truncated-der SignatureInvalid --edit-cms 'c[:-10]'; }
t_cms_trailing() { cms trailing "SignatureInvalid|InvalidBundle" --edit-cms 'c + b"\0" * 16'; }
t_cms_no_signer() { cms no-signer SignatureInvalid --sign nosigner; }
t_cms_detached() { cms detached SignatureInvalid --detached; }
t_unsigned() { cms unsigned SignatureInvalid --sign none; }
t_cms_two_signers_unknown() {
        cms two-unknown SignatureInvalid --cert2 "$P/evil-signer.crt" --key2 "$P/evil-signer.key"
}
# Both signers trusted: still refused, the format allows exactly one SignerInfo.
t_cms_two_signers_valid() {
        cms two-valid SignatureInvalid --cert2 "$P/revoked-signer.crt" --key2 "$P/revoked-signer.key"
}
# Signature value (the last bytes of the DER: the ECDSA INTEGER s) corrupted.
t_cms_bad_signature_value() { cms bad-value SignatureInvalid --edit-cms 'c[:-1] + bytes([c[-1] ^ 1])'; }
t_cms_no_certs() { cms no-certs SignatureInvalid --nocerts; }

# --- A7/A8/A10: who signed ---------------------------------------------------------------
signer() { # NAME ERRORS CERT [craft options]
        local n=$1 want=$2 c=$3
        shift 3
        craft make -o "$I/signer-$n.bundle" --image "rootfs=$I/rand.img" --cert "$P/$c.crt" --key "$P/$c.key" "$@" ||
                { TL_WHY="craft failed"; return 1; }
        install_refused "$want" "$I/signer-$n.bundle"
}
# A signer under inter-ca, a sibling of the CA the device trusts, carrying inter-ca in the
# signature: refused by default ([keyring] allow-bundle-intermediates=false).  The same
# bundle passes `bundle info --allow-bundle-intermediates`: it is otherwise valid.
t_sibling_intermediate() {
        signer sibling SignatureInvalid inter-signer --certfile "$P/inter-ca.crt" || return 1
        expect_ok updatectl bundle info --keyring "$P/ca.crt" --allow-bundle-intermediates "$I/signer-sibling.bundle" || return 1
        # keyring directory with the root and the production intermediate: a prod signer
        # passes, the sibling with its own intermediate embedded still does not.
        mkdir -p "$SB/keyring-dir"
        cp "$P/ca.crt" "$P/prod-ca.crt" "$SB/keyring-dir/"
        craft make -o "$I/prod.bundle" --image "rootfs=$I/rand.img" --cert "$P/prod-signer.crt" --key "$P/prod-signer.key" ||
                { TL_WHY="craft failed"; return 1; }
        expect_ok updatectl bundle info --keyring-dir "$SB/keyring-dir" "$I/prod.bundle" || return 1
        run updatectl bundle info --keyring-dir "$SB/keyring-dir" "$I/signer-sibling.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="sibling-signed bundle accepted with the keyring directory"; return 1; }
        expect_contains "$TL_OUT" "signature invalid" "bundle info refusal"
}
# An intermediate carried in the bundle never becomes a trust anchor: a signer under an
# unrelated root that embeds that root.
t_embedded_root_not_anchor() { signer embedded-root SignatureInvalid evil-signer --certfile "$P/evil-ca.crt"; }
t_signer_no_eku() { signer no-eku SignatureInvalid noeku-signer; }
t_signer_server_eku() { signer server-eku SignatureInvalid server-signer; }
t_signer_ca() { signer ca-flag SignatureInvalid ca-signer; }
t_signer_root() { signer root SignatureInvalid ca; }
t_signer_expired() {
        signer expired SignatureInvalid expired-signer || return 1
        expect_contains "$SEC_LAST_OUT" "expired" "reason"
}
t_signer_not_yet_valid() {
        signer future SignatureInvalid future-signer || return 1
        expect_contains "$SEC_LAST_OUT" "not yet valid" "reason"
}
t_signer_rsa1024() { signer rsa1024 SignatureInvalid rsa1024-signer; }
t_weak_digest_sha1() { signer sha1 SignatureInvalid signer --md sha1; }

# CRLs ([keyring] check-crl=): the revoked signer is valid in every other respect.
t_signer_revoked() {
        # RAUC's convention: the CRL in the keyring file next to the root.
        cat "$P/ca.crt" "$P/ca.crl" >"$SB/keyring-crl.pem"
        sed -e "s|^path=$P/ca.crt|path=$SB/keyring-crl.pem|" -e '/^\[keyring\]$/a check-crl=true' \
                "$SB_CONFIG" >"$SB/system-crl.conf"
        craft make -o "$I/revoked.bundle" --image "rootfs=$I/rand.img" --cert "$P/revoked-signer.crt" \
                --key "$P/revoked-signer.key" || { TL_WHY="craft failed"; return 1; }
        expect_ok updatectl bundle info --config "$SB/system-crl.conf" "$I/good.bundle" || return 1
        run updatectl bundle info --config "$SB/system-crl.conf" "$I/revoked.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="revoked signer accepted with check-crl=true"; return 1; }
        expect_contains "$TL_OUT" "signature invalid" "refusal" || return 1
        expect_contains "$TL_OUT" "certificate revoked" "reason" || return 1
        # check-crl=true without any CRL would refuse everything: refused up front instead
        sed -e '/^\[keyring\]$/a check-crl=true' "$SB_CONFIG" >"$SB/system-nocrl.conf"
        run updatectl bundle info --config "$SB/system-nocrl.conf" "$I/good.bundle"
        [ "$TL_RC" != 0 ] || { TL_WHY="check-crl=true without a CRL accepted"; return 1; }
        expect_contains "$TL_OUT" "no CRL found" "reason" || return 1
        # the daemon refuses to start on it (before it touches the bus)
        run timeout 20 "$SB/bin/updated" --config "$SB/system-nocrl.conf" --boot-slot A
        [ "$TL_RC" != 0 ] && [ "$TL_RC" != 124 ] || { TL_WHY="updated started with check-crl=true and no CRL (rc $TL_RC)"; return 1; }
        expect_contains "$TL_OUT" "Refusing to start: keyring: check-crl=true, but no CRL found" "daemon's reason"
}

# --- A11: a hostile manifest behind a bad signature is never parsed ---------------------
# The error must be SignatureInvalid: an InvalidBundle (a manifest complaint) would mean
# the parser ran on unauthenticated bytes.
hostile() { # NAME [craft options]
        local n=$1
        shift
        craft make -o "$I/hostile-$n.bundle" --manifest-file "$I/hostile.json" --payload-file "$I/rand.img" "$@" ||
                { TL_WHY="craft failed"; return 1; }
        install_refused SignatureInvalid "$I/hostile-$n.bundle" || return 1
        if grep -qF "$E.InvalidBundle" <<<"$SEC_LAST_OUT"; then
                TL_WHY="manifest parsed before the signature was checked: $SEC_LAST_OUT"
                return 1
        fi
}
make_hostile_manifest() {
        # 200000 levels of nesting (a recursive parser's stack), a NUL, invalid UTF-8, a
        # duplicate key, a 3 MiB string: each would be a parse error or worse.  (Under the
        # 4 MiB signature cap: a larger one is refused from the header, test-bounds.sh.)
        "$SB_PY" - "$I/hostile.json" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b'{"format":1,"format":2,"compatible":"\\u0000\xff\xfe","x":"' + b"A" * (3 << 20) + b'","deep":')
    f.write(b"[" * 200000 + b"]" * 200000 + b"}")
EOF
}
t_hostile_untrusted_signer() { hostile untrusted --cert "$P/evil-signer.crt" --key "$P/evil-signer.key"; }
t_hostile_bad_value() {
        hostile bad-value --cert "$P/signer.crt" --key "$P/signer.key" --edit-cms 'c[:-1] + bytes([c[-1] ^ 1])'
}
t_hostile_no_signer() { hostile no-signer --sign nosigner --cert "$P/signer.crt"; }
t_hostile_expired() { hostile expired --cert "$P/expired-signer.crt" --key "$P/expired-signer.key"; }
t_hostile_unsigned() { hostile unsigned --sign none; }

# After all that the daemon still installs a valid bundle.
t_good_after() {
        expect_ok updatectl install "$I/good.bundle" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        cmp -s -n 262144 "$I/rand.img" "$SB_SLOT_B" || { TL_WHY="slot B content"; return 1; }
        expect_boots B
}

make_hostile_manifest || exit 1
sec_case control-crafted-bundle-valid t_control
sec_case sig-size-0 t_sig_0
sec_case sig-size-1 t_sig_1
sec_case sig-size-whole-file t_sig_whole_file
sec_case sig-size-past-eof t_sig_past_eof
sec_case sig-size-over-limit t_sig_over_limit
sec_case sig-size-2^63 t_sig_2p63
sec_case sig-size-2^64-1 t_sig_max
sec_case sig-size-header-sum-wraps t_sig_wrap_header
sec_case sig-size-total-sum-wraps t_sig_wrap_total
sec_case header-bad-magic t_hdr_magic
sec_case header-bad-version t_hdr_version
sec_case header-bad-header-size t_hdr_size
sec_case header-unknown-flags t_hdr_flags
sec_case cms-empty-sequence t_cms_empty_sequence
sec_case cms-garbage t_cms_garbage
sec_case cms-garbage-der-length t_cms_garbage_der
sec_case cms-truncated-der t_cms_truncated_der
sec_case cms-trailing-bytes t_cms_trailing
sec_case cms-no-signer t_cms_no_signer
sec_case cms-detached-content t_cms_detached
sec_case cms-no-certificates t_cms_no_certs
sec_case cms-bad-signature-value t_cms_bad_signature_value
sec_case cms-two-signers-one-unknown t_cms_two_signers_unknown
sec_case cms-two-signers-both-trusted t_cms_two_signers_valid
sec_case unsigned-bundle t_unsigned
sec_case sibling-intermediate t_sibling_intermediate
sec_case embedded-root-not-an-anchor t_embedded_root_not_anchor
sec_case signer-without-eku t_signer_no_eku
sec_case signer-serverauth-eku-only t_signer_server_eku
sec_case signer-is-ca t_signer_ca
sec_case signer-is-root t_signer_root
sec_case signer-expired t_signer_expired
sec_case signer-not-yet-valid t_signer_not_yet_valid
sec_case signer-revoked-crl t_signer_revoked
sec_case signer-rsa-1024 t_signer_rsa1024
sec_case weak-digest-sha1 t_weak_digest_sha1
sec_case hostile-manifest-untrusted-signer t_hostile_untrusted_signer
sec_case hostile-manifest-bad-signature-value t_hostile_bad_value
sec_case hostile-manifest-no-signer t_hostile_no_signer
sec_case hostile-manifest-expired-signer t_hostile_expired
sec_case hostile-manifest-unsigned t_hostile_unsigned
sec_case good-bundle-after-attacks t_good_after
