/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The U-Boot environment as the uboot backends see it: the input becomes a redundant env image
 * (two copies of ENV_SIZE bytes: crc32, flag byte, name=value\0...\0\0) read through libubootenv
 * by daemon/bootloader/bootloader-uboot.c (scheme rauc) or bootloader-uboot-bootcount.c.
 * Input: byte 0 = control, then copy 1, then copy 2 (zero-padded, cut at 2 * ENV_SIZE).
 *   control bit 0/1: recompute the crc32 of copy 1/2 (so mutations reach the variable parsing
 *                    and our checks instead of dying at the CRC); bit 2: bootcount scheme;
 *   bits 3-7: mutations (set_primary/set_state), each read back and checked.
 * Two libubootenv 0.3.2 bugs found here (docs/fuzzing.md) are guarded against by
 * bootloader-uboot.c, and the guards are checked: an input with a CRC-valid copy that has no
 * terminator must be refused by every op without a write, and no store may ever leave such a
 * copy behind. */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "fuzz-boot.h"

#define ENV_SIZE 0x400
#define ENV_HEADER 5 /* crc32 + flag byte of a redundant copy */

static Config *config[2];
static const char *env_path;


static bool crc_valid(const uint8_t *copy) {
        uint32_t crc = (uint32_t) crc32(0, copy + ENV_HEADER, ENV_SIZE - ENV_HEADER);

        return copy[0] == (uint8_t) crc && copy[1] == (uint8_t) (crc >> 8) && copy[2] == (uint8_t) (crc >> 16) &&
               copy[3] == (uint8_t) (crc >> 24);
}

/* No empty string (terminator) inside the copy's data: libubootenv 0.3.2 (Debian 12) walks the
 * variables of the copy it picked until an empty string without any bounds check, so it would
 * read past its buffer; bootloader-uboot.c must refuse the env before libubootenv sees it. */
static bool unterminated(const uint8_t *copy) {
        const uint8_t *data = copy + ENV_HEADER;
        size_t n = ENV_SIZE - ENV_HEADER;

        if (data[0] == 0)
                return false;
        for (size_t i = 1; i < n; i++)
                if (data[i] == 0 && data[i - 1] == 0)
                        return false;
        return true;
}

/* Whether the image has a copy libubootenv 0.3.2 would read past. */
static bool hostile(const uint8_t *image) {
        for (size_t off = 0; off < 2 * ENV_SIZE; off += ENV_SIZE)
                if (crc_valid(image + off) && unterminated(image + off))
                        return true;
        return false;
}

static void read_image(uint8_t image[static 2 * ENV_SIZE]) {
        FILE *f = fopen(env_path, "re");

        FUZZ_ASSERT(f);
        FUZZ_ASSERT(fread(image, 1, 2 * ENV_SIZE, f) == 2 * ENV_SIZE);
        fclose(f);
}

static void fix_crc(uint8_t *copy) {
        uint32_t crc = (uint32_t) crc32(0, copy + ENV_HEADER, ENV_SIZE - ENV_HEADER);

        /* little endian, as U-Boot stores it */
        copy[0] = (uint8_t) crc;
        copy[1] = (uint8_t) (crc >> 8);
        copy[2] = (uint8_t) (crc >> 16);
        copy[3] = (uint8_t) (crc >> 24);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *fw, *lock;
        char *text, *section;

        fuzz_quiet();
        env_path = fuzz_path("uboot.env");
        FUZZ_ASSERT(asprintf(&text, "%s 0x0000 0x%x 0x%x 1\n%s 0x%x 0x%x 0x%x 1\n", env_path, ENV_SIZE, ENV_SIZE,
                             env_path, ENV_SIZE, ENV_SIZE, ENV_SIZE) > 0);
        fw = fuzz_write_text("fw_env.config", text);
        free(text);
        /* The harness's own env lock, not the host's /var/lock/fw_printenv.lock. */
        lock = fuzz_path("fw_printenv.lock");
        FUZZ_ASSERT(asprintf(&section, "[uboot]\nfw-env-config=%s\nlock-file=%s\n", fw, lock) > 0);
        config[0] = fuzz_boot_config("rauc", "uboot", section);
        free(section);
        FUZZ_ASSERT(asprintf(&section, "[uboot]\nfw-env-config=%s\nlock-file=%s\nscheme=bootcount\n", fw, lock) > 0);
        config[1] = fuzz_boot_config("bootcount", "uboot", section);
        free(section);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t image[2 * ENV_SIZE] = {}, after[2 * ENV_SIZE];
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        UError err = UERROR_NULL;
        char *primary = NULL;
        bool refuse;
        uint8_t ctl;

        if (size < 1)
                return 0;
        ctl = data[0];
        memcpy(image, data + 1, MIN(size - 1, sizeof(image)));
        if (ctl & 1)
                fix_crc(image);
        if (ctl & 2)
                fix_crc(image + ENV_SIZE);
        refuse = hostile(image);
        fuzz_write_file(env_path, image, sizeof(image));

        if (bootloader_open(config[(ctl >> 2) & 1], &b, &err) < 0) {
                fuzz_note("open: %s", err.message);
                return 0;
        }
        if (refuse) {
                /* Guard (a): refused before libubootenv parses it (ASan would see the over-read),
                 * with the reason; every op fails and nothing is written. */
                fuzz_note("valid CRC but no terminator: must be refused");
                FUZZ_ASSERT(b->ops->get_primary(b->data, &primary, &err) < 0);
                FUZZ_ASSERT(strstr(err.message, "valid CRC but no terminator"));
                fuzz_boot_exercise(b, ctl >> 3, false);
                read_image(after);
                FUZZ_ASSERT(memcmp(image, after, sizeof(image)) == 0);
                return 0;
        }
        fuzz_boot_exercise(b, ctl >> 3, true);
        /* Guard (b): no store may leave a copy libubootenv cannot read back (the 0.3.2 exact-fit
         * off by one writes the terminator past the copy). */
        read_image(after);
        if (hostile(after)) {
                fprintf(stderr, "a store left a copy with a valid CRC but no terminator\n");
                abort();
        }
        return 0;
}
