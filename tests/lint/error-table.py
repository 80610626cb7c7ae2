#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus errors of org.example.Update1 come from one table: lib/error-kinds.h.

Usage: error-table.py [--top DIR] --check | --write

The error list in docs/dbus-api.md and in the comment of interfaces/org.example.Update1.xml is
generated from that table, between marker lines (--write rewrites both).  --check exits 1 and
says what differs when
  - a generated list is not what the table gives (edited by hand, or the table changed),
  - README.md, docs/*.md, the XML or a test script (tests/*/*.sh) names an error
    (Error.<Name>) that is not in the table,
  - a kind of the table is raised nowhere in lib/, daemon/ or client/ (ERROR_<ID> outside the
    error module): a list entry nothing returns,
  - an entry lacks what it means or what to do.
"""
import glob
import os
import re
import sys
import textwrap

TABLE = "lib/error-kinds.h"
DOC = "docs/dbus-api.md"
XML = "interfaces/org.example.Update1.xml"
DOC_BEGIN = "<!-- errors: generated from lib/error-kinds.h by tests/lint/error-table.py --write -->"
DOC_END = "<!-- end of the generated errors -->"
XML_BEGIN = "  Errors (generated from lib/error-kinds.h by tests/lint/error-table.py):"
XML_END = "  (end of the generated errors)"

ENTRY = re.compile(r'^ERROR_KIND\(\s*(\w+),\s*"([^"]*)",\s*"([^"]*)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\)', re.M)
MENTION = re.compile(r"(?<!DBus\.)\bError\.([A-Z]\w*)")


def read_table(top):
    text = open(os.path.join(top, TABLE), encoding="utf-8").read()
    entries = [m.groups() for m in ENTRY.finditer(text)]
    calls = len(re.findall(r"^ERROR_KIND\(", text, re.M))
    if calls != len(entries):
        sys.exit(f"{TABLE}: {calls} ERROR_KIND lines, but only {len(entries)} parse as "
                 "ERROR_KIND(ID, \"Name\", \"D-Bus name\", \"meaning\", \"what to do\")")
    return entries


def doc_block(entries):
    lines = [DOC_BEGIN, "", "| error | what it means | what to do |", "| --- | --- | --- |"]
    for _, name, dbus, means, todo in entries:
        shown = dbus if not dbus.startswith("org.example.Update1.Error.") else "Error." + name
        lines.append(f"| `{shown}` | {means} | {todo} |")
    lines += ["", DOC_END]
    return lines


def xml_block(entries):
    lines = [XML_BEGIN]
    for _, name, dbus, means, todo in entries:
        for text, first, rest in ((f"{dbus}: {means}", "    ", "      "),
                                  (f"To do: {todo}", "      ", "      ")):
            lines += textwrap.wrap(text, width=95, initial_indent=first, subsequent_indent=rest,
                                   break_on_hyphens=False)
    lines.append(XML_END)
    return lines


def replace_block(path, lines, begin, end, new):
    try:
        b, e = lines.index(begin), lines.index(end)
    except ValueError:
        return None, f"{path}: no generated error list (marker lines '{begin}' ... '{end}')"
    if e < b:
        return None, f"{path}: the end marker comes before the begin marker"
    return lines[:b] + new + lines[e + 1:], None


def main(argv):
    top, mode = ".", None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--top" and args:
            top = args.pop(0)
        elif a in ("--check", "--write"):
            mode = a
        else:
            sys.exit(__doc__)
    if not mode:
        sys.exit(__doc__)

    entries = read_table(top)
    problems = []
    names = {name for _, name, _, _, _ in entries}
    for ident, name, dbus, means, todo in entries:
        if not means.strip() or not todo.strip():
            problems.append(f"{TABLE}: {name} lacks what it means or what to do")
        if "--" in means + todo:
            problems.append(f"{TABLE}: {name}: '--' cannot stand in an XML comment")
        if not dbus.endswith("." + name):
            problems.append(f"{TABLE}: {name}: D-Bus name {dbus} does not end in .{name}")

    for path, begin, end, new in ((DOC, DOC_BEGIN, DOC_END, doc_block(entries)),
                                  (XML, XML_BEGIN, XML_END, xml_block(entries))):
        full = os.path.join(top, path)
        lines = open(full, encoding="utf-8").read().split("\n")
        updated, err = replace_block(path, lines, begin, end, new)
        if err:
            problems.append(err)
            continue
        if updated == lines:
            continue
        if mode == "--write":
            with open(full, "w", encoding="utf-8") as f:
                f.write("\n".join(updated))
            print(f"error-table: wrote the error list of {path}")
        else:
            old = lines[lines.index(begin):lines.index(end) + 1]
            diff = [f"    - {line}" for line in old if line not in new][:4] + \
                   [f"    + {line}" for line in new if line not in old][:4]
            problems.append(f"{path}: the error list differs from {TABLE} "
                            "(tests/lint/error-table.py --write):\n" + "\n".join(diff))

    for path in ["README.md", XML] + sorted(glob.glob(os.path.join(top, "docs", "*.md"))) + \
            sorted(glob.glob(os.path.join(top, "tests", "*", "*.sh"))):
        full = path if os.path.isabs(path) or path.startswith(top + os.sep) else os.path.join(top, path)
        rel = os.path.relpath(full, top)
        for n, line in enumerate(open(full, encoding="utf-8"), 1):
            for m in MENTION.finditer(line):
                if m.group(1) not in names:
                    problems.append(f"{rel}:{n}: names Error.{m.group(1)}, which is not in {TABLE}")

    code = ""
    for path in glob.glob(os.path.join(top, "lib", "*.c")) + glob.glob(os.path.join(top, "daemon", "**", "*.c"), recursive=True) + \
            glob.glob(os.path.join(top, "client", "**", "*.c"), recursive=True):
        if os.path.basename(path) != "error.c":
            code += open(path, encoding="utf-8").read()
    for ident, name, _, _, _ in entries:
        if not re.search(rf"\bERROR_{ident}\b", code):
            problems.append(f"{TABLE}: {name} (ERROR_{ident}) is raised nowhere in lib/, daemon/ or client/")

    for p in problems:
        print(p)
    if mode == "--check" and not problems:
        print(f"error-table: {len(entries)} errors; {DOC} and {XML} list exactly these")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
