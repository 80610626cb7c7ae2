/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-barebox.c's parsing of `barebox-state -g ...` output, through the public
 * ops (fuzz-tool.h: the input is what the tool prints).  Byte 0 selects the mutations (their
 * `-s` command lines are checked, the output is not re-read: the tool is not simulated). */
#include "fuzz-boot.h"
#include "fuzz-tool.h"

static Config *config;

static bool is_var(const char *s, bool assignment) {
        const char *p;

        if (strncmp(s, "bootstate.", 10) != 0 || (s[10] != 'A' && s[10] != 'B') || s[11] != '.')
                return false;
        p = s + 12;
        if (strncmp(p, "priority", 8) == 0)
                p += 8;
        else if (strncmp(p, "remaining_attempts", 18) == 0)
                p += 18;
        else
                return false;
        if (!assignment)
                return *p == '\0';
        return *p == '=' && is_decimal(p + 1);
}

static bool tool_argv_valid(const char *const argv[]) {
        size_t i = 1;

        if (strcmp(argv[0], "barebox-state") != 0)
                return false;
        if (argv[i] && strcmp(argv[i], "-n") == 0) {
                if (!argv[i + 1] || strcmp(argv[i + 1], "fuzzstate") != 0)
                        return false;
                i += 2;
        }
        if (!argv[i])
                return false;
        for (; argv[i]; i += 2) {
                bool set = strcmp(argv[i], "-s") == 0;

                if (!set && strcmp(argv[i], "-g") != 0)
                        return false;
                if (!argv[i + 1] || !is_var(argv[i + 1], set))
                        return false;
        }
        return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        config = fuzz_boot_config("barebox", "barebox", "[barebox]\nstate-name=fuzzstate\n");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;

        if (size < 1)
                return 0;
        tool_output = (const char *) data + 1;
        tool_output_size = size - 1;
        FUZZ_ASSERT(bootloader_open(config, &b, &err) >= 0);
        fuzz_boot_exercise(b, data[0], false);
        return 0;
}
