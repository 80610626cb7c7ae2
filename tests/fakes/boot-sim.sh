#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot simulator: one "reboot" through packaging/bootloader/uboot-boot.cmd, applied to a
# U-Boot environment with fw_printenv/fw_setenv -c ENVCFG (so libubootenv's redundant-copy
# handling is the real one).  The [n] marks are the steps of uboot-boot.cmd; keep them in step.
#
# Usage: boot-sim.sh ENVCFG [CMDLINE_FILE]
#   stdout: the bootname U-Boot boots, or "none" when no slot had attempts left (the script
#           re-arms all counters, saves and resets; run the simulator again for the next boot)
#   CMDLINE_FILE (optional): gets the kernel command line the script would pass,
#           "${update1_bootargs} update1.slot=<x>", for updated's --cmdline / slot detection
#   exit 0 on a simulated boot (either outcome), 1 if the environment cannot be read or
#   written (like U-Boot falling back to its default env: a broken board, not a boot).
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 ENVCFG [CMDLINE_FILE]" >&2
        exit 2
fi
CFG=$1
CMDLINE_FILE=${2:-}

# U-Boot loads the whole environment once.
if ! dump=$(fw_printenv -c "$CFG" 2>&1); then
        echo "boot-sim: cannot read the U-Boot environment ($CFG): $(echo "$dump" | tail -n 1)" >&2
        exit 1
fi
declare -A env=()
while IFS= read -r line; do
        [[ $line == *=* ]] || continue
        env[${line%%=*}]=${line#*=}
done <<<"$dump"

# test's number parsing: simple_strtol(s, NULL, 0): optional '-', "0x" → hex, leading "0" →
# octal, else decimal; stops at the first non-digit; garbage or empty is 0.
strtol0() {
        local s=$1 sign=1 base=10 v=0 c d
        if [[ $s == -* ]]; then sign=-1; s=${s#-}; fi
        if [[ $s =~ ^0[xX][0-9a-fA-F] ]]; then base=16; s=${s:2}
        elif [[ $s == 0* ]]; then base=8; fi
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

# setexpr's "a - 1": a is read as hex (hextoul: optional 0x, stops at a non-hex digit) and the
# result stored as hex without prefix (env_set_hex, "%lx").
setexpr_dec() {
        local s=$1 v=0 c
        s=${s#0x}; s=${s#0X}
        while [[ $s =~ ^[0-9a-fA-F] ]]; do
                c=${s:0:1}; s=${s:1}
                v=$(( v * 16 + 16#$c ))
        done
        printf '%x' $(( (v - 1) & 0xffffffffffffffff ))
}

# [1] Nothing chosen yet.
slot=
changes=()
# [2] Walk BOOT_ORDER, split on white space like hush's for loop.
for x in ${env[BOOT_ORDER]-}; do
        if [ -z "$slot" ]; then
                # [3] The indirect read of BOOT_<x>_LEFT.
                left=${env[BOOT_${x}_LEFT]-}
                # [4] test "${update1_left}" -gt 0
                if [ "$(strtol0 "$left")" -gt 0 ]; then
                        # [5] setexpr BOOT_<x>_LEFT ${update1_left} - 1
                        new=$(setexpr_dec "$left")
                        env[BOOT_${x}_LEFT]=$new
                        changes+=("BOOT_${x}_LEFT=$new")
                        slot=$x
                fi
        fi
done

# saveenv: everything the script changed, in one write (fw_setenv -s is one env store).
saveenv() {
        local script
        script=$(mktemp) || exit 1
        printf '%s\n' "${changes[@]}" >"$script"
        if ! out=$(fw_setenv -c "$CFG" -s "$script" 2>&1); then
                rm -f "$script"
                echo "boot-sim: saveenv failed ($CFG): $out" >&2
                exit 1
        fi
        rm -f "$script"
}

if [ -n "$slot" ]; then
        # [6] Persist the decremented counter.
        saveenv
        # [7] Boot it: the kernel command line carries update1.slot=.
        if [ -n "$CMDLINE_FILE" ]; then
                args="${env[update1_bootargs]-} update1.slot=$slot"
                printf '%s\n' "${args# }" >"$CMDLINE_FILE"
        fi
        echo "$slot"
else
        # [8] No attempts left anywhere: re-arm every slot in the order to 3, save, reset.
        for x in ${env[BOOT_ORDER]-}; do
                changes+=("BOOT_${x}_LEFT=3")
        done
        [ ${#changes[@]} -gt 0 ] && saveenv
        [ -n "$CMDLINE_FILE" ] && : >"$CMDLINE_FILE"
        echo none
fi
exit 0
