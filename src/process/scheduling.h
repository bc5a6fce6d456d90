/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.scheduler (sched_setattr) and process.ioPriority (ioprio_set on
 * the calling process), applied by the init right before execve, as runc
 * 1.2 does.  Both are inherited across execve.
 */
#pragma once

#include <stdint.h>

#include "oci/spec.h"
#include "util/error.h"

/* SCHED_* policy number of an OCI policy name; -1 when unknown. */
int plx_sched_policy(const char *name);

/* The SCHED_FLAG_* bits of OCI flag names; -EINVAL (and *bad = the index) for an unknown name. */
int plx_sched_flags(char *const *names, uint64_t *out, size_t *bad);

/* IOPRIO_CLASS_* number of an OCI class name; -1 when unknown. */
int plx_ioprio_class(const char *name);

int plx_sched_apply(const struct oci_scheduler *s, struct plx_err *err);
int plx_ioprio_apply(const struct oci_io_priority *io, struct plx_err *err);
