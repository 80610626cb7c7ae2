/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exhaustive model test of the slot-transition invariants (see model.h).
 *
 * For each bootloader scheme: every sequence of operations up to MODEL_DEPTH (iterative
 * deepening, so the first failure found is a shortest one), each operation also cut by a power
 * failure after each of its durable writes (up to MODEL_CUT_DEPTH), then every operation from
 * a few deep roots (roots[]: states where an operation does what it does nowhere else, such as
 * a patched install), then MODEL_WALKS random sequences of MODEL_WALK_STEPS steps with random
 * cuts.  After every step: I1-I4 and the next
 * MODEL_POWER_ONS power-ons (model-check.c).  States already explored with at least as many
 * steps left are not explored again (a digest in shared memory).
 *
 * Each step runs in a fork()ed child, so the parent keeps its daemon and restores the device's
 * files afterwards; a power cut is a grandchild that _exit()s at the chosen durable point.
 *
 * Output: "# " lines (the counts of sequences, distinct states and power cuts explored, a
 * failing sequence); model-main.c turns each scheme's exit status into its TAP test point. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "install.h"
#include "log.h"
#include "mark.h"
#include "model.h"
#include "unit.h"
#include "util.h"

typedef enum OpKind {
        OP_INSTALL,
        OP_INSTALL_CANCEL,
        OP_INSTALL_RANGED,      /* through InstallFd's "ranged" socket (model-install.c) */
        OP_INSTALL_PEER_DIES,   /* the same, the peer closes its socket at the last image */
        OP_POWER_ON,
        OP_HEALTH_GOOD,
        OP_HEALTH_BAD,
        OP_MARK,
        OP_RESTART,
} OpKind;

typedef struct Op {
        OpKind kind;
        unsigned bundle;
        MarkState mark;
        const char *spec;
        bool walk_only;         /* random walks only: an alias of an exhaustive operation */
        char name[48];
} Op;

#define MAX_OPS 32
#define MAX_DEPTH 32
#define MAX_EVENTS 512
#define VISITED_SLOTS (1u << 20)

static Op ops[MAX_OPS];
static unsigned n_ops;
static Model model;

/* Shared between the processes of one exploration. */
typedef struct Shared {
        uint64_t sequences, steps, cuts, states, pruned;
        /* Whole (uncut) installs of the new paths, so that none is a no-op: of a bundle with
         * patches, those that applied any (the daemon's "patches=N"); ranged ones that
         * succeeded; peers that died and the install failed with the source's error. */
        uint64_t patch_installs, patched_installs, patches;
        uint64_t factory_patched; /* of those, from the factory image's set (no status record) */
        uint64_t ranged_ok, peer_deaths, peer_death_failures;
        uint8_t visited[VISITED_SLOTS][32];
        uint8_t visited_left[VISITED_SLOTS];
} Shared;
static Shared *shared;

/* --- the durable-point hook -------------------------------------------------------------- */

static int cut_at = -1;              /* _exit at this durable point (1-based), -1: never */
static int events;
static char event_names[MAX_EVENTS][24];
static bool cancel_at_data;
static bool counting;                /* a child that only counts durable points: no statistics */
static bool explore_all;             /* explore() takes the random walks' operations too */

static void hook(const char *what) {
        if (events < MAX_EVENTS)
                snprintf(event_names[events], sizeof(event_names[0]), "%s", what);
        events++;
        if (events == cut_at)
                _exit(0); /* the power fails right after this write reached the disk */
        if (cancel_at_data && streq(what, "slot data")) {
                cancel_at_data = false;
                (void) install_cancel(model.m);
        }
}

/* --- operations ------------------------------------------------------------------------- */

static void add_op(Op o) {
        ops[n_ops++] = o;
}

static unsigned bundle_index(const char *name) {
        for (unsigned b = 0; b < model.n_bundles; b++)
                if (streq(model.bundles[b].name, name))
                        return b;
        abort(); /* model-device.c makes every bundle named here */
}

static void make_ops(void) {
        static const char *const specs[] = { "booted", "other", "rootfs.0", "rootfs.1" };

        for (unsigned b = 0; b < model.n_bundles; b++) {
                /* v3 and v5-s2 repeat what v2 and v4-s1 do (another version, a higher floor)
                 * one more time, rauc-verity-bad and cdc-bad what bad-image does in the other
                 * formats: random walks only.  So is v6-patch, which from the fresh device is
                 * one more format-2 bundle: its patches apply from the deep root (roots[]); and
                 * v7-patch, whose patches from the factory images apply from the fresh device
                 * (regression "patches-for-factory-image"), elsewhere one more format-2 bundle. */
                Op o = { .kind = OP_INSTALL, .bundle = b,
                         .walk_only = streq(model.bundles[b].name, "v3") || streq(model.bundles[b].name, "v5-s2") ||
                                      streq(model.bundles[b].name, "rauc-verity-bad") ||
                                      streq(model.bundles[b].name, "cdc-bad") ||
                                      streq(model.bundles[b].name, "v6-patch") ||
                                      streq(model.bundles[b].name, "v7-patch") };
                snprintf(o.name, sizeof(o.name), "install %s", model.bundles[b].name);
                add_op(o);
        }
        add_op((Op) { .kind = OP_INSTALL_CANCEL, .bundle = 1, .name = "install v3 + cancel mid-stream" });
        /* InstallFd "ranged": v6-patch through the socket reaches the states "install v6-patch"
         * reaches from a file (random walks and the deep root only); a peer that dies when the
         * install asks for cdc's last image leaves its own half-written group, explored like
         * bad-image. */
        add_op((Op) { .kind = OP_INSTALL_RANGED, .bundle = bundle_index("v6-patch"), .walk_only = true,
                      .name = "install v6-patch ranged" });
        add_op((Op) { .kind = OP_INSTALL_PEER_DIES, .bundle = bundle_index("cdc"), .name = "install cdc ranged, peer dies" });
        add_op((Op) { .kind = OP_POWER_ON, .name = "reboot" });
        add_op((Op) { .kind = OP_HEALTH_GOOD, .name = "health check passes (MarkGood)" });
        add_op((Op) { .kind = OP_HEALTH_BAD, .name = "health check fails (mark bad booted, reboot)" });
        /* With two boot groups, {booted, other} is {rootfs.0, rootfs.1}: the slot names reach
         * the same transitions (mark_resolve_slot() maps them; unit- and integration-tested), so
         * the exhaustive part takes the first two specs and the random walks all four. */
        for (MarkState s = 0; s < _MARK_MAX; s++)
                for (unsigned i = 0; i < ELEMENTSOF(specs); i++) {
                        Op o = { .kind = OP_MARK, .mark = s, .spec = specs[i], .walk_only = i >= 2 };
                        snprintf(o.name, sizeof(o.name), "mark %s %s", mark_state_to_string(s), specs[i]);
                        add_op(o);
                }
        add_op((Op) { .kind = OP_RESTART, .name = "daemon restart" });
}

static int group_booted(void) {
        return streq(model.booted, "A") ? 0 : 1;
}

/* What the operation tells the model as a fact, before the daemon hears of it (and whether or
 * not a power cut then interrupts the daemon): a passing health check proves the image that
 * runs. */
static void note_truth(const Op *o) {
        int g = group_booted();

        /* Mark good of the booted group is MarkGood: the caller vouches for the running image
         * exactly as the health check does. */
        if (o->kind == OP_MARK && o->mark == MARK_GOOD &&
            (streq(o->spec, "booted") || streq(o->spec, g == 0 ? "rootfs.0" : "rootfs.1")))
                ;
        else if (o->kind != OP_HEALTH_GOOD)
                return;
        if (model_content_of(&model, g) == model_content_of(&model, g + 2)) {
                unsigned c = model_content_of(&model, g);

                model.proven[g] = c;
                if (c >= 2)
                        model.proven_floor = MAX(model.proven_floor, model.bundles[c - 2].security_version);
        }
}

/* Runs the operation in this process.  Refusals are outcomes, not errors; < 0 only when the
 * harness itself cannot go on. */
static int apply(const Op *o) {
        UError err = UERROR_NULL;
        char *slot = NULL, *msg = NULL;
        int r = 0;

        model.boots_valid = false;

        switch (o->kind) {
        case OP_INSTALL:
        case OP_INSTALL_CANCEL:
        case OP_INSTALL_RANGED:
        case OP_INSTALL_PEER_DIES: {
                const ModelBundle *b = &model.bundles[o->bundle];
                bool stats = !counting && cut_at < 0;
                ModelInstallFacts f;

                cancel_at_data = o->kind == OP_INSTALL_CANCEL;
                r = model_install(&model, b,
                                  o->kind == OP_INSTALL_RANGED      ? MODEL_SOURCE_RANGED
                                  : o->kind == OP_INSTALL_PEER_DIES ? MODEL_SOURCE_RANGED_DIES
                                                                    : MODEL_SOURCE_FILE,
                                  stats && b->has_patches, &f, &err);
                cancel_at_data = false;
                if (r < 0 || !stats)
                        break;
                shared->patch_installs += b->has_patches;
                shared->patched_installs += f.patches > 0;
                shared->factory_patched += f.patches > 0 && b->patch_from == CONTENT_FACTORY;
                shared->patches += f.patches;
                shared->ranged_ok += o->kind == OP_INSTALL_RANGED && f.result >= 0;
                shared->peer_deaths += f.died;
                /* Refused by name: the source's own error, not a short stream's */
                shared->peer_death_failures += f.died && f.result < 0 && err.kind == ERROR_IO;
                break;
        }
        case OP_POWER_ON:
                r = model_power_on(&model);
                break;
        case OP_HEALTH_GOOD:
                (void) mark_slot(model.m, MARK_GOOD, "booted", &slot, &msg, &err);
                break;
        case OP_HEALTH_BAD:
                (void) mark_slot(model.m, MARK_BAD, "booted", &slot, &msg, &err);
                free(slot), free(msg), slot = msg = NULL;
                r = model_power_on(&model);
                break;
        case OP_MARK:
                (void) mark_slot(model.m, o->mark, o->spec, &slot, &msg, &err);
                break;
        case OP_RESTART:
                r = model_start_daemon(&model);
                break;
        }
        if (getenv("MODEL_VERBOSE"))
                printf("# %s: %s\n", o->name, uerror_is_set(&err) ? err.message : msg ?: "ok");
        free(slot);
        free(msg);
        return r;
}

/* --- exploration ------------------------------------------------------------------------ */

static const Op *path_ops[MAX_DEPTH + 1];
static int path_cut[MAX_DEPTH + 1];

static void print_path(unsigned depth, const char *why) {
        printf("# shortest failing sequence (%u steps) from a fresh device (%s):\n", depth,
               boot_scheme_name(model.scheme));
        for (unsigned i = 0; i < depth; i++) {
                if (path_cut[i] > 0)
                        printf("#   %u. %s, power cut after durable write %d (%s), power on\n", i + 1, path_ops[i]->name,
                               path_cut[i], "see MODEL_VERBOSE=1");
                else
                        printf("#   %u. %s\n", i + 1, path_ops[i]->name);
        }
        printf("# violated: %s\n", why);
        fflush(stdout);
}

/* The operation in a grandchild that dies after durable write k (the power fails there);
 * what it left is the device now.  The model keeps what the grandchild's power-on (if any)
 * proved. */
static void cut_power(const Op *o, int k) {
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                events = 0;
                cut_at = k;
                (void) apply(o);
                _exit(0);
        }
        if (pid > 0)
                (void) waitpid(pid, &status, 0);
        model.boots_valid = false;
        model_note_boot_from_cmdline(&model);
}

/* A state seen before with at least as many steps left needs no second visit. */
static bool visited(unsigned left) {
        uint8_t d[32];
        uint32_t h;

        model_digest(&model, d);
        memcpy(&h, d, sizeof(h));
        for (uint32_t probe = 0; probe < 64; probe++) {
                uint32_t i = (h + probe) & (VISITED_SLOTS - 1);

                if (shared->visited_left[i] == 0) {
                        memcpy(shared->visited[i], d, 32);
                        shared->visited_left[i] = (uint8_t) (left + 1);
                        shared->states++;
                        return false;
                }
                if (memcmp(shared->visited[i], d, 32) == 0) {
                        if (shared->visited_left[i] >= left + 1)
                                return true;
                        shared->visited_left[i] = (uint8_t) (left + 1);
                        return false;
                }
        }
        return false; /* table crowded here: explore again rather than miss something */
}

static int explore(unsigned depth, unsigned max_depth, unsigned cut_depth);

/* After a step: check, then go deeper.  Runs in the child; exit code 1 = violation found. */
static int after_step(unsigned depth, unsigned max_depth, unsigned cut_depth) {
        char why[1024];

        shared->steps++;
        if (model_check(&model, why, sizeof(why)) < 0) {
                print_path(depth + 1, why);
                return 1;
        }
        return explore(depth + 1, max_depth, cut_depth);
}

/* One step in a child.  cut = 0: whole operation (returns its durable points in *ret_events);
 * cut = k: the operation dies after durable point k, then the device is powered on. */
static char step_event_names[MAX_EVENTS][24];

static int step(unsigned depth, const Op *o, int cut, unsigned max_depth, unsigned cut_depth, int *ret_events) {
        int pipefd[2], status;
        pid_t pid;

        if (pipe(pipefd) < 0)
                return -errno;
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int r;

                close(pipefd[0]);
                path_ops[depth] = o;
                path_cut[depth] = cut;
                note_truth(o);
                if (cut == 0) {
                        events = 0;
                        if (apply(o) < 0 && o->kind != OP_POWER_ON && o->kind != OP_HEALTH_BAD)
                                _exit(2);
                        (void) !write(pipefd[1], &events, sizeof(events));
                        (void) !write(pipefd[1], event_names, sizeof(event_names[0]) * MIN(events, MAX_EVENTS));
                        close(pipefd[1]);
                        _exit(after_step(depth, max_depth, cut_depth));
                }
                close(pipefd[1]);
                /* The power cut: a grandchild runs the operation and dies at point 'cut'. */
                pid_t g = fork();
                if (g == 0) {
                        events = 0;
                        cut_at = cut;
                        (void) apply(o);
                        _exit(0);
                }
                if (g < 0 || waitpid(g, &status, 0) < 0)
                        _exit(2);
                model.boots_valid = false;
                model_note_boot_from_cmdline(&model);
                /* What the cut left must already be safe, before anything repairs it. */
                char why[1024];
                if (model_check(&model, why, sizeof(why)) < 0) {
                        print_path(depth + 1, why);
                        _exit(1);
                }
                shared->cuts++;
                r = model_power_on(&model);
                if (r < 0 && r != -ENOENT)
                        _exit(2);
                _exit(after_step(depth, max_depth, cut_depth));
        }
        close(pipefd[1]);
        *ret_events = 0;
        if (read(pipefd[0], ret_events, sizeof(*ret_events)) != sizeof(*ret_events))
                *ret_events = 0;
        else {
                size_t want = sizeof(step_event_names[0]) * MIN(*ret_events, MAX_EVENTS), got = 0;
                ssize_t k;

                while (got < want && (k = read(pipefd[0], (char *) step_event_names + got, want - got)) > 0)
                        got += (size_t) k;
                if (got < want)
                        *ret_events = 0;
        }
        close(pipefd[0]);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status))
                return 2;
        return WEXITSTATUS(status);
}

/* Every durable write is a cut point, except inside a run of slot data writes (an image is
 * written in up to 98 slices, one per percent): there the first and the last slice stand for
 * the run, since the daemon writes nothing else between them. */
static bool interesting_cut(char names[][24], int n, int k) {
        bool data = streq(names[k - 1], "slot data");

        if (!data)
                return true;
        return k == 1 || !streq(names[k - 2], "slot data") || k == n || !streq(names[k], "slot data");
}

static int explore(unsigned depth, unsigned max_depth, unsigned cut_depth) {
        Snapshot snap;
        int r = 0;

        if (depth == max_depth) {
                shared->sequences++;
                return 0;
        }
        if (visited(max_depth - depth)) {
                shared->pruned++;
                return 0;
        }
        if (model_snapshot_take(model.state, &snap) < 0)
                return 2;
        for (unsigned i = 0; i < n_ops && r == 0; i++) {
                char names[MAX_EVENTS][24];
                int n_events = 0, ignored;

                if (ops[i].walk_only && !explore_all)
                        continue;
                r = step(depth, &ops[i], 0, max_depth, cut_depth, &n_events);
                memcpy(names, step_event_names, sizeof(names));
                if (model_snapshot_restore(model.state, &snap) < 0)
                        r = 2;
                for (int k = 1; r == 0 && depth < cut_depth && k <= MIN(n_events, MAX_EVENTS); k++) {
                        if (!interesting_cut(names, n_events, k))
                                continue;
                        r = step(depth, &ops[i], k, max_depth, cut_depth, &ignored);
                        if (model_snapshot_restore(model.state, &snap) < 0)
                                r = 2;
                }
        }
        model_snapshot_free(&snap);
        return r;
}

/* Random sequences: each step a random operation, cut at a random durable point 1 time in 4. */
static int walk_random(unsigned steps, unsigned seed) {
        char why[1024];

        srandom(seed);
        for (unsigned s = 0; s < steps; s++) {
                const Op *o = &ops[random() % n_ops];
                int status;

                path_ops[s] = o;
                path_cut[s] = 0;
                note_truth(o);
                if (random() % 4 == 0) {
                        /* Count the durable points of this operation in a throw-away child, on a
                         * copy of nothing: the files are restored right after. */
                        Snapshot snap;
                        int pipefd[2], n = 0;
                        pid_t pid;

                        if (model_snapshot_take(model.state, &snap) < 0 || pipe(pipefd) < 0)
                                return 2;
                        pid = fork();
                        if (pid == 0) {
                                events = 0;
                                counting = true;
                                (void) apply(o);
                                (void) !write(pipefd[1], &events, sizeof(events));
                                _exit(0);
                        }
                        close(pipefd[1]);
                        if (read(pipefd[0], &n, sizeof(n)) != sizeof(n))
                                n = 0;
                        close(pipefd[0]);
                        (void) waitpid(pid, &status, 0);
                        (void) model_snapshot_restore(model.state, &snap);
                        model_snapshot_free(&snap);
                        if (n > 0) {
                                int k = 1 + (int) (random() % n);

                                path_cut[s] = k;
                                cut_power(o, k);
                                shared->cuts++;
                                if (model_check(&model, why, sizeof(why)) < 0) {
                                        print_path(s + 1, why);
                                        return 1;
                                }
                                if (model_power_on(&model) < 0 && model_check(&model, why, sizeof(why)) < 0) {
                                        print_path(s + 1, why);
                                        return 1;
                                }
                                goto check;
                        }
                }
                events = 0;
                (void) apply(o); /* a failed power-on (bricked) is reported by the check */
        check:
                shared->steps++;
                if (model_check(&model, why, sizeof(why)) < 0) {
                        print_path(s + 1, why);
                        return 1;
                }
        }
        shared->sequences++;
        return 0;
}

static const Op *find_op(const char *name) {
        for (unsigned i = 0; i < n_ops; i++)
                if (streq(ops[i].name, name))
                        return &ops[i];
        return NULL;
}

/* One named sequence: "op;op@cutK;..." (K: the durable write after which the power fails).
 * The regression tests below, and MODEL_SEQ for reproducing a failure by hand. */
static int run_sequence(const char *seq) {
        _cleanup_free_ char *copy = strdup(seq);
        char *save = NULL, why[1024];
        unsigned depth = 0;

        if (!copy)
                return 2;
        for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
                char *at = strstr(item, "@cut");
                const Op *o;
                int k = 0;

                if (at) {
                        k = atoi(at + 4);
                        *at = '\0';
                }
                o = find_op(item);
                if (!o) {
                        printf("# unknown operation '%s'\n", item);
                        return 2;
                }
                path_ops[depth] = o;
                path_cut[depth] = k;
                note_truth(o);
                if (k > 0) {
                        cut_power(o, k);
                        if (model_check(&model, why, sizeof(why)) < 0) {
                                print_path(depth + 1, why);
                                return 1;
                        }
                        (void) model_power_on(&model);
                } else
                        (void) apply(o);
                depth++;
                if (getenv("MODEL_VERBOSE"))
                        printf("# after %s: booted %s\n", item, model.booted);
                if (model_check(&model, why, sizeof(why)) < 0) {
                        print_path(depth, why);
                        return 1;
                }
        }
        return 0;
}

/* Sequences that broke an invariant once (found by this model or reported in issue #10),
 * each replayed from a fresh device on every scheme. */
static const struct {
        const char *name;
        const char *seq;
} regressions[] = {
        /* issue #10, case 1: a cancelled install's half-written slot made bootable */
        { "cancelled-then-mark-good-other", "install v3 + cancel mid-stream;mark good other;reboot" },
        { "cancelled-then-mark-active-other", "install v3 + cancel mid-stream;mark active other;reboot" },
        { "cancelled-then-mark-bad-booted", "install v3 + cancel mid-stream;mark bad booted;reboot" },
        /* case 2: an install during an uncommitted trial destroys the known-good slot */
        { "install-during-trial", "install v2;reboot;install v3;reboot" },
        { "install-during-trial-power-cut", "install v2;reboot;install v3@cut3" },
        /* case 3: below the floor through Mark bad booted / Mark good of the old slot */
        { "floor-then-mark-bad-booted", "install v4-s1;reboot;health check passes (MarkGood);mark bad booted;reboot" },
        { "floor-then-mark-good-old", "install v4-s1;reboot;health check passes (MarkGood);mark good other;mark bad booted;reboot" },
        /* case 4: a child-only bundle makes its group bootable */
        { "appfs-only-bundle", "install appfs-only;reboot;health check passes (MarkGood)" },
        /* found by the model: a permanent primary that was never proven (EFI, bootcount) */
        { "mark-active-unproven", "mark active other;reboot;reboot" },
        { "mark-good-trial-before-its-boot", "install v2;mark good other;reboot" },
        /* found by the model: GRUB's spent try flag read as "already out of the chain" */
        { "grub-mark-bad-booted-after-boot", "reboot;mark bad booted" },
        { "taken-out-twice-then-activated", "install v2@cut1;install v2@cut1;reboot;mark active other" },
        /* found by the model: a trial armed for the factory A behind B's uncommitted trial */
        { "activate-during-trial", "install v2@cut102;mark active other@cut2;reboot" },
        /* found by the model: retiring below-floor groups skipped GRUB's spent try flag */
        { "grub-retire-spent-try", "install v4-s1@cut102;mark good other@cut1;health check passes (MarkGood)" },
        /* issue #13: the new install paths, each from a state where it does its work (checked
         * after the regressions: patches applied, a ranged install done, a peer's death refused) */
        { "patches-from-booted-release", "install v2;reboot;health check passes (MarkGood);install v6-patch;reboot" },
        { "patches-for-factory-image", "install v7-patch;reboot" },
        { "patches-over-ranged-socket", "install v2;reboot;health check passes (MarkGood);install v6-patch ranged;reboot" },
        { "peer-dies-then-mark-active-other", "install cdc ranged, peer dies;mark active other;reboot" },
        { "peer-dies-then-mark-good-other", "install cdc ranged, peer dies;mark good other;reboot" },
};

/* States the exhaustive part reaches only beyond its depth, where an operation does what it
 * does nowhere else: from each, every operation (the random walks' aliases too) is explored
 * ROOT_STEPS deep, the first cut after each of its durable writes; one step when MODEL_DEPTH is 2
 * or less (SANITIZE), where two would double the run. */
#define ROOT_STEPS 2
static const char *const roots[] = {
        /* The booted group runs v2 by its status record: v6-patch applies its patches, from the
         * file and through the ranged socket. */
        "install v2;reboot;health check passes (MarkGood)",
};

static int env_unsigned(const char *name, unsigned def) {
        const char *v = getenv(name);
        return v ? atoi(v) : (int) def;
}

/* Depth 4 for U-Boot (the default scheme), 3 for the others: each of those runs in about a
 * minute on one core of the CI machine; MODEL_DEPTH overrides both.  Returns 0 (passed), 1 (an
 * invariant broken) or 2 (harness error); what happened is in its "# " lines. */
int model_run_scheme(BootScheme scheme, const char *top) {
        unsigned depth = env_unsigned("MODEL_DEPTH", scheme == BOOT_SCHEME_UBOOT ? 4 : 3);
        unsigned cut_depth = env_unsigned("MODEL_CUT_DEPTH", 2);
        unsigned walks = env_unsigned("MODEL_WALKS", 50), walk_steps = env_unsigned("MODEL_WALK_STEPS", 16);
        unsigned root_steps = depth > 2 ? ROOT_STEPS : 1;
        int r = 0, status;

        fileio_durable_hook = hook;
        shared = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED || model_check_init() < 0) {
                printf("# model/%s: out of memory\n", boot_scheme_name(scheme));
                return 2;
        }

        memset(&model, 0, sizeof(model));
        n_ops = 0;
        if (model_setup(&model, scheme, top) < 0 || model_start_daemon(&model) < 0) {
                printf("# model/%s: cannot set up the device in %s\n", boot_scheme_name(scheme), model.dir);
                model_cleanup(&model);
                return 2;
        }
        make_ops();
        memset(shared, 0, sizeof(*shared));
        model_check_reset();

        {
                char why[1024];
                if (model_check(&model, why, sizeof(why)) < 0) {
                        printf("# the fresh device already breaks an invariant: %s\n", why);
                        r = 1;
                }
        }
        if (getenv("MODEL_SEQ")) {
                r = run_sequence(getenv("MODEL_SEQ"));
                depth = 0, walks = 0;
        } else {
                /* Each regression from the fresh device, in a child (the parent keeps the fresh
                 * daemon) with the files restored afterwards. */
                Snapshot fresh;

                if (model_snapshot_take(model.state, &fresh) < 0)
                        r = 2;
                for (unsigned i = 0; r == 0 && i < ELEMENTSOF(regressions); i++) {
                        pid_t pid;

                        fflush(stdout);
                        pid = fork();
                        if (pid == 0)
                                _exit(run_sequence(regressions[i].seq));
                        (void) waitpid(pid, &status, 0);
                        r = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                        if (r != 0)
                                printf("# regression %s failed\n", regressions[i].name);
                        if (model_snapshot_restore(model.state, &fresh) < 0)
                                r = 2;
                }
                model_snapshot_free(&fresh);
                /* The regressions above take each new path where it does its work: if one did
                 * not, its operation is a no-op and exploring it proves nothing. */
                if (r == 0 && (shared->patched_installs == 0 || shared->factory_patched == 0 || shared->ranged_ok == 0 ||
                               shared->peer_death_failures == 0)) {
                        printf("# a new install path did nothing: %llu installs applied patches (%llu from the factory "
                               "image's set), %llu ranged installs succeeded, %llu dead peers refused by name\n",
                               (unsigned long long) shared->patched_installs, (unsigned long long) shared->factory_patched,
                               (unsigned long long) shared->ranged_ok, (unsigned long long) shared->peer_death_failures);
                        r = 1;
                }
        }
        /* Iterative deepening: the first failure is a shortest sequence. */
        for (unsigned d = 1; r == 0 && d <= depth && d <= MAX_DEPTH; d++) {
                memset(shared->visited_left, 0, sizeof(shared->visited_left));
                r = explore(0, d, MIN(cut_depth, d));
        }
        /* From each deep root: every operation, each cut after each of its durable writes. */
        for (unsigned i = 0; r == 0 && depth > 0 && i < ELEMENTSOF(roots); i++) {
                unsigned n = 1;
                Snapshot fresh;
                pid_t pid;

                for (const char *c = roots[i]; *c; c++)
                        n += *c == ';';
                if (model_snapshot_take(model.state, &fresh) < 0) {
                        r = 2;
                        break;
                }
                fflush(stdout);
                pid = fork();
                if (pid == 0) {
                        memset(shared->visited_left, 0, sizeof(shared->visited_left));
                        explore_all = true;
                        _exit(run_sequence(roots[i]) ?: explore(n, n + root_steps, n + 1));
                }
                (void) waitpid(pid, &status, 0);
                r = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                if (model_snapshot_restore(model.state, &fresh) < 0)
                        r = 2;
                model_snapshot_free(&fresh);
        }
        for (unsigned w = 0; r == 0 && w < walks; w++) {
                Snapshot snap;
                pid_t pid;

                if (model_snapshot_take(model.state, &snap) < 0) {
                        r = 2;
                        break;
                }
                fflush(stdout);
                pid = fork();
                if (pid == 0)
                        _exit(walk_random(MIN(walk_steps, MAX_DEPTH), 0x5eed + w));
                (void) waitpid(pid, &status, 0);
                r = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                (void) model_snapshot_restore(model.state, &snap);
                model_snapshot_free(&snap);
        }

        printf("# %s: %zu regression sequences; %u operations; exhaustive to depth %u (a power cut after each durable "
               "write of every operation up to depth %u): %llu sequences, %llu distinct states, %llu revisits pruned, "
               "%llu steps, %llu power cuts; %zu deep roots each %u steps further (a cut after each durable write of the "
               "first); %u random walks of %u steps; %llu of %llu installs of v6-patch and v7-patch applied "
               "patches (%llu in all; %llu from the factory image's set, no record); %llu ranged installs done; %llu peers died, %llu installs refused for it\n",
               boot_scheme_name(scheme), ELEMENTSOF(regressions), n_ops, depth, MIN(cut_depth, depth),
               (unsigned long long) shared->sequences,
               (unsigned long long) shared->states, (unsigned long long) shared->pruned,
               (unsigned long long) shared->steps, (unsigned long long) shared->cuts, depth > 0 ? ELEMENTSOF(roots) : 0,
               root_steps, walks, MIN(walk_steps, MAX_DEPTH),
               (unsigned long long) shared->patched_installs, (unsigned long long) shared->patch_installs,
               (unsigned long long) shared->patches, (unsigned long long) shared->factory_patched,
               (unsigned long long) shared->ranged_ok,
               (unsigned long long) shared->peer_deaths, (unsigned long long) shared->peer_death_failures);
        fflush(stdout);
        model_cleanup(&model);
        return r;
}
