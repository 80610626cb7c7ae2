/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The device of the model test: slots as files, the daemon's data directory, the bootloader's
 * storage (tests/fakes/bootsim.c), a throw-away PKI and the bundles, all made at test time. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "model.h"
#include "rollback.h"
#include "test-pki.h"

static const char *const slot_file[MODEL_SLOTS] = { "slot-a-rootfs", "slot-b-rootfs", "slot-a-appfs", "slot-b-appfs" };

/* The contents that are another one with a few bytes changed (so that a patch from that one is
 * small and kept), and which one: set by model_setup() before any image is made. */
static unsigned derived_content[2], derived_base[2];

static unsigned base_of(unsigned c) {
        for (size_t i = 0; i < ELEMENTSOF(derived_content); i++)
                if (derived_content[i] != 0 && c == derived_content[i])
                        return derived_base[i];
        return c;
}

/* Image bytes of content c for the rootfs (appfs = false) or the appfs slot: distinct per
 * content and per slot class, so the model can tell every slot's content by its bytes. */
static void image_bytes(unsigned c, bool appfs, uint8_t *buf) {
        uint32_t x = 0x9e3779b9u * (base_of(c) + 1) + (appfs ? 0x5bd1e995u : 0);

        for (size_t i = 0; i < MODEL_IMAGE_SIZE; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                buf[i] = (uint8_t) x;
        }
        /* 64 bytes in the middle: one content-defined chunk differs from the base's (or two,
         * if a cut point moved), its neighbours match, and the patch of it is ~100 bytes. */
        if (base_of(c) != c)
                for (size_t i = MODEL_IMAGE_SIZE / 2 - 32; i < MODEL_IMAGE_SIZE / 2 + 32; i++)
                        buf[i] ^= (uint8_t) (0x5a + i);
}

static int write_bytes_to(const char *path, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

        if (fd < 0)
                return -errno;
        r = write_exact(fd, data, size);
        close(fd);
        return r;
}

static int path_in(char *buf, size_t n, const char *dir, const char *name) {
        return snprintf(buf, n, "%s/%s", dir, name) >= (int) n ? -ENAMETOOLONG : 0;
}

unsigned model_content_of(Model *md, unsigned slot) {
        static uint8_t images[MODEL_MAX_BUNDLES + 2][2][MODEL_IMAGE_SIZE];
        static bool made;
        uint8_t have[MODEL_IMAGE_SIZE];
        char path[PATH_MAX];
        int fd;

        if (!made) {
                for (unsigned c = 0; c < MODEL_MAX_BUNDLES + 2; c++)
                        for (unsigned a = 0; a < 2; a++)
                                image_bytes(c, a, images[c][a]);
                made = true;
        }

        if (path_in(path, sizeof(path), md->state, slot_file[slot]) < 0)
                return CONTENT_GARBAGE;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return CONTENT_GARBAGE;
        if (read_exact(fd, have, sizeof(have)) < 0) {
                close(fd);
                return CONTENT_GARBAGE;
        }
        close(fd);
        for (unsigned c = CONTENT_FACTORY; c < md->n_bundles + 2; c++)
                if (memcmp(have, images[c][slot >= 2], sizeof(have)) == 0)
                        return c;
        return CONTENT_GARBAGE;
}

/* A RAUC bundle (format "plain" or "verity") of the same images, made by Debian's real
 * `rauc bundle` (the model explores RAUC bundles through the same install state machine). */
static int make_rauc_bundle(Model *md, const char *format, unsigned c, const char *rpath, const char *apath,
                            const char *out) {
        char cmd[4 * PATH_MAX + 512];
        int r;

        /* [image.rootfs] first: the install writes rootfs, then appfs, as for our bundles. */
        r = snprintf(cmd, sizeof(cmd),
                     "set -e; d='%s/rauc-in-%u'; rm -rf \"$d\" && mkdir \"$d\"; "
                     "cp '%s' \"$d/rootfs.img\"; cp '%s' \"$d/appfs.img\"; "
                     "printf '[update]\\ncompatible=model\\nversion=%u\\nbuild=%u\\n\\n[bundle]\\nformat=%s\\n\\n"
                     "[image.rootfs]\\nfilename=rootfs.img\\n\\n[image.appfs]\\nfilename=appfs.img\\n' > \"$d/manifest.raucm\"; "
                     "rauc bundle --cert '%s' --key '%s' --mksquashfs-args=-no-fragments \"$d\" '%s' >'%s.log' 2>&1; rm -rf \"$d\"",
                     md->dir, c, rpath, apath, c, c, format, pki("direct.pem"), pki("direct.key"), out, out);
        if (r < 0 || (size_t) r >= sizeof(cmd))
                return -ENAMETOOLONG;
        if (system(cmd) != 0) {
                printf("# rauc bundle %s failed (see %s.log)\n", out, out);
                return -EIO;
        }
        return 0;
}

/* format: "update1" (bundle format 1), "update1-cdc" (format 2), or a RAUC bundle's "plain" /
 * "verity". */
/* patch_from: a content id whose images the bundle carries patches from (format 2 only), 0 none. */
static int make_bundle(Model *md, const char *name, uint64_t sv, bool rootfs, bool appfs, bool tampered,
                       const char *format, unsigned patch_from) {
        const char *rauc_format = streq(format, "update1") || streq(format, "update1-cdc") ? NULL : format;
        ModelBundle *b = &md->bundles[md->n_bundles];
        unsigned c = md->n_bundles + 2;
        BundleImageSpec images[2];
        BundlePatchSpec patches[2];
        char rpath[PATH_MAX], apath[PATH_MAX], version[32], prpath[PATH_MAX], papath[PATH_MAX];
        uint8_t buf[MODEL_IMAGE_SIZE];
        UError err = UERROR_NULL;
        size_t n = 0;
        int r;

        snprintf(rpath, sizeof(rpath), "%s/img-%u-rootfs", md->dir, c);
        snprintf(apath, sizeof(apath), "%s/img-%u-appfs", md->dir, c);
        image_bytes(c, false, buf);
        if ((r = write_bytes_to(rpath, buf, sizeof(buf))) < 0)
                return r;
        image_bytes(c, true, buf);
        if ((r = write_bytes_to(apath, buf, sizeof(buf))) < 0)
                return r;
        if (rootfs)
                images[n++] = (BundleImageSpec) { .slotclass = "rootfs", .path = rpath };
        if (appfs)
                images[n++] = (BundleImageSpec) { .slotclass = "appfs", .path = apath };
        /* The images of content patch_from, written when its own bundle was made. */
        snprintf(prpath, sizeof(prpath), "%s/img-%u-rootfs", md->dir, patch_from);
        snprintf(papath, sizeof(papath), "%s/img-%u-appfs", md->dir, patch_from);
        for (size_t i = 0; patch_from && i < n; i++)
                patches[i] = (BundlePatchSpec) { .slotclass = images[i].slotclass, .path = i == 0 && rootfs ? prpath : papath };

        *b = (ModelBundle) { .name = name, .content = c, .security_version = sv, .has_rootfs = rootfs,
                             .has_appfs = appfs, .tampered = tampered, .has_patches = patch_from > 0,
                             .patch_from = patch_from };
        snprintf(b->path, sizeof(b->path), "%s/%s.bundle", md->dir, name);
        snprintf(version, sizeof(version), "%u", c);
        if (rauc_format) {
                r = make_rauc_bundle(md, rauc_format, c, rpath, apath, b->path);
                if (r < 0)
                        return r;
                if (tampered) {
                        /* A byte of the appfs image's data (the squashfs holds the files'
                         * blocks in name order, appfs.img first, from 96 on, after the superblock;
                         * -no-fragments): in verity block 1, which only appfs.img's data uses,
                         * so it is refused when the install reads appfs, after rootfs was
                         * written.  (Block 0 is read at open, with the superblock.) */
                        int fd = open(b->path, O_RDWR | O_CLOEXEC);
                        uint8_t x;

                        if (fd < 0 || pread_exact(fd, &x, 1, 4096 + 100) < 0)
                                return -EIO;
                        x ^= 0xff;
                        r = pwrite_exact(fd, &x, 1, 4096 + 100);
                        close(fd);
                        if (r < 0)
                                return r;
                }
                md->n_bundles++;
                return 0;
        }
        r = bundle_create(&(BundleCreateOptions) {
                .cert_path = pki("direct.pem"),
                .key_path = pki("direct.key"),
                .compatible = "model",
                .version = version,
                .build = version,
                .security_version = sv,
                /* Format 2 with zstd: its table, stored and raw hashes all on the install path
                 * (4 KiB average: the 8 KiB images are one to three chunks). */
                .format = streq(format, "update1-cdc") ? BUNDLE_FORMAT_CDC : BUNDLE_FORMAT_VERSION,
                .chunk_size = streq(format, "update1-cdc") ? 4096 : 0,
                .compression = streq(format, "update1-cdc") ? COMPRESSION_ZSTD : COMPRESSION_NONE,
                .images = images,
                .n_images = n,
                .patches = patch_from ? patches : NULL,
                .n_patches = patch_from ? n : 0,
                .output_path = b->path,
        }, &err);
        if (r < 0) {
                printf("# bundle %s: %s\n", name, err.message);
                return r;
        }
        if (tampered) {
                /* One byte of the last image's stored chunk: the reader fails on its hash after
                 * the first image was written, leaving a half-written group. */
                int fd = open(b->path, O_RDWR | O_CLOEXEC);
                struct stat st;
                uint8_t x;

                if (fd < 0 || fstat(fd, &st) < 0 || pread_exact(fd, &x, 1, st.st_size - 100) < 0)
                        return -EIO;
                x ^= 0xff;
                r = pwrite_exact(fd, &x, 1, st.st_size - 100);
                close(fd);
                if (r < 0)
                        return r;
        }
        md->n_bundles++;
        return 0;
}

static int write_config(Model *md, const char *boot_conf) {
        FILE *f = fopen(md->config, "we");

        if (!f)
                return -errno;
        fprintf(f,
                "[system]\ncompatible=model\ndata-directory=%s/data\n%s\n%s%s%s"
                "[keyring]\npath=%s\n"
                "[slot.rootfs.0]\ndevice=%s/%s\ntype=raw\nbootname=A\n"
                "[slot.rootfs.1]\ndevice=%s/%s\ntype=raw\nbootname=B\n"
                "[slot.appfs.0]\ndevice=%s/%s\ntype=raw\nparent=rootfs.0\n"
                "[slot.appfs.1]\ndevice=%s/%s\ntype=raw\nparent=rootfs.1\n",
                md->state, boot_conf,
                /* A lock of its own: not the machine's /run/lock, which other tests share. */
                md->scheme <= BOOT_SCHEME_UBOOT_BOOTCOUNT ? "lock-file=" : "",
                md->scheme <= BOOT_SCHEME_UBOOT_BOOTCOUNT ? md->dir : "",
                md->scheme <= BOOT_SCHEME_UBOOT_BOOTCOUNT ? "/fw_printenv.lock\n" : "", pki("root.pem"), md->state, slot_file[0], md->state, slot_file[1],
                md->state, slot_file[2], md->state, slot_file[3]);
        return fclose(f) == 0 ? 0 : -errno;
}

int model_setup(Model *md, BootScheme scheme, const char *top) {
        _cleanup_free_ char *boot_conf = NULL;
        uint8_t buf[MODEL_IMAGE_SIZE];
        char path[PATH_MAX];
        int r;

        md->scheme = scheme;
        snprintf(md->top, sizeof(md->top), "%s", top);
        /* tmpfs where there is one: the daemon fsyncs every write, and the model makes hundreds
         * of thousands of them; durability is simulated by the power cuts, not by the disk. */
        snprintf(md->dir, sizeof(md->dir), "%s/update1-model-%s-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", boot_scheme_name(scheme));
        if (!mkdtemp(md->dir))
                return -errno;
        snprintf(md->state, sizeof(md->state), "%s/state", md->dir);
        snprintf(md->config, sizeof(md->config), "%s/system.conf", md->dir);
        snprintf(md->cmdline, sizeof(md->cmdline), "%s/cmdline", md->state);
        snprintf(path, sizeof(path), "%s/boot", md->state);
        if (mkdir(md->state, 0755) < 0 || mkdir(path, 0755) < 0)
                return -errno;
        if (!pki_dir[0] && pki_setup() < 0)
                return -EIO;

        /* A factory device: both groups hold the factory image, A boots. */
        for (unsigned s = 0; s < MODEL_SLOTS; s++) {
                image_bytes(CONTENT_FACTORY, s >= 2, buf);
                if (path_in(path, sizeof(path), md->state, slot_file[s]) < 0 ||
                    (r = write_bytes_to(path, buf, sizeof(buf))) < 0)
                        return -EIO;
        }
        snprintf(path, sizeof(path), "%s/boot", md->state);
        r = bootsim_setup(scheme, path, top, &boot_conf);
        if (r < 0)
                return r;
        r = write_config(md, boot_conf);
        if (r < 0)
                return r;

        if ((r = make_bundle(md, "v2", 0, true, true, false, "update1", 0)) < 0 ||
            (r = make_bundle(md, "v3", 0, true, true, false, "update1", 0)) < 0 ||
            (r = make_bundle(md, "v4-s1", 1, true, true, false, "update1", 0)) < 0 ||
            (r = make_bundle(md, "v5-s2", 2, true, true, false, "update1", 0)) < 0 ||
            (r = make_bundle(md, "appfs-only", 0, false, true, false, "update1", 0)) < 0 ||
            (r = make_bundle(md, "bad-image", 0, true, true, true, "update1", 0)) < 0 ||
            /* Bundle format 2 (issue #13): a good one, and one whose last stored chunk was
             * changed after signing (refused mid-install, like bad-image) */
            (r = make_bundle(md, "cdc", 0, true, true, false, "update1-cdc", 0)) < 0 ||
            (r = make_bundle(md, "cdc-bad", 0, true, true, true, "update1-cdc", 0)) < 0 ||
            /* RAUC bundles (issue #11): a verity one, and a verity one whose appfs block was
             * changed after signing (refused mid-install, like bad-image) */
            (r = make_bundle(md, "rauc-verity", 0, true, true, false, "verity", 0)) < 0 ||
            (r = make_bundle(md, "rauc-verity-bad", 0, true, true, true, "verity", 0)) < 0)
                return r;
        /* Format 2 with patches from v2's images (issue #13): v6-patch is v2 with 64 bytes
         * changed, so a device that runs v2 (its status record's image hash) applies a patch for
         * the changed chunk of each image instead of fetching it. */
        derived_content[0] = md->n_bundles + 2;
        derived_base[0] = md->bundles[0].content;
        if ((r = make_bundle(md, "v6-patch", 0, true, true, false, "update1-cdc", derived_base[0])) < 0)
                return r;
        /* v7-patch is the factory image with 64 bytes changed, with patches from the factory
         * images: the factory slots have no status record, so the daemon picks the set by its
         * old regions (delta-patch.c), and from the fresh device it applies a patch per image. */
        for (unsigned a = 0; a < 2; a++) {
                snprintf(path, sizeof(path), "%s/img-%u-%s", md->dir, CONTENT_FACTORY, a ? "appfs" : "rootfs");
                image_bytes(CONTENT_FACTORY, a, buf);
                if ((r = write_bytes_to(path, buf, sizeof(buf))) < 0)
                        return r;
        }
        derived_content[1] = md->n_bundles + 2;
        derived_base[1] = CONTENT_FACTORY;
        if ((r = make_bundle(md, "v7-patch", 0, true, true, false, "update1-cdc", CONTENT_FACTORY)) < 0)
                return r;

        snprintf(md->booted, sizeof(md->booted), "A");
        md->boot_count = 1;
        md->proven[0] = CONTENT_FACTORY; /* the factory image runs: the device's baseline */
        return write_bytes_to(md->cmdline, "update1.slot=A\n", strlen("update1.slot=A\n"));
}

void model_cleanup(Model *md) {
        char cmd[PATH_MAX + 16];

        model_stop_daemon(md);
        if (md->dir[0] && !getenv("MODEL_KEEP")) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", md->dir);
                (void) !system(cmd);
        }
}

int model_pki_setup(void) {
        return pki_dir[0] ? 0 : pki_setup();
}

void model_pki_cleanup(void) {
        pki_cleanup();
}

int model_start_daemon(Model *md) {
        char boot_id[33];

        model_stop_daemon(md);
        md->boots_valid = false; /* start-up may write (recoveries, repairs) */
        snprintf(boot_id, sizeof(boot_id), "%032x", md->boot_count);
        return manager_new(&(ManagerOptions) {
                .config_path = md->config,
                .cmdline_path = md->cmdline,
                .boot_id = boot_id,
        }, &md->m);
}

void model_stop_daemon(Model *md) {
        md->m = manager_free(md->m);
}

/* Power-on: the bootloader's logic (resets included), the kernel command line, a new boot. */
int model_power_on(Model *md) {
        char name[64] = "", path[PATH_MAX], line[128];
        int r;

        model_stop_daemon(md);
        md->boots_valid = false;
        snprintf(path, sizeof(path), "%s/boot", md->state);
        for (unsigned tries = 0; tries < 8 && !name[0]; tries++) {
                r = bootsim_power_on(md->scheme, path, name);
                if (r < 0)
                        return r;
        }
        if (!name[0])
                return -ENOENT; /* bricked: nothing boots; model_check says why */
        snprintf(md->booted, sizeof(md->booted), "%s", name);
        snprintf(line, sizeof(line), "update1.slot=%s\n", name);
        r = write_bytes_to(md->cmdline, line, strlen(line));
        if (r < 0)
                return r;
        md->boot_count++;
        model_note_boot(md, name);
        return model_start_daemon(md);
}

/* A factory image that boots is the device's baseline (the daemon records it so at start-up,
 * daemon/slot-policy.c): the model counts it as proven. */
void model_note_boot(Model *md, const char *bootname) {
        unsigned g = streq(bootname, "A") ? 0 : 1;

        if (model_content_of(md, g) == CONTENT_FACTORY && model_content_of(md, g + 2) == CONTENT_FACTORY)
                md->proven[g] = CONTENT_FACTORY;
}

/* After a power cut that may have hit a power-on: the boot it made, from the command line the
 * simulated bootloader passed. */
void model_note_boot_from_cmdline(Model *md) {
        char *text = NULL, *p;
        size_t size;

        if (read_full_file(md->cmdline, 4096, &text, &size) < 0)
                return;
        p = strstr(text, "update1.slot=");
        if (p) {
                p += strlen("update1.slot=");
                p[strcspn(p, " \n")] = '\0';
                if (streq(p, "A") || streq(p, "B"))
                        model_note_boot(md, p);
        }
        free(text);
}

int model_floor(Model *md, uint64_t *ret) {
        static Config *c = NULL;
        static char loaded[sizeof(md->config)];
        RollbackFloor f;
        unsigned copies;
        bool missing;
        int r;

        if (!c || !streq(loaded, md->config)) {
                c = config_free(c);
                r = config_load(md->config, &c);
                if (r < 0)
                        return r;
                snprintf(loaded, sizeof(loaded), "%s", md->config);
        }
        r = rollback_load(c, &f, &copies, &missing);
        if (r < 0)
                return r;
        *ret = f.security_version;
        return 0;
}
