#!/usr/bin/env python3
# Copied from shared/reference/recipes/flaky_proxy.py for update-agent's tests (tests/lib/agent-lib.sh).
"""TCP proxy that breaks downloads on purpose (works for HTTP and HTTPS alike, since it
cuts at the TCP level).

  flaky_proxy.py LISTEN_PORT UPSTREAM_PORT [--cut-after BYTES] [--mode close|rst|stall]
                 [--fail-first N] [--rate BYTES_PER_S]

--cut-after  after this many bytes server->client, break the connection
--mode       close: FIN (client sees a short body), rst: TCP reset (SO_LINGER 0),
             stall: stop forwarding but keep the socket open (tests client timeouts)
--fail-first only the first N connections are broken, later ones pass through
             (so a resuming client eventually completes); 0 = break every connection
--rate       throttle server->client bytes per second (0 = unlimited)
Listens on 127.0.0.1 only; prints one line per connection on stderr. Stdlib only.
"""
import argparse, socket, struct, sys, threading, time

def pump(src, dst, limit=None, mode='close', rate=0):
    sent = 0
    t0 = time.monotonic()
    try:
        while True:
            want = 65536 if limit is None else min(65536, limit - sent)
            if want <= 0:
                break
            data = src.recv(want)
            if not data:
                dst.shutdown(socket.SHUT_WR)
                return sent, 'eof'
            dst.sendall(data)
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        return sent, 'error'
    # limit reached: break the connection the requested way
    if mode == 'stall':
        time.sleep(3600)
    return sent, 'cut-' + mode

def kill(cli, up, back, mode):
    """Tear down both sides. shutdown(SHUT_RD) wakes the client->server thread without
    sending anything (a bare close() would not: the blocked recv pins the socket)."""
    for s in (cli, up):
        try: s.shutdown(socket.SHUT_RD)
        except OSError: pass
    back.join(2)
    if mode == 'rst':                   # linger 0 + close = TCP RST to the client
        cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    for s in (cli, up):
        try: s.close()
        except OSError: pass

def handle(cli, n, a):
    up = socket.create_connection(('127.0.0.1', a.upstream))
    broken = a.cut_after is not None and (a.fail_first == 0 or n <= a.fail_first)
    back = threading.Thread(target=pump, args=(cli, up), daemon=True)   # client->server
    back.start()
    sent, how = pump(up, cli, a.cut_after if broken else None, a.mode, a.rate)
    kill(cli, up, back, a.mode if how.startswith('cut') else 'close')
    print(f'flaky_proxy: conn {n}: {sent} bytes to client, {how}', file=sys.stderr, flush=True)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('listen', type=int); p.add_argument('upstream', type=int)
    p.add_argument('--cut-after', type=int); p.add_argument('--mode', default='close')
    p.add_argument('--fail-first', type=int, default=0); p.add_argument('--rate', type=int, default=0)
    a = p.parse_args()
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', a.listen)); ls.listen(16)
    print(f'flaky_proxy: 127.0.0.1:{a.listen} -> {a.upstream}', file=sys.stderr, flush=True)
    n = 0
    while True:
        c, _ = ls.accept(); n += 1
        threading.Thread(target=handle, args=(c, n, a), daemon=True).start()

if __name__ == '__main__':
    main()
