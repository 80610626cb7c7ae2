#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attack suite: what the daemon writes, with which owner and mode (A17, A38 of
# shared/reference/security-tests.md; Mender CVE-2024-55959).  Documented:
# packaging/tmpfiles.d/update1.conf.in makes the data directory 0755 root:root; the status file
# is written 0600 by write_file_atomic (status is for root and group "update", over D-Bus).  The daemon is started with umask 000 (a careless
# environment) so that every mode checked here is one the daemon chose itself.
. "$(dirname "$0")/lib/seclib.sh"
tl_require_root "root-owned files and the root-owned bus name"
tl_require_cmd setpriv useradd
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
SEC_NO_DAEMON=1 sec_setup A
# The data directory does not exist yet: the daemon creates it.
SB_DATA=$SB/var/lib/update1
sed -i "s|^data-directory=.*|data-directory=$SB_DATA|" "$SB_CONFIG"
rm -rf "${SB:?}/var"
umask 000
if ! { sb_start_bus && sb_start_updated A; } 2>"$SB/start.err"; then
        fail "$TL_FILE-setup" "daemon did not come up: $(tail -n 3 "$SB/start.err" | tr '\n' ' ')"
        exit 1
fi
umask 022

I=$SB/img
mkdir -p "$I" && chmod 0755 "$I"
sb_make_random "$I/rand.img" 256K && sb_bundle "$I/good.bundle" 2 "$I/rand.img" || exit 1

expect_mode() { # PATH MODE OWNER:GROUP
        local got
        got=$(stat -c '%a %U:%G %F' "$1" 2>&1)
        expect_eq "$got" "$2 $3 $4" "$1" || return 1
}

# Nothing under PATH is writable by group or others, and no temp file is left behind.
expect_no_loose_files() {
        local bad
        bad=$(find "$1" \( -perm -o+w -o -perm -g+w \) -printf '%m %p\n' 2>&1)
        [ -z "$bad" ] || { TL_WHY="group/world-writable: $bad"; return 1; }
        bad=$(find "$1" -name '*.tmp*' -printf '%p\n')
        [ -z "$bad" ] || { TL_WHY="temp files left: $bad"; return 1; }
}

t_daemon_umask() {
        local u
        u=$(sed -n 's/^Umask:[[:space:]]*//p' "/proc/$SB_UPDATED_PID/status")
        [ -n "$u" ] || { TL_WHY="no daemon pid"; return 1; }
        # at least 022: nothing it creates is group/world-writable by accident
        [ $((8#$u & 8#022)) = $((8#022)) ] || { TL_WHY="daemon umask $u"; return 1; }
}

t_after_install() {
        expect_ok as_user u1test-op updatectl install "$I/good.bundle" || return 1
        expect_mode "$SB_DATA" 755 root:root directory || return 1
        expect_mode "$SB_DATA/status.json" 600 root:root "regular file" || return 1
        expect_no_loose_files "$SB_DATA" || return 1
        # neither readable nor writable by others (the status is not public, see auth.h)
        run as_user u1test-nobody cat "$SB_DATA/status.json"
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-nobody could read the status file"; return 1; }
        run as_user u1test-op sh -c ": >>'$SB_DATA/status.json'"
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-op could write the status file"; return 1; }
        expect_ok updatectl mark-bad other
}

# A pre-existing status file with a loose mode is replaced, not written through: the new
# file has the daemon's mode.
t_status_mode_repaired() {
        chmod 0666 "$SB_DATA/status.json"
        expect_ok updatectl install "$I/good.bundle" || return 1
        expect_mode "$SB_DATA/status.json" 600 root:root "regular file" || return 1
        expect_ok updatectl mark-bad other
}

# A symlink planted as the status file is replaced by the atomic rename, never followed for
# writing (A17).
t_status_symlink_not_followed() {
        echo "victim" >"$SB/victim"
        chmod 0644 "$SB/victim"
        local before
        before=$(sha256sum <"$SB/victim")
        cp "$SB_DATA/status.json" "$SB/status.copy"
        rm -f "$SB_DATA/status.json"
        ln -s "$SB/victim" "$SB_DATA/status.json"
        expect_ok updatectl install "$I/good.bundle"
        local rc=$?
        [ "$(sha256sum <"$SB/victim")" = "$before" ] || { TL_WHY="the symlink target was written"; return 1; }
        [ $rc = 0 ] || return 1
        expect_mode "$SB_DATA/status.json" 600 root:root "regular file" || return 1
        expect_ok updatectl mark-bad other
}

# The keyring the sandbox/demo configuration trusts: not writable by anyone but root, nor is
# its directory (a writable keyring is a signature bypass).
t_keyring_not_writable() {
        local k d
        k=$(sed -n 's/^path=//p' "$SB_CONFIG" | head -n 1)
        [ -n "$k" ] || { TL_WHY="no [keyring] path= in $SB_CONFIG"; return 1; }
        for d in "$k" "$(dirname "$k")"; do
                if [ -n "$(find "$d" -maxdepth 0 \( -perm -o+w -o -perm -g+w \) 2>/dev/null)" ] ||
                        [ "$(stat -c %u "$d")" != 0 ]; then
                        TL_WHY="$d is $(stat -c '%a %U' "$d")"
                        return 1
                fi
        done
        run as_user u1test-op sh -c ": >>'$k'"
        [ "$TL_RC" != 0 ] || { TL_WHY="u1test-op could write the keyring"; return 1; }
        # the shipped example configuration points at a root-owned path under /etc
        grep -q '^path=/etc/' "$UPDATE1_TOP/packaging/config/system.conf.example" ||
                { TL_WHY="packaging/config/system.conf.example keyring is not under /etc"; return 1; }
}

# The env file keeps its mode when libubootenv rewrites it.
t_env_mode_kept() {
        chmod 0600 "$SB_ENV"
        expect_ok updatectl mark-active booted || return 1
        expect_mode "$SB_ENV" 600 root:root "regular file"
}

# The anti-rollback floor file (two copies): owner root, not world-writable.
t_floor_mode() {
        if ! grep -l 'ERROR_DOWNGRADE' "$UPDATE1_TOP"/daemon/*.c >/dev/null 2>&1; then
                TL_SKIP_WHY="not implemented yet: security-version floor storage"
                return 2
        fi
        expect_no_loose_files "$SB_DATA"
}

sec_case daemon-umask t_daemon_umask
sec_case modes-after-install t_after_install
sec_case status-file-mode-repaired t_status_mode_repaired
sec_case status-symlink-not-followed t_status_symlink_not_followed
sec_case keyring-not-writable t_keyring_not_writable
sec_case env-file-mode-kept t_env_mode_kept
sec_case floor-file-mode t_floor_mode
