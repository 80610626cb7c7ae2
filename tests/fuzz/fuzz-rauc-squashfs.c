/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A RAUC verity bundle around fuzzed bytes, read by lib/rauc-bundle.c: the squashfs through
 * libsquashfs, every block through lib/verity.c.  Input: CTL MANIFEST \0 SQUASHFS.  The
 * harness pads SQUASHFS to 4 KiB, builds its dm-verity tree, appends the verity keys to
 * MANIFEST, signs it (runtime key, attached, as `rauc bundle` does for verity) and writes
 * squashfs | tree | CMS | size.  So hostile-but-signed squashfs images reach libsquashfs.  CTL
 * (5 bytes: u32 offset, xor byte) changes one byte of the squashfs or the tree after signing
 * (xor 0: none), which the verity checks must then catch.
 * Checks: the chunks come image by image in order, contiguous, each image exactly its signed
 * size; an error has a kind; a changed byte in the hash tree is always refused at open. */
#include <endian.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fuzz-pki.h"
#include "rauc-bundle.h"
#include "rauc-manifest.h"
#include "util.h"
#include "verity.h"

#define MAX_SQUASHFS (UINT64_C(8) << 20)

static FuzzPki pki;
static const uint8_t salt[32] = "update1-fuzz-salt-0123456789abc";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        fuzz_pki_load(&pki, true);
        return 0;
}

static void hash(const uint8_t *block, uint8_t out[32]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();

        FUZZ_ASSERT(c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
                    EVP_DigestUpdate(c, salt, sizeof(salt)) == 1 &&
                    EVP_DigestUpdate(c, block, VERITY_BLOCK_SIZE) == 1 && EVP_DigestFinal_ex(c, out, NULL) == 1);
        EVP_MD_CTX_free(c);
}

/* The tree as veritysetup lays it out (top level first), written independently of lib/verity.c. */
static uint8_t *build_tree(const uint8_t *data, uint64_t n, uint64_t *ret_size, uint8_t root[32]) {
        uint8_t *levels[16], *tree;
        uint64_t counts[16], total = 0;
        const uint8_t *below = data;
        uint64_t n_below = n;
        unsigned l = 0;

        while (n_below > 1) {
                uint64_t blocks = (n_below + 127) / 128;

                levels[l] = calloc(blocks, VERITY_BLOCK_SIZE);
                FUZZ_ASSERT(levels[l]);
                for (uint64_t i = 0; i < n_below; i++)
                        hash(below + i * VERITY_BLOCK_SIZE, levels[l] + i * 32);
                counts[l] = blocks;
                total += blocks;
                below = levels[l++];
                n_below = blocks;
        }
        hash(below, root);
        tree = malloc(MAX(total, (uint64_t) 1) * VERITY_BLOCK_SIZE);
        FUZZ_ASSERT(tree);
        total = 0;
        while (l-- > 0) {
                memcpy(tree + total * VERITY_BLOCK_SIZE, levels[l], counts[l] * VERITY_BLOCK_SIZE);
                total += counts[l];
                free(levels[l]);
        }
        *ret_size = total * VERITY_BLOCK_SIZE;
        return tree;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(rauc_bundle_freep) RaucBundle *b = NULL;
        _cleanup_free_ uint8_t *padded = NULL, *tree = NULL, *der = NULL;
        _cleanup_free_ char *text = NULL;
        const uint8_t *nul, *sq;
        uint64_t sq_size, data_size, tree_size, be, total = 0, bundle_size;
        uint8_t root[32];
        char hex_root[65], hex_salt[65];
        size_t der_size = 0, text_size;
        bool changed, tree_changed = false;
        uint32_t ctl_offset = 0;
        uint8_t ctl_xor = 0;
        UError err = UERROR_NULL;
        const Manifest *m;
        BundleChunk c;
        size_t image = 0;
        uint64_t next = 0;
        int fd, r;

        if (size < 5)
                return 0;
        memcpy(&ctl_offset, data, 4);
        ctl_offset = le32toh(ctl_offset);
        ctl_xor = data[4];
        changed = ctl_xor != 0;
        data += 5, size -= 5;
        nul = memchr(data, 0, size);
        if (!nul)
                return 0;
        text_size = (size_t) (nul - data);
        sq = nul + 1;
        sq_size = size - text_size - 1;
        if (sq_size == 0 || sq_size > MAX_SQUASHFS)
                return 0;

        data_size = (sq_size + VERITY_BLOCK_SIZE - 1) / VERITY_BLOCK_SIZE * VERITY_BLOCK_SIZE;
        padded = calloc(1, data_size);
        FUZZ_ASSERT(padded);
        memcpy(padded, sq, sq_size);
        tree = build_tree(padded, data_size / VERITY_BLOCK_SIZE, &tree_size, root);

        hex_encode(root, 32, hex_root);
        hex_encode(salt, 32, hex_salt);
        text = strdup_printf("%.*s\n[bundle]\nformat=verity\nverity-hash=%s\nverity-salt=%s\nverity-size=%llu\n",
                             (int) text_size, (const char *) data, hex_root, hex_salt, (unsigned long long) tree_size);
        FUZZ_ASSERT(text);
        if (cms_sign(text, strlen(text), pki.signer_cert, pki.signer_key, NULL, &der, &der_size, &err) < 0) {
                fprintf(stderr, "fuzz harness: cms_sign: %s\n", err.message);
                abort();
        }

        fd = memfd_create("raucb", MFD_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        be = htobe64(der_size);
        FUZZ_ASSERT(pwrite(fd, padded, data_size, 0) == (ssize_t) data_size);
        FUZZ_ASSERT(pwrite(fd, tree, tree_size, (off_t) data_size) == (ssize_t) tree_size);
        FUZZ_ASSERT(pwrite(fd, der, der_size, (off_t) (data_size + tree_size)) == (ssize_t) der_size);
        FUZZ_ASSERT(pwrite(fd, &be, 8, (off_t) (data_size + tree_size + der_size)) == 8);
        bundle_size = data_size + tree_size + der_size + 8;
        if (changed) {
                /* Only the squashfs and the tree: the signature's own checks are fuzz-cms's. */
                uint64_t at = ctl_offset % (data_size + tree_size);
                uint8_t byte;

                tree_changed = at >= data_size;
                FUZZ_ASSERT(pread(fd, &byte, 1, (off_t) at) == 1);
                byte ^= ctl_xor;
                FUZZ_ASSERT(pwrite(fd, &byte, 1, (off_t) at) == 1);
        }

        r = rauc_bundle_open(&READ_AT_FD(fd), &(RaucOpenOptions) { .max_size = bundle_size, .cancel_fd = -1 }, pki.permissive, &b, &err);
        if (r < 0) {
                fuzz_note("rauc squashfs: open: %s", err.message);
                FUZZ_ASSERT(err.kind != ERROR_NONE && err.message[0]);
                close(fd);
                return 0;
        }
        /* Every byte of the tree is in a hash block that is checked at open. */
        FUZZ_ASSERT(!tree_changed);
        m = rauc_bundle_manifest(b);
        while ((r = rauc_bundle_next_chunk_into(b, NULL, 0, &c, &err)) > 0) {
                FUZZ_ASSERT(c.image == image && c.offset == next && c.size > 0);
                next += c.size;
                FUZZ_ASSERT(next <= m->images[image].size);
                FUZZ_ASSERT(c.last == (next == m->images[image].size));
                if (c.last) {
                        image++;
                        next = 0;
                }
                total += c.size;
        }
        if (r < 0) {
                fuzz_note("rauc squashfs: read: %s", err.message);
                FUZZ_ASSERT(err.kind != ERROR_NONE && err.message[0]);
                /* A failed reader stays failed. */
                FUZZ_ASSERT(rauc_bundle_next_chunk_into(b, NULL, 0, &c, &err) < 0);
        } else {
                FUZZ_ASSERT(image == m->n_images);
                fuzz_note("rauc squashfs: ok, %zu image(s), %llu bytes%s", m->n_images, (unsigned long long) total,
                          changed ? " (a changed byte nobody read)" : "");
        }
        close(fd);
        return 0;
}
