/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's resource usage read from its cgroup, in runc's events
 * schema (types.Stats: cpu, memory, pids, blkio, hugetlb), on v1, v2 and
 * hybrid hosts: each controller is read where it lives.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "util/error.h"

/* The "data" object of a runc "stats" event. */
int plx_cgroup_stats(const char *cgpath, json_t **out, struct plx_err *err);

/* How many times the kernel's OOM killer acted in the cgroup so far (v1 oom_control / v2 memory.events). */
uint64_t plx_cgroup_oom_kills(const char *cgpath);
