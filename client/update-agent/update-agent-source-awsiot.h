/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "update-agent-source.h"

/* AWS IoT Jobs over MQTT (libmosquitto), Upparat's contract: protocol=aws-iot-jobs, or any
 * configuration file with a [broker] section (Upparat's own). */
extern const SourceOps source_awsiot_ops;
