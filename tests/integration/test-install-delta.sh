#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The delta install of format-2 bundles (issue #13, daemon/install-delta.c): with the booted
# slot holding v1 and a bundle of v2 (v1 with a few regions changed), an install from a file or
# from nginx with Range reuses v1's chunks from slot A and fetches only the changed ones; a
# corrupted chunk of slot A is caught by the re-hash and fetched; the target slot's own old
# content is a seed too; a pipe still streams the whole bundle.  All real: updated on the
# sandbox bus, `updatectl bundle create`, nginx, file-backed slots.
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/delta-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd nginx curl
tl_setup A

W=$SB/www
mkdir -p "$W"
chmod 0755 "$W"
# v1: 8 MiB of random bytes (incompressible, so stored bytes = raw bytes and the byte counts
# below mean what they say).  v2: v1 with 64 KiB changed at three places.
delta_v2 "$SB/v1.img" "$SB/v2.img" 8M 1 4 7 || exit 1
sb_bundle "$W/v2.bundle" 2 "$SB/v2.img" "" "" --format 2 || exit 1
sb_bundle "$W/v2f1.bundle" 2 "$SB/v2.img" || exit 1
chmod 0644 "$W"/*
BUNDLE_SIZE=$(stat -c %s "$W/v2.bundle")
sb_start_nginx "$W" 2>"$SB/nginx.err" || { fail "$TL_FILE-nginx" "$(cat "$SB/nginx.err")"; exit 1; }

# The booted slot A holds v1 (the running system), the target B garbage.
fresh_slots() {
        dd if="$SB/v1.img" of="$SB_SLOT_A" conv=notrunc status=none || return 1
        head -c 16M /dev/urandom >"$SB_SLOT_B"
}

installed_v2() { delta_slot_holds "$SB/v2.img" "$SB_SLOT_B" rootfs.1 && expect_boots B; }


# Most of the 128-ish chunks come from slot A, and the bytes read of the bundle are a small part
# of it (three changed regions: a few chunks each).
expect_mostly_reused() {
        local chunks reused fetched
        chunks=$(delta_summary chunks) reused=$(delta_summary reused_booted_chunks) fetched=$(delta_summary fetched_bytes)
        [ -n "$chunks" ] && [ -n "$reused" ] && [ -n "$fetched" ] || { TL_WHY="no delta summary in updated.log"; return 1; }
        [ "$reused" -ge $((chunks * 3 / 4)) ] ||
                { TL_WHY="only $reused of $chunks chunks reused from slot A"; return 1; }
        [ "$fetched" -le $((BUNDLE_SIZE / 4)) ] ||
                { TL_WHY="$fetched of $BUNDLE_SIZE bundle bytes fetched"; return 1; }
}

t_file() {
        fresh_slots || return 1
        expect_ok updatectl install "$W/v2.bundle" || return 1
        expect_contains "$TL_OUT" "Looking for reusable data of rootfs" "progress" || return 1
        installed_v2 || return 1
        expect_mostly_reused || return 1
        expect_eq "$(delta_summary refetched)" 0 "chunks re-fetched after a failed re-hash" || return 1
        tl_diag "updated after a delta install from a file: $(grep VmHWM "/proc/$(sb_updated_pid)/status" 2>/dev/null)"
}

# tables_end BUNDLE: where a format-2 bundle's payload starts: the 32-byte header, the
# signature, the chunk tables (72 bytes a chunk; the counts from `updatectl bundle info`).
tables_end() {
        local chunks
        chunks=$(updatectl bundle info --keyring "$SB/pki/ca.crt" "$1" | awk '$1 == "Chunks:" { s += $2 } END { print s + 0 }')
        [ "$chunks" -gt 0 ] || return 1
        echo $(($(sb_payload_offset "$1") + chunks * 72))
}

# url_delta NAME: a delta install of $W/NAME from nginx, counted in nginx's own log, every
# answer for the bundle: the stream's requests (header, signature, tables: they start before
# the payload), the one-byte probe, one request per planned range (each under 2 MiB here).
# All 206; the stream at most 3 requests and no byte beyond the tables and the stream's first
# 64 KiB; the payload requests exactly the planned ranges and bytes.  Every request after the
# first carries If-Range with nginx's ETag.  Sets STREAM_REQS, STREAM_BYTES, ALL_BYTES.
url_delta() {
        local name=$1 p etag pay_reqs pay_bytes u=/$1 log=$SB/nginx/ranges.log
        p=$(tables_end "$W/$1") || { TL_WHY="no chunk count from bundle info"; return 1; }
        : >"$log"
        : >"$SB/nginx/ifrange.log"
        expect_ok updatectl install "$SB_HTTP_URL/$1" || return 1
        installed_v2 || return 1
        expect_eq "$(awk -v u="$u" '$3 == u && $1 != 206' "$log" | wc -l)" 0 "answers other than 206" || return 1
        # "bytes=A-B" → A and B; the probe is "bytes=0-0".
        read -r STREAM_REQS STREAM_BYTES pay_reqs pay_bytes ALL_BYTES < <(awk -v u="$u" -v p="$p" '$3 == u { r = $4; gsub(/"|bytes=/, "", r); split(r, a, "-")
                        if (r == "0-0") next
                        if (a[1] < p) { sr++; sb += $2 } else { pr++; pb += $2 }
                        all += $2 }
                END { printf "%d %d %d %d %d\n", sr, sb, pr, pb, all }' "$log")
        [ "$STREAM_REQS" -ge 1 ] && [ "$STREAM_REQS" -le 3 ] ||
                { TL_WHY="$STREAM_REQS stream requests: $(awk -v u="$u" '$3 == u' "$log" | tr '\n' ' ')"; return 1; }
        [ "$STREAM_BYTES" -le $((p + 65536)) ] ||
                { TL_WHY="the stream took $STREAM_BYTES bytes, header + signature + tables are $p"; return 1; }
        expect_eq "$pay_reqs" "$(delta_summary ranges)" "payload requests (the planned ranges)" || return 1
        expect_eq "$pay_bytes" "$(delta_summary fetched_bytes)" "payload bytes sent (the planned ranges')" || return 1
        etag=$(awk -v u="$u" '$1 == u && $2 == "\"bytes=0-65535\"" { print $4 }' "$SB/nginx/ifrange.log" | head -n 1)
        [ -n "$etag" ] && [ "$etag" != '"-"' ] || { TL_WHY="nginx sent no ETag"; return 1; }
        # (awk -v would decode nginx's \x22 escapes: the ETag goes through the environment.)
        expect_eq "$(E=$etag awk -v u="$u" '$1 == u && $2 != "\"bytes=0-65535\"" && $3 != ENVIRON["E"]' "$SB/nginx/ifrange.log" | wc -l)" 0 \
                "later requests without If-Range $etag" || return 1
        tl_diag "nginx, $name: $((STREAM_REQS + pay_reqs + 1)) requests, $ALL_BYTES of $(stat -c %s "$W/$name") bytes (stream: $STREAM_REQS requests, $STREAM_BYTES bytes; header + signature + tables: $p; payload: $pay_bytes in $pay_reqs ranges)"
}

t_url() {
        fresh_slots || return 1
        url_delta v2.bundle || return 1
        expect_mostly_reused || return 1
        # Header, signature and tables of this bundle fit the first request.
        expect_eq "$STREAM_REQS" 1 "stream requests" || return 1
        [ "$ALL_BYTES" -le $((BUNDLE_SIZE / 2)) ] || { TL_WHY="nginx sent $ALL_BYTES of $BUNDLE_SIZE bytes"; return 1; }
}

# Small chunks (4 KiB on average): the tables (about 150 KB) are larger than the stream's first
# request; the stream asks for the rest of them, and not for more.
t_url_small_chunks() {
        local p
        sb_bundle "$W/small.bundle" 2 "$SB/v2.img" "" "" --format 2 --chunk-size 4K || return 1
        p=$(tables_end "$W/small.bundle") || return 1
        [ "$p" -gt 65536 ] || { TL_WHY="header, signature and tables are only $p bytes"; return 1; }
        fresh_slots || return 1
        url_delta small.bundle || return 1
        expect_eq "$STREAM_REQS" 2 "stream requests" || return 1
        expect_eq "$STREAM_BYTES" "$p" "stream bytes (header + signature + tables)" || return 1
        expect_eq "$(delta_summary chunks)" "$(($(updatectl bundle info --keyring "$SB/pki/ca.crt" "$W/small.bundle" | awk '$1 == "Chunks:" { print $2 }')))" "chunks"
}

# start_gated_install [NAME]: updatectl install of NAME (v2.bundle) through the closed gate in
# the background (pid in INSTALL_PID, output in $SB/gated.out); returns once the daemon logged
# its plan.
start_gated_install() {
        local i before
        before=$(grep -c 'to fetch in' "$SB/updated.log")
        updatectl install "$GATE_URL/${1:-v2.bundle}" >"$SB/gated.out" 2>&1 &
        INSTALL_PID=$!
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                [ "$(grep -c 'to fetch in' "$SB/updated.log")" -gt "$before" ] && return 0
                kill -0 "$INSTALL_PID" 2>/dev/null || break
                sleep 0.02
        done
        TL_WHY="no delta plan logged: $(head -c 300 "$SB/gated.out")"
        return 1
}

# The booted slot changes after the daemon indexed it and before it reads the chunk (a byte
# flipped at 6 MiB, where v1 and v2 agree): the re-hash catches it, the chunk is fetched on its
# own, and slot B is still exactly v2.  The gap between planning and reuse is held open by a
# real HTTP server whose ranged answers wait for a gate file (tests/lib/gate_http.py: nginx
# cannot hold an answer back); the test opens the gate once the daemon logged its plan.
t_corrupt_seed() {
        fresh_slots || return 1
        start_gate || return 1
        start_gated_install || { touch "$SB/gate"; return 1; }
        sb_flip_byte "$SB_SLOT_A" $((6 * 1024 * 1024 + 12345)) || return 1
        touch "$SB/gate"
        wait "$INSTALL_PID" || { TL_WHY="install failed: $(head -c 300 "$SB/gated.out")"; return 1; }
        installed_v2 || return 1
        expect_eq "$(delta_summary refetched)" 1 "chunks re-fetched after a failed re-hash" || return 1
        grep -q 'slot rootfs.0 at offset [0-9]* does not match the signed hash any more; fetching it' "$SB/updated.log" ||
                { TL_WHY="no warning about the corrupted seed in updated.log"; return 1; }
}

# Slot A holds nothing of v2, slot B (the target) holds v1: the chunks come from B itself,
# each from at or ahead of where it is written.
t_target_seed() {
        head -c 8M /dev/urandom | dd of="$SB_SLOT_A" conv=notrunc status=none || return 1
        head -c 16M /dev/urandom >"$SB_SLOT_B"
        dd if="$SB/v1.img" of="$SB_SLOT_B" conv=notrunc status=none || return 1
        expect_ok updatectl install "$W/v2.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_summary reused_booted_chunks)" 0 "chunks reused from slot A" || return 1
        # The target is read as far as the new image reaches (8 MiB), not to the end of its 16 MiB.
        grep 'Delta install of image rootfs into rootfs.1:' "$SB/updated.log" | tail -n 1 | grep -q "and $(stat -c %s "$SB/v2.img") bytes read" ||
                { TL_WHY="target not indexed to the image size: $(grep 'Delta install of image rootfs into' "$SB/updated.log" | tail -n 1)"; return 1; }
        [ "$(delta_summary reused_target_chunks)" -ge $(($(delta_summary chunks) * 3 / 4)) ] ||
                { TL_WHY="only $(delta_summary reused_target_chunks) of $(delta_summary chunks) chunks reused from slot B"; return 1; }
}

t_pipe() {
        local before
        fresh_slots || return 1
        before=$(delta_lines)
        expect_ok sh -c 'cat "$1" | updatectl install -' sh "$W/v2.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_lines)" "$before" "delta summaries after a pipe install"
}

# Python's own http.server answers a Range request with 200 and the whole file: the probe says
# no, nothing is logged as an error, and the bundle installs from the stream as before; so does
# a format-1 bundle.
t_no_range_server() {
        local port i before
        fresh_slots || return 1
        (
                trap - EXIT INT TERM
                cd "$W" && exec "$SB_PY" -u -m http.server --bind 127.0.0.1 0 >"$SB/plain.out" 2>"$SB/plain.log" </dev/null
        ) &
        sb_track $!
        for ((i = 0; i < SB_WAIT * 50; i++)); do grep -q 'port [0-9]' "$SB/plain.out" 2>/dev/null && break; sleep 0.02; done
        port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$SB/plain.out" | head -n 1)
        [ -n "$port" ] || { TL_WHY="http.server did not start: $(cat "$SB/plain.out" "$SB/plain.log")"; return 1; }
        before=$(delta_lines)
        expect_ok updatectl install "http://127.0.0.1:$port/v2.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(delta_lines)" "$before" "delta summaries from a server without Range" || return 1
        grep -q "Installing http://127.0.0.1:$port/v2.bundle from the stream: the server does not serve byte ranges" "$SB/updated.log" ||
                { TL_WHY="no 'from the stream' line in updated.log"; return 1; }
        ! grep -q 'does not serve byte ranges, which' "$SB/updated.log" ||
                { TL_WHY="the probe's 'no' was logged as a Range failure"; return 1; }
        # The full body went out once for the stream (and the probe's 200 was cut short).
        grep -q '"GET /v2.bundle HTTP/1.1" 200' "$SB/plain.log" || { TL_WHY="no 200 GET in http.server's log: $(head -c 300 "$SB/plain.log")"; return 1; }
        # A format-1 bundle from the same server: one 200, streamed.
        fresh_slots || return 1
        expect_ok updatectl install "http://127.0.0.1:$port/v2f1.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(grep -c '"GET /v2f1.bundle HTTP/1.1" 200' "$SB/plain.log")" 1 "GETs of the format-1 bundle"
}

# A cancel while a range is being fetched (held by the gate): the Range request stops, the
# install fails as cancelled, slot B is failed and A still boots.
t_cancel_during_fetch() {
        local rc
        fresh_slots || return 1
        start_gate || return 1
        start_gated_install || { touch "$SB/gate"; return 1; }
        expect_ok updatectl cancel || { touch "$SB/gate"; return 1; }
        wait "$INSTALL_PID"
        rc=$?
        touch "$SB/gate"
        [ "$rc" != 0 ] || { TL_WHY="the cancelled install exited 0"; return 1; }
        expect_contains "$(cat "$SB/gated.out")" "org.example.Update1.Error.Cancelled" "install output" || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after cancel"; return 1; }
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A
}

# A server that answers the probe right and then sends wrong bytes in its ranges (the right
# length, one byte further on): the stored hash of the first fetched chunk catches it before
# zstd sees it; the install fails by name, slot B is failed and A still boots.
t_lying_server() {
        refused_by_gate shift v2.bundle InvalidBundle "of image rootfs failed verification: sha256 mismatch"
}

# refused_by_gate MODE BUNDLE ERROR TEXT: an install of BUNDLE from gate_http.py in MODE (gate
# open) fails with the D-Bus error named ERROR (one of lib/error-kinds.h) saying TEXT; slot B
# failed, A still boots.
refused_by_gate() {
        fresh_slots || return 1
        start_gate "$1" || return 1
        touch "$SB/gate"
        expect_error "org.example.Update1.Error.$3" updatectl install "$GATE_URL/$2" || return 1
        expect_contains "$TL_OUT" "$4" "error" || return 1
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A
}

# Two images (rootfs and a child appfs slot): each is seeded from its own class's booted slot,
# and appfs's ranges start after rootfs's stored bytes in the payload.  Last: it changes the
# configuration and restarts the daemon.
t_two_images() {
        local app_sha
        head -c 4M /dev/urandom >"$SB/app1.img"
        cp "$SB/app1.img" "$SB/app2.img"
        head -c 32K /dev/urandom | dd of="$SB/app2.img" bs=1M seek=2 conv=notrunc status=none || return 1
        sb_bundle "$W/two.bundle" 2 "$SB/v2.img" "" "" --image "appfs=$SB/app2.img" --format 2 || return 1
        truncate -s 8M "$SB/appfs-a.img" "$SB/appfs-b.img" || return 1
        dd if="$SB/app1.img" of="$SB/appfs-a.img" conv=notrunc status=none || return 1
        head -c 8M /dev/urandom >"$SB/appfs-b.img"
        sb_stop_updated
        sb_write_config "$SB_CONFIG" "" "[slot.appfs.0]" "device=$SB/appfs-a.img" "type=raw" "parent=rootfs.0" \
                "" "[slot.appfs.1]" "device=$SB/appfs-b.img" "type=raw" "parent=rootfs.1" || return 1
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="updated with appfs slots: $(cat "$SB/start.err")"; return 1; }
        fresh_slots || return 1
        expect_ok updatectl install "$W/two.bundle" || return 1
        installed_v2 || return 1
        cmp -s -n "$(stat -c %s "$SB/app2.img")" "$SB/app2.img" "$SB/appfs-b.img" || { TL_WHY="slot appfs.1 does not hold app2"; return 1; }
        app_sha=$(sha256sum <"$SB/app2.img" | cut -c1-64)
        expect_slot appfs.1 '["checksum"]["sha256"]' "$app_sha" || return 1
        grep -q 'Delta install of image appfs into appfs.1: .* seeded from appfs.0 and appfs.1' "$SB/updated.log" ||
                { TL_WHY="appfs was not seeded from appfs.0"; return 1; }
        [ "$(grep 'Delta install of image appfs done:' "$SB/updated.log" | tail -n 1 | grep -o 'reused_booted_chunks=[0-9]*' | cut -d= -f2)" -ge 40 ] ||
                { TL_WHY="appfs: $(grep 'Delta install of image appfs done:' "$SB/updated.log" | tail -n 1)"; return 1; }
        expect_mostly_reused
}

# A format-1 bundle over http (no delta): the stream is its first 64 KiB, then the rest up to the
# payload's end once the reader asks for the first chunk, both 206 from nginx; a server that
# answers the request for the rest with 200 (the whole file again) and no validator, or with a
# 206 from another byte, fails the download by name, and nothing wrong reaches the slot.
t_stream_two_requests() {
        fresh_slots || return 1
        : >"$SB/nginx/ranges.log"
        expect_ok updatectl install "$SB_HTTP_URL/v2f1.bundle" || return 1
        installed_v2 || return 1
        expect_eq "$(awk '$3 == "/v2f1.bundle" { print $1, $4 }' "$SB/nginx/ranges.log" | tr '\n' ' ')" \
                "206 \"bytes=0-65535\" 206 \"bytes=65536-$(($(stat -c %s "$W/v2f1.bundle") - 1))\" " "nginx's answers" || return 1
        refused_by_gate norest v2f1.bundle Io "(from byte 65536) was answered with HTTP status 200" || return 1
        # A 206 that starts elsewhere than asked is not those bytes either.
        refused_by_gate offby v2f1.bundle Io "(from byte 65536) was answered with HTTP status 206"
}

# swapped NAME: waits until the gate holds a request back, then replaces $W/NAME by a copy of
# the same size with one byte changed (a new file: another mtime, so another ETag).
swapped() {
        local i
        for ((i = 0; i < SB_WAIT * 50; i++)); do
                grep -q '^gated ' "$SB/gate.log" 2>/dev/null && break
                kill -0 "$INSTALL_PID" 2>/dev/null || break
                sleep 0.02
        done
        grep -q '^gated ' "$SB/gate.log" || { TL_WHY="no request held by the gate: $(head -c 300 "$SB/gated.out")"; return 1; }
        cp "$W/$1" "$W/$1.new" && sb_flip_byte "$W/$1.new" $(($(stat -c %s "$W/$1") - 100)) && chmod 0644 "$W/$1.new" &&
                mv -f "$W/$1.new" "$W/$1"
}

# changed_refused NAME: the install of NAME (started through the gate) fails with the If-Range
# sentence as Error.Io; slot B is failed and A stays primary.  Without If-Range the server would
# have sent the new file's bytes (same size), which a hash would refuse as InvalidBundle.
changed_refused() {
        touch "$SB/gate"
        ! wait "$INSTALL_PID" || { TL_WHY="the install of a bundle that changed on the server succeeded"; return 1; }
        expect_contains "$(cat "$SB/gated.out")" "org.example.Update1.Error.Io" "install output" || return 1
        expect_contains "$(cat "$SB/gated.out")" "the bundle changed on the server during the download" "install output" || return 1
        expect_contains "$(cat "$SB/gated.out")" "install again" "install output" || return 1
        sb_wait_property Operation idle 2>/dev/null || { TL_WHY="not idle after the failure"; return 1; }
        expect_slot rootfs.1 '["status"]' failed || return 1
        expect_boots A || return 1
        expect_primary A
}

# The bundle is replaced on the server after the stream's first request (a format-1 stream: its
# second request carries If-Range, the server answers 200 with the new file).
t_changed_during_stream() {
        cp "$W/v2f1.bundle" "$W/swap1.bundle" && chmod 0644 "$W/swap1.bundle" || return 1
        fresh_slots || return 1
        start_gate || return 1
        updatectl install "$GATE_URL/swap1.bundle" >"$SB/gated.out" 2>&1 &
        INSTALL_PID=$!
        swapped swap1.bundle || { touch "$SB/gate"; return 1; }
        changed_refused
}

# The same between a delta install's plan and its ranged reads.
t_changed_during_ranges() {
        cp "$W/v2.bundle" "$W/swap2.bundle" && chmod 0644 "$W/swap2.bundle" || return 1
        fresh_slots || return 1
        start_gate || return 1
        start_gated_install swap2.bundle || { touch "$SB/gate"; return 1; }
        swapped swap2.bundle || { touch "$SB/gate"; return 1; }
        changed_refused
}

tl_case delta-file-reuses-booted-slot t_file
tl_case delta-url-fetches-ranges t_url
tl_case delta-url-small-chunks t_url_small_chunks
tl_case delta-corrupted-seed-refetched t_corrupt_seed
tl_case delta-cancel-during-fetch t_cancel_during_fetch
tl_case delta-lying-server-refused t_lying_server
tl_case delta-target-slot-seed t_target_seed
tl_case delta-pipe-streams t_pipe
tl_case delta-no-range-server-streams t_no_range_server
tl_case stream-first-64k-then-rest t_stream_two_requests
tl_case changed-on-server-during-stream t_changed_during_stream
tl_case changed-on-server-during-ranges t_changed_during_ranges
tl_case delta-two-images t_two_images
