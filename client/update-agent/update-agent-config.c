/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "ini.h"
#include "log.h"
#include "macro.h"
#include "update-agent-config.h"
#include "update-agent-config-upparat.h"
#include "util.h"

#define TOKEN_MAX 512            /* hawkBit: custom tokens up to 128 characters */
#define CONTROLLER_ID_MAX 256

static const char *const hook_names[_AGENT_HOOK_MAX] = {
        [AGENT_HOOK_VERSION] = "version",   [AGENT_HOOK_DOWNLOAD] = "download", [AGENT_HOOK_INSTALL] = "install",
        [AGENT_HOOK_RESTART] = "restart",   [AGENT_HOOK_READY] = "ready",       [AGENT_HOOK_CONFIRM] = "confirm",
        [AGENT_HOOK_ATTRIBUTES] = "attributes",
};

static const char *const reserved_attributes[] = {
        "compatible", "booted_slot", "installed_version", "agent_version", "last_boot",
};

bool agent_attribute_reserved(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(reserved_attributes); i++)
                if (streq(key, reserved_attributes[i]))
                        return true;
        return false;
}

const char *agent_attribute_invalid(const char *key, const char *value) {
        if (isempty(key))
                return "an empty attribute name";
        if (strlen(key) > AGENT_ATTRIBUTE_LEN_MAX || strlen(value) > AGENT_ATTRIBUTE_LEN_MAX)
                return "longer than hawkBit's 128 characters";
        for (const char *c = key; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return "a control character in the name";
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return "a control character in the value";
        if (agent_attribute_reserved(key))
                return "the agent sends this attribute itself";
        return NULL;
}

const char *agent_hook_to_string(AgentHook h) {
        return h >= 0 && h < _AGENT_HOOK_MAX ? hook_names[h] : NULL;
}

AgentConfig *agent_config_free(AgentConfig *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->url);
        free(c->tenant);
        free(c->controller_id);
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        free(c->token_file);
        free(c->client_cert);
        free(c->client_key);
        free(c->ca_file);
        free(c->proxy);
        free(c->artifact_pattern);
        for (int i = 0; i < _AGENT_HOOK_MAX; i++)
                free(c->hooks[i]);
        free(c->hook_dir);
        agent_pairs_free(c->attributes);
        free(c->state_dir);
        upparat_config_free(c);
        free(c->installed_base_name);
        free(c);
        return NULL;
}

int agent_hook_path(const AgentConfig *c, AgentHook h, char **ret) {
        _cleanup_free_ char *f = NULL;

        if (c->hooks[h])
                f = strdup(c->hooks[h]);
        else if (c->hook_dir)
                f = strdup_printf("%s/%s", c->hook_dir, hook_names[h]);
        else
                return 0;
        if (!f)
                return -ENOMEM;
        if (!c->hooks[h] && access(f, F_OK) < 0)
                return 0;
        if (access(f, X_OK) < 0)
                return -errno;
        *ret = TAKE_PTR(f);
        return 1;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "ms", USEC_PER_MSEC },       { "s", USEC_PER_SEC },         { "sec", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },  { "m", 60 * USEC_PER_SEC },    { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC }, { "", USEC_PER_SEC },
        };
        char num[32];
        const char *p = s;
        uint64_t v, r;
        size_t n;

        if (isempty(s))
                return -EINVAL;
        while (*p >= '0' && *p <= '9')
                p++;
        n = (size_t) (p - s);
        if (n == 0 || n >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, n);
        num[n] = 0;
        if (parse_u64(num, &v) < 0)
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(p, units[i].suffix)) {
                        if (__builtin_mul_overflow(v, units[i].usec, &r))
                                return -ERANGE;
                        *ret_usec = r;
                        return 0;
                }
        return -EINVAL;
}

typedef struct Parser {
        AgentConfig *c;
        const char *path;
        char *target_token, *gateway_token, *target_token_file, *gateway_token_file;
        char *controller_id_file;
        char *hook_dir;
        bool printed;
        bool mode_set;
        bool state_dir_set;
} Parser;

static int perr(Parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int perr(Parser *p, unsigned line, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        p->printed = true;
        if (line > 0)
                fprintf(stderr, "%s:%u: %s\n", p->path, line, buf);
        else
                fprintf(stderr, "%s: %s\n", p->path, buf);
        return -EINVAL;
}

static int set_string(char **dst, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

/* Empty = unset, for keys whose absence means "none". */
static int set_optional(char **dst, const char *value) {
        if (isempty(value)) {
                *dst = mfree(*dst);
                return 0;
        }
        return set_string(dst, value);
}

static int set_path(Parser *p, unsigned line, const char *key, char **dst, const char *value) {
        if (isempty(value)) {
                *dst = mfree(*dst);
                return 0;
        }
        if (value[0] != '/')
                return perr(p, line, "%s=%s: must be an absolute path", key, value);
        return set_string(dst, value);
}

static int set_duration(Parser *p, unsigned line, const char *key, const char *value, uint64_t min,
                        uint64_t max, uint64_t *dst) {
        uint64_t v;

        if (parse_duration(value, &v) < 0)
                return perr(p, line, "%s=%s: not a duration (e.g. 30s, 500ms, 5min, 2h)", key, value);
        if (v < min || v > max)
                return perr(p, line, "%s=%s: must be between %llu ms and %llu s", key, value,
                            (unsigned long long) (min / USEC_PER_MSEC), (unsigned long long) (max / USEC_PER_SEC));
        *dst = v;
        return 0;
}

static int set_size(Parser *p, unsigned line, const char *key, const char *value, uint64_t *dst) {
        if (parse_size(value, dst) < 0)
                return perr(p, line, "%s=%s: not a size (e.g. 512K, 64M, 2G)", key, value);
        return 0;
}

static int set_bool(Parser *p, unsigned line, const char *key, const char *value, bool *dst) {
        int b = parse_boolean(value);

        if (b < 0)
                return perr(p, line, "%s=%s: not a boolean (yes/no)", key, value);
        *dst = b;
        return 0;
}

static int set_unsigned(Parser *p, unsigned line, const char *key, const char *value, unsigned max,
                        unsigned *dst) {
        uint64_t v;

        if (parse_u64(value, &v) < 0 || v > max)
                return perr(p, line, "%s=%s: must be a number from 0 to %u", key, value, max);
        *dst = (unsigned) v;
        return 0;
}

#define DAY (86400 * USEC_PER_SEC)

static const char *const protocol_names[_AGENT_PROTOCOL_MAX] = {
        [AGENT_PROTOCOL_HAWKBIT] = "hawkbit",
        [AGENT_PROTOCOL_AWS_IOT_JOBS] = "aws-iot-jobs",
};

const char *agent_protocol_to_string(AgentProtocol p) {
        return p >= 0 && p < _AGENT_PROTOCOL_MAX ? protocol_names[p] : "?";
}

static int handle_server(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;

        if (streq(key, "protocol")) {
                for (AgentProtocol i = 0; i < _AGENT_PROTOCOL_MAX; i++)
                        if (streq(value, protocol_names[i])) {
                                c->protocol = i;
                                return 0;
                        }
                return perr(p, line, "protocol=%s: unknown server protocol (this update-agent speaks: hawkbit, aws-iot-jobs)", value);
        }
        if (streq(key, "url")) {
                if (!strneq(value, "https://", 8) && !strneq(value, "http://", 7))
                        return perr(p, line, "url=%s: must start with https:// or http://", value);
                if (strpbrk(value, " \t\"'<>\\"))
                        return perr(p, line, "url=%s: contains a blank, quote or backslash", value);
                if (set_string(&c->url, value) < 0)
                        return -ENOMEM;
                for (size_t n = strlen(c->url); n > 0 && c->url[n - 1] == '/'; n--)
                        c->url[n - 1] = 0;
                /* "https:///" would be left as "https:", and "https:///x" has no server either. */
                if (strlen(c->url) <= (strneq(c->url, "https://", 8) ? 8u : 7u) ||
                    c->url[strneq(c->url, "https://", 8) ? 8 : 7] == '/')
                        return perr(p, line, "url=%s: names no server (https://HOST[:PORT][/PATH])", value);
                return 0;
        }
        if (streq(key, "tenant")) {
                if (!string_is_safe_name(value) || strpbrk(value, "?#% \t"))
                        return perr(p, line, "tenant=%s: not a valid tenant name (no blanks, '?', '#' or '%%')", value);
                return set_string(&c->tenant, value);
        }
        if (streq(key, "controller-id")) {
                if (!isempty(value) && (!string_is_safe_name(value) || strpbrk(value, "?#% ")))
                        return perr(p, line, "controller-id=%s: only printable characters without '/', '?', '#', '%%' or blanks", value);
                return set_optional(&c->controller_id, value);
        }
        if (streq(key, "controller-id-file"))
                return set_path(p, line, key, &p->controller_id_file, value);
        if (streq(key, "target-token"))
                return set_optional(&p->target_token, value);
        if (streq(key, "gateway-token"))
                return set_optional(&p->gateway_token, value);
        if (streq(key, "target-token-file"))
                return set_path(p, line, key, &p->target_token_file, value);
        if (streq(key, "gateway-token-file"))
                return set_path(p, line, key, &p->gateway_token_file, value);
        if (streq(key, "client-cert"))
                return set_path(p, line, key, &c->client_cert, value);
        if (streq(key, "client-key"))
                return set_path(p, line, key, &c->client_key, value);
        if (streq(key, "ca-file"))
                return set_path(p, line, key, &c->ca_file, value);
        if (streq(key, "insecure"))
                return set_bool(p, line, key, value, &c->insecure);
        if (streq(key, "proxy"))
                return set_optional(&c->proxy, value);
        if (streq(key, "connect-timeout"))
                return set_duration(p, line, key, value, 100 * USEC_PER_MSEC, 600 * USEC_PER_SEC,
                                    &c->connect_timeout_usec);
        if (streq(key, "request-timeout"))
                return set_duration(p, line, key, value, 100 * USEC_PER_MSEC, 3600 * USEC_PER_SEC,
                                    &c->request_timeout_usec);
        return 1;
}

static int handle_polling(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;

        /* Sub-second minimums exist for tests; hawkBit itself never asks for less than 30 s. */
        if (streq(key, "min-interval"))
                return set_duration(p, line, key, value, 50 * USEC_PER_MSEC, DAY, &c->poll_min_usec);
        if (streq(key, "max-interval"))
                return set_duration(p, line, key, value, 50 * USEC_PER_MSEC, 7 * DAY, &c->poll_max_usec);
        if (streq(key, "active-interval"))
                return set_duration(p, line, key, value, 50 * USEC_PER_MSEC, DAY, &c->poll_active_usec);
        if (streq(key, "error-interval"))
                return set_duration(p, line, key, value, 50 * USEC_PER_MSEC, DAY, &c->poll_error_usec);
        return 1;
}

static int handle_download(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;

        if (streq(key, "mode")) {
                if (streq(value, "stream"))
                        c->to_disk = false;
                else if (streq(value, "disk"))
                        c->to_disk = true;
                else
                        return perr(p, line, "mode=%s: must be stream or disk", value);
                p->mode_set = true;
                return 0;
        }
        if (streq(key, "artifact")) {
                const char *q;
                size_t len;
                unsigned n;

                for (n = 0; (len = agent_artifact_pattern(value, n, &q)) > 0; n++) {
                        if (len > AGENT_ARTIFACT_PATTERN_MAX)
                                return perr(p, line, "artifact=: a pattern is longer than %d bytes",
                                            AGENT_ARTIFACT_PATTERN_MAX);
                        if (n >= AGENT_ARTIFACT_PATTERNS_MAX)
                                return perr(p, line, "artifact=: more than %d patterns", AGENT_ARTIFACT_PATTERNS_MAX);
                }
                if (n == 0)
                        return perr(p, line,
                                    "artifact= must not be empty (fnmatch patterns separated by blanks, e.g. *.bundle)");
                return set_string(&c->artifact_pattern, value);
        }
        if (streq(key, "delta"))
                return set_bool(p, line, key, value, &c->delta);
        if (streq(key, "max-bundle-size"))
                return set_size(p, line, key, value, &c->max_bundle_size);
        if (streq(key, "max-speed"))
                return set_size(p, line, key, value, &c->max_speed);
        if (streq(key, "low-speed-limit"))
                return set_size(p, line, key, value, &c->low_speed_limit);
        if (streq(key, "low-speed-time")) {
                uint64_t u;
                int r = set_duration(p, line, key, value, USEC_PER_SEC, 3600 * USEC_PER_SEC, &u);
                if (r >= 0)
                        c->low_speed_time_sec = u / USEC_PER_SEC;
                return r;
        }
        if (streq(key, "retries"))
                return set_unsigned(p, line, key, value, 1000, &c->retries);
        if (streq(key, "retry-base-delay"))
                return set_duration(p, line, key, value, USEC_PER_MSEC, 3600 * USEC_PER_SEC, &c->retry_base_usec);
        if (streq(key, "retry-max-delay"))
                return set_duration(p, line, key, value, USEC_PER_MSEC, DAY, &c->retry_max_usec);
        return 1;
}

static int handle_hooks(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;

        for (int h = 0; h < _AGENT_HOOK_MAX; h++)
                if (streq(key, hook_names[h]))
                        return set_path(p, line, key, &c->hooks[h], value);
        if (streq(key, "directory"))
                return set_path(p, line, key, &p->hook_dir, value);
        /* Upparat's spellings (its [hooks] section is read as it is). */
        if (streq(key, "retry_interval"))
                key = "retry-interval";
        else if (streq(key, "max_retries"))
                key = "max-retries";
        if (streq(key, "retry-interval"))
                return set_duration(p, line, key, value, USEC_PER_MSEC, DAY, &c->hook_retry_interval_usec);
        if (streq(key, "max-retries"))
                return set_unsigned(p, line, key, value, 100000, &c->hook_max_retries);
        if (streq(key, "timeout"))
                return set_duration(p, line, key, value, 100 * USEC_PER_MSEC, DAY, &c->hook_timeout_usec);
        if (streq(key, "install-replaces"))
                return set_bool(p, line, key, value, &c->install_hook_replaces);
        return 1;
}

int agent_pairs_add(char ***pairs, size_t n, const char *key, size_t key_len, const char *value) {
        char **l = realloc(*pairs, (2 * n + 3) * sizeof(char *));

        if (!l)
                return -ENOMEM;
        *pairs = l;
        l[2 * n] = strndup(key, key_len);
        l[2 * n + 1] = strdup(value);
        l[2 * n + 2] = NULL;
        if (!l[2 * n] || !l[2 * n + 1]) {
                free(l[2 * n]);
                free(l[2 * n + 1]);
                l[2 * n] = NULL;
                return -ENOMEM;
        }
        return 0;
}

void agent_pairs_free(char **pairs) {
        for (size_t i = 0; pairs && pairs[i]; i++)
                free(pairs[i]);
        free(pairs);
}

/* [attributes]: any key; each one a configData attribute. */
static int handle_attributes(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;
        const char *why = agent_attribute_invalid(key, value);
        int r;

        if (why)
                return perr(p, line, "attribute %s: %s", key, why);
        for (size_t i = 0; i < c->n_attributes; i++)
                if (streq(c->attributes[2 * i], key))
                        return perr(p, line, "attribute %s is set twice", key);
        if (c->n_attributes >= AGENT_ATTRIBUTES_MAX)
                return perr(p, line, "more than %d attributes (hawkBit keeps at most 100 per target)",
                            AGENT_ATTRIBUTES_MAX);
        r = agent_pairs_add(&c->attributes, c->n_attributes, key, strlen(key), value);
        if (r < 0)
                return r;
        c->n_attributes++;
        return 0;
}

static int handle_agent(Parser *p, const char *key, const char *value, unsigned line) {
        AgentConfig *c = p->c;

        if (streq(key, "state-directory")) {
                if (isempty(value))
                        return perr(p, line, "state-directory= must not be empty");
        {
                p->state_dir_set = true;
                return set_path(p, line, key, &c->state_dir, value);
        }
        }
        if (streq(key, "reboot")) {
                if (streq(value, "updated"))
                        c->reboot = AGENT_REBOOT_UPDATED;
                else if (streq(value, "logind"))
                        c->reboot = AGENT_REBOOT_LOGIND;
                else if (streq(value, "none"))
                        c->reboot = AGENT_REBOOT_NONE;
                else
                        return perr(p, line, "reboot=%s: must be updated, logind or none", value);
                return 0;
        }
        if (streq(key, "progress-interval"))
                return set_duration(p, line, key, value, 0, DAY, &c->progress_interval_usec);
        if (streq(key, "max-install-attempts"))
                return set_unsigned(p, line, key, value, 100, &c->max_install_attempts);
        if (streq(key, "installed-base-name")) {
                const char *why = agent_attribute_invalid("name", value);
                if (why)
                        return perr(p, line, "installed-base-name=: %s", why);
                return set_optional(&c->installed_base_name, value);
        }
        return 1;
}

static int handler(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        Parser *p = userdata;
        int r;

        if (streq(section, "server"))
                r = handle_server(p, key, value, line);
        else if (streq(section, "polling"))
                r = handle_polling(p, key, value, line);
        else if (streq(section, "download"))
                r = handle_download(p, key, value, line);
        else if (streq(section, "hooks"))
                r = handle_hooks(p, key, value, line);
        else if (streq(section, "agent"))
                r = handle_agent(p, key, value, line);
        else if (streq(section, "attributes"))
                r = handle_attributes(p, key, value, line);
        else if (streq(section, "broker") || streq(section, "service")) {
                char err[384];

                if (streq(section, "broker")) {
                        p->c->upparat_file = true;
                        p->c->protocol = AGENT_PROTOCOL_AWS_IOT_JOBS;
                }
                r = upparat_config_key(p->c, section, key, value, err, sizeof(err));
                if (r == -EINVAL)
                        return perr(p, line, "%s", err);
        }
        else if (isempty(section))
                return perr(p, line, "%s= outside of a section", key);
        else
                return perr(p, line, "unknown section [%s]", section);
        if (r > 0)
                return perr(p, line, "unknown key %s= in [%s]", key, section);
        return r;
}

/* First line of a small file, trimmed; empty → -ENODATA. */
static int read_first_line(const char *path, size_t max, char **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size, n;
        char *s;
        int r;

        r = read_full_file(path, 64 * 1024, &data, &size);
        if (r < 0)
                return r;
        s = data;
        while (*s && isspace((unsigned char) *s))
                s++;
        n = strcspn(s, "\r\n");
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        if (n == 0)
                return -ENODATA;
        if (n > max)
                return -E2BIG;
        s = strndup(s, n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool token_is_valid(const char *t) {
        for (const char *q = t; *q; q++)
                if (*q <= ' ' || *q >= 127)
                        return false;
        return !isempty(t);
}

static int load_token(AgentConfig *c, char **ret) {
        _cleanup_free_ char *t = NULL;
        int r;

        r = read_first_line(c->token_file, TOKEN_MAX, &t);
        if (r < 0)
                return r;
        if (!token_is_valid(t))
                return -EINVAL;
        *ret = TAKE_PTR(t);
        return 0;
}

int agent_config_reload_token(AgentConfig *c) {
        char *t = NULL;
        int r;

        if (!c->token_file)
                return 0;
        r = load_token(c, &t);
        if (r < 0)
                return log_warning_errno(r, "Cannot re-read %s: %m", c->token_file);
        if (c->token && streq(c->token, t)) {
                free(t);
                return 0;
        }
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        c->token = t;
        return 1;
}

static int finish_common(Parser *p);

static int finish(Parser *p) {
        AgentConfig *c = p->c;
        int n_auth = !!p->target_token + !!p->gateway_token + !!p->target_token_file + !!p->gateway_token_file;
        int r;

        /* systemd's StateDirectory= (update-agent.service) says where the state goes. */
        if (!p->state_dir_set && !isempty(getenv("STATE_DIRECTORY"))) {
                const char *e = getenv("STATE_DIRECTORY");

                free(c->state_dir);
                c->state_dir = strndup(e, strcspn(e, ":"));    /* the first of several */
                if (!c->state_dir)
                        return -ENOMEM;
        }
        if (c->protocol == AGENT_PROTOCOL_AWS_IOT_JOBS) {
                char err[384];

                if (c->url)
                        return perr(p, 0, "[server] url= is for hawkBit; protocol=aws-iot-jobs talks to [broker] host=");
                r = upparat_config_finish(c, err, sizeof(err));
                if (r == -EINVAL)
                        return perr(p, 0, "%s", err);
                if (r < 0)
                        return r;
                /* Upparat downloads the whole file before its install hook: so does the agent,
                 * unless [download] mode= says otherwise (docs/agent.md). */
                if (!p->mode_set)
                        c->to_disk = true;
                /* Upparat's install hook installs the downloaded file itself ($4). */
                if (c->upparat_file && c->hooks[AGENT_HOOK_INSTALL])
                        c->install_hook_replaces = true;
                return finish_common(p);
        }
        if (!c->url)
                return perr(p, 0, "[server] url= is required");
        if (n_auth > 1)
                return perr(p, 0, "set only one of target-token, target-token-file, gateway-token, gateway-token-file");
        if (!!c->client_cert != !!c->client_key)
                return perr(p, 0, "client-cert= and client-key= go together");
        if (n_auth == 0 && !c->client_cert)
                return perr(p, 0, "no authentication: set target-token(-file)=, gateway-token(-file)= or client-cert= + client-key=");
        if (p->target_token || p->target_token_file)
                c->auth = AGENT_AUTH_TARGET_TOKEN;
        else if (p->gateway_token || p->gateway_token_file)
                c->auth = AGENT_AUTH_GATEWAY_TOKEN;
        if (p->target_token || p->gateway_token) {
                c->token = p->target_token ? TAKE_PTR(p->target_token) : TAKE_PTR(p->gateway_token);
                if (!token_is_valid(c->token))
                        return perr(p, 0, "the token contains blanks or control characters");
        }
        if (p->target_token_file || p->gateway_token_file) {
                c->token_file = p->target_token_file ? TAKE_PTR(p->target_token_file) : TAKE_PTR(p->gateway_token_file);
                r = load_token(c, &c->token);
                if (r < 0) {
                        errno = -r;
                        return perr(p, 0, "cannot read a token from %s: %s", c->token_file,
                                    r == -EINVAL ? "it contains blanks or control characters" : strerror(-r));
                }
        }
        if (c->insecure && strneq(c->url, "http://", 7))
                return perr(p, 0, "insecure=yes makes no sense with an http:// url");
        if ((c->client_cert || c->ca_file) && strneq(c->url, "http://", 7))
                return perr(p, 0, "client-cert=/ca-file= need an https:// url");

        if (!c->controller_id && p->controller_id_file) {
                r = read_first_line(p->controller_id_file, CONTROLLER_ID_MAX, &c->controller_id);
                if (r < 0)
                        return perr(p, 0, "cannot read the controller id from %s: %s", p->controller_id_file,
                                    strerror(-r));
                if (!string_is_safe_name(c->controller_id) || strpbrk(c->controller_id, "?#% "))
                        return perr(p, 0, "%s: the controller id '%s' has characters not allowed in a URL path",
                                    p->controller_id_file, c->controller_id);
        }
        if (!c->controller_id) {
                char host[HOST_NAME_MAX + 1] = "";

                if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == 0 || !string_is_safe_name(host))
                        return perr(p, 0, "no controller-id= and the hostname is not usable as one");
                c->controller_id = strdup(host);
                if (!c->controller_id)
                        return -ENOMEM;
        }

        return finish_common(p);
}

/* What every protocol checks: polling bounds, backoff, hooks. */
static int finish_common(Parser *p) {
        AgentConfig *c = p->c;

        if (c->poll_min_usec > c->poll_max_usec)
                return perr(p, 0, "[polling] min-interval= is larger than max-interval=");
        if (c->retry_base_usec > c->retry_max_usec)
                return perr(p, 0, "[download] retry-base-delay= is larger than retry-max-delay=");
        /* Explicit hooks must be there now; hooks in the directory are looked up at each use
         * (so one can be added or removed without a restart). */
        for (int h = 0; h < _AGENT_HOOK_MAX; h++)
                if (c->hooks[h] && access(c->hooks[h], X_OK) < 0)
                        return perr(p, 0, "%s hook %s is not executable: %s", hook_names[h], c->hooks[h],
                                    strerror(errno));
        c->hook_dir = TAKE_PTR(p->hook_dir);
        if (c->install_hook_replaces && !c->hooks[AGENT_HOOK_INSTALL] && !c->hook_dir)
                return perr(p, 0, "install-replaces=yes without an install hook");
        if (c->install_hook_replaces && !c->to_disk)
                return perr(p, 0, "install-replaces=yes needs [download] mode=disk (the hook gets the file)");
        return 0;
}

size_t agent_artifact_pattern(const char *list, unsigned i, const char **ret) {
        const char *q = list + strspn(list, " \t");

        for (; i > 0 && *q; i--) {
                q += strcspn(q, " \t");
                q += strspn(q, " \t");
        }
        *ret = q;
        return strcspn(q, " \t");
}

int agent_config_load(const char *path, AgentConfig **ret) {
        AgentConfig *c;
        Parser p = { .path = path };
        unsigned line = 0;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (AgentConfig) {
                .connect_timeout_usec = 30 * USEC_PER_SEC,
                .request_timeout_usec = 60 * USEC_PER_SEC,
                .poll_min_usec = 30 * USEC_PER_SEC,
                .poll_max_usec = DAY,
                .poll_active_usec = 15 * USEC_PER_SEC,
                .poll_error_usec = 10 * USEC_PER_SEC,
                .max_bundle_size = UINT64_C(8) << 30,
                .low_speed_limit = 1024,
                .low_speed_time_sec = 60,
                .retries = 10,
                .delta = true,
                .retry_base_usec = USEC_PER_SEC,
                .retry_max_usec = 64 * USEC_PER_SEC,
                .hook_retry_interval_usec = 60 * USEC_PER_SEC,
                .hook_max_retries = 60,
                .hook_timeout_usec = 600 * USEC_PER_SEC,
                .reboot = AGENT_REBOOT_UPDATED,
                .progress_interval_usec = 10 * USEC_PER_SEC,
                .max_install_attempts = 3,
        };
        p.c = c;
        r = set_string(&c->path, path);
        if (r >= 0)
                r = set_string(&c->tenant, "DEFAULT");
        if (r >= 0)
                r = set_string(&c->artifact_pattern, AGENT_ARTIFACT_DEFAULT);
        if (r >= 0)
                r = set_string(&c->state_dir, AGENT_DEFAULT_STATE_DIR);
        if (r >= 0 && access(AGENT_DEFAULT_HOOK_DIR, F_OK) == 0)
                r = set_string(&p.hook_dir, AGENT_DEFAULT_HOOK_DIR);
        if (r < 0)
                goto out;

        r = ini_parse_file(path, handler, &p, &line);
        if (r < 0) {
                /* Our handlers print file:line themselves; ini_parse_file() does not. */
                if (p.printed)
                        ;
                else if (line == 0)
                        fprintf(stderr, "%s: %s\n", path, r == -EINVAL ? "not a text file" : strerror(-r));
                else if (r == -EINVAL)
                        fprintf(stderr, "%s:%u: malformed line (expected [section] or key=value)\n", path, line);
                else
                        fprintf(stderr, "%s:%u: %s\n", path, line, strerror(-r));
                goto out;
        }
        r = finish(&p);
out:
        free(p.target_token);
        free(p.gateway_token);
        free(p.target_token_file);
        free(p.gateway_token_file);
        free(p.controller_id_file);
        free(p.hook_dir);
        if (r < 0) {
                agent_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
