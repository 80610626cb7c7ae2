#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A minimal hawkBit DDI v1 server for update-agent's tests (python3 standard library only).

Follows shared/reference/ddi-api.md section 2.6: one tenant, one target, actions with a type
(forced, soft, timeforced, downloadonly), a status (RUNNING, CANCELING, CANCELED, FINISHED,
ERROR), an optional maintenance window, chunks/artifacts and a status log; _links computed as
in 2.3; feedback mapped as in 2.4 (410 once an action is closed).  Artifacts are served from
local files (Range: 200/206/416) unless an action points them at another URL (nginx).

  ddi_server.py --port-file F [--tenant DEFAULT] [--controller dev1] [--target-token T]
                [--gateway-token G] [--tls-cert C --tls-key K [--tls-client-ca CA]]
                [--sleep 00:00:01]

Control side (no auth), JSON in and out, under /_ctl/:
  POST assign   {"version","name","type","window":null|"available"|"unavailable",["confirm": true],
                 "artifacts":[{"filename","path",["url"],["part"]}], ["sha256": false], ["size"]}
                 -> {"id": "N"}
  POST cancel   {"id"}                      the action goes CANCELING (cancelAction link)
  POST window   {"id","available":bool}
  POST faults   {...} merged into the fault switches (null removes one):
        truncate:     {"after": BYTES, "count": N}  artifact bodies cut (connection closed)
                      ["down": true]        ... and at the cut the server goes down (below)
        down:         true                  an outage: every DDI and artifact request is dropped
                                            unanswered (connection closed; recorded with
                                            status 0 and "down"); the control side still works
        truncate_json: N                    next N JSON answers cut in half (connection closed)
        feedback_lost_reply: N              next N "closed" feedbacks are taken, but answered 504
        redirect:     URL-PREFIX            artifact requests answered 302 to URL-PREFIX/filename
        ignore_range: N                     next N Range requests answered 200 (full body)
        alter_prefix: N                     ... and with the first byte changed (content "changed")
        throttle:     BYTES_PER_SECOND      artifact bodies paced
                      or {"rate": B/s, "count": N}: only the next N artifact requests
        status:       [{"match": "substring of the path", "method": "GET", "code": 429,
                        "count": N, "retry_after": S, "skip": K}]   (K: the first K matching
                                            requests pass untouched; default 0)
        expire_after: BYTES                 the link expires once this much of it was served
                                            (connection cut, then 403 until the deployment is
                                            fetched again, which mints a new link)
        sleep:        "PT1S" | "00:00:01"   the polling sleep sent to the device
        http_only:    true                  only download-http links (the stock default)
        sha256:       false                 no sha256 in the hashes (sha1 fallback)
        bad_sha256:   true                  a wrong sha256 in the deployment
  POST token     {"target_token"}            the token the target must present from now on
  POST close     {"id", ["status"]}          close an action on the server side (default CANCELED)
  PUT  installedBase (DDI side) {"name","version"}: kept as installed_base in the state
  POST request-attributes
  GET  state        everything: actions (status, log, feedback), attributes, the last 500
                    requests (requests_offset: how many came before them)
"""
import argparse
import hashlib
import json
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

LOCK = threading.RLock()
S = {
    "actions": {},          # id -> action
    "next_id": 1,
    "attributes": {},
    "request_attributes": True,
    "installed": None,
    "faults": {},
    "requests": [],         # [{method, path, status, range, auth, bytes}]
    "requests_total": 0,
    "link_gen": {},         # action id -> current link token
    "config_puts": 0,
    "installed_base": None,  # the last PUT installedBase body
}
ARGS = None
TERMINAL = ("CANCELED", "FINISHED", "ERROR")


def now_ms():
    return int(time.time() * 1000)


def log_request(entry):
    with LOCK:
        S["requests_total"] += 1
        S["requests"].append(entry)
        del S["requests"][:-5000]


def file_hashes(path):
    h256, h1, md5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()
    size = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            size += len(b)
            h256.update(b)
            h1.update(b)
            md5.update(b)
    return size, h256.hexdigest(), h1.hexdigest(), md5.hexdigest()


def active_action():
    """The action the links are about: the oldest one still open."""
    for aid in sorted(S["actions"], key=int):
        a = S["actions"][aid]
        if a["status"] in ("RUNNING", "CANCELING", "DOWNLOADED", "WAITING_CONFIRMATION"):
            return a
    return None


def handling(a):
    download = "forced" if a["type"] in ("forced", "timeforced", "downloadonly") else "attempt"
    if a["type"] == "downloadonly" or a["window"] == "unavailable":
        update = "skip"
    else:
        update = download
    return download, update


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ddi-test-server/1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("ddi: " + fmt % args + "\n")

    # ---- helpers ----
    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if not data:
            return None
        return json.loads(data)

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        cut = False
        if not self.path.startswith("/_ctl/"):
            with LOCK:
                if S["faults"].get("truncate_json", 0) > 0:
                    S["faults"]["truncate_json"] -= 1
                    cut = True
        if cut:
            # Content-Length promises the whole document; the connection ends halfway.
            self.send_response(code)
            self.send_header("Content-Type", "application/hal+json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.record(code, len(data) // 2)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(code)
        self.send_header("Content-Type", "application/hal+json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.record(code, len(data))

    def send_empty(self, code, extra=None):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.record(code, 0)

    def record(self, code, nbytes):
        log_request({"method": self.command, "path": self.path, "status": code,
                     "range": self.headers.get("Range"), "auth": self.headers.get("Authorization"),
                     "bytes": nbytes, "time": time.time(), "artifact": "/softwaremodules/" in self.path})

    def base_url(self):
        scheme = "https" if ARGS.tls_cert else "http"
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        return "%s://%s/%s/controller/v1/%s" % (scheme, host, ARGS.tenant, ARGS.controller)

    def authorized(self):
        auth = self.headers.get("Authorization") or ""
        if ARGS.target_token and auth == "TargetToken " + ARGS.target_token:
            return True
        if ARGS.gateway_token and auth == "GatewayToken " + ARGS.gateway_token:
            return True
        if ARGS.tls_client_ca:
            # The reverse proxy role: the certificate's CN must be the controller id.
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            cn = None
            for rdn in (cert or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
            if cn == ARGS.controller and not auth:
                return True
        return False

    def injected_status(self):
        """A switched-on status fault for this request, if any."""
        with LOCK:
            for rule in S["faults"].get("status") or []:
                if rule.get("count", 0) <= 0:
                    continue
                if rule.get("method") and rule["method"] != self.command:
                    continue
                if rule.get("match", "") not in self.path:
                    continue
                if rule.get("skip", 0) > 0:
                    rule["skip"] -= 1
                    continue
                rule["count"] -= 1
                extra = {}
                if rule.get("retry_after") is not None:
                    extra["Retry-After"] = str(rule["retry_after"])
                return rule["code"], extra
        return None

    # ---- dispatch ----
    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def dispatch(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        except Exception as e:  # a bug in the test server must be visible
            sys.stderr.write("ddi: error on %s %s: %r\n" % (self.command, self.path, e))
            try:
                self.send_json(500, {"error": repr(e)})
            except OSError:
                pass

    def route(self):
        u = urlsplit(self.path)
        path = u.path
        if path.startswith("/_ctl/"):
            return self.control(path[6:])
        prefix = "/%s/controller/v1/%s" % (ARGS.tenant, ARGS.controller)
        if not path.lower().startswith(prefix.lower()):
            # An unknown controller or tenant: like hawkBit under target-token auth.
            return self.send_empty(401 if not self.authorized() else 404)
        rest = path[len(prefix):]
        with LOCK:
            down = S["faults"].get("down")
        if down:
            log_request({"method": self.command, "path": self.path, "status": 0, "down": True, "time": time.time(),
                         "artifact": False, "range": self.headers.get("Range"), "bytes": 0,
                         "auth": self.headers.get("Authorization")})
            return self.drop_connection()
        if not self.authorized():
            return self.send_empty(401)
        inj = self.injected_status()
        if inj:
            # A Range request to a cut connection, etc.: also record the body we would have read.
            if self.command in ("POST", "PUT"):
                self.body_json()
            return self.send_empty(inj[0], inj[1])
        m = re.fullmatch(r"/softwaremodules/(\d+)/artifacts/([^/]+)", rest)
        if m and self.command == "GET":
            return self.artifact(m.group(1), m.group(2), parse_qs(u.query))
        if rest in ("", "/") and self.command == "GET":
            return self.base()
        m = re.fullmatch(r"/deploymentBase/(\d+)", rest)
        if m and self.command == "GET":
            return self.deployment(m.group(1))
        m = re.fullmatch(r"/(deploymentBase|cancelAction)/(\d+)/feedback", rest)
        if m and self.command == "POST":
            return self.feedback(m.group(1), m.group(2))
        m = re.fullmatch(r"/cancelAction/(\d+)", rest)
        if m and self.command == "GET":
            return self.cancel_action(m.group(1))
        m = re.fullmatch(r"/confirmationBase/(\d+)", rest)
        if m and self.command == "GET":
            with LOCK:
                a = S["actions"].get(m.group(1))
            if not a or a["status"] != "WAITING_CONFIRMATION":
                return self.send_empty(404)
            return self.send_json(200, self.deployment_body(a, "confirmation"))
        m = re.fullmatch(r"/confirmationBase/(\d+)/feedback", rest)
        if m and self.command == "POST":
            return self.confirmation_feedback(m.group(1))
        if rest == "/configData" and self.command == "PUT":
            return self.config_data()
        if rest == "/installedBase" and self.command == "PUT":
            # hawkBit PR #1620 (experimental): the offline-installed distribution set
            body = self.body_json() or {}
            if not isinstance(body.get("name"), str) or not isinstance(body.get("version"), str):
                return self.send_empty(400)
            with LOCK:
                changed = S["installed_base"] != body
                S["installed_base"] = body
            return self.send_empty(201 if changed else 200)
        m = re.fullmatch(r"/installedBase/(\d+)", rest)
        if m and self.command == "GET":
            with LOCK:
                a = S["actions"].get(m.group(1))
            if not a or a["status"] not in TERMINAL:
                return self.send_empty(404)
            return self.send_json(200, self.deployment_body(a, "installedBase"))
        return self.send_empty(404)

    # ---- DDI ----
    def base(self):
        b = self.base_url()
        with LOCK:
            links = {}
            a = active_action()
            if a:
                if a["status"] == "CANCELING":
                    links["cancelAction"] = {"href": "%s/cancelAction/%s" % (b, a["id"])}
                elif a["status"] == "WAITING_CONFIRMATION":
                    links["confirmationBase"] = {"href": "%s/confirmationBase/%s?c=%d" % (b, a["id"], self.chash(a))}
                else:
                    links["deploymentBase"] = {"href": "%s/deploymentBase/%s?c=%d" % (b, a["id"], self.chash(a))}
            if S["installed"]:
                links["installedBase"] = {"href": "%s/installedBase/%s" % (b, S["installed"])}
            if S["request_attributes"]:
                links["configData"] = {"href": "%s/configData" % b}
            sleep = S["faults"].get("sleep") or ARGS.sleep
        body = {"config": {"polling": {"sleep": sleep}}}
        if links:
            body["_links"] = links
        self.send_json(200, body)

    @staticmethod
    def chash(a):
        return hash((a["id"], a["type"], a["window"], a["status"])) & 0x7FFFFFFF

    def deployment_body(self, a, key="deployment"):
        b = self.base_url()
        with LOCK:
            f = S["faults"]
            gen = S["link_gen"].setdefault(a["id"], 1)
            download, update = handling(a)
            artifacts = []
            for i, art in enumerate(a["artifacts"]):
                hashes = {"sha1": art["sha1"], "md5": art["md5"]}
                if f.get("sha256", True) and a.get("sha256", True):
                    hashes["sha256"] = art["sha256"]
                    if f.get("bad_sha256"):
                        hashes["sha256"] = hashlib.sha256(b"not the artifact").hexdigest()
                if art.get("url"):
                    url = art["url"]
                else:
                    url = "%s/softwaremodules/%s/artifacts/%s?t=%s-%d" % (b, a["sm"], art["filename"], a["id"], gen)
                links = {"download-http": {"href": url.replace("https://", "http://", 1)},
                         "md5sum-http": {"href": url + ".MD5SUM"}}
                if not f.get("http_only"):
                    links["download"] = {"href": url}
                artifacts.append({"filename": art["filename"], "size": art["size"], "hashes": hashes,
                                  "_links": links, "part": art.get("part", "os")})
            chunks = {}
            for art in artifacts:
                chunks.setdefault(art.pop("part"), []).append(art)
            dep = {"download": download, "update": update,
                   "chunks": [{"part": p, "version": a["version"], "name": a["name"],
                               "metadata": [{"key": "test", "value": "1"}], "artifacts": arts}
                              for p, arts in chunks.items()]}
            if a["window"]:
                dep["maintenanceWindow"] = a["window"]
            return {"id": a["id"], key: dep}

    def deployment(self, aid):
        with LOCK:
            a = S["actions"].get(aid)
            if not a or a["status"] in ("CANCELING", "WAITING_CONFIRMATION"):
                return self.send_empty(404)
            a["deployment_gets"] += 1
        self.send_json(200, self.deployment_body(a))

    def cancel_action(self, aid):
        with LOCK:
            a = S["actions"].get(aid)
            if not a or a["status"] not in ("CANCELING",):
                return self.send_empty(404)
        self.send_json(200, {"id": aid, "cancelAction": {"stopId": aid}})

    def feedback(self, kind, aid):
        body = self.body_json() or {}
        st = body.get("status") or {}
        execution = st.get("execution")
        finished = ((st.get("result") or {}).get("finished"))
        with LOCK:
            a = S["actions"].get(aid)
            if not a:
                return self.send_empty(404)
            if a["status"] in TERMINAL:
                a["late_feedback"].append({"kind": kind, "body": body})
                return self.send_empty(410)
            if execution is None or finished is None:
                return self.send_empty(400)
            a["feedback"].append({"kind": kind, "execution": execution, "finished": finished,
                                  "details": st.get("details") or [], "progress": (st.get("result") or {}).get("progress"),
                                  "time": time.time()})
            a["log"].append("%s %s/%s" % (kind, execution, finished))
            if kind == "deploymentBase":
                if execution == "closed":
                    a["status"] = "ERROR" if finished == "failure" else "FINISHED"
                    if a["status"] == "FINISHED":
                        S["installed"] = aid
                        S["request_attributes"] = True     # hawkBit PR #750
                elif execution == "downloaded":
                    a["status"] = "FINISHED" if a["type"] == "downloadonly" else "DOWNLOADED"
                elif execution == "canceled":
                    a["status"] = "CANCELED"
                elif execution in ("proceeding", "scheduled", "resumed") and a["status"] == "DOWNLOADED":
                    a["status"] = "RUNNING"     # hawkBit: these map to RUNNING (ddi-api.md 2.4)
            else:
                if execution == "closed":
                    a["status"] = "CANCELED" if finished == "success" else "ERROR"
                elif execution == "rejected":
                    a["status"] = "RUNNING"         # CANCEL_REJECTED: the action goes on
                    a["cancel_rejected"] = True
            lost = S["faults"].get("feedback_lost_reply", 0) > 0 and execution == "closed"
            if lost:
                S["faults"]["feedback_lost_reply"] -= 1
        if lost:
            # Taken, but the answer never arrives (a proxy timeout, a dropped connection).
            return self.send_empty(504)
        self.send_empty(200)

    def confirmation_feedback(self, aid):
        """confirmed: the action runs (and comes as deploymentBase); denied: it keeps waiting."""
        body = self.body_json() or {}
        with LOCK:
            a = S["actions"].get(aid)
            if not a or a["status"] != "WAITING_CONFIRMATION":
                return self.send_empty(404 if not a else 410)
            if body.get("confirmation") not in ("confirmed", "denied"):
                return self.send_empty(400)
            a["confirmations"].append({"confirmation": body["confirmation"], "code": body.get("code"),
                                       "details": body.get("details") or []})
            a["log"].append("confirmation %s" % body["confirmation"])
            if body["confirmation"] == "confirmed":
                a["status"] = "RUNNING"
        self.send_empty(200)

    def config_data(self):
        body = self.body_json() or {}
        with LOCK:
            data = body.get("data") or {}
            mode = body.get("mode", "merge")
            if mode == "replace":
                S["attributes"] = dict(data)
            elif mode == "remove":
                for k in data:
                    S["attributes"].pop(k, None)
            else:
                S["attributes"].update(data)
            S["request_attributes"] = False
            S["config_puts"] += 1
        self.send_empty(200)

    def artifact(self, sm, filename, query):
        with LOCK:
            a = next((x for x in S["actions"].values() if x["sm"] == sm), None)
            art = a and next((x for x in a["artifacts"] if x["filename"] == filename), None)
            if not art:
                return self.send_empty(404)
            token = (query.get("t") or [""])[0]
            if token != "%s-%d" % (a["id"], S["link_gen"].get(a["id"], 1)):
                return self.send_empty(403)
            f = S["faults"]
            if f.get("redirect"):
                return self.send_empty(302, {"Location": f["redirect"].rstrip("/") + "/" + filename})
            size = art["size"]
            rng = self.headers.get("Range")
            start = 0
            ignore = False
            if rng:
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
                if not m:
                    return self.send_empty(416, {"Content-Range": "bytes */%d" % size})
                start = int(m.group(1))
                if f.get("ignore_range", 0) > 0:
                    f["ignore_range"] -= 1
                    ignore = True
                elif start >= size:
                    return self.send_empty(416, {"Content-Range": "bytes */%d" % size})
            alter = False
            if ignore and f.get("alter_prefix", 0) > 0:
                f["alter_prefix"] -= 1
                alter = True
            cut = None
            down_at_cut = False
            tr = f.get("truncate")
            if tr and tr.get("count", 0) > 0:
                tr["count"] -= 1
                cut = tr["after"]
                down_at_cut = bool(tr.get("down"))
            expire_after = f.get("expire_after")
            throttle = f.get("throttle") or 0
            if isinstance(throttle, dict):          # {"rate": B/s, "count": N}: N requests only
                if throttle.get("count", 0) > 0:
                    throttle["count"] -= 1
                    throttle = throttle["rate"]
                else:
                    throttle = 0
            if ignore:
                start = 0
        end = size
        self.send_response(206 if start > 0 else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        if start > 0:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
        self.end_headers()
        sent = 0
        t0 = time.monotonic()
        status = 206 if start > 0 else 200
        with open(art["path"], "rb") as fh:
            fh.seek(start)
            pos = start
            while pos < end:
                # Throttled: small writes, so a client that gave up is noticed soon.
                n = min(65536 if not throttle else max(1024, throttle // 10), end - pos)
                if cut is not None:
                    n = min(n, cut - sent)
                if expire_after is not None and pos < expire_after:
                    n = min(n, expire_after - pos)
                if n <= 0:
                    break
                data = fh.read(n)
                if not data:
                    break
                if alter and pos == 0:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                self.wfile.write(data)
                pos += len(data)
                sent += len(data)
                if expire_after is not None and pos >= expire_after and pos < end:
                    with LOCK:
                        S["link_gen"][a["id"]] = S["link_gen"].get(a["id"], 1) + 1
                        S["faults"].pop("expire_after", None)
                    break
                if throttle:
                    ahead = sent / throttle - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        self.wfile.flush()
        log_request({"method": "GET", "path": self.path, "status": status, "range": self.headers.get("Range"),
                     "auth": self.headers.get("Authorization"), "bytes": sent, "time": time.time(),
                     "artifact": True, "complete": pos >= end})
        if pos < end:
            # A cut: the client sees the connection end before Content-Length.
            if down_at_cut:
                with LOCK:
                    S["faults"]["down"] = True
            self.drop_connection()

    def drop_connection(self):
        """The client sees the connection end: no answer, or no more of one."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- control ----
    def control(self, what):
        body = self.body_json() if self.command in ("POST", "PUT") else None
        with LOCK:
            if what == "state" and self.command == "GET":
                # The last 500 requests (and how many came before them): the agent's polls must
                # not wait for the lock while a long log is serialized.
                out = {k: S[k] for k in ("actions", "attributes", "request_attributes", "installed", "faults",
                                         "config_puts", "installed_base")}
                out["requests_offset"] = S["requests_total"] - len(S["requests"][-500:])
                out["requests"] = list(S["requests"][-500:])
                data = json.dumps(out)
        if what == "state" and self.command == "GET":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.encode())
            return
        with LOCK:
            if what == "assign":
                aid = str(S["next_id"])
                S["next_id"] += 1
                arts = []
                for art in body["artifacts"]:
                    size, h256, h1, md5 = file_hashes(art["path"])
                    arts.append({"filename": art["filename"], "path": art["path"], "size": art.get("size", size),
                                 "sha256": h256, "sha1": h1, "md5": md5, "url": art.get("url"),
                                 "part": art.get("part", "os")})
                S["actions"][aid] = {"id": aid, "sm": str(100 + int(aid)), "type": body.get("type", "forced"),
                                     "window": body.get("window"),
                                     "status": "WAITING_CONFIRMATION" if body.get("confirm") else "RUNNING",
                                     "confirmations": [],
                                     "version": body.get("version", "1"), "name": body.get("name", "sandbox-os"),
                                     "sha256": body.get("sha256", True), "artifacts": arts, "feedback": [],
                                     "late_feedback": [], "log": ["assigned"], "deployment_gets": 0,
                                     "cancel_rejected": False}
                return self.send_json(200, {"id": aid})
            if what == "cancel":
                a = S["actions"][body["id"]]
                if a["status"] in TERMINAL:
                    return self.send_json(409, {"error": "action is closed"})
                a["status"] = "CANCELING"
                a["log"].append("cancel requested")
                return self.send_json(200, {})
            if what == "window":
                a = S["actions"][body["id"]]
                a["window"] = "available" if body["available"] else "unavailable"
                return self.send_json(200, {})
            if what == "faults":
                for k, v in body.items():
                    if v is None:
                        S["faults"].pop(k, None)
                    else:
                        S["faults"][k] = v
                return self.send_json(200, S["faults"])
            if what == "token":
                ARGS.target_token = body.get("target_token", ARGS.target_token)
                return self.send_json(200, {})
            if what == "request-attributes":
                S["request_attributes"] = True
                return self.send_json(200, {})
            if what == "close":
                a = S["actions"][body["id"]]
                a["status"] = body.get("status", "CANCELED")
                return self.send_json(200, {})
        self.send_empty(404)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--tenant", default="DEFAULT")
    p.add_argument("--controller", default="dev1")
    p.add_argument("--target-token")
    p.add_argument("--gateway-token")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca", help="require a client certificate signed by this CA")
    p.add_argument("--sleep", default="00:00:01")
    p.add_argument("--verbose", action="store_true")
    ARGS = p.parse_args()
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        if ARGS.tls_client_ca:
            ctx.load_verify_locations(ARGS.tls_client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    # Written last: its presence means "listening".
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
