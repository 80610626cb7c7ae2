#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A STAND-IN for a real board's custom bootloader backend, for tests and the demo only.
# A real one would talk to the board's boot firmware (an EFI variable, an eMMC boot partition
# switch, a vendor tool); this one keeps the same state in a plain file.
#
# Contract (RAUC's custom backend, as [system] bootloader=custom / [custom] path= uses it):
#   custom-backend.sh get-primary                   prints the bootname booted next
#   custom-backend.sh set-primary <bootname>
#   custom-backend.sh get-state <bootname>          prints good|bad
#   custom-backend.sh set-state <bootname> good|bad
#   custom-backend.sh get-current                   prints the bootname that is running
#
# State: the file named by UPDATE1_CUSTOM_STATE, lines of key=value:
#   primary=A  current=A  state_A=good  state_B=bad
# A missing file means primary=current=A, every slot good.  Each change replaces the file
# atomically (temp file + mv).
# Test knob: UPDATE1_CUSTOM_FAIL=<verb> makes that verb fail with a message on stderr.
set -u

die() {
        echo "custom-backend: $*" >&2
        exit 1
}

STATE=${UPDATE1_CUSTOM_STATE:-}
[ -n "$STATE" ] || die "UPDATE1_CUSTOM_STATE is not set (path of the state file)"
verb=${1:-}
[ -n "$verb" ] || die "usage: $0 get-primary|set-primary X|get-state X|set-state X good|bad|get-current"

if [ "${UPDATE1_CUSTOM_FAIL:-}" = "$verb" ]; then
        echo "custom-backend: simulated failure of '$verb' (UPDATE1_CUSTOM_FAIL)" >&2
        exit 3
fi

get() { # key default
        local v
        v=$( [ -f "$STATE" ] && sed -n "s/^$1=//p" "$STATE" | tail -n 1 )
        echo "${v:-$2}"
}

put() { # key value
        local tmp
        tmp=$(mktemp "$STATE.XXXXXX") || die "cannot create a temp file next to $STATE"
        { [ -f "$STATE" ] && grep -v "^$1=" "$STATE"; echo "$1=$2"; } >"$tmp" || die "cannot write $tmp"
        mv -f "$tmp" "$STATE" || die "cannot replace $STATE"
}

check_name() {
        [[ ${1:-} =~ ^[A-Za-z0-9_]+$ ]] || die "invalid bootname '${1:-}'"
}

case $verb in
get-primary) get primary A ;;
get-current) get current A ;;
set-primary)
        [ $# -eq 2 ] || die "usage: $0 set-primary <bootname>"
        check_name "$2"
        put primary "$2" ;;
get-state)
        [ $# -eq 2 ] || die "usage: $0 get-state <bootname>"
        check_name "$2"
        get "state_$2" good ;;
set-state)
        [ $# -eq 3 ] || die "usage: $0 set-state <bootname> good|bad"
        check_name "$2"
        case $3 in good | bad) ;; *) die "state must be good or bad, not '$3'" ;; esac
        put "state_$2" "$3" ;;
*) die "unknown command '$verb'" ;;
esac
