#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# update-agent's configuration and privilege checks (no device needed):
#   unknown keys/sections and malformed lines are errors naming file:line; required and
#   conflicting settings; durations, sizes and bounds; controller id from a file or the
#   hostname; token files; explicit hooks must be executable; --check-config shows the
#   defaults; root is refused without --allow-root; insecure=yes is announced loudly; an
#   unwritable state directory is an error.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "runs the agent as the unprivileged test user"
tl_require_cmd setpriv useradd
if [ ! -x "$UPDATE1_BUILD/update-agent" ]; then
        fail "$TL_FILE" "$UPDATE1_BUILD/update-agent is not built (make all)"
        exit 1
fi
sb_make_users 2>/dev/null || { fail "$TL_FILE-users" "useradd/groupadd failed"; exit 1; }
sb_init || exit 1
cp "$UPDATE1_BUILD/update-agent" "$SB/bin/" && chmod 0755 "$SB/bin/update-agent" || exit 1
C=$SB/agent.conf
mkdir -p "$SB/state"
chown u1test-op "$SB/state"

# conf LINES...: a valid base configuration plus LINES (each "[section]" or "key=value"), the
# extra lines first so they can open their own section.
conf() {
        {
                printf '%s\n' "$@"
                printf '[server]\nurl=https://ddi.example.com\ntarget-token=abc\n'
                printf '[agent]\nstate-directory=%s\n' "$SB/state"
        } >"$C"
        chmod 0644 "$C"
}
agent() { run as_user u1test-op update-agent --config "$C" "$@"; }

expect_config_error() { # message-fragment
        agent --check-config
        [ "$TL_RC" = 1 ] || { TL_WHY="exit $TL_RC, expected 1: $(_tl_out_excerpt)"; return 1; }
        expect_contains "$TL_OUT" "$1" "error"
}

t_unknown_key() {
        printf '[server]\nurl=https://x.example\ntarget-token=t\n\n# comment\nbogus=1\n' >"$C"
        expect_config_error "$C:6: unknown key bogus= in [server]" || return 1
        conf '[downlaod]' 'mode=disk'
        expect_config_error "$C:2: unknown section [downlaod]" || return 1
        conf 'orphan=1'
        expect_config_error "$C:1: orphan= outside of a section" || return 1
        conf '[polling]' 'this is not a key value line'
        expect_config_error "$C:2: malformed line" || return 1
        conf '[download]' 'mode=torrent'
        expect_config_error "$C:2: mode=torrent: must be stream or disk"
}

t_required_and_conflicts() {
        printf '[server]\ntarget-token=t\n' >"$C"
        expect_config_error "[server] url= is required" || return 1
        printf '[server]\nurl=ftp://x.example\ntarget-token=t\n' >"$C"
        expect_config_error "must start with https:// or http://" || return 1
        conf '[server]' 'gateway-token=g'
        expect_config_error "set only one of target-token" || return 1
        printf '[server]\nurl=https://x.example\n' >"$C"
        expect_config_error "no authentication" || return 1
        printf '[server]\nurl=https://x.example\nclient-cert=/etc/c.pem\n' >"$C"
        expect_config_error "client-cert= and client-key= go together" || return 1
        printf '[server]\nurl=http://x.example\ntarget-token=t\ninsecure=yes\n' >"$C"
        expect_config_error "insecure=yes makes no sense with an http:// url"
}

t_values_and_bounds() {
        conf '[polling]' 'min-interval=5x'
        expect_config_error "min-interval=5x: not a duration" || return 1
        conf '[polling]' 'min-interval=10min' 'max-interval=1min'
        expect_config_error "min-interval= is larger than max-interval=" || return 1
        conf '[download]' 'max-bundle-size=lots'
        expect_config_error "max-bundle-size=lots: not a size" || return 1
        conf '[download]' 'retries=99999'
        expect_config_error "retries=99999: must be a number from 0 to 1000" || return 1
        conf '[hooks]' 'install=relative/path'
        expect_config_error "install=relative/path: must be an absolute path" || return 1
        conf '[agent]' 'reboot=now'
        expect_config_error "reboot=now: must be updated, logind or none"
}

t_controller_id_and_token_file() {
        echo "  SN-0042  " >"$SB/serial"
        echo "file-token" >"$SB/token"
        chmod 0644 "$SB/serial" "$SB/token"
        printf '[server]\nurl=https://x.example\ntarget-token-file=%s\ncontroller-id-file=%s\n[agent]\nstate-directory=%s\n' \
                "$SB/token" "$SB/serial" "$SB/state" >"$C"
        expect_ok as_user u1test-op update-agent --config "$C" --check-config || return 1
        expect_contains "$TL_OUT" "controller-id=SN-0042" "controller id from the file" || return 1
        expect_contains "$TL_OUT" "token-file=$SB/token" "token file" || return 1
        [[ "$TL_OUT" != *file-token* ]] || { TL_WHY="--check-config printed the token"; return 1; }
        conf
        expect_ok as_user u1test-op update-agent --config "$C" --check-config || return 1
        expect_contains "$TL_OUT" "controller-id=$(hostname)" "default controller id" || return 1
        chmod 0600 "$SB/token"
        printf '[server]\nurl=https://x.example\ntarget-token-file=%s\n' "$SB/token" >"$C"
        expect_config_error "cannot read a token from $SB/token: Permission denied"
}

t_defaults() {
        conf
        expect_ok as_user u1test-op update-agent --config "$C" --check-config || return 1
        local want
        for want in "tenant=DEFAULT" "auth=target-token" "artifact=*.bundle" "mode=stream" "insecure=no" \
                "active-interval=15s" "max-interval=86400s" "retry-max-delay=64s" "reboot=updated" \
                "max-retries=60" "state-directory=$SB/state"; do
                expect_contains "$TL_OUT" "$want" "--check-config" || return 1
        done
}

t_hooks_checked() {
        printf '#!/bin/sh\nexit 0\n' >"$SB/hook"
        chmod 0644 "$SB/hook"
        conf '[hooks]' "install=$SB/hook"
        expect_config_error "install hook $SB/hook is not executable" || return 1
        chmod 0755 "$SB/hook"
        conf '[hooks]' "install=$SB/hook" 'install-replaces=yes'
        expect_config_error "install-replaces=yes needs [download] mode=disk"
}

t_refuses_root() {
        conf
        run update-agent --config "$C"
        [ "$TL_RC" = 1 ] || { TL_WHY="root: exit $TL_RC"; return 1; }
        expect_contains "$TL_OUT" "Refusing to run as root" "message"
}

t_insecure_is_loud_and_state_dir_checked() {
        conf '[server]' 'insecure=yes'
        # No bus here: the agent stops right after its start-up checks.
        DBUS_SYSTEM_BUS_ADDRESS=unix:path=$SB/no-bus run as_user u1test-op update-agent --config "$C"
        expect_contains "$TL_OUT" "insecure=yes: TLS certificates are NOT verified" "warning" || return 1
        mkdir -p "$SB/root-state"
        chmod 0700 "$SB/root-state"
        printf '[server]\nurl=https://x.example\ntarget-token=t\n[agent]\nstate-directory=%s\n' "$SB/root-state" >"$C"
        run as_user u1test-op update-agent --config "$C"
        [ "$TL_RC" = 1 ] || { TL_WHY="exit $TL_RC"; return 1; }
        expect_contains "$TL_OUT" "$SB/root-state" "state directory error"
}

# The shipped example parses (with a token filled in) and shows the documented defaults.
t_example_parses() {
        sed -e 's|^#target-token=$|target-token=example|' \
                -e "s|^#state-directory=.*|state-directory=$SB/state|" \
                "$UPDATE1_TOP/packaging/config/agent.conf.example" >"$C"
        expect_ok as_user u1test-op update-agent --config "$C" --check-config || return 1
        expect_contains "$TL_OUT" "url=https://hawkbit.example.com" "url" || return 1
        expect_contains "$TL_OUT" "low-speed-time=60s" "defaults"
}

tl_case example-config-parses t_example_parses
tl_case unknown-keys-sections-lines t_unknown_key
tl_case required-and-conflicting t_required_and_conflicts
tl_case values-and-bounds t_values_and_bounds
tl_case controller-id-and-token-files t_controller_id_and_token_file
tl_case check-config-defaults t_defaults
tl_case explicit-hooks-checked t_hooks_checked
tl_case refuses-root t_refuses_root
tl_case insecure-loud-state-dir-checked t_insecure_is_loud_and_state_dir_checked
