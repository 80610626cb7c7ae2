/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cms_verify() (lib/cms.c) on the input as a bundle's signature (DER CMS SignedData), against
 * both fuzz keyrings (fuzz-pki.h).  Fail closed: every rejection is ERROR_SIGNATURE_INVALID (or
 * an out-of-memory ERROR_FAILED) with a reason, and a success returns content and signer. */
#include <errno.h>
#include <stdlib.h>

#include "fuzz-pki.h"

static FuzzPki pki;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        fuzz_pki_load(&pki, false);
        return 0;
}

static void verify(const char *name, const Keyring *k, const uint8_t *data, size_t size) {
        char *content = NULL, *signer = NULL;
        size_t content_size = 0;
        UError err = UERROR_NULL;

        if (cms_verify(k, data, size, &content, &content_size, &signer, NULL, &err) >= 0) {
                FUZZ_ASSERT(content && signer && !uerror_is_set(&err));
                FUZZ_ASSERT(content[content_size] == '\0');
                fuzz_note("%s: verified, signer %s", name, signer);
                free(content);
                free(signer);
                return;
        }
        fuzz_note("%s: %s", name, err.message);
        FUZZ_ASSERT(!content && !signer);
        FUZZ_ASSERT(err.kind == ERROR_SIGNATURE_INVALID || (err.kind == ERROR_FAILED && err.error == -ENOMEM));
        FUZZ_ASSERT(err.message[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        verify("strict", pki.strict, data, size);
        verify("permissive", pki.permissive, data, size);
        return 0;
}
