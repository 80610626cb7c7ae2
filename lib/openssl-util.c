/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "openssl-util.h"

/* The reason of the most recent OpenSSL error, for messages; clears the queue. */
const char *openssl_reason(void) {
        static __thread char buf[256];
        unsigned long e = ERR_peek_last_error();
        const char *s = e ? ERR_reason_error_string(e) : NULL;

        snprintf(buf, sizeof(buf), "%s", s ?: "unknown OpenSSL error");
        ERR_clear_error();
        return buf;
}

/* Appends every certificate of a PEM file to 'certs'.  A file without any certificate is an
 * error: a typo in a keyring path must not silently trust nothing. */
int openssl_load_pem_certs(const char *path, STACK_OF(X509) *certs, UError *err) {
        _cleanup_(BIO_freep) BIO *b = NULL;
        unsigned n = 0;

        ERR_clear_error();
        b = BIO_new_file(path, "r");
        if (!b) {
                int r = errno > 0 ? -errno : -ENOENT;

                ERR_clear_error();
                return uerror_set(err, ERROR_FAILED, r, "Failed to open certificate file %s: %s",
                                  path, strerror(-r));
        }
        for (;;) {
                X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

                if (!x) {
                        unsigned long e = ERR_peek_last_error();

                        if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                            ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                                ERR_clear_error();
                                break;
                        }
                        if (n == 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                                ERR_clear_error();
                                return uerror_set(err, ERROR_FAILED, -ENOKEY,
                                                  "No certificate found in %s", path);
                        }
                        return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                          "Failed to parse certificate in %s: %s", path,
                                          openssl_reason());
                }
                if (!sk_X509_push(certs, x)) {
                        X509_free(x);
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                }
                n++;
        }
        return 0;
}
