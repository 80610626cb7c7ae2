#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the man pages (man/*.scd) claim and what the code has, as sorted lines for
tests/integration/test-man.sh to compare.  The code side is read from the parsers themselves
(their tables and streq(key, ...) chains), never from a list copied into the test.

  mancheck.py man-options SCD          options defined in the page ("*--opt*" at a line start)
  mancheck.py help-options <HELP       options a --help text names
  mancheck.py man-keys SCD             "section key" of "*key=*" definitions under "## [section]"
                                       (or under "# CONFIGURATION", section "-")
  mancheck.py system-keys lib/config.c                           "section key" the parser accepts
  mancheck.py agent-keys client/update-agent/update-agent-config.c
  mancheck.py health-keys client/update-health/update-health.c
  mancheck.py man-dbus SCD             "method|property|signal Name" under "# D-BUS INTERFACE"
  mancheck.py xml-dbus IFACE <XML      the same from introspection XML
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

OPT = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def out(items):
    for i in sorted(set(items)):
        print(i)


def man_options(path):
    opts = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("*-"):
            for span in re.findall(r"\*([^*]+)\*", line):
                opts += OPT.findall(span)
    return opts


def help_options(text):
    opts = []
    for line in text.splitlines():
        opts += [o for o in OPT.findall(line) if o.startswith("--")]
        # Short options only where an option is defined: at the start of an indented line.
        m = re.match(r"\s+(-[a-zA-Z])[ ,]", line)
        if m:
            opts.append(m.group(1))
    return opts


def man_keys(path):
    keys, section = [], None
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            m = re.match(r"## \[(.+)\]\s*$", line)
            section = m.group(1) if m else None
        elif line.startswith("# "):
            section = "-" if line.strip() == "# CONFIGURATION" else None
        elif section and line.startswith("*"):
            m = re.match(r"\*([a-z][a-z0-9_-]*)=\*", line)
            if m:
                keys.append("%s %s" % (section, m.group(1)))
    return keys


def c_function(src, name):
    m = re.search(r"^static int %s\(.*?^}" % re.escape(name), src, re.S | re.M)
    if not m:
        sys.exit("mancheck: function %s not found" % name)
    return m.group(0)


def streq_keys(body):
    return re.findall(r'streq\(key, "([^"]+)"\)', body)


def system_keys(path):
    """Every key system.conf accepts: the section_kinds[] table of lib/config.c names each
    section's ConfigKey tables, which live in lib/config*.c.  Rows with .refused (RAUC's keys
    Update1 refuses, listed in docs/configuration.md) are not accepted keys."""
    import glob
    import os
    src = open(path, encoding="utf-8").read()
    table = re.search(r"section_kinds\[[^]]*\] = \{(.*?)^\};", src, re.S | re.M)
    if not table:
        sys.exit("mancheck: section_kinds[] not found in %s" % path)
    sources = "".join(open(f, encoding="utf-8").read()
                      for f in sorted(glob.glob(os.path.join(os.path.dirname(path) or ".", "config*.c"))))
    keys = []
    for kind, name, tables in re.findall(
            r'\[SECTION_([A-Z]+)\] = \{ "([a-z]+)", \{ ([a-z_, ]+) \} \}', table.group(1)):
        section = "slot.<class>.<index>" if kind == "SLOT" else name
        for t in re.findall(r"[a-z_]+", tables):
            body = re.search(r"^const ConfigKey %s\[\] = \{(.*?)^\};" % t, sources, re.S | re.M)
            if not body:
                sys.exit("mancheck: key table %s not found" % t)
            for row in re.findall(r"^\s*\{ \.name = (.*?)\},?\s*$", body.group(1), re.M):
                if ".refused" not in row:
                    keys.append("%s %s" % (section, re.match(r'"([^"]+)"', row).group(1)))
    if not keys:
        sys.exit("mancheck: no keys found through %s" % path)
    return keys


def agent_keys(path):
    src = open(path, encoding="utf-8").read()
    keys = []
    dispatch = re.findall(r'streq\(section, "([a-z]+)"\)\)\s*r = (handle_[a-z]+)\(', src)
    if not dispatch:
        sys.exit("mancheck: no section dispatch found in %s" % path)
    hooks = re.search(r"hook_names\[[^]]*\] = \{(.*?)\};", src, re.S)
    for section, func in dispatch:
        body = c_function(src, func)
        keys += ["%s %s" % (section, k) for k in streq_keys(body)]
        if "hook_names[h]" in body:
            keys += ["%s %s" % (section, k) for k in re.findall(r'= "([^"]+)"', hooks.group(1))]
    # Upparat's sections ([broker], [service]) live in a module of their own, same shape.
    extra = path.replace("-config.c", "-config-upparat.c")
    if extra != path and os.path.exists(extra):
        src = open(extra, encoding="utf-8").read()
        for section, func in re.findall(r'streq\(section, "([a-z]+)"\)\)\s*r = (handle_[a-z]+)\(', src):
            keys += ["%s %s" % (section, k) for k in streq_keys(c_function(src, func))]
    return keys


def health_keys(path):
    src = open(path, encoding="utf-8").read()
    m = re.search(r"^static int (\w+)\(const char \*section, const char \*key", src, re.M)
    if not m:
        sys.exit("mancheck: no health.conf handler found in %s" % path)
    return ["- %s" % k for k in streq_keys(c_function(src, m.group(1)))]


def man_dbus(path):
    members, kind, inside = [], None, False
    for line in open(path, encoding="utf-8"):
        if line.startswith("# "):
            inside = line.strip() == "# D-BUS INTERFACE"
        elif inside and line.startswith("## "):
            kind = {"Methods": "method", "Properties": "property", "Signals": "signal"}.get(line[3:].strip())
        elif inside and kind and line.startswith("*"):
            members.append("%s %s" % (kind, re.match(r"\*(\w+)\*", line).group(1)))
    return members


def xml_dbus(iface, text):
    root = ET.fromstring(text)
    for i in root.iter("interface"):
        if i.get("name") == iface:
            return ["%s %s" % (e.tag, e.get("name")) for e in i if e.tag in ("method", "property", "signal")]
    sys.exit("mancheck: interface %s not in the XML" % iface)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "man-options":
        out(man_options(args[0]))
    elif cmd == "help-options":
        out(help_options(sys.stdin.read()))
    elif cmd == "man-keys":
        out(man_keys(args[0]))
    elif cmd == "system-keys":
        out(system_keys(args[0]))
    elif cmd == "agent-keys":
        out(agent_keys(args[0]))
    elif cmd == "health-keys":
        out(health_keys(args[0]))
    elif cmd == "man-dbus":
        out(man_dbus(args[0]))
    elif cmd == "xml-dbus":
        out(xml_dbus(args[0], sys.stdin.read()))
    else:
        sys.exit("mancheck: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
