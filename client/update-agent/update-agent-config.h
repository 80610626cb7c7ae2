/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* update-agent's configuration: /etc/update1/agent.conf (INI, lib/ini.h).  Every key is
 * listed in packaging/config/agent.conf.example; an unknown key or section is an error naming
 * file:line, so a typo never silently falls back to a default. */

#define AGENT_DEFAULT_CONFIG SYSCONFDIR "/update1/agent.conf"
#define AGENT_DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/update-agent"
#define AGENT_DEFAULT_HOOK_DIR SYSCONFDIR "/update1/agent-hooks"

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

typedef enum AgentAuth {
        AGENT_AUTH_NONE,          /* mTLS only (the reverse proxy authenticates the device) */
        AGENT_AUTH_TARGET_TOKEN,  /* Authorization: TargetToken <t> */
        AGENT_AUTH_GATEWAY_TOKEN, /* Authorization: GatewayToken <t> */
} AgentAuth;

/* [server] protocol=: which SourceOps backend talks to the server. */
typedef enum AgentProtocol {
        AGENT_PROTOCOL_HAWKBIT,   /* hawkBit DDI v1 (the default) */
        AGENT_PROTOCOL_AWS_IOT_JOBS, /* AWS IoT Jobs over MQTT, Upparat's contract */
        _AGENT_PROTOCOL_MAX,
} AgentProtocol;

const char *agent_protocol_to_string(AgentProtocol p);

typedef enum AgentReboot {
        AGENT_REBOOT_UPDATED,     /* org.example.Update1.Reboot() */
        AGENT_REBOOT_LOGIND,      /* org.freedesktop.login1.Manager.Reboot(false) */
        AGENT_REBOOT_NONE,        /* someone else reboots (the restart hook, an operator) */
} AgentReboot;

typedef enum AgentHook {
        AGENT_HOOK_VERSION,
        AGENT_HOOK_DOWNLOAD,
        AGENT_HOOK_INSTALL,
        AGENT_HOOK_RESTART,
        AGENT_HOOK_READY,
        AGENT_HOOK_CONFIRM,       /* user consent for an action waiting for confirmation */
        AGENT_HOOK_ATTRIBUTES,    /* not an action's: prints key=value lines for configData */
        _AGENT_HOOK_MAX,
} AgentHook;

const char *agent_hook_to_string(AgentHook h);

/* hawkBit keeps at most 100 attributes per target (maxAttributeEntriesPerTarget) with keys
 * and values of at most 128 characters; the agent's own five come first. */
#define AGENT_ATTRIBUTES_MAX 90
#define AGENT_ATTRIBUTE_LEN_MAX 128

/* True for the attributes the agent sets itself (compatible, booted_slot, ...). */
bool agent_attribute_reserved(const char *key);
/* NULL if key=value is a usable custom attribute, else why not (a static sentence). */
const char *agent_attribute_invalid(const char *key, const char *value);

/* A NULL-terminated list of n key/value pairs (key, value, key, value, ..., NULL): appends
 * copies of key (its first key_len bytes) and value. */
int agent_pairs_add(char ***pairs, size_t n, const char *key, size_t key_len, const char *value);
void agent_pairs_free(char **pairs);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, agent_pairs_free);

/* artifact=: at most this many patterns of at most this many bytes each. */
#define AGENT_ARTIFACT_PATTERNS_MAX 8
#define AGENT_ARTIFACT_PATTERN_MAX 255
#define AGENT_ARTIFACT_DEFAULT "*.bundle *.raucb"

typedef struct AgentConfig {
        char *path;
        /* [server] */
        AgentProtocol protocol;
        char *url;                 /* scheme://host[:port][/prefix], no trailing '/' */
        char *tenant;              /* "DEFAULT" */
        char *controller_id;       /* from controller-id=, controller-id-file= or the hostname */
        AgentAuth auth;
        char *token;               /* the target or gateway token */
        char *token_file;          /* re-read on 401 (rotated tokens) */
        char *client_cert;         /* mTLS: PEM certificate and key */
        char *client_key;
        char *ca_file;             /* trust anchors for the server (and artifact hosts) */
        bool insecure;             /* no TLS verification: logged loudly at every start */
        char *proxy;               /* NULL: libcurl's environment variables apply */
        uint64_t connect_timeout_usec;
        uint64_t request_timeout_usec; /* whole REST request (not downloads) */
        /* [polling] */
        uint64_t poll_min_usec;    /* the server's sleep is clamped to [min, max] */
        uint64_t poll_max_usec;
        uint64_t poll_active_usec; /* while an action runs: so cancels are seen */
        uint64_t poll_error_usec;  /* first retry after a failed poll (doubles up to max) */
        /* [download] */
        bool to_disk;              /* mode=disk: store in the state directory, hand the file over */
        bool delta;                /* delta=yes: a format-2 bundle on a Range server is served to
                                    * updated in pieces (InstallFd "ranged"), so it can install as a delta */
        char *artifact_pattern;    /* fnmatch() patterns on the artifact filename, separated by
                                    * blanks, the first that matches chooses: the bundle */
        uint64_t max_bundle_size;
        uint64_t max_speed;        /* bytes/s, 0 = no cap */
        uint64_t low_speed_limit;  /* abort a transfer slower than this (bytes/s) ... */
        uint64_t low_speed_time_sec; /* ... for this long */
        unsigned retries;          /* attempts without progress before a download fails */
        uint64_t retry_base_usec;  /* backoff: random(0, min(max, base * 2^n)) */
        uint64_t retry_max_usec;
        /* [hooks] */
        char *hooks[_AGENT_HOOK_MAX]; /* explicit paths (checked at start), NULL: see hook_dir */
        char *hook_dir;            /* hooks by name, looked up at each use */
        uint64_t hook_retry_interval_usec;
        unsigned hook_max_retries;
        uint64_t hook_timeout_usec;
        bool install_hook_replaces; /* the install hook installs the (downloaded) file itself */
        /* [broker], [service]: protocol=aws-iot-jobs (update-agent-config-upparat.c) */
        bool upparat_file;         /* recognised by its [broker] section */
        char *broker_host;
        unsigned broker_port;      /* 1883, or 8883 with certificates; 443 uses ALPN */
        char *thing_name;
        char *mqtt_client_id;
        char *broker_cafile;       /* all three or none: mutual TLS */
        char *broker_certfile;
        char *broker_keyfile;
        char *download_location;   /* read, shown; downloads stay in the state directory */
        /* [attributes] */
        char **attributes;         /* key, value, key, value, ..., NULL: sent in configData */
        size_t n_attributes;
        /* [agent] */
        char *state_dir;
        AgentReboot reboot;
        uint64_t progress_interval_usec; /* at most one progress feedback per interval */
        unsigned max_install_attempts;   /* interrupted installs retried this often */
        char *installed_base_name;       /* NULL: no installedBase PUT for offline installs */
} AgentConfig;

AgentConfig *agent_config_free(AgentConfig *c);

/* The hook's executable: 1 and its path, 0 if there is none, -EACCES etc. if it exists but
 * cannot be executed. */
int agent_hook_path(const AgentConfig *c, AgentHook h, char **ret);

/* Loads 'path'.  On error prints "path:line: reason" to stderr and returns a negative errno. */
int agent_config_load(const char *path, AgentConfig **ret);

/* The i-th pattern (from 0) of an artifact= list, patterns separated by blanks: its length,
 * 0 past the last; *ret its start (not NUL-terminated). */
size_t agent_artifact_pattern(const char *list, unsigned i, const char **ret);

/* Re-reads token-file= (after a 401).  Returns 1 if the token changed, 0 if not. */
int agent_config_reload_token(AgentConfig *c);

/* "30", "30s", "500ms", "5min", "2h", "1d" → microseconds. */
int parse_duration(const char *s, uint64_t *ret_usec);
