/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

typedef struct Keyring Keyring;

/* Whose signature it is: the keyring's rules for certificates carried in the CMS and for the
 * signer's purpose differ. */
typedef enum CmsOrigin {
        CMS_ORIGIN_UPDATE1, /* allow_bundle_intermediates; check-purpose codesign */
        CMS_ORIGIN_RAUC,    /* keyring_set_rauc_intermediates(); RAUC's default purpose smimesign */
} CmsOrigin;

/* Loads trusted roots from 'path' (PEM bundle) and/or every *.pem or *.crt in 'directory', or
 * file named as in OpenSSL's hash directory ("<hash>.0", RAUC's layout) (self-signed certs
 * there are roots, the rest are intermediates usable for chaining).
 * Fails if no root was found. */
int keyring_load(const char *path, const char *directory, bool allow_bundle_intermediates,
                 Keyring **ret, UError *err);
/* [keyring] check-crl=true: adds the CRLs of 'path' (PEM blocks next to the roots, RAUC's
 * layout) and of *.crl / *.pem / "<hash>.r0" files in 'directory', and makes verification require a current
 * CRL for every certificate of the chain.  Fails if no CRL was found. */
int keyring_load_crls(Keyring *k, const char *path, const char *directory, UError *err);
/* Whether certificates carried in a RAUC bundle's CMS may link its signer to a root (RAUC always
 * lets them; keyring_load() sets it like allow_bundle_intermediates). */
void keyring_set_rauc_intermediates(Keyring *k, bool allow);
/* [keyring] check-purpose= (RAUC's): "codesign" (extended key usage codeSigning on the signer,
 * no CA of the chain excluding it) or an OpenSSL purpose name ("smimesign", "any", ...) checked
 * by OpenSSL on the chain; NULL restores the origin's default: codesign for Update1 bundles;
 * for RAUC bundles codesign or smimesign (RAUC's own default), so that nothing RAUC accepted
 * without check-purpose= is refused, nor a signer made for Update1. */
int keyring_set_purpose(Keyring *k, CmsOrigin origin, const char *purpose, UError *err);
/* Certificates are checked at max(clock, build time, t): t is the newest trusted time seen. */
void keyring_set_time_floor(Keyring *k, uint64_t t);
Keyring *keyring_free(Keyring *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(Keyring *, keyring_free);

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
