/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/json-util.c: the value is taken in every case (a failed add frees it), NULL is ENOMEM for
 * json_add() and JSON null for json_add_or_null().  Whether a value was freed is seen through
 * an extra reference taken here: json_object_put() of the last one returns 1. */
#include <errno.h>

#include "json-util.h"
#include "unit.h"

TEST(add_takes_value) {
        struct json_object *o = json_object_new_object(), *v = json_object_new_string("x");

        CHECK_EQ(json_add(o, "k", v), 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "{\"k\":\"x\"}");
        /* the object holds the only reference: freeing it frees v */
        json_object_get(v);
        CHECK_EQ(json_object_put(o), 1);
        CHECK_EQ(json_object_put(v), 1);
}

TEST(add_null_is_enomem) {
        struct json_object *o = json_object_new_object();

        CHECK_EQ(json_add(o, "k", NULL), -ENOMEM);
        CHECK_EQ(json_object_object_length(o), 0);
        CHECK_EQ(json_add_or_null(o, "k", NULL), 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "{\"k\":null}");
        json_object_put(o);
}

TEST(failed_add_frees_value) {
        struct json_object *v = json_object_new_string("x"), *a = json_object_new_array();

        /* no container (its json_object_new_object() failed): v is put, not leaked */
        json_object_get(v);
        CHECK_EQ(json_add(NULL, "k", v), -ENOMEM);
        CHECK_EQ(json_object_put(v), 1);
        v = json_object_new_int(1);
        json_object_get(v);
        CHECK_EQ(json_add_or_null(NULL, "k", v), -ENOMEM);
        CHECK_EQ(json_object_put(v), 1);
        v = json_object_new_int(2);
        json_object_get(v);
        CHECK_EQ(json_append(NULL, v), -ENOMEM);
        CHECK_EQ(json_object_put(v), 1);
        CHECK_EQ(json_append(a, NULL), -ENOMEM);
        CHECK_EQ(json_append(a, json_object_new_int(3)), 0);
        CHECK_STREQ(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[3]");
        json_object_put(a);
}

UNIT_MAIN_BEGIN("test-json-util")
        RUN(add_takes_value);
        RUN(add_null_is_enomem);
        RUN(failed_add_frees_value);
UNIT_MAIN_END
