#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes hostile redundant U-Boot environment images (the sandbox layout: two copies of
0x4000 bytes in one file, each "crc32 (LE) | flags (1 byte) | data").

  envimg.py OUT SPEC1 SPEC2
    SPEC for one copy, comma-separated items:
      vars=PYEXPR   data bytes (python expression; default the sandbox's usual variables)
      flags=N       the redundancy counter byte (default 1 for copy 1, 0 for copy 2)
      crc=good|bad  (default good)
      fill=BYTE     what follows the data up to the end of the copy (default 0x00;
                    a non-zero fill means the data has no double-NUL terminator)
"""
import sys
import zlib

SIZE = 0x4000
DATA = SIZE - 5
USUAL = b"BOOT_ORDER=A B\0BOOT_A_LEFT=3\0BOOT_B_LEFT=3\0\0"


def copy(spec, default_flags):
    opts = dict(item.split("=", 1) for item in spec.split(",") if item)
    data = eval(opts["vars"]) if "vars" in opts else USUAL
    if len(data) > DATA:
        data = data[:DATA]
    data += bytes([int(opts.get("fill", "0"), 0)]) * (DATA - len(data))
    crc = zlib.crc32(data) & 0xffffffff
    if opts.get("crc", "good") == "bad":
        crc ^= 0xdeadbeef
    flags = int(opts.get("flags", default_flags))
    return crc.to_bytes(4, "little") + bytes([flags]) + data


with open(sys.argv[1], "wb") as f:
    f.write(copy(sys.argv[2], 1))
    f.write(copy(sys.argv[3], 0))
