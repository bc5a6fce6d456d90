/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound release of jansson references (util/cleanup.h has none). */
#pragma once

#include <jansson.h>

static inline void plx_json_decrefp(json_t **p)
{
	if (*p)
		json_decref(*p);
	*p = NULL;
}

#define __do_json_decref __attribute__((cleanup(plx_json_decrefp)))
