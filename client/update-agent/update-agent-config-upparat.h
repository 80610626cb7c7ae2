/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "update-agent-config.h"

/* The MQTT side of the configuration (protocol=aws-iot-jobs): Upparat's [broker] and [service]
 * sections, read as Upparat reads them, so that /etc/upparat/upparat.conf works unchanged
 * (docs/agent.md, "AWS IoT Jobs (Upparat)").  A file with a [broker] section is an Upparat
 * file: protocol=aws-iot-jobs without saying so. */

/* One key of [broker] or [service]: 0 taken, 1 unknown key, -EINVAL with a sentence in err. */
int upparat_config_key(AgentConfig *c, const char *section, const char *key, const char *value, char *err,
                       size_t err_size);

/* Defaults and checks after the whole file: 0, or -EINVAL with a sentence in err. */
int upparat_config_finish(AgentConfig *c, char *err, size_t err_size);

void upparat_config_dump(const AgentConfig *c);
void upparat_config_free(AgentConfig *c);
