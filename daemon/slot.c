/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The runtime slot table: device paths resolved, the booted slot found (never guessed), and
 * the choice of where a bundle goes. */
#include <blkid/blkid.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fileio.h"
#include "log.h"
#include "slot.h"
#include "util.h"

#define CMDLINE_DEFAULT_PATH "/proc/cmdline"
#define CMDLINE_MAX_SIZE (64 * 1024)

SlotTable *slot_table_free(SlotTable *t) {
        if (!t)
                return NULL;
        for (unsigned i = 0; i < t->n_slots; i++)
                free(t->slots[i].device_path);
        free(t->slots);
        free(t->boot_source);
        return mfree(t);
}

static bool is_tag_spec(const char *s) {
        return strneq(s, "PARTLABEL=", 10) || strneq(s, "PARTUUID=", 9) || strneq(s, "LABEL=", 6) ||
               strneq(s, "UUID=", 5);
}

/* libblkid is dlopen()ed by the first tag spec: a daemon whose slots are paths never maps it.
 * Without it a tag spec resolves to nothing, which status shows and an install refuses ("Device
 * ... not found"); the log says why, once. */
#define LIBBLKID_SONAME "libblkid.so.1"
static char *(*evaluate_tag)(const char *token, const char *value, blkid_cache *cache);
_Static_assert(__builtin_types_compatible_p(__typeof__(evaluate_tag), __typeof__(&blkid_evaluate_tag)),
               "blkid_evaluate_tag");
static pthread_once_t blkid_once = PTHREAD_ONCE_INIT;

static void blkid_load(void) {
        void *h = dlopen(LIBBLKID_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (h)
                *(void **) &evaluate_tag = dlsym(h, "blkid_evaluate_tag");
        if (!evaluate_tag)
                log_error("Cannot resolve PARTLABEL=, PARTUUID=, LABEL= or UUID= slot devices: %s (install the libblkid1 package)",
                          h ? LIBBLKID_SONAME " lacks blkid_evaluate_tag()" : dlerror());
}

int slot_resolve_device(const char *spec, char **ret_path) {
        char *p;

        if (isempty(spec) || !ret_path)
                return -EINVAL;
        if (!is_tag_spec(spec)) {
                /* A plain path is used as written; a file-backed slot may not exist yet. */
                p = strdup(spec);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        if (strchr(spec, '=')[1] == '\0')
                return -EINVAL;

        /* libblkid looks at udev's /dev/disk/by-* links first and otherwise probes the block
         * devices in /proc/partitions (through its cache, which it verifies), so this works
         * without udev too, e.g. for a GPT loop device whose partitions were added with partx. */
        (void) pthread_once(&blkid_once, blkid_load);
        if (!evaluate_tag)
                return -ELIBACC;
        p = evaluate_tag(spec, NULL, NULL);
        if (!p)
                return -ENOENT;
        *ret_path = p;
        return 0;
}

int slot_table_group_root(const SlotTable *t, int i) {
        if (!t || i < 0 || (unsigned) i >= t->n_slots)
                return -EINVAL;
        /* The config allows one level only; the bound guards against a hand-made table. */
        for (unsigned depth = 0; depth < t->n_slots && t->slots[i].cfg->parent >= 0; depth++)
                i = t->slots[i].cfg->parent;
        return i;
}

/* --- kernel command line --------------------------------------------------------------- */

/* Value of the last "key=..." on the command line (the kernel and systemd also let the last
 * one win).  Quoting as the kernel does it: double quotes group spaces and are removed, both
 * around the value (key="a b") and around the whole parameter ("key=a b"). */
static int cmdline_get(const char *cmdline, const char *key, char **ret) {
        _cleanup_free_ char *found = NULL;
        size_t klen = strlen(key);
        const char *p = cmdline;

        for (;;) {
                _cleanup_free_ char *word = NULL;
                size_t n = 0;
                bool quoted = false;

                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (!*p)
                        break;
                word = malloc(strlen(p) + 1);
                if (!word)
                        return -ENOMEM;
                for (; *p; p++) {
                        if (*p == '"') {
                                quoted = !quoted;
                                continue;
                        }
                        if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                                break;
                        word[n++] = *p;
                }
                word[n] = '\0';
                if (strneq(word, key, klen) && word[klen] == '=') {
                        free(found);
                        found = strdup(word + klen + 1);
                        if (!found)
                                return -ENOMEM;
                }
        }
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        return 0;
}

static int set_source(SlotTable *t, const char *fmt, ...) _printf_(2, 3);
static int set_source(SlotTable *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(t->boot_source);
        t->boot_source = s;
        return 0;
}

/* barebox: bootchooser.active= names the bootchooser target, which is the bootname; some
 * setups pass the state variable's node instead ("bootstate.system0"). */
static const char *barebox_target(const char *value) {
        return strneq(value, "bootstate.", 10) && value[10] ? value + 10 : value;
}

/* A bootname, or a slot name "rootfs.0" of a slot with a bootname. */
static int find_bootable(const Config *c, const char *name) {
        int i = config_find_slot_by_bootname(c, name);

        if (i < 0) {
                i = config_find_slot(c, name);
                if (i >= 0 && !c->slots[i].bootname)
                        i = -ENOENT;
        }
        return i;
}

static bool same_device(const char *a, const char *b) {
        _cleanup_free_ char *ra = NULL, *rb = NULL;
        struct stat sa, sb;

        if (streq(a, b))
                return true;
        ra = realpath(a, NULL);
        rb = realpath(b, NULL);
        if (ra && rb && streq(ra, rb))
                return true;
        /* Two nodes of one block device (/dev/root, /dev/block/254:2, a copy in a chroot). */
        if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode) &&
            sa.st_rdev == sb.st_rdev)
                return true;
        return false;
}

/* root= from the command line against every slot: the same spec (root=PARTLABEL=x and
 * device=PARTLABEL=x), or the same resolved path, or the same block device. */
static int match_root(SlotTable *t, const char *root) {
        _cleanup_free_ char *root_path = NULL;
        int match = -1, r;

        r = slot_resolve_device(root, &root_path);
        if (r == -ENOMEM)
                return r;

        for (unsigned i = 0; i < t->n_slots; i++) {
                const Slot *s = &t->slots[i];
                bool m = streq(s->cfg->device, root) ||
                         (root_path && s->device_path && same_device(root_path, s->device_path));
                int g;

                if (!m)
                        continue;
                g = slot_table_group_root(t, (int) i);
                if (match >= 0 && match != g)
                        return set_source(t, "root=%s on the kernel command line matches both %s and %s, not guessing",
                                          root, t->slots[match].cfg->name, t->slots[g].cfg->name) < 0 ? -ENOMEM : -1;
                match = g;
        }
        if (match < 0)
                return set_source(t, "root=%s on the kernel command line matches no configured slot device", root) < 0
                               ? -ENOMEM
                               : -1;
        if (set_source(t, "root=%s on the kernel command line is the device of slot %s", root,
                       t->slots[match].cfg->name) < 0)
                return -ENOMEM;
        return match;
}

/* Returns the booted slot index, -1 if unknown (boot_source says why), or -ENOMEM. */
static int detect_booted(SlotTable *t, const char *cmdline_path, const char *boot_override) {
        const Config *c = t->config;
        _cleanup_free_ char *cmdline = NULL, *value = NULL;
        static const char *const slot_keys[] = { "update1.slot", "rauc.slot", "bootchooser.active",
                                                 "bootstate.active" };
        int i, r;

        if (boot_override) {
                t->boot_source_explicit = true;
                i = find_bootable(c, boot_override);
                if (set_source(t, i >= 0 ? "boot slot override '%s' (option)" :
                                           "boot slot override '%s' (option) names no slot with a bootname",
                               boot_override) < 0)
                        return -ENOMEM;
                return i >= 0 ? i : -1;
        }
        if (c->boot_slot_override) {
                t->boot_source_explicit = true;
                i = find_bootable(c, c->boot_slot_override);
                if (set_source(t, i >= 0 ? "boot-slot-override=%s in %s" :
                                           "boot-slot-override=%s in %s names no slot with a bootname",
                               c->boot_slot_override, c->path ?: "the configuration") < 0)
                        return -ENOMEM;
                return i >= 0 ? i : -1;
        }

        if (!cmdline_path)
                cmdline_path = CMDLINE_DEFAULT_PATH;
        r = read_full_file(cmdline_path, CMDLINE_MAX_SIZE, &cmdline, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_source(t, "cannot read the kernel command line from %s: %s", cmdline_path,
                                  strerror(-r)) < 0 ? -ENOMEM : -1;

        for (size_t k = 0; k < ELEMENTSOF(slot_keys); k++) {
                r = cmdline_get(cmdline, slot_keys[k], &value);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                /* An explicit slot= that names nothing is a misconfiguration: say so rather
                 * than falling back to root= and maybe picking the wrong group. */
                t->boot_source_explicit = true;
                i = find_bootable(c, k >= 2 ? barebox_target(value) : value);
                if (set_source(t, i >= 0 ? "%s=%s on the kernel command line" :
                                           "%s=%s on the kernel command line names no slot with that bootname",
                               slot_keys[k], value) < 0)
                        return -ENOMEM;
                return i >= 0 ? i : -1;
        }

        r = cmdline_get(cmdline, "root", &value);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                return match_root(t, value);

        return set_source(t, "no update1.slot=, rauc.slot=, bootchooser.active=, bootstate.active= or root= on the kernel command line (%s) and no boot slot override",
                          cmdline_path) < 0 ? -ENOMEM : -1;
}

static void slot_table_set_booted(SlotTable *t, int b) {
        t->booted = slot_table_group_root(t, b);
        for (unsigned i = 0; i < t->n_slots; i++) {
                if ((int) i == t->booted)
                        t->slots[i].state = SLOT_STATE_BOOTED;
                else if (slot_table_group_root(t, (int) i) == t->booted)
                        t->slots[i].state = SLOT_STATE_ACTIVE;
                else
                        t->slots[i].state = SLOT_STATE_INACTIVE;
        }
}

int slot_table_detect_from_bootloader(SlotTable *t, Bootloader *b) {
        _cleanup_free_ char *bootname = NULL, *before = NULL;
        UError err = UERROR_NULL;
        int i, r;

        if (!t || !b)
                return -EINVAL;
        if (t->booted >= 0 || t->boot_source_explicit || !bootloader_has_current(b))
                return 0;

        before = t->boot_source ? strdup(t->boot_source) : NULL;
        if (t->boot_source && !before)
                return -ENOMEM;
        r = bootloader_get_current(b, &bootname, &err);
        if (r < 0)
                return set_source(t, "%s; the %s bootloader cannot tell the booted slot either: %s",
                                  before ?: "nothing on the kernel command line", bootloader_name(b),
                                  err.message) < 0 ? -ENOMEM : 0;
        i = find_bootable(t->config, bootname);
        if (i < 0)
                return set_source(t, "%s; the %s bootloader's current boot entry '%s' is no configured bootname",
                                  before ?: "nothing on the kernel command line", bootloader_name(b), bootname) < 0
                               ? -ENOMEM
                               : 0;
        if (set_source(t, "bootname %s reported by the %s bootloader (get_current)", bootname, bootloader_name(b)) < 0)
                return -ENOMEM;
        slot_table_set_booted(t, i);
        return 1;
}

int slot_table_new(const Config *c, const char *cmdline_path, const char *boot_override, SlotTable **ret) {
        _cleanup_(slot_table_freep) SlotTable *t = NULL;
        int b, r;

        if (!c || !ret)
                return -EINVAL;

        t = calloc(1, sizeof(SlotTable));
        if (!t)
                return -ENOMEM;
        t->config = c;
        t->booted = -1;
        t->slots = calloc(c->n_slots ?: 1, sizeof(Slot));
        if (!t->slots)
                return -ENOMEM;
        t->n_slots = c->n_slots;

        for (unsigned i = 0; i < c->n_slots; i++) {
                t->slots[i].cfg = &c->slots[i];
                t->slots[i].state = SLOT_STATE_INACTIVE;
                /* A device that cannot be found is not fatal here: status shows it, and an
                 * install into it fails with its name. */
                r = slot_resolve_device(c->slots[i].device, &t->slots[i].device_path);
                if (r == -ENOMEM)
                        return r;
        }

        b = detect_booted(t, cmdline_path, boot_override);
        if (b == -ENOMEM)
                return b;
        if (b >= 0)
                slot_table_set_booted(t, b);

        *ret = TAKE_PTR(t);
        return 0;
}

/* --- target choice --------------------------------------------------------------------- */

static const SlotRecord *find_record(const StatusFile *st, const char *name) {
        if (!st)
                return NULL;
        for (unsigned i = 0; i < st->n_records; i++)
                if (streq(st->records[i].name, name))
                        return &st->records[i];
        return NULL;
}

/* The member of group g (root slot index) with the given class, -1 if none. */
static int group_slot_of_class(const SlotTable *t, int g, const char *class) {
        for (unsigned i = 0; i < t->n_slots; i++)
                if (streq(t->slots[i].cfg->class, class) && slot_table_group_root(t, (int) i) == g)
                        return (int) i;
        return -1;
}

/* Lower is better: 0 failed (or an interrupted install), 1 never installed, 2 installed. */
static int record_rank(const SlotRecord *r) {
        if (r && (r->status == SLOT_STATUS_FAILED || r->status == SLOT_STATUS_PENDING))
                return 0;
        if (!r || r->status == SLOT_STATUS_UNKNOWN || r->installed_timestamp == 0)
                return 1;
        return 2;
}

int slot_table_pick_targets(const SlotTable *t, const StatusFile *st, const char *const *classes,
                            size_t n_classes, int *ret_targets, UError *err) {
        _cleanup_free_ int *best = NULL, *cand = NULL;
        int best_rank = 3;
        uint64_t best_ts = UINT64_MAX;
        bool readonly_seen = false;

        if (!t || !ret_targets || (n_classes > 0 && !classes))
                return uerror_set(err, ERROR_FAILED, -EINVAL, "Internal error: no slot table or classes");
        if (n_classes == 0)
                return uerror_set(err, ERROR_NO_TARGET_SLOT, -EINVAL, "The bundle contains no images");
        if (t->booted < 0)
                return uerror_set(err, ERROR_NO_TARGET_SLOT, -ENXIO,
                                  "No target slot: the booted slot is unknown (%s)",
                                  t->boot_source ?: "not detected");

        for (size_t k = 0; k < n_classes; k++) {
                bool configured = false;

                for (size_t j = 0; j < k; j++)
                        if (streq(classes[j], classes[k]))
                                return uerror_set(err, ERROR_INVALID_BUNDLE, -EINVAL,
                                                  "The bundle has two images for slot class '%s'", classes[k]);
                for (unsigned i = 0; i < t->n_slots; i++)
                        if (streq(t->slots[i].cfg->class, classes[k]))
                                configured = true;
                if (!configured)
                        return uerror_set(err, ERROR_NO_TARGET_SLOT, -ENOENT,
                                          "No target slot: no slot of class '%s' is configured", classes[k]);
        }

        best = calloc(n_classes, sizeof(int));
        cand = calloc(n_classes, sizeof(int));
        if (!best || !cand)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");

        /* Every boot group other than the booted one is a candidate if it has a writable slot
         * of each class; the whole group is written, so it is judged by its worst slot. */
        for (unsigned g = 0; g < t->n_slots; g++) {
                int rank = 3;
                uint64_t ts = UINT64_MAX;
                bool ok = true;

                if (t->slots[g].cfg->parent >= 0 || !t->slots[g].cfg->bootname || (int) g == t->booted)
                        continue;
                for (size_t k = 0; k < n_classes && ok; k++) {
                        const SlotRecord *r;
                        int m = group_slot_of_class(t, (int) g, classes[k]);

                        if (m < 0) {
                                ok = false;
                                break;
                        }
                        if (t->slots[m].cfg->readonly) {
                                readonly_seen = true;
                                ok = false;
                                break;
                        }
                        cand[k] = m;
                        r = find_record(st, t->slots[m].cfg->name);
                        rank = MIN(rank, record_rank(r));
                        ts = MIN(ts, r ? r->installed_timestamp : 0);
                }
                if (!ok)
                        continue;
                if (rank < best_rank || (rank == best_rank && ts < best_ts)) {
                        best_rank = rank;
                        best_ts = ts;
                        memcpy(best, cand, n_classes * sizeof(int));
                }
        }

        if (best_rank == 3) {
                _cleanup_free_ char *list = NULL;

                for (size_t k = 0; k < n_classes; k++) {
                        char *n = strdup_printf("%s%s'%s'", list ?: "", list ? ", " : "", classes[k]);
                        if (!n)
                                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
                        free(list);
                        list = n;
                }
                return uerror_set(err, ERROR_NO_TARGET_SLOT, -ENOSPC,
                                  "No target slot: no boot group other than the booted one (%s) has %s for class %s",
                                  t->slots[t->booted].cfg->name, readonly_seen ? "writable slots" : "slots", list);
        }

        memcpy(ret_targets, best, n_classes * sizeof(int));
        return 0;
}

int slot_device_size(const Slot *s, uint64_t *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!s || !ret)
                return -EINVAL;
        if (!s->device_path)
                return -ENOENT;
        fd = open(s->device_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t) st.st_size;
                return 0;
        }
        if (S_ISBLK(st.st_mode)) {
                uint64_t size;
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return -errno;
                *ret = size;
                return 0;
        }
        return -ENOTBLK;
}

int slot_sha256(const Slot *s, uint64_t size, const atomic_bool *cancel, uint8_t ret[32]) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        EVP_MD_CTX *ctx = NULL;
        uint64_t done = 0;
        int r = 0;

        if (!s || !s->device_path)
                return -ENOENT;
        fd = open(s->device_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(1 << 20);
        ctx = EVP_MD_CTX_new();
        if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                r = -ENOMEM;
        while (r >= 0 && done < size) {
                size_t n = (size_t) MIN(size - done, (uint64_t) (1 << 20));
                ssize_t k;

                if (cancel && atomic_load(cancel)) {
                        r = -ECANCELED;
                        break;
                }
                k = pread(fd, buf, n, (off_t) done);
                if (k < 0)
                        r = errno == EINTR ? 0 : -errno;
                else if (k == 0)
                        r = -EPIPE;
                else if (EVP_DigestUpdate(ctx, buf, (size_t) k) != 1)
                        r = -EIO;
                else
                        done += (uint64_t) k;
        }
        if (r >= 0 && EVP_DigestFinal_ex(ctx, ret, NULL) != 1)
                r = -EIO;
        EVP_MD_CTX_free(ctx);
        return r;
}
