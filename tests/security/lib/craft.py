#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crafts hostile Update1 bundles for the attack suite (tests/security).

Independent of lib/bundle-writer.c on purpose: it assembles the v1 byte layout of
docs/bundle-format.md itself (32-byte header, CMS SignedData made by the openssl CLI,
payload), so a test can put *anything* in any field and still sign it with a real key.

  craft.py info BUNDLE
      JSON: size, sig_size, payload_offset, manifest (the signed JSON, read with
      openssl cms -verify -noverify) and chunk_offsets (absolute file offsets of every
      stored chunk, in payload order).

  craft.py make -o OUT [options]
    Manifest and payload, one of:
      --image CLASS=PATH[=FILENAME]   raw images (compression "none": stored chunk = raw
                                      chunk), repeatable; --chunk-size N (default 65536)
      --from BUNDLE                   the signed manifest text and the payload of BUNDLE
      --manifest-file F               this exact text as the manifest (no payload unless
                                      --payload-file)
    Edits (python, applied in this order; see the variable names):
      --edit CODE          statements on m (the manifest dict; only with --image/--from)
      --edit-text EXPR     new manifest text from t (str)
      --edit-payload EXPR  new payload from p (bytes)
    Signature:
      --cert F --key F [--md sha256] [--certfile F] [--nocerts]   openssl cms -sign
      --cert2 F --key2 F   a second signer;  --detached  content not attached
      --sign none          the manifest text itself instead of a CMS (an "unsigned bundle")
      --sign nosigner      a SignedData with the content and --cert but no SignerInfo
      --keep-cms           with --from: the original CMS blob, byte for byte
      --edit-cms EXPR      new CMS from c (bytes)
    Header:
      --sig-size N         signature-size field (default: the real size)
      --edit-header EXPR   new header from h (bytes)
      --payload-file F     payload bytes from F (after --from / --image)
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

MAGIC = b"UPD1BNDL"
HEADER = struct.Struct("<8sIIQQ")   # magic, format version, header size, sig size, flags


def header(sig_size, version=1, hsize=32, flags=0, magic=MAGIC):
    return HEADER.pack(magic, version, hsize, sig_size, flags)


def cms_content(cms):
    """The attached content of a CMS SignedData (signature checked, chain not)."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "sig.der")
        with open(p, "wb") as f:
            f.write(cms)
        r = subprocess.run(["openssl", "cms", "-verify", "-noverify", "-binary", "-inform", "DER",
                            "-in", p], capture_output=True)
        if r.returncode != 0:
            sys.exit("craft: cannot read the CMS content: " + r.stderr.decode(errors="replace"))
        return r.stdout


def split(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, ver, hsize, sig, flags = HEADER.unpack(data[:32])
    if magic != MAGIC:
        sys.exit("craft: %s is not a bundle" % path)
    return data[:32], data[32:32 + sig], data[32 + sig:]


def sign(text, a):
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "m.json"), os.path.join(d, "m.der")
        with open(src, "wb") as f:
            f.write(text)
        cmd = ["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER",
               "-md", a.md, "-signer", a.cert, "-inkey", a.key, "-in", src, "-out", out]
        if a.cert2:
            cmd += ["-signer", a.cert2, "-inkey", a.key2]
        if a.detached:
            cmd.remove("-nodetach")
        if a.certfile:
            cmd += ["-certfile", a.certfile]
        if a.nocerts:
            cmd += ["-nocerts"]
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            sys.exit("craft: openssl cms -sign failed: " + r.stderr.decode(errors="replace"))
        with open(out, "rb") as f:
            return f.read()


def der(tag, content):
    n = len(content)
    if n < 0x80:
        l = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        l = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + l + content


OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
OID_DATA = bytes.fromhex("06092a864886f70d010701")
OID_SHA256 = bytes.fromhex("0609608648016503040201")


def nosigner_cms(text, certs):
    """SignedData with the content attached, certificates, and zero SignerInfos."""
    certder = b""
    for c in certs:
        certder += subprocess.run(["openssl", "x509", "-in", c, "-outform", "DER"],
                                  capture_output=True, check=True).stdout
    sd = der(0x02, b"\x01")                                          # version 1
    sd += der(0x31, der(0x30, OID_SHA256))                           # digestAlgorithms
    sd += der(0x30, OID_DATA + der(0xa0, der(0x04, text)))           # encapContentInfo
    if certder:
        sd += der(0xa0, certder)                                     # certificates [0]
    sd += der(0x31, b"")                                             # signerInfos: none
    return der(0x30, OID_SIGNED_DATA + der(0xa0, der(0x30, sd)))


def images_manifest(a):
    m = {"format": 1, "compatible": a.compatible, "version": a.version, "build": a.build,
         "description": "", "security-version": 0, "images": []}
    payload = bytearray()
    for spec in a.image:
        cls, _, rest = spec.partition("=")
        path, _, fname = rest.partition("=")
        with open(path, "rb") as f:
            data = f.read()
        chunks = []
        for off in range(0, len(data), a.chunk_size):
            c = data[off:off + a.chunk_size]
            chunks.append([len(c), hashlib.sha256(c).hexdigest()])
            payload += c
        m["images"].append({"slotclass": cls, "filename": fname or os.path.basename(path),
                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                            "chunk-size": a.chunk_size, "compression": "none", "chunks": chunks})
    return m, bytes(payload)


def cmd_info(a):
    h, cms, payload = split(a.bundle)
    sig = struct.unpack("<Q", h[16:24])[0]
    text = cms_content(cms)
    m = json.loads(text)
    offs, off = [], 32 + sig
    for img in m["images"]:
        for stored, _ in img["chunks"]:
            offs.append(off)
            off += stored
    json.dump({"size": 32 + sig + len(payload), "sig_size": sig, "payload_offset": 32 + sig,
               "payload_end": off, "manifest": m, "chunk_offsets": offs}, sys.stdout)
    print()


def cmd_make(a):
    m, payload, text, orig_cms = None, b"", None, None
    if a.image:
        m, payload = images_manifest(a)
    elif a.src:
        _, orig_cms, payload = split(a.src)
        if not a.keep_cms or a.edit or a.edit_text:
            text = cms_content(orig_cms)
            m = json.loads(text)
        else:
            text = b""
    elif a.manifest_file:
        with open(a.manifest_file, "rb") as f:
            text = f.read()
    if a.payload_file:
        with open(a.payload_file, "rb") as f:
            payload = f.read()
    if a.edit:
        if m is None:
            sys.exit("craft: --edit needs --image or --from")
        exec(a.edit, {"json": json, "hashlib": hashlib, "m": m})
        text = None
    if text is None:
        text = json.dumps(m, separators=(",", ":")).encode()
    if a.edit_text:
        t = eval(a.edit_text, {"json": json}, {"t": text.decode("utf-8", "surrogateescape")})
        text = t if isinstance(t, bytes) else t.encode("utf-8", "surrogateescape")
    if a.edit_payload:
        payload = eval(a.edit_payload, {"hashlib": hashlib}, {"p": payload})
    if a.keep_cms:
        cms = orig_cms
    elif a.sign == "none":
        cms = text
    elif a.sign == "nosigner":
        cms = nosigner_cms(text, [a.cert] if a.cert else [])
    else:
        cms = sign(text, a)
    if a.edit_cms:
        cms = eval(a.edit_cms, {"struct": struct}, {"c": cms})
    h = header(a.sig_size if a.sig_size is not None else len(cms))
    if a.edit_header:
        h = eval(a.edit_header, {"struct": struct, "header": header}, {"h": h})
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(h)
        f.write(cms)
        f.write(payload)
    os.chmod(tmp, 0o644)
    os.rename(tmp, a.output)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("info")
    i.add_argument("bundle")
    mk = sub.add_parser("make")
    mk.add_argument("-o", "--output", required=True)
    mk.add_argument("--image", action="append", default=[])
    mk.add_argument("--chunk-size", type=lambda s: int(s, 0), default=65536)
    mk.add_argument("--compatible", default=os.environ.get("SB_COMPATIBLE", "update1-test-board"))
    mk.add_argument("--version", default="2")
    mk.add_argument("--build", default="20260101000000")
    mk.add_argument("--from", dest="src")
    mk.add_argument("--manifest-file")
    mk.add_argument("--payload-file")
    mk.add_argument("--edit")
    mk.add_argument("--edit-text")
    mk.add_argument("--edit-payload")
    mk.add_argument("--cert")
    mk.add_argument("--key")
    mk.add_argument("--md", default="sha256")
    mk.add_argument("--certfile")
    mk.add_argument("--nocerts", action="store_true")
    mk.add_argument("--keep-cms", action="store_true")
    mk.add_argument("--cert2")
    mk.add_argument("--key2")
    mk.add_argument("--detached", action="store_true")
    mk.add_argument("--sign", default="cms", choices=["cms", "none", "nosigner"])
    mk.add_argument("--edit-cms")
    mk.add_argument("--sig-size", type=lambda s: int(s, 0))
    mk.add_argument("--edit-header")
    a = p.parse_args()
    if a.cmd == "info":
        cmd_info(a)
    else:
        if a.keep_cms and not a.src:
            sys.exit("craft: --keep-cms needs --from")
        if a.sign == "cms" and not a.keep_cms and not (a.cert and a.key):
            sys.exit("craft: --cert and --key are needed to sign")
        cmd_make(a)


if __name__ == "__main__":
    main()
