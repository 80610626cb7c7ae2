#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot simulator for UEFI firmware's boot manager: one "reboot", applied to the state file of
# the efibootmgr stand-in ($EFIBOOTMGR_STATE, see tests/fakes/stand-ins/efibootmgr):
#   [1] if BootNext is set: delete it (the firmware does so before booting) and boot it
#   [2] else boot the first entry of BootOrder that exists and is active
#   [3] BootCurrent = the entry booted
# Usage: boot-sim-efi.sh [CMDLINE_FILE]
#   stdout: the label of the entry booted, or "none"
#   CMDLINE_FILE (optional): gets "update1.slot=<label>"
set -u
CMDLINE_FILE=${1:-}
state=${EFIBOOTMGR_STATE:?boot-sim-efi: EFIBOOTMGR_STATE is not set}

current='' next='' timeout='' order='' have_order=0
nums=()
declare -A active=() label=()
while IFS= read -r line || [ -n "$line" ]; do
        case $line in
        "current "*) current=${line#current } ;;
        "next "*) next=${line#next } ;;
        "timeout "*) timeout=${line#timeout } ;;
        "order"*) order=${line#order}; order=${order# }; have_order=1 ;;
        "entry "*)
                rest=${line#entry }
                n=${rest%% *}; rest=${rest#* }
                nums+=("$n"); active[$n]=${rest%% *}; label[$n]=${rest#* } ;;
        esac
done <"$state"

boot=
if [ -n "$next" ] && [ -n "${label[$next]+x}" ]; then # [1]
        boot=$next
        next=
else # [2]
        IFS=, read -r -a items <<<"$order"
        for n in "${items[@]}"; do
                if [ -n "${label[$n]+x}" ] && [ "${active[$n]}" = 1 ]; then boot=$n; break; fi
        done
fi
current=$boot # [3]

tmp=$(mktemp "$state.XXXXXX") || exit 1
{
        [ -n "$current" ] && echo "current $current"
        [ -n "$next" ] && echo "next $next"
        [ -n "$timeout" ] && echo "timeout $timeout"
        [ $have_order = 1 ] && echo "order $order"
        for n in "${nums[@]}"; do echo "entry $n ${active[$n]} ${label[$n]}"; done
} >"$tmp"
mv -f "$tmp" "$state"

if [ -z "$boot" ]; then
        [ -n "$CMDLINE_FILE" ] && : >"$CMDLINE_FILE"
        echo none
else
        name=${label[$boot]%%$'\t'*}
        [ -n "$CMDLINE_FILE" ] && echo "update1.slot=$name" >"$CMDLINE_FILE"
        echo "$name"
fi
exit 0
