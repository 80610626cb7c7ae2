#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages (man/*.scd, built into $BUILD/man by make) and the bash completion of updatectl
# (packaging/bash-completion/updatectl) say what the programs do:
#   - every page renders, and mandoc -Tlint finds no error in it; the default paths each
#     program's --help names are in its page;
#   - every option a program's --help names (updatectl: of every verb) is defined in its page,
#     and every option the page defines is in --help;
#   - every section and key the system.conf, agent.conf and health.conf parsers accept is
#     described in its page, and nothing else: the keys are read from the parsers' own tables
#     and streq() chains (tests/lib/mancheck.py), not copied into this test;
#   - the D-Bus members updated(8) lists are those of the running interface (--bus-introspect);
#   - the completion, sourced into a plain (non-interactive) bash and called with COMP_WORDS
#     set, completes every verb, every option of every verb, bundle files for install, and,
#     with a daemon on a sandbox bus (root), the daemon's slot names.
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd python3
tl_require_bins
MC="python3 $UPDATE1_TOP/tests/lib/mancheck.py"
MAN=$UPDATE1_TOP/man
OUT=$UPDATE1_BUILD/man
COMPLETION=$UPDATE1_TOP/packaging/bash-completion/updatectl
WORK=$(mktemp -d /tmp/update1-man.XXXXXX) || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
TL_ON_EXIT+=("rm -rf '$WORK'")
for b in update-agent update-health; do
        [ -x "$UPDATE1_BUILD/$b" ] || { fail "$TL_FILE" "$UPDATE1_BUILD/$b is not built (make all)"; exit 1; }
done

# same WHAT EXPECTED-FILE ACTUAL-FILE: equal sets of lines, else TL_WHY names the difference.
same() {
        local missing extra
        missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
        extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
        [ -z "$missing$extra" ] && [ -s "$2" ] && return 0
        TL_WHY="$1: ${missing:+missing: $missing}${extra:+ not in the code: $extra}"
        [ -s "$2" ] || TL_WHY="$1: nothing extracted from the code"
        return 1
}

# ---- the pages are built and render ----------------------------------------------------
PAGES=()
for s in "$MAN"/*.scd; do
        PAGES+=("$(basename "$s" .scd)")
done

t_built() {
        local p bad=""
        for p in "${PAGES[@]}"; do
                [ -s "$OUT/$p" ] || bad+=" $p"
        done
        [ -z "$bad" ] && [ ${#PAGES[@]} = 6 ] && return 0
        TL_WHY="not built in $OUT (make all, needs scdoc):$bad; pages: ${PAGES[*]}"
        return 1
}
tl_case man-pages-built t_built

t_render() { # PAGE
        local p=$OUT/$1 name=${1%.*}
        if command -v mandoc >/dev/null 2>&1; then
                run mandoc -Tlint -W error "$p"
                [ "$TL_RC" = 0 ] && [ -z "$TL_OUT" ] || { TL_WHY="mandoc -Tlint -W error $1: $(_tl_out_excerpt)"; return 1; }
                mandoc -Tutf8 "$p" 2>&1 | sed 's/.\x08//g' >"$WORK/$1.txt" || { TL_WHY="mandoc -Tutf8 $1 failed"; return 1; }
        elif command -v man >/dev/null 2>&1; then
                MANWIDTH=80 man -l "$p" >"$WORK/$1.txt" 2>&1 || { TL_WHY="man -l $1 failed"; return 1; }
        else
                TL_WHY="neither mandoc nor man installed (tests/lib/install-deps.sh installs mandoc)"
                return 1
        fi
        # The rendered page names its program and has the sections a page needs; no @NAME@ left.
        grep -q "^NAME" "$WORK/$1.txt" && grep -q "^SEE ALSO" "$WORK/$1.txt" &&
                grep -q "$name - " "$WORK/$1.txt" || { TL_WHY="$1 renders without NAME/SEE ALSO or '$name - '"; return 1; }
        ! grep -n '@[A-Z_]*@' "$p" || { TL_WHY="$1 has an unsubstituted @NAME@"; return 1; }
        if command -v lexgrog >/dev/null 2>&1; then
                lexgrog "$p" >/dev/null 2>&1 || { TL_WHY="lexgrog cannot parse the NAME section of $1"; return 1; }
        fi
        return 0
}
for p in "${PAGES[@]}"; do
        [ -s "$OUT/$p" ] && tl_case "render-$p" t_render "$p"
done

# ---- options: --help and the page agree --------------------------------------------------
help_of() {
        local b=$UPDATE1_BUILD/$1 v
        "$b" --help
        if [ "$1" = updatectl ]; then
                for v in $(updatectl_verbs); do
                        "$b" "$v" --help
                done
                "$b" bundle create --help
                "$b" bundle info --help
        fi
}
# The verbs "updatectl --help" lists (the lines between "Verbs:" and the next empty line).
updatectl_verbs() {
        "$UPDATE1_BUILD/updatectl" --help | sed -n '/^Verbs:/,/^$/{/^  [a-z]/{s/^  \([a-z-]*\).*/\1/p}}'
}

t_options() { # PROGRAM SECTION
        help_of "$1" 2>&1 | $MC help-options >"$WORK/help-$1" || { TL_WHY="$1 --help failed"; return 1; }
        $MC man-options "$MAN/$1.$2.scd" >"$WORK/man-$1" || { TL_WHY="mancheck man-options $1 failed"; return 1; }
        same "$1($2) options vs --help" "$WORK/help-$1" "$WORK/man-$1" || return 1
        tl_diag "$1: $(wc -l <"$WORK/help-$1") options"
}
tl_case options-updated t_options updated 8
tl_case options-updatectl t_options updatectl 1
tl_case options-update-agent t_options update-agent 8
tl_case options-update-health t_options update-health 8

# The default paths a program's --help names (compiled in from the install locations) are the
# ones its page names: the page is built with the same locations.
t_default_paths() { # PROGRAM SECTION
        local path n=0
        for path in $(help_of "$1" 2>&1 | grep -oE 'default /[^ ,)]+' | cut -d' ' -f2 | sort -u); do
                n=$((n + 1))
                # scdoc writes "\&" after each '.' (no sentence space): not part of the text.
                sed 's/\\&//g' "$OUT/$1.$2" | grep -qF -- "$path" || { TL_WHY="$1 --help names the default $path, $1($2) does not"; return 1; }
        done
        [ "$n" -ge 1 ] || { TL_WHY="no default path found in $1 --help"; return 1; }
}
tl_case default-paths-updated t_default_paths updated 8
tl_case default-paths-updatectl t_default_paths updatectl 1
tl_case default-paths-update-agent t_default_paths update-agent 8
tl_case default-paths-update-health t_default_paths update-health 8

t_verbs_documented() {
        local v bad="" n=0
        for v in $(updatectl_verbs); do
                n=$((n + 1))
                grep -q "^\*${v}[* ]" "$MAN/updatectl.1.scd" || bad+=" $v"
        done
        [ "$n" -ge 8 ] && [ -z "$bad" ] && return 0
        TL_WHY="updatectl(1) COMMANDS lacks:$bad (verbs found: $n)"
        return 1
}
tl_case updatectl-verbs-documented t_verbs_documented

# ---- configuration keys: the parsers and the pages agree ---------------------------------
t_keys() { # WHAT PARSER-CMD SOURCE PAGE
        $MC "$2" "$UPDATE1_TOP/$3" >"$WORK/code-$1" || { TL_WHY="mancheck $2 failed"; return 1; }
        $MC man-keys "$MAN/$4.scd" >"$WORK/page-$1" || { TL_WHY="mancheck man-keys $4 failed"; return 1; }
        same "$4 keys vs $3" "$WORK/code-$1" "$WORK/page-$1" || return 1
        tl_diag "$1: $(wc -l <"$WORK/code-$1") section/key pairs"
}
tl_case keys-system.conf t_keys system system-keys lib/config.c update1-system.conf.5
tl_case keys-agent.conf t_keys agent agent-keys client/update-agent/update-agent-config.c update-agent.conf.5
tl_case keys-health.conf t_keys health health-keys client/update-health/update-health.c update-health.8

# The comparison itself can fail: a page without one of the parser's keys is caught.
t_keys_detects() {
        grep -v '^\*reboot-timeout=\*' "$MAN/update1-system.conf.5.scd" >"$WORK/mutant.scd"
        $MC man-keys "$WORK/mutant.scd" >"$WORK/page-mutant"
        $MC system-keys "$UPDATE1_TOP/lib/config.c" >"$WORK/code-mutant"
        if same mutant "$WORK/code-mutant" "$WORK/page-mutant"; then
                TL_WHY="a page without reboot-timeout= passed the key check"
                return 1
        fi
        expect_contains "$TL_WHY" "system reboot-timeout" "the report of the missing key"
}
tl_case keys-check-detects-a-missing-key t_keys_detects

# ---- D-Bus members in updated(8) ----------------------------------------------------------
t_dbus() {
        "$UPDATE1_BUILD/updated" --bus-introspect | $MC xml-dbus org.example.Update1 >"$WORK/dbus-code" ||
                { TL_WHY="updated --bus-introspect | mancheck xml-dbus failed"; return 1; }
        $MC man-dbus "$MAN/updated.8.scd" >"$WORK/dbus-page"
        same "updated(8) D-BUS INTERFACE vs --bus-introspect" "$WORK/dbus-code" "$WORK/dbus-page"
}
tl_case dbus-members-updated.8 t_dbus

# ---- bash completion ------------------------------------------------------------------------
# complete WORD...: COMPREPLY (one per line) for the command line WORD... (the last word is the
# one being completed), from the completion sourced into a fresh non-interactive bash.
complete_words() {
        bash -c '. "$1" || exit 1; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                 COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                 _updatectl updatectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 1
                 printf "%s\n" "${COMPREPLY[@]}"' complete "$COMPLETION" "$@"
}

t_complete_verbs() {
        updatectl_verbs | sort >"$WORK/verbs"
        complete_words updatectl "" | sort >"$WORK/verbs-completed"
        [ "$(wc -l <"$WORK/verbs")" -ge 8 ] || { TL_WHY="no verbs found in updatectl --help"; return 1; }
        # Every verb, and nothing that is not a verb or a top-level option.
        grep -v '^-' "$WORK/verbs-completed" >"$WORK/verbs-c" || true
        same "completed verbs vs updatectl --help" "$WORK/verbs" "$WORK/verbs-c" || return 1
        expect_eq "$(complete_words updatectl mark-a)" mark-active "completion of 'mark-a'"
}
tl_case completion-verbs t_complete_verbs

t_complete_options() { # WORDS... (the verb path): its options completed == its --help options
        "$UPDATE1_BUILD/updatectl" "$@" --help 2>&1 | $MC help-options >"$WORK/o-help"
        complete_words updatectl "$@" - | sort -u >"$WORK/o-completed"
        same "completed options of 'updatectl $*' vs its --help" "$WORK/o-help" "$WORK/o-completed"
}
for v in $(updatectl_verbs); do
        [ "$v" = bundle ] && continue
        tl_case "completion-options-$v" t_complete_options "$v"
done
tl_case completion-options-bundle-create t_complete_options bundle create
tl_case completion-options-bundle-info t_complete_options bundle info

t_complete_files() {
        mkdir -p "$WORK/files/dir" && touch "$WORK/files/v2.bundle" "$WORK/files/notes.txt"
        expect_eq "$(complete_words updatectl install "$WORK/files/" | sort | tr '\n' ' ')" \
                "$WORK/files/dir/ $WORK/files/v2.bundle " "completion of install FILE" || return 1
        expect_eq "$(complete_words updatectl install --force "$WORK/files/v" | tr '\n' ' ')" \
                "$WORK/files/v2.bundle " "completion of install --force FILE" || return 1
        expect_eq "$(complete_words updatectl bundle info "$WORK/files/v" | tr '\n' ' ')" \
                "$WORK/files/v2.bundle " "completion of bundle info FILE" || return 1
        expect_eq "$(complete_words updatectl bundle create --compression "" | tr '\n' ' ')" \
                "zstd none " "completion of --compression" || return 1
        # One argument only: nothing after the bundle.
        expect_eq "$(complete_words updatectl install "$WORK/files/v2.bundle" "")" "" "completion after the FILE"
}
tl_case completion-files t_complete_files

# Without a daemon the slot argument still completes the two names every device has, quickly.
t_complete_slots_no_daemon() {
        local got
        got=$(DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-bus" PATH="$UPDATE1_BUILD:$PATH" \
                complete_words updatectl mark-bad "" | tr '\n' ' ')
        expect_eq "$got" "booted other " "slot completion without a daemon"
}
tl_case completion-slots-no-daemon t_complete_slots_no_daemon

if command -v shellcheck >/dev/null 2>&1; then
        t_shellcheck() {
                run shellcheck -S warning "$COMPLETION"
                [ "$TL_RC" = 0 ] || { TL_WHY="shellcheck: $(_tl_out_excerpt)"; return 1; }
        }
        tl_case completion-shellcheck t_shellcheck
else
        skip completion-shellcheck "shellcheck not installed (make lint installs it)"
fi

# With the daemon on a sandbox bus: the slot names come from updatectl status --json.
if [ "$(id -u)" != 0 ]; then
        skip completion-slots-from-daemon "needs root: the shipped bus policy lets only root own the name"
        exit 0
fi
tl_setup A
t_complete_slots() {
        local got
        got=$(complete_words updatectl mark-good "" | sort | tr '\n' ' ')
        expect_eq "$got" "booted other rootfs.0 rootfs.1 " "slot completion with the daemon" || return 1
        expect_eq "$(complete_words updatectl mark-active roo | sort | tr '\n' ' ')" "rootfs.0 rootfs.1 " \
                "completion of 'roo'"
}
tl_case completion-slots-from-daemon t_complete_slots
