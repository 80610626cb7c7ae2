/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader-efi.c's parsing of `efibootmgr` output, through the public ops (fuzz-tool.h:
 * the input is what the tool prints).  Byte 0 selects the mutations (their command lines are
 * checked; the tool is not simulated).  A first line "note=<text>" is not printed but becomes
 * the backend's trial note file (<data-directory>/efi-trial). */
#include <unistd.h>

#include "fuzz-boot.h"
#include "fuzz-tool.h"

static Config *config;
static const char *note_path;

static bool tool_argv_valid(const char *const argv[]) {
        if (strcmp(argv[0], "efibootmgr") != 0)
                return false;
        if (!argv[1])
                return true;
        if (strcmp(argv[1], "-q") != 0 || !argv[2])
                return false;
        if (strcmp(argv[2], "-N") == 0)
                return !argv[3];
        if (strcmp(argv[2], "-n") == 0)
                return argv[3] && strlen(argv[3]) == 4 && is_hex4(argv[3]) && !argv[4];
        if (strcmp(argv[2], "-o") == 0 && argv[3] && !argv[4]) {
                /* XXXX,XXXX,... or empty */
                for (const char *p = argv[3]; *p; p += 4) {
                        if (p != argv[3] && *p++ != ',')
                                return false;
                        if (strnlen(p, 4) < 4 || !is_hex4(p))
                                return false;
                }
                return true;
        }
        return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        config = fuzz_boot_config("efi", "efi", "");
        FUZZ_ASSERT(asprintf((char **) &note_path, "%s/efi-trial", config->data_directory) > 0);
        fuzz_shell("mkdir -p '%s'", config->data_directory);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;
        const char *out;
        size_t out_size;

        if (size < 1)
                return 0;
        out = (const char *) data + 1;
        out_size = size - 1;
        (void) unlink(note_path);
        if (out_size >= 5 && memcmp(out, "note=", 5) == 0) {
                const char *nl = memchr(out, '\n', out_size);
                size_t len = nl ? (size_t) (nl - out) : out_size;

                fuzz_write_file(note_path, out + 5, len - 5);
                out += nl ? len + 1 : len;
                out_size -= nl ? len + 1 : len;
        }
        tool_output = out;
        tool_output_size = out_size;
        FUZZ_ASSERT(bootloader_open(config, &b, &err) >= 0);
        fuzz_boot_exercise(b, data[0], false);
        return 0;
}
