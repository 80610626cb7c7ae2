/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A throw-away test PKI made with the openssl CLI in a fresh temporary directory (EC P-256 keys,
 * so it takes well under a second).  Certificates (NAME.pem, key NAME.key, subject CN=NAME):
 *   root        self-signed root CA         otherroot   an unrelated self-signed root
 *   inter       CA under root               other       codeSigning signer under otherroot
 *   signer      codeSigning under inter     inter2      second CA under root (a "sibling")
 *   direct      codeSigning under root      sibling     codeSigning signer under inter2
 *   expired     like direct, 2020..2021     intersa     CA under root with EKU serverAuth only
 *   future      like direct, 2090..2091     undersa     codeSigning signer under intersa
 *   noeku       no extended key usage       casigner    CA:TRUE with EKU codeSigning
 *   serverauth  EKU serverAuth only         weak        RSA-1024 codeSigning signer under root
 * and keydir/ holding root.pem + inter.pem (a keyring directory with an intermediate). */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char pki_dir[PATH_MAX];

static const char pki_script[] =
        "set -e\n"
        "cat > ca.cnf <<'EOF'\n"
        "[ req ]\ndistinguished_name = dn\n[ dn ]\n"
        "[ ca ]\ndefault_ca = ca_default\n"
        "[ ca_default ]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
        "default_md = sha256\npolicy = policy_any\nunique_subject = no\nemail_in_dn = no\n"
        "[ policy_any ]\ncommonName = supplied\n"
        "[ v3_ca ]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
        "[ v3_ca_serverauth ]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, keyCertSign, cRLSign\nextendedKeyUsage = serverAuth\n"
        "[ v3_signer ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = codeSigning\n"
        "[ v3_noeku ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
        "[ v3_serverauth ]\nbasicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
        "[ v3_casigner ]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, digitalSignature, keyCertSign\nextendedKeyUsage = codeSigning\n"
        "EOF\n"
        ": > index.txt; echo 1000 > serial\n"
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1.key\"; }\n"
        "root() { key \"$1\"; openssl req -x509 -new -key \"$1.key\" -subj \"/CN=$1\" -days 3650 "
        "-config ca.cnf -extensions v3_ca -out \"$1.pem\"; }\n"
        "issue() {\n"
        "  [ -f \"$1.key\" ] || key \"$1\"\n"
        "  openssl req -new -key \"$1.key\" -subj \"/CN=$1\" -config ca.cnf -out \"$1.csr\"\n"
        "  if [ -n \"${4:-}\" ]; then d=\"-startdate $4 -enddate $5\"; else d=\"-days 3650\"; fi\n"
        "  openssl ca -batch -config ca.cnf -cert \"$2.pem\" -keyfile \"$2.key\" -extensions \"$3\" "
        "-in \"$1.csr\" -out \"$1.pem\" -notext $d\n"
        "}\n"
        "root root\n"
        "issue inter root v3_ca\n"
        "issue signer inter v3_signer\n"
        "issue direct root v3_signer\n"
        "issue expired root v3_signer 20200101000000Z 20210101000000Z\n"
        "issue future root v3_signer 20900101000000Z 20910101000000Z\n"
        "issue noeku root v3_noeku\n"
        "issue serverauth root v3_serverauth\n"
        "issue casigner root v3_casigner\n"
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weak.key\n"
        "issue weak root v3_signer\n"
        "issue inter2 root v3_ca\n"
        "issue sibling inter2 v3_signer\n"
        "issue intersa root v3_ca_serverauth\n"
        "issue undersa intersa v3_signer\n"
        "root otherroot\n"
        "issue other otherroot v3_signer\n"
        "mkdir keydir; cp root.pem inter.pem keydir/\n";

/* "DIR/NAME" in one of a few rotating buffers, so several can be used in one call. */
static const char *pki(const char *name) {
        static char bufs[8][PATH_MAX + 64];
        static unsigned next;
        char *b = bufs[next++ % 8];

        snprintf(b, sizeof(bufs[0]), "%s/%s", pki_dir, name);
        return b;
}

static int pki_setup(void) {
        char cmd[PATH_MAX + 128];
        FILE *f;

        snprintf(pki_dir, sizeof(pki_dir), "/tmp/update1-test-pki-XXXXXX");
        if (!mkdtemp(pki_dir))
                return -1;
        f = fopen(pki("mk.sh"), "we");
        if (!f)
                return -1;
        fputs(pki_script, f);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "cd '%s' && sh ./mk.sh >pki.log 2>&1", pki_dir);
        if (system(cmd) != 0) {
                fprintf(stdout, "  test PKI generation failed, see %s/pki.log\n", pki_dir);
                return -1;
        }
        return 0;
}

static void pki_cleanup(void) {
        char cmd[PATH_MAX + 32];

        if (!pki_dir[0] || getenv("UPDATE1_KEEP_TEST_PKI"))
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki_dir);
        (void) !system(cmd);
}

/* Runs a shell command in the PKI directory; system()'s result. */
static inline int pki_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int pki_run(const char *fmt, ...) {
        char cmd[8192];
        int n;
        va_list ap;

        n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", pki_dir);
        va_start(ap, fmt);
        vsnprintf(cmd + n, sizeof(cmd) - (size_t) n, fmt, ap);
        va_end(ap);
        return system(cmd);
}
