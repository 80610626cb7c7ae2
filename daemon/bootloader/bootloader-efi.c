/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* EFI backend through efibootmgr (RAUC's approach):
 *   BootNext     the one-shot trial boot: the firmware boots it once and deletes it
 *   BootOrder    the good slots, first = primary; a bad slot is not in it
 *   BootCurrent  the booted entry (get_current)
 * A bootname names a boot entry by its label ("Boot0001* A" has label A), or by number when
 * it is written "BootXXXX" (4 hex digits).  A label matching several entries is an error.
 *
 * EFI variables cannot hold a note of which slot is on trial, so it lives in
 * <data-directory>/efi-trial (one line, atomic replace); it counts only while that slot is
 * not in BootOrder (a slot in BootOrder is committed).  Each step is one efibootmgr call,
 * i.e. one EFI variable write, ordered so that a power cut between steps is safe: a trial
 * writes BootNext before the note (a lost note means the trial goes unnoticed, never a
 * false fallback), marking bad deletes BootNext before touching BootOrder.
 * efibootmgr's output is parsed strictly: every "Boot..." line must be one of its forms. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader.h"
#include "bootloader-util.h"
#include "fileio.h"
#include "util.h"

#define EFIBOOTMGR "efibootmgr"
#define NOTE_NAME "efi-trial"
#define MAX_ENTRIES 128
#define MAX_ORDER 128
#define MAX_SLOTS 16
#define MAX_LABEL 128

typedef struct EfiData {
        char *note_path;
        char *bootname[MAX_SLOTS];
        unsigned n;
} EfiData;

typedef struct EfiEntry {
        unsigned num;
        bool active;
        char label[MAX_LABEL];
} EfiEntry;

typedef struct EfiState {
        EfiEntry entry[MAX_ENTRIES];
        unsigned n_entries;
        int current, next; /* boot numbers, -1 if unset */
        unsigned order[MAX_ORDER];
        unsigned n_order;
        bool have_order;
        int slot_num[MAX_SLOTS]; /* boot number of each configured bootname, -1 if none */
        char *note;              /* bootname from the note file, or NULL */
} EfiState;

static bool startswith(const char *s, const char *prefix) {
        return strneq(s, prefix, strlen(prefix));
}

static void state_done(EfiState *s) {
        s->note = mfree(s->note);
}

/* Exactly four hex digits, as efibootmgr prints them. */
static int parse_num(const char *s, size_t len, unsigned *ret) {
        unsigned v = 0;

        if (len != 4)
                return -EINVAL;
        for (size_t i = 0; i < 4; i++) {
                if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 16 + (unsigned) (isdigit((unsigned char) s[i]) ? s[i] - '0' : (tolower(s[i]) - 'a' + 10));
        }
        *ret = v;
        return 0;
}

static int bad_output(const char *line, const char *why, UError *err) {
        return uerror_set(err, ERROR_FAILED, -EBADMSG, "Cannot parse the output of %s: %s in line '%.80s'", EFIBOOTMGR,
                          why, line);
}

static int parse_line(EfiState *s, char *line, UError *err) {
        unsigned num;

        if (startswith(line, "BootCurrent: ") || startswith(line, "BootNext: ")) {
                bool cur = line[4] == 'C';
                const char *v = line + (cur ? 13 : 10);
                int *field = cur ? &s->current : &s->next;

                if (*field >= 0)
                        return bad_output(line, "repeated", err);
                if (parse_num(v, strlen(v), &num) < 0)
                        return bad_output(line, "not a 4-digit boot number", err);
                *field = (int) num;
                return 0;
        }
        if (startswith(line, "BootOrder: ")) {
                const char *p = line + 11;

                if (s->have_order)
                        return bad_output(line, "repeated", err);
                s->have_order = true;
                while (*p) {
                        size_t len = strcspn(p, ",");

                        if (s->n_order >= MAX_ORDER)
                                return bad_output(line, "too many entries", err);
                        if (parse_num(p, len, &s->order[s->n_order]) < 0)
                                return bad_output(line, "not a comma-separated list of 4-digit boot numbers", err);
                        s->n_order++;
                        p += len;
                        if (*p == ',' && *++p == '\0')
                                return bad_output(line, "trailing comma", err);
                }
                return 0;
        }
        if (startswith(line, "Boot")) {
                /* "BootXXXX* label" (active) or "BootXXXX  label", optionally "\tdevice path" */
                EfiEntry *e;
                char *label = line + 10, *tab;

                if (strlen(line) < 11 || parse_num(line + 4, 4, &num) < 0 || (line[8] != '*' && line[8] != ' ') ||
                    line[9] != ' ')
                        return bad_output(line, "not a boot entry", err);
                tab = strchr(label, '\t');
                if (tab)
                        *tab = '\0';
                if (!*label || strlen(label) >= MAX_LABEL)
                        return bad_output(line, "empty or overlong label", err);
                for (unsigned i = 0; i < s->n_entries; i++)
                        if (s->entry[i].num == num)
                                return bad_output(line, "boot number listed twice", err);
                if (s->n_entries >= MAX_ENTRIES)
                        return bad_output(line, "too many boot entries", err);
                e = &s->entry[s->n_entries++];
                e->num = num;
                e->active = line[8] == '*';
                snprintf(e->label, sizeof(e->label), "%s", label);
                return 0;
        }
        /* Informational lines of efibootmgr; anything else is not its output. */
        if (startswith(line, "Timeout: ") || startswith(line, "MirroredPercentageAbove4G: ") ||
            startswith(line, "MirrorMemoryBelow4GB: "))
                return 0;
        return bad_output(line, "unexpected line", err);
}

static const EfiEntry *entry_by_num(const EfiState *s, int num) {
        for (unsigned i = 0; num >= 0 && i < s->n_entries; i++)
                if ((int) s->entry[i].num == num)
                        return &s->entry[i];
        return NULL;
}

static bool in_order(const EfiState *s, int num) {
        for (unsigned i = 0; num >= 0 && i < s->n_order; i++)
                if ((int) s->order[i] == num)
                        return true;
        return false;
}

/* bootname → boot number: "BootXXXX" by number, anything else by its (unique) label. */
static int resolve(const EfiState *s, const char *bootname, UError *err) {
        unsigned num;
        int found = -1;

        if (startswith(bootname, "Boot") && parse_num(bootname + 4, strlen(bootname + 4), &num) >= 0)
                return entry_by_num(s, (int) num) ? (int) num : -1;
        for (unsigned i = 0; i < s->n_entries; i++) {
                if (!streq(s->entry[i].label, bootname))
                        continue;
                if (found >= 0)
                        return uerror_set(err, ERROR_FAILED, -ENOTUNIQ,
                                          "Several EFI boot entries are labelled '%s' (Boot%04X, Boot%04X): cannot tell which slot it is",
                                          bootname, (unsigned) found, s->entry[i].num);
                found = (int) s->entry[i].num;
        }
        return found;
}

static const char *slot_of(EfiData *d, const EfiState *s, int num) {
        for (unsigned i = 0; num >= 0 && i < d->n; i++)
                if (s->slot_num[i] == num)
                        return d->bootname[i];
        return NULL;
}

static int note_read(EfiData *d, char **ret, UError *err) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        *ret = NULL;
        r = read_full_file(d->note_path, 256, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot read the EFI trial note %s: %s", d->note_path, strerror(-r));
        if (size > 0 && text[size - 1] == '\n')
                text[--size] = '\0';
        if (bootloader_check_bootname(text, "", NULL) < 0)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "The EFI trial note %s does not hold a bootname",
                                  d->note_path);
        *ret = TAKE_PTR(text);
        return 0;
}

static int note_write(EfiData *d, const char *bootname, UError *err) {
        _cleanup_free_ char *text = strdup_printf("%s\n", bootname);
        int r;

        if (!text)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        r = write_file_atomic(d->note_path, text, strlen(text), 0644);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot write the EFI trial note %s: %s", d->note_path, strerror(-r));
        return 0;
}

static int note_clear(EfiData *d, EfiState *s, const char *bootname, UError *err) {
        int r;

        if (!s->note || !streq(s->note, bootname))
                return 0;
        if (unlink(d->note_path) < 0 && errno != ENOENT) {
                r = -errno;
                return uerror_set(err, ERROR_IO, r, "Cannot remove the EFI trial note %s: %s", d->note_path, strerror(-r));
        }
        r = fsync_directory_of(d->note_path);
        if (r < 0)
                return uerror_set(err, ERROR_IO, r, "Cannot remove the EFI trial note %s: %s", d->note_path, strerror(-r));
        s->note = mfree(s->note);
        return 0;
}

static int state_read(EfiData *d, EfiState *s, UError *err) {
        const char *argv[] = { EFIBOOTMGR, NULL };
        _cleanup_free_ char *out = NULL;
        char *line, *next;
        int r;

        *s = (EfiState) { .current = -1, .next = -1 };
        r = bootloader_run_tool(argv, &out, err);
        if (r < 0)
                return r;
        for (line = out; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                r = parse_line(s, line, err);
                if (r < 0)
                        return r;
        }
        if (s->n_entries == 0)
                return uerror_set(err, ERROR_FAILED, -EBADMSG, "%s listed no boot entries", EFIBOOTMGR);
        for (unsigned i = 0; i < d->n; i++) {
                r = resolve(s, d->bootname[i], err);
                if (r < -1)
                        return r;
                s->slot_num[i] = r;
        }
        return note_read(d, &s->note, err);
}

/* The slot on trial: the note's, as long as it is not committed to BootOrder. */
static const char *trial_of(EfiData *d, const EfiState *s) {
        for (unsigned i = 0; s->note && i < d->n; i++)
                if (streq(d->bootname[i], s->note) && s->slot_num[i] >= 0 && !in_order(s, s->slot_num[i]))
                        return d->bootname[i];
        return NULL;
}

static int slot_num(EfiData *d, const EfiState *s, const char *bootname, UError *err) {
        for (unsigned i = 0; i < d->n; i++)
                if (streq(d->bootname[i], bootname)) {
                        if (s->slot_num[i] < 0)
                                return uerror_set(err, ERROR_FAILED, -ENOENT,
                                                  "No EFI boot entry is labelled '%s' (see efibootmgr): create one for the slot",
                                                  bootname);
                        return s->slot_num[i];
                }
        return uerror_set(err, ERROR_INVALID_ARGS, -ENOENT, "Bootname '%s' is not configured for any slot", bootname);
}

/* Slots other than 'num' that the firmware would boot from BootOrder. */
static bool other_slot_in_order(EfiData *d, const EfiState *s, int num) {
        for (unsigned i = 0; i < s->n_order; i++) {
                const EfiEntry *e = entry_by_num(s, (int) s->order[i]);
                if ((int) s->order[i] != num && e && e->active && slot_of(d, s, (int) s->order[i]))
                        return true;
        }
        return false;
}

static int write_order(EfiState *s, int remove, int front, int back, UError *err) {
        char list[MAX_ORDER * 5 + 1] = "";
        unsigned order[MAX_ORDER + 1], n = 0;
        const char *argv[] = { EFIBOOTMGR, "-q", "-o", list, NULL };
        size_t len = 0;
        int r;

        if (front >= 0)
                order[n++] = (unsigned) front;
        for (unsigned i = 0; i < s->n_order && n < MAX_ORDER; i++)
                if ((int) s->order[i] != remove && (int) s->order[i] != front && (int) s->order[i] != back)
                        order[n++] = s->order[i];
        if (back >= 0 && n < MAX_ORDER)
                order[n++] = (unsigned) back;
        for (unsigned i = 0; i < n; i++)
                len += snprintf(list + len, sizeof(list) - len, "%s%04X", i ? "," : "", order[i]);
        r = bootloader_run_tool(argv, NULL, err);
        if (r < 0)
                return r;
        memcpy(s->order, order, n * sizeof(unsigned));
        s->n_order = n;
        return 0;
}

static int delete_next(EfiState *s, UError *err) {
        const char *argv[] = { EFIBOOTMGR, "-q", "-N", NULL };
        int r = bootloader_run_tool(argv, NULL, err);

        if (r >= 0)
                s->next = -1;
        return r;
}

/* --- ops -------------------------------------------------------------------------------- */

static void efi_close(void *data) {
        EfiData *d = data;

        if (!d)
                return;
        free(d->note_path);
        for (unsigned i = 0; i < d->n; i++)
                free(d->bootname[i]);
        free(d);
}

static int efi_open(const Config *c, void **ret_data, UError *err) {
        EfiData *d;

        d = calloc(1, sizeof(EfiData));
        if (!d)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        d->note_path = strdup_printf("%s/%s", c->data_directory ?: CONFIG_DEFAULT_DATA_DIRECTORY, NOTE_NAME);
        if (!d->note_path)
                goto oom;
        for (unsigned i = 0; i < c->n_slots; i++) {
                if (!c->slots[i].bootname)
                        continue;
                if (d->n >= MAX_SLOTS) {
                        efi_close(d);
                        return uerror_set(err, ERROR_FAILED, -E2BIG, "More than %d slots with a bootname", MAX_SLOTS);
                }
                if (!(d->bootname[d->n++] = strdup(c->slots[i].bootname)))
                        goto oom;
        }
        *ret_data = d;
        return 0;
oom:
        efi_close(d);
        return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
}

static int return_copy(const char *s, char **ret, UError *err) {
        char *copy = strdup(s);
        if (!copy)
                return uerror_set(err, ERROR_FAILED, -ENOMEM, "Out of memory");
        *ret = copy;
        return 0;
}

/* BootNext if it is a slot, else the first active slot entry in BootOrder. */
static int efi_get_primary(void *data, char **ret_bootname, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        const char *b;
        int r;

        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        b = slot_of(d, &s, s.next);
        for (unsigned i = 0; !b && i < s.n_order; i++) {
                const EfiEntry *e = entry_by_num(&s, (int) s.order[i]);
                if (e && e->active)
                        b = slot_of(d, &s, (int) s.order[i]);
        }
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOENT,
                                  "Neither BootNext nor BootOrder names an active boot entry of a slot");
        return return_copy(b, ret_bootname, err);
}

static int efi_get_state(void *data, const char *bootname, BootStatus *ret, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        const char *t;
        int r, num;

        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        num = slot_num(d, &s, bootname, err);
        if (num < 0)
                return num;
        t = trial_of(d, &s);
        if (t && streq(t, bootname))
                *ret = BOOT_STATUS_TRIAL;
        else
                *ret = in_order(&s, num) && entry_by_num(&s, num)->active ? BOOT_STATUS_GOOD : BOOT_STATUS_BAD;
        return 0;
}

static int efi_set_primary(void *data, const char *bootname, bool trial, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        int r, num;

        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        num = slot_num(d, &s, bootname, err);
        if (num < 0)
                return num;

        if (trial) {
                char arg[16];
                const char *argv[] = { EFIBOOTMGR, "-q", "-n", arg, NULL };

                /* On trial means not committed, i.e. not in BootOrder; the order without it is
                 * the fallback, so there must be one. */
                if (!other_slot_in_order(d, &s, num))
                        return uerror_set(err, ERROR_FAILED, -EPERM,
                                          "Refusing a trial boot of %s: no other slot in BootOrder to fall back to",
                                          bootname);
                if (in_order(&s, num) && (r = write_order(&s, num, -1, -1, err)) < 0)
                        return r;
                snprintf(arg, sizeof(arg), "%04X", (unsigned) num & 0xffffu);
                r = bootloader_run_tool(argv, NULL, err);
                if (r < 0)
                        return r;
                return note_write(d, bootname, err);
        }

        /* A pending one-shot boot of another slot would undo this on the next boot. */
        if (s.next >= 0 && s.next != num && slot_of(d, &s, s.next) && (r = delete_next(&s, err)) < 0)
                return r;
        if (!(s.n_order > 0 && (int) s.order[0] == num) && (r = write_order(&s, -1, num, -1, err)) < 0)
                return r;
        return note_clear(d, &s, bootname, err);
}

static int efi_set_state(void *data, const char *bootname, BootStatus state, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        int r, num;

        if (state != BOOT_STATUS_GOOD && state != BOOT_STATUS_BAD)
                return uerror_set(err, ERROR_INVALID_ARGS, -EINVAL,
                                  "A slot can only be marked good or bad; use set_primary for a trial");
        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        num = slot_num(d, &s, bootname, err);
        if (num < 0)
                return num;

        if (state == BOOT_STATUS_GOOD) {
                /* Committing a trial makes it the primary; any other good slot goes last. */
                if (!in_order(&s, num)) {
                        const char *t = trial_of(d, &s);
                        bool commit = t && streq(t, bootname);

                        r = write_order(&s, -1, commit ? num : -1, commit ? -1 : num, err);
                        if (r < 0)
                                return r;
                }
        } else {
                if (s.next == num && (r = delete_next(&s, err)) < 0)
                        return r;
                if (in_order(&s, num)) {
                        if (!other_slot_in_order(d, &s, num))
                                return uerror_set(err, ERROR_FAILED, -EPERM,
                                                  "Refusing to mark %s bad: it is the last slot in BootOrder and the firmware would have nothing to boot",
                                                  bootname);
                        r = write_order(&s, num, -1, -1, err);
                        if (r < 0)
                                return r;
                }
        }
        return note_clear(d, &s, bootname, err);
}

static int efi_get_current(void *data, char **ret_bootname, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        const char *b;
        int r;

        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        if (s.current < 0)
                return uerror_set(err, ERROR_FAILED, -ENOENT, "%s does not report BootCurrent", EFIBOOTMGR);
        b = slot_of(d, &s, s.current);
        if (!b)
                return uerror_set(err, ERROR_FAILED, -ENOENT,
                                  "The firmware booted Boot%04X, which is not the boot entry of any slot", (unsigned) s.current);
        return return_copy(b, ret_bootname, err);
}

static int efi_get_trial(void *data, char **ret_bootname, UError *err) {
        EfiData *d = data;
        _cleanup_(state_done) EfiState s = {};
        const char *t;
        int r;

        r = state_read(d, &s, err);
        if (r < 0)
                return r;
        t = trial_of(d, &s);
        *ret_bootname = NULL;
        return t ? return_copy(t, ret_bootname, err) : 0;
}

const BootloaderOps bootloader_efi_ops = {
        .name = "efi",
        .open = efi_open,
        .close = efi_close,
        .get_primary = efi_get_primary,
        .set_primary = efi_set_primary,
        .get_state = efi_get_state,
        .set_state = efi_set_state,
        .get_current = efi_get_current,
        .get_trial = efi_get_trial,
};
