/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A URL for logs, D-Bus properties, signals and error messages: scheme://host[:port]/path with
 * the userinfo (user:password@) dropped and the query and fragment replaced by "?<redacted>"
 * or "#<redacted>".  Pre-signed download URLs carry their credential in the query
 * (?X-Amz-Signature=..., ?token=...) and basic-auth URLs in the userinfo; LastError, the
 * Completed signal and the journal are readable by far more users than the caller.
 * A string that is not scheme://... (a path, "fd") is copied unchanged.  An authority whose
 * host[:port] does not parse (e.g. a password with an unescaped '/') is replaced whole. */
int url_redact(const char *url, char **ret);

/* The same for every scheme://... token inside free text (e.g. a libcurl error message),
 * a token ending at white space, a quote, '<', '>' or the end of the text. */
int url_redact_text(const char *text, char **ret);
