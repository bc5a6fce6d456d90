/* SPDX-License-Identifier: Apache-2.0 */
/* Moving the calling process into another process's cgroups (exec joins the container's). */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/*
 * Write ourselves into every cgroup target is in, as /proc/<target>/cgroup
 * lists them (each v1 hierarchy, including named ones, and v2).
 */
int plx_cgroup_join_like(pid_t target, struct plx_err *err);
