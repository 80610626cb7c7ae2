#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot simulator for GRUB: one "reboot" through packaging/bootloader/grub.cfg, applied to a
# grubenv file.  load_env and save_env go through grub-editenv (GRUB's own envblk code), so a
# block GRUB cannot parse fails here too.  The [n] marks are the steps of grub.cfg; keep the
# two in step.
#
# Usage: boot-sim-grub.sh GRUBENV [CMDLINE_FILE]
#   stdout: the bootname GRUB boots, or "none" when no slot could be tried (grub.cfg re-arms
#           the good ones, saves and reboots; run the simulator again for the next boot)
#   CMDLINE_FILE (optional): gets "update1.slot=<x>" (what the menuentry passes), or is emptied
#   exit 0 on a simulated boot, 1 if the block cannot be read or written.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 GRUBENV [CMDLINE_FILE]" >&2
        exit 2
fi
ENVFILE=$1
CMDLINE_FILE=${2:-}
SLOTS=(A B) # the bootnames grub.cfg spells out

# GRUB's test -eq compares grub_strtosl(s, 0, 0): leading blanks skipped, optional '-', "0x" →
# hex, "0" + octal digit → octal, else decimal; stops at the first invalid digit; no digits → 0.
grub_strtosl() {
        local s=$1 sign=1 base=10 v=0 c d
        s=${s#"${s%%[![:space:]]*}"}
        if [[ $s == -* ]]; then sign=-1; s=${s:1}; fi
        if [[ $s == 0x* ]]; then base=16; s=${s:2}
        elif [[ $s =~ ^0[0-7] ]]; then base=8; fi
        while [ -n "$s" ]; do
                c=${s:0:1}; s=${s:1}
                case $c in
                [0-9]) d=$c ;;
                [a-f]) d=$(( $(printf '%d' "'$c") - 87 )) ;;
                [A-F]) d=$(( $(printf '%d' "'$c") - 55 )) ;;
                *) break ;;
                esac
                [ "$d" -lt "$base" ] || break
                v=$(( v * base + d ))
        done
        echo $(( sign * v ))
}
eq() { [ "$(grub_strtosl "$1")" -eq "$(grub_strtosl "$2")" ]; }

# [1] defaults
declare -A env=([ORDER]="A B" [A_OK]=0 [B_OK]=0 [A_TRY]=0 [B_TRY]=0)
# [2] load_env ORDER A_OK A_TRY B_OK B_TRY (only those)
if ! dump=$(grub-editenv "$ENVFILE" list 2>&1); then
        echo "boot-sim-grub: cannot read the GRUB environment ($ENVFILE): $dump" >&2
        exit 1
fi
while IFS= read -r line; do
        name=${line%%=*}
        case $name in
        ORDER | A_OK | A_TRY | B_OK | B_TRY) env[$name]=${line#*=} ;;
        esac
done <<<"$dump"

# [3] walk ORDER (word splitting on blanks, as GRUB's for does)
slot=
for x in ${env[ORDER]}; do
        ok=0 try=0
        for known in "${SLOTS[@]}"; do
                if [ "$x" == "$known" ]; then
                        ok=${env[${x}_OK]}
                        try=${env[${x}_TRY]}
                        env[${x}_TRY]=1
                fi
        done
        if eq "$ok" 1 && eq "$try" 0; then
                slot=$x
                break
        fi
done

# [4] nothing chosen: re-arm the good ones
if [ -z "$slot" ]; then
        for x in "${SLOTS[@]}"; do
                if eq "${env[${x}_OK]}" 1 && eq "${env[${x}_TRY]}" 1; then
                        env[${x}_TRY]=0
                fi
        done
fi

# [5] save_env A_TRY B_TRY
if ! out=$(grub-editenv "$ENVFILE" set "A_TRY=${env[A_TRY]}" "B_TRY=${env[B_TRY]}" 2>&1); then
        echo "boot-sim-grub: save_env failed ($ENVFILE): $out" >&2
        exit 1
fi

# [6] boot it, or reboot
if [ -z "$slot" ]; then
        [ -n "$CMDLINE_FILE" ] && : >"$CMDLINE_FILE"
        echo none
else
        [ -n "$CMDLINE_FILE" ] && echo "update1.slot=$slot" >"$CMDLINE_FILE"
        echo "$slot"
fi
exit 0
