#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small reader of BitBake metadata for tests/integration/test-yocto-layer.sh, which has no
Yocto build to run (packaging/yocto/meta-update1/README.md says what is and is not checked).

It reads .bb/.bbappend/.bbclass/.conf files line by line as BitBake does: comments,
continuation lines, assignments (= ?= ??= := += =+ .= =. and :append/:prepend/:remove
overrides, flags), inherit/require/include/addtask/export, and shell and python functions.
Anything else is a syntax error.  Shell function bodies go through "bash -n", python ones
through compile().  Variables are expanded with bitbake.conf's default install directories
for a usrmerge distro (BASE below), and ${@...} with a minimal "d".

  bbcheck.py syntax FILE...                   the syntax errors, one a line (none: exit 0)
  bbcheck.py get RECIPE VAR [KEY=VALUE...]    the expanded value of VAR (KEY=VALUE preset)
  bbcheck.py files RECIPE DESTDIR             every installed file (and symlink) under DESTDIR
                                              with the packages whose FILES match it, and the
                                              FILES patterns of the non-default packages that
                                              match nothing
  bbcheck.py wks FILE                         the syntax errors of a wic kickstart file
"""
import fnmatch
import os
import re
import subprocess
import sys
import textwrap

# bitbake.conf's defaults (meta/conf/bitbake.conf), usrmerge (systemd requires it since
# scarthgap): what ${bindir} etc. expand to on the target.
BASE = {
    "PN": "update1", "BPN": "update1", "PV": "0.1.0", "MACHINE": "qemuarm64",
    "prefix": "/usr", "exec_prefix": "/usr", "base_prefix": "",
    "bindir": "/usr/bin", "sbindir": "/usr/sbin", "libexecdir": "/usr/libexec",
    "datadir": "/usr/share", "sysconfdir": "/etc", "localstatedir": "/var",
    "sharedstatedir": "/com", "libdir": "/usr/lib", "nonarch_libdir": "/usr/lib",
    "base_libdir": "/usr/lib", "nonarch_base_libdir": "/usr/lib", "base_bindir": "/usr/bin",
    "base_sbindir": "/usr/sbin", "includedir": "/usr/include",
    "systemd_unitdir": "/usr/lib/systemd", "systemd_system_unitdir": "/usr/lib/systemd/system",
    "mandir": "/usr/share/man", "docdir": "/usr/share/doc", "infodir": "/usr/share/info",
    "CC": "cc", "AR": "ar", "B": "/build", "WORKDIR": "/work", "S": "/work/git",
    "D": "/image", "DISTRO_VERSION": "1.0",
}

NAME = r"[A-Za-z0-9_\-${}.+/~@]+"
ASSIGN = re.compile(r"^(export\s+)?(%s(?::%s)*)(\[[A-Za-z0-9_-]+\])?\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(.*)$"
                    % (NAME, NAME))
FUNC = re.compile(r"^(fakeroot\s+)?(python\s+)?(%s(?::%s)*)?\s*\(\)\s*\{\s*$" % (NAME, NAME))
STATEMENT = re.compile(r"^(inherit|inherit_defer|require|include|addtask|deltask|addhandler|"
                       r"EXPORT_FUNCTIONS|export|unset)(\s+.*)?$")


class Meta:
    def __init__(self):
        self.ops = []        # (name, flag, op, value) in file order
        self.functions = []  # (file, line, kind, name, body)
        self.errors = []

    def parse(self, path):
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            start = i + 1
            line = lines[i]
            i += 1
            if line.strip().startswith("#") or not line.strip():
                # A comment line ending in "\" continues too (BitBake warns); keep it simple.
                continue
            m = FUNC.match(line)
            if m:
                body = []
                while i < len(lines) and not re.match(r"^\}\s*$", lines[i]):
                    body.append(lines[i])
                    i += 1
                if i >= len(lines):
                    self.errors.append("%s:%d: function without a closing '}' at the start of a line" % (path, start))
                    return
                i += 1
                self.functions.append((path, start, "python" if m.group(2) else "shell", m.group(3) or "", body))
                continue
            while line.endswith("\\") and i < len(lines):
                line = line[:-1] + " " + lines[i].strip()
                i += 1
            m = ASSIGN.match(line)
            if m:
                value = m.group(5).strip()
                q = value[:1]
                if len(value) < 2 or q not in ('"', "'") or value[-1] != q:
                    self.errors.append("%s:%d: value of %s is not one quoted string: %s"
                                       % (path, start, m.group(2), value[:60]))
                    continue
                self.ops.append((m.group(2), m.group(3), m.group(4), value[1:-1]))
                continue
            if STATEMENT.match(line.strip()):
                continue
            self.errors.append("%s:%d: not BitBake syntax: %s" % (path, start, line.strip()[:80]))

    def check_functions(self):
        for path, line, kind, name, body in self.functions:
            text = "\n".join(body)
            if kind == "python":
                try:
                    compile("def f():\n" + textwrap.indent(textwrap.dedent(text) or "pass", "    "), path, "exec")
                except SyntaxError as e:
                    self.errors.append("%s:%d: python function %s: %s" % (path, line + (e.lineno or 1) - 1, name, e.msg))
            else:
                r = subprocess.run(["bash", "-n"], input="f() {\n%s\n}\n" % text, capture_output=True, text=True)
                if r.returncode != 0:
                    self.errors.append("%s:%d: shell function %s: %s" % (path, line, name, r.stderr.strip()))


class Data:
    """The variables of one recipe, with BitBake's operators applied in order."""

    def __init__(self, meta, preset):
        self.v = dict(BASE)
        self.v.update(preset)
        post = []
        for name, flag, op, value in meta.ops:
            if flag:
                continue
            name = self.expand_name(name)
            parts = name.split(":")
            if parts[-1] in ("append", "prepend", "remove"):
                post.append((":".join(parts[:-1]), parts[-1], value))
                continue
            cur = self.v.get(name)
            if op == "=":
                self.v[name] = value
            elif op == ":=":
                self.v[name] = self.expand(value)
            elif op == "?=" or op == "??=":
                if cur is None:
                    self.v[name] = value
            elif op == "+=":
                self.v[name] = (cur + " " + value) if cur else value
            elif op == "=+":
                self.v[name] = (value + " " + cur) if cur else value
            elif op == ".=":
                self.v[name] = (cur or "") + value
            elif op == "=.":
                self.v[name] = value + (cur or "")
        for name, kind, value in post:
            cur = self.v.get(name, "")
            if kind == "append":
                self.v[name] = cur + value
            elif kind == "prepend":
                self.v[name] = value + cur
            else:
                drop = set(self.expand(value).split())
                self.v[name] = " ".join(w for w in self.expand(cur).split() if w not in drop)

    def expand_name(self, name):
        return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: self.v.get(m.group(1), m.group(0)), name)

    def getVar(self, name, expand=True):
        v = self.v.get(name)
        return self.expand(v) if (v is not None and expand) else v

    def expand(self, s, depth=0):
        if depth > 20:
            raise RuntimeError("recursive expansion: %s" % s)
        d = self

        class Utils:
            @staticmethod
            def contains(var, item, t, f, _d):
                return t if set(item.split()) <= set((d.getVar(var) or "").split()) else f

        class BB:
            utils = Utils

        def inline(m):
            return str(eval(m.group(1), {"d": d, "bb": BB, "oe": None}))

        prev = None
        while prev != s:
            prev = s
            s = re.sub(r"\$\{([A-Za-z0-9_:\-]+)\}",
                       lambda m: self.v[m.group(1)] if m.group(1) in self.v else m.group(0), s)
            s = re.sub(r"\$\{@(.+?)\}(?=\s|$|\")", inline, s)
        return s


def load(path, preset=()):
    meta = Meta()
    meta.parse(path)
    if meta.errors:
        sys.exit("\n".join(meta.errors))
    return Data(meta, dict(kv.split("=", 1) for kv in preset))


def glob_match(path, pattern):
    """BitBake's FILES: a glob (no '/' crossing) naming a file, or a directory and all below."""
    p = [c for c in pattern.split("/") if c]
    f = [c for c in path.split("/") if c]
    return len(p) <= len(f) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(f, p))


def files(recipe, destdir):
    d = load(recipe)
    pkgs = d.expand("${PACKAGE_BEFORE_PN} ${PN}").split()
    for extra in ("${PN}-doc", "${PN}-bash-completion"):
        pkgs.append(d.expand(extra))
    owned = {}
    for pkg in pkgs:
        pats = d.getVar("FILES:" + pkg)
        if pats is None:
            sys.exit("bbcheck: no FILES:%s in %s" % (pkg, recipe))
        owned[pkg] = pats.split()
    installed = []
    for root, dirs, names in os.walk(destdir):
        for n in names + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            installed.append("/" + os.path.relpath(os.path.join(root, n), destdir))
    for f in sorted(installed):
        print("file %s %s" % (f, " ".join(p for p in pkgs if any(glob_match(f, x) for x in owned[p])) or "-"))
    # Patterns of the packages this recipe defines (not the class defaults) must own something.
    for pkg in d.expand("${PACKAGE_BEFORE_PN} ${PN}").split():
        for pat in owned[pkg]:
            if not any(glob_match(f, pat) for f in installed):
                print("dead %s %s" % (pkg, pat))


WKS_COMMANDS = {"part", "partition", "bootloader", "include"}
WKS_PART_OPTS = {"--source", "--ondisk", "--ondrive", "--fstype", "--label", "--part-name", "--active",
                 "--align", "--size", "--fixed-size", "--extra-space", "--overhead-factor", "--part-type",
                 "--uuid", "--fsuuid", "--use-uuid", "--use-label", "--sourceparams", "--exclude-path",
                 "--include-path", "--mkfs-extraopts", "--no-table", "--system-id", "--offset",
                 "--fsoptions", "--change-directory", "--hidden", "--mbr", "--extra-partition-space"}
WKS_BOOT_OPTS = {"--ptable", "--timeout", "--append", "--configfile", "--source", "--bootloader-name"}


def wks(path):
    errs = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] not in WKS_COMMANDS:
            errs.append("%s:%d: unknown command %s" % (path, n, words[0]))
            continue
        allowed = WKS_BOOT_OPTS if words[0] == "bootloader" else WKS_PART_OPTS
        for w in words[1:]:
            if w.startswith("--") and w.split("=")[0] not in allowed:
                errs.append("%s:%d: unknown option %s of %s" % (path, n, w, words[0]))
    return errs


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "syntax":
        errs = []
        for path in args:
            m = Meta()
            m.parse(path)
            m.check_functions()
            errs += m.errors
        print("\n".join(errs)) if errs else None
        sys.exit(1 if errs else 0)
    elif cmd == "get":
        v = load(args[0], args[2:]).getVar(args[1])
        if v is None:
            sys.exit("bbcheck: %s is not set in %s" % (args[1], args[0]))
        print(v)
    elif cmd == "files":
        files(args[0], args[1])
    elif cmd == "wks":
        errs = wks(args[0])
        print("\n".join(errs)) if errs else None
        sys.exit(1 if errs else 0)
    else:
        sys.exit("bbcheck: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
