/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "update-agent-config.h"

/* An MQTT client (libmosquitto) for request/response protocols over reserved topics, such as
 * AWS IoT Jobs: [broker] of the configuration (TLS with client certificate, ALPN
 * x-amzn-mqtt-ca on 443), a persistent session, a thread of its own that keeps the session and
 * reconnects with exponential backoff and full jitter (random(0, min(64 s, 1 s * 2^n))). */

typedef struct Mqtt Mqtt;

/* Starts connecting.  On every connect, subscribes to {prefix}/{subs[i]} (NULL-terminated) at
 * QoS 1 and raises SIGUSR1 (the agent polls now); a message on {prefix}/{wake} raises SIGUSR1
 * too.  c must outlive the client. */
int mqtt_new(const AgentConfig *c, const char *prefix, const char *const *subs, const char *wake, Mqtt **ret);
Mqtt *mqtt_free(Mqtt *w);

/* Publishes payload (a "clientToken" is added) at QoS 1 to {prefix}/{topic} and waits up to
 * request-timeout= for {topic}/accepted or {topic}/rejected with that token.  1 accepted, 0
 * rejected (*ret_reply set either way), -ENOTCONN, -ETIMEDOUT, -EIO (mqtt_error() says why).
 * Thread-safe: one request at a time. */
int mqtt_request(Mqtt *w, const char *topic, json_object *payload, json_object **ret_reply);

/* Publishes payload at QoS 1 to the full topic, without waiting for anything. */
int mqtt_publish(Mqtt *w, const char *topic, const char *payload);

/* The last failure in words. */
const char *mqtt_error(Mqtt *w);
