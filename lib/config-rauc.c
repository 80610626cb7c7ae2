/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RAUC 1.8's system.conf keys, read so that a RAUC device switches without changing a line:
 * every key maps onto an Update1 setting, is accepted with a start-up warning saying why it
 * has no effect, or is refused with an error saying what to change.  Nothing is ignored. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-rauc.h"
#include "config-system.h"
#include "fileio.h"
#include "util.h"

#define CONFIG_MAX_VARIANT 256

static const char *dt_compatible_path = CONFIG_DEFAULT_DT_COMPATIBLE;

void config_rauc_set_dt_compatible_path(const char *path) {
        dt_compatible_path = path ?: CONFIG_DEFAULT_DT_COMPATIBLE;
}

static const char *const bundle_format_names[_CONFIG_BUNDLE_FORMAT_MAX] = {
        [CONFIG_BUNDLE_FORMAT_PLAIN] = "plain",
        [CONFIG_BUNDLE_FORMAT_VERITY] = "verity",
        [CONFIG_BUNDLE_FORMAT_CRYPT] = "crypt",
};

int config_parse_bundle_formats(const char *value, unsigned *ret_mask) {
        _cleanup_free_ char *copy = strdup(value);
        unsigned mask = CONFIG_BUNDLE_FORMATS_DEFAULT;
        bool set = false, modify = false;

        if (!copy)
                return -ENOMEM;
        /* RAUC splits at single spaces and skips empty tokens. */
        for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                bool plus = t[0] == '+', minus = t[0] == '-';
                int f = -1;

                if (plus || minus)
                        t++;
                for (int i = 0; i < _CONFIG_BUNDLE_FORMAT_MAX; i++)
                        if (streq(t, bundle_format_names[i]))
                                f = i;
                if (f < 0)
                        return -EINVAL;
                if (plus || minus)
                        modify = true;
                else if (!set) {
                        mask = 0;
                        set = true;
                }
                if (minus)
                        mask &= ~(1u << f);
                else
                        mask |= 1u << f;
        }
        if ((set && modify) || mask == 0)
                return -EINVAL;
        *ret_mask = mask;
        return 0;
}

bool config_bundle_format_allowed(const Config *c, const char *format) {
        if (!c || !format)
                return false;
        for (int i = 0; i < _CONFIG_BUNDLE_FORMAT_MAX; i++)
                if (streq(format, bundle_format_names[i]))
                        return c->bundle_formats & (1u << i);
        return false;
}

static int parse_bundle_formats(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        int r = config_parse_bundle_formats(value, &p->config->bundle_formats);

        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return parser_error(p, line,
                                    "invalid bundle-formats '%s': a list of plain, verity, crypt, or changes to all three like '-plain' (not both, and not none)",
                                    value);
        return 0;
}

static int parse_download_size(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        uint64_t v;

        /* RAUC reads a plain byte count (g_key_file_get_uint64). */
        if (parse_u64(value, &v) < 0 || v == 0)
                return parser_error(p, line, "invalid max-bundle-download-size '%s': a number of bytes above 0", value);
        p->config->max_bundle_download_size = v;
        return 0;
}

/* The keys RAUC reads for one backend only; here stored and applied in config_rauc_finish(). */
static int parse_attempts(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_unsigned(p, sec, key, value, line, 1, CONFIG_MAX_BAREBOX_ATTEMPTS,
                                   streq(key, "boot-attempts") ? &p->config->rauc_boot_attempts
                                                               : &p->config->rauc_boot_attempts_primary);
}

static int parse_grubenv(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->grubenv, value, true);
}

static int parse_statename(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        if (!config_barebox_state_name_valid(value))
                return parser_error(p, line, "invalid %s '%s': a device-tree node name or alias is expected", key,
                                    value);
        return parser_set_string(p, &p->config->barebox_state_name, value, false);
}

static int parse_efi_use_bootnext(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        bool v;
        int r = parser_set_bool(p, sec, key, value, line, &v);

        if (r < 0 || v)
                return r;
        return parser_error(p, line,
                            "efi-use-bootnext=false is not supported: Update1's EFI backend always tries a new slot once through BootNext before it enters BootOrder; remove the line (firmware without BootNext cannot use Update1's EFI backend)");
}

static int parse_activate_installed(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        int r = parser_set_bool(p, sec, key, value, line, &p->config->activate_installed);

        if (r < 0 || p->config->activate_installed)
                return r;
        return parser_error(p, line,
                            "activate-installed=false is not supported: Update1 always boots a freshly installed slot once on trial; remove the line");
}

/* The variant picks [image.<class>.<variant>] sections and is a D-Bus string property:
 * printable ASCII (a device tree compatible, a board name). */
static bool variant_valid(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static const char *const variant_keys[] = { "variant-name", "variant-file", "variant-dtb" };

static int parse_variant(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        Config *c = p->config;

        for (size_t i = 0; i < ELEMENTSOF(variant_keys); i++) {
                unsigned l = parser_key_line(p, "system", variant_keys[i]);

                /* RAUC counts variant-dtb=false as not set. */
                if (l == 0 || streq(key, variant_keys[i]) || (streq(variant_keys[i], "variant-dtb") && !c->variant_dtb) ||
                    (streq(key, "variant-dtb") && parse_boolean(value) == 0))
                        continue;
                return parser_error(p, line, "only one of variant-name=, variant-file=, variant-dtb= may be set (%s= is at line %u)",
                                    variant_keys[i], l);
        }
        if (streq(key, "variant-name")) {
                if (strlen(value) > CONFIG_MAX_VARIANT)
                        return parser_error(p, line, "variant-name= is longer than %d characters", CONFIG_MAX_VARIANT);
                if (!variant_valid(value, strlen(value)))
                        return parser_error(p, line, "variant-name=: the variant is not printable ASCII");
                return parser_set_string(p, &c->variant, value, false);
        }
        if (streq(key, "variant-file"))
                return parser_set_string(p, &c->variant_file, value, true);
        return parser_set_bool(p, sec, key, value, line, &c->variant_dtb);
}

static int parse_statusfile(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->statusfile, value, !streq(value, "per-slot"));
}

static int parse_mountprefix(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        int r = parser_set_string(p, &p->config->mountprefix, value, false);
        if (r < 0)
                return r;
        return parser_warning(p, line, "[system] mountprefix= has no effect: Update1 mounts neither bundles nor slots");
}

const ConfigKey config_rauc_system_keys[] = {
        { .name = "bundle-formats", .parse = parse_bundle_formats },
        { .name = "max-bundle-download-size", .parse = parse_download_size },
        { .name = "mountprefix", .parse = parse_mountprefix },
        { .name = "statusfile", .parse = parse_statusfile },
        { .name = "activate-installed", .parse = parse_activate_installed },
        { .name = "variant-name", .parse = parse_variant },
        { .name = "variant-file", .parse = parse_variant },
        { .name = "variant-dtb", .parse = parse_variant },
        { .name = "boot-attempts", .parse = parse_attempts },
        { .name = "boot-attempts-primary", .parse = parse_attempts },
        { .name = "grubenv", .parse = parse_grubenv },
        { .name = "barebox-statename", .parse = parse_statename },
        { .name = "barebox-dtbpath", .refused = "Update1 runs barebox-state on the running device tree's state; remove the line" },
        { .name = "efi-use-bootnext", .parse = parse_efi_use_bootnext },
        /* Keys of RAUC releases after 1.8. */
        { .name = "min-bundle-version", .refused = "Update1 refuses downgrades by version and security-version instead (docs/configuration.md \"Anti-rollback and keys\"); remove the line" },
        { .name = "max-bundle-signature-size", .refused = "Update1's limit is fixed at 64 KiB (RAUC's default); remove the line" },
        { .name = "perform-pre-check", .refused = "Update1 checks every block of a verity bundle before it is written; remove the line" },
        { .name = "prevent-late-fallback", .refused = "not supported; remove the line" },
        {}
};

static const char *const purposes[] = {
        "any", "sslclient", "sslserver", "nssslserver", "smimesign", "smimeencrypt", "codesign", NULL,
};

static int parse_check_purpose(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        bool known = false;
        int r;

        for (const char *const *q = purposes; *q; q++)
                known = known || streq(*q, value);
        if (!known)
                return parser_error(p, line, "unknown check-purpose '%s' (RAUC's: any, sslclient, sslserver, nssslserver, smimesign, smimeencrypt, codesign)",
                                    value);
        r = parser_set_string(p, &p->config->check_purpose, value, false);
        if (r < 0 || streq(value, "codesign"))
                return r;
        /* Honoured (lib/cms.c, keyring_set_purpose()), for both bundle formats; said once at
         * start-up because it loosens Update1's own default. */
        return parser_warning(p, line,
                              "[keyring] check-purpose=%s: signers are checked for that purpose, not for extended key usage codeSigning (Update1's default; RAUC bundles without check-purpose= are checked as smimesign, as in RAUC)",
                              value);
}

static int parse_partial_chain(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        int r = parser_set_bool(p, sec, key, value, line, &p->config->allow_partial_chain);

        if (r < 0 || !p->config->allow_partial_chain)
                return r;
        return parser_warning(p, line,
                              "[keyring] allow-partial-chain=true has no effect: Update1 needs every chain to end at a self-signed root in the keyring");
}

static int parse_signing_time(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        int r = parser_set_bool(p, sec, key, value, line, &p->config->use_bundle_signing_time);

        if (r < 0 || !p->config->use_bundle_signing_time)
                return r;
        return parser_warning(p, line,
                              "[keyring] use-bundle-signing-time=true has no effect: Update1 checks certificates at the latest of the clock, its build time and the newest trusted time seen");
}

const ConfigKey config_rauc_keyring_keys[] = {
        { .name = "check-purpose", .parse = parse_check_purpose },
        { .name = "allow-partial-chain", .parse = parse_partial_chain },
        { .name = "use-bundle-signing-time", .parse = parse_signing_time },
        { .name = "allowed-signer-cns", .refused = "not supported; restrict signers by the keyring instead and remove the line" },
        {}
};

static int parse_custom_backend(Parser *p, Section *sec, const char *key, const char *value, unsigned line) {
        return parser_set_string(p, &p->config->custom_backend, value, true);
}

#define HANDLER_REFUSED " handlers are not run by Update1; remove the line (update-agent's hooks and update-health's checks are the places for such scripts, docs/rauc-compat.md)"

const ConfigKey config_rauc_handlers_keys[] = {
        { .name = "bootloader-custom-backend", .parse = parse_custom_backend },
        { .name = "system-info", .refused = "system-info" HANDLER_REFUSED },
        { .name = "pre-install", .refused = "pre-install" HANDLER_REFUSED },
        { .name = "post-install", .refused = "post-install" HANDLER_REFUSED },
        {}
};

const ConfigKey config_rauc_streaming_keys[] = {
        { .name = "sandbox-user", .no_effect = "Update1 streams without RAUC's NBD helper process" },
        { .name = "tls-cert", .refused = "client certificates for streaming are not supported; remove the line" },
        { .name = "tls-key", .refused = "client certificates for streaming are not supported; remove the line" },
        { .name = "tls-ca", .refused = "not supported: Update1 checks https servers against the system's CA store; remove the line" },
        { .name = "send-headers", .refused = "not supported; remove the line" },
        {}
};

static const struct {
        const char *name;
        bool prefix;
        const char *why;
} refused_sections[] = {
        { "casync", false, "casync bundles are not supported by Update1" },
        { "encryption", false, "crypt bundles are not supported by Update1; build verity bundles" },
        { "autoinstall", false, "Update1 does not install a bundle found at start-up; let update-agent or a unit run `updatectl install`" },
        { "polling", false, "use update-agent (docs/agent.md)" },
        { "log.", true, "RAUC's event logs are not written; Update1 logs to the journal" },
        { "artifacts.", true, "artifact repositories are not supported by Update1" },
};

const char *config_rauc_section_refusal(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(refused_sections); i++)
                if (refused_sections[i].prefix ? strneq(name, refused_sections[i].name, strlen(refused_sections[i].name))
                                               : streq(name, refused_sections[i].name))
                        return refused_sections[i].why;
        return NULL;
}

/* RAUC trims surrounding whitespace of the variant; a device tree's compatible is a list of
 * NUL-terminated strings of which RAUC uses the first. */
static int read_variant(Parser *p, const char *path, unsigned line, const char *key) {
        _cleanup_free_ char *data = NULL;
        size_t size, b = 0, e;
        struct stat st;
        int r;

        /* Not a FIFO or a device: reading must not block start-up. */
        if (stat(path, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EBADFD;
        else
                r = read_full_file(path, CONFIG_MAX_VARIANT + 1, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r == -EBADFD)
                return parser_error(p, line, "%s: %s is not a regular file; fix the file or remove the line", key, path);
        if (r < 0)
                return parser_error(p, line, "%s: cannot read the variant from %s: %s; fix the file or remove the line",
                                    key, path, strerror(-r));
        e = strnlen(data, size);
        while (b < e && isspace((unsigned char) data[b]))
                b++;
        while (e > b && isspace((unsigned char) data[e - 1]))
                e--;
        if (b == e)
                return parser_error(p, line, "%s: %s holds no variant; fix the file or remove the line", key, path);
        if (e - b > CONFIG_MAX_VARIANT)
                return parser_error(p, line, "%s: the variant in %s is longer than %d characters", key, path,
                                    CONFIG_MAX_VARIANT);
        if (!variant_valid(data + b, e - b))
                return parser_error(p, line, "%s: the variant in %s is not printable ASCII", key, path);
        free(p->config->variant);
        p->config->variant = strndup(data + b, e - b);
        return p->config->variant ? 0 : -ENOMEM;
}

static int apply_attempts(Parser *p) {
        Config *c = p->config;
        bool uboot = streq_ptr(c->bootloader, "uboot"), barebox = streq_ptr(c->bootloader, "barebox");
        const char *own = uboot ? "uboot" : "barebox";

        for (int i = 0; i < 2; i++) {
                const char *key = i == 0 ? "boot-attempts" : "boot-attempts-primary";
                unsigned v = i == 0 ? c->rauc_boot_attempts : c->rauc_boot_attempts_primary;
                unsigned line = parser_key_line(p, "system", key);

                if (v == 0)
                        continue;
                if (!uboot && !barebox) {
                        int r = parser_warning(p, line, "[system] %s= has no effect with bootloader=%s (only uboot and barebox count attempts)",
                                               key, c->bootloader);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (parser_key_line(p, own, i == 0 ? "boot-attempts" : "trial-attempts") > 0)
                        return parser_error(p, line, "[system] %s= and [%s] %s= say the same; keep one", key, own,
                                            i == 0 ? "boot-attempts" : "trial-attempts");
                if (uboot && v > CONFIG_MAX_ATTEMPTS)
                        return parser_error(p, line, "[system] %s=%u: U-Boot counters must be 1 to %d (U-Boot's setexpr counts in hexadecimal, test -gt in decimal)",
                                            key, v, CONFIG_MAX_ATTEMPTS);
                /* RAUC's boot-attempts-primary is what a newly activated slot gets: our trial. */
                if (uboot)
                        *(i == 0 ? &c->boot_attempts : &c->trial_attempts) = v;
                else
                        *(i == 0 ? &c->barebox_boot_attempts : &c->barebox_trial_attempts) = v;
        }
        return 0;
}

int config_rauc_finish(Parser *p) {
        Config *c = p->config;
        unsigned l;
        int r;

        if ((l = parser_key_line(p, "handlers", "bootloader-custom-backend")) > 0 &&
            parser_key_line(p, "custom", "path") > 0)
                return parser_error(p, l, "[handlers] bootloader-custom-backend= and [custom] path= say the same; keep one");
        if ((l = parser_key_line(p, "system", "grubenv")) > 0 && parser_key_line(p, "grub", "env") > 0)
                return parser_error(p, l, "[system] grubenv= and [grub] env= say the same; keep one");
        if ((l = parser_key_line(p, "system", "barebox-statename")) > 0 && parser_key_line(p, "barebox", "state-name") > 0)
                return parser_error(p, l, "[system] barebox-statename= and [barebox] state-name= say the same; keep one");

        r = apply_attempts(p);
        if (r < 0)
                return r;

        /* RAUC: "Using data-directory= with statusfile=per-slot is not supported." */
        if ((l = parser_key_line(p, "system", "statusfile")) > 0) {
                if (streq(c->statusfile, "per-slot") && parser_key_line(p, "system", "data-directory") > 0)
                        return parser_error(p, l, "statusfile=per-slot cannot be combined with data-directory= (as in RAUC); remove one");
                r = parser_warning(p, l,
                                   "[system] statusfile= has no effect: Update1 keeps the slot status in %s/status.json and neither reads nor writes RAUC's status file",
                                   c->data_directory);
                if (r < 0)
                        return r;
        }

        if (c->variant_file)
                return read_variant(p, c->variant_file, parser_key_line(p, "system", "variant-file"), "variant-file=");
        if (c->variant_dtb)
                return read_variant(p, dt_compatible_path, parser_key_line(p, "system", "variant-dtb"), "variant-dtb=true");
        return 0;
}
