# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by every tests/security/test-*.sh (the attack suite, the A-series of
# shared/reference/security-tests.md).  Builds on tests/lib/testlib.sh (cases, sandbox,
# snapshot helpers) and adds:
#   sec_setup [BOOT]     sandbox device + extra PKI + sec-client/craft.py/rawbus.py in $SB/bin
#   sec_refused ERR CMD  the "refused before anything happened" contract
#   sec_aborted ERR CMD  the "failed after the install started" contract
#   craft ...            tests/security/lib/craft.py (hostile bundles, really signed)
#   sec_case NAME FUNC   tl_case with SKIP (FUNC returns 2 and sets TL_SKIP_WHY)
# SEC_TIMING=1 prints each case's duration.
#
# Two contracts, because the daemon streams: everything up to and including the signed
# manifest is checked before the D-Bus call returns and before anything is touched, so
# such a refusal must leave the device byte-identical.  A fault in the payload can only be
# seen when that chunk arrives; by then the target slot was already marked bad and partly
# written, so the contract is: the named error, the target failed + bad + out of the boot
# order, no trial, the booted slot A untouched and still what U-Boot boots.

# pyenv shims and the like cost ~150 ms per start; the suite starts python a few hundred times.
[ -z "${SB_PY:-}" ] && [ -x /usr/bin/python3 ] && SB_PY=/usr/bin/python3
# shellcheck source=tests/lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/testlib.sh"

SEC_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E=org.example.Update1.Error
# shellcheck disable=SC2034 # read by the test scripts that source this file
BUS_DENIED=org.freedesktop.DBus.Error.AccessDenied
# shellcheck disable=SC2034 # read by the test scripts that source this file
INVALID_ARGS=org.freedesktop.DBus.Error.InvalidArgs

# sec_case NAME FUNC [ARGS]: tl_case that also knows SKIP: FUNC returns 2 after setting
# TL_SKIP_WHY (a feature that is not implemented yet).
sec_case() {
        local name=$1 rc t0=$EPOCHREALTIME
        shift
        TL_WHY='' TL_SKIP_WHY=''
        "$@"
        rc=$?
        [ -n "${SEC_TIMING:-}" ] && echo "  ($name: $(echo "$EPOCHREALTIME - $t0" | bc) s)"
        case $rc in
        0) pass "$name" ;;
        2) if [ -n "$TL_SKIP_WHY" ]; then skip "$name" "$TL_SKIP_WHY"; else fail "$name" "${TL_WHY:-$1 returned 2}"; fi ;;
        *) fail "$name" "${TL_WHY:-$1 returned $rc}" ;;
        esac
}

# ---------------------------------------------------------------------------------------
# Helpers built or copied into $SB/bin.

sec_build_client() {
        local dir=$UPDATE1_BUILD/test-helpers src=$SEC_LIB/sec-client.c hash
        mkdir -p "$dir" || return 1
        hash=$(sha256sum <"$src" | cut -c1-16)
        if [ ! -x "$dir/sec-client-$hash" ]; then
                # shellcheck disable=SC2046
                cc -O1 -Wall -Wextra -Werror -o "$dir/sec-client-$hash.$$" "$src" \
                        $(pkg-config --cflags --libs libsystemd) || return 1
                mv "$dir/sec-client-$hash.$$" "$dir/sec-client-$hash"
        fi
        cp "$dir/sec-client-$hash" "$SB/bin/sec-client" && chmod 0755 "$SB/bin/sec-client" &&
        cp "$SEC_LIB/craft.py" "$SB/bin/craft.py" && cp "$SEC_LIB/rawbus.py" "$SB/bin/rawbus.py" &&
        cp "$SEC_LIB/state.py" "$SB/bin/state.py" &&
        chmod 0755 "$SB/bin/craft.py" "$SB/bin/rawbus.py" "$SB/bin/state.py"
}

craft() { "$SB_PY" "$SB/bin/craft.py" "$@"; }

# ---------------------------------------------------------------------------------------
# Extra certificates under the sandbox root ($SB/pki/ca.*), made with `openssl ca` because
# only it sets arbitrary validity dates with OpenSSL 3.0:
#   noeku-signer     CA:FALSE, digitalSignature, no extendedKeyUsage at all
#   server-signer    EKU serverAuth only
#   ca-signer        CA:TRUE (keyCertSign) although it also has EKU codeSigning
#   expired-signer   valid 2020-01-01 .. 2021-01-01
#   future-signer    valid 2040-01-01 .. 2041-01-01
#   revoked-signer   valid, revoked in $SB/pki/ca.crl
#   rsa1024-signer   RSA 1024 key (below OpenSSL security level 2)
#   prod-ca          an intermediate beside inter-ca (the sibling the attacker does not hold)
#   prod-signer      signer under prod-ca
sec_make_pki_extra() {
        local d=$SB/pki c
        mkdir -p "$d/db" && : >"$d/db/index.txt" && echo 1000 >"$d/db/serial" || return 1
        echo 1000 >"$d/db/crlnumber"
        cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = root
[root]
dir = $d/db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $d/ca.crt
private_key = $d/ca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = anything
unique_subject = no
copy_extensions = none
[anything]
O = optional
CN = supplied
[v3_signer]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[v3_noeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[v3_casigner]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
        _sec_cert() { # name ext keyalg [ca dates...]
                local n=$1 ext=$2 alg=$3
                shift 3
                openssl req -new -newkey "$alg" -nodes -keyout "$d/$n.key" -out "$d/$n.csr" \
                        -subj "/O=Update1 Test/CN=Update1 Test $n" 2>>"$d/extra.err" &&
                openssl ca -batch -config "$d/ca.cnf" -extensions "$ext" -notext -in "$d/$n.csr" \
                        -out "$d/$n.crt" "$@" 2>>"$d/extra.err" >/dev/null ||
                        { sb_msg "cannot make $n: $(tail -n 5 "$d/extra.err")"; return 1; }
                rm -f "$d/$n.csr"
        }
        openssl ecparam -name prime256v1 -out "$d/ec.param" || return 1
        _sec_cert noeku-signer v3_noeku "ec:$d/ec.param" &&
        _sec_cert server-signer v3_server "ec:$d/ec.param" &&
        _sec_cert ca-signer v3_casigner "ec:$d/ec.param" &&
        _sec_cert expired-signer v3_signer "ec:$d/ec.param" \
                -startdate 20200101000000Z -enddate 20210101000000Z &&
        _sec_cert future-signer v3_signer "ec:$d/ec.param" \
                -startdate 20400101000000Z -enddate 20410101000000Z &&
        _sec_cert revoked-signer v3_signer "ec:$d/ec.param" &&
        _sec_cert rsa1024-signer v3_signer rsa:1024 &&
        _sec_cert prod-ca v3_inter "ec:$d/ec.param" || return 1
        # prod-signer is issued by prod-ca (openssl x509, dates do not matter here)
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/prod-signer.key" \
                -out "$d/prod-signer.csr" -subj "/O=Update1 Test/CN=Update1 Test prod-signer" 2>>"$d/extra.err" &&
        openssl x509 -req -in "$d/prod-signer.csr" -CA "$d/prod-ca.crt" -CAkey "$d/prod-ca.key" \
                -set_serial 0x77 -days 3650 -extfile "$d/ca.cnf" -extensions v3_signer \
                -out "$d/prod-signer.crt" 2>>"$d/extra.err" || { sb_msg "prod-signer: $(tail -n 3 "$d/extra.err")"; return 1; }
        rm -f "$d/prod-signer.csr"
        openssl ca -batch -config "$d/ca.cnf" -revoke "$d/revoked-signer.crt" 2>>"$d/extra.err" >/dev/null &&
        openssl ca -batch -config "$d/ca.cnf" -gencrl -out "$d/ca.crl" 2>>"$d/extra.err" >/dev/null ||
                { sb_msg "CRL: $(tail -n 3 "$d/extra.err")"; return 1; }
        for c in "$d"/*.crt "$d"/*.key; do chmod 0644 "$c"; done
        return 0
}

# ---------------------------------------------------------------------------------------
# sec_setup [BOOT]: tl_setup plus the suite's extras.  SEC_SYSTEM_EXTRA: lines added to
# [system] of system.conf before the daemon starts.  Slots are ${SB_SLOT_SIZE:-4M}.
# SEC_NO_DAEMON=1: everything but the bus and the daemon.
sec_setup() {
        local boot=${1:-A} l
        tl_require_bins
        sb_init || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
        { sb_build_bus_call && sec_build_client; } 2>"$SB/build.err" ||
                { fail "$TL_FILE-setup" "cannot build the test clients: $(head -c 400 "$SB/build.err")"; exit 1; }
        if ! {
                sb_install_bins &&
                sb_make_pki "$SB/pki" &&
                sec_make_pki_extra &&
                sb_make_slots "$SB" "${SB_SLOT_SIZE:-4M}" &&
                sb_make_env "$SB" &&
                sb_write_config "$SB/system.conf" &&
                SB_CONFIG=$SB/system.conf
        } 2>"$SB/setup.err"; then
                fail "$TL_FILE-setup" "sandbox did not come up: $(tail -n 5 "$SB/setup.err" | tr '\n' ' ')"
                exit 1
        fi
        # Reboot() must never run the default "systemctl reboot" on the test machine: if the
        # daemon has Reboot, point it at a harmless stand-in that records the call.
        # shellcheck disable=SC2034 # SEC_HAS_REBOOT: read by the test scripts that source this file
        if "$SB/bin/updated" --bus-introspect 2>/dev/null | grep -q 'method name="Reboot"'; then
                printf '#!/bin/sh\necho "$(id -u) $*" >>"%s/reboot-called"\n' "$SB" >"$SB/bin/fake-reboot"
                chmod 0755 "$SB/bin/fake-reboot"
                SEC_SYSTEM_EXTRA="reboot-command=$SB/bin/fake-reboot${SEC_SYSTEM_EXTRA:+
$SEC_SYSTEM_EXTRA}"
                SEC_HAS_REBOOT=1
        else
                SEC_HAS_REBOOT=0
        fi
        if [ -n "${SEC_SYSTEM_EXTRA:-}" ]; then
                while IFS= read -r l; do
                        sed -i "/^\[system\]\$/a $l" "$SB_CONFIG"
                done <<<"$SEC_SYSTEM_EXTRA"
        fi
        [ "${SEC_NO_DAEMON:-0}" = 1 ] && return 0
        if ! { sb_start_bus && sb_start_updated "$boot"; } 2>"$SB/setup.err"; then
                fail "$TL_FILE-setup" "daemon did not come up: $(tail -n 5 "$SB/setup.err" | tr '\n' ' ')"
                exit 1
        fi
}

# ---------------------------------------------------------------------------------------
# State capture.

# The device state a refusal must leave alone, in one process (lib/state.py): sha256 of the
# status file, the U-Boot env and both slots; the slot table (GetSlotStatus minus
# timestamps); booted, primary and operation.
sec_state() { "$SB_PY" "$SB/bin/state.py" "$SB_DATA/status.json" "$SB_ENV" "$SB_SLOT_A" "$SB_SLOT_B"; }

# sec_snapshot: remembers sec_state and requires the refusal's starting point (A booted and
# primary, idle) so that "unchanged" also means "A still booted and primary".
# SEC_TOP="" skips that requirement (e.g. when the boot state is deliberately unreadable).
sec_snapshot() {
        SEC_SNAP=$(sec_state)
        [ -z "${SEC_TOP-top rootfs.0 rootfs.0 idle}" ] && return 0
        expect_eq "$(grep '^top ' <<<"$SEC_SNAP")" "${SEC_TOP-top rootfs.0 rootfs.0 idle}" "state before the request"
}

sec_expect_unchanged() {
        local now
        now=$(sec_state)
        [ "$now" = "$SEC_SNAP" ] && return 0
        TL_WHY="changed: $(diff <(echo "$SEC_SNAP") <(echo "$now") | grep '^>' | cut -c3- | cut -d' ' -f1 | xargs)"
        if [ "$(grep '^table ' <<<"$now")" != "$(grep '^table ' <<<"$SEC_SNAP")" ]; then
                TL_WHY+="; slot table: $(diff <(grep '^table ' <<<"$SEC_SNAP" | cut -c7- | "$SB_PY" -m json.tool) \
                        <(grep '^table ' <<<"$now" | cut -c7- | "$SB_PY" -m json.tool 2>&1) | grep '^[<>]' | tr '\n' ' ' | cut -c1-400)"
        fi
        return 1
}

# expect_boots with a cache: the boot simulator is a pure function of the env file, and
# most cases leave the env byte-identical.
declare -A SEC_BOOT_CACHE=()
sec_expect_boots() {
        local h b
        h=$(sha256sum <"$SB_ENV" | cut -c1-64)
        b=${SEC_BOOT_CACHE[$h]:-}
        if [ -z "$b" ]; then
                b=$(sb_boot_peek 2>&1)
                SEC_BOOT_CACHE[$h]=$b
        fi
        expect_eq "$b" "$1" "boot simulator's pick"
}

# The daemon is alive, owns its name and answers.
sec_expect_alive() {
        if [ -n "$SB_UPDATED_PID" ] && ! kill -0 "$SB_UPDATED_PID" 2>/dev/null; then
                TL_WHY="updated died: $(tail -n 5 "$SB/updated.log" | tr '\n' ' ')"
                return 1
        fi
        sb_name_has_owner || { TL_WHY="nobody owns $SB_NAME"; return 1; }
        run bus-call GetSlotStatus ""
        [ "$TL_RC" = 0 ] || { TL_WHY="GetSlotStatus failed: $(_tl_out_excerpt)"; return 1; }
}

# expect_error_any "ERR1|ERR2" CMD...: fails unless the output names one of the errors
# ("": any failure will do).
expect_error_any() {
        local want=$1 e
        shift
        run "$@"
        if [ "$TL_RC" = 0 ]; then
                TL_WHY="'$*' succeeded, expected one of $want: $(_tl_out_excerpt)"
                return 1
        fi
        [ -n "$want" ] || return 0   # any failure (e.g. busctl, which prints no error name)
        local IFS='|'
        for e in $want; do
                grep -qF -- "$e" <<<"$TL_OUT" && return 0
        done
        TL_WHY="'$*' failed (rc $TL_RC) without naming one of $want: $(_tl_out_excerpt)"
        return 1
}

# sec_refused "ERRORS" CMD...: named error (one of ERRORS, |-separated, short names are
# prefixed with org.example.Update1.Error.) and nothing changed: status file, env, both
# slots, the slot table; A still booted, primary and what U-Boot boots; idle.
sec_refused() {
        local want=$1 w full=
        shift
        local IFS_SAVE=$IFS
        IFS='|'
        for w in $want; do
                [[ $w == *.* ]] || w=$E.$w
                full+=${full:+|}$w
        done
        IFS=$IFS_SAVE
        sec_snapshot || return 1
        expect_error_any "$full" "$@" || return 1
        SEC_LAST_OUT=$TL_OUT
        sec_expect_unchanged || return 1
        [ -z "${SEC_TOP-x}" ] || sec_expect_boots A || return 1
        sec_expect_alive
}

# sec_aborted ERROR CMD...: the install started and failed: named error; A's bytes and
# record unchanged; B failed, bad, not in BOOT_ORDER; no trial; A booted, primary and what
# U-Boot boots next.
sec_aborted() {
        local want=$1
        shift
        [[ $want == *.* ]] || want=$E.$want
        sec_aborted_begin
        expect_error "$want" "$@" || return 1
        # shellcheck disable=SC2034 # read by the test scripts that source this file
        SEC_LAST_OUT=$TL_OUT
        sec_aborted_check
}

# The two halves of sec_aborted, for cases that run the install themselves.
sec_aborted_begin() { SEC_ABORT_BEFORE=$(sec_state); }
sec_aborted_check() {
        local before=$SEC_ABORT_BEFORE after why env
        after=$(sec_state)
        why=$(BEFORE=$before AFTER=$after SLOT_A=$SB_SLOT_A "$SB_PY" -c '
import json, os
def parse(s):
    d = dict(l.split(" ", 1) for l in s.splitlines())
    return d, json.loads(d["table"]) if d["table"].startswith("{") else None
b, bt = parse(os.environ["BEFORE"])
a, at = parse(os.environ["AFTER"])
slot = lambda t, n: next(s for s in t["slots"] if s["name"] == n)
A = os.environ["SLOT_A"]
if a[A] != b[A]:
    print("slot A (booted) was written")
elif at is None:
    print("slot table unreadable: " + a["table"])
elif slot(at, "rootfs.0") != slot(bt, "rootfs.0"):
    print("record of the booted slot changed: %s -> %s" % (slot(bt, "rootfs.0"), slot(at, "rootfs.0")))
elif a["top"] != "rootfs.0 rootfs.0 idle":
    print("booted/primary/operation: " + a["top"])
elif (slot(at, "rootfs.1")["status"], slot(at, "rootfs.1")["boot_status"]) != ("failed", "bad"):
    print("B status/boot_status: %s/%s" % (slot(at, "rootfs.1")["status"], slot(at, "rootfs.1")["boot_status"]))
')
        [ -z "$why" ] || { TL_WHY=$why; return 1; }
        env=$(fw_printenv -c "$SB_FW_CONFIG" 2>&1)
        case " $(sed -n 's/^BOOT_ORDER=//p' <<<"$env") " in
        *" A "*) ;;
        *) TL_WHY="A not in BOOT_ORDER: $env"; return 1 ;;
        esac
        case " $(sed -n 's/^BOOT_ORDER=//p' <<<"$env") " in
        *" B "*) TL_WHY="B still in BOOT_ORDER after a failed install: $env"; return 1 ;;
        esac
        grep -q '^UPDATE1_TRIAL=.' <<<"$env" && { TL_WHY="a trial is set: $env"; return 1; }
        sec_expect_boots A || return 1
        sec_expect_alive
}

# Number of open fds of the daemon.
sec_daemon_fds() { ls "/proc/$SB_UPDATED_PID/fd" 2>/dev/null | wc -l; }

# sec_bundle_info BUNDLE: craft.py info JSON; sec_info EXPR reads from it (d = the JSON).
sec_info() { # BUNDLE EXPR
        craft info "$1" | sb_json "$2"
}
