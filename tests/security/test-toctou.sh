#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: what is installed is exactly what was verified (A1, A30 of
# shared/reference/security-tests.md; RAUC CVE-2020-25860).  The bundle changes while the
# daemon reads it, after the signature check:
#   - through a pipe we feed: the first chunks of the signed bundle, then (once the daemon
#     reports "Writing", i.e. it verified the manifest and wrote chunk 0, or once the call
#     returned) the rest from a tampered copy or from ANOTHER validly signed bundle.
#     Deterministic: the daemon cannot read ahead of what we wrote.
#   - a regular file rewritten in place through a second writable fd, truncated, extended:
#     when the call returns (the manifest is verified) the daemon is stopped (SIGSTOP, every
#     thread seen stopped), the file is changed, the daemon continued.
#   - a regular file replaced by rename(2), by path (Install) and by fd (InstallFd).
# Expected: the install fails before the slot is activated (target failed and bad, booted A
# primary), or - where the daemon had already read the bytes or never sees the change - it
# succeeds with the ORIGINAL bundle's content.  Never the swapped or modified content.
# All synchronisation is on D-Bus signals (tests/security/lib/sec-client.c), no sleeps.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1; SIGSTOP of the daemon"
SB_SLOT_SIZE=24M
sec_setup A

I=$SB/img
mkdir -p "$I"
IMG_SIZE=$((16 << 20))
CHUNK=$((256 << 10))
mkimg() { "$SB_PY" -c 'import sys, random; sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2])))' "$1" "$IMG_SIZE"; }
mkimg 2 >"$I/v2.img" && mkimg 3 >"$I/v3.img" || exit 1
# compression none: chunk k of both bundles has the same size, so the mix-and-match feed
# puts v3's (validly signed, but for v3) chunk k exactly where v2's chunk k belongs.
craft make -o "$I/v2.bundle" --version 2 --image "rootfs=$I/v2.img" --chunk-size "$CHUNK" \
        --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" &&
        craft make -o "$I/v3.bundle" --version 3 --image "rootfs=$I/v3.img" --chunk-size "$CHUNK" \
                --cert "$SB/pki/signer.crt" --key "$SB/pki/signer.key" || exit 1
PAY2=$(sec_info "$I/v2.bundle" 'd["payload_offset"]')
PAY3=$(sec_info "$I/v3.bundle" 'd["payload_offset"]')
SIZE2=$(stat -c %s "$I/v2.bundle")
# A copy of v2 with one byte flipped in chunk 40 (of 64).
cp "$I/v2.bundle" "$I/v2-tampered.bundle"
sb_flip_byte "$I/v2-tampered.bundle" $((PAY2 + 40 * CHUNK + 123)) || exit 1

# flip_cmd FILE OFFSET: a /bin/sh command that flips one byte through its own writable fd.
cat >"$SB/bin/flip.py" <<'EOF'
import sys
f, off = sys.argv[1], int(sys.argv[2])
with open(f, "r+b") as h:
    h.seek(off); b = h.read(1); h.seek(off); h.write(bytes([b[0] ^ 0xff]))
EOF
flip_cmd() { echo "$SB_PY $SB/bin/flip.py $1 $2"; }

# The region of slot B from chunk K on holds no byte of IMAGE (it was zeroed before).
zero_b() { truncate -s 0 "$SB_SLOT_B" && truncate -s "$SB_SLOT_SIZE" "$SB_SLOT_B"; }
not_written_from() { # CHUNK-INDEX IMAGE
        local off=$(($1 * CHUNK))
        if cmp -s -i "$off:$off" -n $((IMG_SIZE - off)) "$2" "$SB_SLOT_B"; then
                TL_WHY="slot B holds the image from chunk $1 on"
                return 1
        fi
}
hook_ran() {
        grep -q '^HOOK.* status=0$' <<<"$SEC_LAST_OUT" && return 0
        TL_WHY="the change was never made (hook point not reached): $(tr '\n' ' ' <<<"$SEC_LAST_OUT" | cut -c1-300)"
        return 1
}

# Success with the original content, then back to A primary for the next case.
installed_original() { # ORIGINAL-IMAGE VERSION
        cmp -s -n "$IMG_SIZE" "$1" "$SB_SLOT_B" || { TL_WHY="slot B does not hold the original (verified) image"; return 1; }
        expect_slot rootfs.1 '["bundle"]["version"]' "$2" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        sec_expect_boots B || return 1
        expect_ok updatectl mark-bad other && sec_expect_boots A
}

# aborted_or_original ORIGINAL-IMAGE VERSION CMD...: the daemon either refused the changed
# bytes (sec_aborted contract) or had read the original ones before the change (success,
# slot B == the original image).  Anything else - in particular success with other content -
# fails.
aborted_or_original() {
        local img=$1 ver=$2
        shift 2
        zero_b
        sec_aborted_begin
        run "$@"
        SEC_LAST_OUT=$TL_OUT
        hook_ran || return 1
        if [ "$TL_RC" = 0 ]; then
                echo "  note: ${FUNCNAME[1]}: the daemon had read the bytes before they changed; it installed the verified original"
                installed_original "$img" "$ver"
                return
        fi
        # sec_aborted re-runs nothing: check its contract on the current state.
        expect_contains "$TL_OUT" "$E.InvalidBundle" "error of the failed install" || return 1
        sec_aborted_check
}

# --- pipes: deterministic ---------------------------------------------------------------
t_pipe_tampered() {
        zero_b
        sec_aborted InvalidBundle sec-client watch-install \
                --pipe "$I/v2.bundle" $((PAY2 + 2 * CHUNK)) "$I/v2-tampered.bundle" $((PAY2 + 2 * CHUNK)) || return 1
        hook_ran && not_written_from 40 "$I/v2.img"
}
# Mix and match: chunks 0-1 of v2, then chunks 2.. of v3 (each one validly signed, by the
# same key, for v3): refused at chunk 2, which never reaches the slot.
t_pipe_mix_and_match() {
        zero_b
        sec_aborted InvalidBundle sec-client watch-install \
                --pipe "$I/v2.bundle" $((PAY2 + 2 * CHUNK)) "$I/v3.bundle" $((PAY3 + 2 * CHUNK)) || return 1
        hook_ran && not_written_from 2 "$I/v3.img" && not_written_from 2 "$I/v2.img"
}
# The signed manifest of v2 followed by v3's payload from the first chunk on.
t_pipe_other_payload() {
        zero_b
        sec_aborted InvalidBundle sec-client watch-install --on-reply true \
                --pipe "$I/v2.bundle" "$PAY2" "$I/v3.bundle" "$PAY3" || return 1
        not_written_from 0 "$I/v3.img"
}

# --- a regular file changed under the daemon ----------------------------------------------
# stop_and FILE CMD: InstallFd of FILE; CMD runs while the daemon is stopped right after it
# replied to the call (manifest verified, target chosen, payload not read yet - unless the
# worker thread raced ahead between the reply and the SIGSTOP).
stop_and() {
        sec-client watch-install --fd "$1" --stop-pid "$SB_UPDATED_PID" --on-reply "$2"
}
t_file_rewrite() {
        cp "$I/v2.bundle" "$I/work.bundle"
        aborted_or_original "$I/v2.img" 2 stop_and "$I/work.bundle" "$(flip_cmd "$I/work.bundle" $((SIZE2 - 1000)))"
}
t_file_truncate() {
        cp "$I/v2.bundle" "$I/work.bundle"
        aborted_or_original "$I/v2.img" 2 stop_and "$I/work.bundle" "truncate -s $((PAY2 + 3 * CHUNK)) $I/work.bundle"
}
t_file_extend() {
        cp "$I/v2.bundle" "$I/work.bundle"
        aborted_or_original "$I/v2.img" 2 stop_and "$I/work.bundle" "printf X >>$I/work.bundle"
}

# rename(2) over the name: the daemon holds an fd to the original inode (opened once, by
# the client for InstallFd, by the daemon for Install(path)); the new file is a different
# inode it never opens.  So the install succeeds, and slot B holds v2 - never v3, and
# never the tampered copy.  (A failure would mean the daemon re-opened the path: that would
# be the RAUC bug even if the chunk hashes then caught it.)
t_rename_swap_path() {
        cp "$I/v2.bundle" "$I/swap.bundle"
        cp "$I/v3.bundle" "$I/swap-new.bundle"
        zero_b
        run sec-client watch-install --path "$I/swap.bundle" --stop-pid "$SB_UPDATED_PID" \
                --on-reply "mv -f $I/swap-new.bundle $I/swap.bundle"
        SEC_LAST_OUT=$TL_OUT
        hook_ran || return 1
        cmp -s "$I/v3.bundle" "$I/swap.bundle" || { TL_WHY="the rename did not happen"; return 1; }
        [ "$TL_RC" = 0 ] || { TL_WHY="install failed after the rename (re-opened by path?): $(tr '\n' ' ' <<<"$TL_OUT" | cut -c1-300)"; return 1; }
        installed_original "$I/v2.img" 2
}
t_rename_swap_fd() {
        cp "$I/v2.bundle" "$I/swap.bundle"
        cp "$I/v2-tampered.bundle" "$I/swap-new.bundle"
        zero_b
        run stop_and "$I/swap.bundle" "mv -f $I/swap-new.bundle $I/swap.bundle"
        SEC_LAST_OUT=$TL_OUT
        hook_ran || return 1
        [ "$TL_RC" = 0 ] || { TL_WHY="install failed after the rename: $(tr '\n' ' ' <<<"$TL_OUT" | cut -c1-300)"; return 1; }
        installed_original "$I/v2.img" 2
}

# Control: the untouched bundles install (so the failures above are due to the change).
t_control() {
        zero_b
        expect_ok sec-client watch-install --fd "$I/v3.bundle" || return 1
        installed_original "$I/v3.img" 3
}

sec_case control-untouched-bundle-installs t_control
sec_case pipe-tampered-after-verify t_pipe_tampered
sec_case pipe-mix-and-match-signed-chunks t_pipe_mix_and_match
sec_case pipe-other-bundles-payload t_pipe_other_payload
sec_case file-rewritten-in-place t_file_rewrite
sec_case file-truncated-while-reading t_file_truncate
sec_case file-extended-while-reading t_file_extend
sec_case rename-swap-install-path t_rename_swap_path
sec_case rename-swap-installfd t_rename_swap_fd
