#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One process for the whole "device state" of the attack suite's contracts (a case
compares it before and after a refused request; starting python and sha256sum per item
cost more than the requests themselves).

  state.py FILE...    prints, one per line:
                        "<FILE> <sha256>" or "<FILE> absent"  for each FILE
                        "table <GetSlotStatus JSON without timestamps, keys sorted>"
                        "top <booted> <primary> <operation>"
GetSlotStatus comes from `bus-call GetSlotStatus ""` (on PATH)."""
import hashlib
import json
import subprocess
import sys


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "timestamp"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


for path in sys.argv[1:]:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        print(path, h.hexdigest())
    except FileNotFoundError:
        print(path, "absent")
r = subprocess.run(["bus-call", "GetSlotStatus", ""], capture_output=True, text=True)
try:
    d = json.loads(r.stdout)
    print("table", json.dumps(strip(d), sort_keys=True))
    print("top", d.get("booted"), d.get("primary"), d.get("operation"))
except Exception as e:
    print("table unreadable: rc %d: %s %s" % (r.returncode, e, r.stderr.strip()[:200]))
    print("top unknown")
