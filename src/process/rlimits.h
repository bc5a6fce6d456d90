/* SPDX-License-Identifier: Apache-2.0 */
/* process.rlimits: the OCI names and setting them on the calling process. */
#pragma once

#include <stddef.h>

#include "oci/spec.h"
#include "util/error.h"

/* RLIMIT_* resource for an OCI name ("RLIMIT_NOFILE"); -1 when unknown. */
int plx_rlimit_from_name(const char *name);

/* The OCI name of a resource; NULL when unknown. */
const char *plx_rlimit_name(int resource);

/* setrlimit() each entry in order; errors name the entry. */
int plx_rlimits_apply(const struct oci_rlimit *v, size_t n, struct plx_err *err);
