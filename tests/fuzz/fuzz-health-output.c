/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one place update-health takes bytes nobody vouches for: a check's output.  A check may
 * print anything; health_exec() (client/update-health/update-health-exec.c) forwards it line by
 * line to the journal and keeps the last HEALTH_OUTPUT_TAIL_MAX bytes (lib/process.c's tail
 * capture), made valid UTF-8 for the status JSON.  Its other inputs are trusted or parsed by others: health.conf goes through
 * lib/ini.c (as system.conf does, fuzz-config), GetSlotStatus comes from the daemon and is
 * parsed by json-c, and the drop-in directories are listings (tests/unit/test-health-dropins.c).
 *
 * Through the public health_exec(), with a stand-in check (a shell script) that prints the
 * input through a pipe, as a real check does:
 *   input = control byte + the output
 *   control bits 0-2: how the check writes it: all at once (cat), or dd blocks of 1, 3, 64,
 *                     1000, 4095, 4096, 4097 bytes (the reads update-health sees vary with it)
 *   control bits 3-4: the check's exit status: 0, 1, 77 (skip), 255
 * Checks: it ran and exited with that status (and its verdict says so); output_truncated is
 * "more than the tail"; the output is exactly the reference below, computed independently from
 * the input (so it is also the same whatever the chunking), valid UTF-8 without NUL. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "macro.h"
#include "update-health-exec.h"
#include "update-health-status.h"

static const char *check_path, *input_path;

static const unsigned chunks[8] = { 0, 1, 3, 64, 1000, 4095, 4096, 4097 };
static const int exits[4] = { 0, 1, HEALTH_EXIT_SKIP, 255 };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        input_path = fuzz_path("output");
        check_path = fuzz_write_text("check",
                                     "#!/bin/sh\n"
                                     "if [ \"$FUZZ_CHUNK\" = 0 ]; then\n"
                                     "        cat \"$FUZZ_INPUT\" || exit 100\n"
                                     "else\n"
                                     "        dd if=\"$FUZZ_INPUT\" bs=\"$FUZZ_CHUNK\" status=none || exit 100\n"
                                     "fi\n"
                                     "exit \"$FUZZ_EXIT\"\n");
        FUZZ_ASSERT(chmod(check_path, 0755) == 0);
        return 0;
}

/* Length of the UTF-8 character at s (n bytes left), 0 if the bytes there are none.  Decoded
 * the long way (RFC 3629): the code point, then overlong, surrogate and range checks; NUL is
 * not wanted in the JSON string either. */
static size_t ref_char_len(const uint8_t *s, size_t n) {
        uint32_t cp, min;
        size_t len;

        if (s[0] == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xE0) == 0xC0)
                len = 2, cp = s[0] & 0x1F, min = 0x80;
        else if ((s[0] & 0xF0) == 0xE0)
                len = 3, cp = s[0] & 0x0F, min = 0x800;
        else if ((s[0] & 0xF8) == 0xF0)
                len = 4, cp = s[0] & 0x07, min = 0x10000;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

/* What the status file must hold for this output: its last HEALTH_OUTPUT_TAIL_MAX bytes; if
 * that cut the output, up to 3 continuation bytes at the start dropped (the rest of a character
 * that was cut); each byte that does not start a valid character becomes '?'. */
static char *reference(const uint8_t *out, size_t n) {
        size_t start = n > HEALTH_OUTPUT_TAIL_MAX ? n - HEALTH_OUTPUT_TAIL_MAX : 0, i = start, o = 0;
        char *r = malloc(n - start + 1);

        FUZZ_ASSERT(r);
        if (start > 0)
                while (i < n && i - start < 3 && (out[i] & 0xC0) == 0x80)
                        i++;
        while (i < n) {
                size_t len = ref_char_len(out + i, n - i);

                if (len == 0) {
                        r[o++] = '?';
                        i++;
                } else {
                        memcpy(r + o, out + i, len);
                        o += len;
                        i += len;
                }
        }
        r[o] = '\0';
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char env_input[4200], env_chunk[32], env_exit[32];
        char *envp[] = { env_input, env_chunk, env_exit, (char *) "PATH=/usr/bin:/bin", NULL };
        ExecResult x = {};
        const uint8_t *out;
        uint8_t ctl;
        char *want;
        size_t n;
        int r;

        if (size < 1)
                return 0;
        ctl = data[0];
        out = data + 1;
        n = size - 1;
        fuzz_write_file(input_path, out, n);
        snprintf(env_input, sizeof(env_input), "FUZZ_INPUT=%s", input_path);
        snprintf(env_chunk, sizeof(env_chunk), "FUZZ_CHUNK=%u", chunks[ctl & 7]);
        snprintf(env_exit, sizeof(env_exit), "FUZZ_EXIT=%d", exits[(ctl >> 3) & 3]);
        fuzz_note("%zu bytes, chunks of %u, exit %d", n, chunks[ctl & 7], exits[(ctl >> 3) & 3]);

        r = health_exec(check_path, "fuzz/check", envp, UINT64_C(10) * 1000000, &x);
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT(!x.timed_out && x.signal == 0);
        FUZZ_ASSERT(x.exit_code == exits[(ctl >> 3) & 3]);
        FUZZ_ASSERT(streq(health_exec_verdict(&x), x.exit_code == 0 ? "pass" :
                                                   x.exit_code == HEALTH_EXIT_SKIP ? "skipped" : "fail"));
        FUZZ_ASSERT(x.output_truncated == (n > HEALTH_OUTPUT_TAIL_MAX));
        FUZZ_ASSERT(x.output);

        want = reference(out, n);
        if (strcmp(x.output, want) != 0) {
                fprintf(stderr, "output tail differs from the reference:\n  got  (%zu) '%s'\n  want (%zu) '%s'\n",
                        strlen(x.output), x.output, strlen(want), want);
                abort();
        }
        /* the reference is valid UTF-8 by construction: check it independently of equality */
        for (size_t i = 0, len; want[i]; i += len) {
                len = ref_char_len((const uint8_t *) want + i, strlen(want + i));
                FUZZ_ASSERT(len > 0);
        }
        FUZZ_ASSERT(strlen(want) <= HEALTH_OUTPUT_TAIL_MAX);
        free(want);
        exec_result_done(&x);
        return 0;
}
