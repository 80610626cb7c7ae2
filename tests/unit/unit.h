/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal unit test harness that speaks TAP (version 13), read by tests/run-tests.sh:
 *
 *   TAP version 13
 *   # tests/unit/test-x.c:12: check failed: a == b (1 vs 2)     diagnostics, as they happen
 *   not ok 1 - test-x/first_case
 *   ok 2 - test-x/second_case
 *   ok 3 - test-x/third_case # SKIP why
 *   # test-x: 1 passed, 1 failed, 1 skipped
 *   1..3                                                         the plan, at exit
 *
 * The header comes with the first line the harness prints, and the plan when the program exits
 * normally (exit(), or returning from main), printed by the process that called UNIT_MAIN_BEGIN
 * or unit_tap_begin(), never by a forked child: a program that crashes or is killed has no
 * plan, and the runner counts that as a failure.  A run that prints nothing through the harness
 * (a test program re-executed as a helper of its own, e.g. "--child" modes) prints no TAP.
 *
 * CHECK/CHECK_EQ/CHECK_STREQ, TEST/RUN and UNIT_MAIN_BEGIN/UNIT_MAIN_END are the interface of
 * every test; unit_diag() prints a diagnostic line ("# ..."), unit_skip() reports a case as
 * skipped, unit_case_end() reports a case that is not run through RUN (from
 * unit_case_failures), unit_fail_case() reports one that could not run at all (setup). */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_case_failures;
static int unit_passed, unit_failed, unit_skipped;
static int unit_tests;          /* test points printed: the number of the last one, the plan */
static pid_t unit_tap_pid;      /* the process that prints the plan */
static bool unit_tap_started;   /* "TAP version 13" printed */
static const char *unit_program = "unit";

static inline void unit_tap_header(void) {
        if (unit_tap_started)
                return;
        unit_tap_started = true;
        printf("TAP version 13\n");
        fflush(stdout); /* not again in a forked child's exit() */
}

/* "# " before every line of the formatted text. */
static inline void unit_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void unit_diag(const char *fmt, ...) {
        char *text = NULL, *line, *nl;
        va_list ap;

        unit_tap_header();
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text) {
                printf("# (out of memory formatting a diagnostic)\n");
                return;
        }
        for (line = text; line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                else if (!*line && line != text)
                        break; /* the text ended with a newline */
                if (*line)
                        printf("# %s\n", line);
                else
                        printf("#\n");
        }
        free(text);
        fflush(stdout); /* before what a child process writes to the same file */
}

/* One test point.  A '#' in the description would start a directive: escaped as TAP says. */
static inline void unit_point(bool ok, const char *description, const char *directive) {
        unit_tap_header();
        unit_tests++;
        printf("%s %d - ", ok ? "ok" : "not ok", unit_tests);
        for (const char *p = description; *p; p++) {
                if (*p == '#' || *p == '\\')
                        putchar('\\');
                putchar(*p == '\n' ? ' ' : *p);
        }
        if (directive)
                printf(" # %s", directive);
        putchar('\n');
        fflush(stdout);
}

static inline void unit_report(const char *name, bool ok) {
        char d[512];

        snprintf(d, sizeof(d), "%s/%s", unit_program, name);
        unit_point(ok, d, NULL);
        if (ok)
                unit_passed++;
        else
                unit_failed++;
}

/* The case NAME (not run through RUN) ends: passed unless a check failed since it started
 * (unit_case_failures = 0 at its start). */
static inline void unit_case_end(const char *name) {
        unit_report(name, unit_case_failures == 0);
}

/* A case that could not run (its setup failed). */
static inline void unit_fail_case(const char *name) {
        unit_report(name, false);
}

static inline void unit_skip(const char *name, const char *why) {
        char d[512], directive[512];

        snprintf(d, sizeof(d), "%s/%s", unit_program, name);
        snprintf(directive, sizeof(directive), "SKIP %s", why);
        for (char *p = directive; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        unit_point(true, d, directive);
        unit_skipped++;
}

static inline void unit_plan(void) {
        if (getpid() != unit_tap_pid || !unit_tap_started)
                return; /* a forked child that exit()s, or nothing printed */
        printf("# %s: %d passed, %d failed, %d skipped\n", unit_program, unit_passed, unit_failed, unit_skipped);
        printf("1..%d\n", unit_tests);
        fflush(stdout);
        unit_tap_pid = 0;
}

/* This process prints the plan at exit (the header comes with the first line printed). */
static inline void unit_tap_begin(const char *prog) {
        unit_program = prog;
        unit_tap_pid = getpid();
        atexit(unit_plan);
}

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        unit_diag("%s:%d: check failed: %s", __FILE__, __LINE__, #expr); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

#define CHECK_STREQ(a, b)                                                               \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
                        unit_diag("%s:%d: check failed: %s == %s (\"%s\" vs \"%s\")",   \
                                  __FILE__, __LINE__, #a, #b, _a ?: "(null)", _b ?: "(null)"); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

/* Check an int result, printing both values on mismatch. */
#define CHECK_EQ(a, b)                                                                  \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        unit_diag("%s:%d: check failed: %s == %s (%lld vs %lld)",       \
                                  __FILE__, __LINE__, #a, #b, _a, _b);                  \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

static inline void unit_run(const char *name, void (*fn)(void)) {
        unit_case_failures = 0;
        fn();
        unit_case_end(name);
}

#define TEST(name) static void test_##name(void)
#define RUN(name) unit_run(#name, test_##name)

#define UNIT_MAIN_BEGIN(prog)                   \
        int main(int argc, char **argv) {       \
                (void) argc; (void) argv;       \
                unit_tap_begin(prog);
#define UNIT_MAIN_END                                                   \
                return unit_failed ? 1 : 0;                             \
        }
