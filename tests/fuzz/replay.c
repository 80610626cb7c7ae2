/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plain replay driver: the same fuzz target, built with the normal compiler and no libFuzzer,
 * fed every file of its corpus (tests/fuzz/corpus/<target>/, or the directories/files given as
 * arguments).  Each input runs in a forked child so a crash names its file and the others still
 * run; under SANITIZE=1 the child's ASan/UBSan/LSan reports fail it.  Prints TAP (version 13)
 * for tests/run-tests.sh: one test point for the target, a "# " line per failed input. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif
#ifndef FUZZ_TOP
#define FUZZ_TOP "."
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_UNDER_ASAN 1
#endif

#ifndef REPLAY_UNDER_ASAN
/* libFuzzer's malloc limit (-malloc_limit_mb, by default -rss_limit_mb: 2048 in run-fuzz.sh)
 * here too: an input that makes anything, a dlopen()ed library included, ask for that much fails
 * the replay as it fails make fuzz, instead of passing because the kernel refused (or granted)
 * the memory.  Not under SANITIZE=1, where ASan owns malloc. */
#define REPLAY_MALLOC_LIMIT ((size_t) 2048 << 20)

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

static void too_big(size_t size) {
        char m[160];
        int n = snprintf(m, sizeof(m), "replay: an allocation of %zu bytes, over the fuzzers' limit of %zu\n", size,
                         REPLAY_MALLOC_LIMIT);

        if (n > 0)
                (void) !write(STDERR_FILENO, m, (size_t) n);
        abort();
}

void *malloc(size_t size) {
        if (size >= REPLAY_MALLOC_LIMIT)
                too_big(size);
        return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
        size_t total;

        if (!__builtin_mul_overflow(n, size, &total) && total >= REPLAY_MALLOC_LIMIT)
                too_big(total);
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
        if (size >= REPLAY_MALLOC_LIMIT)
                too_big(size);
        return __libc_realloc(p, size);
}
#endif

static int read_input(const char *path, uint8_t **ret, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, alloc = 0, n;

        if (!f)
                return -errno;
        for (;;) {
                if (size == alloc) {
                        uint8_t *p = realloc(buf, alloc = alloc ? alloc * 2 : 4096);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                n = fread(buf + size, 1, alloc - size, f);
                if (n == 0)
                        break;
                size += n;
        }
        fclose(f);
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* 0 if the input ran cleanly, else prints why and returns -1. */
static int replay_one(const char *path) {
        int status;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                printf("# %s: fork: %s\n", path, strerror(errno));
                return -1;
        }
        if (pid == 0) {
                uint8_t *data = NULL;
                size_t size = 0;
                int r = read_input(path, &data, &size);

                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", path, strerror(-r));
                        _exit(2);
                }
                fuzz_note("--- %s (%zu bytes)", path, size);
                (void) LLVMFuzzerTestOneInput(data, size);
                free(data);
                exit(0); /* exit(), not _exit(): LeakSanitizer checks at exit */
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                printf("# %s: killed by signal %d\n", path, WTERMSIG(status));
        else
                printf("# %s: exit status %d\n", path, WEXITSTATUS(status));
        return -1;
}

static int compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Replays a file, or every regular file of a directory in name order. */
static int replay_path(const char *path, unsigned *n_run, unsigned *n_failed) {
        struct dirent *de;
        struct stat st;
        char **names = NULL;
        size_t n = 0;
        DIR *d;

        if (stat(path, &st) < 0) {
                printf("# %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n_run)++;
                if (replay_one(path) < 0)
                        (*n_failed)++;
                return 0;
        }
        d = opendir(path);
        if (!d) {
                printf("# %s: %s\n", path, strerror(errno));
                return -1;
        }
        while ((de = readdir(d))) {
                char *p, **q;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0 || !(q = realloc(names, (n + 1) * sizeof(char *)))) {
                        closedir(d);
                        return -1;
                }
                names = q;
                names[n++] = p;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), compare);
        for (size_t i = 0; i < n; i++) {
                if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
                        (*n_run)++;
                        if (replay_one(names[i]) < 0)
                                (*n_failed)++;
                }
                free(names[i]);
        }
        free(names);
        return 0;
}

int main(int argc, char *argv[]) {
        const char *name = "fuzz-replay-" FUZZ_TARGET;
        unsigned n_run = 0, n_failed = 0;
        int r = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("TAP version 13\n");
        LLVMFuzzerInitialize(&argc, &argv);
        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        if (replay_path(argv[i], &n_run, &n_failed) < 0)
                                r = -1;
        } else {
                const char *top = getenv("UPDATE1_TOP");
                char dir[4096];

                snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ?: FUZZ_TOP, FUZZ_TARGET);
                r = replay_path(dir, &n_run, &n_failed);
        }
        if (r < 0 || n_failed > 0 || n_run == 0) {
                printf("not ok 1 - %s\n# %u of %u corpus inputs failed%s\n1..1\n", name, n_failed, n_run,
                       r < 0 ? " (corpus unreadable)" : n_run == 0 ? " (empty corpus)" : "");
                return 1;
        }
        printf("ok 1 - %s (%u corpus inputs)\n1..1\n", name, n_run);
        return 0;
}
