/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The invariants, checked against the model's own ground truth after every step, and a digest
 * of the state so that the exploration does not walk the same state twice. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "fileio.h"
#include "model.h"
#include "util.h"

#define FIRST_COMMITTED_WITHIN 4 /* a trial's or an activated slot's attempts, then the fallback */

typedef struct Truth {
        unsigned content[MODEL_SLOTS];
        unsigned group[2];      /* content id of the whole group, CONTENT_GARBAGE if mixed or torn */
        char boots[MODEL_POWER_ONS][64];
} Truth;

static uint64_t content_sv(const Model *md, unsigned c) {
        return c >= 2 && c - 2 < md->n_bundles ? md->bundles[c - 2].security_version : 0;
}

static void truth(Model *md, Truth *t) {
        for (unsigned s = 0; s < MODEL_SLOTS; s++)
                t->content[s] = model_content_of(md, s);
        for (unsigned g = 0; g < 2; g++)
                t->group[g] = t->content[g] == t->content[g + 2] ? t->content[g] : CONTENT_GARBAGE;
}

static int group_of(const char *bootname) {
        return streq(bootname, "A") ? 0 : streq(bootname, "B") ? 1 : -1;
}

/* The power-ons are a pure function of the storage file's bytes: a cache in memory shared by
 * all the processes of the exploration saves most of them. */
#define BOOT_CACHE_SLOTS (1u << 16)
typedef struct BootCacheEntry {
        uint8_t key[32];
        bool used;
        char boots[MODEL_POWER_ONS][64];
} BootCacheEntry;
static BootCacheEntry *boot_cache;

int model_check_init(void) {
        boot_cache = mmap(NULL, sizeof(BootCacheEntry) * BOOT_CACHE_SLOTS, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return boot_cache == MAP_FAILED ? -errno : 0;
}

void model_check_reset(void) {
        if (boot_cache)
                memset(boot_cache, 0, sizeof(BootCacheEntry) * BOOT_CACHE_SLOTS);
}

static BootCacheEntry *cache_slot(const Model *md, uint8_t key[32]) {
        char path[PATH_MAX], *data = NULL;
        size_t size = 0;
        uint32_t h;

        if (!boot_cache)
                return NULL;
        snprintf(path, sizeof(path), "%s/boot/%s", md->state, bootsim_storage_file(md->scheme));
        if (read_full_file(path, 1 << 20, &data, &size) < 0)
                return NULL;
        EVP_Digest(data, size, key, NULL, EVP_sha256(), NULL);
        free(data);
        memcpy(&h, key, sizeof(h));
        return &boot_cache[h & (BOOT_CACHE_SLOTS - 1)];
}

/* The next power-ons with no daemon at all (every boot hangs before user space: the worst
 * case), on a copy of the bootloader's storage. */
static int simulate_power_ons(Model *md, Truth *t, char *why, size_t n) {
        char from[PATH_MAX], to[PATH_MAX];
        BootCacheEntry *e;
        uint8_t key[32];
        int r;

        e = cache_slot(md, key);
        if (e && e->used && memcmp(e->key, key, 32) == 0) {
                memcpy(t->boots, e->boots, sizeof(t->boots));
                return 0;
        }
        snprintf(from, sizeof(from), "%s/boot", md->state);
        snprintf(to, sizeof(to), "%s/scratch", md->dir);
        (void) mkdir(to, 0755);
        r = bootsim_copy(md->scheme, from, to);
        if (r < 0) {
                snprintf(why, n, "cannot copy the boot storage: %s", strerror(-r));
                return -1;
        }
        for (unsigned i = 0; i < MODEL_POWER_ONS; i++) {
                r = bootsim_power_on(md->scheme, to, t->boots[i]);
                if (r < 0) {
                        snprintf(why, n, "power-on %u: the bootloader cannot read its storage: %s", i + 1, strerror(-r));
                        return -1;
                }
        }
        if (e) {
                memcpy(e->key, key, 32);
                memcpy(e->boots, t->boots, sizeof(e->boots));
                e->used = true;
        }
        return 0;
}

int model_check(Model *md, char *why, size_t n) {
        unsigned booted = 0, first_committed = UINT_MAX;
        uint64_t floor, proven_max = 0;
        Truth t;
        int r;

        truth(md, &t);
        r = model_floor(md, &floor);
        if (r < 0) {
                snprintf(why, n, "cannot read the floor: %s", strerror(-r));
                return -1;
        }

        /* I4: the floor rises only on proof, and never falls. */
        for (unsigned g = 0; g < 2; g++)
                if (md->proven[g])
                        proven_max = MAX(proven_max, content_sv(md, md->proven[g]));
        proven_max = MAX(proven_max, md->proven_floor);
        if (floor > proven_max) {
                snprintf(why, n, "I4: floor %llu above every security-version proven (%llu)", (unsigned long long) floor,
                         (unsigned long long) proven_max);
                return -1;
        }
        if (floor < md->floor_seen) {
                snprintf(why, n, "I4: floor fell from %llu to %llu", (unsigned long long) md->floor_seen,
                         (unsigned long long) floor);
                return -1;
        }
        md->floor_seen = floor;

        /* I1/I2 on the next power-ons. */
        if (simulate_power_ons(md, &t, why, n) < 0)
                return -1;
        memcpy(md->boots, t.boots, sizeof(md->boots));
        md->boots_valid = true;
        for (unsigned i = 0; i < MODEL_POWER_ONS; i++) {
                int g;

                if (!t.boots[i][0])
                        continue; /* a reset: nothing had attempts left, the scheme re-arms */
                g = group_of(t.boots[i]);
                if (g < 0) {
                        snprintf(why, n, "power-on %u boots unknown bootname '%s'", i + 1, t.boots[i]);
                        return -1;
                }
                if (t.group[g] == CONTENT_GARBAGE) {
                        snprintf(why, n, "I2: power-on %u boots group %s, which is half-written or mixed (contents %u/%u)",
                                 i + 1, t.boots[i], t.content[g], t.content[g + 2]);
                        return -1;
                }
                if (content_sv(md, t.group[g]) < floor) {
                        snprintf(why, n, "I2: power-on %u boots group %s with security-version %llu, below the floor %llu",
                                 i + 1, t.boots[i], (unsigned long long) content_sv(md, t.group[g]),
                                 (unsigned long long) floor);
                        return -1;
                }
                if (md->proven[g] == t.group[g] && first_committed == UINT_MAX)
                        first_committed = booted;
                booted++;
        }
        if (booted == 0) {
                snprintf(why, n, "I1: bricked: none of the next %d power-ons boots anything", MODEL_POWER_ONS);
                return -1;
        }
        if (first_committed >= FIRST_COMMITTED_WITHIN) {
                char seq[MODEL_POWER_ONS * 4 + 1] = "";

                for (unsigned i = 0; i < MODEL_POWER_ONS; i++) {
                        strncat(seq, t.boots[i][0] ? t.boots[i] : "-", sizeof(seq) - strlen(seq) - 2);
                        strncat(seq, " ", sizeof(seq) - strlen(seq) - 1);
                }
                snprintf(why, n, "I1: no committed group among the first %d boots (power-ons: %s; proven A=%u B=%u, contents A=%u B=%u)",
                         FIRST_COMMITTED_WITHIN, seq, md->proven[0], md->proven[1], t.group[0], t.group[1]);
                return -1;
        }
        return 0;
}

/* --- digest ---------------------------------------------------------------------------------- */

/* The status file without what differs between equal states: timestamps, counters, boot ids
 * other than "this boot". */
static void normalize(json_object *o, const char *this_boot) {
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val) {
                        if (strstr(key, "timestamp") || strstr(key, "count")) {
                                json_object_object_add(o, key, json_object_new_int(0));
                                continue;
                        }
                        if (streq(key, "boot-id") && json_object_is_type(val, json_type_string)) {
                                bool same = streq(json_object_get_string(val), this_boot);
                                json_object_object_add(o, key, json_object_new_string(same ? "this" : "other"));
                                continue;
                        }
                        normalize(val, this_boot);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        normalize(json_object_array_get_idx(o, i), this_boot);
        }
}

void model_digest(Model *md, uint8_t ret[32]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        char path[PATH_MAX], this_boot[33], *text = NULL;
        size_t size = 0;
        uint64_t floor = 0;
        Truth t;

        truth(md, &t);
        (void) model_floor(md, &floor);
        if (md->boots_valid)
                memcpy(t.boots, md->boots, sizeof(t.boots));
        else
                (void) simulate_power_ons(md, &t, path, sizeof(path));
        snprintf(this_boot, sizeof(this_boot), "%032x", md->boot_count);

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        EVP_DigestUpdate(ctx, t.content, sizeof(t.content));
        EVP_DigestUpdate(ctx, md->proven, sizeof(md->proven));
        EVP_DigestUpdate(ctx, &md->proven_floor, sizeof(md->proven_floor));
        EVP_DigestUpdate(ctx, &floor, sizeof(floor));
        EVP_DigestUpdate(ctx, md->booted, strlen(md->booted) + 1);
        EVP_DigestUpdate(ctx, t.boots, sizeof(t.boots));

        /* The bootloader's storage as text (the raw bytes of a U-Boot env differ between equal
         * states: libubootenv leaves uninitialised bytes behind the terminator). */
        {
                char dir[PATH_MAX], *text_env = NULL;

                snprintf(dir, sizeof(dir), "%s/boot", md->state);
                if (bootsim_state_text(md->scheme, dir, &text_env) >= 0 && text_env) {
                        EVP_DigestUpdate(ctx, text_env, strlen(text_env));
                        free(text_env);
                }
        }

        /* The bootloader as the daemon's backend reads it. */
        if (md->m) {
                Bootloader *bl = md->m->bootloader;
                static const char *const names[] = { "A", "B" };

                for (unsigned i = 0; i < 2; i++) {
                        UError err = UERROR_NULL;
                        BootStatus st = _BOOT_STATUS_INVALID;

                        (void) bootloader_get_state(bl, names[i], &st, &err);
                        EVP_DigestUpdate(ctx, &st, sizeof(st));
                }
        }

        snprintf(path, sizeof(path), "%s/data/status.json", md->state);
        if (read_full_file(path, 1 << 20, &text, &size) >= 0) {
                json_object *o = json_tokener_parse(text);

                if (o) {
                        const char *s;

                        normalize(o, this_boot);
                        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                        EVP_DigestUpdate(ctx, s, strlen(s));
                        json_object_put(o);
                }
                free(text);
        }
        EVP_DigestFinal_ex(ctx, ret, NULL);
        EVP_MD_CTX_free(ctx);
}
