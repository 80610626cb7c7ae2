/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cms-der.h"
#include "cms.h"
#include "fileio.h"
#include "unit.h"
#include "test-pki.h"

static const char content[] = "{\"format\":1,\"hello\":\"manifest\"}";

static Keyring *keyring(const char *path, const char *dir, bool allow) {
        Keyring *k = NULL;
        UError err = UERROR_NULL;

        if (keyring_load(path, dir, allow, &k, &err) < 0)
                fprintf(stdout, "  keyring_load failed: %s\n", err.message);
        return k;
}

/* Signs 'content' with NAME.pem/NAME.key (+ intermediate file) and verifies with k.  Returns the
 * cms_verify() result; *err has the message. */
static int sign_and_verify(const char *name, const char *intermediate, const Keyring *k, UError *err,
                           char **ret_signer) {
        char cert[64], key[64];
        uint8_t *der = NULL;
        size_t der_size = 0, content_size = 0;
        char *out = NULL, *signer = NULL;
        UError serr = UERROR_NULL;
        int r;

        snprintf(cert, sizeof(cert), "%s.pem", name);
        snprintf(key, sizeof(key), "%s.key", name);
        r = cms_sign(content, strlen(content), pki(cert), pki(key), intermediate ? pki(intermediate) : NULL,
                     &der, &der_size, &serr);
        if (r < 0) {
                fprintf(stdout, "  cms_sign(%s) failed: %s\n", name, serr.message);
                return -999;
        }
        r = cms_verify(k, der, der_size, &out, &content_size, &signer, NULL, err);
        if (r >= 0) {
                if (content_size != strlen(content) || memcmp(out, content, content_size) != 0 ||
                    out[content_size] != 0) {
                        fprintf(stdout, "  verified content differs\n");
                        r = -998;
                }
                if (ret_signer)
                        *ret_signer = signer, signer = NULL;
        }
        free(der);
        free(out);
        free(signer);
        return r;
}

static bool verify_fails(const char *name, const char *intermediate, const Keyring *k, const char *why) {
        UError err = UERROR_NULL;
        int r = sign_and_verify(name, intermediate, k, &err, NULL);

        if (r >= 0 || err.kind != ERROR_SIGNATURE_INVALID ||
            !strstr(err.message, "Bundle signature invalid: ") || !strstr(err.message, why)) {
                fprintf(stdout, "  %s: expected '%s', got r=%d kind=%d '%s'\n", name, why, r, err.kind,
                        err.message);
                return false;
        }
        return true;
}

static bool verify_ok(const char *name, const char *intermediate, const Keyring *k) {
        UError err = UERROR_NULL;
        int r = sign_and_verify(name, intermediate, k, &err, NULL);

        if (r < 0)
                fprintf(stdout, "  %s: unexpected failure: %s\n", name, err.message);
        return r >= 0;
}

TEST(good_signer) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);
        UError err = UERROR_NULL;
        char *signer = NULL;

        CHECK(k);
        CHECK_EQ(sign_and_verify("direct", NULL, k, &err, &signer), 0);
        CHECK_STREQ(signer, "CN=direct");
        free(signer);
        keyring_free(k);
}

TEST(keyring_intermediates) {
        Keyring *root_only = keyring(pki("root.pem"), NULL, false);
        Keyring *with_dir = keyring(NULL, pki("keydir"), false);
        Keyring *both = keyring(pki("otherroot.pem"), pki("keydir"), false);

        CHECK(root_only && with_dir && both);
        /* signer is under inter: the keyring directory supplies it, root.pem alone does not. */
        CHECK(verify_ok("signer", NULL, with_dir));
        CHECK(verify_ok("signer", NULL, both));
        CHECK(verify_ok("other", NULL, both));
        CHECK(verify_fails("signer", NULL, root_only, "unable to get local issuer certificate"));
        keyring_free(root_only);
        keyring_free(with_dir);
        keyring_free(both);
}

static bool keyring_fails(const char *path, const char *dir, const char *why);

/* RAUC's [keyring] directory= is OpenSSL's hash directory: "<hash>.0" files, no suffix. */
TEST(keyring_hash_directory) {
        Keyring *k;

        CHECK(pki_run("mkdir -p hashdir && for c in root inter; do "
                  "cp $c.pem hashdir/$(openssl x509 -hash -noout -in $c.pem).0; done && "
                  "echo junk > hashdir/12345678.x0 && cp direct.key hashdir/1234567.0") == 0);
        k = keyring(NULL, pki("hashdir"), false);
        CHECK(k);
        CHECK(verify_ok("signer", NULL, k));
        keyring_free(k);
        /* without the root's file, nothing else there is taken for a certificate */
        CHECK(pki_run("rm -f hashdir/$(openssl x509 -hash -noout -in root.pem).0") == 0);
        CHECK(keyring_fails(NULL, pki("hashdir"), "has no root"));
}

/* Certificates carried in the signature help only if the keyring allows it, and they never
 * become trust anchors. */
TEST(bundle_intermediates) {
        Keyring *strict = keyring(pki("root.pem"), NULL, false);
        Keyring *allow = keyring(pki("root.pem"), NULL, true);
        Keyring *dir_strict = keyring(NULL, pki("keydir"), false);
        Keyring *other_allow = keyring(pki("otherroot.pem"), NULL, true);

        CHECK(strict && allow && dir_strict && other_allow);
        CHECK(verify_fails("signer", "inter.pem", strict, "unable to get local issuer certificate"));
        CHECK(verify_ok("signer", "inter.pem", allow));
        /* A sibling CA under the same root (SWUpdate CVE-2026-109399): refused unless allowed. */
        CHECK(verify_fails("sibling", "inter2.pem", dir_strict, "unable to get local issuer certificate"));
        CHECK(verify_ok("sibling", "inter2.pem", allow));
        /* Embedding a whole chain up to a foreign root does not make that root trusted. */
        pki_run("cat inter.pem root.pem > chain.pem");
        CHECK(verify_fails("signer", "chain.pem", other_allow, "self-signed certificate in certificate chain"));
        /* A CA in the chain whose EKU excludes code signing. */
        CHECK(verify_fails("undersa", "intersa.pem", allow, "excludes codeSigning"));
        keyring_free(strict);
        keyring_free(allow);
        keyring_free(dir_strict);
        keyring_free(other_allow);
}

TEST(bad_signers) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);

        CHECK(k);
        CHECK(verify_fails("expired", NULL, k, "certificate has expired"));
        CHECK(verify_fails("future", NULL, k, "certificate is not yet valid"));
        CHECK(verify_fails("noeku", NULL, k, "signer certificate lacks extended key usage codeSigning"));
        CHECK(verify_fails("serverauth", NULL, k, "signer certificate lacks extended key usage codeSigning"));
        CHECK(verify_fails("casigner", NULL, k, "signer certificate is a CA certificate"));
        CHECK(verify_fails("weak", NULL, k, "key too weak"));
        CHECK(verify_fails("other", NULL, k, "unable to get local issuer certificate"));
        /* The root itself is a CA, not a signer. */
        CHECK(verify_fails("root", NULL, k, "CA certificate"));
        keyring_free(k);
}

static bool der_fails(const Keyring *k, const uint8_t *der, size_t size, const char *why) {
        char *out = NULL, *signer = NULL;
        size_t n = 0;
        UError err = UERROR_NULL;
        int r = cms_verify(k, der, size, &out, &n, &signer, NULL, &err);

        free(out);
        free(signer);
        if (r >= 0 || err.kind != ERROR_SIGNATURE_INVALID || !strstr(err.message, why)) {
                fprintf(stdout, "  expected '%s', got r=%d '%s'\n", why, r, err.message);
                return false;
        }
        return true;
}

/* cms_verify_in_place_as() of a signature by NAME: 0, or the error (message in *err). */
static int verify_as(const char *name, const Keyring *k, CmsOrigin origin, UError *err) {
        char cert[64], key[64];
        uint8_t *der = NULL;
        size_t der_size = 0, off, n;
        UError serr = UERROR_NULL;
        int r;

        snprintf(cert, sizeof(cert), "%s.pem", name);
        snprintf(key, sizeof(key), "%s.key", name);
        if (cms_sign(content, strlen(content), pki(cert), pki(key), NULL, &der, &der_size, &serr) < 0)
                return -999;
        r = cms_verify_in_place_as(k, origin, der, der_size, &off, &n, NULL, NULL, err);
        free(der);
        return r;
}

/* RAUC's check-purpose: Update1 bundles default to codesign; RAUC bundles to codesign or
 * smimesign (everything RAUC 1.8 accepts without check-purpose=, and Update1's signers); a
 * written check-purpose= holds for both. */
TEST(check_purpose) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);
        UError err = UERROR_NULL;

        CHECK(k);
        CHECK(verify_as("noeku", k, CMS_ORIGIN_UPDATE1, &err) < 0);
        CHECK(strstr(err.message, "lacks extended key usage codeSigning"));
        CHECK_EQ(verify_as("noeku", k, CMS_ORIGIN_RAUC, &err), 0);
        CHECK_EQ(verify_as("direct", k, CMS_ORIGIN_RAUC, &err), 0);
        err = UERROR_NULL;
        CHECK(verify_as("serverauth", k, CMS_ORIGIN_RAUC, &err) < 0);
        CHECK(strstr(err.message, "nor does it pass check-purpose smimesign"));

        CHECK_EQ(keyring_set_purpose(k, CMS_ORIGIN_RAUC, "codesign", &err), 0);
        err = UERROR_NULL;
        CHECK(verify_as("noeku", k, CMS_ORIGIN_RAUC, &err) < 0);
        CHECK(strstr(err.message, "lacks extended key usage codeSigning"));
        CHECK_EQ(keyring_set_purpose(k, CMS_ORIGIN_RAUC, "smimesign", &err), 0);
        err = UERROR_NULL;
        CHECK(verify_as("direct", k, CMS_ORIGIN_RAUC, &err) < 0); /* EKU codeSigning only */
        CHECK(strstr(err.message, "unsuitable certificate purpose (CN=direct)"));
        CHECK_EQ(keyring_set_purpose(k, CMS_ORIGIN_UPDATE1, "any", &err), 0);
        CHECK_EQ(verify_as("serverauth", k, CMS_ORIGIN_UPDATE1, &err), 0);
        err = UERROR_NULL;
        CHECK(verify_as("casigner", k, CMS_ORIGIN_UPDATE1, &err) < 0); /* never a CA as signer */
        err = UERROR_NULL;
        CHECK(keyring_set_purpose(k, CMS_ORIGIN_UPDATE1, "frobnicate", &err) < 0);
        CHECK(strstr(err.message, "Unknown certificate purpose 'frobnicate'"));
        CHECK_EQ(keyring_set_purpose(k, CMS_ORIGIN_UPDATE1, NULL, &err), 0);
        err = UERROR_NULL;
        CHECK(verify_as("serverauth", k, CMS_ORIGIN_UPDATE1, &err) < 0);
        keyring_free(k);
}

static uint8_t *memmem_mut(uint8_t *h, size_t n, const void *needle, size_t m) {
        return memmem(h, n, needle, m);
}

TEST(malformed) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);
        uint8_t *der = NULL, *copy, *p;
        size_t size = 0;
        UError err = UERROR_NULL;
        uint8_t garbage[64];

        CHECK(k);
        CHECK_EQ(cms_sign(content, strlen(content), pki("direct.pem"), pki("direct.key"), NULL, &der,
                          &size, &err), 0);
        if (!der)
                return;
        copy = malloc(size + 1);

        CHECK(der_fails(k, der, 0, "signature is empty"));
        memset(garbage, 0x30, sizeof(garbage));
        CHECK(der_fails(k, garbage, sizeof(garbage), "not a DER-encoded CMS structure"));
        CHECK(der_fails(k, der, size - 1, "not a DER-encoded CMS structure"));
        CHECK(der_fails(k, der, size / 2, "not a DER-encoded CMS structure"));
        memcpy(copy, der, size);
        copy[size] = 0;
        CHECK(der_fails(k, copy, size + 1, "trailing bytes after the CMS structure"));

        /* One flipped bit in the signed content. */
        memcpy(copy, der, size);
        p = memmem_mut(copy, size, "manifest", 8);
        CHECK(p);
        if (p) {
                p[0] ^= 0x01;
                CHECK(der_fails(k, copy, size, "signature verification failed"));
        }
        /* ... and in the signature value at the very end. */
        memcpy(copy, der, size);
        copy[size - 2] ^= 0x01;
        CHECK(der_fails(k, copy, size, "signature verification failed"));

        CHECK(der_fails(NULL, der, size, "no keyring"));
        free(copy);
        free(der);
        keyring_free(k);
}

/* A growable DER writer for the framing variants below. */
typedef struct Der {
        uint8_t b[256 << 10];
        size_t n;
} Der;

static void der_put(Der *d, const void *p, size_t n) {
        memcpy(d->b + d->n, p, n);
        d->n += n;
}

/* TLV of 'tag' around body: the shortest length form, or 4 length bytes if long4, or the BER
 * indefinite form (0x80 ... 00 00) if indefinite. */
static void der_tlv(Der *d, uint8_t tag, const Der *body, bool long4, bool indefinite) {
        size_t n = body->n;

        d->b[d->n++] = tag;
        if (indefinite)
                d->b[d->n++] = 0x80;
        else if (n < 0x80 && !long4)
                d->b[d->n++] = (uint8_t) n;
        else {
                int bytes = long4 ? 4 : n <= 0xff ? 1 : n <= 0xffff ? 2 : 3;

                d->b[d->n++] = (uint8_t) (0x80 | bytes);
                for (int i = bytes - 1; i >= 0; i--)
                        d->b[d->n++] = (uint8_t) (n >> (8 * i));
        }
        der_put(d, body->b, n);
        if (indefinite)
                der_put(d, "\0\0", 2);
}

enum { SAME, OUTER_INDEFINITE, OUTER_LONG4, BIG_ENVELOPE, CONSTRUCTED_CONTENT };

/* Reassembles a signature from its parts (cms_der_layout()), with one change. */
static void der_variant(Der *out, const uint8_t *der, const CmsDerLayout *l, int variant) {
        static const uint8_t oid_signed[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
        static const uint8_t oid_data[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
        static Der a, b, c, e;

        a.n = 0; /* the eContent OCTET STRING */
        der_put(&a, der + l->content_offset, l->content_size);
        b.n = 0;
        der_tlv(&b, 0x04, &a, false, false);
        if (variant == CONSTRUCTED_CONTENT) {
                a = b;
                b.n = 0;
                der_tlv(&b, 0x24, &a, false, false);
        }
        a.n = 0; /* [0] eContent */
        der_tlv(&a, 0xa0, &b, false, false);
        b.n = 0; /* encapContentInfo */
        der_put(&b, oid_data, sizeof(oid_data));
        der_put(&b, a.b, a.n);
        e.n = 0;
        der_tlv(&e, 0x30, &b, false, false);

        c.n = 0; /* SignedData body */
        der_put(&c, der + l->head_offset, l->head_size);
        der_put(&c, e.b, e.n);
        if (variant == BIG_ENVELOPE) {
                /* crls [1] with 70000 bytes: never parsed, the size alone is refused */
                a.n = 70000;
                memset(a.b, 0, a.n);
                der_tlv(&c, 0xa1, &a, false, false);
        }
        der_put(&c, der + l->tail_offset, l->tail_size);
        a.n = 0;
        der_tlv(&a, 0x30, &c, false, false);
        b.n = 0;
        der_tlv(&b, 0xa0, &a, false, false);
        c.n = 0; /* ContentInfo body */
        der_put(&c, oid_signed, sizeof(oid_signed));
        der_put(&c, b.b, b.n);
        out->n = 0;
        der_tlv(out, 0x30, &c, variant == OUTER_LONG4, variant == OUTER_INDEFINITE);
}

/* The content is verified where it lies; the framing must be DER, the rest small. */
TEST(der_framing) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);
        static Der d;
        CmsDerLayout l;
        uint8_t *der = NULL;
        size_t size = 0, off = 0, n = 0;
        char *signer = NULL;
        UError err = UERROR_NULL;

        CHECK(k);
        CHECK_EQ(cms_sign(content, strlen(content), pki("direct.pem"), pki("direct.key"), NULL, &der, &size, &err), 0);
        if (!der || !k)
                return;
        CHECK_EQ(cms_verify_in_place(k, der, size, &off, &n, &signer, NULL, &err), 0);
        CHECK(n == strlen(content) && off + n <= size && memcmp(der + off, content, n) == 0);
        CHECK_STREQ(signer, "CN=direct");
        free(signer);

        CHECK_EQ(cms_der_layout(der, size, &l, &err), 0);
        CHECK(l.content_offset == off && l.content_size == n);
        CHECK(l.head_size + l.tail_size < 4096);
        /* The parts put together again give the same bytes: the layout is exact. */
        der_variant(&d, der, &l, SAME);
        CHECK(d.n == size && memcmp(d.b, der, size) == 0);

        der_variant(&d, der, &l, OUTER_INDEFINITE);
        CHECK(der_fails(k, d.b, d.n, "not a DER-encoded CMS structure"));
        der_variant(&d, der, &l, OUTER_LONG4);
        CHECK(der_fails(k, d.b, d.n, "not a DER-encoded CMS structure"));
        der_variant(&d, der, &l, CONSTRUCTED_CONTENT);
        CHECK(der_fails(k, d.b, d.n, "not a DER-encoded CMS structure"));
        der_variant(&d, der, &l, BIG_ENVELOPE);
        CHECK(der_fails(k, d.b, d.n, "certificates and signer information take"));
        CHECK(der_fails(k, d.b, d.n, "more than the limit of 65536"));
        free(der);
        keyring_free(k);
}

static bool file_fails(const Keyring *k, const char *file, const char *why) {
        char *data = NULL;
        size_t n = 0;
        bool ok;

        if (read_full_file(pki(file), 1 << 20, &data, &n) < 0) {
                fprintf(stdout, "  cannot read %s\n", file);
                return false;
        }
        ok = der_fails(k, (const uint8_t *) data, n, why);
        free(data);
        return ok;
}

/* Signatures made by the openssl CLI: one good (interoperability), the rest each break one rule. */
TEST(foreign_structures) {
        Keyring *k = keyring(pki("root.pem"), NULL, false);
        char *data = NULL, *out = NULL, *signer = NULL;
        size_t n = 0, m = 0;
        UError err = UERROR_NULL;
        const char *sign = "openssl cms -sign -binary -outform DER -in content.json";

        CHECK(k);
        CHECK(pki_run("printf '%%s' '%s' > content.json", content) == 0);
        CHECK(pki_run("%s -nodetach -md sha256 -signer direct.pem -inkey direct.key -out good.der", sign) == 0);
        CHECK(pki_run("%s -md sha256 -signer direct.pem -inkey direct.key -out detached.der", sign) == 0);
        CHECK(pki_run("%s -nodetach -md sha256 -signer direct.pem -inkey direct.key -signer signer.pem "
                  "-inkey signer.key -out two.der", sign) == 0);
        CHECK(pki_run("%s -nodetach -md sha1 -signer direct.pem -inkey direct.key -out sha1.der 2>/dev/null",
                  sign) == 0);
        CHECK(pki_run("%s -nodetach -md sha256 -nocerts -signer direct.pem -inkey direct.key -out nocerts.der",
                  sign) == 0);
        CHECK(pki_run("%s -nodetach -md sha256 -econtent_type 1.2.3.4 -signer direct.pem -inkey direct.key "
                  "-out econtent.der", sign) == 0);
        CHECK(pki_run("openssl cms -data_create -binary -outform DER -in content.json -out data.der") == 0);
        CHECK(pki_run("openssl cms -digest_create -binary -outform DER -in content.json -out digest.der") == 0);

        CHECK(read_full_file(pki("good.der"), 1 << 20, &data, &n) == 0);
        CHECK_EQ(cms_verify(k, (const uint8_t *) data, n, &out, &m, &signer, NULL, &err), 0);
        CHECK(out && m == strlen(content) && memcmp(out, content, m) == 0);
        CHECK_STREQ(signer, "CN=direct");
        free(data);
        free(out);
        free(signer);

        CHECK(file_fails(k, "detached.der", "content is detached"));
        CHECK(file_fails(k, "two.der", "more than one signer"));
        CHECK(file_fails(k, "sha1.der", "digest algorithm not allowed"));
        CHECK(file_fails(k, "nocerts.der", "signer certificate not found"));
        CHECK(file_fails(k, "econtent.der", "unexpected CMS content type"));
        CHECK(file_fails(k, "data.der", "CMS is not SignedData"));
        CHECK(file_fails(k, "digest.der", "CMS is not SignedData"));
        keyring_free(k);
}

static bool keyring_fails(const char *path, const char *dir, const char *why) {
        Keyring *k = NULL;
        UError err = UERROR_NULL;
        int r = keyring_load(path, dir, false, &k, &err);

        keyring_free(k);
        if (r >= 0 || !strstr(err.message, why)) {
                fprintf(stdout, "  expected '%s', got r=%d '%s'\n", why, r, err.message);
                return false;
        }
        return true;
}

TEST(keyring_errors) {
        CHECK(keyring_fails(NULL, NULL, "No keyring configured"));
        CHECK(keyring_fails(pki("missing.pem"), NULL, "Failed to open certificate file"));
        CHECK(keyring_fails(pki("direct.key"), NULL, "No certificate found"));
        CHECK(keyring_fails(pki("inter.pem"), NULL, "has no root (self-signed) certificate"));
        CHECK(keyring_fails(NULL, pki("missing-dir"), "Failed to open keyring directory"));

        CHECK(pki_run("mkdir -p onlyinter && cp inter.pem onlyinter/ && echo junk > onlyinter/README") == 0);
        CHECK(keyring_fails(NULL, pki("onlyinter"), "has no root"));
        CHECK(pki_run("mkdir -p badpem && cp root.pem badpem/ && "
                  "printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n' > badpem/x.crt") == 0);
        CHECK(keyring_fails(NULL, pki("badpem"), "Failed to parse certificate"));

        /* Non-certificate files and hidden files in the directory are ignored. */
        {
                Keyring *k = keyring(NULL, pki("keydir"), false);
                CHECK(k);
                keyring_free(k);
        }
        CHECK(pki_run("cp direct.key keydir/.hidden.pem && cp direct.key keydir/notes.txt") == 0);
        {
                Keyring *k = keyring(NULL, pki("keydir"), false);
                CHECK(k);
                keyring_free(k);
        }
        CHECK(pki_run("rm -f keydir/.hidden.pem keydir/notes.txt") == 0);
}

TEST(sign_errors) {
        uint8_t *der = NULL;
        size_t n = 0;
        UError err;

        err = UERROR_NULL;
        CHECK(cms_sign(content, strlen(content), pki("direct.pem"), pki("signer.key"), NULL, &der, &n,
                       &err) < 0);
        CHECK(strstr(err.message, "does not belong to certificate"));
        err = UERROR_NULL;
        CHECK(cms_sign(content, strlen(content), pki("missing.pem"), pki("direct.key"), NULL, &der, &n,
                       &err) < 0);
        CHECK(strstr(err.message, "Failed to open certificate"));
        err = UERROR_NULL;
        CHECK(cms_sign(content, strlen(content), pki("direct.pem"), pki("direct.pem"), NULL, &der, &n,
                       &err) < 0);
        CHECK(strstr(err.message, "Failed to load private key"));
        err = UERROR_NULL;
        CHECK(cms_sign(content, strlen(content), pki("direct.pem"), pki("direct.key"), pki("direct.key"),
                       &der, &n, &err) < 0);
        CHECK(strstr(err.message, "No certificate found"));
        /* Encrypted keys are refused instead of prompting. */
        CHECK(pki_run("openssl pkey -in direct.key -aes256 -passout pass:x -out enc.key") == 0);
        err = UERROR_NULL;
        CHECK(cms_sign(content, strlen(content), pki("direct.pem"), pki("enc.key"), NULL, &der, &n,
                       &err) < 0);
        CHECK(strstr(err.message, "unencrypted PEM expected"));
        CHECK(der == NULL);
}

UNIT_MAIN_BEGIN("test-cms")
        if (pki_setup() < 0) {
                unit_fail_case("pki_setup");
                return 1;
        }
        RUN(good_signer);
        RUN(keyring_intermediates);
        RUN(keyring_hash_directory);
        RUN(bundle_intermediates);
        RUN(bad_signers);
        RUN(check_purpose);
        RUN(malformed);
        RUN(foreign_structures);
        RUN(der_framing);
        RUN(keyring_errors);
        RUN(sign_errors);
        pki_cleanup();
UNIT_MAIN_END
