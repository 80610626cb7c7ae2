/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RAUC bundles: lib/verity.c against veritysetup's own hash trees, lib/rauc-manifest.c, and
 * lib/rauc-bundle.c on bundles made here by Debian's real `rauc bundle` with a test PKI (signer
 * under an intermediate, keyring = the root alone).  Skips if rauc or veritysetup is missing. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "cms.h"
#include "rauc-bundle.h"
#include "rauc-manifest.h"
#include "util.h"
#include "verity.h"

#include "test-pki.h"

static bool have(const char *tool) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
        return system(cmd) == 0;
}

static void flip(const char *path, uint64_t offset) {
        uint8_t b;
        int fd = open(path, O_RDWR | O_CLOEXEC);

        CHECK(fd >= 0);
        CHECK(pread(fd, &b, 1, (off_t) offset) == 1);
        b ^= 0xff;
        CHECK(pwrite(fd, &b, 1, (off_t) offset) == 1);
        close(fd);
}

static uint64_t file_size(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 ? (uint64_t) st.st_size : 0;
}

/* `veritysetup format` of FILE (data and tree in one file, tree at the end, no superblock); the
 * root hash into root[]. */
static int veritysetup_format(const char *name, uint64_t data_size, const char *salt, uint8_t root[32]) {
        char line[256], path[PATH_MAX + 64];
        FILE *f;
        int r = -1;

        if (pki_run("veritysetup format --no-superblock --format=1 --hash=sha256 --data-block-size=4096 "
                "--hash-block-size=4096 --salt=%s --hash-offset=%llu %s %s >%s.out 2>&1", salt,
                (unsigned long long) data_size, name, name, name) != 0)
                return -1;
        snprintf(path, sizeof(path), "%s/%s.out", pki_dir, name);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "Root hash:", 10) == 0) {
                        char *h = line + 10;

                        while (*h == ' ' || *h == '\t')
                                h++;
                        h[64] = 0;
                        r = hex_decode(h, root, 32);
                }
        fclose(f);
        return r;
}

static int veritysetup_verify(uint64_t data_size, const uint8_t root[32]) {
        char hex[65];

        hex_encode(root, 32, hex);
        return pki_run("veritysetup verify --no-superblock --format=1 --hash=sha256 --data-block-size=4096 "
                   "--hash-block-size=4096 --salt=00112233 --data-blocks=%llu --hash-offset=%llu v.img v.img %s "
                   ">/dev/null 2>&1",
                   (unsigned long long) data_size / 4096, (unsigned long long) data_size, hex);
}

/* Our tree walk against veritysetup's trees: one level (1 data block), two, three. */
TEST(verity_vs_veritysetup) {
        static const uint64_t sizes[] = { 4096, 64 * 4096, 129 * 4096, 16385 * 4096 };
        uint8_t salt[4] = { 0x00, 0x11, 0x22, 0x33 }, root[32];

        if (!have("veritysetup")) {
                unit_skip("verity_vs_veritysetup", "veritysetup not installed");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_(verity_freep) VerityFile *v = NULL;
                _cleanup_free_ uint8_t *buf = malloc(sizes[i]);
                UError err = UERROR_NULL;
                uint64_t tree;
                ReadAt src;
                int fd, r;

                CHECK(pki_run("head -c %llu /dev/urandom >v.img", (unsigned long long) sizes[i]) == 0);
                CHECK(veritysetup_format("v.img", sizes[i], "00112233", root) == 0);
                CHECK(verity_tree_size(sizes[i], &tree) == 0);
                CHECK_EQ(file_size(pki("v.img")), sizes[i] + tree);

                fd = open(pki("v.img"), O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0);
                src = READ_AT_FD(fd);
                CHECK(verity_open(&src, sizes[i], sizes[i], tree, salt, sizeof(salt), root, &v, &err) == 0);
                if (!v) {
                        unit_diag("verity_open: %s", err.message);
                        close(fd);
                        continue;
                }
                /* The tree is read as needed: the top block at open, then one run of 8
                 * blocks per level below it for the first data block; all of it in the end. */
                CHECK_EQ(verity_tree_bytes_read(v), tree > 0 ? (uint64_t) 4096 : 0);
                CHECK(buf && verity_read(v, 0, buf, 4096, &err) == 0);
                CHECK(verity_tree_bytes_read(v) <= MIN(tree, (uint64_t) (1 + 8 + 8) * 4096));
                CHECK(buf && verity_read(v, 0, buf, (size_t) sizes[i], &err) == 0);
                CHECK_EQ(verity_tree_bytes_read(v), tree);
                verity_free(TAKE_PTR(v));

                /* A data block changed: that block, and only it, fails. */
                flip(pki("v.img"), sizes[i] - 100);
                CHECK(verity_open(&src, sizes[i], sizes[i], tree, salt, sizeof(salt), root, &v, &err) == 0);
                if (v) {
                        err = UERROR_NULL;
                        if (sizes[i] > 4096)
                                CHECK(verity_read(v, 0, buf, 4096, &err) == 0);
                        CHECK(verity_read(v, sizes[i] - 4096, buf, 4096, &err) == -EBADMSG);
                        CHECK(strstr(err.message, "failed verification"));
                        v = verity_free(v);
                }
                /* veritysetup agrees: the same file fails its verify, and passes once restored. */
                CHECK(veritysetup_verify(sizes[i], root) != 0);
                flip(pki("v.img"), sizes[i] - 100);
                CHECK(veritysetup_verify(sizes[i], root) == 0);

                /* A hash block changed (the last one: level 0's last block, the top itself for
                 * one hash block): the tree is read lazily, so the open fails only if it is the
                 * top; else the data it covers fails, and the data before it still reads. */
                if (tree > 0) {
                        flip(pki("v.img"), sizes[i] + tree - 1000);
                        err = UERROR_NULL;
                        r = verity_open(&src, sizes[i], sizes[i], tree, salt, sizeof(salt), root, &v, &err);
                        if (tree == 4096)
                                CHECK_EQ(r, -EBADMSG);
                        else {
                                CHECK_EQ(r, 0);
                                if (v) {
                                        uint64_t covered = sizes[i] % (128 * 4096) ?: 128 * 4096;

                                        if (sizes[i] > covered)
                                                CHECK(verity_read(v, 0, buf, 4096, &err) == 0);
                                        CHECK(verity_read(v, sizes[i] - 4096, buf, 4096, &err) == -EBADMSG);
                                        v = verity_free(v);
                                }
                        }
                        CHECK(strstr(err.message, "hash tree invalid"));
                        flip(pki("v.img"), sizes[i] + tree - 1000);
                }
                /* A wrong verity-size is refused before anything is read. */
                err = UERROR_NULL;
                CHECK(verity_open(&src, sizes[i], sizes[i], tree + 4096, salt, sizeof(salt), root, &v, &err) ==
                      -EINVAL);
                close(fd);
        }
}

/* A ReadAt over a file that counts the reads of the data (the hash tree is after it). */
typedef struct CountingFile {
        int fd;
        uint64_t data_size;
        unsigned data_reads;
} CountingFile;

static int counting_read(void *userdata, uint64_t offset, void *buf, size_t size) {
        CountingFile *c = userdata;

        if (offset < c->data_size)
                c->data_reads++;
        return read_at_fd_read((void *) (intptr_t) c->fd, offset, buf, size);
}

static uint64_t data_bytes_read(const VerityFile *v) {
        return verity_bytes_read(v) - verity_tree_bytes_read(v);
}

/* The two read windows (lib/verity.c WINDOWS): libsquashfs's order (the superblock at 0, the
 * tables at the end, then everything from 0) reads every data block once; a window holds only
 * checked blocks, so a block changed behind it is refused when asked for, and a changed block
 * never comes out of a window; a window replaced and asked for again is read and checked again. */
TEST(verity_windows) {
        const uint64_t blocks = 256, size = blocks * 4096, last = blocks - 1;
        uint8_t salt[4] = { 0x00, 0x11, 0x22, 0x33 }, root[32], buf[4096];
        _cleanup_free_ uint8_t *data = malloc(size);
        _cleanup_(verity_freep) VerityFile *v = NULL;
        UError err = UERROR_NULL;
        CountingFile c = { .data_size = size };
        ReadAt src = { counting_read, NULL, &c };
        _cleanup_close_ int fd = -1;
        uint64_t tree;

        if (!have("veritysetup")) {
                unit_skip("verity_windows", "veritysetup not installed");
                return;
        }
        CHECK(data);
        CHECK(pki_run("head -c %llu /dev/urandom >w.img", (unsigned long long) size) == 0);
        CHECK(veritysetup_format("w.img", size, "00112233", root) == 0);
        CHECK(verity_tree_size(size, &tree) == 0);
        c.fd = fd = open(pki("w.img"), O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(data && pread(fd, data, size, 0) == (ssize_t) size);

        /* Reads alternating between the first window and the last block read each once. */
        CHECK(verity_open(&src, size, size, tree, salt, sizeof(salt), root, &v, &err) == 0);
        CHECK(v);
        if (!v)
                return;
        for (unsigned i = 0; i < 8; i++) {
                CHECK(verity_read(v, 100 * i, buf, 100, &err) == 0);
                CHECK(memcmp(buf, data + 100 * i, 100) == 0);
                CHECK(verity_read(v, last * 4096 + 100 * i, buf, 100, &err) == 0);
                CHECK(memcmp(buf, data + last * 4096 + 100 * i, 100) == 0);
        }
        CHECK_EQ(c.data_reads, 2u);
        CHECK_EQ(data_bytes_read(v), (uint64_t) (128 + 4) * 1024);
        /* Then everything from the start, as libsquashfs reads the files: the stream replaces
         * its own window, the last block's stays, and no data byte is read twice. */
        for (uint64_t o = 0; o < size; o += 3000) {
                size_t n = (size_t) MIN((uint64_t) 3000, size - o);

                CHECK(verity_read(v, o, buf, n, &err) == 0);
                CHECK(memcmp(buf, data + o, n) == 0);
        }
        CHECK_EQ(data_bytes_read(v), size);
        CHECK_EQ(c.data_reads, 1 + blocks / 32);
        v = verity_free(v);

        /* Block 5 changed before it is read: the first window ends before it (it holds only the
         * blocks checked, though all 32 were read), and block 5 is refused when asked for, with
         * both windows in use. */
        flip(pki("w.img"), 5 * 4096 + 7);
        err = UERROR_NULL;
        CHECK(verity_open(&src, size, size, tree, salt, sizeof(salt), root, &v, &err) == 0);
        if (!v)
                return;
        CHECK(verity_read(v, 0, buf, 100, &err) == 0);
        CHECK(verity_read(v, last * 4096, buf, 100, &err) == 0);
        CHECK(verity_read(v, 4 * 4096, buf, 4096, &err) == 0);
        CHECK(memcmp(buf, data + 4 * 4096, 4096) == 0);
        CHECK_EQ(data_bytes_read(v), (uint64_t) (128 + 4) * 1024);
        CHECK(verity_read(v, 5 * 4096 + 7, buf, 1, &err) == -EBADMSG);
        CHECK(strstr(err.message, "block 5 "));
        err = UERROR_NULL;
        CHECK(verity_read(v, 4 * 4096, buf, 8192, &err) == -EBADMSG); /* across into it, too */
        CHECK(strstr(err.message, "block 5 "));
        flip(pki("w.img"), 5 * 4096 + 7);
        v = verity_free(v);

        /* A block changed in the file after its window was checked: the window hands out the
         * checked bytes, never the changed ones.  Then that window is replaced (the least
         * recently used, after the last block and one in the middle were read): asked for
         * again, it is read again and checked again, and the changed block is refused. */
        err = UERROR_NULL;
        CHECK(verity_open(&src, size, size, tree, salt, sizeof(salt), root, &v, &err) == 0);
        if (!v)
                return;
        CHECK(verity_read(v, 0, buf, 100, &err) == 0);
        CHECK(verity_read(v, last * 4096, buf, 100, &err) == 0);
        flip(pki("w.img"), 2 * 4096 + 9);
        CHECK(verity_read(v, 2 * 4096, buf, 4096, &err) == 0);
        CHECK(memcmp(buf, data + 2 * 4096, 4096) == 0);
        CHECK(verity_read(v, last * 4096, buf, 100, &err) == 0);
        CHECK(verity_read(v, 128 * 4096, buf, 100, &err) == 0);
        c.data_reads = 0;
        CHECK(verity_read(v, 2 * 4096, buf, 4096, &err) == -EBADMSG);
        CHECK(strstr(err.message, "block 2 "));
        CHECK_EQ(c.data_reads, 1u);
        flip(pki("w.img"), 2 * 4096 + 9);
        err = UERROR_NULL;
        CHECK(verity_read(v, 2 * 4096, buf, 4096, &err) == 0);
        CHECK(memcmp(buf, data + 2 * 4096, 4096) == 0);
}

TEST(block_table) {
        _cleanup_(verity_freep) VerityFile *v = NULL;
        uint8_t data[200000], out[1000];
        UError err = UERROR_NULL;
        ReadAt src;
        int fd;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7 + (i >> 9));
        fd = open(pki("t.img"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        src = READ_AT_FD(fd);
        CHECK(write(fd, data, sizeof(data)) == (ssize_t) sizeof(data));
        CHECK(verity_table_new(&src, sizeof(data), VERITY_TABLE_BLOCK_SIZE, &v) == 0);
        CHECK(verity_read(v, 0, out, 10, &err) < 0); /* not sealed */
        for (size_t o = 0; o < sizeof(data); o += 999)
                CHECK(verity_table_feed(v, data + o, MIN((size_t) 999, sizeof(data) - o)) == 0);
        CHECK(verity_table_seal(v) == 0);
        err = UERROR_NULL;
        CHECK(verity_read(v, 199000, out, 1000, &err) == 0);
        CHECK(memcmp(out, data + 199000, 1000) == 0);
        CHECK(verity_read(v, 199500, out, 1000, &err) == -ERANGE);
        /* The file changed after it was hashed (the TOCTOU of a plain bundle). */
        flip(pki("t.img"), 70000);
        err = UERROR_NULL;
        CHECK(verity_read(v, 0, out, 1000, &err) == 0); /* block 0 untouched... */
        CHECK(verity_read(v, 65536, out, 10, &err) == -EBADMSG); /* ...block 1 refused */
        flip(pki("t.img"), 70000);
        v = verity_free(v);

        /* The larger blocks of a large plain bundle (a window of one block): reads across
         * block ends, then a change in the last, partial block. */
        for (uint32_t bs = 128 * 1024; bs <= 1024 * 1024; bs *= 2) {
                CHECK(verity_table_new(&src, sizeof(data), bs, &v) == 0);
                CHECK(verity_table_feed(v, data, sizeof(data)) == 0);
                CHECK(verity_table_seal(v) == 0);
                flip(pki("t.img"), sizeof(data) - 1);
                err = UERROR_NULL;
                CHECK(verity_read(v, 0, out, 10, &err) == (bs >= sizeof(data) ? -EBADMSG : 0));
                CHECK(verity_read(v, sizeof(data) - 10, out, 10, &err) == -EBADMSG);
                flip(pki("t.img"), sizeof(data) - 1);
                err = UERROR_NULL;
                for (size_t o = 0; o + 1000 <= sizeof(data); o += 4999) {
                        CHECK(verity_read(v, o, out, 1000, &err) == 0);
                        CHECK(memcmp(out, data + o, 1000) == 0);
                }
                v = verity_free(v);
        }
        close(fd);
}

static int parse(const char *text, UError *err) {
        _cleanup_(rauc_manifest_freep) RaucManifest *m = NULL;

        *err = UERROR_NULL;
        return rauc_manifest_parse(text, strlen(text), &m, err);
}

#define IMG "[image.rootfs]\nfilename=r.img\nsize=10\n" \
        "sha256=0000000000000000000000000000000000000000000000000000000000000000\n"

TEST(manifest) {
        _cleanup_(rauc_manifest_freep) RaucManifest *rm = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        const char *good = "[update]\ncompatible=board\nversion=1.2\n\n[bundle]\nformat=verity\n"
                           "verity-hash=" "1111111111111111111111111111111111111111111111111111111111111111\n"
                           "verity-salt=22\nverity-size=4096\n[meta.x]\nfoo=bar\n" IMG
                           "[image.appfs]\nfilename=a.ext4\nsize=5\ntype=ext4\nadaptive=block-hash-index\n"
                           "sha256=3333333333333333333333333333333333333333333333333333333333333333\n";
        static const struct {
                const char *text, *needle;
        } bad[] = {
                { "[update]\ncompatible=b\n" IMG "[hooks]\nfilename=h.sh\n", "bundle hooks" },
                { "[update]\ncompatible=b\n" IMG "hooks=install\n", "slot hooks" },
                { "[update]\ncompatible=b\n" IMG "[handler]\nfilename=h.sh\n", "custom install handlers" },
                { "[update]\ncompatible=b\n[image.rootfs.v1]\nfilename=x\n", "variant images" },
                { "[update]\ncompatible=b\n[image.repo/art]\nfilename=x\n", "artifact images" },
                { "[update]\ncompatible=b\n[image.rootfs]\nfilename=x.tar.gz\n", "archive images" },
                { "[update]\ncompatible=b\n" IMG "[bundle]\nformat=crypt\ncrypt-key=00\n", "crypt bundles" },
                { "[update]\ncompatible=b\n[image.rootfs]\nfilename=r.img\nsize=1\n", "lacks filename, sha256" },
                { "[update]\nversion=1\n" IMG, "no [update] compatible" },
                { "[update]\ncompatible=b\n", "no [image" },
                { "[update]\ncompatible=b\n[bundle]\nformat=verity\n" IMG, "lacks verity-hash" },
                { "[update]\ncompatible=b\n[bundle]\nformat=squash\n" IMG, "unknown bundle format" },
                { "[update]\ncompatible=b\n[image.rootfs]\nfilename=../etc/passwd\n", "root directory" },
                { "[update]\ncompatible=b\n" IMG "size=-1\n", "decimal" },
                { "[update]\ncompatible=b\n[image.Root]\nfilename=x\n", "slot class" },
                { "garbage\n", "malformed" },
        };
        UError err = UERROR_NULL;

        CHECK(rauc_manifest_parse(good, strlen(good), &rm, &err) == 0);
        if (!rm) {
                unit_diag("%s", err.message);
                return;
        }
        CHECK_EQ(rm->format, RAUC_FORMAT_VERITY);
        CHECK_EQ(rm->verity_salt_size, 1);
        CHECK_EQ(rm->n_images, 2);
        CHECK(rauc_manifest_to_manifest(rm, RAUC_CHUNK_SIZE, &m, &err) == 0);
        CHECK_STREQ(m->compatible, "board");
        CHECK_STREQ(m->version, "1.2");
        CHECK_STREQ(m->images[1].slotclass, "appfs");
        CHECK_EQ(m->images[1].size, 5);
        CHECK_EQ(m->images[1].n_chunks, 1);
        CHECK_EQ(m->security_version, 0);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK(parse(bad[i].text, &err) < 0);
                if (!strstr(err.message, bad[i].needle))
                        unit_diag("case %zu: '%s' lacks '%s'", i, err.message, bad[i].needle);
                CHECK(strstr(err.message, bad[i].needle));
                CHECK_EQ(err.kind, ERROR_INVALID_BUNDLE);
        }
        /* A NUL byte, and the size cap. */
        CHECK(rauc_manifest_parse("[update]\0x", 10, &rm, &err) < 0);
        CHECK(rauc_manifest_parse(good, RAUC_MANIFEST_MAX_SIZE + 1, &rm, &err) == -EFBIG);
}

/* `rauc bundle` of a 3 MiB random image in FORMAT, signed by the intermediate's signer. */
static int make_bundle(const char *format, const char *out) {
        return pki_run("rm -rf in && mkdir in && head -c 3M /dev/urandom >in/rootfs.img && "
                   "printf '[update]\\ncompatible=board\\nversion=7\\n[bundle]\\nformat=%s\\n"
                   "[image.rootfs]\\nfilename=rootfs.img\\n' >in/manifest.raucm && "
                   "rm -f %s && rauc bundle --cert signer.pem --key signer.key --intermediate inter.pem in %s "
                   ">rauc.log 2>&1", format, out, out);
}

#define OPTS(max) (&(RaucOpenOptions) { .max_size = (max), .cancel_fd = -1 })

/* A ReadAt over a file that counts what it reads. */
typedef struct Counted {
        int fd;
        uint64_t bytes;
} Counted;

static int counted_read(void *userdata, uint64_t offset, void *buf, size_t size) {
        Counted *c = userdata;

        c->bytes += size;
        return read_at_fd_read((void *) (intptr_t) c->fd, offset, buf, size);
}

static int counted_size(void *userdata, uint64_t *ret) {
        return read_at_fd_size((void *) (intptr_t) ((Counted *) userdata)->fd, ret);
}

typedef struct Pass {
        unsigned calls;
        uint64_t done, total;
        bool backwards;
} Pass;

static void pass_progress(void *userdata, uint64_t done, uint64_t total) {
        Pass *p = userdata;

        p->backwards |= done < p->done || (p->total && total != p->total);
        p->calls++;
        p->done = done;
        p->total = total;
}

static int read_all(RaucBundle *b, UError *err) {
        BundleChunk c;
        int r;

        while ((r = rauc_bundle_next_chunk_into(b, NULL, 0, &c, err)) > 0)
                ;
        return r;
}

TEST(bundles) {
        _cleanup_(keyring_freep) Keyring *k = NULL, *strict = NULL;
        UError err = UERROR_NULL;

        if (!have("rauc")) {
                unit_skip("bundles", "rauc not installed");
                return;
        }
        CHECK(keyring_load(pki("root.pem"), NULL, true, &k, &err) == 0);
        CHECK(keyring_load(pki("root.pem"), NULL, false, &strict, &err) == 0);

        for (int plain = 0; plain < 2; plain++) {
                _cleanup_(rauc_bundle_freep) RaucBundle *b = NULL;
                const char *name = plain ? "p.raucb" : "v.raucb";
                int fd, r;

                CHECK(make_bundle(plain ? "plain" : "verity", name) == 0);
                if (plain)
                        CHECK(pki_run("cp p.raucb p-orig.raucb") == 0); /* its signature, for the huge one */
                fd = open(pki(name), O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0);
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), k, &b, &err) == 0);
                if (!b) {
                        unit_diag("%s: %s", name, err.message);
                        close(fd);
                        continue;
                }
                CHECK_STREQ(rauc_bundle_format(b), plain ? "plain" : "verity");
                CHECK_STREQ(rauc_bundle_manifest(b)->compatible, "board");
                CHECK(strstr(rauc_bundle_signer(b), "CN=signer"));
                CHECK_EQ(read_all(b, &err), 0);
                b = rauc_bundle_free(b);

                /* The intermediate is only in the bundle: a keyring that does not take bundle
                 * intermediates refuses it. */
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), strict, &b, &err) < 0);
                CHECK_EQ(err.kind, ERROR_SIGNATURE_INVALID);
                /* The size cap is the caller's. */
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(4096), k, &b, &err) == -EFBIG);

                /* The plain bundle's signature pass reports its progress, 1 MiB at a time, up
                 * to the whole payload; a verity bundle has no such pass. */
                {
                        Pass pass = {};

                        err = UERROR_NULL;
                        CHECK(rauc_bundle_open(&READ_AT_FD(fd),
                                               &(RaucOpenOptions) { .max_size = UINT64_MAX, .cancel_fd = -1,
                                                                    .progress = pass_progress, .userdata = &pass },
                                               k, &b, &err) == 0);
                        b = rauc_bundle_free(b);
                        if (plain) {
                                CHECK(pass.calls >= 3);
                                CHECK(!pass.backwards);
                                CHECK(pass.total > 3 * 1024 * 1024 && pass.done == pass.total);
                        } else
                                CHECK_EQ(pass.calls, 0u);
                }
                /* A cap on plain bundles (max-bundle-download-size= from a URL) is checked
                 * before the pass: nothing but the signature is read.  It does not apply to
                 * verity bundles. */
                {
                        Counted c = { .fd = fd };

                        err = UERROR_NULL;
                        r = rauc_bundle_open(&(ReadAt) { counted_read, counted_size, &c },
                                             &(RaucOpenOptions) { .max_size = UINT64_MAX, .cancel_fd = -1,
                                                                  .max_plain_size = 4096,
                                                                  .max_plain_size_name = "[system] x=" },
                                             k, &b, &err);
                        b = rauc_bundle_free(b);
                        if (plain) {
                                CHECK_EQ(r, -EFBIG);
                                CHECK(strstr(err.message, "more than [system] x=4096"));
                                CHECK(c.bytes <= 8 + RAUC_MAX_SIGNATURE_SIZE);
                        } else
                                CHECK_EQ(r, 0);
                }

                /* Changed after it was opened (verified): the second pass refuses the changed
                 * block, however the file changes between the passes. */
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), k, &b, &err) == 0);
                flip(pki(name), 2 * 1024 * 1024);
                err = UERROR_NULL;
                CHECK(b && read_all(b, &err) == -EBADMSG);
                CHECK(strstr(err.message, "failed verification"));
                b = rauc_bundle_free(b);
                /* And opened afresh: plain fails its signature, verity the block. */
                err = UERROR_NULL;
                if (plain)
                        CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), k, &b, &err) < 0 &&
                              err.kind == ERROR_SIGNATURE_INVALID);
                else
                        CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), k, &b, &err) == 0 && read_all(b, &err) < 0);
                b = rauc_bundle_free(b);

                /* A huge signature size is refused before anything is allocated. */
                CHECK(pki_run("printf '\\377\\377\\377\\377\\377\\377\\377\\377' | dd of=%s bs=1 seek=$(( $(stat -c %%s %s) - 8 )) "
                          "conv=notrunc status=none", name, name) == 0);
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(fd), OPTS(UINT64_MAX), k, &b, &err) == -EBADMSG);
                CHECK(strstr(err.message, "signature size"));
                close(fd);
        }

        /* A plain bundle whose (unauthenticated) size would need a block table beyond the
         * bound: refused by name before the table is allocated or a payload byte is read.  A
         * sparse 20 GiB file ending in a real plain bundle's signature. */
        {
                _cleanup_(rauc_bundle_freep) RaucBundle *b = NULL;
                Counted c = { .fd = -1 };

                CHECK(pki_run("rm -f huge.raucb && truncate -s 20G huge.raucb && "
                              "sig=$(( $(od -An -tu1 -j $(( $(stat -c %%s p-orig.raucb) - 2 )) -N2 p-orig.raucb | "
                              "awk '{ print $1 * 256 + $2 }') + 8 )) && "
                              "tail -c $sig p-orig.raucb >>huge.raucb") == 0);
                c.fd = open(pki("huge.raucb"), O_RDONLY | O_CLOEXEC);
                CHECK(c.fd >= 0);
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&(ReadAt) { counted_read, counted_size, &c }, OPTS(UINT64_MAX), k, &b, &err) ==
                      -EFBIG);
                CHECK_EQ(err.kind, ERROR_INVALID_BUNDLE);
                CHECK(strstr(err.message, "more than a plain bundle may have"));
                CHECK(c.bytes <= 8 + RAUC_MAX_SIGNATURE_SIZE);
                close(c.fd);
                CHECK(pki_run("rm -f huge.raucb") == 0);
        }

        /* Not a regular file. */
        {
                _cleanup_(rauc_bundle_freep) RaucBundle *b = NULL;
                int p[2];

                CHECK(pipe(p) == 0);
                err = UERROR_NULL;
                CHECK(rauc_bundle_open(&READ_AT_FD(p[0]), OPTS(UINT64_MAX), k, &b, &err) == -ESPIPE);
                CHECK(strstr(err.message, "pipe"));
                close(p[0]);
                close(p[1]);
        }
}

UNIT_MAIN_BEGIN("test-rauc-bundle")
        if (pki_setup() < 0) {
                unit_fail_case("pki_setup");
                return 1;
        }
        RUN(verity_vs_veritysetup);
        RUN(verity_windows);
        RUN(block_table);
        RUN(manifest);
        RUN(bundles);
        pki_cleanup();
UNIT_MAIN_END
