/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GRUB environment block as daemon/bootloader/bootloader-grub.c reads and rewrites it.  Input: byte 0
 * selects the mutations (fuzz-boot.h), the rest is the block; shorter than 1024 bytes it is
 * padded with '#' as grub-editenv does, longer it is written as is (and must be refused). */
#include "fuzz-boot.h"

#define GRUBENV_SIZE 1024

static Config *config;
static const char *env_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char *section;

        fuzz_quiet();
        env_path = fuzz_path("grubenv");
        FUZZ_ASSERT(asprintf(&section, "[grub]\nenv=%s\n", env_path) > 0);
        config = fuzz_boot_config("grub", "grub", section);
        free(section);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;
        char block[GRUBENV_SIZE];

        if (size < 1)
                return 0;
        if (size - 1 <= GRUBENV_SIZE) {
                memset(block, '#', sizeof(block));
                memcpy(block, data + 1, size - 1);
                fuzz_write_file(env_path, block, sizeof(block));
        } else
                fuzz_write_file(env_path, data + 1, size - 1);

        if (bootloader_open(config, &b, &err) < 0) {
                fuzz_note("open: %s", err.message);
                return 0;
        }
        fuzz_boot_exercise(b, data[0], true);
        return 0;
}
