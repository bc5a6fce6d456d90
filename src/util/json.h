/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers shared by every parser of JSON we read (jansson's json_auto_t frees). */
#pragma once

#include <jansson.h>

/* The JSON type of v as error messages name it: "object", "array", "string", "integer", ... */
const char *plx_json_type_name(const json_t *v);
