#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One table of D-Bus errors: lib/error-kinds.h is what the daemon returns (lib/error.c builds
# its names from it), and the error lists of docs/dbus-api.md and of
# interfaces/org.example.Update1.xml are generated from it (tests/lint/error-table.py).  This
# checks the tree as it is, and that the checker catches each kind of drift on a copy.
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd python3
CHECK=$UPDATE1_TOP/tests/lint/error-table.py
TMP=$(mktemp -d /tmp/update1-errtable.XXXXXX) || exit 1
TL_ON_EXIT+=('rm -rf "$TMP"')

case_tree() {
        expect_ok python3 "$CHECK" --top "$UPDATE1_TOP" --check || return 1
        expect_contains "$TL_OUT" "list exactly these" "the checker's verdict"
}

# _copy: the files the checker reads, in $TMP/tree.
_copy() {
        rm -rf "$TMP/tree" && mkdir -p "$TMP/tree/tests" || return 1
        cp -r "$UPDATE1_TOP/lib" "$UPDATE1_TOP/daemon" "$UPDATE1_TOP/client" "$UPDATE1_TOP/docs" \
                "$UPDATE1_TOP/interfaces" "$UPDATE1_TOP/README.md" "$TMP/tree/"
}

# expect_drift WHAT FILE-NAMED-IN-COMPLAINT: the checker fails on the edited copy and names it.
expect_drift() {
        run python3 "$CHECK" --top "$TMP/tree" --check
        [ "$TL_RC" = 1 ] || { TL_WHY="$1: the checker exited $TL_RC on the edited copy: $(_tl_out_excerpt)"; return 1; }
        expect_contains "$TL_OUT" "$2" "$1"
}

case_xml_entry_missing() {
        _copy || return 1
        sed -i '/^    org.example.Update1.Error.Downgrade:/d' "$TMP/tree/interfaces/org.example.Update1.xml"
        expect_drift "Downgrade dropped from the XML" "interfaces/org.example.Update1.xml: the error list differs"
}

case_doc_entry_edited() {
        _copy || return 1
        sed -i 's/^| `Error.AlreadyInstalled` | .*/| `Error.AlreadyInstalled` | x | y |/' "$TMP/tree/docs/dbus-api.md"
        expect_drift "AlreadyInstalled edited in dbus-api.md" "docs/dbus-api.md: the error list differs"
}

case_unknown_name() {
        local bogus=Err""or.NoSuchThing
        _copy || return 1
        echo "Refused with \`org.example.Update1.$bogus\`." >>"$TMP/tree/README.md"
        expect_drift "a name not in the table" "README.md:"
}

case_kind_never_raised() {
        _copy || return 1
        grep -rl 'ERROR_INCOMPLETE' "$TMP/tree/daemon" | xargs sed -i 's/ERROR_INCOMPLETE/ERROR_FAILED/g'
        expect_drift "a kind nothing raises" "Incomplete (ERROR_INCOMPLETE) is raised nowhere"
}

case_new_kind_not_documented() {
        local e=Err""or. # the checker reads this file too: no literal name outside the table
        _copy || return 1
        echo "ERROR_KIND(NEW_KIND, \"NewKind\", \"org.example.Update1.${e}NewKind\", \"Something new.\", \"Do something.\")" \
                >>"$TMP/tree/lib/error-kinds.h"
        grep -q ERROR_FAILED "$TMP/tree/daemon/bus.c" && echo '/* ERROR_NEW_KIND */' >>"$TMP/tree/daemon/bus.c"
        expect_drift "a new kind without --write" "docs/dbus-api.md: the error list differs" || return 1
        # --write brings both lists up to date, and then the check passes.
        expect_ok python3 "$CHECK" --top "$TMP/tree" --write || return 1
        expect_ok python3 "$CHECK" --top "$TMP/tree" --check || return 1
        grep -qF "${e}NewKind\` | Something new. | Do something." "$TMP/tree/docs/dbus-api.md" ||
                { TL_WHY="--write did not add NewKind to dbus-api.md"; return 1; }
}

tl_case error-table-tree-consistent case_tree
tl_case error-table-xml-entry-missing-caught case_xml_entry_missing
tl_case error-table-doc-entry-edited-caught case_doc_entry_edited
tl_case error-table-unknown-name-caught case_unknown_name
tl_case error-table-kind-never-raised-caught case_kind_never_raised
tl_case error-table-new-kind-needs-write case_new_kind_not_documented
