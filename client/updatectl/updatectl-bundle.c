/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "cdc.h"
#include "chunk.h"
#include "config.h"
#include "json-util.h"
#include "updatectl-bundle-previous.h"
#include "updatectl-bundle.h"
#include "util.h"

static int fail(const UError *err) {
        fprintf(stderr, "updatectl: %s\n", err->message);
        return EXIT_FAILURE;
}

static int usage_error(const char *verb, const char *msg) {
        fprintf(stderr, "updatectl: %s\nTry 'updatectl bundle %s --help'.\n", msg, verb);
        return EXIT_FAILURE;
}

static void help_create(void) {
        printf("Usage: updatectl bundle create [OPTIONS] --image CLASS=PATH... -o FILE\n"
               "\n"
               "Create a signed, streamable bundle (format %d by default). Runs without the daemon.\n"
               "\n"
               "  --cert FILE              Signer certificate (PEM, extended key usage codeSigning)\n"
               "  --key FILE               Signer private key (PEM, unencrypted)\n"
               "  --intermediate FILE      Intermediate certificates (PEM) to embed in the signature\n"
               "  --compatible STRING      Must equal the device's [system] compatible=\n"
               "  --version STRING         Bundle version\n"
               "  --build STRING           Build id (default: current UTC time, YYYYMMDDhhmmss)\n"
               "  --description TEXT       Free text\n"
               "  --security-version N     Anti-rollback counter (default 0)\n"
               "  --expires DATE           Not installable after DATE (YYYY-MM-DD[THH:MM:SSZ], UTC,\n"
               "                           or @SECONDS since the epoch); default: never\n"
               "  --format 1|2             Bundle format (default 1); 2: content-defined chunks and\n"
               "                           a binary chunk table, for delta updates\n"
               "  --chunk-size SIZE        Format 1: 64K..4M, multiple of 4K (default %uK);\n"
               "                           format 2: the average, a power of two in 4K..1M (default\n"
               "                           %uK; chunks of a quarter to four times that)\n"
               "  --compression zstd|none  Chunk compression (default zstd)\n"
               "  --zstd-level N           zstd level (default 3)\n"
               "  --image CLASS=PATH       Image for slot class CLASS (repeatable; file or block device)\n"
               "  --patch-from CLASS=OLD   Format 2: add zstd patches of image CLASS against OLD, the\n"
               "                           image of that class in a release devices run (repeatable)\n"
               "  --patch-window SIZE      Largest patch and old region (default 1M, at most 4M)\n"
               "  -o, --output FILE        Bundle to write (via FILE.tmp and rename)\n"
               "  --previous OLD           The bundle devices run now: estimate per image how much a\n"
               "                           delta update from it reuses, warn about differences of\n"
               "                           the builds (UUIDs, hash seeds, mkfs times)\n"
               "  --previous-keyring FILE  Trusted roots (PEM, or a directory) to verify OLD with\n"
               "  -h, --help               Show this help\n",
               BUNDLE_FORMAT_VERSION, CHUNK_SIZE_DEFAULT >> 10, CDC_AVG_DEFAULT >> 10);
}

static void help_info(void) {
        printf("Usage: updatectl bundle info [OPTIONS] FILE|-\n"
               "\n"
               "Verify the signature of a bundle and print its manifest. '-' reads standard input.\n"
               "\n"
               "  --keyring FILE           Trusted root certificates (PEM)\n"
               "  --keyring-dir DIR        Directory of *.pem / *.crt or <hash>.0 (roots and\n"
               "                           intermediates)\n"
               "  --config PATH            Take the keyring from this system.conf\n"
               "                           (default %s, else RAUC's\n"
               "                           /etc/rauc/system.conf; used when no --keyring is given)\n"
               "  --allow-bundle-intermediates\n"
               "                           Let certificates carried in the bundle link the signer\n"
               "                           to a keyring root (as [keyring] allow-bundle-intermediates)\n"
               "  --check-payload          Also read and verify every chunk of every image\n"
               "  --json                   Print the manifest (without chunk tables) as JSON\n"
               "  -h, --help               Show this help\n",
               CONFIG_DEFAULT_PATH);
}

static void image_args_free(char *(*args)[MANIFEST_MAX_IMAGES]) {
        for (size_t i = 0; i < MANIFEST_MAX_IMAGES; i++)
                free((*args)[i]);
}

/* --patch-from: at most MANIFEST_MAX_PATCH_SETS per image, for every image. */
#define MAX_PATCH_ARGS (MANIFEST_MAX_IMAGES * MANIFEST_MAX_PATCH_SETS)

static void patch_args_free(char *(*args)[MAX_PATCH_ARGS]) {
        for (size_t i = 0; i < MAX_PATCH_ARGS; i++)
                free((*args)[i]);
}

int verb_bundle_create(int argc, char **argv) {
        enum {
                ARG_CERT = 0x100, ARG_KEY, ARG_INTERMEDIATE, ARG_COMPATIBLE, ARG_VERSION, ARG_BUILD,
                ARG_DESCRIPTION, ARG_SECURITY_VERSION, ARG_CHUNK_SIZE, ARG_COMPRESSION,
                ARG_ZSTD_LEVEL, ARG_IMAGE, ARG_EXPIRES, ARG_FORMAT, ARG_PREVIOUS, ARG_PREVIOUS_KEYRING,
                ARG_PATCH_FROM, ARG_PATCH_WINDOW,
        };
        static const struct option options[] = {
                { "cert", required_argument, NULL, ARG_CERT },
                { "key", required_argument, NULL, ARG_KEY },
                { "intermediate", required_argument, NULL, ARG_INTERMEDIATE },
                { "compatible", required_argument, NULL, ARG_COMPATIBLE },
                { "version", required_argument, NULL, ARG_VERSION },
                { "build", required_argument, NULL, ARG_BUILD },
                { "description", required_argument, NULL, ARG_DESCRIPTION },
                { "security-version", required_argument, NULL, ARG_SECURITY_VERSION },
                { "expires", required_argument, NULL, ARG_EXPIRES },
                { "chunk-size", required_argument, NULL, ARG_CHUNK_SIZE },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "compression", required_argument, NULL, ARG_COMPRESSION },
                { "zstd-level", required_argument, NULL, ARG_ZSTD_LEVEL },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "output", required_argument, NULL, 'o' },
                { "previous", required_argument, NULL, ARG_PREVIOUS },
                { "previous-keyring", required_argument, NULL, ARG_PREVIOUS_KEYRING },
                { "patch-from", required_argument, NULL, ARG_PATCH_FROM },
                { "patch-window", required_argument, NULL, ARG_PATCH_WINDOW },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(previous_bundle_freep) PreviousBundle *previous = NULL;
        const char *previous_path = NULL, *previous_keyring = NULL;
        _cleanup_(image_args_free) char *image_args[MANIFEST_MAX_IMAGES] = {};
        BundleImageSpec images[MANIFEST_MAX_IMAGES] = {};
        _cleanup_(patch_args_free) char *patch_args[MAX_PATCH_ARGS] = {};
        BundlePatchSpec patches[MAX_PATCH_ARGS] = {};
        BundleCreateOptions o = { .compression = COMPRESSION_ZSTD };
        UError err = UERROR_NULL;
        uint64_t u;
        char *eq;
        int c, r;

        optind = 0; /* the dispatcher may have run getopt already */
        while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CERT:
                        o.cert_path = optarg;
                        break;
                case ARG_KEY:
                        o.key_path = optarg;
                        break;
                case ARG_INTERMEDIATE:
                        o.intermediate_path = optarg;
                        break;
                case ARG_COMPATIBLE:
                        o.compatible = optarg;
                        break;
                case ARG_VERSION:
                        o.version = optarg;
                        break;
                case ARG_BUILD:
                        o.build = optarg;
                        break;
                case ARG_DESCRIPTION:
                        o.description = optarg;
                        break;
                case ARG_SECURITY_VERSION:
                        if (parse_u64(optarg, &o.security_version) < 0)
                                return usage_error("create", "--security-version needs a decimal number");
                        break;
                case ARG_EXPIRES:
                        if (parse_timestamp(optarg, &o.expires) < 0 || o.expires == 0 || o.expires > INT64_MAX)
                                return usage_error("create",
                                                   "--expires needs YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @SECONDS");
                        break;
                case ARG_CHUNK_SIZE:
                        /* Its range depends on --format: checked after all options. */
                        r = parse_size(optarg, &u);
                        if (r < 0 || u == 0 || u > CHUNK_SIZE_MAX)
                                return usage_error("create", "--chunk-size must be a size up to 4M");
                        o.chunk_size = (uint32_t) u;
                        break;
                case ARG_FORMAT:
                        if (parse_u64(optarg, &u) < 0 || (u != BUNDLE_FORMAT_VERSION && u != BUNDLE_FORMAT_CDC))
                                return usage_error("create", "--format must be 1 or 2");
                        o.format = (unsigned) u;
                        break;
                case ARG_COMPRESSION:
                        o.compression = compression_from_string(optarg);
                        if (o.compression < 0)
                                return usage_error("create", "--compression must be zstd or none");
                        break;
                case ARG_ZSTD_LEVEL:
                        if (parse_u64(optarg, &u) < 0 || u < 1 || u > 22)
                                return usage_error("create", "--zstd-level must be 1..22");
                        o.zstd_level = (int) u;
                        break;
                case ARG_IMAGE:
                        if (o.n_images >= MANIFEST_MAX_IMAGES)
                                return usage_error("create", "too many --image options");
                        image_args[o.n_images] = strdup(optarg);
                        if (!image_args[o.n_images])
                                return usage_error("create", "out of memory");
                        eq = strchr(image_args[o.n_images], '=');
                        if (!eq || eq == image_args[o.n_images] || !eq[1])
                                return usage_error("create", "--image needs CLASS=PATH");
                        *eq = 0;
                        images[o.n_images].slotclass = image_args[o.n_images];
                        images[o.n_images].path = eq + 1;
                        o.n_images++;
                        break;
                case ARG_PATCH_FROM:
                        if (o.n_patches >= MAX_PATCH_ARGS)
                                return usage_error("create", "too many --patch-from options");
                        patch_args[o.n_patches] = strdup(optarg);
                        if (!patch_args[o.n_patches])
                                return usage_error("create", "out of memory");
                        eq = strchr(patch_args[o.n_patches], '=');
                        if (!eq || eq == patch_args[o.n_patches] || !eq[1])
                                return usage_error("create", "--patch-from needs CLASS=OLD_IMAGE");
                        *eq = 0;
                        patches[o.n_patches].slotclass = patch_args[o.n_patches];
                        patches[o.n_patches].path = eq + 1;
                        o.n_patches++;
                        break;
                case ARG_PATCH_WINDOW:
                        r = parse_size(optarg, &u);
                        if (r < 0 || u == 0 || u > PATCH_WINDOW_MAX)
                                return usage_error("create", "--patch-window must be a size up to 4M");
                        o.patch_window = (uint32_t) u;
                        break;
                case 'o':
                        o.output_path = optarg;
                        break;
                case ARG_PREVIOUS:
                        previous_path = optarg;
                        break;
                case ARG_PREVIOUS_KEYRING:
                        previous_keyring = optarg;
                        break;
                case 'h':
                        help_create();
                        return EXIT_SUCCESS;
                default:
                        return usage_error("create", "invalid option");
                }

        if (optind < argc)
                return usage_error("create", "unexpected argument");
        if (!o.cert_path || !o.key_path)
                return usage_error("create", "--cert and --key are required");
        if (!o.compatible || !o.version)
                return usage_error("create", "--compatible and --version are required");
        if (o.n_images == 0)
                return usage_error("create", "at least one --image CLASS=PATH is required");
        if (!o.output_path)
                return usage_error("create", "-o/--output is required");
        if (o.chunk_size != 0 && o.format == BUNDLE_FORMAT_CDC &&
            (o.chunk_size < CDC_MIN_LOWEST * 4 || o.chunk_size > CDC_MAX_HIGHEST / 4 ||
             (o.chunk_size & (o.chunk_size - 1)) != 0))
                return usage_error("create", "--chunk-size of format 2 must be a power of two in 4K..1M");
        if (o.chunk_size != 0 && o.format != BUNDLE_FORMAT_CDC &&
            (o.chunk_size < CHUNK_SIZE_MIN || o.chunk_size % 4096 != 0))
                return usage_error("create", "--chunk-size must be a multiple of 4K in 64K..4M");
        if (previous_path && !previous_keyring)
                return usage_error("create", "--previous needs --previous-keyring FILE, the trusted roots "
                                   "to verify the previous bundle with");
        if (previous_keyring && !previous_path)
                return usage_error("create", "--previous-keyring needs --previous OLD");
        o.images = images;
        o.patches = patches;

        /* OLD is read and verified first: a bad one stops us before anything is written. */
        if (previous_path) {
                r = previous_bundle_load(previous_path, previous_keyring, &o, &previous, &err);
                if (r < 0)
                        return fail(&err);
        }
        r = bundle_create(&o, &err);
        if (r < 0)
                return fail(&err);
        printf("Created %s\n", o.output_path);
        /* Warnings only: the bundle is good whatever they say. */
        if (previous)
                (void) previous_bundle_report(previous, &o);
        return EXIT_SUCCESS;
}

static void format_size(uint64_t n, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        double v = (double) n;
        size_t u = 0;

        if (n < 1024) {
                snprintf(buf, size, "%llu bytes", (unsigned long long) n);
                return;
        }
        v /= 1024;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, size, "%llu bytes (%.1f %s)", (unsigned long long) n, v, units[u]);
}

static void print_field(const char *name, const char *value) {
        printf("%-18s ", name);
        /* Keep multi-line descriptions aligned under the value column. */
        for (const char *p = value; *p; p++) {
                putchar(*p);
                if (*p == '\n')
                        printf("%-18s ", "");
        }
        putchar('\n');
}

/* Format 2: the chunker's bounds and what the authenticated table says the chunks are. */
static void print_cdc_stats(const ManifestImage *img) {
        char a[32], b[32], c[32], buf[192];
        uint32_t lo = UINT32_MAX, hi = 0;

        for (uint64_t i = 0; i < img->n_chunks; i++) {
                ChunkEntry e;

                manifest_chunk_entry(img, i, &e);
                lo = MIN(lo, e.raw_size);
                hi = MAX(hi, e.raw_size);
        }
        format_size(img->cdc_min, a, sizeof(a));
        format_size(img->cdc_avg, b, sizeof(b));
        format_size(img->chunk_size, c, sizeof(c));
        snprintf(buf, sizeof(buf), "content-defined, %s / %s / %s (min / average / max)", a, b, c);
        print_field("  Chunking:", buf);
        format_size(lo, a, sizeof(a));
        format_size(img->size / img->n_chunks, b, sizeof(b));
        format_size(hi, c, sizeof(c));
        snprintf(buf, sizeof(buf), "%llu (%s / %s / %s)", (unsigned long long) img->n_chunks, a, b, c);
        print_field("  Chunks:", buf);
        format_size(img->n_chunks * CHUNK_TABLE_ENTRY_SIZE, a, sizeof(a));
        print_field("  Chunk table:", a);
        /* The patch sets: for which old image (the sha256 a device's status records), how many
         * patches and bytes. */
        for (size_t k = 0; k < img->n_patch_sets; k++) {
                const PatchSet *p = &img->patch_sets[k];
                char hex[SHA256_HEX_SIZE], size[32];

                hex_encode(p->source_sha256, SHA256_SIZE, hex);
                format_size(p->data_size, size, sizeof(size));
                snprintf(buf, sizeof(buf), "from sha256 %.16s…: %llu patches, %s", hex,
                         (unsigned long long) p->n_entries, size);
                print_field(k == 0 ? "  Patches:" : "", buf);
        }
}

/* format: "update1", or a RAUC bundle's "plain" / "verity" (bundle_reader_format()). */
static void print_table(const Manifest *m, const char *format, const char *signer, uint64_t total) {
        bool rauc = !streq(format, "update1");
        char buf[128], hex[SHA256_HEX_SIZE];

        if (rauc)
                snprintf(buf, sizeof(buf), "RAUC %s", format);
        else
                snprintf(buf, sizeof(buf), "%u", m->format);
        print_field("Format:", buf);
        print_field("Compatible:", m->compatible);
        print_field("Version:", m->version);
        print_field("Build:", m->build);
        print_field("Description:", m->description);
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) m->security_version);
        print_field("Security version:", buf);
        if (m->expires > 0) {
                format_timestamp(m->expires, buf, sizeof(buf));
                print_field("Expires:", buf);
        }
        print_field("Signer:", signer ?: "");
        format_size(total, buf, sizeof(buf));
        print_field("Bundle size:", buf);

        for (size_t i = 0; i < m->n_images; i++) {
                const ManifestImage *img = &m->images[i];
                uint64_t stored = 0;

                for (uint64_t c = 0; img->chunks && c < img->n_chunks; c++)
                        stored += img->chunks[c].size;

                printf("\n");
                print_field("Image:", img->slotclass);
                print_field("  Filename:", img->filename);
                format_size(img->size, buf, sizeof(buf));
                print_field("  Size:", buf);
                hex_encode(img->sha256, SHA256_SIZE, hex);
                print_field("  SHA256:", hex);
                if (rauc)
                        continue; /* stored as a file of the squashfs, not in chunks */
                if (img->table) {
                        print_cdc_stats(img);
                        stored = img->stored_size;
                } else {
                        format_size(img->chunk_size, buf, sizeof(buf));
                        print_field("  Chunk size:", buf);
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) img->n_chunks);
                        print_field("  Chunks:", buf);
                }
                print_field("  Compression:", compression_to_string(img->compression));
                format_size(stored, buf, sizeof(buf));
                print_field("  Stored size:", buf);
        }
}

static int print_json(const Manifest *m, const char *format, const char *signer) {
        struct json_object *o = NULL;
        int r;

        r = manifest_to_json_object(m, false, &o);
        if (r < 0)
                return r;
        if (!streq(format, "update1"))
                r |= json_add(o, "rauc-format", json_object_new_string(format));
        r |= json_add(o, "signer", json_object_new_string(signer ?: ""));
        if (r < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_SPACED |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return 0;
}

int verb_bundle_info(int argc, char **argv) {
        enum {
                ARG_KEYRING = 0x100, ARG_KEYRING_DIR, ARG_CONFIG, ARG_JSON, ARG_CHECK_PAYLOAD,
                ARG_ALLOW_INTERMEDIATES,
        };
        static const struct option options[] = {
                { "keyring", required_argument, NULL, ARG_KEYRING },
                { "keyring-dir", required_argument, NULL, ARG_KEYRING_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "json", no_argument, NULL, ARG_JSON },
                { "check-payload", no_argument, NULL, ARG_CHECK_PAYLOAD },
                { "allow-bundle-intermediates", no_argument, NULL, ARG_ALLOW_INTERMEDIATES },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *keyring_path = NULL, *keyring_dir = NULL, *config_path = NULL, *file;
        _cleanup_(bundle_reader_freep) BundleReader *reader = NULL;
        _cleanup_(keyring_freep) Keyring *keyring = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool json = false, check_payload = false, allow_intermediates = false, check_crl = false;
        bool arg_allow_intermediates = false;
        uint64_t max_size = UINT64_MAX;
        UError err = UERROR_NULL;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_KEYRING:
                        keyring_path = optarg;
                        break;
                case ARG_KEYRING_DIR:
                        keyring_dir = optarg;
                        break;
                case ARG_CONFIG:
                        config_path = optarg;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_CHECK_PAYLOAD:
                        check_payload = true;
                        break;
                case ARG_ALLOW_INTERMEDIATES:
                        arg_allow_intermediates = true;
                        break;
                case 'h':
                        help_info();
                        return EXIT_SUCCESS;
                default:
                        return usage_error("info", "invalid option");
                }
        if (optind + 1 != argc)
                return usage_error("info", "expected exactly one bundle file (or '-')");
        file = argv[optind];

        if (!keyring_path && !keyring_dir) {
                if (!config_path)
                        config_path = config_default_path(); /* RAUC's if Update1's is missing */
                r = config_load(config_path, &config); /* logs PATH:LINE on parse errors */
                if (r < 0) {
                        fprintf(stderr, "updatectl: Failed to load %s (needed for the keyring; or "
                                "pass --keyring): %s\n", config_path, strerror(-r));
                        return EXIT_FAILURE;
                }
                keyring_path = config->keyring_path;
                keyring_dir = config->keyring_directory;
                allow_intermediates = config->allow_bundle_intermediates;
                check_crl = config->check_crl;
                max_size = config->max_bundle_size;
        }
        if (arg_allow_intermediates)
                allow_intermediates = true;
        r = keyring_load(keyring_path, keyring_dir, allow_intermediates, &keyring, &err);
        if (r < 0)
                return fail(&err);
        /* RAUC bundles: as the daemon would, unless --allow-intermediates says more */
        keyring_set_rauc_intermediates(keyring, arg_allow_intermediates || !config ||
                                                        config_rauc_bundle_intermediates(config));
        if (config && (keyring_set_purpose(keyring, CMS_ORIGIN_UPDATE1, config->check_purpose, &err) < 0 ||
                       keyring_set_purpose(keyring, CMS_ORIGIN_RAUC, config->check_purpose, &err) < 0))
                return fail(&err);
        if (check_crl) {
                r = keyring_load_crls(keyring, keyring_path, keyring_dir, &err);
                if (r < 0)
                        return fail(&err);
        }

        if (streq(file, "-"))
                fd = dup(STDIN_FILENO);
        else
                fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "updatectl: Failed to open %s: %s\n", file, strerror(errno));
                return EXIT_FAILURE;
        }

        r = bundle_reader_new(fd, max_size, -1, &reader);
        if (r < 0) {
                fprintf(stderr, "updatectl: Failed to set up the bundle reader: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = bundle_reader_verify(reader, keyring, &err);
        if (r < 0)
                return fail(&err);

        if (check_payload) {
                BundleChunk chunk;

                while ((r = bundle_reader_next_chunk(reader, &chunk, &err)) > 0)
                        ;
                if (r < 0)
                        return fail(&err);
        }

        if (json) {
                r = print_json(bundle_reader_manifest(reader), bundle_reader_format(reader), bundle_reader_signer(reader));
                if (r < 0) {
                        fprintf(stderr, "updatectl: Failed to format JSON: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
        } else {
                print_table(bundle_reader_manifest(reader), bundle_reader_format(reader), bundle_reader_signer(reader),
                            bundle_reader_total_size(reader));
                if (check_payload)
                        printf("\nPayload verified: every chunk and image hash matches.\n");
        }
        return EXIT_SUCCESS;
}

/* ---- the program: updatectl-bundle, which 'updatectl bundle' runs ---- */

static void help_bundle(void) {
        printf("Usage: updatectl bundle create|info [OPTIONS] ...\n"
               "\n"
               "Work on bundle files directly; needs no daemon.\n"
               "\n"
               "  create    Create a signed bundle from images (see 'updatectl bundle create --help')\n"
               "  info      Verify a bundle and print its manifest (see 'updatectl bundle info --help')\n");
}

static int bundle_usage_error(const char *msg) {
        fprintf(stderr, "updatectl: %s\nTry 'updatectl bundle --help'.\n", msg);
        return EXIT_FAILURE;
}

int updatectl_bundle_main(int argc, char **argv) {
        if (argc < 2)
                return bundle_usage_error("missing 'create' or 'info'");
        if (streq(argv[1], "-h") || streq(argv[1], "--help")) {
                help_bundle();
                return EXIT_SUCCESS;
        }
        if (streq(argv[1], "create"))
                return verb_bundle_create(argc - 1, argv + 1);
        if (streq(argv[1], "info"))
                return verb_bundle_info(argc - 1, argv + 1);
        fprintf(stderr, "updatectl: unknown bundle verb '%s' (create or info)\nTry 'updatectl bundle --help'.\n", argv[1]);
        return EXIT_FAILURE;
}
