/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading config.json text into jansson.
 *
 * jansson keeps integers as long long, but the spec has uint64 fields
 * (rlimits, seccomp argument values, ...) where 18446744073709551615
 * ("unlimited", as docker writes for --ulimit x=-1) is common.  When a
 * document fails to load only because of such a number, it is loaded again
 * with every integer literal in (INT64_MAX, UINT64_MAX] wrapped as
 * {"plx:uint64":"<digits>"}; the parser reads that object as the integer.
 * The wrapped form survives json_dumps/json_loads, so a config handed to
 * the init as JSON still reads the same.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define OCI_JSON_U64_KEY "plx:uint64"

/*
 * Decode buf (any JSON value).  Syntax errors read
 * "<name>:<line>:<column>: <jansson message>".
 */
int oci_json_load(const char *buf, size_t len, const char *name, json_t **out, struct plx_err *err);

/* true when v is a wrapped integer above INT64_MAX; *out gets its value. */
bool oci_json_big_u64(const json_t *v, uint64_t *out);
