/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* C ports of the shell boot simulators in tests/lib (see bootsim.h).  Each port follows its
 * script step by step, including how bash reads the data (line by line, word splitting, its
 * number parsing) and what the tool the script calls does with the result (fw_setenv -s,
 * grub-editenv set, the barebox-state stand-in's -s, the efibootmgr-format rewrite), so that
 * the storage ends up the same (bootsim_state_text()).  The [n] marks are the scripts' steps.
 * What is deliberately not reproduced is listed in bootsim.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootsim-internal.h"

#define UBOOT_ENV_SIZE 0x4000

static const char *const scheme_names[_BOOT_SCHEME_MAX] = {
        [BOOT_SCHEME_UBOOT] = "uboot",   [BOOT_SCHEME_UBOOT_BOOTCOUNT] = "uboot-bootcount",
        [BOOT_SCHEME_GRUB] = "grub",     [BOOT_SCHEME_BAREBOX] = "barebox",
        [BOOT_SCHEME_EFI] = "efi",
};

static const char *const storage_files[_BOOT_SCHEME_MAX] = {
        [BOOT_SCHEME_UBOOT] = "uboot.env",  [BOOT_SCHEME_UBOOT_BOOTCOUNT] = "uboot.env",
        [BOOT_SCHEME_GRUB] = "grubenv",     [BOOT_SCHEME_BAREBOX] = "barebox.state",
        [BOOT_SCHEME_EFI] = "efi.state",
};

const char *boot_scheme_name(BootScheme s) {
        return s >= 0 && s < _BOOT_SCHEME_MAX ? scheme_names[s] : NULL;
}

const char *bootsim_storage_file(BootScheme s) {
        return s >= 0 && s < _BOOT_SCHEME_MAX ? storage_files[s] : NULL;
}

/* --- small helpers (bootsim-internal.h) ---------------------------------------------------- */

void bs_buf_add(Buf *b, const char *data, size_t len) {
        if (b->failed)
                return;
        if (b->n + len + 1 > b->cap) {
                size_t cap = (b->n + len + 1) * 2 + 64;
                char *p = realloc(b->p, cap);
                if (!p) {
                        b->failed = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, data, len);
        b->n += len;
        b->p[b->n] = '\0';
}

void bs_buf_adds(Buf *b, const char *s) {
        bs_buf_add(b, s, strlen(s));
}

ssize_t bs_vars_index(const Vars *vs, const char *name, size_t len) {
        for (size_t i = 0; i < vs->n; i++)
                if (vs->v[i].name_len == len && memcmp(vs->v[i].name, name, len) == 0)
                        return (ssize_t) i;
        return -1;
}

const char *bs_vars_get(const Vars *vs, const char *name) {
        ssize_t i = bs_vars_index(vs, name, strlen(name));
        return i >= 0 ? vs->v[i].value : NULL;
}

/* Returns the index of the variable, or -ENOMEM. */
ssize_t bs_vars_set(Vars *vs, const char *name, size_t len, const char *value) {
        ssize_t i = bs_vars_index(vs, name, len);

        if (i >= 0) {
                vs->v[i].value = value;
                return i;
        }
        if (vs->n == vs->cap) {
                size_t cap = vs->cap * 2 + 16;
                Var *v = realloc(vs->v, cap * sizeof(Var));
                if (!v)
                        return -ENOMEM;
                vs->v = v;
                vs->cap = cap;
        }
        vs->v[vs->n] = (Var) { .name = name, .value = value, .name_len = len };
        return (ssize_t) vs->n++;
}

void bs_vars_unset(Vars *vs, const char *name) {
        ssize_t i = bs_vars_index(vs, name, strlen(name));
        if (i >= 0)
                vs->v[i].value = NULL;
}

/* Next line like bash's `while IFS= read -r line || [ -n "$line" ]`: each '\n'-terminated
 * line, and a last unterminated one if it is not empty.  The line is NUL-terminated in place
 * (the buffer is ours); bash drops NUL bytes, which bs_read_all() already did. */
char *bs_next_line(char **p, char *end) {
        char *line = *p, *nl;

        if (line >= end)
                return NULL;
        nl = memchr(line, '\n', end - line);
        if (nl) {
                *nl = '\0';
                *p = nl + 1;
        } else {
                *end = '\0';
                *p = end;
        }
        return line;
}

/* The whole file, NUL-terminated (bs_drop_nuls() for what bash reads).  -errno. */
int bs_read_all(const char *path, char **ret, size_t *ret_len) {
        struct stat st;
        char *buf;
        size_t n = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_size > 64 * 1024 * 1024) {
                int r = errno ? -errno : -EFBIG;
                close(fd);
                return r;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        buf[n] = '\0';
        *ret = buf;
        *ret_len = n;
        return 0;
}

void bs_drop_nuls(char *buf, size_t *len) {
        size_t j = 0;

        for (size_t i = 0; i < *len; i++)
                if (buf[i])
                        buf[j++] = buf[i];
        buf[j] = '\0';
        *len = j;
}

int bs_write_fd_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t k = write(fd, data, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                data += k;
                len -= (size_t) k;
        }
        return 0;
}

/* A new file (or truncated); for setup and copies. */
int bs_write_new(const char *path, const char *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), r;

        if (fd < 0)
                return -errno;
        r = bs_write_fd_all(fd, data, len);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

/* The stand-ins and boot-sim-efi.sh replace the file (mktemp, mv -f); the bytes are the same
 * when it is rewritten in place, which is ~50 times faster: ext4 (auto_da_alloc) flushes a file
 * renamed over another one, or truncated to 0 and rewritten, at close (~0.2-0.6 ms). */
int bs_rewrite(const char *path, const char *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), r = 0;

        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len && r == 0;) {
                ssize_t k = pwrite(fd, data + done, len - done, (off_t) done);
                if (k < 0 && errno != EINTR)
                        r = -errno;
                else if (k > 0)
                        done += (size_t) k;
        }
        if (r == 0 && ftruncate(fd, (off_t) len) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int bs_set_bootname(char ret[static 64], const char *name, size_t len) {
        if (len >= 64) {
                ret[0] = '\0';
                return -ENAMETOOLONG;
        }
        memcpy(ret, name, len);
        ret[len] = '\0';
        return 0;
}

int bs_path_in(char *out, size_t size, const char *dir, const char *file) {
        return (size_t) snprintf(out, size, "%s/%s", dir, file) >= size ? -ENAMETOOLONG : 0;
}

int bs_hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The digit loop shared by the scripts' strtol ports: stops at the first character that is
 * not a digit of 'base'; wraps like bash's 64-bit arithmetic. */
uint64_t bs_digits(const char *s, unsigned base) {
        uint64_t v = 0;

        for (; *s; s++) {
                int d = bs_hexval(*s);
                if (d < 0 || (unsigned) d >= base)
                        break;
                v = v * base + (unsigned) d;
        }
        return v;
}

/* bash's legal_number() (test's -gt operands): strtoimax base 10 (leading isspace, sign),
 * trailing blanks, nothing else; overflow is not a number. */
bool bs_bash_number(const char *s, int64_t *ret) {
        char *ep;
        intmax_t v;

        errno = 0;
        v = strtoimax(s, &ep, 10);
        if (errno || ep == s)
                return false;
        while (*ep == ' ' || *ep == '\t')
                ep++;
        if (!*s || *ep)
                return false;
        *ret = (int64_t) v;
        return true;
}

int bootsim_power_on(BootScheme s, const char *dir, char ret_bootname[static 64]) {
        ret_bootname[0] = '\0';
        switch (s) {
        case BOOT_SCHEME_UBOOT:
                return bootsim_uboot_power_on(dir, ret_bootname);
        case BOOT_SCHEME_UBOOT_BOOTCOUNT:
                return bootsim_bootcount_power_on(dir, ret_bootname);
        case BOOT_SCHEME_GRUB:
                return bootsim_grub_power_on(dir, ret_bootname);
        case BOOT_SCHEME_BAREBOX:
                return bootsim_barebox_power_on(dir, ret_bootname);
        case BOOT_SCHEME_EFI:
                return bootsim_efi_power_on(dir, ret_bootname);
        default:
                return -EINVAL;
        }
}

/* --- setup, environment, copies ------------------------------------------------------------ */

static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
        uint32_t c = 0xffffffffu;

        while (n--) {
                c ^= *p++;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
        }
        return ~c;
}

/* `mkenvimage -r -s 0x4000` (U-Boot 2023.01 tools/mkenvimage.c): 0xff padding, comment lines
 * and empty lines skipped, "\\\n" an embedded newline, CRC little-endian, flags byte 1. */
static int mkenvimage(const char *text, size_t size, unsigned char img[static UBOOT_ENV_SIZE]) {
        unsigned char *env = img + 5;
        size_t envsize = UBOOT_ENV_SIZE - 5, fp, ep = 0;
        uint32_t crc;

        memset(img, 0xff, UBOOT_ENV_SIZE);
        for (fp = 0; fp < size && ep < envsize - 1; fp++) {
                if (text[fp] == '\n') {
                        if (fp == 0 || text[fp - 1] == '\n')
                                continue;
                        else if (text[fp - 1] == '\\')
                                env[ep - 1] = '\n';
                        else
                                env[ep++] = '\0';
                } else if ((fp == 0 || text[fp - 1] == '\n') && text[fp] == '#') {
                        while (++fp < size && text[fp] != '\n')
                                ;
                } else
                        env[ep++] = (unsigned char) text[fp];
        }
        if (fp < size || ep == 0)
                return -E2BIG; /* not needed for our texts: mkenvimage's tail check omitted */
        if (env[ep - 1] != '\0') {
                env[ep++] = '\0';
                if (ep >= envsize)
                        return -E2BIG;
        }
        env[ep] = '\0';
        crc = crc32_ieee(env, envsize);
        for (int i = 0; i < 4; i++)
                img[i] = (unsigned char) (crc >> (8 * i));
        img[4] = 1;
        return 0;
}

static int write_fw_env_config(const char *dir) {
        char path[PATH_MAX], text[2 * PATH_MAX + 128];
        int n;

        if (bs_path_in(path, sizeof(path), dir, "fw_env.config") < 0)
                return -ENAMETOOLONG;
        /* as tests/lib/sandbox.sh writes it: two copies in one file */
        n = snprintf(text, sizeof(text), "%s/uboot.env 0x0000 0x%x 0x%x 1\n%s/uboot.env 0x%x 0x%x 0x%x 1\n", dir,
                     UBOOT_ENV_SIZE, UBOOT_ENV_SIZE, dir, UBOOT_ENV_SIZE, UBOOT_ENV_SIZE, UBOOT_ENV_SIZE);
        if (n < 0 || (size_t) n >= sizeof(text))
                return -ENAMETOOLONG;
        return bs_write_new(path, text, (size_t) n, 0644);
}

static int setup_uboot(const char *dir, const char *text, size_t len) {
        static unsigned char img[2 * UBOOT_ENV_SIZE];
        char path[PATH_MAX];
        int r;

        r = mkenvimage(text, len, img);
        if (r < 0)
                return r;
        memcpy(img + UBOOT_ENV_SIZE, img, UBOOT_ENV_SIZE);
        r = bs_path_in(path, sizeof(path), dir, "uboot.env");
        if (r < 0)
                return r;
        r = bs_write_new(path, (const char *) img, sizeof(img), 0644);
        return r < 0 ? r : write_fw_env_config(dir);
}

#define FRESH_UBOOT "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" /* sandbox.sh sb_make_env */
#define FRESH_GRUB                                                                       \
        GRUBENV_SIGNATURE "# WARNING: Do not edit this file by tools other than grub-editenv!!!\n" \
                          "ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=1\nB_TRY=0\n"
#define FRESH_BAREBOX                                                                   \
        "bootstate.A.priority=20\nbootstate.A.remaining_attempts=3\n"                   \
        "bootstate.B.priority=10\nbootstate.B.remaining_attempts=3\n"                   \
        "bootstate.attempts_locked=0\nbootstate.last_chosen=0\n"
#define FRESH_EFI                                                                       \
        "current 0001\ntimeout 1\norder 0001,0002,0000\n"                               \
        "entry 0000 1 EFI Internal Shell\tFvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)\n" \
        "entry 0001 1 A\tHD(2,GPT,5f1d0c7e-0000-4000-8000-000000000002,0x800,0x100000)/File(\\EFI\\update1\\linux.efi)\n" \
        "entry 0002 1 B\tHD(3,GPT,5f1d0c7e-0000-4000-8000-000000000003,0x100800,0x100000)/File(\\EFI\\update1\\linux.efi)\n"

int bootsim_setup(BootScheme s, const char *dir, const char *top, char **ret_conf) {
        char path[PATH_MAX], *text = NULL;
        size_t len;
        int r;

        *ret_conf = NULL;
        switch (s) {
        case BOOT_SCHEME_UBOOT:
                r = setup_uboot(dir, FRESH_UBOOT, strlen(FRESH_UBOOT));
                if (r == 0 && asprintf(ret_conf, "bootloader=uboot\n[uboot]\nfw-env-config=%s/fw_env.config\n"
                                                 "boot-attempts=3\ntrial-attempts=1\n", dir) < 0)
                        r = -ENOMEM;
                break;
        case BOOT_SCHEME_UBOOT_BOOTCOUNT:
                /* the shipped env file is the board's initial env (test-bootloader-bootcount.c) */
                if ((size_t) snprintf(path, sizeof(path), "%s/packaging/bootloader/uboot-bootcount.env", top) >=
                    sizeof(path))
                        return -ENAMETOOLONG;
                r = bs_read_all(path, &text, &len);
                if (r < 0)
                        return r;
                r = setup_uboot(dir, text, len);
                free(text);
                if (r == 0 && asprintf(ret_conf, "bootloader=uboot\n[uboot]\nscheme=bootcount\n"
                                                 "fw-env-config=%s/fw_env.config\ntrial-attempts=1\n", dir) < 0)
                        r = -ENOMEM;
                break;
        case BOOT_SCHEME_GRUB: {
                char block[GRUBENV_SIZE];

                /* grub-editenv create; grub-editenv set ORDER='A B' A_OK=1 A_TRY=0 B_OK=1 B_TRY=0 */
                memset(block, '#', sizeof(block));
                memcpy(block, FRESH_GRUB, strlen(FRESH_GRUB));
                r = bs_path_in(path, sizeof(path), dir, "grubenv");
                if (r == 0)
                        r = bs_write_new(path, block, sizeof(block), 0644);
                if (r == 0 && asprintf(ret_conf, "bootloader=grub\n[grub]\nenv=%s/grubenv\n", dir) < 0)
                        r = -ENOMEM;
                break;
        }
        case BOOT_SCHEME_BAREBOX:
                r = bs_path_in(path, sizeof(path), dir, "barebox.state");
                if (r == 0)
                        r = bs_write_new(path, FRESH_BAREBOX, strlen(FRESH_BAREBOX), 0644);
                if (r == 0 && !(*ret_conf = strdup("bootloader=barebox\n[barebox]\nboot-attempts=3\ntrial-attempts=1\n")))
                        r = -ENOMEM;
                break;
        case BOOT_SCHEME_EFI:
                r = bs_path_in(path, sizeof(path), dir, "efi.state");
                if (r == 0)
                        r = bs_write_new(path, FRESH_EFI, strlen(FRESH_EFI), 0644);
                if (r == 0 && !(*ret_conf = strdup("bootloader=efi\n")))
                        r = -ENOMEM;
                break;
        default:
                return -EINVAL;
        }
        if (r == 0)
                r = bootsim_export_env(s, dir, top);
        if (r < 0) {
                free(*ret_conf);
                *ret_conf = NULL;
        }
        return r;
}

int bootsim_export_env(BootScheme s, const char *dir, const char *top) {
        char standins[PATH_MAX], file[PATH_MAX];
        const char *path = getenv("PATH") ?: "/usr/bin:/bin", *var;
        bool present = false;
        size_t len;

        if (s == BOOT_SCHEME_BAREBOX)
                var = "BAREBOX_STATE_FILE";
        else if (s == BOOT_SCHEME_EFI)
                var = "EFIBOOTMGR_STATE";
        else
                return s >= 0 && s < _BOOT_SCHEME_MAX ? 0 : -EINVAL;
        if (bs_path_in(file, sizeof(file), dir, storage_files[s]) < 0 ||
            bs_path_in(standins, sizeof(standins), top, "tests/fakes/stand-ins") < 0)
                return -ENAMETOOLONG;
        if (setenv(var, file, 1) < 0)
                return -errno;
        len = strlen(standins);
        for (const char *p = path; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL)
                if (strncmp(p, standins, len) == 0 && (p[len] == ':' || p[len] == '\0'))
                        present = true;
        if (!present) {
                char *np;
                int r;

                if (asprintf(&np, "%s:%s", standins, path) < 0)
                        return -ENOMEM;
                r = setenv("PATH", np, 1) < 0 ? -errno : 0;
                free(np);
                return r;
        }
        return 0;
}

static void escape_into(Buf *b, const char *data, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) data[i];
                char esc[8];

                if (c == '\\')
                        bs_buf_adds(b, "\\\\");
                else if (c == '\n' || (c >= 0x20 && c < 0x7f))
                        bs_buf_add(b, data + i, 1);
                else {
                        snprintf(esc, sizeof(esc), "\\x%02x", c);
                        bs_buf_adds(b, esc);
                }
        }
}

int bootsim_state_text(BootScheme s, const char *dir, char **ret_text) {
        char path[PATH_MAX], *data;
        Buf b = {};
        size_t len;
        int r;

        *ret_text = NULL;
        if (!bootsim_storage_file(s))
                return -EINVAL;
        r = bs_path_in(path, sizeof(path), dir, storage_files[s]);
        if (r < 0)
                return r;
        r = bs_read_all(path, &data, &len);
        if (r < 0)
                return r;
        if (s != BOOT_SCHEME_UBOOT && s != BOOT_SCHEME_UBOOT_BOOTCOUNT)
                escape_into(&b, data, len);
        else
                /* the layout bootsim_setup() makes: two copies of UBOOT_ENV_SIZE in one file */
                for (unsigned copy = 0; copy < 2; copy++) {
                        const unsigned char *c = (const unsigned char *) data + copy * UBOOT_ENV_SIZE;
                        const char *env = (const char *) c + 5, *end = (const char *) c + UBOOT_ENV_SIZE;
                        uint32_t stored;
                        bool ok;
                        char head[64];

                        if (len < (copy + 1) * UBOOT_ENV_SIZE) {
                                bs_buf_adds(&b, copy ? "copy 1: missing\n" : "copy 0: missing\n");
                                continue;
                        }
                        memcpy(&stored, c, sizeof(stored)); /* host order, as libubootenv reads it */
                        ok = crc32_ieee(c + 5, UBOOT_ENV_SIZE - 5) == stored;
                        snprintf(head, sizeof(head), "copy %u: crc %s, flags %u\n", copy, ok ? "ok" : "BAD", c[4]);
                        bs_buf_adds(&b, head);
                        /* the strings libubootenv would parse: up to the empty one */
                        for (const char *v = env; ok && v < end && *v;) {
                                size_t n = strnlen(v, (size_t) (end - v));
                                escape_into(&b, v, n);
                                bs_buf_adds(&b, "\n");
                                v += n + 1;
                        }
                }
        free(data);
        if (b.failed) {
                free(b.p);
                return -ENOMEM;
        }
        *ret_text = b.p ?: strdup("");
        return *ret_text ? 0 : -ENOMEM;
}

int bootsim_copy(BootScheme s, const char *from, const char *to) {
        char src[PATH_MAX], dst[PATH_MAX], *data;
        size_t len;
        int r;

        if (!bootsim_storage_file(s))
                return -EINVAL;
        if (bs_path_in(src, sizeof(src), from, storage_files[s]) < 0 || bs_path_in(dst, sizeof(dst), to, storage_files[s]) < 0)
                return -ENAMETOOLONG;
        r = bs_read_all(src, &data, &len);
        if (r < 0)
                return r;
        r = bs_write_new(dst, data, len, 0644);
        free(data);
        if (r == 0 && (s == BOOT_SCHEME_UBOOT || s == BOOT_SCHEME_UBOOT_BOOTCOUNT))
                r = write_fw_env_config(to);
        return r;
}
