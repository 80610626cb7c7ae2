#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent delivering RAUC bundles (.raucb, made by Debian's real `rauc bundle`,
# tests/lib/rauc-bundle-lib.sh): the DDI test server, its links redirected to real nginx
# (Range), the real updated on the sandbox bus, the agent as u1test-op, the boot simulator.
# A RAUC bundle's signature is at its end, so updated cannot read it from a pipe: in stream
# mode the agent's probe sees the squashfs superblock and serves updated's byte ranges
# (client/update-agent/update-agent-ranged.c).
#   - verity, then plain: installed in stream mode by byte ranges, rebooted, marked good,
#     reported as success naming the booted slot;
#   - one payload byte of a verity bundle changed: updated refuses it (InvalidBundle), the
#     action fails on the server with updated's error, the booted slot stays primary;
#   - a file that has the squashfs magic and no superblock: the pipe, refused by updated;
#   - a plain bundle over RAUC's max-bundle-download-size=: refused by updated by name, its
#     payload never fetched; delta=no (the pipe): refused by updated by name;
#   - the DDI server's own links (a Range request answered 200): the action fails at once by
#     name, telling to use mode=disk; updated is never called;
#   - mode=disk from the same server: downloaded to the state directory first, then
#     installed.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/agent-lib.sh"
. "$(dirname "$0")/../lib/rauc-bundle-lib.sh"
tl_require_cmd rauc mksquashfs
ag_setup

ddi_start --target-token "$AG_TOKEN" || { fail "$TL_FILE-setup" "DDI server"; exit 1; }
I=$SB/rauc
mkdir -p "$I"
# NAME:FORMAT:SIZE, each of a random image vN.img (incompressible, so the squashfs stores it
# raw); the bundle's version is its image's name, so each is newer than the one before.
n=3
for b in verity:verity:6M plain:plain:3M disk:verity:5M tampered:verity:6M big:plain:9M; do
        IFS=: read -r name format size <<<"$b"
        head -c "$size" /dev/urandom >"$I/v$n.img"
        rauc_bundle "$SB/www/$name.raucb" "$format" "$I/v$n.img" || { fail "$TL_FILE-setup" "rauc bundle $name"; exit 1; }
        n=$((n + 1))
done
sb_flip_byte "$SB/www/tampered.raucb" $((3 * 1024 * 1024 + 12345))
# The squashfs magic and nothing of a superblock after it.
{ printf 'hsqs'; head -c 1M /dev/urandom; } >"$SB/www/magic.raucb"
chmod 0644 "$SB/www/magic.raucb"
ag_nginx cdn "$SB/www" || { fail "$TL_FILE-setup" "nginx"; exit 1; }
CDN_URL=$AG_NGINX_URL
CDN_LOG=$AG_NGINX_LOG
# No artifact= line: the default (*.bundle *.raucb) takes a hawkBit distribution's .raucb.
ag_config
ag_start

fail_ctx() { [ "$TL_FAIL" -gt 0 ] && ag_fail_context; }
TL_ON_EXIT+=("fail_ctx")

# assign NAME FAULTS: a fresh agent, FAULTS on the DDI server, NAME.raucb assigned; sets ID.
assign() {
        ag_reset
        ag_log_reset
        : >"$CDN_LOG"
        ddi_ctl faults "$2" >/dev/null
        ID=$(ddi_assign "\"version\":\"$1\",\"artifacts\":[{\"filename\":\"$1.raucb\",\"path\":\"$SB/www/$1.raucb\"}]")
}

# installed_then_good NAME IMAGE SLOT-DEVICE SLOT-NAME DEVICE-SLOT: stream mode by byte ranges,
# the reboot the agent asked for, MarkGood, and only then success on the server.
installed_then_good() {
        local reboots
        reboots=$(count_reboots)
        assign "$1" "{\"redirect\":\"$CDN_URL\"}" || return 1
        ag_until "$AG_WAIT" "[ \"\$(count_reboots)\" -gt $reboots ]" ||
                { TL_WHY="no reboot request; feedback: $(ddi_state "fb($ID)[-3:]" | cut -c1-600)"; return 1; }
        ag_log_has "Serving byte ranges of" || { TL_WHY="the agent did not serve byte ranges"; return 1; }
        expect_eq "$(grep -c ' /'"$1"'.raucb ' "$CDN_LOG")" "$(grep ' /'"$1"'.raucb ' "$CDN_LOG" | grep -c '^206 ')" \
                "206 answers among nginx's answers" || return 1
        check_slot "$3" "$2" "$4" "$(basename "$2")" || return 1
        expect_eq "$(ddi_state "a($ID)['status']")" RUNNING "server status before the reboot" || return 1
        ag_measure "agent RAUC $1 bundle of $(stat -c %s "$SB/www/$1.raucb") bytes by byte ranges: nginx sent" \
                "$(awk '$3 == "/'"$1"'.raucb" { sub("bytes=", "", $NF); s += $NF } END { print s + 0 }' "$CDN_LOG") bytes;" \
                "updated: $(grep -o 'Read the ranged bundle with .*' "$SB/updated.log" | tail -n 1)"
        ag_reboot || return 1
        expect_eq "$SB_BOOTED" "$5" "booted" || return 1
        ag_wait 10 grep -q "Resuming action $ID in phase rebooting" "$AG_LOG" || { TL_WHY="agent did not resume"; return 1; }
        expect_eq "$(ddi_state "a($ID)['status']")" RUNNING "server status before MarkGood" || return 1
        ag_mark_good || return 1
        ag_wait_status "$ID" FINISHED || return 1
        expect_eq "$(ddi_state "fb($ID)[-1]['finished']")" success "final" || return 1
        expect_contains "$(ag_last_details "$ID")" "Booted slot $4" "final details" || return 1
        expect_contains "$(ddi_state "' | '.join(' '.join(f['details']) for f in fb($ID))")" \
                "bytes by byte ranges (RAUC bundle)" "feedback"
}

t_verity() { installed_then_good verity "$I/v3.img" "$SB_SLOT_B" rootfs.1 B; }
t_plain() { installed_then_good plain "$I/v4.img" "$SB_SLOT_A" rootfs.0 A; }

# Booted A after t_plain: the tampered bundle (a newer version, so that only the change can
# refuse it) goes to B and is refused at the changed block.
t_tampered() {
        local before=$I/slot-b.before d
        cp "$SB_SLOT_B" "$before"
        assign tampered "{\"redirect\":\"$CDN_URL\"}" || return 1
        ag_wait_status "$ID" ERROR || return 1
        d=$(ag_last_details "$ID")
        expect_contains "$d" "org.example.Update1.Error.InvalidBundle" "failure details" || return 1
        expect_contains "$d" "failed verification" "failure details" || return 1
        ag_expect_failure "$ID" InvalidBundle || return 1
        ag_log_has "Serving byte ranges of" || { TL_WHY="the agent did not serve byte ranges"; return 1; }
        expect_eq "$(count_reboots)" 2 "reboot requests" || return 1
        refused_into_b "$before" "$I/v6.img"
}

# The DDI server's own link answers the probe's Range request with 200: a pipe cannot carry a
# RAUC bundle, so the action fails by name and says what to do; updated is never asked.
t_no_range_server() {
        local installs
        installs=$(grep -c 'Install of .* requested by uid' "$SB/updated.log")
        assign disk '{}' || return 1
        ag_wait_status "$ID" ERROR || return 1
        ag_expect_failure "$ID" NoRangeSupport || return 1
        expect_contains "$(ag_last_details "$ID")" "is a RAUC bundle, which updated reads at offsets" "failure details" || return 1
        expect_contains "$(ag_last_details "$ID")" "does not serve byte ranges (HTTP 200" "failure details" || return 1
        expect_contains "$(ag_last_details "$ID")" "mode=disk" "failure details" || return 1
        expect_eq "$(grep -c 'Install of .* requested by uid' "$SB/updated.log")" "$installs" "InstallFd calls in updated's log" || return 1
        # The probe stopped at the first bytes: the artifact was not streamed.
        [ "$(ddi_state "sum(r['bytes'] for r in arts)")" -lt "$(stat -c %s "$SB/www/disk.raucb")" ] ||
                { TL_WHY="the DDI server sent the whole artifact: $(ddi_state "[(r['status'], r['bytes']) for r in arts]")"; return 1; }
}

# mode=disk from the same server: a file updated reads at offsets.
t_disk() {
        local rc
        AG_MODE=disk
        ag_config
        assign disk '{}'
        rc=$?
        AG_MODE=
        ag_config
        [ "$rc" = 0 ] || return 1
        ag_wait_installed "$ID" || return 1
        ! ag_log_has "Serving byte ranges of" || { TL_WHY="served byte ranges in mode=disk"; return 1; }
        check_slot "$SB_SLOT_B" "$I/v5.img" rootfs.1 v5.img
}

# A plain bundle over RAUC's max-bundle-download-size= (8 MiB): updated refuses it by name
# before its payload is asked for, and the action fails with that error.
t_plain_over_cap() {
        local size
        size=$(stat -c %s "$SB/www/big.raucb")
        assign big "{\"redirect\":\"$CDN_URL\"}" || return 1
        ag_wait_status "$ID" ERROR || return 1
        expect_contains "$(ag_last_details "$ID")" "org.example.Update1.Error.InvalidBundle" "failure details" || return 1
        expect_contains "$(ag_last_details "$ID")" "max-bundle-download-size=" "failure details" || return 1
        [ "$(awk '$3 == "/big.raucb" { sub("bytes=", "", $NF); s += $NF } END { print s + 0 }' "$CDN_LOG")" -lt $((size / 2)) ] ||
                { TL_WHY="nginx sent the payload of a refused bundle: $(tail -n 3 "$CDN_LOG")"; return 1; }
}

# delta=no: no probe, the pipe for every artifact; updated refuses a RAUC bundle from it by
# name, and the action fails with that error.
t_delta_off() {
        local rc
        AG_DELTA=no
        ag_config
        assign disk "{\"redirect\":\"$CDN_URL\"}"
        rc=$?
        AG_DELTA=
        ag_config
        [ "$rc" = 0 ] || return 1
        ag_wait_status "$ID" ERROR || return 1
        expect_contains "$(ag_last_details "$ID")" "org.example.Update1.Error.InvalidBundle" "failure details" || return 1
        expect_contains "$(ag_last_details "$ID")" "cannot be read from a pipe" "failure details" || return 1
        ! ag_log_has "Serving byte ranges of" || { TL_WHY="served byte ranges with delta=no"; return 1; }
}

# The squashfs magic alone is not a RAUC bundle to the probe (the superblock's version and
# block size must be one's): the pipe, and updated refuses what it reads from it by name.
t_magic_only() {
        assign magic "{\"redirect\":\"$CDN_URL\"}" || return 1
        ag_wait_status "$ID" ERROR || return 1
        ! ag_log_has "Serving byte ranges of" || { TL_WHY="served byte ranges for the magic alone"; return 1; }
        ag_log_has "Streaming the artifact: it is not a format-2 bundle" || { TL_WHY="no probe answer in the agent's log"; return 1; }
        expect_contains "$(ag_last_details "$ID")" "org.example.Update1.Error.InvalidBundle" "failure details"
}

ag_case agent-rauc-verity-streamed-by-ranges t_verity
ag_case agent-rauc-plain-streamed-by-ranges t_plain
ag_case agent-rauc-tampered-refused-reported t_tampered
ag_case agent-rauc-no-range-server-named-error t_no_range_server
ag_case agent-rauc-plain-over-download-cap-refused t_plain_over_cap
ag_case agent-rauc-delta-off-refused-by-updated t_delta_off
ag_case agent-rauc-probe-needs-a-superblock t_magic_only
ag_case agent-rauc-mode-disk-installs t_disk
