/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
/* sec-client: the attack suite's D-Bus client (an extended copy of tests/lib/bus-call.sh's
 * bus-call).  Built by tests/security/lib/seclib.sh on first use.
 *
 *   sec-client call [--no-reply] [--interface IFACE] METHOD SIG [ARG...]
 *       SIG: s (string), h (path opened read-only, "-" = stdin, "fd:N"), a{sv} ("" or
 *       "k=T:v,..." T in s b u i t), i u t b (numbers / true|false), and N*h: N separate
 *       'h' arguments, each a fresh open() of the one ARG (e.g. "200*h"); N*s: N copies of
 *       the string ARG.
 *       --no-reply: send with NO_REPLY_EXPECTED and exit at once, closing the connection
 *       (the "caller disconnects right after sending" case).
 *       Prints the reply's basic values, or "ERROR <name>: <message>" on stderr (exit 1).
 *
 *   sec-client watch-install [--path FILE | --fd FILE | --pipe FILE1 SPLIT FILE2 OFFSET2]
 *                            [--stop-pid PID] [--on-writing CMD | --on-reply CMD] [--options SPEC]
 *       Calls Install(path) / InstallFd(fd of FILE) / InstallFd(pipe) and follows the Progress
 *       and Completed signals.  --pipe feeds bytes [0, SPLIT) of FILE1, then waits until the
 *       daemon reports "Writing ..." (it verified the signature and wrote its first chunk),
 *       then feeds FILE2 from OFFSET2 to its end: the bytes after SPLIT come from another
 *       file, deterministically, without timing assumptions.
 *       On the first "Writing" Progress signal (--on-writing) or on the successful method reply
 *       (--on-reply: the manifest is verified, the payload not yet read): SIGSTOP PID (and
 *       wait until every thread is stopped), run CMD with /bin/sh, SIGCONT PID.  Without CMD
 *       the hook point is "Writing".
 *       Prints "REPLY ok" | "REPLY ERROR name: msg", "HOOK percent=N", and
 *       "COMPLETED <result> <message>"; exit 0 iff Completed reported success. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#define DEST "org.example.Update1"
#define OPATH "/org/example/Update1"
#define IFACE "org.example.Update1"

static void die(const char *what, int r) {
        fprintf(stderr, "ERROR %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

static int append_options(sd_bus_message *m, const char *spec) {
        char *copy = strdup(spec), *save = NULL, *item;
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (item = strtok_r(copy, ",", &save); r >= 0 && item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '='), *val;
                if (!eq || !eq[1] || eq[2] != ':') { fprintf(stderr, "bad option '%s'\n", item); exit(2); }
                *eq = 0; val = eq + 3;
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0) r = sd_bus_message_append_basic(m, 's', item);
                switch (eq[1]) {
                case 's': if (r >= 0) r = sd_bus_message_append(m, "v", "s", val); break;
                case 'b': if (r >= 0) r = sd_bus_message_append(m, "v", "b", (int) (strcmp(val, "true") == 0)); break;
                case 'u': if (r >= 0) r = sd_bus_message_append(m, "v", "u", (uint32_t) strtoul(val, NULL, 0)); break;
                case 'i': if (r >= 0) r = sd_bus_message_append(m, "v", "i", (int32_t) strtol(val, NULL, 0)); break;
                case 't': if (r >= 0) r = sd_bus_message_append(m, "v", "t", (uint64_t) strtoull(val, NULL, 0)); break;
                default: fprintf(stderr, "bad type in '%s'\n", item); exit(2);
                }
                if (r >= 0) r = sd_bus_message_close_container(m);
        }
        if (r >= 0) r = sd_bus_message_close_container(m);
        free(copy);
        return r;
}

static int open_fd_arg(const char *v) {
        int fd = strcmp(v, "-") == 0 ? 0 : strncmp(v, "fd:", 3) == 0 ? atoi(v + 3) : open(v, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { fprintf(stderr, "ERROR open %s: %s\n", v, strerror(errno)); exit(1); }
        return fd;
}

static void print_reply(sd_bus_message *reply) {
        for (;;) {
                char type;
                const char *contents;
                union { const char *s; int b; uint32_t u; int32_t i; uint64_t t; } v;
                int r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r <= 0) break;
                if (type == 's' || type == 'o') { sd_bus_message_read_basic(reply, type, &v.s); printf("%s\n", v.s); }
                else if (type == 'b') { sd_bus_message_read_basic(reply, type, &v.b); printf("%s\n", v.b ? "true" : "false"); }
                else if (type == 'u') { sd_bus_message_read_basic(reply, type, &v.u); printf("%" PRIu32 "\n", v.u); }
                else if (type == 'i') { sd_bus_message_read_basic(reply, type, &v.i); printf("%" PRIi32 "\n", v.i); }
                else if (type == 't') { sd_bus_message_read_basic(reply, type, &v.t); printf("%" PRIu64 "\n", v.t); }
                else { sd_bus_message_skip(reply, NULL); printf("(%c)\n", type); }
        }
}

static int do_call(int argc, char **argv) {
        const char *iface = IFACE;
        sd_bus *bus = NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        bool no_reply = false;
        const char *sig;
        int r, a = 0;

        for (;;) {
                if (a < argc && strcmp(argv[a], "--no-reply") == 0) { no_reply = true; a++; }
                else if (a + 1 < argc && strcmp(argv[a], "--interface") == 0) { iface = argv[a + 1]; a += 2; }
                else break;
        }
        if (argc - a < 2) { fprintf(stderr, "usage: sec-client call [--no-reply] METHOD SIG [ARG...]\n"); return 2; }
        r = sd_bus_open_system(&bus);
        if (r < 0) die("connect", r);
        r = sd_bus_message_new_method_call(bus, &m, DEST, OPATH, iface, argv[a]);
        sig = argv[a + 1];
        a += 2;
        for (const char *p = sig; r >= 0 && *p; p++) {
                if (*p >= '0' && *p <= '9') { /* N*h, N*s */
                        char *end;
                        long n = strtol(p, &end, 10);
                        if ((strncmp(end, "*h", 2) != 0 && strncmp(end, "*s", 2) != 0) || a >= argc) {
                                fprintf(stderr, "bad '%s'\n", p);
                                return 2;
                        }
                        for (long k = 0; r >= 0 && k < n; k++) {
                                if (end[1] == 's') {
                                        r = sd_bus_message_append_basic(m, 's', argv[a]);
                                        continue;
                                }
                                int fd = open_fd_arg(argv[a]);
                                r = sd_bus_message_append_basic(m, 'h', &fd);
                                close(fd); /* sd-bus keeps its own dup */
                        }
                        a++;
                        p = end + 1;
                        continue;
                }
                if (a >= argc) { fprintf(stderr, "missing argument for '%c'\n", *p); return 2; }
                const char *v = argv[a++];
                switch (*p) {
                case 's': r = sd_bus_message_append_basic(m, 's', v); break;
                case 'h': { int fd = open_fd_arg(v); r = sd_bus_message_append_basic(m, 'h', &fd); break; }
                case 'i': { int32_t x = (int32_t) strtol(v, NULL, 0); r = sd_bus_message_append_basic(m, 'i', &x); break; }
                case 'u': { uint32_t x = (uint32_t) strtoul(v, NULL, 0); r = sd_bus_message_append_basic(m, 'u', &x); break; }
                case 't': { uint64_t x = strtoull(v, NULL, 0); r = sd_bus_message_append_basic(m, 't', &x); break; }
                case 'b': { int x = strcmp(v, "true") == 0; r = sd_bus_message_append_basic(m, 'b', &x); break; }
                case 'a':
                        if (strncmp(p, "a{sv}", 5) != 0) { fprintf(stderr, "unsupported signature '%s'\n", sig); return 2; }
                        r = append_options(m, v);
                        p += 4;
                        break;
                default: fprintf(stderr, "unsupported signature '%s'\n", sig); return 2;
                }
        }
        if (r < 0) die("building message", r);
        if (no_reply) {
                r = sd_bus_message_set_expect_reply(m, 0);
                if (r >= 0) r = sd_bus_send(bus, m, NULL);
                if (r >= 0) r = sd_bus_flush(bus);
                if (r < 0) die("send", r);
                /* Gone before the daemon can ask the bus who we are. */
                _exit(0);
        }
        r = sd_bus_call(bus, m, 120 * 1000000ULL, &error, &reply);
        if (r < 0) {
                fprintf(stderr, "ERROR %s: %s\n", error.name ? error.name : "(none)",
                        error.message ? error.message : strerror(-r));
                return 1;
        }
        print_reply(reply);
        return 0;
}

/* ---- watch-install ---- */

static bool got_reply, reply_error, got_completed, hook_done;
static int completed_result;
static char *completed_message;
static pid_t stop_pid;
static const char *hook_cmd;
static bool hook_on_reply;
static int feeder_go = -1; /* write end: one byte releases the pipe feeder's second part */

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0) {
                        if (errno == EINTR) continue;
                        return -errno;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

static char *slurp(const char *path, size_t *ret_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;
        size_t got = 0;
        if (fd < 0 || fstat(fd, &st) < 0) { fprintf(stderr, "ERROR open %s: %s\n", path, strerror(errno)); exit(1); }
        buf = malloc((size_t) st.st_size + 1);
        while (buf && got < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);
                if (k <= 0) break;
                got += (size_t) k;
        }
        close(fd);
        *ret_size = got;
        return buf;
}

/* True once every thread of pid is in state T (stopped). */
static bool all_stopped(pid_t pid) {
        char path[64], buf[512];
        struct dirent *de;
        DIR *d;
        bool ok = true;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d) return true; /* gone */
        while ((de = readdir(d))) {
                FILE *f;
                char *p;
                if (de->d_name[0] == '.') continue;
                snprintf(buf, sizeof(buf), "%s/%s/stat", path, de->d_name);
                f = fopen(buf, "re");
                if (!f) continue;
                if (!fgets(buf, sizeof(buf), f)) buf[0] = 0;
                fclose(f);
                p = strrchr(buf, ')');
                if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't') ok = false;
        }
        closedir(d);
        return ok;
}

static void run_hook(uint32_t percent) {
        hook_done = true;
        if (stop_pid > 0) {
                struct timespec t0, t;
                if (kill(stop_pid, SIGSTOP) < 0) die("SIGSTOP", errno);
                clock_gettime(CLOCK_MONOTONIC, &t0);
                while (!all_stopped(stop_pid)) {
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        if (t.tv_sec - t0.tv_sec > 10) { fprintf(stderr, "daemon did not stop\n"); break; }
                        sched_yield();
                }
        }
        if (hook_cmd) {
                int st = system(hook_cmd);
                printf("HOOK percent=%" PRIu32 " status=%d\n", percent, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        } else
                printf("HOOK percent=%" PRIu32 " status=0\n", percent);
        fflush(stdout);
        if (feeder_go >= 0) {
                (void) write_all(feeder_go, "g", 1);
                close(feeder_go);
                feeder_go = -1;
        }
        if (stop_pid > 0)
                (void) kill(stop_pid, SIGCONT);
}

static int on_progress(sd_bus_message *m, void *userdata __attribute__((unused)), sd_bus_error *ret_error __attribute__((unused))) {
        uint32_t percent;
        const char *msg;
        if (sd_bus_message_read(m, "us", &percent, &msg) < 0)
                return 0;
        printf("PROGRESS %" PRIu32 " %s\n", percent, msg);
        fflush(stdout);
        if (!hook_done && !hook_on_reply && strncmp(msg, "Writing", 7) == 0)
                run_hook(percent);
        return 0;
}

static int on_completed(sd_bus_message *m, void *userdata __attribute__((unused)), sd_bus_error *ret_error __attribute__((unused))) {
        const char *msg;
        if (sd_bus_message_read(m, "is", &completed_result, &msg) < 0)
                return 0;
        completed_message = strdup(msg);
        got_completed = true;
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata __attribute__((unused)), sd_bus_error *ret_error __attribute__((unused))) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        got_reply = true;
        if (e) {
                reply_error = true;
                printf("REPLY ERROR %s: %s\n", e->name, e->message ?: "");
        } else {
                printf("REPLY ok\n");
                fflush(stdout);
                if (!hook_done && hook_on_reply)
                        run_hook(0);
        }
        fflush(stdout);
        return 0;
}

static int do_watch(int argc, char **argv) {
        const char *path = NULL, *fdfile = NULL, *p1 = NULL, *p2 = NULL, *options = "";
        uint64_t split = 0, off2 = 0;
        sd_bus *bus = NULL;
        sd_bus_message *m = NULL;
        pid_t feeder = 0;
        int r, fd = -1;

        for (int a = 0; a < argc; a++) {
                if (strcmp(argv[a], "--path") == 0 && a + 1 < argc) path = argv[++a];
                else if (strcmp(argv[a], "--fd") == 0 && a + 1 < argc) fdfile = argv[++a];
                else if (strcmp(argv[a], "--pipe") == 0 && a + 4 < argc) {
                        p1 = argv[++a]; split = strtoull(argv[++a], NULL, 0); p2 = argv[++a];
                        off2 = strtoull(argv[++a], NULL, 0);
                } else if (strcmp(argv[a], "--stop-pid") == 0 && a + 1 < argc) stop_pid = (pid_t) atoi(argv[++a]);
                else if (strcmp(argv[a], "--on-writing") == 0 && a + 1 < argc) hook_cmd = argv[++a];
                else if (strcmp(argv[a], "--on-reply") == 0 && a + 1 < argc) { hook_cmd = argv[++a]; hook_on_reply = true; }
                else if (strcmp(argv[a], "--options") == 0 && a + 1 < argc) options = argv[++a];
                else { fprintf(stderr, "watch-install: bad argument '%s'\n", argv[a]); return 2; }
        }
        signal(SIGPIPE, SIG_IGN);

        r = sd_bus_open_system(&bus);
        if (r < 0) die("connect", r);
        r = sd_bus_match_signal(bus, NULL, DEST, OPATH, IFACE, "Progress", on_progress, NULL);
        if (r >= 0) r = sd_bus_match_signal(bus, NULL, DEST, OPATH, IFACE, "Completed", on_completed, NULL);
        if (r < 0) die("match", r);

        if (p1) {
                int pfd[2], gfd[2];
                size_t n1, n2;
                char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
                if (split > n1 || off2 > n2) { fprintf(stderr, "split beyond the files\n"); return 2; }
                if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(gfd, O_CLOEXEC) < 0) die("pipe", errno);
                feeder = fork();
                if (feeder < 0) die("fork", errno);
                if (feeder == 0) {
                        char c;
                        close(pfd[0]);
                        close(gfd[1]);
                        if (write_all(pfd[1], b1, split) < 0) _exit(3);
                        if (read(gfd[0], &c, 1) != 1) _exit(4); /* parent gone: stop */
                        (void) write_all(pfd[1], b2 + off2, n2 - off2);
                        _exit(0);
                }
                close(pfd[1]);
                close(gfd[0]);
                feeder_go = gfd[1];
                fd = pfd[0];
        } else if (fdfile)
                fd = open_fd_arg(fdfile);

        if (path) {
                r = sd_bus_message_new_method_call(bus, &m, DEST, OPATH, IFACE, "Install");
                if (r >= 0) r = sd_bus_message_append_basic(m, 's', path);
        } else {
                r = sd_bus_message_new_method_call(bus, &m, DEST, OPATH, IFACE, "InstallFd");
                if (r >= 0) r = sd_bus_message_append_basic(m, 'h', &fd);
        }
        if (r >= 0) r = append_options(m, options);
        if (r >= 0) r = sd_bus_call_async(bus, NULL, m, on_reply, NULL, 120 * 1000000ULL);
        if (r < 0) die("call", r);
        /* The message holds a dup of the fd: drop it, or the pipe would never see EOF/EPIPE
         * from our side. */
        m = sd_bus_message_unref(m);
        if (fd >= 0) close(fd);

        while (!got_reply) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) die("process", r);
                if (r > 0) continue;
                r = sd_bus_wait(bus, 60 * 1000000ULL);
                if (r < 0) die("wait", r);
                if (r == 0) { fprintf(stderr, "ERROR timeout: no reply within 60 s\n"); return 1; }
        }
        if (reply_error) {
                /* A refusal before the install thread started (InvalidArgs, AccessDenied, Busy)
                 * has no Completed signal; one from the thread is followed by Completed in the
                 * same main-loop dispatch.  A round trip settles which: the bus keeps the
                 * daemon's messages in order, so Completed (if any) arrives before this reply. */
                sd_bus_message *pong = NULL;
                r = sd_bus_call_method(bus, DEST, OPATH, "org.freedesktop.DBus.Peer", "Ping", NULL, &pong, NULL);
                sd_bus_message_unref(pong);
                while (sd_bus_process(bus, NULL) > 0)
                        ;
        } else
                while (!got_completed) {
                        r = sd_bus_process(bus, NULL);
                        if (r < 0) die("process", r);
                        if (r > 0) continue;
                        r = sd_bus_wait(bus, 60 * 1000000ULL);
                        if (r < 0) die("wait", r);
                        if (r == 0) { fprintf(stderr, "ERROR timeout: no Completed signal within 60 s\n"); break; }
                }
        if (feeder_go >= 0) close(feeder_go); /* releases (and ends) the feeder if no hook ran */
        if (feeder > 0) {
                /* Done: the daemon closed its end, a feeder still writing is of no use. */
                (void) kill(feeder, SIGTERM);
                (void) waitpid(feeder, NULL, 0);
        }
        if (!got_completed) return 1;
        printf("COMPLETED %d %s\n", completed_result, completed_message ?: "");
        return completed_result == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
        alarm(150); /* never hang a test run */
        if (argc >= 2 && strcmp(argv[1], "call") == 0)
                return do_call(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "watch-install") == 0)
                return do_watch(argc - 2, argv + 2);
        fprintf(stderr, "usage: sec-client call|watch-install ...\n");
        return 2;
}
