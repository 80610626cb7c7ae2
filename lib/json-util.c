/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "json-util.h"

int json_add_or_null(struct json_object *o, const char *key, struct json_object *v) {
        if (!o || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add(struct json_object *o, const char *key, struct json_object *v) {
        return v ? json_add_or_null(o, key, v) : -ENOMEM;
}

int json_append(struct json_object *a, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (!a || json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}
