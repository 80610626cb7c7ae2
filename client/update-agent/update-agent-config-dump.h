/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "update-agent-config.h"

/* `update-agent --check-config`: prints the effective configuration (secrets elided) to stdout. */
void agent_config_dump(const AgentConfig *c);
