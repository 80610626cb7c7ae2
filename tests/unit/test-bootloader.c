/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/bootloader/bootloader.c: backend selection and the shared helpers (bootname check, name lists,
 * running a tool); and the custom backend (daemon/bootloader/bootloader-custom.c) with
 * tests/fakes/custom-backend.sh.  Each other backend has its own test-bootloader-<name>.c. */
#include "test-bootloader.h"
#include "bootloader-util.h"

/* --- registration ------------------------------------------------------------------------ */

static const char *backend_of(const char *part) {
        _cleanup_(bootloader_freep) Bootloader *b = open_backend(part);
        return b ? b->ops->name : "(failed)";
}

TEST(registration) {
        char part[PATH_MAX + 256], grubenv[300], fwcfg[300], custom[PATH_MAX + 64];
        Config c = { .bootloader = (char *) "lilo" };
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        snprintf(grubenv, sizeof(grubenv), "%s/grubenv", tmpdir);
        snprintf(fwcfg, sizeof(fwcfg), "%s/fw_env.config", tmpdir);
        snprintf(custom, sizeof(custom), "%s/tests/fakes/custom-backend.sh", top);
        CHECK_EQ(run("grub-editenv '%s' create 2>/dev/null || { printf '# GRUB Environment Block\\n'; head -c 999 /dev/zero | tr '\\0' '#'; } > '%s'",
                     grubenv, grubenv), 0);
        write_file(fwcfg, "/dev/null 0 0x4000\n");

        snprintf(part, sizeof(part), "bootloader=uboot\n[uboot]\nfw-env-config=%s", fwcfg);
        CHECK_STREQ(backend_of(part), "uboot");
        snprintf(part, sizeof(part), "bootloader=uboot\n[uboot]\nfw-env-config=%s\nscheme=rauc", fwcfg);
        CHECK_STREQ(backend_of(part), "uboot");
        snprintf(part, sizeof(part), "bootloader=uboot\n[uboot]\nfw-env-config=%s\nscheme=bootcount", fwcfg);
        CHECK_STREQ(backend_of(part), "uboot-bootcount");
        snprintf(part, sizeof(part), "bootloader=grub\n[grub]\nenv=%s", grubenv);
        CHECK_STREQ(backend_of(part), "grub");
        CHECK_STREQ(backend_of("bootloader=barebox"), "barebox");
        CHECK_STREQ(backend_of("bootloader=efi"), "efi");
        snprintf(part, sizeof(part), "bootloader=custom\n[custom]\npath=%s", custom);
        CHECK_STREQ(backend_of(part), "custom");

        /* every backend fills the whole table (get_current is optional) */
        {
                const BootloaderOps *all[] = { &bootloader_uboot_ops, &bootloader_uboot_bootcount_ops,
                                               &bootloader_grub_ops, &bootloader_barebox_ops,
                                               &bootloader_efi_ops, &bootloader_custom_ops };
                for (size_t i = 0; i < ELEMENTSOF(all); i++)
                        CHECK(all[i]->name && all[i]->open && all[i]->close && all[i]->get_primary &&
                              all[i]->set_primary && all[i]->get_state && all[i]->set_state &&
                              (all[i]->get_trial || all[i] == &bootloader_custom_ops));
        }

        CHECK(bootloader_open(&c, &b, &err) < 0);
        CHECK(strstr(err.message, "Unknown bootloader backend 'lilo'") != NULL);
        CHECK(b == NULL);
}

/* --- shared helpers ---------------------------------------------------------------------- */

TEST(bootname_check) {
        UError err = UERROR_NULL;
        char longname[BOOTLOADER_MAX_BOOTNAME + 2];

        CHECK_EQ(bootloader_check_bootname("A", "x", NULL), 0);
        CHECK_EQ(bootloader_check_bootname("system_0", "x", NULL), 0);
        CHECK(bootloader_check_bootname("a.b", "barebox state variable names", &err) < 0);
        CHECK(strstr(err.message, "Bootname 'a.b' cannot be used in barebox state variable names") != NULL);
        CHECK(bootloader_check_bootname("", "x", NULL) < 0);
        CHECK(bootloader_check_bootname(NULL, "x", NULL) < 0);
        CHECK(bootloader_check_bootname("-n", "x", NULL) < 0);
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        CHECK(bootloader_check_bootname(longname, "x", NULL) < 0);
        longname[sizeof(longname) - 2] = '\0';
        CHECK_EQ(bootloader_check_bootname(longname, "x", NULL), 0);
}

TEST(bootlist) {
        _cleanup_(bootlist_done) BootList l = {};
        _cleanup_free_ char *s = NULL, *many = NULL;
        UError err = UERROR_NULL;

        CHECK_EQ(bootlist_split(&l, "  B \tA  C\n", " \t\n", "ORDER", &err), 0);
        CHECK_EQ(l.n, 3);
        CHECK_EQ(bootlist_find(&l, "A"), 1);
        CHECK_EQ(bootlist_find(&l, "D"), -1);
        CHECK_EQ(bootlist_insert(&l, "A", true, "ORDER", &err), 0);
        CHECK_EQ(bootlist_insert(&l, "D", false, "ORDER", &err), 0);
        bootlist_remove(&l, "C");
        CHECK_EQ(bootlist_join(&l, ',', &s, &err), 0);
        CHECK_STREQ(s, "A,B,D");
        bootlist_done(&l);
        CHECK_EQ(bootlist_split(&l, NULL, " ", "ORDER", &err), 0);
        CHECK_EQ(l.n, 0);
        free(s);
        s = NULL;
        CHECK_EQ(bootlist_join(&l, ' ', &s, &err), 0);
        CHECK_STREQ(s, "");

        many = calloc(1, 4 * (BOOTLIST_MAX + 1) + 1);
        for (int i = 0; i <= BOOTLIST_MAX; i++)
                sprintf(many + strlen(many), "x%d ", i);
        CHECK(bootlist_split(&l, many, " ", "U-Boot variable BOOT_ORDER", &err) < 0);
        CHECK(strstr(err.message, "U-Boot variable BOOT_ORDER has more than 32 entries") != NULL);
        CHECK_EQ(l.n, 0);
}

static int tool(const char *script, char **out, UError *err) {
        const char *argv[] = { "sh", "-c", script, "tool", NULL };
        return bootloader_run_tool(argv, out, err);
}

TEST(run_tool) {
        _cleanup_free_ char *out = NULL;
        UError err = UERROR_NULL;
        const char *missing[] = { "update1-no-such-tool", "-g", NULL };

        CHECK_EQ(tool("echo hello; echo noise >&2", &out, &err), 0);
        CHECK_STREQ(out, "hello\n");
        CHECK_EQ(tool("true", NULL, &err), 0);

        CHECK(bootloader_run_tool(missing, &out, &err) < 0);
        CHECK(strstr(err.message, "Cannot run 'update1-no-such-tool -g': update1-no-such-tool not found on PATH") != NULL);

        err = UERROR_NULL;
        CHECK(tool("echo partial; echo 'no such variable: x' >&2; exit 3", &out, &err) < 0);
        CHECK(strstr(err.message, "failed with exit status 3: no such variable: x") != NULL);
        CHECK(strstr(err.message, "'sh -c ") != NULL);

        err = UERROR_NULL;
        CHECK(tool("kill -9 $$", &out, &err) < 0);
        CHECK(strstr(err.message, "killed by signal 9") != NULL);

        err = UERROR_NULL;
        CHECK(tool("head -c 70000 /dev/zero | tr '\\0' x", &out, &err) < 0);
        CHECK(strstr(err.message, "printed more than 65536 bytes") != NULL);

        err = UERROR_NULL;
        CHECK(tool("printf 'a\\0b'", &out, &err) < 0);
        CHECK(strstr(err.message, "printed a NUL byte") != NULL);

        /* a long stderr: its end is kept */
        err = UERROR_NULL;
        CHECK(tool("head -c 5000 /dev/zero | tr '\\0' y >&2; echo ' the end' >&2; exit 1", &out, &err) < 0);
        CHECK(strstr(err.message, "the end") != NULL);
        CHECK_STREQ(out, "hello\n"); /* untouched on failure */
}

/* --- custom backend ------------------------------------------------------------------- */

static Bootloader *open_custom(const char *path) {
        char part[1024];
        _cleanup_(config_freep) Config *c = NULL;
        Bootloader *b = NULL;
        UError err = UERROR_NULL;

        snprintf(part, sizeof(part), "bootloader=custom\n[custom]\npath=%s", path);
        c = make_config(part);
        if (bootloader_open(c, &b, &err) < 0) {
                printf("  bootloader_open: %s\n", err.message);
                return NULL;
        }
        return b;
}

TEST(custom_contract) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char backend[PATH_MAX + 64], state[300];
        _cleanup_free_ char *cur = NULL;
        UError err = UERROR_NULL;

        snprintf(backend, sizeof(backend), "%s/tests/fakes/custom-backend.sh", top);
        snprintf(state, sizeof(state), "%s/custom.state", tmpdir);
        unlink(state);
        setenv("UPDATE1_CUSTOM_STATE", state, 1);
        b = open_custom(backend);
        CHECK(b != NULL);
        if (!b)
                return;
        CHECK_STREQ(b->ops->name, "custom");
        CHECK(b->ops->get_trial == NULL);
        CHECK_PRIMARY(b, "A");
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);

        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_BAD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_BAD);
        CHECK_EQ(b->ops->set_primary(b->data, "B", true, &err), 0);
        CHECK_PRIMARY(b, "B");
        CHECK_EQ(b->ops->set_state(b->data, "B", BOOT_STATUS_GOOD, &err), 0);
        CHECK_EQ(state_of(b, "B"), BOOT_STATUS_GOOD);
        CHECK_EQ(b->ops->get_current(b->data, &cur, &err), 0);
        CHECK_STREQ(cur, "A");

        /* a failing command: named, with its stderr */
        setenv("UPDATE1_CUSTOM_FAIL", "get-state", 1);
        err = UERROR_NULL;
        {
                BootStatus s;
                CHECK(b->ops->get_state(b->data, "B", &s, &err) < 0);
        }
        unsetenv("UPDATE1_CUSTOM_FAIL");
        CHECK_EQ(err.kind, ERROR_FAILED);
        CHECK(strstr(err.message, "custom-backend.sh get-state B") != NULL);
        CHECK(strstr(err.message, "exit status 3") != NULL);
        CHECK(strstr(err.message, "simulated failure of 'get-state'") != NULL);

        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "B", BOOT_STATUS_TRIAL, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "-rf", false, &err) < 0);
        CHECK_EQ(err.kind, ERROR_INVALID_ARGS);
}

TEST(custom_bad_output) {
        _cleanup_(bootloader_freep) Bootloader *b = NULL;
        char script[300];
        char *p = NULL;
        BootStatus s;
        UError err = UERROR_NULL;

        snprintf(script, sizeof(script), "%s/odd-backend", tmpdir);
        write_file(script, "#!/bin/sh\n"
                           "case $1 in\n"
                           "get-state) echo maybe ;;\n"
                           "get-primary) echo 'A B' ;;\n"
                           "get-current) head -c 70000 /dev/zero | tr '\\0' x ;;\n"
                           "set-primary) kill -9 $$ ;;\n"
                           "*) echo 'no such verb' >&2; exit 1 ;;\n"
                           "esac\n");
        chmod(script, 0755);
        b = open_custom(script);
        CHECK(b != NULL);
        if (!b)
                return;
        CHECK(b->ops->get_state(b->data, "A", &s, &err) < 0);
        CHECK(strstr(err.message, "printed 'maybe', expected good or bad") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->get_primary(b->data, &p, &err) < 0);
        CHECK(strstr(err.message, "expected one word") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->get_current(b->data, &p, &err) < 0);
        CHECK(strstr(err.message, "printed more than 65536 bytes") != NULL);
        CHECK(strstr(err.message, "Custom bootloader backend") == err.message);
        err = UERROR_NULL;
        CHECK(b->ops->set_primary(b->data, "A", true, &err) < 0);
        CHECK(strstr(err.message, "killed by signal 9") != NULL);
        err = UERROR_NULL;
        CHECK(b->ops->set_state(b->data, "A", BOOT_STATUS_GOOD, &err) < 0);
        CHECK(strstr(err.message, "odd-backend set-state A good' failed with exit status 1: no such verb") != NULL);
        CHECK(p == NULL);
}

TEST(custom_open_errors) {
        char script[300];
        Bootloader *b;

        b = open_custom("/nonexistent/backend");
        CHECK(b == NULL);
        snprintf(script, sizeof(script), "%s/not-executable", tmpdir);
        write_file(script, "#!/bin/sh\necho A\n");
        chmod(script, 0644);
        b = open_custom(script);
        CHECK(b == NULL);
}


UNIT_MAIN_BEGIN("test-bootloader")
        test_setup("test-bootloader");

        RUN(registration);
        RUN(bootname_check);
        RUN(bootlist);
        RUN(run_tool);
        RUN(custom_contract);
        RUN(custom_bad_output);
        RUN(custom_open_errors);
UNIT_MAIN_END
