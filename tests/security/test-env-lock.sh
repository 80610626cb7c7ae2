#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: a local user against the U-Boot environment lock (issue #10, invariant I5: no
# caller can stall the daemon).  libubootenv 0.3.2 opens /var/lock/fw_printenv.lock (in the
# world-writable /run/lock) with O_WRONLY|O_CREAT|O_TRUNC, following symlinks, and waits in
# flock(LOCK_EX) for as long as anyone holds it; flock() needs only a read-only open.  So a
# user could hang every bootloader access (GetSlotStatus for everyone, MarkGood: every update
# rolls back), or plant a symlink that makes root truncate its target.  Here the sandbox's lock
# file ([uboot] lock-file=) is $SB/lock/fw_printenv.lock, in a 1777 directory like /run/lock:
#   - packaging/tmpfiles.d creates it 0600 root:root at boot (and follows no symlink), the
#     daemon keeps it so: the user cannot even open it, so cannot flock it;
#   - the old world (mode 0644, the user holds it with flock(1)): GetSlotStatus still answers
#     within SNAPSHOT_WAIT_MS, MarkGood fails with Busy naming the lock and its holder time
#     instead of hanging, the env is untouched, the daemon fixes the mode; once the holder
#     lets go, MarkGood works again;
#   - a symlink the user plants at the lock path is refused and not followed (its target keeps
#     its bytes and mode), and so is a lock file the user created (it could be held for ever).
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "useradd, setpriv and the root-owned bus name"
tl_require_cmd setpriv useradd flock
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
sec_setup A

LOCK=$SB_LOCK_FILE
NB=(as_user u1test-nobody)
PROMPT_MS=3000       # GetSlotStatus: answered from the snapshot after at most 1 s
MARK_BOUND_MS=20000  # MarkGood: the lock timeout (5 s), twice at most (a refresh holds m->lock)
HOLD_PID=

ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# status_within MS: GetSlotStatus as an operator (group update: reading the status is not for
# others, auth.h), answered within MS while the unprivileged user holds the lock; the JSON in
# STATUS_JSON, the time taken in STATUS_MS.
status_within() {
        local t0
        t0=$(ms)
        STATUS_JSON=$(as_user u1test-op timeout 60 bus-call GetSlotStatus "" 2>&1)
        local rc=$?
        STATUS_MS=$(( $(ms) - t0 ))
        echo "  (GetSlotStatus: $STATUS_MS ms)"
        [ "$rc" = 0 ] || { TL_WHY="GetSlotStatus failed (rc $rc) after $STATUS_MS ms: ${STATUS_JSON:0:200}"; return 1; }
        [ "$STATUS_MS" -le "$1" ] && return 0
        TL_WHY="GetSlotStatus took $STATUS_MS ms (bound $1 ms)"
        return 1
}
status_field() { sb_json "$1" <<<"$STATUS_JSON"; }

# hold_lock: u1test-nobody runs `flock LOCK sh -c 'echo locked; exec cat'`, the lock held until
# release_lock closes its stdin.  Returns once it holds the lock (it says so), or fails.
hold_lock() { # [PATH]: the env lock by default
        local line path=${1:-$LOCK}
        coproc HOLD { "${NB[@]}" flock -x "$path" sh -c 'echo locked; exec cat >/dev/null'; }
        HOLD_IN=${HOLD[1]}
        if ! read -r -t 10 -u "${HOLD[0]}" line || [ "$line" != locked ]; then
                TL_WHY="u1test-nobody could not take the lock: '$line'"
                release_lock
                return 1
        fi
}
release_lock() {
        [ -n "$HOLD_PID" ] || return 0
        local fd=$HOLD_IN
        exec {fd}>&-
        tl_wait_pid "$HOLD_PID" >/dev/null || kill "$HOLD_PID" 2>/dev/null
        HOLD_PID=
}
trap 'release_lock; tl_exit' EXIT

# The daemon made the lock file at start-up, 0600 root:root: the user cannot open it.
t_lock_private() {
        expect_eq "$(stat -c '%F %a %U:%G' "$LOCK" 2>&1)" "regular empty file 600 root:root" "lock file" || return 1
        run "${NB[@]}" flock -n "$LOCK" true
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-nobody could lock $LOCK"; return 1; }
        expect_contains "$TL_OUT" "Permission denied" "flock as u1test-nobody"
}

# The old world: the file is 0644, so the user can open it and hold the lock.
t_lock_held_by_user() {
        local env_before rc t0 took
        chmod 0644 "$LOCK" || return 1
        hold_lock || return 1
        env_before=$(sha256sum <"$SB_ENV")

        status_within $PROMPT_MS || { release_lock; return 1; }
        expect_eq "$(status_field 'd["slots"][0]["name"]')" rootfs.0 "GetSlotStatus while the lock is held" || { release_lock; return 1; }

        t0=$(ms)
        run timeout 60 updatectl mark-good
        rc=$TL_RC took=$(( $(ms) - t0 ))
        echo "  (mark-good with the lock held: $took ms)"
        if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
                TL_WHY="mark-good with the lock held: rc $rc after $took ms: $(_tl_out_excerpt)"
                release_lock
                return 1
        fi
        expect_contains "$TL_OUT" "$E.Busy" "mark-good's error" &&
                expect_contains "$TL_OUT" "U-Boot environment lock $LOCK held by another process for 5 s" "mark-good's error" ||
                { release_lock; return 1; }
        [ "$took" -le $MARK_BOUND_MS ] || { TL_WHY="mark-good took $took ms (bound $MARK_BOUND_MS ms)"; release_lock; return 1; }
        expect_eq "$(sha256sum <"$SB_ENV")" "$env_before" "env while the lock was held" || { release_lock; return 1; }

        # still serving, and the table says why the boot state is not current
        status_within $PROMPT_MS || { release_lock; return 1; }
        sec_expect_alive || { release_lock; return 1; }
        # the daemon fixed the mode: nobody new gets in (the holder keeps its old fd)
        expect_eq "$(stat -c %a "$LOCK")" 600 "lock file mode after the daemon saw it" || { release_lock; return 1; }
        run "${NB[@]}" flock -n "$LOCK" true
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-nobody could lock $LOCK again"; release_lock; return 1; }

        release_lock
        expect_ok updatectl mark-good || return 1
        # fresh again: the refresh started by this call reads the bootloader
        status_within $PROMPT_MS || return 1
        expect_eq "$(status_field '[d["snapshot"]["stale"], d.get("bootloader_error"), d["primary"]]')" \
                '[false, null, "rootfs.0"]' "GetSlotStatus after the lock was released"
}

# A symlink planted by the user where the lock file is missing: never followed.
t_symlink_refused() {
        local victim=$SB/victim
        printf 'precious\n' >"$victim" && chmod 0644 "$victim" || return 1
        rm -f "$LOCK"
        "${NB[@]}" ln -s "$victim" "$LOCK" || { TL_WHY="u1test-nobody cannot create $LOCK"; return 1; }

        SEC_TOP='' sec_refused "Io" updatectl mark-good || return 1
        expect_contains "$SEC_LAST_OUT" "U-Boot environment lock $LOCK is a symbolic link; refusing to follow it" \
                "mark-good's error" || return 1
        status_within $PROMPT_MS || return 1
        expect_contains "$(status_field 'd.get("bootloader_error") or ""')" "is a symbolic link" "bootloader_error" || return 1
        expect_eq "$(cat "$victim")" precious "symlink target's content" || return 1
        expect_eq "$(stat -c %a "$victim")" 644 "symlink target's mode" || return 1
        [ -L "$LOCK" ] || { TL_WHY="$LOCK is no longer the planted symlink"; return 1; }

        rm -f "$LOCK"
        expect_ok updatectl mark-good || return 1
        expect_eq "$(stat -c '%F %a %U' "$LOCK" 2>&1)" "regular empty file 600 root" "lock file made again"
}

# A lock file the user created (before tmpfiles would have): the user could hold it for ever.
t_user_file_refused() {
        rm -f "$LOCK"
        "${NB[@]}" sh -c 'umask 022; : >"$1"' sh "$LOCK" || { TL_WHY="u1test-nobody cannot create $LOCK"; return 1; }
        SEC_TOP='' sec_refused "Io" updatectl mark-good || return 1
        expect_contains "$SEC_LAST_OUT" "U-Boot environment lock $LOCK is owned by uid $(id -u u1test-nobody)" \
                "mark-good's error" || return 1
        expect_eq "$(stat -c '%a %U' "$LOCK")" "644 u1test-nobody" "the user's file" || return 1
        rm -f "$LOCK"
        expect_ok updatectl mark-good
}

# packaging/tmpfiles.d makes the lock file 0600 root:root at boot, fixes a weak mode and does
# not follow a symlink planted there (systemd-tmpfiles on a scratch root).
t_tmpfiles() {
        local r=$SB/tmpfiles-root conf=$UPDATE1_BUILD/packaging/tmpfiles.d/update1.conf
        command -v systemd-tmpfiles >/dev/null || { TL_SKIP_WHY="no systemd-tmpfiles"; return 2; }
        mkdir -p "$r/run/lock" && chmod 1777 "$r/run/lock" || return 1
        # (other lines may name users this machine lacks: only the lock file's line matters)
        systemd-tmpfiles --root="$r" --create "$conf" >/dev/null 2>&1
        expect_eq "$(stat -c '%F %a %U:%G' "$r/run/lock/fw_printenv.lock" 2>&1)" "regular empty file 600 root:root"                 "lock file made by tmpfiles" || return 1
        chmod 0644 "$r/run/lock/fw_printenv.lock"
        systemd-tmpfiles --root="$r" --create "$conf" >/dev/null 2>&1
        expect_eq "$(stat -c %a "$r/run/lock/fw_printenv.lock")" 600 "weak mode fixed by tmpfiles" || return 1
        rm -f "$r/run/lock/fw_printenv.lock"
        printf 'precious\n' >"$r/victim" && chmod 0644 "$r/victim"
        ln -s "$r/victim" "$r/run/lock/fw_printenv.lock"
        systemd-tmpfiles --root="$r" --create "$conf" >/dev/null 2>&1
        expect_eq "$(stat -c '%a' "$r/victim"):$(cat "$r/victim")" "644:precious" "symlink target after tmpfiles"
}

# The daemon's instance lock (one updated per data directory, for exit on idle) is its own
# 0600 file: a user who flock()s the data directory itself, which anyone may open, delays no
# start of the daemon, and cannot open the lock file to hold that.
t_instance_lock_not_user_held() {
        expect_eq "$(stat -c '%F %a %U' "$SB_DATA/instance.lock" 2>&1)" "regular empty file 600 root" "instance.lock" || return 1
        run "${NB[@]}" flock -n "$SB_DATA/instance.lock" true
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-nobody could lock $SB_DATA/instance.lock"; return 1; }
        hold_lock "$SB_DATA" || return 1
        sb_stop_updated
        local t0 took
        t0=$(ms)
        sb_start_updated A || { release_lock; TL_WHY="updated did not start while the user held $SB_DATA"; return 1; }
        took=$(( $(ms) - t0 ))
        release_lock
        echo "  (start with the data directory flock()ed by the user: $took ms)"
        ! grep -q "Another updated still uses" "$SB/updated.log" ||
                { TL_WHY="the start waited for the user's lock on the directory"; return 1; }
        status_within "$PROMPT_MS"
}

sec_case tmpfiles-makes-lock-private t_tmpfiles
sec_case lock-file-private-to-root t_lock_private
sec_case lock-held-by-user-no-stall t_lock_held_by_user
sec_case lock-symlink-not-followed t_symlink_refused
sec_case lock-file-of-user-refused t_user_file_refused
sec_case instance-lock-not-user-held t_instance_lock_not_user_held
