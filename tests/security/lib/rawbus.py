#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A raw D-Bus client (wire protocol by hand) for messages sd-bus will not build: method
calls that carry more file descriptors than their body references.

  rawbus.py fds METHOD NFDS FILE
      METHOD InstallFd: body (h=index 0, a{sv} empty); GetSlotStatus: empty body.
      The message carries NFDS descriptors (each a fresh open of FILE, read-only); only
      InstallFd's first one is referenced.  Prints "REPLY ok" or "ERROR <name>: <message>"
      and exits 0 / 1.
Connects to $DBUS_SYSTEM_BUS_ADDRESS (unix:path=...).
"""
import array
import os
import socket
import struct
import sys


def pad(buf, n):
    while len(buf) % n:
        buf.append(0)


def m_string(buf, s, sig=False):
    b = s.encode()
    if sig:
        buf.append(len(b))
    else:
        pad(buf, 4)
        buf += struct.pack("<I", len(b))
    buf += b + b"\0"


def message(serial, member, dest, path, iface, sig, body, nfds):
    fields = bytearray()

    def field(code, typ, val):
        pad(fields, 8)
        fields.append(code)
        m_string(fields, typ, sig=True)
        if typ in ("s", "o"):
            m_string(fields, val)
        elif typ == "g":
            m_string(fields, val, sig=True)
        elif typ == "u":
            pad(fields, 4)
            fields.extend(struct.pack("<I", val))

    field(1, "o", path)
    if iface:
        field(2, "s", iface)
    field(3, "s", member)
    if dest:
        field(6, "s", dest)
    if sig:
        field(8, "g", sig)
    if nfds:
        field(9, "u", nfds)
    hdr = bytearray(b"l\x01\x00\x01")
    hdr += struct.pack("<III", len(body), serial, len(fields))
    hdr += fields
    pad(hdr, 8)
    return bytes(hdr) + bytes(body)


class Conn:
    def __init__(self):
        addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
        path = addr.split("path=", 1)[1].split(",", 1)[0]
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.serial = 0
        self.s.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() + b"\r\n")
        self.line(b"OK")
        self.s.sendall(b"NEGOTIATE_UNIX_FD\r\n")
        self.line(b"AGREE_UNIX_FD")
        self.s.sendall(b"BEGIN\r\n")
        self.call("Hello", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "", b"", [])

    def line(self, want):
        while b"\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                sys.exit("rawbus: connection closed during auth")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        if not l.startswith(want):
            sys.exit("rawbus: auth: expected %r, got %r" % (want, l))

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                sys.exit("rawbus: connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_message(self):
        fixed = self.recv_exact(16)
        blen, serial, flen = struct.unpack("<III", fixed[4:16])
        hlen = 16 + flen
        hlen += (-hlen) % 8
        rest = self.recv_exact(hlen - 16 + blen)
        fields = rest[:flen]
        body = rest[hlen - 16:]
        info, i = {}, 0
        while i < len(fields):
            i += (-i) % 8
            code = fields[i]
            slen = fields[i + 1]
            typ = fields[i + 2:i + 2 + slen].decode()
            i += 3 + slen
            if typ in ("s", "o"):
                i += (-i) % 4
                n = struct.unpack("<I", fields[i:i + 4])[0]
                info[code] = fields[i + 4:i + 4 + n].decode(errors="replace")
                i += 5 + n
            elif typ == "g":
                n = fields[i]
                info[code] = fields[i + 1:i + 1 + n].decode()
                i += 2 + n
            elif typ == "u":
                i += (-i) % 4
                info[code] = struct.unpack("<I", fields[i:i + 4])[0]
                i += 4
            else:
                break
        return fixed[1], info, body

    def call(self, member, dest, path, iface, sig, body, fds):
        self.serial += 1
        msg = message(self.serial, member, dest, path, iface, sig, body, len(fds))
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.s.sendmsg([msg], anc)
        while True:
            typ, info, body = self.read_message()
            if typ in (2, 3) and info.get(5) == self.serial:
                if typ == 2:
                    return None
                text = ""
                if len(body) >= 4:          # the error message, a string
                    n = struct.unpack("<I", body[:4])[0]
                    text = body[4:4 + n].decode(errors="replace")
                return (info.get(4, "?"), text)


def main():
    if len(sys.argv) != 5 or sys.argv[1] != "fds":
        sys.exit(__doc__)
    method, n, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    fds = [os.open(path, os.O_RDONLY) for _ in range(n)]
    if method == "InstallFd":
        body = bytearray(struct.pack("<I", 0))      # h: index 0
        body += struct.pack("<I", 0)                # a{sv}: length 0 ...
        pad(body, 8)                                # ... then padding to the dict entry alignment
        sig = "ha{sv}"
    else:
        body, sig = b"", ""
    c = Conn()
    r = c.call(method, "org.example.Update1", "/org/example/Update1", "org.example.Update1", sig, body, fds)
    for fd in fds:
        os.close(fd)
    if r is None:
        print("REPLY ok")
        return 0
    print("ERROR %s: %s" % r)
    return 1


if __name__ == "__main__":
    sys.exit(main())
