#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Power loss at any point of an install, a mark or the daemon's start-up after a fallback: the
# daemon is killed with SIGKILL at the entry of one system call (which then never runs), for
# every system call of the operation; then the board "reboots" through the boot simulator (the
# logic of the shipped U-Boot script on the real redundant env, a new boot id) and the daemon
# starts again in whatever slot U-Boot chose.
#
# Fault injection: tests/lib/powerloss-tracer.sh, a small ptrace tool that counts the syscall
# entries of chosen threads and kills the process at the K-th.  `strace -e
# inject=all:signal=KILL:when=K` cannot enumerate: strace counts per syscall NAME and thread,
# so when=K fires at the first name that reaches its K-th call and skips most positions.
# Kill points are counted per thread role, so that the numbering is reproducible:
#   install: "worker" = the install thread (every state change of an install happens there:
#            target bad in the env, status pending, chunk writes, fsync, status ok + trial
#            record, target primary on trial, activation count): every syscall outside the
#            repeated chunk-write loop, a spread sample inside it (first and last included),
#            and a spread sample of the main thread's syscalls (bus, progress, Completed).
#            Two installs, each from a file: "install" a format-1 bundle (16 fixed 64 KiB
#            chunks), "install-f2" a format-2 bundle (content-defined chunks of 4 KiB average,
#            ~250 of them; an image that shares most of its content with the booted slot, so
#            that a delta install seeding from the slots takes that path), "install-patch" the
#            same image in a format-2 bundle with patches from v1.1 (what A runs, with its status
#            record: the delta install applies zstd patches for the changed runs instead of
#            fetching their chunks; the reference run checks that it did), and "install-ranged"
#            that bundle through InstallFd's "ranged" socket (tests/lib/ranged_client.py
#            serves it; the feeder thread counts as a worker too).  All are checked the
#            same way: the check is on the state a kill leaves, whatever path the daemon took
#            to get there.
#   marks:   "main" = the main thread, which runs Mark from reading the bus call to the reply:
#            every one of its syscalls from attaching (idle in epoll_wait) to after the reply.
#            Mark good and Mark bad on B's trial boot, Mark active of B from A.
#   startup: the daemon's first start after U-Boot fell back from B's failed trial (it records
#            the fallback: status failed + last_boot, then B bad in the env): started stopped
#            and traced from exec; every syscall from its first access to status.json until
#            it owns the bus name.
# SIGKILL is a crash, not a power cut: data not yet fsync()ed survives it.  install-fsync-order
# checks on the recorded trace that each step is flushed before the next one depends on it.
#
# After each kill:
#   install: the env is in one of the install's three states (untouched; target bad; target
#     primary on trial), the target is never bootable (not even as the fallback) while it is
#     being overwritten, the boot simulator picks the old slot A unless the activation was
#     complete (UPDATE1_TRIAL=B and B first in BOOT_ORDER, read BEFORE the reboot; then it
#     must pick B, B must hold the whole image and status.json must say so), status.json is
#     valid JSON, `updatectl status` works and names the booted slot, and a fresh install
#     succeeds and is what U-Boot boots next.
#   marks, startup: the env is exactly the state before or the state after (never in between),
#     the boot simulator picks the slot of that state, and the same status and fresh-install
#     checks pass.  After the start-up kills the fallback must still be reported (last_boot,
#     B failed and bad); after Mark bad a lost report is only noted (the daemon writes the env
#     before the status file there on purpose).
# Also: the fallback itself (a new slot that never marks good, with 1 and 2 trial attempts)
# and the daemon's report of it.
#
# Speed: kill points are shared out over PL_PARTS processes (default 2), each with its own
# sandbox on a private tmpfs (pl_setup); results are merged into one test point per phase.
# Knobs: PL_LOOP_SAMPLES and PL_F2_LOOP_SAMPLES (kill points inside the chunk loop of the
# format-1 and the format-2 installs, with or without patches, 0 = all), PL_F2_OUTSIDE and
# PL_PATCH_OUTSIDE (which kill points outside it, see f2_exhaustive), PL_MAIN_SAMPLES
# (install main-thread kill points, 0 = all), PL_PARTS, PL_PHASES (a subset of "install
# install-f2 install-patch install-ranged mark-good mark-bad mark-active startup").
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/powerloss-lib.sh
. "$(dirname "$0")/../lib/powerloss-lib.sh"
# shellcheck source=tests/lib/powerloss-tracer.sh
. "$(dirname "$0")/../lib/powerloss-tracer.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1; ptrace"
tl_require_cmd cc fw_printenv fw_setenv busctl cmp
SB_SLOT_SIZE=${SB_SLOT_SIZE:-2M}
PL_LOOP_SAMPLES=${PL_LOOP_SAMPLES:-24}
PL_MAIN_SAMPLES=${PL_MAIN_SAMPLES:-12}
# Kill points are shared out over PL_PARTS processes with a sandbox each (see "parts" below).
PL_PARTS=${PL_PARTS:-2}
PL_PART=${PL_PART:-0}
PL_F2_LOOP_SAMPLES=${PL_F2_LOOP_SAMPLES:-48}
PL_PHASES=${PL_PHASES:-install install-f2 install-patch install-ranged mark-good mark-bad mark-active startup}
PL_START=$(date +%s)
pl_setup A

if ! pl_build_tracer 2>"$SB/tracer-build.err"; then
        fail "$TL_FILE-setup" "cannot build the tracer: $(head -c 300 "$SB/tracer-build.err")"
        exit 1
fi

I=$SB/img
IMG_SIZE=$((1024 * 1024))
mkdir -p "$I"
for v in 1 1.1 2 3; do
        # 1 MiB of random data in 64 KiB chunks: 16 chunks, each written in percent slices.
        if ! sb_make_random "$I/v$v.img" "$IMG_SIZE" ||
           ! sb_bundle "$I/v$v.bundle" "$v" "$I/v$v.img" "" "" --chunk-size 65536; then
                fail "$TL_FILE-setup" "cannot build bundle v$v"
                exit 1
        fi
done
# Format 2 (install-f2): v2f2 is v1.1 (what the booted slot A holds in the baseline) with a few
# regions changed: 1000 bytes inserted at 300000 (what follows shifts; the end is cut to keep
# the size) and 8 KiB overwritten at 100 KiB, 512 KiB and 900 KiB, so that a delta install
# seeding from A would reuse most chunks and fetch a few.  The smallest average chunk size the
# chunker accepts (4 KiB, lib/cdc.h): ~250 chunks, many kill points inside the loop to sample.
F2_CHUNK_AVG=4096
if ! "$SB_PY" - "$I/v1.1.img" "$I/v2f2.img" "$IMG_SIZE" <<'EOF' ||
import os, sys
src, dst, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = bytearray(open(src, "rb").read())
d[300000:300000] = os.urandom(1000)
for off in (100 << 10, 512 << 10, 900 << 10):
    d[off:off + 8192] = os.urandom(8192)
open(dst, "wb").write(bytes(d[:size]))
EOF
   ! sb_bundle "$I/v2f2.bundle" 2 "$I/v2f2.img" "" "" --format 2 --chunk-size "$F2_CHUNK_AVG"; then
        fail "$TL_FILE-setup" "cannot build the format-2 bundle v2f2"
        exit 1
fi
# install-patch: the same image with a patch set from v1.1 (bundle create keeps a patch only
# where it saves bandwidth: for the changed runs).
if ! sb_bundle "$I/v2p.bundle" 2 "$I/v2f2.img" "" "" --format 2 --chunk-size "$F2_CHUNK_AVG" \
        --patch-from "rootfs=$I/v1.1.img"; then
        fail "$TL_FILE-setup" "cannot build the format-2 bundle v2p with patches from v1.1"
        exit 1
fi
F2_CHUNKS=$(updatectl bundle info --keyring "$SB/pki/ca.crt" "$I/v2f2.bundle" 2>&1 | sed -n 's/^ *Chunks: *\([0-9]*\).*/\1/p' | head -n 1)
if [ "${F2_CHUNKS:-0}" -lt 16 ]; then
        fail "$TL_FILE-setup" "the format-2 bundle v2f2 has '${F2_CHUNKS}' chunks, expected ~250 (--chunk-size $F2_CHUNK_AVG)"
        exit 1
fi

# --- tracer control ------------------------------------------------------------------

PL_TRACER=
# pl_trace_start TRACER-ARGS...: attach to the running daemon; returns once attached.
pl_trace_start() {
        local line=
        [ -p "$SB/pl-ready" ] || mkfifo "$SB/pl-ready" || return 1
        powerloss-tracer -p "$SB_UPDATED_PID" "$@" -R 3 3>"$SB/pl-ready" >"$SB/pl-trace.out" 2>"$SB/pl-trace.err" &
        PL_TRACER=$!
        sb_track "$PL_TRACER"
        read -r -t "$SB_WAIT" line <"$SB/pl-ready"
        [ "$line" = ready ] && return 0
        sb_msg "tracer did not attach: $(cat "$SB/pl-trace.err")"
        kill -TERM "$PL_TRACER" 2>/dev/null
        wait "$PL_TRACER" 2>/dev/null
        return 1
}

# pl_trace_end [term]: waits for the tracer (after SIGTERM with "term", or when it does not end
# on its own within $SB_WAIT s); PL_TRACE_RESULT = its verdict line; reaps a killed daemon
# (PL_DAEMON_RC = its wait status).
pl_trace_end() {
        [ "${1:-}" = term ] && kill -TERM "$PL_TRACER" 2>/dev/null
        if ! pl_wait_bounded "$PL_TRACER"; then
                kill -TERM "$PL_TRACER" 2>/dev/null
        fi
        wait "$PL_TRACER" 2>/dev/null
        PL_TRACE_RESULT=
        read -r PL_TRACE_RESULT <"$SB/pl-trace.out"
        PL_DAEMON_RC=
        [[ $PL_TRACE_RESULT == killed* ]] && pl_reap_daemon
        return 0
}

# --- shared checks after a kill ------------------------------------------------------
# Cheap checks run per kill point; the JSON ones are batched (kp_save, kp_validate): one
# python run per case instead of a JSON parser process per kill point.

# bootable DUMP NAME: NAME is in BOOT_ORDER with attempts left (U-Boot may boot it).
bootable() {
        local order left
        order=" $(pl_env_var "$1" BOOT_ORDER) "
        left=$(pl_env_var "$1" "BOOT_$2_LEFT")
        [[ $order == *" $2 "* ]] && [ "${left:-0}" -gt 0 ] 2>/dev/null
}

# kp_save ID DESCRIPTION EXPECTED-BOOT WANT-V2-OK [TRIAL-SLOT]: records a kill point for
# kp_validate (the status file as the kill left it is copied now; after_reboot adds the status
# output).  TRIAL-SLOT: the slot on trial when the kill came; if the reboot lands elsewhere,
# the daemon should report the fallback from it (last_boot).
kp_save() {
        KP_ID=$1
        # (IDs are unique within a phase and the directory is fresh: nothing to remove)
        [ -e "$SB_DATA/status.json" ] && cp "$SB_DATA/status.json" "$SB/kp/$1.file"
        printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$(tl_slot_name "$3")" "$4" "${5:--}" "$2" >>"$SB/kp/index"
}

# kp_validate: for every saved kill point: status.json as the kill left it is one valid JSON
# document and, when the activation was complete, says rootfs.1 holds v2; `updatectl status
# --json` after the reboot is valid JSON and names the slot U-Boot booted.  Prints one line
# per failed kill point, and "LOST <kill point>" for each where the reboot fell back from the
# trial slot and GetSlotStatus has a last_boot, but not one reporting that fallback, and
# "PENDING <kill point>" where a slot is still "pending" after the reboot with no install
# running (an interrupted install is not reported as such).  With
# "!SLOT" as TRIAL-SLOT that report (and SLOT failed and bad) is required: a failure.
kp_validate() {
        [ -s "$SB/kp/index" ] || return 0
        "$SB_PY" - "$SB/kp" <<'EOF'
import json, os, sys
d = sys.argv[1]
for line in open(os.path.join(d, "index")):
    kid, want, v2, trial, what = line.rstrip("\n").split("\t", 4)
    errs = []
    f = os.path.join(d, kid + ".file")
    if not os.path.exists(f):
        errs.append("status.json is missing after the kill")
    else:
        try:
            doc = json.load(open(f))
            if v2 == "1":
                rec = doc.get("slots", {}).get("rootfs.1", {})
                if rec.get("status") != "ok" or rec.get("bundle", {}).get("version") != "2":
                    errs.append("B is primary on trial but status.json has %s" % json.dumps(rec)[:200])
        except ValueError as e:
            errs.append("status.json is not valid JSON (%s)" % e)
    f = os.path.join(d, kid + ".status")
    if os.path.exists(f):
        try:
            st = json.load(open(f))
            if st.get("booted") != want:
                errs.append("updatectl status says booted %r, U-Boot booted %s" % (st.get("booted"), want))
            lb = st.get("last_boot")
            strict = trial.startswith("!")
            trial = trial.lstrip("!")
            if trial != "-" and want != trial and ("last_boot" in st or strict) and not (
                    isinstance(lb, dict) and lb.get("expected") == trial and lb.get("fell_back") is True):
                if strict:
                    errs.append("the fallback from %s is not reported: last_boot is %s" % (trial, json.dumps(lb)))
                else:
                    print("LOST %s at %s" % (kid, what))
            for x in st.get("slots", []):
                if x.get("status") == "pending" and st.get("operation") == "idle":
                    print("PENDING %s at %s" % (kid, what))
            if strict:
                b = next((x for x in st.get("slots", []) if x.get("name") == trial), {})
                if b.get("status") != "failed" or b.get("boot_status") != "bad":
                    errs.append("%s has status %r, boot_status %r after its fallback (expected failed, bad)"
                                % (trial, b.get("status"), b.get("boot_status")))
        except ValueError as e:
            errs.append("updatectl status --json is not valid JSON (%s)" % e)
    if errs:
        print("%s at %s: %s" % (kid, what, "; ".join(errs)))
EOF
}

# after_reboot EXPECTED-BOOT: reboot, check the pick, updatectl status, a fresh install of v3
# which U-Boot then boots next.  Appends to WHY.
after_reboot() {
        local want=$1 target tslot dump order
        pl_stop_daemon
        if ! pl_reboot 2>"$SB/reboot.err"; then
                WHY+="reboot failed: $(tail -n 3 "$SB/reboot.err" | tr '\n' ' '); "
                return 1
        fi
        [ "$SB_BOOTED" = "$want" ] || WHY+="U-Boot booted $SB_BOOTED, expected $want; "
        run timeout "$SB_WAIT" updatectl status --json
        if [ "$TL_RC" != 0 ]; then
                WHY+="updatectl status exited $TL_RC: $(_tl_out_excerpt); "
        else
                printf '%s\n' "$TL_OUT" >"$SB/kp/$KP_ID.status"
        fi
        if [ "$SB_BOOTED" = A ]; then target=B tslot=$SB_SLOT_B; else target=A tslot=$SB_SLOT_A; fi
        # Booted on a trial (the install had armed it): the health check commits it first, as
        # on a device; an install during an uncommitted trial is refused (TrialPending, I1).
        if [ "$(sb_json '[s["boot_status"] for s in d["slots"] if s["name"] == d["booted"]][0]' \
                <"$SB/kp/$KP_ID.status" 2>/dev/null)" = trial ]; then
                run timeout "$SB_WAIT" updatectl mark-good
                [ "$TL_RC" = 0 ] || WHY+="mark-good in the trial boot exited $TL_RC: $(_tl_out_excerpt); "
        fi
        run timeout 60 updatectl install "$I/v3.bundle"
        if [ "$TL_RC" != 0 ]; then
                WHY+="fresh install exited $TL_RC: $(_tl_out_excerpt); "
        else
                cmp -s -n "$IMG_SIZE" "$I/v3.img" "$tslot" || WHY+="fresh install: slot $target does not hold v3; "
                # What U-Boot boots next: the target, first in BOOT_ORDER with attempts left.
                dump=$(pl_env_dump)
                order=$(pl_env_var "$dump" BOOT_ORDER)
                [ "$(pl_env_var "$dump" UPDATE1_TRIAL)" = "$target" ] && [ "${order%% *}" = "$target" ] &&
                        bootable "$dump" "$target" ||
                        WHY+="after the fresh install the env does not boot $target next: $(tr '\n' ' ' <<<"$dump"); "
        fi
        pl_stop_daemon
}

# --- results of a part -------------------------------------------------------------------
# The kill points of each phase are shared out over PL_PARTS processes (this one and
# PL_PARTS-1 children, each with its own sandbox: bus, daemon, env, slots), which run in
# parallel; a phase's numbers and failures are kept per phase name in these arrays, which
# children hand back with declare -p and the parent adds up.
declare -A R_DONE=() R_FAILS=() R_NBEFORE=() R_NAFTER=() R_PICKS=() R_LOST=() R_INFO=()
declare -A ENV_SEEN=()
declare -A F2_SKIP=()  # per format-2 phase: kill points f2_exhaustive skipped (this part)
declare -A PHASE_TIME=() # seconds part 0 spent on a phase (the parts run in parallel)

# kp_record_failure PHASE LABEL: adds the current kill point to R_FAILS[PHASE] if WHY is set.
kp_record_failure() {
        [ -n "$WHY" ] || return 0
        R_FAILS[$1]+="$2 at ${KILLED_AT:-?}: $WHY"$'\n'
}

# mine K: whether kill point number K of a phase belongs to this part.
mine() { [ $(($1 % PL_PARTS)) = "$PL_PART" ]; }

# --- baseline: booted A, both slots installed and good ---------------------------------

t_baseline() {
        expect_ok updatectl install "$I/v1.bundle" || return 1
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "first boot after installing v1" || return 1
        expect_ok updatectl mark-good || return 1
        expect_ok updatectl install "$I/v1.1.bundle" || return 1
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "first boot after installing v1.1" || return 1
        expect_ok updatectl mark-good || return 1
        expect_eq "$(sb_env_get BOOT_ORDER)" "A B" "BOOT_ORDER" || return 1
        pl_stop_daemon
        pl_snapshot G || { TL_WHY="snapshot failed"; return 1; }
        ENV_G=$(pl_env_dump)
}

# --- install ---------------------------------------------------------------------------

# The install phases: "install" installs v2.bundle (format 1), "install-f2" v2f2.bundle (format
# 2), "install-patch" v2p.bundle (format 2 with patches), "install-ranged" v2p.bundle through
# the ranged socket.  Per phase: the bundle, and what its reference run found (IREF[PHASE:worker|main|first|
# last|env]: syscall counts, the chunk loop, the env after it; IREF[PHASE:worker] empty = no
# reference, the phase is not run).
declare -A IBUNDLE=([install]=v2.bundle [install-f2]=v2f2.bundle [install-patch]=v2p.bundle [install-ranged]=v2p.bundle) IREF=()

# install_client PHASE: the phase's install as its client makes it (TL_RC, TL_OUT): updatectl
# from the file, or for install-ranged the ranged client (its InstallFd answers once the bundle
# is verified; it returns once updated closed the socket: the install is over).
install_client() {
        if [ "$1" = install-ranged ]; then
                run timeout 60 "$SB_PY" "$UPDATE1_TOP/tests/lib/ranged_client.py" "$I/${IBUNDLE[$1]}" "$SB/ranged.stats" good
        else
                run timeout 60 updatectl install "$I/${IBUNDLE[$1]}"
        fi
}

# t_install_reference PHASE: reference run of an uninterrupted install under the tracer (log of
# every syscall, $SB/PHASE-ref.log).
t_install_reference() {
        local ph=$1 w m first last envd role num _tid call fl loop open patches
        IREF[$ph:worker]=
        pl_restore G && pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" ||
                { TL_WHY="daemon start: $(cat "$SB/start.err")"; return 1; }
        pl_trace_start -r worker -x -o "$SB/$ph-ref.log" || { TL_WHY="tracer: $(cat "$SB/pl-trace.err")"; return 1; }
        install_client "$ph"
        pl_trace_end
        [ "$TL_RC" = 0 ] || { TL_WHY="install under the tracer exited $TL_RC: $(_tl_out_excerpt)"; return 1; }
        [[ $PL_TRACE_RESULT == detached* ]] || { TL_WHY="tracer: '$PL_TRACE_RESULT'"; return 1; }
        # The patch path must be the one taken, or the phase explores install-f2 again.
        if [ "${IBUNDLE[$ph]}" = v2p.bundle ]; then
                patches=$(grep 'Delta install of image rootfs done:' "$SB/updated.log" | tail -n 1 |
                        sed -n 's/.* patches=\([0-9]*\).*/\1/p')
                [ "${patches:-0}" -gt 0 ] ||
                        { TL_WHY="the reference install applied no patch: $(grep 'Delta install of image rootfs' "$SB/updated.log" | tail -n 2 | tr '\n' ' ')"; return 1; }
                IREF[$ph:patches]=$patches
        fi
        w=$(sed -n 's/.* worker=\([0-9]*\).*/\1/p' <<<"$PL_TRACE_RESULT")
        m=$(sed -n 's/.* main=\([0-9]*\).*/\1/p' <<<"$PL_TRACE_RESULT")
        # The chunk-write loop: from the first to the last slot write of the install thread
        # (pwrite64 today; a delta install might copy seeded chunks with copy_file_range).
        first=$(awk '$1 == "worker" && $4 ~ /^(pwrite64|pwritev2?|copy_file_range)\(/ { print $2; exit }' "$SB/$ph-ref.log")
        last=$(awk '$1 == "worker" && $4 ~ /^(pwrite64|pwritev2?|copy_file_range)\(/ { n = $2 } END { print n }' "$SB/$ph-ref.log")
        if [ -z "$first" ] || [ -z "$last" ] || [ "$w" -le "$last" ]; then
                TL_WHY="no chunk writes in the trace ($PL_TRACE_RESULT)"
                return 1
        fi
        # Where the write stage starts: the target opened for writing (the last such open before
        # the first slot write).  The chunk loop of format 2 is everything from there to the
        # last slot write: its small chunks are read and gathered in the writer's ring long
        # before the first pwrite64, and a delta install reads slots there too.
        open=0
        while read -r role num _tid call; do
                [ "$role" = worker ] && [ "$num" -lt "$first" ] || continue
                [[ $call == "openat("*"\"$SB_SLOT_B\", "* ]] || continue
                fl=${call#*\""$SB_SLOT_B"\", } fl=${fl%%,*}
                (((fl & 3) != 0)) && open=$num
        done <"$SB/$ph-ref.log"
        IREF[$ph:open]=$open
        if [ "$open" = 0 ]; then
                TL_WHY="no open of slot B for writing before its first write in the trace"
                return 1
        fi
        envd=$(pl_env_dump)
        cp "$SB_SLOT_B" "$SB/$ph-installed-slot-b.img"
        pl_stop_daemon
        expect_eq "$(pl_env_var "$envd" UPDATE1_TRIAL)" B "UPDATE1_TRIAL after the install" || return 1
        ! cmp -s "$SB_SLOT_B" "$SB/snap/G/slot-b.img" || { TL_WHY="the install did not change slot B"; return 1; }
        IREF[$ph:worker]=$w IREF[$ph:main]=$m IREF[$ph:first]=$first IREF[$ph:last]=$last IREF[$ph:env]=$envd
        loop="$first..$last"
        [ "$ph" != install ] && loop="$((open + 1))..$last, from the open of B for writing, syscall $open"
        IREF[$ph:loop]=$loop
        [ "$PL_PART" = 0 ] &&
                echo "  reference install of ${IBUNDLE[$ph]}: $w syscalls in the install thread (chunk loop $loop), $m in the main thread${patches:+, $patches patches applied}"
        return 0
}

# What a power cut needs besides the order of the steps: each one flushed before the next
# depends on it.  Checked on the reference trace of the install thread of PHASE.
t_install_fsync_order() {
        run "$SB_PY" - "$SB/$1-ref.log" "$SB_SLOT_B" "$SB_ENV" "$SB_DATA" <<'EOF'
import re, sys
log, slot, env, data = sys.argv[1:5]
calls = []        # [name, args, paths, ret]
last = {}         # tid -> index of its syscall in progress
for line in open(log):
    p = line.rstrip("\n").split(" ", 3)
    if p[0] == "=":
        i = last.pop(p[1], None)
        if i is not None:
            calls[i][3] = int(p[2])
        continue
    if p[0] != "worker":
        continue
    m = re.match(r'(\w+)\((.*)\)$', p[3])
    calls.append([m.group(1), m.group(2).split(", "), re.findall(r'"([^"]*)"', m.group(2)), None])
    last[p[2]] = len(calls) - 1

fds = {}          # fd -> path, as the install thread opened them
events = []       # (index, kind, path)
for i, (name, args, paths, ret) in enumerate(calls):
    if name in ("openat", "open") and ret is not None and ret >= 0:
        fds[ret] = paths[0]
    elif name in ("write", "pwrite64", "fsync", "fdatasync", "close"):
        path = fds.get(int(args[0], 0))
        if path is not None:
            events.append((i, name, path))
            if name == "close":
                del fds[int(args[0], 0)]
    elif name in ("rename", "renameat", "renameat2"):
        events.append((i, "rename", paths[-1]))

def first(kind, path, after):
    return next((i for i, k, p in events if k == kind and p == path and i > after), None)

errors = []
slot_writes = [i for i, k, p in events if k == "pwrite64" and p == slot]
env_writes = [i for i, k, p in events if k == "write" and p == env]
if not slot_writes:
    errors.append("no write to the slot in the trace")
elif not [w for w in env_writes if w < slot_writes[0]]:
    errors.append("the slot is written before it is marked bad in the env (no env store before the first slot write)")
elif not [w for w in env_writes if w > slot_writes[-1]]:
    errors.append("no env store after the last slot write (the activation)")
else:
    activation = next(w for w in env_writes if w > slot_writes[-1])
    # fdatasync() is enough for a slot: its size never changes (a block device's fsync is
    # the same call anyway).
    f = min((i for i in (first("fsync", slot, slot_writes[-1]), first("fdatasync", slot, slot_writes[-1]))
             if i is not None), default=None)
    if f is None:
        errors.append("the slot is never fsync()ed/fdatasync()ed after its last write")
    elif f > activation:
        errors.append("the env makes the slot primary (#%d) before the slot is fsync()ed (#%d)" % (activation + 1, f + 1))
for n, w in enumerate(env_writes):
    f, c = first("fsync", env, w), first("close", env, w)
    if f is None or (c is not None and f > c):
        errors.append("env write at #%d not fsync()ed before close" % (w + 1))
    # libubootenv's fsync of its write and ours of the env file (both copies are in it: one
    # fsync() flushes and reports for both); a third would be another cache flush for nothing.
    end = env_writes[n + 1] if n + 1 < len(env_writes) else len(calls)
    flushes = sum(1 for i, k, p in events if k == "fsync" and p == env and w < i < end)
    if flushes > 2:
        errors.append("env write at #%d followed by %d fsync()s of the env file, not 2" % (w + 1, flushes))
# Status file: temp file written, fsync()ed, renamed over status.json, directory fsync()ed.
n_status = 0
for i, k, p in events:
    if k != "write" or "/status.json.tmp" not in p:
        continue
    n_status += 1
    f = first("fsync", p, i)
    r = next((j for j, kk, pp in events if kk == "rename" and pp.endswith("/status.json") and j > i), None)
    if f is None or r is None or f > r:
        errors.append("status temp file written at #%d not fsync()ed before the rename" % (i + 1))
    elif first("fsync", data, r) is None:
        errors.append("data directory not fsync()ed after the rename at #%d" % (r + 1))
if n_status < 2:
    errors.append("expected the status file to be written at least twice (pending, ok), saw %d" % n_status)
print("; ".join(errors) if errors else
      "%d slot writes then fsync/fdatasync, %d env stores each fsync()ed, %d status writes (fsync, rename, directory fsync), in order"
      % (len(slot_writes), len(env_writes), n_status))
sys.exit(1 if errors else 0)
EOF
        [ "$TL_RC" = 0 ] && { echo "  $TL_OUT"; return 0; }
        TL_WHY=$TL_OUT
        return 1
}

# install_killpoint PHASE ROLE K: one install kill point.  Sets WHY (empty = fine) and KILLED_AT.
install_killpoint() {
        local ph=$1 role=$2 k=$3 dump order trial completed=0 want desc
        WHY='' KILLED_AT=''
        pl_restore G || { WHY="restore failed"; return; }
        pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" || { WHY="daemon start: $(tail -n 3 "$SB/start.err")"; return; }
        if [ "$role" = worker ]; then
                pl_trace_start -r worker -x -k "$k" || { WHY="tracer did not attach: $(cat "$SB/pl-trace.err")"; pl_stop_daemon; return; }
        else
                pl_trace_start -r main -k "$k" || { WHY="tracer did not attach: $(cat "$SB/pl-trace.err")"; pl_stop_daemon; return; }
        fi
        install_client "$ph"
        if [ "$role" = main ]; then
                pl_ping
                pl_trace_end term
        else
                pl_trace_end
        fi
        if [[ $PL_TRACE_RESULT == killed* ]]; then
                read -r _ _ _ _ desc <<<"$PL_TRACE_RESULT"
                KILLED_AT=${desc:0:160}
                [ "$TL_RC" != 124 ] || WHY+="updatectl install hung after the daemon died; "
                [ "$PL_DAEMON_RC" = 137 ] || WHY+="daemon exit status $PL_DAEMON_RC, not SIGKILL; "
        else
                KILLED_AT="(not reached: install complete)"
                [ "$TL_RC" = 0 ] || WHY+="install not killed but exited $TL_RC: $(_tl_out_excerpt); "
        fi

        # The state a power cut at this point leaves, read before U-Boot runs.
        dump=$(pl_env_dump)
        ENV_SEEN[$ph|$dump]="$role#$k"
        order=$(pl_env_var "$dump" BOOT_ORDER)
        trial=$(pl_env_var "$dump" UPDATE1_TRIAL)
        [ "$trial" = B ] && [ "${order%% *}" = B ] && completed=1
        if [ "$completed" = 1 ]; then
                cmp -s "$SB_SLOT_B" "$SB/$ph-installed-slot-b.img" ||
                        WHY+="B is primary on trial but does not hold the whole image; "
                want=B
        else
                if bootable "$dump" B && ! cmp -s "$SB_SLOT_B" "$SB/snap/G/slot-b.img"; then
                        WHY+="B is being overwritten but is still bootable (BOOT_ORDER='$order', BOOT_B_LEFT=$(pl_env_var "$dump" BOOT_B_LEFT)); "
                fi
                bootable "$dump" A || WHY+="A is not bootable: $(tr '\n' ' ' <<<"$dump"); "
                want=A
        fi
        kp_save "$ph-$role-$k" "$KILLED_AT" "$want" "$completed"
        after_reboot "$want"
}

# spread FIRST LAST N: N numbers evenly spread over FIRST..LAST, both ends included (all of
# them if N is 0 or the range is smaller).
spread() {
        local a=$1 b=$2 n=$3 i
        if [ "$n" = 0 ] || [ $((b - a + 1)) -le "$n" ]; then
                seq "$a" "$b"
                return
        fi
        [ "$n" = 1 ] && { echo "$a"; return; }
        for ((i = 0; i < n; i++)); do
                echo $((a + (b - a) * i / (n - 1)))
        done | uniq
}

# f2_exhaustive PHASE FIRST LAST: the install thread's kill points FIRST..LAST of the reference
# trace of a format-2 PHASE (install-f2, install-patch, install-ranged), less some that cannot leave anything
# new: a kill at K leaves what syscalls 1..K-1 did, so when K-1 changes no file, env or slot, K
# leaves what K-1 left.
#   PL_F2_OUTSIDE=all (default): K is skipped only deep inside a run of reads (read, pread64,
#     poll...: two on each side of it; each run keeps its first two and last two).  Bounds the
#     kill points if a delta install reads its slots in many small reads outside the loop.
#   PL_F2_OUTSIDE=changes: K is kept only after a syscall that may change what survives a
#     kill (anything but reads, stats, read-only opens, close, flock, memory and signal
#     calls): about a third of the kill points, for a CI short of time.
#   PL_PATCH_OUTSIDE (install-patch, install-ranged; default "changes"): the same choice.  What
#     those two add to install-f2 outside the chunk loop is reads (patch planning reads the
#     booted slot's regions; the ranged source reads its socket); their writes and fsyncs are
#     install-f2's, so they take the kill points after a change only (~400 instead of ~1100).
# Sets F2_POINTS; adds to F2_SKIPPED how many were skipped.
f2_outside() { if [ "$1" = install-f2 ]; then echo "${PL_F2_OUTSIDE:-all}"; else echo "${PL_PATCH_OUTSIDE:-changes}"; fi; }
f2_exhaustive() {
        local out
        out=$(awk -v a="$2" -v b="$3" -v mode="$(f2_outside "$1")" '
                function hexdigit(s, i,   c) { c = substr(s, length(s) - i, 1); return c == "" ? 0 : index("0123456789abcdef", c) - 1 }
                $1 == "worker" {
                        n = $4; sub(/\(.*/, "", n)
                        rd[$2] = (n ~ /^(read|pread64|readv|preadv|preadv2|poll|ppoll)$/)
                        ro[$2] = rd[$2] || n ~ /^(readlink|readlinkat|newfstatat|fstat|statx|lseek|access|faccessat2|getu?e?[ug]id|getpid|gettid|getrandom|futex|mmap|munmap|mprotect|madvise|brk|rt_sigprocmask|clock_gettime|close|flock)$/
                        if (n == "openat") {
                                # read-only unless O_WRONLY/O_RDWR (0x3), O_CREAT (0x40), O_TRUNC (0x200)
                                c = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", c)
                                split(c, f, ", "); fl = tolower(f[3]); sub(/^0x/, "", fl)
                                ro[$2] = hexdigit(fl, 0) % 4 == 0 && int(hexdigit(fl, 1) / 4) % 2 == 0 && int(hexdigit(fl, 2) / 2) % 2 == 0
                        }
                }
                END {
                        for (k = a; k <= b; k++) {
                                if (mode == "changes" ? (k > a && ((k - 1) in ro) && ro[k - 1]) : (rd[k - 2] && rd[k - 1] && rd[k] && rd[k + 1] && rd[k + 2])) {
                                        skipped++
                                        continue
                                }
                                print k
                        }
                        print "skipped " skipped + 0
                }' "$SB/$1-ref.log")
        F2_SKIPPED=$((${F2_SKIPPED:-0} + ${out##*skipped }))
        F2_POINTS=${out%skipped *}
}

# install_part PHASE: this part's share of the install kill points of PHASE (shared out by the
# syscall number, which is stable between the parts' reference runs, unlike positions in the
# list).
install_part() {
        local ph=$1 ex1 ex2 loop main_pts p kind k v samples=$PL_LOOP_SAMPLES
        local -A pos=()
        local open=${IREF[$1:open]} first=${IREF[$1:first]} last=${IREF[$1:last]} n=${IREF[$1:worker]}
        rm -rf "$SB/kp" && mkdir -p "$SB/kp"
        # Up to one past the reference count: that one is not reached (the install completes).
        if [ "$ph" != install ]; then
                samples=$PL_F2_LOOP_SAMPLES
                F2_SKIPPED=0
                f2_exhaustive "$ph" 1 "$open"
                ex1=$F2_POINTS
                loop=$(spread $((open + 1)) "$last" "$samples")
                f2_exhaustive "$ph" $((last + 1)) $((n + 1))
                ex2=$F2_POINTS
                F2_SKIP[$ph]=$F2_SKIPPED
        else
                ex1=$(seq 1 $((first - 1)))
                loop=$(spread "$first" "$last" "$samples")
                ex2=$(seq $((last + 1)) $((n + 1)))
        fi
        main_pts=$(spread 1 "${IREF[$ph:main]}" "$PL_MAIN_SAMPLES")
        R_DONE[$ph]=0 R_DONE[$ph:ex]=0 R_DONE[$ph:loop]=0 R_DONE[$ph:main]=0
        # shellcheck disable=SC2086
        for p in $(printf 'ex:worker:%s\n' $ex1 $ex2) $(printf 'loop:worker:%s\n' $loop) $(printf 'main:main:%s\n' $main_pts); do
                kind=${p%%:*} p=${p#*:} k=${p#*:}
                # Samples (main thread, chunk loop): by position, so that the parts take
                # $PL_MAIN_SAMPLES and $samples of them between them.  By syscall number they
                # could all fall to one part: each part spreads them over the bounds of its own
                # reference run, and a spread with an even step has one parity.
                if [ "$kind" != ex ]; then
                        pos[$kind]=$((${pos[$kind]:-0} + 1))
                        mine "${pos[$kind]}" || continue
                else
                        mine "$k" || continue
                fi
                install_killpoint "$ph" "${p%%:*}" "$k"
                R_DONE[$ph]=$((R_DONE[$ph] + 1))
                R_DONE[$ph:$kind]=$((${R_DONE[$ph:$kind]} + 1))
                kp_record_failure "$ph" "${p%%:*}#$k"
        done
        v=$(kp_validate)
        R_FAILS[$ph]+=$(grep -v '^PENDING ' <<<"$v")
        R_LOST[$ph]+=$(grep '^PENDING ' <<<"$v" | sed 's/^PENDING //')${v:+$'\n'}
}

# --- marks -----------------------------------------------------------------------------

# Trial state T: v2 installed into B and booted once (B on trial, its attempt used up).
t_make_trial_state() {
        pl_restore G && pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" ||
                { TL_WHY="daemon start: $(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl install "$I/v2.bundle" || return 1
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "boot after installing v2" || return 1
        expect_slot rootfs.1 '["boot_status"]' trial || return 1
        pl_stop_daemon
        pl_snapshot T || return 1
        # F: B's trial failed (it never marked good) and U-Boot fell back to A; the daemon has
        # not started yet in that boot, so it still has to find out and record the fallback.
        pl_new_boot_id
        expect_eq "$(bash "$UPDATE1_TOP/tests/fakes/boot-sim.sh" "$SB_FW_CONFIG" "$SB/cmdline")" A "boot after the failed trial" ||
                return 1
        pl_snapshot F
}

# mark_killpoint PHASE K SNAPSHOT CMD...: one kill point of a mark.
mark_killpoint() {
        local phase=$1 k=$2 snap=$3 dump desc want
        shift 3
        WHY='' KILLED_AT='' MK_STATE=''
        pl_restore "$snap" || { WHY="restore failed"; return; }
        pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" || { WHY="daemon start: $(tail -n 3 "$SB/start.err")"; return; }
        pl_trace_start -r main -k "$k" || { WHY="tracer did not attach: $(cat "$SB/pl-trace.err")"; pl_stop_daemon; return; }
        run timeout "$SB_WAIT" "$@"
        pl_ping
        pl_trace_end term
        if [[ $PL_TRACE_RESULT == killed* ]]; then
                read -r _ _ _ _ desc <<<"$PL_TRACE_RESULT"
                KILLED_AT=${desc:0:160}
                [ "$TL_RC" != 124 ] || WHY+="'$*' hung after the daemon died; "
        else
                KILLED_AT="(not reached)"
                [ "$TL_RC" = 0 ] || WHY+="not killed but '$*' exited $TL_RC: $(_tl_out_excerpt); "
        fi
        dump=$(pl_env_dump)
        if [ "$dump" = "$MK_BEFORE" ]; then
                MK_STATE=before want=$MK_PICK_BEFORE
        elif [ "$dump" = "$MK_AFTER" ]; then
                MK_STATE=after want=$MK_PICK_AFTER
        else
                MK_STATE=between
                WHY+="env is neither the state before nor the state after: $(diff <(echo "$MK_BEFORE") <(echo "$dump") | grep '^[<>]' | tr '\n' ' '); "
                pl_stop_daemon
                return
        fi
        kp_save "$phase-$k" "$KILLED_AT" "$want" 0 "$MK_TRIAL"
        after_reboot "$want"
}

# mark_part PHASE SNAPSHOT CMD...: reference run, then this part's share of a kill at every
# main-thread syscall.  A reference failure is recorded as a failure of the phase.
mark_part() {
        local phase=$1 snap=$2 n k v
        shift 2
        # The slot on trial in the snapshot, if any: a reboot elsewhere is a fallback from it.
        MK_TRIAL=
        [ "$snap" = T ] && MK_TRIAL=rootfs.1
        R_DONE[$phase]=0 R_NBEFORE[$phase]=0 R_NAFTER[$phase]=0
        rm -rf "$SB/kp" && mkdir -p "$SB/kp"
        if [ ! -d "$SB/snap/$snap" ]; then
                R_FAILS[$phase]+="no snapshot $snap (setup failed)"$'\n'
                return
        fi
        # Reference: the two states and what U-Boot boots in each.
        if ! pl_restore "$snap" || ! pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err"; then
                R_FAILS[$phase]+="reference: daemon start: $(cat "$SB/start.err")"$'\n'
                return
        fi
        MK_BEFORE=$(pl_env_dump)
        MK_PICK_BEFORE=$(sb_boot_peek 2>&1)
        if ! pl_trace_start -r main -o "$SB/$phase-ref.log"; then
                R_FAILS[$phase]+="reference: tracer: $(cat "$SB/pl-trace.err")"$'\n'
                return
        fi
        run timeout "$SB_WAIT" "$@"
        pl_ping
        pl_trace_end term
        n=$(sed -n 's/.* main=\([0-9]*\).*/\1/p' <<<"$PL_TRACE_RESULT")
        MK_AFTER=$(pl_env_dump)
        MK_PICK_AFTER=$(sb_boot_peek 2>&1)
        pl_stop_daemon
        if [ "$TL_RC" != 0 ] || [ -z "$n" ] || [ "$MK_BEFORE" = "$MK_AFTER" ]; then
                R_FAILS[$phase]+="reference: '$*' exited $TL_RC ($(_tl_out_excerpt)); tracer: '$PL_TRACE_RESULT'; env changed: $([ "$MK_BEFORE" != "$MK_AFTER" ] && echo yes || echo no)"$'\n'
                return
        fi
        R_PICKS[$phase]="$MK_PICK_BEFORE $MK_PICK_AFTER"
        for ((k = 1; k <= n; k++)); do
                mine "$k" || continue
                mark_killpoint "$phase" "$k" "$snap" "$@"
                R_DONE[$phase]=$((R_DONE[$phase] + 1))
                case $MK_STATE in
                before) R_NBEFORE[$phase]=$((R_NBEFORE[$phase] + 1)) ;;
                after) R_NAFTER[$phase]=$((R_NAFTER[$phase] + 1)) ;;
                esac
                kp_record_failure "$phase" "main#$k ($MK_STATE)"
        done
        v=$(kp_validate)
        R_FAILS[$phase]+=$(grep -v '^LOST \|^PENDING ' <<<"$v")
        R_LOST[$phase]+=$(grep '^LOST ' <<<"$v" | sed 's/^LOST //')${v:+$'\n'}
}

# --- daemon start-up after a fallback ------------------------------------------------------
# The start-up after U-Boot fell back from a failed trial writes too (boot assessment: status
# failed + last_boot, then the trial slot bad in the env).  The daemon is started stopped
# (SIGSTOP before exec) and traced from its first syscall; kill points count the main
# thread's syscalls from its first access to status.json to after it owns the bus name.

# start_traced TRACER-ARGS...: the daemon (booted as in $SB/cmdline, $SB/boot_id) started
# under the tracer; returns 0 once it owns the bus name, 1 if it died first.
start_traced() {
        local id='' i st
        [ -s "$SB/boot_id" ] && read -r id <"$SB/boot_id"
        printf '=== updated (traced start) (%(%T)T)\n' -1 >>"$SB/updated.log"
        # shellcheck disable=SC2016
        bash -c 'kill -STOP $$; exec "$0" "$@"' "$SB/bin/updated" --config "$SB_CONFIG" --cmdline "$SB/cmdline" \
                ${id:+--boot-id "$id"} >>"$SB/updated.log" 2>&1 </dev/null &
        SB_UPDATED_PID=$!
        sb_track "$SB_UPDATED_PID"
        # attach once it has stopped itself (then nothing of the daemon has run yet)
        for ((i = 0; i < SB_WAIT * 1000; i++)); do
                read -r _ _ st _ <"/proc/$SB_UPDATED_PID/stat" 2>/dev/null
                [ "$st" = T ] && break
        done
        pl_trace_start "$@" -C || return 2
        for ((i = 0; i < SB_WAIT * 100; i++)); do
                kill -0 "$SB_UPDATED_PID" 2>/dev/null || return 1
                [ "$(pl_owner_pid)" = "$SB_UPDATED_PID" ] && return 0
                sleep 0.01
        done
        return 1
}

# One start-up kill point.
startup_killpoint() {
        local k=$1 dump desc
        WHY='' KILLED_AT='' MK_STATE=''
        pl_restore F || { WHY="restore failed"; return; }
        start_traced -r main -s status.json -k "$k"
        if [ $? = 2 ]; then
                WHY="tracer did not attach: $(cat "$SB/pl-trace.err")"
                kill -KILL "$SB_UPDATED_PID" 2>/dev/null # stopped: SIGTERM would wait
                pl_reap_daemon
                return
        fi
        pl_ping
        pl_trace_end term
        if [[ $PL_TRACE_RESULT == killed* ]]; then
                read -r _ _ _ _ desc <<<"$PL_TRACE_RESULT"
                KILLED_AT=${desc:0:160}
        else
                KILLED_AT="(not reached)"
        fi
        dump=$(pl_env_dump)
        if [ "$dump" = "$SU_BEFORE" ]; then
                MK_STATE=before
        elif [ "$dump" = "$SU_AFTER" ]; then
                MK_STATE=after
        else
                MK_STATE=between
                WHY+="env is neither the state before nor the state after: $(diff <(echo "$SU_BEFORE") <(echo "$dump") | grep '^[<>]' | tr '\n' ' '); "
                pl_stop_daemon
                return
        fi
        # Both states boot A; whatever was written, the fallback must be reported after it.
        kp_save "startup-$k" "$KILLED_AT" A 0 "!rootfs.1"
        after_reboot A
}

startup_part() {
        local phase=startup-fallback n k v last
        R_DONE[$phase]=0 R_NBEFORE[$phase]=0 R_NAFTER[$phase]=0
        rm -rf "$SB/kp" && mkdir -p "$SB/kp"
        if [ ! -d "$SB/snap/F" ]; then
                R_FAILS[$phase]+="no snapshot F (setup failed)"$'\n'
                return
        fi
        pl_restore F
        SU_BEFORE=$(pl_env_dump)
        if ! start_traced -r main -s status.json -o "$SB/startup-ref.log"; then
                R_FAILS[$phase]+="reference: the daemon did not start under the tracer: $(tail -n 3 "$SB/updated.log" | tr '\n' ' ')"$'\n'
                pl_trace_end term
                pl_stop_daemon
                return
        fi
        pl_ping
        pl_trace_end term
        SU_AFTER=$(pl_env_dump)
        pl_stop_daemon
        n=$(sed -n 's/.* main=\([0-9]*\).*/\1/p' <<<"$PL_TRACE_RESULT")
        if [ -z "$n" ] || [ "$SU_BEFORE" = "$SU_AFTER" ]; then
                R_FAILS[$phase]+="reference: tracer '$PL_TRACE_RESULT'; the start-up did not mark B bad: $(tr '\n' ' ' <<<"$SU_AFTER")"$'\n'
                return
        fi
        R_PICKS[$phase]="A A"
        # Every syscall up to 10 past the last fsync (the last write that matters), then a spread
        # sample of the rest (connecting to the bus, taking the name).
        last=$(awk '$1 == "main" && $4 ~ /^fsync\(/ { n = $2 } END { print n + 0 }' "$SB/startup-ref.log")
        [ "$last" -gt 0 ] || { R_FAILS[$phase]+="reference: no fsync in the start-up trace"$'\n'; return; }
        SU_EXHAUSTIVE=$((last + 10 < n ? last + 10 : n))
        R_INFO[$phase]="$SU_EXHAUSTIVE $n"
        for k in $(seq 1 "$SU_EXHAUSTIVE") $( ((SU_EXHAUSTIVE < n)) && spread $((SU_EXHAUSTIVE + 1)) "$n" 12); do
                mine "$k" || continue
                startup_killpoint "$k"
                R_DONE[$phase]=$((R_DONE[$phase] + 1))
                case $MK_STATE in
                before) R_NBEFORE[$phase]=$((R_NBEFORE[$phase] + 1)) ;;
                after) R_NAFTER[$phase]=$((R_NAFTER[$phase] + 1)) ;;
                esac
                kp_record_failure "$phase" "main#$k ($MK_STATE)"
        done
        v=$(kp_validate)
        R_FAILS[$phase]+=$(grep -v '^LOST \|^PENDING ' <<<"$v")
}

report_startup() {
        local phase=startup-fallback
        if [ "${R_NAFTER[$phase]:-0}" = 0 ] && [ -z "${R_FAILS[$phase]:-}" ]; then
                R_FAILS[$phase]="no kill point reached the state after the start-up"
        fi
        local info=${R_INFO[$phase]:-? ?}
        report "$phase" "$phase-killpoints" "${R_DONE[$phase]:-0} kill points in the daemon's start-up, counted from its first access to status.json: every syscall up to #${info% *} (10 past the last fsync), a sample of the rest up to #${info#* } (it owns the bus name): ${R_NBEFORE[$phase]:-0} left the env untouched, ${R_NAFTER[$phase]:-0} with B marked bad; the fallback is reported after every one"
}

# --- fallback: a new slot that never marks good -----------------------------------------

# t_fallback ATTEMPTS: v2 into B with [uboot] trial-attempts=ATTEMPTS ("" = the default, 1),
# then power cycles without ever marking it good: U-Boot tries B that many times, then boots A
# again.  FB_JSON = the daemon's GetSlotStatus in A after the fallback, FB_JSON2 after one more
# power cycle.
t_fallback() {
        local attempts=$1 SB_CONFIG=$SB_CONFIG boots='' want='' i
        FB_JSON='' FB_JSON2=''
        if [ -n "$attempts" ]; then
                sed "/^\[uboot\]/a trial-attempts=$attempts" "$SB/system.conf" >"$SB/system-trial$attempts.conf"
                SB_CONFIG=$SB/system-trial$attempts.conf
        fi
        pl_restore G && pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" ||
                { TL_WHY="daemon start: $(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl install "$I/v2.bundle" || return 1
        expect_eq "$(sb_env_get BOOT_B_LEFT)" "${attempts:-1}" "BOOT_B_LEFT after the install (trial attempts)" || return 1
        for ((i = 0; i < ${attempts:-1}; i++)); do
                want+="B "
        done
        want+="A"
        for ((i = 0; i < 6; i++)); do
                pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
                boots+="${boots:+ }$SB_BOOTED"
                [ "$SB_BOOTED" = A ] && break
                # Up in B on trial; whatever runs there never marks it good.
                expect_slot rootfs.1 '["boot_status"]' trial || return 1
        done
        expect_eq "$boots" "$want" "slots booted by power cycles without MarkGood" || return 1
        FB_JSON=$(updatectl status --json 2>&1)
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "the next power cycle" || return 1
        FB_JSON2=$(updatectl status --json 2>&1)
        pl_stop_daemon
}

# What the daemon reports after the fallback (FB_JSON): last_boot, status failed, boot_status
# bad.  SKIP while GetSlotStatus has no last_boot at all.
fallback_reported() {
        local name=$1 why
        if [ -z "$FB_JSON" ]; then
                fail "$name" "no status after the fallback (the fallback case failed)"
                return
        fi
        if ! grep -q '"last_boot"' <<<"$FB_JSON"; then
                skip "$name" "GetSlotStatus has no last_boot object yet"
                return
        fi
        why=$("$SB_PY" - "$FB_JSON" "$FB_JSON2" <<'EOF'
import json, sys
errs = []
for label, text in (("after the fallback", sys.argv[1]), ("one boot later", sys.argv[2])):
    try:
        d = json.loads(text)
    except ValueError:
        errs.append("%s: status is not JSON: %s" % (label, text[:200]))
        continue
    lb = d.get("last_boot")
    want = {"expected": "rootfs.1", "booted": "rootfs.0", "fell_back": True}
    if not isinstance(lb, dict) or any(lb.get(k) != v for k, v in want.items()):
        errs.append("%s: last_boot is %s, expected %s" % (label, json.dumps(lb), json.dumps(want)))
    b = next((s for s in d.get("slots", []) if s.get("name") == "rootfs.1"), {})
    if b.get("status") != "failed" or b.get("boot_status") != "bad":
        errs.append("%s: rootfs.1 has status %r, boot_status %r (expected failed, bad)"
                    % (label, b.get("status"), b.get("boot_status")))
    if d.get("booted") != "rootfs.0":
        errs.append("%s: booted is %r" % (label, d.get("booted")))
print("; ".join(errs))
EOF
)
        local env
        env=$(pl_env_dump)
        [ -z "$(pl_env_var "$env" UPDATE1_TRIAL)" ] || why+="${why:+; }UPDATE1_TRIAL still set after the fallback was reported"
        bootable "$env" B && why+="${why:+; }B still bootable after the fallback: $(tr '\n' ' ' <<<"$env")"
        if [ -n "$why" ]; then fail "$name" "$why"; else pass "$name"; fi
}

# --- parts -----------------------------------------------------------------------------

# Everything a part runs after its setup.  stderr: bash reports each SIGKILLed background job.
run_part() {
        local t=$SECONDS
        [[ " $PL_PHASES " == *" install "* ]] && [ -n "${IREF[install:worker]:-}" ] && install_part install
        PHASE_TIME[install]=$((SECONDS - t)) t=$SECONDS
        [[ " $PL_PHASES " == *" install-f2 "* ]] && [ -n "${IREF[install-f2:worker]:-}" ] && install_part install-f2
        PHASE_TIME[install-f2]=$((SECONDS - t)) t=$SECONDS
        [[ " $PL_PHASES " == *" install-patch "* ]] && [ -n "${IREF[install-patch:worker]:-}" ] && install_part install-patch
        PHASE_TIME[install-patch]=$((SECONDS - t)) t=$SECONDS
        [[ " $PL_PHASES " == *" install-ranged "* ]] && [ -n "${IREF[install-ranged:worker]:-}" ] && install_part install-ranged
        PHASE_TIME[install-ranged]=$((SECONDS - t))
        [[ " $PL_PHASES " == *" mark-good "* ]] && mark_part mark-good T updatectl mark-good
        [[ " $PL_PHASES " == *" mark-bad "* ]] && mark_part mark-bad T updatectl mark-bad booted
        [[ " $PL_PHASES " == *" mark-active "* ]] && mark_part mark-active G updatectl mark-active other
        [[ " $PL_PHASES " == *" startup "* ]] && startup_part
        return 0
} 2>>"$SB/killpoints.err"

# A child part: the same setup in its own sandbox, its share of the kill points, the results
# written for the parent.  Its own test points go to its log, which the parent does not
# count (setup failures surface as missing results).
if [ "$PL_PART" != 0 ]; then
        tl_case baseline t_baseline
        [ "$TL_FAIL" -gt 0 ] && exit 1
        tl_case install-reference t_install_reference install
        [[ " $PL_PHASES " == *" install-f2 "* ]] && tl_case install-format2-reference t_install_reference install-f2
        [[ " $PL_PHASES " == *" install-patch "* ]] && tl_case install-patch-reference t_install_reference install-patch
        [[ " $PL_PHASES " == *" install-ranged "* ]] && tl_case install-ranged-reference t_install_reference install-ranged
        tl_case mark-trial-state t_make_trial_state
        run_part
        declare -p R_DONE R_FAILS R_NBEFORE R_NAFTER R_PICKS R_LOST ENV_SEEN | sed 's/^declare -\([aA]*\) R_/declare -g\1 C_/; s/^declare -\([aA]*\) ENV_SEEN=/declare -g\1 C_ENV_SEEN=/' >"$PL_RESULT.tmp" &&
                mv "$PL_RESULT.tmp" "$PL_RESULT"
        exit 0
fi

# --- the parent (part 0) -----------------------------------------------------------------

CHILDREN=()
start_children() {
        local i
        for ((i = 1; i < PL_PARTS; i++)); do
                # (SB= : the child makes its own sandbox; $SB here is still ours)
                # shellcheck disable=SC2097,SC2098
                PL_PART=$i PL_PARTS=$PL_PARTS PL_RESULT=$SB/part-$i.result SB='' \
                        bash "$0" >"$SB/part-$i.log" 2>&1 </dev/null &
                CHILDREN+=($!)
                sb_track "$!"
        done
}

# Waits for the children and adds their results to ours.
merge_children() {
        local i k
        for ((i = 1; i < PL_PARTS; i++)); do
                wait "${CHILDREN[i - 1]}"
                if [ ! -s "$SB/part-$i.result" ]; then
                        R_FAILS[setup]+="part $i/$PL_PARTS did not finish: $(grep -E '^not ok |^ok .* # SKIP ' "$SB/part-$i.log" | head -n 5 | tr '\n' ' ')$(tail -n 3 "$SB/part-$i.log" | tr '\n' ' ')"$'\n'
                        continue
                fi
                unset C_DONE C_FAILS C_NBEFORE C_NAFTER C_PICKS C_LOST C_ENV_SEEN
                # shellcheck disable=SC1090
                . "$SB/part-$i.result"
                for k in "${!C_DONE[@]}"; do R_DONE[$k]=$((${R_DONE[$k]:-0} + C_DONE[$k])); done
                for k in "${!C_NBEFORE[@]}"; do R_NBEFORE[$k]=$((${R_NBEFORE[$k]:-0} + C_NBEFORE[$k])); done
                for k in "${!C_NAFTER[@]}"; do R_NAFTER[$k]=$((${R_NAFTER[$k]:-0} + C_NAFTER[$k])); done
                for k in "${!C_FAILS[@]}"; do R_FAILS[$k]+=${C_FAILS[$k]}; done
                for k in "${!C_LOST[@]}"; do R_LOST[$k]+=${C_LOST[$k]}; done
                for k in "${!C_PICKS[@]}"; do
                        [ -z "${R_PICKS[$k]:-}" ] || [ "${R_PICKS[$k]}" = "${C_PICKS[$k]}" ] ||
                                R_FAILS[$k]+="part $i saw other boot picks before/after: ${C_PICKS[$k]} (part 0: ${R_PICKS[$k]})"$'\n'
                        R_PICKS[$k]=${C_PICKS[$k]}
                done
                for k in "${!C_ENV_SEEN[@]}"; do ENV_SEEN[$k]=${C_ENV_SEEN[$k]}; done
                # A part that skipped a phase (its reference run failed) leaves a gap.
                for k in $PL_PHASES; do
                        [ "$k" = startup ] && k=startup-fallback
                        [ -n "${C_DONE[$k]+x}" ] ||
                                R_FAILS[$k]+="part $i/$PL_PARTS did not run this phase: $(grep -E '^not ok ' "$SB/part-$i.log" | head -n 3 | tr '\n' ' ')"$'\n'
                done
        done
}

# report PHASE CASE-NAME SUMMARY: one test point for a phase.
report() {
        local phase=$1 name=$2 summary=$3 fails=${R_FAILS[$1]:-}
        fails=$(sed '/^$/d' <<<"$fails")
        if [ -n "$fails" ]; then
                fail "$name" "$(grep -c . <<<"$fails") problems ($summary):"$'\n'"$(sed 's/^/    /' <<<"$fails")"
        else
                pass "$name ($summary)"
        fi
}

# report_install PHASE CASE-NAME WHAT: the test point of an install phase.
report_install() {
        local ph=$1 name=$2 what=$3 s lost n=0
        [ -n "${R_DONE[$ph]:-}" ] || { fail "$name" "not run (reference failed)"; return; }
        # Never in between: an install passes through exactly three env states.
        for s in "${!ENV_SEEN[@]}"; do
                [[ $s == "$ph|"* ]] && n=$((n + 1))
        done
        if [ "$n" -gt 3 ] || [ -z "${ENV_SEEN[$ph|$ENV_G]+x}" ] || [ -z "${ENV_SEEN[$ph|${IREF[$ph:env]}]+x}" ]; then
                R_FAILS[$ph]+="expected 3 env states (untouched, target bad, target on trial), saw $n:"$'\n'
                for s in "${!ENV_SEEN[@]}"; do
                        [[ $s == "$ph|"* ]] || continue
                        R_FAILS[$ph]+="  e.g. after kill point ${ENV_SEEN[$s]}: $(tr '\n' ' ' <<<"${s#*|}")"$'\n'
                done
        fi
        [ "$ph" != install ] && what+=", outside the loop: $(f2_outside "$ph") (${F2_SKIP[$ph]:-0} kill points skipped)"
        report "$ph" "$name" "$what: ${R_DONE[$ph]} kill points: ${R_DONE[$ph:ex]} exhaustive outside the chunk loop of the install thread + ${R_DONE[$ph:loop]} sampled in the chunk loop (its syscalls ${IREF[$ph:loop]}) + ${R_DONE[$ph:main]} sampled in the main thread; $n env states seen"
        # Not a failure: an interrupted install stays "pending" in the status until the next one.
        lost=$(sed '/^$/d' <<<"${R_LOST[$ph]:-}")
        if [ -n "$lost" ]; then
                echo "  note: after $(grep -c . <<<"$lost") $ph kill points a slot is still reported \"pending\" (operation idle) after the reboot, e.g.:"
                sort -V <<<"$lost" | sed -n '1p;$p' | sed 's/^/    /'
        fi
}

report_mark() {
        local phase=$1 picks=${R_PICKS[$1]:-? ?} lost summary
        if [ "${R_NAFTER[$phase]:-0}" = 0 ] && [ -z "${R_FAILS[$phase]:-}" ]; then
                R_FAILS[$phase]="no kill point reached the state after the mark"
        fi
        summary="${R_DONE[$phase]:-0} kill points, every syscall of the main thread: ${R_NBEFORE[$phase]:-0} left the state before (${picks% *} boots), ${R_NAFTER[$phase]:-0} the state after (${picks#* } boots)"
        report "$phase" "$phase-killpoints" "$summary"
        # Not a failure (the daemon writes the bootloader before the status file on purpose),
        # but worth knowing: kill points after which the fallback was not reported.
        lost=$(sed '/^$/d' <<<"${R_LOST[$phase]:-}")
        if [ -n "$lost" ]; then
                echo "  note: $phase: after $(grep -c . <<<"$lost") kill points the reboot fell back from rootfs.1 but last_boot does not report it:"
                sort -V <<<"$lost" | sed -n '1,3p;$p' | sed 's/^/    /'
        fi
}

start_children
tl_case baseline t_baseline
[ "$TL_FAIL" -gt 0 ] && exit 1

# ptrace may be forbidden (containers, Yama): then the whole file is skipped, saying so.
pl_restore G && pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" ||
        { fail "$TL_FILE-setup" "daemon start: $(cat "$SB/start.err")"; exit 1; }
if ! pl_trace_start -r main 2>"$SB/probe.err"; then
        skip "$TL_FILE" "ptrace not permitted here: $(cat "$SB/pl-trace.err" "$SB/probe.err" | tr '\n' ' ' | head -c 200)"
        exit 0
fi
pl_trace_end term
pl_stop_daemon

tl_case install-reference t_install_reference install
[ -n "${IREF[install:worker]}" ] && tl_case install-fsync-order t_install_fsync_order install
if [[ " $PL_PHASES " == *" install-f2 "* ]]; then
        tl_case install-format2-reference t_install_reference install-f2
        [ -n "${IREF[install-f2:worker]}" ] && tl_case install-format2-fsync-order t_install_fsync_order install-f2
fi
if [[ " $PL_PHASES " == *" install-patch "* ]]; then
        tl_case install-patch-reference t_install_reference install-patch
        [ -n "${IREF[install-patch:worker]}" ] && tl_case install-patch-fsync-order t_install_fsync_order install-patch
fi
if [[ " $PL_PHASES " == *" install-ranged "* ]]; then
        tl_case install-ranged-reference t_install_reference install-ranged
        [ -n "${IREF[install-ranged:worker]}" ] && tl_case install-ranged-fsync-order t_install_fsync_order install-ranged
fi
tl_case mark-trial-state t_make_trial_state
tl_case fallback-after-1-attempt t_fallback ""
fallback_reported fallback-reported
tl_case fallback-after-2-attempts t_fallback 2
fallback_reported fallback-2-attempts-reported
run_part
merge_children
[ -n "${R_FAILS[setup]:-}" ] && fail powerloss-parts "${R_FAILS[setup]}"
[[ " $PL_PHASES " == *" install "* ]] && report_install install install-killpoints "format 1"
[[ " $PL_PHASES " == *" install-f2 "* ]] &&
        report_install install-f2 install-format2-killpoints "format 2, $F2_CHUNKS chunks of v1.1 with 4 regions changed"
[[ " $PL_PHASES " == *" install-patch "* ]] &&
        report_install install-patch install-patch-killpoints "format 2 with patches from v1.1 (the booted A): the same image, ${IREF[install-patch:patches]:-?} patches in the reference run"
[[ " $PL_PHASES " == *" install-ranged "* ]] &&
        report_install install-ranged install-ranged-killpoints "the same bundle through InstallFd's ranged socket, ${IREF[install-ranged:patches]:-?} patches in the reference run"
for phase in mark-good mark-bad mark-active; do
        [[ " $PL_PHASES " == *" $phase "* ]] && report_mark "$phase"
done
[[ " $PL_PHASES " == *" startup "* ]] && report_startup
echo "  $PL_PARTS parts in parallel; time: $(($(date +%s) - PL_START)) s (install ${PHASE_TIME[install]:-0} s, install-f2 ${PHASE_TIME[install-f2]:-0} s, install-patch ${PHASE_TIME[install-patch]:-0} s, install-ranged ${PHASE_TIME[install-ranged]:-0} s)"
