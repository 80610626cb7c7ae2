/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "keyring.h"
#include "openssl-util.h"

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

/* OpenSSL's hash directory, RAUC's [keyring] directory= layout (X509_LOOKUP_hash_dir(3)):
 * "<8 hex digits>.<N>" for a certificate, "<8 hex digits>.r<N>" for a CRL. */
static bool is_hash_name(const char *name, bool crl) {
        size_t i;

        for (i = 0; i < 8; i++)
                if (!isxdigit((unsigned char) name[i]))
                        return false;
        if (name[i++] != '.')
                return false;
        if (crl && name[i++] != 'r')
                return false;
        if (!isdigit((unsigned char) name[i]))
                return false;
        for (; name[i]; i++)
                if (!isdigit((unsigned char) name[i]))
                        return false;
        return true;
}

/* Calls fn(path, userdata, err) for every certificate file (crls: CRL file) of the keyring
 * directory: *.pem and *.crt (*.crl and *.pem), or OpenSSL hash names as RAUC's keyrings use
 * them; hidden files skipped; stops at the first error. */
static int for_each_keyring_file(const char *directory, bool crls,
                                 int (*fn)(const char *path, void *userdata, UError *err), void *userdata,
                                 UError *err) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(directory);
        if (!d)
                return uerror_set(err, ERROR_FAILED, -errno, "Failed to open keyring directory %s: %s",
                                  directory, strerror(errno));
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (!has_suffix(de->d_name, crls ? ".crl" : ".crt") && !has_suffix(de->d_name, ".pem") &&
                    !is_hash_name(de->d_name, crls))
                        continue;
                if (asprintf(&p, "%s/%s", directory, de->d_name) < 0)
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                r = fn(p, userdata, err);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return uerror_set(err, ERROR_FAILED, -errno, "Failed to read keyring directory %s: %s",
                                  directory, strerror(errno));
        return 0;
}

static int load_pem_certs_cb(const char *path, void *certs, UError *err) {
        return openssl_load_pem_certs(path, certs, err);
}

Keyring *keyring_free(Keyring *k) {
        if (!k)
                return NULL;
        X509_STORE_free(k->store);
        sk_X509_pop_free(k->intermediates, X509_free);
        return mfree(k);
}

int keyring_load(const char *path, const char *directory, bool allow_bundle_intermediates,
                 Keyring **ret, UError *err) {
        _cleanup_(x509_stack_freep) STACK_OF(X509) *certs = NULL;
        _cleanup_(keyring_freep) Keyring *k = NULL;
        int r;

        if (isempty(path) && isempty(directory))
                return uerror_set(err, ERROR_FAILED, -ENOKEY, "No keyring configured");

        k = calloc(1, sizeof(Keyring));
        certs = sk_X509_new_null();
        if (!k || !certs)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        k->allow_bundle_intermediates = allow_bundle_intermediates;
        k->allow_rauc_intermediates = allow_bundle_intermediates;
        k->purpose[CMS_ORIGIN_UPDATE1] = 0;
        k->purpose[CMS_ORIGIN_RAUC] = CMS_PURPOSE_CODESIGN_OR_SMIME;
        k->store = X509_STORE_new();
        k->intermediates = sk_X509_new_null();
        if (!k->store || !k->intermediates)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        if (!isempty(path)) {
                r = openssl_load_pem_certs(path, certs, err);
                if (r < 0)
                        return r;
        }
        if (!isempty(directory)) {
                r = for_each_keyring_file(directory, false, load_pem_certs_cb, certs, err);
                if (r < 0)
                        return r;
        }

        /* Chains must end in a self-signed keyring certificate (no partial chains), so only those
         * go into the store; the rest can only link a signer to such a root. */
        while (sk_X509_num(certs) > 0) {
                _cleanup_(X509_freep) X509 *x = sk_X509_shift(certs);

                if (X509_self_signed(x, 1) == 1) {
                        if (X509_STORE_add_cert(k->store, x) != 1) {
                                ERR_clear_error(); /* a duplicate root is harmless */
                                continue;
                        }
                        k->n_roots++;
                } else {
                        if (!sk_X509_push(k->intermediates, x))
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        x = NULL;
                }
        }
        ERR_clear_error();
        if (k->n_roots == 0)
                return uerror_set(err, ERROR_FAILED, -ENOKEY,
                                  "Keyring %s%s%s has no root (self-signed) certificate",
                                  path ?: "", !isempty(path) && !isempty(directory) ? " + " : "",
                                  directory ?: "");

        *ret = TAKE_PTR(k);
        return 0;
}

int keyring_set_purpose(Keyring *k, CmsOrigin origin, const char *purpose, UError *err) {
        int idx;

        if (!purpose) {
                k->purpose[origin] = origin == CMS_ORIGIN_RAUC ? CMS_PURPOSE_CODESIGN_OR_SMIME : 0;
                return 0;
        }
        if (streq(purpose, "codesign")) {
                k->purpose[origin] = 0;
                return 0;
        }
        idx = X509_PURPOSE_get_by_sname(purpose);
        if (idx < 0)
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Unknown certificate purpose '%s'", purpose);
        k->purpose[origin] = X509_PURPOSE_get_id(X509_PURPOSE_get0(idx));
        return 0;
}

void keyring_set_rauc_intermediates(Keyring *k, bool allow) {
        k->allow_rauc_intermediates = allow;
}

void keyring_set_time_floor(Keyring *k, uint64_t t) {
        if (k)
                __atomic_store_n(&k->time_floor, t, __ATOMIC_RELAXED);
}

/* Adds every CRL of a PEM file to the store (certificates in it are ignored here: they were
 * loaded, or deliberately not, by keyring_load()). */
static int load_pem_crls(const char *path, void *userdata, UError *err) {
        Keyring *k = userdata;
        _cleanup_(BIO_freep) BIO *b = NULL;
        STACK_OF(X509_INFO) *infos;
        int r = 0;

        ERR_clear_error();
        b = BIO_new_file(path, "r");
        if (!b) {
                r = errno > 0 ? -errno : -ENOENT;
                ERR_clear_error();
                return uerror_set(err, ERROR_FAILED, r, "Failed to open CRL file %s: %s", path, strerror(-r));
        }
        infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
        if (!infos)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "Failed to parse %s: %s", path, openssl_reason());
        for (int i = 0; i < sk_X509_INFO_num(infos) && r >= 0; i++) {
                X509_INFO *info = sk_X509_INFO_value(infos, i);

                if (!info->crl)
                        continue;
                if (X509_STORE_add_crl(k->store, info->crl) != 1)
                        r = uerror_set(err, ERROR_FAILED, -EBADMSG, "Failed to add a CRL of %s: %s", path,
                                       openssl_reason());
                else
                        k->n_crls++;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        return r;
}

int keyring_load_crls(Keyring *k, const char *path, const char *directory, UError *err) {
        int r;

        if (!isempty(path)) {
                r = load_pem_crls(path, k, err);
                if (r < 0)
                        return r;
        }
        if (!isempty(directory)) {
                r = for_each_keyring_file(directory, true, load_pem_crls, k, err);
                if (r < 0)
                        return r;
        }
        /* check-crl=true with nothing to check against would refuse every bundle ("unable to
         * get certificate CRL"): say so at start-up instead. */
        if (k->n_crls == 0)
                return uerror_set(err, ERROR_FAILED, -ENOKEY,
                                  "check-crl=true, but no CRL found in the keyring %s%s%s",
                                  path ?: "", !isempty(path) && !isempty(directory) ? " + " : "",
                                  directory ?: "");
        /* Every certificate of the chain, not only the signer, must be covered by a CRL of its
         * issuer (as RAUC does): a revoked intermediate must not keep signing. */
        X509_STORE_set_flags(k->store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        return 0;
}
