/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* version_compare() and version_is_valid() (lib/version.c) on up to three strings: the input cut
 * at its first two NUL bytes (A, or A \0 B, or A \0 B \0 C; a third NUL ends C as a string
 * would).  Each string is copied into a buffer of exactly its size, so a read past its terminator
 * is an ASan report.  Anti-rollback decides "downgrade or not" with this order, so it must be a
 * total preorder on any bytes: over the input's strings together with a few fixed versions,
 * cmp(x, x) == 0, sign(cmp(x, y)) == -sign(cmp(y, x)), and x <= y <= z implies x <= z. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "version.h"

/* Fixed points the input's strings are ordered against: one of each kind of marker, the ends. */
static const char *const anchors[] = { "", "~", "1.0", "1.0~rc1", "1.0^", "1.0-1", "1.0.1", "a" };

#define N_INPUT 3
#define N_MAX (N_INPUT + sizeof(anchors) / sizeof(anchors[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        return 0;
}

static int sign(int x) {
        return (x > 0) - (x < 0);
}

/* Inputs are any bytes: shown C-escaped, so the message can be pasted into a test. */
static void show(const char *name, const char *s) {
        fprintf(stderr, "  %s = \"", name);
        for (; *s; s++)
                if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
                        fputc(*s, stderr);
                else
                        fprintf(stderr, "\\x%02x\"\"", (unsigned char) *s);
        fprintf(stderr, "\"\n");
}

static void violated(const char *what, const char *const *v, size_t i, size_t j, size_t k) {
        fprintf(stderr, "version order violated: %s\n", what);
        show("x", v[i]);
        show("y", v[j]);
        if (k != SIZE_MAX)
                show("z", v[k]);
        abort();
}

static void check_valid(const char *s) {
        size_t n = strlen(s);

        if (!version_is_valid(s))
                return;
        FUZZ_ASSERT(n >= 1 && n <= VERSION_MAX);
        for (size_t i = 0; i < n; i++)
                FUZZ_ASSERT((unsigned char) s[i] >= 0x21 && (unsigned char) s[i] <= 0x7e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *parts[N_INPUT] = {};
        const char *v[N_MAX];
        int m[N_MAX][N_MAX];
        size_t n_parts = 0, n = 0, start = 0;

        /* Cut at the first two NULs; the last part runs to the end of the input. */
        while (n_parts < N_INPUT) {
                const uint8_t *nul = NULL;
                size_t len;

                if (n_parts < N_INPUT - 1 && start < size)
                        nul = memchr(data + start, 0, size - start);
                len = nul ? (size_t) (nul - data) - start : size - start;
                parts[n_parts] = malloc(len + 1);
                FUZZ_ASSERT(parts[n_parts]);
                if (len > 0)
                        memcpy(parts[n_parts], data + start, len);
                parts[n_parts][len] = '\0';
                n_parts++;
                if (!nul)
                        break;
                start += len + 1;
        }
        fuzz_note("version: %zu string(s)", n_parts);

        for (size_t i = 0; i < n_parts; i++) {
                check_valid(parts[i]);
                v[n++] = parts[i];
        }
        for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++)
                v[n++] = anchors[i];

        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                        m[i][j] = sign(version_compare(v[i], v[j]));

        for (size_t i = 0; i < n; i++) {
                if (m[i][i] != 0)
                        violated("cmp(x, x) != 0", v, i, i, SIZE_MAX);
                for (size_t j = 0; j < n; j++) {
                        if (m[i][j] != -m[j][i])
                                violated("sign(cmp(x, y)) != -sign(cmp(y, x))", v, i, j, SIZE_MAX);
                        for (size_t k = 0; k < n; k++)
                                if (m[i][j] <= 0 && m[j][k] <= 0 && m[i][k] > 0)
                                        violated("x <= y and y <= z but x > z", v, i, j, k);
                }
        }

        /* The NULL convention the header promises. */
        FUZZ_ASSERT(sign(version_compare(NULL, parts[0])) == sign(version_compare("", parts[0])));

        for (size_t i = 0; i < n_parts; i++)
                free(parts[i]);
        return 0;
}
