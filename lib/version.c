/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Version ordering for anti-rollback.  Written from the UAPI Version Format Specification 1.0
 * (https://uapi-group.org/specifications/specs/version_format_specification/, "Version
 * Comparison", steps 1-8, referred to below by number) and kept step for step equal to systemd's
 * strverscmp_improved() (src/fundamental/string-util-fundamental.c, LGPL-2.1-or-later like this
 * file), which the spec names as its implementation: a version that `systemd-analyze
 * compare-versions` (or sysupdate, or sd-boot) calls newer must be newer here too.
 *
 * Where the spec's prose and systemd differ, systemd wins, because that is what the rest of a
 * systemd-based system sorts by:
 *  - step 7 says an empty numeric prefix "evaluates as 0"; systemd makes any digit run newer than
 *    none (so 1.0 > 1.a and 0 > a, where the prose would give 1.0 < 1.a);
 *  - step 1 runs only at the top of each round: after a '~', '-', '^' or '.' was skipped, an
 *    ignored character is not skipped again before the end check or the segment comparison
 *    (so 1~ < 1~_ and 1-_a < 1-a, although 1_ == 1).
 * One exception the other way: at step 3 systemd compares the two next characters as (signed)
 * char, so where one string has ended and the other goes on with a byte >= 0x80 right after a
 * '~', it calls the ended one newer on x86 (1~ > 1~\xce\xb1) and older where char is unsigned
 * (arm).  Here, as the spec says, the string with something left is newer on every machine.
 * Earlier drafts of the spec (before 1.0) said '^' sorts higher than anything and that ''/'0'
 * sort below '~'; neither systemd nor rpm does that, and 1.0 corrected it. */
#include <string.h>

#include "macro.h"
#include "version.h"

static int sign(int x) {
        return (x > 0) - (x < 0);
}

static int cmp_size(size_t a, size_t b) {
        return (a > b) - (a < b);
}

/* ASCII only, whatever the locale: isdigit()/isalpha() may accept other bytes. */
static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_version_char(char c) {
        return is_digit(c) || is_alpha(c) || c == '~' || c == '-' || c == '^' || c == '.';
}

static size_t span(const char *s, bool (*class)(char)) {
        size_t n = 0;

        while (class(s[n]))
                n++;
        return n;
}

/* Steps 2, 4, 5 and 6 are the same rule for four characters: if only one side starts with c, that
 * side is older; if both do, both skip it.  Returns the comparison's result, or 0 to go on. */
static int compare_marker(const char **a, const char **b, char c) {
        if (**a != c && **b != c)
                return 0;
        if (**a != c)
                return 1;
        if (**b != c)
                return -1;
        (*a)++;
        (*b)++;
        return 0;
}

int version_compare(const char *a, const char *b) {
        a = a ?: "";
        b = b ?: "";

        for (;;) {
                size_t na, nb;
                int r;

                /* 1: characters outside [a-zA-Z0-9~^.-] only separate. */
                while (*a != '\0' && !is_version_char(*a))
                        a++;
                while (*b != '\0' && !is_version_char(*b))
                        b++;

                /* 2: a pre-release is older than everything, even than the end of the string
                 * (1.0~rc1 < 1.0), which is why this comes before 3. */
                r = compare_marker(&a, &b, '~');
                if (r != 0)
                        return r;

                /* 3: otherwise the string with something left is newer (1.0 < 1.0.0, 1.0 < 1.0^). */
                if (*a == '\0' || *b == '\0')
                        return (*a != '\0') - (*b != '\0');

                /* 4, 5, 6: '-' (release) < '^' (patch) < '.' (point release) < a segment, each
                 * only where the other side has something else. */
                r = compare_marker(&a, &b, '-');
                if (r != 0)
                        return r;
                r = compare_marker(&a, &b, '^');
                if (r != 0)
                        return r;
                r = compare_marker(&a, &b, '.');
                if (r != 0)
                        return r;

                if (is_digit(*a) || is_digit(*b)) {
                        /* 7: by value, without converting: an arbitrarily long digit run cannot
                         * overflow anything.  A run at all beats none (systemd, see the top). */
                        na = span(a, is_digit);
                        nb = span(b, is_digit);
                        r = (na > 0) - (nb > 0);
                        if (r != 0)
                                return r;
                        /* Without leading zeros the longer number is the bigger one; equal
                         * lengths compare digit by digit. */
                        while (*a == '0' && na > 0) {
                                a++;
                                na--;
                        }
                        while (*b == '0' && nb > 0) {
                                b++;
                                nb--;
                        }
                        r = cmp_size(na, nb);
                        if (r != 0)
                                return r;
                        r = sign(memcmp(a, b, na));
                        if (r != 0)
                                return r;
                } else {
                        /* 8: letters as bytes (A < Z < a), then the longer run is newer.  Either run
                         * may be empty (an ignored character right after a marker): then only the
                         * lengths decide, and two empty runs go round again. */
                        na = span(a, is_alpha);
                        nb = span(b, is_alpha);
                        r = sign(memcmp(a, b, MIN(na, nb)));
                        if (r != 0)
                                return r;
                        r = cmp_size(na, nb);
                        if (r != 0)
                                return r;
                }
                a += na;
                b += nb;
        }
}

bool version_is_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return false;
        n = strnlen(s, VERSION_MAX + 1);
        if (n > VERSION_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x21 || s[i] > 0x7e) /* char may be signed: bytes >= 0x80 are < 0 */
                        return false;
        return true;
}
