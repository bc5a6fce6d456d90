/* SPDX-License-Identifier: Apache-2.0 */
/* Changing a running container's resource limits (runc update). */
#pragma once

#include "oci/spec.h"
#include "util/error.h"

/*
 * Apply linux.resources r to the container's cgroup.  The settings go
 * through the same translation as create (lxc_conf_cgroup.c: validation,
 * v1/v2 file names, runc's conversions) and are written where liblxc would
 * have written them; device rules are not part of an update.
 */
int plx_cgroup_update(const char *cgpath, const struct oci_resources *r, struct plx_err *err);
