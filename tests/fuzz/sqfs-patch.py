#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sets one count in an inode of a squashfs whose inode and directory tables are stored
uncompressed (mksquashfs -noI -noD), for the rauc-squashfs reproducers of make-corpus.sh: each
count is one libsquashfs allocates from before it reads what it counts.

    sqfs-patch.py IMAGE ROOT|NAME FIELD VALUE

ROOT is the root directory's inode, NAME a file in the root directory.  FIELD:
  file_size       an extended file inode's size (its block list is size / block size * 4 bytes)
  slink_size      a symbolic link's target size
  dir_index_size  the name size of an extended directory inode's first index entry
"""
import struct
import sys


def main():
    img, which, field, value = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 0)
    d = bytearray(open(img, "rb").read())
    root_ref, = struct.unpack_from("<Q", d, 32)
    ino_start, dir_start = struct.unpack_from("<QQ", d, 64)

    def table(start, end):  # uncompressed metadata blocks: offset from start -> (position, size)
        blocks, pos = {}, start
        while pos < end:
            hdr, = struct.unpack_from("<H", d, pos)
            if not hdr & 0x8000:
                sys.exit(f"{img}: a compressed metadata block at {pos}: build it with -noI -noD")
            blocks[pos - start] = (pos + 2, hdr & 0x7FFF)
            pos += 2 + (hdr & 0x7FFF)
        return blocks

    inodes = table(ino_start, dir_start)
    order = sorted(inodes)

    def where(ref, skip):  # image position of byte 'skip' of the inode at ref
        i, off = order.index(ref >> 16), (ref & 0xFFFF) + skip
        while off >= inodes[order[i]][1]:
            off -= inodes[order[i]][1]
            i += 1
        return inodes[order[i]][0] + off

    def get(ref, skip, fmt):
        return struct.unpack(fmt, bytes(d[where(ref, skip + k)] for k in range(struct.calcsize(fmt))))[0]

    def put(ref, skip, fmt, v):
        for k, byte in enumerate(struct.pack(fmt, v)):
            d[where(ref, skip + k)] = byte

    ref = root_ref
    if which != "ROOT":
        if get(root_ref, 0, "<H") == 1:  # basic directory
            start, size, offset = get(root_ref, 16, "<I"), get(root_ref, 24, "<H"), get(root_ref, 26, "<H")
        else:
            size, start, offset = get(root_ref, 20, "<I"), get(root_ref, 24, "<I"), get(root_ref, 34, "<H")
        raw, at, pos = bytearray(), {}, dir_start
        while pos + 2 <= len(d):
            hdr, = struct.unpack_from("<H", d, pos)
            if not hdr & 0x8000 or (hdr & 0x7FFF) == 0:
                break
            at[pos - dir_start] = len(raw)
            raw += d[pos + 2:pos + 2 + (hdr & 0x7FFF)]
            pos += 2 + (hdr & 0x7FFF)
        q = at[start] + offset
        end, ref = q + size - 3, None
        while q < end and ref is None:
            count, iblock, _ = struct.unpack_from("<III", raw, q)
            q += 12
            for _ in range(count + 1):
                ioff, _, _, nsize = struct.unpack_from("<HhHH", raw, q)
                name = bytes(raw[q + 8:q + 9 + nsize]).decode()
                q += 9 + nsize
                if name == which:
                    ref = (iblock << 16) | ioff
        if ref is None:
            sys.exit(f"{img}: no {which} in the root directory")
    kind = get(ref, 0, "<H")
    if field == "file_size" and kind == 9:
        put(ref, 24, "<Q", value)
    elif field == "slink_size" and kind == 3:
        put(ref, 20, "<I", value)
    elif field == "dir_index_size" and kind == 8 and get(ref, 32, "<H") > 0:
        put(ref, 48, "<I", value)
    else:
        sys.exit(f"{img}: {which} (inode type {kind}) has no {field}")
    open(img, "wb").write(d)


main()
