/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <sqfs/error.h>
#include <sqfs/io.h>

#include "chunk.h"
#include "rauc-bundle.h"
#include "rauc-manifest.h"
#include "squashfs-lib.h"
#include "verity.h"

#define PASS_BUFFER_SIZE (1024 * 1024)

/* libsquashfs sizes what it allocates from counts in the image before it reads the data they
 * count, so a signed but hostile squashfs could make it allocate gigabytes: each such count it
 * reads here is checked first (open_squashfs(), find_file(), load_file()).  The tables it could
 * also size that way (id, export, xattr) are never loaded by this reader.  The file block lists
 * it keeps (4 bytes a block, for every image until the bundle is closed) are capped in total:
 * 16 MiB is 4 M blocks, a 512 GiB image at mksquashfs's default 128 KiB blocks, 16 GiB at 4 KiB. */
#define SQUASHFS_MAX_BLOCK_LISTS (UINT64_C(16) << 20)

/* libsquashfs reads the bundle only through this file object, and it only through the checking
 * layer: a byte that fails its hash is never in a buffer libsquashfs can see. */
typedef struct AuthFile {
        sqfs_file_t base;
        VerityFile *verity;
        UError error;             /* the first failed read: reported instead of libsquashfs's code */
} AuthFile;

struct RaucBundle {
        ReadAt src;               /* a copy: the VerityFile borrows &src */
        RaucOpenOptions opt;
        uint64_t file_size;
        RaucFormat format;
        Manifest *manifest;
        RaucManifest *rauc;
        uint8_t manifest_sha256[SHA256_DIGEST_LENGTH];
        char *signer;
        uint64_t trusted_time;

        VerityFile *verity;
        const SquashfsLib *sq;    /* libsquashfs, dlopen()ed by rauc_bundle_open() */
        AuthFile file;
        sqfs_super_t super;
        sqfs_compressor_t *cmp;
        sqfs_meta_reader_t *inode_table, *dir_table;
        uint64_t block_lists;     /* bytes of file block lists loaded (SQUASHFS_MAX_BLOCK_LISTS) */
        sqfs_data_reader_t *data;
        sqfs_inode_generic_t *inodes[MANIFEST_MAX_IMAGES];

        size_t image;             /* next chunk */
        uint64_t chunk;
        EVP_MD_CTX *image_hash;
        uint8_t *buffer;          /* for rauc_bundle_next_chunk_into() without dst */
        bool failed, done;

        /* plain: the one pass over the squashfs */
        uint64_t hashed;          /* bytes read (and fed to the block table) */
        uint8_t *pass_buf;
        size_t pass_pos, pass_len;
};

RaucBundle *rauc_bundle_free(RaucBundle *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; b->sq && i < ELEMENTSOF(b->inodes); i++)
                b->sq->free(b->inodes[i]);
        sqfs_destroy(b->data);
        sqfs_destroy(b->dir_table);
        sqfs_destroy(b->inode_table);
        sqfs_destroy(b->cmp);
        verity_free(b->verity);
        manifest_free(b->manifest);
        rauc_manifest_free(b->rauc);
        free(b->signer);
        free(b->buffer);
        free(b->pass_buf);
        EVP_MD_CTX_free(b->image_hash);
        return mfree(b);
}

const Manifest *rauc_bundle_manifest(const RaucBundle *b) {
        return b ? b->manifest : NULL;
}

const char *rauc_bundle_signer(const RaucBundle *b) {
        return b ? b->signer : NULL;
}

const uint8_t *rauc_bundle_manifest_sha256(const RaucBundle *b) {
        return b && b->rauc ? b->manifest_sha256 : NULL;
}

const char *rauc_bundle_format(const RaucBundle *b) {
        return b ? rauc_format_to_string(b->format) : NULL;
}

uint64_t rauc_bundle_trusted_time(const RaucBundle *b) {
        return b ? b->trusted_time : 0;
}

uint64_t rauc_bundle_bytes_read(const RaucBundle *b) {
        return b ? b->hashed + verity_bytes_read(b->verity) : 0;
}

uint64_t rauc_bundle_total_size(const RaucBundle *b) {
        return b ? b->file_size : 0;
}

/* ---- the squashfs file object ---- */

static void auth_file_destroy(sqfs_object_t *o) {
        /* Owned by the RaucBundle, not by libsquashfs. */
}

static int auth_file_read_at(sqfs_file_t *f, sqfs_u64 offset, void *buf, size_t size) {
        AuthFile *a = (AuthFile *) f;
        UError e = UERROR_NULL;

        if (verity_read(a->verity, offset, buf, size, &e) < 0) {
                if (!uerror_is_set(&a->error))
                        a->error = e;
                return SQFS_ERROR_IO;
        }
        return 0;
}

static int auth_file_write_at(sqfs_file_t *f, sqfs_u64 offset, const void *buf, size_t size) {
        return SQFS_ERROR_UNSUPPORTED;
}

static sqfs_u64 auth_file_get_size(const sqfs_file_t *f) {
        return verity_data_size(((const AuthFile *) f)->verity);
}

static int auth_file_truncate(sqfs_file_t *f, sqfs_u64 size) {
        return SQFS_ERROR_UNSUPPORTED;
}

/* A libsquashfs failure: the checking layer's own error if it caused it (a tampered block),
 * else what libsquashfs said. */
static int squashfs_error(RaucBundle *b, int sq, const char *what, UError *err) {
        b->failed = true;
        if (uerror_is_set(&b->file.error)) {
                if (err && !uerror_is_set(err))
                        *err = b->file.error;
                return b->file.error.error < 0 ? b->file.error.error : -EIO;
        }
        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Bundle squashfs invalid: %s (libsquashfs error %d)",
                          what, sq);
}

/* ---- signature ---- */

static int check_cancel(const RaucBundle *b) {
        struct pollfd p = { .fd = b->opt.cancel_fd, .events = POLLIN };

        if (p.fd >= 0 && poll(&p, 1, 0) > 0)
                return -ECANCELED;
        return 0;
}

/* The plain bundle's one pass: what OpenSSL digests for the signature goes into the block table
 * on its way.  OpenSSL asks for a few KiB at a time; the source is read in 1 MiB pieces (one
 * Range request each over http, not one per few KiB). */
static int plain_read(void *userdata, void *buf, size_t size, size_t *ret) {
        RaucBundle *b = userdata;
        uint64_t end = verity_data_size(b->verity);
        size_t n;
        int r;

        if (b->pass_pos == b->pass_len && b->hashed < end) {
                size_t want = (size_t) MIN((uint64_t) PASS_BUFFER_SIZE, end - b->hashed);

                if (check_cancel(b) < 0)
                        return -ECANCELED;
                if (!b->pass_buf && !(b->pass_buf = malloc(PASS_BUFFER_SIZE)))
                        return -ENOMEM;
                r = b->src.read_at(b->src.userdata, b->hashed, b->pass_buf, want);
                if (r < 0)
                        return r;
                r = verity_table_feed(b->verity, b->pass_buf, want);
                if (r < 0)
                        return r;
                b->hashed += want;
                b->pass_pos = 0;
                b->pass_len = want;
                /* A 4 GiB plain bundle takes a minute here, before anything is written. */
                if (b->opt.progress)
                        b->opt.progress(b->opt.userdata, b->hashed, end);
        }
        n = MIN(size, b->pass_len - b->pass_pos);
        memcpy(buf, b->pass_buf + b->pass_pos, n);
        b->pass_pos += n;
        *ret = n;
        return 0;
}

static int read_signature(RaucBundle *b, uint8_t **ret_cms, size_t *ret_size,
                          uint64_t *ret_offset, UError *err) {
        _cleanup_free_ uint8_t *cms = NULL;
        uint64_t size;
        int r;

        /* The signature is at the end: a pipe would have to be stored first, which is what a
         * file is for. */
        r = b->src.get_size(b->src.userdata, &b->file_size);
        if (r == -ESPIPE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -ESPIPE,
                                  "RAUC bundles cannot be read from a pipe (their signature is at the end): pass "
                                  "the bundle as a file or an http(s) URL");
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot get the size of the bundle: %s", strerror(-r));
        if (b->file_size > b->opt.max_size)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG, "Bundle size %llu exceeds the limit %llu",
                                  (unsigned long long) b->file_size, (unsigned long long) b->opt.max_size);
        if (b->file_size < 4096 + 8)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "RAUC bundle truncated: %llu bytes",
                                  (unsigned long long) b->file_size);

        r = b->src.read_at(b->src.userdata, b->file_size - 8, &size, sizeof(size));
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read the bundle's signature size: %s", strerror(-r));
        size = be64toh(size);
        /* Checked before a byte is allocated: it is not authenticated. */
        if (size == 0 || size > RAUC_MAX_SIGNATURE_SIZE || size > b->file_size - 8 - 4096)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "RAUC bundle signature size %llu is invalid (1..%d bytes, within the file)",
                                  (unsigned long long) size, RAUC_MAX_SIGNATURE_SIZE);
        cms = malloc((size_t) size);
        if (!cms)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = b->src.read_at(b->src.userdata, b->file_size - 8 - size, cms, (size_t) size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read the bundle's signature: %s", strerror(-r));

        *ret_offset = b->file_size - 8 - size;
        *ret_size = (size_t) size;
        *ret_cms = TAKE_PTR(cms);
        return 0;
}

static int verify_plain(RaucBundle *b, const Keyring *k, const uint8_t *cms, size_t cms_size, uint64_t payload,
                        UError *err) {
        uint32_t block = VERITY_TABLE_BLOCK_SIZE;
        int r;

        /* The size is not authenticated yet: the table it sizes is bounded first. */
        if (b->opt.max_plain_size > 0 && b->file_size > b->opt.max_plain_size)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "RAUC plain bundle is %llu bytes, more than %s%llu: raise it, or build a verity bundle",
                                  (unsigned long long) b->file_size,
                                  b->opt.max_plain_size_name ?: "the limit ",
                                  (unsigned long long) b->opt.max_plain_size);
        if (payload > RAUC_PLAIN_MAX_PAYLOAD)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "RAUC plain bundle payload of %llu bytes is more than a plain bundle may have (%llu, "
                                  "its block table is held before the signature is checked): build a verity bundle",
                                  (unsigned long long) payload, (unsigned long long) RAUC_PLAIN_MAX_PAYLOAD);
        while ((payload + block - 1) / block > RAUC_PLAIN_TABLE_MAX_BLOCKS)
                block *= 2;
        r = verity_table_new(&b->src, payload, block, &b->verity);
        if (r < 0)
                return uerror_set(err, ERROR_FAILED, r, "Cannot set up the bundle's block table: %s", strerror(-r));
        r = cms_verify_detached(k, cms, cms_size, plain_read, b, &b->signer, &b->trusted_time, err);
        if (r < 0)
                return r;
        if (b->hashed != payload || verity_table_seal(b->verity) < 0)
                return uerror_set(err, ERROR_FAILED, -EIO, "Internal error: the signature covered %llu of %llu bytes",
                                  (unsigned long long) b->hashed, (unsigned long long) payload);
        b->format = RAUC_FORMAT_PLAIN;
        return 0;
}

static int verify_verity(RaucBundle *b, const Keyring *k, const uint8_t *cms, size_t cms_size, uint64_t end,
                         UError *err) {
        _cleanup_(rauc_manifest_freep) RaucManifest *rm = NULL;
        size_t offset, size;
        uint64_t data;
        int r;

        r = cms_verify_in_place_as(k, CMS_ORIGIN_RAUC, cms, cms_size, &offset, &size, &b->signer, &b->trusted_time, err);
        if (r < 0)
                return r;
        r = rauc_manifest_parse((const char *) cms + offset, size, &rm, err);
        if (r < 0)
                return r;
        (void) SHA256(cms + offset, size, b->manifest_sha256);
        if (rm->format == RAUC_FORMAT_CRYPT)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EOPNOTSUPP,
                                  "RAUC crypt bundles are not supported by Update1: build a verity bundle");
        if (rm->format != RAUC_FORMAT_VERITY)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "RAUC bundle invalid: its signature holds a manifest of format %s, expected verity",
                                  rauc_format_to_string(rm->format));
        if (rm->verity_size > end || (end - rm->verity_size) % VERITY_BLOCK_SIZE != 0)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "RAUC bundle invalid: verity-size %llu does not fit the %llu bytes before the signature",
                                  (unsigned long long) rm->verity_size, (unsigned long long) end);
        data = end - rm->verity_size;
        r = verity_open(&b->src, data, data, rm->verity_size, rm->verity_salt, rm->verity_salt_size, rm->verity_hash,
                        &b->verity, err);
        if (r < 0)
                return r;
        b->rauc = TAKE_PTR(rm);
        b->format = RAUC_FORMAT_VERITY;
        return 0;
}

/* ---- squashfs ---- */

static int open_squashfs(RaucBundle *b, UError *err) {
        sqfs_compressor_config_t cfg;
        uint64_t dir_end;
        int sq;

        b->file = (AuthFile) {
                .base = {
                        .base = { .destroy = auth_file_destroy },
                        .read_at = auth_file_read_at,
                        .write_at = auth_file_write_at,
                        .get_size = auth_file_get_size,
                        .truncate = auth_file_truncate,
                },
                .verity = b->verity,
        };
        sq = b->sq->super_read(&b->super, &b->file.base);
        if (sq != 0)
                return squashfs_error(b, sq, "cannot read the superblock", err);
        if (b->super.bytes_used > verity_data_size(b->verity))
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle squashfs invalid: it claims %llu bytes, more than the %llu signed",
                                  (unsigned long long) b->super.bytes_used,
                                  (unsigned long long) verity_data_size(b->verity));
        /* libsquashfs allocates the fragment table from this count before reading it (fuzzing
         * found a 4 GiB malloc): its 16-byte entries must fit in the signed image. */
        if ((uint64_t) b->super.fragment_entry_count * 16 > b->super.bytes_used)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle squashfs invalid: %u fragments do not fit in its %llu bytes",
                                  b->super.fragment_entry_count, (unsigned long long) b->super.bytes_used);
        sq = b->sq->compressor_config_init(&cfg, b->super.compression_id, b->super.block_size,
                                         SQFS_COMP_FLAG_UNCOMPRESS);
        if (sq == 0)
                sq = b->sq->compressor_create(&cfg, &b->cmp);
        if (sq != 0)
                return squashfs_error(b, sq, "unsupported compressor", err);
        if (b->super.flags & SQFS_FLAG_COMPRESSOR_OPTIONS) {
                sq = b->cmp->read_options(b->cmp, &b->file.base);
                if (sq != 0)
                        return squashfs_error(b, sq, "cannot read the compressor options", err);
        }
        /* The limits sqfs_dir_reader_create() sets: the inode table ends where the directory
         * table starts, which ends at the first table after it. */
        dir_end = MIN(b->super.id_table_start, MIN(b->super.fragment_table_start, b->super.export_table_start));
        b->inode_table = b->sq->meta_reader_create(&b->file.base, b->cmp, b->super.inode_table_start,
                                                   b->super.directory_table_start);
        b->dir_table = b->sq->meta_reader_create(&b->file.base, b->cmp, b->super.directory_table_start, dir_end);
        b->data = b->sq->data_reader_create(&b->file.base, b->super.block_size, b->cmp, 0);
        if (!b->inode_table || !b->dir_table || !b->data)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        sq = b->sq->data_reader_load_fragment_table(b->data, &b->super);
        if (sq != 0)
                return squashfs_error(b, sq, "cannot read the fragment table", err);
        return 0;
}

/* The fixed part of the inode at 'ref' as sqfs_meta_reader_read_inode() would read it, but
 * without what follows it (a file's block list, a directory's index, a link's target): libsquashfs
 * allocates those from counts in this part before reading them, so they are checked first. */
static int peek_inode(RaucBundle *b, uint64_t ref, sqfs_inode_generic_t *ret) {
        sqfs_inode_generic_t i = {};
        int sq;

        sq = b->sq->meta_reader_seek(b->inode_table, b->super.inode_table_start + (ref >> 16), ref & 0xffff);
        if (sq == 0)
                sq = b->sq->meta_reader_read(b->inode_table, &i.base, sizeof(i.base));
        if (sq != 0)
                return sq;
        i.base.type = le16toh(i.base.type);
        switch (i.base.type) {
        case SQFS_INODE_DIR:
                sq = b->sq->meta_reader_read(b->inode_table, &i.data.dir, sizeof(i.data.dir));
                i.data.dir.start_block = le32toh(i.data.dir.start_block);
                i.data.dir.size = le16toh(i.data.dir.size);
                i.data.dir.offset = le16toh(i.data.dir.offset);
                break;
        case SQFS_INODE_EXT_DIR:
                sq = b->sq->meta_reader_read(b->inode_table, &i.data.dir_ext, sizeof(i.data.dir_ext));
                i.data.dir_ext.size = le32toh(i.data.dir_ext.size);
                i.data.dir_ext.start_block = le32toh(i.data.dir_ext.start_block);
                i.data.dir_ext.offset = le16toh(i.data.dir_ext.offset);
                break;
        case SQFS_INODE_FILE:
                sq = b->sq->meta_reader_read(b->inode_table, &i.data.file, sizeof(i.data.file));
                i.data.file.fragment_index = le32toh(i.data.file.fragment_index);
                i.data.file.fragment_offset = le32toh(i.data.file.fragment_offset);
                i.data.file.file_size = le32toh(i.data.file.file_size);
                break;
        case SQFS_INODE_EXT_FILE:
                sq = b->sq->meta_reader_read(b->inode_table, &i.data.file_ext, sizeof(i.data.file_ext));
                i.data.file_ext.file_size = le64toh(i.data.file_ext.file_size);
                i.data.file_ext.fragment_idx = le32toh(i.data.file_ext.fragment_idx);
                i.data.file_ext.fragment_offset = le32toh(i.data.file_ext.fragment_offset);
                break;
        default: /* only the type is used */
                break;
        }
        if (sq != 0)
                return sq;
        *ret = i;
        return 0;
}

typedef struct FileRef {
        uint64_t ref;             /* where libsquashfs finds the inode */
        uint64_t size;
        uint64_t block_list;      /* bytes libsquashfs allocates for its block list */
} FileRef;

/* Looks 'name' up in the root directory (a RAUC bundle has no subdirectories: its file names
 * contain no '/') and checks that it is a regular file, without libsquashfs reading any inode:
 * the root directory's is only peeked at, so its index (whose entry sizes libsquashfs would
 * allocate from) is never read.  Each entry libsquashfs reads is at most 64 KiB (16-bit name
 * sizes) and freed at once; the directory's size bounds how many. */
static int find_file(RaucBundle *b, const char *name, FileRef *ret, UError *err) {
        sqfs_inode_generic_t root, file;
        sqfs_readdir_state_t it;
        sqfs_u64 ref = 0, size, blocks;
        sqfs_u32 frag_idx, frag_off;
        bool found = false;
        int sq;

        sq = peek_inode(b, b->super.root_inode_ref, &root);
        if (sq != 0)
                return squashfs_error(b, sq, "cannot read the root directory", err);
        if (root.base.type != SQFS_INODE_DIR && root.base.type != SQFS_INODE_EXT_DIR)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "Bundle squashfs invalid: its root inode is not a directory");
        sq = b->sq->readdir_state_init(&it, &b->super, &root);
        while (sq == 0) {
                sqfs_dir_entry_t *ent = NULL;
                int c;

                sq = b->sq->meta_reader_readdir(b->dir_table, &it, &ent, NULL, &ref);
                if (sq != 0)
                        break;
                c = strcmp((const char *) ent->name, name);
                b->sq->free(ent);
                if (c >= 0) { /* entries are sorted */
                        found = c == 0;
                        break;
                }
        }
        if (sq < 0)
                return squashfs_error(b, sq, "cannot read the root directory", err);
        if (!found)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -ENOENT, "RAUC bundle has no file %s", name);

        sq = peek_inode(b, ref, &file);
        if (sq != 0)
                return squashfs_error(b, sq, "cannot read an inode", err);
        if (file.base.type == SQFS_INODE_FILE) {
                size = file.data.file.file_size;
                frag_idx = file.data.file.fragment_index;
                frag_off = file.data.file.fragment_offset;
        } else if (file.base.type == SQFS_INODE_EXT_FILE) {
                size = file.data.file_ext.file_size;
                frag_idx = file.data.file_ext.fragment_idx;
                frag_off = file.data.file_ext.fragment_offset;
        } else
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "RAUC bundle: %s is not a regular file", name);
        /* libsquashfs's count: a tail without a fragment has a block of its own. */
        blocks = size / b->super.block_size +
                 (size % b->super.block_size != 0 && (frag_idx == 0xFFFFFFFF || frag_off == 0xFFFFFFFF));
        *ret = (FileRef) { .ref = ref, .size = size, .block_list = blocks * sizeof(sqfs_u32) };
        return 0;
}

/* The inode of a file find_file() found and whose size the caller checked; its block list counts
 * against SQUASHFS_MAX_BLOCK_LISTS before libsquashfs allocates it. */
static int load_file(RaucBundle *b, const char *name, const FileRef *f, sqfs_inode_generic_t **ret, UError *err) {
        sqfs_inode_generic_t *inode = NULL;
        sqfs_u64 size;
        int sq;

        if (f->block_list > SQUASHFS_MAX_BLOCK_LISTS - b->block_lists)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG,
                                  "Bundle squashfs invalid: the block lists of its files exceed %llu bytes at %s "
                                  "(%llu bytes in blocks of %u): build it with larger squashfs blocks",
                                  (unsigned long long) SQUASHFS_MAX_BLOCK_LISTS, name, (unsigned long long) f->size,
                                  b->super.block_size);
        sq = b->sq->meta_reader_read_inode(b->inode_table, &b->super, f->ref >> 16, f->ref & 0xffff, &inode);
        if (sq != 0)
                return squashfs_error(b, sq, "cannot read an inode", err);
        /* The same verity-checked bytes as peek_inode() read; what is used from here on is this. */
        if (b->sq->inode_get_file_size(inode, &size) != 0 || size != f->size ||
            inode->payload_bytes_used != f->block_list) {
                b->sq->free(inode);
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "Bundle squashfs invalid: the inode of %s changed",
                                  name);
        }
        b->block_lists += f->block_list;
        *ret = inode;
        return 0;
}

/* Reads exactly 'size' bytes of the file at 'offset'. */
static int read_file(RaucBundle *b, const sqfs_inode_generic_t *inode, uint64_t offset, void *buf, uint32_t size,
                     const char *name, UError *err) {
        sqfs_s32 n = b->sq->data_reader_read(b->data, inode, offset, buf, size);

        if (n < 0)
                return squashfs_error(b, n, "cannot read an image", err);
        if ((uint32_t) n != size) {
                b->failed = true;
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG, "RAUC bundle: %s ends early at %llu bytes", name,
                                  (unsigned long long) (offset + (uint64_t) n));
        }
        return 0;
}

static int load_plain_manifest(RaucBundle *b, UError *err) {
        _cleanup_free_ char *text = NULL;
        sqfs_inode_generic_t *inode = NULL;
        uint64_t size;
        FileRef f;
        int r;

        r = find_file(b, "manifest.raucm", &f, err);
        if (r < 0)
                return r;
        size = f.size;
        if (size > RAUC_MANIFEST_MAX_SIZE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EFBIG, "RAUC manifest is %llu bytes, more than %d",
                                  (unsigned long long) size, RAUC_MANIFEST_MAX_SIZE);
        r = load_file(b, "manifest.raucm", &f, &inode, err);
        if (r < 0)
                return r;
        text = malloc(MAX(size, (uint64_t) 1));
        if (!text) {
                b->sq->free(inode);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        r = read_file(b, inode, 0, text, (uint32_t) size, "manifest.raucm", err);
        b->sq->free(inode);
        if (r < 0)
                return r;
        r = rauc_manifest_parse(text, (size_t) size, &b->rauc, err);
        if (r < 0)
                return r;
        (void) SHA256((const uint8_t *) text, (size_t) size, b->manifest_sha256);
        if (b->rauc->format != RAUC_FORMAT_PLAIN)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                  "RAUC bundle invalid: a detached signature with a manifest of format %s",
                                  rauc_format_to_string(b->rauc->format));
        return 0;
}

static int open_images(RaucBundle *b, UError *err) {
        const RaucManifest *rm = b->rauc;
        int r;

        for (size_t i = 0; i < rm->n_images; i++) {
                FileRef f;

                r = find_file(b, rm->images[i].filename, &f, err);
                if (r < 0)
                        return r;
                if (f.size != rm->images[i].size)
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                          "RAUC bundle: image %s is %llu bytes, the manifest says %llu",
                                          rm->images[i].filename, (unsigned long long) f.size,
                                          (unsigned long long) rm->images[i].size);
                r = load_file(b, rm->images[i].filename, &f, &b->inodes[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

bool rauc_bundle_probe(const ReadAt *src) {
        _cleanup_free_ uint8_t *cms = NULL;
        uint64_t size, file_size;
        int kind;

        if (src->get_size(src->userdata, &file_size) < 0 || file_size < 4096 + 8 ||
            src->read_at(src->userdata, file_size - 8, &size, sizeof(size)) < 0)
                return false;
        size = be64toh(size);
        if (size == 0 || size > RAUC_MAX_SIGNATURE_SIZE || size > file_size - 8)
                return false;
        cms = malloc((size_t) size);
        if (!cms || src->read_at(src->userdata, file_size - 8 - size, cms, (size_t) size) < 0)
                return false;
        kind = cms_kind(cms, (size_t) size);
        return kind >= 0 || kind == -EMEDIUMTYPE;
}

int rauc_bundle_open(const ReadAt *src, const RaucOpenOptions *o, const Keyring *k, RaucBundle **ret, UError *err) {
        _cleanup_(rauc_bundle_freep) RaucBundle *b = NULL;
        _cleanup_free_ uint8_t *cms = NULL;
        uint64_t cms_offset = 0;
        size_t cms_size = 0;
        int r, kind;

        b = calloc(1, sizeof(*b));
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        b->src = *src;
        b->opt = *o;
        r = squashfs_lib_load(&b->sq, err);   /* before the signature pass: a missing library fails at once */
        if (r < 0)
                return r;
        b->image_hash = EVP_MD_CTX_new();
        if (!b->image_hash)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        r = read_signature(b, &cms, &cms_size, &cms_offset, err);
        if (r < 0)
                return r;
        kind = cms_kind(cms, cms_size);
        if (kind == -EMEDIUMTYPE)
                return uerror_set(err, ERROR_INVALID_BUNDLE, -EOPNOTSUPP,
                                  "RAUC crypt bundles (encrypted) are not supported by Update1: build a verity bundle");
        if (kind < 0)
                return uerror_set(err, ERROR_SIGNATURE_INVALID, -EBADMSG,
                                  "Bundle signature invalid: not a DER-encoded CMS SignedData structure");
        if (kind == CMS_KIND_DETACHED)
                r = verify_plain(b, k, cms, cms_size, cms_offset, err);
        else
                r = verify_verity(b, k, cms, cms_size, cms_offset, err);
        if (r < 0)
                return r;
        cms = mfree(cms);

        /* From here on every byte is checked as it is read. */
        r = open_squashfs(b, err);
        if (r < 0)
                return r;
        if (b->format == RAUC_FORMAT_PLAIN) {
                r = load_plain_manifest(b, err);
                if (r < 0)
                        return r;
        }
        r = open_images(b, err);
        if (r < 0)
                return r;
        r = rauc_manifest_to_manifest(b->rauc, RAUC_CHUNK_SIZE, &b->manifest, err);
        if (r < 0)
                return r;
        if (EVP_DigestInit_ex(b->image_hash, EVP_sha256(), NULL) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
        *ret = TAKE_PTR(b);
        return 0;
}

/* ---- chunks ---- */

uint32_t rauc_bundle_next_chunk_size(const RaucBundle *b) {
        const ManifestImage *img;

        if (!b || b->failed || b->done)
                return 0;
        img = &b->manifest->images[b->image];
        return chunk_raw_size(img->size, img->chunk_size, b->chunk);
}

int rauc_bundle_next_chunk_into(RaucBundle *b, void *dst, size_t dst_size, BundleChunk *ret, UError *err) {
        const ManifestImage *img;
        uint8_t digest[SHA256_SIZE];
        uint64_t offset;
        uint32_t raw;
        bool last;
        void *data;
        int r;

        if (b->failed)
                return uerror_set(err, ERROR_FAILED, -EIO, "Bundle reader failed earlier");
        if (b->done)
                return 0;
        img = &b->manifest->images[b->image];
        raw = chunk_raw_size(img->size, img->chunk_size, b->chunk);
        offset = b->chunk * (uint64_t) img->chunk_size;
        if (dst && dst_size < raw)
                return uerror_set(err, ERROR_FAILED, -ENOBUFS, "Internal error: chunk of %u bytes into a buffer of %zu",
                                  raw, dst_size);
        if (!dst) {
                if (!b->buffer && !(b->buffer = malloc(RAUC_CHUNK_SIZE)))
                        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                data = b->buffer;
        } else
                data = dst;

        r = read_file(b, b->inodes[b->image], offset, data, raw, img->filename, err);
        if (r < 0)
                return r;
        if (EVP_DigestUpdate(b->image_hash, data, raw) != 1)
                return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");

        last = b->chunk + 1 == img->n_chunks;
        if (last) {
                /* Every byte came through the checking layer already; this is the signed
                 * manifest's own promise about the image, checked before the caller may
                 * activate anything (and a second line against a libsquashfs fault). */
                if (EVP_DigestFinal_ex(b->image_hash, digest, NULL) != 1 ||
                    EVP_DigestInit_ex(b->image_hash, EVP_sha256(), NULL) != 1)
                        return uerror_set(err, ERROR_FAILED, -EIO, "Failed to compute SHA-256");
                if (CRYPTO_memcmp(digest, img->sha256, SHA256_SIZE) != 0) {
                        b->failed = true;
                        return uerror_set(err, ERROR_INVALID_BUNDLE, -EBADMSG,
                                          "Image %s of the RAUC bundle does not match its signed sha256", img->slotclass);
                }
        }

        *ret = (BundleChunk) {
                .image = b->image,
                .index = b->chunk,
                .offset = offset,
                .data = data,
                .size = raw,
                .last = last,
        };
        if (last) {
                b->image++;
                b->chunk = 0;
                b->done = b->image == b->manifest->n_images;
        } else
                b->chunk++;
        return 1;
}
