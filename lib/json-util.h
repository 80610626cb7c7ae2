/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

/* Building json-c documents with one ownership rule for every writer (manifests, the status
 * file, GetSlotStatus, the agent's state): the value is taken in every case, put when it cannot
 * be added, so that a run of adds whose results are OR-ed together leaks nothing and needs one
 * check at its end.  json-c spells JSON null as a NULL pointer, which is also what a failed
 * json_object_new_*() returns: json_add() reads NULL as that failure, json_add_or_null() as
 * null, for the members that are null on purpose.  A NULL container is -ENOMEM too (its own
 * json_object_new_*() failed). */

/* Adds v under key (replacing what was there): 0, or -ENOMEM. */
int json_add(struct json_object *o, const char *key, struct json_object *v);
/* The same, but a NULL v is added as JSON null. */
int json_add_or_null(struct json_object *o, const char *key, struct json_object *v);
/* Appends v to array a: 0, or -ENOMEM (NULL v included). */
int json_append(struct json_object *a, struct json_object *v);
