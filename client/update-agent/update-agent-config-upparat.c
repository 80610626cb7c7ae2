/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "update-agent-config-upparat.h"
#include "util.h"

static int set(char **dst, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

static int fail(char *err, size_t n, const char *fmt, ...) _printf_(3, 4);
static int fail(char *err, size_t n, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int handle_service(AgentConfig *c, const char *key, const char *value, char *err, size_t err_size) {
        /* Upparat's error reporting and log level: the agent logs to the journal at its own
         * level (-v), and sends nothing to Sentry.  Accepted so the file stays as it is. */
        if (streq(key, "sentry") || streq(key, "sentry_dsn") || streq(key, "log_level"))
                return 0;
        if (streq(key, "download_location")) {
                if (value[0] != '/')
                        return fail(err, err_size, "download_location=%s: must be an absolute path", value);
                return set(&c->download_location, value);
        }
        return 1;
}

static int handle_broker(AgentConfig *c, const char *key, const char *value, char *err, size_t err_size) {
        if (streq(key, "host")) {
                if (isempty(value) || strpbrk(value, " \t/"))
                        return fail(err, err_size, "host=%s: not a host name or address", value);
                return set(&c->broker_host, value);
        }
        if (streq(key, "port")) {
                char *e;
                unsigned long v;

                errno = 0;
                v = strtoul(value, &e, 10);
                if (errno || e == value || *e || v == 0 || v > 65535)
                        return fail(err, err_size, "port=%s: must be a TCP port (1 to 65535)", value);
                c->broker_port = (unsigned) v;
                return 0;
        }
        if (streq(key, "thing_name")) {
                /* AWS: [a-zA-Z0-9:_-]+, and it is part of the reserved topics. */
                if (isempty(value) || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-") !=
                                              strlen(value) || strlen(value) > 128)
                        return fail(err, err_size, "thing_name=%s: AWS IoT thing names are 1 to 128 of a-z A-Z 0-9 : _ -",
                                    value);
                return set(&c->thing_name, value);
        }
        if (streq(key, "client_id")) {
                if (isempty(value) || strlen(value) > 128 || strpbrk(value, "#+/ "))
                        return fail(err, err_size, "client_id=%s: 1 to 128 characters without '#', '+', '/' or blanks", value);
                return set(&c->mqtt_client_id, value);
        }
        if (streq(key, "cafile") || streq(key, "certfile") || streq(key, "keyfile")) {
                char **dst = streq(key, "cafile") ? &c->broker_cafile : streq(key, "certfile") ? &c->broker_certfile
                                                                                              : &c->broker_keyfile;
                if (access(value, R_OK) < 0)
                        return fail(err, err_size, "%s=%s: cannot be read: %s", key, value, strerror(errno));
                return set(dst, value);
        }
        return 1;
}

int upparat_config_key(AgentConfig *c, const char *section, const char *key, const char *value, char *err,
                       size_t err_size) {
        int r;

        if (streq(section, "service"))
                r = handle_service(c, key, value, err, err_size);
        else if (streq(section, "broker"))
                r = handle_broker(c, key, value, err, err_size);
        else
                r = 1;
        return r;
}

int upparat_config_finish(AgentConfig *c, char *err, size_t err_size) {
        int n_tls = !!c->broker_cafile + !!c->broker_certfile + !!c->broker_keyfile;

        /* Upparat's defaults: a local broker (a Mosquitto bridge to AWS IoT), the hostname as
         * the thing name, "upparat" as the client id. */
        if (!c->broker_host && set(&c->broker_host, "127.0.0.1") < 0)
                return -ENOMEM;
        if (n_tls != 0 && n_tls != 3)
                return fail(err, err_size, "[broker] cafile=, certfile= and keyfile= go together (AWS IoT's mutual TLS): "
                                           "set all three or none");
        if (!c->broker_port)
                c->broker_port = n_tls ? 8883 : 1883;
        if (!c->thing_name) {
                char host[HOST_NAME_MAX + 1] = "";

                if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == 0)
                        return fail(err, err_size, "[broker] no thing_name= and no hostname to use as one");
                if (set(&c->thing_name, host) < 0)
                        return -ENOMEM;
        }
        if (!c->mqtt_client_id && set(&c->mqtt_client_id, "upparat") < 0)
                return -ENOMEM;
        return 0;
}

void upparat_config_dump(const AgentConfig *c) {
        printf("[broker]%s\nhost=%s\nport=%u%s\nthing_name=%s\nclient_id=%s\n",
               c->upparat_file ? "  # read from an Upparat file" : "", c->broker_host, c->broker_port,
               c->broker_port == 443 ? " (TLS with ALPN x-amzn-mqtt-ca)" : "", c->thing_name, c->mqtt_client_id);
        printf("cafile=%s\ncertfile=%s\nkeyfile=%s\n", c->broker_cafile ?: "(none: no TLS)",
               c->broker_certfile ?: "(none)", c->broker_keyfile ?: "(none)");
        printf("[service]\ndownload_location=%s\n",
               c->download_location ? c->download_location : "(not set: downloads go to the state directory)");
}

void upparat_config_free(AgentConfig *c) {
        free(c->broker_host);
        free(c->thing_name);
        free(c->mqtt_client_id);
        free(c->broker_cafile);
        free(c->broker_certfile);
        free(c->broker_keyfile);
        free(c->download_location);
}
