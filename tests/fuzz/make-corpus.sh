#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates the fuzz PKI (tests/fuzz/pki: certificates only) and the seed corpora
# (tests/fuzz/corpus/<target>/) from scratch.  Run once, review, commit the outputs; the signed
# seeds only verify against the PKI made in the same run, so both are replaced together.
# Reproducer files (crash-*, regress-*) that were added to a corpus by hand are kept.
#   tests/fuzz/make-corpus.sh [BUILD_DIR]     (needs BUILD_DIR/updatectl: make all)
# Needs openssl, mkenvimage (u-boot-tools), grub-editenv (grub-common), python3; mksquashfs
# (squashfs-tools) for the rauc-squashfs seeds.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$TOP" && cd "${1:-build}" && pwd)
FUZZ=$TOP/tests/fuzz
CORPUS=$FUZZ/corpus
UPDATECTL=$BUILD/updatectl
[ -x "$UPDATECTL" ] || { echo "$UPDATECTL missing: run make all first" >&2; exit 1; }
for t in openssl mkenvimage grub-editenv python3; do
        command -v "$t" >/dev/null || { echo "$t missing" >&2; exit 1; }
done

W=$(mktemp -d /tmp/update1-corpus.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

# Generated seeds are replaced; hand-added reproducers stay.
for d in "$CORPUS"/*/; do
        if [ -d "$d" ]; then
                find "$d" -maxdepth 1 -type f ! -name 'crash-*' ! -name 'regress-*' -delete
        fi
done
seed() { # TARGET NAME: stdin → corpus/TARGET/NAME
        mkdir -p "$CORPUS/$1"
        cat >"$CORPUS/$1/$2"
}
# ctl byte (targets whose first input byte selects options) followed by stdin
ctl_seed() { # TARGET NAME CTL-HEX
        { printf "\\x$3"; cat; } | seed "$1" "$2"
}

# --- PKI ---------------------------------------------------------------------------------
cat >ca.cnf <<'EOF'
[ req ]
distinguished_name = dn
[ dn ]
[ ca ]
default_ca = ca_default
[ ca_default ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_signer ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_noeku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
[ v3_casigner ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = codeSigning
EOF
: >index.txt
echo 1000 >serial
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
root() {
        key "$1"
        openssl req -x509 -new -key "$1.key" -subj "/O=Update1 Fuzz/CN=$1" -days 36500 \
                -config ca.cnf -extensions v3_ca -out "$1.pem"
}
issue() { # NAME ISSUER EXTENSIONS [START END]
        key "$1"
        openssl req -new -key "$1.key" -subj "/O=Update1 Fuzz/CN=$1" -config ca.cnf -out "$1.csr"
        if [ -n "${4:-}" ]; then d=(-startdate "$4" -enddate "$5"); else d=(-days 36500); fi
        openssl ca -batch -config ca.cnf -cert "$2.pem" -keyfile "$2.key" -extensions "$3" \
                -in "$1.csr" -out "$1.pem" -notext "${d[@]}" 2>/dev/null
}
root root
issue inter root v3_ca
issue signer inter v3_signer
issue direct root v3_signer
issue expired root v3_signer 20200101000000Z 20210101000000Z
issue noeku root v3_noeku
issue casigner root v3_casigner
issue inter2 root v3_ca         # a sibling CA: not in the keyring
issue sibling inter2 v3_signer
mkdir -p "$FUZZ/pki"
rm -f "$FUZZ/pki"/*.pem
cp root.pem inter.pem "$FUZZ/pki/"

# --- bundles (the real writer) -------------------------------------------------------------
python3 - <<'EOF'
import random
random.seed(1)
open("zeros.img", "wb").write(bytes(200 * 1024))             # 4 chunks of 64K, zstd: tiny
open("text.img", "wb").write((b"update1 fuzz seed image\n" * 130)[:3000])
open("rand.img", "wb").write(bytes(random.getrandbits(8) for _ in range(70000)))
open("small.img", "wb").write(b"x" * 100)
EOF
bundle() { # OUT SIGNER [ARGS...]
        local out=$1 signer=$2
        shift 2
        "$UPDATECTL" bundle create --cert "$signer.pem" --key "$signer.key" --compatible fuzz-board \
                --version 1.0 --build 20260101000000 --chunk-size 64K "$@" -o "$out" >/dev/null
}
bundle b-inter-zstd.bundle signer --intermediate inter.pem --image rootfs=zeros.img \
        --description "seed: zstd, 4 chunks"
bundle b-direct-none.bundle direct --compression none --image rootfs=text.img --security-version 3
bundle b-two-images.bundle direct --image rootfs=small.img --image appfs=text.img \
        --description "two images"
bundle b-none-2chunks.bundle direct --compression none --image rootfs=small.img

sig_size() { od -An -tu8 -j16 -N8 "$1" | tr -d ' '; }
# (dd, not tail | head: with pipefail a SIGPIPE'd tail would fail the script at random)
signature() { # BUNDLE → the CMS DER
        dd if="$1" bs=1 skip=32 count="$(sig_size "$1")" status=none
}
payload() { # BUNDLE → the bytes after the signature
        dd if="$1" bs=1 skip=$((32 + $(sig_size "$1"))) status=none
}
manifest() { # BUNDLE → the signed manifest text
        signature "$1" | openssl cms -verify -noverify -binary -inform DER 2>/dev/null
}

for b in b-inter-zstd b-direct-none b-two-images b-none-2chunks; do
        seed bundle "$b" <"$b.bundle"
        signature "$b.bundle" | seed cms "sig-$b"
        manifest "$b.bundle" | seed manifest "$b.json"
        manifest "$b.bundle" | seed chunk-table "$b.json"
done
# Structural boundaries: header only, cut inside the signature, cut inside the payload,
# trailing byte.
head -c 32 b-inter-zstd.bundle | seed bundle trunc-header
head -c 200 b-inter-zstd.bundle | seed bundle trunc-signature
head -c $(($(stat -c %s b-direct-none.bundle) - 10)) b-direct-none.bundle | seed bundle trunc-payload
{ cat b-direct-none.bundle; printf 'X'; } | seed bundle trailing-byte
# Signed at run time by the harness: MANIFEST '\0' PAYLOAD (see fuzz-bundle.c).
for b in b-inter-zstd b-two-images b-direct-none; do
        { manifest "$b.bundle"; printf '\0'; payload "$b.bundle"; } | seed bundle "runtime-$b"
done
# a zstd frame that does not decode to the chunk size, and one that is not zstd at all
python3 - >bad-zstd <<'EOF'
import sys
m = ('{"format":1,"compatible":"fuzz-board","version":"1","build":"1","images":[{"slotclass":"rootfs",'
     '"filename":"r.img","size":65536,"sha256":"' + '0' * 64 + '","chunk-size":65536,'
     '"compression":"zstd","chunks":[[%d,"' + '0' * 64 + '"]]}]}')
frame = b"\x28\xb5\x2f\xfd\x20\x10\x81\x00\x00" + b"a" * 16  # content size 16 != 65536
sys.stdout.buffer.write((m % len(frame)).encode() + b"\0" + frame)
EOF
seed bundle runtime-bad-zstd <bad-zstd

# --- CMS: policy cases signed by hand ------------------------------------------------------
printf '{"format":1}' >content
cms() { # NAME SIGNER [openssl cms args...]
        local name=$1 signer=$2
        shift 2
        openssl cms -sign -binary -nodetach -outform DER -in content -signer "$signer.pem" \
                -inkey "$signer.key" "$@" -out "$name" 2>/dev/null
        seed cms "$name" <"$name"
}
cms expired-signer expired -md sha256
cms noeku-signer noeku -md sha256
cms ca-signer casigner -md sha256
cms sibling-intermediate sibling -certfile inter2.pem -md sha256
cms sha1-digest direct -md sha1
cms no-attributes direct -md sha256 -noattr
cms no-smimecap direct -md sha256 -nosmimecap
openssl cms -sign -binary -outform DER -in content -signer direct.pem -inkey direct.key \
        -md sha256 -out detached-real 2>/dev/null
seed cms detached-content <detached-real
{ signature b-direct-none.bundle; printf '\0'; } | seed cms trailing-byte
openssl cms -sign -binary -nodetach -outform DER -in content -signer direct.pem -inkey direct.key \
        -signer signer.pem -inkey signer.key -md sha256 -out two-signers 2>/dev/null
seed cms two-signers <two-signers

# --- manifests and chunk tables: hand-written edge cases -----------------------------------
H=$(printf '%064d' 0)
img() { # SLOTCLASS SIZE CHUNKS-JSON [COMPRESSION]
        printf '{"slotclass":"%s","filename":"%s.img","size":%s,"sha256":"%s","chunk-size":65536,"compression":"%s","chunks":%s}' \
                "$1" "$1" "$2" "$H" "${4:-zstd}" "$3"
}
man() { # IMAGES-JSON [EXTRA-TOP-LEVEL-MEMBERS]
        printf '{"format":1,"compatible":"fuzz-board","version":"1.0","build":"20260101000000","description":"d","security-version":0%s,"images":[%s]}' \
                "${2:-}" "$1"
}
for t in manifest chunk-table; do
        man "$(img rootfs 0 '[]')" | seed $t empty-image.json
        man "$(img rootfs 65537 "[[100,\"$H\"],[20,\"$H\"]]")" | seed $t two-chunks.json
        man "$(img rootfs 65536 "[[65536,\"$H\"]]" none)" | seed $t none.json
        man "$(img rootfs 100 "[ [ 100 , \"$H\" ] ]"),$(img appfs 100 "[[100,\"$H\"]]")" | seed $t two-images-spaced.json
        man "$(img rootfs 100 "[[100,\"$H\"]]")" ',"version":"2.0"' | seed $t duplicate-key.json
        man "$(img rootfs 100 "[[100,\"$H\"]]"),$(img rootfs 100 "[[100,\"$H\"]]")" | seed $t duplicate-slotclass.json
        man "$(img rootfs 100 "[[100,\"$H\"]]")" ',"x":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]' | seed $t deep.json
        man "$(img '../etc' 100 "[[100,\"$H\"]]")" | seed $t bad-slotclass.json
        man "$(img rootfs 18446744073709551615 "[[100,\"$H\"]]")" | seed $t size-max.json
        man "$(img rootfs 100 "[[18446744073709551615,\"$H\"]]")" | seed $t chunk-size-max.json
        man "$(img rootfs 100 "[[100,\"${H^^}\"]]")" | seed $t uppercase-hash.json
        printf '{"format":1,"images":[{"chunks":[[1,"%s"]],"chunks":[[2,"%s"]]}]}' "$H" "$H" | seed $t duplicate-chunks.json
        printf '{"a":"\\u0000\\"\\\\","images":NaN}' | seed $t escapes-nan.json
done

# Binary patch tables (fuzz-chunk-table.c's 0x03 input): valid, and with overlapping entries.
patch_table() { # FIRST-OF-SECOND-ENTRY
        python3 -c '
import struct, sys
first2 = int(sys.argv[1])
head = b"\x03" + struct.pack("<IQQB", 1 << 20, 1 << 24, 300, 4) + struct.pack("<4I", 1000, 2000, 3000, 4000)
def entry(first, count, raw, off, size, psize):
    return struct.pack("<QIIQII", first, count, raw, off, size, psize) + bytes(64)
sys.stdout.buffer.write(head + entry(0, 2, 3000, 0, 5000, 100) + entry(first2, 1, [1000, 2000, 3000, 4000][first2], 4096, 100, 200))
' "$1"
}
patch_table 3 | seed chunk-table patch-table-valid
patch_table 1 | seed chunk-table patch-table-overlap

# --- system.conf ---------------------------------------------------------------------------
seed config example.conf <"$TOP/packaging/config/system.conf.example"
conf() { # BOOTLOADER-SECTION-LINES...
        cat <<EOF
# seed
[system]
compatible=fuzz-board
bootloader=$1
data-directory=/var/lib/update1
max-bundle-size=2G
reboot-command=/sbin/reboot -f
reboot-timeout=60

[keyring]
path=/etc/update1/ca.pem
directory=/etc/update1/keyring.d
allow-bundle-intermediates=false
EOF
        shift
        printf '%s\n' "$@"
        cat <<'EOF'

[slot.rootfs.0]
device=/dev/mmcblk0p2
type=ext4
bootname=A

[slot.rootfs.1]
device=PARTLABEL=rootfs-b
type=ext4
bootname=B

[slot.appfs.0]
device=/dev/mmcblk0p4
type=raw
parent=rootfs.0
readonly=true
EOF
}
conf uboot '' '[uboot]' 'fw-env-config=/etc/fw_env.config' 'boot-attempts=3' 'trial-attempts=1' | seed config uboot.conf
conf uboot '' '[uboot]' 'scheme=bootcount' | seed config uboot-bootcount.conf
conf grub '' '[grub]' 'env=/boot/grub/grubenv' | seed config grub.conf
conf barebox '' '[barebox]' 'state-name=state' 'boot-attempts=5' 'trial-attempts=2' | seed config barebox.conf
conf efi | seed config efi.conf
conf custom '' '[custom]' 'path=/usr/lib/update1/backend' | seed config custom.conf
printf '[system]\ncompatible=x\nbootloader=uboot\nboot-slot-override=A\n[keyring]\npath=k\n[slot.rootfs.0]\ndevice=a\ntype=raw\nbootname=A\n[slot.rootfs.0]\ndevice=b\n' |
        seed config duplicate-section.conf
printf '[system]\ncompatible=x\nbootloader=uboot\n[keyring]\npath=k\n[slot.a.0]\ndevice=a\ntype=raw\nparent=a.0\n' |
        seed config self-parent.conf

# --- status.json ---------------------------------------------------------------------------
cat <<EOF | seed status full.json
{
  "format": 1,
  "last-boot": { "expected": "rootfs.1", "booted": "rootfs.0", "fell-back": true, "timestamp": 1767225600 },
  "trial": { "slot": "rootfs.1", "boot-id": "0123456789abcdef0123456789abcdef", "timestamp": 1767225600 },
  "slots": {
    "rootfs.0": { "status": "ok", "bundle": { "compatible": "fuzz-board", "version": "1.0", "build": "20260101000000",
      "description": "seed" }, "security-version": 2, "checksum": { "sha256": "$(printf '%064d' 7)", "size": 16777216 },
      "installed": { "timestamp": 1767225600, "count": 3 }, "activated": { "timestamp": 1767225601, "count": 2 },
      "transaction-id": "6c1a2b3c-1111-2222-3333-444455556666" },
    "rootfs.1": { "status": "pending", "installed": { "timestamp": 0, "count": 0 } },
    "appfs.0": { "status": "ok", "checksum": { "sha256": "$(printf '%064d' 1)", "size": 4096 } },
    "removed.0": { "status": "ok" }
  }
}
EOF
printf '' | seed status empty.json
printf '{}' | seed status empty-object.json
printf '{"format":2,"slots":{}}' | seed status format2.json
printf '{"format":1,"slots":{"rootfs.0":{"status":"bogus","installed":{"timestamp":-1,"count":1.5}}}}' |
        seed status wrong-types.json
printf '{"format":1,"slots":{"rootfs.0":{"status":"ok"},"rootfs.0":{"status":"failed"}}}' | seed status duplicate.json

# --- U-Boot env images: ctl byte, copy 1, copy 2 (fuzz-uboot-env.c) -----------------------
envimg() { # TEXT-FILE → one 0x400 redundant copy
        mkenvimage -r -s 0x400 -o copy.bin "$1"
        cat copy.bin
}
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' >rauc.txt
printf 'BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=1\nUPDATE1_TRIAL=B\nbootcmd=run distro_bootcmd\n' >trial.txt
printf 'update1_slot=A\nupdate1_altslot=B\nbootcount=0\nbootlimit=1\nupgrade_available=0\n' >bootcount.txt
printf 'update1_slot=B\nupdate1_altslot=A\nupdate1_trial=B\nbootcount=1\nbootlimit=1\nupgrade_available=1\n' >bootcount-trial.txt
{ envimg rauc.txt; envimg rauc.txt; } | ctl_seed uboot-env rauc 03
{ envimg rauc.txt; envimg rauc.txt; } | ctl_seed uboot-env rauc-all-mutations fb
{ envimg trial.txt; envimg rauc.txt; } | ctl_seed uboot-env trial-commit 83
{ envimg rauc.txt; head -c 1024 /dev/zero; } | ctl_seed uboot-env one-copy-bad 01
{ envimg bootcount.txt; envimg bootcount.txt; } | ctl_seed uboot-env bootcount 07
{ envimg bootcount-trial.txt; envimg bootcount.txt; } | ctl_seed uboot-env bootcount-all-mutations ff
{ envimg rauc.txt; envimg rauc.txt; } | ctl_seed uboot-env crc-as-is 00

# --- grubenv: ctl byte + block -------------------------------------------------------------
genv() { # VAR=VALUE... → 1024-byte block
        rm -f grubenv
        grub-editenv grubenv create
        [ $# -gt 0 ] && grub-editenv grubenv set "$@"
        cat grubenv
}
genv ORDER="A B" A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 | ctl_seed grubenv rauc 00
genv ORDER="A B" A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 | ctl_seed grubenv rauc-all-mutations 1f
genv ORDER="B A" A_OK=1 A_TRY=0 B_OK=1 B_TRY=1 UPDATE1_TRIAL=B saved_entry=linux | ctl_seed grubenv trial 10
genv 'x=back\slash' ORDER="A" | ctl_seed grubenv escapes 04
genv | ctl_seed grubenv empty 01

# --- barebox-state output: ctl byte + what `barebox-state -g` prints ----------------------
printf '20\n3\n10\n3\n' | ctl_seed barebox-state primary-a 00
printf '20\n3\n10\n3\n' | ctl_seed barebox-state primary-a-all-mutations 1f
printf '10\n3\n21\n1\n' | ctl_seed barebox-state trial-b 10
printf '0\n0\n20\n0\n' | ctl_seed barebox-state a-bad 04
printf '4294967295\n4294967296\n' | ctl_seed barebox-state overflow 00

# --- efibootmgr output: ctl byte + [note=NAME line] + what efibootmgr prints --------------
efi() {
        printf 'BootCurrent: 0001\nTimeout: 1 seconds\nBootOrder: 0001,0002,0000\n'
        printf 'Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)\n'
        printf 'Boot0001* A\tHD(1,GPT,0c3d6e5f-0000-4000-8000-000000000001,0x800,0x100000)/File(\\EFI\\BOOT\\BOOTX64.EFI)\n'
        printf 'Boot0002* B\tHD(2,GPT,0c3d6e5f-0000-4000-8000-000000000002,0x100800,0x100000)/File(\\EFI\\BOOT\\BOOTX64.EFI)\n'
}
efi | ctl_seed efibootmgr primary-a 00
efi | ctl_seed efibootmgr primary-a-all-mutations 1f
{ printf 'note=B\nBootNext: 0002\n'; efi | sed 's/0001,0002,0000/0001,0000/'; } | ctl_seed efibootmgr trial-b 10
{ efi; printf 'Boot0003  A\n'; } | ctl_seed efibootmgr duplicate-label 00
printf 'BootOrder: 0001,\nBoot0001* A\n' | ctl_seed efibootmgr trailing-comma 00

# --- custom backend output: ctl byte + what the backend prints ----------------------------
printf 'A\n' | ctl_seed custom-backend primary-a 00
printf '  B  \n' | ctl_seed custom-backend spaces-all-mutations 1f
printf 'good\n' | ctl_seed custom-backend good 00
printf 'A B\n' | ctl_seed custom-backend two-words 00
printf '\x01\n' | ctl_seed custom-backend unprintable 00

# --- version strings: A \0 B [\0 C], each compared with the others (fuzz-version.c) --------
vers() { # NAME STRING...: the strings joined by NUL bytes
        local name=$1 sep='' s
        shift
        for s in "$@"; do
                printf "$sep%s" "$s"
                sep='\0'
        done | seed version "$name"
}
vers tilde-rc '1.0~rc1' '1.0' '1.0~rc2'
vers caret-post '1.0^post1' '1.0' '1.0.1'
vers release-dash '1.0-2' '1.0.1' '1.0-10'
vers spec-chain '123-a.1' '123^post1' '123.a-1'
vers leading-zeros '01.002' '1.2' '1.02~rc1'
vers huge-digits "$(printf '1%0299d' 0)" "$(printf '9%.0s' {1..299})" "$(printf '1%0298d1' 0)"
vers separators '1_2_3' '1.3.3' '1+2+3'
vers letters-case 'B' 'a' 'A'
vers digit-vs-letter '1.0' '1.a' '0'
vers marker-then-ignored '1~' '1~_' '1-_a'
vers empty-tilde '' '~' '_'
vers non-ascii $'11\xce\xb1' $'11\xce\xb2' $'1.0 \xff'
vers markers-only '~-^.' '-^.~' '^.~-'
vers debian-style '2:1.2.3-4+deb12u1' '1.2.3-4' '1.2.3-4~bpo12+1'
vers one-string 'systemd-252.39-1~deb12u2'
printf '1.0\0002.0\0003.0\000after-third-nul' | seed version extra-nul

# --- a health check's output: control byte + what the check prints (fuzz-health-output.c) ---
# control bits 0-2: written at once (0) or in dd blocks of 1, 3, 64, 1000, 4095, 4096, 4097;
# bits 3-4: exit status 0, 1, 77, 255
printf '' | ctl_seed health-output empty 00
printf 'updatectl status: ok\nsecond line\n' | ctl_seed health-output lines 00
printf 'not applicable here\n' | ctl_seed health-output skip-77 10
printf 'failed, and no newline at the end' | ctl_seed health-output fail-255-no-newline 18
printf '\xc0\x80 \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xf5 \xfe\xff \x80 ok \xe2\x82' |
        ctl_seed health-output invalid-utf8-bytewise 09
printf '\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf \xed\x9f\xbf\n' |
        ctl_seed health-output valid-utf8 02
printf 'a\0b\0\0c\n\0' | ctl_seed health-output nul-bytes 00
python3 -c 'import sys; sys.stdout.write("x" * 3000)' | ctl_seed health-output long-line 03
# the tail starts one byte into a 4-byte character: its 3 continuation bytes are dropped
python3 -c 'import sys; sys.stdout.buffer.write(b"a" * 1000 + "\U0001F600".encode() * 1025 + b"z")' |
        ctl_seed health-output tail-cut-in-char 05
# more continuation bytes than a character has: 3 dropped, the rest is '?'
python3 -c 'import sys; sys.stdout.buffer.write(b"a" * 100 + b"\x80" * 4200)' |
        ctl_seed health-output tail-cut-continuations 06
python3 -c 'import sys; sys.stdout.write(("b" * 79 + "\n") * 51 + "b" * 16)' | ctl_seed health-output exactly-tail 07
python3 -c 'import sys; sys.stdout.write("c" * 4097)' | ctl_seed health-output tail-plus-one 04
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 31)' | ctl_seed health-output all-bytes 01

# --- update-agent: DDI responses (fuzz-ddi-deployment.c), agent.conf, action.json ----------
S256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
S1=a94a8fe5ccb19ba61c4c0873d391e987982fbbd3
CTL=https://hawkbit.example.com/DEFAULT/controller/v1/dev-1
cat <<EOF | seed ddi-deployment deployment-forced.json
{"id":"8","deployment":{"download":"forced","update":"forced","maintenanceWindow":"available",
 "chunks":[{"part":"os","version":"1.2.0","name":"rootfs","artifacts":[
  {"filename":"rootfs-1.2.0.bundle","hashes":{"sha1":"$S1","md5":"098f6bcd4621d373cade4e832627b4f6","sha256":"${S256^^}"},
   "size":1048576,"_links":{"download":{"href":"$CTL/softwaremodules/3/artifacts/rootfs-1.2.0.bundle"},
   "download-http":{"href":"http://cdn.example.com/rootfs-1.2.0.bundle"}}},
  {"filename":"rootfs-1.2.0.bundle.sig","size":256,"_links":{"download":{"href":"$CTL/softwaremodules/3/artifacts/sig"}}}]},
  {"part":"bApp","version":"7","name":"app","metadata":[{"key":"test","value":"1"}],
   "artifacts":[{"filename":"app.tar","size":10,"_links":{"download-http":{"href":"http://cdn.example.com/app.tar"}}}]}]},
 "actionHistory":{"status":"RUNNING","messages":["Assignment initiated by user 'admin'"]}}
EOF
cat <<EOF | seed ddi-deployment deployment-download-only.json
{"id":"9","deployment":{"download":"attempt","update":"skip","maintenanceWindow":"unavailable",
 "chunks":[{"part":"os","version":"2.0","name":"rootfs","artifacts":[{"filename":"rootfs-2.0.bundle",
 "hashes":{"sha1":"$S1"},"size":4096,"_links":{"download-http":{"href":"http://h:8080/rootfs-2.0.bundle?t=9-1"}}}]}]}}
EOF
cat <<EOF | seed ddi-deployment deployment-two-bundles.json
{"id":"10","deployment":{"download":"forced","update":"attempt","chunks":[
 {"part":"os","version":"3","artifacts":[{"filename":"a.bundle","size":1,"_links":{"download":{"href":"https://h/a"}}}]},
 {"part":"os","version":"3","artifacts":[{"filename":"b.bundle","size":2,"_links":{"download":{"href":"https://h/b"}}}]}]}}
EOF
printf '{"id":"11","deployment":{"download":"forced","update":"forced","chunks":[{"artifacts":[{"filename":"a.bundle","size":18446744073709551615,"hashes":{"sha256":"%s0"},"_links":{"download":{"href":"file:///etc/shadow"}}}]}]}}' \
        "$S256" | seed ddi-deployment deployment-hostile.json
printf '{"id":12,"deployment":[],"chunks":"x"}' | seed ddi-deployment deployment-wrong-types.json
cat <<EOF | seed ddi-deployment base-deployment.json
{"config":{"polling":{"sleep":"00:05:00"}},"_links":{"deploymentBase":{"href":"$CTL/deploymentBase/8?c=-2128529634"},
 "configData":{"href":"$CTL/configData"}}}
EOF
cat <<EOF | seed ddi-deployment base-cancel.json
{"config":{"polling":{"sleep":"PT1H2M0.5S"}},"_links":{"cancelAction":{"href":"$CTL/cancelAction/a_b-9"},
 "confirmationBase":{"href":"$CTL/confirmationBase/7"}}}
EOF
printf '{"config":{"polling":{"sleep":"P213503983D"}},"_links":{"deploymentBase":{"href":"%s/deploymentBase/%%2e%%2e"}}}' \
        "$CTL" | seed ddi-deployment base-hostile.json
printf '{"id":"10","cancelAction":{"stopId":"9"}}' | seed ddi-deployment cancel.json

agent_conf() { # extra lines after a minimal [server]
        printf '[server]\nurl=https://hawkbit.example.com\ntarget-token=t0k3n\ncontroller-id=dev-1\n'
        printf '%s\n' "$@"
}
agent_conf | seed agent-config minimal.conf
cat <<'EOF' | seed agent-config full.conf
# every key
[server]
url = https://hawkbit.example.com:8443/prefix/
tenant=ACME
controller-id=board-0042
gateway-token=gw-token
client-cert=/etc/ssl/dev.crt
client-key=/etc/ssl/dev.key
ca-file=/etc/ssl/ca.pem
insecure=no
proxy=http://proxy:3128
connect-timeout=500ms
request-timeout=2min
[polling]
min-interval=1s
max-interval=2h
active-interval=5s
error-interval=100ms
[download]
mode=disk
artifact=*.raucb
max-bundle-size=2G
max-speed=512K
low-speed-limit=1K
low-speed-time=30s
retries=3
retry-base-delay=1ms
retry-max-delay=1d
[hooks]
install=/bin/true
directory=/etc/update1/agent-hooks
retry-interval=30s
max-retries=100000
timeout=1h
install-replaces=yes
[agent]
state-directory=/var/lib/update-agent
reboot=logind
progress-interval=0
max-install-attempts=100
EOF
printf '[server]\nurl=http://10.0.0.1:8080\ncontroller-id=x\nclient-cert=/c\nclient-key=/k\n' | seed agent-config http-mtls.conf
agent_conf '[polling]' 'min-interval=2h' 'max-interval=1h' | seed agent-config intervals-reversed.conf
agent_conf '[download]' 'retries=1001' '[agent]' 'reboot=now' | seed agent-config bad-values.conf
agent_conf '[server]' 'colour=blue' '[foo]' 'x=1' | seed agent-config unknown-key.conf
printf 'url=https://h\n[server\ntarget-token=a b\n' | seed agent-config malformed.conf

record() { # PHASE [EXTRA JSON MEMBERS]: a record as action_record_save() writes it
        cat <<EOF
{
  "format":1,
  "action":"1234",
  "phase":"$1",
  "version":"2.0",
  "filename":"rootfs-2.0.bundle",
  "size":8589934592,
  "sha256":"$S256",
  "download_only":false,
  "downloaded_reported":true,
  "transaction_id":"tx-0123456789abcdef",
  "expected_slot":"rootfs.1",
  "installed_at":1800000000,
  "install_attempts":1,
  "boot_id":"0123456789abcdef0123456789abcdef",
  "first_seen":1799999000,
  "final_success":${2:-false},
  "final_details":${3:-[]}
}
EOF
}
record downloading | seed action-record downloading.json
record rebooting | seed action-record rebooting.json
record reporting true '["Booted slot rootfs.1 with version 2.0 and marked it good"]' | seed action-record reporting-success.json
record reporting false '["Fallback: slot rootfs.1 ...","updated: last boot expected rootfs.1, booted rootfs.0, fell back",7,null]' |
        seed action-record reporting-failure.json
printf '{"format":1,"action":"5","phase":"installed","transaction_id":"t"}' | seed action-record installed-no-slot.json
printf '{"format":2,"action":"5","phase":"downloading"}' | seed action-record format2.json
printf '{"format":1,"action":"../5","phase":"downloading","size":"12","install_attempts":99999}' | seed action-record hostile.json
record installing >installing.json # a file: head must not cut a pipe under pipefail
head -c 200 installing.json | seed action-record truncated.json

# --- RAUC manifests and squashfs images (fuzz-rauc-manifest, fuzz-rauc-squashfs) -----------
# rauc-squashfs seeds: 5 control bytes (u32 offset, xor; 0 = no change), the manifest, \0, a
# squashfs made by mksquashfs (the harness adds the verity tree and the signature).
rauc_img_manifest() { # FILE CLASS → [image.CLASS] for FILE
        printf '[image.%s]\nfilename=%s\nsize=%s\nsha256=%s\n' "$2" "$(basename "$1")" \
                "$(stat -c %s "$1")" "$(sha256sum <"$1" | cut -c1-64)"
}
rauc_sq_seed() { # NAME CTL-HEX(10)|tree MKSQUASHFS-ARGS...: squashfs of rsq/ with its manifest
        local name=$1 ctl=$2 m
        shift 2
        m=$(printf '[update]\ncompatible=fuzz-board\nversion=1.0\n\n'; for f in rsq/*; do
                rauc_img_manifest "$f" "$(basename "$f" | cut -d. -f1)"; done)
        printf '%s\n' "$m" >rsq/manifest.raucm
        rm -f rsq.img && mksquashfs rsq rsq.img -all-root -noappend -no-progress -no-xattrs "$@" >/dev/null
        if [ "$ctl" = tree ]; then # 100 bytes into the hash tree (it starts at the padded size)
                ctl=$(printf '%08x' $((($(stat -c %s rsq.img) + 4095) / 4096 * 4096 + 100)) |
                        sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')80
        fi
        { printf '%b' "$(sed 's/../\\x&/g' <<<"$ctl")"; printf '%s\n' "$m"; printf '\0'; cat rsq.img; } |
                seed rauc-squashfs "$name"
        rm -f rsq/manifest.raucm
}
if command -v mksquashfs >/dev/null; then
        rm -rf rsq && mkdir rsq
        head -c 3000 /dev/urandom >rsq/rootfs.img          # one fragment
        rauc_sq_seed fragment-gzip 0000000000
        rauc_sq_seed fragment-xz 0000000000 -comp xz
        head -c 40000 /dev/urandom >rsq/rootfs.img         # blocks + tail fragment
        rauc_sq_seed blocks-4k-zstd 0000000000 -comp zstd -b 4096
        rauc_sq_seed blocks-4k-lz4-changed-data 0050000001 -comp lz4 -b 4096
        rauc_sq_seed blocks-4k-changed-tree tree -b 4096
        rauc_sq_seed uncompressed 0000000000 -noI -noD -noF
        rm -f rsq/rootfs.img
        truncate -s 2500000 rsq/rootfs.img                 # sparse blocks, three 1 MiB chunks
        head -c 5000 /dev/urandom >rsq/appfs.ext4          # a second image
        rauc_sq_seed two-images-sparse 0000000000 -comp xz
        rm -rf rsq

        # Reproducers of the bounds lib/rauc-bundle.c puts on what libsquashfs allocates from a
        # count in the image before reading what it counts (each a multi-GiB malloc without
        # them, which the fuzzers' malloc limit and so the replay refuse).  Uncompressed
        # metadata (-noI -noD) so that tests/fuzz/sqfs-patch.py can set the count.
        rauc_sq_regress() { # NAME SIZE-IN-MANIFEST INODE FIELD VALUE MKSQUASHFS-ARGS...
                local name=$1 size=$2 inode=$3 field=$4 value=$5 m
                shift 5
                m=$(printf '[update]\ncompatible=fuzz-board\nversion=1.0\n\n[image.rootfs]\nfilename=rootfs.img\n')
                m+=$(printf '\nsize=%s\nsha256=%s\n' "$size" "$({ cat rsq/rootfs.img 2>/dev/null || true; } | sha256sum | cut -c1-64)")
                rm -f rsq.img && mksquashfs rsq rsq.img -all-root -noappend -no-progress -no-xattrs -noI -noD -noF \
                        "$@" >/dev/null
                python3 "$FUZZ/sqfs-patch.py" rsq.img "$inode" "$field" "$value"
                { printf '\0\0\0\0\0'; printf '%s\n\n' "$m"; printf '\0'; cat rsq.img; } >"$CORPUS/rauc-squashfs/$name"
        }
        rm -rf rsq && mkdir rsq
        truncate -s 2500000 rsq/rootfs.img   # sparse: an extended file inode
        # a 16 TiB file in 4 KiB blocks: a 16 GiB block list (the size must match the manifest)
        rauc_sq_regress regress-ext-file-size-16gib-list 2500000 rootfs.img file_size 0x100000000000 -b 4096
        # ... also with a manifest that says so (the cap on all block lists together)
        rauc_sq_regress regress-block-lists-over-cap 17592186044416 rootfs.img file_size 0x100000000000 -b 4096
        head -c 3000 /dev/urandom >rsq/rootfs.img
        for i in $(seq 100 299); do touch "rsq/z$i-$(printf '%060d' 0)"; done   # > 8 KiB: an indexed root
        # a root directory index entry whose name "size" makes libsquashfs realloc 8 GiB
        rauc_sq_regress regress-ext-dir-index-8gib 3000 ROOT dir_index_size 0xFFFFFFF0
        rm -rf rsq && mkdir rsq && ln -s x rsq/rootfs.img
        # rootfs.img a symbolic link whose target size makes libsquashfs calloc 4 GiB
        rauc_sq_regress regress-symlink-target-4gib 1 rootfs.img slink_size 0xFFFFFFF0
        rm -rf rsq
fi
rauc_manifest() { printf '[update]\ncompatible=fuzz-board\nversion=2024.1\ndescription=a d\nbuild=20260101\n\n%b' "$1"; }
IMG='[image.rootfs]\nfilename=rootfs.ext4\nsize=268435456\nsha256=15bf0d2f3e5a4b6c7d8e9f00112233445566778899aabbccddeeff0011222d8d\n'
rauc_manifest "[bundle]\nformat=plain\n\n$IMG" | seed rauc-manifest plain.raucm
rauc_manifest "[bundle]\nformat=verity\nverity-hash=1054af1ca783f7be419d9632d73c6fb71d165d997dde4b7bed11b3828fa9dd65\nverity-salt=d8a3157a744105ac5fb413002b47bc58e5e432cb30e7dd1142dda13f66ac1897\nverity-size=32768\n\n$IMG" |
        seed rauc-manifest verity.raucm
rauc_manifest "$IMG\n[image.appfs]\nfilename=appfs.squashfs\ntype=squashfs\nadaptive=block-hash-index\nsize=4096\nsha256=0000000000000000000000000000000000000000000000000000000000000000\n\n[meta.version]\nchannel=beta\n[rollout]\nx=y\n" |
        seed rauc-manifest two-images-meta.raucm
rauc_manifest "$IMG\n[hooks]\nfilename=hook.sh\nhooks=install-check\n" | seed rauc-manifest hooks.raucm
rauc_manifest "$IMG\nhooks=pre-install;post-install\n" | seed rauc-manifest slot-hooks.raucm
rauc_manifest "$IMG\n[handler]\nfilename=handler.sh\nargs=--x\n" | seed rauc-manifest handler.raucm
rauc_manifest "[bundle]\nformat=crypt\ncrypt-key=00112233\n\n$IMG" | seed rauc-manifest crypt.raucm
rauc_manifest '[image.rootfs.variant-a]\nfilename=a.img\n[image.repo/artifact]\nfilename=b.tar\n' | seed rauc-manifest variants.raucm
rauc_manifest '[image.rootfs]\nfilename=root.tar.xz\ntype=tar\n' | seed rauc-manifest archive.raucm

echo "corpus written:"
for d in "$CORPUS"/*/; do
        printf '  %-16s %3d files %6d bytes\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)" \
                "$(cat "$d"/* | wc -c)"
done
