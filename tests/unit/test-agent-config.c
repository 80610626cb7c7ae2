/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The update-agent's configuration (client/update-agent/update-agent-config.c): a full valid
 * file and the defaults; every invalid key or value is one error line "PATH:LINE: ..." naming
 * the key; the checks across keys ("PATH: ..."); token files and their rotation; durations;
 * hook lookup; the dump keeps the token secret. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "unit.h"
#include "update-agent-config-dump.h"
#include "update-agent-config.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(AgentConfig *, agent_config_free);

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];
static char captured[16384];

static void write_file(const char *path, const char *text, mode_t mode) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) < 0) {
                perror(path);
                exit(2);
        }
}

static char *tmp(const char *name) {
        return strdup_printf("%s/%s", tmpdir, name);
}

/* Runs fn with fd (1 or 2) captured into 'captured'. */
static int capture(int fd, int (*fn)(void *), void *userdata) {
        _cleanup_free_ char *path = tmp("captured.log");
        int saved, f, r;
        ssize_t n;

        fflush(NULL);
        saved = dup(fd);
        f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        dup2(f, fd);
        close(f);
        r = fn(userdata);
        fflush(NULL);
        dup2(saved, fd);
        close(saved);
        f = open(path, O_RDONLY | O_CLOEXEC);
        n = read(f, captured, sizeof(captured) - 1);
        close(f);
        captured[n > 0 ? n : 0] = '\0';
        return r;
}

static int do_load(void *userdata) {
        return agent_config_load(conf_path, userdata);
}

/* agent_config_load() of 'text' with stderr in 'captured'. */
static int load_text(const char *text, AgentConfig **ret) {
        write_file(conf_path, text, 0644);
        return capture(STDERR_FILENO, do_load, ret);
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* The error must be one line, "PATH:LINE: ..." (LINE 0: "PATH: ..."), containing 'what'. */
static void expect_error_at(const char *text, unsigned line, const char *what) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;
        char prefix[PATH_MAX + 64];
        int r;

        r = load_text(text, &c);
        CHECK(r < 0);
        CHECK(c == NULL);
        if (line > 0)
                snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
        else
                snprintf(prefix, sizeof(prefix), "%s: ", conf_path);
        if (!strneq(captured, prefix, strlen(prefix)) || !strstr(captured, what) || count_lines(captured) != 1) {
                unit_diag("expected one line starting with '%s' containing '%s', got: %s", prefix, what, captured);
                unit_case_failures++;
        }
}

/* Lines 1-4; what a test appends starts at line 5. */
#define BASE "[server]\nurl=https://hawkbit.example.com\ntarget-token=s3cr3t-token\ncontroller-id=dev-1\n"

/* 'section' (a header line) + 'line' appended to BASE: the error is on line 6 and names 'what'. */
static void expect_bad(const char *section, const char *line, const char *what) {
        _cleanup_free_ char *text = strdup_printf(BASE "%s\n%s\n", section, line);

        expect_error_at(text, 6, what);
}

TEST(minimal_and_defaults) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;

        CHECK_EQ(load_text(BASE, &c), 0);
        CHECK_STREQ(captured, "");
        if (!c)
                return;
        CHECK_STREQ(c->path, conf_path);
        CHECK_STREQ(c->url, "https://hawkbit.example.com");
        CHECK_STREQ(c->tenant, "DEFAULT");
        CHECK_STREQ(c->controller_id, "dev-1");
        CHECK_EQ(c->auth, AGENT_AUTH_TARGET_TOKEN);
        CHECK_STREQ(c->token, "s3cr3t-token");
        CHECK(c->token_file == NULL && c->client_cert == NULL && c->ca_file == NULL && c->proxy == NULL);
        CHECK(!c->insecure);
        CHECK(c->connect_timeout_usec == 30 * USEC_PER_SEC);
        CHECK(c->request_timeout_usec == 60 * USEC_PER_SEC);
        CHECK(c->poll_min_usec == 30 * USEC_PER_SEC);
        CHECK(c->poll_max_usec == 86400 * USEC_PER_SEC);
        CHECK(c->poll_active_usec == 15 * USEC_PER_SEC);
        CHECK(c->poll_error_usec == 10 * USEC_PER_SEC);
        CHECK(!c->to_disk);
        CHECK_STREQ(c->artifact_pattern, "*.bundle *.raucb");
        CHECK(c->max_bundle_size == UINT64_C(8) << 30);
        CHECK(c->max_speed == 0);
        CHECK(c->low_speed_limit == 1024);
        CHECK(c->low_speed_time_sec == 60);
        CHECK_EQ(c->retries, 10);
        CHECK(c->retry_base_usec == USEC_PER_SEC);
        CHECK(c->retry_max_usec == 64 * USEC_PER_SEC);
        for (int h = 0; h < _AGENT_HOOK_MAX; h++)
                CHECK(c->hooks[h] == NULL);
        /* The default hook directory only if it exists on this machine. */
        if (access(AGENT_DEFAULT_HOOK_DIR, F_OK) == 0)
                CHECK_STREQ(c->hook_dir, AGENT_DEFAULT_HOOK_DIR);
        else
                CHECK(c->hook_dir == NULL);
        CHECK(c->hook_retry_interval_usec == 60 * USEC_PER_SEC);
        CHECK_EQ(c->hook_max_retries, 60);
        CHECK(c->hook_timeout_usec == 600 * USEC_PER_SEC);
        CHECK(!c->install_hook_replaces);
        CHECK_STREQ(c->state_dir, AGENT_DEFAULT_STATE_DIR);
        CHECK_EQ(c->reboot, AGENT_REBOOT_UPDATED);
        CHECK(c->progress_interval_usec == 10 * USEC_PER_SEC);
        CHECK_EQ(c->max_install_attempts, 3);
}

TEST(full) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;
        _cleanup_free_ char *hook = tmp("install-hook"), *hooks = tmp("hooks.d"), *token = tmp("token"),
                            *idfile = tmp("controller-id"), *text = NULL;

        write_file(hook, "#!/bin/sh\nexit 0\n", 0755);
        (void) mkdir(hooks, 0755);
        write_file(token, "\n  gw-token-1 \nsecond line ignored\n", 0600);
        write_file(idfile, " board-0042\n", 0644);
        text = strdup_printf(
                "# comment\n"
                "[server]\n"
                "url = https://hawkbit.example.com:8443/prefix//\n"
                "tenant=ACME\n"
                "controller-id-file=%s\n"
                "gateway-token-file=%s\n"
                "client-cert=/etc/ssl/dev.crt\n"
                "client-key=/etc/ssl/dev.key\n"
                "ca-file=/etc/ssl/ca.pem\n"
                "proxy=http://proxy:3128\n"
                "connect-timeout=500ms\n"
                "request-timeout=2min\n"
                "[polling]\n"
                "min-interval=1s\n"
                "max-interval=2h\n"
                "active-interval=5s\n"
                "error-interval=100ms\n"
                "[download]\n"
                "mode=disk\n"
                "artifact=*.raucb\n"
                "max-bundle-size=2G\n"
                "max-speed=512K\n"
                "low-speed-limit=1K\n"
                "low-speed-time=30s\n"
                "retries=0\n"
                "retry-base-delay=1ms\n"
                "retry-max-delay=1d\n"
                "[hooks]\n"
                "install=%s\n"
                "directory=%s\n"
                "retry-interval=30s\n"
                "max-retries=100000\n"
                "timeout=1h\n"
                "install-replaces=yes\n"
                "[agent]\n"
                "state-directory=/var/lib/x\n"
                "reboot=logind\n"
                "progress-interval=0\n"
                "max-install-attempts=100\n",
                idfile, token, hook, hooks);

        CHECK_EQ(load_text(text, &c), 0);
        CHECK_STREQ(captured, "");
        if (!c)
                return;
        CHECK_STREQ(c->url, "https://hawkbit.example.com:8443/prefix"); /* trailing '/' dropped */
        CHECK_STREQ(c->tenant, "ACME");
        CHECK_STREQ(c->controller_id, "board-0042");
        CHECK_EQ(c->auth, AGENT_AUTH_GATEWAY_TOKEN);
        CHECK_STREQ(c->token, "gw-token-1");
        CHECK_STREQ(c->token_file, token);
        CHECK_STREQ(c->client_cert, "/etc/ssl/dev.crt");
        CHECK_STREQ(c->client_key, "/etc/ssl/dev.key");
        CHECK_STREQ(c->ca_file, "/etc/ssl/ca.pem");
        CHECK_STREQ(c->proxy, "http://proxy:3128");
        CHECK(c->connect_timeout_usec == 500 * USEC_PER_MSEC);
        CHECK(c->request_timeout_usec == 120 * USEC_PER_SEC);
        CHECK(c->poll_min_usec == USEC_PER_SEC);
        CHECK(c->poll_max_usec == 7200 * USEC_PER_SEC);
        CHECK(c->poll_active_usec == 5 * USEC_PER_SEC);
        CHECK(c->poll_error_usec == 100 * USEC_PER_MSEC);
        CHECK(c->to_disk);
        CHECK_STREQ(c->artifact_pattern, "*.raucb");
        CHECK(c->max_bundle_size == UINT64_C(2) << 30);
        CHECK(c->max_speed == 512 * 1024);
        CHECK(c->low_speed_limit == 1024);
        CHECK(c->low_speed_time_sec == 30);
        CHECK_EQ(c->retries, 0);
        CHECK(c->retry_base_usec == USEC_PER_MSEC);
        CHECK(c->retry_max_usec == 86400 * USEC_PER_SEC);
        CHECK_STREQ(c->hooks[AGENT_HOOK_INSTALL], hook);
        CHECK(c->hooks[AGENT_HOOK_VERSION] == NULL);
        CHECK_STREQ(c->hook_dir, hooks);
        CHECK(c->hook_retry_interval_usec == 30 * USEC_PER_SEC);
        CHECK_EQ(c->hook_max_retries, 100000);
        CHECK(c->hook_timeout_usec == 3600 * USEC_PER_SEC);
        CHECK(c->install_hook_replaces);
        CHECK_STREQ(c->state_dir, "/var/lib/x");
        CHECK_EQ(c->reboot, AGENT_REBOOT_LOGIND);
        CHECK(c->progress_interval_usec == 0);
        CHECK_EQ(c->max_install_attempts, 100);
}

TEST(auth_modes) {
        {
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                CHECK_EQ(load_text("[server]\nurl=https://h\ngateway-token=g\ncontroller-id=x\n", &c), 0);
                CHECK(c && c->auth == AGENT_AUTH_GATEWAY_TOKEN && streq(c->token, "g"));
        }
        {
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                CHECK_EQ(load_text("[server]\nurl=https://h\nclient-cert=/c\nclient-key=/k\ncontroller-id=x\n", &c), 0);
                CHECK(c && c->auth == AGENT_AUTH_NONE && !c->token);
        }
        {
                /* Empty values unset: the last one counts. */
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                CHECK_EQ(load_text("[server]\nurl=https://h\ngateway-token=g\ngateway-token=\ntarget-token=t\n"
                                   "controller-id=x\n", &c),
                         0);
                CHECK(c && c->auth == AGENT_AUTH_TARGET_TOKEN && streq(c->token, "t"));
        }
        {
                /* No controller-id: the host name. */
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                char host[256] = "";

                CHECK_EQ(load_text("[server]\nurl=http://h\ntarget-token=t\n", &c), 0);
                CHECK(gethostname(host, sizeof(host) - 1) == 0);
                if (c)
                        CHECK_STREQ(c->controller_id, host);
        }
}

TEST(server_errors) {
        expect_bad("[server]", "url=ftp://h", "url=ftp://h: must start with https:// or http://");
        expect_bad("[server]", "url=hawkbit.example.com", "url=hawkbit.example.com: must start with");
        expect_bad("[server]", "url=https://h/a b", "url=https://h/a b: contains a blank, quote or backslash");
        expect_bad("[server]", "url=https:////", "url=https:////: names no server");
        expect_bad("[server]", "url=http:///x", "url=http:///x: names no server");
        expect_bad("[server]", "url=https://h/\"x", "url=https://h/\"x: contains");
        expect_bad("[server]", "url=https://h\\x", "contains a blank, quote or backslash");
        expect_bad("[server]", "tenant=a/b", "tenant=a/b: not a valid tenant name");
        expect_bad("[server]", "tenant=a?b", "tenant=a?b: not a valid tenant name");
        expect_bad("[server]", "tenant=", "tenant=: not a valid tenant name");
        expect_bad("[server]", "tenant=AC ME", "tenant=AC ME: not a valid tenant name");
        expect_bad("[server]", "tenant=.hidden", "tenant=.hidden");
        expect_bad("[server]", "controller-id=a b", "controller-id=a b: only printable characters");
        expect_bad("[server]", "controller-id=a%20", "controller-id=a%20");
        expect_bad("[server]", "controller-id=a/b", "controller-id=a/b");
        expect_bad("[server]", "controller-id-file=id.txt", "controller-id-file=id.txt: must be an absolute path");
        expect_bad("[server]", "target-token-file=t", "target-token-file=t: must be an absolute path");
        expect_bad("[server]", "gateway-token-file=t", "gateway-token-file=t: must be an absolute path");
        expect_bad("[server]", "client-cert=c.pem", "client-cert=c.pem: must be an absolute path");
        expect_bad("[server]", "client-key=k.pem", "client-key=k.pem: must be an absolute path");
        expect_bad("[server]", "ca-file=ca.pem", "ca-file=ca.pem: must be an absolute path");
        expect_bad("[server]", "insecure=maybe", "insecure=maybe: not a boolean (yes/no)");
        expect_bad("[server]", "connect-timeout=soon", "connect-timeout=soon: not a duration");
        expect_bad("[server]", "connect-timeout=99ms", "connect-timeout=99ms: must be between 100 ms and 600 s");
        expect_bad("[server]", "connect-timeout=601", "connect-timeout=601: must be between");
        expect_bad("[server]", "request-timeout=2h", "request-timeout=2h: must be between 100 ms and 3600 s");
        expect_bad("[server]", "request-timeout=-1", "request-timeout=-1: not a duration");
        expect_bad("[server]", "request-timeout=99999999999999999999", "request-timeout=99999999999999999999");
        expect_bad("[server]", "colour=blue", "unknown key colour= in [server]");
}

TEST(polling_download_errors) {
        expect_bad("[polling]", "min-interval=10ms", "min-interval=10ms: must be between 50 ms and 86400 s");
        expect_bad("[polling]", "max-interval=8d", "max-interval=8d: must be between 50 ms and 604800 s");
        expect_bad("[polling]", "active-interval=5 s", "active-interval=5 s: not a duration");
        expect_bad("[polling]", "error-interval=2d", "error-interval=2d: must be between");
        expect_bad("[polling]", "sleep=1", "unknown key sleep= in [polling]");
        expect_bad("[download]", "mode=fast", "mode=fast: must be stream or disk");
        expect_bad("[download]", "artifact=", "artifact= must not be empty");
        expect_bad("[download]", "artifact= \t ", "artifact= must not be empty");
        expect_bad("[download]", "artifact=1 2 3 4 5 6 7 8 9", "artifact=: more than 8 patterns");
        {
                char long_pattern[300];

                memset(long_pattern, 'x', sizeof(long_pattern) - 1);
                long_pattern[sizeof(long_pattern) - 1] = 0;
                memcpy(long_pattern, "artifact=*.bundle ", strlen("artifact=*.bundle "));
                expect_bad("[download]", long_pattern, "artifact=: a pattern is longer than 255 bytes");
        }
        expect_bad("[download]", "max-bundle-size=lots", "max-bundle-size=lots: not a size");
        expect_bad("[download]", "max-speed=-1", "max-speed=-1: not a size");
        expect_bad("[download]", "max-speed=99999999T", "max-speed=99999999T: not a size");
        expect_bad("[download]", "low-speed-limit=1KB/s", "low-speed-limit=1KB/s: not a size");
        expect_bad("[download]", "low-speed-time=500ms", "low-speed-time=500ms: must be between 1000 ms and 3600 s");
        expect_bad("[download]", "retries=1001", "retries=1001: must be a number from 0 to 1000");
        expect_bad("[download]", "retries=-1", "retries=-1: must be a number from 0 to 1000");
        expect_bad("[download]", "retries= 5x", "retries=5x");
        expect_bad("[download]", "retry-base-delay=0", "retry-base-delay=0: must be between 1 ms and 3600 s");
        expect_bad("[download]", "retry-max-delay=2d", "retry-max-delay=2d: must be between 1 ms and 86400 s");
        expect_bad("[download]", "resume=yes", "unknown key resume= in [download]");
}

TEST(hooks_agent_errors) {
        static const char *const hooks[] = { "version", "download", "install", "restart", "ready" };

        for (size_t i = 0; i < ELEMENTSOF(hooks); i++) {
                _cleanup_free_ char *line = strdup_printf("%s=hook.sh", hooks[i]),
                                    *what = strdup_printf("%s=hook.sh: must be an absolute path", hooks[i]);
                expect_bad("[hooks]", line, what);
        }
        expect_bad("[hooks]", "directory=hooks.d", "directory=hooks.d: must be an absolute path");
        expect_bad("[hooks]", "retry-interval=never", "retry-interval=never: not a duration");
        expect_bad("[hooks]", "max-retries=100001", "max-retries=100001: must be a number from 0 to 100000");
        expect_bad("[hooks]", "timeout=50ms", "timeout=50ms: must be between 100 ms and 86400 s");
        expect_bad("[hooks]", "install-replaces=2", "install-replaces=2: not a boolean");
        expect_bad("[hooks]", "shell=/bin/sh", "unknown key shell= in [hooks]");
        expect_bad("[agent]", "state-directory=", "state-directory= must not be empty");
        expect_bad("[agent]", "state-directory=var/lib", "state-directory=var/lib: must be an absolute path");
        expect_bad("[agent]", "reboot=now", "reboot=now: must be updated, logind or none");
        expect_bad("[agent]", "progress-interval=2d", "progress-interval=2d: must be between 0 ms and 86400 s");
        expect_bad("[agent]", "max-install-attempts=101", "max-install-attempts=101: must be a number from 0 to 100");
        expect_bad("[agent]", "user=nobody", "unknown key user= in [agent]");
}

TEST(syntax_errors) {
        expect_error_at("url=https://h\n[server]\n", 1, "url= outside of a section");
        expect_error_at(BASE "[Server]\nx=1\n", 6, "unknown section [Server]");
        expect_error_at(BASE "[foo]\n\n# c\nx=1\n", 8, "unknown section [foo]");
        expect_error_at(BASE "this is not ini\n", 5, "malformed line (expected [section] or key=value)");
        expect_error_at(BASE "[agent\n", 5, "malformed line");
        expect_error_at(BASE "=x\n", 5, "malformed line");
        /* A NUL byte would hide the rest of the file: not a text file. */
        {
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                static const char text[] = BASE "x\0[agent]\nreboot=none\n";
                FILE *f = fopen(conf_path, "we");

                CHECK(f && fwrite(text, 1, sizeof(text) - 1, f) == sizeof(text) - 1);
                if (f)
                        fclose(f);
                CHECK(capture(STDERR_FILENO, do_load, &c) < 0);
                CHECK(c == NULL);
                CHECK(strneq(captured, conf_path, strlen(conf_path)));
                CHECK_EQ(count_lines(captured), 1);
        }
        /* Not there at all: the path and why. */
        {
                _cleanup_(agent_config_freep) AgentConfig *c = NULL;
                _cleanup_free_ char *want = NULL;
                char saved[PATH_MAX + 32];

                snprintf(saved, sizeof(saved), "%s", conf_path);
                snprintf(conf_path, sizeof(conf_path), "%s/missing.conf", tmpdir);
                CHECK_EQ(capture(STDERR_FILENO, do_load, &c), -ENOENT);
                CHECK(c == NULL);
                want = strdup_printf("%s: %s\n", conf_path, strerror(ENOENT));
                CHECK_STREQ(captured, want);
                snprintf(conf_path, sizeof(conf_path), "%s", saved);
        }
}

/* Checks across keys: no line number. */
/* Upparat's file: recognised by [broker], its defaults, its spellings, its refusals. */
TEST(upparat_file) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL, *t = NULL;
        _cleanup_free_ char *ca = tmp("ca.pem"), *tls = NULL, *half = NULL;
        char host[256] = "";

        write_file(ca, "x\n", 0644);
        CHECK_EQ(load_text("[service]\nsentry_dsn = https://k@sentry.example/1\nsentry = x\nlog_level = INFO\n"
                           "download_location = /var/tmp\n[broker]\nhost = iot.example.com\n"
                           "[hooks]\nretry_interval = 7\nmax_retries = 4\n",
                           &c),
                 0);
        if (c) {
                CHECK_EQ(c->protocol, AGENT_PROTOCOL_AWS_IOT_JOBS);
                CHECK(c->upparat_file);
                CHECK_STREQ(c->broker_host, "iot.example.com");
                CHECK_EQ(c->broker_port, 1883u);        /* no certificates */
                CHECK_STREQ(c->mqtt_client_id, "upparat");
                (void) gethostname(host, sizeof(host) - 1);
                CHECK_STREQ(c->thing_name, host);
                CHECK_STREQ(c->download_location, "/var/tmp");
                CHECK(c->hook_retry_interval_usec == 7 * USEC_PER_SEC);
                CHECK_EQ(c->hook_max_retries, 4u);
                CHECK(c->to_disk);                      /* Upparat downloads, then installs */
                CHECK(c->url == NULL);
        }
        tls = strdup_printf("[broker]\ncafile=%s\ncertfile=%s\nkeyfile=%s\nthing_name=t-1:x_y\n"
                            "[download]\nmode=stream\n", ca, ca, ca);
        CHECK_EQ(load_text(tls, &t), 0);
        if (t) {
                CHECK_EQ(t->broker_port, 8883u);        /* certificates */
                CHECK_STREQ(t->thing_name, "t-1:x_y");
                CHECK(!t->to_disk);                     /* mode= given: kept */
        }
        half = strdup_printf("[broker]\ncafile=%s\n", ca);
        expect_error_at(half, 0, "cafile=, certfile= and keyfile= go together");
        expect_error_at("[broker]\nport=0\n", 2, "port=0: must be a TCP port");
        expect_error_at("[broker]\nthing_name=a/b\n", 2, "thing_name=a/b: AWS IoT thing names");
        expect_error_at("[broker]\ncafile=/nonexistent/ca\n", 2, "cafile=/nonexistent/ca: cannot be read");
        expect_error_at("[broker]\nbogus=1\n", 2, "unknown key bogus= in [broker]");
        expect_error_at("[server]\nurl=https://h\n[broker]\nhost=x\n", 0, "[server] url= is for hawkBit");
        expect_error_at("[server]\nprotocol=mqtt\n", 2, "protocol=mqtt: unknown server protocol");
}

TEST(finish_errors) {
        _cleanup_free_ char *bad_token = tmp("bad-token"), *empty = tmp("empty"), *noexec = tmp("noexec"),
                            *bad_id = tmp("bad-id"), *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *t5 = NULL,
                            *t6 = NULL;

        write_file(bad_token, "tok en\n", 0600);
        write_file(empty, "\n\n", 0600);
        write_file(noexec, "#!/bin/sh\n", 0644);
        write_file(bad_id, "dev 1\n", 0644);

        expect_error_at("[server]\ntarget-token=t\n", 0, "[server] url= is required");
        expect_error_at("[agent]\nreboot=none\n", 0, "[server] url= is required");
        expect_error_at("[server]\nurl=https://h\ncontroller-id=x\n", 0,
                        "no authentication: set target-token(-file)=, gateway-token(-file)= or client-cert= + client-key=");
        expect_error_at("[server]\nurl=https://h\ntarget-token=a\ngateway-token=b\n", 0,
                        "set only one of target-token, target-token-file, gateway-token, gateway-token-file");
        expect_error_at("[server]\nurl=https://h\ntarget-token=a\nclient-cert=/c\n", 0,
                        "client-cert= and client-key= go together");
        expect_error_at("[server]\nurl=https://h\ntarget-token=a\x01z\ncontroller-id=x\n", 0,
                        "the token contains blanks or control characters");
        t1 = strdup_printf("[server]\nurl=https://h\ntarget-token-file=%s\ncontroller-id=x\n", bad_token);
        expect_error_at(t1, 0, "it contains blanks or control characters");
        t2 = strdup_printf("[server]\nurl=https://h\ntarget-token-file=%s/none\ncontroller-id=x\n", tmpdir);
        expect_error_at(t2, 0, "cannot read a token from");
        t3 = strdup_printf("[server]\nurl=https://h\ngateway-token-file=%s\ncontroller-id=x\n", empty);
        expect_error_at(t3, 0, "cannot read a token from");
        expect_error_at(BASE "insecure=yes\nurl=http://h\n", 0, "insecure=yes makes no sense with an http:// url");
        expect_error_at(BASE "ca-file=/ca\nurl=http://h\n", 0, "client-cert=/ca-file= need an https:// url");
        t4 = strdup_printf("[server]\nurl=https://h\ntarget-token=t\ncontroller-id-file=%s\n", bad_id);
        expect_error_at(t4, 0, "the controller id 'dev 1' has characters not allowed in a URL path");
        t5 = strdup_printf("[server]\nurl=https://h\ntarget-token=t\ncontroller-id-file=%s\n", empty);
        expect_error_at(t5, 0, "cannot read the controller id from");
        expect_error_at(BASE "[polling]\nmin-interval=2h\nmax-interval=1h\n", 0,
                        "[polling] min-interval= is larger than max-interval=");
        expect_error_at(BASE "[download]\nretry-base-delay=2min\nretry-max-delay=1min\n", 0,
                        "[download] retry-base-delay= is larger than retry-max-delay=");
        t6 = strdup_printf(BASE "[hooks]\nready=%s\n", noexec);
        expect_error_at(t6, 0, "ready hook");
        expect_error_at(t6, 0, "is not executable");
        expect_error_at(BASE "[download]\nmode=disk\n[hooks]\ninstall-replaces=yes\ndirectory=\n", 0,
                        "install-replaces=yes without an install hook");
        {
                _cleanup_free_ char *hook = tmp("install-hook2"), *text = NULL;

                write_file(hook, "#!/bin/sh\n", 0755);
                text = strdup_printf(BASE "[hooks]\ninstall=%s\ninstall-replaces=yes\n", hook);
                expect_error_at(text, 0, "install-replaces=yes needs [download] mode=disk");
        }
}

/* [attributes]: any key, in order; the agent's own names, duplicates, overlong and control
 * characters refused with the line; at most AGENT_ATTRIBUTES_MAX. */
TEST(attributes) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;
        _cleanup_free_ char *many = NULL, *longkey = NULL, *text = NULL;

        CHECK_EQ(load_text(BASE "[attributes]\nsite=berlin-3\nhardware revision=C\nempty=\n", &c), 0);
        if (c) {
                CHECK_EQ(c->n_attributes, 3);
                CHECK_STREQ(c->attributes[0], "site");
                CHECK_STREQ(c->attributes[1], "berlin-3");
                CHECK_STREQ(c->attributes[2], "hardware revision");
                CHECK_STREQ(c->attributes[5], "");
                CHECK(c->attributes[6] == NULL);
        }
        expect_error_at(BASE "[attributes]\ncompatible=x\n", 6, "attribute compatible: the agent sends this attribute itself");
        expect_error_at(BASE "[attributes]\nlast_boot=x\n", 6, "the agent sends this attribute itself");
        expect_error_at(BASE "[attributes]\na=1\na=2\n", 7, "attribute a is set twice");
        longkey = calloc(1, AGENT_ATTRIBUTE_LEN_MAX + 2);
        if (longkey) {
                memset(longkey, 'k', AGENT_ATTRIBUTE_LEN_MAX + 1);
                text = strdup_printf(BASE "[attributes]\n%s=1\n", longkey);
                expect_error_at(text, 6, "longer than hawkBit's 128 characters");
        }
        many = strdup(BASE "[attributes]\n");
        for (int i = 0; many && i <= AGENT_ATTRIBUTES_MAX; i++) {
                char *m = strdup_printf("%sk%d=v\n", many, i);
                free(many);
                many = m;
        }
        if (many)
                expect_error_at(many, 5 + AGENT_ATTRIBUTES_MAX + 1, "more than 90 attributes");
        CHECK(agent_attribute_invalid("x", "a\tb") != NULL);
        CHECK(agent_attribute_invalid("x", "a b") == NULL);
        CHECK(agent_attribute_reserved("booted_slot"));
        CHECK(!agent_attribute_reserved("booted"));
}

TEST(token_rotation) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;
        _cleanup_free_ char *token = tmp("rotating-token"), *text = NULL;

        write_file(token, "first\n", 0600);
        text = strdup_printf("[server]\nurl=https://h\ntarget-token-file=%s\ncontroller-id=x\n", token);
        CHECK_EQ(load_text(text, &c), 0);
        if (!c)
                return;
        CHECK_STREQ(c->token, "first");
        CHECK_EQ(agent_config_reload_token(c), 0);  /* unchanged */
        write_file(token, "second\n", 0600);
        CHECK_EQ(agent_config_reload_token(c), 1);
        CHECK_STREQ(c->token, "second");
        /* A broken file keeps the token we have. */
        write_file(token, "bad token\n", 0600);
        CHECK(agent_config_reload_token(c) < 0);
        CHECK_STREQ(c->token, "second");
        CHECK_EQ(unlink(token), 0);
        CHECK(agent_config_reload_token(c) < 0);
        CHECK_STREQ(c->token, "second");
}

TEST(durations) {
        static const struct {
                const char *s;
                uint64_t usec;
        } good[] = {
                { "0", 0 },
                { "30", 30 * USEC_PER_SEC },
                { "30s", 30 * USEC_PER_SEC },
                { "30sec", 30 * USEC_PER_SEC },
                { "500ms", 500 * USEC_PER_MSEC },
                { "5min", 300 * USEC_PER_SEC },
                { "5m", 300 * USEC_PER_SEC },
                { "2h", 7200 * USEC_PER_SEC },
                { "1d", 86400 * USEC_PER_SEC },
                { "18446744073709ms", UINT64_C(18446744073709) * USEC_PER_MSEC },
        };
        static const char *const bad[] = {
                "", "s", "-1", "+1", " 1", "1 s", "1S", "1.5s", "1w", "1us", "5mins", "18446744073709552ms",
                "18446744073710s", "99999999999999999999", "1e3",
        };
        uint64_t u;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                u = 1;
                CHECK_EQ(parse_duration(good[i].s, &u), 0);
                if (u != good[i].usec)
                        unit_diag("%s: %llu", good[i].s, (unsigned long long) u);
                CHECK(u == good[i].usec);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                u = 7;
                if (parse_duration(bad[i], &u) >= 0)
                        unit_diag("'%s' accepted as %llu", bad[i], (unsigned long long) u);
                CHECK(u == 7);
        }
        CHECK_EQ(parse_duration(NULL, &u), -EINVAL);
}

TEST(hook_paths) {
        _cleanup_free_ char *dir = tmp("hookdir"), *ready = NULL, *restart = NULL, *explicit_hook = tmp("v-hook");
        AgentConfig c = {};
        char *p = NULL;

        (void) mkdir(dir, 0755);
        ready = strdup_printf("%s/ready", dir);
        restart = strdup_printf("%s/restart", dir);
        write_file(ready, "#!/bin/sh\n", 0755);
        write_file(restart, "#!/bin/sh\n", 0644);
        write_file(explicit_hook, "#!/bin/sh\n", 0755);

        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_READY, &p), 0);   /* neither a path nor a directory */
        c.hook_dir = dir;
        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_READY, &p), 1);
        CHECK_STREQ(p, ready);
        p = mfree(p);
        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_INSTALL, &p), 0); /* not in the directory: none */
        CHECK(p == NULL);
        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_RESTART, &p), -EACCES); /* there, not executable */
        CHECK(p == NULL);
        c.hooks[AGENT_HOOK_VERSION] = explicit_hook;
        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_VERSION, &p), 1);
        CHECK_STREQ(p, explicit_hook);
        p = mfree(p);
        /* An explicit hook that went away is an error, not "no hook". */
        c.hooks[AGENT_HOOK_DOWNLOAD] = (char *) "/nonexistent/update1/hook";
        CHECK_EQ(agent_hook_path(&c, AGENT_HOOK_DOWNLOAD, &p), -ENOENT);
        CHECK_STREQ(agent_hook_to_string(AGENT_HOOK_READY), "ready");
        CHECK(agent_hook_to_string(_AGENT_HOOK_MAX) == NULL);
}

static int do_dump(void *userdata) {
        agent_config_dump(userdata);
        return 0;
}

TEST(dump_hides_secrets) {
        _cleanup_(agent_config_freep) AgentConfig *c = NULL;

        CHECK_EQ(load_text(BASE "[download]\nmode=disk\nmax-speed=1M\n[agent]\nreboot=none\n", &c), 0);
        if (!c)
                return;
        capture(STDOUT_FILENO, do_dump, c);
        CHECK(strstr(captured, "url=https://hawkbit.example.com\n") != NULL);
        CHECK(strstr(captured, "auth=target-token\n") != NULL);
        CHECK(strstr(captured, "mode=disk\n") != NULL);
        CHECK(strstr(captured, "max-speed=1048576\n") != NULL);
        CHECK(strstr(captured, "reboot=none\n") != NULL);
        CHECK(strstr(captured, "connect-timeout=30s\n") != NULL);
        CHECK(strstr(captured, "s3cr3t") == NULL);
}

static void cleanup(void) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void) !system(cmd);
}

UNIT_MAIN_BEGIN("test-agent-config")
        log_set_max_level(0);   /* a failed token reload is logged */
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/update1-test-agent-config.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 2;
        }
        atexit(cleanup);
        snprintf(conf_path, sizeof(conf_path), "%s/agent.conf", tmpdir);

        RUN(minimal_and_defaults);
        RUN(full);
        RUN(auth_modes);
        RUN(server_errors);
        RUN(polling_download_errors);
        RUN(hooks_agent_errors);
        RUN(syntax_errors);
        RUN(finish_errors);
        RUN(attributes);
        RUN(token_rotation);
        RUN(durations);
        RUN(hook_paths);
        RUN(dump_hides_secrets);
        RUN(upparat_file);
UNIT_MAIN_END
