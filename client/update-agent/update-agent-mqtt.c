/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "log.h"
#include "macro.h"
#include "update-agent-mqtt.h"
#include "util.h"

/* libmosquitto runs in a thread of ours (mosquitto_loop): it keeps the session alive while the
 * agent waits for a hook or a download, and reconnects with exponential backoff and full
 * jitter.  Requests (from the main thread, or the download thread after a 403) are serialised
 * and wait for their answer, matched by clientToken. */

#define KEEPALIVE_SEC 60
#define RECONNECT_MAX_SEC 64

struct Mqtt {
        const AgentConfig *config;
        struct mosquitto *m;
        char *prefix;
        const char *const *subs;
        const char *wake;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;         /* everything below */
        pthread_cond_t cond;
        bool stop, connected;
        char conn_error[256];
        /* the one request waiting for its answer */
        char *want_ok, *want_err, *want_token;
        json_object *reply;
        int reply_state;              /* 0 waiting, 1 accepted, 2 rejected */
        pthread_mutex_t request_lock; /* one request at a time */
        char error[512];
};

static void set_error(Mqtt *w, const char *fmt, ...) _printf_(2, 3);
static void set_error(Mqtt *w, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(w->error, sizeof(w->error), fmt, ap);
        va_end(ap);
}

const char *mqtt_error(Mqtt *w) {
        return w->error;
}

static void on_connect(struct mosquitto *m, void *userdata, int rc) {
        Mqtt *w = userdata;

        pthread_mutex_lock(&w->lock);
        if (rc != 0) {
                snprintf(w->conn_error, sizeof(w->conn_error), "the broker refused the connection: %s",
                         mosquitto_connack_string(rc));
                pthread_mutex_unlock(&w->lock);
                return;
        }
        w->connected = true;
        w->conn_error[0] = 0;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        log_info("Connected to the MQTT broker; subscribing to %s/...", w->prefix);
        for (size_t i = 0; w->subs && w->subs[i]; i++) {
                _cleanup_free_ char *t = strdup_printf("%s/%s", w->prefix, w->subs[i]);
                if (t)
                        (void) mosquitto_subscribe(m, NULL, t, 1);
        }
        /* Jobs may have come while we were away: look now. */
        (void) kill(getpid(), SIGUSR1);
}

static void on_disconnect(struct mosquitto *m, void *userdata, int rc) {
        Mqtt *w = userdata;

        pthread_mutex_lock(&w->lock);
        w->connected = false;
        if (rc != 0 && !w->conn_error[0])
                snprintf(w->conn_error, sizeof(w->conn_error), "connection lost: %s", mosquitto_strerror(rc));
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

static void on_message(struct mosquitto *m, void *userdata, const struct mosquitto_message *msg) {
        Mqtt *w = userdata;
        json_object *o, *tok;
        size_t n = strlen(w->prefix);

        if (strncmp(msg->topic, w->prefix, n) != 0 || msg->topic[n] != '/')
                return;
        if (w->wake && streq(msg->topic + n + 1, w->wake)) {
                log_debug("%s: polling now", msg->topic);
                (void) kill(getpid(), SIGUSR1);
                return;
        }
        o = json_tokener_parse(msg->payloadlen > 0 ? (const char *) msg->payload : "{}");
        if (!o)
                return;
        pthread_mutex_lock(&w->lock);
        if (w->want_token && (streq(msg->topic, w->want_ok) || streq(msg->topic, w->want_err)) &&
            json_object_object_get_ex(o, "clientToken", &tok) && streq(json_object_get_string(tok), w->want_token)) {
                json_object_put(w->reply);
                w->reply = json_object_get(o);
                w->reply_state = streq(msg->topic, w->want_ok) ? 1 : 2;
                pthread_cond_broadcast(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        json_object_put(o);
}

static bool stopping(Mqtt *w) {
        bool s;

        pthread_mutex_lock(&w->lock);
        s = w->stop;
        pthread_mutex_unlock(&w->lock);
        return s;
}

/* Waits up to usec unless asked to stop. */
static void nap(Mqtt *w, uint64_t usec) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += usec / USEC_PER_SEC;
        ts.tv_nsec += (usec % USEC_PER_SEC) * 1000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&w->lock);
        while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
                ;
        pthread_mutex_unlock(&w->lock);
}

static void *mqtt_thread(void *userdata) {
        Mqtt *w = userdata;
        unsigned failures = 0;

        while (!stopping(w)) {
                int r = mosquitto_loop(w->m, 1000, 1);
                uint64_t cap;

                if (r == MOSQ_ERR_SUCCESS) {
                        pthread_mutex_lock(&w->lock);
                        if (w->connected)
                                failures = 0;
                        pthread_mutex_unlock(&w->lock);
                        continue;
                }
                if (stopping(w))
                        break;
                /* Full jitter: a fleet cut off at once does not come back at once. */
                cap = MIN((uint64_t) RECONNECT_MAX_SEC * USEC_PER_SEC, USEC_PER_SEC << MIN(failures, 6u));
                failures++;
                pthread_mutex_lock(&w->lock);
                if (!w->conn_error[0])
                        snprintf(w->conn_error, sizeof(w->conn_error), "%s", mosquitto_strerror(r));
                pthread_mutex_unlock(&w->lock);
                log_debug("MQTT: %s; reconnecting (attempt %u)", mosquitto_strerror(r), failures);
                nap(w, random_below(cap + 1));
                (void) mosquitto_reconnect(w->m);
        }
        return NULL;
}



int mqtt_request(Mqtt *w, const char *topic, json_object *payload, json_object **ret_reply) {
        const AgentConfig *c = w->config;
        _cleanup_free_ char *full = strdup_printf("%s/%s", w->prefix, topic);
        _cleanup_free_ char *ok = strdup_printf("%s/%s/accepted", w->prefix, topic);
        _cleanup_free_ char *err = strdup_printf("%s/%s/rejected", w->prefix, topic);
        char token[33];
        uint8_t rnd[16];
        struct timespec ts;
        const char *s;
        int r = 0;

        if (!full || !ok || !err)
                return -ENOMEM;
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(token + 2 * i, 3, "%02x", rnd[i]);
        json_object_object_add(payload, "clientToken", json_object_new_string(token));
        s = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        pthread_mutex_lock(&w->request_lock);
        pthread_mutex_lock(&w->lock);
        if (!w->connected) {
                set_error(w, "not connected to the MQTT broker %s:%u (%s)", c->broker_host, c->broker_port,
                          w->conn_error[0] ? w->conn_error : "connecting");
                r = -ENOTCONN;
                goto out;
        }
        w->want_ok = ok;
        w->want_err = err;
        w->want_token = token;
        w->reply_state = 0;
        pthread_mutex_unlock(&w->lock);

        r = mosquitto_publish(w->m, NULL, full, (int) strlen(s), s, 1, false);

        pthread_mutex_lock(&w->lock);
        if (r != MOSQ_ERR_SUCCESS) {
                set_error(w, "cannot publish to %s: %s", full, mosquitto_strerror(r));
                r = -EIO;
                goto out;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t) MAX(c->request_timeout_usec / USEC_PER_SEC, (uint64_t) 1);
        while (w->reply_state == 0 && w->connected && !w->stop)
                if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0)
                        break;
        if (w->reply_state == 0) {
                set_error(w, "no answer to %s (%s)", full, w->connected ? "timed out" : "connection lost");
                r = w->connected ? -ETIMEDOUT : -ENOTCONN;
                goto out;
        }
        *ret_reply = TAKE_PTR(w->reply);
        r = w->reply_state == 1;
out:
        w->want_ok = w->want_err = w->want_token = NULL;
        w->reply = NULL;
        pthread_mutex_unlock(&w->lock);
        pthread_mutex_unlock(&w->request_lock);
        return r;
}

int mqtt_new(const AgentConfig *c, const char *prefix, const char *const *subs, const char *wake, Mqtt **ret) {
        _cleanup_free_ Mqtt *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->config = c;
        w->subs = subs;
        w->wake = wake;
        w->prefix = strdup(prefix);
        if (!w->prefix)
                return -ENOMEM;
        pthread_mutex_init(&w->lock, NULL);
        pthread_mutex_init(&w->request_lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        mosquitto_lib_init();
        /* clean_session=false: a persistent session, so that QoS 1 messages (notify) sent while
         * the device was offline are delivered when it is back. */
        w->m = mosquitto_new(c->mqtt_client_id, false, w);
        if (!w->m) {
                free(w->prefix);
                return log_error_errno(errno, "Cannot create the MQTT client: %m");
        }
        mosquitto_threaded_set(w->m, true);
        mosquitto_connect_callback_set(w->m, on_connect);
        mosquitto_disconnect_callback_set(w->m, on_disconnect);
        mosquitto_message_callback_set(w->m, on_message);
        if (c->broker_cafile) {
                r = mosquitto_tls_set(w->m, c->broker_cafile, NULL, c->broker_certfile, c->broker_keyfile, NULL);
                if (r == MOSQ_ERR_SUCCESS)
                        r = mosquitto_tls_opts_set(w->m, 1, "tlsv1.2", NULL);
                /* AWS IoT takes MQTT with client certificates on 443 only with this ALPN. */
                if (r == MOSQ_ERR_SUCCESS && c->broker_port == 443)
                        r = mosquitto_string_option(w->m, MOSQ_OPT_TLS_ALPN, "x-amzn-mqtt-ca");
                if (r != MOSQ_ERR_SUCCESS) {
                        log_error("Cannot set up TLS for the MQTT broker (cafile=%s, certfile=%s, keyfile=%s): %s",
                                  c->broker_cafile, c->broker_certfile, c->broker_keyfile, mosquitto_strerror(r));
                        mosquitto_destroy(w->m);
                        free(w->prefix);
                        return -EINVAL;
                }
        }
        r = mosquitto_connect_async(w->m, c->broker_host, (int) c->broker_port, KEEPALIVE_SEC);
        if (r != MOSQ_ERR_SUCCESS)
                log_warning("Cannot connect to the MQTT broker %s:%u yet (%s); retrying with backoff", c->broker_host,
                            c->broker_port, r == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(r));
        r = pthread_create(&w->thread, NULL, mqtt_thread, w);
        if (r != 0) {
                mosquitto_destroy(w->m);
                free(w->prefix);
                return log_error_errno(r, "Cannot start the MQTT thread: %m");
        }
        w->thread_started = true;
        *ret = TAKE_PTR(w);
        return 0;
}

Mqtt *mqtt_free(Mqtt *w) {
        if (!w)
                return NULL;
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        if (w->thread_started)
                pthread_join(w->thread, NULL);
        (void) mosquitto_disconnect(w->m);
        mosquitto_destroy(w->m);
        mosquitto_lib_cleanup();
        json_object_put(w->reply);
        free(w->prefix);
        free(w);
        return NULL;
}

int mqtt_publish(Mqtt *w, const char *topic, const char *payload) {
        int r = mosquitto_publish(w->m, NULL, topic, (int) strlen(payload), payload, 1, false);

        if (r != MOSQ_ERR_SUCCESS) {
                set_error(w, "cannot publish to %s: %s", topic, mosquitto_strerror(r));
                return -EIO;
        }
        return 0;
}
