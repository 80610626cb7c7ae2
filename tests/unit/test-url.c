/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "unit.h"
#include "url.h"

/* url_redact(in) == want, and no secret word survives. */
static void check_url(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        CHECK_EQ(url_redact(in, &out), 0);
        CHECK_STREQ(out, want);
        if (out)
                CHECK(!strstr(out, "SECRET") && !strstr(out, "hunter2"));
}

static void check_text(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        CHECK_EQ(url_redact_text(in, &out), 0);
        CHECK_STREQ(out, want);
}

TEST(plain) {
        /* Nothing secret: unchanged. */
        check_url("http://updates.example.com/board/v2.bundle", "http://updates.example.com/board/v2.bundle");
        check_url("https://127.0.0.1:8443/a/b.bundle", "https://127.0.0.1:8443/a/b.bundle");
        check_url("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x");
        check_url("http://host", "http://host");
        check_url("http://host/", "http://host/");
        /* Not a URL: a path or "fd" is copied, '?' and '@' in it included. */
        check_url("/var/lib/bundles/v2?.bundle", "/var/lib/bundles/v2?.bundle");
        check_url("fd", "fd");
        check_url("", "");
}

TEST(userinfo) {
        check_url("http://user:hunter2@host/x.bundle", "http://host/x.bundle");
        check_url("https://user:hunter2@host:8443/x.bundle", "https://host:8443/x.bundle");
        check_url("http://SECRET@host", "http://host");
        check_url("http://user:hun@ter2@host/x", "http://host/x");
        check_url("http://user:hunter2@[::1]:80/x", "http://[::1]:80/x");
        /* An unescaped '/' in the password: the '@' is in what parses as the path. */
        check_url("http://user:hunter/2@host/x", "http://<redacted>@host/x");
        /* An unescaped '?' or '#' in it: the authority does not parse, the rest is a query. */
        check_url("http://user:hun?ter2@host/x", "http://<redacted>?<redacted>");
        check_url("http://user:SECRET#x@host/x", "http://<redacted>#<redacted>");
        check_url("http://us er:hunter2/x", "http://<redacted>/x");
}

TEST(query_fragment) {
        check_url("https://bucket.s3.amazonaws.com/v2.bundle?X-Amz-Credential=AKIA&X-Amz-Signature=SECRET",
                  "https://bucket.s3.amazonaws.com/v2.bundle?<redacted>");
        check_url("http://host/x?SECRET#frag", "http://host/x?<redacted>");
        check_url("http://host/x#SECRET", "http://host/x#<redacted>");
        check_url("http://host?token=SECRET", "http://host?<redacted>");
        /* an empty query hides nothing (and keeps redaction idempotent, below) */
        check_url("http://host/x?", "http://host/x?");
        check_url("http://u:hunter2@host:1/p/q.bundle?sig=SECRET&a=@b", "http://host:1/p/q.bundle?<redacted>");
        check_url("HTTPS://host/x?SECRET", "HTTPS://host/x?<redacted>");
}

TEST(text) {
        check_text("Could not resolve host: example.com", "Could not resolve host: example.com");
        /* idempotent: a message that quotes an already redacted URL (lib/log.c redacts every
         * log line) stays as it is */
        check_text("Install of http://h/x?<redacted> failed", "Install of http://h/x?<redacted> failed");
        check_text("Download of http://u:hunter2@h/x?sig=SECRET failed: 404",
                   "Download of http://h/x?<redacted> failed: 404");
        check_text("'http://a@h/?SECRET' and <https://h2/p#SECRET>", "'http://h/?<redacted>' and <https://h2/p#<redacted>>");
        check_text("two: http://h/a?1 http://h/b?2", "two: http://h/a?<redacted> http://h/b?<redacted>");
        check_text("no scheme: host/x?a=1 and x://", "no scheme: host/x?a=1 and x://");
        check_text("", "");
}

TEST(errors) {
        char *out = NULL;

        CHECK_EQ(url_redact(NULL, &out), -EINVAL);
        CHECK_EQ(url_redact("http://h", NULL), -EINVAL);
        CHECK_EQ(url_redact_text(NULL, &out), -EINVAL);
        CHECK(out == NULL);
}

UNIT_MAIN_BEGIN("test-url")
        RUN(plain);
        RUN(userinfo);
        RUN(query_fragment);
        RUN(text);
        RUN(errors);
UNIT_MAIN_END
