#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An emulator of AWS IoT Jobs' MQTT API for test-agent-awsiot.sh.

The real service cannot run here, so this stands in for it, written from AWS's published
device API (docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html): it is an MQTT
client of a real broker (mosquitto) that answers the reserved topics of one thing:
  $aws/things/{thing}/jobs/get             GetPendingJobExecutions -> get/accepted
  $aws/things/{thing}/jobs/{jobId}/get     DescribeJobExecution    -> {jobId}/get/accepted|rejected
  $aws/things/{thing}/jobs/{jobId}/update  UpdateJobExecution      -> {jobId}/update/accepted|rejected
and publishes $aws/things/{thing}/jobs/notify when the pending list changes.  Answers carry the
request's clientToken; an update with a wrong expectedVersion is rejected (VersionMismatch), an
update of a job in a terminal state too (TerminalStateReached), as AWS does.

It also plays S3: a job document's "${aws:iot:s3-presigned-url:NAME}" becomes, at every
describe, a URL to this process's file server with an expiry and an HMAC; the file server
answers 403 once the URL expired or its signature is wrong, and serves Range requests (206).

Control (HTTP, same port): POST /_ctl/create {"jobId","document"}, POST /_ctl/cancel
{"jobId"}, POST /_ctl/set {"url_ttl": s, "rate": bytes/s, "cut_once": cut the
connection once the file reaches this offset}, GET /_ctl/state.
"""
import argparse
import hashlib
import hmac
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as mqtt

TERMINAL = ("SUCCEEDED", "FAILED", "REJECTED", "CANCELED", "REMOVED", "TIMED_OUT")
SECRET = os.urandom(16)
lock = threading.RLock()
state = {"jobs": {}, "url_ttl": 3600, "rate": 0, "cut_once": 0, "gets": 0, "files": [], "rejected": []}
args = None
client = None


def now():
    return int(time.time())


def topic(*parts):
    return "/".join(("$aws/things", args.thing, "jobs") + parts)


def publish(t, obj):
    client.publish(t, json.dumps(obj), qos=1)


def pending():
    with lock:
        jobs = sorted(state["jobs"].values(), key=lambda j: (j["queuedAt"], j["seq"]))
        summary = lambda j: {"jobId": j["jobId"], "queuedAt": j["queuedAt"], "lastUpdatedAt": j["lastUpdatedAt"],
                             "versionNumber": j["versionNumber"], "executionNumber": 1}
        return ([summary(j) for j in jobs if j["status"] == "IN_PROGRESS"],
                [summary(j) for j in jobs if j["status"] == "QUEUED"])


def notify():
    inp, q = pending()
    jobs = {}
    if inp:
        jobs["IN_PROGRESS"] = inp
    if q:
        jobs["QUEUED"] = q
    publish(topic("notify"), {"timestamp": now(), "jobs": jobs})


def presign(name):
    exp = int(time.time() + state["url_ttl"])
    sig = hmac.new(SECRET, f"{name}:{exp}".encode(), hashlib.sha256).hexdigest()
    return f"{args.file_base}/files/{urllib.parse.quote(name)}?X-Amz-Expires={exp}&X-Amz-Signature={sig}"


def document(j):
    def sub(v):
        p = "${aws:iot:s3-presigned-url:"
        if isinstance(v, str) and v.startswith(p) and v.endswith("}"):
            return presign(v[len(p):-1])
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v
    return sub(j["document"])


def on_message(c, userdata, msg):
    parts = msg.topic.split("/")
    try:
        req = json.loads(msg.payload or b"{}")
    except ValueError:
        req = {}
    tok = req.get("clientToken")
    base = {"timestamp": now(), "clientToken": tok} if tok else {"timestamp": now()}
    if parts[4:] == ["get"]:
        with lock:
            state["gets"] += 1
        inp, q = pending()
        publish(msg.topic + "/accepted", dict(base, inProgressJobs=inp, queuedJobs=q))
        return
    if len(parts) != 6 or parts[5] not in ("get", "update"):
        return
    job_id, op = parts[4], parts[5]
    with lock:
        j = state["jobs"].get(job_id)
        if j is None:
            publish(msg.topic + "/rejected", dict(base, code="ResourceNotFound", message=f"job {job_id} not found"))
            return
        if op == "get":
            ex = {"jobId": job_id, "thingName": args.thing, "status": j["status"], "statusDetails": j["statusDetails"],
                  "queuedAt": j["queuedAt"], "lastUpdatedAt": j["lastUpdatedAt"], "versionNumber": j["versionNumber"],
                  "executionNumber": 1}
            if req.get("includeJobDocument", True):
                ex["jobDocument"] = document(j)
            publish(msg.topic + "/accepted", dict(base, execution=ex))
            return
        # update
        status = req.get("status")
        why = None
        if j["status"] in TERMINAL:
            why = ("TerminalStateReached", f"job {job_id} is {j['status']}")
        elif "expectedVersion" in req and req["expectedVersion"] != j["versionNumber"]:
            why = ("VersionMismatch", f"expected version {req['expectedVersion']}, is {j['versionNumber']}")
        elif status not in ("IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"):
            why = ("InvalidRequest", f"status {status!r}")
        if why:
            state["rejected"].append({"jobId": job_id, "code": why[0], "request": req})
            publish(msg.topic + "/rejected", dict(base, code=why[0], message=why[1]))
            return
        was = j["status"]
        j["status"] = status
        j["statusDetails"] = req.get("statusDetails", j["statusDetails"])
        j["versionNumber"] += 1
        j["lastUpdatedAt"] = now()
        j["history"].append({"status": status, "statusDetails": j["statusDetails"],
                             "expectedVersion": req.get("expectedVersion")})
        ans = dict(base)
        if req.get("includeJobExecutionState"):
            ans["executionState"] = {"status": status, "statusDetails": j["statusDetails"],
                                     "versionNumber": j["versionNumber"]}
        publish(msg.topic + "/accepted", ans)
        changed = was != status
    if changed:
        notify()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/_ctl/create":
            with lock:
                state["jobs"][body["jobId"]] = {
                    "jobId": body["jobId"], "document": body["document"], "status": "QUEUED", "statusDetails": {},
                    "queuedAt": body.get("queuedAt", now()), "lastUpdatedAt": now(), "versionNumber": 1,
                    "seq": len(state["jobs"]), "history": []}
                if body.get("status"):
                    state["jobs"][body["jobId"]]["status"] = body["status"]
            notify()
            return self.reply(200, {"jobId": body["jobId"]})
        if self.path == "/_ctl/cancel":
            with lock:
                j = state["jobs"][body["jobId"]]
                j["status"] = "CANCELED"
                j["versionNumber"] += 1
            notify()
            return self.reply(200, {})
        if self.path == "/_ctl/set":
            with lock:
                state.update({k: v for k, v in body.items() if k in ("url_ttl", "rate", "cut_once")})
            return self.reply(200, {})
        self.reply(404, {})

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/_ctl/state":
            with lock:
                return self.reply(200, {k: v for k, v in state.items()})
        if not u.path.startswith("/files/"):
            return self.reply(404, {})
        name = urllib.parse.unquote(u.path[len("/files/"):])
        q = urllib.parse.parse_qs(u.query)
        exp = int(q.get("X-Amz-Expires", ["0"])[0])
        sig = q.get("X-Amz-Signature", [""])[0]
        good = hmac.new(SECRET, f"{name}:{exp}".encode(), hashlib.sha256).hexdigest()
        rng = self.headers.get("Range")
        entry = {"name": name, "range": rng, "time": time.time()}
        with lock:
            state["files"].append(entry)
        if not hmac.compare_digest(sig, good) or time.time() > exp or "/" in name:
            entry["status"] = 403
            b = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        path = os.path.join(args.www, name)
        size = os.path.getsize(path)
        start, end = 0, size - 1
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = min(int(b), size - 1) if b else size - 1
            if start >= size:
                entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            entry["status"] = 206
        else:
            self.send_response(200)
            entry["status"] = 200
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(left, 16384))
                try:
                    self.wfile.write(chunk)
                except OSError:
                    entry["aborted_after"] = sent
                    return
                sent += len(chunk)
                left -= len(chunk)
                with lock:
                    cut = state["cut_once"] and start + sent >= state["cut_once"]
                    if cut:
                        state["cut_once"] = 0
                if cut:    # a connection lost mid-way (the device's link, not S3)
                    entry["cut_after"] = sent
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                rate = state["rate"]
                if rate:
                    time.sleep(len(chunk) / rate)
        entry["sent"] = sent


def main():
    global args, client
    p = argparse.ArgumentParser()
    p.add_argument("--broker-port", type=int, required=True)
    p.add_argument("--thing", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--certfile", required=True)
    p.add_argument("--keyfile", required=True)
    p.add_argument("--www", required=True)
    p.add_argument("--port-file", required=True)
    # The host name in pre-signed URLs: the file server listens on 127.0.0.1, which a device in
    # QEMU's user network reaches as 10.0.2.2 (tests/system/scenarios.sh agent-mqtt).
    p.add_argument("--file-host", default="127.0.0.1")
    # AWS hands out pre-signed https URLs: with a certificate the file server (and _ctl) speak
    # TLS, as S3 does.  The board test keeps plain http (its guest has no CA for it).
    p.add_argument("--file-tls-cert")
    p.add_argument("--file-tls-key")
    args = p.parse_args()

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if args.file_tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.file_tls_cert, args.file_tls_key)
        http.socket = ctx.wrap_socket(http.socket, server_side=True)
        scheme = "https"
    args.file_base = f"{scheme}://{args.file_host}:{http.server_address[1]}"
    connected = threading.Event()

    client = mqtt.Client(client_id="aws-iot-jobs-emulator", clean_session=True)
    client.tls_set(ca_certs=args.cafile, certfile=args.certfile, keyfile=args.keyfile,
                   tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.on_message = on_message

    def on_connect(c, u, flags, rc):
        c.subscribe([(topic("get"), 1), (topic("+", "get"), 1), (topic("+", "update"), 1)])
        connected.set()
    client.on_connect = on_connect
    client.connect("127.0.0.1", args.broker_port, 60)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit("cannot connect to the broker")
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(http.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    http.serve_forever()


if __name__ == "__main__":
    main()
