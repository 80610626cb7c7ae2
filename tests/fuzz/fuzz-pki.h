/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The fuzz PKI.  Committed, certificates only (tests/fuzz/pki, made by make-corpus.sh together
 * with the seeds signed under it; the private keys were thrown away):
 *   root.pem   self-signed root CA (valid 100 years)
 *   inter.pem  CA under root
 * The seeds are signed by "signer" (codeSigning, under inter, which they embed) and "direct"
 * (codeSigning, under root).  Keyrings made here, in the harness's temp directory:
 *   strict      root + inter in a keyring directory, bundle intermediates not allowed
 *   permissive  root only, allow-bundle-intermediates (the embedded inter must do)
 * fuzz_pki_runtime() additionally makes a throw-away root + signer with a private key at start-up
 * (openssl CLI), for targets that sign what the fuzzer wrote; its root is in both keyrings. */

#include <stdio.h>
#include <stdlib.h>

#include "cms.h"
#include "fuzz.h"

typedef struct FuzzPki {
        Keyring *strict;
        Keyring *permissive;
        char *signer_cert; /* runtime signer (NULL unless with_runtime) */
        char *signer_key;
} FuzzPki;

static inline void fuzz_pki_load(FuzzPki *p, bool with_runtime) {
        UError err = UERROR_NULL;
        char *strict, *permissive;

        fuzz_shell("mkdir -p strict permissive && cp '%s/root.pem' '%s/inter.pem' strict/ && "
                   "cp '%s/root.pem' permissive/",
                   fuzz_pki_dir(), fuzz_pki_dir(), fuzz_pki_dir());
        if (with_runtime) {
                fuzz_shell("printf '[req]\\ndistinguished_name=dn\\n[dn]\\n"
                           "[v3_ca]\\nbasicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
                           "[v3_signer]\\nbasicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
                           "extendedKeyUsage=codeSigning\\n' >rt.cnf && "
                           "openssl req -x509 -new -config rt.cnf -extensions v3_ca -newkey ec "
                           "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 -subj '/CN=fuzz runtime root' "
                           "-keyout rt-root.key -out rt-root.pem && "
                           "openssl req -new -config rt.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-subj '/CN=fuzz runtime signer' -keyout rt-signer.key -out rt-signer.csr && "
                           "openssl x509 -req -in rt-signer.csr -CA rt-root.pem -CAkey rt-root.key -set_serial 2 "
                           "-days 36500 -extfile rt.cnf -extensions v3_signer -out rt-signer.pem && "
                           "cp rt-root.pem strict/ && cp rt-root.pem permissive/");
                p->signer_cert = (char *) fuzz_path("rt-signer.pem");
                p->signer_key = (char *) fuzz_path("rt-signer.key");
        }
        strict = (char *) fuzz_path("strict");
        permissive = (char *) fuzz_path("permissive");
        if (keyring_load(NULL, strict, false, &p->strict, &err) < 0 ||
            keyring_load(NULL, permissive, true, &p->permissive, &err) < 0) {
                fprintf(stderr, "fuzz harness: keyring: %s\n", err.message);
                abort();
        }
}
