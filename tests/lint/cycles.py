#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dependency cycles between object files.

Usage: cycles.py [--nm NM] FILE.o...

Object A depends on object B when A has an undefined symbol that B defines.  Prints every
strongly connected component of that graph with more than one object (one line each, plus the
symbols along its edges) and exits 1 if there is one; exits 0 otherwise.  A layering rule such
as "jobs report through callbacks, only bus.c touches sd-bus" is then checked by `make lint`
rather than by review.
"""
import os
import signal
import subprocess
import sys


def symbols(nm, path):
    out = subprocess.run([nm, "-P", path], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[0], f[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper() and kind not in ("W", "V"):
            # Global definitions; weak ones do not make a dependency.
            defined.add(name)
    return defined, undefined


def sccs(nodes, edges):
    # Tarjan, iterative so a long chain cannot hit the recursion limit.
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    result.append(sorted(comp))
    return result


def main(argv):
    nm = os.environ.get("NM", "nm")
    if len(argv) >= 2 and argv[0] == "--nm":
        nm, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2

    objs = sorted(set(argv))
    defs, undefs, owner = {}, {}, {}
    for o in objs:
        defs[o], undefs[o] = symbols(nm, o)
        for s in defs[o]:
            owner.setdefault(s, o)

    edges = {o: set() for o in objs}
    via = {}
    for a in objs:
        for s in undefs[a]:
            b = owner.get(s)
            if b and b != a:
                edges[a].add(b)
                via.setdefault((a, b), []).append(s)

    def short(p):
        return os.path.splitext(os.path.relpath(p))[0]

    bad = [c for c in sccs(objs, edges) if len(c) > 1]
    for comp in bad:
        print("cycle: " + " <-> ".join(short(o) for o in comp))
        members = set(comp)
        for a in comp:
            for b in sorted(edges[a] & members):
                print("  %s -> %s: %s" % (short(a), short(b), ", ".join(sorted(via[(a, b)]))))
    return 1 if bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` is not an error
    sys.exit(main(sys.argv[1:]))
