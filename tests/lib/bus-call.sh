# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# sb_bus_call: a tiny sd-bus client for tests that prints the D-Bus error NAME (busctl prints
# only the message) and can pass file descriptors ('h'; busctl cannot).  Compiled on first use
# from the C below into $UPDATE1_BUILD/test-helpers/bus-call (cc + libsystemd are build deps).
#
#   bus-call METHOD SIGNATURE [ARG...]      (on org.example.Update1 /org/example/Update1)
#     s       ARG is the string
#     h       ARG is a path opened read-only, "-" for stdin, or "fd:N"
#     a{sv}   ARG is "" or "key=T:value,key=T:value" with T one of s b u i t
#   Success: each basic reply value on its own line, exit 0.
#   Error:   "ERROR <error-name>: <message>" on stderr, exit 1.

_sb_bus_call_src() {
        cat <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

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

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *sig;
        int r, a = 3;

        if (argc < 3) { fprintf(stderr, "usage: bus-call METHOD SIGNATURE [ARG...]\n"); return 2; }
        sig = argv[2];
        r = sd_bus_open_system(&bus);
        if (r < 0) { fprintf(stderr, "ERROR connect: %s\n", strerror(-r)); return 1; }
        r = sd_bus_message_new_method_call(bus, &m, "org.example.Update1", "/org/example/Update1",
                                           "org.example.Update1", argv[1]);
        for (const char *p = sig; r >= 0 && *p; p++) {
                if (a >= argc) { fprintf(stderr, "missing argument for '%c'\n", *p); return 2; }
                if (*p == 's')
                        r = sd_bus_message_append_basic(m, 's', argv[a++]);
                else if (*p == 'h') {
                        const char *v = argv[a++];
                        int fd = strcmp(v, "-") == 0 ? 0 :
                                 strncmp(v, "fd:", 3) == 0 ? atoi(v + 3) : open(v, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) { fprintf(stderr, "ERROR open %s: %s\n", v, strerror(errno)); return 1; }
                        r = sd_bus_message_append_basic(m, 'h', &fd);
                } else if (strncmp(p, "a{sv}", 5) == 0) {
                        r = append_options(m, argv[a++]);
                        p += 4;
                } else { fprintf(stderr, "unsupported signature '%s'\n", sig); return 2; }
        }
        if (r < 0) { fprintf(stderr, "ERROR building message: %s\n", strerror(-r)); return 1; }
        r = sd_bus_call(bus, m, 120 * 1000000ULL, &error, &reply);
        if (r < 0) {
                fprintf(stderr, "ERROR %s: %s\n", error.name ? error.name : "(none)",
                        error.message ? error.message : strerror(-r));
                return 1;
        }
        for (;;) {
                char type;
                const char *contents;
                union { const char *s; int b; uint32_t u; int32_t i; uint64_t t; } v;
                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r <= 0) break;
                if (type == 's' || type == 'o') { sd_bus_message_read_basic(reply, type, &v.s); printf("%s\n", v.s); }
                else if (type == 'b') { sd_bus_message_read_basic(reply, type, &v.b); printf("%s\n", v.b ? "true" : "false"); }
                else if (type == 'u') { sd_bus_message_read_basic(reply, type, &v.u); printf("%" PRIu32 "\n", v.u); }
                else if (type == 'i') { sd_bus_message_read_basic(reply, type, &v.i); printf("%" PRIi32 "\n", v.i); }
                else if (type == 't') { sd_bus_message_read_basic(reply, type, &v.t); printf("%" PRIu64 "\n", v.t); }
                else { sd_bus_message_skip(reply, NULL); printf("(%c)\n", type); }
        }
        return 0;
}
EOF
}

# Builds (once per source change) and installs bus-call into $SB/bin.
sb_build_bus_call() {
        local dir=$UPDATE1_BUILD/test-helpers hash
        mkdir -p "$dir" || return 1
        hash=$(_sb_bus_call_src | sha256sum | cut -c1-16)
        if [ ! -x "$dir/bus-call-$hash" ]; then
                _sb_bus_call_src >"$dir/bus-call.c.$$" && mv "$dir/bus-call.c.$$" "$dir/bus-call.c"
                # shellcheck disable=SC2046
                cc -O1 -Wall -o "$dir/bus-call-$hash.$$" "$dir/bus-call.c" $(pkg-config --cflags --libs libsystemd) ||
                        return 1
                mv "$dir/bus-call-$hash.$$" "$dir/bus-call-$hash"
        fi
        cp "$dir/bus-call-$hash" "$SB/bin/bus-call" && chmod 0755 "$SB/bin/bus-call"
}
