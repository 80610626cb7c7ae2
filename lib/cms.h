/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keyring.h"
#include "macro.h"

/* CMS SignedData (DER) with the content attached, SHA-256, signer cert included,
 * 'intermediate_path' certs (PEM, may be NULL) included. */
int cms_sign(const void *content, size_t size, const char *cert_path, const char *key_path,
             const char *intermediate_path, uint8_t **ret_der, size_t *ret_size, UError *err);

/* Verifies 'der' against the keyring and returns the signed content.  Exactly one signer; the
 * signer certificate must chain to a root of the keyring (through keyring intermediates, and
 * through certificates in the CMS only if allow_bundle_intermediates), must carry extended key
 * usage codeSigning, and must be valid now.  Nothing of the content is looked at before this
 * succeeds.  Errors are ERROR_SIGNATURE_INVALID with a reason, e.g.
 * "Bundle signature invalid: certificate has expired".  *ret_trusted_time (may be NULL): the
 * newest time the signature vouches for (signer notBefore, or signingTime within the signer's
 * validity), for the daemon's time floor. */
int cms_verify(const Keyring *k, const uint8_t *der, size_t size, char **ret_content,
               size_t *ret_content_size, char **ret_signer, uint64_t *ret_trusted_time, UError *err);

/* Everything of the signature but the signed content (certificates, signer information) may take
 * at most this much (RAUC's limit for its whole CMS): it is what OpenSSL parses and copies. */
#define CMS_MAX_ENVELOPE_SIZE (64 * 1024)

/* cms_verify() without a copy of the content: it is der[*ret_content_offset ..
 * + *ret_content_size), verified where it lies (no NUL after it).  The signature must be
 * definite-length DER with the content in one primitive OCTET STRING (what cms_sign() and
 * `openssl cms -sign -outform DER` write); memory use beyond 'der' is about
 * CMS_MAX_ENVELOPE_SIZE, whatever the size of the content. */
int cms_verify_in_place(const Keyring *k, const uint8_t *der, size_t size, size_t *ret_content_offset,
                        size_t *ret_content_size, char **ret_signer, uint64_t *ret_trusted_time, UError *err);
int cms_verify_in_place_as(const Keyring *k, CmsOrigin origin, const uint8_t *der, size_t size,
                           size_t *ret_content_offset, size_t *ret_content_size, char **ret_signer,
                           uint64_t *ret_trusted_time, UError *err);


/* What a CMS blob (DER) is: CMS_KIND_DETACHED or CMS_KIND_ATTACHED SignedData, -EMEDIUMTYPE for
 * EnvelopedData (an encrypted bundle), -EBADMSG for anything else.  Nothing is verified. */
#define CMS_KIND_ATTACHED 0
#define CMS_KIND_DETACHED 1
int cms_kind(const uint8_t *der, size_t size);

/* Reads up to 'size' bytes of the content into buf; *ret = 0 only at its end. */
typedef int (*CmsReadFn)(void *userdata, void *buf, size_t size, size_t *ret);

/* cms_verify() for a detached signature (at most CMS_MAX_ENVELOPE_SIZE bytes) over content
 * that 'fn' streams, read once to its end.  Only RAUC's plain bundles sign that way: certificates
 * in the CMS follow keyring_set_rauc_intermediates(). */
int cms_verify_detached(const Keyring *k, const uint8_t *der, size_t size, CmsReadFn fn, void *userdata,
                        char **ret_signer, uint64_t *ret_trusted_time, UError *err);
