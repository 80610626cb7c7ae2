/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "error.h"

/* What the keyring (keyring.c) and CMS (cms.c) both need of OpenSSL: cleanup helpers for
 * _cleanup_(), error reasons for messages, and reading PEM certificates. */

static inline void BIO_freep(BIO **b) {
        if (*b)
                BIO_free(*b);
}

static inline void X509_freep(X509 **x) {
        if (*x)
                X509_free(*x);
}

static inline void x509_stack_freep(STACK_OF(X509) **s) {
        if (*s)
                sk_X509_pop_free(*s, X509_free);
}

/* The reason of the most recent OpenSSL error, for messages; clears the queue. */
const char *openssl_reason(void);

/* Appends every certificate of a PEM file to 'certs'.  A file without any certificate is an
 * error: a typo in a keyring path must not silently trust nothing. */
int openssl_load_pem_certs(const char *path, STACK_OF(X509) *certs, UError *err);
