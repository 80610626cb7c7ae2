#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A client of InstallFd's "ranged" protocol (lib/ranged-frame.h), for tests: it serves a
bundle file over one end of a socket pair and calls InstallFd with the other end through
bus-call (tests/lib/bus-call.sh), then serves until updated closes the socket.

    ranged_client.py BUNDLE STATS MODE [AFTER]

MODE is "good" or a way to misbehave once AFTER requests (default 0) were answered right:
  offset    answer with the offset one byte further on
  short     answer with one byte less than asked (and send those bytes)
  oversized answer with 64 KiB more than asked (and send them)
  size      give another total size
  magic     a reply with a wrong magic
  status    a reply with status EIO
  close     close the socket instead of answering
  hang      never answer (a cancel must stop the daemon's wait)
STATS gets "requests=N bytes=N" (bytes: payload bytes sent) once the socket is closed, then a
line "OFFSET LENGTH" for each request received, in order (what the daemon asked for).
bus-call's output goes to stdout/stderr; the exit status is bus-call's."""

import os
import socket
import struct
import subprocess
import sys
import threading

REQ = struct.Struct("<IIQ")
REP = struct.Struct("<IIQQII")
REQ_MAGIC = 0x51523155
REP_MAGIC = 0x50523155


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        k = s.recv(n - len(buf))
        if not k:
            return None
        buf += k
    return buf


def serve(sock, path, mode, after, stats):
    total = os.path.getsize(path)
    requests = sent = 0
    asked = []
    with open(path, "rb") as f:
        while True:
            try:
                req = recv_exact(sock, REQ.size)
            except OSError:
                req = None
            if req is None:
                break
            magic, length, offset = REQ.unpack(req)
            if magic != REQ_MAGIC:
                break
            requests += 1
            asked.append((offset, length))
            f.seek(offset)
            data = f.read(length)
            off, ln, tot, status = offset, length, total, 0
            bad = mode != "good" and requests > after
            if bad:
                if mode == "offset":
                    off += 1
                elif mode == "short" and length > 0:
                    ln -= 1
                    data = data[:-1]
                elif mode == "oversized":
                    ln += 65536
                    data += b"\0" * 65536
                elif mode == "size":
                    tot += 4096
                elif mode == "status":
                    status = 5
                    data = b""
                elif mode == "close":
                    break
                elif mode == "hang":
                    # Hold the socket open until updated closes it.
                    while sock.recv(4096):
                        pass
                    break
            rep = REP.pack(REP_MAGIC ^ (bad and mode == "magic"), ln, off, tot, status, 0)
            try:
                sock.sendall(rep + data)
            except OSError:
                break
            sent += len(data)
    with open(stats, "w") as st:
        st.write("requests=%d bytes=%d\n" % (requests, sent))
        st.writelines("%d %d\n" % a for a in asked)
    sock.close()


def main():
    path, stats, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    after = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t = threading.Thread(target=serve, args=(ours, path, mode, after, stats))
    t.start()
    fd = theirs.fileno()
    rc = subprocess.call(["bus-call", "InstallFd", "ha{sv}", "fd:%d" % fd, "ranged=b:true"], pass_fds=(fd,))
    theirs.close()
    t.join()
    return rc


if __name__ == "__main__":
    sys.exit(main())
