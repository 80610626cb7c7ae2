#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A static HTTP/1.1 file server that sends every body in pieces of many sizes.

  piece_http.py DIR PORT_FILE ranges|whole [STALL_AT GATE_FILE]

Serves DIR on 127.0.0.1 (a free port, written to PORT_FILE once listening), one thread per
connection.  Every body goes out with Transfer-Encoding: chunked, one HTTP chunk per piece, the
piece sizes cycling through PIECES (1 byte to 1 MB; each chunk is flushed on its own): libcurl
hands each chunk's bytes to its write callback separately, so the daemon's stream gets pieces
both far smaller and far larger than what its reader asks for at a time.  "ranges": a
"Range: bytes=A-B" or "bytes=A-" is answered 206 with Content-Range (and an ETag; an If-Range
that is not it gets 200 and the whole file), like nginx.  "whole": every GET is answered 200
with the whole file, Range or not (a server without ranges, which pushes the whole body).
With STALL_AT, the body stops before file offset STALL_AT (after the bytes before it were
sent) until GATE_FILE exists (at most 60 s), saying "stalled at N" on stderr first.  One line
per request on stderr.  Stdlib only.
"""
import http.server, os, re, socket, sys, time

root, port_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
stall_at = int(sys.argv[4]) if len(sys.argv) > 5 else None
gate = sys.argv[5] if len(sys.argv) > 5 else None
PIECES = [1, 7, 4093, 65536, 65537, 13, 300000, 2, 131071, 1000003, 262144, 262145, 3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        path = os.path.join(root, os.path.basename(self.path))
        try:
            with open(path, 'rb') as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError:
            self.send_error(404)
            return
        etag = '"%x-%x"' % (st.st_mtime_ns, st.st_size)
        m = re.fullmatch(r'bytes=(\d+)-(\d*)', self.headers.get('Range', ''))
        if_range = self.headers.get('If-Range')
        start, end = 0, len(data)
        if mode == 'ranges' and m and (if_range is None or if_range == etag):
            start = int(m.group(1))
            end = min(int(m.group(2)) + 1, len(data)) if m.group(2) else len(data)
            if start >= len(data) or end <= start:
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header('ETag', etag)
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        pos, i = start, 0
        while pos < end:
            n = min(PIECES[i % len(PIECES)], end - pos)
            if stall_at is not None and pos < stall_at < pos + n:
                n = stall_at - pos
            if stall_at is not None and pos == stall_at:
                sys.stderr.write('stalled at %d\n' % pos)
                sys.stderr.flush()
                deadline = time.monotonic() + 60
                while not os.path.exists(gate) and time.monotonic() < deadline:
                    time.sleep(0.02)
            self.wfile.write(b'%x\r\n' % n + data[pos:pos + n] + b'\r\n')
            self.wfile.flush()
            pos += n
            i += 1
        self.wfile.write(b'0\r\n\r\n')
        self.wfile.flush()

    def log_message(self, fmt, *args):
        sys.stderr.write('%s\n' % (fmt % args))
        sys.stderr.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


srv = Server(('127.0.0.1', 0), Handler)
with open(port_file + '.tmp', 'w') as f:
    f.write('%d\n' % srv.server_address[1])
os.rename(port_file + '.tmp', port_file)
try:
    srv.serve_forever()
except (BrokenPipeError, ConnectionResetError):
    pass
