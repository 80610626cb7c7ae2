/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by every fuzz target (tests/fuzz/fuzz-<target>.c).  A target defines
 * LLVMFuzzerInitialize() and LLVMFuzzerTestOneInput(); it is linked either with libFuzzer
 * (clang -fsanitize=fuzzer, `make fuzz`) or with tests/fuzz/replay.c, a plain main() that feeds
 * every file of tests/fuzz/corpus/<target>/ to it (`make check`). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private directory for the process (on /dev/shm when it exists: the targets rewrite files on
 * every input), removed at exit by the process that made it.  Aborts on failure: a harness
 * that cannot set itself up must not report "no crash". */
const char *fuzz_tmpdir(void);
/* "<fuzz_tmpdir()>/<name>", allocated once per call and kept until exit (setup only). */
const char *fuzz_path(const char *name);
/* Replaces the file's contents (truncate + write, same inode).  Aborts on failure. */
void fuzz_write_file(const char *path, const void *data, size_t size);
/* Writes 'text' to fuzz_path(name) and returns that path. */
const char *fuzz_write_text(const char *name, const char *text);
/* Runs a shell command (setup only: PKI and the like); aborts with its output on failure. */
void fuzz_shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With UPDATE1_FUZZ_VERBOSE=1 in the environment (replay: to see what each seed reaches),
 * prints a line to stderr; otherwise nothing. */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool fuzz_verbose(void);
/* Silences the project's logging (library code logs at debug level, config_load() at error
 * level); verbose: everything. */
void fuzz_quiet(void);
/* Directory of the committed fuzz PKI (tests/fuzz/pki): $UPDATE1_TOP/tests/fuzz/pki if set,
 * else the source path compiled in. */
const char *fuzz_pki_dir(void);

/* A failed check (of the harness's set-up or of a property of the code under test) aborts: the
 * fuzzer records the input. */
#define FUZZ_ASSERT(x)                                                                            \
        do {                                                                                      \
                if (!(x)) {                                                                       \
                        fuzz_fatal(__FILE__, __LINE__, #x);                                       \
                }                                                                                 \
        } while (0)
__attribute__((noreturn)) void fuzz_fatal(const char *file, int line, const char *what);
