/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "error.h"
#include "macro.h"

/* The trust anchors and the policy a bundle signature is verified against (cms.c): roots,
 * intermediates, CRLs, which certificates in the CMS may link a signer, the signer's purpose,
 * and the time floor. */
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

/* What cms.c reads when it verifies; only keyring.c changes it. */
/* Keyring.purpose[]: codesign or smimesign, whichever the signer passes (RAUC bundles' default). */
#define CMS_PURPOSE_CODESIGN_OR_SMIME (-1)

struct Keyring {
        X509_STORE *store;             /* the roots: the only trust anchors */
        STACK_OF(X509) *intermediates; /* keyring certs usable to build a chain, never anchors */
        bool allow_bundle_intermediates;
        bool allow_rauc_intermediates; /* the same for RAUC bundles (keyring_set_rauc_intermediates) */
        /* [keyring] check-purpose= per origin: 0 = "codesign" (our own checks below), an
         * OpenSSL purpose id (X509_PURPOSE_SMIME_SIGN, X509_PURPOSE_ANY, ...), or
         * CMS_PURPOSE_CODESIGN_OR_SMIME */
        int purpose[2];
        unsigned n_roots;
        unsigned n_crls;
        /* Newest trusted time seen (the daemon's anti-rollback time floor); read by verifying
         * threads while the main loop may raise it, hence atomic. */
        uint64_t time_floor;
};
