#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Daemon start-up: configuration errors stop it with file:line; a corrupt or missing status
# file never does (it is reported and rebuilt); the booted slot comes from the command line.
. "$(dirname "$0")/../lib/testlib.sh"
tl_require_root "the shipped bus policy lets only root own org.example.Update1"
tl_setup A

mkdir -p "$SB/img" "$SB/bad"
sb_make_random "$SB/img/rand.img" 1M && sb_bundle "$SB/img/v2.bundle" 2 "$SB/img/rand.img" || exit 1

# bad_config NAME LINE[|LINE]: runs updated on $SB/bad/NAME.conf; it must exit non-zero on its own
# (bounded wait), print NAME.conf:LINE, and not take the bus name.
bad_config() {
        local f=$SB/bad/$1.conf line=$2 pid rc
        "$SB/bin/updated" --config "$f" --boot-slot A >"$SB/bad/$1.out" 2>&1 </dev/null &
        pid=$!
        sb_track "$pid"
        tl_wait_pid "$pid"
        rc=$?
        case $rc in
        0) TL_WHY="updated exited 0 on $1.conf"; return 1 ;;
        124) TL_WHY="updated kept running on $1.conf"; sb_kill "$pid"; return 1 ;;
        esac
        grep -Eq "$1\.conf:($line)\b" "$SB/bad/$1.out" && return 0
        TL_WHY="no '$1.conf:$line' in: $(tr '\n' ' ' <<<"$(cat "$SB/bad/$1.out")" | cut -c1-300)"
        return 1
}

# The real daemon keeps running meanwhile: a config error must stop a second instance before
# it ever talks to the bus.
t_cfg_syntax() {
        sb_write_config "$SB/bad/syntax.conf"
        sed -i '5i this line is not ini' "$SB/bad/syntax.conf"
        bad_config syntax 5
}
t_cfg_bootloader() {
        local n
        sb_write_config "$SB/bad/bootloader.conf"
        n=$(grep -n '^bootloader=' "$SB/bad/bootloader.conf" | cut -d: -f1)
        sed -i 's/^bootloader=.*/bootloader=lilo/' "$SB/bad/bootloader.conf"
        bad_config bootloader "$n"
}
t_cfg_nodevice() {
        local n
        sb_write_config "$SB/bad/nodevice.conf" "[slot.appfs.0]" "bootname=C"
        n=$(grep -n '^\[slot.appfs.0\]' "$SB/bad/nodevice.conf" | cut -d: -f1)
        bad_config nodevice "$n|$((n + 1))"
}
t_cfg_dupboot() {
        local n
        sb_write_config "$SB/bad/dupboot.conf" "[slot.rootfs.2]" "device=$SB/slot-c.img" "bootname=A"
        n=$(grep -n '^\[slot.rootfs.2\]' "$SB/bad/dupboot.conf" | cut -d: -f1)
        bad_config dupboot "$n|$((n + 2))"
}
t_cfg_number() {
        local n
        sb_write_config "$SB/bad/maxsize.conf"
        sed -i 's/^\[system\]$/[system]\nmax-bundle-size=lots/' "$SB/bad/maxsize.conf"
        n=$(grep -n '^max-bundle-size=' "$SB/bad/maxsize.conf" | cut -d: -f1)
        bad_config maxsize "$n"
}

t_missing_config() {
        run timeout "$SB_WAIT" "$SB/bin/updated" --config "$SB/nonexistent.conf" --boot-slot A
        case $TL_RC in
        0) TL_WHY="updated exited 0 without a config"; return 1 ;;
        124) TL_WHY="updated kept running without a config"; return 1 ;;
        esac
        expect_contains "$TL_OUT" nonexistent.conf "error names the file"
}

# restart_with_status CONTENT|--missing: stop, replace status.json, start; the daemon must come
# up, report the problem in its log and serve GetSlotStatus with unknown statuses.
restart_with_status() {
        sb_stop_updated
        mkdir -p "$SB_DATA"
        if [ "$1" = --missing ]; then
                rm -rf "$SB_DATA"
        else
                printf '%s' "$1" >"$SB_DATA/status.json"
        fi
        local mark
        mark=$(wc -l <"$SB/updated.log")
        sb_start_updated A 2>"$SB/start.err" || { TL_WHY="daemon did not start: $(cat "$SB/start.err")"; return 1; }
        expect_ok updatectl status --json || return 1
        expect_slot rootfs.1 '["status"]' unknown || return 1
        NEW_LOG=$(tail -n +$((mark + 1)) "$SB/updated.log")
}

status_file_valid() {
        "$SB_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"] == 1 and isinstance(d["slots"], dict)' \
                "$SB_DATA/status.json" 2>/dev/null
}

t_corrupt_status() {
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1   # a record to lose
        restart_with_status '{"format":1,"slots":{"rootfs.1":{"status":"ok","bund' || return 1
        expect_contains "$NEW_LOG" status.json "daemon log about the corrupt file" || return 1
        status_file_valid || { TL_WHY="status.json not rewritten at start: $(head -c 200 "$SB_DATA/status.json")"; return 1; }
        # and installing still works and persists
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1
        expect_slot rootfs.1 '["status"]' ok || return 1
        status_file_valid || { TL_WHY="status.json invalid after install"; return 1; }
}

t_binary_garbage_status() {
        restart_with_status "$(head -c 3000 /dev/urandom | tr -d '\0')" || return 1
        status_file_valid || { TL_WHY="status.json not rewritten at start"; return 1; }
}

t_wrong_types_status() {
        restart_with_status '{"format":1,"slots":{"rootfs.1":{"status":42,"installed":"yesterday"},"rootfs.7":{}}}' || return 1
        status_file_valid || { TL_WHY="status.json not rewritten"; return 1; }
}

t_missing_data_dir() {
        restart_with_status --missing || return 1
        expect_ok updatectl install "$SB/img/v2.bundle" || return 1
        [ -s "$SB_DATA/status.json" ] || { TL_WHY="status.json not created"; return 1; }
        status_file_valid || { TL_WHY="status.json invalid"; return 1; }
}

# The booted slot comes from the kernel command line when not overridden.
t_cmdline_boot_slot() {
        local rc=0
        sb_stop_updated
        printf 'console=ttyS0 root=/dev/mmcblk0p3 update1.slot=B rw\n' >"$SB/cmdline"
        sb_run_updated --cmdline "$SB/cmdline" 2>"$SB/start.err" || { TL_WHY="$(cat "$SB/start.err")"; rc=1; }
        if [ $rc = 0 ]; then
                expect_booted B && expect_slot rootfs.1 '["state"]' booted || rc=1
        fi
        sb_stop_updated
        sb_start_updated A 2>/dev/null
        return $rc
}

# RAUC's rauc.slot= is understood as well.
t_cmdline_rauc() {
        local rc=0
        sb_stop_updated
        printf 'rauc.slot=B\n' >"$SB/cmdline"
        sb_run_updated --cmdline "$SB/cmdline" 2>"$SB/start.err" || { TL_WHY="$(cat "$SB/start.err")"; rc=1; }
        [ $rc = 0 ] && { expect_booted B || rc=1; }
        sb_stop_updated
        sb_start_updated A 2>/dev/null
        return $rc
}

# No update1.slot=/rauc.slot=/matching root= on the command line: booted is not guessed (the
# daemon may refuse to start or report no booted slot, but never A or B).
t_cmdline_unknown() {
        local rc=0 b
        sb_stop_updated
        printf 'console=ttyS0 root=/dev/sda9 rw\n' >"$SB/cmdline"
        if sb_run_updated --cmdline "$SB/cmdline" 2>/dev/null; then
                b=$(tl_status_field 'd["booted"]')
                case $b in
                A | B | rootfs.0 | rootfs.1) TL_WHY="booted slot guessed as '$b'"; rc=1 ;;
                esac
        fi
        sb_stop_updated
        sb_start_updated A 2>/dev/null
        return $rc
}

tl_case config-error-syntax t_cfg_syntax
tl_case config-error-bootloader t_cfg_bootloader
tl_case config-error-slot-without-device t_cfg_nodevice
tl_case config-error-duplicate-bootname t_cfg_dupboot
tl_case config-error-bad-number t_cfg_number
tl_case missing-config t_missing_config
tl_case corrupt-status-file t_corrupt_status
tl_case binary-garbage-status-file t_binary_garbage_status
tl_case wrong-types-in-status-file t_wrong_types_status
tl_case missing-data-directory t_missing_data_dir
tl_case booted-slot-from-cmdline t_cmdline_boot_slot
tl_case booted-slot-rauc-cmdline t_cmdline_rauc
tl_case booted-slot-not-guessed t_cmdline_unknown
