/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "update-agent-source.h"

/* hawkBit DDI v1 (update-agent-ddi.c) as a SourceOps backend: protocol=hawkbit. */
extern const SourceOps source_hawkbit_ops;
