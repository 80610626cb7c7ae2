/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-custom.c's parsing of a custom backend's output (RAUC's custom contract:
 * `X get-primary`, `X get-state <bootname>`, `X get-current` print one word), through the public
 * ops (fuzz-tool.h: the input is what the backend prints).  Byte 0 selects the mutations (their
 * command lines are checked; the backend is not simulated). */
#include "fuzz-boot.h"
#include "fuzz-tool.h"

#define BACKEND "/bin/true" /* must exist and be executable for open(); never run */

static Config *config;

static bool tool_argv_valid(const char *const argv[]) {
        static const char *const verbs[] = { "get-primary", "get-current", "get-state", "set-primary", "set-state" };
        bool known = false;

        if (strcmp(argv[0], BACKEND) != 0 || !argv[1])
                return false;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                known = known || strcmp(argv[1], verbs[i]) == 0;
        if (!known)
                return false;
        if (strncmp(argv[1], "get-state", 9) == 0 || strncmp(argv[1], "set-primary", 11) == 0)
                return argv[2] && argv[2][0] != '-' && !argv[3];
        if (strcmp(argv[1], "set-state") == 0)
                return argv[2] && argv[2][0] != '-' && argv[3] &&
                       (strcmp(argv[3], "good") == 0 || strcmp(argv[3], "bad") == 0) && !argv[4];
        return !argv[2];
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        fuzz_boot_free_form_names = true;
        config = fuzz_boot_config("custom", "custom", "[custom]\npath=" BACKEND "\n");
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
