/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "url.h"

#define REDACTED "<redacted>"

/* ASCII only: the locale must not change what counts as a URL. */
static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_scheme_char(char c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

/* Length of "scheme" if s starts with scheme "://" (RFC 3986: ALPHA *(ALPHA / DIGIT / + - .)),
 * else 0. */
static size_t scheme_length(const char *s, size_t size) {
        size_t n = 0;

        if (size == 0 || !is_alpha(s[0]))
                return 0;
        while (n < size && is_scheme_char(s[n]))
                n++;
        return size - n >= 3 && memcmp(s + n, "://", 3) == 0 ? n : 0;
}

/* host[:port] as RFC 3986 allows it after the userinfo: an IP literal in brackets or a
 * reg-name, and a port of digits only.  Anything else is most likely the rest of a password
 * that held an unescaped '/', '?' or '#' and cut the authority short. */
static bool host_port_valid(const char *s, size_t size) {
        size_t p = 0;

        if (size > 0 && s[0] == '[') {
                for (p = 1; p < size && s[p] != ']'; p++)
                        if (!is_digit(s[p]) && !strchr("abcdefABCDEF:.", s[p]))
                                return false;
                if (p == size)
                        return false;
                p++;
        } else
                for (; p < size && s[p] != ':'; p++)
                        if (!is_alpha(s[p]) && !is_digit(s[p]) && !strchr("-._~%!$&'()*+,;=", s[p]))
                                return false;
        if (p == size)
                return true;
        if (s[p] != ':')
                return false;
        for (p++; p < size; p++)
                if (!is_digit(s[p]))
                        return false;
        return true;
}

/* Writes the redacted form of the URL s[0, size), which starts with a scheme of length n. */
static void redact_one(FILE *f, const char *s, size_t size, size_t n) {
        const char *rest = s + n + 3, *at = NULL, *slash;
        size_t end = strcspn(rest, "?#"), authority;

        if (end > size - n - 3)
                end = size - n - 3;
        fwrite(s, 1, n + 3, f);

        /* Everything up to the last '@' before the query is userinfo.  One past the first '/'
         * means the URL is malformed (or has a path with '@'): say that something was cut. */
        for (size_t i = 0; i < end; i++)
                if (rest[i] == '@')
                        at = rest + i;
        slash = memchr(rest, '/', end);
        if (at) {
                if (slash && slash < at)
                        fputs(REDACTED "@", f);
                end -= (size_t) (at + 1 - rest);
                rest = at + 1;
                slash = memchr(rest, '/', end);
        }

        authority = slash ? (size_t) (slash - rest) : end;
        if (host_port_valid(rest, authority))
                fwrite(rest, 1, end, f);
        else {
                fputs(REDACTED, f);
                fwrite(rest + authority, 1, end - authority, f);
        }

        /* The query and the fragment go whole: a signature, a token or a session id may sit in
         * any parameter. */
        if (rest + end < s + size) {
                fputc(rest[end], f);
                /* An empty query (the text goes on with "<redacted>": a URL redacted before, as
                 * a log line of an already redacted source) has nothing to hide: idempotent. */
                if (rest + end + 1 < s + size)
                        fputs(REDACTED, f);
        }
}

static int redact(const char *text, bool whole, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0, len = strlen(text);
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                size_t n = 0, token;

                if (whole ? i == 0 : i == 0 || !is_scheme_char(text[i - 1]))
                        n = scheme_length(text + i, len - i);
                if (n == 0) {
                        if (whole) {
                                fputs(text, f);
                                break;
                        }
                        fputc(text[i++], f);
                        continue;
                }
                token = whole ? len - i : strcspn(text + i, " \t\r\n\"'<>");
                redact_one(f, text + i, token, n);
                i += token;
        }
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(TAKE_PTR(f)) != 0 || r < 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int url_redact(const char *url, char **ret) {
        if (!url || !ret)
                return -EINVAL;
        return redact(url, true, ret);
}

int url_redact_text(const char *text, char **ret) {
        if (!text || !ret)
                return -EINVAL;
        return redact(text, false, ret);
}
