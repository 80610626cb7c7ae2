/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "update-agent-config-dump.h"
#include "update-agent-config-upparat.h"

static const char *dur(uint64_t usec, char *buf, size_t n) {
        if (usec % USEC_PER_SEC == 0)
                snprintf(buf, n, "%llus", (unsigned long long) (usec / USEC_PER_SEC));
        else
                snprintf(buf, n, "%llums", (unsigned long long) (usec / USEC_PER_MSEC));
        return buf;
}

void agent_config_dump(const AgentConfig *c) {
        static const char *const auth[] = { "mtls-only", "target-token", "gateway-token" };
        static const char *const reboot[] = { "updated", "logind", "none" };
        char a[32], b[32], d[32], e[32];

        if (c->protocol == AGENT_PROTOCOL_AWS_IOT_JOBS) {
                printf("[server]\nprotocol=%s%s\n", agent_protocol_to_string(c->protocol),
                       c->upparat_file ? "  # an Upparat file (it has [broker])" : "");
                upparat_config_dump(c);
        } else {
                printf("[server]\nprotocol=%s\nurl=%s\ntenant=%s\ncontroller-id=%s\nauth=%s%s\n",
                       agent_protocol_to_string(c->protocol), c->url, c->tenant, c->controller_id, auth[c->auth],
                       c->client_cert ? " +client-cert" : "");
                if (c->token_file)
                        printf("token-file=%s\n", c->token_file);
        }
        printf("ca-file=%s\ninsecure=%s\nproxy=%s\nconnect-timeout=%s\nrequest-timeout=%s\n", c->ca_file ?: "(system)",
               c->insecure ? "yes" : "no", c->proxy ?: "(environment)", dur(c->connect_timeout_usec, a, sizeof(a)),
               dur(c->request_timeout_usec, b, sizeof(b)));
        printf("[polling]\nmin-interval=%s\nmax-interval=%s\nactive-interval=%s\n", dur(c->poll_min_usec, a, sizeof(a)),
               dur(c->poll_max_usec, b, sizeof(b)), dur(c->poll_active_usec, d, sizeof(d)));
        printf("[download]\nmode=%s\ndelta=%s\nartifact=%s\nmax-bundle-size=%llu\nmax-speed=%llu\nlow-speed-limit=%llu\n"
               "low-speed-time=%llus\nretries=%u\nretry-base-delay=%s\nretry-max-delay=%s\n",
               c->to_disk ? "disk" : "stream", c->delta ? "yes" : "no", c->artifact_pattern, (unsigned long long) c->max_bundle_size,
               (unsigned long long) c->max_speed, (unsigned long long) c->low_speed_limit,
               (unsigned long long) c->low_speed_time_sec, c->retries, dur(c->retry_base_usec, a, sizeof(a)),
               dur(c->retry_max_usec, b, sizeof(b)));
        printf("[hooks]\ndirectory=%s\n", c->hook_dir ?: "");
        for (int h = 0; h < _AGENT_HOOK_MAX; h++) {
                _cleanup_free_ char *f = NULL;
                int k = agent_hook_path(c, h, &f);
                printf("%s=%s\n", agent_hook_to_string(h), k > 0 ? f : k < 0 ? "(not executable)" : "");
        }
        printf("retry-interval=%s\nmax-retries=%u\ntimeout=%s\ninstall-replaces=%s\n",
               dur(c->hook_retry_interval_usec, a, sizeof(a)), c->hook_max_retries,
               dur(c->hook_timeout_usec, e, sizeof(e)), c->install_hook_replaces ? "yes" : "no");
        printf("[agent]\nstate-directory=%s\nreboot=%s\nprogress-interval=%s\nmax-install-attempts=%u\n"
               "installed-base-name=%s\n",
               c->state_dir, reboot[c->reboot], dur(c->progress_interval_usec, a, sizeof(a)), c->max_install_attempts,
               c->installed_base_name ?: "");
        if (c->n_attributes > 0)
                printf("[attributes]\n");
        for (size_t i = 0; i < c->n_attributes; i++)
                printf("%s=%s\n", c->attributes[2 * i], c->attributes[2 * i + 1]);
}
