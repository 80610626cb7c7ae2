/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* U-Boot backend through libubootenv, with RAUC's variables so existing boot scripts work:
 *   BOOT_ORDER="A B"   boot order, first slot with attempts left is booted
 *   BOOT_<x>_LEFT=3    attempts left for slot x; the boot script decrements it before booting
 *   UPDATE1_TRIAL=x    ours: x was made primary for a trial boot and is not committed yet
 * packaging/bootloader/uboot-boot.cmd is the script that consumes them ([uboot] scheme=rauc,
 * the default; scheme=bootcount is bootloader-uboot-bootcount.c).
 * This file also holds the libubootenv session both schemes use (uboot_env_*, declared in
 * bootloader.h).  Each call reads the environment afresh (the boot script and fw_setenv change
 * it behind our back) and every mutation is exactly one libuboot_env_store(): libubootenv
 * writes the inactive redundant copy with the flag counter + 1, so a power cut leaves the old
 * or the new env; we then fsync() the device ourselves, since libubootenv ignores that result.
 * Both copies invalid is an error for every call, never "all slots bad".
 * Two libubootenv 0.3.2 bugs (Debian 12; found by tests/fuzz/fuzz-uboot-env.c, docs/fuzzing.md)
 * are kept away from the library here, see env_inspect() and uboot_env_store():
 *   - a copy with a valid CRC but no "\0\0" terminator makes libuboot_open() read past its
 *     buffer: we read both copies ourselves first and refuse such an env;
 *   - libuboot_env_store() accepts variables that fill the env exactly and writes the final
 *     terminator one byte past the copy: we refuse to store unless the terminator fits.
 * A session holds the env lock ([uboot] lock-file=) from open to close, taken with a bounded
 * wait by uboot-lock.c instead of libubootenv's unbounded flock() (uboot-lock.h says how). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stddef.h>
#include <libuboot.h> /* needs size_t first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "fileio.h"
#include "util.h"

#define TRIAL_VAR "UPDATE1_TRIAL"
#define ORDER_VAR "BOOT_ORDER"
#define ORDER_SEPARATORS " \t\r\n"
#define MAX_LEFT 255
#define MAX_ENV_COPIES 2 /* libubootenv reads the first two device lines of fw_env.config */
#define MAX_FW_ENV_CONFIG (64 * 1024)
/* U-Boot environments are a few KiB to a few MiB; libubootenv allocates twice the size. */
#define MAX_ENV_SIZE (64u * 1024 * 1024)

typedef struct UbootData {
        char *fw_env_config;
        char *lock_file;
        unsigned boot_attempts;
        unsigned trial_attempts;
        UbootEnv held;            /* open from uboot_read_begin() to uboot_read_end() */
} UbootData;

/* --- the libubootenv session (shared with bootloader-uboot-bootcount.c) ------------------ */

/* fw_env.config as libubootenv 0.3.2 reads it (libuboot_read_config(): the same sscanf() on
 * each line not starting with '#', lines with fewer than three fields skipped, the first two
 * devices used; all copies have the first device's size).  Only read after libubootenv has
 * accepted the file. */
typedef struct EnvLayout {
        struct {
                char *path;
                long long offset;
        } copy[MAX_ENV_COPIES];
        unsigned n;
        size_t size;   /* of each copy, header included (libubootenv requires equal sizes) */
        size_t header; /* crc32, plus the flag byte of a redundant env */
} EnvLayout;

static void env_layout_done(EnvLayout *l) {
        for (unsigned i = 0; i < l->n; i++)
                free(l->copy[i].path);
        l->n = 0;
}

static int env_layout_read(const char *config, EnvLayout *l, UError *err) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        *l = (EnvLayout) {};
        r = read_full_file(config, MAX_FW_ENV_CONFIG, &text, &size);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s", config,
                                  strerror(-r));
        for (char *line = text, *next; line && l->n < MAX_ENV_COPIES; line = next) {
                char *path = NULL;
                long long offset;
                size_t envsize;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (line[0] == '#')
                        continue;
                if (sscanf(line, "%ms %lli %zx", &path, &offset, &envsize) < 3) {
                        free(path);
                        continue;
                }
                if (l->n == 0)
                        l->size = envsize;
                l->copy[l->n].path = path;
                l->copy[l->n].offset = offset;
                l->n++;
        }
        if (l->n == 0)
                return uerror_set(err, ERROR_IO, -EINVAL, "No U-Boot environment device in %s", config);
        l->header = l->n > 1 ? 5 : 4;
        if (l->size <= l->header || l->size > MAX_ENV_SIZE) {
                r = uerror_set(err, ERROR_IO, -EINVAL,
                               "U-Boot environment size 0x%zx in %s is out of range (0x%zx to 0x%x bytes)", l->size,
                               config, l->header + 1, MAX_ENV_SIZE);
                env_layout_done(l);
                return r;
        }
        return 0;
}

/* What a copy looks like to libubootenv: crc_ok (crc32 over the data after the header, compared
 * in host byte order as libubootenv does), terminated (its walk over the "name=value\0" strings
 * ends at an empty string inside the copy: the data starts with '\0' or holds "\0\0"), and
 * flags_max: an upper bound of what libuboot_env_store() appends for a ".flags=" variable in it
 * (it re-serialises the attributes as ".flags=name:tc,..." after the variables, without bounds
 * checks: at most 3 bytes more per ':' than the stored string, plus its NUL).  A negative offset
 * counts from the end of a block device, as in libubootenv.  -errno if the copy cannot be read
 * whole: libubootenv then fails to read it too. */
static int env_inspect(const EnvLayout *l, unsigned i, bool *ret_crc_ok, bool *ret_terminated, size_t *ret_flags_max) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        long long offset = l->copy[i].offset;
        size_t n = l->size - l->header, flags_max = 0;
        uint32_t crc, stored;
        const char *data;
        int r;

        fd = open(l->copy[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (offset < 0) {
                uint64_t devsize;

                if (ioctl(fd, BLKGETSIZE64, &devsize) < 0)
                        return -errno;
                if (devsize > (uint64_t) INT64_MAX)
                        return -EINVAL;
                offset += (long long) devsize;
        }
        if (offset < 0)
                return -EINVAL;
        buf = malloc(l->size);
        if (!buf)
                return -ENOMEM;
        r = pread_exact(fd, buf, l->size, (uint64_t) offset);
        if (r < 0)
                return r;
        data = (const char *) buf + l->header;
        crc = (uint32_t) crc32(0, (const Bytef *) data, (uInt) n);
        memcpy(&stored, buf, sizeof(stored));
        *ret_crc_ok = crc == stored;
        *ret_terminated = data[0] == '\0' || memmem(data, n, "\0\0", 2);
        if (*ret_terminated)
                for (const char *s = data; *s; s += strlen(s) + 1)
                        if (strneq(s, ".flags=", 7)) {
                                size_t bound = strlen(s) + 1;

                                for (const char *c = s + 7; *c; c++)
                                        bound += *c == ':' ? 3 : 0;
                                flags_max = MAX(flags_max, bound);
                        }
        *ret_flags_max = flags_max;
        return 0;
}

/* Refuses an env with a copy that has a valid CRC but no terminator (libubootenv 0.3.2 would
 * read past it), also when the other copy is fine: U-Boot imports such a copy when its flag
 * byte makes it the current one (it terminates its own buffer), so reading the other copy
 * could show a boot state the bootloader does not use; the boot state is then unreadable and
 * nothing is changed.  A copy that cannot be read here is left to libubootenv (which fails on
 * it the same way), as is a UBI volume given by name ("/dev/ubi0:env"); on NAND the copy is
 * read raw at its offset, where libubootenv skips bad blocks.  ret_flags_max: the largest
 * ".flags" bound of the CRC-valid copies (env_inspect()). */
static int env_check(const char *config, const EnvLayout *l, size_t *ret_flags_max, UError *err) {
        size_t flags_max = 0;

        for (unsigned i = 0; i < l->n; i++) {
                bool crc_ok = false, terminated = true;
                size_t flags = 0;

                if (env_inspect(l, i, &crc_ok, &terminated, &flags) < 0 || !crc_ok)
                        continue;
                if (!terminated)
                        return uerror_set(err, ERROR_IO, -EBADMSG,
                                          "U-Boot environment %s copy %u (offset %s0x%llx, %s) has a valid CRC but no terminator; refusing to parse it (libubootenv would read past it)",
                                          l->copy[i].path, i + 1, l->copy[i].offset < 0 ? "-" : "",
                                          (unsigned long long) llabs(l->copy[i].offset), config);
                flags_max = MAX(flags_max, flags);
        }
        if (ret_flags_max)
                *ret_flags_max = flags_max;
        return 0;
}

static int env_precheck(const char *config, UError *err) {
        _cleanup_(env_layout_done) EnvLayout l = {};
        int r;

        r = env_layout_read(config, &l, err);
        if (r < 0)
                return r;
        return env_check(config, &l, NULL, err);
}

void uboot_env_close(UbootEnv *e) {
        if (e->ctx) {
                /* Its flock(LOCK_UN) on the lock file is answered by uboot-lock.c: ours is
                 * released below, after the library is done with the env. */
                if (e->opened)
                        libuboot_close(e->ctx);
                libuboot_exit(e->ctx);
        }
        e->ctx = NULL;
        e->opened = false;
        uboot_lock_release(&e->lock);
}

int uboot_env_open(const char *fw_env_config, const char *lock_file, UbootEnv *ret, UError *err) {
        UbootEnv e = { .config = fw_env_config };
        int r;

        *ret = (UbootEnv) { .config = fw_env_config };
        if (access(fw_env_config, R_OK) < 0) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s",
                                  fw_env_config, strerror(-r));
        }
        /* First, so that our own reads of the copies (env_precheck) see no half-done store of
         * fw_setenv either. */
        r = uboot_lock_acquire(lock_file, UBOOT_LOCK_TIMEOUT_MS, &e.lock, err);
        if (r < 0)
                return r;
        r = libuboot_initialize(&e.ctx, NULL);
        if (r < 0) {
                uboot_env_close(&e);
                return uerror_set(err, ERROR_IO, r, "Cannot initialize libubootenv (error %d)", r);
        }
        r = libuboot_read_config(e.ctx, fw_env_config);
        if (r < 0) {
                uboot_env_close(&e);
                return uerror_set(err, ERROR_IO, -EINVAL,
                                  "Invalid U-Boot environment configuration %s (libubootenv error %d): check the device paths, offsets and sizes",
                                  fw_env_config, r);
        }
        r = env_precheck(fw_env_config, err);
        if (r < 0) {
                uboot_env_close(&e);
                return r;
        }
        /* Not expected (tests/unit/test-uboot-lock.c checks the build), but without our flock()
         * the library's blocking flock() on the same file would wait for us for ever: let it
         * take the lock itself then, unbounded as it always was. */
        if (!uboot_lock_interposed())
                uboot_lock_release(&e.lock);
        r = libuboot_open(e.ctx);
        e.opened = true;
        /* Whatever it read, it read without its lock: */
        if (uboot_lock_check_other(err) < 0) {
                uboot_env_close(&e);
                return -EWOULDBLOCK;
        }
        if (r < 0) {
                uboot_env_close(&e);
                /* Never carry on with an empty env: storing it would wipe the board's variables,
                 * and reading it would make every slot look bad. */
                if (r == -ENODATA)
                        return uerror_set(err, ERROR_IO, -EIO,
                                          "U-Boot environment unreadable (both copies invalid): %s; refusing to change or report the boot state",
                                          fw_env_config);
                return uerror_set(err, ERROR_IO, r, "Cannot read the U-Boot environment (%s): %s", fw_env_config,
                                  strerror(-r));
        }
        *ret = e;
        return 0;
}

char *uboot_env_get(UbootEnv *e, const char *name) {
        char *v = libuboot_get_env(e->ctx, name);

        if (v && !*v)
                v = mfree(v);
        return v;
}

int uboot_env_set(UbootEnv *e, const char *name, const char *value, UError *err) {
        int r = libuboot_set_env(e->ctx, name, value);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EINVAL, "Cannot set U-Boot variable %s", name);
        return 0;
}

/* Whether two open copies are one file or one block device (the usual redundant env: two
 * offsets of one partition): then they share one page cache and one write-back error state, and
 * one fsync() flushes and reports for both.  A second one adds nothing but another cache flush
 * of the device (about 5 ms on a virtio disk, an eMMC FLUSH_CACHE), twice per install. */
static bool same_file(int a, int b) {
        struct stat sa, sb;

        if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
                return false;
        if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
                return sa.st_rdev == sb.st_rdev;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* What libuboot_env_store() will write: every "name=value\0" of the session, plus the final
 * terminator. */
static size_t env_serialized_size(UbootEnv *e) {
        size_t n = 1;

        for (void *v = libuboot_iterator(e->ctx, NULL); v; v = libuboot_iterator(e->ctx, v))
                n += strlen(libuboot_getname(v)) + 1 + strlen(libuboot_getvalue(v) ?: "") + 1;
        return n;
}

/* Before the store: the variables must leave room for the terminator (libubootenv 0.3.2 only
 * checks that they fit, then writes the terminator past the copy and the next open reads an
 * unterminated env), and the copies on disk must still be sane.  The devices are then opened
 * read-only before the store so that a write-back error after it is reported to our fsync()
 * (errors are sampled per open file); what cannot be opened is skipped. */
int uboot_env_store(UbootEnv *e, UError *err) {
        _cleanup_(env_layout_done) EnvLayout l = {};
        int fds[MAX_ENV_COPIES], r, flush_error = 0;
        size_t flags_max, need;
        unsigned n = 0;

        r = env_layout_read(e->config, &l, err);
        if (r < 0)
                return r;
        r = env_check(e->config, &l, &flags_max, err);
        if (r < 0)
                return r;
        need = env_serialized_size(e) + flags_max;
        if (need > l.size - l.header)
                return uerror_set(err, ERROR_IO, -ENOSPC,
                                  "U-Boot environment full: %zu bytes of variables do not fit in %zu bytes (%s); nothing was written",
                                  need, l.size - l.header, e->config);

        for (unsigned i = 0; i < l.n; i++) {
                fds[n] = open(l.copy[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fds[n] >= 0)
                        n++;
        }
        r = libuboot_env_store(e->ctx);
        for (unsigned i = 0; i < n; i++) {
                bool flushed = false;

                for (unsigned j = 0; j < i && !flushed; j++)
                        flushed = same_file(fds[j], fds[i]);
                /* libubootenv 0.3.2 calls fsync() but ignores its result.  Devices that cannot be
                 * fsync()ed at all (MTD character devices) say EINVAL: nothing to report there. */
                if (r >= 0 && flush_error == 0 && !flushed && fsync(fds[i]) < 0 && errno != EINVAL &&
                    errno != EROFS && errno != EOPNOTSUPP)
                        flush_error = -errno;
        }
        for (unsigned i = 0; i < n; i++)
                close(fds[i]);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r < -1 ? r : -EIO,
                                  "Cannot write the U-Boot environment (%s): %s; the previous copy is still in use",
                                  e->config, strerror(r < -1 ? -r : EIO));
        if (flush_error < 0)
                return uerror_set(err, ERROR_IO, flush_error,
                                  "Cannot flush the U-Boot environment (%s) to storage: %s; the previous copy is intact, the change may be lost on power loss",
                                  e->config, strerror(-flush_error));
        return 0;
}

/* --- BOOT_ORDER ----------------------------------------------------------------------------- */

static int check_bootname(const char *name, UError *err) {
        return bootloader_check_bootname(name, "U-Boot variable names", err);
}

/* Whitespace separated, any amount of it, like hush's for loop splits it. */
static int order_read(UbootEnv *e, BootList *o, UError *err) {
        _cleanup_free_ char *v = uboot_env_get(e, ORDER_VAR);
        return bootlist_split(o, v, ORDER_SEPARATORS, "U-Boot variable " ORDER_VAR, err);
}

static int order_write(UbootEnv *e, const BootList *o, UError *err) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = bootlist_join(o, ' ', &v, err);
        if (r < 0)
                return r;
        return uboot_env_set(e, ORDER_VAR, v, err);
}

/* --- counters and trial --------------------------------------------------------------- */

/* Strict: the boot script only ever writes small decimals (see uboot-boot.cmd); anything else
 * means someone else wrote the variable, and guessing could boot the wrong slot.  A missing
 * counter is 0, as the script's test -gt 0 sees it. */
static int left_get(UbootEnv *e, const char *name, unsigned *ret, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 16];
        _cleanup_free_ char *v = NULL;
        uint64_t left;

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        v = uboot_env_get(e, var);
        if (!v) {
                *ret = 0;
                return 0;
        }
        if (parse_u64(v, &left) < 0 || left > MAX_LEFT)
                return uerror_set(err, ERROR_FAILED, -EBADMSG,
                                  "U-Boot variable %s='%s' is not a decimal number from 0 to %d", var, v, MAX_LEFT);
        *ret = (unsigned) left;
        return 0;
}

static int left_set(UbootEnv *e, const char *name, unsigned left, UError *err) {
        char var[BOOTLOADER_MAX_BOOTNAME + 16], value[16];

        snprintf(var, sizeof(var), "BOOT_%s_LEFT", name);
        snprintf(value, sizeof(value), "%u", left);
        return uboot_env_set(e, var, value, err);
}

static bool trial_is(UbootEnv *e, const char *name) {
        _cleanup_free_ char *v = uboot_env_get(e, TRIAL_VAR);
        return v && streq(v, name);
}

/* The session a query reads: the held one (uboot_read_begin), else a fresh one in *local,
 * which the caller closes. */
static int env_for_read(UbootData *d, UbootEnv *local, UbootEnv **ret, UError *err) {
        int r;

        if (d->held.ctx) {
                *ret = &d->held;
                return 0;
        }
        r = uboot_env_open(d->fw_env_config, d->lock_file, local, err);
        if (r < 0)
                return r;
        *ret = local;
        return 0;
}

/* --- ops -------------------------------------------------------------------------------- */

static void uboot_close(void *data) {
        UbootData *d = data;

        if (!d)
                return;
        uboot_env_close(&d->held);
        free(d->fw_env_config);
        free(d->lock_file);
        free(d);
}

static int uboot_open(const Config *c, void **ret_data, UError *err) {
        UbootData *d;

        d = calloc(1, sizeof(UbootData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->fw_env_config = strdup(c->fw_env_config ?: CONFIG_DEFAULT_FW_ENV_CONFIG);
        d->lock_file = strdup(c->uboot_lock_file ?: CONFIG_DEFAULT_UBOOT_LOCK_FILE);
        d->boot_attempts = c->boot_attempts ?: CONFIG_DEFAULT_BOOT_ATTEMPTS;
        d->trial_attempts = c->trial_attempts ?: CONFIG_DEFAULT_TRIAL_ATTEMPTS;
        if (!d->fw_env_config || !d->lock_file) {
                uboot_close(d);
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        }
        /* The env itself is read per call; only a missing configuration is fatal up front. */
        if (access(d->fw_env_config, R_OK) < 0) {
                int r = -errno;
                uerror_set(err, ERROR_IO, r, "Cannot read U-Boot environment configuration %s: %s",
                           d->fw_env_config, strerror(-r));
                uboot_close(d);
                return r;
        }
        *ret_data = d;
        return 0;
}

static int uboot_get_primary(void *data, char **ret_bootname, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv local = {};
        UbootEnv *e;
        _cleanup_(bootlist_done) BootList o = {};
        char *pick = NULL;
        int r;

        r = env_for_read(d, &local, &e, err);
        if (r < 0)
                return r;
        r = order_read(e, &o, err);
        if (r < 0)
                return r;
        if (o.n == 0)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "U-Boot variable %s is empty: no slot to boot",
                                  ORDER_VAR);
        for (unsigned i = 0; i < o.n && !pick; i++) {
                unsigned left;

                if (check_bootname(o.item[i], NULL) < 0)
                        continue; /* not one of ours; the script would not find attempts for it either */
                r = left_get(e, o.item[i], &left, err);
                if (r < 0)
                        return r;
                if (left > 0)
                        pick = o.item[i];
        }
        /* No attempts left anywhere: the script re-arms all and boots the first in order (of
         * ours: what is not a bootname is never returned as one). */
        for (unsigned i = 0; i < o.n && !pick; i++)
                if (check_bootname(o.item[i], NULL) >= 0)
                        pick = o.item[i];
        if (!pick)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "U-Boot variable %s holds no valid bootname",
                                  ORDER_VAR);
        pick = strdup(pick);
        if (!pick)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret_bootname = pick;
        return 0;
}

/* Switching rewrites the counters of the slots in BOOT_ORDER; one we cannot parse means an env
 * we do not understand (damaged, or written by something else): refuse instead of overwriting. */
static int order_check_counters(UbootEnv *e, const BootList *o, UError *err) {
        unsigned left;
        int r;

        for (unsigned i = 0; i < o->n; i++) {
                if (check_bootname(o->item[i], NULL) < 0)
                        continue;
                r = left_get(e, o->item[i], &left, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int uboot_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = uboot_env_open(d->fw_env_config, d->lock_file, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;
        r = order_check_counters(&e, &o, err);
        if (r < 0)
                return r;
        r = bootlist_insert(&o, bootname, true, "U-Boot variable " ORDER_VAR, err);
        if (r < 0)
                return r;
        r = order_write(&e, &o, err);
        if (r < 0)
                return r;
        r = left_set(&e, bootname, trial ? d->trial_attempts : d->boot_attempts, err);
        if (r < 0)
                return r;
        /* The slots behind a trial are its fallback: re-arm them, so that a fallback slot
         * that has not been marked good on this boot yet still has its attempts. */
        for (unsigned i = 1; trial && i < o.n; i++)
                if (check_bootname(o.item[i], NULL) >= 0 && (r = left_set(&e, o.item[i], d->boot_attempts, err)) < 0)
                        return r;
        if (trial)
                r = uboot_env_set(&e, TRIAL_VAR, bootname, err);
        else if (trial_is(&e, bootname))
                r = uboot_env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return uboot_env_store(&e, err);
}

static int uboot_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv local = {};
        UbootEnv *e;
        _cleanup_(bootlist_done) BootList o = {};
        unsigned left;
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        r = env_for_read(d, &local, &e, err);
        if (r < 0)
                return r;
        if (trial_is(e, bootname)) {
                *ret = BOOT_STATUS_TRIAL;
                return 0;
        }
        r = order_read(e, &o, err);
        if (r < 0)
                return r;
        if (bootlist_find(&o, bootname) < 0) {
                *ret = BOOT_STATUS_BAD;
                return 0;
        }
        r = left_get(e, bootname, &left, err);
        if (r < 0)
                return r;
        *ret = left > 0 ? BOOT_STATUS_GOOD : BOOT_STATUS_BAD;
        return 0;
}

static int uboot_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv e = {};
        _cleanup_(bootlist_done) BootList o = {};
        int r;

        r = check_bootname(bootname, err);
        if (r < 0)
                return r;
        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = uboot_env_open(d->fw_env_config, d->lock_file, &e, err);
        if (r < 0)
                return r;
        r = order_read(&e, &o, err);
        if (r < 0)
                return r;

        if (state == BOOT_STATUS_GOOD) {
                /* Keep its place if it has one; a slot that was taken out goes last. */
                if (bootlist_find(&o, bootname) < 0) {
                        r = bootlist_insert(&o, bootname, false, "U-Boot variable " ORDER_VAR, err);
                        if (r >= 0)
                                r = order_write(&e, &o, err);
                        if (r < 0)
                                return r;
                }
                r = left_set(&e, bootname, d->boot_attempts, err);
        } else {
                bootlist_remove(&o, bootname);
                /* With an empty BOOT_ORDER the script finds nothing, re-arms nothing and resets
                 * forever: never write that. */
                if (o.n == 0)
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing to mark %s bad: it is the last slot in %s and the board would have nothing to boot",
                                          bootname, ORDER_VAR);
                r = order_write(&e, &o, err);
                if (r >= 0)
                        r = left_set(&e, bootname, 0, err);
        }
        if (r >= 0 && trial_is(&e, bootname))
                r = uboot_env_set(&e, TRIAL_VAR, NULL, err);
        if (r < 0)
                return r;
        return uboot_env_store(&e, err);
}

static int uboot_get_trial(void *data, char **ret_bootname, UError *err) {
        UbootData *d = data;
        _cleanup_(uboot_env_close) UbootEnv local = {};
        UbootEnv *e;
        int r;

        r = env_for_read(d, &local, &e, err);
        if (r < 0)
                return r;
        *ret_bootname = uboot_env_get(e, TRIAL_VAR);
        return 0;
}

static int uboot_read_begin(void *data, UError *err) {
        UbootData *d = data;

        uboot_env_close(&d->held);
        return uboot_env_open(d->fw_env_config, d->lock_file, &d->held, err);
}

static void uboot_read_end(void *data) {
        uboot_env_close(&((UbootData *) data)->held);
}

const BootloaderOps bootloader_uboot_ops = {
        .name = "uboot",
        .open = uboot_open,
        .close = uboot_close,
        .get_primary = uboot_get_primary,
        .get_state = uboot_get_state,
        .set_primary = uboot_set_primary,
        .set_state = uboot_set_state,
        .get_current = NULL, /* U-Boot only tells the kernel: update1.slot= on the command line */
        .get_trial = uboot_get_trial,
        .read_begin = uboot_read_begin,
        .read_end = uboot_read_end,
};
