#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: a valid bundle (made by the real `updatectl bundle create`, zstd chunks) cut
# at every structural boundary, and 50 seeded random single-bit flips over the whole file
# (A14, F4 of shared/reference/security-tests.md).  Each one is refused, nothing activated:
#   - a fault in the header or the signature is refused before the call returns and the
#     device is byte-identical (sec_refused);
#   - a fault in the payload is found when that chunk arrives: the target is failed, bad
#     and out of the boot order, A untouched and still booted next (sec_aborted).
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
sec_setup A

I=$SB/img
mkdir -p "$I"
IMG_SIZE=$((512 * 1024))
# A seeded image and a fixed build id: the layout (and so the flipped offsets below) differs
# between runs only by the length of the ECDSA signature (a byte or two).
"$SB_PY" -c 'import sys, random; sys.stdout.buffer.write(random.Random(1).randbytes(int(sys.argv[1])))' "$IMG_SIZE" >"$I/rand.img" &&
        sb_bundle "$I/good.bundle" 2 "$I/rand.img" "" "" --chunk-size 64K --build 20260101000000 || exit 1
craft info "$I/good.bundle" >"$I/info.json" || exit 1
info() { sb_json "$1" <"$I/info.json"; }
SIZE=$(info 'd["size"]')
SIG=$(info 'd["sig_size"]')
PAY=$(info 'd["payload_offset"]')
read -r -a CHUNKS <<<"$(info '" ".join(str(o) for o in d["chunk_offsets"])')"
[ "$(info 'd["payload_end"]')" = "$SIZE" ] && [ "${#CHUNKS[@]}" = 8 ] ||
        { fail "$TL_FILE-setup" "unexpected bundle layout: $(head -c 300 "$I/info.json")"; exit 1; }

# cut N: $I/cut-N.bundle = the first N bytes.
cut_at() { head -c "$1" "$I/good.bundle" >"$I/cut-$1.bundle"; }

t_cut_refused() { # N
        cut_at "$1" && sec_refused InvalidBundle updatectl install "$I/cut-$1.bundle"
}
t_cut_aborted() { # N
        cut_at "$1" && sec_aborted InvalidBundle updatectl install "$I/cut-$1.bundle"
}
# The same through a pipe (read() returns 0 at the cut instead of a short regular file).
t_cut_pipe_refused() {
        cut_at "$1" && sec_refused InvalidBundle sh -c 'cat "$1" | updatectl install -' sh "$I/cut-$1.bundle"
}
t_cut_pipe_aborted() {
        cut_at "$1" && sec_aborted InvalidBundle sh -c 'cat "$1" | updatectl install -' sh "$I/cut-$1.bundle"
}

# The last chunk must not reach the slot when the stream ends 1 byte early or has 1 byte too
# many (the end-of-file check runs before the last chunk is handed out).
last_chunk_absent() {
        local last=$(((IMG_SIZE - 1) / 65536 * 65536))
        if cmp -s -i "$last:$last" -n $((IMG_SIZE - last)) "$I/rand.img" "$SB_SLOT_B"; then
                TL_WHY="the last chunk reached slot B"
                return 1
        fi
}
zero_b() { truncate -s 0 "$SB_SLOT_B" && truncate -s "${SB_SLOT_SIZE:-4M}" "$SB_SLOT_B"; }
t_eof_minus_1() { zero_b && t_cut_aborted $((SIZE - 1)) && last_chunk_absent; }
t_trailing_byte() {
        zero_b
        { cat "$I/good.bundle"; printf 'X'; } >"$I/trailing.bundle"
        sec_aborted InvalidBundle updatectl install "$I/trailing.bundle" || return 1
        expect_contains "$SEC_LAST_OUT" "trailing" "error names the trailing data" || return 1
        last_chunk_absent
}

# Seeded, deterministic bit flips: 8 in the header, 20 in the signature, 22 in the payload.
flip_list() {
        "$SB_PY" - "$SIZE" "$PAY" <<'EOF'
import random, sys
size, pay = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(20261121)
for lo, hi, n in ((0, 32, 8), (32, pay, 20), (pay, size, 22)):
    for off in sorted(rng.sample(range(lo, hi), n)):
        print(off, rng.randrange(8))
EOF
}
t_flip() { # OFFSET BIT
        local f=$I/flip.bundle
        cp "$I/good.bundle" "$f"
        "$SB_PY" -c '
import sys
f, off, bit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f, "r+b") as h:
    h.seek(off); b = h.read(1); h.seek(off); h.write(bytes([b[0] ^ (1 << bit)]))' "$f" "$1" "$2" ||
                { TL_WHY="flip failed"; return 1; }
        if [ "$1" -lt "$PAY" ]; then
                sec_refused "InvalidBundle|SignatureInvalid" updatectl install "$f"
        else
                sec_aborted InvalidBundle updatectl install "$f"
        fi
}

# Control: the uncut bundle is accepted by `bundle info --check-payload` (no state change).
t_control() { expect_ok updatectl bundle info --keyring "$SB/pki/ca.crt" --check-payload "$I/good.bundle"; }

sec_case control-bundle-valid t_control
sec_case cut-empty t_cut_refused 0
sec_case cut-in-magic t_cut_refused 1
for n in 8 12 16 24 31 32; do
        sec_case "cut-header-at-$n" t_cut_refused "$n"
done
sec_case cut-in-signature-first-byte t_cut_refused 33
sec_case cut-in-signature-middle t_cut_refused $((32 + SIG / 2))
sec_case cut-signature-last-byte-missing t_cut_refused $((PAY - 1))
sec_case cut-at-payload-start t_cut_aborted "$PAY"
sec_case cut-in-first-chunk t_cut_aborted $((PAY + 1))
for ((k = 1; k < ${#CHUNKS[@]}; k++)); do
        sec_case "cut-at-chunk-$k-boundary" t_cut_aborted "${CHUNKS[k]}"
done
sec_case cut-1-byte-before-eof t_eof_minus_1
sec_case trailing-byte-after-payload t_trailing_byte
sec_case pipe-cut-in-header t_cut_pipe_refused 20
sec_case pipe-cut-in-signature t_cut_pipe_refused $((32 + SIG / 2))
sec_case pipe-cut-at-payload-start t_cut_pipe_aborted "$PAY"
sec_case pipe-cut-1-byte-before-eof t_cut_pipe_aborted $((SIZE - 1))
mapfile -t FLIPS < <(flip_list)
[ "${#FLIPS[@]}" = 50 ] || { fail "$TL_FILE-flips" "flip list: ${FLIPS[*]}"; exit 1; }
i=0
for f in "${FLIPS[@]}"; do
        read -r off bit <<<"$f"
        i=$((i + 1))
        if [ "$off" -lt 32 ]; then region=header; elif [ "$off" -lt "$PAY" ]; then region=signature; else region=payload; fi
        sec_case "$(printf 'bitflip-%02d-%s-offset-%d-bit-%d' "$i" "$region" "$off" "$bit")" t_flip "$off" "$bit"
done
