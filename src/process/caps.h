/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.capabilities through libcap.  Names unknown to libcap or to the
 * running kernel are skipped with a warning, as runc does.
 */
#pragma once

#include <stdint.h>
#include <sys/capability.h>

#include "oci/spec.h"
#include "util/error.h"

/* "CAP_SYS_ADMIN" -> CAP_SYS_ADMIN; -EINVAL for anything else (no numbers, no lower case prefix). */
int plx_cap_from_name(const char *name, cap_value_t *out);

/*
 * Bit mask (1 << cap) of the names of one OCI set, restricted to the
 * capabilities of the running kernel (cap_max_bits()).  NULL names -> 0.
 */
uint64_t plx_caps_mask(char *const *names, const char *set);

/* Drop from the bounding set every capability not in c->bounding. */
int plx_caps_drop_bounding(const struct oci_capabilities *c, struct plx_err *err);

/*
 * Set effective/permitted/inheritable exactly, then the ambient set; an
 * ambient capability the kernel refuses (not inheritable and permitted) is
 * skipped, as runc 1.1 does.
 */
int plx_caps_apply(const struct oci_capabilities *c, struct plx_err *err);
