#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rewrites the last patch of a format-2 bundle with patches and signs the result again, for
tests of the device's fallbacks after a patch whose bytes match their signed hash
(daemon/delta-patch.c apply()): the table entry's patch sha256 and size, the set's
"table-sha256" and "data-size" in the manifest, and the signature all describe the new bytes, so
only the decoding or the chunk hashes can tell.  The layout is docs/bundle-format.md's.

Usage: tamper_patch.py IN OUT MODE CERT KEY
  MODE garbage:    the patch's bytes all zero (same size): not a zstd frame, it does not decode;
  MODE wrong-data: a zstd frame (zstd CLI, no checksum) of as many 0xA5 bytes as the patch
                   decodes to: it decodes to its size, but not to the chunks the table signs.
Needs the openssl and zstd commands.  Prints "entry N of set S, old offset O" of the patch."""
import hashlib
import json
import struct
import subprocess
import sys

HEADER = 32
CHUNK_ENTRY = 72
PATCH_ENTRY = 96


def cms(args, data):
    return subprocess.run(["openssl", "cms"] + args, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          check=True).stdout


def main():
    src, dst, mode, cert, key = sys.argv[1:6]
    b = bytearray(open(src, "rb").read())
    sig_size = struct.unpack_from("<Q", b, 16)[0]
    manifest = json.loads(cms(["-verify", "-noverify", "-inform", "DER", "-binary"],
                              bytes(b[HEADER:HEADER + sig_size])))
    rest = b[HEADER + sig_size:]  # tables, payload, patch data: offsets below are into rest
    if len(manifest["images"]) != 1 or not manifest["images"][0].get("patch-sets"):
        sys.exit("tamper_patch.py: needs one image with patch sets")
    img = manifest["images"][0]
    sets = img["patch-sets"]
    s = len(sets) - 1
    tables = CHUNK_ENTRY * img["chunk-count"]
    table_at = tables + PATCH_ENTRY * sum(p["entry-count"] for p in sets[:s])
    n = sets[s]["entry-count"]
    entry_at = table_at + PATCH_ENTRY * (n - 1)
    first, count, raw, old_off, old_size, psize = struct.unpack_from("<QIIQII", rest, entry_at)
    # The last patch of the last set is the last thing in the file.
    if mode == "garbage":
        patch = bytes(psize)
    elif mode == "wrong-data":
        # --stream-size: the frame says its content size, as the device requires.
        patch = subprocess.run(["zstd", "-q", "-c", "--no-check", "-19", "--stream-size=%d" % raw], input=b"\xa5" * raw,
                               stdout=subprocess.PIPE, check=True).stdout
    else:
        sys.exit("tamper_patch.py: unknown mode " + mode)
    rest = rest[:len(rest) - psize] + patch
    struct.pack_into("<I", rest, entry_at + 28, len(patch))
    rest[entry_at + 64:entry_at + 96] = hashlib.sha256(patch).digest()
    sets[s]["data-size"] += len(patch) - psize
    sets[s]["table-sha256"] = hashlib.sha256(rest[table_at:table_at + PATCH_ENTRY * n]).hexdigest()
    sig = cms(["-sign", "-binary", "-nodetach", "-md", "sha256", "-outform", "DER", "-nosmimecap",
               "-signer", cert, "-inkey", key], json.dumps(manifest, separators=(",", ":")).encode())
    head = bytearray(b[:HEADER])
    struct.pack_into("<Q", head, 16, len(sig))
    open(dst, "wb").write(head + sig + rest)
    print("entry %d of set %d, old offset %d" % (n - 1, s, old_off))


main()
