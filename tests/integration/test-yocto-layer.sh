#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# packaging/yocto/meta-update1 without a Yocto build (none can run here; the layer's README.md
# says what is checked and what is not).  With tests/lib/bbcheck.py, a small reader of BitBake
# metadata:
#   - every .bb/.bbappend/.bbclass/.conf of the layer is BitBake syntax, its shell functions
#     pass bash -n, its python functions compile; the .wks uses wic's commands and options;
#   - "make install" with the recipe's own EXTRA_OEMAKE (expanded with bitbake.conf's default
#     directories, usrmerge) puts every file into exactly one package's FILES, and every FILES
#     pattern of the recipe's packages owns a file;
#   - each SYSTEMD_SERVICE is an installed unit owned by its package;
#   - the users and groups made by useradd are those of packaging/sysusers.d/*.conf;
#   - DEPENDS names a recipe for every pkg-config module of the Makefile's PKGS, and scdoc-native;
#   - LIC_FILES_CHKSUM is the md5 of LICENSE;
#   - the u-boot bbappend finds the files it fetches (the boot script is Update1's own);
#   - the image class calls "updatectl bundle create" only with options it has, installs
#     packages the recipe makes, and the wks' slot PARTLABELs are those system.conf.example names.
. "$(dirname "$0")/../lib/testlib.sh"

tl_require_cmd python3 make md5sum
LAYER=$UPDATE1_TOP/packaging/yocto/meta-update1
RECIPE=$LAYER/recipes-core/update1/update1_git.bb
BBAPPEND=$LAYER/recipes-bsp/u-boot/u-boot_%.bbappend
CLASS=$LAYER/classes/update1-image.bbclass
WKS=$LAYER/wic/update1-ab.wks
BB="python3 $UPDATE1_TOP/tests/lib/bbcheck.py"
WORK=$(mktemp -d /tmp/update1-yocto.XXXXXX) || { fail "$TL_FILE-setup" "mktemp failed"; exit 1; }
TL_ON_EXIT+=("rm -rf '$WORK'")
get() { $BB get "$RECIPE" "$@"; }

# ---- syntax --------------------------------------------------------------------------------
t_syntax() {
        local files
        mapfile -t files < <(find "$LAYER" -name '*.bb' -o -name '*.bbappend' -o -name '*.bbclass' -o -name '*.conf' | sort)
        [ ${#files[@]} -ge 5 ] || { TL_WHY="only ${#files[@]} metadata files found in $LAYER"; return 1; }
        run $BB syntax "${files[@]}"
        [ "$TL_RC" = 0 ] || { TL_WHY="$(_tl_out_excerpt)"; return 1; }
        run $BB wks "$WKS"
        [ "$TL_RC" = 0 ] || { TL_WHY="$(_tl_out_excerpt)"; return 1; }
        tl_diag "${#files[@]} metadata files and $(basename "$WKS") parsed"
}
tl_case layer-syntax t_syntax

# The syntax check can fail: an unquoted value, a function without its '}', bad shell.
t_syntax_detects() {
        local bad
        for bad in 'FOO = bar' $'do_x() {\n\techo' $'do_x() {\n\tif then\n}' $'python do_y() {\n    if\n}' \
                   'RDEPENDS:${PN} = "dbus'; do
                printf '%s\n' "$bad" >"$WORK/bad.bb"
                if $BB syntax "$WORK/bad.bb" >/dev/null 2>&1; then
                        TL_WHY="accepted: $bad"
                        return 1
                fi
        done
        printf 'part / --source rootfs --bogus\n' >"$WORK/bad.wks"
        ! $BB wks "$WORK/bad.wks" >/dev/null || { TL_WHY="accepted a wks option --bogus"; return 1; }
}
tl_case layer-syntax-check-detects-errors t_syntax_detects

# ---- make install with the recipe's EXTRA_OEMAKE ----------------------------------------------
# The install location variables the recipe passes (NAME=value words of EXTRA_OEMAKE whose NAME
# is PREFIX or ends in DIR), as bitbake would expand them.
mapfile -t LOCATIONS < <(get EXTRA_OEMAKE | tr ' ' '\n' | grep -E '^(PREFIX|[A-Z]+DIR)=')
t_locations() {
        local v
        for v in PREFIX BINDIR LIBEXECDIR DATADIR SYSCONFDIR LOCALSTATEDIR MANDIR BASHCOMPLETIONDIR; do
                printf '%s\n' "${LOCATIONS[@]}" | grep -q "^$v=/" || { TL_WHY="EXTRA_OEMAKE does not set $v"; return 1; }
        done
}
tl_case recipe-passes-install-locations t_locations

# The suite's build if it was made for these locations (nothing is rebuilt then), else a
# private one.  MAKEFLAGS and friends from a surrounding make must not leak in.
BUILD_DIR=$UPDATE1_BUILD
want=$(for v in "${LOCATIONS[@]}"; do case $v in MANDIR=* | BASHCOMPLETIONDIR=*) ;; *) echo "$v" ;; esac; done | sort)
have=$(sort "$UPDATE1_BUILD/.paths" 2>/dev/null)
[ "$want" = "$(grep -Ff <(printf '%s\n' "$want" | cut -d= -f1 | sed 's/$/=/') <<<"$have")" ] || BUILD_DIR=$WORK/build
[ -w "$UPDATE1_BUILD" ] || BUILD_DIR=$WORK/build
t_install() {
        env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u SANITIZE -u DESTDIR \
                make -C "$UPDATE1_TOP" --no-print-directory -j2 BUILD="$BUILD_DIR" DESTDIR="$WORK/root" \
                "${LOCATIONS[@]}" install >"$WORK/install.log" 2>&1 ||
                { TL_WHY="make install failed: $(tail -n 8 "$WORK/install.log" | tr '\n' ' ' | cut -c1-400)"; return 1; }
        tl_diag "installed with ${LOCATIONS[*]} (BUILD=$BUILD_DIR)"
}
tl_case make-install-recipe-locations t_install
[ -d "$WORK/root" ] || exit 1

t_files() {
        local bad n
        $BB files "$RECIPE" "$WORK/root" >"$WORK/files" || { TL_WHY="bbcheck files failed"; return 1; }
        n=$(grep -c '^file ' "$WORK/files")
        [ "$n" -ge 20 ] || { TL_WHY="only $n installed files found"; return 1; }
        # "file PATH PKG...": exactly one package.
        bad=$(awk '$1 == "file" && NF != 3 { print $2 " -> " ($3 == "-" ? "no package" : substr($0, index($0, $3))) }' "$WORK/files")
        [ -z "$bad" ] || { TL_WHY="not in exactly one package: $(tr '\n' ';' <<<"$bad")"; return 1; }
        bad=$(awk '$1 == "dead" { print $2 ": " $3 }' "$WORK/files")
        [ -z "$bad" ] || { TL_WHY="FILES patterns that own nothing: $(tr '\n' ';' <<<"$bad")"; return 1; }
        tl_diag "$n files, each in one package: $(awk '$1 == "file" { print $3 }' "$WORK/files" | sort | uniq -c | tr -s ' \n' ' ')"
}
tl_case files-each-in-one-package t_files

# The check can fail: a file the recipe has no package for.
t_files_detects() {
        mkdir -p "$WORK/root/usr/share/update1-stray" && touch "$WORK/root/usr/share/update1-stray/x"
        $BB files "$RECIPE" "$WORK/root" >"$WORK/files-stray"
        grep -q '^file /usr/share/update1-stray/x -$' "$WORK/files-stray" ||
                { TL_WHY="a stray file was not reported as unpackaged"; rm -rf "$WORK/root/usr/share/update1-stray"; return 1; }
        rm -rf "$WORK/root/usr/share/update1-stray"
}
tl_case files-check-detects-a-stray-file t_files_detects

t_systemd() {
        local pkg unit unitdir n=0
        unitdir=$(get systemd_system_unitdir)
        for pkg in $(get SYSTEMD_PACKAGES); do
                unit=$(get "SYSTEMD_SERVICE:$pkg" 2>/dev/null) || { TL_WHY="no SYSTEMD_SERVICE:$pkg"; return 1; }
                for unit in $unit; do
                        n=$((n + 1))
                        [ -f "$WORK/root$unitdir/$unit" ] || { TL_WHY="SYSTEMD_SERVICE:$pkg=$unit is not installed in $unitdir"; return 1; }
                        grep -qx "file $unitdir/$unit $pkg" "$WORK/files" ||
                                { TL_WHY="$unit is not in package $pkg"; return 1; }
                done
        done
        # And every installed unit is someone's SYSTEMD_SERVICE.
        for unit in "$WORK/root$unitdir"/*.service; do
                get SYSTEMD_PACKAGES | tr ' ' '\n' | while read -r pkg; do get "SYSTEMD_SERVICE:$pkg"; done |
                        tr ' ' '\n' | grep -qx "$(basename "$unit")" || { TL_WHY="$(basename "$unit") is in no SYSTEMD_SERVICE"; return 1; }
        done
        [ "$n" -ge 3 ] || { TL_WHY="only $n units in SYSTEMD_SERVICE"; return 1; }
}
tl_case systemd-services-installed t_systemd

# ---- users, dependencies, licence ------------------------------------------------------------
t_users() {
        local want have pkg
        # sysusers.d: "g NAME -" and "u NAME -:GROUP ..."
        want=$(awk '$1 == "g" { print "group " $2 } $1 == "u" { split($3, a, ":"); print "user " $2 " " a[2] }' \
                "$UPDATE1_TOP"/packaging/sysusers.d/*.conf | sort -u)
        have=$(for pkg in $(get USERADD_PACKAGES); do
                        get "GROUPADD_PARAM:$pkg" 2>/dev/null | awk '{ print "group " $NF }'
                        get "USERADD_PARAM:$pkg" 2>/dev/null |
                                awk '{ for (i = 1; i < NF; i++) if ($i == "--gid" || $i == "-g") g = $(i + 1); print "user " $NF " " g }'
                done | sort -u)
        expect_eq "$have" "$want" "users and groups of useradd vs packaging/sysusers.d/*.conf"
}
tl_case useradd-matches-sysusers t_users

t_depends() {
        local deps pkgs m r
        deps=" $(get DEPENDS) "
        pkgs=$(sed -n 's/^PKGS\(_DLOPEN\)\? *:= *//p' "$UPDATE1_TOP/Makefile")   # linked and dlopen()ed
        [ -n "$pkgs" ] || { TL_WHY="no PKGS := in the Makefile"; return 1; }
        for m in $pkgs; do
                # pkg-config module -> the OE-core recipe that provides it.
                case $m in
                libsystemd) r=systemd ;; libcurl) r=curl ;; blkid) r=util-linux ;; libzstd) r=zstd ;;
                libmosquitto) r=mosquitto ;;    # meta-networking (LAYERDEPENDS)
                openssl | json-c | libubootenv) r=$m ;; libsquashfs1) r=squashfs-tools-ng ;;
                *) TL_WHY="pkg-config module $m of the Makefile: which recipe? (add it here and to DEPENDS)"; return 1 ;;
                esac
                [[ $deps == *" $r "* ]] || { TL_WHY="DEPENDS lacks $r (for $m)"; return 1; }
        done
        [[ $deps == *" scdoc-native "* ]] || { TL_WHY="DEPENDS lacks scdoc-native (man pages)"; return 1; }
}
tl_case depends-cover-makefile-pkgs t_depends

t_license() {
        local want
        want=$(md5sum <"$UPDATE1_TOP/LICENSE" | cut -d' ' -f1)
        expect_eq "$(get LIC_FILES_CHKSUM)" "file://LICENSE;md5=$want" "LIC_FILES_CHKSUM"
}
tl_case license-checksum t_license

# ---- u-boot bbappend, image class, wks -------------------------------------------------------
t_bbappend() {
        local dirs src f d found env
        dirs=$($BB get "$BBAPPEND" FILESEXTRAPATHS "THISDIR=$(dirname "$BBAPPEND")") || { TL_WHY="no FILESEXTRAPATHS"; return 1; }
        src=$($BB get "$BBAPPEND" SRC_URI) || { TL_WHY="no SRC_URI"; return 1; }
        for f in $(tr ' ' '\n' <<<"$src" | sed -n 's|^file://||p'); do
                found=
                for d in ${dirs//:/ }; do
                        [ -f "$d/$f" ] && found=$d/$f && break
                done
                [ -n "$found" ] || { TL_WHY="SRC_URI file://$f is in none of $dirs"; return 1; }
        done
        # The boot script fetched is the one Update1 ships, and UBOOT_ENV names it.
        env=$($BB get "$BBAPPEND" UBOOT_ENV)
        [[ " $src " == *" file://$env.cmd "* ]] || { TL_WHY="UBOOT_ENV=$env but SRC_URI has no $env.cmd"; return 1; }
        for d in ${dirs//:/ }; do
                [ -f "$d/$env.cmd" ] && break
        done
        cmp -s "$d/$env.cmd" "$UPDATE1_TOP/packaging/bootloader/uboot-boot.cmd" ||
                { TL_WHY="$d/$env.cmd is not packaging/bootloader/uboot-boot.cmd"; return 1; }
        expect_eq "$($BB get "$BBAPPEND" UBOOT_ENV_SUFFIX)" scr "UBOOT_ENV_SUFFIX (mkimage -T script)"
}
tl_case uboot-bbappend-files t_bbappend

t_class_bundle_options() {
        local used have o
        used=$(sed -n '/^IMAGE_CMD:update1bundle()/,/^}/p' "$CLASS" | grep -oE '(^|[[:space:]])(--[a-z][a-z-]*|-o)([[:space:]]|$)' | tr -d ' \t' | sort -u)
        [ -n "$used" ] || { TL_WHY="no updatectl bundle create options found in the class"; return 1; }
        have=$("$UPDATE1_BUILD/updatectl" bundle create --help | python3 "$UPDATE1_TOP/tests/lib/mancheck.py" help-options)
        for o in $used; do
                grep -qx -- "$o" <<<"$have" || { TL_WHY="the class passes $o, which updatectl bundle create does not have"; return 1; }
        done
        for o in --cert --key --compatible --version --image -o; do
                grep -qx -- "$o" <<<"$used" || { TL_WHY="the class does not pass $o"; return 1; }
        done
        tl_diag "options used: $(tr '\n' ' ' <<<"$used")"
}
[ -x "$UPDATE1_BUILD/updatectl" ] || { fail "$TL_FILE" "$UPDATE1_BUILD/updatectl is not built (make all)"; exit 1; }
tl_case image-class-bundle-options t_class_bundle_options

t_class_packages() {
        local made p
        made=" $(get PACKAGE_BEFORE_PN) $(get PN) "
        for p in $($BB get "$CLASS" IMAGE_INSTALL); do
                case $p in update1*) [[ $made == *" $p "* ]] || { TL_WHY="the class installs $p, which the recipe does not make"; return 1; } ;; esac
        done
}
tl_case image-class-packages t_class_packages

t_wks_partlabels() {
        local want have
        want=$(sed -n 's/^device=PARTLABEL=//p' "$UPDATE1_TOP/packaging/config/system.conf.example" | sort)
        have=$(grep -oE -- '--part-name rootfs-[a-z]+' "$WKS" | awk '{ print $2 }' | sort)
        expect_eq "$have" "$want" "the wks' rootfs PARTLABELs vs system.conf.example"
}
tl_case wks-partlabels t_wks_partlabels
