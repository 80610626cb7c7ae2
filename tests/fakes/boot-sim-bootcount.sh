#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot simulator for the classic U-Boot boot counting scheme: one "reboot" through U-Boot's
# bootcount logic (CONFIG_BOOTCOUNT_LIMIT + CONFIG_BOOTCOUNT_ENV) and the bootcmd/altbootcmd
# of packaging/bootloader/uboot-bootcount.env, applied to a U-Boot environment with
# fw_printenv/fw_setenv -c ENVCFG (so libubootenv's redundant-copy handling is the real one).
# The [n] marks are the steps in uboot-bootcount.env; keep the two in step.
#
# Usage: boot-sim-bootcount.sh ENVCFG [CMDLINE_FILE]
#   stdout: the bootname U-Boot boots, or "none" if update1_slot is unset (bootcmd's
#           "run update1_boot_" fails and the board resets)
#   CMDLINE_FILE (optional): gets the kernel command line, "${update1_bootargs} update1.slot=<x>"
#   exit 0 on a simulated boot, 1 if the environment cannot be read or written.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 ENVCFG [CMDLINE_FILE]" >&2
        exit 2
fi
CFG=$1
CMDLINE_FILE=${2:-}

if ! dump=$(fw_printenv -c "$CFG" 2>&1); then
        echo "boot-sim-bootcount: cannot read the U-Boot environment ($CFG): $(echo "$dump" | tail -n 1)" >&2
        exit 1
fi
declare -A env=()
while IFS= read -r line; do
        [[ $line == *=* ]] || continue
        env[${line%%=*}]=${line#*=}
done <<<"$dump"

# env_get_ulong(name, 10, 0): unset → 0; else simple_strtoul(s, NULL, 10): leading decimal
# digits, none → 0.
get_ulong() {
        local v=${env[$1]-}
        [[ $v =~ ^[0-9]+ ]] && echo $((10#${BASH_REMATCH[0]})) || echo 0
}

changes=()
setvar() { # name [value]: setenv in memory, remembered for the next saveenv
        if [ $# -gt 1 ]; then env[$1]=$2; changes+=("$1=$2"); else unset "env[$1]"; changes+=("$1="); fi
}
# saveenv writes the whole in-memory env; fw_setenv -s of what changed is one env store too.
saveenv() {
        local script out
        [ ${#changes[@]} -gt 0 ] || return 0
        script=$(mktemp) || exit 1
        printf '%s\n' "${changes[@]}" >"$script"
        if ! out=$(fw_setenv -c "$CFG" -s "$script" 2>&1); then
                rm -f "$script"
                echo "boot-sim-bootcount: saveenv failed ($CFG): $out" >&2
                exit 1
        fi
        rm -f "$script"
        changes=()
}

# [1] bootcount_inc(): bootcount_load() is the stored count only while upgrade_available is
#     non-zero (0 otherwise); +1; bootcount_store() saves only while upgrade_available; the
#     new value is set in memory either way.
upgrade=$(get_ulong upgrade_available)
if [ "$upgrade" != 0 ]; then
        count=$(( $(get_ulong bootcount) + 1 ))
        setvar bootcount "$count"
        saveenv
else
        count=1
        env[bootcount]=1 # in memory only; nothing below saves it
fi

# [2] bootcount_error(): bootcount_load() again (0 without upgrade_available).
[ "$upgrade" != 0 ] || count=0
limit=$(get_ulong bootlimit)
if [ "$limit" != 0 ] && [ "$count" -gt "$limit" ]; then
        # [4] altbootcmd
        if [ -n "${env[update1_altslot]-}" ]; then
                setvar update1_slot "${env[update1_altslot]}"
                setvar update1_altslot
        fi
        setvar upgrade_available 0
        setvar bootcount 0
        saveenv
        # ... run bootcmd
fi

# [3] bootcmd: boot update1_slot.
slot=${env[update1_slot]-}
if [ -z "$slot" ]; then
        [ -n "$CMDLINE_FILE" ] && : >"$CMDLINE_FILE"
        echo none
        exit 0
fi
if [ -n "$CMDLINE_FILE" ]; then
        args="${env[update1_bootargs]-} update1.slot=$slot"
        printf '%s\n' "${args# }" >"$CMDLINE_FILE"
fi
echo "$slot"
exit 0
