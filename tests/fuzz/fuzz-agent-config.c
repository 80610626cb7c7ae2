/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent_config_load() (client/update-agent/update-agent-config.c) on the input as agent.conf (a
 * memfd, read through its /proc/self/fd path), then agent_config_dump() of what loaded.  A
 * config that loads is one the agent starts with, so it must hold what the rest of the agent
 * relies on: an http(s) url without a trailing '/' or blanks, a tenant and controller id usable
 * in a URL path, exactly one way to authenticate, absolute paths, intervals in their bounds and
 * in order, install-replaces only with a hook and mode=disk.  The parser's messages (stderr)
 * and the dump (stdout) go to /dev/null through stdio only: a sanitizer report still reaches
 * file descriptor 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"
#include "update-agent-config-dump.h"
#include "update-agent-config.h"
#include "util.h"

#define DAY (86400 * USEC_PER_SEC)

static int memfd = -1;
static char path[64];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        memfd = memfd_create("agent.conf", MFD_CLOEXEC);
        FUZZ_ASSERT(memfd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        devnull = fopen("/dev/null", "we");
        FUZZ_ASSERT(devnull);
        return 0;
}

static bool in_range(uint64_t v, uint64_t min, uint64_t max) {
        return v >= min && v <= max;
}

static bool url_path_safe(const char *s) {
        return string_is_safe_name(s) && !strpbrk(s, "?#% ");
}

/* protocol=aws-iot-jobs (an Upparat file, update-agent-config-upparat.c): a broker to talk to,
 * a thing, and TLS all or nothing; no hawkBit URL is needed. */
static void check_aws(const AgentConfig *c) {
        int n_tls = !!c->broker_cafile + !!c->broker_certfile + !!c->broker_keyfile;

        FUZZ_ASSERT(c->broker_host && *c->broker_host);
        FUZZ_ASSERT(in_range(c->broker_port, 1, 65535));
        FUZZ_ASSERT(c->thing_name && *c->thing_name);
        FUZZ_ASSERT(c->mqtt_client_id && *c->mqtt_client_id);
        FUZZ_ASSERT(n_tls == 0 || n_tls == 3);
        FUZZ_ASSERT(c->state_dir && c->state_dir[0] == '/');
}

static void check(const AgentConfig *c) {
        size_t n;

        FUZZ_ASSERT(c->protocol < _AGENT_PROTOCOL_MAX);
        if (c->protocol == AGENT_PROTOCOL_AWS_IOT_JOBS) {
                check_aws(c);
                return;
        }
        FUZZ_ASSERT(c->url && (strneq(c->url, "https://", 8) || strneq(c->url, "http://", 7)));
        n = strlen(c->url);
        FUZZ_ASSERT(n > 0 && c->url[n - 1] != '/' && !strpbrk(c->url, " \t\"'<>\\"));
        /* The tenant may hold blanks (only "?#%" are refused), unlike the controller id. */
        FUZZ_ASSERT(c->tenant && string_is_safe_name(c->tenant) && !strpbrk(c->tenant, "?#%"));
        FUZZ_ASSERT(c->controller_id && url_path_safe(c->controller_id));
        /* Exactly one way to authenticate; a token is printable and has no blanks. */
        FUZZ_ASSERT(!!c->client_cert == !!c->client_key);
        FUZZ_ASSERT(c->auth <= AGENT_AUTH_GATEWAY_TOKEN);
        FUZZ_ASSERT((c->auth != AGENT_AUTH_NONE) == !!c->token);
        FUZZ_ASSERT(c->auth != AGENT_AUTH_NONE || c->client_cert);
        FUZZ_ASSERT(!c->token_file || c->token);
        if (c->token) {
                FUZZ_ASSERT(*c->token);
                for (const char *p = c->token; *p; p++)
                        FUZZ_ASSERT(*p > ' ' && *p < 127);
        }
        if (strneq(c->url, "http://", 7))
                FUZZ_ASSERT(!c->insecure && !c->client_cert && !c->ca_file);
        FUZZ_ASSERT(!c->client_cert || c->client_cert[0] == '/');
        FUZZ_ASSERT(!c->ca_file || c->ca_file[0] == '/');
        FUZZ_ASSERT(c->state_dir && c->state_dir[0] == '/');
        FUZZ_ASSERT(!c->hook_dir || c->hook_dir[0] == '/');
        for (int h = 0; h < _AGENT_HOOK_MAX; h++)
                FUZZ_ASSERT(!c->hooks[h] || c->hooks[h][0] == '/');
        FUZZ_ASSERT(c->artifact_pattern && *c->artifact_pattern);
        FUZZ_ASSERT(in_range(c->connect_timeout_usec, 100 * USEC_PER_MSEC, 600 * USEC_PER_SEC));
        FUZZ_ASSERT(in_range(c->request_timeout_usec, 100 * USEC_PER_MSEC, 3600 * USEC_PER_SEC));
        FUZZ_ASSERT(in_range(c->poll_min_usec, 50 * USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(in_range(c->poll_max_usec, 50 * USEC_PER_MSEC, 7 * DAY));
        FUZZ_ASSERT(c->poll_min_usec <= c->poll_max_usec);
        FUZZ_ASSERT(in_range(c->poll_active_usec, 50 * USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(in_range(c->poll_error_usec, 50 * USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(in_range(c->low_speed_time_sec, 1, 3600));
        FUZZ_ASSERT(c->retries <= 1000);
        FUZZ_ASSERT(in_range(c->retry_base_usec, USEC_PER_MSEC, 3600 * USEC_PER_SEC));
        FUZZ_ASSERT(in_range(c->retry_max_usec, USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(c->retry_base_usec <= c->retry_max_usec);
        FUZZ_ASSERT(in_range(c->hook_retry_interval_usec, USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(c->hook_max_retries <= 100000);
        FUZZ_ASSERT(in_range(c->hook_timeout_usec, 100 * USEC_PER_MSEC, DAY));
        FUZZ_ASSERT(!c->install_hook_replaces || (c->to_disk && (c->hooks[AGENT_HOOK_INSTALL] || c->hook_dir)));
        FUZZ_ASSERT(c->reboot <= AGENT_REBOOT_NONE);
        FUZZ_ASSERT(c->progress_interval_usec <= DAY);
        FUZZ_ASSERT(c->max_install_attempts <= 100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AgentConfig *c = NULL;
        FILE *saved_out = stdout, *saved_err = stderr;
        const uint8_t *p = data;
        size_t left = size;
        int r;

        FUZZ_ASSERT(ftruncate(memfd, 0) == 0);
        while (left > 0) {
                ssize_t n = pwrite(memfd, p, left, (off_t) (p - data));

                FUZZ_ASSERT(n > 0);
                p += n;
                left -= (size_t) n;
        }
        if (!fuzz_verbose())
                stderr = devnull;
        r = agent_config_load(path, &c);
        stderr = saved_err;
        if (r < 0) {
                FUZZ_ASSERT(!c);
                return 0;
        }
        fuzz_note("agent config: ok, %s as %s", c->url ?: c->broker_host, c->controller_id ?: c->thing_name);
        check(c);
        stdout = devnull;
        agent_config_dump(c);
        fflush(stdout);
        stdout = saved_out;
        agent_config_free(c);
        return 0;
}
