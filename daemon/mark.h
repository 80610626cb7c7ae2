/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"
#include "manager.h"
#include "states.h"

/* Resolves "booted", "other" (the root slot of the one other boot group) or "<class>.<index>"
 * (a child maps to its boot group's root) to the index of a slot with a bootname.
 * Errors: ERROR_INVALID_ARGS naming the value, ERROR_FAILED when the booted slot is unknown. */
int mark_resolve_slot(const Manager *m, const char *spec, int *ret_index, UError *err);

/* Mark(state, slot): good commits a trial (or re-arms the counter), bad takes the slot out of
 * the boot order, active makes it the permanent primary (and counts an activation).  Takes the
 * manager lock.  Returns the resolved slot name and a one-line message. */
int mark_slot(Manager *m, MarkState state, const char *spec, char **ret_slot, char **ret_message, UError *err);
