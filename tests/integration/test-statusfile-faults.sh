#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults of the status file (<data-directory>/status.json): a write torn by a power cut (as
# the atomic replace leaves it: a partial temporary file; and, should the file itself ever be
# torn, status.json truncated at several offsets), an empty file, garbage, a full data
# directory (ENOSPC on a tiny tmpfs), and leftovers of earlier power cuts filling it.
# Each time: the daemon starts and says what was wrong (its log), rebuilds the file (or keeps
# the previous one), `updatectl status` works, U-Boot's choice does not change (booting never
# depends on the status file, also not during a trial or a fallback), and an install works
# again once there is space.  The ENOSPC cases mount a tmpfs (size=16k) over the data
# directory and are SKIPped, saying why, where that is not possible.
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/powerloss-lib.sh
. "$(dirname "$0")/../lib/powerloss-lib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_require_cmd fw_printenv fw_setenv busctl cmp
SB_SLOT_SIZE=${SB_SLOT_SIZE:-2M}
pl_setup A

I=$SB/img
IMG_SIZE=$((1024 * 1024))
mkdir -p "$I"
for v in 1 2 3; do
        if ! sb_make_random "$I/v$v.img" "$IMG_SIZE" ||
           ! sb_bundle "$I/v$v.bundle" "$v" "$I/v$v.img" "" "" --chunk-size 65536; then
                fail "$TL_FILE-setup" "cannot build bundle v$v"
                exit 1
        fi
done
STATUS=$SB_DATA/status.json

# Mounts over the data directory (ENOSPC cases) are undone before the sandbox goes away.
DATA_MOUNTED=0
TL_ON_EXIT+=('[ "$DATA_MOUNTED" = 1 ] && umount -l "$SB_DATA" 2>/dev/null')

# --- baseline S: v1 installed into B, booted and committed; A never installed ------------

t_baseline() {
        pl_new_boot_id
        pl_stop_daemon
        pl_start_daemon --boot-slot A 2>"$SB/start.err" || { TL_WHY="start: $(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl install "$I/v1.bundle" || return 1
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "boot after installing v1" || return 1
        expect_ok updatectl mark-good || return 1
        pl_stop_daemon
        pl_json_ok "$STATUS" || { TL_WHY="status.json is not JSON after the baseline"; return 1; }
        pl_snapshot S
        ENV_S=$(pl_env_dump)
        STATUS_S_LEN=$(stat -c %s "$STATUS")
}

# --- shared checks -------------------------------------------------------------------

# log_since: what the daemon logged since the last start (the log is appended to).
log_since() { awk '/^=== updated /{buf=""} {buf = buf $0 "\n"} END {printf "%s", buf}' "$SB/updated.log"; }

# start_and_check WARNING-PATTERN WHAT [unwritable]: start the daemon on the current files; it
# must come up, log WARNING-PATTERN (extended regex; empty: log no status warning at all),
# leave a valid status.json (unless "unwritable"), answer `updatectl status`, and not have
# touched the env.  Appends to WHY.
start_and_check() {
        local pattern=$1 what=$2 unwritable=${3:-} log
        if ! pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err"; then
                WHY+="$what: the daemon did not start: $(tail -n 3 "$SB/start.err" | tr '\n' ' '); "
                return 1
        fi
        log=$(log_since)
        if [ -n "$pattern" ]; then
                grep -Eq "$pattern" <<<"$log" ||
                        WHY+="$what: the daemon did not report /$pattern/: $(grep -i status <<<"$log" | head -n 3 | tr '\n' ' '); "
        elif grep -qi 'status file' <<<"$log"; then
                WHY+="$what: unexpected status file warning: $(grep -i 'status file' <<<"$log" | head -n 2 | tr '\n' ' '); "
        fi
        [ -n "$unwritable" ] || pl_json_ok "$STATUS" ||
                WHY+="$what: status.json is not valid JSON after the start: $(head -c 80 "$STATUS" | tr '\n\0' '  '); "
        run timeout "$SB_WAIT" updatectl status --json
        if [ "$TL_RC" != 0 ]; then
                WHY+="$what: updatectl status exited $TL_RC: $(_tl_out_excerpt); "
        elif ! pl_json_ok <<<"$TL_OUT"; then
                WHY+="$what: updatectl status --json is not JSON; "
        fi
        [ "$(pl_env_dump)" = "$ENV_S" ] || WHY+="$what: the env changed: $(diff <(echo "$ENV_S") <(pl_env_dump) | grep '^[<>]' | tr '\n' ' '); "
        return 0
}

# install_works WHAT: an install into the other slot succeeds and is what U-Boot boots next.
install_works() {
        local next
        run timeout 60 updatectl install "$I/v2.bundle"
        if [ "$TL_RC" != 0 ]; then
                WHY+="$1: install after the fault exited $TL_RC: $(_tl_out_excerpt); "
                return 1
        fi
        next=$(sb_boot_peek 2>&1)
        [ "$next" = A ] || WHY+="$1: after the install U-Boot would boot '$next', not A; "
        pl_json_ok "$STATUS" || WHY+="$1: status.json is not JSON after the install; "
}

# fault_case WHAT WARNING-PATTERN: restore S, run the function "damage", start, check, install.
fault_case() {
        local what=$1 pattern=$2
        pl_stop_daemon
        pl_restore S || { WHY+="$what: restore failed; "; return; }
        damage || { WHY+="$what: could not damage the file; "; return; }
        start_and_check "$pattern" "$what"
        [ "$(sb_boot_peek 2>&1)" = B ] || WHY+="$what: U-Boot would no longer boot B; "
        install_works "$what"
        pl_stop_daemon
}

# --- torn writes ---------------------------------------------------------------------

# A power cut during the atomic replace leaves a partial temporary file next to the intact
# previous status.json: that one must be used, silently.
t_torn_temp_file() {
        local n
        WHY=
        for n in 0 1 100 $((STATUS_S_LEN / 2)) $((STATUS_S_LEN - 1)); do
                damage() {
                        head -c "$n" "$SB/snap/S/data/status.json" >"$SB_DATA/status.json.tmp.Torn$n"
                }
                pl_stop_daemon
                pl_restore S && damage || { WHY+="temp file of $n bytes: setup failed; "; continue; }
                start_and_check "" "temp file torn at $n bytes"
                expect_slot rootfs.1 '["bundle"]["version"]' 1 ||
                        WHY+="temp file torn at $n bytes: the previous status did not survive: $TL_WHY; "
                install_works "temp file torn at $n bytes"
                pl_stop_daemon
        done
        TL_WHY=$WHY
        [ -z "$WHY" ]
}

# status.json itself cut short (not what the atomic replace produces, but what a file system
# without ordered rename, or a bad block, can leave): reported as truncated and rebuilt.
t_truncated() {
        local n offs
        WHY=
        # (the file ends in "}\n": cutting only the newline leaves a whole document)
        offs="1 2 $((STATUS_S_LEN / 3)) $((STATUS_S_LEN / 2)) $((STATUS_S_LEN - 3)) $((STATUS_S_LEN - 2))"
        for n in $offs; do
                damage() { truncate -s "$n" "$STATUS"; }
                fault_case "status.json cut at $n of $STATUS_S_LEN bytes" 'Status file: .*(truncated|not valid JSON)'
        done
        TL_WHY=$WHY
        [ -z "$WHY" ] && echo "  truncated at $offs of $STATUS_S_LEN bytes"
        [ -z "$WHY" ]
}

t_empty() {
        WHY=
        damage() { : >"$STATUS"; }
        fault_case "empty status.json" 'Status file: .*empty'
        damage() { printf '\n\n  \n' >"$STATUS"; }
        fault_case "blank status.json" 'Status file: .*empty'
        TL_WHY=$WHY
        [ -z "$WHY" ]
}

t_garbage() {
        WHY=
        damage() { head -c 3000 /dev/urandom >"$STATUS"; }
        fault_case "random bytes" 'Status file: '
        damage() { printf 'this is not { json\n' >"$STATUS"; }
        fault_case "text" 'Status file: .*not valid JSON'
        damage() { printf '[1, 2, 3]\n' >"$STATUS"; }
        fault_case "a JSON array" 'Status file: .*not a JSON object'
        damage() { printf '{"format": 99, "slots": {}}\n' >"$STATUS"; }
        fault_case "unknown format" 'Status file: .*format'
        damage() { sed 's/"status": "ok"/"status": 17/' "$SB/snap/S/data/status.json" >"$STATUS"; }
        fault_case "a wrong field type" 'Status file: .*rootfs.1'
        damage() { head -c 2000 /dev/urandom | tr -d '\0' >"$STATUS.x"; cat "$SB/snap/S/data/status.json" "$STATUS.x" >"$STATUS"; rm -f "$STATUS.x"; }
        fault_case "trailing garbage" 'Status file: .*(trailing|not valid JSON)'
        TL_WHY=$WHY
        [ -z "$WHY" ]
}

# Booting never depends on the status file, also in the middle of a trial: garbage in it while
# A is installed and not booted yet, U-Boot still boots A on trial; A commits with MarkGood.
# Then the same for a trial that fails: garbage after A's failed boot, U-Boot falls back to B
# and the daemon (whose record of the trial is gone) still reports A bad.
t_trial_without_status() {
        local st
        pl_stop_daemon
        pl_restore S && pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" ||
                { TL_WHY="start: $(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl install "$I/v2.bundle" || return 1
        pl_stop_daemon
        pl_snapshot T
        head -c 3000 /dev/urandom >"$STATUS"
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "boot after installing v2 with garbage in status.json" || return 1
        expect_slot rootfs.0 '["boot_status"]' trial || return 1
        expect_ok updatectl mark-good || return 1
        expect_slot rootfs.0 '["boot_status"]' good || return 1
        expect_eq "$(sb_env_get UPDATE1_TRIAL)" "" "UPDATE1_TRIAL after mark-good" || return 1

        # The failing trial: A boots once (attempt used), the status file is lost, A never
        # marks good; the next power cycle falls back to B.
        pl_stop_daemon
        pl_restore T || return 1
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" A "trial boot" || return 1
        pl_stop_daemon
        head -c 3000 /dev/urandom >"$STATUS"
        pl_reboot 2>"$SB/reboot.err" || { TL_WHY="reboot: $(cat "$SB/reboot.err")"; return 1; }
        expect_eq "$SB_BOOTED" B "boot after A's failed trial (status.json garbage)" || return 1
        expect_ok updatectl status --json || return 1
        st=$(sb_json 'slot("rootfs.0")["boot_status"]' <<<"$TL_OUT" 2>&1)
        expect_eq "$st" bad "A's boot_status after the fallback" || return 1
        expect_boots B || return 1
        pl_stop_daemon
}

# --- ENOSPC ----------------------------------------------------------------------------

# mount_tiny_data SIZE: the data directory becomes a tmpfs of SIZE holding a copy of what was
# there.  Returns 1 (TL_WHY set) when mounting is not possible.
mount_tiny_data() {
        local keep
        keep=$(mktemp -d "$SB/keep.XXXXXX") && cp -a "$SB_DATA/." "$keep/" || return 1
        if ! mount -t tmpfs -o "size=$1,mode=0755" update1-test-data "$SB_DATA" 2>"$SB/mount.err"; then
                TL_WHY="cannot mount a tmpfs: $(cat "$SB/mount.err")"
                rm -rf "$keep"
                return 1
        fi
        DATA_MOUNTED=1
        cp -a "$keep/." "$SB_DATA/" && rm -rf "$keep"
}
umount_data() {
        [ "$DATA_MOUNTED" = 1 ] || return 0
        # what was there before the mount shows again; each case restores its files anyway
        umount "$SB_DATA" && DATA_MOUNTED=0
}

# fill_data: no free block left in the data directory.
fill_data() {
        dd if=/dev/zero of="$SB_DATA/filler" bs=4096 status=none 2>/dev/null
        # tmpfs may still take a few bytes into a partial page: fill by bytes too
        dd if=/dev/zero of="$SB_DATA/filler2" bs=1 status=none 2>/dev/null
        [ "$(df --output=avail -B1 "$SB_DATA" | tail -n 1 | tr -d ' ')" = 0 ]
}

ENOSPC_OK=1
t_enospc_install() {
        local before err
        pl_stop_daemon
        pl_restore S || return 1
        mount_tiny_data 16k || { ENOSPC_OK=0; return 2; }
        fill_data || { TL_WHY="could not fill the data tmpfs: $(df -h "$SB_DATA" | tail -n 1)"; return 1; }
        before=$(sha256sum <"$STATUS")
        pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" || { TL_WHY="start: $(cat "$SB/start.err")"; return 1; }
        expect_error org.example.Update1.Error.Io updatectl install "$I/v2.bundle" || return 1
        err=$TL_OUT
        expect_contains "$err" "status file" "the install error names the status file" || return 1
        expect_contains "$err" "No space left on device" "the install error names the problem" || return 1
        expect_boots B || return 1
        expect_primary B || return 1
        expect_eq "$(sha256sum <"$STATUS")" "$before" "status.json after the failed install (previous status)" || return 1
        [ -z "$(compgen -G "$SB_DATA/status.json.tmp.*")" ] ||
                { TL_WHY="temporary files left behind: $(ls "$SB_DATA")"; return 1; }
        expect_ok updatectl status --json || return 1
        pl_json_ok <<<"$TL_OUT" || { TL_WHY="status --json is not JSON"; return 1; }
        echo "  install on a full data directory: $(tail -n 1 <<<"$err" | cut -c1-200)"
        # Space again: the next install works, without a restart.
        rm -f "$SB_DATA/filler" "$SB_DATA/filler2"
        expect_ok updatectl install "$I/v2.bundle" || return 1
        expect_boots A || return 1
        expect_slot rootfs.0 '["status"]' ok || return 1
        pl_stop_daemon
        umount_data
}

# A damaged status file that cannot be rewritten (no space): the daemon starts anyway.
t_enospc_startup() {
        pl_stop_daemon
        pl_restore S || return 1
        mount_tiny_data 16k || { ENOSPC_OK=0; return 2; }
        printf 'garbage' >"$STATUS"
        fill_data || { TL_WHY="could not fill the data tmpfs"; return 1; }
        WHY=
        start_and_check 'Cannot rewrite the status file' "garbage status.json on a full data directory" unwritable
        TL_WHY=$WHY
        pl_stop_daemon
        umount_data
        [ -z "$WHY" ]
}

# Power cuts during status writes each leave a temporary file (status.json.tmp.XXXXXX) that
# nothing removes; on a small data partition a few of them fill it and every later install
# fails.  The daemon should clear them at startup.
t_stale_temp_files() {
        local i
        pl_stop_daemon
        pl_restore S || return 1
        mount_tiny_data 16k || { ENOSPC_OK=0; return 2; }
        for i in 1 2 3; do
                head -c 700 "$STATUS" >"$SB_DATA/status.json.tmp.Stale$i"
        done
        pl_start_daemon --cmdline "$SB/cmdline" 2>"$SB/start.err" || { TL_WHY="start: $(cat "$SB/start.err")"; return 1; }
        run timeout 60 updatectl install "$I/v2.bundle"
        local left
        left=$(cd "$SB_DATA" && compgen -G 'status.json.tmp.*' | tr '\n' ' ')
        pl_stop_daemon
        umount_data
        if [ "$TL_RC" != 0 ]; then
                TL_WHY="3 temporary files left by power cuts during status writes fill a 16k data directory and the install fails ($(_tl_out_excerpt)); still there: $left"
                return 1
        fi
        [ -z "$left" ] || { TL_WHY="temporary files from earlier power cuts are never removed: $left"; return 1; }
}

# tl_case that turns return 2 into SKIP (no tmpfs mount possible).
enospc_case() {
        local name=$1 rc
        shift
        TL_WHY=
        if [ "$ENOSPC_OK" = 0 ]; then
                skip "$name" "cannot mount a tmpfs for the data directory"
                return
        fi
        "$@"
        rc=$?
        case $rc in
        0) pass "$name" ;;
        2) skip "$name" "needs a tiny tmpfs on the data directory: $TL_WHY" ;;
        *) fail "$name" "${TL_WHY:-$1 failed}" ;;
        esac
        [ "$DATA_MOUNTED" = 1 ] && { pl_stop_daemon; umount_data; }
        return 0
}

tl_case baseline t_baseline
[ "$TL_FAIL" -gt 0 ] && exit 1
tl_case status-torn-temp-file t_torn_temp_file
tl_case status-truncated t_truncated
tl_case status-empty t_empty
tl_case status-garbage t_garbage
tl_case boot-independent-of-status t_trial_without_status
if [ "$(id -u)" = 0 ]; then
        enospc_case status-enospc-install t_enospc_install
        enospc_case status-enospc-startup t_enospc_startup
        enospc_case stale-temp-files t_stale_temp_files
else
        skip status-enospc "mounting a tiny tmpfs needs root"
fi
