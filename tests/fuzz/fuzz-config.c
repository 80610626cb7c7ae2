/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_load() (lib/config.c) on the input as system.conf (a memfd, read through its
 * /proc/self/fd path: no file system writes per input).  A config that loads must be
 * consistent: slot names unique and findable, parents resolved to slots without a parent,
 * bootnames unique and only on parentless slots; RAUC's keys within their ranges, every
 * warning one "PATH:LINE: warning:" line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        memfd = memfd_create("system.conf", MFD_CLOEXEC);
        FUZZ_ASSERT(memfd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        return 0;
}

static void check(const Config *c) {
        FUZZ_ASSERT(c->compatible && c->bootloader && c->data_directory);
        FUZZ_ASSERT(c->keyring_path || c->keyring_directory);
        FUZZ_ASSERT(c->n_slots > 0);
        for (unsigned i = 0; i < c->n_slots; i++) {
                const ConfigSlot *s = &c->slots[i];

                FUZZ_ASSERT(s->name && s->class && s->device);
                FUZZ_ASSERT(config_find_slot(c, s->name) == (int) i);
                if (s->parent_name) {
                        FUZZ_ASSERT(!s->bootname);
                        FUZZ_ASSERT(s->parent >= 0 && (unsigned) s->parent < c->n_slots && s->parent != (int) i);
                        FUZZ_ASSERT(!c->slots[s->parent].parent_name);
                        FUZZ_ASSERT(strcmp(c->slots[s->parent].name, s->parent_name) == 0);
                } else {
                        FUZZ_ASSERT(s->bootname);
                        FUZZ_ASSERT(config_find_slot_by_bootname(c, s->bootname) == (int) i);
                }
        }
        /* RAUC's keys (lib/config-rauc.c) */
        FUZZ_ASSERT(c->bundle_formats != 0 && (c->bundle_formats & ~CONFIG_BUNDLE_FORMATS_DEFAULT) == 0);
        FUZZ_ASSERT(c->max_bundle_download_size > 0);
        FUZZ_ASSERT(c->activate_installed);
        if (c->variant)
                for (const char *v = c->variant; *v; v++)
                        FUZZ_ASSERT((unsigned char) *v >= 0x20 && (unsigned char) *v <= 0x7e);
        for (unsigned i = 0; i < c->n_warnings; i++)
                FUZZ_ASSERT(c->warnings[i] && strstr(c->warnings[i], ": warning: "));
        FUZZ_ASSERT(!c->warnings || !c->warnings[c->n_warnings]);
        if (c->reboot_command) {
                FUZZ_ASSERT(c->reboot_argv && c->reboot_argv[0]);
                for (unsigned i = 0; c->reboot_argv[i]; i++)
                        FUZZ_ASSERT(i < CONFIG_MAX_REBOOT_ARGS);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        const uint8_t *p = data;
        size_t left = size;

        FUZZ_ASSERT(ftruncate(memfd, 0) == 0);
        while (left > 0) {
                ssize_t n = pwrite(memfd, p, left, (off_t) (p - data));

                FUZZ_ASSERT(n > 0);
                p += n;
                left -= (size_t) n;
        }
        if (config_load(path, &c) < 0)
                return 0;
        fuzz_note("config: ok, bootloader %s, %u slot(s)", c->bootloader, c->n_slots);
        check(c);
        return 0;
}
