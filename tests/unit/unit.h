/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal unit test harness.  Each test case prints "PASS: <binary>/<case>" or
 * "FAIL: <binary>/<case>"; tests/run-tests.sh counts those lines across all programs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_case_failures;
static int unit_passed, unit_failed;
static const char *unit_program = "unit";

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stdout, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

#define CHECK_STREQ(a, b)                                                               \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
                        fprintf(stdout, "  %s:%d: check failed: %s == %s (\"%s\" vs \"%s\")\n", \
                                __FILE__, __LINE__, #a, #b, _a ?: "(null)", _b ?: "(null)"); \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

/* Check an int result, printing both values on mismatch. */
#define CHECK_EQ(a, b)                                                                  \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        fprintf(stdout, "  %s:%d: check failed: %s == %s (%lld vs %lld)\n", \
                                __FILE__, __LINE__, #a, #b, _a, _b);                    \
                        unit_case_failures++;                                           \
                }                                                                       \
        } while (0)

static inline void unit_run(const char *name, void (*fn)(void)) {
        unit_case_failures = 0;
        fn();
        if (unit_case_failures == 0) {
                printf("PASS: %s/%s\n", unit_program, name);
                unit_passed++;
        } else {
                printf("FAIL: %s/%s\n", unit_program, name);
                unit_failed++;
        }
        fflush(stdout);
}

#define TEST(name) static void test_##name(void)
#define RUN(name) unit_run(#name, test_##name)

#define UNIT_MAIN_BEGIN(prog)                   \
        int main(int argc, char **argv) {       \
                (void) argc; (void) argv;       \
                unit_program = prog;
#define UNIT_MAIN_END                                                   \
                printf("%d passed, %d failed\n", unit_passed, unit_failed); \
                return unit_failed ? 1 : 0;                             \
        }
