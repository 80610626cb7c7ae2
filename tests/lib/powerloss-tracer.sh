# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# pl_build_tracer: builds (once per source change) the fault-injection tracer used by
# tests/integration/test-powerloss.sh and installs it as $SB/bin/powerloss-tracer.
#
# Why not `strace -e inject=all:signal=KILL:when=N`: strace counts injections per syscall NAME
# and per thread ("Accounting of syscalls that are subject to injection is done per syscall
# and per tracee", strace(1)), so when=N fires at the first syscall name that reaches its N-th
# call (for /bin/true, when=2 kills at the 7th syscall, the second mmap) and most positions
# are never hit.  This tracer counts every syscall entry of a chosen set of threads in order.
#
#   powerloss-tracer -p PID [-r main|worker|all] [-k K] [-o LOG] [-R FD]
#     Attaches (PTRACE_SEIZE) to every thread of PID and to threads created later.
#     -r ROLE  which syscall entries are counted: "main" = threads that existed when we
#              attached, "worker" = threads created after, "all" = both (default all)
#     -k K     at the entry of the K-th counted syscall: SIGKILL the whole process.  The kernel
#              skips a syscall whose entry stop ends with a fatal signal pending, so the
#              process dies with syscalls 1..K-1 done and K not started.
#     -o LOG   one line per syscall entry "ROLE K TID NAME(ARGS)" (path arguments decoded)
#              and per exit "= TID RET"
#     -R FD    writes "ready" to FD once every thread is attached (then closes it)
#     -x       with -r: detach and end once every counted thread has exited without the
#              K-th syscall (e.g. the install thread finished)
#     -s STR   count from the first syscall of ROLE whose path argument contains STR (that
#              one is number 1); earlier ones are not counted
#     -C       the process was started stopped (SIGSTOP): continue it once attached, so that
#              its start-up is traced from the first syscall
#   Ends when the process is gone, or on SIGTERM/SIGINT (then it detaches and the process
#   runs on).  Last line on stdout:
#     killed ROLE K TID NAME(ARGS)      or      detached main=N worker=M
#   Exit status 0, 1 on setup errors.

_pl_tracer_src() {
        cat <<'EOF'
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall-names.h"

#define MAX_THREADS 256
enum { ROLE_MAIN, ROLE_WORKER };
static const char *role_name[] = { "main", "worker" };

typedef struct Thread {
        pid_t tid;
        int role;
        bool in_use;
} Thread;

static Thread threads[MAX_THREADS];
static pid_t pid;
static volatile sig_atomic_t stop_requested;
static FILE *logf;

static Thread *thread_find(pid_t tid) {
        for (int i = 0; i < MAX_THREADS; i++)
                if (threads[i].in_use && threads[i].tid == tid)
                        return &threads[i];
        return NULL;
}

static Thread *thread_add(pid_t tid, int role) {
        Thread *t = thread_find(tid);

        if (t)
                return t;
        for (int i = 0; i < MAX_THREADS; i++)
                if (!threads[i].in_use) {
                        threads[i] = (Thread) { .tid = tid, .role = role, .in_use = true };
                        return &threads[i];
                }
        fprintf(stderr, "powerloss-tracer: too many threads\n");
        exit(1);
}

static int n_threads(void) {
        int n = 0;
        for (int i = 0; i < MAX_THREADS; i++)
                n += threads[i].in_use;
        return n;
}

static bool role_alive(int role) {
        for (int i = 0; i < MAX_THREADS; i++)
                if (threads[i].in_use && threads[i].role == role)
                        return true;
        return false;
}

static const char *sc_name(long nr, char buf[static 32]) {
        if (nr >= 0 && (size_t) nr < sizeof(syscall_names) / sizeof(syscall_names[0]) && syscall_names[nr])
                return syscall_names[nr];
        snprintf(buf, 32, "syscall_%ld", nr);
        return buf;
}

/* A NUL-terminated string from the tracee, for path arguments. */
static void read_string(pid_t tid, uint64_t addr, char *buf, size_t size) {
        struct iovec local = { buf, size - 1 }, remote = { (void *) (uintptr_t) addr, size - 1 };
        ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

        if (n <= 0) {
                /* The range may cross into an unmapped page: retry one page-bounded read. */
                size_t in_page = 4096 - (addr & 4095);
                local.iov_len = remote.iov_len = in_page < size - 1 ? in_page : size - 1;
                n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        }
        if (n <= 0) {
                snprintf(buf, size, "?");
                return;
        }
        buf[n] = '\0';
}

static int path_arg(const char *name) {
        static const struct { const char *n; int a; } t[] = {
                { "open", 0 }, { "openat", 1 }, { "creat", 0 }, { "access", 0 }, { "faccessat", 1 },
                { "faccessat2", 1 }, { "stat", 0 }, { "lstat", 0 }, { "newfstatat", 1 }, { "statx", 1 },
                { "unlink", 0 }, { "unlinkat", 1 }, { "rename", 0 }, { "renameat", 1 }, { "renameat2", 1 },
                { "mkdir", 0 }, { "mkdirat", 1 }, { "readlink", 0 }, { "readlinkat", 1 }, { "truncate", 0 },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                if (strcmp(t[i].n, name) == 0)
                        return t[i].a;
        return -1;
}

/* The second path of rename(2)/renameat(2)/renameat2(2). */
static int path_arg2(const char *name) {
        if (strcmp(name, "rename") == 0)
                return 1;
        if (strcmp(name, "renameat") == 0 || strcmp(name, "renameat2") == 0)
                return 3;
        return -1;
}

static void describe(pid_t tid, const struct __ptrace_syscall_info *in, char *out, size_t size) {
        char nb[32], path[256], path2[256];
        const char *name = sc_name((long) in->entry.nr, nb);
        int pa = path_arg(name), pa2 = path_arg2(name);
        size_t o;

        o = (size_t) snprintf(out, size, "%s(", name);
        for (int i = 0; i < 6 && o < size; i++) {
                if (i == pa) {
                        read_string(tid, in->entry.args[i], path, sizeof(path));
                        o += (size_t) snprintf(out + o, size - o, "%s\"%s\"", i ? ", " : "", path);
                } else if (i == pa2) {
                        read_string(tid, in->entry.args[i], path2, sizeof(path2));
                        o += (size_t) snprintf(out + o, size - o, "%s\"%s\"", i ? ", " : "", path2);
                } else
                        o += (size_t) snprintf(out + o, size - o, "%s%#llx", i ? ", " : "",
                                               (unsigned long long) in->entry.args[i]);
        }
        if (o < size)
                snprintf(out + o, size - o, ")");
}

static void on_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

static void attach_all(void) {
        bool added;

        /* Threads may appear while we attach: list until no new one shows up. */
        do {
                char dir[64];
                struct dirent *de;
                DIR *d;

                added = false;
                snprintf(dir, sizeof(dir), "/proc/%d/task", (int) pid);
                d = opendir(dir);
                if (!d) {
                        fprintf(stderr, "powerloss-tracer: %s: %m\n", dir);
                        exit(1);
                }
                while ((de = readdir(d))) {
                        pid_t tid = (pid_t) atoi(de->d_name);

                        if (tid <= 0 || thread_find(tid))
                                continue;
                        if (ptrace(PTRACE_SEIZE, tid, 0, (void *) (long) (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE)) < 0) {
                                if (errno == ESRCH)
                                        continue; /* the thread ended meanwhile */
                                fprintf(stderr, "powerloss-tracer: seize %d: %m\n", (int) tid);
                                exit(1);
                        }
                        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
                                fprintf(stderr, "powerloss-tracer: interrupt %d: %m\n", (int) tid);
                                exit(1);
                        }
                        thread_add(tid, ROLE_MAIN);
                        added = true;
                }
                closedir(d);
        } while (added);
}

int main(int argc, char **argv) {
        long kill_at = 0, count[2] = { 0, 0 }, count_all = 0;
        int role_filter = -1, ready_fd = -1, opt, pending_ready;
        bool killed = false, detaching = false, exit_with_role = false, role_seen = false, cont = false;
        const char *start_at = NULL;
        char killed_what[1200] = "";
        struct sigaction sa = { .sa_handler = on_signal };

        while ((opt = getopt(argc, argv, "p:r:k:o:R:xs:C")) != -1) {
                switch (opt) {
                case 'p': pid = (pid_t) atoi(optarg); break;
                case 'r':
                        role_filter = strcmp(optarg, "main") == 0 ? ROLE_MAIN :
                                      strcmp(optarg, "worker") == 0 ? ROLE_WORKER : -1;
                        break;
                case 'k': kill_at = atol(optarg); break;
                case 'o':
                        logf = fopen(optarg, "we");
                        if (!logf) {
                                fprintf(stderr, "powerloss-tracer: %s: %m\n", optarg);
                                return 1;
                        }
                        break;
                case 'R': ready_fd = atoi(optarg); break;
                case 'x': exit_with_role = true; break;
                case 's': start_at = optarg; break;
                case 'C': cont = true; break;
                default:
                        fprintf(stderr, "usage: powerloss-tracer -p PID [-r main|worker|all] [-k K] [-o LOG] [-R FD] [-x] [-s STR] [-C]\n");
                        return 1;
                }
        }
        if (pid <= 0) {
                fprintf(stderr, "powerloss-tracer: -p PID is required\n");
                return 1;
        }
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: waitpid() returns EINTR */
        sigaction(SIGINT, &sa, NULL);

        attach_all();
        pending_ready = n_threads(); /* the interrupt stops of the threads we seized */

        for (;;) {
                struct __ptrace_syscall_info info;
                int status, sig = 0;
                Thread *t;
                pid_t tid;

                if (stop_requested && !detaching && !killed) {
                        detaching = true;
                        for (int i = 0; i < MAX_THREADS; i++)
                                if (threads[i].in_use)
                                        (void) ptrace(PTRACE_INTERRUPT, threads[i].tid, 0, 0);
                }

                tid = waitpid(-1, &status, __WALL);
                if (tid < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ECHILD)
                                break;
                        fprintf(stderr, "powerloss-tracer: waitpid: %m\n");
                        return 1;
                }
                t = thread_find(tid);
                if (WIFEXITED(status) || WIFSIGNALED(status)) {
                        if (t)
                                t->in_use = false;
                        if (n_threads() == 0)
                                break;
                        /* -x: the counted threads are all gone and the count was not reached. */
                        if (exit_with_role && !killed && role_seen && role_filter >= 0 && !role_alive(role_filter))
                                stop_requested = 1;
                        continue;
                }
                if (!WIFSTOPPED(status))
                        continue;
                if (!t)
                        /* A new thread can report before its creator's clone event. */
                        t = thread_add(tid, ROLE_WORKER);

                if (detaching) {
                        int s = WSTOPSIG(status);
                        /* Hand a real signal on; ptrace stops of ours carry SIGTRAP/SIGSTOP. */
                        if ((status >> 16) != 0 || s == (SIGTRAP | 0x80) || s == SIGTRAP || s == SIGSTOP)
                                s = 0;
                        (void) ptrace(PTRACE_DETACH, tid, 0, (void *) (long) s);
                        t->in_use = false;
                        if (n_threads() == 0)
                                break;
                        continue;
                }

                if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
                        if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *) sizeof(info), &info) <= 0)
                                info.op = PTRACE_SYSCALL_INFO_NONE;
                        if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
                                bool counted = role_filter < 0 || role_filter == t->role;
                                long k;
                                char what[1100];

                                if (counted && start_at) {
                                        describe(tid, &info, what, sizeof(what));
                                        if (!strstr(what, start_at)) {
                                                (void) ptrace(PTRACE_SYSCALL, tid, 0, 0);
                                                continue;
                                        }
                                        start_at = NULL;
                                }

                                if (t->role == role_filter)
                                        role_seen = true;
                                count[t->role]++;
                                count_all++;
                                k = role_filter < 0 ? count_all : count[t->role];
                                if (logf || (counted && k == kill_at))
                                        describe(tid, &info, what, sizeof(what));
                                if (logf)
                                        fprintf(logf, "%s %ld %d %s\n", role_name[t->role], count[t->role], (int) tid, what);
                                if (counted && k == kill_at && !killed) {
                                        snprintf(killed_what, sizeof(killed_what), "killed %s %ld %d %s",
                                                 role_filter < 0 ? "all" : role_name[t->role], k, (int) tid, what);
                                        if (logf) {
                                                fprintf(logf, "%s\n", killed_what);
                                                fflush(logf);
                                        }
                                        killed = true;
                                        (void) kill(pid, SIGKILL);
                                }
                        } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && logf)
                                fprintf(logf, "= %d %lld\n", (int) tid, (long long) info.exit.rval);
                } else if ((status >> 16) == PTRACE_EVENT_CLONE) {
                        unsigned long child;
                        if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0)
                                thread_add((pid_t) child, ROLE_WORKER);
                } else if ((status >> 16) == PTRACE_EVENT_STOP) {
                        /* Our interrupt after the seize, a new thread's first stop, or a
                         * group stop (none expected in the daemon). */
                        if (pending_ready > 0 && --pending_ready == 0) {
                                if (cont)
                                        (void) kill(pid, SIGCONT);
                                if (ready_fd >= 0) {
                                        (void) !write(ready_fd, "ready\n", 6);
                                        close(ready_fd);
                                        ready_fd = -1;
                                }
                        }
                } else if ((status >> 16) == 0)
                        sig = WSTOPSIG(status); /* signal-delivery stop: deliver it */

                (void) ptrace(PTRACE_SYSCALL, tid, 0, (void *) (long) sig);
        }

        if (logf)
                fclose(logf);
        if (killed)
                printf("%s\n", killed_what);
        else
                printf("detached main=%ld worker=%ld\n", count[ROLE_MAIN], count[ROLE_WORKER]);
        return 0;
}
EOF
}

# Builds the tracer into $UPDATE1_BUILD/test-helpers (cached by source hash) and copies it
# to $SB/bin/powerloss-tracer.
pl_build_tracer() {
        local dir=$UPDATE1_BUILD/test-helpers hash tmp
        mkdir -p "$dir" || return 1
        hash=$(_pl_tracer_src | sha256sum | cut -c1-16)
        if [ ! -x "$dir/powerloss-tracer-$hash" ]; then
                tmp=$(mktemp -d "$dir/powerloss-tracer.XXXXXX") || return 1
                _pl_tracer_src >"$tmp/powerloss-tracer.c" || return 1
                # Syscall names from the C library's headers: "[N] = "name"," per __NR_name.
                { echo 'static const char *const syscall_names[] = {'
                  printf '#include <sys/syscall.h>\n' | cc -dM -E - |
                          sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$/[\2] = "\1",/p'
                  echo '};'; } >"$tmp/syscall-names.h" || return 1
                cc -O1 -Wall -I"$tmp" -o "$tmp/powerloss-tracer" "$tmp/powerloss-tracer.c" || { rm -rf "$tmp"; return 1; }
                mv "$tmp/powerloss-tracer" "$dir/powerloss-tracer-$hash"
                rm -rf "$tmp"
        fi
        cp "$dir/powerloss-tracer-$hash" "$SB/bin/powerloss-tracer" && chmod 0755 "$SB/bin/powerloss-tracer"
}
