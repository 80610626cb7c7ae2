#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot simulator for barebox's bootchooser: one "reboot", applied to the state file of the
# barebox-state stand-in (tests/fakes/stand-ins/barebox-state, which it uses to read and write,
# so BAREBOX_STATE_FILE / BAREBOX_STATE_NAME must be set as for the stand-in).
# Models bootchooser (barebox common/bootchooser.c) with the settings Update1 documents:
# global.bootchooser.reset_attempts=all-zero, default_attempts=3 (BAREBOX_SIM_DEFAULT_ATTEMPTS),
# targets = the <x> of the bootstate.<x>.priority variables, in state order:
#   [1] reset_attempts=all-zero: if no enabled target (priority > 0) has attempts left, set
#       every target's remaining_attempts to default_attempts
#   [2] choose the enabled target with the highest priority and remaining_attempts > 0
#       (the first on a tie)
#   [3] unless bootstate.attempts_locked is 1: decrement its remaining_attempts; save; boot
# Usage: boot-sim-barebox.sh [CMDLINE_FILE]
#   stdout: the target booted, or "none" when no target is enabled
#   CMDLINE_FILE (optional): gets "bootchooser.active=<x>" (bootchooser's appended argument)
set -u
CMDLINE_FILE=${1:-}
TOOL=$(dirname "$0")/stand-ins/barebox-state
DEFAULT_ATTEMPTS=${BAREBOX_SIM_DEFAULT_ATTEMPTS:-3}

if ! dump=$("$TOOL" -d 2>&1); then
        echo "boot-sim-barebox: cannot read the state: $dump" >&2
        exit 1
fi
targets=()
declare -A var=()
while IFS= read -r line; do
        [[ $line == *=* ]] || continue
        var[${line%%=*}]=${line#*=}
        if [[ $line =~ ^bootstate\.([A-Za-z0-9_]+)\.priority= ]]; then targets+=("${BASH_REMATCH[1]}"); fi
done <<<"$dump"

sets=()
# [1]
any=0
for t in "${targets[@]}"; do
        [ "${var[bootstate.$t.priority]}" -gt 0 ] && [ "${var[bootstate.$t.remaining_attempts]:-0}" -gt 0 ] && any=1
done
if [ $any = 0 ]; then
        for t in "${targets[@]}"; do
                var[bootstate.$t.remaining_attempts]=$DEFAULT_ATTEMPTS
                sets+=(-s "bootstate.$t.remaining_attempts=$DEFAULT_ATTEMPTS")
        done
fi
# [2]
best=
for t in "${targets[@]}"; do
        p=${var[bootstate.$t.priority]} a=${var[bootstate.$t.remaining_attempts]:-0}
        if [ "$p" -gt 0 ] && [ "$a" -gt 0 ] && { [ -z "$best" ] || [ "$p" -gt "${var[bootstate.$best.priority]}" ]; }; then
                best=$t
        fi
done
# [3]
if [ -n "$best" ] && [ "${var[bootstate.attempts_locked]:-0}" != 1 ]; then
        sets+=(-s "bootstate.$best.remaining_attempts=$(( ${var[bootstate.$best.remaining_attempts]} - 1 ))")
fi
if [ ${#sets[@]} -gt 0 ] && ! out=$("$TOOL" "${sets[@]}" 2>&1); then
        echo "boot-sim-barebox: cannot save the state: $out" >&2
        exit 1
fi
if [ -z "$best" ]; then
        [ -n "$CMDLINE_FILE" ] && : >"$CMDLINE_FILE"
        echo none
else
        [ -n "$CMDLINE_FILE" ] && echo "bootchooser.active=$best" >"$CMDLINE_FILE"
        echo "$best"
fi
exit 0
