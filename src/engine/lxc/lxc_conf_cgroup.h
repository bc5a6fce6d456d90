/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources (device rules and limits) -> liblxc's lxc.cgroup.* (v1)
 * and lxc.cgroup2.* (v2) keys, for the host's cgroup layout.  A setting the
 * host cannot take fails here, naming the config.json field and what is
 * missing, instead of deep inside liblxc (or not at all: liblxc ignores
 * lxc.cgroup2.* keys on a hybrid host).  See docs/oci-to-lxc.md.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "oci/spec.h"
#include "util/error.h"

/*
 * Write the cgroup lines for spec to f.  cgroup_path is the container's
 * resolved cgroup ("/a/b"): real-time budgets are checked against its
 * parent.
 */
int plx_lxc_conf_cgroup(FILE *f, const struct oci_spec *spec, const char *cgroup_path, struct plx_err *err);

/* runc's conversions for cgroup v2 (exposed for the tests). */

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000] */
uint64_t plx_cg_cpu_weight(uint64_t shares);

/* blkio weight [10, 1000] -> io.weight [1, 10000] */
unsigned plx_cg_io_weight(unsigned blkio_weight);

/*
 * OCI memory.swap (memory + swap; 0 unset, -1 unlimited) -> memory.swap.max
 * (swap alone) given memory.limit.  False when nothing is to be written;
 * *out -1 means "max".  limit and swap must have passed the checks of
 * plx_lxc_conf_cgroup (swap > 0 needs limit > 0 and swap >= limit).
 */
bool plx_cg_swap_v2(int64_t limit, int64_t swap, int64_t *out);
