#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hostile [custom] bootloader backend for the attack suite.  The mode is read from the
# file $HOSTILE_MODE_FILE on every call (so one running daemon sees all modes):
#   (empty)      behave: exec tests/fakes/custom-backend.sh (state in $UPDATE1_CUSTOM_STATE)
#   huge         query verbs print 10 MiB without a newline
#   nul          query verbs print their real answer, then NUL, then garbage
#   multiline    query verbs print two lines ("B" and "A", "bad" and "good")
#   binary       query verbs print binary garbage (with NUL and 0xff bytes)
#   empty        query verbs print nothing, exit 0
#   unknown      query verbs print a bootname that is not configured ("C"); get-state "C"
#   long         query verbs print a 100 000-character word
#   exit255      every verb writes 100 KiB of junk to stderr and exits 255
#   signal       every verb kills itself with SIGSEGV
#   set-fails    set-* verbs write binary junk to stderr and exit 1; queries behave
# Every call is logged to $HOSTILE_MODE_FILE.log.
set -u
mode=$(cat "${HOSTILE_MODE_FILE:?}" 2>/dev/null)
echo "$mode $*" >>"$HOSTILE_MODE_FILE.log"
real() { exec bash "${HOSTILE_REAL_BACKEND:?}" "$@"; }
case ${1:-} in
get-*) query=1 ;;
*) query=0 ;;
esac

case $mode in
"") real "$@" ;;
exit255)
        head -c 100000 /dev/zero | tr '\0' 'e' >&2
        exit 255 ;;
signal) kill -SEGV $$ ;;
set-fails)
        [ $query = 1 ] && real "$@"
        printf 'junk\0\377\033[2J' >&2
        exit 1 ;;
esac
[ $query = 1 ] || real "$@"
case $mode in
huge) head -c $((10 << 20)) /dev/zero | tr '\0' 'A' ;;
nul)
        if [ "$1" = get-state ]; then printf 'good\0bad\n'; else printf 'A\0B\n'; fi ;;
multiline)
        if [ "$1" = get-state ]; then printf 'bad\ngood\n'; else printf 'B\nA\n'; fi ;;
binary) printf 'A\001\002\000\377\376\033[31m\n\t\r' ;;
empty) ;;
unknown) echo C ;;
long) head -c 100000 /dev/zero | tr '\0' 'A'; echo ;;
*) echo "hostile-backend: unknown mode '$mode'" >&2; exit 2 ;;
esac
exit 0
