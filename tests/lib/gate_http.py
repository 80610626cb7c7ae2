#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A static HTTP/1.1 file server with byte ranges whose ranged answers wait for a gate file.

  gate_http.py DIR GATE_FILE PORT_FILE [shift|norest|offby]

Serves DIR on 127.0.0.1 (a free port, written to PORT_FILE once listening).  GET without Range:
200 and the whole file.  GET with "Range: bytes=A-B" or "bytes=A-": 206 and those bytes, but a
range of more than one byte that does not start at 0 waits until GATE_FILE exists (at most 60 s)
before it is answered (and says "gated RANGE" on stderr when it starts to wait); one-byte
ranges (a client's probe for Range support and the size) and ranges from 0 (the start of the
daemon's stream) are answered at once.  The test can thus change the device, or the file,
between a delta install's planning and its first fetch, or between the stream's first request
and the next (tests/integration/test-install-delta.sh).  The file is opened once the gate is
open.  Like nginx, answers carry an ETag (here of the mtime in ns and the size, so that a file
replaced within the same second differs) and a Last-Modified, and a Range request whose
If-Range is neither is answered 200 with the whole file.  With "shift", a server that lies: a
gated range is answered 206 with the bytes one further on (right length, wrong content).  With
"norest", a server without validators that answers a range of more than one byte that does not
start at 0 (the rest of the daemon's stream) with 200 and the whole file.  With "offby", a
gated range is answered 206 from one byte after where it was asked to start (and says so in its
Content-Range).  One line per request on stderr.  Stdlib only.
"""
import email.utils, http.server, os, re, sys, time

root, gate, port_file = sys.argv[1], sys.argv[2], sys.argv[3]
shift = len(sys.argv) > 4 and sys.argv[4] == 'shift'
norest = len(sys.argv) > 4 and sys.argv[4] == 'norest'
offby = len(sys.argv) > 4 and sys.argv[4] == 'offby'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def validators(self, st):
        if not norest:
            self.send_header('ETag', '"%x-%x"' % (st.st_mtime_ns, st.st_size))
            self.send_header('Last-Modified', email.utils.formatdate(st.st_mtime, usegmt=True))

    def do_GET(self):
        path = os.path.join(root, os.path.basename(self.path))
        m = re.fullmatch(r'bytes=(\d+)-(\d*)', self.headers.get('Range', ''))
        if m and int(m.group(1)) > 0 and (not m.group(2) or int(m.group(2)) > int(m.group(1))):
            sys.stderr.write('gated %s\n' % self.headers.get('Range'))
            sys.stderr.flush()
            deadline = time.monotonic() + 60
            while not os.path.exists(gate) and time.monotonic() < deadline:
                time.sleep(0.02)
            gated = True
        else:
            gated = False
        try:
            with open(path, 'rb') as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError:
            self.send_error(404)
            return
        if_range = self.headers.get('If-Range')
        if if_range is not None and if_range not in ('"%x-%x"' % (st.st_mtime_ns, st.st_size),
                                                     email.utils.formatdate(st.st_mtime, usegmt=True)):
            m = None  # another file than the client's validator names: the whole of this one
        if not m or (norest and gated):
            self.send_response(200)
            self.validators(st)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass
            return
        a, b = int(m.group(1)), min(int(m.group(2) or len(data) - 1), len(data) - 1)
        if offby and gated:
            a += 1
        self.send_response(206)
        self.validators(st)
        self.send_header('Content-Range', 'bytes %d-%d/%d' % (a, b, len(data)))
        self.send_header('Content-Length', str(b - a + 1))
        self.end_headers()
        lie = 1 if shift and gated and b + 1 < len(data) else 0
        try:
            self.wfile.write(data[a + lie:b + 1 + lie])
        except OSError:
            pass

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.headers.get('Range', '-') if hasattr(self, 'headers') else '-', fmt % args))
        sys.stderr.flush()


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
with open(port_file + '.tmp', 'w') as f:
    f.write('%d\n' % srv.server_address[1])
os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
