/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "cms-der.h"
#include "cms.h"
#include "openssl-util.h"

#ifndef UPDATE1_BUILD_EPOCH
#define UPDATE1_BUILD_EPOCH 0ULL /* the Makefile sets the real build time */
#endif

static void BIO_free_allp(BIO **b) {
        if (*b)
                BIO_free_all(*b);
}

static void EVP_PKEY_freep(EVP_PKEY **k) {
        if (*k)
                EVP_PKEY_free(*k);
}

static void CMS_ContentInfo_freep(CMS_ContentInfo **c) {
        if (*c)
                CMS_ContentInfo_free(*c);
}

static void X509_STORE_CTX_freep(X509_STORE_CTX **c) {
        if (*c)
                X509_STORE_CTX_free(*c);
}


/* Only the stack, not the certificates (CMS_get0_signers(), sk_X509_dup()). */
static void x509_stack_shallow_freep(STACK_OF(X509) **s) {
        if (*s)
                sk_X509_free(*s);
}


static int sig_invalid(UError *err, const char *reason) {
        return uerror_set(err, ERROR_SIGNATURE_INVALID, -EBADMSG, "Bundle signature invalid: %s",
                          reason);
}

static char *name_to_string(const X509_NAME *name) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *data, *s;
        long n;

        if (!b || X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
                return NULL;
        n = BIO_get_mem_data(b, &data);
        if (n < 0)
                return NULL;
        s = strndup(n > 0 ? data : "", (size_t) n);
        return s;
}


static int no_password_cb(char *buf, int size, int rwflag, void *u) {
        return -1; /* never prompt: bundle creation runs unattended */
}

int cms_sign(const void *content, size_t size, const char *cert_path, const char *key_path,
             const char *intermediate_path, uint8_t **ret_der, size_t *ret_size, UError *err) {
        _cleanup_(x509_stack_freep) STACK_OF(X509) *intermediates = NULL;
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL, *in = NULL;
        unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
        unsigned char *der = NULL;
        char *data;
        int n;

        ERR_clear_error();
        /* OpenSSL takes int lengths; a larger value would wrap and sign less than intended. */
        if (size > INT_MAX)
                return uerror_set(err, ERROR_FAILED, -EFBIG, "Content of %zu bytes is too large to sign",
                                  size);

        b = BIO_new_file(cert_path, "r");
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "Failed to open certificate %s: %s",
                                  cert_path, openssl_reason());
        cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!cert)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "Failed to parse certificate %s: %s",
                                  cert_path, openssl_reason());
        BIO_free(b);

        b = BIO_new_file(key_path, "r");
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "Failed to open key %s: %s", key_path,
                                  openssl_reason());
        key = PEM_read_bio_PrivateKey(b, NULL, no_password_cb, NULL);
        if (!key)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "Failed to load private key %s (unencrypted PEM expected): %s",
                                  key_path, openssl_reason());
        if (X509_check_private_key(cert, key) != 1)
                return uerror_set(err, ERROR_FAILED, -EKEYREJECTED,
                                  "Private key %s does not belong to certificate %s: %s", key_path,
                                  cert_path, openssl_reason());

        intermediates = sk_X509_new_null();
        if (!intermediates)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        if (intermediate_path) {
                int r = openssl_load_pem_certs(intermediate_path, intermediates, err);
                if (r < 0)
                        return r;
        }

        in = BIO_new_mem_buf(content, (int) size);
        if (!in || BIO_get_mem_data(in, &data) != (long) size || data != content)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Failed to wrap content for signing");

        cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
        if (!cms)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to create CMS: %s", openssl_reason());
        if (!CMS_add1_signer(cms, cert, key, EVP_sha256(), CMS_BINARY | CMS_NOSMIMECAP))
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to add CMS signer: %s",
                                  openssl_reason());
        for (int i = 0; i < sk_X509_num(intermediates); i++)
                if (!CMS_add1_cert(cms, sk_X509_value(intermediates, i)))
                        return uerror_set(err, ERROR_FAILED, -EIO,
                                          "Failed to add intermediate certificate: %s",
                                          openssl_reason());
        if (CMS_final(cms, in, NULL, CMS_BINARY) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to sign: %s", openssl_reason());

        n = i2d_CMS_ContentInfo(cms, &der);
        if (n <= 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to encode CMS: %s",
                                  openssl_reason());

        /* Hand out malloc() memory so callers free() it like everything else. */
        *ret_der = malloc((size_t) n);
        if (!*ret_der) {
                OPENSSL_free(der);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        memcpy(*ret_der, der, (size_t) n);
        OPENSSL_free(der);
        *ret_size = (size_t) n;
        return 0;
}

static bool digest_allowed(int nid) {
        return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* A certificate for code signing: leaf, EKU codeSigning present and explicit, key usage (if
 * present) allows signatures. */
static int check_signer_cert(X509 *signer, bool codesign, UError *err) {
        uint32_t flags = X509_get_extension_flags(signer);

        if (flags & EXFLAG_INVALID)
                return sig_invalid(err, "signer certificate has invalid extensions");
        if (X509_check_ca(signer) != 0)
                return sig_invalid(err, "signer certificate is a CA certificate");
        if (codesign && (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(signer) & XKU_CODE_SIGN)))
                return sig_invalid(err, "signer certificate lacks extended key usage codeSigning");
        if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE))
                return sig_invalid(err, "signer certificate key usage lacks digitalSignature");
        return 0;
}

/* CAs in the chain that restrict their extended key usage must allow code signing (as RAUC's
 * check-purpose=codesign does). */
static int check_chain_eku(STACK_OF(X509) *chain, UError *err) {
        for (int i = 1; i < sk_X509_num(chain); i++) {
                X509 *x = sk_X509_value(chain, i);

                if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
                    !(X509_get_extended_key_usage(x) & (XKU_CODE_SIGN | XKU_ANYEKU)))
                        return sig_invalid(err, "a CA certificate in the chain excludes codeSigning");
        }
        return 0;
}

static bool embedded_allowed(const Keyring *k, CmsOrigin origin) {
        return origin == CMS_ORIGIN_RAUC ? k->allow_rauc_intermediates : k->allow_bundle_intermediates;
}

static int verify_chain(const Keyring *k, CmsOrigin origin, int purpose, CMS_ContentInfo *cms, X509 *signer,
                        UError *err) {
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(x509_stack_freep) STACK_OF(X509) *embedded = NULL;
        _cleanup_(x509_stack_shallow_freep) STACK_OF(X509) *untrusted = NULL;
        X509_VERIFY_PARAM *param;
        time_t now = time(NULL);
        char reason[512];

        untrusted = sk_X509_dup(k->intermediates);
        ctx = X509_STORE_CTX_new();
        if (!untrusted || !ctx)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        /* Certificates carried in the bundle only ever help to build a chain, never end one; and
         * only when the keyring allows it (a sibling intermediate under the same root would
         * otherwise pass). */
        if (embedded_allowed(k, origin)) {
                embedded = CMS_get1_certs(cms);
                for (int i = 0; embedded && i < sk_X509_num(embedded); i++)
                        if (!sk_X509_push(untrusted, sk_X509_value(embedded, i)))
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }

        if (X509_STORE_CTX_init(ctx, k->store, signer, untrusted) != 1)
                return sig_invalid(err, openssl_reason());
        param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        /* Level 2: RSA/DSA >= 2048, ECC >= 224 bits, no SHA-1 signatures in the chain. */
        X509_VERIFY_PARAM_set_auth_level(param, 2);
        /* A device whose clock was reset to 1970 must not accept certificates that expired before
         * this software was built. */
        if ((uint64_t) now < UPDATE1_BUILD_EPOCH)
                now = (time_t) UPDATE1_BUILD_EPOCH;
        /* ...nor ones that expired before the newest trusted time this device has seen. */
        if ((uint64_t) now < __atomic_load_n(&k->time_floor, __ATOMIC_RELAXED))
                now = (time_t) __atomic_load_n(&k->time_floor, __ATOMIC_RELAXED);
        X509_VERIFY_PARAM_set_time(param, now);
        /* check-purpose= other than codesign: OpenSSL's purpose check of the chain, as RAUC */
        if (purpose != 0 && X509_VERIFY_PARAM_set_purpose(param, purpose) != 1)
                return sig_invalid(err, openssl_reason());

        if (X509_verify_cert(ctx) != 1) {
                int e = X509_STORE_CTX_get_error(ctx);
                X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
                _cleanup_free_ char *subject = bad ? name_to_string(X509_get_subject_name(bad)) : NULL;

                ERR_clear_error();
                if (e == X509_V_OK)
                        e = X509_V_ERR_UNSPECIFIED;
                if (subject)
                        snprintf(reason, sizeof(reason), "%s (%s)", X509_verify_cert_error_string(e),
                                 subject);
                else
                        snprintf(reason, sizeof(reason), "%s", X509_verify_cert_error_string(e));
                return sig_invalid(err, reason);
        }
        return purpose == 0 ? check_chain_eku(X509_STORE_CTX_get0_chain(ctx), err) : 0;
}

static int verify_purpose(const Keyring *k, CmsOrigin origin, int purpose, CMS_ContentInfo *cms, X509 *signer,
                          UError *err) {
        int r = verify_chain(k, origin, purpose, cms, signer, err);
        return r < 0 ? r : check_signer_cert(signer, purpose == 0, err);
}

/* The chain to a root and the signer's purpose.  CMS_PURPOSE_CODESIGN_OR_SMIME (RAUC bundles
 * without check-purpose=): everything RAUC would accept (smimesign), and signers made for
 * Update1 (codesign), which RAUC's default would refuse. */
static int verify_signer(const Keyring *k, CmsOrigin origin, CMS_ContentInfo *cms, X509 *signer, UError *err) {
        UError first = UERROR_NULL;

        if (k->purpose[origin] != CMS_PURPOSE_CODESIGN_OR_SMIME)
                return verify_purpose(k, origin, k->purpose[origin], cms, signer, err);
        if (verify_purpose(k, origin, 0, cms, signer, &first) >= 0)
                return 0;
        if (verify_purpose(k, origin, X509_PURPOSE_SMIME_SIGN, cms, signer, NULL) >= 0)
                return 0;
        ERR_clear_error();
        return uerror_set(err, first.kind, first.error, "%s (nor does it pass check-purpose smimesign)", first.message);
}

/* Seconds since the epoch of an ASN1_TIME, or -1. */
static int64_t asn1_time_to_epoch(const ASN1_TIME *t) {
        struct tm tm = {};

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return -1;
        return (int64_t) timegm(&tm);
}

/* The newest time this signature vouches for: the signer's notBefore (its CA said so), or
 * the signed signingTime attribute if it lies within the signer's validity.  A signingTime
 * outside it is ignored: a build server with a wrong clock must not push the floor past the
 * certificate's own expiry and lock the device out of every later update. */
static uint64_t trusted_time(CMS_SignerInfo *si, X509 *signer) {
        int64_t not_before = asn1_time_to_epoch(X509_get0_notBefore(signer));
        int64_t not_after = asn1_time_to_epoch(X509_get0_notAfter(signer));
        int64_t best = MAX(not_before, (int64_t) 0);
        int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
        X509_ATTRIBUTE *a = idx >= 0 ? CMS_signed_get_attr(si, idx) : NULL;
        ASN1_TYPE *v = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;

        if (v && (v->type == V_ASN1_UTCTIME || v->type == V_ASN1_GENERALIZEDTIME)) {
                int64_t t = asn1_time_to_epoch((const ASN1_TIME *) v->value.asn1_string);

                if (t >= 0 && not_before >= 0 && not_after >= 0 && t >= not_before && t <= not_after)
                        best = MAX(best, t);
        }
        ERR_clear_error();
        return (uint64_t) best;
}

/* Signature, content digest (reading 'content' to its end), signer certificate and chain: what
 * attached and detached signatures have in common. */
static int verify_signed_data(const Keyring *k, CmsOrigin origin, CMS_ContentInfo *cms, BIO *content, char **ret_signer,
                              uint64_t *ret_trusted_time, UError *err) {
        _cleanup_(x509_stack_shallow_freep) STACK_OF(X509) *signers = NULL;
        _cleanup_free_ char *subject = NULL;
        STACK_OF(CMS_SignerInfo) *infos;
        X509_ALGOR *digest = NULL;
        const ASN1_OBJECT *obj;
        char reason[300];
        int r;

        infos = CMS_get0_SignerInfos(cms);
        if (!infos || sk_CMS_SignerInfo_num(infos) == 0)
                return sig_invalid(err, "no signer");
        if (sk_CMS_SignerInfo_num(infos) != 1)
                return sig_invalid(err, "more than one signer");
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, 0), NULL, NULL, &digest, NULL);
        if (!digest)
                return sig_invalid(err, "no digest algorithm");
        X509_ALGOR_get0(&obj, NULL, NULL, digest);
        if (!digest_allowed(OBJ_obj2nid(obj)))
                return sig_invalid(err, "digest algorithm not allowed (SHA-256, SHA-384 or SHA-512)");

        /* Signature and content digest only; the chain is verified below against the keyring
         * alone, because CMS_verify() would also build chains through embedded certificates. */
        if (CMS_verify(cms, NULL, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
                unsigned long e = ERR_peek_last_error();

                if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
                    ERR_GET_REASON(e) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
                        ERR_clear_error();
                        return sig_invalid(err, "signer certificate not found in the signature");
                }
                snprintf(reason, sizeof(reason), "signature verification failed: %s",
                         openssl_reason());
                return sig_invalid(err, reason);
        }

        signers = CMS_get0_signers(cms);
        if (!signers || sk_X509_num(signers) != 1 || !sk_X509_value(signers, 0))
                return sig_invalid(err, "no signer certificate");

        r = verify_signer(k, origin, cms, sk_X509_value(signers, 0), err);
        if (r < 0)
                return r;

        subject = name_to_string(X509_get_subject_name(sk_X509_value(signers, 0)));
        if (!subject)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        ERR_clear_error();

        if (ret_trusted_time)
                *ret_trusted_time = trusted_time(sk_CMS_SignerInfo_value(infos, 0), sk_X509_value(signers, 0));
        if (ret_signer)
                *ret_signer = TAKE_PTR(subject);
        return 0;
}

int cms_verify_in_place(const Keyring *k, const uint8_t *der, size_t size, size_t *ret_content_offset,
                        size_t *ret_content_size, char **ret_signer, uint64_t *ret_trusted_time, UError *err) {
        return cms_verify_in_place_as(k, CMS_ORIGIN_UPDATE1, der, size, ret_content_offset, ret_content_size,
                                      ret_signer, ret_trusted_time, err);
}

int cms_verify_in_place_as(const Keyring *k, CmsOrigin origin, const uint8_t *der, size_t size,
                           size_t *ret_content_offset, size_t *ret_content_size, char **ret_signer,
                           uint64_t *ret_trusted_time, UError *err) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(BIO_free_allp) BIO *content = NULL;
        _cleanup_free_ uint8_t *detached = NULL;
        _cleanup_free_ char *subject = NULL;
        const unsigned char *p;
        CmsDerLayout l;
        size_t detached_size;
        char reason[300];
        int r;

        if (!k)
                return sig_invalid(err, "no keyring");
        ERR_clear_error();
        if (size == 0)
                return sig_invalid(err, "signature is empty");
        if (size > INT_MAX)
                return sig_invalid(err, "signature is too large");

        /* The content stays where it is; OpenSSL parses a copy of the rest, without it (d2i of
         * the whole blob copied the content once more, CMS_verify() into a memory BIO twice). */
        r = cms_der_layout(der, size, &l, err);
        if (r < 0)
                return r;
        if (l.head_size + l.tail_size > CMS_MAX_ENVELOPE_SIZE) {
                snprintf(reason, sizeof(reason), "certificates and signer information take %zu bytes, more "
                         "than the limit of %d", l.head_size + l.tail_size, CMS_MAX_ENVELOPE_SIZE);
                return sig_invalid(err, reason);
        }
        if (cms_der_detached(der, &l, &detached, &detached_size) < 0)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        p = detached;
        cms = d2i_CMS_ContentInfo(NULL, &p, (long) detached_size);
        if (!cms)
                return sig_invalid(err, "not a DER-encoded CMS structure");
        if (p != detached + detached_size)
                return sig_invalid(err, "not a DER-encoded CMS structure");
        /* cms_der_layout() checked both types; OpenSSL's view must agree. */
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
            OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
                return sig_invalid(err, "unexpected CMS content type");

        /* The content is read from the caller's buffer and only digested (no output BIO). */
        /* Behind a null filter: given a memory BIO, CMS_verify() of OpenSSL 3.0 reads through a
         * private copy of it, which it leaks when the digest set-up fails (found by fuzz-cms). */
        content = BIO_new(BIO_f_null());
        if (!content || !BIO_push(content, BIO_new_mem_buf(der + l.content_offset, (int) l.content_size)) ||
            !BIO_next(content))
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = verify_signed_data(k, origin, cms, content, &subject, ret_trusted_time, err);
        if (r < 0)
                return r;
        *ret_content_offset = l.content_offset;
        *ret_content_size = l.content_size;
        if (ret_signer)
                *ret_signer = TAKE_PTR(subject);
        return 0;
}

int cms_verify(const Keyring *k, const uint8_t *der, size_t size, char **ret_content,
               size_t *ret_content_size, char **ret_signer, uint64_t *ret_trusted_time, UError *err) {
        _cleanup_free_ char *content = NULL, *signer = NULL;
        uint64_t t = 0;
        size_t offset, n;
        int r;

        r = cms_verify_in_place(k, der, size, &offset, &n, &signer, &t, err);
        if (r < 0)
                return r;
        content = malloc(n + 1);
        if (!content)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        memcpy(content, der + offset, n);
        content[n] = 0;

        if (ret_trusted_time)
                *ret_trusted_time = t;
        *ret_content = TAKE_PTR(content);
        *ret_content_size = n;
        if (ret_signer)
                *ret_signer = TAKE_PTR(signer);
        return 0;
}

int cms_kind(const uint8_t *der, size_t size) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        const unsigned char *p = der;
        int nid, r;

        if (size == 0 || size > INT_MAX)
                return -EBADMSG;
        cms = d2i_CMS_ContentInfo(NULL, &p, (long) size);
        if (!cms || p != der + size)
                r = -EBADMSG;
        else if ((nid = OBJ_obj2nid(CMS_get0_type(cms))) == NID_pkcs7_enveloped ||
                 nid == NID_id_smime_ct_authEnvelopedData)
                r = -EMEDIUMTYPE;
        else if (nid != NID_pkcs7_signed)
                r = -EBADMSG;
        else
                r = CMS_is_detached(cms) == 1 ? CMS_KIND_DETACHED : CMS_KIND_ATTACHED;
        ERR_clear_error();
        return r;
}

/* A source BIO over the caller's read function: OpenSSL digests the content as it pulls it, so
 * the caller sees every byte exactly once (and can hash it for its own use on the way). */
typedef struct ReadBio {
        CmsReadFn fn;
        void *userdata;
        int error;
} ReadBio;

static int read_bio_read(BIO *b, char *buf, int size) {
        ReadBio *rb = BIO_get_data(b);
        size_t n = 0;
        int r;

        if (size <= 0)
                return 0;
        r = rb->fn(rb->userdata, buf, (size_t) size, &n);
        if (r < 0) {
                rb->error = r;
                return -1;
        }
        return (int) n;
}

static long read_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
        return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int read_bio_create(BIO *b) {
        BIO_set_init(b, 1);
        return 1;
}

int cms_verify_detached(const Keyring *k, const uint8_t *der, size_t size, CmsReadFn fn, void *userdata,
                        char **ret_signer, uint64_t *ret_trusted_time, UError *err) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(BIO_freep) BIO *content = NULL;
        _cleanup_free_ char *subject = NULL;
        BIO_METHOD *meth = NULL;
        ReadBio rb = { .fn = fn, .userdata = userdata };
        UError local = UERROR_NULL;
        const unsigned char *p = der;
        int r;

        if (!k)
                return sig_invalid(err, "no keyring");
        ERR_clear_error();
        if (size == 0)
                return sig_invalid(err, "signature is empty");
        if (size > CMS_MAX_ENVELOPE_SIZE)
                return sig_invalid(err, "signature is larger than the limit of 64 KiB");
        cms = d2i_CMS_ContentInfo(NULL, &p, (long) size);
        if (!cms || p != der + size)
                return sig_invalid(err, "not a DER-encoded CMS structure");
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
            OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
                return sig_invalid(err, "unexpected CMS content type");
        if (CMS_is_detached(cms) != 1)
                return sig_invalid(err, "signature is not detached");

        meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "update1-read");
        if (!meth || BIO_meth_set_read(meth, read_bio_read) != 1 || BIO_meth_set_ctrl(meth, read_bio_ctrl) != 1 ||
            BIO_meth_set_create(meth, read_bio_create) != 1 || !(content = BIO_new(meth))) {
                BIO_meth_free(meth);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        BIO_set_data(content, &rb);

        r = verify_signed_data(k, CMS_ORIGIN_RAUC, cms, content, &subject, ret_trusted_time, &local);
        BIO_free(TAKE_PTR(content));
        BIO_meth_free(meth);
        /* What failed was reading the content, not the signature: say so. */
        if (rb.error == -ECANCELED)
                return uerror_set(err, ERROR_CANCELLED, rb.error, "Installation cancelled");
        if (rb.error < 0)
                return uerror_set(err, ERROR_IO, rb.error, "Failed to read the signed bundle content: %s",
                                  strerror(-rb.error));
        if (r < 0) {
                if (err && !uerror_is_set(err))
                        *err = local;
                return r;
        }
        if (ret_signer)
                *ret_signer = TAKE_PTR(subject);
        return 0;
}
