#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RAUC bundles (.raucb) through the real updated on a private bus: bundles made here by Debian's
# real `rauc bundle` (plain and verity), signed by a signer under an intermediate CA that only
# the bundle carries (the keyring holds the root: RAUC's semantics, Update1's default for RAUC
# bundles unless [keyring] allow-bundle-intermediates=false is written), installed
# with the real `updatectl install` and the real `rauc install` (RAUC 1.8 CLI, through
# de.pengutronix.rauc) and checked byte for byte.  Refusals (tampered payload,
# untrusted signer, wrong compatible, hooks, crypt, a pipe) leave the booted slot primary and
# nothing activated; a tampered verity block never reaches the slot, from a file or from nginx
# over http (Range requests).  The verity hash tree RAUC wrote is cross-checked with
# veritysetup.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/rauc-bundle-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd rauc veritysetup mksquashfs unsquashfs nginx
tl_setup A

# The sandbox's config does not write allow-bundle-intermediates=: RAUC bundles then chain
# through the intermediates they carry, as in RAUC (t_no_intermediates_written_false checks the
# other way).
! grep -q '^allow-bundle-intermediates' "$SB_CONFIG" || { fail "$TL_FILE-setup" "the sandbox config sets allow-bundle-intermediates"; exit 1; }

I=$SB/rauc
mkdir -p "$I"
# Old content in slot B that no image has: a write that should not happen shows.
head -c 16M /dev/urandom >"$SB_SLOT_B"
sb_make_ext4 "$I/v2.ext4" 8M 2 || exit 1
head -c 6M /dev/urandom >"$I/v3.img"

rauc_bundle "$I/plain.raucb" plain "$I/v2.ext4" &&
        rauc_bundle "$I/verity.raucb" verity "$I/v3.img" || { fail "$TL_FILE-bundles" "rauc bundle failed"; exit 1; }

# The CMS at the end of a RAUC bundle, and a field of the manifest a verity bundle carries in it.
cms_blob() {
        "$SB_PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack(">Q", d[-8:])[0]
sys.stdout.buffer.write(d[-8 - n:-8])' "$1"
}
verity_field() {
        cms_blob "$1" | openssl cms -verify -noverify -inform DER -binary 2>/dev/null | sed -n "s/^$2=//p"
}

veritysetup_verify() { # BUNDLE DATA-SIZE SALT ROOT
        run veritysetup verify --no-superblock --format=1 --hash=sha256 --data-block-size=4096 \
                --hash-block-size=4096 --data-blocks=$(($2 / 4096)) --hash-offset="$2" --salt="$3" "$1" "$1" "$4"
}

t_veritysetup_agrees() {
        local b=$I/verity.raucb size cms hash salt vsize data
        size=$(stat -c %s "$b")
        cms=$(cms_blob "$b" | wc -c)
        hash=$(verity_field "$b" verity-hash)
        salt=$(verity_field "$b" verity-salt)
        vsize=$(verity_field "$b" verity-size)
        [ -n "$hash" ] && [ -n "$salt" ] && [ -n "$vsize" ] || { TL_WHY="no verity keys in the signed manifest"; return 1; }
        data=$((size - 8 - cms - vsize))
        veritysetup_verify "$b" "$data" "$salt" "$hash"
        [ "$TL_RC" = 0 ] || { TL_WHY="veritysetup verify: $(_tl_out_excerpt)"; return 1; }
        expect_ok updatectl bundle info --keyring "$SB/pki/ca.crt" --allow-bundle-intermediates --check-payload "$b" || return 1
        # One byte of the hash tree changed: veritysetup and Update1 both refuse.
        cp "$b" "$I/tree.raucb"
        sb_flip_byte "$I/tree.raucb" $((data + vsize - 100))
        veritysetup_verify "$I/tree.raucb" "$data" "$salt" "$hash"
        [ "$TL_RC" != 0 ] || { TL_WHY="veritysetup accepted a changed hash tree"; return 1; }
        run updatectl bundle info --keyring "$SB/pki/ca.crt" --allow-bundle-intermediates "$I/tree.raucb"
        [ "$TL_RC" != 0 ] || { TL_WHY="bundle info accepted a changed hash tree"; return 1; }
        expect_contains "$TL_OUT" "hash tree invalid" "bundle info (changed tree)"
}

t_bundle_info() {
        local f sha
        for f in plain verity; do
                # no --allow-bundle-intermediates: RAUC bundles use the ones they carry
                expect_ok updatectl bundle info --keyring "$SB/pki/ca.crt" "$I/$f.raucb" || return 1
                expect_contains "$TL_OUT" "RAUC $f" "bundle info format" || return 1
                expect_contains "$TL_OUT" "Intermediate Signer" "bundle info signer" || return 1
                expect_ok updatectl bundle info --json --keyring "$SB/pki/ca.crt" --allow-bundle-intermediates "$I/$f.raucb" || return 1
                expect_eq "$(sb_json 'd["rauc-format"]' <<<"$TL_OUT")" "$f" "json rauc-format" || return 1
                expect_eq "$(sb_json 'd["compatible"]' <<<"$TL_OUT")" "$SB_COMPATIBLE" "json compatible" || return 1
        done
        sha=$(sb_json 'd["images"][0]["sha256"]' <<<"$TL_OUT")
        expect_eq "$sha" "$(sha256sum <"$I/v3.img" | cut -c1-64)" "manifest sha256 of the verity image"
}

# The daemon's InspectBundle reads them through the same reader (an fd of the file).
t_inspect() {
        local f
        for f in plain verity; do
                expect_ok bus-call InspectBundle h "$I/$f.raucb" || return 1
                expect_contains "$TL_OUT" "\"compatible\":\"$SB_COMPATIBLE\"" "InspectBundle ($f)" || return 1
                expect_contains "$TL_OUT" "Intermediate Signer" "InspectBundle signer ($f)" || return 1
        done
}

# A refusal before anything was written: the status file, the env and both slots unchanged.
refused_unchanged() { # ERROR NEEDLE BUNDLE
        tl_snapshot
        expect_error "$1" updatectl install "$3" || return 1
        expect_contains "$TL_OUT" "$2" "refusal message" || return 1
        expect_unchanged || return 1
        expect_booted A && expect_primary A && expect_boots A
}

t_tampered_plain() {
        cp "$I/plain.raucb" "$I/t-plain.raucb"
        sb_flip_byte "$I/t-plain.raucb" 200000
        refused_unchanged org.example.Update1.Error.SignatureInvalid "signature" "$I/t-plain.raucb"
}

t_untrusted_signer() {
        rauc_bundle "$I/evil.raucb" verity "$I/v3.img" "" evil-signer || { TL_WHY="rauc bundle (evil)"; return 1; }
        refused_unchanged org.example.Update1.Error.SignatureInvalid "signature invalid" "$I/evil.raucb"
}

t_wrong_compatible() {
        rauc_bundle "$I/other.raucb" plain "$I/v2.ext4" other-board || { TL_WHY="rauc bundle (other)"; return 1; }
        refused_unchanged org.example.Update1.Error.Incompatible "other-board" "$I/other.raucb"
}

t_hooks() {
        rauc_bundle "$I/hooks.raucb" verity "$I/v3.img" "" "" '\n[hooks]\nfilename=hook.sh\nhooks=install-check\n' ||
                { TL_WHY="rauc bundle (hooks)"; return 1; }
        refused_unchanged org.example.Update1.Error.InvalidBundle "hooks ([hooks]) are not supported" "$I/hooks.raucb"
}

t_crypt() {
        rauc_bundle "$I/crypt.raucb" crypt "$I/v3.img" || { TL_WHY="rauc bundle (crypt)"; return 1; }
        refused_unchanged org.example.Update1.Error.InvalidBundle "crypt bundles" "$I/crypt.raucb"
}

t_pipe() {
        tl_snapshot
        expect_error org.example.Update1.Error.InvalidBundle sh -c 'cat "$1" | updatectl install -' sh "$I/verity.raucb" || return 1
        expect_contains "$TL_OUT" "as a file or an http(s) URL" "pipe refusal" || return 1
        expect_unchanged || return 1
        expect_booted A && expect_primary A
}

# A changed block in the middle of the verity image: the install stops at it, after writing the
# authenticated chunks before it.  Every 4 KiB block of slot B is then either its old content
# or the image's: the changed block (which decompresses to neither) never reached it.
t_tampered_verity() {
        local before=$I/slot-b.before
        cp "$SB_SLOT_B" "$before"
        cp "$I/verity.raucb" "$I/t-verity.raucb"
        sb_flip_byte "$I/t-verity.raucb" $((3 * 1024 * 1024 + 12345))
        expect_error org.example.Update1.Error.InvalidBundle updatectl install "$I/t-verity.raucb" || return 1
        expect_contains "$TL_OUT" "failed verification" "verity refusal" || return 1
        refused_into_b "$before" "$I/v3.img"
}

# require-manifest-hash (de.pengutronix.rauc InstallBundle): the hash is RAUC's, the SHA-256 of
# manifest.raucm as signed: in the CMS of a verity bundle, in the squashfs of a plain one (read
# here with openssl and unsquashfs, not with Update1).  A wrong one fails before any write.
t_manifest_hash() {
        local b want i le op zero
        zero=$(printf '0%.0s' {1..64})
        for b in verity plain; do
                if [ $b = verity ]; then
                        want=$(cms_blob "$I/verity.raucb" | openssl cms -verify -noverify -inform DER -binary 2>/dev/null |
                                sha256sum | cut -c1-64)
                else
                        want=$(unsquashfs -cat "$I/plain.raucb" manifest.raucm 2>/dev/null | sha256sum | cut -c1-64)
                fi
                expect_ok bus-call InspectBundle h "$I/$b.raucb" || return 1
                expect_contains "$TL_OUT" "\"manifest-hash\":\"$want\"" "InspectBundle ($b)" || return 1
                tl_snapshot
                expect_ok gdbus call --system --dest de.pengutronix.rauc --object-path / \
                        --method de.pengutronix.rauc.Installer.InstallBundle "$I/$b.raucb" \
                        "{'require-manifest-hash': <'$zero'>}" || return 1
                for ((i = 0; i < SB_WAIT * 20; i++)); do
                        le=$(busctl --system get-property de.pengutronix.rauc / de.pengutronix.rauc.Installer LastError)
                        op=$(busctl --system get-property de.pengutronix.rauc / de.pengutronix.rauc.Installer Operation)
                        [[ $le == *"got $want"* && $op == 's "idle"' ]] && break
                        sleep 0.05
                done
                expect_contains "$le" "unexpected manifest hash (expected $zero, got $want)" "$b: LastError" || return 1
                expect_unchanged || return 1
        done
}

t_install_plain() {
        local a_sha
        a_sha=$(sha256sum <"$SB_SLOT_A" | cut -c1-64)
        # RAUC's own command line, through de.pengutronix.rauc: a RAUC device's tooling unchanged
        expect_ok rauc install "$I/plain.raucb" || return 1
        expect_contains "$TL_OUT" "succeeded" "rauc install" || return 1
        check_slot "$SB_SLOT_B" "$I/v2.ext4" rootfs.1 v2.ext4 || return 1
        expect_primary B && expect_boots B || return 1
        expect_eq "$(sha256sum <"$SB_SLOT_A" | cut -c1-64)" "$a_sha" "booted slot A content" || return 1
        expect_contains "$(debugfs -R 'cat /etc/os-release' "$SB_SLOT_B" 2>/dev/null)" 'VERSION="2"' "os-release in slot B"
}

t_install_verity() {
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        expect_ok updatectl install "$I/verity.raucb" || return 1
        check_slot "$SB_SLOT_A" "$I/v3.img" rootfs.0 v3.img || return 1
        expect_primary A && expect_boots A
}

# Over http(s): the daemon reads the bundle with Range requests (nginx serves them).  A
# changed block is refused before it reaches the slot, as from a file.
t_http() {
        local before=$I/slot-b.before2 w=$SB/www line got total i
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        head -c 6M /dev/urandom >"$I/v4.img"
        rauc_bundle "$I/v4.raucb" verity "$I/v4.img" || { TL_WHY="rauc bundle (v4)"; return 1; }
        mkdir -p "$w" && chmod 0755 "$w"
        cp "$I/v4.raucb" "$w/v4.raucb" && cp "$I/v4.raucb" "$w/t-v4.raucb"
        sb_flip_byte "$w/t-v4.raucb" $((3 * 1024 * 1024 + 12345))
        chmod 0644 "$w"/*
        sb_start_nginx "$w" 2>"$SB/nginx.err" || { TL_WHY="nginx: $(cat "$SB/nginx.err")"; return 1; }

        cp "$SB_SLOT_B" "$before"
        expect_error org.example.Update1.Error.InvalidBundle updatectl install "$SB_HTTP_URL/t-v4.raucb" || return 1
        expect_contains "$TL_OUT" "failed verification" "http verity refusal" || return 1
        refused_into_b "$before" "$I/v4.img" || return 1

        expect_ok updatectl install "$SB_HTTP_URL/v4.raucb" || return 1
        check_slot "$SB_SLOT_B" "$I/v4.img" rootfs.1 v4.img || return 1
        expect_primary B && expect_boots B || return 1
        # Range requests it was: 206 answers in nginx's log, and the daemon's count.
        grep -q '"GET /v4.raucb HTTP/1.1" 206 ' "$SB/nginx/access.log" ||
                { TL_WHY="no 206 in the nginx log: $(tail -n 3 "$SB/nginx/access.log")"; return 1; }
        # Every byte once (data, hash tree, CMS and its size) and the one-byte size request: it
        # fails when blocks are fetched twice (lib/verity.c's single window read 132 KiB again).
        # The daemon logs the count when the source is freed, about when the install ends.
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                grep -q 'Read http[^ ]*/v4.raucb with' "$SB/updated.log" && break
                sleep 0.05
        done
        line=$(grep -o 'Read http[^ ]*/v4.raucb with [0-9]* range requests, [0-9]* of [0-9]* bytes' "$SB/updated.log" | tail -n 1)
        tl_diag "$line"
        read -r got total <<<"$(sed -E 's/.*, ([0-9]+) of ([0-9]+) bytes/\1 \2/' <<<"$line")"
        [ -n "$got" ] && [ "$total" = "$(stat -c %s "$w/v4.raucb")" ] && [ "$got" -le $((total + 1)) ] ||
                { TL_WHY="the range requests fetched more than the bundle and the size request: '$line'"; return 1; }
}

# Info and InspectBundle of a URL (de.pengutronix.rauc): the signature, the manifest and the
# verity hash tree with Range requests, never the images.  Runs after t_http (nginx, v4.raucb).
t_inspect_url() {
        local want n i line got total
        want=$(cms_blob "$SB/www/v4.raucb" | openssl cms -verify -noverify -inform DER -binary 2>/dev/null |
                sha256sum | cut -c1-64)
        n=$(grep -c 'Read http[^ ]*/v4.raucb with' "$SB/updated.log")
        expect_ok gdbus call --system --dest de.pengutronix.rauc --object-path / \
                --method de.pengutronix.rauc.Installer.Info "$SB_HTTP_URL/v4.raucb" || return 1
        expect_eq "$TL_OUT" "('$SB_COMPATIBLE', 'v4.img')" "Info of a URL" || return 1
        expect_ok gdbus call --system --dest de.pengutronix.rauc --object-path / \
                --method de.pengutronix.rauc.Installer.InspectBundle "$SB_HTTP_URL/v4.raucb" '@a{sv} {}' || return 1
        expect_contains "$TL_OUT" "'manifest-hash': <'$want'>" "InspectBundle of a URL" || return 1
        expect_contains "$TL_OUT" "'version': <'v4.img'>" "InspectBundle of a URL" || return 1
        # the daemon logs what it fetched once the source is freed, just after the answer
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                [ "$(grep -c 'Read http[^ ]*/v4.raucb with' "$SB/updated.log")" -ge $((n + 2)) ] && break
                sleep 0.05
        done
        line=$(grep -o 'Read http[^ ]*/v4.raucb with [0-9]* range requests, [0-9]* of [0-9]* bytes' "$SB/updated.log" | tail -n 1)
        tl_diag "InspectBundle: $line"
        read -r got total <<<"$(sed -E 's/.*, ([0-9]+) of ([0-9]+) bytes/\1 \2/' <<<"$line")"
        [ -n "$got" ] && [ "$total" = "$(stat -c %s "$SB/www/v4.raucb")" ] && [ $((got * 4)) -lt "$total" ] ||
                { TL_WHY="InspectBundle of a URL fetched too much: '$line'"; return 1; }
        # a URL that does not answer: the download's error, not a short stream
        expect_error org.example.Update1.Error.Io gdbus call --system --dest de.pengutronix.rauc --object-path / \
                --method de.pengutronix.rauc.Installer.Info "$SB_HTTP_URL/missing.raucb" || return 1
        expect_contains "$TL_OUT" "404" "Info of a missing URL"
}

# A plain bundle over http: the whole payload is fetched for the signature (1 MiB ranges), then
# again, block-checked, for the image.
# Restarts updated with LINE added to [system] (none: the sandbox's own config).
restart_with() {
        local conf=$SB_CONFIG
        if [ -n "$1" ]; then
                conf=$SB/system-extra.conf
                sed "/^\[system\]/a $1" "$SB_CONFIG" >"$conf"
        fi
        sb_stop_updated
        SB_CONFIG=$conf sb_start_updated "$SB_BOOTED" 2>"$SB/restart.err" || { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
}

# A plain bundle is hashed whole before the first write: Progress must move during that pass
# ("Verifying bundle" at several percents between 1 and 9) on org.example.Update1 (signal
# Progress) and on de.pengutronix.rauc (property Progress), and never go back.  After an
# install watched by sb_monitor_start on both names.
watch_check_plain_pass() {
        sb_monitor_check "$SB/monitor.json" <<'EOF'
ours, rauc = [], []
for member, data in signals():
    p = changed(member, data, "de.pengutronix.rauc.Installer", "Progress")
    if member == "Progress":
        ours.append((data[0], data[1]))
    elif p is not None:
        rauc.append((p[0], p[1]))
errors = []
for face, seen in (("org.example.Update1", ours), ("de.pengutronix.rauc", rauc)):
    percents = [p for p, _ in seen]
    during = {p for p, msg in seen if msg == "Verifying bundle" and 1 <= p <= 9}
    if len(during) < 3:
        errors.append("%s: Progress did not move during the signature pass: %s" % (face, seen[:20]))
    if percents != sorted(percents) or not percents or percents[-1] != 100:
        errors.append("%s: Progress not rising to 100: %s" % (face, percents))
print("; ".join(errors) if errors else "ok: %d + %d progress updates" % (len(ours), len(rauc)))
sys.exit(1 if errors else 0)
EOF
        [ "$TL_RC" = 0 ] && return 0
        TL_WHY="$TL_OUT"
        return 1
}

t_http_plain() {
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        # 12 MiB: the signature pass reads 1 MiB at a time, so its Progress has a dozen steps
        head -c 12M /dev/urandom >"$I/v5.img"
        rauc_bundle "$SB/www/v5.raucb" plain "$I/v5.img" || { TL_WHY="rauc bundle (v5)"; return 1; }
        chmod 0644 "$SB/www/v5.raucb"
        # RAUC's max-bundle-download-size= caps a plain bundle from a URL, bundle-formats= the
        # formats: both refused by name, nothing written, B still primary.
        restart_with 'max-bundle-download-size=1048576' || return 1
        tl_snapshot
        expect_error org.example.Update1.Error.InvalidBundle updatectl install "$SB_HTTP_URL/v5.raucb" || return 1
        expect_contains "$TL_OUT" "max-bundle-download-size=1048576" "download size refusal" || return 1
        expect_unchanged && expect_primary B || return 1
        restart_with 'bundle-formats=-plain' || return 1
        expect_error org.example.Update1.Error.InvalidBundle updatectl install "$I/plain.raucb" || return 1
        expect_contains "$TL_OUT" "not allowed by [system] bundle-formats=" "bundle-formats refusal" || return 1
        expect_unchanged && expect_primary B || return 1
        # above RAUC's default 8 MiB cap, which the bundle exceeds
        restart_with 'max-bundle-download-size=33554432' || return 1
        sb_monitor_start "$SB/monitor.json" "$SB_NAME" de.pengutronix.rauc || { TL_WHY="busctl monitor did not start"; return 1; }
        expect_ok updatectl install "$SB_HTTP_URL/v5.raucb" || { sb_kill "$SB_MONITOR_PID"; return 1; }
        watch_check_plain_pass || return 1
        check_slot "$SB_SLOT_A" "$I/v5.img" rootfs.0 v5.img || return 1
        expect_primary A && expect_boots A || return 1
        grep -q '"GET /v5.raucb HTTP/1.1" 206 ' "$SB/nginx/access.log" || { TL_WHY="no 206 for v5 in the nginx log"; return 1; }
}

# A server without Range support (Python's http.server answers 200 with the whole file):
# refused by name before anything is written.
t_http_no_ranges() {
        local port pid i
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "$SB_PY" -m http.server --bind 127.0.0.1 --directory "$SB/www" "$port" >"$SB/pyhttp.log" 2>&1 </dev/null &
        pid=$!
        sb_track "$pid"
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                curl -sf -o /dev/null "http://127.0.0.1:$port/v5.raucb" && break
                sleep 0.05
        done
        tl_snapshot
        expect_error org.example.Update1.Error.Io updatectl install "http://127.0.0.1:$port/v5.raucb" || return 1
        expect_contains "$TL_OUT" "does not serve byte ranges" "refusal" || return 1
        expect_unchanged || return 1
        sb_kill "$pid"
}

# A server that stalls in the middle of a verity bundle (it answers Range requests for the
# bundle, but one starting in [2 MiB, 3 MiB) gets no answer, ever; it writes
# $SB/stalled first).  A cancel stops the install within a second or so, as for a stalled
# stream, not after curl's 60 s low-speed limit: the client's wait (SB_WAIT) ends long before.
t_http_stall_cancel() {
        local port pid rc i
        sb_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot failed: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "slot booted" || return 1
        expect_ok updatectl mark-good || return 1
        head -c 6M /dev/urandom >"$I/v6.img"
        rauc_bundle "$I/v6.raucb" verity "$I/v6.img" || { TL_WHY="rauc bundle (v6)"; return 1; }
        port=$("$SB_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        rm -f "$SB/stalled"
        "$SB_PY" - "$port" "$I/v6.raucb" "$SB/stalled" >"$SB/stall.log" 2>&1 <<'EOF' &
import http.server, os, re, sys
port, path, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        m = re.match(r"bytes=(\d+)-(\d+)$", self.headers.get("Range", ""))
        if not m:  # the daemon's first, streaming GET: it stops reading once it sees RAUC
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass
            return
        a, b = int(m.group(1)), int(m.group(2))
        if 2 << 20 <= a < 3 << 20:
            open(marker, "w").close()
            self.rfile.read()  # no answer; ends when the client closes the connection
            return
        self.send_response(206)
        self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        self.wfile.write(data[a:b + 1])
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
        pid=$!
        sb_track "$pid"
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                curl -sf -r 0-0 -o /dev/null "http://127.0.0.1:$port/v6.raucb" && break
                sleep 0.05
        done
        tl_snapshot
        updatectl install "http://127.0.0.1:$port/v6.raucb" >"$SB/bg.out" 2>&1 &
        BG_PID=$!
        sb_track "$BG_PID"
        for ((i = 0; i < SB_WAIT * 20; i++)); do
                [ -e "$SB/stalled" ] && break
                sleep 0.05
        done
        [ -e "$SB/stalled" ] || { TL_WHY="the install never reached the stalled range: $(cat "$SB/bg.out")"; sb_kill "$pid"; return 1; }
        expect_ok updatectl cancel || { sb_kill "$pid"; return 1; }
        tl_wait_pid "$BG_PID"
        rc=$?
        sb_kill "$pid"
        [ "$rc" != 0 ] && [ "$rc" != 124 ] || { TL_WHY="cancelled client exited $rc: $(cat "$SB/bg.out")"; return 1; }
        expect_contains "$(cat "$SB/bg.out")" "org.example.Update1.Error.Cancelled" "client output" || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after cancel"; return 1; }
        expect_primary A && expect_boots A
}

# [keyring] allow-bundle-intermediates=false written in the file holds for RAUC bundles too.
t_intermediates_refused_when_written() {
        local conf=$SB/no-inter.conf
        sed '/^\[keyring\]/a allow-bundle-intermediates=false' "$SB_CONFIG" >"$conf"
        sb_stop_updated
        SB_CONFIG=$conf sb_start_updated A 2>"$SB/restart.err" || { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
        tl_snapshot
        expect_error org.example.Update1.Error.SignatureInvalid updatectl install "$I/verity.raucb" || return 1
        expect_unchanged || return 1
        expect_primary A && expect_boots A || return 1
        sb_stop_updated
        sb_start_updated A 2>"$SB/restart.err" || { TL_WHY="restart: $(cat "$SB/restart.err")"; return 1; }
}

tl_case veritysetup-agrees t_veritysetup_agrees
tl_case bundle-info t_bundle_info
tl_case inspect-bundle t_inspect
tl_case tampered-plain-refused t_tampered_plain
tl_case untrusted-signer-refused t_untrusted_signer
tl_case wrong-compatible-refused t_wrong_compatible
tl_case hooks-refused t_hooks
tl_case crypt-refused t_crypt
tl_case pipe-refused t_pipe
tl_case intermediates-refused-when-written-false t_intermediates_refused_when_written
tl_case tampered-verity-block-never-written t_tampered_verity
tl_case require-manifest-hash-is-raucs t_manifest_hash
tl_case install-plain t_install_plain
tl_case install-verity t_install_verity
tl_case install-over-http-ranges t_http
tl_case inspect-url-with-ranges t_inspect_url
tl_case install-plain-over-http t_http_plain
tl_case http-without-ranges-refused t_http_no_ranges
tl_case http-stall-cancelled t_http_stall_cancel
